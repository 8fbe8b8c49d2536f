//! Helpers for the queue and futures tests.

use super::eventually;
use std::sync::Arc;
use threadscope::threading::{Queue, Registry, ThreadSnapshot, ThreadState};

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

/// Holds pool tasks until opened. Dropping it lets every held task go, so
/// when a test fails first, the pool's drop (which waits for its tasks)
/// cannot hang: declare the gate after the pool, so it drops first.
pub struct Gate(Arc<Queue<()>>);

/// What a held task waits at.
#[derive(Clone)]
pub struct GatePass(Arc<Queue<()>>);

impl Gate {
    pub fn new() -> Self {
        Self(Arc::new(Queue::new(0)))
    }

    /// A pass for one task to [`wait`](GatePass::wait) with.
    pub fn pass(&self) -> GatePass {
        GatePass(self.0.clone())
    }

    /// Lets `n` waiting (or future) tasks through.
    pub fn open(&self, n: usize) {
        for _ in 0..n {
            self.0.put(()).unwrap();
        }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.0.shutdown(false);
    }
}

impl GatePass {
    /// Waits until the gate lets this task through (or is dropped).
    pub fn wait(&self) {
        let _ = self.0.get();
    }
}
