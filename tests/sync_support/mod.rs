//! Helpers for the synchronisation-primitive tests (`mod sync_support;`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};
use threadscope::threading::{Registry, RegistrySnapshot, Thread, WaitSnapshot};

#[path = "../common/mod.rs"]
mod common;
pub use common::wait_for_snapshot;

/// How long a test waits for something that should happen at once, before
/// failing instead of hanging.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Polls `ready` until it holds; panics with `what` after [`PATIENCE`].
pub fn eventually(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !ready() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::yield_now();
    }
}

/// What the thread named `thread` waits on, if anything.
pub fn waiting_on<'a>(snapshot: &'a RegistrySnapshot, thread: &str) -> Option<&'a WaitSnapshot> {
    snapshot.thread(thread).and_then(|t| t.waiting_on.as_ref())
}

/// Waits until thread `thread` blocks on the primitive named `primitive` in
/// `role`, as both the thread and the primitive see it. (A snapshot reads
/// each thread's status twice, for the primitives' waiter lists and for the
/// threads, so one that just started waiting may show in one and not yet in
/// the other.)
pub fn wait_blocked(registry: &Registry, thread: &str, primitive: &str, role: &str) -> RegistrySnapshot {
    wait_for_snapshot(registry, |s| {
        waiting_on(s, thread).is_some_and(|w| w.name == primitive && w.role.as_deref() == Some(role))
            && s.primitive_named(primitive).is_some_and(|p| p.waiters.iter().any(|w| w.name == thread))
    })
}

/// Starts a non-daemon thread named `name` in `registry`.
pub fn spawn_in(registry: &Registry, name: &str, f: impl FnOnce() + Send + 'static) -> Thread {
    let thread = Thread::builder().registry(registry).name(name).daemon(false).target(f);
    thread.start().unwrap();
    thread
}

/// Asserts that a timed call that gave up did not give up early.
pub fn assert_not_early(elapsed: Duration, timeout: Duration) {
    let floor = timeout.saturating_sub(Duration::from_millis(5));
    assert!(elapsed >= floor, "gave up after {elapsed:?}, before its timeout of {timeout:?}");
}

/// Joins `thread` and fails the test if its target panicked (a panic in a
/// managed thread goes to the excepthook, not to the joiner).
pub fn join_ok(thread: &Thread) {
    thread.join().unwrap();
    let outcome = thread.outcome();
    assert_eq!(outcome, Some(threadscope::threading::Outcome::Returned), "{} failed", thread.name());
}
