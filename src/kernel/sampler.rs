//! [`Sampler`]: one process's threads and figures, sample after sample.

use super::detail_cache::DetailCache;
use super::details::DetailReader;
use super::error::{SamplerError, process_error};
use super::figures::{ProcessFigures, SystemFigures, SystemView};
use super::process_ticks::ProcessTicks;
use super::status::parse_tgid;
use super::tasks::TaskDir;
use super::thread::KernelThread;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;
use std::time::Instant;

/// How much each sample reads.
///
/// Every sample reads each thread's `schedstat` (three numbers, about
/// 1.4 µs a thread) and its `stat` (about 2.4 µs) only if the thread has
/// run since the last sample, is new, or is due under `stat_every`;
/// otherwise the thread's last `stat` figures are given out again. Opening
/// and reading `status`, `wchan` and `syscall` costs five times as much
/// again (about 12 µs a thread), so for a process with thousands of
/// threads read them every few samples, or only for the threads on screen;
/// the others are marked [`NotSampled`](super::Reason::NotSampled).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleOptions {
    /// Read the details of every thread on every `detail_every`-th sample,
    /// starting with the first, and on every sample in which a thread
    /// first appears (a program's start-up has its waits, all of the same
    /// moment); 1 means every sample, 0 never.
    pub detail_every: u32,
    /// Threads checked and detailed on every sample regardless.
    pub detail_tids: BTreeSet<u32>,
    /// Threads checked on every sample whatever the turn (see
    /// [`check_every`](Self::check_every)), their details read at the
    /// usual cadence: those a view shows.
    pub check_tids: BTreeSet<u32>,
    /// Check a quiet thread's `schedstat` only on every `check_every`-th
    /// sample, in turn by TID; 1 (the default) means every sample.
    ///
    /// For a process of thousands of sleeping threads, reading 10,000
    /// `schedstat` files is most of a sample's cost. A thread not due is
    /// given out with its last check's figures and
    /// [`checked`](super::KernelThread::checked) false; its CPU rate is the
    /// one measured then. The main thread, threads seen running, new
    /// threads, [`detail_tids`](Self::detail_tids) and
    /// [`check_tids`](Self::check_tids) are checked every
    /// sample, and every thread is checked on the sample after one in
    /// which the process used more CPU time than the threads checked
    /// account for (a sleeper woke and worked): so a thread that starts
    /// to spin shows within two samples, and a figure is at most
    /// `check_every` samples old. The full `stat` refresh (see
    /// [`stat_every`](Self::stat_every)) then goes in turn too, each
    /// thread's every `stat_every × check_every` samples.
    pub check_every: u32,
    /// Read the `stat` of every thread on every `stat_every`-th sample,
    /// starting with the first, even of threads that have not run since
    /// the last; 1 means every sample (no gating on `schedstat`), 0 never.
    ///
    /// Between those samples, figures another thread can change while this
    /// one sleeps may be out of date: its nice value and priority after
    /// `setpriority`, its comm after another thread renames it, the CPU of
    /// a waiting thread moved by the scheduler, and the state of a sleeper
    /// woken but not yet run (`S` until it runs, usually by the next
    /// sample). Default 10.
    pub stat_every: u32,
    /// How many `/proc` files (each thread's `stat` and `schedstat`) may
    /// stay open between samples; the rest are opened and closed each time
    /// (about 1.6× the cost). Never more than half the soft
    /// `RLIMIT_NOFILE`, which is also the default (`None`). When that is
    /// less than two files a thread, each thread keeps the file it reads
    /// every sample first.
    pub max_open_files: Option<usize>,
}

impl Default for SampleOptions {
    /// Details of every thread on every sample: right for the tens or
    /// hundreds of threads most programs have.
    fn default() -> Self {
        SampleOptions {
            detail_every: 1,
            detail_tids: BTreeSet::new(),
            check_tids: BTreeSet::new(),
            check_every: 1,
            stat_every: DEFAULT_STAT_EVERY,
            max_open_files: None,
        }
    }
}

/// The default [`SampleOptions::stat_every`]: the longest, in samples, a
/// figure the gate cannot see change stays out of date. A full sample costs
/// about what every sample cost without the gate, so this also sets how
/// much of the saving the safety net gives back (a tenth or so).
const DEFAULT_STAT_EVERY: u32 = 10;

/// What the kernel said about one process at one instant. All owned.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KernelSample {
    /// The process sampled.
    pub pid: u32,
    /// When the sample was started.
    #[serde(skip)]
    pub taken_at: Instant,
    /// The process as a whole.
    pub process: ProcessFigures,
    /// The machine as a whole.
    pub system: SystemFigures,
    /// Its threads, main thread first, then in the order the sampler first
    /// saw them (roughly creation order).
    pub threads: Vec<KernelThread>,
    /// True once the process has exited: it is gone, or only its zombie
    /// main thread is left (then `threads` holds just that zombie).
    pub exited: bool,
    /// Threads left out of `threads` because their `stat` line did not read
    /// as Linux writes it (by TID). Not an error: every other thread is
    /// there, and these are read again on the next sample.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub malformed: Vec<u32>,
}

impl KernelSample {
    /// The thread with kernel id `tid`, if it is in this sample.
    pub fn thread(&self, tid: u32) -> Option<&KernelThread> {
        self.threads.iter().find(|thread| thread.tid == tid)
    }
}

/// Reads what Linux says about every thread of one process, cheaply enough
/// to refresh 10,000 threads several times a second.
///
/// Works for this process and, read-only, for any process this user may
/// read. Each thread's `schedstat` and `stat` files are kept open and
/// re-read in place, so a `Sampler` holds up to two file descriptors per
/// thread (see [`SampleOptions::max_open_files`]); a thread's `stat` is
/// re-read only when its `schedstat` says it has run (see
/// [`SampleOptions::stat_every`]).
///
/// # Examples
///
/// ```
/// use threadscope::kernel::Sampler;
/// use threadscope::threading::{Thread, get_native_id};
///
/// let mut sampler = Sampler::new(std::process::id())?;
/// let sample = sampler.sample()?;
/// let me = sample.thread(get_native_id()).expect("the calling thread is listed");
/// assert_eq!(me.state, 'R', "it is running: it is reading /proc");
/// assert!(!sample.exited);
/// # Ok::<(), threadscope::kernel::SamplerError>(())
/// ```
pub struct Sampler {
    pid: u32,
    tasks: TaskDir,
    details: DetailReader,
    /// Details of threads that have not run since they were read.
    detail_cache: DetailCache,
    system: SystemView,
    options: SampleOptions,
    samples_taken: u64,
    last_thread_count: usize,
    process_ticks: ProcessTicks,
    /// The process's CPU ticks at the last sample.
    last_process_ticks: Option<u64>,
}

impl Sampler {
    /// A sampler for process `pid` with the default [`SampleOptions`].
    ///
    /// # Errors
    ///
    /// [`SamplerError::NoSuchProcess`] if no process has this pid,
    /// [`SamplerError::PermissionDenied`] if this user may not read it,
    /// [`SamplerError::NotAProcess`] if `pid` is a thread of another
    /// process, [`SamplerError::Io`] or [`SamplerError::System`] if `/proc`
    /// or sysinfo fail otherwise.
    pub fn new(pid: u32) -> Result<Sampler, SamplerError> {
        Sampler::with_options(pid, SampleOptions::default())
    }

    /// A sampler for process `pid` with `options`.
    ///
    /// # Errors
    ///
    /// As [`Sampler::new`].
    pub fn with_options(pid: u32, options: SampleOptions) -> Result<Sampler, SamplerError> {
        let tgid = tgid_of(pid)?;
        if tgid != pid {
            return Err(SamplerError::NotAProcess { tid: pid, pid: tgid });
        }
        let mut process_ticks = ProcessTicks::new(pid);
        let first_ticks = process_ticks.read();
        Ok(Sampler {
            pid,
            tasks: TaskDir::open(pid, options.max_open_files, options.stat_every)?,
            process_ticks,
            last_process_ticks: None,
            details: DetailReader::new(pid),
            detail_cache: DetailCache::default(),
            system: SystemView::new(first_ticks)?,
            options,
            samples_taken: 0,
            last_thread_count: 0,
        }
        .with_checks())
    }

    /// The process this sampler reads.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The options in force.
    pub fn options(&self) -> &SampleOptions {
        &self.options
    }

    /// Changes the options from the next sample on (the detail and `stat`
    /// cadences keep counting from the first sample).
    pub fn set_options(&mut self, options: SampleOptions) {
        if options.max_open_files != self.options.max_open_files {
            self.tasks.set_max_kept(options.max_open_files);
        }
        if options.stat_every != self.options.stat_every {
            self.tasks.set_stat_every(options.stat_every);
        }
        self.options = options;
        self.apply_checks();
    }

    fn with_checks(mut self) -> Sampler {
        self.apply_checks();
        self
    }

    /// Hands the options' check cadence and chosen threads to the task directory.
    fn apply_checks(&mut self) {
        self.tasks.set_check_every(self.options.check_every);
        let chosen = self.options.detail_tids.iter().chain(&self.options.check_tids);
        self.tasks.set_always_check(chosen.copied());
    }

    /// In the last sample: how many threads' details were read from their
    /// files, and how many were given out again because the thread had
    /// not run since they were read.
    pub fn detail_reads(&self) -> (usize, usize) {
        (self.detail_cache.read, self.detail_cache.reused)
    }

    /// How many `/proc` files (`stat` and `schedstat`) this sampler holds
    /// open.
    pub fn open_files(&self) -> usize {
        self.tasks.kept_files()
    }

    /// How many threads' `stat` the last sample read; the other threads
    /// had not run, and their last figures were given out again.
    pub fn stat_reads(&self) -> usize {
        self.tasks.stat_reads()
    }

    /// Reads every thread of the process, and the process and system
    /// figures.
    ///
    /// Threads that end while being read are left out; a process that has
    /// exited gives a sample with [`exited`](KernelSample::exited) set.
    ///
    /// # Errors
    ///
    /// [`SamplerError::PermissionDenied`] if the process's threads can no
    /// longer be read (it changed owner), [`SamplerError::Io`] if `/proc`
    /// fails for another reason (this process is out of file descriptors).
    /// A `/proc` file that is not laid out as Linux documents it is not an
    /// error: it costs only that thread's figures from it
    /// ([`Reason::Malformed`](super::Reason::Malformed), or the thread is
    /// listed in [`malformed`](KernelSample::malformed) if it was its `stat`).
    pub fn sample(&mut self) -> Result<KernelSample, SamplerError> {
        let taken_at = Instant::now();
        let every = u64::from(self.options.detail_every);
        let detail_all = every != 0 && self.samples_taken.is_multiple_of(every);
        self.samples_taken += 1;

        let pid = self.pid;
        let mut threads = Vec::with_capacity(self.last_thread_count);
        let mut quiet = Vec::with_capacity(self.last_thread_count);
        let mut rss_pages = 0;
        let alive = self.tasks.refresh(|tid, stat, seen| {
            if tid == pid {
                rss_pages = stat.rss_pages;
            }
            let mut thread = KernelThread::from_stat(tid, stat);
            thread.checked = seen.checked;
            threads.push(thread);
            // Not checked: its details stand as its last check left them.
            quiet.push(seen.quiet || !seen.checked);
            Ok(())
        })?;
        // Beside the start times just read: read after the details instead,
        // 10,000 threads' ages would each be that much (≈ 0.1 s) too old.
        let uptime = crate::sys::clock_now(libc::CLOCK_BOOTTIME);
        // The kernel walks every thread to sum them (3 ms at 10,000): read
        // only when the CPU figures or the check of unchecked threads need it.
        // Decided once: asked again at the refresh, the answer could turn
        // due in between, with no ticks read for it.
        let cpu_due = self.system.cpu_due();
        let wanted = self.options.check_every > 1 || cpu_due;
        let process_ticks = if alive && wanted { self.process_ticks.read() } else { None };
        self.watch_unchecked(process_ticks);
        if !alive {
            threads.clear();
        }
        self.last_thread_count = threads.len();
        let chosen = &self.options.detail_tids;
        // A thread never seen before makes this a sample that reads every
        // thread's details: its waits then, and the others' with them, so
        // the locks and cycles found among them stay whole (reading the new
        // thread's alone would leave the others' waits out of this one).
        let detail_all = detail_all
            || every != 0 && threads.iter().enumerate().any(|(i, t)| self.detail_cache.is_new(t, i));
        self.detail_cache.begin();
        for (i, (thread, &quiet)) in threads.iter_mut().zip(&quiet).enumerate() {
            if detail_all || (!chosen.is_empty() && chosen.contains(&thread.tid)) {
                self.detail_cache.fill(&mut self.details, self.tasks.fd(), thread, quiet, i)?;
            } else {
                self.detail_cache.pass(thread, quiet, i);
            }
        }
        self.detail_cache.end();
        let malformed = self.tasks.malformed().to_vec();
        // A process whose threads could not be parsed has not exited.
        let exited = !alive || (malformed.is_empty() && threads.iter().all(KernelThread::is_exited));
        let main = threads.first().filter(|t| t.tid == pid).map(|t| (t.comm().into_owned(), rss_pages));
        let (process, system) = self.system.refresh(threads.len(), main, process_ticks, cpu_due, uptime);
        Ok(KernelSample { pid, taken_at, process, system, threads, exited, malformed })
    }
}

impl Sampler {
    /// When threads are checked in turn: if the process used more CPU time
    /// since the last sample than the threads read in this one account for
    /// (each may be a tick short, the kernel rounds each down), a thread
    /// not checked has worked, and the next sample checks them all.
    fn watch_unchecked(&mut self, process_ticks: Option<u64>) {
        let before = std::mem::replace(&mut self.last_process_ticks, process_ticks);
        if self.options.check_every <= 1 {
            return;
        }
        if let (Some(before), Some(now)) = (before, process_ticks) {
            let (seen, from) = self.tasks.ticks_seen();
            let rounding = u64::try_from(from).unwrap_or(u64::MAX);
            if now.saturating_sub(before) > seen.saturating_add(rounding).saturating_add(1) {
                self.tasks.check_all_next();
            }
        }
    }
}

impl fmt::Debug for Sampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sampler")
            .field("pid", &self.pid)
            .field("options", &self.options)
            .field("samples_taken", &self.samples_taken)
            .field("open_files", &self.open_files())
            .finish_non_exhaustive()
    }
}

/// The process `pid` belongs to, from its `status`. Read with our own
/// parser, which decodes only the `Tgid:` line: procfs's wants every line
/// to be UTF-8, and the `Name:` line holds whatever bytes the program
/// named its main thread.
fn tgid_of(pid: u32) -> Result<u32, SamplerError> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read(&path).map_err(|err| process_error(pid, path.as_str(), err))?;
    parse_tgid(&text).ok_or(SamplerError::Parse { path, what: "no Tgid line" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{Field, Reason};

    /// Whether `seen` comes true within a generous time. The test binary
    /// runs other tests beside these, and their CPU time (which no checked
    /// thread of this sampler accounts for) rightly makes the sampler check
    /// every thread: a thread is seen unchecked only once they pause.
    fn eventually(mut seen: impl FnMut() -> bool) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if seen() {
                return true;
            }
        }
        false
    }

    #[test]
    fn a_sampler_can_move_to_its_own_thread() {
        fn send<T: Send>() {}
        send::<Sampler>();
        send::<KernelSample>();
    }

    #[test]
    fn details_follow_the_cadence() {
        // A process that starts no thread (other tests start threads in
        // this one, and a new thread makes a sample read every thread).
        let mut sleep = std::process::Command::new("sleep").arg("60").spawn().unwrap();
        let pid = sleep.id();
        let options = SampleOptions { detail_every: 3, ..SampleOptions::default() };
        let mut sampler = Sampler::with_options(pid, options).unwrap();
        let detailed: Vec<bool> = (0..7)
            .map(|_| sampler.sample().unwrap().thread(pid).unwrap().voluntary_ctxt_switches.is_available())
            .collect();
        sleep.kill().unwrap();
        sleep.wait().unwrap();
        assert_eq!(detailed, [true, false, false, true, false, false, true]);
        assert!(format!("{sampler:?}").starts_with("Sampler { pid: "));
    }

    #[test]
    fn a_new_thread_makes_a_sample_that_details_every_thread() {
        let options = SampleOptions { detail_every: 1_000_000, ..SampleOptions::default() };
        let mut sampler = Sampler::with_options(std::process::id(), options).unwrap();
        sampler.sample().unwrap();
        let sleeper = crate::kernel::idle_thread::IdleThread::start();
        let first = sampler.sample().unwrap();
        // The new thread and an old one alike: the waits of one sample are
        // all of the same moment, so no lock loses the waiters it had.
        for tid in [sleeper.tid, std::process::id()] {
            let seen = first.thread(tid).expect("listed");
            assert!(seen.voluntary_ctxt_switches.is_available() && seen.syscall.is_available(), "{seen:?}");
        }
        drop(sleeper);
    }

    #[test]
    fn a_thread_that_works_while_not_due_is_checked_on_the_next_sample() {
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let (go, go_rx) = std::sync::mpsc::channel::<u64>();
        let (done_tx, done) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || {
            ready_tx.send(crate::sys::gettid()).unwrap();
            for ticks in go_rx {
                // Works until the kernel has counted `ticks` more of its CPU time.
                let own = || {
                    let line = std::fs::read("/proc/thread-self/stat").unwrap();
                    let stat = super::super::stat::parse_stat(&line).unwrap();
                    stat.utime + stat.stime
                };
                let until = own() + ticks;
                while own() < until {
                    std::hint::black_box((0..10_000u64).sum::<u64>());
                }
                done_tx.send(()).unwrap();
            }
        });
        let tid = ready.recv().unwrap();
        // Never due in turn, never a full refresh: only the process's
        // unaccounted CPU time can get it checked.
        let options = SampleOptions { check_every: 1_000_000, stat_every: 0, ..SampleOptions::default() };
        let mut sampler = Sampler::with_options(std::process::id(), options).unwrap();
        let ticks_of = |sample: &KernelSample| {
            let t = sample.thread(tid).unwrap();
            (t.checked, t.cpu_ticks())
        };
        let mut before = ticks_of(&sampler.sample().unwrap());
        // Until it has slept through a sample and is no longer checked.
        let unchecked = eventually(|| {
            before = ticks_of(&sampler.sample().unwrap());
            !before.0
        });
        assert!(unchecked, "a quiet thread not due is not checked");
        // More than the rounding the sampler allows the threads that ran
        // beside it (a tick each, and other tests run in this process).
        let work = 3 + 2 * std::fs::read_dir("/proc/self/task").unwrap().count() as u64;
        go.send(work).unwrap();
        done.recv().unwrap();
        let after: Vec<(bool, u64)> = (0..2).map(|_| ticks_of(&sampler.sample().unwrap())).collect();
        assert!(
            after.iter().any(|&(checked, ticks)| checked && ticks >= before.1 + work),
            "{before:?} then {after:?}"
        );
        drop(go);
        worker.join().unwrap();
    }

    #[test]
    fn watched_threads_are_checked_every_sample_whatever_the_turn() {
        let sleeper = crate::kernel::idle_thread::IdleThread::start();
        let tid = sleeper.tid;
        let options = SampleOptions {
            check_every: 1_000_000,
            stat_every: 0,
            check_tids: [tid].into(),
            ..SampleOptions::default()
        };
        let mut sampler = Sampler::with_options(std::process::id(), options).unwrap();
        let checked: Vec<bool> =
            (0..4).map(|_| sampler.sample().unwrap().thread(tid).unwrap().checked).collect();
        assert_eq!(checked, [true; 4]);
        let mut options = sampler.options().clone();
        options.check_tids.clear();
        sampler.set_options(options);
        // Not watched any more, and not due for a million samples: until it
        // is seen asleep, a sample may still find it busy (read directly).
        let unwatched = eventually(|| !sampler.sample().unwrap().thread(tid).unwrap().checked);
        assert!(unwatched, "no longer checked every sample");
        drop(sleeper);
    }

    #[test]
    fn the_first_sample_already_has_the_process_s_cpu_use() {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spinner = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::black_box((0..1000u64).sum::<u64>());
                }
            })
        };
        let before = std::time::Instant::now();
        let mut sampler = Sampler::new(std::process::id()).unwrap();
        let made = std::time::Instant::now();
        let at_once = sampler.sample().unwrap();
        if before.elapsed() < crate::kernel::CPU_RATE_MIN_INTERVAL {
            assert_eq!(
                at_once.process.cpu_percent,
                Field::Unavailable(Reason::NotSampled),
                "too soon to measure"
            );
        }
        // Until the process has used CPU time since the baseline, and the
        // CPU cadence (sysinfo's 200 ms) has passed since it was taken.
        let mut ticks = ProcessTicks::new(std::process::id());
        let from = ticks.read().unwrap();
        while ticks.read().unwrap() < from + 2 || made.elapsed() <= crate::kernel::CPU_RATE_MIN_INTERVAL {
            std::hint::black_box((0..1000u64).sum::<u64>());
        }
        let first = sampler.sample().unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        spinner.join().unwrap();
        let cpu = first.process.cpu_percent;
        assert!(cpu.value().is_some_and(|&c| c > 0.0), "{cpu:?}");
    }

    #[test]
    fn chosen_threads_are_detailed_every_time() {
        let me = crate::sys::gettid();
        let options = SampleOptions { detail_every: 0, detail_tids: [me].into(), ..SampleOptions::default() };
        let mut sampler = Sampler::with_options(std::process::id(), options).unwrap();
        for _ in 0..3 {
            let sample = sampler.sample().unwrap();
            // The calling thread is caught reading its own syscall file.
            let syscall = sample.thread(me).unwrap().syscall.clone();
            assert_eq!(syscall.value().and_then(crate::kernel::Syscall::number), Some(libc::SYS_read));
        }
    }
}
