//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};
use std::time::{Duration, Instant};
use threadscope::threading::{Registry, RegistrySnapshot, ThreadState};

/// Polls `registry` until `ready` holds on a snapshot, or panics after 10 s
/// so that a bug fails the test instead of hanging it.
pub fn wait_for_snapshot(registry: &Registry, ready: impl Fn(&RegistrySnapshot) -> bool) -> RegistrySnapshot {
    let deadline = Instant::now() + Duration::from_secs(10);
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

/// The child's stderr as text, without libtest's own lines.
pub fn child_stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
