//! The thread budget: refuse `start()` before the process would run out.
//!
//! Past `vm.max_map_count` a new thread's stack cannot be mapped; for a
//! std thread, whose signal stack is mapped after `spawn()` returned Ok, the
//! *whole process aborts*.
//! So before each start we make sure there is room, the way Python's
//! `start()` fails with "can't start new thread" instead of crashing.
//!
//! Measuring (reading `/proc/self/maps` and friends) costs far more than a
//! spawn, so it is done rarely: after a measurement that leaves room for `n`
//! more threads, the next `n / 2` starts are admitted with one atomic add.
//! The number of measurements grows with the log of the headroom.

use crate::sys;
use crate::threading::error::{Error, Result};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Mappings one library thread adds: its stack and guard page. (A std
/// thread adds two more, its signal stack and that stack's guard; ours
/// keeps its signal stack on its own stack, see `sys::os_thread`.)
const MAPS_PER_THREAD: usize = 2;
/// Mappings kept free for everything else (malloc arenas, files, the TUI).
const MAPS_RESERVE: usize = 512;
/// Tasks kept free system-wide so the machine stays usable.
const TASKS_RESERVE: usize = 64;

pub(crate) struct Budget {
    live: AtomicUsize,
    next_check: AtomicUsize,
    measuring: Mutex<()>,
}

/// What the process and system have room for, as measured now.
#[derive(Debug)]
struct Room {
    threads: usize,
}

pub(crate) static BUDGET: Budget = Budget::new();

fn refused() -> Error {
    Error::runtime("can't start new thread")
}

impl Budget {
    const fn new() -> Self {
        Self { live: AtomicUsize::new(0), next_check: AtomicUsize::new(0), measuring: Mutex::new(()) }
    }

    /// Reserves room for one more thread, or refuses.
    pub(crate) fn admit(&self) -> Result<()> {
        let live = self.live.fetch_add(1, Ordering::Relaxed) + 1;
        if live < self.next_check.load(Ordering::Relaxed) {
            return Ok(());
        }
        let _measuring = self.measuring.lock();
        // Another thread may have measured while we waited.
        if live < self.next_check.load(Ordering::Relaxed) {
            return Ok(());
        }
        let room = measure_room().map(|r| r.threads).unwrap_or(usize::MAX);
        if room == 0 {
            self.live.fetch_sub(1, Ordering::Relaxed);
            return Err(refused());
        }
        self.next_check.store(live.saturating_add(room / 2), Ordering::Relaxed);
        Ok(())
    }

    /// Gives back a thread's room when it ends (or failed to spawn).
    pub(crate) fn release(&self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How many more threads the process has room for now, if /proc tells.
pub(crate) fn room() -> Option<usize> {
    measure_room().map(|r| r.threads)
}

/// How many more threads fit, counting the one being admitted as already
/// there. `None` when /proc cannot be read (then the kernel is the judge).
fn measure_room() -> Option<Room> {
    let max_maps = read_number("/proc/sys/vm/max_map_count")?;
    let maps = sys::count_maps().ok()?;
    let by_maps = max_maps.saturating_sub(maps + MAPS_RESERVE) / MAPS_PER_THREAD;

    let task_limit =
        read_number("/proc/sys/kernel/threads-max")?.min(read_number("/proc/sys/kernel/pid_max")?);
    let by_tasks = task_limit.saturating_sub(system_tasks()? + TASKS_RESERVE);

    let by_nproc = match sys::process_nproc_limit() {
        Some(limit) => usize::try_from(limit).unwrap_or(usize::MAX).saturating_sub(process_threads()?),
        None => usize::MAX,
    };
    Some(Room { threads: by_maps.min(by_tasks).min(by_nproc) })
}

fn read_number(path: &str) -> Option<usize> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Tasks on the whole system: the denominator of /proc/loadavg's 4th field.
fn system_tasks() -> Option<usize> {
    let loadavg = std::fs::read_to_string("/proc/loadavg").ok()?;
    parse_loadavg_tasks(&loadavg)
}

fn parse_loadavg_tasks(loadavg: &str) -> Option<usize> {
    loadavg.split_whitespace().nth(3)?.split('/').nth(1)?.parse().ok()
}

/// Threads in this process (the `Threads:` line of /proc/self/status).
fn process_threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_threads(&status)
}

fn parse_status_threads(status: &str) -> Option<usize> {
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_loadavg_task_total() {
        assert_eq!(parse_loadavg_tasks("0.52 0.58 0.59 3/467 12345\n"), Some(467));
        assert_eq!(parse_loadavg_tasks("garbage"), None);
    }

    #[test]
    fn parses_status_thread_count() {
        let status = "Name:\tthreadscope\nState:\tS (sleeping)\nThreads:\t17\nSigQ:\t0/96364\n";
        assert_eq!(parse_status_threads(status), Some(17));
        assert_eq!(parse_status_threads("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_has_room() {
        let room = measure_room().expect("/proc is readable");
        assert!(room.threads > 0, "{room:?}");
    }
}
