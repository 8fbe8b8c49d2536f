//! [`Thread`]: Python's `threading.Thread` on a real OS thread.

use super::budget::BUDGET;
use super::builder::{Builder, Run};
use super::functions::configured_stack_size;
use super::naming::kernel_comm;
use crate::sys;
use crate::threading::error::{Error, Result};
use crate::threading::registry::{Outcome, Registry, ThreadOrigin, ThreadRecord, ThreadState, next_id};
use parking_lot::{Condvar, Mutex};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a thread runs.
pub(crate) enum Work {
    Target(Box<dyn FnOnce() + Send>),
    Runnable(Box<dyn Run>),
}

impl Work {
    pub(super) fn call(self) {
        match self {
            Work::Target(f) => f(),
            Work::Runnable(mut r) => r.run(),
        }
    }
}

#[derive(Default)]
pub(super) struct Lifecycle {
    /// The new thread has published its ident and native id.
    pub(super) running: bool,
    /// The run has ended and the record says so.
    pub(super) done: bool,
}

pub(crate) struct ThreadInner {
    pub(super) record: Arc<ThreadRecord>,
    pub(super) registry: Registry,
    pub(super) work: Mutex<Option<Work>>,
    pub(super) stack_size: Option<usize>,
    pub(super) started: AtomicBool,
    pub(super) handle: Mutex<Option<sys::OsThread>>,
    pub(super) lifecycle: Mutex<Lifecycle>,
    pub(super) changed: Condvar,
}

impl Drop for ThreadInner {
    fn drop(&mut self) {
        // Nobody can start it any more; it would be a ghost in the registry.
        if self.record.state() == ThreadState::Created {
            self.registry.forget_thread(self.record.id);
        }
    }
}

/// A thread of control: Python's `threading.Thread`.
///
/// A `Thread` is a cheap, cloneable handle. It is created in the Created
/// state, runs on a real OS thread after [`start`](Self::start), and its
/// record (state, what it waits on, outcome) is visible in the
/// [`Registry`] the whole time.
///
/// # Examples
///
/// ```
/// use threadscope::threading::Thread;
/// let t = Thread::builder().name("worker").target(|| println!("hello"));
/// assert_eq!(t.ident(), None);
/// t.start().unwrap();
/// t.join().unwrap();
/// assert!(!t.is_alive());
/// assert!(t.ident().is_some());
/// ```
///
/// # Differences from Python
///
/// - `join` returns `Result<()>`: the errors Python raises are values here.
///   Like Python, a timed-out join is not an error; check `is_alive()`.
/// - The target is a closure or a [`Run`] object; its return value is dropped.
/// - A panic in the target is Python's uncaught exception: it goes to the
///   [`excepthook`](crate::threading::excepthook()) and the outcome records it.
/// - `start()` returns without waiting for the new thread to run (Python's
///   waits for it), which keeps a start cheap. `ident()` and `native_id()`
///   wait for it instead, so after `start()` they are set, as in Python;
///   the registry record may show no native id for a moment.
/// - The OS thread comes from `pthread_create`, not `std::thread`, which
///   makes a start far cheaper (docs/benchmarks.md). So inside it
///   `std::thread::current().name()` is `None`: ask
///   [`current_thread`](crate::threading::current_thread) instead. A stack
///   overflow is still reported as std reports one, and aborts.
#[derive(Clone)]
pub struct Thread {
    pub(super) inner: Arc<ThreadInner>,
}

impl PartialEq for Thread {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Thread {}

impl Thread {
    /// A Created thread that will call `target`, with default options.
    pub fn new<F: FnOnce() + Send + 'static>(target: F) -> Thread {
        Builder::new().target(target)
    }

    /// Creates and starts a thread that calls `target`.
    ///
    /// # Errors
    ///
    /// `RuntimeError: can't start new thread` when the process has no room.
    pub fn spawn<F: FnOnce() + Send + 'static>(target: F) -> Result<Thread> {
        let thread = Thread::new(target);
        thread.start()?;
        Ok(thread)
    }

    /// A [`Builder`] for name, daemon, stack size and registry.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn create(
        registry: Registry,
        name: String,
        daemon: bool,
        stack_size: Option<usize>,
        work: Work,
    ) -> Thread {
        let record = Arc::new(ThreadRecord::new(next_id(), ThreadOrigin::Managed, name, daemon));
        Self::with_record(registry, record, Some(work), stack_size, false)
    }

    /// A record for a thread that is already running (the main thread, a dummy).
    pub(crate) fn register_running(
        registry: &Registry,
        origin: ThreadOrigin,
        name: String,
        daemon: bool,
    ) -> Thread {
        let record = Arc::new(ThreadRecord::new(next_id(), origin, name, daemon));
        Self::with_record(registry.clone(), record, None, None, true)
    }

    fn with_record(
        registry: Registry,
        record: Arc<ThreadRecord>,
        work: Option<Work>,
        stack_size: Option<usize>,
        started: bool,
    ) -> Thread {
        let inner = Arc::new(ThreadInner {
            record: record.clone(),
            registry: registry.clone(),
            work: Mutex::new(work),
            stack_size,
            started: AtomicBool::new(started),
            handle: Mutex::new(None),
            lifecycle: Mutex::new(Lifecycle { running: started, done: false }),
            changed: Condvar::new(),
        });
        let handle: Arc<dyn std::any::Any + Send + Sync> = inner.clone();
        registry.add_thread(record, Arc::downgrade(&handle));
        Thread { inner }
    }

    pub(crate) fn from_inner(inner: Arc<ThreadInner>) -> Thread {
        Thread { inner }
    }

    pub(crate) fn record(&self) -> &Arc<ThreadRecord> {
        &self.inner.record
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Registry id: unique in the process, never reused.
    pub fn id(&self) -> u64 {
        self.inner.record.id
    }

    /// The thread's name.
    pub fn name(&self) -> String {
        self.inner.record.name()
    }

    /// Renames the thread, at any time, from any thread. Once it runs, its
    /// kernel comm follows (cut to 15 bytes; see [`kernel_comm`]).
    pub fn set_name(&self, name: impl fmt::Display) {
        let name = name.to_string();
        let comm = kernel_comm(&name).to_owned();
        self.inner.record.set_name(name);
        // Held across the check and the write: a managed thread marks itself
        // done under this lock before its OS thread exits, so its TID cannot
        // have been given to another thread while we write to it.
        let lifecycle = self.inner.lifecycle.lock();
        if lifecycle.done || !self.is_alive() {
            return;
        }
        if let Some(tid) = self.inner.record.native_id() {
            if tid == sys::gettid() {
                sys::set_current_comm(&comm);
            } else {
                // A sibling's comm is writable. (A thread that has not yet
                // published its TID picks the new name up itself.)
                let _ = std::fs::write(format!("/proc/self/task/{tid}/comm"), comm.as_bytes());
            }
        }
        drop(lifecycle);
    }

    /// The pthread cookie (Python's `ident`), `None` before start.
    pub fn ident(&self) -> Option<u64> {
        self.wait_running();
        self.inner.record.ident()
    }

    /// The kernel TID (Python's `native_id`), `None` before start.
    pub fn native_id(&self) -> Option<u32> {
        self.wait_running();
        self.inner.record.native_id()
    }

    /// After `start()` returns, ident and native id are set, as in Python;
    /// the new thread publishes them a moment later, so wait for that.
    fn wait_running(&self) {
        if !self.inner.started.load(Ordering::Acquire) {
            return;
        }
        let mut lifecycle = self.inner.lifecycle.lock();
        // A start that failed resets `started` and notifies: stop waiting.
        while !lifecycle.running && self.inner.started.load(Ordering::Acquire) {
            self.inner.changed.wait(&mut lifecycle);
        }
    }

    /// Undoes `started` after a start that could not spawn, waking anyone
    /// in [`wait_running`](Self::wait_running).
    fn start_failed(&self) {
        let _lifecycle = self.inner.lifecycle.lock();
        self.inner.started.store(false, Ordering::Release);
        self.inner.changed.notify_all();
    }

    /// The daemon flag.
    pub fn daemon(&self) -> bool {
        self.inner.record.daemon()
    }

    /// Sets the daemon flag.
    ///
    /// # Errors
    ///
    /// `RuntimeError: cannot set daemon status of active thread` once started.
    pub fn set_daemon(&self, daemon: bool) -> Result<()> {
        if self.inner.started.load(Ordering::Acquire) {
            return Err(Error::runtime("cannot set daemon status of active thread"));
        }
        self.inner.record.set_daemon(daemon);
        Ok(())
    }

    /// True from `start()` until its run ends.
    pub fn is_alive(&self) -> bool {
        self.inner.record.is_alive()
    }

    /// The library state: Created, Running, Waiting or Terminated.
    pub fn state(&self) -> ThreadState {
        self.inner.record.state()
    }

    /// How the run ended, once it has.
    pub fn outcome(&self) -> Option<Outcome> {
        self.inner.record.with_status(|s| s.outcome.clone())
    }

    /// The stack size requested for this thread, if any.
    pub fn stack_size(&self) -> Option<usize> {
        self.inner.stack_size
    }

    /// Starts the thread's activity on a new OS thread.
    ///
    /// # Errors
    ///
    /// - `RuntimeError: threads can only be started once`
    /// - `RuntimeError: can't start new thread` when the process would run
    ///   out of threads or memory maps (checked before spawning, so the
    ///   process is never aborted), or the OS refuses.
    pub fn start(&self) -> Result<()> {
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return Err(Error::runtime("threads can only be started once"));
        }
        if let Err(err) = BUDGET.admit() {
            self.start_failed();
            return Err(err);
        }
        self.inner.record.mark_started();
        let stack_size = self.inner.stack_size.or_else(configured_stack_size);
        // The new thread takes the work itself, so a failed spawn loses nothing.
        match sys::OsThread::spawn(stack_size, self.inner.clone()) {
            Ok(handle) => {
                self.inner.record.set_ident(handle.as_pthread_t());
                *self.inner.handle.lock() = Some(handle);
                Ok(())
            }
            Err(_) => {
                BUDGET.release();
                self.inner.record.unmark_started();
                self.start_failed();
                Err(Error::runtime("can't start new thread"))
            }
        }
    }

    /// Runs the target in the calling thread (Python's `run()`); a panic
    /// propagates to the caller. The target is consumed: a later `run()` or
    /// `start()` runs nothing.
    pub fn run(&self) {
        let work = self.inner.work.lock().take();
        if let Some(work) = work {
            work.call();
        }
    }

    /// Python's `repr()`: `<Thread(worker, started daemon 1403…)>`.
    pub fn repr(&self) -> String {
        let class = match self.inner.record.origin {
            ThreadOrigin::Main => "_MainThread",
            ThreadOrigin::Managed => "Thread",
            ThreadOrigin::Dummy | ThreadOrigin::Helper => "_DummyThread",
        };
        let mut status = match self.state() {
            ThreadState::Created => "initial",
            ThreadState::Terminated => "stopped",
            ThreadState::Running | ThreadState::Waiting => "started",
        }
        .to_owned();
        if self.daemon() {
            status.push_str(" daemon");
        }
        if let Some(ident) = self.inner.record.ident() {
            status.push_str(&format!(" {ident}"));
        }
        format!("<{class}({}, {status})>", self.name())
    }
}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}
