//! Helpers shared by the integration tests (included with `mod common;`):
//! one way to wait for a condition, with one deadline, and the registry
//! helpers built on it; `sync` and `queue` hold what only those tests use.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod queue;
pub mod sync;

use std::process::{Command, Output};
use std::time::{Duration, Instant};
use threadscope::threading::{Registry, RegistrySnapshot, ThreadState};

/// How long a test waits for what should happen at once, before failing
/// instead of hanging: long enough for a loaded 2-core machine; only a
/// failure waits this long.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Polls `check` until it gives `Some`; panics with `what` after
/// [`PATIENCE`]. (For a plain condition: `|| ready().then_some(())`.)
pub fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::yield_now();
    }
}

/// Asserts that a timed call that gave up did not give up early (5 ms of
/// slack for the clock the wait and the test read differently).
pub fn not_early(elapsed: Duration, timeout: Duration) {
    let floor = timeout.saturating_sub(Duration::from_millis(5));
    assert!(elapsed >= floor, "gave up after {elapsed:?}, before its timeout of {timeout:?}");
}

/// Polls `registry` until `ready` holds on a snapshot, or panics after
/// [`PATIENCE`] so that a bug fails the test instead of hanging it.
pub fn wait_for_snapshot(registry: &Registry, ready: impl Fn(&RegistrySnapshot) -> bool) -> RegistrySnapshot {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let snapshot = registry.snapshot();
        if ready(&snapshot) {
            return snapshot;
        }
        assert!(Instant::now() < deadline, "condition never held; last snapshot: {snapshot:#?}");
        std::thread::yield_now();
    }
}

/// Waits until the thread named `name` is in `state`.
pub fn wait_for_state(registry: &Registry, name: &str, state: ThreadState) -> RegistrySnapshot {
    wait_for_snapshot(registry, |s| s.thread(name).is_some_and(|t| t.state == state))
}

/// Runs the `#[ignore]`d test `name` of this same test binary in a child
/// process (for what must not happen in the shared test process: exhausting
/// limits, reading our own stderr, process exit).
pub fn run_child(name: &str, envs: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new(exe);
    command.args(["--ignored", "--exact", name, "--nocapture", "--test-threads=1"]);
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().unwrap()
}

/// Runs the `#[ignore]`d test `name` of this same test binary as user
/// nobody (through `setpriv`), with `env` set, and checks that it passed.
/// `None` (with the reason printed) where that cannot be done here: no
/// `setpriv`, or the child found itself unable to test and said `skipped:`.
pub fn run_child_as_nobody(name: &str, env: (&str, &str)) -> Option<()> {
    let child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", name, "--nocapture", "--test-threads=1"])
        .env(env.0, env.1)
        .output();
    let output = match child {
        Ok(output) => output,
        Err(err) => {
            eprintln!("skipped: cannot run setpriv ({err})");
            return None;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if stdout.contains("skipped:") {
        eprintln!("{stdout}");
        return None;
    }
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("1 passed"), "{stdout}");
    Some(())
}

/// The child's stderr as text, without libtest's own lines.
pub fn child_stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
