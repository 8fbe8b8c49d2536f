//! The live record of one thread: identity, state, what it waits on, outcome.

use super::backtrace::WaitBacktrace;
use super::primitive_record::PrimitiveKind;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where a thread is in its life, as the library sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThreadState {
    /// Constructed, `start()` not yet called.
    Created,
    /// Started and not blocked in the library.
    Running,
    /// Blocked in the library: on a primitive, a join, a sleep or a declared region.
    Waiting,
    /// Finished: returned, panicked or exited.
    Terminated,
}

impl ThreadState {
    const ALL: [ThreadState; 4] = [Self::Created, Self::Running, Self::Waiting, Self::Terminated];

    fn index(self) -> usize {
        self as usize
    }
}

/// Who made the thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThreadOrigin {
    /// The process's main thread ("MainThread").
    Main,
    /// Started by this library (`Thread::start`).
    Managed,
    /// Started elsewhere and first seen by the library ("Dummy-N").
    Dummy,
    /// A thread of threadscope's own machinery that uses the library (a UI
    /// helper joining a thread for a person): named as its OS thread is,
    /// not counted as the workload, and not a "Dummy-N".
    Helper,
}

/// How a thread's run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Outcome {
    /// The target returned.
    Returned,
    /// The target panicked (Python: raised); the message and where.
    Panicked {
        /// The panic message.
        message: String,
        /// `file:line:column` of the panic, when known.
        location: Option<String>,
    },
    /// The thread called [`exit`](crate::threading::exit) (Python: `SystemExit`).
    Exited,
}

/// What a waiting thread is blocked on. Held by the thread's record while it waits.
#[derive(Clone, Debug)]
pub(crate) enum WaitTarget {
    /// A primitive (lock, event, queue…), by registry id, in the named role
    /// ("acquire", "get"…).
    Primitive { id: u64, kind: PrimitiveKind, role: &'static str },
    /// `join()` of another thread.
    Join { thread: Arc<ThreadRecord> },
    /// `threading::sleep` until the given instant.
    Sleep { until: Option<Instant> },
    /// A user-declared blocking region (`threading::blocking`).
    Region { label: Cow<'static, str> },
}

/// State with the instants and totals needed to say time spent in each state.
#[derive(Debug)]
pub(crate) struct Status {
    pub(crate) state: ThreadState,
    pub(crate) since: Instant,
    /// Bumped at every transition (and so at every wait that begins or
    /// ends): two reads with the same count saw one unbroken stretch, which
    /// equal `since` instants alone cannot promise on a coarse clock.
    pub(crate) changes: u64,
    totals: [Duration; 4],
    pub(crate) waiting_on: Option<WaitTarget>,
    /// Where the current wait began, when wait backtraces are on.
    pub(crate) wait_backtrace: Option<WaitBacktrace>,
    pub(crate) started_at: Option<Instant>,
    pub(crate) ended_at: Option<Instant>,
    pub(crate) outcome: Option<Outcome>,
}

impl Status {
    fn enter(&mut self, state: ThreadState, now: Instant) {
        self.totals[self.state.index()] += now.saturating_duration_since(self.since);
        self.state = state;
        self.since = now;
        self.changes = self.changes.wrapping_add(1);
    }

    /// Cumulative time in each state up to `now`, the current stretch included.
    pub(crate) fn totals_at(&self, now: Instant) -> [Duration; 4] {
        let mut totals = self.totals;
        totals[self.state.index()] += now.saturating_duration_since(self.since);
        totals
    }
}

/// The registry's live view of one thread. Cheap to read from any thread.
#[derive(Debug)]
pub struct ThreadRecord {
    pub(crate) id: u64,
    pub(crate) origin: ThreadOrigin,
    name: Mutex<String>,
    ident: AtomicU64,
    native_id: AtomicU32,
    daemon: AtomicBool,
    pub(crate) created_at: Instant,
    status: Mutex<Status>,
}

impl ThreadRecord {
    pub(crate) fn new(id: u64, origin: ThreadOrigin, name: String, daemon: bool) -> Self {
        let now = Instant::now();
        let state = if origin == ThreadOrigin::Managed { ThreadState::Created } else { ThreadState::Running };
        Self {
            id,
            origin,
            name: Mutex::new(name),
            ident: AtomicU64::new(0),
            native_id: AtomicU32::new(0),
            daemon: AtomicBool::new(daemon),
            created_at: now,
            status: Mutex::new(Status {
                state,
                since: now,
                changes: 0,
                totals: [Duration::ZERO; 4],
                waiting_on: None,
                wait_backtrace: None,
                started_at: (state == ThreadState::Running).then_some(now),
                ended_at: None,
                outcome: None,
            }),
        }
    }

    /// The library's name for the thread.
    pub fn name(&self) -> String {
        self.name.lock().clone()
    }

    /// Calls `f` with the name, without copying it.
    pub(crate) fn with_name<T>(&self, f: impl FnOnce(&str) -> T) -> T {
        f(&self.name.lock())
    }

    pub(crate) fn set_name(&self, name: String) {
        *self.name.lock() = name;
    }

    /// The pthread cookie, once started.
    pub fn ident(&self) -> Option<u64> {
        Some(self.ident.load(Ordering::Acquire)).filter(|&v| v != 0)
    }

    pub(crate) fn set_ident(&self, ident: u64) {
        self.ident.store(ident, Ordering::Release);
    }

    /// The kernel TID, once the thread has run.
    pub fn native_id(&self) -> Option<u32> {
        Some(self.native_id.load(Ordering::Acquire)).filter(|&v| v != 0)
    }

    pub(crate) fn set_native_id(&self, tid: u32) {
        self.native_id.store(tid, Ordering::Release);
    }

    /// Whether the thread is a daemon.
    pub fn daemon(&self) -> bool {
        self.daemon.load(Ordering::Relaxed)
    }

    pub(crate) fn set_daemon(&self, daemon: bool) {
        self.daemon.store(daemon, Ordering::Relaxed);
    }

    /// The current state.
    pub fn state(&self) -> ThreadState {
        self.status.lock().state
    }

    pub(crate) fn with_status<T>(&self, read: impl FnOnce(&Status) -> T) -> T {
        read(&self.status.lock())
    }

    /// Created → Running. False if it had already left Created.
    pub(crate) fn mark_started(&self) -> bool {
        let mut status = self.status.lock();
        if status.state != ThreadState::Created {
            return false;
        }
        let now = Instant::now();
        status.enter(ThreadState::Running, now);
        status.started_at = Some(now);
        true
    }

    /// Back to Created after a start that could not spawn.
    pub(crate) fn unmark_started(&self) {
        let mut status = self.status.lock();
        let now = Instant::now();
        status.enter(ThreadState::Created, now);
        status.started_at = None;
    }

    /// Records that the thread now waits on `target`; returns what it waited
    /// on before (for nested waits), to hand back to [`end_wait`](Self::end_wait).
    /// A Terminated record stays so: the main thread is marked stopped at
    /// shutdown and then still waits for the other threads.
    ///
    /// With wait backtraces on, the stack is captured here, before the
    /// status lock (a snapshot never waits for a stack walk), and the
    /// enclosing wait's backtrace is handed back with its target.
    pub(crate) fn begin_wait(
        &self,
        target: WaitTarget,
    ) -> (Option<WaitTarget>, Option<WaitBacktrace>, Instant) {
        let trace = super::backtrace::capture();
        let now = Instant::now();
        let mut status = self.status.lock();
        if status.state == ThreadState::Terminated {
            return (None, None, now);
        }
        status.enter(ThreadState::Waiting, now);
        let previous_trace = std::mem::replace(&mut status.wait_backtrace, trace);
        (status.waiting_on.replace(target), previous_trace, now)
    }

    /// Ends a wait, restoring the enclosing wait if there was one. Returns
    /// when it ended.
    pub(crate) fn end_wait(
        &self,
        previous: Option<WaitTarget>,
        previous_trace: Option<WaitBacktrace>,
    ) -> Instant {
        let now = Instant::now();
        let mut status = self.status.lock();
        if status.state == ThreadState::Terminated {
            return now;
        }
        let next = if previous.is_some() { ThreadState::Waiting } else { ThreadState::Running };
        status.enter(next, now);
        status.waiting_on = previous;
        // Dropped after the lock: freeing a capture is not free.
        let ended = std::mem::replace(&mut status.wait_backtrace, previous_trace);
        drop(status);
        drop(ended);
        now
    }

    /// Marks the run over; returns when.
    pub(crate) fn terminate(&self, outcome: Outcome) -> Instant {
        let now = Instant::now();
        let mut status = self.status.lock();
        status.enter(ThreadState::Terminated, now);
        status.waiting_on = None;
        status.wait_backtrace = None;
        status.ended_at = Some(now);
        status.outcome = Some(outcome);
        now
    }

    /// True between start and the end of its run.
    pub fn is_alive(&self) -> bool {
        matches!(self.state(), ThreadState::Running | ThreadState::Waiting)
    }
}

/// Cumulative time a thread has spent in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateTimes {
    /// Time between creation and start.
    #[serde(with = "super::snapshot::secs")]
    pub created: Duration,
    /// Time started and not blocked in the library.
    #[serde(with = "super::snapshot::secs")]
    pub running: Duration,
    /// Time blocked in the library.
    #[serde(with = "super::snapshot::secs")]
    pub waiting: Duration,
    /// Time since it terminated.
    #[serde(with = "super::snapshot::secs")]
    pub terminated: Duration,
}

impl From<[Duration; 4]> for StateTimes {
    fn from(t: [Duration; 4]) -> Self {
        debug_assert_eq!(ThreadState::ALL.len(), t.len());
        Self { created: t[0], running: t[1], waiting: t[2], terminated: t[3] }
    }
}
