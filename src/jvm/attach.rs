//! HotSpot's attach protocol (what `jcmd` and `jstack` speak), in Rust.
//!
//! 1. The JVM's Attach Listener serves `<tmp>/.java_pid<NSPID>`, a Unix
//!    socket only its user can open. It is not started until asked: a
//!    client creates `.attach_pid<NSPID>` in the JVM's working directory
//!    (or temp directory) and sends SIGQUIT; the JVM's SIGQUIT handler sees
//!    the file, starts the listener instead of printing a dump, and the
//!    client polls for the socket, then removes the file.
//! 2. A request is NUL-terminated strings: the protocol version `1`, the
//!    command, and exactly three arguments (empty ones as a lone NUL).
//! 3. The JVM answers a decimal status and `\n`, then the command's output,
//!    and closes the connection.
//!
//! Both sides check credentials: the JVM accepts only a peer with its own
//! uid and gid, or root (`SO_PEERCRED`); we accept only a socket file the
//! JVM's user owns and a peer process running as that user.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
use rustix::process::{Pid, Signal};

use super::detect::JvmTarget;
use super::error::{AttachStep, JvmError};
use super::model::JvmThreadDump;
use super::parse::parse_thread_dump;

/// Limits for one conversation with a JVM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachOptions {
    /// How long to wait for the Attach Listener to start after SIGQUIT
    /// (the JDK waits 10 s by default, `sun.tools.attach.attachTimeout`).
    pub start_timeout: Duration,
    /// How long one command may take, from connecting to the last byte.
    pub io_timeout: Duration,
    /// The largest reply accepted (a dump is ~1 KiB a thread).
    pub max_reply: usize,
    /// Ask for `Locked ownable synchronizers` (`-l`): who holds each
    /// `java.util.concurrent` lock. Costs the JVM a heap walk per dump.
    pub locked_synchronizers: bool,
}

impl Default for AttachOptions {
    fn default() -> Self {
        AttachOptions {
            start_timeout: Duration::from_secs(10),
            io_timeout: Duration::from_secs(10),
            max_reply: 64 << 20,
            locked_synchronizers: true,
        }
    }
}

/// Asks the JVM for a thread dump (the attach `threaddump` command, what
/// `jstack -l PID` gets) and parses it.
///
/// Starts the JVM's Attach Listener first if it is not running (see the
/// module documentation); that creates and removes `.attach_pid<NSPID>`
/// and sends SIGQUIT, and only when the JVM catches SIGQUIT.
///
/// # Errors
///
/// Every [`JvmError`] but those only [`JvmTarget::detect`] gives
/// ([`JvmError::NotAJvm`], [`JvmError::NoSignOfJvm`],
/// [`JvmError::Undetermined`], [`JvmError::DifferentUser`]):
/// attach disabled, `-Xrs`, a timeout at any step, a refused or untrusted
/// socket, the JVM exiting before or while it answers.
///
/// # Blocking
///
/// Up to `start_timeout` for the listener to start, then up to
/// `io_timeout` for the dump.
pub fn thread_dump(target: &JvmTarget, options: &AttachOptions) -> Result<JvmThreadDump, JvmError> {
    let args: &[&str] = if options.locked_synchronizers { &["-l"] } else { &[] };
    let reply = execute(target, "threaddump", args, options)?;
    let dump = parse_thread_dump(&reply);
    if !dump.complete && exits_soon(target) {
        return Err(JvmError::Exited { pid: target.pid, step: AttachStep::Reply });
    }
    Ok(dump)
}

/// Runs one attach command (`threaddump`, `jcmd`, `properties`, …) with up
/// to three arguments and returns its output (without the status line).
///
/// # Errors
///
/// As [`thread_dump`], plus [`JvmError::CommandFailed`] for a non-zero
/// status and [`JvmError::Protocol`] for more than three arguments or an
/// argument holding a NUL.
pub fn execute(
    target: &JvmTarget,
    command: &str,
    args: &[&str],
    options: &AttachOptions,
) -> Result<Vec<u8>, JvmError> {
    let pid = target.pid;
    if args.len() > 3 || std::iter::once(&command).chain(args).any(|a| a.contains('\0')) {
        return Err(JvmError::Protocol { pid, detail: "at most three arguments, without NUL".into() });
    }
    ensure_listener(target, options)?;
    let path = target.socket_path();
    check_socket_file(target, &path)?;
    let deadline = Instant::now() + options.io_timeout;
    let mut stream = connect(target, &path, deadline, options.io_timeout)?;
    check_peer(target, &path, &stream)?;

    let mut request = Vec::with_capacity(64);
    for part in ["1", command].iter().chain(args).chain(std::iter::repeat_n(&"", 3 - args.len())) {
        request.extend_from_slice(part.as_bytes());
        request.push(0);
    }
    set_timeout(&stream, deadline, options.io_timeout, AttachStep::Request, pid)?;
    stream.write_all(&request).map_err(|e| io_error(target, e, AttachStep::Request, options.io_timeout))?;

    let reply = read_reply(target, &mut stream, deadline, options)?;
    let newline = reply.iter().position(|&b| b == b'\n');
    let Some(newline) = newline else {
        return Err(if reply.is_empty() {
            closed(target, AttachStep::Status)
        } else {
            bad_status(pid, &reply)
        });
    };
    let status = std::str::from_utf8(&reply[..newline]).ok().and_then(|s| s.trim().parse::<i32>().ok());
    match status {
        Some(0) => Ok(reply[newline + 1..].to_vec()),
        Some(code) => Err(JvmError::CommandFailed {
            pid,
            code,
            message: String::from_utf8_lossy(&reply[newline + 1..]).trim().to_owned(),
        }),
        None => Err(bad_status(pid, &reply)),
    }
}

/// Makes sure the Attach Listener runs: the socket exists, or the
/// `.attach_pid` + SIGQUIT handshake makes it appear.
fn ensure_listener(target: &JvmTarget, options: &AttachOptions) -> Result<(), JvmError> {
    let pid = target.pid;
    let socket = target.socket_path();
    if socket.exists() {
        return Ok(());
    }
    if !target.is_alive() {
        return Err(JvmError::NoSuchProcess { pid });
    }
    if target.attach_disabled {
        return Err(JvmError::AttachDisabled { pid });
    }
    if !target.catches_sigquit()? {
        return Err(if target.reduced_signals {
            JvmError::ReducedSignals { pid }
        } else {
            JvmError::SigquitNotCaught { pid }
        });
    }
    let _trigger = AttachFile::create(target)?;
    send_quit(target)?;
    let started = Instant::now();
    let mut delay = Duration::from_millis(5);
    let mut resent = false;
    while !socket.exists() {
        let waited = started.elapsed();
        if waited >= options.start_timeout {
            return Err(JvmError::Timeout {
                pid,
                step: AttachStep::StartListener,
                after: options.start_timeout,
            });
        }
        if !target.is_alive() {
            return Err(JvmError::Exited { pid, step: AttachStep::StartListener });
        }
        if !resent && waited >= options.start_timeout / 2 {
            // As the JDK does: a second chance for a JVM that missed the first.
            resent = true;
            send_quit(target)?;
        }
        // Polling, as the JDK does: the socket appears without an event we could wait on.
        thread::sleep(delay.min(options.start_timeout - waited));
        delay = (delay * 2).min(Duration::from_millis(100));
    }
    Ok(())
}

/// Sends SIGQUIT, after checking the pid is still this JVM and still catches it.
fn send_quit(target: &JvmTarget) -> Result<(), JvmError> {
    let pid = target.pid;
    if !target.is_alive() {
        return Err(JvmError::Exited { pid, step: AttachStep::StartListener });
    }
    if !target.catches_sigquit()? {
        return Err(JvmError::SigquitNotCaught { pid });
    }
    let raw = Pid::from_raw(pid as i32).ok_or(JvmError::NoSuchProcess { pid })?;
    rustix::process::kill_process(raw, Signal::QUIT).map_err(|e| match e {
        Errno::SRCH => JvmError::Exited { pid, step: AttachStep::StartListener },
        e => JvmError::Io { pid, context: "sending SIGQUIT", source: e.into() },
    })
}

/// `.attach_pid<NSPID>`, removed on drop if we created it.
struct AttachFile(Option<PathBuf>);

impl AttachFile {
    fn create(target: &JvmTarget) -> Result<Self, JvmError> {
        let mut last_error = None;
        for path in target.attach_file_paths() {
            match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
                Ok(_) => return Ok(AttachFile(Some(path))),
                // Another client's handshake is under way: it will remove its file.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(AttachFile(None)),
                Err(e) => last_error = Some(e),
            }
        }
        let source = last_error.unwrap_or_else(|| io::Error::other("no place for .attach_pid"));
        Err(JvmError::Io { pid: target.pid, context: "creating .attach_pid", source })
    }
}

impl Drop for AttachFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// The socket must be a socket, owned by the JVM's user, writable by nobody else.
fn check_socket_file(target: &JvmTarget, path: &Path) -> Result<(), JvmError> {
    let untrusted = |reason: String| JvmError::UntrustedSocket { pid: target.pid, path: path.into(), reason };
    let meta = fs::symlink_metadata(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound if !target.is_alive() => {
            JvmError::Exited { pid: target.pid, step: AttachStep::Connect }
        }
        _ => JvmError::Io { pid: target.pid, context: "reading the attach socket", source: e },
    })?;
    if !meta.file_type().is_socket() {
        return Err(untrusted("not a socket".into()));
    }
    if meta.uid() != target.uid {
        return Err(untrusted(format!("owned by uid {}, the JVM runs as {}", meta.uid(), target.uid)));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(untrusted(format!("mode {:o} lets others write", meta.mode() & 0o777)));
    }
    Ok(())
}

/// Connects without blocking past the deadline (a full backlog makes a
/// blocking connect wait).
fn connect(
    target: &JvmTarget,
    path: &Path,
    deadline: Instant,
    limit: Duration,
) -> Result<UnixStream, JvmError> {
    let pid = target.pid;
    let io = |e: Errno| JvmError::Io { pid, context: "connecting to the attach socket", source: e.into() };
    let fd: OwnedFd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )
    .map_err(io)?;
    let addr = SocketAddrUnix::new(path).map_err(io)?;
    loop {
        match rustix::net::connect(&fd, &addr) {
            Ok(()) => break,
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) if Instant::now() < deadline => thread::sleep(Duration::from_millis(2)),
            Err(Errno::AGAIN) => {
                return Err(JvmError::Timeout { pid, step: AttachStep::Connect, after: limit });
            }
            Err(Errno::CONNREFUSED | Errno::NOENT) if !target.is_alive() => {
                return Err(JvmError::Exited { pid, step: AttachStep::Connect });
            }
            Err(Errno::CONNREFUSED) => return Err(JvmError::ConnectionRefused { pid, path: path.into() }),
            Err(e) => return Err(io(e)),
        }
    }
    rustix::io::ioctl_fionbio(&fd, false).map_err(io)?;
    Ok(UnixStream::from(fd))
}

/// The process at the other end must run as the JVM's user (and be the
/// JVM, when its pid is visible from our namespace).
fn check_peer(target: &JvmTarget, path: &Path, stream: &UnixStream) -> Result<(), JvmError> {
    let cred = rustix::net::sockopt::socket_peercred(stream).map_err(|e| JvmError::Io {
        pid: target.pid,
        context: "reading SO_PEERCRED",
        source: e.into(),
    })?;
    let (peer_pid, peer_uid) = (Pid::as_raw(Some(cred.pid)), cred.uid.as_raw());
    if peer_uid != target.uid || (peer_pid > 0 && peer_pid as u32 != target.pid) {
        return Err(JvmError::UntrustedSocket {
            pid: target.pid,
            path: path.into(),
            reason: format!(
                "peer is pid {peer_pid} uid {peer_uid}, expected pid {} uid {}",
                target.pid, target.uid
            ),
        });
    }
    Ok(())
}

fn read_reply(
    target: &JvmTarget,
    stream: &mut UnixStream,
    deadline: Instant,
    options: &AttachOptions,
) -> Result<Vec<u8>, JvmError> {
    let mut reply = Vec::with_capacity(64 << 10);
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let step = if reply.contains(&b'\n') { AttachStep::Reply } else { AttachStep::Status };
        set_timeout(stream, deadline, options.io_timeout, step, target.pid)?;
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(reply),
            Ok(n) => {
                if reply.len() + n > options.max_reply {
                    return Err(JvmError::ReplyTooLarge { pid: target.pid, limit: options.max_reply });
                }
                reply.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(target, e, step, options.io_timeout)),
        }
    }
}

fn set_timeout(
    stream: &UnixStream,
    deadline: Instant,
    limit: Duration,
    step: AttachStep,
    pid: u32,
) -> Result<(), JvmError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(JvmError::Timeout { pid, step, after: limit });
    }
    let set = |e| JvmError::Io { pid, context: "setting a socket timeout", source: e };
    stream.set_read_timeout(Some(left)).map_err(set)?;
    stream.set_write_timeout(Some(left)).map_err(set)
}

fn io_error(target: &JvmTarget, e: io::Error, step: AttachStep, limit: Duration) -> JvmError {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            JvmError::Timeout { pid: target.pid, step, after: limit }
        }
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe | io::ErrorKind::UnexpectedEof => {
            closed(target, step)
        }
        _ => JvmError::Io { pid: target.pid, context: "talking to the JVM", source: e },
    }
}

fn closed(target: &JvmTarget, step: AttachStep) -> JvmError {
    if exits_soon(target) {
        JvmError::Exited { pid: target.pid, step }
    } else {
        JvmError::ConnectionClosed { pid: target.pid, step }
    }
}

/// True when the JVM is gone or goes within 200 ms: a dying process
/// closes its sockets a moment before it becomes a zombie.
pub(super) fn exits_soon(target: &JvmTarget) -> bool {
    for _ in 0..10 {
        if !target.is_alive() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    !target.is_alive()
}

fn bad_status(pid: u32, reply: &[u8]) -> JvmError {
    let start = String::from_utf8_lossy(&reply[..reply.len().min(40)]).into_owned();
    JvmError::Protocol { pid, detail: format!("no status line, reply starts {start:?}") }
}
