//! The registry: live records of every thread and primitive, and snapshots of them.
//!
//! Threads and primitives write their own records (mostly atomics); the
//! registry only keeps the index. A snapshot copies the records into owned
//! [`RegistrySnapshot`] data without stopping anyone.

mod assemble;
mod backtrace;
pub mod clock;
mod primitive_record;
pub(crate) mod snapshot;
mod thread_record;
mod waits;

pub use backtrace::{BacktraceFrame, WaitBacktrace, set_wait_backtraces, wait_backtraces};
pub(crate) use primitive_record::LiveGauges;
pub use primitive_record::{PrimitiveKind, PrimitiveRecord, PrimitiveStats, Raise};
pub use snapshot::{
    PrimitiveRef, PrimitiveSnapshot, RegistrySnapshot, ThreadRef, ThreadSnapshot, WaitKind, WaitSnapshot,
};
pub(crate) use thread_record::WaitTarget;
pub use thread_record::{Outcome, StateTimes, ThreadOrigin, ThreadRecord, ThreadState};
pub use waits::{HoldersRead, StatusRead, WaitEdge, WaitReads};

use parking_lot::Mutex;
use std::any::Any;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

/// Ids for threads and primitives, unique across every registry in the process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// How long terminated threads stay visible after they end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// At most this many terminated threads are kept (oldest dropped first).
    pub max_terminated: usize,
    /// Terminated threads older than this are dropped.
    pub max_age: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self { max_terminated: 256, max_age: Duration::from_secs(60) }
    }
}

/// A thread's record, and its handle as the thread module made it. The
/// registry sits below threads and does not know what a handle is: it
/// keeps it as `Any`, for `enumerate` (in `thread`) to turn back into one.
struct ThreadEntry {
    record: Arc<ThreadRecord>,
    handle: Weak<dyn Any + Send + Sync>,
}

#[derive(Default)]
struct ThreadIndex {
    by_id: BTreeMap<u64, ThreadEntry>,
    terminated: VecDeque<(u64, Instant)>,
}

impl ThreadIndex {
    fn prune(&mut self, retention: Retention, now: Instant) {
        while let Some(&(id, ended)) = self.terminated.front() {
            let too_many = self.terminated.len() > retention.max_terminated;
            let too_old = now.saturating_duration_since(ended) > retention.max_age;
            if !too_many && !too_old {
                break;
            }
            self.terminated.pop_front();
            self.by_id.remove(&id);
        }
    }
}

/// The index behind a [`Registry`].
pub(crate) struct RegistryInner {
    /// Counter behind "Thread-N" and "Dummy-N" names.
    name_counter: AtomicU64,
    threads: Mutex<ThreadIndex>,
    primitives: Mutex<BTreeMap<u64, Weak<PrimitiveRecord>>>,
    retention: Mutex<Retention>,
}

impl RegistryInner {
    pub(crate) fn forget_primitive(&self, id: u64) {
        self.primitives.lock().remove(&id);
    }
}

/// Live records of threads and primitives.
///
/// The process-wide registry is [`Registry::global`]; tests and embedders can
/// make their own with [`Registry::new`] and pass it to the builders.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{Lock, Registry, ThreadState};
/// let registry = Registry::new();
/// let lock = Lock::with_registry(&registry);
/// lock.set_name("config");
/// let _held = lock.guard();
/// let snapshot = registry.snapshot();
/// assert_eq!(snapshot.primitive_named("config").unwrap().holders.len(), 1);
/// ```
#[derive(Clone)]
pub struct Registry {
    pub(crate) inner: Arc<RegistryInner>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("threads", &self.inner.threads.lock().by_id.len())
            .field("primitives", &self.inner.primitives.lock().len())
            .finish()
    }
}

impl Registry {
    /// A fresh, empty registry.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(RegistryInner {
                name_counter: AtomicU64::new(0),
                threads: Mutex::new(ThreadIndex::default()),
                primitives: Mutex::new(BTreeMap::new()),
                retention: Mutex::new(Retention::default()),
            }),
        }
    }

    /// The process-wide registry that the module functions use.
    pub fn global() -> &'static Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            // `THREADSCOPE_AGENT=1`: serve this registry from the first use
            // on (the agent's thread reads it once this returns).
            crate::agent::start_from_environment();
            Registry::new()
        })
    }

    pub(crate) fn is_global(&self) -> bool {
        Arc::ptr_eq(&self.inner, &Self::global().inner)
    }

    /// Sets how long terminated threads are kept.
    pub fn set_retention(&self, retention: Retention) {
        *self.inner.retention.lock() = retention;
        self.inner.threads.lock().prune(retention, Instant::now());
    }

    /// The next "Thread-N" / "Dummy-N" number.
    pub(crate) fn next_name_number(&self) -> u64 {
        self.inner.name_counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn add_thread(&self, record: Arc<ThreadRecord>, handle: Weak<dyn Any + Send + Sync>) {
        let retention = *self.inner.retention.lock();
        let mut threads = self.inner.threads.lock();
        threads.prune(retention, Instant::now());
        threads.by_id.insert(record.id, ThreadEntry { record, handle });
    }

    /// Drops a thread that was never started and can no longer be.
    pub(crate) fn forget_thread(&self, id: u64) {
        self.inner.threads.lock().by_id.remove(&id);
    }

    /// Starts the retention clock for a thread that just terminated. The
    /// pruning happens later, on the creating and reading side: an ending
    /// thread that freed an old record would pay for glibc's per-thread
    /// cache just to throw it away.
    pub(crate) fn thread_ended(&self, id: u64, at: Instant) {
        self.inner.threads.lock().terminated.push_back((id, at));
    }

    pub(crate) fn new_primitive(&self, kind: PrimitiveKind) -> Arc<PrimitiveRecord> {
        self.new_primitive_with(kind, &[])
    }

    /// A primitive record with named gauges (see [`PrimitiveRecord::details`]).
    pub(crate) fn new_primitive_with(
        &self,
        kind: PrimitiveKind,
        details: &[&'static str],
    ) -> Arc<PrimitiveRecord> {
        let record = Arc::new(PrimitiveRecord::new(next_id(), kind, details, Arc::downgrade(&self.inner)));
        self.inner.primitives.lock().insert(record.id, Arc::downgrade(&record));
        record
    }

    /// The record of primitive `id`, if it is alive in this registry.
    pub fn primitive_record(&self, id: u64) -> Option<Arc<PrimitiveRecord>> {
        self.inner.primitives.lock().get(&id).and_then(Weak::upgrade)
    }

    /// The record of thread `id`, if this registry knows it.
    pub fn thread_record(&self, id: u64) -> Option<Arc<ThreadRecord>> {
        self.inner.threads.lock().by_id.get(&id).map(|e| e.record.clone())
    }

    /// The handles of live threads (started, not yet ended), in creation
    /// order, as the thread module gave them (see `Registry::enumerate`).
    pub(crate) fn live_handles(&self) -> Vec<Arc<dyn Any + Send + Sync>> {
        let threads = self.inner.threads.lock();
        threads.by_id.values().filter(|e| e.record.is_alive()).filter_map(|e| e.handle.upgrade()).collect()
    }

    /// Every thread record, after dropping terminated ones past retention.
    fn records(&self, now: Instant) -> Vec<Arc<ThreadRecord>> {
        let retention = *self.inner.retention.lock();
        let mut threads = self.inner.threads.lock();
        threads.prune(retention, now);
        threads.by_id.values().map(|e| e.record.clone()).collect()
    }

    /// A thread's name from this snapshot, else from the global registry
    /// (a test's own thread is a dummy there), else "?".
    fn thread_name(&self, id: u64, names: &HashMap<u64, String>) -> String {
        if let Some(name) = names.get(&id) {
            return name.clone();
        }
        let global = Self::global();
        if !self.is_global()
            && let Some(record) = global.thread_record(id)
        {
            return record.name();
        }
        "?".to_owned()
    }
}
