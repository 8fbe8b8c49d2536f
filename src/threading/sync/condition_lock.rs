//! [`ConditionLock`]: the lock under a [`Condition`](super::Condition), and
//! the few things a condition asks of it that differ by kind (Python's
//! `_is_owned`, `_release_save`, `_acquire_restore`).

use super::{Lock, Lockable, RLock};
use crate::threading::error::Result;
use crate::threading::registry::PrimitiveRecord;
use std::sync::Arc;

/// The lock a [`Condition`](super::Condition) stands on: Python's `Condition(lock)` argument.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{Condition, ConditionLock, RLock};
/// use std::sync::Arc;
/// let cond = Condition::with_lock(Arc::new(RLock::new()));
/// assert!(matches!(cond.lock(), ConditionLock::RLock(_)));
/// ```
#[derive(Clone, Debug)]
pub enum ConditionLock {
    /// A plain [`Lock`]; "owned by the caller" then means "locked".
    Lock(Arc<Lock>),
    /// A re-entrant [`RLock`] (the default).
    RLock(Arc<RLock>),
}

impl From<Arc<Lock>> for ConditionLock {
    fn from(lock: Arc<Lock>) -> Self {
        Self::Lock(lock)
    }
}

impl From<Arc<RLock>> for ConditionLock {
    fn from(lock: Arc<RLock>) -> Self {
        Self::RLock(lock)
    }
}

impl ConditionLock {
    /// The lock, for what both kinds do alike.
    pub(super) fn lockable(&self) -> &dyn Lockable {
        match self {
            Self::Lock(lock) => &**lock,
            Self::RLock(lock) => &**lock,
        }
    }

    pub(super) fn record(&self) -> &Arc<PrimitiveRecord> {
        self.lockable().record()
    }

    /// `acquire(blocking, timeout)` with each lock's own argument errors.
    pub(super) fn acquire_with(&self, blocking: bool, timeout: f64) -> Result<bool> {
        match self {
            Self::Lock(lock) => lock.acquire_with(blocking, timeout),
            Self::RLock(lock) => lock.acquire_with(blocking, timeout),
        }
    }

    /// Python's `_is_owned()`: an RLock owned by the caller, or a Lock that
    /// is locked (a plain lock has no owner to ask).
    pub(super) fn is_owned(&self) -> bool {
        match self {
            Self::Lock(lock) => lock.locked(),
            Self::RLock(lock) => lock.is_owned(),
        }
    }

    /// Python's `_release_save()`: releases fully, returning the RLock's depth.
    pub(super) fn release_save(&self) -> Result<usize> {
        match self {
            Self::Lock(lock) => lock.release().map(|()| 1),
            Self::RLock(lock) => lock.release_all(),
        }
    }

    /// Python's `_acquire_restore()`.
    pub(super) fn acquire_restore(&self, saved: usize) {
        match self {
            Self::Lock(lock) => lock.acquire(),
            Self::RLock(lock) => lock.acquire_restore(saved),
        }
    }
}
