//! The inside of a [`ThreadPoolExecutor`](crate::threading::ThreadPoolExecutor): its
//! work queue, its workers' loop, and CPython's `_python_exit` hook.

use super::future::Future;
use crate::threading::error::{Error, ErrorKind, Result};
use crate::threading::registry::{PrimitiveRecord, Raise, Registry, WaitTarget};
use crate::threading::thread::Thread;
use crate::threading::thread::current::current_thread;
use crate::threading::thread::excepthook::{self, Caught};
use crate::threading::thread::functions::register_atexit;
use crate::threading::wait::WaitScope;
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once, Weak};

/// The pool's gauges in its registry record, by index: its workers, and
/// its futures by state (`queue_len` are the pending ones; `done`,
/// `raised` and `cancelled` count since the pool was made).
pub(crate) const GAUGES: [&str; 8] =
    ["workers", "idle", "max_workers", "queue_len", "running", "done", "raised", "cancelled"];
const WORKERS: usize = 0;
const IDLE: usize = 1;
pub(crate) const MAX_WORKERS: usize = 2;
const QUEUE_LEN: usize = 3;
const RUNNING: usize = 4;
const DONE: usize = 5;
const RAISED: usize = 6;
const CANCELLED: usize = 7;

const BROKEN: &str = "A thread initializer failed, the thread pool is not usable anymore";

/// A task on its way through the pool.
pub(crate) trait Work: Send {
    /// Runs the task unless its future was cancelled; `before_publish` runs
    /// after the task and before its future is finished.
    fn run(self: Box<Self>, pool: &PrimitiveRecord, before_publish: &mut dyn FnMut());
    /// Cancels the future (`shutdown(cancel_futures=True)`).
    fn cancel(self: Box<Self>, pool: &PrimitiveRecord);
    /// Finishes the future with `error` (a broken pool).
    fn fail(self: Box<Self>, error: Error);
}

/// Python's `_WorkItem`: a function and the future for its outcome.
pub(crate) struct WorkItem<T, F> {
    pub(crate) future: Future<T>,
    pub(crate) task: F,
}

impl<T: Send, F: FnOnce() -> T + Send> Work for WorkItem<T, F> {
    fn run(self: Box<Self>, pool: &PrimitiveRecord, before_publish: &mut dyn FnMut()) {
        let WorkItem { future, task } = *self;
        if !matches!(future.set_running_or_notify_cancel(), Ok(true)) {
            // Cancelled while it was queued.
            pool.count_detail(CANCELLED);
            return;
        }
        pool.count_detail(RUNNING);
        let outcome = match excepthook::catch(task) {
            Caught::Returned(value) => Ok(value),
            Caught::Exited => Err(Error::new(ErrorKind::Exception, "SystemExit")),
            Caught::Panicked { message, location } => {
                let thread = current_thread().name();
                pool.set_raised(Raise { message: message.clone(), location, thread });
                Err(Error::new(ErrorKind::Exception, message))
            }
        };
        pool.count_detail(if outcome.is_ok() { DONE } else { RAISED });
        pool.uncount_detail(RUNNING);
        before_publish();
        let _ = match outcome {
            Ok(value) => future.set_result(value),
            Err(exception) => future.set_exception(exception),
        };
    }

    fn cancel(self: Box<Self>, pool: &PrimitiveRecord) {
        if self.future.cancel() {
            pool.count_detail(CANCELLED);
        }
    }

    fn fail(self: Box<Self>, error: Error) {
        let _ = self.future.set_exception(error);
    }
}

/// What the executor handle and every worker share.
pub(crate) struct Shared {
    state: Mutex<PoolState>,
    work_ready: Condvar,
    pub(crate) record: Arc<PrimitiveRecord>,
    pub(crate) registry: Registry,
    pub(crate) max_workers: usize,
    pub(crate) prefix: String,
    initializer: Option<Box<dyn Fn() + Send + Sync>>,
}

struct PoolState {
    queue: VecDeque<Box<dyn Work>>,
    /// Every worker started, alive or not (Python's `_threads`).
    threads: Vec<Thread>,
    live: usize,
    /// Workers with nothing to do: waiting, or about to.
    idle: usize,
    shutdown: bool,
    broken: bool,
}

/// A new worker's first task. It is handed over when the worker is started,
/// not queued, so a `shutdown(cancel_futures=True)` right after the submit
/// cannot cancel it: CPython's worker has taken its task from the queue by
/// the time `start()` returns there (the new thread holds the GIL). The
/// slot is how a failed start gives the task back.
type FirstTask = Arc<Mutex<Option<Box<dyn Work>>>>;

/// Set by the atexit hook: no pool takes new work, idle workers end.
static EXITING: AtomicBool = AtomicBool::new(false);
/// Every pool that may have workers, for the atexit hook.
static POOLS: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

impl Shared {
    pub(crate) fn new(
        registry: Registry,
        record: Arc<PrimitiveRecord>,
        max_workers: usize,
        prefix: String,
        initializer: Option<Box<dyn Fn() + Send + Sync>>,
    ) -> Arc<Self> {
        let state = PoolState {
            queue: VecDeque::new(),
            threads: Vec::new(),
            live: 0,
            idle: 0,
            shutdown: false,
            broken: false,
        };
        let shared = Arc::new(Self {
            state: Mutex::new(state),
            work_ready: Condvar::new(),
            record,
            registry,
            max_workers,
            prefix,
            initializer,
        });
        static HOOK: Once = Once::new();
        HOOK.call_once(|| register_atexit(python_exit));
        let mut pools = POOLS.lock();
        pools.retain(|pool| pool.strong_count() > 0);
        pools.push(Arc::downgrade(&shared));
        drop(pools);
        shared
    }

    /// Queues `work`, waking an idle worker or starting one.
    pub(crate) fn enqueue(self: &Arc<Self>, work: Box<dyn Work>) -> Result<()> {
        let mut st = self.state.lock();
        if st.broken {
            return Err(Error::new(ErrorKind::BrokenThreadPool, BROKEN));
        }
        if st.shutdown {
            return Err(Error::runtime("cannot schedule new futures after shutdown"));
        }
        if EXITING.load(Ordering::SeqCst) {
            return Err(Error::runtime("cannot schedule new futures after interpreter shutdown"));
        }
        if st.queue.len() < st.idle {
            st.queue.push_back(work);
            self.work_ready.notify_one();
        } else if st.threads.len() < self.max_workers {
            if let Err((error, work)) = self.start_worker(&mut st, work) {
                // Queued work runs if some worker is left to run it.
                if st.live == 0 {
                    return Err(error);
                }
                st.queue.extend(work);
            }
        } else {
            st.queue.push_back(work);
        }
        self.record.set_detail(QUEUE_LEN, st.queue.len() as u64);
        Ok(())
    }

    /// Starts a worker whose first task is `first`; on failure, gives it back.
    fn start_worker(
        self: &Arc<Self>,
        st: &mut PoolState,
        first: Box<dyn Work>,
    ) -> std::result::Result<(), (Error, Option<Box<dyn Work>>)> {
        let slot: FirstTask = Arc::new(Mutex::new(Some(first)));
        let (shared, taken) = (self.clone(), slot.clone());
        let thread = Thread::builder()
            .name(format!("{}_{}", self.prefix, st.threads.len()))
            .registry(&self.registry)
            .target(move || {
                let first = taken.lock().take();
                shared.work(first);
            });
        if let Err(error) = thread.start() {
            // The thread never ran, so the task is still in the slot.
            return Err((error, slot.lock().take()));
        }
        st.threads.push(thread);
        st.live += 1;
        self.record.set_detail(WORKERS, st.live as u64);
        Ok(())
    }

    /// A worker's life: the initializer, its first task, then tasks until shutdown.
    fn work(&self, first: Option<Box<dyn Work>>) {
        if let Some(initializer) = &self.initializer {
            let failure = match excepthook::catch(initializer) {
                Caught::Returned(()) => None,
                Caught::Exited => Some(("SystemExit".to_owned(), None)),
                Caught::Panicked { message, location } => Some((message, location)),
            };
            if let Some((message, location)) = failure {
                log_initializer_failure(&message, location.as_deref());
                if let Some(first) = first {
                    first.fail(Error::new(ErrorKind::BrokenThreadPool, BROKEN));
                }
                return self.initializer_failed();
            }
        }
        let mut next = first;
        let mut counted_idle = false;
        loop {
            let work = match next.take() {
                Some(work) => work,
                None => match self.next_work(counted_idle) {
                    Some(work) => work,
                    None => return,
                },
            };
            counted_idle = false;
            // Before the result is published, take the next task or count
            // as idle: a caller who sees the result and submits again finds
            // this worker free instead of starting another. (The future's
            // done callbacks still run here first.)
            work.run(&self.record, &mut || {
                let mut st = self.state.lock();
                match st.queue.pop_front() {
                    Some(work) => {
                        next = Some(work);
                        self.record.set_detail(QUEUE_LEN, st.queue.len() as u64);
                    }
                    None => {
                        st.idle += 1;
                        counted_idle = true;
                        self.record.set_detail(IDLE, st.idle as u64);
                    }
                }
            });
        }
    }

    /// Waits for a task; `None` when the worker should end.
    fn next_work(&self, counted_idle: bool) -> Option<Box<dyn Work>> {
        let mut st = self.state.lock();
        if !counted_idle {
            st.idle += 1;
            self.record.set_detail(IDLE, st.idle as u64);
        }
        let mut scope = None;
        let work = loop {
            if let Some(work) = st.queue.pop_front() {
                break Some(work);
            }
            if st.shutdown || st.broken || EXITING.load(Ordering::SeqCst) {
                break None;
            }
            if scope.is_none() {
                // Idle is not contention: enter the wait without counting one.
                let target =
                    WaitTarget::Primitive { id: self.record.id, kind: self.record.kind, role: "idle" };
                scope = Some(MutexGuard::unlocked(&mut st, || WaitScope::enter(target)));
                continue;
            }
            self.work_ready.wait(&mut st);
        };
        st.idle -= 1;
        self.record.set_detail(IDLE, st.idle as u64);
        self.record.set_detail(QUEUE_LEN, st.queue.len() as u64);
        if work.is_none() {
            self.retire(&mut st);
        }
        drop(st);
        drop(scope);
        work
    }

    fn retire(&self, st: &mut PoolState) {
        st.live -= 1;
        self.record.set_detail(WORKERS, st.live as u64);
    }

    /// Python's `_initializer_failed`: the pool is broken, and what was
    /// queued fails with `BrokenThreadPool`.
    fn initializer_failed(&self) {
        let mut st = self.state.lock();
        st.broken = true;
        self.retire(&mut st);
        let queued: Vec<_> = st.queue.drain(..).collect();
        self.record.set_detail(QUEUE_LEN, 0);
        self.work_ready.notify_all();
        drop(st);
        for work in queued {
            work.fail(Error::new(ErrorKind::BrokenThreadPool, BROKEN));
        }
    }

    /// No new work; with `cancel`, queued tasks are cancelled; the workers
    /// end once the queue is empty.
    pub(crate) fn shut_down(&self, cancel: bool) {
        let mut st = self.state.lock();
        st.shutdown = true;
        let cancelled: Vec<_> = if cancel { st.queue.drain(..).collect() } else { Vec::new() };
        self.record.set_detail(QUEUE_LEN, st.queue.len() as u64);
        self.work_ready.notify_all();
        drop(st);
        for work in cancelled {
            work.cancel(&self.record);
        }
    }

    /// Every worker started so far.
    pub(crate) fn threads(&self) -> Vec<Thread> {
        self.state.lock().threads.clone()
    }

    /// Waits for every worker to end (not the calling thread, if it is one).
    pub(crate) fn join_workers(&self) {
        let me = current_thread();
        for thread in self.threads() {
            if thread != me {
                let _ = thread.join();
            }
        }
    }
}

/// CPython's `_python_exit`, run by [`shutdown`](crate::threading::shutdown): no pool
/// takes new work; workers finish what is queued, end, and are waited for.
fn python_exit() {
    EXITING.store(true, Ordering::SeqCst);
    let pools: Vec<Arc<Shared>> = POOLS.lock().iter().filter_map(Weak::upgrade).collect();
    for pool in &pools {
        // Under the pool's lock, so no worker misses the wake-up between
        // reading the flag and sleeping.
        let _st = pool.state.lock();
        pool.work_ready.notify_all();
    }
    for pool in &pools {
        pool.join_workers();
    }
}

/// Reports an initializer's failure as Python's logger does.
fn log_initializer_failure(message: &str, location: Option<&str>) {
    let mut out = String::from("Exception in initializer:\n");
    excepthook::push_traceback(&mut out, message, location);
    let _ = std::io::stderr().lock().write_all(out.as_bytes());
}
