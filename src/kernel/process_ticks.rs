//! [`ProcessTicks`]: the CPU time of a whole process, from `/proc/<pid>/stat`,
//! whose `utime` and `stime` the kernel sums over every thread, live and
//! ended. That sum costs the kernel a walk over the threads (about 3 ms at
//! 10,000), so it is read once a sample; it gives the process's CPU use,
//! and tells the sampler when threads it did not check used CPU time.

use super::stat::parse_stat;
use std::fs::File;
use std::os::unix::fs::FileExt;

/// `/proc/<pid>/stat`, kept open.
pub(crate) struct ProcessTicks {
    file: Option<File>,
    buf: Box<[u8]>,
}

impl ProcessTicks {
    pub(crate) fn new(pid: u32) -> ProcessTicks {
        ProcessTicks { file: File::open(format!("/proc/{pid}/stat")).ok(), buf: vec![0; 4096].into() }
    }

    /// User plus system CPU ticks of every thread so far; `None` when the
    /// file cannot be read (the process is gone) or does not parse.
    pub(crate) fn read(&mut self) -> Option<u64> {
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
        let before = ticks.read().expect("our own stat reads");
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
}
