//! [`KernelSource`]: the kernel's view of a process as a runtime view —
//! every thread's wait in words (from [`WaitReader`]), its futex locks with
//! their owners and waiters by TID — for programs threadscope did not start
//! and for the threads of our own process the library does not describe.

use super::runtime::{KERNEL, LockSource, RuntimeFacts, RuntimeLock, RuntimeSource, RuntimeThread};
use super::runtime::{RuntimeWait, ThreadFacts, runtime_lock_id};
use crate::kernel::{Field, FutexOp, KernelSample, KernelWait, LockOwner, ProcessWaits, Reason, WaitReader};
use crate::threading::{PrimitiveKind, WaitKind};
use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};
use std::sync::Arc;

/// What deadlock detection covers once the calls and memory could be read.
pub const COVERS: &str = "pthread mutexes, with their owners";

/// The kernel's waits and pthread mutex owners of one process, as
/// [`RuntimeFacts`]: futex waits as waits on a [`PrimitiveKind::Mutex`]
/// (a glibc mutex whose owner was read and validated) or a
/// [`PrimitiveKind::Futex`] (a lock that records no owner), sleeps, I/O,
/// polls, children and signals each as their [`WaitKind`], with the
/// kernel's words as the wait's name.
///
/// It reads only what [`WaitReader`] reads, and only on samples whose
/// per-thread details were read; in between it hands back its last facts,
/// for the threads still there. A missing permission is a note on every
/// snapshot while it lasts, the same words each time (the TUI logs it once).
///
/// # Examples
///
/// ```
/// use threadscope::inspect::{Inspector, KernelSource};
///
/// let mut inspector = Inspector::pid(std::process::id())?; // adds one itself
/// inspector.add_runtime(Box::new(KernelSource::new(std::process::id()))); // or by hand
/// let snapshot = inspector.refresh()?;
/// assert!(snapshot.notes.is_empty(), "our own process may be read");
/// # Ok::<(), threadscope::kernel::SamplerError>(())
/// ```
#[derive(Debug)]
pub struct KernelSource {
    reader: WaitReader,
    last: ThreadFacts,
    last_locks: Vec<RuntimeLock>,
    /// The TIDs of the last sample, in its order.
    seen: Vec<u32>,
    /// Threads in an absolute sleep at the last reading (and whether it
    /// was seen resumed), whose time left is said anew every sample.
    sleeps: FxHashMap<u32, (KernelWait, bool)>,
    covers: bool,
    permission_note: Option<String>,
}

impl KernelSource {
    /// The kernel's view of process `pid`.
    pub fn new(pid: u32) -> KernelSource {
        KernelSource {
            reader: WaitReader::new(pid),
            last: ThreadFacts::default(),
            last_locks: Vec::new(),
            seen: Vec::new(),
            sleeps: FxHashMap::default(),
            covers: false,
            permission_note: None,
        }
    }

    /// Works out again the time left of every absolute sleep: the facts
    /// handed back until details are read again would otherwise say the
    /// time left when they were read.
    fn say_time_left(&mut self) {
        for (tid, (sleep, resumed)) in &self.sleeps {
            let (Some(now), Some(wait)) =
                (sleep.time_left_now(), self.last.get_mut(tid).and_then(|t| t.wait.as_mut()))
            else {
                continue;
            };
            let suffix = if *resumed { RESUMED } else { "" };
            wait.name = format!("{now}{suffix}").into();
        }
    }
}

impl RuntimeSource for KernelSource {
    fn facts(&mut self, kernel: &KernelSample) -> Option<RuntimeFacts> {
        let fresh = kernel.threads.iter().any(|t| t.syscall.reason() != Some(Reason::NotSampled));
        if fresh {
            let waits = self.reader.read(kernel);
            self.permission_note = waits.missing_permission.as_ref().map(ToString::to_string);
            // Every pthread mutex a thread sleeps on had its owner looked
            // for once the calls and the memory could be read, found or
            // not: "none found" is then a searched answer.
            self.covers = waits.missing_permission.is_none();
            (self.last, self.last_locks) = facts_of(&waits, &self.last);
            self.sleeps = absolute_sleeps(&waits, std::mem::take(&mut self.sleeps));
        } else if !self.seen.iter().copied().eq(kernel.threads.iter().map(|t| t.tid)) {
            // Details not read this time: the last ones, for threads still
            // here (looked up only when threads came or went).
            let live: FxHashSet<u32> = kernel.threads.iter().map(|t| t.tid).collect();
            self.last.retain(|tid, _| live.contains(tid));
            self.sleeps.retain(|tid, _| live.contains(tid));
        }
        self.say_time_left();
        self.seen.clear();
        self.seen.extend(kernel.threads.iter().map(|t| t.tid));
        Some(RuntimeFacts {
            source: KERNEL,
            threads: std::mem::take(&mut self.last),
            locks: std::mem::take(&mut self.last_locks),
            notes: self.permission_note.iter().cloned().collect(),
            covers: self.covers.then(|| COVERS.to_owned()),
            about: None,
        })
    }

    /// Takes its facts back: until details are read again they are the
    /// facts of every sample, and never copied.
    fn recycle(&mut self, facts: RuntimeFacts) {
        self.last = facts.threads;
        self.last_locks = facts.locks;
    }
}

/// Threads and locks from one reading of the waits; `before`, the last
/// reading's threads, says what a resumed call was.
fn facts_of(waits: &ProcessWaits, before: &ThreadFacts) -> (ThreadFacts, Vec<RuntimeLock>) {
    // An owner-less futex with one sleeper is a parked thread, not a lock
    // worth a row (std parks every idle thread so: 10,000 rows otherwise).
    let locks: Vec<RuntimeLock> =
        waits.locks.iter().filter(|l| l.owner.tid().is_some() || l.waiters.len() > 1).map(lock).collect();
    let kind_of: FxHashMap<u64, PrimitiveKind> = locks.iter().map(|l| (l.id, l.kind)).collect();
    let live: FxHashSet<u32> = waits.threads.iter().map(|t| t.tid).collect();
    // Sized up front, as `merge`'s index: collected from a filter, the map
    // would grow a dozen times on the way to 10,000 threads.
    let mut threads = ThreadFacts::with_capacity_and_hasher(waits.threads.len(), FxBuildHasher);
    threads.extend(
        waits
            .threads
            .iter()
            .filter_map(|t| match &t.wait {
                Field::Available(wait) => Some((t.tid, wait)),
                Field::Unavailable(_) => None,
            })
            .filter_map(|(tid, wait)| {
                let wait = match wait {
                    // The call it resumes is the one seen before, if it was seen.
                    KernelWait::Resumed => match before.get(&tid).and_then(|t| t.wait.as_ref()) {
                        Some(earlier) => resumed(earlier, &kind_of),
                        None => runtime_wait(wait, &kind_of, None)?,
                    },
                    wait => {
                        let earlier = before.get(&tid).and_then(|t| t.wait.as_ref());
                        joining(tid, wait, &kind_of, &live)
                            .map_or_else(|| runtime_wait(wait, &kind_of, earlier), Some)?
                    }
                };
                Some((tid, RuntimeThread { wait: Some(wait), ..RuntimeThread::default() }))
            }),
    );
    (threads, locks)
}

fn lock(l: &crate::kernel::FutexLock) -> RuntimeLock {
    let (kind, holders, owner_note) = match &l.owner {
        LockOwner::Known { tid, .. } => (PrimitiveKind::Mutex, vec![*tid], None),
        LockOwner::Unknown(why) => (PrimitiveKind::Futex, Vec::new(), Some(why.to_string())),
    };
    RuntimeLock {
        id: runtime_lock_id(LockSource::Kernel, l.address),
        kind,
        name: format!("{:#x}", l.address),
        holders,
        waiters: l.waiters.clone(),
        owner_note,
    }
}

/// Said after the words of a call a thread was seen resuming.
const RESUMED: &str = " (resumed after a stop)";

/// The absolute sleeps of a reading, by thread; a sleep seen resumed
/// keeps the one of `before` it resumes.
fn absolute_sleeps(
    waits: &ProcessWaits,
    mut before: FxHashMap<u32, (KernelWait, bool)>,
) -> FxHashMap<u32, (KernelWait, bool)> {
    let mut sleeps = FxHashMap::default();
    for t in &waits.threads {
        match &t.wait {
            Field::Available(KernelWait::Resumed) => {
                if let Some((sleep, _)) = before.remove(&t.tid) {
                    sleeps.insert(t.tid, (sleep, true));
                }
            }
            Field::Available(sleep) if sleep.time_left_now().is_some() => {
                sleeps.insert(t.tid, (sleep.clone(), false));
            }
            _ => {}
        }
    }
    sleeps
}

/// The words for a thread in `restart_syscall` whose call was seen
/// before it was interrupted: that call, resumed (its lock only if the
/// lock is still a row: a resumed futex wait shows no address to group).
fn resumed(earlier: &RuntimeWait, kind_of: &FxHashMap<u64, PrimitiveKind>) -> RuntimeWait {
    // Already resumed, or seen only resuming (its words say so): as it was.
    let name = if earlier.name.ends_with(RESUMED) || earlier.name.starts_with("restart_syscall:") {
        earlier.name.clone()
    } else {
        format!("{}{RESUMED}", earlier.name).into()
    };
    RuntimeWait { name, lock: earlier.lock.filter(|id| kind_of.contains_key(id)), ..earlier.clone() }
}

/// A futex wait that is a `pthread_join`: glibc's join sleeps on the
/// joined thread's TID field (which the kernel clears and wakes when that
/// thread exits), so it expects the word to read that TID. A wait on a
/// lock whose owner was read stays a lock wait; anything else expecting
/// the TID of another live thread of the process is taken for a join.
fn joining(
    tid: u32,
    wait: &KernelWait,
    kind_of: &FxHashMap<u64, PrimitiveKind>,
    live: &FxHashSet<u32>,
) -> Option<RuntimeWait> {
    let KernelWait::Futex { address, expected, .. } = wait else { return None };
    let (_, op) = wait.futex_wait()?;
    let a_lock = kind_of.get(&runtime_lock_id(LockSource::Kernel, *address)) == Some(&PrimitiveKind::Mutex);
    let waits_on_a_thread = matches!(op, FutexOp::Wait | FutexOp::WaitBitset) && *expected != tid;
    (!a_lock && waits_on_a_thread && live.contains(expected)).then(|| RuntimeWait {
        kind: WaitKind::Join,
        name: format!("tid {expected}").into(),
        role: Some("join".into()),
        lock: None,
        waited: None,
        joins: Some(*expected),
    })
}

/// A kernel wait as a runtime wait; `None` for a thread that waits for
/// nothing (running, or off the CPU outside any system call). A futex
/// wait takes its words from `earlier`, the thread's last wait, when they
/// are the same: 10,000 parked threads need no new strings each reading.
fn runtime_wait(
    wait: &KernelWait,
    kind_of: &FxHashMap<u64, PrimitiveKind>,
    earlier: Option<&RuntimeWait>,
) -> Option<RuntimeWait> {
    let words = |kind: WaitKind| RuntimeWait {
        kind,
        name: wait.to_string().into(),
        role: None,
        lock: None,
        waited: None,
        joins: None,
    };
    Some(match wait {
        KernelWait::Running | KernelWait::UserSpace => return None,
        KernelWait::Futex { address, op, .. } => {
            let id = runtime_lock_id(LockSource::Kernel, *address);
            let lock = wait.futex_wait().and(kind_of.get(&id).map(|_| id));
            RuntimeWait {
                kind: WaitKind::Primitive(
                    lock.and_then(|id| kind_of.get(&id).copied()).unwrap_or(PrimitiveKind::Futex),
                ),
                name: address_words(*address, earlier.map(|e| &e.name)),
                role: earlier
                    .and_then(|e| e.role.as_ref())
                    .filter(|role| &***role == op.name())
                    .map_or_else(|| op.name().into(), Arc::clone)
                    .into(),
                lock,
                waited: None,
                joins: None,
            }
        }
        KernelWait::Sleep { .. } => words(WaitKind::Sleep),
        KernelWait::Io { .. } => words(WaitKind::Io),
        KernelWait::Poll { .. } => words(WaitKind::Poll),
        KernelWait::Child { .. } => words(WaitKind::Child),
        KernelWait::Signal { .. } => words(WaitKind::Signal),
        KernelWait::Resumed | KernelWait::Other { .. } | KernelWait::InKernel { .. } => {
            words(WaitKind::Syscall)
        }
    })
}

/// A futex address in words (`0x7f…`): `earlier`, the words the same
/// thread's last reading gave, when they name the same address, so
/// 10,000 threads parked on their own futexes need no new string each
/// reading (the join's kernel views and the kernel's waits both ask).
pub(super) fn address_words(address: u64, earlier: Option<&Arc<str>>) -> Arc<str> {
    match earlier {
        Some(words) if names_address(words, address) => words.clone(),
        _ => format!("{address:#x}").into(),
    }
}

/// Whether `name` is `address` as a futex wait names it (`0x7f…`).
fn names_address(name: &str, address: u64) -> bool {
    use std::io::Write as _;
    let mut buf = [0u8; 18];
    let mut out = &mut buf[..];
    let written = write!(out, "{address:#x}").is_ok();
    let len = 18 - out.len();
    written && name.as_bytes() == &buf[..len]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{FutexLock, IoDirection, OwnerUnknown, ThreadWait};

    #[test]
    fn a_futex_wait_keeps_its_words_only_for_the_same_address_and_operation() {
        assert!(names_address("0x40", 0x40) && names_address("0xffffffffffffffff", u64::MAX));
        assert!(!names_address("0x40", 0x4) && !names_address("0x4", 0x40) && !names_address("", 0));
        let kinds = FxHashMap::default();
        let first = runtime_wait(&futex(0x40), &kinds, None).unwrap();
        let again = runtime_wait(&futex(0x40), &kinds, Some(&first)).unwrap();
        assert!(Arc::ptr_eq(&first.name, &again.name), "the same words, not a copy");
        assert_eq!(again, first);
        let moved = runtime_wait(&futex(0x80), &kinds, Some(&first)).unwrap();
        assert_eq!(&*moved.name, "0x80");
        let requeue = KernelWait::Futex {
            address: 0x40,
            op: FutexOp::WaitBitset,
            private: true,
            expected: 2,
            timed: false,
        };
        let other_op = runtime_wait(&requeue, &kinds, Some(&first)).unwrap();
        assert_eq!(other_op.role.as_deref(), Some(FutexOp::WaitBitset.name()));
        assert!(Arc::ptr_eq(&first.name, &other_op.name));
    }

    fn futex(address: u64) -> KernelWait {
        KernelWait::Futex { address, op: FutexOp::Wait, private: true, expected: 2, timed: false }
    }

    fn waits() -> ProcessWaits {
        let io = KernelWait::Io {
            call: "read",
            direction: IoDirection::Read,
            fd: 3,
            target: Field::Unavailable(Reason::NotSampled),
        };
        ProcessWaits {
            pid: 1,
            threads: vec![
                ThreadWait { tid: 10, wait: Field::Available(futex(0x40)) },
                ThreadWait { tid: 11, wait: Field::Available(futex(0x80)) },
                ThreadWait { tid: 12, wait: Field::Available(io) },
                ThreadWait { tid: 13, wait: Field::Available(KernelWait::Running) },
                ThreadWait { tid: 14, wait: Field::Unavailable(Reason::Denied) },
                ThreadWait { tid: 15, wait: Field::Available(futex(0x80)) },
                ThreadWait { tid: 16, wait: Field::Available(futex(0xc0)) },
            ],
            locks: vec![
                FutexLock {
                    address: 0x40,
                    pi: false,
                    owner: LockOwner::Known { tid: 13, kind: None },
                    waiters: vec![10],
                },
                FutexLock {
                    address: 0x80,
                    pi: false,
                    owner: LockOwner::Unknown(OwnerUnknown::NotRecorded { detail: "kind" }),
                    waiters: vec![11, 15],
                },
                FutexLock {
                    address: 0xc0,
                    pi: false,
                    owner: LockOwner::Unknown(OwnerUnknown::NotRecorded { detail: "kind" }),
                    waiters: vec![16],
                },
            ],
            deadlocks: Vec::new(),
            missing_permission: None,
        }
    }

    #[test]
    fn waits_become_typed_runtime_waits_joined_to_their_locks_by_id() {
        let (threads, locks) = facts_of(&waits(), &ThreadFacts::default());
        let mutex = runtime_lock_id(LockSource::Kernel, 0x40);
        let wait = |tid: u32| threads[&tid].wait.clone().unwrap();
        assert_eq!(wait(10).kind, WaitKind::Primitive(PrimitiveKind::Mutex));
        assert_eq!((wait(10).lock, &*wait(10).name), (Some(mutex), "0x40"));
        assert_eq!(wait(10).role.as_deref(), Some("FUTEX_WAIT"));
        assert_eq!(wait(11).kind, WaitKind::Primitive(PrimitiveKind::Futex));
        assert_eq!((wait(12).kind, &*wait(12).name), (WaitKind::Io, "read on fd 3"));
        assert_eq!(wait(12).waited, None, "the kernel does not say since when");
        assert!(!threads.contains_key(&13), "a running thread waits for nothing");
        assert!(!threads.contains_key(&14), "an unreadable wait is left to the kernel view");
        assert_eq!(
            (locks[0].kind, locks[0].holders.clone(), locks[0].waiters.clone()),
            (PrimitiveKind::Mutex, vec![13], vec![10])
        );
        assert_eq!(locks[1].owner_note.as_deref(), Some("owner not recorded by this kind of lock"));
        assert!(locks[1].holders.is_empty());
        assert_eq!(locks.len(), 2, "a lone sleeper on an owner-less futex is no lock");
        assert_eq!((wait(16).kind, wait(16).lock), (WaitKind::Primitive(PrimitiveKind::Futex), None));
    }

    #[test]
    fn a_resumed_call_keeps_the_words_of_the_call_seen_before_it() {
        let sleep = KernelWait::Sleep {
            call: "clock_nanosleep",
            clock: crate::kernel::SleepClock::Monotonic,
            absolute: false,
            length: Some(std::time::Duration::from_secs(3600)),
            remaining: None,
            deadline: None,
        };
        let mut first = waits();
        first.threads.push(ThreadWait { tid: 17, wait: Field::Available(sleep) });
        let (before, _) = facts_of(&first, &ThreadFacts::default());
        // Each thread stopped for its stack comes back in restart_syscall.
        let mut after = waits();
        for tid in [10, 17, 18] {
            after.threads.retain(|t| t.tid != tid);
            after.threads.push(ThreadWait { tid, wait: Field::Available(KernelWait::Resumed) });
        }
        after.locks.retain(|l| l.address != 0x40);
        let (threads, _) = facts_of(&after, &before);
        let wait = |tid: u32| threads[&tid].wait.clone().unwrap();
        assert_eq!(wait(17).kind, WaitKind::Sleep);
        assert_eq!(&*wait(17).name, "clock_nanosleep for 1h00m (resumed after a stop)");
        // A futex wait keeps its kind; its lock only while the lock is a row.
        assert_eq!((wait(10).kind, wait(10).lock), (WaitKind::Primitive(PrimitiveKind::Mutex), None));
        // Never seen before: the kernel's own words.
        assert_eq!(wait(18).kind, WaitKind::Syscall);
        assert!(wait(18).name.starts_with("restart_syscall"), "{}", wait(18).name);
        // Resumed again on the next reading: said once.
        let (again, _) = facts_of(&after, &threads);
        assert_eq!(
            &*again[&17].wait.clone().unwrap().name,
            "clock_nanosleep for 1h00m (resumed after a stop)"
        );
        // One seen only resuming, then resuming again: its words, not "resumed" twice.
        let eighteen = again[&18].wait.clone().unwrap();
        assert!(
            eighteen.name.starts_with("restart_syscall") && !eighteen.name.contains("(resumed after"),
            "{}",
            eighteen.name
        );
    }

    #[test]
    fn an_absolute_sleep_s_time_left_is_said_anew_when_its_facts_are_handed_back() {
        use std::time::Duration;
        let now = crate::sys::clock_now(libc::CLOCK_MONOTONIC).unwrap();
        let sleep = KernelWait::Sleep {
            call: "clock_nanosleep",
            clock: crate::kernel::SleepClock::Monotonic,
            absolute: true,
            length: None,
            remaining: Some(Duration::from_secs(3600)),
            deadline: Some(now + Duration::from_secs(600)),
        };
        let mut asleep = waits();
        asleep.threads.push(ThreadWait { tid: 17, wait: Field::Available(sleep) });
        let mut source = KernelSource::new(1);
        (source.last, _) = facts_of(&asleep, &ThreadFacts::default());
        let name = |source: &KernelSource| source.last[&17].wait.as_ref().unwrap().name.to_string();
        assert_eq!(name(&source), "clock_nanosleep, 1h00m left", "as read");
        source.sleeps = absolute_sleeps(&asleep, FxHashMap::default());
        source.say_time_left();
        assert!(["clock_nanosleep, 10m00s left", "clock_nanosleep, 9m59s left"].contains(&&*name(&source)));
        // Seen resumed after a stop: the same deadline, said so.
        let mut resumed = waits();
        resumed.threads.push(ThreadWait { tid: 17, wait: Field::Available(KernelWait::Resumed) });
        source.sleeps = absolute_sleeps(&resumed, std::mem::take(&mut source.sleeps));
        (source.last, _) = facts_of(&resumed, &source.last);
        source.say_time_left();
        assert!(name(&source).ends_with("s left (resumed after a stop)"), "{}", name(&source));
        assert!(!name(&source).contains("1h00m"), "{}", name(&source));
    }
}
