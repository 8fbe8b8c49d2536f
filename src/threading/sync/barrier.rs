//! [`Barrier`]: Python's `threading.Barrier`, a meeting point for a fixed
//! number of threads.

use crate::threading::error::{Error, ErrorKind, Result};
use crate::threading::registry::{PrimitiveKind, PrimitiveRecord, Registry};
use crate::threading::timeout::{self, Deadline};
use crate::threading::wait::{WaitScope, condvar_wait};
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Gauges of a barrier's record, by index.
const GAUGES: [&str; 3] = ["parties", "n_waiting", "broken"];
const PARTIES: usize = 0;
const N_WAITING: usize = 1;
const BROKEN: usize = 2;

/// Python's `_state`: 0 filling, 1 draining, -1 resetting, -2 broken, plus
/// the time the action runs (Python holds the lock then; we do not, so that
/// nobody blocks out of the registry's sight).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Filling,
    Action,
    Draining,
    Resetting,
    Broken,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    /// Threads inside `wait()` this round (Python's `_count`).
    count: usize,
}

type Action = Box<dyn Fn() + Send + Sync>;

/// A barrier for a fixed number of threads: Python's `threading.Barrier`.
///
/// Each of `parties` threads calls [`wait`](Self::wait); all block until
/// the last arrives, then all go on, each with its index in arrival order.
/// The barrier is then ready for the next round. It can run an action
/// first, time out, be [`abort`](Self::abort)ed or [`reset`](Self::reset);
/// a broken barrier fails every wait with `BrokenBarrierError`. Snapshots
/// show the waiting threads and gauge `parties`, `n_waiting` and `broken`.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{Barrier, Thread};
/// use std::sync::Arc;
///
/// let start_line = Arc::new(Barrier::named("start-line", 3).unwrap());
/// let runners: Vec<Thread> = (0..2)
///     .map(|_| {
///         let start_line = start_line.clone();
///         Thread::spawn(move || {
///             start_line.wait(None).unwrap();
///         })
///         .unwrap()
///     })
///     .collect();
/// let index = start_line.wait(None).unwrap();
/// assert!(index < 3);
/// for runner in runners {
///     runner.join().unwrap();
/// }
/// assert_eq!(start_line.n_waiting(), 0);
/// ```
///
/// # Differences from Python
///
/// - `Barrier(parties, action, timeout)` is [`new`](Self::new) then
///   [`with_action`](Self::with_action) and [`with_timeout`](Self::with_timeout).
/// - An action that raises is an action that panics: that thread's `wait`
///   resumes the panic, the others get `BrokenBarrierError`.
/// - The action runs without the barrier's internal lock held; threads
///   arriving meanwhile wait (visibly) for the round to drain, as in Python.
pub struct Barrier {
    parties: usize,
    action: Option<Action>,
    timeout: Option<Duration>,
    state: Mutex<State>,
    changed: Condvar,
    record: Arc<PrimitiveRecord>,
}

fn broken() -> Error {
    Error::new(ErrorKind::BrokenBarrierError, "")
}

impl Barrier {
    /// A barrier for `parties` threads, in the global registry.
    ///
    /// # Errors
    ///
    /// `ValueError: parties must be > 0` for 0.
    pub fn new(parties: usize) -> Result<Self> {
        Self::with_registry(parties, Registry::global())
    }

    /// A barrier for `parties` threads, with a name.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn named(name: impl Into<String>, parties: usize) -> Result<Self> {
        let barrier = Self::new(parties)?;
        barrier.set_name(name);
        Ok(barrier)
    }

    /// A barrier for `parties` threads, recorded in `registry`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_registry(parties: usize, registry: &Registry) -> Result<Self> {
        if parties == 0 {
            return Err(Error::value("parties must be > 0"));
        }
        let record = registry.new_primitive_with(PrimitiveKind::Barrier, &GAUGES);
        record.set_detail(PARTIES, parties as u64);
        Ok(Self {
            parties,
            action: None,
            timeout: None,
            state: Mutex::new(State { phase: Phase::Filling, count: 0 }),
            changed: Condvar::new(),
            record,
        })
    }

    /// Runs `action` once per round, in one of the threads (the last to
    /// arrive), before any of them is released.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::Barrier;
    /// use std::sync::{Arc, atomic::{AtomicU32, Ordering}};
    /// let rounds = Arc::new(AtomicU32::new(0));
    /// let counter = rounds.clone();
    /// let barrier = Barrier::new(1).unwrap().with_action(move || {
    ///     counter.fetch_add(1, Ordering::Relaxed);
    /// });
    /// barrier.wait(None).unwrap();
    /// barrier.wait(None).unwrap();
    /// assert_eq!(rounds.load(Ordering::Relaxed), 2);
    /// ```
    #[must_use]
    pub fn with_action(mut self, action: impl Fn() + Send + Sync + 'static) -> Self {
        self.action = Some(Box::new(action));
        self
    }

    /// Sets the timeout that [`wait`](Self::wait) uses when given none.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    record_accessors!("barrier", record);

    /// How many threads must call [`wait`](Self::wait) to pass it.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// How many threads wait in it now. Read without locking, from the
    /// gauge (Python reads it without the lock too).
    pub fn n_waiting(&self) -> usize {
        usize::try_from(self.record.detail(N_WAITING)).unwrap_or(usize::MAX)
    }

    /// True once broken (by [`abort`](Self::abort), a timeout or a failed
    /// action), until [`reset`](Self::reset).
    pub fn broken(&self) -> bool {
        self.record.detail(BROKEN) != 0
    }

    /// Waits until all parties have called `wait`, then returns this
    /// thread's index in arrival order (`0..parties`). `timeout` `None`
    /// means the barrier's default ([`with_timeout`](Self::with_timeout),
    /// else no limit).
    ///
    /// # Errors
    ///
    /// - `BrokenBarrierError` if the barrier is or becomes broken or is
    ///   reset while waiting, or this wait times out (which breaks it for
    ///   every waiter).
    /// - `OverflowError` past [`TIMEOUT_MAX`](crate::threading::TIMEOUT_MAX).
    ///
    /// # Panics
    ///
    /// Resumes the action's panic in the thread that ran it.
    ///
    /// # Blocking
    ///
    /// Recorded as Waiting on this barrier in the role "wait", also while
    /// it waits for the previous round to drain.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<usize> {
        let timeout = timeout.or(self.timeout);
        timeout::optional_deadline(timeout)?; // only to refuse one past TIMEOUT_MAX
        let mut state = self.state.lock();
        let mut scope = None;
        // Python's `_enter`: a new round starts once the last one drained.
        while matches!(state.phase, Phase::Action | Phase::Draining | Phase::Resetting) {
            self.block(&mut state, &mut scope, None);
        }
        if state.phase == Phase::Broken {
            drop(state);
            self.end(scope);
            return Err(broken());
        }
        // As in Python, the timeout runs from here, not from the call.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let index = state.count;
        state.count += 1;
        self.update_gauges(&state);
        let result = if state.count == self.parties {
            self.end(scope.take());
            self.release(&mut state)
        } else {
            self.wait_released(&mut state, &mut scope, deadline)
        };
        let result = result.map(|()| index);
        self.exit(&mut state);
        drop(state);
        self.end(scope);
        match result {
            Err(Released::Panicked(payload)) => panic::resume_unwind(payload),
            Err(Released::Broken) => Err(broken()),
            Ok(index) => Ok(index),
        }
    }

    /// Sleeps on the barrier, recorded as Waiting from the first sleep on.
    /// True if `deadline` passed.
    fn block(
        &self,
        state: &mut MutexGuard<'_, State>,
        scope: &mut Option<WaitScope>,
        deadline: Deadline,
    ) -> bool {
        if scope.is_none() {
            *scope = Some(WaitScope::on_primitive(&self.record, "wait"));
        }
        condvar_wait(&self.changed, state, deadline)
    }

    fn end(&self, scope: Option<WaitScope>) {
        if let Some(scope) = scope {
            scope.end_on(&self.record);
        }
    }

    /// The last thread in: runs the action, then lets everyone go.
    fn release(&self, state: &mut MutexGuard<'_, State>) -> Result<(), Released> {
        if let Some(action) = &self.action {
            state.phase = Phase::Action;
            let outcome = MutexGuard::unlocked(state, || panic::catch_unwind(AssertUnwindSafe(action)));
            if let Err(payload) = outcome {
                self.break_barrier(state);
                return Err(Released::Panicked(payload));
            }
            if state.phase != Phase::Action {
                // Aborted or reset while the action ran.
                return Err(Released::Broken);
            }
        }
        state.phase = Phase::Draining;
        self.changed.notify_all();
        Ok(())
    }

    /// Python's `_wait`: sleep until released, broken, or the deadline.
    fn wait_released(
        &self,
        state: &mut MutexGuard<'_, State>,
        scope: &mut Option<WaitScope>,
        deadline: Deadline,
    ) -> Result<(), Released> {
        let mut timed_out = false;
        loop {
            match state.phase {
                Phase::Filling if timed_out => {
                    self.break_barrier(state);
                    return Err(Released::Broken);
                }
                Phase::Filling => timed_out = self.block(state, scope, deadline),
                // Python's waiters cannot time out while the action holds
                // the lock; neither do ours.
                Phase::Action => {
                    self.block(state, scope, None);
                }
                Phase::Draining => return Ok(()),
                Phase::Resetting | Phase::Broken => return Err(Released::Broken),
            }
        }
    }

    /// Python's `_exit`: the last thread out of a draining or resetting
    /// barrier opens the next round.
    fn exit(&self, state: &mut State) {
        state.count -= 1;
        if state.count == 0 && matches!(state.phase, Phase::Draining | Phase::Resetting) {
            state.phase = Phase::Filling;
            self.changed.notify_all();
        }
        self.update_gauges(state);
    }

    fn break_barrier(&self, state: &mut State) {
        state.phase = Phase::Broken;
        self.changed.notify_all();
        self.update_gauges(state);
    }

    fn update_gauges(&self, state: &State) {
        let waiting = if matches!(state.phase, Phase::Filling | Phase::Action) { state.count } else { 0 };
        self.record.set_detail(N_WAITING, waiting as u64);
        self.record.set_detail(BROKEN, u64::from(state.phase == Phase::Broken));
    }

    /// Breaks the barrier: threads waiting now and later get
    /// `BrokenBarrierError` until [`reset`](Self::reset).
    pub fn abort(&self) {
        self.break_barrier(&mut self.state.lock());
    }

    /// Returns the barrier to its empty state. Threads waiting in it get
    /// `BrokenBarrierError`; it is usable at once, also after
    /// [`abort`](Self::abort).
    pub fn reset(&self) {
        let mut state = self.state.lock();
        if state.count > 0 {
            if matches!(state.phase, Phase::Filling | Phase::Action | Phase::Broken) {
                // Cleared when the last of them leaves.
                state.phase = Phase::Resetting;
            }
        } else {
            state.phase = Phase::Filling;
        }
        self.changed.notify_all();
        self.update_gauges(&state);
    }

    /// Python's `repr()`: `<threading.Barrier at 0x…: waiters=2/3>` or
    /// `<threading.Barrier at 0x…: broken>`.
    pub fn repr(&self) -> String {
        if self.broken() {
            return format!("<threading.Barrier at {:p}: broken>", self);
        }
        format!("<threading.Barrier at {:p}: waiters={}/{}>", self, self.n_waiting(), self.parties)
    }
}

/// Why a thread left a round without passing.
enum Released {
    Broken,
    Panicked(Box<dyn std::any::Any + Send>),
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_track_the_round() {
        let barrier = Barrier::with_registry(2, &Registry::new()).unwrap();
        assert_eq!(barrier.record().details(), [("parties", 2), ("n_waiting", 0), ("broken", 0)]);
        barrier.abort();
        assert_eq!(barrier.record().details()[2], ("broken", 1));
        barrier.reset();
        assert_eq!(barrier.record().details()[2], ("broken", 0));
    }

    #[test]
    fn a_single_party_passes_at_once() {
        let barrier = Barrier::with_registry(1, &Registry::new()).unwrap();
        for _ in 0..3 {
            assert_eq!(barrier.wait(None), Ok(0));
        }
        assert_eq!(barrier.record().stats_now().contentions, 0);
    }
}
