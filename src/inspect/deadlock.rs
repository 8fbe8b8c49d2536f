//! [`Deadlock`]: a cycle of threads and what they wait for, by identity.

use super::links::{PrimitiveLink, ThreadLink};
use serde::{Deserialize, Serialize};

/// One step around a deadlock's cycle. In JSON the step's own kind is
/// `step` (a primitive's `kind` says what primitive it is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum CycleStep {
    /// A thread, waiting for the next step.
    Thread(ThreadLink),
    /// A primitive the thread before waits for, held by the thread after.
    Primitive(PrimitiveLink),
    /// The end of a thread the thread before joins.
    Join {
        /// The joined thread.
        of: ThreadLink,
    },
}

/// One deadlock: a cycle of threads and primitives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlock {
    /// Around the cycle, alternating a thread and what it waits for (a
    /// primitive, or for a join the joined thread's end), starting from
    /// the thread with the lowest id.
    pub cycle: Vec<CycleStep>,
    /// The threads in it.
    pub threads: Vec<ThreadLink>,
    /// The primitives in it.
    pub primitives: Vec<PrimitiveLink>,
}

impl Deadlock {
    /// In words, every thread with its TID, escaped:
    /// `Philosopher-0 (tid 7) waits for lock fork-1 held by Philosopher-1 (tid 8); …`.
    pub fn describe(&self) -> String {
        self.describe_with(ThreadLink::label)
    }

    /// In words, naming each thread with `who` (which must escape).
    pub fn describe_with(&self, who: impl Fn(&ThreadLink) -> String) -> String {
        let mut parts = Vec::new();
        for (i, step) in self.cycle.iter().enumerate() {
            let CycleStep::Thread(thread) = step else { continue };
            let thread = who(thread);
            let on = &self.cycle[(i + 1) % self.cycle.len()];
            let after = &self.cycle[(i + 2) % self.cycle.len()];
            parts.push(match (on, after) {
                (CycleStep::Join { of }, _) => format!("{thread} waits for the end of {}", who(of)),
                (CycleStep::Primitive(p), CycleStep::Thread(holder)) => {
                    format!("{thread} waits for {} held by {}", p.label(), who(holder))
                }
                (CycleStep::Primitive(p), _) => format!("{thread} waits for {}", p.label()),
                (CycleStep::Thread(next), _) => format!("{thread} waits for {}", who(next)),
            });
        }
        parts.join("; ")
    }

    /// The thread and primitive names around the cycle, escaped, without
    /// TIDs: the short form, for a banner that lists several deadlocks.
    pub fn names(&self) -> Vec<String> {
        self.names_with(|t| crate::display::sanitize(&t.name).into_owned())
    }

    /// [`names`](Self::names), each thread named by `who` (with its TID
    /// where names collide, say).
    pub fn names_with(&self, who: impl Fn(&ThreadLink) -> String) -> Vec<String> {
        self.cycle
            .iter()
            .map(|step| match step {
                CycleStep::Thread(t) => who(t),
                CycleStep::Primitive(p) => crate::display::sanitize(&p.name).into_owned(),
                CycleStep::Join { of } => format!("join of {}", who(of)),
            })
            .collect()
    }
}

/// What a deadlock search covered, so that "0 deadlocks" never reads as an
/// all-clear it is not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlockSearch {
    /// Primitives of threadscope's library whose holders and waiters were searched.
    pub library_primitives: usize,
    /// Library threads whose waits were searched.
    pub library_threads: usize,
    /// True when the process uses threadscope's library (our own process).
    pub library_seen: bool,
    /// What the search could not see, in words.
    pub not_covered: String,
    /// What runtime views added to it, in words ("pthread mutexes, with
    /// their owners").
    pub runtime_covers: Vec<String>,
}

impl DeadlockSearch {
    /// The search over a registry snapshot with `primitives` and `threads`.
    pub fn library(primitives: usize, threads: usize) -> Self {
        Self {
            library_primitives: primitives,
            library_threads: threads,
            library_seen: true,
            not_covered:
                "locks threadscope's library did not make (std, parking_lot, pthread mutexes, other runtimes)"
                    .to_owned(),
            runtime_covers: Vec::new(),
        }
    }

    /// No registry: another process, seen through the kernel only.
    pub fn kernel_only() -> Self {
        Self {
            not_covered:
                "every lock of this process: the kernel shows at most which threads sleep on the same futex"
                    .to_owned(),
            ..Self::default()
        }
    }

    /// A runtime view's locks joined the search (`what` they are): what
    /// is not covered narrows to the locks that record no owner, in the
    /// JSON as in the words.
    pub fn add_runtime_cover(&mut self, what: String) {
        if !self.runtime_covers.contains(&what) {
            self.runtime_covers.push(what);
        }
        self.not_covered = if self.library_seen {
            "locks that record no owner (std, parking_lot, other runtimes)"
        } else {
            "other locks, whose owners are not recorded"
        }
        .to_owned();
    }

    /// What was searched, in words, after "Found N deadlock(s)".
    pub fn describe(&self) -> String {
        let also = if self.runtime_covers.is_empty() {
            String::new()
        } else {
            format!(" and {}", self.runtime_covers.join(" and "))
        };
        match (self.library_seen, also.is_empty()) {
            (true, _) => format!(
                "among threadscope's own primitives ({} primitives, {} threads){also}; not searched: {}",
                self.library_primitives, self.library_threads, self.not_covered
            ),
            (false, true) => format!("— nothing could be searched; not visible: {}", self.not_covered),
            (false, false) => format!("among{}; not visible: {}", &also[4..], self.not_covered),
        }
    }
}
