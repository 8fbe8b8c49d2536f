//! [`Timer`]: Python's `threading.Timer`, a thread that calls a function
//! after a delay unless cancelled.

use super::event::Event;
use crate::threading::registry::Registry;
use crate::threading::thread::Thread;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A thread that calls a function once `interval` has passed since it
/// started, unless [`cancel`](Self::cancel)led first: Python's
/// `threading.Timer`.
///
/// Like Python's, it is created Created: call [`start`](Thread::start). It
/// is a [`Thread`] (it dereferences to one, as Python's class is a
/// subclass), so `join`, `is_alive`, `name`… work on it. While it counts
/// down, its thread is Waiting on its [`finished`](Self::finished) event,
/// whose record gauges the `interval_ms`.
///
/// # Examples
///
/// ```
/// use threadscope::threading::Timer;
/// use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
/// use std::time::Duration;
///
/// let rang = Arc::new(AtomicBool::new(false));
/// let bell = rang.clone();
/// let timer = Timer::new(Duration::from_millis(10), move || bell.store(true, Ordering::Relaxed));
/// timer.start().unwrap();
/// timer.join().unwrap();
/// assert!(rang.load(Ordering::Relaxed));
///
/// let never = Timer::new(Duration::from_secs(3600), || unreachable!());
/// never.start().unwrap();
/// never.cancel();
/// never.join().unwrap();
/// assert!(never.finished().is_set());
/// ```
///
/// # Differences from Python
///
/// - `Timer(interval, function, args, kwargs)`: the function is a closure
///   that owns what it needs, so no two timers share arguments.
/// - `finished` is set when the thread ends even if the function panics
///   (Python leaves it unset when the function raises).
/// - An interval too long for the clock waits forever instead of raising
///   `OverflowError` in the timer's thread.
pub struct Timer {
    thread: Thread,
    finished: Arc<Event>,
    interval: Duration,
}

/// Index of the `interval_ms` gauge on the finished event's record.
const INTERVAL_MS: usize = Event::EXTRA_GAUGES;

impl Timer {
    /// A timer that will call `function` `interval` after it starts, in the
    /// global registry.
    pub fn new(interval: Duration, function: impl FnOnce() + Send + 'static) -> Self {
        Self::with_registry(interval, function, Registry::global())
    }

    /// A timer whose thread and event are recorded in `registry`.
    pub fn with_registry(
        interval: Duration,
        function: impl FnOnce() + Send + 'static,
        registry: &Registry,
    ) -> Self {
        let finished = Arc::new(Event::with_gauges(registry, &["interval_ms"]));
        let millis = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        finished.record().set_detail(INTERVAL_MS, millis);
        let run_finished = finished.clone();
        let thread = Thread::builder().registry(registry).target(move || {
            // Set even if `function` panics, so nobody waits on it forever.
            let _finish = SetOnDrop(&run_finished);
            run_finished.wait_until(Instant::now().checked_add(interval));
            if !run_finished.is_set() {
                function();
            }
        });
        finished.set_name(format!("{} finished", thread.name()));
        Self { thread, finished, interval }
    }

    /// Stops the timer if it has not called its function yet (Python's
    /// `cancel()`): sets [`finished`](Self::finished).
    pub fn cancel(&self) {
        self.finished.set();
    }

    /// Set once the timer has run its function, or been cancelled.
    pub fn finished(&self) -> &Event {
        &self.finished
    }

    /// The delay between `start()` and the call.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The timer's thread.
    pub fn thread(&self) -> &Thread {
        &self.thread
    }
}

struct SetOnDrop<'a>(&'a Event);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set();
    }
}

impl Deref for Timer {
    type Target = Thread;

    fn deref(&self) -> &Thread {
        &self.thread
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("thread", &self.thread)
            .field("interval", &self.interval)
            .field("finished", &self.finished.is_set())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_carries_the_interval() {
        let registry = Registry::new();
        let timer = Timer::with_registry(Duration::from_millis(250), || (), &registry);
        let record = timer.finished().record();
        assert_eq!(record.details().last(), Some(&("interval_ms", 250)));
        assert_eq!(timer.finished().name(), Some(format!("{} finished", timer.name())));
    }
}
