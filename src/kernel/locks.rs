//! Futex locks of one process — address, owner, waiters — and the
//! deadlocks among them: thread → lock → owner edges and their cycles, all
//! by TID.

use super::futex_op::FutexOp;
use super::glibc_mutex::{Claimed, MUTEX_PREFIX, MutexKind, OwnerUnknown, WaiterEvidence, claimed_owner};
use serde::Serialize;
use std::collections::HashMap;
use std::io;

/// Who holds a [`FutexLock`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LockOwner {
    /// A live thread of the process, validated.
    Known {
        /// Its TID.
        tid: u32,
        /// The glibc mutex kind, when the memory is one.
        kind: Option<MutexKind>,
    },
    /// Not known, and why.
    Unknown(OwnerUnknown),
}

impl LockOwner {
    /// The owner's TID, when known.
    pub fn tid(&self) -> Option<u32> {
        match self {
            LockOwner::Known { tid, .. } => Some(*tid),
            LockOwner::Unknown(_) => None,
        }
    }
}

/// Threads of one process asleep on one futex address, and who holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FutexLock {
    /// The futex word's address in the process.
    pub address: u64,
    /// A priority-inheritance lock (its waiters are in `FUTEX_LOCK_PI`).
    pub pi: bool,
    /// Its owner, or why that is not known.
    pub owner: LockOwner,
    /// The TIDs asleep on it, ascending.
    pub waiters: Vec<u32>,
}

/// One wait-for edge: `waiter` sleeps on `lock`, which `owner` holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct WaitEdge {
    /// The waiting thread's TID.
    pub waiter: u32,
    /// The lock's futex address.
    pub lock: u64,
    /// The holder's TID.
    pub owner: u32,
}

/// A deadlock among futex locks: `threads[i]` waits for `locks[i]`, held
/// by `threads[(i + 1) % n]`. Starts from the lowest TID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LockCycle {
    /// The threads, in wait order.
    pub threads: Vec<u32>,
    /// The locks between them.
    pub locks: Vec<u64>,
}

impl LockCycle {
    /// `tid 12 waits for 0x55…40 held by tid 13; …`, for a text dump.
    pub fn describe(&self) -> String {
        let n = self.threads.len();
        let parts: Vec<String> = (0..n)
            .map(|i| {
                let (waiter, lock, owner) = (self.threads[i], self.locks[i], self.threads[(i + 1) % n]);
                format!("tid {waiter} waits for {lock:#x} held by tid {owner}")
            })
            .collect();
        parts.join("; ")
    }
}

/// Reads a process's memory. [`ProcessMemory`] in real use; tests give
/// bytes.
pub(crate) trait Memory {
    /// Fills `buf` from `address`, or says why not.
    fn read(&mut self, address: u64, buf: &mut [u8]) -> io::Result<()>;
}

/// `process_vm_readv` on one process, remembering whether it was refused.
pub(crate) struct ProcessMemory {
    pub(crate) pid: u32,
    pub(crate) denied: bool,
}

impl Memory for ProcessMemory {
    fn read(&mut self, address: u64, buf: &mut [u8]) -> io::Result<()> {
        match crate::sys::read_process_memory(self.pid, address, buf) {
            Ok(n) if n == buf.len() => Ok(()),
            Ok(_) => Err(io::Error::from_raw_os_error(libc::EFAULT)),
            Err(err) => {
                if err.raw_os_error() == Some(libc::EPERM) {
                    self.denied = true;
                }
                Err(err)
            }
        }
    }
}

/// Groups the threads asleep in a futex wait by address and judges each
/// address's owner: one read of [`MUTEX_PREFIX`] bytes per address. `waits`
/// gives each waiting thread's TID, address, operation, whether it was
/// timed and the value it expected the word to have; `is_live` says
/// whether a TID is a live thread of the process.
pub(crate) fn futex_locks(
    waits: impl IntoIterator<Item = (u32, u64, FutexOp, bool, u32)>,
    memory: &mut dyn Memory,
    is_live: &mut dyn FnMut(u32) -> bool,
) -> Vec<FutexLock> {
    // Grouped by sorting, not a map of lists: 10,000 threads parked each
    // on a futex of its own are 10,000 groups of one.
    let mut waits: Vec<(u64, u32, FutexOp, bool, u32)> = waits
        .into_iter()
        .map(|(tid, address, op, timed, expected)| (address, tid, op, timed, expected))
        .collect();
    waits.sort_unstable_by_key(|&(address, tid, ..)| (address, tid));
    waits
        .chunk_by(|a, b| a.0 == b.0)
        .map(|group| {
            let mut evidence = WaiterEvidence::default();
            for &(_, _, op, timed, expected) in group {
                evidence.add(op, timed, expected);
            }
            let mut waiters: Vec<u32> = group.iter().map(|&(_, tid, ..)| tid).collect();
            waiters.dedup();
            let address = group[0].0;
            let owner = judge(address, evidence, memory, is_live);
            FutexLock { address, pi: evidence.pi_lock, owner, waiters }
        })
        .collect()
}

fn judge(
    address: u64,
    evidence: WaiterEvidence,
    memory: &mut dyn Memory,
    is_live: &mut dyn FnMut(u32) -> bool,
) -> LockOwner {
    if !cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) && !evidence.pi_lock {
        return LockOwner::Unknown(OwnerUnknown::UnsupportedArchitecture);
    }
    if !evidence.pi_lock && !evidence.glibc_style {
        // Decided without the memory (see `claimed_owner`): no read at all
        // for the commonest sleepers, parked threads of std and parking_lot.
        return LockOwner::Unknown(OwnerUnknown::NotRecorded {
            detail: "its waiters do not sleep the way glibc mutex waiters do",
        });
    }
    let mut bytes = [0u8; MUTEX_PREFIX];
    // A PI futex needs only its word (and a lock at the end of a mapping
    // may have nothing readable after it).
    let wanted = if evidence.pi_lock { 4 } else { MUTEX_PREFIX };
    if let Err(err) = memory.read(address, &mut bytes[..wanted]) {
        let why = if err.raw_os_error() == Some(libc::EPERM) {
            OwnerUnknown::Denied
        } else {
            OwnerUnknown::Unreadable
        };
        return LockOwner::Unknown(why);
    }
    if evidence.pi_lock && memory.read(address + 4, &mut bytes[4..]).is_err() {
        bytes[4..].fill(0xff); // no kind to report
    }
    match claimed_owner(&bytes, evidence) {
        Ok(Claimed { tid, kind }) if is_live(tid) => LockOwner::Known { tid, kind },
        Ok(Claimed { tid, .. }) => LockOwner::Unknown(OwnerUnknown::OwnerNotLive { tid }),
        Err(why) => LockOwner::Unknown(why),
    }
}

/// The wait-for edges of `locks`: each waiter of a lock with a known owner
/// points at that owner. Sorted.
pub fn wait_edges(locks: &[FutexLock]) -> Vec<WaitEdge> {
    let mut edges: Vec<WaitEdge> = locks
        .iter()
        .filter_map(|lock| Some((lock, lock.owner.tid()?)))
        .flat_map(|(lock, owner)| {
            lock.waiters.iter().map(move |&waiter| WaitEdge { waiter, lock: lock.address, owner })
        })
        .collect();
    edges.sort_unstable();
    edges
}

/// Every cycle among `edges`, each once, starting from its lowest TID,
/// ordered by that TID. A thread sleeps in one system call, so it has at
/// most one edge out; if `edges` give one thread several, the lowest lock
/// is followed.
pub fn find_cycles(edges: &[WaitEdge]) -> Vec<LockCycle> {
    let mut next: HashMap<u32, (u64, u32)> = HashMap::new();
    for edge in edges {
        next.entry(edge.waiter)
            .and_modify(|e| *e = (*e).min((edge.lock, edge.owner)))
            .or_insert((edge.lock, edge.owner));
    }
    // 0 unvisited, 1 on the current walk, 2 done.
    let mut state: HashMap<u32, u8> = HashMap::new();
    let mut starts: Vec<u32> = next.keys().copied().collect();
    starts.sort_unstable();
    let mut cycles = Vec::new();
    for start in starts {
        let mut walk = Vec::new();
        let mut at = start;
        while state.get(&at).copied().unwrap_or(0) == 0 {
            state.insert(at, 1);
            walk.push(at);
            match next.get(&at) {
                Some(&(_, owner)) => at = owner,
                None => break,
            }
        }
        if state.get(&at) == Some(&1) && next.contains_key(&at) {
            let from = walk.iter().position(|&t| t == at).unwrap_or(0);
            let mut threads = walk[from..].to_vec();
            let lowest = threads.iter().enumerate().min_by_key(|&(_, t)| *t).map_or(0, |(i, _)| i);
            threads.rotate_left(lowest);
            let locks = threads.iter().map(|t| next[t].0).collect();
            cycles.push(LockCycle { threads, locks });
        }
        for tid in walk {
            state.insert(tid, 2);
        }
    }
    cycles.sort_by_key(|c| c.threads[0]);
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory given as (address, bytes) pieces.
    struct Fake(Vec<(u64, Vec<u8>)>);

    impl Memory for Fake {
        fn read(&mut self, address: u64, buf: &mut [u8]) -> io::Result<()> {
            for (start, bytes) in &self.0 {
                if address >= *start && address + buf.len() as u64 <= start + bytes.len() as u64 {
                    let from = (address - start) as usize;
                    buf.copy_from_slice(&bytes[from..from + buf.len()]);
                    return Ok(());
                }
            }
            Err(io::Error::from_raw_os_error(libc::EFAULT))
        }
    }

    fn normal_mutex(owner: u32) -> Vec<u8> {
        [2u32, 0, owner, 1, 0].iter().flat_map(|w| w.to_ne_bytes()).collect()
    }

    fn edge(waiter: u32, lock: u64, owner: u32) -> WaitEdge {
        WaitEdge { waiter, lock, owner }
    }

    #[test]
    fn an_abba_deadlock_with_a_third_waiter() {
        let mut memory = Fake(vec![(0xa0, normal_mutex(11)), (0xb0, normal_mutex(12))]);
        let waits = [
            (12, 0xa0, FutexOp::Wait, false, 2),
            (13, 0xa0, FutexOp::Wait, false, 2),
            (11, 0xb0, FutexOp::Wait, false, 2),
        ];
        let locks = futex_locks(waits, &mut memory, &mut |tid| (11..=13).contains(&tid));
        assert_eq!(locks.len(), 2);
        assert_eq!(locks[0].owner.tid(), Some(11));
        assert_eq!(locks[0].waiters, vec![12, 13]);
        let edges = wait_edges(&locks);
        assert_eq!(edges, vec![edge(11, 0xb0, 12), edge(12, 0xa0, 11), edge(13, 0xa0, 11)]);
        let cycles = find_cycles(&edges);
        assert_eq!(cycles, vec![LockCycle { threads: vec![11, 12], locks: vec![0xb0, 0xa0] }]);
        assert_eq!(
            cycles[0].describe(),
            "tid 11 waits for 0xb0 held by tid 12; tid 12 waits for 0xa0 held by tid 11"
        );
    }

    #[test]
    fn owners_that_are_not_live_or_not_readable() {
        let mut memory = Fake(vec![(0xa0, normal_mutex(99))]);
        let waits = [(1, 0xa0, FutexOp::Wait, false, 2), (2, 0xdead, FutexOp::Wait, false, 2)];
        let locks = futex_locks(waits, &mut memory, &mut |tid| tid < 10);
        assert_eq!(locks[0].owner, LockOwner::Unknown(OwnerUnknown::OwnerNotLive { tid: 99 }));
        assert_eq!(locks[1].owner, LockOwner::Unknown(OwnerUnknown::Unreadable));
        assert!(wait_edges(&locks).is_empty());
    }

    #[test]
    fn condition_variable_waiters_are_not_a_lock_just_released() {
        // pthread_cond_timedwait: a timed FUTEX_WAIT_BITSET, expecting a
        // sequence word of 0; the memory reads like an unlocked mutex.
        let mut memory = Fake(vec![(0xd0, vec![0u8; MUTEX_PREFIX])]);
        let cond = [(21, 0xd0, FutexOp::WaitBitset, true, 0), (22, 0xd0, FutexOp::WaitBitset, true, 0)];
        let locks = futex_locks(cond, &mut memory, &mut |_| true);
        assert!(matches!(locks[0].owner, LockOwner::Unknown(OwnerUnknown::NotRecorded { .. })), "{locks:?}");
        // A mutex's waiter expects 2; the word reading 0 then is a release.
        let mutex = [(23, 0xd0, FutexOp::Wait, false, 2)];
        let locks = futex_locks(mutex, &mut memory, &mut |_| true);
        assert_eq!(locks[0].owner, LockOwner::Unknown(OwnerUnknown::Unlocked));
    }

    #[test]
    fn a_pi_lock_needs_only_its_word() {
        let mut memory = Fake(vec![(0xc0, (0x8000_0000u32 | 7).to_ne_bytes().to_vec())]);
        let locks = futex_locks([(8, 0xc0, FutexOp::LockPi, false, 2)], &mut memory, &mut |_| true);
        assert_eq!(locks[0].owner, LockOwner::Known { tid: 7, kind: None });
        assert!(locks[0].pi);
    }

    #[test]
    fn cycles_of_one_two_and_three_and_a_tail() {
        let edges = [
            edge(5, 0x5, 5),
            edge(1, 0x1, 2),
            edge(2, 0x2, 3),
            edge(3, 0x3, 1),
            edge(4, 0x4, 1),
            edge(9, 0x9, 8),
        ];
        let cycles = find_cycles(&edges);
        assert_eq!(cycles.len(), 2);
        assert_eq!(cycles[0], LockCycle { threads: vec![1, 2, 3], locks: vec![0x1, 0x2, 0x3] });
        assert_eq!(cycles[1], LockCycle { threads: vec![5], locks: vec![0x5] });
        assert!(find_cycles(&[]).is_empty());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn every_cycle_follows_edges(raw in proptest::collection::vec((0u32..12, 0u64..4, 0u32..12), 0..24)) {
                let edges: Vec<WaitEdge> = raw.into_iter().map(|(w, l, o)| WaitEdge { waiter: w, lock: l, owner: o }).collect();
                let cycles = find_cycles(&edges);
                let mut seen = std::collections::HashSet::new();
                for cycle in &cycles {
                    prop_assert_eq!(cycle.threads.len(), cycle.locks.len());
                    prop_assert_eq!(cycle.threads[0], *cycle.threads.iter().min().unwrap());
                    for (i, &t) in cycle.threads.iter().enumerate() {
                        prop_assert!(seen.insert(t), "a thread in two cycles");
                        let owner = cycle.threads[(i + 1) % cycle.threads.len()];
                        let followed = WaitEdge { waiter: t, lock: cycle.locks[i], owner };
                        prop_assert!(edges.contains(&followed));
                    }
                }
            }
        }
    }
}
