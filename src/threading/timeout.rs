//! Python's timeout rules: `-1` means forever, `TIMEOUT_MAX` is the ceiling.

use super::error::{Error, Result};
use std::time::{Duration, Instant};

/// The largest timeout, in seconds, that blocking calls accept (Python's
/// `threading.TIMEOUT_MAX` on Linux). Larger values are an `OverflowError`.
pub const TIMEOUT_MAX: f64 = 9_223_372_036.0;

const OVERFLOW: &str = "timestamp out of range for platform time_t";

/// When a wait gives up: `None` waits forever.
pub(crate) type Deadline = Option<Instant>;

/// Parses `Lock.acquire(blocking, timeout)` style arguments into a deadline.
/// Returns `Ok(None)` for "forever"; the caller handles `blocking == false`.
pub(crate) fn lock_deadline(blocking: bool, timeout: f64) -> Result<Deadline> {
    if !blocking && timeout != -1.0 {
        return Err(Error::value("can't specify a timeout for a non-blocking call"));
    }
    if timeout == -1.0 {
        return Ok(None);
    }
    seconds_deadline(timeout, "timeout value must be a non-negative number")
}

/// A deadline `timeout` seconds from now. `negative` is the message Python
/// uses for a negative value at this call site.
pub(crate) fn seconds_deadline(timeout: f64, negative: &'static str) -> Result<Deadline> {
    if timeout.is_nan() {
        return Err(Error::value("Invalid value NaN (not a number)"));
    }
    if timeout < 0.0 {
        return Err(Error::value(negative));
    }
    if timeout > TIMEOUT_MAX {
        return Err(Error::overflow(OVERFLOW));
    }
    Ok(Instant::now().checked_add(Duration::from_secs_f64(timeout)))
}

/// A deadline `timeout` from now, or an `OverflowError` past `TIMEOUT_MAX`.
pub(crate) fn duration_deadline(timeout: Duration) -> Result<Deadline> {
    if timeout.as_secs_f64() > TIMEOUT_MAX {
        return Err(Error::overflow(OVERFLOW));
    }
    Ok(Instant::now().checked_add(timeout))
}

/// A deadline for an optional [`Duration`]: `None` waits forever.
pub(crate) fn optional_deadline(timeout: Option<Duration>) -> Result<Deadline> {
    timeout.map_or(Ok(None), duration_deadline)
}

/// Python's `timeout=None | float` for conditions, events, semaphores and
/// barriers: `None` waits forever and, unlike `Lock.acquire`, a negative
/// timeout is no error but means "do not wait" (Python compares
/// `timeout > 0` before blocking).
pub(crate) fn wait_deadline(timeout: Option<f64>) -> Result<Deadline> {
    match timeout {
        None => Ok(None),
        Some(secs) if secs < 0.0 => Ok(Some(Instant::now())),
        Some(secs) => seconds_deadline(secs, "timeout value must be a non-negative number"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threading::ErrorKind;

    #[test]
    fn minus_one_is_forever() {
        assert_eq!(lock_deadline(true, -1.0), Ok(None));
    }

    #[test]
    fn nan_is_a_value_error() {
        let err = lock_deadline(true, f64::NAN).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ValueError);
    }

    #[test]
    fn timeout_max_itself_is_accepted() {
        assert!(lock_deadline(true, TIMEOUT_MAX).is_ok());
        assert!(duration_deadline(Duration::from_secs_f64(TIMEOUT_MAX)).is_ok());
    }

    #[test]
    fn negative_wait_timeouts_do_not_wait() {
        let deadline = wait_deadline(Some(-5.0)).unwrap().unwrap();
        assert!(deadline <= Instant::now());
        assert_eq!(wait_deadline(None), Ok(None));
        assert_eq!(wait_deadline(Some(1e100)).unwrap_err().kind(), ErrorKind::OverflowError);
    }

    #[test]
    fn huge_duration_overflows() {
        let err = duration_deadline(Duration::from_secs(u64::MAX)).unwrap_err();
        assert_eq!(err.to_string(), format!("OverflowError: {OVERFLOW}"));
    }
}
