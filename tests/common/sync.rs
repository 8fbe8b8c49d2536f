//! Helpers for the synchronisation-primitive tests.

use super::wait_for_snapshot;
use threadscope::threading::{Registry, RegistrySnapshot, Thread, WaitSnapshot};

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

/// Joins `thread` and fails the test if its target panicked (a panic in a
/// managed thread goes to the excepthook, not to the joiner).
pub fn join_ok(thread: &Thread) {
    thread.join().unwrap();
    let outcome = thread.outcome();
    assert_eq!(outcome, Some(threadscope::threading::Outcome::Returned), "{} failed", thread.name());
}
