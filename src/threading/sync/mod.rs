//! Synchronisation primitives: Python's `Lock`, `RLock`, `Condition`,
//! `Semaphore` / `BoundedSemaphore`, `Event`, `Barrier` and `Timer`, each
//! in its own file, plus the contended-acquire path the locks share and the
//! [`Lockable`] trait that the things one acquires and releases implement.

mod barrier;
mod condition;
mod condition_lock;
mod contention;
mod event;
mod lock;
mod lockable;
mod permits;
mod rlock;
mod semaphore;
mod timer;

pub use barrier::Barrier;
pub use condition::{Condition, ConditionGuard};
pub use condition_lock::ConditionLock;
pub use event::Event;
pub use lock::{Lock, LockGuard};
pub use lockable::Lockable;
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreGuard};
pub use timer::Timer;
