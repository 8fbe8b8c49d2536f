//! Errors that read like Python's exceptions.

use std::borrow::Cow;
use std::fmt;

/// The Python exception class an [`Error`] stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ErrorKind {
    /// `RuntimeError` (also `_thread.error` / `threading.ThreadError`).
    RuntimeError,
    /// `ValueError`.
    ValueError,
    /// `OverflowError`.
    OverflowError,
    /// `TypeError`.
    TypeError,
    /// `AttributeError`.
    AttributeError,
    /// `threading.BrokenBarrierError`, a `RuntimeError` subclass.
    BrokenBarrierError,
    /// `queue.Full`.
    Full,
    /// `queue.Empty`.
    Empty,
    /// `queue.ShutDown` (3.13).
    ShutDown,
    /// The builtin `TimeoutError`.
    TimeoutError,
    /// `concurrent.futures.CancelledError`.
    CancelledError,
    /// `concurrent.futures.InvalidStateError`.
    InvalidStateError,
    /// `concurrent.futures.thread.BrokenThreadPool`.
    BrokenThreadPool,
    /// Python's base `Exception`: what a panic in a pool task becomes (the
    /// message is the panic's), as a Python task would raise.
    Exception,
}

impl ErrorKind {
    /// The Python class name, as it prints in a traceback.
    pub fn python_name(self) -> &'static str {
        match self {
            Self::RuntimeError => "RuntimeError",
            Self::ValueError => "ValueError",
            Self::OverflowError => "OverflowError",
            Self::TypeError => "TypeError",
            Self::AttributeError => "AttributeError",
            Self::BrokenBarrierError => "BrokenBarrierError",
            Self::Full => "Full",
            Self::Empty => "Empty",
            Self::ShutDown => "ShutDown",
            Self::TimeoutError => "TimeoutError",
            Self::CancelledError => "CancelledError",
            Self::InvalidStateError => "InvalidStateError",
            Self::BrokenThreadPool => "BrokenThreadPool",
            Self::Exception => "Exception",
        }
    }

    /// True for kinds that Python derives from `RuntimeError`.
    pub fn is_runtime_error(self) -> bool {
        matches!(self, Self::RuntimeError | Self::BrokenBarrierError | Self::BrokenThreadPool)
    }
}

/// An error from the threading library: a Python exception kind and message.
///
/// It displays the way Python prints the last line of a traceback:
///
/// ```
/// use threadscope::threading::Lock;
/// let lock = Lock::new();
/// let err = lock.release().unwrap_err();
/// assert_eq!(err.to_string(), "RuntimeError: release unlocked lock");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
}

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self { kind, message: message.into() }
    }

    pub(crate) fn runtime(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::RuntimeError, message)
    }

    pub(crate) fn value(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::ValueError, message)
    }

    pub(crate) fn overflow(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::OverflowError, message)
    }

    /// Which Python exception this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message alone, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(self.kind.python_name())
        } else {
            write!(f, "{}: {}", self.kind.python_name(), self.message)
        }
    }
}

/// Result of a threading operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
