//! Native stacks in the snapshot: [`crate::stacks::take`]'s results for
//! another process's threads (each stopped for a measured moment), and for
//! threadscope's own library threads the backtrace where their current
//! wait began. Only on demand — `snapshot --stacks`, the TUI's stack key —
//! never while sampling.

use super::runtime::StackFrame;
use super::snapshot::{Snapshot, ThreadView};
use crate::stacks::{NativeFrame, NativeStack, StackError, StackOptions, StackReport};
use crate::threading::{ThreadState, WaitBacktrace, secs};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How a native stack was had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NativeSource {
    /// threadscope stopped the thread (ptrace) and copied its stack.
    Stopped,
    /// The thread captured it itself where its current wait began.
    WaitBegan,
}

impl NativeSource {
    /// In words, for the screens.
    pub fn label(self) -> &'static str {
        match self {
            NativeSource::Stopped => "native",
            NativeSource::WaitBegan => "native, where this wait began",
        }
    }
}

/// One thread's native stack, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NativeStackView {
    /// How it was had.
    pub source: NativeSource,
    /// How long the thread was stopped to copy it, in seconds (`null` for
    /// a stack the thread captured itself, or none taken).
    #[serde(with = "crate::threading::opt_secs")]
    pub paused: Option<Duration>,
    /// How long it was stopped at least (from when the stop was seen to
    /// the detach: threadscope's own work), in seconds; `paused` adds the
    /// time the thread took to be scheduled into its stop.
    #[serde(with = "crate::threading::opt_secs")]
    pub paused_at_least: Option<Duration>,
    /// Innermost first.
    pub frames: Vec<StackFrame>,
    /// How the walk ended when it did not reach the outermost frame
    /// (`cut at the 64 KiB of stack copied`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Why there is no stack (`the thread ended before …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

/// What taking the stacks cost, for the whole snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StacksTaken {
    /// How: `each thread stopped in turn (ptrace), registers and stack copied, then let go`.
    pub how: String,
    /// Threads asked for.
    pub threads: usize,
    /// Threads whose stack was copied.
    pub stopped: usize,
    /// Shortest, median and longest pause of one thread.
    #[serde(with = "secs")]
    pub paused_min: Duration,
    /// The median pause.
    #[serde(with = "secs")]
    pub paused_median: Duration,
    /// The longest pause.
    #[serde(with = "secs")]
    pub paused_max: Duration,
    /// From the first stop to the last thread let go (no thread is
    /// stopped for longer than its own pause; they are stopped one by one).
    #[serde(with = "secs")]
    pub stopping: Duration,
    /// Everything, unwinding and symbols included (after every thread ran again).
    #[serde(with = "secs")]
    pub wall: Duration,
}

impl StacksTaken {
    /// The summary of `report`.
    pub fn of(report: &StackReport) -> StacksTaken {
        let pauses = report.pauses();
        let at = |i: usize| pauses.get(i).copied().unwrap_or_default();
        StacksTaken {
            how: HOW.to_owned(),
            threads: report.stacks.len(),
            stopped: pauses.len(),
            paused_min: at(0),
            paused_median: at(pauses.len() / 2),
            paused_max: pauses.last().copied().unwrap_or_default(),
            stopping: report.stopping,
            wall: report.wall,
        }
    }

    /// One line for a person: `stacks: 35 threads stopped one at a time,
    /// each for 21 µs median (max 48 µs); 2.1 ms in all`.
    pub fn sentence(&self) -> String {
        let human = pause_words;
        if self.stopped == 0 {
            return format!("stacks: none of {} threads could be stopped", self.threads);
        }
        format!(
            "stacks: {} of {} threads stopped one at a time, each for {} median (max {}), {} from first stop to last; \
             unwound afterwards ({} in all)",
            self.stopped,
            self.threads,
            human(self.paused_median),
            human(self.paused_max),
            human(self.stopping),
            human(self.wall)
        )
    }
}

/// A pause in words, finer than [`crate::display::human`] below 10 ms
/// (`38 us`, `2.3 ms`, `14 ms`).
pub fn pause_words(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{} us", d.as_micros())
    } else if d < Duration::from_millis(10) {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    } else {
        crate::display::human(d)
    }
}

/// How a stack of another process is taken, said wherever stacks are shown.
pub const HOW: &str = "each thread stopped in turn (ptrace), its registers and stack copied, then let go; \
                       unwound and symbolized afterwards";

/// A wait backtrace as a stack, resolved now.
pub fn wait_stack(trace: &WaitBacktrace) -> NativeStackView {
    let frames = trace
        .frames()
        .into_iter()
        .map(|f| StackFrame { function: f.function, location: f.location, ..StackFrame::default() })
        .collect();
    NativeStackView {
        source: NativeSource::WaitBegan,
        paused: None,
        paused_at_least: None,
        frames,
        end: None,
        unavailable: None,
    }
}

/// A taken stack, or the reason there is none, as the snapshot shows it.
pub fn stack_view(stack: &Result<NativeStack, StackError>) -> NativeStackView {
    match stack {
        Ok(stack) => NativeStackView {
            source: NativeSource::Stopped,
            paused: Some(stack.paused),
            paused_at_least: Some(stack.held),
            frames: stack.frames.iter().map(frame).collect(),
            end: (stack.end != crate::stacks::StackEnd::Complete).then(|| stack.end.to_string()),
            unavailable: None,
        },
        Err(e) => NativeStackView {
            source: NativeSource::Stopped,
            paused: None,
            paused_at_least: None,
            frames: Vec::new(),
            end: None,
            unavailable: Some(e.to_string()),
        },
    }
}

fn frame(f: &NativeFrame) -> StackFrame {
    let module = f.module.as_deref().map(|m| m.rsplit('/').next().unwrap_or(m).to_owned());
    let offset = f.offset.map(|o| format!("{o:#x}"));
    // Without a file:line, where it is in its module says the most.
    let location = f.location.clone().or_else(|| match (&module, &offset) {
        (Some(m), Some(o)) => Some(format!("{m}+{o}")),
        _ => None,
    });
    StackFrame {
        function: f.function.clone().unwrap_or_else(|| format!("{:#x}", f.address)),
        location,
        notes: Vec::new(),
        address: Some(format!("{:#x}", f.address)),
        module: f.module.clone(),
        offset,
        inlined: f.inlined,
    }
}

/// Adds native stacks to `snapshot`: for another process, every live
/// thread's (or those of `only`), each thread stopped for a measured
/// moment, with [`Snapshot::stacks`] saying what it cost; for threadscope's
/// own process, the library threads' wait backtraces (when they are on)
/// and for the rest why there is none.
pub fn add_native_stacks(snapshot: &mut Snapshot, only: Option<&[u32]>, options: &StackOptions) {
    let wanted = |t: &ThreadView| {
        t.state != ThreadState::Terminated
            && t.native_id.is_some_and(|tid| only.is_none_or(|only| only.contains(&tid)))
    };
    if snapshot.process.own {
        for t in snapshot.threads.iter_mut().filter(|t| wanted(t)) {
            t.native_stack = Some(Box::new(match &t.wait_backtrace {
                Some(trace) => wait_stack(trace),
                None => own_unavailable(t),
            }));
        }
        return;
    }
    let tids: Vec<u32> = snapshot.threads.iter().filter(|t| wanted(t)).filter_map(|t| t.native_id).collect();
    let report = crate::stacks::take(snapshot.process.pid, &tids, options);
    apply(snapshot, &report);
}

/// Puts `report`'s stacks on their threads and its cost on the snapshot.
pub fn apply(snapshot: &mut Snapshot, report: &StackReport) {
    for (tid, stack) in &report.stacks {
        if let Some(t) = snapshot.threads.iter_mut().find(|t| t.native_id == Some(*tid)) {
            t.native_stack = Some(Box::new(stack_view(stack)));
        }
    }
    if let Some(missing) = &report.missing {
        let note = missing.to_string();
        if !snapshot.notes.contains(&note) {
            snapshot.notes.push(note);
        }
    }
    snapshot.stacks = Some(StacksTaken::of(report));
}

/// Why an own-process thread has no native stack.
pub fn own_unavailable(t: &ThreadView) -> NativeStackView {
    let why = if !crate::threading::wait_backtraces() {
        "threadscope's own process: a process cannot ptrace-stop its own threads; library threads show \
         where their wait began when wait backtraces are on (snapshot --stacks, or --wait-backtraces in the TUI)"
    } else if t.ident.is_some() && t.state == ThreadState::Waiting {
        "threadscope's own process: this wait began before wait backtraces were on"
    } else if t.ident.is_some() {
        "threadscope's own process: this library thread is not waiting, and a process cannot ptrace-stop \
         its own threads"
    } else {
        "threadscope's own process: not a library thread, and a process cannot ptrace-stop its own threads"
    };
    NativeStackView {
        source: NativeSource::WaitBegan,
        paused: None,
        paused_at_least: None,
        frames: Vec::new(),
        end: None,
        unavailable: Some(why.to_owned()),
    }
}
