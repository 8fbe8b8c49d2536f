//! The inspector's snapshot: the one owned, serialisable view that the
//! TUI, `threadscope snapshot` and recordings all read.

use super::native::{NativeStackView, StacksTaken};
use super::runtime::RuntimeView;
use super::{
    Deadlock, DeadlockSearch, DisplayName, Lint, NamePattern, NamingFinding, PrimitiveLink, ThreadLink,
};
use crate::kernel::{Field, LoadAverage};
use crate::threading::secs;
use crate::threading::{
    Outcome, PrimitiveKind, PrimitiveStats, Raise, StateTimes, ThreadState, WaitBacktrace, WaitKind,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Version of the JSON layout; bumped on incompatible changes. 3:
/// `system.cpu_percent` may be `{"unavailable": …}` (before the cores
/// have been read twice) rather than always an array.
pub const SCHEMA: u32 = 3;

/// The oldest layout this build reads back (a recording): schema 2's
/// snapshots are schema 3's whose cores were always measured.
pub const OLDEST_READABLE_SCHEMA: u32 = 2;

/// Everything known about one process at one instant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`SCHEMA`].
    pub schema: u32,
    /// Wall-clock time of the sample, in milliseconds since the Unix epoch.
    pub taken_at_unix_ms: u64,
    /// The process.
    pub process: ProcessView,
    /// The machine.
    pub system: SystemView,
    /// The scenario being run, if any.
    pub scenario: Option<String>,
    /// Every thread: ours, the inspector's own, and foreign ones.
    pub threads: Vec<ThreadView>,
    /// Every live primitive (own process only).
    pub primitives: Vec<PrimitiveView>,
    /// Wait-for cycles, each confirmed by a re-read.
    pub deadlocks: Vec<Deadlock>,
    /// What the deadlock search covered.
    pub deadlock_search: DeadlockSearch,
    /// Things to say once, in words: a permission missing and how to get
    /// it, a runtime that could not be asked.
    pub notes: Vec<String>,
    /// Threads sleeping on the same futex address: a lock grouping that
    /// works for programs that were never instrumented.
    pub futex_groups: Vec<FutexGroup>,
    /// Naming patterns and problems.
    pub naming: NamingView,
    /// Behaviour findings that have held across several samples.
    pub findings: Vec<Lint>,
    /// What taking native stacks cost, when they were asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stacks: Option<StacksTaken>,
}

impl Snapshot {
    /// The (first) thread with this (safe) name.
    pub fn thread(&self, name: &str) -> Option<&ThreadView> {
        self.threads.iter().find(|t| t.name.shown() == name)
    }

    /// The thread a link points at.
    pub fn thread_by_key(&self, key: u64) -> Option<&ThreadView> {
        self.threads.iter().find(|t| t.key == key)
    }

    /// The primitive with this registry id.
    pub fn primitive(&self, id: u64) -> Option<&PrimitiveView> {
        self.primitives.iter().find(|p| p.id == id)
    }

    /// Thread counts by state: created, running, waiting, terminated.
    pub fn counts(&self) -> [usize; 4] {
        let mut counts = [0; 4];
        for t in &self.threads {
            counts[t.state as usize] += 1;
        }
        counts
    }
}

/// The inspected process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessView {
    /// Its pid.
    pub pid: u32,
    /// Its name (comm).
    pub name: DisplayName,
    /// True for threadscope's own process.
    pub own: bool,
    /// True once it has exited.
    pub exited: bool,
    /// CPU use, percent of one core; unavailable until it could be
    /// measured (see `kernel::CPU_RATE_MIN_INTERVAL`).
    pub cpu_percent: Field<f32>,
    /// Resident memory.
    pub rss_bytes: u64,
    /// How long the inspector has watched it.
    #[serde(with = "secs")]
    pub watched_for: Duration,
    /// For a process of thousands of threads in a live view: quiet threads
    /// are checked in turn, each at least every this many samples (see
    /// `SampleOptions::check_every`); `None` when every thread is read on
    /// every sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_in_turn: Option<u32>,
}

/// The machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SystemView {
    /// CPU use per core, percent; unavailable (`not_sampled`) until two
    /// readings of the cores give a rate — never a row of zeros.
    pub cpu_percent: Field<Vec<f32>>,
    /// Memory in use.
    pub memory_used_bytes: u64,
    /// Memory in all.
    pub memory_total_bytes: u64,
    /// Load average, if known.
    pub load_average: Option<LoadAverage>,
    /// Milliseconds since boot (`CLOCK_BOOTTIME`) when the sample read its
    /// threads' `stat`: what a thread's kernel start time
    /// (`KernelView::started_ms`) is an age against.
    /// `None` when the boot clock could not be read, or in a recording
    /// made before this was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_ms: Option<u64>,
}

impl Default for SystemView {
    fn default() -> Self {
        SystemView {
            cpu_percent: Field::Unavailable(crate::kernel::Reason::NotSampled),
            memory_used_bytes: 0,
            memory_total_bytes: 0,
            load_average: None,
            uptime_ms: None,
        }
    }
}

/// Who a thread belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Started (or known) by the threading library: the workload.
    Managed,
    /// threadscope's own machinery (UI, sampler), so it is not mistaken
    /// for the workload.
    Inspector,
    /// In the kernel, unknown to the registry (another process's threads,
    /// a runtime's workers).
    Foreign,
}

/// One thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadView {
    /// A key stable across snapshots: the registry id, or for threads only
    /// the kernel knows, one made from (tid, start time).
    pub key: u64,
    /// The library's name, or the kernel comm.
    pub name: DisplayName,
    /// The name's raw bytes, when they could not be shown as they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_raw: Option<Vec<u8>>,
    /// pthread cookie (library threads).
    pub ident: Option<u64>,
    /// Kernel TID.
    pub native_id: Option<u32>,
    /// Daemon flag (library threads).
    pub daemon: Option<bool>,
    /// The library's state; for foreign threads, derived from the kernel's.
    pub state: ThreadState,
    /// What it waits on, in the library's words.
    pub waiting_on: Option<WaitView>,
    /// What the kernel says, if it was read.
    pub kernel: Option<KernelView>,
    /// Ours, the inspector's, or foreign.
    pub origin: Origin,
    /// What it holds.
    pub holds: Vec<PrimitiveLink>,
    /// Time in each library state.
    pub time_in_state: Option<StateTimes>,
    /// How its run ended.
    pub outcome: Option<Outcome>,
    /// What a runtime (a JVM, the kernel's view of another program) adds:
    /// its state word and the thread's stack.
    /// Boxed, as [`Self::native_stack`]: most threads have none, and
    /// 10,000 views are built, moved and dropped every sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Box<RuntimeView>>,
    /// Its native stack, when one was asked for (`snapshot --stacks`, the
    /// TUI's stack key): another process's thread stopped for a measured
    /// moment, or where a library thread's current wait began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native_stack: Option<Box<NativeStackView>>,
    /// Where its current wait began (a library thread, with wait
    /// backtraces on); resolved only when shown, as [`Self::native_stack`].
    #[serde(skip)]
    pub wait_backtrace: Option<WaitBacktrace>,
}

impl ThreadView {
    /// A reference to this thread, by identity.
    pub fn link(&self) -> ThreadLink {
        ThreadLink { key: self.key, tid: self.native_id, name: self.name.shown().to_owned() }
    }
}

/// What a thread waits on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitView {
    /// A primitive's kind, or a join, a sleep, a region ("lock", "join"… in JSON).
    pub kind: WaitKind,
    /// The primitive's (or joined thread's, or region's) name. Shared
    /// (`Arc`): 10,000 threads asleep in the same words cost no copies.
    pub name: Arc<str>,
    /// How it waits ("acquire", "get", "put"…).
    pub role: Option<Arc<str>>,
    /// The primitive, when it waits on one (join it to
    /// [`Snapshot::primitives`] by this id, never by name).
    pub primitive: Option<u64>,
    /// The (first) holder.
    pub holder: Option<ThreadLink>,
    /// Every holder: a lock's, a semaphore's permits', the joined thread.
    pub holders: Vec<ThreadLink>,
    /// How long it has waited; `None` when the runtime does not record it
    /// (the kernel knows what a thread sleeps in, not since when), shown
    /// in JSON as `{"unavailable": "not_recorded"}`, never as 0.
    #[serde(serialize_with = "waited", deserialize_with = "waited_back")]
    pub waited: Option<Duration>,
}

fn waited_back<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Waited {
        Secs(f64),
        #[allow(dead_code)] // The reason is always `not_recorded`: it is what `None` means.
        Unavailable {
            unavailable: crate::kernel::Reason,
        },
    }
    match Waited::deserialize(d)? {
        Waited::Secs(secs) => crate::threading::secs::from_secs(secs).map(Some),
        Waited::Unavailable { .. } => Ok(None),
    }
}

fn waited<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => {
            let mut map = s.serialize_map(Some(1))?;
            map.serialize_entry("unavailable", &crate::kernel::Reason::NotRecorded)?;
            map.end()
        }
    }
}

/// The kernel's view of one thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelView {
    /// TID.
    pub tid: u32,
    /// The comm: at most 15 bytes, possibly cut mid-character.
    pub comm: DisplayName,
    /// The comm's raw bytes, when they could not be shown as they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm_raw: Option<Vec<u8>>,
    /// The stat state letter: R, S, D, Z, T…
    pub state: char,
    /// CPU use since the previous sample, percent of one core; unavailable
    /// (`not_sampled`) until a second sample gives a rate — never 0.
    pub cpu_percent: Field<f32>,
    /// User CPU time.
    pub utime_ms: u64,
    /// System CPU time.
    pub stime_ms: u64,
    /// The CPU it last ran on.
    pub processor: u32,
    /// Scheduling priority.
    pub priority: i64,
    /// Nice value.
    pub nice: i64,
    /// Voluntary context switches (it blocked).
    pub voluntary_ctxt_switches: Field<u64>,
    /// Involuntary context switches (it was preempted).
    pub nonvoluntary_ctxt_switches: Field<u64>,
    /// The kernel function it sleeps in.
    pub wchan: Field<Option<Arc<str>>>,
    /// CPUs it may run on, as ranges.
    pub cpus_allowed: Field<Arc<[(u32, u32)]>>,
    /// The futex address it sleeps on, if it sleeps in futex(); unavailable
    /// when its system call could not be read.
    pub futex: Field<Option<Arc<str>>>,
    /// What it waits for in the kernel's words (`read on fd 3 (pipe
    /// 4711)`), when a kernel view of the process was asked (not
    /// sanitised: a path is untrusted text). Shown beside the library's
    /// words for threads the library describes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<String>,
    /// When the kernel started it, in milliseconds after boot (`stat`
    /// field 22, to the clock tick): its age for any thread, ours or not.
    /// `None` in a recording made before this was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<u64>,
}

impl KernelView {
    /// How long the thread has existed at a sample taken `uptime_ms` after
    /// boot; `None` when either figure is unknown.
    pub fn age(&self, uptime_ms: Option<u64>) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_millis(uptime_ms?.saturating_sub(self.started_ms?)))
    }
}

/// One primitive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrimitiveView {
    /// Registry id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: PrimitiveKind,
    /// Its holders.
    pub holders: Vec<ThreadLink>,
    /// Its waiters, longest-waiting first.
    pub waiters: Vec<ThreadLink>,
    /// Counters.
    /// Counters: threadscope's own primitives keep them; another
    /// program's locks do not (`not_recorded`), rather than read 0.
    pub stats: Field<PrimitiveStats>,
    /// Kind-specific gauges.
    #[serde(deserialize_with = "super::interned::keyed")]
    pub details: BTreeMap<&'static str, u64>,
    /// The primitive it stands on (a condition's lock).
    pub related: Option<PrimitiveLink>,
    /// Why no holder is shown although threads wait (a lock of another
    /// program that records no owner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_note: Option<String>,
    /// The last exception raised through it: a pool task's panic, where it
    /// was raised and in which thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_raise: Option<Raise>,
}

/// Threads asleep on one futex address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FutexGroup {
    /// The address, in hex.
    pub address: String,
    /// The sleeping threads.
    pub threads: Vec<ThreadLink>,
}

/// Naming, for the names view.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NamingView {
    /// Names grouped by shape.
    pub patterns: Vec<NamePattern>,
    /// Naming problems.
    pub findings: Vec<NamingFinding>,
}
