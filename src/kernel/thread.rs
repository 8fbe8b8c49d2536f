//! One kernel task (thread) as `/proc/<pid>/task/<tid>/` describes it.

use super::field::{Field, Reason};
use super::stat::{Comm, StatLine};
use super::syscall::Syscall;
use serde::Serialize;
use std::borrow::Cow;
use std::sync::Arc;

/// What identifies a thread across samples: a TID can be reused by a later
/// thread, but not with the same start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ThreadKey {
    /// Kernel thread id.
    pub tid: u32,
    /// Start time in clock ticks after boot (`stat` field 22).
    pub starttime: u64,
}

/// One thread of the sampled process, as the kernel saw it in one sample.
///
/// The figures from `stat` are always there (a thread whose `stat` could
/// not be read is not in the sample at all); for a thread that has not run
/// since the last sample they are carried over from it (see
/// [`SampleOptions::stat_every`](super::SampleOptions::stat_every)). The ones from `status`,
/// `wchan` and `syscall` cost more to read and may be
/// [`Unavailable`](Field::Unavailable): see
/// [`SampleOptions`](super::SampleOptions).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KernelThread {
    /// Kernel thread id (`native_id` in the threading library).
    pub tid: u32,
    /// Start time in clock ticks after boot; with `tid`, the thread's
    /// [`key`](Self::key).
    pub starttime: u64,
    /// The kernel comm as raw bytes: at most 15 bytes, any byte but NUL,
    /// not necessarily UTF-8 (a cut name may end in half a character).
    pub comm_raw: Comm,
    /// The state letter from `stat`: `R` running, `S` sleeping, `D`
    /// uninterruptible, `Z` zombie, `T` stopped, `t` traced, `X` dead, `I`
    /// idle kernel thread (see [`describe_state`]).
    pub state: char,
    /// Time on a CPU in user mode, in clock ticks (see
    /// [`ticks_per_second`](super::ticks_per_second)).
    pub utime_ticks: u64,
    /// Time on a CPU in kernel mode, in clock ticks.
    pub stime_ticks: u64,
    /// The CPU it last ran on.
    pub processor: u32,
    /// Kernel scheduling priority (`stat` field 18; negative for real-time).
    pub priority: i64,
    /// Nice value, -20 (favoured) to 19.
    pub nice: i64,
    /// Times it gave up the CPU to wait (from `status`).
    pub voluntary_ctxt_switches: Field<u64>,
    /// Times it was preempted (from `status`).
    pub nonvoluntary_ctxt_switches: Field<u64>,
    /// CPUs it may run on, as inclusive ranges (from `status`).
    pub cpus_allowed_list: Field<Arc<[(u32, u32)]>>,
    /// The kernel function it sleeps in; `None` when the kernel names none
    /// (it is running, or the name is hidden from this user).
    pub wchan: Field<Option<Arc<str>>>,
    /// The system call it is in (needs ptrace access to the process).
    pub syscall: Field<Syscall>,
    /// True when this sample looked at the thread. False when a process
    /// of thousands of threads is checked in turn and this quiet thread
    /// was not due (see [`SampleOptions::check_every`](super::SampleOptions::check_every)):
    /// every figure above is then that of its last check. In JSON only
    /// when false.
    #[serde(skip_serializing_if = "is_true")]
    pub checked: bool,
}

fn is_true(b: &bool) -> bool {
    *b
}

impl KernelThread {
    /// A thread from its `stat` line, with every costlier field
    /// [`NotSampled`](Reason::NotSampled).
    pub(crate) fn from_stat(tid: u32, stat: &StatLine) -> KernelThread {
        let skipped = Reason::NotSampled;
        KernelThread {
            tid,
            starttime: stat.starttime,
            comm_raw: stat.comm,
            state: char::from(stat.state),
            utime_ticks: stat.utime,
            stime_ticks: stat.stime,
            processor: stat.processor,
            priority: stat.priority,
            nice: stat.nice,
            voluntary_ctxt_switches: Field::Unavailable(skipped),
            nonvoluntary_ctxt_switches: Field::Unavailable(skipped),
            cpus_allowed_list: Field::Unavailable(skipped),
            wchan: Field::Unavailable(skipped),
            syscall: Field::Unavailable(skipped),
            checked: true,
        }
    }

    /// The (tid, start time) pair that tells this thread apart from a later
    /// one given the same TID.
    pub fn key(&self) -> ThreadKey {
        ThreadKey { tid: self.tid, starttime: self.starttime }
    }

    /// The comm as text, with any invalid UTF-8 shown as U+FFFD. Not
    /// sanitised: pass it through `display::sanitize` before a terminal.
    pub fn comm(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.comm_raw)
    }

    /// User plus kernel CPU time, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        self.utime_ticks.saturating_add(self.stime_ticks)
    }

    /// True for a thread that has exited but not been reaped (`Z`, `X`).
    pub fn is_exited(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// What a `stat` state letter means, in the words of `proc(5)`.
///
/// # Examples
///
/// ```
/// assert_eq!(threadscope::kernel::describe_state('D'), "uninterruptible sleep");
/// ```
pub fn describe_state(state: char) -> &'static str {
    match state {
        'R' => "running",
        'S' => "sleeping",
        'D' => "uninterruptible sleep",
        'Z' => "zombie",
        'T' => "stopped",
        't' => "tracing stop",
        'X' | 'x' => "dead",
        'I' => "idle",
        'P' => "parked",
        'W' => "waking",
        'K' => "wakekill",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::stat::parse_stat;

    #[test]
    fn built_from_a_stat_line_with_details_not_sampled() {
        let line = b"77 (ab\xc3) D 1 1 1 0 -1 0 0 0 0 0 9 4 0 0 20 5 1 0 4242 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 \
                     17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        let thread = KernelThread::from_stat(77, &parse_stat(line).unwrap());
        assert_eq!(thread.key(), ThreadKey { tid: 77, starttime: 4242 });
        assert_eq!(thread.comm_raw, b"ab\xc3");
        assert_eq!(thread.comm(), "ab\u{fffd}");
        assert_eq!((thread.state, thread.cpu_ticks(), thread.nice), ('D', 13, 5));
        assert_eq!(thread.wchan, Field::Unavailable(Reason::NotSampled));
        assert_eq!(thread.syscall, Field::Unavailable(Reason::NotSampled));
        assert!(!thread.is_exited());
    }

    #[test]
    fn states_are_described() {
        assert_eq!(describe_state('R'), "running");
        assert_eq!(describe_state('t'), "tracing stop");
        assert_eq!(describe_state('?'), "unknown");
    }
}
