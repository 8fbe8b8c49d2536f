//! The one [`Event`] type the loop feeds to [`App`](super::App): input,
//! ticks, resizes, snapshots, captured output and the outcomes of actions.

use crate::inspect::Snapshot;
use crate::scenario::ThreadProgress;
use crate::threading::PrimitiveKind;
use crossterm::event::{KeyEvent, MouseEvent};
use std::time::Instant;

/// Everything that can happen to the UI.
#[derive(Debug)]
pub enum Event {
    /// A key press.
    Key(KeyEvent),
    /// A click or a wheel turn.
    Mouse(MouseEvent),
    /// The terminal's new size (columns, rows).
    Resize(u16, u16),
    /// The clock moved on.
    Tick(Instant),
    /// A new sample from the sampler thread.
    Sample(Box<Sample>),
    /// The sampler could not read the process.
    SamplerError(String),
    /// Text to log: excepthook output, a line on stderr, a signal.
    Log(LogKind, String),
    /// The result of a [`Command`](super::Command).
    Report(Report),
    /// A native stack taken for [`Effect::TakeStack`](super::Effect::TakeStack).
    Stack(Box<StackTaken>),
    /// A sample of a recording, shown in replay.
    Replayed(Box<super::replay::Replayed>),
    /// What became of recording or of the flight recorder.
    Recording(super::replay::RecordingNews),
    /// The program run as threadscope's child ended (`exited with status 3`).
    ChildExited(String),
}

/// A native stack the user asked for.
#[derive(Debug, Clone)]
pub struct StackTaken {
    /// The thread's key.
    pub key: u64,
    /// Its name and TID, in words.
    pub who: String,
    /// The stack, or why there is none, with the pause it cost.
    pub view: crate::inspect::NativeStackView,
    /// What permission is missing and how to get it, when it was refused.
    pub missing: Option<String>,
}

/// One sample: the snapshot, when it was taken, and the scenario's progress.
#[derive(Debug)]
pub struct Sample {
    /// The inspector's snapshot.
    pub snapshot: Snapshot,
    /// When it was taken (for the timeline).
    pub at: Instant,
    /// Where each scenario thread is in its script (own process only).
    pub progress: Vec<ThreadProgress>,
}

/// What a log entry is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogKind {
    /// A thread was created, started or ended.
    Lifecycle,
    /// An uncaught exception (the excepthook's report).
    Exception,
    /// A finding appeared or cleared, a deadlock formed or broke.
    Finding,
    /// An action succeeded.
    Action,
    /// An action failed (the Python-style error).
    Error,
    /// A line written to stderr while the UI owned the screen.
    Stderr,
    /// About threadscope itself (signals, sampling, the process exiting).
    Info,
}

impl LogKind {
    /// The tag shown in the log.
    pub fn tag(self) -> &'static str {
        match self {
            LogKind::Lifecycle => "thread",
            LogKind::Exception => "raise",
            LogKind::Finding => "finding",
            LogKind::Action => "action",
            LogKind::Error => "error",
            LogKind::Stderr => "stderr",
            LogKind::Info => "info",
        }
    }
}

/// The outcome of a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    /// A command finished: what was done, and the result or the
    /// Python-style error.
    Done {
        /// The command in words (`rename Worker-1 → Parser-1`).
        what: String,
        /// What happened, or why not.
        result: Result<String, String>,
    },
    /// A scenario was loaded.
    Loaded(ScenarioInfo),
    /// Every thread was asked to stop; these could not be (with why).
    StoppedAll {
        /// One line per thread still running.
        stuck: Vec<String>,
    },
}

/// What the UI needs to know about the scenario being run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScenarioInfo {
    /// Its name.
    pub name: String,
    /// Its notes (what to look at).
    pub notes: String,
    /// Its primitives that workers can use: name and kind word.
    pub primitives: Vec<(String, PrimitiveKind)>,
}
