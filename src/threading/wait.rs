//! Marking the current thread Waiting for the length of a blocking call.

use super::registry::{PrimitiveRecord, ThreadRecord, WaitBacktrace, WaitTarget};
use super::timeout::Deadline;
use crate::threading::thread::current;
use parking_lot::{Condvar, MutexGuard};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// While alive, the current thread's record says it waits on a target.
/// Dropping it restores what the thread was doing before (nesting is fine).
pub(crate) struct WaitScope {
    record: Arc<ThreadRecord>,
    previous: Option<WaitTarget>,
    previous_trace: Option<WaitBacktrace>,
    since: Instant,
    ended: bool,
}

impl WaitScope {
    pub(crate) fn enter(target: WaitTarget) -> Self {
        let record = current::current_record();
        let (previous, previous_trace, since) = record.begin_wait(target);
        Self { record, previous, previous_trace, since, ended: false }
    }

    /// The current thread waits on the primitive `record` in `role`
    /// ("wait", "get", "put"…), and the record counts a contention. End it
    /// with [`end_on`](Self::end_on) to add the time waited.
    pub(crate) fn on_primitive(record: &PrimitiveRecord, role: &'static str) -> Self {
        record.note_contended();
        Self::enter(WaitTarget::Primitive { id: record.id, kind: record.kind, role })
    }

    /// Ends a wait begun with [`on_primitive`](Self::on_primitive), adding
    /// its length to the record's wait time.
    pub(crate) fn end_on(self, record: &PrimitiveRecord) {
        let since = self.since;
        let now = self.end();
        record.note_waited(now - since);
    }

    /// When the wait began.
    pub(crate) fn since(&self) -> Instant {
        self.since
    }

    /// Ends the wait now and says when (saves a clock read for callers
    /// that time the wait).
    pub(crate) fn end(mut self) -> Instant {
        self.ended = true;
        self.record.end_wait(self.previous.take(), self.previous_trace.take())
    }
}

impl Drop for WaitScope {
    fn drop(&mut self) {
        if !self.ended {
            self.record.end_wait(self.previous.take(), self.previous_trace.take());
        }
    }
}

/// Waits on `condvar` (releasing `guard` meanwhile) until notified or
/// `deadline` passes; true if it timed out. The primitives built on a
/// `parking_lot` mutex and condvar block here, inside a [`WaitScope`].
pub(crate) fn condvar_wait<T>(condvar: &Condvar, guard: &mut MutexGuard<'_, T>, deadline: Deadline) -> bool {
    match deadline {
        None => {
            condvar.wait(guard);
            false
        }
        Some(deadline) => condvar.wait_until(guard, deadline).timed_out(),
    }
}

/// Sleeps like `std::thread::sleep`, recorded as Waiting on a sleep.
///
/// # Examples
///
/// ```
/// threadscope::threading::sleep(std::time::Duration::from_millis(1));
/// ```
pub fn sleep(duration: Duration) {
    let until = Instant::now().checked_add(duration);
    let _scope = WaitScope::enter(WaitTarget::Sleep { until });
    std::thread::sleep(duration);
}

/// Runs `f`, recorded as Waiting in a region named `label`: for blocking the
/// library cannot see (a socket read, a child process), so the inspector can
/// still say what the thread waits on.
///
/// # Examples
///
/// ```
/// let n = threadscope::threading::blocking("reading config", || 42);
/// assert_eq!(n, 42);
/// ```
pub fn blocking<T>(label: impl Into<Cow<'static, str>>, f: impl FnOnce() -> T) -> T {
    let _scope = WaitScope::enter(WaitTarget::Region { label: label.into() });
    f()
}
