//! Waiting on a [`Future`]: its result or exception, with Python's timeouts.

use super::future::{Future, State, Status};
use crate::threading::error::{Error, ErrorKind, Result};
use crate::threading::timeout::{self, Deadline};
use crate::threading::wait::WaitScope;
use parking_lot::MutexGuard;
use std::time::{Duration, Instant};

impl<T> Future<T> {
    /// Takes the value out (for `map`, whose futures nobody else sees).
    pub(crate) fn take_result_until(&self, deadline: Deadline) -> Result<T> {
        let mut st = self.wait_done(deadline, "result");
        match st.status {
            Status::Finished => st.outcome.take().unwrap_or_else(|| Err(timed_out())),
            status if status.is_cancelled() => Err(cancelled()),
            _ => Err(timed_out()),
        }
    }

    /// The exception it finished with (`None` if it returned a value),
    /// waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// `CancelledError` if it was cancelled.
    ///
    /// # Blocking
    ///
    /// Until done; recorded as Waiting on the future in the role "exception".
    pub fn exception(&self) -> Result<Option<Error>> {
        self.exception_until(None)
    }

    /// As [`exception`](Self::exception), waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// `CancelledError`; `TimeoutError` when the time is up; `OverflowError`.
    pub fn exception_timeout(&self, timeout: Option<Duration>) -> Result<Option<Error>> {
        self.exception_until(crate::threading::timeout::optional_deadline(timeout)?)
    }

    /// Python's `exception(timeout=None)`: seconds; zero or negative does
    /// not wait.
    ///
    /// # Errors
    ///
    /// As [`exception_timeout`](Self::exception_timeout).
    pub fn exception_with(&self, timeout: Option<f64>) -> Result<Option<Error>> {
        self.exception_until(seconds_deadline(timeout)?)
    }

    fn exception_until(&self, deadline: Deadline) -> Result<Option<Error>> {
        let st = self.wait_done(deadline, "exception");
        match st.status {
            Status::Finished => Ok(st.outcome.as_ref().and_then(|o| o.as_ref().err()).cloned()),
            status if status.is_cancelled() => Err(cancelled()),
            _ => Err(timed_out()),
        }
    }

    /// Waits until done or `deadline`, recorded as Waiting on the future in
    /// `role`; returns the state, locked.
    fn wait_done(&self, deadline: Deadline, role: &'static str) -> MutexGuard<'_, State<T>> {
        let mut st = self.inner.state.lock();
        if st.status.is_done() || deadline.is_some_and(|d| Instant::now() >= d) {
            return st;
        }
        let scope = WaitScope::on_primitive(&self.inner.record, role);
        st.sleepers += 1;
        while !st.status.is_done() {
            match deadline {
                None => self.inner.changed.wait(&mut st),
                Some(d) => {
                    if self.inner.changed.wait_until(&mut st, d).timed_out() {
                        break;
                    }
                }
            }
        }
        st.sleepers -= 1;
        scope.end_on(&self.inner.record);
        st
    }
}

impl<T: Clone> Future<T> {
    /// The value it finished with, waiting as long as it takes.
    ///
    /// # Errors
    ///
    /// The stored exception if it raised; `CancelledError` if cancelled.
    ///
    /// # Blocking
    ///
    /// Until done; recorded as Waiting on the future in the role "result",
    /// with the thread running it as the holder.
    pub fn result(&self) -> Result<T> {
        self.result_until(None)
    }

    /// As [`result`](Self::result), waiting at most `timeout` (`None`: no limit).
    ///
    /// # Errors
    ///
    /// As [`result`](Self::result); `TimeoutError` when the time is up;
    /// `OverflowError` past [`TIMEOUT_MAX`](crate::threading::TIMEOUT_MAX).
    pub fn result_timeout(&self, timeout: Option<Duration>) -> Result<T> {
        self.result_until(crate::threading::timeout::optional_deadline(timeout)?)
    }

    /// Python's `result(timeout=None)`: seconds; zero or negative does not wait.
    ///
    /// # Errors
    ///
    /// As [`result_timeout`](Self::result_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::{ErrorKind, Future};
    /// let future = Future::<u8>::new();
    /// assert_eq!(future.result_with(Some(0.0)).unwrap_err().kind(), ErrorKind::TimeoutError);
    /// future.set_result(1).unwrap();
    /// assert_eq!(future.result_with(None).unwrap(), 1);
    /// ```
    pub fn result_with(&self, timeout: Option<f64>) -> Result<T> {
        self.result_until(seconds_deadline(timeout)?)
    }

    fn result_until(&self, deadline: Deadline) -> Result<T> {
        let st = self.wait_done(deadline, "result");
        match (st.status, &st.outcome) {
            (Status::Finished, Some(outcome)) => outcome.clone(),
            (status, _) if status.is_cancelled() => Err(cancelled()),
            _ => Err(timed_out()),
        }
    }
}

pub(crate) fn cancelled() -> Error {
    Error::new(ErrorKind::CancelledError, "")
}

pub(crate) fn timed_out() -> Error {
    Error::new(ErrorKind::TimeoutError, "")
}

/// Python's `Condition.wait(timeout)`: only a positive timeout waits.
fn seconds_deadline(timeout: Option<f64>) -> Result<Deadline> {
    match timeout {
        None => Ok(None),
        Some(seconds) if seconds > 0.0 => timeout::seconds_deadline(seconds, ""),
        Some(_) => Ok(Some(Instant::now())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_positive_python_timeout_waits() {
        let now = Instant::now();
        assert!(seconds_deadline(Some(-1.0)).unwrap().unwrap() >= now);
        assert!(seconds_deadline(Some(f64::NAN)).unwrap().unwrap() >= now);
        assert_eq!(seconds_deadline(None).unwrap(), None);
        assert_eq!(seconds_deadline(Some(1e100)).unwrap_err().kind(), ErrorKind::OverflowError);
    }
}
