//! Running the `tests/python/*.py` scripts for the Python agent tests
//! (included with `mod python_support;`): `python3` or a skip, a script
//! started with the agent on its `PYTHONPATH` (as `exec` does), and a raw
//! protocol connection to its agent.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use threadscope::agent::protocol::{AgentSnapshot, Reply};
use threadscope::agent::python::AgentDir;

/// How long anything may take before the test fails instead of hanging.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// `python3` from `PATH`, or None after printing `skipped: no python3` —
/// unless `THREADSCOPE_REQUIRE_RUNTIMES=1`, when its absence fails the test.
pub fn python_or_skip(test: &str) -> Option<&'static Path> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    let found = PYTHON.get_or_init(|| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let python = std::env::split_paths(&path).map(|dir| dir.join("python3")).find(|p| p.is_file())?;
        let runs = Command::new(&python).arg("-c").arg("pass").status().is_ok_and(|s| s.success());
        runs.then_some(python)
    });
    if found.is_none() {
        let required = std::env::var("THREADSCOPE_REQUIRE_RUNTIMES").is_ok_and(|v| v == "1");
        assert!(!required, "{test}: python3 not found and THREADSCOPE_REQUIRE_RUNTIMES=1");
        eprintln!("{test}: skipped: no python3");
    }
    found.as_deref()
}

/// A test script's path.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python").join(name)
}

/// The 1-based line of `script` that carries `marker` (a comment), so a
/// test names the line a thread waits at without a number to keep in step.
pub fn line_of(name: &str, marker: &str) -> String {
    let text = std::fs::read_to_string(script(name)).unwrap();
    let n = text.lines().position(|l| l.contains(marker)).unwrap_or_else(|| panic!("{marker} in {name}"));
    format!("{name}:{}", n + 1)
}

/// A running script with the agent loaded, killed on drop.
pub struct PythonChild {
    child: Child,
    _agent: Option<AgentDir>,
    pub stdout: BufReader<std::process::ChildStdout>,
}

impl PythonChild {
    /// Runs `tests/python/NAME` with the agent first on `PYTHONPATH`
    /// (`agent` false: without it).
    pub fn start(python: &Path, name: &str, args: &[&str], agent: bool) -> Self {
        let dir = agent.then(|| AgentDir::create().unwrap());
        let mut command = Command::new(python);
        command.arg(script(name)).args(args).stdin(Stdio::null()).stdout(Stdio::piped());
        if let Some(dir) = &dir {
            command.env("PYTHONPATH", dir.python_path(None));
        }
        let mut child = command.spawn().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Self { child, _agent: dir, stdout }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the line `line` on its stdout.
    pub fn expect_line(&mut self, line: &str) {
        let mut got = String::new();
        loop {
            got.clear();
            let n = self.stdout.read_line(&mut got).unwrap();
            assert!(n > 0, "the script ended before saying {line:?}");
            if got.trim_end() == line {
                return;
            }
        }
    }

    /// Everything it writes until it exits, and how it exited.
    pub fn finish(mut self) -> (String, std::process::ExitStatus) {
        let mut out = String::new();
        self.stdout.read_to_string(&mut out).unwrap();
        let status = self.child.wait().unwrap();
        (out, status)
    }

    /// Its agent's socket, once it is there.
    pub fn socket(&self) -> PathBuf {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(path) = threadscope::agent::location::candidates(self.pid()).into_iter().next() {
                return path;
            }
            assert!(Instant::now() < deadline, "no agent socket for pid {}", self.pid());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A raw connection to its agent.
    pub fn connect(&self) -> Raw {
        Raw::connect(&self.socket())
    }
}

impl Drop for PythonChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One connection, speaking the protocol by hand.
pub struct Raw {
    reader: BufReader<UnixStream>,
}

impl Raw {
    pub fn connect(path: &Path) -> Self {
        let stream = UnixStream::connect(path).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Self { reader: BufReader::new(stream) }
    }

    /// Sends `bytes` as they are (add the newline yourself).
    pub fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    /// The next reply line, parsed as the protocol's [`Reply`].
    pub fn reply(&mut self) -> Reply {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).unwrap();
        assert!(n > 0, "the agent closed the connection without a reply");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a protocol reply ({e}): {line}"))
    }

    /// Sends one request line; its reply.
    pub fn ask(&mut self, request: &str) -> Reply {
        self.send(format!("{request}\n").as_bytes());
        self.reply()
    }

    pub fn snapshot(&mut self) -> AgentSnapshot {
        let reply = self.ask(r#"{"protocol":1,"request":"snapshot"}"#);
        assert!(reply.ok, "{reply:?}");
        reply.snapshot.unwrap()
    }

    /// True when the agent has closed this connection: end of file, or a
    /// reset (it closed with our unread bytes in its buffer).
    pub fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(n) => n == 0,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
}
