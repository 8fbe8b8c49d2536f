//! [`Event`]: Python's `threading.Event`, a flag that threads wait for.

use crate::threading::error::Result;
use crate::threading::registry::{PrimitiveKind, PrimitiveRecord, Registry};
use crate::threading::timeout::{self, Deadline};
use crate::threading::wait::{WaitScope, condvar_wait};
use parking_lot::{Condvar, Mutex};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The gauges every event's record carries, by index.
const GAUGES: [&str; 3] = ["is_set", "sets", "waits"];
const IS_SET: usize = 0;
/// `set()` calls that changed the flag.
const SETS: usize = 1;
/// `wait()` calls that had to block.
const WAITS: usize = 2;

#[derive(Debug, Default)]
struct State {
    /// Bumped by every `set()` that changes the flag: a waiter that sees it
    /// move was set free even if `clear()` came before it woke.
    generation: u64,
    /// Threads blocked in `wait()`, so `set()` notifies only when needed.
    waiters: usize,
}

/// A flag that threads can wait for: Python's `threading.Event`.
///
/// [`set`](Self::set) wakes every waiter; [`clear`](Self::clear) makes
/// later [`wait`](Self::wait)s block again. The registry shows the threads
/// waiting on it and gauges `is_set`, `sets` (calls that changed the flag)
/// and `waits` (calls that had to block).
///
/// # Examples
///
/// ```
/// use threadscope::threading::{Event, Thread};
/// use std::sync::Arc;
///
/// let ready = Arc::new(Event::named("ready"));
/// let setter = {
///     let ready = ready.clone();
///     Thread::spawn(move || ready.set()).unwrap()
/// };
/// assert!(ready.wait(None).unwrap());
/// setter.join().unwrap();
/// assert_eq!(ready.repr().rsplit(": ").next(), Some("set>"));
/// ```
///
/// # Differences from Python
///
/// - `wait(timeout)` takes an `Option<Duration>` (`None` waits forever) and
///   returns `Result<bool>`: the only error is an `OverflowError` past
///   [`TIMEOUT_MAX`](crate::threading::TIMEOUT_MAX).
/// - A timed `wait` that times out just as another thread sets the event
///   returns `true` (Python may return `False` then).
/// - Only a wait that really blocks is recorded in the registry; one that
///   finds the event set returns after a single atomic load.
/// - Events can be named; the name shows in snapshots.
pub struct Event {
    flag: AtomicBool,
    state: Mutex<State>,
    changed: Condvar,
    record: Arc<PrimitiveRecord>,
}

impl Default for Event {
    fn default() -> Self {
        Self::new()
    }
}

impl Event {
    /// An unset event, recorded in the global registry.
    pub fn new() -> Self {
        Self::with_registry(Registry::global())
    }

    /// An unset event with a name.
    pub fn named(name: impl Into<String>) -> Self {
        let event = Self::new();
        event.set_name(name);
        event
    }

    /// An unset event recorded in `registry`.
    pub fn with_registry(registry: &Registry) -> Self {
        Self::with_gauges(registry, &[])
    }

    /// An unset event whose record carries `extra` gauges after its own
    /// (indices from [`EXTRA_GAUGES`](Self::EXTRA_GAUGES)): a timer's interval.
    pub(crate) fn with_gauges(registry: &Registry, extra: &[&'static str]) -> Self {
        let names: Vec<&'static str> = GAUGES.iter().chain(extra).copied().collect();
        Self {
            flag: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            record: registry.new_primitive_with(PrimitiveKind::Event, &names),
        }
    }

    /// Index of the first gauge given to [`with_gauges`](Self::with_gauges).
    pub(crate) const EXTRA_GAUGES: usize = GAUGES.len();

    record_accessors!("event", record);

    /// True once [`set`](Self::set), until [`clear`](Self::clear).
    #[inline]
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Sets the flag and wakes every waiting thread. Setting a set event
    /// does nothing.
    pub fn set(&self) {
        if self.is_set() {
            return;
        }
        let mut state = self.state.lock();
        if self.flag.load(Ordering::Relaxed) {
            return;
        }
        self.flag.store(true, Ordering::Release);
        state.generation = state.generation.wrapping_add(1);
        self.record.set_detail(IS_SET, 1);
        self.record.bump_detail(SETS, 1);
        if state.waiters > 0 {
            self.changed.notify_all();
        }
    }

    /// Resets the flag: later waits block until the next [`set`](Self::set).
    pub fn clear(&self) {
        if !self.flag.load(Ordering::Relaxed) {
            return;
        }
        // Under the lock, so the gauge and the flag change together.
        let _state = self.state.lock();
        self.flag.store(false, Ordering::Relaxed);
        self.record.set_detail(IS_SET, 0);
    }

    /// Blocks until the flag is set or `timeout` passes (`None`: no limit).
    /// True if the flag was set (at once if it already is), false on timeout.
    ///
    /// # Errors
    ///
    /// `OverflowError` if `timeout` exceeds [`TIMEOUT_MAX`](crate::threading::TIMEOUT_MAX).
    ///
    /// # Blocking
    ///
    /// While it sleeps, the thread is recorded as Waiting on this event in
    /// the role "wait".
    pub fn wait(&self, timeout: Option<Duration>) -> Result<bool> {
        if self.is_set() {
            return Ok(true);
        }
        Ok(self.wait_until(timeout::optional_deadline(timeout)?))
    }

    /// The slow path of [`wait`](Self::wait), also the timer's sleep.
    pub(crate) fn wait_until(&self, deadline: Deadline) -> bool {
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return self.is_set();
        }
        let scope = WaitScope::on_primitive(&self.record, "wait");
        let mut state = self.state.lock();
        let generation = state.generation;
        state.waiters += 1;
        self.record.bump_detail(WAITS, 1);
        let mut timed_out = false;
        while !timed_out && state.generation == generation && !self.flag.load(Ordering::Relaxed) {
            timed_out = condvar_wait(&self.changed, &mut state, deadline);
        }
        state.waiters -= 1;
        let signaled = state.generation != generation || self.flag.load(Ordering::Relaxed);
        drop(state);
        scope.end_on(&self.record);
        signaled
    }

    /// Python's `repr()`: `<threading.Event at 0x…: unset>` or `…: set>`.
    pub fn repr(&self) -> String {
        let state = if self.is_set() { "set" } else { "unset" };
        format!("<threading.Event at {:p}: {state}>", self)
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_follow_the_flag() {
        let registry = Registry::new();
        let event = Event::with_registry(&registry);
        event.set();
        event.set();
        assert_eq!(event.record().details(), [("is_set", 1), ("sets", 1), ("waits", 0)]);
        event.clear();
        assert_eq!(event.record().detail(IS_SET), 0);
    }

    #[test]
    fn an_expired_timeout_returns_false_without_blocking() {
        let event = Event::with_registry(&Registry::new());
        assert!(!event.wait(Some(Duration::ZERO)).unwrap());
        assert_eq!(event.record().detail(WAITS), 0);
        assert_eq!(event.record().stats_now().contentions, 0);
    }

    #[test]
    fn repr_shows_the_flag() {
        let event = Event::with_registry(&Registry::new());
        assert!(event.repr().starts_with("<threading.Event at 0x"));
        assert!(event.repr().ends_with(": unset>"));
        event.set();
        assert!(format!("{event:?}").ends_with(": set>"));
    }
}
