//! [`PutError`]: a `put` that failed gives its item back.

use crate::threading::error::Error;
use std::fmt;

/// A `put` that failed, with the item it did not store.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{ErrorKind, Queue};
/// let q = Queue::new(1);
/// q.put("first").unwrap();
/// let err = q.put_nowait("second").unwrap_err();
/// assert_eq!(err.error.kind(), ErrorKind::Full);
/// assert_eq!(err.item, "second"); // nothing is lost
/// ```
///
/// # Differences from Python
///
/// Python raises `Full` / `ShutDown` and the caller still has the item; a
/// Rust `put` moves the item, so the error carries it back.
pub struct PutError<T> {
    /// The item that was not stored.
    pub item: T,
    /// Why: `Full`, `ShutDown`, or a bad timeout (`ValueError`, `OverflowError`).
    pub error: Error,
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PutError").field("error", &self.error).finish_non_exhaustive()
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl<T> std::error::Error for PutError<T> {}

impl<T> From<PutError<T>> for Error {
    fn from(err: PutError<T>) -> Self {
        err.error
    }
}
