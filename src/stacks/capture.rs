//! The stops: each thread in turn is stopped, its registers read and a
//! window of its stack copied, then let go. Nothing else happens while a
//! thread is stopped; unwinding and symbols come after every thread runs
//! again.

use super::maps::{Mapping, containing, parse_maps};
use super::symbols::Symbolizer;
use super::unwind::Modules;
use super::{NativeStack, StackError, StackOptions, StackReport};
use crate::kernel::{MissingPermission, PtraceRead};
use crate::sys::{Registers, StopError, read_process_memory, stop_thread};
use std::time::{Duration, Instant};

/// What was copied from one stopped thread.
pub(super) struct Copied {
    pub(super) registers: Registers,
    /// The stack from `registers.sp` up.
    pub(super) stack: Vec<u8>,
    pub(super) paused: Duration,
    pub(super) held: Duration,
}

pub(super) fn take(pid: u32, tids: &[u32], options: &StackOptions, started: Instant) -> StackReport {
    let mut report = StackReport {
        pid,
        stacks: Vec::new(),
        stopping: Duration::ZERO,
        wall: Duration::ZERO,
        missing: None,
    };
    let maps = match std::fs::read_to_string(format!("/proc/{pid}/maps")) {
        Ok(text) => parse_maps(&text),
        Err(e) => {
            let why = match e.kind() {
                std::io::ErrorKind::PermissionDenied => StackError::Denied,
                std::io::ErrorKind::NotFound => StackError::Vanished,
                _ => StackError::Failed(format!("cannot read /proc/{pid}/maps: {e}")),
            };
            if why == StackError::Denied {
                report.missing = Some(MissingPermission::new(pid, vec![PtraceRead::Stacks]));
            }
            report.stacks = tids.iter().map(|&tid| (tid, Err(why.clone()))).collect();
            report.wall = started.elapsed();
            return report;
        }
    };
    // Stopped from a thread of its own: a thread that never stopped stays
    // seized until the thread that seized it exits, and this one does at once.
    let stop_started = Instant::now();
    let copies = std::thread::scope(|scope| {
        let stopper = std::thread::Builder::new().name("ts-stacks".into()).spawn_scoped(scope, || {
            tids.iter().map(|&tid| (tid, copy_one(pid, tid, &maps, options))).collect()
        });
        match stopper {
            Ok(handle) => handle.join().unwrap_or_default(),
            Err(e) => tids
                .iter()
                .map(|&tid| (tid, Err(StackError::Failed(format!("no thread to stop with: {e}")))))
                .collect::<Vec<_>>(),
        }
    });
    report.stopping = stop_started.elapsed();
    if copies.iter().any(|(_, c)| matches!(c, Err(StackError::Denied))) {
        report.missing = Some(MissingPermission::new(pid, vec![PtraceRead::Stacks]));
    }
    // Every thread runs again: now the slow part.
    let modules = Modules::load(pid, &maps);
    let mut symbols = Symbolizer::new(pid);
    for (tid, copy) in copies {
        let stack = copy.map(|copy| {
            let (addresses, end) = modules.unwind(&copy, options.max_frames);
            NativeStack {
                tid,
                frames: symbols.frames(&addresses, &modules),
                paused: copy.paused,
                held: copy.held,
                copied: copy.stack.len(),
                end,
            }
        });
        report.stacks.push((tid, stack));
    }
    report.wall = started.elapsed();
    report
}

/// Stops `tid`, reads its registers and copies its stack window, lets it go.
fn copy_one(pid: u32, tid: u32, maps: &[Mapping], options: &StackOptions) -> Result<Copied, StackError> {
    let stopped = stop_thread(tid, options.patience).map_err(|e| match e {
        StopError::Seize(e) if e.raw_os_error() == Some(libc::EPERM) => StackError::Denied,
        StopError::Seize(e) => StackError::Failed(format!("PTRACE_SEIZE: {e}")),
        StopError::Vanished => StackError::Vanished,
        StopError::Timeout(d) => StackError::Timeout(d),
        StopError::Other(what, e) => StackError::Failed(format!("{what}: {e}")),
    })?;
    let sp = stopped.registers.sp;
    // Up to the end of the stack's mapping (a new thread's stack may be
    // newer than the maps read: then as much of the window as reads).
    let room = containing(maps, sp).map_or(options.window as u64, |m| m.end - sp);
    let mut stack = vec![0u8; room.min(options.window as u64) as usize];
    let copied = read_process_memory(pid, sp, &mut stack);
    let registers = stopped.registers;
    let (paused, held) = stopped.detach();
    match copied {
        Ok(n) => stack.truncate(n),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Err(StackError::Vanished),
        Err(_) => stack.clear(),
    }
    Ok(Copied { registers, stack, paused, held })
}
