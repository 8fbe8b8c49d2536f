//! Who owns a glibc `pthread_mutex_t`, from its first 20 bytes read out of
//! the process — believed only when every field looks like a locked glibc
//! mutex.
//!
//! glibc's `struct __pthread_mutex_s` on LP64 (x86_64:
//! `sysdeps/x86/nptl/bits/struct_mutex.h`; aarch64:
//! `sysdeps/aarch64/nptl/bits/struct_mutex.h`, the same first five fields):
//!
//! ```text
//!  offset 0   int          __lock    the futex word: 0 free, 1 locked, 2 locked with waiters;
//!                                    robust and PI kinds: owner TID | FUTEX_WAITERS | FUTEX_OWNER_DIED
//!  offset 4   unsigned int __count   recursion depth (recursive kinds)
//!  offset 8   int          __owner   TID of the holder, written by pthread_mutex_lock after it takes the word
//!  offset 12  unsigned int __nusers  holders (≥ 1 while locked)
//!  offset 16  int          __kind    PTHREAD_MUTEX_{NORMAL,RECURSIVE,ERRORCHECK,ADAPTIVE} | ROBUST (16)
//!                                    | PRIO_INHERIT (32) | PRIO_PROTECT (64) | PSHARED (128)
//!                                    | ELISION (256) | NO_ELISION (512) | ceiling << 19
//! ```
//!
//! glibc's waiters sleep in `FUTEX_WAIT` (untimed `pthread_mutex_lock`),
//! `FUTEX_WAIT_BITSET` with a timeout (`pthread_mutex_timedlock`) or
//! `FUTEX_LOCK_PI`/`FUTEX_LOCK_PI2` (PI kinds). For the PI kinds the kernel
//! itself keeps the owner's TID in the futex word, so the word is the
//! owner whatever the library.

use super::futex_op::FutexOp;
use serde::Serialize;

/// How many bytes of the mutex are read.
pub(crate) const MUTEX_PREFIX: usize = 20;

/// `FUTEX_TID_MASK`: the owner's TID in a PI or robust futex word.
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// glibc's `PTHREAD_MUTEX_INCONSISTENT`: a robust mutex whose owner died.
const OWNER_INCONSISTENT: i32 = 0x7fff_ffff;

const KIND_MASK: i32 = 3;
const ROBUST: i32 = 16;
const PRIO_INHERIT: i32 = 32;
const PRIO_PROTECT: i32 = 64;
const PSHARED: i32 = 128;
const ELISION: i32 = 256;
const NO_ELISION: i32 = 512;
/// Priority ceilings (0–127 in practice) sit at bit 19 and up.
const CEILING_SHIFT: i32 = 19;
const KNOWN_FLAGS: i32 = KIND_MASK | ROBUST | PRIO_INHERIT | PRIO_PROTECT | PSHARED | ELISION | NO_ELISION;

/// A glibc mutex's type (`PTHREAD_MUTEX_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MutexType {
    /// `PTHREAD_MUTEX_NORMAL` (the default).
    Normal,
    /// `PTHREAD_MUTEX_RECURSIVE`.
    Recursive,
    /// `PTHREAD_MUTEX_ERRORCHECK`.
    ErrorCheck,
    /// `PTHREAD_MUTEX_ADAPTIVE_NP`.
    Adaptive,
}

/// A glibc mutex's protocol (`PTHREAD_PRIO_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MutexProtocol {
    /// `PTHREAD_PRIO_NONE`.
    None,
    /// `PTHREAD_PRIO_INHERIT`: a PI futex.
    Inherit,
    /// `PTHREAD_PRIO_PROTECT`: a priority ceiling.
    Protect,
}

/// What a glibc mutex's `__kind` says it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct MutexKind {
    /// Normal, recursive, error-checking or adaptive.
    #[serde(rename = "type")]
    pub mutex_type: MutexType,
    /// Its priority protocol.
    pub protocol: MutexProtocol,
    /// `PTHREAD_MUTEX_ROBUST`.
    pub robust: bool,
    /// `PTHREAD_PROCESS_SHARED`.
    pub shared: bool,
}

impl MutexKind {
    /// Decodes a `__kind` field; `None` unless it is a kind glibc makes.
    pub fn decode(kind: i32) -> Option<MutexKind> {
        if kind < 0 || kind & (ELISION | NO_ELISION) == ELISION | NO_ELISION {
            return None;
        }
        let protocol = match (kind & PRIO_INHERIT != 0, kind & PRIO_PROTECT != 0) {
            (false, false) => MutexProtocol::None,
            (true, false) => MutexProtocol::Inherit,
            (false, true) => MutexProtocol::Protect,
            (true, true) => return None,
        };
        let ceiling = kind >> CEILING_SHIFT;
        let stray = kind & !KNOWN_FLAGS & ((1 << CEILING_SHIFT) - 1);
        if stray != 0 || (ceiling != 0 && protocol != MutexProtocol::Protect) || ceiling > 127 {
            return None;
        }
        let mutex_type = match kind & KIND_MASK {
            0 => MutexType::Normal,
            1 => MutexType::Recursive,
            2 => MutexType::ErrorCheck,
            _ => MutexType::Adaptive,
        };
        Some(MutexKind { mutex_type, protocol, robust: kind & ROBUST != 0, shared: kind & PSHARED != 0 })
    }
}

/// Why a lock's owner is not known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum OwnerUnknown {
    /// The memory at the address is not a locked glibc mutex its waiters
    /// could be sleeping on: a lock that records no owner (Rust's
    /// `std::sync::Mutex`, parking_lot, a JVM monitor, CPython's locks), a
    /// condition variable, a semaphore, an event.
    NotRecorded {
        /// Which check failed, for the curious.
        detail: &'static str,
    },
    /// The word reads unlocked: the lock was just released and its waiters
    /// are being woken.
    Unlocked,
    /// The recorded owner is not a live thread of the process (it exited
    /// holding the lock, or the bytes were not a mutex after all).
    OwnerNotLive {
        /// The TID the memory named.
        tid: u32,
    },
    /// The process's memory may not be read (see
    /// [`MissingPermission`](super::MissingPermission)).
    Denied,
    /// The address was not mapped, or the process ended.
    Unreadable,
    /// glibc's mutex layout is not known for this architecture.
    UnsupportedArchitecture,
}

impl std::fmt::Display for OwnerUnknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OwnerUnknown::NotRecorded { .. } => f.write_str("owner not recorded by this kind of lock"),
            OwnerUnknown::Unlocked => f.write_str("owner unknown: the lock was just released"),
            OwnerUnknown::OwnerNotLive { tid } => write!(f, "owner unknown: tid {tid} is not a live thread"),
            OwnerUnknown::Denied => f.write_str("owner unknown: no permission to read the process's memory"),
            OwnerUnknown::Unreadable => f.write_str("owner unknown: the lock's memory could not be read"),
            OwnerUnknown::UnsupportedArchitecture => {
                f.write_str("owner unknown: glibc's mutex layout is not known for this architecture")
            }
        }
    }
}

/// How the waiters sleep on one address: the evidence besides the memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct WaiterEvidence {
    /// Some waiter is in `FUTEX_LOCK_PI`/`FUTEX_LOCK_PI2`.
    pub(crate) pi_lock: bool,
    /// Some waiter sleeps the way glibc's non-PI mutex waiters do:
    /// `FUTEX_WAIT`, or `FUTEX_WAIT_BITSET` with a timeout, expecting the
    /// word to read 2 (locked, with waiters) or, for a robust mutex, an
    /// owner's TID with `FUTEX_WAITERS`. A condition variable's waiters
    /// (`pthread_cond_timedwait` is a timed `FUTEX_WAIT_BITSET` too)
    /// expect a sequence word, most often 0.
    pub(crate) glibc_style: bool,
}

/// `FUTEX_WAITERS`: set in a robust or PI futex word that has waiters.
const FUTEX_WAITERS: u32 = 0x8000_0000;

impl WaiterEvidence {
    /// Adds a waiter in `op` (`timed`: with a timeout) that expected the
    /// word to read `expected`.
    pub(crate) fn add(&mut self, op: FutexOp, timed: bool, expected: u32) {
        self.pi_lock |= op.is_pi_lock();
        let mutex_word = expected == 2 || expected & FUTEX_WAITERS != 0 && expected & FUTEX_TID_MASK != 0;
        self.glibc_style |= mutex_word && (op == FutexOp::Wait || (op == FutexOp::WaitBitset && timed));
    }
}

/// The owner the bytes name, before checking that it is a live thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Claimed {
    pub(crate) tid: u32,
    pub(crate) kind: Option<MutexKind>,
}

fn int_at(bytes: &[u8; MUTEX_PREFIX], offset: usize) -> i32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[offset..offset + 4]);
    i32::from_ne_bytes(word)
}

/// Judges the first [`MUTEX_PREFIX`] bytes at a futex address that threads
/// wait on as `evidence` says. Total: any bytes give a claim or a reason.
pub(crate) fn claimed_owner(
    bytes: &[u8; MUTEX_PREFIX],
    evidence: WaiterEvidence,
) -> Result<Claimed, OwnerUnknown> {
    let word = int_at(bytes, 0) as u32;
    let (count, owner, users) = (int_at(bytes, 4), int_at(bytes, 8), int_at(bytes, 12) as u32);
    let kind = MutexKind::decode(int_at(bytes, 16));
    if evidence.pi_lock {
        // The kernel's own PI protocol: the word holds the owner's TID.
        let tid = word & FUTEX_TID_MASK;
        if tid == 0 {
            return Err(OwnerUnknown::Unlocked);
        }
        return Ok(Claimed { tid, kind: kind.filter(|k| k.protocol == MutexProtocol::Inherit) });
    }
    let not_recorded = |detail| Err(OwnerUnknown::NotRecorded { detail });
    if !evidence.glibc_style {
        return not_recorded("its waiters do not sleep the way glibc mutex waiters do");
    }
    let Some(kind) = kind else { return not_recorded("no glibc mutex kind at offset 16") };
    if kind.protocol == MutexProtocol::Inherit {
        return not_recorded("a PI mutex's waiters would be in FUTEX_LOCK_PI");
    }
    if int_at(bytes, 16) & ELISION != 0 {
        return not_recorded("an elided glibc mutex records no owner");
    }
    if word == 0 {
        return Err(OwnerUnknown::Unlocked);
    }
    let word_ok = if kind.robust {
        word & FUTEX_TID_MASK != 0 && (owner == OWNER_INCONSISTENT || word & FUTEX_TID_MASK == owner as u32)
    } else if kind.protocol == MutexProtocol::Protect {
        true // the word holds the ceiling and a locked bit
    } else {
        word == 1 || word == 2
    };
    if !word_ok {
        return not_recorded("the lock word is not a locked glibc mutex's");
    }
    if owner <= 0 || owner == OWNER_INCONSISTENT || owner as u32 > FUTEX_TID_MASK {
        return not_recorded("no owner TID at offset 8");
    }
    if users == 0 {
        return not_recorded("no holder counted at offset 12");
    }
    if kind.mutex_type == MutexType::Recursive && count <= 0 {
        return not_recorded("a locked recursive mutex with no recursion count");
    }
    Ok(Claimed { tid: owner as u32, kind: Some(kind) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutex(lock: u32, count: u32, owner: i32, users: u32, kind: i32) -> [u8; MUTEX_PREFIX] {
        let mut bytes = [0u8; MUTEX_PREFIX];
        for (i, word) in [lock, count, owner as u32, users, kind as u32].into_iter().enumerate() {
            bytes[i * 4..i * 4 + 4].copy_from_slice(&word.to_ne_bytes());
        }
        bytes
    }

    const GLIBC: WaiterEvidence = WaiterEvidence { pi_lock: false, glibc_style: true };
    const PI: WaiterEvidence = WaiterEvidence { pi_lock: true, glibc_style: false };
    const BITSET: WaiterEvidence = WaiterEvidence { pi_lock: false, glibc_style: false };

    #[test]
    fn a_contended_normal_mutex() {
        let claim = claimed_owner(&mutex(2, 0, 4242, 1, 0), GLIBC).unwrap();
        assert_eq!(claim.tid, 4242);
        assert_eq!(claim.kind.unwrap().mutex_type, MutexType::Normal);
    }

    #[test]
    fn recursive_robust_and_errorcheck_kinds() {
        assert_eq!(claimed_owner(&mutex(2, 3, 7, 1, 1), GLIBC).unwrap().tid, 7);
        assert!(claimed_owner(&mutex(2, 0, 7, 1, 1), GLIBC).is_err(), "recursive needs a count");
        assert_eq!(claimed_owner(&mutex(0x8000_0007, 1, 7, 1, 16), GLIBC).unwrap().tid, 7);
        assert!(claimed_owner(&mutex(0x8000_0008, 1, 7, 1, 16), GLIBC).is_err(), "robust word names another");
        let errorcheck = claimed_owner(&mutex(2, 0, 9, 1, 2 | 128), GLIBC).unwrap().kind.unwrap();
        assert_eq!((errorcheck.mutex_type, errorcheck.shared), (MutexType::ErrorCheck, true));
    }

    #[test]
    fn pi_owner_is_the_word() {
        let claim = claimed_owner(&mutex(0x8000_1234, 0, 0x1234, 1, 32), PI).unwrap();
        assert_eq!(claim.tid, 0x1234);
        assert_eq!(claim.kind.unwrap().protocol, MutexProtocol::Inherit);
        assert_eq!(claimed_owner(&mutex(0x4000_0000, 0, 0, 0, 32), PI), Err(OwnerUnknown::Unlocked));
        // Not glibc at all: the kernel's word still names the owner.
        assert_eq!(claimed_owner(&mutex(55, 9, 9, 9, -1), PI).unwrap(), Claimed { tid: 55, kind: None });
    }

    #[test]
    fn locks_without_an_owner_field_are_not_guessed() {
        // Rust's std Mutex<u64> holding 0: word 2, poison flag, then the data.
        let rust = mutex(2, 0, 0, 0, 0);
        assert!(matches!(claimed_owner(&rust, GLIBC), Err(OwnerUnknown::NotRecorded { .. })));
        assert!(matches!(
            claimed_owner(&mutex(2, 0, 4242, 1, 0), BITSET),
            Err(OwnerUnknown::NotRecorded { .. })
        ));
        assert!(matches!(
            claimed_owner(&mutex(1, 0, 5, 1, 0x7777), GLIBC),
            Err(OwnerUnknown::NotRecorded { .. })
        ));
        assert!(matches!(claimed_owner(&mutex(3, 0, 5, 1, 0), GLIBC), Err(OwnerUnknown::NotRecorded { .. })));
        assert!(matches!(claimed_owner(&mutex(2, 0, 5, 0, 0), GLIBC), Err(OwnerUnknown::NotRecorded { .. })));
        assert!(matches!(
            claimed_owner(&mutex(2, 0, 5, 1, 256), GLIBC),
            Err(OwnerUnknown::NotRecorded { .. })
        ));
        assert_eq!(claimed_owner(&mutex(0, 0, 0, 0, 0), GLIBC), Err(OwnerUnknown::Unlocked));
        assert_eq!(
            OwnerUnknown::NotRecorded { detail: "" }.to_string(),
            "owner not recorded by this kind of lock"
        );
    }

    #[test]
    fn kinds() {
        assert_eq!(MutexKind::decode(3).unwrap().mutex_type, MutexType::Adaptive);
        let protect = MutexKind::decode(64 | (10 << 19)).unwrap();
        assert_eq!(protect.protocol, MutexProtocol::Protect);
        assert_eq!(MutexKind::decode(10 << 19), None, "a ceiling without PRIO_PROTECT");
        assert_eq!(MutexKind::decode(32 | 64), None);
        assert_eq!(MutexKind::decode(-1), None, "a destroyed mutex");
        assert_eq!(MutexKind::decode(1 << 12), None);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_bytes_give_a_verdict(bytes in any::<[u8; MUTEX_PREFIX]>(), pi: bool, glibc: bool) {
                let verdict = claimed_owner(&bytes, WaiterEvidence { pi_lock: pi, glibc_style: glibc });
                if let Ok(claim) = verdict {
                    prop_assert!(claim.tid != 0 && claim.tid <= FUTEX_TID_MASK);
                }
            }

            #[test]
            fn any_locked_normal_mutex_names_its_owner(owner in 1i32..0x3fff_ffff, word in 1u32..3, users in 1u32..10) {
                let claim = claimed_owner(&super::mutex(word, 0, owner, users, 0), super::GLIBC);
                prop_assert_eq!(claim.map(|c| c.tid), Ok(owner as u32));
            }
        }
    }
}
