//! The costlier per-thread files — `status`, `wchan`, `syscall` — read on
//! demand into a [`KernelThread`] whose `stat` is already known.

use super::error::{ReadFailure, SamplerError, classify};
use super::field::{Field, Reason};
use super::status::{StatusLines, parse_status};
use super::syscall::Syscall;
use super::thread::KernelThread;
use rustix::fs::{Mode, OFlags};
use std::fmt::Write as _;
use std::os::fd::BorrowedFd;
use std::sync::Arc;

/// Wait channels already read, given out again: 10,000 threads asleep in
/// `futex_wait_queue` share one string. Bounded (the names are the
/// kernel's, yet not ours to trust to be few): past [`WCHANS_KEPT`] the
/// list starts again.
#[derive(Default)]
struct Wchans(rustc_hash::FxHashSet<Arc<str>>);

impl Wchans {
    fn share(&mut self, name: &str) -> Arc<str> {
        if let Some(known) = self.0.get(name) {
            return known.clone();
        }
        if self.0.len() == WCHANS_KEPT {
            self.0.clear();
        }
        let name: Arc<str> = name.into();
        self.0.insert(name.clone());
        name
    }
}

/// `status` is about 1.5 KiB; the other two are one short line.
const DETAIL_BUF: usize = 8192;

/// At most this many distinct wait channels are kept to be shared.
const WCHANS_KEPT: usize = 256;

/// Reads detail files, reusing one buffer and one path string.
pub(crate) struct DetailReader {
    pid: u32,
    buf: Box<[u8]>,
    path: String,
    /// Wait channels as read, shared: a few kernel functions, each read
    /// for thousands of threads.
    wchans: Wchans,
    /// The last CPU list read: nearly every thread of a process has the same.
    cpus: Option<Arc<[(u32, u32)]>>,
}

impl DetailReader {
    pub(crate) fn new(pid: u32) -> DetailReader {
        DetailReader {
            pid,
            buf: vec![0; DETAIL_BUF].into_boxed_slice(),
            path: String::new(),
            wchans: Wchans::default(),
            cpus: None,
        }
    }

    /// `ranges` as the last CPU list read when it is the same.
    fn shared_cpus(&mut self, ranges: Vec<(u32, u32)>) -> Arc<[(u32, u32)]> {
        match &self.cpus {
            Some(last) if **last == *ranges => last.clone(),
            _ => self.cpus.insert(ranges.into()).clone(),
        }
    }

    /// Fills `thread`'s `status`, `wchan` and `syscall` fields. `tasks` is
    /// the process's open `task` directory. A file the thread no longer has
    /// leaves its fields [`Gone`](Reason::Gone); one we may not read,
    /// [`Denied`](Reason::Denied); one that does not read as Linux writes
    /// it, [`Malformed`](Reason::Malformed) — whatever its bytes, it costs
    /// at most its own fields, never the sample.
    ///
    /// # Errors
    ///
    /// Only when reading fails for a reason that is not the thread's
    /// (out of file descriptors, an I/O error).
    pub(crate) fn fill(
        &mut self,
        tasks: BorrowedFd<'_>,
        thread: &mut KernelThread,
    ) -> Result<(), SamplerError> {
        let tid = thread.tid;
        let lines = match self.read(tasks, tid, "status")? {
            Ok(text) => parse_status(text),
            Err(reason) => StatusLines {
                voluntary_ctxt_switches: Field::Unavailable(reason),
                nonvoluntary_ctxt_switches: Field::Unavailable(reason),
                cpus_allowed_list: Field::Unavailable(reason),
            },
        };
        thread.voluntary_ctxt_switches = lines.voluntary_ctxt_switches;
        thread.nonvoluntary_ctxt_switches = lines.nonvoluntary_ctxt_switches;
        thread.cpus_allowed_list = lines.cpus_allowed_list.map(|ranges| self.shared_cpus(ranges));
        // Out while the read borrows the buffer, back before any error goes up.
        let mut wchans = std::mem::take(&mut self.wchans);
        let wchan = self.read(tasks, tid, "wchan").map(|read| match read {
            Ok(text) => parse_wchan(text).map(|name| name.map(|name| wchans.share(name))),
            Err(reason) => Field::Unavailable(reason),
        });
        self.wchans = wchans;
        thread.wchan = wchan?;
        // A zombie has no system call; the kernel would say "running".
        thread.syscall = if thread.is_exited() {
            Field::Unavailable(Reason::Gone)
        } else {
            match self.read(tasks, tid, "syscall")? {
                Ok(line) => {
                    Syscall::parse(line).map_or(Field::Unavailable(Reason::Malformed), Field::Available)
                }
                Err(reason) => Field::Unavailable(reason),
            }
        };
        // The kernel writes "0" for the wchan of a thread we may not trace
        // (the check that refuses `syscall`): unknown, not "not asleep".
        if thread.syscall.reason() == Some(Reason::Denied) && thread.wchan == Field::Available(None) {
            thread.wchan = Field::Unavailable(Reason::Denied);
        }
        Ok(())
    }

    /// Reads `<tid>/<name>`: the bytes, or why there are none.
    fn read(
        &mut self,
        tasks: BorrowedFd<'_>,
        tid: u32,
        name: &str,
    ) -> Result<Result<&[u8], Reason>, SamplerError> {
        self.path.clear();
        let _ = write!(self.path, "{tid}/{name}");
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(tasks, self.path.as_str(), flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(errno) => return self.failure(tid, name, classify(errno.into())).map(Err),
        };
        let mut len = 0;
        while len < self.buf.len() {
            match rustix::io::read(&fd, &mut self.buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(rustix::io::Errno::INTR) => {}
                Err(errno) => return self.failure(tid, name, classify(errno.into())).map(Err),
            }
        }
        if len == 0 {
            return Ok(Err(Reason::Gone));
        }
        if len == self.buf.len() {
            // More than any of these files holds: what was read is cut
            // short, and its last line may not be what the kernel wrote.
            return Ok(Err(Reason::Malformed));
        }
        Ok(Ok(&self.buf[..len]))
    }

    fn failure(&self, tid: u32, name: &str, failure: ReadFailure) -> Result<Reason, SamplerError> {
        match failure {
            ReadFailure::Gone => Ok(Reason::Gone),
            ReadFailure::Denied => Ok(Reason::Denied),
            ReadFailure::Other(source) => {
                Err(SamplerError::Io { path: format!("/proc/{}/task/{tid}/{name}", self.pid), source })
            }
        }
    }
}

/// A `wchan` file: the kernel function a thread sleeps in, `None` when
/// there is none. The kernel writes "0" both for "no wait channel" and,
/// since 5.16, for one hidden from a user without ptrace access. Anything
/// but a symbol name (printable ASCII, no spaces) is not what the kernel
/// writes, and is refused rather than carried to a terminal.
pub(crate) fn parse_wchan(text: &[u8]) -> Field<Option<&str>> {
    let name = text.trim_ascii();
    if name.is_empty() || name == b"0" {
        return Field::Available(None);
    }
    match std::str::from_utf8(name) {
        Ok(name) if name.bytes().all(|b| b.is_ascii_graphic()) => Field::Available(Some(name)),
        _ => Field::Unavailable(Reason::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_channels_are_shared_and_kept_within_bounds() {
        let mut wchans = Wchans::default();
        let first = wchans.share("futex_wait_queue");
        assert!(Arc::ptr_eq(&first, &wchans.share("futex_wait_queue")), "one string for all its sleepers");
        for i in 0..WCHANS_KEPT * 3 {
            assert_eq!(&*wchans.share(&format!("f{i}")), format!("f{i}"));
            assert!(wchans.0.len() <= WCHANS_KEPT);
        }
        assert_eq!(&*wchans.share("futex_wait_queue"), "futex_wait_queue", "forgotten, then kept again");
    }

    #[test]
    fn wchan_names_a_kernel_function_or_none() {
        assert_eq!(parse_wchan(b"futex_wait_queue"), Field::Available(Some("futex_wait_queue")));
        assert_eq!(parse_wchan(b"do_sys_poll.isra.0\n"), Field::Available(Some("do_sys_poll.isra.0")));
        assert_eq!(parse_wchan(b"0"), Field::Available(None));
        assert_eq!(parse_wchan(b""), Field::Available(None));
    }

    #[test]
    fn a_wchan_that_is_no_symbol_is_malformed() {
        for text in [&b"esc\x1b[2J"[..], b"\x9b", b"two words", b"\xc3\xbc"] {
            assert_eq!(parse_wchan(text), Field::Unavailable(Reason::Malformed), "{}", text.escape_ascii());
        }
    }
}
