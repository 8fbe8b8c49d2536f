//! Where an agent's socket is (docs/agent-protocol.md, "Where the socket
//! is"): a per-user directory, mode 0700, and `PID.sock` in it. The agent
//! and the client share these rules, so they always look in one place.

use super::AgentError;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The directory under `$XDG_RUNTIME_DIR`.
const XDG_SUBDIR: &str = "threadscope";

/// The calling user's socket directory: `$XDG_RUNTIME_DIR/threadscope/`
/// when that variable names a directory the user owns, otherwise
/// `/tmp/threadscope-UID/`.
pub fn own_dir() -> PathBuf {
    let uid = euid();
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|runtime| runtime.is_absolute() && owned_dir(runtime, uid))
        .map_or_else(|| tmp_dir(uid), |runtime| runtime.join(XDG_SUBDIR))
}

/// `/tmp/threadscope-UID/`: the directory of a user without (or whose
/// process has no) `$XDG_RUNTIME_DIR`.
pub fn tmp_dir(uid: u32) -> PathBuf {
    PathBuf::from(format!("/tmp/threadscope-{uid}"))
}

/// The socket of process `pid` in `dir`.
pub fn socket_in(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("{pid}.sock"))
}

/// Where the client looks for `pid`'s socket, in order: its own directory;
/// then, when it runs as root, the target user's (its `$XDG_RUNTIME_DIR`
/// read from `/proc/PID/environ`, then `/tmp/threadscope-UID/`). Only
/// sockets that exist, in directories owned by the target's user and
/// closed to others, are returned: a directory someone else made cannot
/// pass off its socket as the program's.
pub fn candidates(pid: u32) -> Vec<PathBuf> {
    let mut dirs = vec![own_dir()];
    let me = euid();
    let target_uid = process_uid(pid);
    if me == 0
        && let Some(uid) = target_uid.filter(|&uid| uid != 0)
    {
        if let Some(runtime) = process_runtime_dir(pid).filter(|d| owned_dir(d, uid)) {
            dirs.push(runtime.join(XDG_SUBDIR));
        }
        dirs.push(tmp_dir(uid));
    }
    let owner = target_uid.unwrap_or(me);
    let mut out: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        let path = socket_in(&dir, pid);
        if !out.contains(&path) && private_dir(&dir, owner).is_ok() && path.exists() && !stale(&path, pid) {
            out.push(path);
        }
    }
    out
}

/// Slack for comparing a socket's time with its process's start: the boot
/// time the kernel gives is in whole seconds, and a clock stepped since
/// boot moves it a little.
const STALE_SLACK_SECS: i64 = 5;

/// Whether the socket at `path` was made before process `pid` started: it
/// is the leftover of an earlier process with the same pid (one killed
/// before it could remove it), not this one's agent.
fn stale(path: &Path, pid: u32) -> bool {
    let (Ok(socket), Some(started)) = (std::fs::symlink_metadata(path), process_started(pid)) else {
        return false;
    };
    socket.mtime() + STALE_SLACK_SECS < started
}

/// When process `pid` started, in seconds since the epoch: the boot time
/// plus its start in clock ticks after boot.
fn process_started(pid: u32) -> Option<i64> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let ticks = crate::kernel::stat::parse_stat(&stat).ok()?.starttime;
    let boot = std::fs::read_to_string("/proc/stat").ok()?;
    let btime: i64 = boot.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()?;
    let after_boot = i64::try_from(ticks / crate::kernel::ticks_per_second().max(1)).ok()?;
    Some(btime + after_boot)
}

/// Makes `dir` (mode 0700) if it is missing and checks it is fit for a
/// socket: a real directory (not a symbolic link), owned by `uid`, with
/// no permission for anyone else.
///
/// # Errors
///
/// [`AgentError::Directory`] saying what is wrong.
pub(crate) fn prepare_dir(dir: &Path, uid: u32) -> Result<(), AgentError> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(AgentError::Directory { dir: dir.to_owned(), why: e.to_string() }),
    }
    private_dir(dir, uid)
}

/// Checks that `dir` is a directory (not a link) owned by `uid` and
/// closed to group and others.
fn private_dir(dir: &Path, uid: u32) -> Result<(), AgentError> {
    let problem = |why: String| AgentError::Directory { dir: dir.to_owned(), why };
    let meta = std::fs::symlink_metadata(dir).map_err(|e| problem(e.to_string()))?;
    if !meta.file_type().is_dir() {
        return Err(problem("not a directory".to_owned()));
    }
    if meta.uid() != uid {
        return Err(problem(format!("owned by uid {}, not {uid}", meta.uid())));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(problem(format!("mode {:o} is open to others (want 700)", meta.mode() & 0o777)));
    }
    Ok(())
}

fn owned_dir(dir: &Path, uid: u32) -> bool {
    std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.uid() == uid)
}

/// The effective uid of this process.
pub(crate) fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The real uid of process `pid`, from `/proc/PID/status`.
pub(crate) fn process_uid(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// `XDG_RUNTIME_DIR` in the environment `pid` started with (root only).
fn process_runtime_dir(pid: u32) -> Option<PathBuf> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    environ.split(|&b| b == 0).find_map(|entry| {
        let value = entry.strip_prefix(b"XDG_RUNTIME_DIR=")?;
        let path = PathBuf::from(std::str::from_utf8(value).ok()?);
        path.is_absolute().then_some(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ts-location-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_missing_directory_is_made_private() {
        let dir = scratch("new");
        prepare_dir(&dir, euid()).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_open_to_others_is_refused() {
        let dir = scratch("open");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = prepare_dir(&dir, euid()).unwrap_err().to_string();
        assert!(err.contains("mode 755 is open to others"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_of_another_user_is_refused() {
        let dir = scratch("theirs");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let err = prepare_dir(&dir, euid() + 1).unwrap_err().to_string();
        assert!(err.contains(&format!("owned by uid {}", euid())), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_symbolic_link_is_no_directory() {
        let dir = scratch("link");
        std::os::unix::fs::symlink("/tmp", &dir).unwrap();
        let err = prepare_dir(&dir, euid()).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn a_socket_older_than_its_process_is_a_leftover_not_a_candidate() {
        let dir = scratch("stale");
        std::fs::create_dir_all(&dir).unwrap();
        let path = socket_in(&dir, std::process::id());
        std::fs::write(&path, b"").unwrap();
        assert!(!stale(&path, std::process::id()), "made just now, after this process started");
        // Dated before this process started: an earlier process's with our pid.
        let started = process_started(std::process::id()).unwrap();
        let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs((started - 60) as u64);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
        assert!(stale(&path, std::process::id()));
        assert!(!stale(&path, u32::MAX), "no such process: not judged here");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sockets_are_named_by_pid() {
        assert_eq!(
            socket_in(Path::new("/tmp/threadscope-0"), 42),
            PathBuf::from("/tmp/threadscope-0/42.sock")
        );
        assert_eq!(process_uid(std::process::id()), Some(rustix::process::getuid().as_raw()));
        assert!(candidates(std::process::id()).is_empty(), "no agent runs in the unit tests");
    }
}
