//! Runtime views: what a runtime knows about the threads of the inspected
//! process (the kernel's system calls and pthread mutex owners, a JVM's
//! thread dump, an agent), keyed by TID, in one shape the inspector merges
//! into its snapshot. Each producer lives in its own file and knows nothing
//! of the others; [`merge`] is the only place that joins them.

use super::deadlock::Deadlock;
use super::links::{PrimitiveLink, ThreadLink};
use super::snapshot::{Origin, PrimitiveView, ThreadView, WaitView};
use super::waitgraph::WaitGraph;
use crate::kernel::{Field, Reason};
use crate::threading::{PrimitiveKind, ThreadState, WaitKind};
use indexmap::IndexMap;
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// [`RuntimeFacts::source`] of the kernel's view: its words for a thread
/// the library (or another runtime) already describes go beside theirs,
/// in [`KernelView::wait`](super::KernelView::wait).
pub const KERNEL: &str = "kernel";

/// A producer of [`RuntimeFacts`]: the kernel's view of another program's
/// waits and locks, a JVM's thread dump. The inspector asks each after
/// every kernel sample; a producer with a slower cadence of its own hands
/// back its last facts (or `None` for nothing to add).
pub trait RuntimeSource: Send {
    /// The facts for this sample.
    fn facts(&mut self, kernel: &crate::kernel::KernelSample) -> Option<RuntimeFacts>;

    /// The facts [`facts`](Self::facts) gave, handed back once merged: a
    /// producer that gives the same facts again next time keeps them
    /// rather than copying them each sample (10,000 threads' waits).
    fn recycle(&mut self, facts: RuntimeFacts) {
        drop(facts);
    }
}

/// A runtime's facts by TID, kept in the order they were put in. The
/// kernel's come in its sample's order, which is the snapshot's: the merge
/// then reads 10,000 of them one after the other rather than scattered
/// over a hash table, and the index it looks them up by is small.
pub type ThreadFacts = IndexMap<u32, RuntimeThread, FxBuildHasher>;

/// Everything one runtime view says about the process at one sample.
#[derive(Debug, Clone, Default)]
pub struct RuntimeFacts {
    /// Where the facts come from, for the screen: "kernel", "jvm".
    pub source: &'static str,
    /// Per thread, by TID, in the order the source gave them.
    pub threads: ThreadFacts,
    /// Locks the runtime can see, with holders and waiters by TID.
    pub locks: Vec<RuntimeLock>,
    /// Things to say once (a permission missing and how to get it, an
    /// attach that failed), already in words.
    pub notes: Vec<String>,
    /// What this view lets the deadlock search cover, in words; `None`
    /// when it adds nothing.
    pub covers: Option<String>,
    /// Where the view comes from and how often, for the screen (`JVM view
    /// via attach, every 5 s`); `None` when there is nothing to say.
    pub about: Option<String>,
}

/// What a runtime says about one thread.
#[derive(Debug, Clone, Default)]
pub struct RuntimeThread {
    /// Its full name, where the runtime knows better than the kernel's 15 bytes.
    pub name: Option<String>,
    /// The runtime's own state word (`BLOCKED (on object monitor)`).
    pub state: Option<String>,
    /// What it waits on.
    pub wait: Option<RuntimeWait>,
    /// Its stack, innermost frame first, when the runtime has one.
    pub stack: Vec<StackFrame>,
    /// The runtime's own id for it (an agent's `ident`).
    pub ident: Option<u64>,
    /// Its daemon flag, where the runtime has one.
    pub daemon: Option<bool>,
    /// Its state in the library's four words, from a runtime that speaks
    /// them (an agent): shown instead of the one derived from the kernel.
    pub library_state: Option<ThreadState>,
    /// Whose it is, from a runtime that knows (an agent: the program's
    /// library thread, or the agent's own); `None` leaves it foreign.
    pub origin: Option<Origin>,
}

impl RuntimeThread {
    /// Whether it says who the thread is (a name, an id, whose it is, a
    /// state in the library's words), beyond what it waits on.
    fn names_the_thread(&self) -> bool {
        // Every field named, so that a new one must be placed here or there.
        let RuntimeThread { name, state: _, wait: _, stack: _, ident, daemon, library_state, origin } = self;
        name.is_some() || origin.is_some() || ident.is_some() || daemon.is_some() || library_state.is_some()
    }
}

/// A wait as a runtime sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeWait {
    /// A primitive's kind, a join, a sleep, a region.
    pub kind: WaitKind,
    /// What it waits on, in words (`futex 0x7f…b70`, `fd 3 (pipe 309264)`).
    pub name: Arc<str>,
    /// How it waits (`FUTEX_WAIT`, `read`, `parking`).
    pub role: Option<Arc<str>>,
    /// The [`RuntimeLock::id`] it waits for, when that lock is known.
    pub lock: Option<u64>,
    /// How long it has waited, when the runtime knows.
    pub waited: Option<Duration>,
    /// For a join, the TID of the thread it waits to end.
    pub joins: Option<u32>,
}

/// A lock a runtime sees.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeLock {
    /// Unique in the snapshot and stable across samples: a source tag in
    /// the bits above the lock's address (see [`runtime_lock_id`]).
    pub id: u64,
    /// What it is.
    pub kind: PrimitiveKind,
    /// Its name in words (`mutex 0x55…140`, `java.lang.Object@0x…`).
    pub name: String,
    /// Who holds it, by TID (empty when free or not recorded).
    pub holders: Vec<u32>,
    /// Who waits for it, by TID.
    pub waiters: Vec<u32>,
    /// Why there is no holder although there are waiters
    /// (`owner not recorded by this kind of lock`).
    pub owner_note: Option<String>,
}

/// One frame of a stack: a runtime's (Java), a native one, or a library
/// thread's wait backtrace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackFrame {
    /// The function (`java.lang.Object.wait`, `pthread_mutex_lock`); for a
    /// native address no symbol covers, the address itself (`0x7f…`).
    pub function: String,
    /// Where, when known (`Worker.java:12`, `src/main.rs:40`).
    pub location: Option<String>,
    /// Locks this frame holds or waits for, in words (`locked <0x…>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// A native frame's address (`0x7f…`): its instruction pointer or return address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// A native frame's module (`libc.so.6`, the program's path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// A native frame's offset in its module (`0x11ba61`), as `addr2line -e` takes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
    /// True for a function inlined into the next frame.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub inlined: bool,
}

/// What a runtime adds to one thread of the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuntimeView {
    /// Which runtime said so.
    pub source: &'static str,
    /// Its state word.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Its stack, innermost first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<StackFrame>,
    /// Where the view comes from and how often ([`RuntimeFacts::about`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
}

/// Read back from a recording; by hand because `source` is a
/// `&'static str` (see `inspect/interned.rs`), which derived code
/// would borrow from the input.
impl<'de> Deserialize<'de> for RuntimeView {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Repr {
            source: String,
            state: Option<String>,
            #[serde(default)]
            stack: Vec<StackFrame>,
            about: Option<String>,
        }
        let Repr { source, state, stack, about } = Repr::deserialize(d)?;
        Ok(Self { source: super::interned::interned(&source)?, state, stack, about })
    }
}

pub use super::ids::{LockSource, runtime_lock_id};

/// Merges `facts` into the snapshot's threads and primitives: names where
/// the thread has only the kernel's comm, waits where the library said
/// none, the runtime's state and stack, and every lock as a primitive.
/// Returns the deadlocks among the runtime's locks (the library's are
/// found, and confirmed, from the registry).
pub fn merge(
    facts: &RuntimeFacts,
    threads: &mut [ThreadView],
    primitives: &mut Vec<PrimitiveView>,
) -> Vec<Deadlock> {
    // In the snapshot's order: 10,000 threads visited as they lie in
    // memory, each fact found by its TID, nothing sorted. Not an ended
    // library thread's: it keeps its `native_id`, which the kernel may
    // have given a live task listed after it, whose facts they are.
    let ended = |t: &ThreadView| t.state == ThreadState::Terminated && t.kernel.is_none();
    let mut next = FactsCursor::default();
    let described: Vec<(usize, &RuntimeThread)> = threads
        .iter()
        .enumerate()
        .filter(|(_, t)| !ended(t))
        .filter_map(|(i, t)| Some((i, next.find(&facts.threads, t.native_id?)?)))
        .collect();
    // TIDs to threads, for the links of locks and joins: built only when
    // there is one to link (10,000 threads each parked alone have none).
    let linked = !facts.locks.is_empty()
        || described
            .iter()
            .any(|(_, r)| r.wait.as_ref().is_some_and(|w| w.joins.is_some() || w.lock.is_some()));
    let mut by_tid: FxHashMap<u32, usize> = FxHashMap::default();
    if linked {
        // Sized up front: collected from a filter, the map would grow (and
        // rehash) a dozen times on the way to 10,000 threads.
        by_tid.reserve(threads.len());
        by_tid.extend(threads.iter().enumerate().filter_map(|(i, t)| t.native_id.map(|tid| (tid, i))));
    }
    let link = |threads: &[ThreadView], tid: u32| -> ThreadLink {
        by_tid.get(&tid).map_or(
            ThreadLink {
                key: super::ids::unknown_thread_key(tid),
                tid: Some(tid),
                name: format!("tid {tid}"),
            },
            |&i| threads[i].link(),
        )
    };
    // Names first, so every link made below carries the better name. Only
    // a thread the kernel alone described takes the runtime's identity: the
    // library's own threads keep theirs.
    for &(i, runtime) in described.iter().filter(|(_, runtime)| runtime.names_the_thread()) {
        let thread = &mut threads[i];
        if thread.origin != Origin::Foreign {
            continue;
        }
        if let Some(name) = &runtime.name {
            thread.name = super::DisplayName::from_text(name);
            thread.name_raw = thread.name.raw_if_unprintable();
        }
        thread.origin = runtime.origin.unwrap_or(Origin::Foreign);
        thread.ident = thread.ident.or(runtime.ident);
        thread.daemon = thread.daemon.or(runtime.daemon);
        if let Some(state) = runtime.library_state {
            thread.state = state;
        }
    }
    // By id, once: every wait below looks its lock up (10,000 threads on
    // 5,000 mutexes must not search the list for each).
    let by_id: FxHashMap<u64, &RuntimeLock> = facts.locks.iter().map(|l| (l.id, l)).collect();
    // The library's words (and an earlier runtime's) come first: a lock
    // all of whose waiters are already described is theirs, seen again.
    let said = |tid: &u32| by_tid.get(tid).is_some_and(|&i| threads[i].waiting_on.is_some());
    let locks: Vec<&RuntimeLock> =
        facts.locks.iter().filter(|l| l.waiters.is_empty() || !l.waiters.iter().all(said)).collect();
    for lock in locks.iter().copied() {
        for holder in &lock.holders {
            if let Some(&i) = by_tid.get(holder) {
                threads[i].holds.push(PrimitiveLink {
                    id: lock.id,
                    kind: lock.kind,
                    name: lock.name.clone(),
                });
            }
        }
        primitives.push(PrimitiveView {
            id: lock.id,
            name: lock.name.clone(),
            kind: lock.kind,
            holders: lock.holders.iter().map(|&tid| link(threads, tid)).collect(),
            waiters: lock.waiters.iter().map(|&tid| link(threads, tid)).collect(),
            stats: Field::Unavailable(Reason::NotRecorded),
            details: BTreeMap::new(),
            related: None,
            owner_note: lock.owner_note.clone(),
            last_raise: None,
        });
    }
    let holders_of = |id: u64| by_id.get(&id).map(|l| l.holders.clone()).unwrap_or_default();
    // The threads whose joins this runtime saw: their edges are its to add.
    let mut joining = Vec::new();
    for &(i, runtime) in &described {
        if let Some(wait) = &runtime.wait
            && let Some(said) = threads[i].waiting_on.as_ref().map(|w| w.kind)
        {
            // The library's words come first; the kernel's show beside
            // them only when they disagree (a lock wait is a futex sleep).
            if facts.source == KERNEL
                && !agree(said, wait.kind)
                && let Some(kernel) = &mut threads[i].kernel
            {
                let role = wait.role.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                kernel.wait = Some(format!("{} {}{role}", wait.kind.label(), wait.name));
            }
        } else if let Some(wait) = &runtime.wait {
            // A join's "holder" is the thread it waits for (as the
            // library's joins are), named as the snapshot names it.
            let held_by =
                wait.joins.map_or_else(|| wait.lock.map(holders_of).unwrap_or_default(), |tid| vec![tid]);
            let holders: Vec<ThreadLink> = held_by.into_iter().map(|h| link(threads, h)).collect();
            if wait.joins.is_some() {
                joining.push(threads[i].key);
            }
            let name = match (wait.joins, holders.first()) {
                (Some(_), Some(joined)) => joined.name.as_str().into(),
                _ => wait.name.clone(),
            };
            threads[i].waiting_on = Some(WaitView {
                kind: wait.kind,
                name,
                role: wait.role.clone(),
                primitive: wait.lock,
                holder: holders.first().cloned(),
                holders,
                waited: wait.waited,
            });
        }
        // An agent says no state word beside the library's and Rust has no
        // stack, but where the view comes from is still worth saying.
        if runtime.state.is_some()
            || !runtime.stack.is_empty()
            || facts.source != KERNEL && facts.about.is_some()
        {
            threads[i].runtime = Some(Box::new(RuntimeView {
                source: facts.source,
                state: runtime.state.clone(),
                stack: runtime.stack.clone(),
                about: facts.about.clone(),
            }));
        }
    }
    let ids: Vec<u64> = locks.iter().map(|l| l.id).collect();
    WaitGraph::from_views(threads, primitives, &ids, &joining).deadlocks()
}

/// Where the last fact found was, so that facts given in the snapshot's
/// own order (the kernel's are) are found one after another, each checked
/// by its TID, without hashing it; any other order is looked up.
#[derive(Default)]
struct FactsCursor(usize);

impl FactsCursor {
    fn find<'a>(&mut self, facts: &'a ThreadFacts, tid: u32) -> Option<&'a RuntimeThread> {
        let (at, fact) = match facts.get_index(self.0) {
            Some((&here, fact)) if here == tid => (self.0, fact),
            _ => facts.get_full(&tid).map(|(at, _, fact)| (at, fact))?,
        };
        self.0 = at + 1;
        Some(fact)
    }
}

/// True when the library's word for a wait and the kernel's say the same
/// thing in their own terms: any wait on a primitive is a futex sleep to
/// the kernel, a library sleep a sleep.
fn agree(library: WaitKind, kernel: WaitKind) -> bool {
    match (library, kernel) {
        (WaitKind::Sleep, WaitKind::Sleep) => true,
        (WaitKind::Primitive(_) | WaitKind::Join, WaitKind::Primitive(_)) => true,
        (library, kernel) => library == kernel,
    }
}
