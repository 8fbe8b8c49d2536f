//! Compiling and running `tests/java/ThreadscopeFixture.java` for the JVM
//! tests and benchmark (included with `mod java_support;`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// `javac` and `java`, from `JAVA_HOME/bin` or `PATH`.
pub struct JavaTools {
    pub javac: PathBuf,
    pub java: PathBuf,
}

fn find_tool(name: &str) -> Option<PathBuf> {
    let home = std::env::var_os("JAVA_HOME").map(|h| PathBuf::from(h).join("bin"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    home.into_iter().chain(std::env::split_paths(&path)).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// The Java tools, or None after printing `skipped: no java` — unless
/// `THREADSCOPE_REQUIRE_RUNTIMES=1`, when their absence fails the test.
pub fn java_or_skip(test: &str) -> Option<&'static JavaTools> {
    static TOOLS: OnceLock<Option<JavaTools>> = OnceLock::new();
    let tools =
        TOOLS.get_or_init(|| Some(JavaTools { javac: find_tool("javac")?, java: find_tool("java")? }));
    if tools.is_none() {
        let required = std::env::var("THREADSCOPE_REQUIRE_RUNTIMES").is_ok_and(|v| v == "1");
        assert!(!required, "{test}: javac/java not found and THREADSCOPE_REQUIRE_RUNTIMES=1");
        eprintln!("{test}: skipped: no java");
    }
    tools.as_ref()
}

/// The fixture's class directory, compiled once per test binary.
pub fn fixture_classes(tools: &JavaTools) -> &'static Path {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("java-fixture-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/ThreadscopeFixture.java");
        let status =
            Command::new(&tools.javac).arg("-d").arg(&out).arg(source).status().expect("running javac");
        assert!(status.success(), "javac failed");
        out
    })
}

/// A running `java ThreadscopeFixture MODE…`, killed on drop.
pub struct JavaChild {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
}

/// Flags that keep a test JVM small and quick to start.
pub const SMALL_JVM: &[&str] = &["-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"];

impl JavaChild {
    /// Starts the fixture with `jvm_flags` before the class and `args` after it.
    pub fn spawn(tools: &JavaTools, jvm_flags: &[&str], args: &[&str]) -> JavaChild {
        let classes = fixture_classes(tools);
        let mut child = Command::new(&tools.java)
            .args(SMALL_JVM)
            .args(jvm_flags)
            .arg("-cp")
            .arg(classes)
            .arg("ThreadscopeFixture")
            .args(args)
            .current_dir(classes)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting java");
        let (tx, rx) = channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            BufReader::new(out).lines().map_while(Result::ok).try_for_each(|l| tx.send(l))
        });
        std::thread::spawn(move || {
            BufReader::new(err)
                .lines()
                .map_while(Result::ok)
                .try_for_each(|l| tx2.send(format!("stderr: {l}")))
        });
        JavaChild { stdin: child.stdin.take(), child, lines: rx, seen: Vec::new() }
    }

    /// The JVM's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the fixture's `ready` line (it prints it once every thread
    /// is in the state the mode promises); panics after `timeout`.
    pub fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == "ready" => return,
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no `ready` within {timeout:?}; output: {:?}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("java exited before `ready`; output: {:?}", self.seen)
                }
            }
        }
    }

    /// Lets the fixture exit (it waits for a line on stdin) and waits up to
    /// `timeout` for it to end.
    pub fn finish(&mut self, timeout: Duration) -> std::process::ExitStatus {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "java did not exit within {timeout:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the JVM (SIGKILL), reaps it, and removes the attach socket a
    /// killed JVM cannot remove itself.
    pub fn kill(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_file(format!("/tmp/.java_pid{}", self.pid()));
        }
    }
}

impl Drop for JavaChild {
    fn drop(&mut self) {
        self.kill();
    }
}
