//! [`Lock`]: Python's `_thread.lock`, a binary semaphore any thread may release.

use super::contention::acquire_contended;
use crate::threading::error::{Error, Result};
use crate::threading::registry::{PrimitiveKind, PrimitiveRecord, Registry};
use crate::threading::thread::current::current_id;
use crate::threading::timeout::{self, Deadline};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A primitive lock: Python's `threading.Lock` / `_thread.allocate_lock()`.
///
/// It is locked or unlocked, and belongs to no thread: any thread may
/// release it, and the thread that holds it blocks if it acquires again.
/// The registry records who acquired it last (its holder), who waits for
/// it in arrival order, and how often it was contended.
///
/// # Examples
///
/// ```
/// use threadscope::threading::Lock;
/// let lock = Lock::named("db");
/// assert!(lock.try_acquire());
/// assert!(!lock.try_acquire());
/// lock.release().unwrap();
/// {
///     let _held = lock.guard(); // Python's `with lock:`
///     assert!(lock.locked());
/// }
/// assert!(!lock.locked());
/// ```
///
/// # Differences from Python
///
/// - `acquire(blocking, timeout)` is [`acquire_with`](Self::acquire_with);
///   [`acquire`](Self::acquire), [`try_acquire`](Self::try_acquire) and
///   [`acquire_timeout`](Self::acquire_timeout) are its common forms.
/// - `with lock:` is [`guard`](Self::guard). A guard whose lock another
///   thread released meanwhile does not fail on drop (Python would raise).
/// - Locks can be named; the name shows in snapshots.
pub struct Lock {
    record: Arc<PrimitiveRecord>,
}

impl Default for Lock {
    fn default() -> Self {
        Self::new()
    }
}

impl Lock {
    /// An unlocked lock, recorded in the global registry.
    pub fn new() -> Self {
        Self::with_registry(Registry::global())
    }

    /// An unlocked lock with a name.
    pub fn named(name: impl Into<String>) -> Self {
        let lock = Self::new();
        lock.set_name(name);
        lock
    }

    /// An unlocked lock recorded in `registry`.
    pub fn with_registry(registry: &Registry) -> Self {
        Self { record: registry.new_primitive(PrimitiveKind::Lock) }
    }

    record_accessors!("lock", record);

    /// Blocks until the lock is acquired.
    ///
    /// # Blocking
    ///
    /// If it has to sleep, the thread is recorded as Waiting on this lock.
    #[inline]
    pub fn acquire(&self) {
        if self.record.raw().try_lock_fast() {
            self.record.note_acquired(current_id());
        } else {
            acquire_contended(self.record.raw(), &self.record, None);
        }
    }

    /// Acquires if the lock is free, without blocking (Python's `acquire(False)`).
    #[inline]
    pub fn try_acquire(&self) -> bool {
        let acquired = self.record.raw().try_lock();
        if acquired {
            self.record.note_acquired(current_id());
        }
        acquired
    }

    /// Blocks at most `timeout`; true if acquired.
    ///
    /// # Errors
    ///
    /// `OverflowError` if `timeout` exceeds [`TIMEOUT_MAX`](crate::threading::TIMEOUT_MAX).
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool> {
        let deadline = timeout::duration_deadline(timeout)?;
        Ok(self.acquire_until(deadline))
    }

    /// Python's `acquire(blocking=True, timeout=-1)`, argument rules included.
    ///
    /// # Errors
    ///
    /// - `ValueError: can't specify a timeout for a non-blocking call`
    /// - `ValueError: timeout value must be a non-negative number`
    /// - `OverflowError: timestamp out of range for platform time_t`
    pub fn acquire_with(&self, blocking: bool, timeout: f64) -> Result<bool> {
        let deadline = timeout::lock_deadline(blocking, timeout)?;
        if !blocking {
            return Ok(self.try_acquire());
        }
        Ok(self.acquire_until(deadline))
    }

    fn acquire_until(&self, deadline: Deadline) -> bool {
        if self.record.raw().try_lock_fast() {
            self.record.note_acquired(current_id());
            return true;
        }
        acquire_contended(self.record.raw(), &self.record, deadline)
    }

    /// Acquires and returns a guard that releases on drop: `with lock:`.
    pub fn guard(&self) -> LockGuard<'_> {
        self.acquire();
        LockGuard { lock: self }
    }

    /// Releases the lock. Any thread may call it.
    ///
    /// # Errors
    ///
    /// `RuntimeError: release unlocked lock` if it is not locked.
    #[inline]
    pub fn release(&self) -> Result<()> {
        // Bookkeeping first: once unlocked, a new holder may write it.
        let hold_began = self.record.note_released();
        if !self.record.raw().unlock() {
            return Err(Error::runtime("release unlocked lock"));
        }
        if let Some(since) = hold_began {
            self.record.note_hold_ended(since);
        }
        Ok(())
    }

    /// True if the lock is held by some thread.
    pub fn locked(&self) -> bool {
        self.record.raw().is_locked()
    }

    /// Python's `repr()`: `<unlocked _thread.lock object at 0x…>`.
    pub fn repr(&self) -> String {
        let state = if self.locked() { "locked" } else { "unlocked" };
        format!("<{state} _thread.lock object at {:p}>", self)
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

/// Holds a [`Lock`] until dropped.
#[must_use = "the lock is released when the guard drops"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

impl LockGuard<'_> {
    /// Releases now, reporting an error if someone else already released it.
    ///
    /// # Errors
    ///
    /// `RuntimeError: release unlocked lock`.
    pub fn release(self) -> Result<()> {
        let lock = self.lock;
        std::mem::forget(self);
        lock.release()
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.lock.release();
    }
}
