//! Owned, serialisable copies of the registry: what the inspector reads.

use super::primitive_record::{PrimitiveKind, PrimitiveStats, Raise};
use super::thread_record::{Outcome, StateTimes, ThreadOrigin, ThreadState};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Everything the registry knows at one instant.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RegistrySnapshot {
    /// Threads in creation order: created, alive, and recently terminated.
    pub threads: Vec<ThreadSnapshot>,
    /// Live primitives in creation order.
    pub primitives: Vec<PrimitiveSnapshot>,
}

impl RegistrySnapshot {
    /// The thread with the library name `name`, if there is one.
    pub fn thread(&self, name: &str) -> Option<&ThreadSnapshot> {
        self.threads.iter().find(|t| t.name == name)
    }

    /// The thread with registry id `id`.
    pub fn thread_by_id(&self, id: u64) -> Option<&ThreadSnapshot> {
        self.threads.iter().find(|t| t.id == id)
    }

    /// The primitive with registry id `id`.
    pub fn primitive(&self, id: u64) -> Option<&PrimitiveSnapshot> {
        self.primitives.iter().find(|p| p.id == id)
    }

    /// The primitive named `name`.
    pub fn primitive_named(&self, name: &str) -> Option<&PrimitiveSnapshot> {
        self.primitives.iter().find(|p| p.name == name)
    }
}

/// A reference to a thread from elsewhere in a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ThreadRef {
    /// Registry id.
    pub id: u64,
    /// Library name at snapshot time ("?" if the thread is no longer known).
    pub name: String,
}

/// A reference to a primitive from a thread's point of view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PrimitiveRef {
    /// Registry id.
    pub id: u64,
    /// Kind of primitive.
    pub kind: PrimitiveKind,
    /// Its name, or `kind#id`.
    pub name: String,
}

/// One thread at one instant.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadSnapshot {
    /// Registry id, unique in the process.
    pub id: u64,
    /// The library's name.
    pub name: String,
    /// pthread cookie, once started.
    pub ident: Option<u64>,
    /// Kernel TID, once running.
    pub native_id: Option<u32>,
    /// Daemon flag.
    pub daemon: bool,
    /// Main, managed or dummy.
    pub origin: ThreadOrigin,
    /// Library state.
    pub state: ThreadState,
    /// What it is blocked on, when Waiting.
    pub waiting_on: Option<WaitSnapshot>,
    /// Locks it holds.
    pub holds: Vec<PrimitiveRef>,
    /// Cumulative time in each state.
    pub time_in_state: StateTimes,
    /// Time since it was created.
    #[serde(with = "secs")]
    pub age: Duration,
    /// How the run ended, once terminated.
    pub outcome: Option<Outcome>,
    /// Where its current wait began, when wait backtraces are on
    /// ([`set_wait_backtraces`](super::set_wait_backtraces)); resolved when shown.
    #[serde(skip)]
    pub wait_backtrace: Option<super::WaitBacktrace>,
}

/// What kind of thing a thread waits on: a primitive of some kind, another
/// thread's end, a sleep, or a region the program declared.
///
/// In JSON it is the word a person would use (`"lock"`, `"bounded
/// semaphore"`, `"join"`, `"sleep"`, `"region"`), as it always was; the
/// waits only the kernel shows, for threads the library did not start, are
/// `"io"`, `"poll"`, `"child"`, `"signal"` and `"syscall"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitKind {
    /// A primitive of this kind.
    Primitive(PrimitiveKind),
    /// `join()` of another thread.
    Join,
    /// `threading::sleep`.
    Sleep,
    /// A user-declared blocking region (`threading::blocking`).
    Region,
    /// Reading, writing, accepting or connecting on a descriptor (the
    /// kernel's view of a thread the library did not start).
    Io,
    /// `poll`, `select` or `epoll_wait` on several descriptors.
    Poll,
    /// Waiting for a child process (`wait4`, `waitid`).
    Child,
    /// Waiting for a signal (`pause`, `rt_sigsuspend`).
    Signal,
    /// Asleep in another system call.
    Syscall,
}

impl WaitKind {
    /// The word a person would use: the primitive's label, or "join",
    /// "sleep", "region".
    pub fn label(self) -> &'static str {
        match self {
            Self::Primitive(kind) => kind.label(),
            Self::Join => "join",
            Self::Sleep => "sleep",
            Self::Region => "region",
            Self::Io => "io",
            Self::Poll => "poll",
            Self::Child => "child",
            Self::Signal => "signal",
            Self::Syscall => "syscall",
        }
    }

    /// True for the waits only the kernel shows (I/O, poll, child,
    /// signal, another system call), whose name already says it all
    /// (`read on fd 3 (pipe 4711)`).
    pub fn is_system_call(self) -> bool {
        matches!(self, Self::Io | Self::Poll | Self::Child | Self::Signal | Self::Syscall)
    }

    /// True for a primitive of any kind.
    pub fn is_primitive(self) -> bool {
        matches!(self, Self::Primitive(_))
    }
}

impl std::fmt::Display for WaitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl Serialize for WaitKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

/// Read back from its word (a recording replayed).
impl<'de> serde::Deserialize<'de> for WaitKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let word = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let others = [
            Self::Join,
            Self::Sleep,
            Self::Region,
            Self::Io,
            Self::Poll,
            Self::Child,
            Self::Signal,
            Self::Syscall,
        ];
        (PrimitiveKind::ALL.into_iter().map(Self::Primitive))
            .chain(others)
            .find(|kind| kind.label() == word)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown wait kind {word:?}")))
    }
}

/// What a waiting thread waits on, resolved to names.
#[derive(Clone, Debug, Serialize)]
pub struct WaitSnapshot {
    /// A primitive's kind, or a join, a sleep, a region.
    pub kind: WaitKind,
    /// The primitive or region or thread name.
    pub name: String,
    /// How it waits on a primitive ("acquire", "get", "put", "wait"…).
    pub role: Option<String>,
    /// The primitive's id when it waits on one.
    pub primitive: Option<u64>,
    /// Who holds what it waits for: a lock's holder, a joined thread.
    pub holders: Vec<ThreadRef>,
    /// How long it has waited.
    #[serde(with = "secs")]
    pub waited: Duration,
    /// Time left before it gives up, if it has a timeout.
    #[serde(with = "opt_secs")]
    pub remaining: Option<Duration>,
}

/// One primitive at one instant.
#[derive(Clone, Debug, Serialize)]
pub struct PrimitiveSnapshot {
    /// Registry id.
    pub id: u64,
    /// Kind.
    pub kind: PrimitiveKind,
    /// Its name, or `kind#id`.
    pub name: String,
    /// Threads holding it.
    pub holders: Vec<ThreadRef>,
    /// Threads blocked on it, longest-waiting first.
    pub waiters: Vec<ThreadRef>,
    /// Counters.
    pub stats: PrimitiveStats,
    /// Kind-specific gauges: a queue's depth, an event's flag, a barrier's
    /// parties…
    pub details: BTreeMap<&'static str, u64>,
    /// The primitive this one stands on (a condition's lock).
    pub related: Option<PrimitiveRef>,
    /// The last exception raised through it (a pool's task).
    pub last_raise: Option<Raise>,
}

/// Serialises a `Duration` as fractional seconds, and reads it back (a
/// recording replayed). An `f64` of seconds resolves single nanoseconds up
/// to about 26 days, so a duration read back is the one written.
pub(crate) mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        from_secs(f64::deserialize(d)?)
    }

    /// Seconds as a `Duration`; negative, infinite or NaN is an error, not a panic.
    pub(crate) fn from_secs<E: serde::de::Error>(secs: f64) -> Result<Duration, E> {
        Duration::try_from_secs_f64(secs).map_err(|e| E::custom(format!("{secs} seconds: {e}")))
    }
}

/// Serialises an `Option<Duration>` as fractional seconds or null.
pub(crate) mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?.map(super::secs::from_secs).transpose()
    }
}
