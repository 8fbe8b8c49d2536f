//! Workers a person can add to a running scenario from the TUI's palette:
//! small scripts over the scenario's own primitives.

use crate::scenario::{AcquireMode, PrimitiveSpecKind, Step, Times, Wait};
use std::time::Duration;

/// The kinds of worker the palette offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkerKind {
    /// Sleeps about a second at a time.
    Sleeper,
    /// Burns CPU (holding the GIL, if the scenario emulates one).
    Spinner,
    /// Takes a lock, works a little, lets go, over and over.
    LockContender,
    /// Waits on an event, over and over.
    EventWaiter,
    /// Puts items into a queue.
    Producer,
    /// Takes items from a queue.
    Consumer,
}

impl WorkerKind {
    /// Every kind, in palette order.
    pub const ALL: [WorkerKind; 6] = [
        Self::Sleeper,
        Self::Spinner,
        Self::LockContender,
        Self::EventWaiter,
        Self::Producer,
        Self::Consumer,
    ];

    /// The name stem of such a worker (`Contender` → `Contender-3`).
    pub fn stem(self) -> &'static str {
        match self {
            Self::Sleeper => "Sleeper",
            Self::Spinner => "Spinner",
            Self::LockContender => "Contender",
            Self::EventWaiter => "EventWaiter",
            Self::Producer => "Producer",
            Self::Consumer => "Consumer",
        }
    }

    /// What it needs as a target: a lock, an event, a queue, or nothing.
    pub fn target_kind(self) -> Option<&'static str> {
        match self {
            Self::Sleeper | Self::Spinner => None,
            Self::LockContender => Some("lock"),
            Self::EventWaiter => Some("event"),
            Self::Producer | Self::Consumer => Some("queue"),
        }
    }

    /// In words, for the palette.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Sleeper => "sleeps ~1 s at a time",
            Self::Spinner => "burns CPU",
            Self::LockContender => "takes a lock, works 50 ms, lets go",
            Self::EventWaiter => "waits on an event",
            Self::Producer => "puts items into a queue",
            Self::Consumer => "takes items from a queue",
        }
    }

    /// True if `kind` is a fitting target.
    pub(super) fn accepts(self, kind: &PrimitiveSpecKind) -> bool {
        match self.target_kind() {
            None => false,
            Some("lock") => matches!(kind, PrimitiveSpecKind::Lock | PrimitiveSpecKind::RLock),
            Some("event") => matches!(kind, PrimitiveSpecKind::Event),
            Some(_) => matches!(kind, PrimitiveSpecKind::Queue { .. }),
        }
    }

    /// The worker's script; `target` indexes the scenario's primitives.
    pub(super) fn steps(self, target: usize) -> Vec<Step> {
        let ms = Duration::from_millis;
        let wait = |base, jitter| Wait { base: ms(base), jitter: ms(jitter) };
        let body = match self {
            Self::Sleeper => vec![Step::Sleep(wait(1000, 200))],
            Self::Spinner => vec![Step::Spin(wait(100, 0))],
            Self::LockContender => vec![
                Step::Acquire { target, mode: AcquireMode::Blocking },
                Step::Spin(wait(50, 0)),
                Step::Release { target, n: 1 },
                Step::Sleep(wait(100, 50)),
            ],
            Self::EventWaiter => vec![Step::EventWait { target, timeout: None }, Step::Sleep(wait(200, 0))],
            Self::Producer => vec![Step::Put { target, item: 0, timeout: None }, Step::Sleep(wait(200, 100))],
            Self::Consumer => {
                vec![Step::Get { target, timeout: None }, Step::Spin(wait(20, 0)), Step::TaskDone { target }]
            }
        };
        vec![Step::Repeat { times: Times::Forever, steps: body }]
    }
}
