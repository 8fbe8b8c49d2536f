//! What Linux says about every thread of a process: `/proc/<pid>/task/*`
//! read through a [`Sampler`], plus process and system figures from
//! sysinfo.
//!
//! ```text
//!  /proc/<pid>/task/         listed when the thread count changes
//!     <tid>/schedstat        kept open, pread each sample: has it run?
//!     <tid>/stat             kept open, pread if it ran ───▶ KernelThread (always;
//!                                                             else the last one)
//!     <tid>/status, wchan,   opened when due ──────────────▶ its Field<…>s
//!          syscall           (SampleOptions)                  (or NotSampled)
//!  sysinfo::System           CPU, memory, load ────────────▶ ProcessFigures,
//!                                                             SystemFigures
//!                                          all in one owned KernelSample
//! ```
//!
//! Threads are identified across samples by [`ThreadKey`] (TID and start
//! time), since TIDs are reused. Threads that end mid-read are left out,
//! and a process that exits gives samples marked
//! [`exited`](KernelSample::exited): neither is an error. Figures the
//! kernel would not give, or gave in a form Linux does not document, are
//! [`Field::Unavailable`] with a [`Reason`]: whatever bytes a `/proc` file
//! holds (a comm is any bytes but NUL), they cost at most that figure of
//! that thread, never the sample.
//!
//! This module uses no UI crate: `inspect` joins its samples with the
//! threading registry.

mod detail_cache;
mod details;
mod error;
mod fd;
mod field;
mod figures;
mod futex_op;
mod glibc_mutex;
#[cfg(test)]
pub(crate) mod idle_thread;
mod locks;
mod net;
mod permission;
mod process_ticks;
#[cfg(test)]
mod proptests;
mod sampler;
mod schedstat;
mod slot;
pub(crate) mod stat;
mod status;
mod syscall;
mod syscall_names;
mod tasks;
mod thread;
mod wait;
mod waits;

pub use error::SamplerError;
pub use fd::{FdTarget, parse_epoll_fdinfo};
pub use field::{Field, Reason};
pub use figures::{LoadAverage, ProcessFigures, SystemFigures};
pub use futex_op::FutexOp;
pub use glibc_mutex::{FUTEX_TID_MASK, MutexKind, MutexProtocol, MutexType, OwnerUnknown};
pub use locks::{FutexLock, LockCycle, LockOwner, WaitEdge, find_cycles, wait_edges};
pub use net::{Socket, SocketTable, TcpState, UnixType};
pub use permission::{MissingPermission, Obstacle, PtraceRead, Remedy};
pub use sampler::{KernelSample, SampleOptions, Sampler};
pub use stat::Comm;
pub use syscall::Syscall;
pub use syscall_names::syscall_name;
pub use thread::{KernelThread, ThreadKey, describe_state};
pub use wait::{IoDirection, KernelWait, MAX_WATCHED, SleepClock, WatchedFd, describe_target};
pub use waits::{ProcessWaits, ThreadWait, WaitReader};

use std::time::Duration;

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, usually 100): the unit
/// of [`KernelThread::utime_ticks`] and [`KernelThread::stime_ticks`].
pub fn ticks_per_second() -> u64 {
    procfs::ticks_per_second()
}

/// The shortest interval a CPU rate is measured over; sooner, the last
/// rate stands (unavailable before the first). The kernel counts CPU time
/// in clock ticks and rounds a thread's user and system time down, each,
/// so a rate over `d` may be out by two ticks over `d`: over 200 ms (20
/// ticks at Linux's 100 per second) by a tenth of a core at most, over the
/// 17 ms between two quick samples by anything (one tick reads 59 %, two
/// 118 %). It is also the least sysinfo waits between CPU refreshes, so
/// the threads, the process and the cores are measured alike.
pub const CPU_RATE_MIN_INTERVAL: Duration = Duration::from_millis(200);

// sysinfo ignores CPU refreshes closer than its minimum.
const _: () = assert!(CPU_RATE_MIN_INTERVAL.as_nanos() >= sysinfo::MINIMUM_CPU_UPDATE_INTERVAL.as_nanos());

/// `ticks` clock ticks as a duration.
///
/// # Examples
///
/// ```
/// use threadscope::kernel::{ticks_per_second, ticks_to_duration};
/// assert_eq!(ticks_to_duration(ticks_per_second()), std::time::Duration::from_secs(1));
/// ```
pub fn ticks_to_duration(ticks: u64) -> Duration {
    let per_second = ticks_per_second().max(1);
    let nanos = u128::from(ticks) * 1_000_000_000 / u128::from(per_second);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}
