//! The operation a `futex(2)` call was asked to do, decoded from its second
//! argument.

use serde::Serialize;

/// `FUTEX_PRIVATE_FLAG`: the futex is not shared with other processes.
const PRIVATE_FLAG: u64 = 128;
/// `FUTEX_CLOCK_REALTIME`: a timeout measured on the wall clock.
const CLOCK_REALTIME_FLAG: u64 = 256;
/// `FUTEX_CMD_MASK`, as the kernel applies it.
const CMD_MASK: u64 = !(PRIVATE_FLAG | CLOCK_REALTIME_FLAG);

/// A `futex` operation (the `FUTEX_*` command with the private and clock
/// flags taken off).
///
/// # Examples
///
/// ```
/// use threadscope::kernel::FutexOp;
/// // glibc's pthread_mutex_lock when it has to sleep: FUTEX_WAIT_PRIVATE.
/// assert_eq!(FutexOp::decode(0x80), (FutexOp::Wait, true));
/// assert_eq!(FutexOp::decode(6), (FutexOp::LockPi, false));
/// assert!(FutexOp::LockPi.is_wait());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FutexOp {
    /// `FUTEX_WAIT`: sleep while the word holds the expected value (a
    /// contended mutex, a condition, an event…).
    Wait,
    /// `FUTEX_WAKE`.
    Wake,
    /// `FUTEX_FD` (removed from Linux in 2.6.26).
    Fd,
    /// `FUTEX_REQUEUE`.
    Requeue,
    /// `FUTEX_CMP_REQUEUE`.
    CmpRequeue,
    /// `FUTEX_WAKE_OP`.
    WakeOp,
    /// `FUTEX_LOCK_PI`: take a priority-inheritance lock; the word holds
    /// the owner's TID.
    LockPi,
    /// `FUTEX_UNLOCK_PI`.
    UnlockPi,
    /// `FUTEX_TRYLOCK_PI`.
    TrylockPi,
    /// `FUTEX_WAIT_BITSET`: as `Wait`, with a wake mask and an absolute
    /// timeout (glibc's condition variables, semaphores and timed locks,
    /// Rust's `std::sync` primitives).
    WaitBitset,
    /// `FUTEX_WAKE_BITSET`.
    WakeBitset,
    /// `FUTEX_WAIT_REQUEUE_PI`: a condition wait to be requeued onto a PI
    /// lock.
    WaitRequeuePi,
    /// `FUTEX_CMP_REQUEUE_PI`.
    CmpRequeuePi,
    /// `FUTEX_LOCK_PI2`: `LockPi` with a timeout on a chosen clock (Linux
    /// 5.14, glibc 2.35's timed PI locks).
    LockPi2,
    /// A command this kernel module does not know.
    Unknown(u64),
}

impl FutexOp {
    /// The operation in `op` (the call's second argument), and whether the
    /// private flag was set. Never fails: an unknown command is
    /// [`FutexOp::Unknown`].
    pub fn decode(op: u64) -> (FutexOp, bool) {
        let command = match op & CMD_MASK {
            0 => FutexOp::Wait,
            1 => FutexOp::Wake,
            2 => FutexOp::Fd,
            3 => FutexOp::Requeue,
            4 => FutexOp::CmpRequeue,
            5 => FutexOp::WakeOp,
            6 => FutexOp::LockPi,
            7 => FutexOp::UnlockPi,
            8 => FutexOp::TrylockPi,
            9 => FutexOp::WaitBitset,
            10 => FutexOp::WakeBitset,
            11 => FutexOp::WaitRequeuePi,
            12 => FutexOp::CmpRequeuePi,
            13 => FutexOp::LockPi2,
            other => FutexOp::Unknown(other),
        };
        (command, op & PRIVATE_FLAG != 0)
    }

    /// True for the operations a thread sleeps in: waits and PI locks.
    /// The others (wakes, requeues, unlocks) return at once.
    pub fn is_wait(self) -> bool {
        matches!(
            self,
            FutexOp::Wait | FutexOp::WaitBitset | FutexOp::LockPi | FutexOp::LockPi2 | FutexOp::WaitRequeuePi
        )
    }

    /// True for the priority-inheritance locks, whose futex word the
    /// kernel itself keeps holding the owner's TID.
    pub fn is_pi_lock(self) -> bool {
        matches!(self, FutexOp::LockPi | FutexOp::LockPi2)
    }

    /// The kernel's name, e.g. `FUTEX_WAIT_BITSET`.
    pub fn name(self) -> &'static str {
        match self {
            FutexOp::Wait => "FUTEX_WAIT",
            FutexOp::Wake => "FUTEX_WAKE",
            FutexOp::Fd => "FUTEX_FD",
            FutexOp::Requeue => "FUTEX_REQUEUE",
            FutexOp::CmpRequeue => "FUTEX_CMP_REQUEUE",
            FutexOp::WakeOp => "FUTEX_WAKE_OP",
            FutexOp::LockPi => "FUTEX_LOCK_PI",
            FutexOp::UnlockPi => "FUTEX_UNLOCK_PI",
            FutexOp::TrylockPi => "FUTEX_TRYLOCK_PI",
            FutexOp::WaitBitset => "FUTEX_WAIT_BITSET",
            FutexOp::WakeBitset => "FUTEX_WAKE_BITSET",
            FutexOp::WaitRequeuePi => "FUTEX_WAIT_REQUEUE_PI",
            FutexOp::CmpRequeuePi => "FUTEX_CMP_REQUEUE_PI",
            FutexOp::LockPi2 => "FUTEX_LOCK_PI2",
            FutexOp::Unknown(_) => "FUTEX_?",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_masked_and_reported() {
        assert_eq!(FutexOp::decode(libc::FUTEX_WAIT_BITSET as u64 | 128 | 256), (FutexOp::WaitBitset, true));
        assert_eq!(FutexOp::decode(libc::FUTEX_LOCK_PI as u64 | 128), (FutexOp::LockPi, true));
        assert_eq!(FutexOp::decode(libc::FUTEX_WAIT_REQUEUE_PI as u64), (FutexOp::WaitRequeuePi, false));
        assert_eq!(FutexOp::decode(libc::FUTEX_WAKE as u64 | 128).0, FutexOp::Wake);
        assert_eq!(FutexOp::decode(13).0, FutexOp::LockPi2);
        assert_eq!(FutexOp::decode(99).0, FutexOp::Unknown(99));
        assert_eq!(FutexOp::decode(u64::MAX).0, FutexOp::Unknown(CMD_MASK));
    }

    #[test]
    fn waits_and_pi_locks() {
        assert!(FutexOp::Wait.is_wait() && !FutexOp::Wait.is_pi_lock());
        assert!(FutexOp::LockPi2.is_wait() && FutexOp::LockPi2.is_pi_lock());
        assert!(!FutexOp::Wake.is_wait() && !FutexOp::UnlockPi.is_wait());
        assert_eq!(FutexOp::WaitRequeuePi.name(), "FUTEX_WAIT_REQUEUE_PI");
        assert_eq!(serde_json::to_string(&FutexOp::WaitBitset).unwrap(), r#""wait_bitset""#);
    }
}
