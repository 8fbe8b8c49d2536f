//! [`RLock`]: Python's re-entrant lock, owned by the thread that acquired it.

use super::contention::acquire_contended;
use crate::threading::error::{Error, Result};
use crate::threading::registry::{PrimitiveKind, PrimitiveRecord, Registry};
use crate::threading::thread::current::current_id;
use crate::threading::timeout::{self, Deadline};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// A re-entrant lock: Python's `threading.RLock`.
///
/// The owning thread may acquire it again without blocking; it must release
/// it as many times. Only the owner may release it.
///
/// # Examples
///
/// ```
/// use threadscope::threading::RLock;
/// let rlock = RLock::new();
/// rlock.acquire();
/// rlock.acquire();
/// assert_eq!(rlock.recursion_count(), 2);
/// rlock.release().unwrap();
/// rlock.release().unwrap();
/// assert_eq!(rlock.release().unwrap_err().to_string(),
///            "RuntimeError: cannot release un-acquired lock");
/// ```
///
/// # Differences from Python
///
/// - `_is_owned()` and `_recursion_count()` are public: [`is_owned`](Self::is_owned),
///   [`recursion_count`](Self::recursion_count).
/// - `with rlock:` is [`guard`](Self::guard).
pub struct RLock {
    /// Registry id of the owning thread (0: unowned).
    owner: AtomicU64,
    /// Written only by the owner.
    count: AtomicUsize,
    record: Arc<PrimitiveRecord>,
    registry: Registry,
}

impl Default for RLock {
    fn default() -> Self {
        Self::new()
    }
}

impl RLock {
    /// An unowned RLock in the global registry.
    pub fn new() -> Self {
        Self::with_registry(Registry::global())
    }

    /// An unowned RLock with a name.
    pub fn named(name: impl Into<String>) -> Self {
        let lock = Self::new();
        lock.record.set_name(Some(name.into()));
        lock
    }

    /// An unowned RLock recorded in `registry`.
    pub fn with_registry(registry: &Registry) -> Self {
        Self {
            owner: AtomicU64::new(0),
            count: AtomicUsize::new(0),
            record: registry.new_primitive(PrimitiveKind::RLock),
            registry: registry.clone(),
        }
    }

    /// Names the lock for snapshots.
    pub fn set_name(&self, name: impl Into<String>) {
        self.record.set_name(Some(name.into()));
    }

    /// The lock's registry record.
    pub fn record(&self) -> &Arc<PrimitiveRecord> {
        &self.record
    }

    /// Acquires, blocking unless the caller already owns it.
    pub fn acquire(&self) {
        self.acquire_until(None);
    }

    /// Acquires without blocking; true on success (or if already owned).
    pub fn try_acquire(&self) -> bool {
        let me = current_id();
        if self.reenter(me) {
            return true;
        }
        if !self.record.raw().try_lock() {
            return false;
        }
        self.take_ownership(me);
        true
    }

    /// Blocks at most `timeout`; true if acquired.
    ///
    /// # Errors
    ///
    /// `OverflowError` past [`TIMEOUT_MAX`](crate::threading::TIMEOUT_MAX).
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool> {
        Ok(self.acquire_until(timeout::duration_deadline(timeout)?))
    }

    /// Python's `acquire(blocking=True, timeout=-1)`, with its argument errors.
    ///
    /// # Errors
    ///
    /// As [`Lock::acquire_with`](crate::threading::Lock::acquire_with).
    pub fn acquire_with(&self, blocking: bool, timeout: f64) -> Result<bool> {
        let deadline = timeout::lock_deadline(blocking, timeout)?;
        if !blocking {
            return Ok(self.try_acquire());
        }
        Ok(self.acquire_until(deadline))
    }

    pub(crate) fn acquire_until(&self, deadline: Deadline) -> bool {
        let me = current_id();
        if self.reenter(me) {
            return true;
        }
        if self.record.raw().try_lock_fast() || acquire_contended(self.record.raw(), &self.record, deadline) {
            self.take_ownership(me);
            return true;
        }
        false
    }

    fn reenter(&self, me: u64) -> bool {
        if self.owner.load(Ordering::Relaxed) != me {
            return false;
        }
        self.count.store(self.count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        self.record.note_reacquired();
        true
    }

    fn take_ownership(&self, me: u64) {
        self.owner.store(me, Ordering::Relaxed);
        self.count.store(1, Ordering::Relaxed);
        self.record.note_acquired(me);
    }

    /// Acquires and returns a guard that releases on drop.
    pub fn guard(&self) -> RLockGuard<'_> {
        self.acquire();
        RLockGuard { lock: self }
    }

    /// Releases one level; the lock is free when the count reaches 0.
    ///
    /// # Errors
    ///
    /// `RuntimeError: cannot release un-acquired lock` unless the caller owns it.
    pub fn release(&self) -> Result<()> {
        if !self.is_owned() {
            return Err(Error::runtime("cannot release un-acquired lock"));
        }
        let count = self.count.load(Ordering::Relaxed) - 1;
        self.count.store(count, Ordering::Relaxed);
        if count == 0 {
            self.unlock_fully();
        }
        Ok(())
    }

    fn unlock_fully(&self) {
        self.owner.store(0, Ordering::Relaxed);
        let hold_began = self.record.note_released();
        self.record.raw().unlock();
        if let Some(since) = hold_began {
            self.record.note_hold_ended(since);
        }
    }

    /// Releases every level at once, returning how many there were (for
    /// `Condition.wait`; Python's `_release_save`).
    ///
    /// # Errors
    ///
    /// `RuntimeError: cannot release un-acquired lock` unless owned.
    pub(crate) fn release_all(&self) -> Result<usize> {
        if !self.is_owned() {
            return Err(Error::runtime("cannot release un-acquired lock"));
        }
        let count = self.count.swap(0, Ordering::Relaxed);
        self.unlock_fully();
        Ok(count)
    }

    /// Re-acquires `count` levels after [`release_all`](Self::release_all).
    pub(crate) fn acquire_restore(&self, count: usize) {
        self.acquire();
        self.count.store(count, Ordering::Relaxed);
    }

    /// True if the calling thread owns it (Python's `_is_owned()`).
    pub fn is_owned(&self) -> bool {
        self.owner.load(Ordering::Relaxed) == current_id()
    }

    /// Levels held by the calling thread; 0 in other threads (Python's `_recursion_count()`).
    pub fn recursion_count(&self) -> usize {
        if self.is_owned() { self.count.load(Ordering::Relaxed) } else { 0 }
    }

    /// True if some thread owns it.
    pub fn locked(&self) -> bool {
        self.record.raw().is_locked()
    }

    /// Python's `repr()`: `<locked _thread.RLock object owner=IDENT count=2 at 0x…>`.
    pub fn repr(&self) -> String {
        let owner_id = self.owner.load(Ordering::Relaxed);
        let (state, owner, count) = if owner_id == 0 {
            ("unlocked", 0, 0)
        } else {
            let record =
                self.registry.thread_record(owner_id).or_else(|| Registry::global().thread_record(owner_id));
            let ident = record.and_then(|r| r.ident()).unwrap_or(0);
            ("locked", ident, self.count.load(Ordering::Relaxed))
        };
        format!("<{state} _thread.RLock object owner={owner} count={count} at {:p}>", self)
    }
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

/// Holds one level of an [`RLock`] until dropped.
#[must_use = "the lock is released when the guard drops"]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.lock.release();
    }
}
