//! The costlier per-thread files — `status`, `wchan`, `syscall` — read on
//! demand into a [`KernelThread`] whose `stat` is already known.

use super::error::{ReadFailure, SamplerError, classify};
use super::field::{Field, Reason};
use super::status::parse_status;
use super::syscall::Syscall;
use super::thread::KernelThread;
use rustix::fs::{Mode, OFlags};
use std::fmt::Write as _;
use std::os::fd::BorrowedFd;

/// `status` is about 1.5 KiB; the other two are one short line.
const DETAIL_BUF: usize = 8192;

/// Reads detail files, reusing one buffer and one path string.
pub(crate) struct DetailReader {
    pid: u32,
    buf: Box<[u8]>,
    path: String,
}

impl DetailReader {
    pub(crate) fn new(pid: u32) -> DetailReader {
        DetailReader { pid, buf: vec![0; DETAIL_BUF].into_boxed_slice(), path: String::new() }
    }

    /// Fills `thread`'s `status`, `wchan` and `syscall` fields. `tasks` is
    /// the process's open `task` directory. A file the thread no longer has
    /// leaves its fields [`Gone`](Reason::Gone); one we may not read,
    /// [`Denied`](Reason::Denied).
    pub(crate) fn fill(
        &mut self,
        tasks: BorrowedFd<'_>,
        thread: &mut KernelThread,
    ) -> Result<(), SamplerError> {
        let tid = thread.tid;
        match self.read(tasks, tid, "status")? {
            Ok(text) => {
                let lines = parse_status(text).map_err(|what| self.parse_error(tid, "status", what))?;
                thread.voluntary_ctxt_switches = Field::Available(lines.voluntary_ctxt_switches);
                thread.nonvoluntary_ctxt_switches = Field::Available(lines.nonvoluntary_ctxt_switches);
                thread.cpus_allowed_list = Field::Available(lines.cpus_allowed_list);
            }
            Err(reason) => {
                thread.voluntary_ctxt_switches = Field::Unavailable(reason);
                thread.nonvoluntary_ctxt_switches = Field::Unavailable(reason);
                thread.cpus_allowed_list = Field::Unavailable(reason);
            }
        }
        thread.wchan = self.read(tasks, tid, "wchan")?.map_or_else(Field::Unavailable, |text| {
            let name = String::from_utf8_lossy(text).trim().to_owned();
            // The kernel writes "0" both for "no wait channel" and, since
            // 5.16, for one hidden from a user without ptrace access.
            Field::Available(if name.is_empty() || name == "0" { None } else { Some(name) })
        });
        // A zombie has no system call; the kernel would say "running".
        thread.syscall = if thread.is_exited() {
            Field::Unavailable(Reason::Gone)
        } else {
            match self.read(tasks, tid, "syscall")? {
                Ok(line) => Field::Available(
                    Syscall::parse(line)
                        .ok_or_else(|| self.parse_error(tid, "syscall", "not a syscall line"))?,
                ),
                Err(reason) => Field::Unavailable(reason),
            }
        };
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

    fn parse_error(&self, tid: u32, name: &str, what: &'static str) -> SamplerError {
        SamplerError::Parse { path: format!("/proc/{}/task/{tid}/{name}", self.pid), what }
    }
}
