//! [`ThreadPoolExecutor`]: Python's `concurrent.futures.ThreadPoolExecutor`
//! on library [`Thread`]s.

use super::future::Future;
use super::pool_worker::{GAUGES, MAX_WORKERS, Shared, WorkItem};
use crate::threading::error::{Error, Result};
use crate::threading::registry::{PrimitiveKind, PrimitiveRecord, Registry};
use crate::threading::thread::Thread;
use crate::threading::timeout::Deadline;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counter behind the default prefix "ThreadPoolExecutor-N".
static EXECUTORS: AtomicU64 = AtomicU64::new(0);

/// A pool of worker threads running submitted tasks: Python's
/// `concurrent.futures.ThreadPoolExecutor`.
///
/// Workers are [`Thread`]s named `ThreadPoolExecutor-N_M` (or `PREFIX_M`),
/// started only when a task finds no idle worker, never more than
/// `max_workers`. Dropping the executor is Python's `with` block ending:
/// it shuts down and waits for the work.
///
/// In the registry the pool has the gauges `workers`, `idle`,
/// `max_workers` and `queue_len`; idle workers are Waiting on it in the
/// role "idle"; each future it returns points to it as `related`, and a
/// running future's holder is the worker running it.
///
/// # Examples
///
/// ```
/// use threadscope::threading::ThreadPoolExecutor;
/// let pool = ThreadPoolExecutor::builder().max_workers(2).thread_name_prefix("crunch").build().unwrap();
/// let future = pool.submit(|| threadscope::threading::current_thread().name()).unwrap();
/// assert_eq!(future.result().unwrap(), "crunch_0");
/// let squares: Vec<i32> = pool.map(|n| n * n, 1..=4, None).unwrap().map(Result::unwrap).collect();
/// assert_eq!(squares, [1, 4, 9, 16]);
/// ```
///
/// # Differences from Python
///
/// - Options are set on a [`PoolBuilder`]; `max_workers` is a `usize`, so
///   only 0 is refused (Python also refuses negatives).
/// - A task is a closure (Python's `fn, *args, **kwargs`); a panic in it is
///   the task's exception ([`ErrorKind::Exception`](crate::threading::ErrorKind::Exception)),
///   and a panicking initializer is an initializer that raised.
/// - `map` takes one iterable of items and a `timeout` as a `Duration`, and
///   yields `Result`s: an error is yielded where Python would raise, after
///   which the iterator ends and the remaining tasks are cancelled, as when
///   the iterator is dropped early.
/// - After an initializer fails, the pool's other workers end too (Python's
///   stay blocked until shutdown).
pub struct ThreadPoolExecutor {
    shared: Arc<Shared>,
}

/// Options for a [`ThreadPoolExecutor`]: Python's constructor keywords.
///
/// # Examples
///
/// ```
/// use threadscope::threading::ThreadPoolExecutor;
/// let pool = ThreadPoolExecutor::builder()
///     .max_workers(4)
///     .thread_name_prefix("io")
///     .initializer(|| println!("worker ready"))
///     .build()
///     .unwrap();
/// assert_eq!(pool.max_workers(), 4);
/// ```
///
/// # Differences from Python
///
/// Python takes these as constructor keywords; `initargs` has no analog,
/// since the initializer is a closure.
#[derive(Default)]
#[must_use = "a builder does nothing until built"]
pub struct PoolBuilder {
    max_workers: Option<usize>,
    prefix: Option<String>,
    initializer: Option<Box<dyn Fn() + Send + Sync>>,
    registry: Option<Registry>,
}

impl PoolBuilder {
    /// The most workers (default `min(32, CPUs + 4)`).
    pub fn max_workers(mut self, max_workers: usize) -> Self {
        self.max_workers = Some(max_workers);
        self
    }

    /// Workers are named `PREFIX_M`; empty means the default prefix.
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Runs in each worker before its first task. If it panics, the pool is
    /// broken: queued and later tasks fail with `BrokenThreadPool`.
    pub fn initializer(mut self, initializer: impl Fn() + Send + Sync + 'static) -> Self {
        self.initializer = Some(Box::new(initializer));
        self
    }

    /// Records the pool, its workers and futures in `registry`.
    pub fn registry(mut self, registry: &Registry) -> Self {
        self.registry = Some(registry.clone());
        self
    }

    /// The executor; no worker starts until there is work.
    ///
    /// # Errors
    ///
    /// `ValueError: max_workers must be greater than 0`.
    pub fn build(self) -> Result<ThreadPoolExecutor> {
        let max_workers = self.max_workers.unwrap_or_else(default_max_workers);
        if max_workers == 0 {
            return Err(Error::value("max_workers must be greater than 0"));
        }
        let prefix = match self.prefix.filter(|p| !p.is_empty()) {
            Some(prefix) => prefix,
            None => format!("ThreadPoolExecutor-{}", EXECUTORS.fetch_add(1, Ordering::Relaxed)),
        };
        let registry = self.registry.unwrap_or_else(|| Registry::global().clone());
        let record = registry.new_primitive_with(PrimitiveKind::ThreadPool, &GAUGES);
        record.set_name(Some(prefix.clone()));
        record.set_detail(MAX_WORKERS, max_workers as u64);
        let shared = Shared::new(registry, record, max_workers, prefix, self.initializer);
        Ok(ThreadPoolExecutor { shared })
    }
}

/// Python 3.13's default: `min(32, os.process_cpu_count() + 4)`.
fn default_max_workers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cpus + 4).min(32)
}

impl ThreadPoolExecutor {
    /// An executor with at most `max_workers` workers (`None`: the default,
    /// `min(32, CPUs + 4)`), in the global registry.
    ///
    /// # Errors
    ///
    /// `ValueError: max_workers must be greater than 0`.
    pub fn new(max_workers: Option<usize>) -> Result<Self> {
        let builder = PoolBuilder::default();
        match max_workers {
            Some(n) => builder.max_workers(n).build(),
            None => builder.build(),
        }
    }

    /// A [`PoolBuilder`] for the other options.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// Schedules `task` and returns the [`Future`] of its outcome.
    ///
    /// # Errors
    ///
    /// - `RuntimeError: cannot schedule new futures after shutdown`
    /// - `RuntimeError: cannot schedule new futures after interpreter shutdown`
    ///   once [`shutdown`](crate::threading::shutdown) has run
    /// - `BrokenThreadPool: A thread initializer failed, the thread pool is not usable anymore`
    /// - `RuntimeError: can't start new thread` if no worker could be started
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::{ErrorKind, ThreadPoolExecutor};
    /// let pool = ThreadPoolExecutor::new(Some(1)).unwrap();
    /// let answer = pool.submit(|| 6 * 7).unwrap();
    /// let failed = pool.submit(|| -> u8 { panic!("no luck") }).unwrap();
    /// assert_eq!(answer.result().unwrap(), 42);
    /// assert_eq!(failed.result().unwrap_err().to_string(), "Exception: no luck");
    /// pool.shutdown(true, false);
    /// assert_eq!(pool.submit(|| 0).unwrap_err().kind(), ErrorKind::RuntimeError);
    /// ```
    pub fn submit<T, F>(&self, task: F) -> Result<Future<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let future = Future::for_pool(&self.shared.registry, &self.shared.record);
        self.shared.enqueue(Box::new(WorkItem { future: future.clone(), task }))?;
        Ok(future)
    }

    /// Runs `f` on every item, all submitted now, and yields the results in
    /// the items' order. `timeout` counts from this call.
    ///
    /// # Errors
    ///
    /// Submitting can fail as [`submit`](Self::submit) does; `OverflowError`
    /// for a huge `timeout`. The iterator yields a task's exception when it
    /// reaches that task, or `TimeoutError` when the time is up, and then
    /// ends, cancelling the tasks not yet started.
    ///
    /// # Blocking
    ///
    /// Each `next()` waits for its task's future (role "result").
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::ThreadPoolExecutor;
    /// let pool = ThreadPoolExecutor::new(Some(4)).unwrap();
    /// let lengths = pool.map(|word: &str| word.len(), ["a", "bb", "ccc"], None).unwrap();
    /// assert_eq!(lengths.collect::<Result<Vec<_>, _>>().unwrap(), [1, 2, 3]);
    /// let mut checked = pool.map(|n: u8| if n == 2 { panic!("two") } else { n }, 1..=3, None).unwrap();
    /// assert_eq!(checked.next().unwrap().unwrap(), 1);
    /// assert_eq!(checked.next().unwrap().unwrap_err().to_string(), "Exception: two");
    /// assert!(checked.next().is_none()); // the rest was cancelled
    /// ```
    pub fn map<I, F, T>(&self, f: F, items: I, timeout: Option<Duration>) -> Result<MapResults<T>>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        let deadline = crate::threading::timeout::optional_deadline(timeout)?;
        let f = Arc::new(f);
        let futures = items
            .into_iter()
            .map(|item| {
                let f = f.clone();
                self.submit(move || f(item))
            })
            .collect::<Result<_>>()?;
        Ok(MapResults { futures, deadline })
    }

    /// Takes no new work and, with `wait`, waits until every worker has
    /// ended. Queued tasks still run unless `cancel_futures`, which cancels
    /// them. May be called again.
    ///
    /// # Blocking
    ///
    /// With `wait`, joins each worker (recorded as Waiting on its join).
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::{Queue, ThreadPoolExecutor};
    /// use std::sync::Arc;
    /// let pool = ThreadPoolExecutor::new(Some(1)).unwrap();
    /// let gate = Arc::new(Queue::new(0));
    /// let first = { let gate = gate.clone(); pool.submit(move || gate.get().unwrap()).unwrap() };
    /// let second = pool.submit(|| ()).unwrap();
    /// while !first.running() { std::thread::yield_now(); }
    /// pool.shutdown(false, true); // cancel what has not started
    /// assert!(second.cancelled());
    /// gate.put(()).unwrap();
    /// first.result().unwrap();
    /// ```
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        self.shared.shut_down(cancel_futures);
        if wait {
            self.shared.join_workers();
        }
    }

    /// The most workers it will start.
    pub fn max_workers(&self) -> usize {
        self.shared.max_workers
    }

    /// The prefix of its workers' names.
    pub fn thread_name_prefix(&self) -> &str {
        &self.shared.prefix
    }

    /// Every worker started so far, alive or ended (Python's `_threads`).
    pub fn workers(&self) -> Vec<Thread> {
        self.shared.threads()
    }

    /// The pool's registry record.
    pub fn record(&self) -> &Arc<PrimitiveRecord> {
        &self.shared.record
    }
}

impl Drop for ThreadPoolExecutor {
    /// Python's `with` block ending: `shutdown(wait=True)`.
    fn drop(&mut self) {
        self.shutdown(true, false);
    }
}

impl fmt::Debug for ThreadPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<concurrent.futures.thread.ThreadPoolExecutor object at {:p}>", self)
    }
}

/// The iterator [`ThreadPoolExecutor::map`] returns: each task's result in
/// order. Dropping it cancels the tasks that have not started.
///
/// # Examples
///
/// ```
/// use threadscope::threading::ThreadPoolExecutor;
/// let pool = ThreadPoolExecutor::new(Some(2)).unwrap();
/// let mut doubled = pool.map(|n: u32| n * 2, [5, 6], None).unwrap();
/// assert_eq!(doubled.next().unwrap().unwrap(), 10);
/// drop(doubled); // the second task is cancelled if it has not started
/// ```
///
/// # Differences from Python
///
/// Python's generator raises; this iterator yields the error as an item,
/// then ends.
pub struct MapResults<T> {
    futures: VecDeque<Future<T>>,
    deadline: Deadline,
}

impl<T> MapResults<T> {
    fn cancel_rest(&mut self) {
        for future in self.futures.drain(..) {
            future.cancel();
        }
    }
}

impl<T> Iterator for MapResults<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        let future = self.futures.pop_front()?;
        let result = future.take_result_until(self.deadline);
        // Python's `_result_or_cancel`.
        future.cancel();
        if result.is_err() {
            self.cancel_rest();
        }
        Some(result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.futures.len()))
    }
}

impl<T> Drop for MapResults<T> {
    fn drop(&mut self) {
        self.cancel_rest();
    }
}
