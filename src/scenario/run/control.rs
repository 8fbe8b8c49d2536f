//! What a running scenario shares with its threads: the stop signal and
//! per-thread progress.

use crate::threading::{WaitScope, WaitTarget};
use parking_lot::{Condvar, Mutex};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The cooperative stop signal. It is not a registry primitive: a sleeping
/// step should show as Waiting on a sleep, not on the scenario's plumbing.
#[derive(Debug, Default)]
pub(crate) struct StopSignal {
    stopped: AtomicBool,
    lock: Mutex<()>,
    changed: Condvar,
}

impl StopSignal {
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        let _held = self.lock.lock();
        self.changed.notify_all();
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Sleeps for `duration`, recorded as a sleep; true if stopped meanwhile.
    pub(crate) fn sleep(&self, duration: Duration) -> bool {
        let until = Instant::now().checked_add(duration);
        let _scope = WaitScope::enter(WaitTarget::Sleep { until });
        self.wait_until(until)
    }

    /// Waits without a registry record (for the scenario's own helpers).
    pub(crate) fn wait_until(&self, until: Option<Instant>) -> bool {
        let mut held = self.lock.lock();
        while !self.is_stopped() {
            match until {
                Some(until) => {
                    if self.changed.wait_until(&mut held, until).timed_out() {
                        break;
                    }
                }
                None => self.changed.wait(&mut held),
            }
        }
        self.is_stopped()
    }
}

/// What the runner keeps per scenario thread: its progress and its own
/// stop signal (so one thread can be stopped alone).
#[derive(Debug, Default)]
pub(crate) struct Control {
    pub(crate) progress: Progress,
    pub(crate) stop: StopSignal,
}

/// Where one scenario thread is in its script.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Index of the top-level step being run.
    pub(crate) step: AtomicUsize,
    /// Completed passes through the outermost repeat.
    pub(crate) loops: AtomicU64,
    /// Units of work done: completed steps plus 1 per 100 µs spun.
    pub(crate) ops: AtomicU64,
    /// Pool tasks this thread submitted that raised.
    pub(crate) failed_tasks: AtomicU64,
    /// The last such task's error.
    pub(crate) last_task_error: Mutex<Option<String>>,
}

/// A thread's progress at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadProgress {
    /// The thread's name when the scenario started it.
    pub name: String,
    /// Index of the current top-level step.
    pub step: usize,
    /// The step in words (`acquire fork-2`).
    pub step_label: String,
    /// Completed passes through its repeat.
    pub loops: u64,
    /// Units of work done (for throughput: take the difference of two samples).
    pub ops: u64,
    /// Pool tasks it submitted that raised (their futures hold the error).
    pub failed_tasks: u64,
    /// The last such error, as Python would print it.
    pub last_task_error: Option<String>,
}
