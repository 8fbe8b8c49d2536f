//! Helpers shared by the integration tests: waiting for a condition with a
//! generous deadline, and for a thread to be blocked in the registry.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};
use threadscope::threading::{Registry, ThreadSnapshot, ThreadState};

/// Long enough for a loaded 2-core machine; only failures wait this long.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Polls `check` until it returns `Some`, panicking after [`PATIENCE`].
pub fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until thread `name` of `registry` is Waiting in `role`; returns its snapshot.
pub fn blocked_in(registry: &Registry, name: &str, role: &str) -> ThreadSnapshot {
    eventually(&format!("{name} to block in {role}"), || {
        let snapshot = registry.snapshot();
        let thread = snapshot.thread(name)?;
        let waiting = thread.state == ThreadState::Waiting
            && thread.waiting_on.as_ref().and_then(|w| w.role.as_deref()) == Some(role);
        waiting.then(|| thread.clone())
    })
}

/// Asserts that `elapsed` is at least `timeout` (a timed call did not return early).
pub fn not_early(elapsed: Duration, timeout: Duration) {
    assert!(elapsed >= timeout, "returned after {elapsed:?}, before {timeout:?}");
}
