//! The number spaces of a snapshot's identities: thread keys and primitive
//! ids. The registry counts its own up from 1; the ones made here for what
//! only the kernel or a runtime knows sit above it, apart from each other,
//! and all of them below 2^53 — JSON readers that take numbers as doubles
//! (`jq`, JavaScript) would otherwise merge neighbouring ids into one.
//!
//! | range | what |
//! |---|---|
//! | 1 … 2^50 | the registry's thread and primitive ids |
//! | 2^50 + TID | a thread named by TID that no sample shows (a link only) |
//! | 2^51 + source · 2^48 + address | a runtime's lock ([`LockSource`]) |
//! | 2^52 + start time · 2^22 + TID | a thread only the kernel knows |

use crate::kernel::ThreadKey;

/// Where a runtime lock comes from, in the bits above its address, so ids
/// never collide with the registry's or each other.
#[derive(Debug, Clone, Copy)]
pub enum LockSource {
    /// A futex address seen through the kernel.
    Kernel = 1,
    /// A JVM monitor or synchronizer address.
    Jvm = 2,
    /// A primitive's id in a program's agent (docs/agent-protocol.md).
    Agent = 3,
}

/// Bits of a lock's address kept in its id: all of a 4-level x86-64 or
/// arm64 user address space.
const ADDRESS_BITS: u32 = 48;
/// Bits of a TID (Linux's `pid_max` is at most 2^22).
const TID_BITS: u32 = 22;
/// Bits of a thread's start time (clock ticks since boot) kept in its key:
/// 2^30 ticks is 124 days at 100 Hz, and a TID reused that much later
/// whose old thread is still on record is not a case to lose sleep over.
const START_BITS: u32 = 30;

/// The id of the runtime lock at `address` from `source`.
pub fn runtime_lock_id(source: LockSource, address: u64) -> u64 {
    (1 << 51) | ((source as u64) << ADDRESS_BITS) | (address & ((1 << ADDRESS_BITS) - 1))
}

/// A stable key for a thread only the kernel knows.
pub(crate) fn kernel_thread_key(key: ThreadKey) -> u64 {
    (1 << 52)
        | ((key.starttime & ((1 << START_BITS) - 1)) << TID_BITS)
        | u64::from(key.tid & ((1 << TID_BITS) - 1))
}

/// The key of a link to a thread no sample shows, known by its TID only.
pub(crate) fn unknown_thread_key(tid: u32) -> u64 {
    (1 << 50) | u64::from(tid & ((1 << TID_BITS) - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAFE: u64 = 1 << 53;

    #[test]
    fn every_id_survives_a_json_reader_that_reads_doubles() {
        let biggest = [
            runtime_lock_id(LockSource::Agent, u64::MAX),
            kernel_thread_key(ThreadKey { tid: u32::MAX, starttime: u64::MAX }),
            unknown_thread_key(u32::MAX),
        ];
        for id in biggest {
            assert!(id < SAFE, "{id:#x}");
            assert_eq!(id as f64 as u64, id, "exact as a double");
        }
    }

    #[test]
    fn the_spaces_stay_apart() {
        let registry = 1..(1 << 50);
        let unknown = unknown_thread_key(0)..=unknown_thread_key(u32::MAX);
        let locks = runtime_lock_id(LockSource::Kernel, 0)..=runtime_lock_id(LockSource::Agent, u64::MAX);
        let kernel = kernel_thread_key(ThreadKey { tid: 0, starttime: 0 })..=kernel_thread_key(ThreadKey {
            tid: u32::MAX,
            starttime: u64::MAX,
        });
        assert!(registry.end <= *unknown.start());
        assert!(unknown.end() < locks.start());
        assert!(locks.end() < kernel.start());
        // Sources apart at the same address; threads apart by TID and by start.
        assert_ne!(runtime_lock_id(LockSource::Kernel, 0x40), runtime_lock_id(LockSource::Jvm, 0x40));
        let key = |tid, starttime| kernel_thread_key(ThreadKey { tid, starttime });
        assert_ne!(key(7, 100), key(7, 101));
        assert_ne!(key(7, 100), key(8, 100));
    }
}
