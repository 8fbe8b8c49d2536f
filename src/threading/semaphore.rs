//! [`Semaphore`] and [`BoundedSemaphore`]: Python's counting semaphores.

use super::current::current_id;
use super::error::{Error, Result};
use super::registry::{PrimitiveKind, PrimitiveRecord, Registry};
use super::timeout::{self, Deadline};
use super::wait::{WaitScope, condvar_wait};
use parking_lot::{Condvar, Mutex};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Gauges of a semaphore's record, by index.
const GAUGES: [&str; 2] = ["value", "initial"];
const VALUE: usize = 0;
const INITIAL: usize = 1;

#[derive(Debug)]
struct State {
    value: usize,
    /// Threads blocked in `acquire`, so `release` notifies only when needed.
    waiters: usize,
}

/// A counter of permits: Python's `threading.Semaphore`.
///
/// [`acquire`](Self::acquire) takes a permit, blocking while there is none;
/// [`release`](Self::release) gives one back, from any thread. The registry
/// lists the threads holding permits (one entry per permit, in the order
/// taken) and those waiting for one, and gauges `value` and `initial`.
///
/// # Examples
///
/// ```
/// use threadscope::threading::Semaphore;
/// let slots = Semaphore::named("db-connections", 2);
/// assert!(slots.try_acquire());
/// assert!(slots.try_acquire());
/// assert!(!slots.try_acquire());
/// slots.release().unwrap();
/// {
///     let _slot = slots.guard(); // Python's `with slots:`
///     assert_eq!(slots.value(), 0);
/// }
/// assert!(slots.repr().ends_with(": value=1>"));
/// ```
///
/// # Differences from Python
///
/// - `Semaphore(value)` is [`new`](Self::new) with a `usize`, which cannot be
///   negative; [`try_new`](Self::try_new) takes a signed value and gives
///   Python's `ValueError` for a negative one.
/// - `acquire(blocking, timeout)` is [`acquire_with`](Self::acquire_with);
///   [`acquire`](Self::acquire), [`try_acquire`](Self::try_acquire) and
///   [`acquire_timeout`](Self::acquire_timeout) are its common forms.
/// - `release(n)` is [`release_n`](Self::release_n). Both return a
///   `Result`: only a [`BoundedSemaphore`] or `n == 0` can fail.
/// - `_value` is public as [`value`](Self::value).
pub struct Semaphore {
    state: Mutex<State>,
    available: Condvar,
    /// `Some(initial value)` for a [`BoundedSemaphore`].
    bound: Option<usize>,
    record: Arc<PrimitiveRecord>,
}

impl Default for Semaphore {
    /// A semaphore with one permit, Python's default.
    fn default() -> Self {
        Self::new(1)
    }
}

impl Semaphore {
    /// A semaphore with `value` permits, recorded in the global registry.
    pub fn new(value: usize) -> Self {
        Self::with_registry(value, Registry::global())
    }

    /// Python's `Semaphore(value)`, with its check on the sign.
    ///
    /// # Errors
    ///
    /// `ValueError: semaphore initial value must be >= 0` for a negative value.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::Semaphore;
    /// let err = Semaphore::try_new(-1).unwrap_err();
    /// assert_eq!(err.to_string(), "ValueError: semaphore initial value must be >= 0");
    /// assert_eq!(Semaphore::try_new(3).unwrap().value(), 3);
    /// ```
    pub fn try_new(value: i64) -> Result<Self> {
        Ok(Self::new(checked_value(value)?))
    }

    /// A semaphore with `value` permits and a name.
    pub fn named(name: impl Into<String>, value: usize) -> Self {
        let semaphore = Self::new(value);
        semaphore.set_name(name);
        semaphore
    }

    /// A semaphore with `value` permits, recorded in `registry`.
    pub fn with_registry(value: usize, registry: &Registry) -> Self {
        Self::build(value, None, registry)
    }

    fn build(value: usize, bound: Option<usize>, registry: &Registry) -> Self {
        let kind = if bound.is_some() { PrimitiveKind::BoundedSemaphore } else { PrimitiveKind::Semaphore };
        let record = registry.new_primitive_with(kind, &GAUGES);
        record.set_detail(VALUE, value as u64);
        record.set_detail(INITIAL, value as u64);
        Self { state: Mutex::new(State { value, waiters: 0 }), available: Condvar::new(), bound, record }
    }

    record_accessors!("semaphore", record);

    /// Permits available now (Python's `_value`).
    pub fn value(&self) -> usize {
        self.state.lock().value
    }

    /// Takes a permit, blocking until one is free.
    ///
    /// # Blocking
    ///
    /// While it sleeps, the thread is recorded as Waiting on this semaphore
    /// in the role "acquire".
    pub fn acquire(&self) {
        self.acquire_until(None);
    }

    /// Takes a permit if one is free, without blocking (Python's `acquire(False)`).
    pub fn try_acquire(&self) -> bool {
        let mut state = self.state.lock();
        self.take(&mut state)
    }

    /// Blocks at most `timeout` for a permit; true if it got one.
    ///
    /// # Errors
    ///
    /// `OverflowError` if `timeout` exceeds [`TIMEOUT_MAX`](super::TIMEOUT_MAX).
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool> {
        Ok(self.acquire_until(timeout::duration_deadline(timeout)?))
    }

    /// Python's `acquire(blocking=True, timeout=None)`: `None` waits forever,
    /// a negative timeout does not wait.
    ///
    /// # Errors
    ///
    /// - `ValueError: can't specify timeout for non-blocking acquire` when
    ///   `blocking` is false and a timeout is given (Lock's message differs).
    /// - `OverflowError: timestamp out of range for platform time_t`.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::Semaphore;
    /// let sem = Semaphore::new(0);
    /// assert_eq!(sem.acquire_with(true, Some(0.01)), Ok(false));
    /// assert_eq!(sem.acquire_with(false, Some(1.0)).unwrap_err().to_string(),
    ///            "ValueError: can't specify timeout for non-blocking acquire");
    /// ```
    pub fn acquire_with(&self, blocking: bool, timeout: Option<f64>) -> Result<bool> {
        if !blocking {
            if timeout.is_some() {
                return Err(Error::value("can't specify timeout for non-blocking acquire"));
            }
            return Ok(self.try_acquire());
        }
        Ok(self.acquire_until(timeout::wait_deadline(timeout)?))
    }

    fn acquire_until(&self, deadline: Deadline) -> bool {
        let mut state = self.state.lock();
        if self.take(&mut state) {
            return true;
        }
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return false;
        }
        drop(state);
        let scope = WaitScope::on_primitive(&self.record, "acquire");
        let mut state = self.state.lock();
        state.waiters += 1;
        let mut timed_out = false;
        let acquired = loop {
            if self.take_permit(&mut state) {
                break true;
            }
            if timed_out {
                break false;
            }
            timed_out = condvar_wait(&self.available, &mut state, deadline);
        };
        state.waiters -= 1;
        drop(state);
        // The wait ends before the permit is published as held, so no
        // snapshot sees this thread holding the permit it still waits for
        // (snapshots read holders, then statuses).
        scope.end_on(&self.record);
        if acquired {
            self.record.add_holder(current_id());
        }
        acquired
    }

    /// Takes a permit if there is one and records the caller as holding
    /// it; the caller holds the state lock.
    fn take(&self, state: &mut State) -> bool {
        let taken = self.take_permit(state);
        if taken {
            self.record.add_holder(current_id());
        }
        taken
    }

    /// Takes a permit if there is one, without naming a holder; the caller
    /// holds the state lock, which serialises the record's counters.
    fn take_permit(&self, state: &mut State) -> bool {
        if state.value == 0 {
            return false;
        }
        state.value -= 1;
        self.record.set_detail(VALUE, state.value as u64);
        // Counts the acquisition without making the caller the single holder.
        self.record.note_reacquired();
        true
    }

    /// Acquires and returns a guard that releases on drop: `with semaphore:`.
    pub fn guard(&self) -> SemaphoreGuard<'_> {
        self.acquire();
        SemaphoreGuard { semaphore: self }
    }

    /// Gives back one permit, waking one waiter. Any thread may call it.
    ///
    /// # Errors
    ///
    /// `ValueError: Semaphore released too many times` for a
    /// [`BoundedSemaphore`] already at its initial value. A plain semaphore
    /// may go past its initial value, as in Python.
    pub fn release(&self) -> Result<()> {
        self.release_n(1)
    }

    /// Gives back `n` permits, waking up to `n` waiters: Python's `release(n)`.
    ///
    /// # Errors
    ///
    /// - `ValueError: n must be one or more` for `n == 0`.
    /// - `ValueError: Semaphore released too many times` if a
    ///   [`BoundedSemaphore`] would go past its initial value (nothing is
    ///   released then).
    pub fn release_n(&self, n: usize) -> Result<()> {
        if n == 0 {
            return Err(Error::value("n must be one or more"));
        }
        let mut state = self.state.lock();
        let value =
            state.value.checked_add(n).ok_or_else(|| Error::overflow("semaphore value out of range"))?;
        if self.bound.is_some_and(|bound| value > bound) {
            return Err(Error::value("Semaphore released too many times"));
        }
        state.value = value;
        self.record.set_detail(VALUE, value as u64);
        let me = current_id();
        for _ in 0..n {
            self.record.remove_holder(me);
        }
        if n >= state.waiters {
            if state.waiters > 0 {
                self.available.notify_all();
            }
        } else {
            for _ in 0..n {
                self.available.notify_one();
            }
        }
        Ok(())
    }

    /// Python's `repr()`: `<threading.Semaphore at 0x…: value=3>`, or for a
    /// bounded one `<threading.BoundedSemaphore at 0x…: value=2/3>`.
    pub fn repr(&self) -> String {
        let value = self.value();
        match self.bound {
            None => format!("<threading.Semaphore at {:p}: value={value}>", self),
            Some(bound) => format!("<threading.BoundedSemaphore at {:p}: value={value}/{bound}>", self),
        }
    }
}

fn checked_value(value: i64) -> Result<usize> {
    usize::try_from(value).map_err(|_| Error::value("semaphore initial value must be >= 0"))
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

/// Holds one permit of a [`Semaphore`] until dropped.
///
/// # Examples
///
/// ```
/// use threadscope::threading::Semaphore;
/// let sem = Semaphore::new(1);
/// {
///     let _permit = sem.guard();
///     assert_eq!(sem.value(), 0);
/// }
/// assert_eq!(sem.value(), 1);
/// ```
#[must_use = "the permit is released when the guard drops"]
pub struct SemaphoreGuard<'a> {
    semaphore: &'a Semaphore,
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        let _ = self.semaphore.release();
    }
}

/// A semaphore that refuses to go past its initial value: Python's
/// `threading.BoundedSemaphore`.
///
/// It is a [`Semaphore`] (it dereferences to one, as Python's class is a
/// subclass) whose [`release`](Semaphore::release) fails instead of adding
/// a permit that was never taken: a sign of a bug in the caller.
///
/// # Examples
///
/// ```
/// use threadscope::threading::BoundedSemaphore;
/// let pool = BoundedSemaphore::new(3);
/// pool.acquire();
/// assert!(pool.repr().ends_with(": value=2/3>"));
/// pool.release().unwrap();
/// assert_eq!(pool.release().unwrap_err().to_string(),
///            "ValueError: Semaphore released too many times");
/// ```
///
/// # Differences from Python
///
/// As for [`Semaphore`]; the subclass relation is `Deref`.
pub struct BoundedSemaphore {
    semaphore: Semaphore,
}

impl Default for BoundedSemaphore {
    /// A bounded semaphore with one permit, Python's default.
    fn default() -> Self {
        Self::new(1)
    }
}

impl BoundedSemaphore {
    /// A bounded semaphore with `value` permits, in the global registry.
    pub fn new(value: usize) -> Self {
        Self::with_registry(value, Registry::global())
    }

    /// Python's `BoundedSemaphore(value)`, with its check on the sign.
    ///
    /// # Errors
    ///
    /// `ValueError: semaphore initial value must be >= 0` for a negative value.
    pub fn try_new(value: i64) -> Result<Self> {
        Ok(Self::new(checked_value(value)?))
    }

    /// A bounded semaphore with `value` permits and a name.
    pub fn named(name: impl Into<String>, value: usize) -> Self {
        let semaphore = Self::new(value);
        semaphore.set_name(name);
        semaphore
    }

    /// A bounded semaphore with `value` permits, recorded in `registry`.
    pub fn with_registry(value: usize, registry: &Registry) -> Self {
        Self { semaphore: Semaphore::build(value, Some(value), registry) }
    }
}

impl Deref for BoundedSemaphore {
    type Target = Semaphore;

    fn deref(&self) -> &Semaphore {
        &self.semaphore
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_are_holders_and_any_thread_may_give_one_back() {
        let registry = Registry::new();
        let sem = Arc::new(Semaphore::with_registry(2, &registry));
        sem.acquire();
        sem.acquire();
        assert_eq!(sem.record().holders(), [current_id(), current_id()]);
        let other = sem.clone();
        std::thread::spawn(move || other.release().unwrap()).join().unwrap();
        assert_eq!(sem.record().holders(), [current_id()]);
        assert_eq!(sem.record().details(), [("value", 1), ("initial", 2)]);
        assert_eq!(sem.record().stats_now().acquisitions, 2);
    }

    #[test]
    fn a_refused_bounded_release_changes_nothing() {
        let sem = BoundedSemaphore::with_registry(2, &Registry::new());
        sem.acquire();
        assert!(sem.release_n(2).is_err());
        assert_eq!(sem.value(), 1);
        assert_eq!(sem.record().kind, PrimitiveKind::BoundedSemaphore);
    }

    #[test]
    fn a_negative_timeout_does_not_wait() {
        let sem = Semaphore::with_registry(0, &Registry::new());
        assert_eq!(sem.acquire_with(true, Some(-1.0)), Ok(false));
        assert_eq!(sem.record().stats_now().contentions, 0);
    }
}
