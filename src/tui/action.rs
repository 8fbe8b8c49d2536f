//! What a key means ([`Action`]), what the loop must do about it
//! ([`Effect`], [`Command`]), and the names of screens.

use super::columns::Column;
use crate::scenario::WorkerKind;
use std::time::Duration;

/// A screen (tab).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tab {
    /// Every thread, with the library's and the kernel's columns.
    Threads,
    /// Primitives and the wait-for graph.
    Locks,
    /// State over the last minute, per thread.
    Timeline,
    /// Naming patterns and findings.
    Names,
    /// Every kernel task of the process.
    Kernel,
    /// Lifecycle events, exceptions, findings, action outcomes.
    Log,
    /// The keys.
    Help,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Tab; 7] =
        [Tab::Threads, Tab::Locks, Tab::Timeline, Tab::Names, Tab::Kernel, Tab::Log, Tab::Help];

    /// Its title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Threads => "Threads",
            Tab::Locks => "Locks",
            Tab::Timeline => "Timeline",
            Tab::Names => "Names",
            Tab::Kernel => "Kernel",
            Tab::Log => "Log",
            Tab::Help => "Help",
        }
    }

    /// Its position in [`Tab::ALL`].
    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|&t| t == self).unwrap_or(0)
    }
}

/// What a key (or click) asks for. [`App::update`](super::App::update)
/// turns it into a state change and an [`Effect`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Next screen.
    NextTab,
    /// Previous screen.
    PrevTab,
    /// A given screen.
    ShowTab(Tab),
    /// Selection or scroll up one line.
    Up,
    /// Selection or scroll down one line.
    Down,
    /// Up one page.
    PageUp,
    /// Down one page.
    PageDown,
    /// To the top.
    Home,
    /// To the bottom.
    End,
    /// Select the row at this index of the visible list (mouse).
    SelectRow(usize),
    /// Sort by the next column.
    SortNext,
    /// Sort by the previous column.
    SortPrev,
    /// Reverse the sort order.
    SortReverse,
    /// Sort by this column (a click on its header; again reverses).
    SortBy(Column),
    /// Open the filter prompt.
    Filter,
    /// Show or hide the detail pane.
    ToggleDetail,
    /// Pause or resume sampling.
    TogglePause,
    /// Take the selected thread's native stack (another process's thread
    /// is stopped for a measured moment; a library thread here shows where
    /// its wait began).
    TakeStack,
    /// Scroll the detail pane's stacks one frame towards the innermost.
    StackUp,
    /// Scroll the detail pane's stacks one frame outwards.
    StackDown,
    /// Spawn a worker (opens the palette).
    Spawn,
    /// Start the selected Created thread.
    Start,
    /// Stop the selected thread (cooperatively).
    Stop,
    /// Join the selected thread with a timeout (asks for it).
    Join,
    /// Rename the selected thread (asks for the name).
    Rename,
    /// Flip the selected thread's daemon flag.
    ToggleDaemon,
    /// Set an event (opens a picker).
    SetEvent,
    /// Clear an event (opens a picker).
    ClearEvent,
    /// Release a lock from this thread (opens a picker).
    ReleaseLock,
    /// `_thread.interrupt_main()`.
    InterruptMain,
    /// Load another scenario (opens a picker).
    LoadScenario,
    /// Quit (asks first when threads would be abandoned).
    Quit,
    /// Ctrl-C: SIGINT to the program run as threadscope's child (`exec`);
    /// elsewhere, quit.
    Interrupt,
    /// Panics on purpose, only with `THREADSCOPE_TEST_PANIC=1` (for the
    /// terminal-restore test).
    DebugPanic,
    /// Start or stop recording to a file.
    ToggleRecording,
    /// Write the flight recorder's last minutes to a file now.
    DumpFlight,
    /// Move through a recording (replay only).
    Replay(ReplayAction),
    /// In a prompt: a typed character.
    Input(char),
    /// In a prompt: delete the last character.
    Backspace,
    /// Clear the prompt's or the filter's text (Ctrl-U, as in a shell).
    ClearInput,
    /// In a prompt or dialog: accept.
    Confirm,
    /// In a prompt or dialog: dismiss.
    Cancel,
    /// In the quit dialog: stop the threads cooperatively, wait, then quit.
    StopAndQuit,
    /// In the quit dialog: quit now, abandoning the threads.
    QuitNow,
}

/// Moving through a recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayAction {
    /// One sample back (pauses).
    StepBack,
    /// One sample forward (pauses).
    StepForward,
    /// Play at half the speed (down to ¼×).
    Slower,
    /// Play at twice the speed (up to 8×).
    Faster,
    /// Ask for a time to go to.
    Seek,
    /// To the next sample where this happens.
    Next(Jump),
    /// To the previous sample where this happens.
    Previous(Jump),
}

/// What to jump to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jump {
    /// A finding appears or clears (a lint, a naming problem).
    Finding,
    /// A deadlock forms.
    Deadlock,
    /// The selected thread changes state.
    StateChange,
}

/// Where the replay should go; the loop finds and decodes the sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayGo {
    /// Sample number.
    To(usize),
    /// The sample at this time after the first.
    At(Duration),
    /// The nearest sample from `from` (not included) where `jump` happens,
    /// `forward` or back; `key` is the selected thread's.
    Find {
        /// Where to search from.
        from: usize,
        /// Which way.
        forward: bool,
        /// What to find.
        jump: Jump,
        /// The selected thread, for [`Jump::StateChange`].
        key: Option<u64>,
    },
}

/// Something to do to the workload; performed by the loop, whose outcome
/// comes back as a [`Report`](super::event::Report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Spawn a worker of this kind on this primitive.
    Spawn {
        /// The kind.
        worker: WorkerKind,
        /// The lock, event or queue it works on.
        target: Option<String>,
    },
    /// Start a Created thread.
    Start {
        /// Registry id.
        key: u64,
        /// Its name.
        name: String,
    },
    /// Ask a thread to stop.
    Stop {
        /// Registry id.
        key: u64,
        /// Its name.
        name: String,
    },
    /// Join a thread for at most `timeout`.
    Join {
        /// Registry id.
        key: u64,
        /// Its name.
        name: String,
        /// How long to wait.
        timeout: Duration,
    },
    /// Rename a thread.
    Rename {
        /// Registry id.
        key: u64,
        /// Its name now.
        from: String,
        /// The new name.
        to: String,
    },
    /// Set a thread's daemon flag.
    SetDaemon {
        /// Registry id.
        key: u64,
        /// Its name.
        name: String,
        /// The new flag.
        daemon: bool,
    },
    /// `event.set()`.
    SetEvent(String),
    /// `event.clear()`.
    ClearEvent(String),
    /// `lock.release()` from the UI thread.
    ReleaseLock(String),
    /// `_thread.interrupt_main()`.
    InterruptMain,
    /// Replace the scenario.
    Load(String),
    /// Stop every thread of the scenario and wait up to `grace` (quitting).
    StopAll {
        /// How long to wait.
        grace: Duration,
    },
}

/// What the loop must do after an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing beyond redrawing.
    None,
    /// Leave, restoring the terminal, then print these lines.
    Quit(Vec<String>),
    /// Pause (true) or resume sampling.
    Pause(bool),
    /// Send SIGINT to the program run as threadscope's child (Ctrl-C).
    Interrupt,
    /// Leave, stopping the child (SIGTERM, then SIGKILL) or leaving it running.
    QuitChild {
        /// Stop it (else leave it running).
        stop: bool,
    },
    /// Act on the workload.
    Command(Command),
    /// Panic (the debug action).
    Panic,
    /// Take one thread's native stack, off the UI thread; the outcome
    /// comes back as [`Event::Stack`](super::event::Event::Stack).
    TakeStack(StackRequest),
    /// Start (true) or stop recording.
    Record(bool),
    /// Write the flight recorder to a file now.
    DumpFlight,
    /// Show another sample of the recording.
    Replay(ReplayGo),
}

/// Which thread's stack to take, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackRequest {
    /// The thread's key in the snapshot.
    pub key: u64,
    /// Its TID.
    pub tid: u32,
    /// Its name, for the outcome's words.
    pub name: String,
    /// Another process: stop the thread and copy its stack. `None`: a
    /// thread of this process, which cannot be stopped by it.
    pub pid: Option<u32>,
    /// For a library thread of this process, where its wait began (resolved
    /// off the UI thread).
    pub trace: Option<crate::threading::WaitBacktrace>,
}
