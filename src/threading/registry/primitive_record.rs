//! The live record of one synchronisation primitive: holders and counters.
//! (Its waiters are the threads whose records say they wait on it; the
//! snapshot derives the list, so blocking writes nothing shared here.)
//!
//! Fast paths touch only `holder` and `acquisitions`, with plain relaxed
//! loads and stores made while the primitive itself is held; everything that
//! needs a clock or a list happens on the slow path, when a thread blocks.

use super::clock;
use super::{Registry, RegistryInner};
use crate::sys::RawLock;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

/// What kind of primitive a record describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// A pthread mutex of a program threadscope did not start, seen
    /// through the kernel and the program's memory.
    Mutex,
    /// A futex whose owner the lock does not record (Rust std, parking_lot,
    /// CPython's locks, condition variables).
    Futex,
    /// A JVM object monitor (`synchronized`).
    Monitor,
    /// A `java.util.concurrent` lock (a `ReentrantLock`'s synchronizer).
    JavaLock,
}

impl PrimitiveKind {
    /// Every kind.
    pub const ALL: [PrimitiveKind; 14] = [
        Self::Lock,
        Self::RLock,
        Self::Condition,
        Self::Event,
        Self::Semaphore,
        Self::BoundedSemaphore,
        Self::Barrier,
        Self::Queue,
        Self::Future,
        Self::ThreadPool,
        Self::Mutex,
        Self::Futex,
        Self::Monitor,
        Self::JavaLock,
    ];

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
            Self::Mutex => "mutex",
            Self::Futex => "futex",
            Self::Monitor => "monitor",
            Self::JavaLock => "java lock",
        }
    }
}

/// What a lock's fast path touches, on one cache line with the lock word,
/// so a contended lock moves one line between cores instead of two.
#[derive(Debug)]
#[repr(C, align(64))]
struct Hot {
    raw: RawLock,
    /// Thread id of the single holder (0: none). Locks and RLocks only.
    holder: AtomicU64,
    acquisitions: AtomicU64,
    /// When the current hold began, in [`clock`] nanoseconds: the hold
    /// clock's stamp on the fast path (0 when it is not running), exact on
    /// the slow path. [`ACCOUNT`] marks a start worth adding to
    /// `hold_nanos` when the hold ends.
    held_since: AtomicU64,
}

/// In `held_since`: add this hold to the total when it ends (its start was
/// exact, or a snapshot looked at it). Bit 0 is free: a nanosecond is
/// below every precision we claim.
const ACCOUNT: u64 = 1;

/// The registry's live view of one primitive.
#[derive(Debug)]
pub struct PrimitiveRecord {
    pub(crate) id: u64,
    pub(crate) kind: PrimitiveKind,
    name: Mutex<Option<String>>,
    registry: Weak<RegistryInner>,
    hot: Hot,
    contentions: AtomicU64,
    wait_nanos: AtomicU64,
    hold_nanos: AtomicU64,
    /// Holders beyond the single `hot.holder` (a semaphore's permits), one
    /// entry per permit held. Slow path only.
    more_holders: Mutex<Vec<u64>>,
    /// Named gauges fixed at creation ("depth", "maxsize", "is_set"…),
    /// written with relaxed stores by the primitive.
    details: Box<[(&'static str, AtomicU64)]>,
    /// Where gauges the primitive does not store are read instead.
    live: OnceLock<Arc<dyn LiveGauges>>,
    /// Another primitive this one stands on (a condition's lock), 0 if none.
    related: AtomicU64,
    /// The last exception raised through it (a pool's task). Written only
    /// when a task raises.
    raised: Mutex<Option<Raise>>,
}

/// Gauges a primitive keeps in its own counters rather than in its
/// record, read when a snapshot asks: a queue's lock-free ring counts its
/// puts and gets in its cursors, so storing them again would cost a shared
/// line on every message.
pub(crate) trait LiveGauges: Send + Sync + fmt::Debug {
    /// Gauge `index` now, or `None` where the stored value stands.
    fn gauge(&self, index: usize) -> Option<u64>;
}

/// An exception raised through a primitive: a pool task that panicked
/// (Python: raised), where, and in which thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Raise {
    /// The panic message (Python: the exception).
    pub message: String,
    /// Where it was raised: a scenario's `file:line:column`, or the Rust
    /// source location; `None` when the panic carried none.
    pub location: Option<String>,
    /// The thread that ran the task, by name.
    pub thread: String,
}

impl Raise {
    /// In words, safe to print: `invalid record (raised in Pool_3 at
    /// thread-pool.toml:28:49)`.
    pub fn describe(&self) -> String {
        use crate::display::sanitize;
        let at = self.location.as_deref().map(|l| format!(" at {}", sanitize(l))).unwrap_or_default();
        format!("{} (raised in {}{at})", sanitize(&self.message), sanitize(&self.thread))
    }
}

impl PrimitiveRecord {
    pub(crate) fn new(
        id: u64,
        kind: PrimitiveKind,
        details: &[&'static str],
        registry: Weak<RegistryInner>,
    ) -> Self {
        Self {
            id,
            kind,
            name: Mutex::new(None),
            registry,
            hot: Hot {
                raw: RawLock::new(),
                holder: AtomicU64::new(0),
                acquisitions: AtomicU64::new(0),
                held_since: AtomicU64::new(0),
            },
            contentions: AtomicU64::new(0),
            wait_nanos: AtomicU64::new(0),
            hold_nanos: AtomicU64::new(0),
            more_holders: Mutex::new(Vec::new()),
            details: details.iter().map(|&name| (name, AtomicU64::new(0))).collect(),
            live: OnceLock::new(),
            related: AtomicU64::new(0),
            raised: Mutex::new(None),
        }
    }

    /// Remembers `raise` as the last exception raised through this primitive.
    pub(crate) fn set_raised(&self, raise: Raise) {
        *self.raised.lock() = Some(raise);
    }

    /// The last exception raised through this primitive.
    pub fn raised(&self) -> Option<Raise> {
        self.raised.lock().clone()
    }

    /// Adds one to gauge `index` atomically: a counter several threads
    /// bump without a common lock (a pool's workers).
    pub(crate) fn count_detail(&self, index: usize) {
        if let Some((_, gauge)) = self.details.get(index) {
            gauge.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes one from gauge `index` atomically (see [`count_detail`](Self::count_detail)).
    pub(crate) fn uncount_detail(&self, index: usize) {
        if let Some((_, gauge)) = self.details.get(index) {
            gauge.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Sets gauge `index` (its position in the names given at creation).
    #[inline]
    pub(crate) fn set_detail(&self, index: usize, value: u64) {
        if let Some((_, gauge)) = self.details.get(index) {
            gauge.store(value, Ordering::Relaxed);
        }
    }

    /// Adds to gauge `index` (a counter), with a plain load and store: call
    /// it only where the primitive's own lock serialises the writers.
    #[inline]
    pub(crate) fn bump_detail(&self, index: usize, delta: u64) {
        if let Some((_, gauge)) = self.details.get(index) {
            gauge.store(gauge.load(Ordering::Relaxed).wrapping_add(delta), Ordering::Relaxed);
        }
    }

    /// The stored value of gauge `index`: what the primitive itself wrote
    /// (its own fast paths read this; snapshots read [`details`](Self::details)).
    pub(crate) fn detail(&self, index: usize) -> u64 {
        self.details.get(index).map_or(0, |(_, gauge)| gauge.load(Ordering::Relaxed))
    }

    /// Every gauge by name, as of now: the stored values, and those a
    /// [`LiveGauges`] answers for read from it.
    pub fn details(&self) -> Vec<(&'static str, u64)> {
        let live = self.live.get();
        let value = |i: usize| live.and_then(|live| live.gauge(i)).unwrap_or_else(|| self.detail(i));
        self.details.iter().enumerate().map(|(i, (name, _))| (*name, value(i))).collect()
    }

    /// From now on, gauges `live` answers for are read from it (once per record).
    pub(crate) fn read_gauges_from(&self, live: Arc<dyn LiveGauges>) {
        let _ = self.live.set(live);
    }

    /// The registry that lists this record, while it exists.
    pub(crate) fn registry(&self) -> Option<Registry> {
        self.registry.upgrade().map(|inner| Registry { inner })
    }

    /// Records that this primitive stands on `other` (a condition's lock).
    pub(crate) fn set_related(&self, other: &PrimitiveRecord) {
        self.related.store(other.id, Ordering::Relaxed);
    }

    /// The id of the primitive this one stands on, if any.
    pub fn related(&self) -> Option<u64> {
        Some(self.related.load(Ordering::Relaxed)).filter(|&id| id != 0)
    }

    /// Slow path: `thread` took one more share (a semaphore permit).
    #[allow(dead_code)] // Semaphore uses it
    pub(crate) fn add_holder(&self, thread: u64) {
        self.more_holders.lock().push(thread);
    }

    /// Slow path: one share held by `thread` was given back. Semaphores may
    /// be released by any thread; then the longest holder's share goes.
    #[allow(dead_code)] // Semaphore uses it
    pub(crate) fn remove_holder(&self, thread: u64) {
        let mut holders = self.more_holders.lock();
        let index =
            holders.iter().position(|&t| t == thread).or(if holders.is_empty() { None } else { Some(0) });
        if let Some(index) = index {
            holders.remove(index);
        }
    }

    /// Every holder: the single holder, then shares in the order taken.
    pub fn holders(&self) -> Vec<u64> {
        self.read_holders().1
    }

    /// The single holder and every holder, from one read of each.
    pub(crate) fn read_holders(&self) -> (Option<u64>, Vec<u64>) {
        let single = self.holder();
        let mut all: Vec<u64> = single.into_iter().collect();
        all.extend(self.more_holders.lock().iter().copied());
        (single, all)
    }

    /// The lock word, for the `Lock` or `RLock` this record belongs to.
    #[inline]
    pub(crate) fn raw(&self) -> &RawLock {
        &self.hot.raw
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
    /// so the counter needs no read-modify-write; the hold is stamped with
    /// the coarse hold clock (no clock read).
    #[inline]
    pub(crate) fn note_acquired(&self, thread: u64) {
        self.note_acquired_since(thread, clock::coarse_now() & !ACCOUNT);
    }

    /// Slow path: `thread` got it at `at`, after waiting: an exact start.
    pub(crate) fn note_acquired_at(&self, thread: u64, at: Instant) {
        self.note_acquired_since(thread, clock::nanos_at(at) | ACCOUNT);
    }

    #[inline]
    fn note_acquired_since(&self, thread: u64, since: u64) {
        self.hot.held_since.store(since, Ordering::Relaxed);
        self.hot.holder.store(thread, Ordering::Relaxed);
        let n = self.hot.acquisitions.load(Ordering::Relaxed);
        self.hot.acquisitions.store(n.wrapping_add(1), Ordering::Relaxed);
    }

    /// Fast path: counts a re-entrant acquisition by the current holder.
    #[inline]
    pub(crate) fn note_reacquired(&self) {
        let n = self.hot.acquisitions.load(Ordering::Relaxed);
        self.hot.acquisitions.store(n.wrapping_add(1), Ordering::Relaxed);
    }

    /// Fast path: the hold ends; call before unlocking. Returns when the
    /// hold began if that is known (it began on the slow path, or a snapshot
    /// saw it), for [`note_hold_ended`](Self::note_hold_ended) to account
    /// after the unlock.
    #[inline]
    pub(crate) fn note_released(&self) -> Option<u64> {
        self.hot.holder.store(0, Ordering::Relaxed);
        let since = self.hot.held_since.load(Ordering::Relaxed);
        if since & ACCOUNT == 0 {
            return None;
        }
        self.hot.held_since.store(0, Ordering::Relaxed);
        Some(since & !ACCOUNT)
    }

    /// Adds a finished hold to the total; call after unlocking.
    #[cold]
    pub(crate) fn note_hold_ended(&self, since_nanos: u64) {
        let now = clock::nanos_at(Instant::now());
        self.hold_nanos.fetch_add(now.saturating_sub(since_nanos), Ordering::Relaxed);
    }

    /// Slow path: an acquisition found the primitive held and has to block.
    pub(crate) fn note_contended(&self) {
        self.contentions.fetch_add(1, Ordering::Relaxed);
    }

    /// Slow path: a thread spent `waited` parked on it.
    pub(crate) fn note_waited(&self, waited: Duration) {
        let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.wait_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Thread id of the holder, if held.
    ///
    /// An acquire load, paired with the release fence a thread passes after
    /// its wait ends and before it publishes itself as the holder
    /// (`contention.rs`): whoever sees the hold then sees the wait over.
    /// Readers are snapshots, never the fast path.
    pub fn holder(&self) -> Option<u64> {
        Some(self.hot.holder.load(Ordering::Acquire)).filter(|&t| t != 0)
    }

    /// Counters as of this moment.
    pub fn stats_now(&self) -> PrimitiveStats {
        self.stats(Instant::now())
    }

    /// Counters as of now. `held_for` is exact for holds that began by
    /// waiting, true within the hold clock's period for the others while
    /// it runs (see `clock`), and otherwise counts from the first snapshot
    /// that saw the hold.
    pub(crate) fn stats(&self, now: Instant) -> PrimitiveStats {
        self.stats_given(now, self.holder())
    }

    /// Counters as of now, for the single holder `holder` read earlier (so
    /// `held_for` agrees with the holders a snapshot shows).
    pub(crate) fn stats_given(&self, now: Instant, holder: Option<u64>) -> PrimitiveStats {
        let acquisitions = self.hot.acquisitions.load(Ordering::Relaxed);
        let held_for = holder.map(|_| {
            let mut since = self.hot.held_since.load(Ordering::Relaxed);
            if since & !ACCOUNT == 0 {
                // No hold clock when it was taken: it began no later than now.
                since = clock::nanos_at(now) | ACCOUNT;
                self.hot.held_since.store(since, Ordering::Relaxed);
            } else if since & ACCOUNT == 0 {
                // Stamped by the hold clock: seen now, so count it when it ends.
                self.hot.held_since.store(since | ACCOUNT, Ordering::Relaxed);
            }
            now.saturating_duration_since(clock::instant_at(since & !ACCOUNT))
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimitiveStats {
    /// Successful acquisitions (re-entrant ones included).
    pub acquisitions: u64,
    /// Acquisitions that found it held and blocked (brief spins not counted).
    pub contentions: u64,
    /// Total time threads spent waiting for it, waits still in progress
    /// included (in snapshots).
    #[serde(with = "super::snapshot::secs")]
    pub total_wait: Duration,
    /// Total time it was held, for holds whose start is known.
    #[serde(with = "super::snapshot::secs")]
    pub total_hold: Duration,
    /// How long the current holder has held it (at least).
    #[serde(with = "super::snapshot::opt_secs")]
    pub held_for: Option<Duration>,
}
