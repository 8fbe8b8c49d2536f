//! Configuring a [`Thread`] before it exists: Python's `Thread(...)` keywords.

use super::current::current_thread;
use super::handle::{Thread, Work};
use super::naming::target_name;
use crate::threading::registry::Registry;

/// The work a subclass of Python's `Thread` would put in `run()`.
///
/// Implement it on a struct that carries the thread's state, and give it to
/// [`Builder::runnable`].
///
/// # Examples
///
/// ```
/// use threadscope::threading::{Run, Thread};
/// use std::sync::{Arc, atomic::{AtomicU32, Ordering}};
/// struct Counter { upto: u32, out: Arc<AtomicU32> }
/// impl Run for Counter {
///     fn run(&mut self) {
///         for _ in 0..self.upto { self.out.fetch_add(1, Ordering::Relaxed); }
///     }
/// }
/// let out = Arc::new(AtomicU32::new(0));
/// let t = Thread::builder().name("counter").runnable(Counter { upto: 3, out: out.clone() });
/// t.start().unwrap();
/// t.join().unwrap();
/// assert_eq!(out.load(Ordering::Relaxed), 3);
/// ```
pub trait Run: Send + 'static {
    /// The thread's activity. Runs in the new thread after `start()`, or in
    /// the caller with [`Thread::run`].
    fn run(&mut self);
}

/// Builds a [`Thread`] in the Created state.
///
/// # Examples
///
/// ```
/// use threadscope::threading::Thread;
/// let t = Thread::builder().name("loader").daemon(true).target(|| ());
/// assert_eq!(t.name(), "loader");
/// assert!(t.daemon());
/// assert!(!t.is_alive());
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a builder does nothing until given a target"]
pub struct Builder {
    name: Option<String>,
    daemon: Option<bool>,
    stack_size: Option<usize>,
    registry: Option<Registry>,
}

impl Builder {
    /// A builder with every option at its default.
    pub fn new() -> Self {
        Self::default()
    }

    /// The thread's name. Anything `Display` works (`123` becomes "123");
    /// an empty name counts as none and gets the default "Thread-N".
    pub fn name(mut self, name: impl std::fmt::Display) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// The daemon flag; if not given, inherited from the creating thread.
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.daemon = Some(daemon);
        self
    }

    /// Stack size in bytes for this thread (default: [`stack_size`](crate::threading::stack_size)'s setting).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Registers the thread in `registry` instead of the global one.
    pub fn registry(mut self, registry: &Registry) -> Self {
        self.registry = Some(registry.clone());
        self
    }

    /// A thread that will call `target`. A function item's name is added to
    /// the default name: `Thread-3 (worker)`.
    pub fn target<F: FnOnce() + Send + 'static>(self, target: F) -> Thread {
        let suffix = target_name::<F>();
        self.build(Work::Target(Box::new(target)), suffix)
    }

    /// A thread that will call `runnable.run()`: the subclass analog.
    pub fn runnable(self, runnable: impl Run) -> Thread {
        self.build(Work::Runnable(Box::new(runnable)), None)
    }

    fn build(self, work: Work, target_name: Option<String>) -> Thread {
        let registry = self.registry.unwrap_or_else(|| Registry::global().clone());
        let name = match self.name.filter(|n| !n.is_empty()) {
            Some(name) => name,
            None => {
                let n = registry.next_name_number();
                match target_name {
                    Some(target) => format!("Thread-{n} ({target})"),
                    None => format!("Thread-{n}"),
                }
            }
        };
        let daemon = self.daemon.unwrap_or_else(|| current_thread().daemon());
        Thread::create(registry, name, daemon, self.stack_size, work)
    }
}
