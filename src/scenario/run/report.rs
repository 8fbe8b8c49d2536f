//! What stopping a scenario achieved: who stopped, who could not, and why.

use crate::threading::{Registry, Thread, ThreadState};
use serde::Serialize;
use std::fmt;

/// The outcome of [`RunningScenario::stop`](super::RunningScenario::stop).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StopReport {
    /// Threads that have ended (or never started).
    pub stopped: Vec<String>,
    /// Threads still running after the grace period.
    pub stuck: Vec<Stuck>,
}

/// A thread that did not stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stuck {
    /// Its name.
    pub name: String,
    /// A daemon thread: abandoned at exit in any case, as Python's are, so
    /// it keeps nobody waiting.
    pub daemon: bool,
    /// What it is blocked on, in words, if it is blocked in the library.
    pub waiting_on: Option<String>,
}

impl fmt::Display for Stuck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = crate::display::sanitize(&self.name);
        let name = if self.daemon { format!("{name} (daemon)") } else { name.into_owned() };
        match &self.waiting_on {
            Some(what) => write!(
                f,
                "{name}: blocked in {} — a plain blocking call cannot be interrupted (in Python neither)",
                crate::display::sanitize(what)
            ),
            None => write!(f, "{name}: still running"),
        }
    }
}

pub(super) fn build(threads: &[Thread], registry: &Registry) -> StopReport {
    let snapshot = registry.snapshot();
    let mut report = StopReport::default();
    for thread in threads {
        if !thread.is_alive() {
            report.stopped.push(thread.name());
            continue;
        }
        let waiting_on =
            snapshot.thread_by_id(thread.id()).filter(|t| t.state == ThreadState::Waiting).and_then(|t| {
                t.waiting_on.as_ref().map(|w| {
                    let role = w.role.as_deref().map(|r| format!("{r} of ")).unwrap_or_default();
                    let held = match w.holders.as_slice() {
                        [] => String::new(),
                        holders => format!(
                            " (held by {})",
                            holders.iter().map(|h| h.name.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    };
                    format!("{role}{} {}{held}", w.kind, w.name)
                })
            });
        report.stuck.push(Stuck { name: thread.name(), daemon: thread.daemon(), waiting_on });
    }
    report
}
