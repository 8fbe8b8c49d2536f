//! Native stacks of another process's threads, on demand: the one place
//! threadscope stops another process. Each thread is stopped on its own
//! (`PTRACE_SEIZE` + `PTRACE_INTERRUPT`), for just long enough to read its
//! registers and copy a bounded window of its stack (`process_vm_readv`),
//! then let go (`PTRACE_DETACH`); every stop is timed. Unwinding
//! ([framehop], from the copy and the modules' `.eh_frame`) and
//! symbolization ([addr2line]: DWARF for function and file:line, the
//! symbol table where there is no DWARF, module + offset where there is
//! neither) happen afterwards, out of the target's way.
//!
//! A process cannot ptrace its own threads: for threadscope's own process
//! [`take`] says so, and library threads show where their wait began
//! instead (`Registry::set_wait_backtraces`).
//!
//! The types here are always built; the stop, copy, unwind and symbols are
//! the `stacks` feature (without it [`take`] says they are not built in).

#[cfg(feature = "stacks")]
mod capture;
mod maps;
#[cfg(feature = "stacks")]
mod symbols;
#[cfg(feature = "stacks")]
mod unwind;

pub use maps::{Mapping, parse_maps};

use crate::kernel::MissingPermission;
use std::time::Duration;

/// How stacks are taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOptions {
    /// How many bytes of each stack to copy, from its stack pointer up
    /// (deeper stacks are cut there, and say so).
    pub window: usize,
    /// How long to wait for one thread to stop before giving up on it.
    pub patience: Duration,
    /// At most this many frames per stack.
    pub max_frames: usize,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self { window: 64 * 1024, patience: Duration::from_millis(100), max_frames: 256 }
    }
}

/// One frame of a native stack.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NativeFrame {
    /// The instruction pointer (innermost frame) or return address.
    pub address: u64,
    /// The file the address is in (`/usr/lib/x86_64-linux-gnu/libc.so.6`),
    /// or `[vdso]`; `None` for an address in no mapping.
    pub module: Option<String>,
    /// The address as an offset in the module's own addresses (what
    /// `addr2line -e MODULE OFFSET` takes).
    pub offset: Option<u64>,
    /// The function, demangled, from DWARF or the symbol table; `None`
    /// when neither covers the address (never the nearest symbol below).
    pub function: Option<String>,
    /// `file:line` from DWARF.
    pub location: Option<String>,
    /// True for a function inlined into the next frame (same address).
    pub inlined: bool,
}

/// How an unwind ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackEnd {
    /// At the stack's outermost frame.
    Complete,
    /// At the end of the copied window: deeper frames were not copied.
    CutAtWindow(usize),
    /// At the frame limit.
    FrameLimit(usize),
    /// The unwinder could not go on (in words).
    Stopped(String),
}

impl std::fmt::Display for StackEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StackEnd::Complete => f.write_str("complete"),
            StackEnd::CutAtWindow(bytes) => {
                write!(f, "cut at the {} KiB of stack copied", bytes.div_ceil(1024))
            }
            StackEnd::FrameLimit(n) => write!(f, "cut at {n} frames"),
            StackEnd::Stopped(why) => write!(f, "unwinding stopped: {why}"),
        }
    }
}

/// One thread's native stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeStack {
    /// The thread.
    pub tid: u32,
    /// Innermost first.
    pub frames: Vec<NativeFrame>,
    /// How long the thread was stopped, at most: from the interrupt to the
    /// detach (it may have stopped only some way into that, when it was
    /// not scheduled at once).
    pub paused: Duration,
    /// How long it was stopped at least: from when threadscope saw it
    /// stopped to the detach (its registers and stack copied meanwhile).
    pub held: Duration,
    /// How many bytes of its stack were copied.
    pub copied: usize,
    /// How the unwind ended.
    pub end: StackEnd,
}

/// Why one thread's stack could not be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackError {
    /// It ended before it could be stopped (or while it was).
    Vanished,
    /// The kernel refused to let threadscope trace it (`EPERM`).
    Denied,
    /// It did not stop in time: asleep uninterruptibly in the kernel.
    Timeout(Duration),
    /// A thread of threadscope's own process: a process cannot ptrace itself.
    OwnProcess,
    /// Native stacks are not built in (the `stacks` feature).
    NotBuilt,
    /// Anything else, in words.
    Failed(String),
}

impl std::fmt::Display for StackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StackError::Vanished => f.write_str("the thread ended before its stack could be copied"),
            StackError::Denied => f.write_str("not allowed to stop this thread (ptrace refused)"),
            StackError::Timeout(d) => write!(
                f,
                "the thread did not stop within {} ms (asleep uninterruptibly in the kernel); left alone",
                d.as_millis()
            ),
            StackError::OwnProcess => f.write_str(
                "a thread of threadscope's own process: a process cannot ptrace-stop its own threads \
                 (library threads show where their wait began, with wait backtraces on)",
            ),
            StackError::NotBuilt => {
                f.write_str("native stacks are not built into this threadscope (the `stacks` feature)")
            }
            StackError::Failed(why) => f.write_str(why),
        }
    }
}

/// What [`take`] did for one process.
#[derive(Debug, Clone)]
pub struct StackReport {
    /// The process.
    pub pid: u32,
    /// Per thread asked for, in the order asked.
    pub stacks: Vec<(u32, Result<NativeStack, StackError>)>,
    /// From the first stop to the last detach.
    pub stopping: Duration,
    /// Everything: maps, stops, unwinding, symbols.
    pub wall: Duration,
    /// Said once when the kernel refused: what is missing and how to get it.
    pub missing: Option<MissingPermission>,
}

impl StackReport {
    /// The pauses of the threads that were stopped, shortest first.
    pub fn pauses(&self) -> Vec<Duration> {
        let mut out: Vec<Duration> =
            self.stacks.iter().filter_map(|(_, s)| s.as_ref().ok().map(|s| s.paused)).collect();
        out.sort_unstable();
        out
    }
}

/// Takes the native stacks of threads `tids` of process `pid` (see the
/// module's documentation for how). Each thread is stopped only while its
/// registers and stack window are copied; nothing is written to the process.
///
/// For threadscope's own process every thread is [`StackError::OwnProcess`].
///
/// # Examples
///
/// ```
/// use threadscope::stacks::{StackError, StackOptions, take};
/// let me = std::process::id();
/// let report = take(me, &[me], &StackOptions::default());
/// assert!(matches!(report.stacks[0].1, Err(StackError::OwnProcess | StackError::NotBuilt)));
/// ```
pub fn take(pid: u32, tids: &[u32], options: &StackOptions) -> StackReport {
    let started = std::time::Instant::now();
    let refuse = |why: StackError| StackReport {
        pid,
        stacks: tids.iter().map(|&tid| (tid, Err(why.clone()))).collect(),
        stopping: Duration::ZERO,
        wall: started.elapsed(),
        missing: None,
    };
    if pid == std::process::id() {
        return refuse(StackError::OwnProcess);
    }
    #[cfg(feature = "stacks")]
    {
        capture::take(pid, tids, options, started)
    }
    #[cfg(not(feature = "stacks"))]
    {
        let _ = options;
        refuse(StackError::NotBuilt)
    }
}
