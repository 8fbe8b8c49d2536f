//! A program run as threadscope's child, for `threadscope exec` and
//! `threadscope snapshot -- CMD`: started with the agents injected where
//! the runtime allows (`THREADSCOPE_AGENT=1` for a Rust program that uses
//! the library; the Python agent first on `PYTHONPATH` as a
//! `sitecustomize`), signalled, stopped, and its exit said in words.
//!
//! The child gets its own process group, so that signals reach it (and a
//! shell's children) only when threadscope forwards them, and `/dev/null`
//! for input: the terminal is threadscope's.

mod status;

pub use status::describe;

use crate::agent::python::AgentDir;
use crate::display::sanitize;
use std::ffi::OsString;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a Python child has to bring its agent up before the view
/// starts without it (a loaded machine imports slowly; the wait ends as
/// soon as the socket is there).
pub const PYTHON_PATIENCE: Duration = Duration::from_secs(10);
/// How long any other child has: enough to see one that exits at once.
pub const OTHER_PATIENCE: Duration = Duration::from_millis(500);
/// A child that ends this soon after it started "exited at once": there
/// was nothing to watch, and the TUI says so instead of an empty screen.
pub const AT_ONCE: Duration = Duration::from_secs(2);
/// How much of an at-once child's output is repeated.
const AT_ONCE_LINES: usize = 20;

/// Why the program could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// Nothing after `--`.
    #[error("no command to run: give it after `--`, e.g. `threadscope exec -- python3 app.py`")]
    NoCommand,
    /// The program is not on `PATH` (or the path does not exist).
    #[error("cannot run `{0}`: command not found")]
    NotFound(String),
    /// The program exists but may not be executed.
    #[error("cannot run `{0}`: permission denied")]
    NotExecutable(String),
    /// The file is not a program the system can run.
    #[error("cannot run `{0}`: not an executable program (exec format error)")]
    NotAProgram(String),
    /// Any other failure to start it.
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        /// The program, as given.
        program: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The agent's private directory could not be written.
    #[error("cannot write the Python agent's directory: {0}")]
    AgentDir(std::io::Error),
}

impl LaunchError {
    /// The exit code a shell gives for the same failure (127 not found,
    /// 126 not executable), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            LaunchError::NotFound(_) => 127,
            LaunchError::NotExecutable(_) | LaunchError::NotAProgram(_) => 126,
            _ => 1,
        }
    }
}

/// Where the child's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Both streams to threadscope's stderr (headless: stdout is the snapshot's).
    Stderr,
    /// Both streams to `output.log` in the agent's directory (the TUI owns the terminal).
    File,
}

/// What [`Launched::settle`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// An agent socket is there for the child's pid.
    Agent,
    /// No agent (yet) when patience ran out; the child runs.
    Running,
    /// The child has exited.
    Exited(ExitStatus),
}

/// A running (or exited) child.
#[derive(Debug)]
pub struct Launched {
    child: Child,
    command: String,
    python: bool,
    started: Instant,
    /// When its own code was known to run: its start, or, for a program
    /// whose agent came up during [`settle`](Self::settle), that moment (a
    /// Python interpreter on a loaded machine takes seconds to get there).
    running_since: Instant,
    status: Option<ExitStatus>,
    output: Option<PathBuf>,
    dir: AgentDir,
    left: bool,
    interrupted: bool,
}

impl Launched {
    /// Starts `argv` (program and arguments) with the agents injected.
    ///
    /// # Errors
    ///
    /// [`LaunchError`]: no command, not found, not executable, the agent's
    /// directory not writable.
    pub fn spawn(argv: &[OsString], output: Output) -> Result<Self, LaunchError> {
        let (program, args) = argv.split_first().ok_or(LaunchError::NoCommand)?;
        let shown = sanitize(&program.to_string_lossy()).into_owned();
        let dir = AgentDir::create().map_err(LaunchError::AgentDir)?;
        let mut command = Command::new(program);
        command
            .args(args)
            .env(crate::agent::ENV, "1")
            .env("PYTHONPATH", dir.python_path(std::env::var_os("PYTHONPATH").as_deref()))
            .stdin(Stdio::null())
            .process_group(0);
        let log = match output {
            Output::Stderr => {
                let err = std::io::stderr().as_fd().try_clone_to_owned();
                let err = err.map_err(|source| LaunchError::Spawn { program: shown.clone(), source })?;
                command.stdout(Stdio::from(err));
                None
            }
            Output::File => {
                let path = dir.path().join("output.log");
                let file = File::create(&path).map_err(LaunchError::AgentDir)?;
                let copy = file.try_clone().map_err(LaunchError::AgentDir)?;
                command.stdout(Stdio::from(file)).stderr(Stdio::from(copy));
                Some(path)
            }
        };
        let child = command.spawn().map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => LaunchError::NotFound(shown.clone()),
            std::io::ErrorKind::PermissionDenied => LaunchError::NotExecutable(shown.clone()),
            _ if source.raw_os_error() == Some(libc::ENOEXEC) => LaunchError::NotAProgram(shown.clone()),
            _ => LaunchError::Spawn { program: shown.clone(), source },
        })?;
        let words: Vec<String> = argv.iter().map(|a| shell_word(&sanitize(&a.to_string_lossy()))).collect();
        Ok(Self {
            child,
            python: looks_like_python(argv),
            command: words.join(" "),
            started: Instant::now(),
            running_since: Instant::now(),
            status: None,
            output: log,
            dir,
            left: false,
            interrupted: false,
        })
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The command line, sanitized, for messages.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Where its output goes, when it goes to a file.
    pub fn output(&self) -> Option<&std::path::Path> {
        self.output.as_deref()
    }

    /// How long ago it was started.
    pub fn age(&self) -> Duration {
        self.started.elapsed()
    }

    /// Its exit status, once it has exited (the child is reaped then).
    pub fn status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits until an agent serves the child, the child exits, or the
    /// patience for its kind of program runs out (a Python program's
    /// agent needs the interpreter started; others either have one at
    /// once or never).
    pub fn settle(&mut self, most: Duration) -> Settled {
        let patience = most.min(if self.python { PYTHON_PATIENCE } else { OTHER_PATIENCE });
        let deadline = Instant::now() + patience;
        loop {
            if let Some(status) = self.status() {
                return Settled::Exited(status);
            }
            // Its socket answers: a socket bound but not yet listening
            // (the moment between the two) refuses, and is not up.
            let answers = |path: &std::path::PathBuf| std::os::unix::net::UnixStream::connect(path).is_ok();
            if crate::agent::location::candidates(self.pid()).iter().any(answers) {
                self.running_since = Instant::now();
                return Settled::Agent;
            }
            if Instant::now() >= deadline {
                return Settled::Running;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGINT to the child's process group (Ctrl-C, forwarded).
    ///
    /// # Errors
    ///
    /// The child has exited, or the signal could not be sent.
    pub fn interrupt(&mut self) -> Result<(), String> {
        self.signal(rustix::process::Signal::INT)?;
        self.interrupted = true;
        Ok(())
    }

    /// Whether it ended by itself within [`AT_ONCE`] of starting to run
    /// its own code (not after a Ctrl-C threadscope forwarded): there was
    /// nothing to watch.
    pub fn ended_at_once(&mut self) -> bool {
        self.status().is_some() && !self.interrupted && self.running_since.elapsed() < AT_ONCE
    }

    fn signal(&mut self, signal: rustix::process::Signal) -> Result<(), String> {
        if let Some(status) = self.status() {
            return Err(format!("it has already {}", describe(status)));
        }
        // Still our unreaped child, so its pid (and group) cannot be reused.
        let group = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process_group(group, signal).map_err(|e| e.to_string())
    }

    /// Stops the child: SIGTERM to its group, then SIGKILL after `grace`;
    /// its exit status.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if self.status().is_none() {
            let _ = self.signal(rustix::process::Signal::TERM);
            let deadline = Instant::now() + grace;
            while self.status().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if self.status().is_none() {
                let _ = self.signal(rustix::process::Signal::KILL);
                self.status = self.child.wait().ok();
            }
        }
        self.status
    }

    /// What to say of a child that ended before it could be watched: how,
    /// and the end of what it wrote (a traceback, a usage line).
    pub fn at_once_report(&self, status: ExitStatus) -> Vec<String> {
        let how = describe(status);
        let mut lines = vec![format!(
            "threadscope: `{}` (pid {}) {how} at once, before anything could be watched",
            self.command,
            self.pid()
        )];
        let written = self.output.as_ref().and_then(|path| std::fs::read(path).ok()).unwrap_or_default();
        let text = String::from_utf8_lossy(&written);
        let last: Vec<&str> = text.lines().collect();
        if !last.is_empty() {
            lines.push("its output (last lines):".to_owned());
            let from = last.len().saturating_sub(AT_ONCE_LINES);
            lines.extend(last[from..].iter().map(|line| format!("  {}", sanitize(line))));
        }
        lines
    }

    /// Leaves the child running when threadscope exits; what to tell the
    /// user about it.
    pub fn leave_running(mut self) -> String {
        self.left = true;
        let mut text = format!("threadscope: left `{}` (pid {}) running", self.command, self.pid());
        if let Some(output) = &self.output {
            text.push_str(&format!("; its output goes to {}", output.display()));
        }
        self.dir.keep();
        text
    }
}

/// `word` as a shell would need it to read it back as one word: as it is
/// when it holds nothing a shell treats specially, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_alphanumeric() || "_-./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl Drop for Launched {
    /// A child nobody chose to leave running is stopped (an error or a
    /// panic on the way out must not leave it behind).
    fn drop(&mut self) {
        if !self.left {
            self.stop(Duration::from_secs(1));
        }
    }
}

/// `python3 app.py`, `/usr/bin/python3.11 -m app`, or a script whose
/// first line names python: a program whose agent takes a moment to start.
fn looks_like_python(argv: &[OsString]) -> bool {
    let Some(program) = argv.first() else { return false };
    let path = std::path::Path::new(program);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if name.starts_with("python") {
        return true;
    }
    let script = if path.components().count() > 1 { Some(path.to_owned()) } else { None };
    script.and_then(|p| std::fs::read(p).ok()).is_some_and(|bytes| {
        let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        first.starts_with(b"#!") && String::from_utf8_lossy(first).contains("python")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_command_is_said_as_a_shell_reads_it_back() {
        assert_eq!(shell_word("python3"), "python3");
        assert_eq!(shell_word("/usr/bin/app.py"), "/usr/bin/app.py");
        assert_eq!(shell_word("import sys; sys.exit(3)"), "'import sys; sys.exit(3)'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn no_command_and_a_missing_one_are_clear_errors() {
        let none = Launched::spawn(&[], Output::Stderr).unwrap_err();
        assert!(matches!(none, LaunchError::NoCommand), "{none}");
        let missing = Launched::spawn(&argv(&["threadscope-no-such-program"]), Output::Stderr).unwrap_err();
        assert_eq!(missing.to_string(), "cannot run `threadscope-no-such-program`: command not found");
        assert_eq!(missing.exit_code(), 127);
        let dir = crate::agent::python::AgentDir::create().unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "not a program\n").unwrap();
        let not_executable = Launched::spawn(&[text.clone().into_os_string()], Output::Stderr).unwrap_err();
        assert_eq!(not_executable.exit_code(), 126, "{not_executable}");
        std::fs::set_permissions(&text, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let garbage = Launched::spawn(&[text.into_os_string()], Output::Stderr).unwrap_err();
        assert!(matches!(garbage, LaunchError::NotAProgram(_)), "{garbage}");
    }

    #[test]
    fn a_child_that_exits_at_once_settles_as_exited_with_its_status() {
        let mut child = Launched::spawn(&argv(&["sh", "-c", "exit 3"]), Output::Stderr).unwrap();
        let settled = child.settle(Duration::from_secs(30));
        let Settled::Exited(status) = settled else { panic!("{settled:?}") };
        assert_eq!(describe(status), "exited with status 3");
    }

    #[test]
    fn the_child_sees_the_agents_environment_and_stop_ends_it() {
        let dir = crate::agent::python::AgentDir::create().unwrap();
        let out = dir.path().join("env");
        let script = format!("echo \"$THREADSCOPE_AGENT $PYTHONPATH\" > {}; exec sleep 60", out.display());
        let mut child = Launched::spawn(&argv(&["sh", "-c", &script]), Output::File).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let text = loop {
            match std::fs::read_to_string(&out) {
                Ok(text) if text.ends_with('\n') => break text,
                _ => assert!(Instant::now() < deadline, "the child never wrote its environment"),
            }
            std::thread::yield_now();
        };
        let (flag, path) = text.trim_end().split_once(' ').unwrap();
        assert_eq!(flag, "1");
        assert!(std::path::Path::new(path.split(':').next().unwrap()).join("sitecustomize.py").is_file());
        let status = child.stop(Duration::from_secs(5)).unwrap();
        assert_eq!(describe(status), "killed by SIGTERM");
    }

    #[test]
    fn python_is_recognised_by_name_or_by_its_first_line() {
        assert!(looks_like_python(&argv(&["python3", "app.py"])));
        assert!(looks_like_python(&argv(&["/usr/bin/python3.11"])));
        assert!(!looks_like_python(&argv(&["sh", "-c", "python3"])));
        let dir = crate::agent::python::AgentDir::create().unwrap();
        let script = dir.path().join("app");
        std::fs::write(&script, "#!/usr/bin/env python3\nprint(1)\n").unwrap();
        assert!(looks_like_python(&[script.into_os_string()]));
    }
}
