//! Workers a person can add to a running scenario from the TUI's palette:
//! small scripts over the scenario's own primitives.

use crate::scenario::target::Target;
use crate::scenario::{AcquireMode, PrimitiveSpec, Step, Times, Wait};
use crate::threading::PrimitiveKind;
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

    /// What it needs as a target: a lock (or rlock), an event, a queue, or nothing.
    pub fn target_kind(self) -> Option<PrimitiveKind> {
        match self {
            Self::Sleeper | Self::Spinner => None,
            Self::LockContender => Some(PrimitiveKind::Lock),
            Self::EventWaiter => Some(PrimitiveKind::Event),
            Self::Producer | Self::Consumer => Some(PrimitiveKind::Queue),
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

    /// True if a primitive of `kind` is a fitting target (a contender
    /// takes an RLock as well as a Lock).
    pub fn accepts(self, kind: PrimitiveKind) -> bool {
        match self.target_kind() {
            None => false,
            Some(PrimitiveKind::Lock) => matches!(kind, PrimitiveKind::Lock | PrimitiveKind::RLock),
            Some(wanted) => kind == wanted,
        }
    }

    /// The worker's script on `primitives[target]` (ignored by workers
    /// that need none); `None` if that primitive does not fit.
    pub(super) fn steps(self, primitives: &[PrimitiveSpec], target: usize) -> Option<Vec<Step>> {
        let ms = Duration::from_millis;
        let wait = |base, jitter| Wait { base: ms(base), jitter: ms(jitter) };
        let fits = |spec: &PrimitiveSpec| self.accepts(spec.kind.kind());
        if self.target_kind().is_some() && !primitives.get(target).is_some_and(fits) {
            return None;
        }
        let body = match self {
            Self::Sleeper => vec![Step::Sleep(wait(1000, 200))],
            Self::Spinner => vec![Step::Spin(wait(100, 0))],
            Self::LockContender => {
                let target = Target::of(primitives, target)?;
                vec![
                    Step::Acquire { target, mode: AcquireMode::Blocking },
                    Step::Spin(wait(50, 0)),
                    Step::Release { target, n: 1 },
                    Step::Sleep(wait(100, 50)),
                ]
            }
            Self::EventWaiter => vec![
                Step::EventWait {
                    target: Target::of(primitives, target)?,
                    timeout: None,
                    exit_if_set: false,
                },
                Step::Sleep(wait(200, 0)),
            ],
            Self::Producer => vec![
                Step::Put { target: Target::of(primitives, target)?, item: 0, timeout: None },
                Step::Sleep(wait(200, 100)),
            ],
            Self::Consumer => {
                let target = Target::of(primitives, target)?;
                vec![Step::Get { target, timeout: None }, Step::Spin(wait(20, 0)), Step::TaskDone { target }]
            }
        };
        Some(vec![Step::Repeat { times: Times::Forever, steps: body }])
    }
}
