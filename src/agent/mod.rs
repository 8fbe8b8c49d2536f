//! The agent: a program that uses the library serves its registry — full
//! thread names, what each thread waits on, who holds each lock — to
//! `threadscope attach PID` and `threadscope snapshot --pid PID`, over a
//! Unix socket (the protocol is docs/agent-protocol.md; its messages are
//! [`protocol`]).
//!
//! One call at the top of `main` is all it takes:
//!
//! ```no_run
//! let _agent = threadscope::agent::start().expect("threadscope agent");
//! // … the program, using threadscope::threading's threads and locks …
//! ```
//!
//! or, without changing the program, `THREADSCOPE_AGENT=1` in its
//! environment: the agent then starts the first time the program touches
//! the library's registry (its first thread, lock or `current_thread()`).
//!
//! # What it costs and what it may touch
//!
//! The agent is one thread (`ts-agent`, shown as threadscope's own, never
//! as the program's) asleep in `poll` until a client asks. It reads;
//! nothing a client sends changes the program. A snapshot is
//! [`Registry::snapshot`], which takes only the registry's own bookkeeping
//! locks — its thread and primitive indexes, and each record's status and
//! name — never a lock, event, queue or any primitive the program's
//! threads wait on: a deadlocked program still answers. Those bookkeeping
//! locks are held by the program's threads only for a few instructions
//! (starting or ending a thread, creating or dropping a primitive,
//! entering or leaving a wait, renaming), never across a wait or user code;
//! so the exposure is that one of those steps may wait while a snapshot
//! copies the record it needs (docs/benchmarks.md has the figures: a
//! snapshot of 2,000 threads, and the program's throughput while served
//! at 4 Hz).

pub mod client;
mod convert;
mod handler;
pub mod location;
pub mod protocol;
pub mod python;
mod server;

pub use client::{AgentClient, ClientError};
pub use convert::agent_snapshot;
pub use handler::answer;

use crate::threading::Registry;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The environment variable that starts the agent by itself (value `1`).
pub const ENV: &str = "THREADSCOPE_AGENT";
/// A connection idle this long is closed (docs/agent-protocol.md).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The agent thread's name.
pub const THREAD_NAME: &str = "ts-agent";

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The socket directory is missing and cannot be made, or is not fit
    /// for a socket (another user's, open to others, a link).
    #[error("socket directory {dir}: {why}")]
    Directory {
        /// The directory.
        dir: PathBuf,
        /// What is wrong, in words.
        why: String,
    },
    /// The socket could not be made.
    #[error("socket {path}: {why}")]
    Socket {
        /// The socket's path.
        path: PathBuf,
        /// What went wrong, in words.
        why: String,
    },
    /// The agent thread could not be started.
    #[error("cannot start the agent thread: {0}")]
    Thread(std::io::Error),
}

/// A running agent. Cheap to clone; it keeps serving when every handle is
/// dropped (until [`Agent::stop`] or the end of the process).
#[derive(Debug, Clone)]
pub struct Agent {
    socket: Option<PathBuf>,
    stop: Arc<AtomicBool>,
}

impl Agent {
    /// Where it listens, when it made its own socket ([`start`]).
    pub fn socket(&self) -> Option<&Path> {
        self.socket.as_deref()
    }

    /// Stops serving (within a quarter of a second) and removes the socket.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(path) = &self.socket {
            remove_own_socket(path);
        }
    }
}

/// The process-wide agent, once started.
static AGENT: Mutex<Option<Agent>> = Mutex::new(None);

/// Starts the process-wide agent, serving [`Registry::global`] at
/// `PID.sock` in the user's socket directory ([`location::own_dir`]).
/// Calling it again gives the running agent.
///
/// The socket is mode 0600 in a 0700 directory; a stale socket of an
/// earlier process with the same pid is replaced; the socket is removed
/// when the process exits normally (or [`Agent::stop`]).
///
/// # Errors
///
/// [`AgentError`] when the directory is not fit for a socket (another
/// user's, open to others), the socket cannot be bound, or the thread
/// cannot start. The program carries on either way.
///
/// # Examples
///
/// ```no_run
/// let agent = threadscope::agent::start()?;
/// println!("threadscope attach {} (socket {:?})", std::process::id(), agent.socket());
/// # Ok::<(), threadscope::agent::AgentError>(())
/// ```
pub fn start() -> Result<Agent, AgentError> {
    // A poisoned lock only means a start panicked; the slot is still right.
    let mut slot = AGENT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(agent) = slot.as_ref().filter(|a| !a.stop.load(Ordering::Relaxed)) {
        return Ok(agent.clone());
    }
    let dir = location::own_dir();
    location::prepare_dir(&dir, location::euid())?;
    let path = location::socket_in(&dir, std::process::id());
    let listener = bind(&path)?;
    remember_for_exit(&path);
    let agent = spawn(listener, None, IDLE_TIMEOUT, Some(path))?;
    *slot = Some(agent.clone());
    Ok(agent)
}

/// Serves `registry` on a listener the caller bound (a socket somewhere
/// else, with permissions of the caller's choosing): for embedders and
/// tests. The peer check still applies: only this process's user, or root.
///
/// # Errors
///
/// [`AgentError::Thread`] when the thread cannot start.
pub fn serve(listener: UnixListener, registry: &Registry, idle: Duration) -> Result<Agent, AgentError> {
    spawn(listener, Some(registry.clone()), idle, None)
}

/// Starts the agent when [`ENV`] is `1`; says why on stderr, once, when it
/// cannot. Called by the registry when it is first used, so it must not
/// touch the registry on this thread (the agent thread does, later).
pub(crate) fn start_from_environment() {
    if std::env::var_os(ENV).is_none_or(|v| v != "1") {
        return;
    }
    if let Err(e) = start() {
        eprintln!("threadscope agent: not started ({ENV}=1): {e}");
    }
}

fn spawn(
    listener: UnixListener,
    registry: Option<Registry>,
    idle: Duration,
    socket: Option<PathBuf>,
) -> Result<Agent, AgentError> {
    let nonblocking = listener.set_nonblocking(true);
    nonblocking
        .map_err(|e| AgentError::Socket { path: socket.clone().unwrap_or_default(), why: e.to_string() })?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let info = protocol::AgentInfo {
        runtime: "rust".to_owned(),
        runtime_version: None,
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        pid: std::process::id(),
        program: program_name(),
    };
    std::thread::Builder::new()
        .name(THREAD_NAME.to_owned())
        .spawn(move || {
            crate::threading::register_helper_thread();
            let registry = registry.unwrap_or_else(|| Registry::global().clone());
            server::serve(server::Served { listener, registry, info, idle, stop: stopping });
        })
        .map_err(AgentError::Thread)?;
    Ok(Agent { socket, stop })
}

/// Binds `path`, replacing a stale socket (one nobody listens on), and
/// makes it 0600.
fn bind(path: &Path) -> Result<UnixListener, AgentError> {
    let problem = |why: String| AgentError::Socket { path: path.to_owned(), why };
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(problem("exists and is not a socket".to_owned()));
        }
        if UnixStream::connect(path).is_ok() {
            return Err(problem("another agent already answers there".to_owned()));
        }
        std::fs::remove_file(path).map_err(|e| problem(format!("stale socket not removed: {e}")))?;
    }
    let listener = UnixListener::bind(path).map_err(|e| problem(e.to_string()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| problem(e.to_string()))?;
    Ok(listener)
}

/// The socket to remove at exit: its path, and its inode, so that a socket
/// some later agent put there is left alone; and the pid that made it, so
/// that a forked child's exit leaves the parent's.
static AT_EXIT: OnceLock<Mutex<Option<(PathBuf, u64, u32)>>> = OnceLock::new();

fn remember_for_exit(path: &Path) {
    let inode = std::fs::symlink_metadata(path).map_or(0, |m| m.ino());
    let slot = AT_EXIT.get_or_init(|| {
        crate::sys::at_process_exit(remove_at_exit);
        Mutex::new(None)
    });
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some((path.to_owned(), inode, std::process::id()));
}

extern "C" fn remove_at_exit() {
    let Some(slot) = AT_EXIT.get() else { return };
    // try_lock: an exit while a start holds it must not hang the exit.
    let Ok(guard) = slot.try_lock() else { return };
    if let Some((path, _, pid)) = guard.as_ref()
        && *pid == std::process::id()
    {
        let path = path.clone();
        drop(guard);
        remove_own_socket(&path);
    }
}

/// Removes `path` if it is still the socket this process bound there.
fn remove_own_socket(path: &Path) {
    let ours = AT_EXIT
        .get()
        .and_then(|slot| slot.try_lock().ok()?.as_ref().map(|(p, inode, pid)| (p.clone(), *inode, *pid)));
    let Some((p, inode, pid)) = ours else { return };
    if p == path
        && pid == std::process::id()
        && std::fs::symlink_metadata(path).is_ok_and(|m| m.ino() == inode)
    {
        let _ = std::fs::remove_file(path);
    }
}

/// The executable's file name, for `hello`.
fn program_name() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.file_name()?.to_string_lossy().into_owned())
}
