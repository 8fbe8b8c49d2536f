//! [`ProcessTicks`]: the CPU time of a whole process, every thread of it,
//! live and ended. That sum costs the kernel a walk over the threads
//! (about 0.6 ms at 10,000), so it is read once a sample; it gives the
//! process's CPU use, and tells the sampler when threads it did not check
//! used CPU time.
//!
//! Read from the process's CPU-time clock (`clock_getcpuclockid`): the
//! same sum as `utime` + `stime` in `/proc/<pid>/stat`, for half the
//! kernel's work there (measured at 10,001 threads: 0.58 ms a read
//! against 1.14 ms, the file walking the threads a second time for its
//! fault counts). The file stays the fallback for a kernel that refuses
//! the clock.

use super::stat::parse_stat;
use std::fs::File;
use std::os::unix::fs::FileExt;

/// The process's CPU-time clock, or `/proc/<pid>/stat` kept open.
pub(crate) struct ProcessTicks {
    clock: Option<i32>,
    file: Option<File>,
    buf: Box<[u8]>,
}

impl ProcessTicks {
    pub(crate) fn new(pid: u32) -> ProcessTicks {
        // The clock is named by the pid, which the kernel may give a new
        // process once this one is reaped; the sampler reads it only while
        // the process's task directory, held open, still lists threads.
        let clock = crate::sys::process_cpu_clock(pid).filter(|&id| crate::sys::clock_now(id).is_some());
        let file = if clock.is_some() { None } else { File::open(format!("/proc/{pid}/stat")).ok() };
        ProcessTicks { clock, file, buf: vec![0; 4096].into() }
    }

    /// User plus system CPU ticks of every thread so far (the clock's
    /// nanoseconds in whole ticks, as the file gives them); `None` when
    /// they cannot be read (the process is gone) or do not parse.
    pub(crate) fn read(&mut self) -> Option<u64> {
        if let Some(clock) = self.clock {
            let used = crate::sys::clock_now(clock)?;
            let ticks = used.as_nanos() * u128::from(super::ticks_per_second()) / 1_000_000_000;
            return u64::try_from(ticks).ok();
        }
        let len = self.file.as_ref()?.read_at(&mut self.buf, 0).ok()?;
        let line = self.buf.get(..len).filter(|_| len < self.buf.len())?;
        parse_stat(line).ok().map(|stat| stat.utime.saturating_add(stat.stime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_total_grows_with_any_thread_s_work() {
        let mut ticks = ProcessTicks::new(std::process::id());
        assert!(ticks.clock.is_some(), "Linux gives every process a CPU-time clock");
        let before = ticks.read().expect("our own CPU time reads");
        // Work on another thread until the total moves: every thread counts.
        std::thread::spawn(move || {
            let mut ticks = ProcessTicks::new(std::process::id());
            while ticks.read().is_some_and(|now| now == before) {
                std::hint::black_box((0..10_000u64).sum::<u64>());
            }
        })
        .join()
        .unwrap();
        assert!(ticks.read().unwrap() > before);
        assert_eq!(ProcessTicks::new(u32::MAX).read(), None, "no such process");
    }

    #[test]
    fn the_clock_and_the_stat_file_agree() {
        let pid = std::process::id();
        let mut clock = ProcessTicks::new(pid);
        let mut file = ProcessTicks { clock: None, ..ProcessTicks::new(u32::MAX) };
        file.file = File::open(format!("/proc/{pid}/stat")).ok();
        // Spin on this thread until the clock has moved past a few ticks.
        let deadline = clock.read().unwrap() + 5;
        while clock.read().is_some_and(|now| now < deadline) {
            std::hint::black_box((0..10_000u64).sum::<u64>());
        }
        let (a, from_file, b) = (clock.read().unwrap(), file.read().unwrap(), clock.read().unwrap());
        // The file rounds user and system time down each: one tick apart at most.
        assert!(a.saturating_sub(1) <= from_file && from_file <= b, "clock {a}..{b}, file {from_file}");
    }

    #[test]
    fn another_process_s_time_is_read_too() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let mut ticks = ProcessTicks::new(child.id());
        assert!(ticks.clock.is_some() && ticks.read().is_some());
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(ticks.read(), None, "a reaped process's clock is gone");
    }
}
