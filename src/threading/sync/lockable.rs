//! [`Lockable`]: what can be acquired and released, whatever its kind.

use super::{BoundedSemaphore, Condition, Lock, RLock, Semaphore};
use crate::threading::error::Result;
use crate::threading::registry::PrimitiveRecord;
use std::sync::Arc;
use std::time::Duration;

/// A primitive one acquires and releases: [`Lock`], [`RLock`], a
/// [`Condition`]'s lock, [`Semaphore`] and [`BoundedSemaphore`].
///
/// Like `lock_api`'s raw traits, this is the one shape generic code needs
/// (the scenario interpreter drives every kind through it); each type keeps
/// its own inherent methods, with their Python names and documentation,
/// and the trait forwards to them.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{Lock, Lockable, Semaphore};
/// let things: Vec<Box<dyn Lockable>> = vec![Box::new(Lock::new()), Box::new(Semaphore::new(2))];
/// for thing in &things {
///     assert!(thing.try_acquire());
///     thing.release().unwrap();
/// }
/// ```
pub trait Lockable: Send + Sync {
    /// Blocks until acquired.
    fn acquire(&self);
    /// Acquires if that needs no waiting.
    fn try_acquire(&self) -> bool;
    /// Blocks at most `timeout`; true if acquired.
    ///
    /// # Errors
    ///
    /// `OverflowError` past [`TIMEOUT_MAX`](crate::threading::TIMEOUT_MAX).
    fn acquire_timeout(&self, timeout: Duration) -> Result<bool>;
    /// Releases once, with the type's own Python error when it cannot.
    ///
    /// # Errors
    ///
    /// As the type's `release` (an unlocked lock, an un-owned RLock, a
    /// bounded semaphore at its initial value).
    fn release(&self) -> Result<()>;
    /// Releases `n` times. Semaphores give back `n` permits at once, as
    /// Python's `release(n)`; the others release one at a time and stop at
    /// the first error.
    ///
    /// # Errors
    ///
    /// As [`release`](Self::release); `ValueError` for a semaphore's `n == 0`.
    fn release_n(&self, n: usize) -> Result<()> {
        (0..n).try_for_each(|_| self.release())
    }
    /// Its registry record.
    fn record(&self) -> &Arc<PrimitiveRecord>;
}

/// Forwards the trait to the inherent methods of the same names (an
/// inherent method wins over a trait method in `Type::method` paths);
/// `release_n` too where the type has its own.
macro_rules! lockable_by_inherent {
    ($ty:ty $(, $release_n:ident)?) => {
        impl Lockable for $ty {
            fn acquire(&self) {
                <$ty>::acquire(self)
            }
            fn try_acquire(&self) -> bool {
                <$ty>::try_acquire(self)
            }
            fn acquire_timeout(&self, timeout: Duration) -> Result<bool> {
                <$ty>::acquire_timeout(self, timeout)
            }
            fn release(&self) -> Result<()> {
                <$ty>::release(self)
            }
            fn record(&self) -> &Arc<PrimitiveRecord> {
                <$ty>::record(self)
            }
            $(
                fn $release_n(&self, n: usize) -> Result<()> {
                    <$ty>::$release_n(self, n)
                }
            )?
        }
    };
}

lockable_by_inherent!(Lock);
lockable_by_inherent!(RLock);
lockable_by_inherent!(Condition);
lockable_by_inherent!(Semaphore, release_n);
lockable_by_inherent!(BoundedSemaphore, release_n);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threading::Registry;

    #[test]
    fn every_kind_goes_through_the_trait_with_its_own_errors() {
        let registry = Registry::new();
        let kinds: Vec<(Box<dyn Lockable>, &str)> = vec![
            (Box::new(Lock::with_registry(&registry)), "RuntimeError: release unlocked lock"),
            (Box::new(RLock::with_registry(&registry)), "RuntimeError: cannot release un-acquired lock"),
            (Box::new(Condition::with_registry(&registry)), "RuntimeError: cannot release un-acquired lock"),
            (
                Box::new(BoundedSemaphore::with_registry(1, &registry)),
                "ValueError: Semaphore released too many times",
            ),
        ];
        for (thing, refusal) in kinds {
            assert!(thing.try_acquire());
            thing.release().unwrap();
            assert!(thing.acquire_timeout(Duration::ZERO).unwrap());
            thing.release_n(1).unwrap();
            assert_eq!(thing.release().unwrap_err().to_string(), refusal);
        }
    }

    #[test]
    fn a_semaphore_gives_back_n_permits_at_once() {
        let sem = Semaphore::with_registry(0, &Registry::new());
        Lockable::release_n(&sem, 3).unwrap();
        assert_eq!(sem.value(), 3);
        assert_eq!(
            Lockable::release_n(&sem, 0).unwrap_err().to_string(),
            "ValueError: n must be one or more"
        );
    }
}
