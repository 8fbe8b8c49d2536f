//! [`Thread`]: Python's `threading.Thread` on a real OS thread.

use super::budget::BUDGET;
use super::builder::{Builder, Run};
use super::current::{self, current_thread};
use super::error::{Error, Result};
use super::excepthook;
use super::functions::configured_stack_size;
use super::naming::{COMM_MAX_BYTES, kernel_comm};
use super::registry::{Outcome, Registry, ThreadOrigin, ThreadRecord, ThreadState, WaitTarget, next_id};
use super::wait::WaitScope;
use crate::sys;
use parking_lot::{Condvar, Mutex};
use std::fmt;
use std::os::unix::thread::JoinHandleExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a thread runs.
pub(crate) enum Work {
    Target(Box<dyn FnOnce() + Send>),
    Runnable(Box<dyn Run>),
}

impl Work {
    fn call(self) {
        match self {
            Work::Target(f) => f(),
            Work::Runnable(mut r) => r.run(),
        }
    }
}

#[derive(Default)]
struct Lifecycle {
    /// The new thread has published its ident and native id.
    running: bool,
    /// The run has ended and the record says so.
    done: bool,
}

pub(crate) struct ThreadInner {
    record: Arc<ThreadRecord>,
    registry: Registry,
    work: Mutex<Option<Work>>,
    stack_size: Option<usize>,
    started: AtomicBool,
    handle: Mutex<Option<JoinHandle<()>>>,
    lifecycle: Mutex<Lifecycle>,
    changed: Condvar,
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
///   [`excepthook`](super::excepthook()) and the outcome records it.
/// - `start()` returns without waiting for the new thread to run (Python's
///   waits for it), which keeps a start cheap. `ident()` and `native_id()`
///   wait for it instead, so after `start()` they are set, as in Python;
///   the registry record may show no native id for a moment.
#[derive(Clone)]
pub struct Thread {
    inner: Arc<ThreadInner>,
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
        registry.add_thread(record, Arc::downgrade(&inner));
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
        let mut builder = std::thread::Builder::new();
        if let Some(bytes) = self.inner.stack_size.or_else(configured_stack_size) {
            builder = builder.stack_size(bytes);
        }
        let inner = self.inner.clone();
        // The new thread takes the work itself, so a failed spawn loses nothing.
        match builder.spawn(move || run_managed(inner)) {
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

    /// Waits until the thread ends.
    ///
    /// # Errors
    ///
    /// `RuntimeError`: "cannot join thread before it is started", "cannot
    /// join current thread", "cannot join a dummy thread".
    ///
    /// # Blocking
    ///
    /// Recorded as Waiting on a join of this thread.
    pub fn join(&self) -> Result<()> {
        self.join_until(None)
    }

    /// Waits at most `timeout`. Returns `Ok(())` either way: as in Python,
    /// call [`is_alive`](Self::is_alive) to learn whether it ended.
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join).
    pub fn join_timeout(&self, timeout: Duration) -> Result<()> {
        self.join_until(Some(Instant::now().checked_add(timeout).unwrap_or_else(far_future)))
    }

    fn join_until(&self, deadline: Option<Instant>) -> Result<()> {
        if !self.inner.started.load(Ordering::Acquire) {
            return Err(Error::runtime("cannot join thread before it is started"));
        }
        if self.inner.record.origin == ThreadOrigin::Dummy {
            return Err(Error::runtime("cannot join a dummy thread"));
        }
        if *self == current_thread() {
            return Err(Error::runtime("cannot join current thread"));
        }
        if self.inner.lifecycle.lock().done {
            self.reap();
            return Ok(());
        }
        let _waiting = WaitScope::enter(WaitTarget::Join { thread: self.inner.record.clone() });
        if deadline.is_none() {
            // The common case: one wait, in pthread_join, as std does.
            let handle = self.inner.handle.lock().take();
            if let Some(handle) = handle {
                let _ = handle.join();
                return Ok(());
            }
        }
        let mut lifecycle = self.inner.lifecycle.lock();
        while !lifecycle.done {
            match deadline {
                None => self.inner.changed.wait(&mut lifecycle),
                Some(deadline) => {
                    if self.inner.changed.wait_until(&mut lifecycle, deadline).timed_out() {
                        break;
                    }
                }
            }
        }
        let done = lifecycle.done;
        drop(lifecycle);
        if done {
            self.reap();
        }
        Ok(())
    }

    /// Ends the run of a thread the library did not start (the main thread
    /// at [`shutdown`](super::shutdown)): the record says Terminated and
    /// joiners return. Its OS thread goes on; its later waits leave the
    /// record as it is.
    pub(crate) fn mark_stopped(&self) {
        let mut lifecycle = self.inner.lifecycle.lock();
        if lifecycle.done {
            return;
        }
        let ended = self.inner.record.terminate(Outcome::Returned);
        self.inner.registry.thread_ended(self.inner.record.id, ended);
        lifecycle.done = true;
        self.inner.changed.notify_all();
    }

    /// Collects the finished OS thread, so its TID is gone once join returns.
    fn reap(&self) {
        let handle = self.inner.handle.lock().take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    /// Python's `repr()`: `<Thread(worker, started daemon 1403…)>`.
    pub fn repr(&self) -> String {
        let class = match self.inner.record.origin {
            ThreadOrigin::Main => "_MainThread",
            ThreadOrigin::Managed => "Thread",
            ThreadOrigin::Dummy => "_DummyThread",
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

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

/// The body of every thread the library starts.
fn run_managed(inner: Arc<ThreadInner>) {
    let work = inner.work.lock().take();
    let record = inner.record.clone();
    record.set_ident(sys::pthread_self());
    record.set_native_id(sys::gettid());
    name_kernel_thread(&record);
    inner.lifecycle.lock().running = true;
    inner.changed.notify_all();

    let outcome = current::run_as(&inner, record.id, || {
        let thread = Thread::from_inner(inner.clone());
        excepthook::run_target(&thread, || {
            if let Some(work) = work {
                work.call();
            }
        })
    });

    let ended = record.terminate(outcome);
    inner.registry.thread_ended(record.id, ended);
    BUDGET.release();
    inner.lifecycle.lock().done = true;
    inner.changed.notify_all();
}

/// Sets the kernel comm from the name, again if a rename raced with it
/// (the renamer writes /proc only once it sees our native id). Copies
/// into a stack buffer: the new thread must not allocate (see `sys`).
fn name_kernel_thread(record: &ThreadRecord) {
    loop {
        let mut comm = [0u8; COMM_MAX_BYTES];
        let len = record.with_name(|name| {
            let cut = kernel_comm(name);
            comm[..cut.len()].copy_from_slice(cut.as_bytes());
            cut.len()
        });
        let set = std::str::from_utf8(&comm[..len]).unwrap_or_default();
        sys::set_current_comm(set);
        if record.with_name(|name| kernel_comm(name) == set) {
            return;
        }
    }
}
