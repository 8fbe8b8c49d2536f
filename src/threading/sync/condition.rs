//! [`Condition`]: Python's `threading.Condition`, waiting for a change
//! announced under a lock.

use super::condition_lock::ConditionLock;
use super::rlock::RLock;
use crate::threading::error::{Error, Result};
use crate::threading::registry::{PrimitiveKind, PrimitiveRecord, Registry};
use crate::threading::timeout::{self, Deadline};
use crate::threading::wait::{WaitScope, condvar_wait};
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Gauges of a condition's record, by index.
const GAUGES: [&str; 2] = ["waiters", "notified"];
/// Threads in `wait()` not yet notified.
const WAITERS: usize = 0;
/// Waiters woken by `notify` so far.
const NOTIFIED: usize = 1;

/// One thread in `wait()`: its own condvar, so `notify(n)` wakes exactly
/// the `n` it picks (Python gives each waiter its own lock for the same
/// reason).
#[derive(Default)]
struct Waiter {
    /// Written under the queue lock.
    notified: AtomicBool,
    wake: Condvar,
}

/// A condition variable: Python's `threading.Condition`.
///
/// It stands on a lock (an [`RLock`] unless given one). A thread holding
/// the lock may [`wait`](Self::wait): the lock is released while it sleeps
/// and re-acquired before `wait` returns. Another thread, holding the lock,
/// calls [`notify`](Self::notify) to wake the longest-waiting threads. In
/// snapshots the condition's `related` primitive is its lock, and its
/// gauges count `waiters` and `notified`.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{Condition, Thread};
/// use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
///
/// let cond = Arc::new(Condition::named("work-ready"));
/// let ready = Arc::new(AtomicBool::new(false));
/// let consumer = {
///     let (cond, ready) = (cond.clone(), ready.clone());
///     Thread::spawn(move || {
///         let _held = cond.guard();
///         assert!(cond.wait_for(|| ready.load(Ordering::Relaxed), None).unwrap());
///     })
///     .unwrap()
/// };
/// {
///     let _held = cond.guard(); // Python's `with cond:`
///     ready.store(true, Ordering::Relaxed);
///     cond.notify_all().unwrap();
/// }
/// consumer.join().unwrap();
/// ```
///
/// # Differences from Python
///
/// - The lock is a [`ConditionLock`]: an `Arc<Lock>` or `Arc<RLock>` given
///   to [`with_lock`](Self::with_lock). Python accepts any object with
///   `acquire`/`release`.
/// - `wait(timeout)` takes an `Option<Duration>`; a wait that times out
///   just as it is notified returns `true` and keeps the notification
///   (Python may return `False` and lose it).
/// - [`wait_for`](Self::wait_for)'s predicate returns a `bool`, so the
///   "last value of the predicate" it returns is a `bool` too.
/// - `notify()` (Python's default `n=1`) is `notify(1)`.
pub struct Condition {
    lock: ConditionLock,
    /// Waiters in arrival order.
    queue: Mutex<VecDeque<Arc<Waiter>>>,
    record: Arc<PrimitiveRecord>,
}

impl Default for Condition {
    fn default() -> Self {
        Self::new()
    }
}

impl Condition {
    /// A condition on a new [`RLock`], both in the global registry.
    pub fn new() -> Self {
        Self::with_registry(Registry::global())
    }

    /// A condition on a new [`RLock`], with a name.
    pub fn named(name: impl Into<String>) -> Self {
        let condition = Self::new();
        condition.set_name(name);
        condition
    }

    /// A condition on a new [`RLock`], both recorded in `registry`.
    pub fn with_registry(registry: &Registry) -> Self {
        Self::build(Arc::new(RLock::with_registry(registry)).into(), registry)
    }

    /// A condition on `lock`, recorded in the lock's registry: Python's
    /// `Condition(lock)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::{Condition, Lock};
    /// use std::sync::Arc;
    /// let lock = Arc::new(Lock::new());
    /// let cond = Condition::with_lock(lock.clone());
    /// cond.acquire();
    /// assert!(lock.locked());
    /// cond.release().unwrap();
    /// ```
    pub fn with_lock(lock: impl Into<ConditionLock>) -> Self {
        let lock = lock.into();
        let registry = lock.record().registry().unwrap_or_else(|| Registry::global().clone());
        Self::build(lock, &registry)
    }

    fn build(lock: ConditionLock, registry: &Registry) -> Self {
        let record = registry.new_primitive_with(PrimitiveKind::Condition, &GAUGES);
        record.set_related(lock.record());
        Self { lock, queue: Mutex::new(VecDeque::new()), record }
    }

    record_accessors!("condition", record);

    /// The lock it stands on.
    pub fn lock(&self) -> &ConditionLock {
        &self.lock
    }

    /// Acquires the lock, blocking: `cond.acquire()`.
    pub fn acquire(&self) {
        self.lock.lockable().acquire();
    }

    /// Acquires the lock if that needs no blocking.
    pub fn try_acquire(&self) -> bool {
        self.lock.lockable().try_acquire()
    }

    /// Acquires the lock, blocking at most `timeout`; true if acquired.
    ///
    /// # Errors
    ///
    /// `OverflowError` past [`TIMEOUT_MAX`](crate::threading::TIMEOUT_MAX).
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool> {
        self.lock.lockable().acquire_timeout(timeout)
    }

    /// The lock's `acquire(blocking, timeout)`, argument errors included.
    ///
    /// # Errors
    ///
    /// As [`Lock::acquire_with`](super::Lock::acquire_with).
    pub fn acquire_with(&self, blocking: bool, timeout: f64) -> Result<bool> {
        self.lock.acquire_with(blocking, timeout)
    }

    /// Releases the lock (one level of an [`RLock`]).
    ///
    /// # Errors
    ///
    /// The lock's: `RuntimeError: release unlocked lock` /
    /// `RuntimeError: cannot release un-acquired lock`.
    pub fn release(&self) -> Result<()> {
        self.lock.lockable().release()
    }

    /// Acquires the lock and returns a guard that releases it: `with cond:`.
    pub fn guard(&self) -> ConditionGuard<'_> {
        self.acquire();
        ConditionGuard { condition: self }
    }

    /// Releases the lock, sleeps until notified or `timeout` passes (`None`:
    /// no limit), then re-acquires the lock. True if notified.
    ///
    /// # Errors
    ///
    /// - `RuntimeError: cannot wait on un-acquired lock` unless the caller
    ///   holds the lock.
    /// - `OverflowError` past [`TIMEOUT_MAX`](crate::threading::TIMEOUT_MAX).
    ///
    /// # Blocking
    ///
    /// Recorded as Waiting on this condition in the role "wait", then, if
    /// the lock is busy, on the lock in the role "acquire".
    pub fn wait(&self, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout::optional_deadline(timeout)?;
        self.wait_until(deadline)
    }

    fn wait_until(&self, deadline: Deadline) -> Result<bool> {
        if !self.lock.is_owned() {
            return Err(Error::runtime("cannot wait on un-acquired lock"));
        }
        let waiter = Arc::new(Waiter::default());
        {
            let mut queue = self.queue.lock();
            queue.push_back(waiter.clone());
            self.record.set_detail(WAITERS, queue.len() as u64);
        }
        let saved = match self.lock.release_save() {
            Ok(saved) => saved,
            Err(err) => {
                // Another thread released a plain Lock since the check.
                self.forget(&mut self.queue.lock(), &waiter);
                return Err(err);
            }
        };
        let expired = deadline.is_some_and(|d| d <= Instant::now());
        let scope = (!expired).then(|| WaitScope::on_primitive(&self.record, "wait"));
        let mut queue = self.queue.lock();
        let mut timed_out = expired;
        let notified = loop {
            if waiter.notified.load(Ordering::Relaxed) {
                break true;
            }
            if timed_out {
                self.forget(&mut queue, &waiter);
                break false;
            }
            timed_out = condvar_wait(&waiter.wake, &mut queue, deadline);
        };
        drop(queue);
        if let Some(scope) = scope {
            scope.end_on(&self.record);
        }
        self.lock.acquire_restore(saved);
        Ok(notified)
    }

    /// Takes a waiter that gave up out of the queue.
    fn forget(&self, queue: &mut VecDeque<Arc<Waiter>>, waiter: &Arc<Waiter>) {
        if let Some(index) = queue.iter().position(|w| Arc::ptr_eq(w, waiter)) {
            queue.remove(index);
        }
        self.record.set_detail(WAITERS, queue.len() as u64);
    }

    /// Waits until `predicate` returns true, or `timeout` passes; returns
    /// the predicate's last value. The predicate is called with the lock
    /// held, first before any waiting.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait) (no error if the predicate holds at once).
    ///
    /// # Blocking
    ///
    /// As [`wait`](Self::wait).
    pub fn wait_for(&self, mut predicate: impl FnMut() -> bool, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout::optional_deadline(timeout)?;
        let mut result = predicate();
        let mut first = true;
        while !result {
            if !first && deadline.is_some_and(|d| d <= Instant::now()) {
                break;
            }
            first = false;
            self.wait_until(deadline)?;
            result = predicate();
        }
        Ok(result)
    }

    /// Wakes the `n` longest-waiting threads (fewer if fewer wait). They
    /// run once they re-acquire the lock, so not before the caller releases it.
    ///
    /// # Errors
    ///
    /// `RuntimeError: cannot notify on un-acquired lock` unless the caller
    /// holds the lock.
    pub fn notify(&self, n: usize) -> Result<()> {
        if !self.lock.is_owned() {
            return Err(Error::runtime("cannot notify on un-acquired lock"));
        }
        let mut queue = self.queue.lock();
        let n = n.min(queue.len());
        if n == 0 {
            return Ok(());
        }
        for waiter in queue.drain(..n) {
            waiter.notified.store(true, Ordering::Relaxed);
            waiter.wake.notify_one();
        }
        self.record.set_detail(WAITERS, queue.len() as u64);
        self.record.bump_detail(NOTIFIED, n as u64);
        Ok(())
    }

    /// Wakes every waiting thread.
    ///
    /// # Errors
    ///
    /// As [`notify`](Self::notify).
    pub fn notify_all(&self) -> Result<()> {
        self.notify(usize::MAX)
    }

    /// Python's `repr()`: `<Condition(<lock repr>, WAITERS)>`.
    pub fn repr(&self) -> String {
        let lock = match &self.lock {
            ConditionLock::Lock(lock) => lock.repr(),
            ConditionLock::RLock(lock) => lock.repr(),
        };
        format!("<Condition({lock}, {})>", self.queue.lock().len())
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

/// Holds a [`Condition`]'s lock until dropped.
///
/// # Examples
///
/// ```
/// use threadscope::threading::Condition;
/// let cond = Condition::new();
/// {
///     let _held = cond.guard();
///     cond.notify_all().unwrap(); // allowed: the lock is held
/// }
/// assert!(cond.notify_all().is_err());
/// ```
#[must_use = "the lock is released when the guard drops"]
pub struct ConditionGuard<'a> {
    condition: &'a Condition,
}

impl Drop for ConditionGuard<'_> {
    fn drop(&mut self) {
        let _ = self.condition.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threading::Lock;

    #[test]
    fn the_record_names_its_lock() {
        let registry = Registry::new();
        let cond = Condition::with_registry(&registry);
        let ConditionLock::RLock(lock) = cond.lock() else { panic!("default lock is an RLock") };
        assert_eq!(cond.record().related(), Some(lock.record().id));
        assert_eq!(cond.record().details(), [("waiters", 0), ("notified", 0)]);
    }

    #[test]
    fn a_timed_out_wait_leaves_the_queue_and_keeps_the_lock() {
        let cond = Condition::with_registry(&Registry::new());
        let _held = cond.guard();
        cond.acquire();
        assert_eq!(cond.wait(Some(Duration::from_millis(1))), Ok(false));
        assert!(cond.queue.lock().is_empty());
        assert_eq!(cond.record().detail(WAITERS), 0);
        let ConditionLock::RLock(lock) = cond.lock() else { unreachable!() };
        assert_eq!(lock.recursion_count(), 2);
        cond.release().unwrap();
    }

    #[test]
    fn a_condition_on_a_given_lock_joins_its_registry() {
        let registry = Registry::new();
        let lock = Arc::new(Lock::with_registry(&registry));
        let cond = Condition::with_lock(lock);
        assert!(registry.primitive_record(cond.record().id).is_some());
        assert!(cond.repr().starts_with("<Condition(<unlocked _thread.lock object at 0x"));
    }
}
