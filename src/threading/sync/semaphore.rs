//! [`Semaphore`] and [`BoundedSemaphore`]: Python's counting semaphores,
//! two public types over one [`Permits`] core.

use super::permits::{Permits, checked_value};
use crate::threading::error::{Error, Result};
use crate::threading::registry::Registry;
use crate::threading::timeout;
use std::fmt;
use std::time::Duration;

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
    permits: Permits,
}

/// A semaphore that refuses to go past its initial value: Python's
/// `threading.BoundedSemaphore`.
///
/// It has every method of a [`Semaphore`] (Python's class is a subclass;
/// here both share one implementation), but its
/// [`release`](Self::release) fails instead of adding a permit that was
/// never taken: a sign of a bug in the caller.
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
/// As for [`Semaphore`]. It is not a `Semaphore` in the type system: code
/// that takes either takes a [`Lockable`](super::Lockable).
pub struct BoundedSemaphore {
    permits: Permits,
}

/// The constructors of both semaphores; a bounded one's bound is its
/// initial value.
macro_rules! semaphore_constructors {
    ($ty:ident, $noun:literal, $bounded:literal) => {
        #[doc = concat!("A ", $noun, " with `value` permits, recorded in the global registry.")]
        pub fn new(value: usize) -> Self {
            Self::with_registry(value, Registry::global())
        }

        #[doc = concat!("Python's `", stringify!($ty), "(value)`, with its check on the sign.")]
        ///
        /// # Errors
        ///
        /// `ValueError: semaphore initial value must be >= 0` for a negative value.
        ///
        /// # Examples
        ///
        /// ```
        #[doc = concat!("use threadscope::threading::", stringify!($ty), ";")]
        #[doc = concat!("let err = ", stringify!($ty), "::try_new(-1).unwrap_err();")]
        /// assert_eq!(err.to_string(), "ValueError: semaphore initial value must be >= 0");
        #[doc = concat!("assert_eq!(", stringify!($ty), "::try_new(3).unwrap().value(), 3);")]
        /// ```
        pub fn try_new(value: i64) -> Result<Self> {
            Ok(Self::new(checked_value(value)?))
        }

        #[doc = concat!("A ", $noun, " with `value` permits and a name.")]
        pub fn named(name: impl Into<String>, value: usize) -> Self {
            let semaphore = Self::new(value);
            semaphore.set_name(name);
            semaphore
        }

        #[doc = concat!("A ", $noun, " with `value` permits, recorded in `registry`.")]
        pub fn with_registry(value: usize, registry: &Registry) -> Self {
            Self { permits: Permits::new(value, $bounded.then_some(value), registry) }
        }
    };
}

/// The methods both semaphores have, forwarded to their [`Permits`].
macro_rules! semaphore_methods {
    ($noun:literal) => {
        record_accessors!($noun, permits.record);

        /// Permits available now (Python's `_value`).
        pub fn value(&self) -> usize {
            self.permits.value()
        }

        /// Takes a permit, blocking until one is free.
        ///
        /// # Blocking
        ///
        /// While it sleeps, the thread is recorded as Waiting on this
        /// semaphore in the role "acquire".
        pub fn acquire(&self) {
            self.permits.acquire_until(None);
        }

        /// Takes a permit if one is free, without blocking (Python's `acquire(False)`).
        pub fn try_acquire(&self) -> bool {
            self.permits.try_acquire()
        }

        /// Blocks at most `timeout` for a permit; true if it got one.
        ///
        /// # Errors
        ///
        /// `OverflowError` if `timeout` exceeds [`TIMEOUT_MAX`](crate::threading::TIMEOUT_MAX).
        pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool> {
            Ok(self.permits.acquire_until(timeout::duration_deadline(timeout)?))
        }

        /// Python's `acquire(blocking=True, timeout=None)`: `None` waits
        /// forever, a negative timeout does not wait.
        ///
        /// # Errors
        ///
        /// - `ValueError: can't specify timeout for non-blocking acquire` when
        ///   `blocking` is false and a timeout is given (Lock's message differs).
        /// - `OverflowError: timestamp out of range for platform time_t`.
        pub fn acquire_with(&self, blocking: bool, timeout: Option<f64>) -> Result<bool> {
            if !blocking {
                if timeout.is_some() {
                    return Err(Error::value("can't specify timeout for non-blocking acquire"));
                }
                return Ok(self.try_acquire());
            }
            Ok(self.permits.acquire_until(timeout::wait_deadline(timeout)?))
        }

        /// Acquires and returns a guard that releases on drop: `with semaphore:`.
        pub fn guard(&self) -> SemaphoreGuard<'_> {
            self.acquire();
            SemaphoreGuard { permits: &self.permits }
        }

        /// Gives back one permit, waking one waiter. Any thread may call it.
        ///
        /// # Errors
        ///
        /// `ValueError: Semaphore released too many times` for a
        /// [`BoundedSemaphore`] already at its initial value. A plain
        /// semaphore may go past its initial value, as in Python.
        pub fn release(&self) -> Result<()> {
            self.permits.release_n(1)
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
            self.permits.release_n(n)
        }

        /// Python's `repr()`: `<threading.Semaphore at 0x…: value=3>`, or for
        /// a bounded one `<threading.BoundedSemaphore at 0x…: value=2/3>`.
        pub fn repr(&self) -> String {
            self.permits.repr()
        }
    };
}

impl Semaphore {
    semaphore_constructors!(Semaphore, "semaphore", false);
    semaphore_methods!("semaphore");
}

impl BoundedSemaphore {
    semaphore_constructors!(BoundedSemaphore, "bounded semaphore", true);
    semaphore_methods!("bounded semaphore");
}

impl Default for Semaphore {
    /// A semaphore with one permit, Python's default.
    fn default() -> Self {
        Self::new(1)
    }
}

impl Default for BoundedSemaphore {
    /// A bounded semaphore with one permit, Python's default.
    fn default() -> Self {
        Self::new(1)
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

/// Holds one permit of a [`Semaphore`] or [`BoundedSemaphore`] until dropped.
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
    permits: &'a Permits,
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        let _ = self.permits.release_n(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threading::registry::PrimitiveKind;
    use crate::threading::thread::current::current_id;
    use std::sync::Arc;

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
