//! The live record of one synchronisation primitive: holders, waiters, counters.
//!
//! Fast paths touch only `holder` and `acquisitions`, with plain relaxed
//! loads and stores made while the primitive itself is held; everything that
//! needs a clock or a list happens on the slow path, when a thread blocks.

use super::RegistryInner;
use super::clock;
use parking_lot::Mutex;
use serde::Serialize;
use std::sync::Weak;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What kind of primitive a record describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrimitiveKind {
    /// `threading.Lock`.
    Lock,
    /// `threading.RLock`.
    RLock,
    /// `threading.Condition`.
    Condition,
    /// `threading.Event`.
    Event,
    /// `threading.Semaphore`.
    Semaphore,
    /// `threading.BoundedSemaphore`.
    BoundedSemaphore,
    /// `threading.Barrier`.
    Barrier,
    /// `queue.Queue` and its LIFO / priority kin.
    Queue,
    /// `concurrent.futures.Future`.
    Future,
    /// `concurrent.futures.ThreadPoolExecutor`.
    ThreadPool,
}

impl PrimitiveKind {
    /// The word a person would use: "lock", "rlock", "event"…
    pub fn label(self) -> &'static str {
        match self {
            Self::Lock => "lock",
            Self::RLock => "rlock",
            Self::Condition => "condition",
            Self::Event => "event",
            Self::Semaphore => "semaphore",
            Self::BoundedSemaphore => "bounded semaphore",
            Self::Barrier => "barrier",
            Self::Queue => "queue",
            Self::Future => "future",
            Self::ThreadPool => "thread pool",
        }
    }
}

/// The registry's live view of one primitive.
#[derive(Debug)]
pub struct PrimitiveRecord {
    pub(crate) id: u64,
    pub(crate) kind: PrimitiveKind,
    name: Mutex<Option<String>>,
    registry: Weak<RegistryInner>,
    /// Thread id of the single holder (0: none). Locks and RLocks only.
    holder: AtomicU64,
    acquisitions: AtomicU64,
    contentions: AtomicU64,
    wait_nanos: AtomicU64,
    hold_nanos: AtomicU64,
    /// When the current hold began, valid while `held_gen == acquisitions`.
    held_since_nanos: AtomicU64,
    held_gen: AtomicU64,
    /// Thread ids of blocked threads, in arrival order.
    waiters: Mutex<Vec<u64>>,
}

impl PrimitiveRecord {
    pub(crate) fn new(id: u64, kind: PrimitiveKind, registry: Weak<RegistryInner>) -> Self {
        Self {
            id,
            kind,
            name: Mutex::new(None),
            registry,
            holder: AtomicU64::new(0),
            acquisitions: AtomicU64::new(0),
            contentions: AtomicU64::new(0),
            wait_nanos: AtomicU64::new(0),
            hold_nanos: AtomicU64::new(0),
            held_since_nanos: AtomicU64::new(0),
            held_gen: AtomicU64::new(u64::MAX),
            waiters: Mutex::new(Vec::new()),
        }
    }

    /// The name given to the primitive, if any.
    pub fn name(&self) -> Option<String> {
        self.name.lock().clone()
    }

    /// The name, or `kind#id` when it has none: what a person sees.
    pub fn display_name(&self) -> String {
        self.name().unwrap_or_else(|| format!("{}#{}", self.kind.label(), self.id))
    }

    pub(crate) fn set_name(&self, name: Option<String>) {
        *self.name.lock() = name;
    }

    /// Fast path: `thread` now holds the primitive. Called while holding it,
    /// so the counter needs no read-modify-write.
    #[inline]
    pub(crate) fn note_acquired(&self, thread: u64) {
        self.holder.store(thread, Ordering::Relaxed);
        let n = self.acquisitions.load(Ordering::Relaxed);
        self.acquisitions.store(n.wrapping_add(1), Ordering::Relaxed);
    }

    /// Fast path: counts a re-entrant acquisition by the current holder.
    #[inline]
    pub(crate) fn note_reacquired(&self) {
        let n = self.acquisitions.load(Ordering::Relaxed);
        self.acquisitions.store(n.wrapping_add(1), Ordering::Relaxed);
    }

    /// Fast path: the hold ends. Adds the hold time only when the hold began
    /// on the slow path (or was seen by a snapshot), which is when we know it.
    #[inline]
    pub(crate) fn note_released(&self) {
        self.holder.store(0, Ordering::Relaxed);
        if self.held_gen.load(Ordering::Relaxed) == self.acquisitions.load(Ordering::Relaxed) {
            self.add_hold_time();
        }
    }

    #[cold]
    fn add_hold_time(&self) {
        let since = self.held_since_nanos.load(Ordering::Relaxed);
        let now = clock::nanos_at(Instant::now());
        self.hold_nanos.fetch_add(now.saturating_sub(since), Ordering::Relaxed);
        self.held_gen.store(u64::MAX, Ordering::Relaxed);
    }

    /// Slow path: an acquisition had to wait. Call before `note_acquired`.
    pub(crate) fn note_contended(&self, waited: Duration, acquired_at: Option<Instant>) {
        self.contentions.fetch_add(1, Ordering::Relaxed);
        self.wait_nanos.fetch_add(u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
        if let Some(at) = acquired_at {
            self.held_since_nanos.store(clock::nanos_at(at), Ordering::Relaxed);
            let next = self.acquisitions.load(Ordering::Relaxed).wrapping_add(1);
            self.held_gen.store(next, Ordering::Relaxed);
        }
    }

    pub(crate) fn add_waiter(&self, thread: u64) {
        self.waiters.lock().push(thread);
    }

    pub(crate) fn remove_waiter(&self, thread: u64) {
        let mut waiters = self.waiters.lock();
        if let Some(pos) = waiters.iter().position(|&t| t == thread) {
            waiters.remove(pos);
        }
    }

    /// Thread id of the holder, if held.
    pub fn holder(&self) -> Option<u64> {
        Some(self.holder.load(Ordering::Relaxed)).filter(|&t| t != 0)
    }

    /// Waiting thread ids, longest-waiting first.
    pub fn waiters(&self) -> Vec<u64> {
        self.waiters.lock().clone()
    }

    /// Counters as of now. `held_for` is exact for holds that began by
    /// waiting; otherwise it counts from the first snapshot that saw the hold.
    pub(crate) fn stats(&self, now: Instant) -> PrimitiveStats {
        let holder = self.holder();
        let acquisitions = self.acquisitions.load(Ordering::Relaxed);
        let held_for = holder.map(|_| {
            if self.held_gen.load(Ordering::Relaxed) != acquisitions {
                self.held_since_nanos.store(clock::nanos_at(now), Ordering::Relaxed);
                self.held_gen.store(acquisitions, Ordering::Relaxed);
            }
            let since = clock::instant_at(self.held_since_nanos.load(Ordering::Relaxed));
            now.saturating_duration_since(since)
        });
        PrimitiveStats {
            acquisitions,
            contentions: self.contentions.load(Ordering::Relaxed),
            total_wait: Duration::from_nanos(self.wait_nanos.load(Ordering::Relaxed)),
            total_hold: Duration::from_nanos(self.hold_nanos.load(Ordering::Relaxed)),
            held_for,
        }
    }
}

impl Drop for PrimitiveRecord {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.upgrade() {
            registry.forget_primitive(self.id);
        }
    }
}

/// A primitive's counters at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PrimitiveStats {
    /// Successful acquisitions (re-entrant ones included).
    pub acquisitions: u64,
    /// Acquisitions that found it held and had to wait.
    pub contentions: u64,
    /// Total time threads spent waiting for it.
    #[serde(with = "super::snapshot::secs")]
    pub total_wait: Duration,
    /// Total time it was held, for holds whose start is known.
    #[serde(with = "super::snapshot::secs")]
    pub total_hold: Duration,
    /// How long the current holder has held it (at least).
    #[serde(with = "super::snapshot::opt_secs")]
    pub held_for: Option<Duration>,
}
