//! The Python agent threadscope ships (`assets/agent/threadscope_agent.py`,
//! standard library only, CPython 3.8+), and the private directory
//! `threadscope exec` puts first on a child's `PYTHONPATH`: the agent and a
//! `sitecustomize` that loads it before the program runs, then chains to
//! the program's own `sitecustomize` (the next on the path).

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// The agent's source: `import threadscope_agent` starts it.
pub const AGENT_SOURCE: &str = include_str!("../../assets/agent/threadscope_agent.py");

/// The `sitecustomize.py` that loads the agent and chains to the next one.
pub const SITECUSTOMIZE_SOURCE: &str = include_str!("../../assets/agent/sitecustomize.py");

/// The agent's file name (its module is `threadscope_agent`).
pub const AGENT_FILE: &str = "threadscope_agent.py";

/// A directory of threadscope's own (mode 0700, under the temporary
/// directory) holding the agent and its `sitecustomize`; removed on drop
/// unless [`kept`](Self::keep).
#[derive(Debug)]
pub struct AgentDir {
    path: PathBuf,
    keep: bool,
}

impl AgentDir {
    /// Creates a fresh directory under `std::env::temp_dir()` and writes
    /// the two files into it.
    ///
    /// # Errors
    ///
    /// The directory or a file cannot be written.
    pub fn create() -> io::Result<Self> {
        Self::create_in(&std::env::temp_dir())
    }

    /// As [`create`](Self::create), under `parent`.
    ///
    /// # Errors
    ///
    /// The directory or a file cannot be written.
    pub fn create_in(parent: &Path) -> io::Result<Self> {
        let mut last = None;
        // A fresh name: `create` fails on one that exists (another user's
        // directory is never reused, whatever its mode).
        for _ in 0..16 {
            let path =
                parent.join(format!("threadscope-exec-{}-{:08x}", std::process::id(), fastrand::u32(..)));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    let dir = Self { path, keep: false };
                    std::fs::write(dir.path.join(AGENT_FILE), AGENT_SOURCE)?;
                    std::fs::write(dir.path.join("sitecustomize.py"), SITECUSTOMIZE_SOURCE)?;
                    return Ok(dir);
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no fresh directory name")))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `PYTHONPATH` for the child: this directory first, then `existing`.
    pub fn python_path(&self, existing: Option<&OsStr>) -> OsString {
        let mut value = self.path.as_os_str().to_owned();
        if let Some(existing) = existing.filter(|e| !e.is_empty()) {
            value.push(":");
            value.push(existing);
        }
        value
    }

    /// Leaves the directory on disk (a child left running still has files
    /// there); its path.
    pub fn keep(&mut self) -> &Path {
        self.keep = true;
        &self.path
    }
}

impl Drop for AgentDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_directory_is_private_holds_both_files_and_goes_away() {
        let dir = AgentDir::create().unwrap();
        let path = dir.path().to_owned();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert_eq!(std::fs::read_to_string(path.join(AGENT_FILE)).unwrap(), AGENT_SOURCE);
        assert!(
            std::fs::read_to_string(path.join("sitecustomize.py"))
                .unwrap()
                .contains("import threadscope_agent")
        );
        drop(dir);
        assert!(!path.exists());
    }

    #[test]
    fn the_python_path_puts_the_agent_first_and_keeps_the_rest() {
        let dir = AgentDir::create().unwrap();
        let own = dir.path().as_os_str().to_owned();
        assert_eq!(dir.python_path(None), own);
        assert_eq!(dir.python_path(Some(OsStr::new(""))), own);
        let mut both = own.clone();
        both.push(":/opt/lib:/srv");
        assert_eq!(dir.python_path(Some(OsStr::new("/opt/lib:/srv"))), both);
    }

    #[test]
    fn the_agent_states_the_crate_version_and_protocol() {
        let version = format!("AGENT_VERSION = \"{}\"", env!("CARGO_PKG_VERSION"));
        assert!(AGENT_SOURCE.contains(&version), "assets/agent/threadscope_agent.py: {version}");
        let protocol = format!("PROTOCOL = {}", super::super::protocol::PROTOCOL);
        assert!(AGENT_SOURCE.contains(&protocol));
        let bound = format!("MAX_REQUEST_BYTES = {}", super::super::protocol::MAX_REQUEST_BYTES);
        assert!(AGENT_SOURCE.contains(&bound));
    }
}
