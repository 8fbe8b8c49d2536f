//! The task directory of one process: its threads' `stat` lines, read as
//! cheaply as Linux allows, refresh after refresh.
//!
//! Costs measured on this project's machine with 10,000 threads: opening,
//! reading and closing a `stat` takes ~3.9 µs; `pread` on a file kept open
//! ~2.4 µs (nearly all of it the kernel formatting the line), on a kept
//! `schedstat` ~1.4 µs; listing the directory ~0.9 µs a thread. So:
//!
//! - each thread's files stay open between refreshes (up to a share of
//!   `RLIMIT_NOFILE`, see `slot`; threads beyond it are read the slow way);
//! - a thread's `stat` is read only when its `schedstat` has moved since
//!   the last refresh (it has run), when the thread is new, and for every
//!   thread on every `stat_every`-th refresh; otherwise its last `stat` is
//!   given out again. A thread seen to run is read without asking
//!   `schedstat` until the next such full refresh, since asking would only
//!   add 1.4 µs to every read of a busy thread. `schedstat` is read before
//!   `stat`, so a thread that runs between the two reads is read again on
//!   the next refresh. A full refresh re-reads `schedstat` only for busy
//!   threads, whose last one is stale: any other thread's was taken before
//!   the `stat` now read, so later readings can still be compared with
//!   it. The main thread's `stat` is read every refresh (its
//!   thread count is needed below). Without `schedstat` (a kernel without
//!   `CONFIG_SCHED_INFO`) every `stat` is read every refresh;
//! - the directory is listed only when the set of threads may have changed:
//!   every `stat` line carries the kernel's count of threads in the
//!   process, and the main thread's is read first. If every known thread
//!   answered and that count equals them, no thread alive at that moment
//!   is unknown. Otherwise one `getdents64` pass over the kept-open
//!   directory, into a reused buffer, finds the new ones.
//!
//! - with [`set_check_every`](TaskDir::set_check_every) at `k` > 1, a
//!   quiet thread's `schedstat` is asked only on every `k`-th refresh, in
//!   turn by TID, so a refresh of 10,000 sleeping threads reads 2,500
//!   files, not 10,000. The main thread, busy threads, new threads, full
//!   refreshes and the TIDs asked for are checked every time, and
//!   [`check_all_next`](TaskDir::check_all_next) checks everyone once (the
//!   sampler asks when the process used CPU time the threads it checked
//!   do not account for). A thread not checked is given out with the
//!   figures of its last check, marked so (`checked` false). The full
//!   refresh then goes in turn as well, each thread's every
//!   `stat_every × check_every` refreshes.
//!
//! What the gate gets wrong: `stat` fields another task can change while
//! this one does not run. A sleeper that was woken and waits for a CPU
//! still shows its old state (`S`, not `R`) until it runs, normally by the
//! next refresh; the nice value and priority after `setpriority` from
//! another thread, the comm after another thread renames it, and the CPU
//! of a waiting task the scheduler moved, stay as they were until the
//! thread runs or the next full refresh.
//!
//! Whatever bytes a thread's files hold, they cost at most that thread: a
//! `schedstat` that does not parse only turns the gate off for it (its
//! `stat` is read), and a `stat` that does not parse (or is cut short)
//! leaves it out of that refresh, listed in [`TaskDir::malformed`], while
//! every other thread is read as usual.
//!
//! A kept file belongs to its thread, not its TID: once the thread is
//! reaped, reads give ESRCH even if a new thread got the same TID. Likewise
//! the kept directory gives ENOENT once the process is reaped, even if its
//! pid was reused.

use super::error::{ReadFailure, SamplerError, classify, process_error};
use super::schedstat::{Verdict, decide, parse_schedstat};
use super::slot::{Budget, Kind, Opened, Slot, kept_limit};
use super::stat::{StatLine, parse_stat};
use rustc_hash::FxHashSet;
use rustix::fs::{Mode, OFlags, RawDir, SeekFrom};
use rustix::io::Errno;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;

/// A stat line is under 1.2 KiB even with every field at its widest.
const READ_BUF: usize = 4096;
/// Enough for ~2,700 directory entries per `getdents64` call.
const DIR_BUF: usize = 64 * 1024;

/// `/proc/<pid>/task`, kept open, with the `stat` and `schedstat` files of
/// its threads.
pub(crate) struct TaskDir {
    pid: u32,
    dir: OwnedFd,
    dir_buf: Vec<MaybeUninit<u8>>,
    listing: Vec<u32>,
    /// Known threads, main thread first, in the order last read.
    slots: Vec<Slot>,
    budget: Budget,
    buf: Box<[u8]>,
    path: String,
    listed_last_time: bool,
    /// Whether this kernel keeps `schedstat` figures to gate on.
    has_schedstat: bool,
    stat_every: u32,
    /// Quiet threads are checked every `check_every`-th refresh, in turn.
    check_every: u32,
    /// Check every thread on the next refresh.
    check_all: bool,
    /// Threads checked on every refresh regardless (`detail_tids`, `check_tids`).
    always_check: FxHashSet<u32>,
    refreshes: u64,
    stat_reads: usize,
    /// CPU ticks the threads read on the last refresh used since the
    /// refresh before (a new thread: all of its ticks).
    ticks_seen: u64,
    /// Threads whose `stat` the last refresh read (each may be a tick
    /// short of what it used: the kernel rounds each thread down).
    ticks_seen_from: usize,
    /// Threads whose `stat` did not parse on the last refresh.
    malformed: Vec<u32>,
}

/// How a thread handed to `refresh`'s visitor was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Seen {
    /// Known not to have run since its details were read: what it sleeps
    /// in is as it was.
    pub(crate) quiet: bool,
    /// False when it was not due a check: its figures are its last check's.
    pub(crate) checked: bool,
}

/// What reading one thread gave.
enum ThreadRead {
    Stat(StatLine),
    /// It has ended.
    Gone,
    /// Its `stat` does not read as Linux writes it.
    Malformed,
}

impl TaskDir {
    /// Opens the task directory of `pid`. `stat_every` as in
    /// [`set_stat_every`](Self::set_stat_every).
    pub(crate) fn open(pid: u32, max_kept: Option<usize>, stat_every: u32) -> Result<TaskDir, SamplerError> {
        let path = format!("/proc/{pid}/task");
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = rustix::fs::open(path.as_str(), flags, Mode::empty())
            .map_err(|errno| process_error(pid, path, errno.into()))?;
        let has_schedstat = keeps_schedstat(&dir, pid);
        Ok(TaskDir {
            pid,
            dir,
            dir_buf: vec![MaybeUninit::uninit(); DIR_BUF],
            listing: Vec::new(),
            slots: Vec::new(),
            budget: Budget::new(kept_limit(max_kept)),
            buf: vec![0; READ_BUF].into_boxed_slice(),
            path: String::new(),
            listed_last_time: false,
            has_schedstat,
            stat_every,
            check_every: 1,
            check_all: false,
            always_check: FxHashSet::default(),
            refreshes: 0,
            stat_reads: 0,
            ticks_seen: 0,
            ticks_seen_from: 0,
            malformed: Vec::new(),
        })
    }

    /// The open task directory, for reading other per-thread files.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// How many `stat` and `schedstat` files are kept open.
    pub(crate) fn kept_files(&self) -> usize {
        self.budget.kept()
    }

    /// How many threads' `stat` the last refresh read (the others' were
    /// given out again).
    pub(crate) fn stat_reads(&self) -> usize {
        self.stat_reads
    }

    /// The threads left out of the last refresh because their `stat` did
    /// not parse.
    pub(crate) fn malformed(&self) -> &[u32] {
        &self.malformed
    }

    /// Whether the last refresh had to list the directory.
    #[cfg(test)]
    pub(crate) fn listed_last_time(&self) -> bool {
        self.listed_last_time
    }

    /// Whether the last refresh read thread `tid`'s `stat` (`None` if it
    /// is not known).
    #[cfg(test)]
    pub(crate) fn stat_was_read(&self, tid: u32) -> Option<bool> {
        self.slots.iter().find(|slot| slot.tid == tid).map(|slot| slot.stat_read)
    }

    /// Changes how many files may stay open, closing any beyond it.
    pub(crate) fn set_max_kept(&mut self, max_kept: Option<usize>) {
        let primary = self.primary();
        self.budget.set_max(kept_limit(max_kept), &mut self.slots, primary);
    }

    /// Reads every thread's `stat` on every `stat_every`-th refresh,
    /// counting from the first, whatever `schedstat` says: 1 means every
    /// refresh (no gating), 0 never.
    pub(crate) fn set_stat_every(&mut self, stat_every: u32) {
        self.stat_every = stat_every;
        if !self.gating() {
            self.budget.close_all(Kind::Schedstat, &mut self.slots);
            for slot in &mut self.slots {
                slot.last_schedstat = None;
                slot.busy = false;
            }
        }
    }

    /// Checks a quiet thread only on every `check_every`-th refresh (by its
    /// TID, so the work spreads evenly); 1 (or 0) means every refresh.
    pub(crate) fn set_check_every(&mut self, check_every: u32) {
        self.check_every = check_every.max(1);
    }

    /// Checks these threads on every refresh, whatever `check_every` says.
    pub(crate) fn set_always_check(&mut self, tids: impl IntoIterator<Item = u32>) {
        self.always_check = tids.into_iter().collect();
    }

    /// Checks every thread on the next refresh.
    pub(crate) fn check_all_next(&mut self) {
        self.check_all = true;
    }

    /// The CPU ticks the last refresh saw threads use, and from how many
    /// threads' `stat` (see `ticks_seen`).
    pub(crate) fn ticks_seen(&self) -> (u64, usize) {
        (self.ticks_seen, self.ticks_seen_from)
    }

    /// Whether `tid` is due a check on this refresh.
    fn due(&self, tid: u32, round: u64) -> bool {
        let every = u64::from(self.check_every);
        self.check_all
            || every <= 1
            || (u64::from(tid) + round).is_multiple_of(every)
            || self.always_check.contains(&tid)
    }

    fn gating(&self) -> bool {
        self.has_schedstat && self.stat_every != 1
    }

    /// Which file each thread reads every refresh, and so keeps first.
    fn primary(&self) -> impl Fn(&Slot) -> Kind + use<> {
        let (gating, pid) = (self.gating(), self.pid);
        move |slot| if gating && slot.tid != pid && !slot.busy { Kind::Schedstat } else { Kind::Stat }
    }

    /// Reads the `stat` line of every thread (or gives out its last one,
    /// see the module's documentation) and hands it to `visit`, main thread
    /// first. Threads that end meanwhile are skipped, and so are threads
    /// whose `stat` does not parse (see [`malformed`](Self::malformed)).
    /// `Ok(false)` when the process is gone (reaped); what was visited is
    /// then moot.
    pub(crate) fn refresh(
        &mut self,
        mut visit: impl FnMut(u32, &StatLine, Seen) -> Result<(), SamplerError>,
    ) -> Result<bool, SamplerError> {
        let every = u64::from(self.stat_every);
        let round = self.refreshes;
        // Checked in turn, the full refresh is in turn too, and as much
        // rarer: each thread's every `stat_every × check_every` refreshes,
        // a share of the threads on each (10,000 `stat` files opened at
        // once every 10 refreshes were a quarter of the cost).
        let staggered = u64::from(self.check_every) > 1;
        let all_full = every != 0 && !staggered && round.is_multiple_of(every);
        let cycle = every * u64::from(self.check_every);
        let full_for = |tid: u32| {
            all_full || (staggered && every != 0 && (u64::from(tid) + round).is_multiple_of(cycle))
        };
        self.refreshes += 1;
        self.stat_reads = 0;
        self.ticks_seen = 0;
        self.ticks_seen_from = 0;
        self.malformed.clear();
        self.budget.set_threads(self.slots.len());
        let mut complete = !self.slots.is_empty();
        let mut counted = None;
        let mut alive = 0;
        for index in 0..self.slots.len() {
            let tid = self.slots[index].tid;
            let due = self.due(tid, round);
            match self.read_thread(index, full_for(tid), due)? {
                ThreadRead::Stat(stat) => {
                    if tid == self.pid {
                        counted = Some(stat.num_threads);
                    }
                    let slot = &self.slots[index];
                    visit(tid, &stat, Seen { quiet: slot.quiet, checked: slot.checked })?;
                }
                // Still a thread: its slot stays, so it is not taken for
                // a new one and the directory listed again every time.
                ThreadRead::Malformed => self.malformed.push(tid),
                ThreadRead::Gone => {
                    complete = false;
                    continue;
                }
            }
            self.slots.swap(alive, index);
            alive += 1;
        }
        // Slots of ended threads, their files already closed.
        self.slots.truncate(alive);
        complete &= counted == u64::try_from(alive).ok();
        self.listed_last_time = !complete;
        if !complete {
            if !self.list()? {
                self.slots.clear();
                self.budget.settle(&mut self.slots, |_| Kind::Stat);
                return Ok(false);
            }
            self.budget.set_threads(self.listing.len().max(self.slots.len()));
            let seen: HashSet<u32> = self.slots.iter().map(|slot| slot.tid).collect();
            for index in 0..self.listing.len() {
                let tid = self.listing[index];
                if seen.contains(&tid) {
                    continue;
                }
                self.slots.push(Slot::new(tid));
                match self.read_thread(self.slots.len() - 1, full_for(tid), true)? {
                    ThreadRead::Stat(stat) => visit(tid, &stat, Seen { quiet: false, checked: true })?,
                    ThreadRead::Malformed => self.malformed.push(tid),
                    ThreadRead::Gone => drop(self.slots.pop()),
                }
            }
        }
        let primary = self.primary();
        self.budget.settle(&mut self.slots, primary);
        self.check_all = false;
        Ok(true)
    }

    /// The `stat` of `slots[index]`: read now, or the last one if its
    /// `schedstat` says the thread has not run since.
    fn read_thread(&mut self, index: usize, full: bool, due: bool) -> Result<ThreadRead, SamplerError> {
        let mut opened = Opened::default();
        let gated = self.gating() && self.slots[index].tid != self.pid;
        let slot = &mut self.slots[index];
        // Not due: a quiet thread with a baseline keeps its last figures,
        // and no file is touched.
        if gated
            && !due
            && !full
            && !slot.busy
            && slot.last_schedstat.is_some()
            && let Some(stat) = slot.last_stat
        {
            (slot.checked, slot.quiet, slot.stat_read) = (false, false, false);
            return Ok(ThreadRead::Stat(stat));
        }
        slot.checked = true;
        let busy = slot.busy;
        slot.busy &= !full;
        // A full refresh needs a `schedstat` only to replace a baseline
        // that is missing or stale (busy): any other was taken before the
        // `stat` about to be read, so comparing with it stays sound.
        let check = if full { busy || slot.last_schedstat.is_none() } else { !busy };
        // Quiet: known not to have run since its baseline. A full refresh
        // does not ask `schedstat` of a thread that was not busy; if it ran
        // meanwhile, the next refresh (which compares with that baseline)
        // says so.
        slot.quiet = gated && full && !check;
        if gated && check {
            let Some(len) = self.read_file(index, Kind::Schedstat, &mut opened)? else {
                return Ok(ThreadRead::Gone);
            };
            // One that does not parse gives nothing to compare: no gate.
            let now = self.fits(len).then(|| parse_schedstat(&self.buf[..len]).ok()).flatten();
            let slot = &mut self.slots[index];
            let before = match now {
                Some(now) => slot.last_schedstat.replace(now),
                None => slot.last_schedstat.take(),
            };
            match (now.map(|now| decide(before, now, full)), slot.last_stat) {
                (Some(Verdict::Unchanged), Some(stat)) => {
                    slot.stat_read = false;
                    slot.quiet = true;
                    self.keep(index, opened);
                    return Ok(ThreadRead::Stat(stat));
                }
                // Busy until the next full refresh, if there is one.
                (Some(Verdict::Ran), _) => slot.busy = self.stat_every != 0,
                _ => {}
            }
        }
        let Some(len) = self.read_file(index, Kind::Stat, &mut opened)? else { return Ok(ThreadRead::Gone) };
        let parsed = if self.fits(len) { parse_stat(&self.buf[..len]).ok() } else { None };
        let slot = &mut self.slots[index];
        let Some(stat) = parsed else {
            // Nothing of it is given out again either.
            slot.last_stat = None;
            slot.stat_read = true;
            self.keep(index, opened);
            return Ok(ThreadRead::Malformed);
        };
        let before = slot.last_stat.replace(stat).map_or(0, |b| b.utime + b.stime);
        slot.stat_read = true;
        self.stat_reads += 1;
        self.ticks_seen += (stat.utime + stat.stime).saturating_sub(before);
        self.ticks_seen_from += 1;
        self.keep(index, opened);
        Ok(ThreadRead::Stat(stat))
    }

    fn keep(&mut self, index: usize, opened: Opened) {
        let primary = self.primary()(&self.slots[index]);
        self.budget.keep(&mut self.slots[index], primary, opened);
    }

    /// Lists the TIDs with one pass over the directory. `Ok(false)` when
    /// the process is gone.
    fn list(&mut self) -> Result<bool, SamplerError> {
        self.listing.clear();
        if let Err(errno) = rustix::fs::seek(&self.dir, SeekFrom::Start(0)) {
            return self.gone_or_error(errno.into());
        }
        let mut entries = RawDir::new(&self.dir, &mut self.dir_buf);
        let mut failed = None;
        while let Some(entry) = entries.next() {
            match entry {
                Ok(entry) => self.listing.extend(parse_tid(entry.file_name().to_bytes())),
                Err(errno) => {
                    failed = Some(errno);
                    break;
                }
            }
        }
        match failed {
            Some(errno) => self.gone_or_error(errno.into()),
            None => Ok(true),
        }
    }

    fn gone_or_error(&self, err: io::Error) -> Result<bool, SamplerError> {
        match classify(err) {
            ReadFailure::Gone => Ok(false),
            ReadFailure::Denied => Err(SamplerError::PermissionDenied(self.pid)),
            ReadFailure::Other(source) => {
                Err(SamplerError::Io { path: format!("/proc/{}/task", self.pid), source })
            }
        }
    }

    /// Reads `slots[index]`'s `kind` file into `buf`: `Ok(None)` when the
    /// thread has ended. A kept file that finds its thread gone is closed,
    /// with all the slot remembers, and the TID opened afresh, in case a
    /// new thread of this process holds it now. A file opened here goes
    /// into `opened`, for [`Budget::keep`] to keep or close.
    fn read_file(
        &mut self,
        index: usize,
        kind: Kind,
        opened: &mut Opened,
    ) -> Result<Option<usize>, SamplerError> {
        let tid = self.slots[index].tid;
        if let Some(file) = self.slots[index].file(kind) {
            match file.read_at(&mut self.buf, 0) {
                Ok(len) if len > 0 => return Ok(Some(len)),
                Ok(_) => {}
                Err(err) => self.failure(tid, kind, classify(err))?,
            }
            self.budget.forget(&mut self.slots[index]);
        }
        let Some(file) = self.open_file(tid, kind)? else { return Ok(None) };
        let len = match file.read_at(&mut self.buf, 0) {
            Ok(0) => return Ok(None),
            Ok(len) => len,
            Err(err) => {
                self.failure(tid, kind, classify(err))?;
                return Ok(None);
            }
        };
        opened.put(kind, file);
        Ok(Some(len))
    }

    /// Opens `<tid>/<kind>`: `Ok(None)` when the thread has ended. When
    /// this process is out of file descriptors, gives back half the kept
    /// ones and tries once more.
    fn open_file(&mut self, tid: u32, kind: Kind) -> Result<Option<File>, SamplerError> {
        for attempt in 0..2 {
            self.path.clear();
            let _ = write!(self.path, "{tid}/{}", kind.name());
            let flags = OFlags::RDONLY | OFlags::CLOEXEC;
            match rustix::fs::openat(&self.dir, self.path.as_str(), flags, Mode::empty()) {
                Ok(fd) => return Ok(Some(File::from(fd))),
                Err(Errno::MFILE | Errno::NFILE) if attempt == 0 => {
                    let primary = self.primary();
                    self.budget.set_max(self.budget.kept() / 2, &mut self.slots, primary);
                }
                Err(errno) => {
                    self.failure(tid, kind, classify(errno.into()))?;
                    return Ok(None);
                }
            }
        }
        Ok(None)
    }

    /// Turns a read failure into an error, or `Ok` when the thread ended.
    fn failure(&self, tid: u32, kind: Kind, failure: ReadFailure) -> Result<(), SamplerError> {
        match failure {
            ReadFailure::Gone => Ok(()),
            ReadFailure::Denied => Err(SamplerError::PermissionDenied(self.pid)),
            ReadFailure::Other(source) => Err(SamplerError::Io { path: self.path_of(tid, kind), source }),
        }
    }

    /// Whether `len` bytes read into `buf` are the whole file: one that
    /// fills it is longer than any `stat` line, and cut short.
    fn fits(&self, len: usize) -> bool {
        len < self.buf.len()
    }

    fn path_of(&self, tid: u32, kind: Kind) -> String {
        format!("/proc/{}/task/{tid}/{}", self.pid, kind.name())
    }
}

/// Whether `schedstat` is there and kept up to date, judged by the main
/// thread's: missing without `CONFIG_SCHED_INFO`, all zeros when the
/// kernel keeps no scheduler statistics at run time.
fn keeps_schedstat(dir: &OwnedFd, pid: u32) -> bool {
    let path = format!("{pid}/schedstat");
    let Ok(fd) = rustix::fs::openat(dir, path.as_str(), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
    else {
        return false;
    };
    let mut buf = [0; 128];
    let len = File::from(fd).read_at(&mut buf, 0).unwrap_or(0);
    parse_schedstat(&buf[..len]).is_ok_and(|schedstat| schedstat.is_kept())
}

/// A directory entry's name as a TID (`.` and `..` are not).
pub(super) fn parse_tid(name: &[u8]) -> Option<u32> {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::gettid;
    use std::sync::mpsc;

    #[test]
    fn tids_are_numeric_names() {
        assert_eq!(parse_tid(b"1234"), Some(1234));
        assert_eq!(parse_tid(b"."), None);
        assert_eq!(parse_tid(b".."), None);
        assert_eq!(parse_tid(b""), None);
        assert_eq!(parse_tid(b"99999999999"), None);
    }

    fn own_tids(dir: &mut TaskDir) -> Vec<u32> {
        let mut seen = Vec::new();
        let alive = dir
            .refresh(|tid, stat, _| {
                assert!(stat.starttime > 0);
                seen.push(tid);
                Ok(())
            })
            .unwrap();
        assert!(alive);
        assert_eq!(seen[0], std::process::id(), "main thread first");
        seen
    }

    /// A thread that lives until the returned sender is dropped.
    fn helper() -> (u32, mpsc::Sender<()>, std::thread::JoinHandle<()>) {
        let (tid_tx, tid_rx) = mpsc::channel();
        let (end_tx, end_rx) = mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            tid_tx.send(gettid()).unwrap();
            let _ = end_rx.recv();
        });
        let tid = tid_rx.recv().unwrap();
        // Wait until it is really asleep in recv(): a thread the first
        // refresh sees running is read directly until the next full refresh,
        // which would make the gating tests depend on scheduling.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
            .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('S')))
        {
            assert!(std::time::Instant::now() < deadline, "helper never slept");
            std::thread::yield_now();
        }
        (tid, end_tx, handle)
    }

    #[test]
    fn lists_this_process_and_keeps_files_open() {
        let mut dir = TaskDir::open(std::process::id(), None, 10).unwrap();
        assert!(own_tids(&mut dir).contains(&gettid()));
        assert!(dir.listed_last_time());
        assert!(dir.kept_files() >= 1);
        assert!(own_tids(&mut dir).contains(&gettid()), "read again through the kept files");
    }

    #[test]
    fn past_the_cap_threads_are_still_read() {
        let mut dir = TaskDir::open(std::process::id(), Some(0), 10).unwrap();
        assert!(own_tids(&mut dir).contains(&gettid()));
        assert!(own_tids(&mut dir).contains(&gettid()));
        assert_eq!(dir.kept_files(), 0);
    }

    #[test]
    fn new_and_ended_threads_are_noticed() {
        let mut dir = TaskDir::open(std::process::id(), None, 10).unwrap();
        own_tids(&mut dir);
        let (tid, end, handle) = helper();
        assert!(own_tids(&mut dir).contains(&tid), "a new thread makes the count differ: listed");
        drop(end);
        handle.join().unwrap();
        assert!(!own_tids(&mut dir).contains(&tid));
        assert!(dir.slots.iter().all(|slot| slot.tid != tid), "its file is closed");
    }

    /// Refreshes once; `tid`'s comm as handed out, and whether its `stat`
    /// was read for it.
    fn comm_of(dir: &mut TaskDir, tid: u32) -> (Vec<u8>, bool) {
        let mut comm = None;
        assert!(
            dir.refresh(|seen, stat, _| {
                if seen == tid {
                    comm = Some(stat.comm.as_bytes().to_vec());
                }
                Ok(())
            })
            .unwrap()
        );
        (comm.expect("the thread is listed"), dir.stat_was_read(tid).unwrap())
    }

    /// Refreshes until `tid`'s last `stat` is handed out unread: it has
    /// slept since a full refresh took its `schedstat`.
    /// This process's task directory (a full `stat` refresh every
    /// `stat_every`), refreshed until thread `tid` is given out again.
    fn settled(tid: u32, stat_every: u32) -> TaskDir {
        let mut dir = TaskDir::open(std::process::id(), None, stat_every).unwrap();
        until_reused(&mut dir, tid);
        dir
    }

    fn until_reused(dir: &mut TaskDir, tid: u32) {
        for _ in 0..100 {
            if !comm_of(dir, tid).1 {
                return;
            }
        }
        panic!("thread {tid} never slept through a refresh");
    }

    type Job = Box<dyn FnOnce() + Send>;

    /// A thread that runs the jobs it is sent, acknowledging each, and
    /// sleeps in between; it ends when the sender is dropped.
    fn worker() -> (u32, mpsc::Sender<Job>, mpsc::Receiver<()>, std::thread::JoinHandle<()>) {
        let (tid_tx, tid_rx) = mpsc::channel();
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = mpsc::channel();
        let handle = std::thread::spawn(move || {
            tid_tx.send(gettid()).unwrap();
            for job in job_rx {
                job();
                done_tx.send(()).unwrap();
            }
        });
        (tid_rx.recv().unwrap(), job_tx, done_rx, handle)
    }

    #[test]
    fn a_thread_that_has_not_run_keeps_its_stat() {
        let (tid, end, handle) = helper();
        let mut dir = TaskDir::open(std::process::id(), None, 1000).unwrap();
        assert!(dir.has_schedstat, "this kernel has CONFIG_SCHED_INFO");
        let (comm, read) = comm_of(&mut dir, tid);
        assert!(read, "first seen: read");
        until_reused(&mut dir, tid);
        for _ in 0..3 {
            assert_eq!(comm_of(&mut dir, tid), (comm.clone(), false));
        }
        assert_eq!(dir.stat_was_read(std::process::id()), Some(true), "the main thread is always read");
        assert!(dir.stat_reads() < dir.slots.len());
        let main = dir.slots.iter().find(|slot| slot.tid == std::process::id()).unwrap();
        assert!(main.file(Kind::Schedstat).is_none(), "its schedstat is never needed");
        drop(end);
        handle.join().unwrap();
    }

    #[test]
    fn a_thread_that_ran_is_read_again_and_directly_until_the_next_full_refresh() {
        let (tid, jobs, done, handle) = worker();
        let mut dir = settled(tid, 4);
        jobs.send(Box::new(|| std::fs::write("/proc/thread-self/comm", "by-itself").unwrap())).unwrap();
        done.recv().unwrap();
        let ran_at = dir.refreshes;
        assert_eq!(comm_of(&mut dir, tid), (b"by-itself".to_vec(), true));
        assert!(dir.slots.iter().any(|slot| slot.tid == tid && slot.busy));
        // Busy: read without asking schedstat, up to and including the
        // next full refresh; then gated again.
        while !dir.refreshes.is_multiple_of(4) {
            assert!(comm_of(&mut dir, tid).1, "refresh {} after it ran", dir.refreshes - ran_at);
        }
        assert!(comm_of(&mut dir, tid).1, "the full refresh");
        assert!(!comm_of(&mut dir, tid).1, "it has slept since");
        drop(jobs);
        handle.join().unwrap();
    }

    /// Refreshes once; whether `tid` was checked, and its CPU ticks as handed out.
    fn checked(dir: &mut TaskDir, tid: u32) -> (bool, u64) {
        let mut found = None;
        dir.refresh(|seen, stat, how| {
            if seen == tid {
                found = Some((how.checked, stat.utime + stat.stime));
            }
            Ok(())
        })
        .unwrap();
        found.expect("the thread is listed")
    }

    #[test]
    fn quiet_threads_are_checked_in_turn_and_a_missed_run_shows_at_the_next_check() {
        let (tid, jobs, done, handle) = worker();
        let mut dir = settled(tid, 1000);
        dir.set_check_every(3);
        // Due on one refresh in three, by its TID. A thread seen to run is
        // checked at once (and until the next full refresh): on a loaded
        // machine something may wake it, so a window it ran in is looked
        // at again, a bounded number of times.
        let mut pattern: Vec<bool> = Vec::new();
        for _ in 0..20 {
            pattern = (0..6).map(|_| checked(&mut dir, tid).0).collect();
            if pattern.iter().filter(|&&c| c).count() == 2 {
                break;
            }
        }
        assert_eq!(pattern.iter().filter(|&&c| c).count(), 2, "{pattern:?}");
        assert!(pattern.windows(3).all(|w| w.iter().any(|&c| c)), "never three in a row missed: {pattern:?}");
        let main = dir.slots.iter().find(|slot| slot.tid == std::process::id()).unwrap();
        assert!(main.checked, "the main thread is checked every time");
        // It works between two of its checks: the refreshes that do not
        // check it give its old figures, the next check the new ones.
        while dir.due(tid, dir.refreshes) {
            checked(&mut dir, tid);
        }
        let before = checked(&mut dir, tid).1;
        let burn_until = before + 2;
        jobs.send(Box::new(move || {
            let ticks = || {
                let line = std::fs::read("/proc/thread-self/stat").unwrap();
                let stat = parse_stat(&line).unwrap();
                stat.utime + stat.stime
            };
            while ticks() < burn_until {
                std::hint::black_box((0..10_000u64).sum::<u64>());
            }
        }))
        .unwrap();
        done.recv().unwrap();
        let mut seen = Vec::new();
        while seen.len() < 3 {
            let (was_checked, ticks) = checked(&mut dir, tid);
            seen.push((was_checked, ticks));
            if was_checked {
                break;
            }
        }
        let (was_checked, ticks) = *seen.last().unwrap();
        assert!(was_checked && ticks >= burn_until, "{seen:?}");
        assert!(seen[..seen.len() - 1].iter().all(|&(_, t)| t == before), "{seen:?}");
        drop(jobs);
        handle.join().unwrap();
    }

    #[test]
    fn checked_in_turn_the_full_refresh_is_in_turn_and_rarer() {
        let (tid, end, handle) = helper();
        let mut dir = settled(tid, 2);
        dir.set_check_every(2);
        // Each thread's `stat` once every 2 × 2 refreshes, by its TID.
        for _ in 0..8 {
            let due = (u64::from(tid) + dir.refreshes).is_multiple_of(4);
            assert_eq!(comm_of(&mut dir, tid).1, due, "refresh {}", dir.refreshes - 1);
        }
        drop(end);
        handle.join().unwrap();
    }

    #[test]
    fn asked_for_threads_and_a_check_of_all_come_first() {
        let (tid, end, handle) = helper();
        let mut dir = settled(tid, 1000);
        dir.set_check_every(1_000_000);
        checked(&mut dir, tid);
        assert!(!checked(&mut dir, tid).0, "not due for a million refreshes");
        dir.check_all_next();
        assert!(checked(&mut dir, tid).0, "all checked once");
        assert!(!checked(&mut dir, tid).0, "then in turn again");
        dir.set_always_check([tid]);
        assert!((0..3).all(|_| checked(&mut dir, tid).0), "asked for: every time");
        drop(end);
        handle.join().unwrap();
    }

    #[test]
    fn every_stat_is_read_on_every_nth_refresh() {
        let (tid, end, handle) = helper();
        let mut dir = settled(tid, 3);
        for _ in 0..7 {
            let due = dir.refreshes.is_multiple_of(3);
            assert_eq!(comm_of(&mut dir, tid).1, due, "refresh {}", dir.refreshes - 1);
            if due {
                assert_eq!(dir.stat_reads(), dir.slots.len(), "every thread");
            }
        }
        drop(end);
        handle.join().unwrap();
    }

    #[test]
    fn a_name_set_by_another_thread_waits_for_the_full_refresh() {
        // The trade-off: the thread itself did not run, so its schedstat
        // did not move.
        let (tid, end, handle) = helper();
        let mut dir = settled(tid, 1000);
        let (before, _) = comm_of(&mut dir, tid);
        std::fs::write(format!("/proc/self/task/{tid}/comm"), "by-other").unwrap();
        assert_eq!(comm_of(&mut dir, tid), (before, false), "out of date until the thread runs");
        dir.set_stat_every(1);
        assert_eq!(comm_of(&mut dir, tid), (b"by-other".to_vec(), true));
        drop(end);
        handle.join().unwrap();
    }

    #[test]
    fn without_schedstat_every_stat_is_read_every_time() {
        let (tid, end, handle) = helper();
        for no_gate in
            [|dir: &mut TaskDir| dir.has_schedstat = false, |dir: &mut TaskDir| dir.set_stat_every(1)]
        {
            let mut dir = TaskDir::open(std::process::id(), None, 10).unwrap();
            no_gate(&mut dir);
            for _ in 0..3 {
                assert!(comm_of(&mut dir, tid).1);
                assert_eq!(dir.stat_reads(), dir.slots.len());
            }
            assert!(dir.slots.iter().all(|slot| slot.file(Kind::Schedstat).is_none()));
            assert_eq!(dir.kept_files(), dir.slots.len(), "one stat file each");
        }
        drop(end);
        handle.join().unwrap();
    }

    #[test]
    fn primary_files_first_when_the_cap_is_tight() {
        let (tid, end, handle) = helper();
        let mut dir = TaskDir::open(std::process::id(), Some(2), 10).unwrap();
        comm_of(&mut dir, tid);
        assert_eq!(dir.kept_files(), 2);
        let main = &dir.slots[0];
        assert_eq!(main.tid, std::process::id());
        assert!(main.file(Kind::Stat).is_some(), "the main thread's stat is read every time");
        assert!(
            dir.slots
                .iter()
                .all(|slot| slot.file(Kind::Schedstat).is_none() || slot.file(Kind::Stat).is_none())
        );
        comm_of(&mut dir, tid); // read the slow way still
        drop(end);
        handle.join().unwrap();
    }
}
