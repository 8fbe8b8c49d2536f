//! [`Future`]: Python's `concurrent.futures.Future`, a result that will be
//! there once some thread sets it.

use super::wait::Waiter;
use crate::threading::error::{Error, ErrorKind, Result};
use crate::threading::registry::{PrimitiveKind, PrimitiveRecord, Registry};
use crate::threading::thread::current::current_id;
use crate::threading::thread::excepthook::{self, Caught};
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::sync::Arc;

/// A result that will be there: Python's `concurrent.futures.Future`.
///
/// A `Future` is a shared handle (clones are the same future). It is
/// pending, then running (a thread called
/// [`set_running_or_notify_cancel`](Self::set_running_or_notify_cancel)),
/// then finished with a value or an exception; or it is cancelled before it
/// runs. [`ThreadPoolExecutor::submit`](crate::threading::ThreadPoolExecutor::submit)
/// returns one; tests and custom executors may make their own.
///
/// In the registry a running future's holder is the thread running it, so
/// a thread blocked in [`result`](Self::result) points at the worker it
/// waits for.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{ErrorKind, Future, Thread};
/// let future = Future::new();
/// let worker = {
///     let future = future.clone();
///     Thread::spawn(move || {
///         if future.set_running_or_notify_cancel().unwrap() {
///             future.set_result(6 * 7).unwrap();
///         }
///     })
///     .unwrap()
/// };
/// assert_eq!(future.result().unwrap(), 42);
/// assert!(future.done());
/// assert_eq!(future.set_result(0).unwrap_err().kind(), ErrorKind::InvalidStateError);
/// worker.join().unwrap();
/// ```
///
/// # Differences from Python
///
/// - `result(timeout)` / `exception(timeout)` are [`result`](Self::result)
///   (no limit), [`result_timeout`](Self::result_timeout) and
///   [`result_with`](Self::result_with) (seconds, as Python); likewise for
///   `exception`. `result` needs `T: Clone`, since every caller gets the value.
/// - An exception is an [`Error`]; a panic in a pool task is stored as
///   [`ErrorKind::Exception`] with the panic's message.
/// - `cancel()` tells [`wait`](crate::threading::wait) and [`as_completed`](crate::threading::as_completed)
///   at once; Python tells them only when an executor later reaches the
///   future, so they can miss futures cancelled by `shutdown(cancel_futures=True)`.
/// - The `repr` names the result's Rust type: `returned i32`.
pub struct Future<T> {
    pub(super) inner: Arc<Inner<T>>,
}

pub(super) struct Inner<T> {
    pub(super) state: Mutex<State<T>>,
    pub(super) changed: Condvar,
    pub(super) record: Arc<PrimitiveRecord>,
}

type Callback<T> = Box<dyn FnOnce(&Future<T>) + Send>;

pub(super) struct State<T> {
    pub(super) status: Status,
    /// Set when finished; taken by `ThreadPoolExecutor::map`, whose futures
    /// nobody else sees.
    pub(super) outcome: Option<Result<T>>,
    pub(super) callbacks: Vec<Callback<T>>,
    /// `wait` / `as_completed` calls to tell when it is done, with the
    /// future's index in their list.
    pub(super) waiters: Vec<(Arc<Waiter>, usize)>,
    /// Threads asleep in `result` / `exception`.
    pub(super) sleepers: u32,
}

/// Python's `_state` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Status {
    Pending,
    Running,
    Cancelled,
    CancelledAndNotified,
    Finished,
}

impl Status {
    pub(super) fn python(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Cancelled => "CANCELLED",
            Self::CancelledAndNotified => "CANCELLED_AND_NOTIFIED",
            Self::Finished => "FINISHED",
        }
    }

    pub(super) fn is_cancelled(self) -> bool {
        matches!(self, Self::Cancelled | Self::CancelledAndNotified)
    }

    pub(super) fn is_done(self) -> bool {
        self.is_cancelled() || self == Self::Finished
    }
}

impl<T> Default for Future<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

impl<T> PartialEq for Future<T> {
    /// The same future (Python compares futures by identity).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl<T> Eq for Future<T> {}

impl<T> Hash for Future<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

impl<T> fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

impl<T> Future<T> {
    /// A pending future in the global registry.
    pub fn new() -> Self {
        Self::with_registry(Registry::global())
    }

    /// A pending future recorded in `registry`.
    pub fn with_registry(registry: &Registry) -> Self {
        Self::from_record(registry.new_primitive(PrimitiveKind::Future))
    }

    /// A pending future of the pool whose record is `pool`.
    pub(crate) fn for_pool(registry: &Registry, pool: &PrimitiveRecord) -> Self {
        let record = registry.new_primitive(PrimitiveKind::Future);
        record.set_related(pool);
        Self::from_record(record)
    }

    fn from_record(record: Arc<PrimitiveRecord>) -> Self {
        let state = State {
            status: Status::Pending,
            outcome: None,
            callbacks: Vec::new(),
            waiters: Vec::new(),
            sleepers: 0,
        };
        Self { inner: Arc::new(Inner { state: Mutex::new(state), changed: Condvar::new(), record }) }
    }

    record_accessors!("future", inner.record);

    /// Cancels a pending future; true if it is (now or already) cancelled,
    /// false if it is running or finished. Done callbacks run now.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::{ErrorKind, Future};
    /// let future = Future::<u8>::new();
    /// assert!(future.cancel());
    /// assert!(future.cancelled() && future.done());
    /// assert_eq!(future.result().unwrap_err().kind(), ErrorKind::CancelledError);
    /// // An executor that reaches it acknowledges it instead of running it.
    /// assert!(!future.set_running_or_notify_cancel().unwrap());
    /// ```
    pub fn cancel(&self) -> bool {
        let mut st = self.inner.state.lock();
        match st.status {
            Status::Running | Status::Finished => return false,
            Status::Cancelled | Status::CancelledAndNotified => return true,
            Status::Pending => {}
        }
        st.status = Status::Cancelled;
        self.finish(st);
        true
    }

    /// True if it was cancelled.
    pub fn cancelled(&self) -> bool {
        self.inner.state.lock().status.is_cancelled()
    }

    /// True while a thread runs it.
    pub fn running(&self) -> bool {
        self.inner.state.lock().status == Status::Running
    }

    /// True once cancelled or finished.
    pub fn done(&self) -> bool {
        self.inner.state.lock().status.is_done()
    }

    /// Calls `callback` with the future once it is done (at once, in this
    /// thread, if it already is). Callbacks run in the order added, in the
    /// thread that finishes or cancels the future; a panicking callback is
    /// reported on stderr ("exception calling callback for <Future …>") and
    /// the others still run.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::Future;
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let future = Future::new();
    /// for tag in ["first", "second"] {
    ///     let seen = seen.clone();
    ///     future.add_done_callback(move |f| seen.lock().unwrap().push((tag, f.result().unwrap())));
    /// }
    /// future.set_result(7).unwrap();
    /// assert_eq!(*seen.lock().unwrap(), [("first", 7), ("second", 7)]);
    /// ```
    pub fn add_done_callback(&self, callback: impl FnOnce(&Future<T>) + Send + 'static) {
        let mut st = self.inner.state.lock();
        if !st.status.is_done() {
            st.callbacks.push(Box::new(callback));
            return;
        }
        drop(st);
        self.run_callbacks(vec![Box::new(callback)]);
    }

    /// For executors: marks a pending future running (true), with the
    /// calling thread as its holder, or acknowledges a cancelled one (false).
    ///
    /// # Errors
    ///
    /// `RuntimeError: Future in unexpected state` if it is running, finished
    /// or already acknowledged (also logged to stderr, as Python does).
    pub fn set_running_or_notify_cancel(&self) -> Result<bool> {
        let mut st = self.inner.state.lock();
        match st.status {
            Status::Cancelled => {
                st.status = Status::CancelledAndNotified;
                Ok(false)
            }
            Status::Pending => {
                st.status = Status::Running;
                self.inner.record.note_acquired(current_id());
                Ok(true)
            }
            other => {
                let line = format!(
                    "Future {} in unexpected state: {}\n",
                    Arc::as_ptr(&self.inner) as usize,
                    other.python()
                );
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
                Err(Error::runtime("Future in unexpected state"))
            }
        }
    }

    /// Finishes the future with `value`; wakes waiters, runs callbacks.
    ///
    /// # Errors
    ///
    /// `InvalidStateError: FINISHED: <Future at 0x… state=finished returned i32>`
    /// (or `CANCELLED: …`) if it is already done.
    pub fn set_result(&self, value: T) -> Result<()> {
        self.complete(Ok(value))
    }

    /// Finishes the future with `exception`, which [`result`](Self::result)
    /// returns as its error.
    ///
    /// # Errors
    ///
    /// `InvalidStateError`, as [`set_result`](Self::set_result).
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::{Error, ErrorKind, Future};
    /// let future = Future::<u8>::new();
    /// future.set_exception(Error::new(ErrorKind::ValueError, "bad input")).unwrap();
    /// assert_eq!(future.result().unwrap_err().to_string(), "ValueError: bad input");
    /// assert_eq!(future.exception().unwrap().unwrap().kind(), ErrorKind::ValueError);
    /// assert!(future.repr().ends_with("state=finished raised ValueError>"));
    /// ```
    pub fn set_exception(&self, exception: Error) -> Result<()> {
        self.complete(Err(exception))
    }

    /// What tells futures apart: the address of the shared state.
    pub(crate) fn identity(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// True if it finished with an exception.
    pub(crate) fn raised(&self) -> bool {
        matches!(self.inner.state.lock().outcome, Some(Err(_)))
    }

    /// Asks to be told (`waiter.notify(index)`) when the future is done;
    /// false, and nothing registered, if it already is.
    pub(crate) fn add_waiter(&self, waiter: &Arc<Waiter>, index: usize) -> bool {
        let mut st = self.inner.state.lock();
        if st.status.is_done() {
            return false;
        }
        st.waiters.push((waiter.clone(), index));
        true
    }

    pub(crate) fn remove_waiter(&self, waiter: &Arc<Waiter>) {
        self.inner.state.lock().waiters.retain(|(w, _)| !Arc::ptr_eq(w, waiter));
    }

    /// Python's `repr()`: `<Future at 0x… state=finished returned i32>`.
    pub fn repr(&self) -> String {
        self.repr_of(&self.inner.state.lock())
    }

    fn repr_of(&self, st: &State<T>) -> String {
        let at = Arc::as_ptr(&self.inner);
        match (st.status, &st.outcome) {
            (Status::Finished, Some(Err(e))) => {
                format!("<Future at {at:p} state=finished raised {}>", e.kind().python_name())
            }
            (Status::Finished, _) => {
                format!("<Future at {at:p} state=finished returned {}>", short_type_name::<T>())
            }
            (Status::Pending, _) => format!("<Future at {at:p} state=pending>"),
            (Status::Running, _) => format!("<Future at {at:p} state=running>"),
            _ => format!("<Future at {at:p} state=cancelled>"),
        }
    }

    fn complete(&self, outcome: Result<T>) -> Result<()> {
        let mut st = self.inner.state.lock();
        if st.status.is_done() {
            let message = format!("{}: {}", st.status.python(), self.repr_of(&st));
            return Err(Error::new(ErrorKind::InvalidStateError, message));
        }
        if st.status == Status::Running
            && let Some(since) = self.inner.record.note_released()
        {
            self.inner.record.note_hold_ended(since);
        }
        st.status = Status::Finished;
        st.outcome = Some(outcome);
        self.finish(st);
        Ok(())
    }

    /// The future just became done: wake everyone, then run the callbacks
    /// with it unlocked.
    fn finish(&self, mut st: MutexGuard<'_, State<T>>) {
        for (waiter, index) in st.waiters.drain(..) {
            waiter.notify(index);
        }
        if st.sleepers > 0 {
            self.inner.changed.notify_all();
        }
        let callbacks = std::mem::take(&mut st.callbacks);
        drop(st);
        self.run_callbacks(callbacks);
    }

    fn run_callbacks(&self, callbacks: Vec<Callback<T>>) {
        for callback in callbacks {
            match excepthook::catch(|| callback(self)) {
                Caught::Returned(()) => {}
                // Python's SystemExit is not an `Exception`: it escapes.
                Caught::Exited => excepthook::exit(),
                Caught::Panicked { message, location } => {
                    let mut out = format!("exception calling callback for {}\n", self.repr());
                    excepthook::push_traceback(&mut out, &message, location.as_deref());
                    let _ = std::io::stderr().lock().write_all(out.as_bytes());
                }
            }
        }
    }
}

/// `alloc::vec::Vec<alloc::string::String>` → `Vec<String>`.
fn short_type_name<T>() -> String {
    let full = std::any::type_name::<T>();
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    for c in full.chars().chain(std::iter::once('\0')) {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
            continue;
        }
        out.push_str(word.rsplit("::").next().unwrap_or_default());
        word.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_lose_their_paths() {
        assert_eq!(short_type_name::<i32>(), "i32");
        assert_eq!(short_type_name::<Vec<String>>(), "Vec<String>");
        assert_eq!(short_type_name::<(u8, Option<String>)>(), "(u8, Option<String>)");
    }
}
