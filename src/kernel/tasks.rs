//! The task directory of one process: its threads' `stat` lines, read as
//! cheaply as Linux allows, refresh after refresh.
//!
//! Costs measured on this project's machine with 10,000 threads: opening,
//! reading and closing a `stat` takes ~3.9 µs; `pread` on a file kept open
//! ~2.4 µs (nearly all of it the kernel formatting the line); listing the
//! directory ~0.9 µs a thread. So:
//!
//! - each thread's `stat` stays open between refreshes (up to a share of
//!   `RLIMIT_NOFILE`; threads beyond it are read the slow way);
//! - the directory is listed only when the set of threads may have changed:
//!   every `stat` line carries the kernel's count of threads in the
//!   process, and the main thread's is read first. If every known thread
//!   answered and that count equals them, no thread alive at that moment
//!   is unknown. Otherwise one `getdents64` pass over the kept-open
//!   directory, into a reused buffer, finds the new ones.
//!
//! A kept file belongs to its thread, not its TID: once the thread is
//! reaped, reads give ESRCH even if a new thread got the same TID. Likewise
//! the kept directory gives ENOENT once the process is reaped, even if its
//! pid was reused.

use super::error::{ReadFailure, SamplerError, classify, process_error};
use super::stat::{StatLine, parse_stat};
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
const STAT_BUF: usize = 4096;
/// Enough for ~2,700 directory entries per `getdents64` call.
const DIR_BUF: usize = 64 * 1024;
/// The share of the soft `RLIMIT_NOFILE` kept stat files may use by default.
const NOFILE_SHARE: u64 = 2;

/// A thread known from an earlier refresh, with its `stat` if kept open.
struct Slot {
    tid: u32,
    stat: Option<File>,
}

/// `/proc/<pid>/task`, kept open, with the `stat` files of its threads.
pub(crate) struct TaskDir {
    pid: u32,
    dir: OwnedFd,
    dir_buf: Vec<MaybeUninit<u8>>,
    listing: Vec<u32>,
    /// Known threads, main thread first, in the order last read.
    slots: Vec<Slot>,
    kept: usize,
    max_kept: usize,
    stat_buf: Box<[u8]>,
    path: String,
    listed_last_time: bool,
}

impl TaskDir {
    /// Opens the task directory of `pid`.
    pub(crate) fn open(pid: u32, max_kept: Option<usize>) -> Result<TaskDir, SamplerError> {
        let path = format!("/proc/{pid}/task");
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = rustix::fs::open(path.as_str(), flags, Mode::empty())
            .map_err(|errno| process_error(pid, path, errno.into()))?;
        Ok(TaskDir {
            pid,
            dir,
            dir_buf: vec![MaybeUninit::uninit(); DIR_BUF],
            listing: Vec::new(),
            slots: Vec::new(),
            kept: 0,
            max_kept: kept_limit(max_kept),
            stat_buf: vec![0; STAT_BUF].into_boxed_slice(),
            path: String::new(),
            listed_last_time: false,
        })
    }

    /// The open task directory, for reading other per-thread files.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// How many `stat` files are kept open.
    pub(crate) fn kept_files(&self) -> usize {
        self.kept
    }

    /// Whether the last refresh had to list the directory.
    #[cfg(test)]
    pub(crate) fn listed_last_time(&self) -> bool {
        self.listed_last_time
    }

    /// Changes how many `stat` files may stay open, closing any beyond it.
    pub(crate) fn set_max_kept(&mut self, max_kept: Option<usize>) {
        self.max_kept = kept_limit(max_kept);
        for slot in &mut self.slots {
            if self.kept <= self.max_kept {
                break;
            }
            if slot.stat.take().is_some() {
                self.kept -= 1;
            }
        }
    }

    /// Reads the `stat` line of every thread and hands it to `visit`, main
    /// thread first. Threads that end meanwhile are skipped. `Ok(false)`
    /// when the process is gone (reaped); what was visited is then moot.
    pub(crate) fn refresh(
        &mut self,
        mut visit: impl FnMut(u32, &StatLine<'_>) -> Result<(), SamplerError>,
    ) -> Result<bool, SamplerError> {
        let mut complete = !self.slots.is_empty();
        let mut counted = None;
        let mut alive = 0;
        for index in 0..self.slots.len() {
            let Some(len) = self.read_slot(index)? else {
                complete = false;
                continue;
            };
            let tid = self.slots[index].tid;
            let stat = self.parse(tid, len)?;
            if tid == self.pid {
                counted = Some(stat.num_threads);
            }
            visit(tid, &stat)?;
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
                self.kept = 0;
                return Ok(false);
            }
            let seen: HashSet<u32> = self.slots.iter().map(|slot| slot.tid).collect();
            for index in 0..self.listing.len() {
                let tid = self.listing[index];
                if seen.contains(&tid) {
                    continue;
                }
                self.slots.push(Slot { tid, stat: None });
                match self.read_slot(self.slots.len() - 1)? {
                    Some(len) => visit(tid, &self.parse(tid, len)?)?,
                    None => drop(self.slots.pop()),
                }
            }
        }
        self.kept = self.slots.iter().filter(|slot| slot.stat.is_some()).count();
        Ok(true)
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

    /// Reads the stat line of `slots[index]` into `stat_buf`: `Ok(None)`
    /// when the thread has ended. A kept file that finds its thread gone is
    /// closed and the TID opened afresh, in case a new thread of this
    /// process holds it now.
    fn read_slot(&mut self, index: usize) -> Result<Option<usize>, SamplerError> {
        let tid = self.slots[index].tid;
        if let Some(file) = &self.slots[index].stat {
            match file.read_at(&mut self.stat_buf, 0) {
                Ok(len) if len > 0 => return self.checked_len(tid, len).map(Some),
                Ok(_) => {}
                Err(err) => self.failure(tid, classify(err))?,
            }
            self.slots[index].stat = None;
            self.kept -= 1;
        }
        let Some(file) = self.open_stat(tid)? else { return Ok(None) };
        let len = match file.read_at(&mut self.stat_buf, 0) {
            Ok(0) => return Ok(None),
            Ok(len) => len,
            Err(err) => {
                self.failure(tid, classify(err))?;
                return Ok(None);
            }
        };
        if self.kept < self.max_kept {
            self.slots[index].stat = Some(file);
            self.kept += 1;
        }
        self.checked_len(tid, len).map(Some)
    }

    /// Opens `<tid>/stat`: `Ok(None)` when the thread has ended. When this
    /// process is out of file descriptors, gives back half the kept ones
    /// and tries once more.
    fn open_stat(&mut self, tid: u32) -> Result<Option<File>, SamplerError> {
        for attempt in 0..2 {
            self.path.clear();
            let _ = write!(self.path, "{tid}/stat");
            let flags = OFlags::RDONLY | OFlags::CLOEXEC;
            match rustix::fs::openat(&self.dir, self.path.as_str(), flags, Mode::empty()) {
                Ok(fd) => return Ok(Some(File::from(fd))),
                Err(Errno::MFILE | Errno::NFILE) if attempt == 0 => self.set_max_kept(Some(self.kept / 2)),
                Err(errno) => {
                    self.failure(tid, classify(errno.into()))?;
                    return Ok(None);
                }
            }
        }
        Ok(None)
    }

    fn parse(&self, tid: u32, len: usize) -> Result<StatLine<'_>, SamplerError> {
        parse_stat(&self.stat_buf[..len])
            .map_err(|what| SamplerError::Parse { path: self.stat_path(tid), what })
    }

    /// Turns a read failure into an error, or `Ok` when the thread ended.
    fn failure(&self, tid: u32, failure: ReadFailure) -> Result<(), SamplerError> {
        match failure {
            ReadFailure::Gone => Ok(()),
            ReadFailure::Denied => Err(SamplerError::PermissionDenied(self.pid)),
            ReadFailure::Other(source) => Err(SamplerError::Io { path: self.stat_path(tid), source }),
        }
    }

    fn checked_len(&self, tid: u32, len: usize) -> Result<usize, SamplerError> {
        if len < self.stat_buf.len() {
            Ok(len)
        } else {
            Err(SamplerError::Parse { path: self.stat_path(tid), what: "a stat line longer than 4 KiB" })
        }
    }

    fn stat_path(&self, tid: u32) -> String {
        format!("/proc/{}/task/{tid}/stat", self.pid)
    }
}

/// How many stat files to keep open: what was asked, but never more than
/// half the soft `RLIMIT_NOFILE`, so the rest of the program (and the
/// sampler's own detail reads) keep room.
fn kept_limit(asked: Option<usize>) -> usize {
    asked.map_or_else(nofile_share, |asked| asked.min(nofile_share()))
}

/// Half the soft `RLIMIT_NOFILE` (or 2^19 files when there is no limit).
fn nofile_share() -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    let share = soft.map_or(1 << 19, |soft| soft / NOFILE_SHARE);
    usize::try_from(share).unwrap_or(usize::MAX)
}

/// A directory entry's name as a TID (`.` and `..` are not).
fn parse_tid(name: &[u8]) -> Option<u32> {
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
            .refresh(|tid, stat| {
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
        (tid_rx.recv().unwrap(), end_tx, handle)
    }

    #[test]
    fn lists_this_process_and_keeps_files_open() {
        let mut dir = TaskDir::open(std::process::id(), None).unwrap();
        assert!(own_tids(&mut dir).contains(&gettid()));
        assert!(dir.listed_last_time());
        assert!(dir.kept_files() >= 1);
        assert!(own_tids(&mut dir).contains(&gettid()), "read again through the kept files");
    }

    #[test]
    fn past_the_cap_threads_are_still_read() {
        let mut dir = TaskDir::open(std::process::id(), Some(0)).unwrap();
        assert!(own_tids(&mut dir).contains(&gettid()));
        assert!(own_tids(&mut dir).contains(&gettid()));
        assert_eq!(dir.kept_files(), 0);
    }

    #[test]
    fn new_and_ended_threads_are_noticed() {
        let mut dir = TaskDir::open(std::process::id(), None).unwrap();
        own_tids(&mut dir);
        let (tid, end, handle) = helper();
        assert!(own_tids(&mut dir).contains(&tid), "a new thread makes the count differ: listed");
        drop(end);
        handle.join().unwrap();
        assert!(!own_tids(&mut dir).contains(&tid));
        assert!(dir.slots.iter().all(|slot| slot.tid != tid), "its file is closed");
    }
}
