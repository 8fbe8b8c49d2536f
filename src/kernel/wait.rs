//! What a thread waits for, in words, from the system call it sleeps in
//! (`/proc/<pid>/task/<tid>/syscall`) and, without that, its `wchan`.

use super::fd::FdTarget;
use super::field::{Field, Reason};
use super::futex_op::FutexOp;
use super::syscall::Syscall;
use super::syscall_names::syscall_name;
use crate::display::human;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// What a thread of any process is doing or waiting for, as the kernel
/// shows it.
///
/// [`KernelWait::decode`] makes one from a [`Syscall`] alone; the fields
/// that need more reading (what a descriptor is, a sleep's length, the
/// descriptors a poll watches) start [`NotSampled`](Reason::NotSampled) or
/// `None` and are filled by [`WaitReader`](super::WaitReader).
///
/// # Examples
///
/// ```
/// use threadscope::kernel::{FutexOp, KernelWait, Syscall};
///
/// let line = format!("{} 0x55d0c0a0 0x80 0x2 0x0 0x0 0x0 0x7ffc10 0x7f3a21\n", libc::SYS_futex);
/// let wait = KernelWait::decode(&Syscall::parse(line.as_bytes()).unwrap());
/// assert_eq!(wait, KernelWait::Futex { address: 0x55d0c0a0, op: FutexOp::Wait, private: true, expected: 2, timed: false });
/// assert_eq!(wait.to_string(), "futex FUTEX_WAIT on 0x55d0c0a0");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KernelWait {
    /// On a CPU (the kernel cannot say which call, if any).
    Running,
    /// Off the CPU outside any system call: preempted, or stopped.
    UserSpace,
    /// In `futex(2)` on the word at `address`.
    Futex {
        /// The futex word's address in the process.
        address: u64,
        /// The operation, flags masked off.
        op: FutexOp,
        /// `FUTEX_PRIVATE_FLAG` was set (not shared between processes).
        private: bool,
        /// The third argument: for waits, the value the word was expected
        /// to hold (a glibc mutex's waiters pass 2).
        expected: u32,
        /// A timeout was given (the fourth argument is not NULL).
        timed: bool,
    },
    /// In `nanosleep` or `clock_nanosleep`.
    Sleep {
        /// The call.
        call: &'static str,
        /// The clock it sleeps on.
        clock: SleepClock,
        /// `TIMER_ABSTIME`: it sleeps until a time, not for a length.
        absolute: bool,
        /// For a relative sleep, the length asked for (the time already
        /// slept is not known); `None` until read, or when unreadable.
        length: Option<Duration>,
        /// For an absolute sleep, the time left until its deadline, when
        /// it was read.
        remaining: Option<Duration>,
        /// For an absolute sleep, its deadline on `clock`: what works the
        /// time left out again later ([`KernelWait::time_left_now`]).
        #[serde(skip)]
        deadline: Option<Duration>,
    },
    /// Reading, writing, accepting or connecting on one descriptor.
    Io {
        /// The call (`read`, `recvfrom`, `accept4`, …).
        call: &'static str,
        /// Which way the data goes.
        direction: IoDirection,
        /// The descriptor.
        fd: i32,
        /// What the descriptor is.
        target: Field<FdTarget>,
    },
    /// Waiting on several descriptors (`poll`, `ppoll`, `select`,
    /// `pselect6`, `epoll_wait`, `epoll_pwait`, `epoll_pwait2`).
    Poll {
        /// The call.
        call: &'static str,
        /// The epoll instance, for the epoll calls.
        epoll_fd: Option<i32>,
        /// The descriptors watched (at most [`MAX_WATCHED`] listed) and
        /// what each is. `NotSampled` when there were too many to read
        /// cheaply.
        watched: Field<Vec<WatchedFd>>,
    },
    /// Waiting for a child process (`wait4`, `waitid`).
    Child {
        /// The call.
        call: &'static str,
        /// Which child: the pid, or `None` for any.
        pid: Option<i64>,
    },
    /// In `pause`, `rt_sigsuspend` or `rt_sigtimedwait`: waiting for a
    /// signal.
    Signal {
        /// The call.
        call: &'static str,
    },
    /// In `restart_syscall`: a sleep or wait that a stop or a signal
    /// interrupted, resumed by the kernel where it was (a stack capture's
    /// `PTRACE_INTERRUPT` leaves every thread it stopped so). The kernel
    /// does not say which call it was.
    Resumed,
    /// Another system call.
    Other {
        /// Its number on this architecture.
        number: i64,
        /// Its name, when the table knows it.
        name: Option<&'static str>,
    },
    /// The `syscall` file could not be read, but `wchan` names the kernel
    /// function the thread sleeps in.
    InKernel {
        /// The function (`futex_wait_queue`, `do_nanosleep`, `pipe_read`…).
        wchan: Arc<str>,
    },
}

/// How many watched descriptors a [`KernelWait::Poll`] lists at most.
pub const MAX_WATCHED: usize = 64;

/// One descriptor a poll watches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WatchedFd {
    /// The descriptor.
    pub fd: i32,
    /// What it is.
    pub target: Field<FdTarget>,
}

/// Which way an [`Io`](KernelWait::Io) wait goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IoDirection {
    /// `read`, `readv`, `pread64`, `preadv`, `recvfrom`, `recvmsg`, `recvmmsg`.
    Read,
    /// `write`, `writev`, `pwrite64`, `pwritev`, `sendto`, `sendmsg`, `sendmmsg`.
    Write,
    /// `accept`, `accept4`: a server waiting for a connection.
    Accept,
    /// `connect`: waiting for the peer to answer.
    Connect,
}

/// The clock a sleep is measured on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SleepClock {
    /// `CLOCK_REALTIME` (what `nanosleep` uses).
    Realtime,
    /// `CLOCK_MONOTONIC`.
    Monotonic,
    /// `CLOCK_BOOTTIME`.
    Boottime,
    /// `CLOCK_TAI`.
    Tai,
    /// Another clock id (a CPU-time clock, …).
    Other(i32),
}

impl SleepClock {
    fn from_id(id: i32) -> SleepClock {
        match id {
            libc::CLOCK_REALTIME => SleepClock::Realtime,
            libc::CLOCK_MONOTONIC => SleepClock::Monotonic,
            libc::CLOCK_BOOTTIME => SleepClock::Boottime,
            libc::CLOCK_TAI => SleepClock::Tai,
            other => SleepClock::Other(other),
        }
    }

    /// The clock id, for `clock_gettime`.
    pub fn id(self) -> i32 {
        match self {
            SleepClock::Realtime => libc::CLOCK_REALTIME,
            SleepClock::Monotonic => libc::CLOCK_MONOTONIC,
            SleepClock::Boottime => libc::CLOCK_BOOTTIME,
            SleepClock::Tai => libc::CLOCK_TAI,
            SleepClock::Other(id) => id,
        }
    }
}

/// A system-call argument as the C `int` the kernel reads from it.
fn int(arg: u64) -> i32 {
    arg as u32 as i32
}

fn io(call: &'static str, direction: IoDirection, fd: u64) -> KernelWait {
    KernelWait::Io { call, direction, fd: int(fd), target: Field::Unavailable(Reason::NotSampled) }
}

fn poll(call: &'static str, epoll_fd: Option<i32>) -> KernelWait {
    KernelWait::Poll { call, epoll_fd, watched: Field::Unavailable(Reason::NotSampled) }
}

impl KernelWait {
    /// What `syscall` means, without reading anything more. Total: every
    /// system call gives some wait.
    pub fn decode(syscall: &Syscall) -> KernelWait {
        let (number, args) = match syscall {
            Syscall::Running => return KernelWait::Running,
            Syscall::NotInSyscall { .. } => return KernelWait::UserSpace,
            Syscall::InSyscall { number, args } => (*number, args),
        };
        let name = |fallback| syscall_name(number).unwrap_or(fallback);
        use IoDirection::{Accept, Connect, Read, Write};
        match number {
            libc::SYS_futex => {
                let (op, private) = FutexOp::decode(args[1]);
                KernelWait::Futex {
                    address: args[0],
                    op,
                    private,
                    expected: args[2] as u32,
                    timed: args[3] != 0,
                }
            }
            libc::SYS_nanosleep => KernelWait::Sleep {
                call: "nanosleep",
                clock: SleepClock::Monotonic,
                absolute: false,
                length: None,
                remaining: None,
                deadline: None,
            },
            libc::SYS_clock_nanosleep => KernelWait::Sleep {
                call: "clock_nanosleep",
                clock: SleepClock::from_id(int(args[0])),
                absolute: int(args[1]) & libc::TIMER_ABSTIME != 0,
                length: None,
                remaining: None,
                deadline: None,
            },
            libc::SYS_read
            | libc::SYS_readv
            | libc::SYS_pread64
            | libc::SYS_preadv
            | libc::SYS_recvfrom
            | libc::SYS_recvmsg
            | libc::SYS_recvmmsg => io(name("read"), Read, args[0]),
            libc::SYS_write
            | libc::SYS_writev
            | libc::SYS_pwrite64
            | libc::SYS_pwritev
            | libc::SYS_sendto
            | libc::SYS_sendmsg
            | libc::SYS_sendmmsg => io(name("write"), Write, args[0]),
            libc::SYS_accept | libc::SYS_accept4 => io(name("accept"), Accept, args[0]),
            libc::SYS_connect => io("connect", Connect, args[0]),
            libc::SYS_ppoll | libc::SYS_pselect6 => poll(name("poll"), None),
            libc::SYS_epoll_pwait | libc::SYS_epoll_pwait2 => poll(name("epoll_pwait"), Some(int(args[0]))),
            #[cfg(target_arch = "x86_64")]
            libc::SYS_poll | libc::SYS_select => poll(name("poll"), None),
            #[cfg(target_arch = "x86_64")]
            libc::SYS_epoll_wait => poll("epoll_wait", Some(int(args[0]))),
            libc::SYS_wait4 => {
                let pid = i64::from(int(args[0]));
                KernelWait::Child { call: "wait4", pid: (pid > 0).then_some(pid) }
            }
            // waitid(idtype, id, …): P_PID is 1.
            libc::SYS_waitid => {
                KernelWait::Child { call: "waitid", pid: (args[0] == 1).then_some(i64::from(int(args[1]))) }
            }
            #[cfg(target_arch = "x86_64")]
            libc::SYS_pause => KernelWait::Signal { call: "pause" },
            libc::SYS_rt_sigsuspend | libc::SYS_rt_sigtimedwait => {
                KernelWait::Signal { call: name("rt_sigsuspend") }
            }
            libc::SYS_restart_syscall => KernelWait::Resumed,
            _ => KernelWait::Other { number, name: syscall_name(number) },
        }
    }

    /// The wait from what the sampler read: the decoded system call if
    /// there is one, else the `wchan` function if the kernel named one,
    /// else the system call's reason.
    pub fn from_fields(syscall: &Field<Syscall>, wchan: &Field<Option<Arc<str>>>) -> Field<KernelWait> {
        match (syscall, wchan) {
            (Field::Available(call), _) => Field::Available(KernelWait::decode(call)),
            (Field::Unavailable(_), Field::Available(Some(function))) => {
                Field::Available(KernelWait::InKernel { wchan: function.clone() })
            }
            (Field::Unavailable(reason), _) => Field::Unavailable(*reason),
        }
    }

    /// The futex address, operation and whether it was timed, for a thread
    /// asleep in a futex wait or PI lock (not for wakes and requeues).
    pub fn futex_wait(&self) -> Option<(u64, FutexOp)> {
        match self {
            KernelWait::Futex { address, op, .. } if op.is_wait() => Some((*address, *op)),
            _ => None,
        }
    }

    /// An absolute sleep with its time left worked out again now (a
    /// sleeping thread's call is not read again until it runs, but its
    /// time left shrinks all the same); `None` for any other wait.
    pub fn time_left_now(&self) -> Option<KernelWait> {
        let KernelWait::Sleep { clock, deadline: Some(deadline), .. } = self else { return None };
        let now = crate::sys::clock_now(clock.id())?;
        let mut now_read = self.clone();
        if let KernelWait::Sleep { remaining, .. } = &mut now_read {
            *remaining = Some(deadline.saturating_sub(now));
        }
        Some(now_read)
    }
}

impl std::fmt::Display for KernelWait {
    /// In words, for a detail pane or a text dump (descriptor targets
    /// included; not sanitised: a path is untrusted text).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KernelWait::Running => f.write_str("running"),
            KernelWait::UserSpace => f.write_str("not in a system call"),
            KernelWait::Futex { address, op, .. } => write!(f, "futex {} on {address:#x}", op.name()),
            KernelWait::Sleep { call, length: Some(d), .. } => write!(f, "{call} for {}", human(*d)),
            KernelWait::Sleep { call, remaining: Some(d), .. } => write!(f, "{call}, {} left", human(*d)),
            KernelWait::Sleep { call, .. } => write!(f, "{call}"),
            KernelWait::Io { call, fd, target, .. } => {
                write!(f, "{call} on fd {fd}")?;
                match target {
                    Field::Available(target) => write!(f, " ({})", describe_target(target)),
                    Field::Unavailable(_) => Ok(()),
                }
            }
            KernelWait::Poll { call, watched: Field::Available(fds), .. } => {
                let fds: Vec<String> = fds.iter().map(|w| w.fd.to_string()).collect();
                write!(f, "{call} on fds {}", fds.join(", "))
            }
            KernelWait::Poll { call, .. } => write!(f, "{call}"),
            KernelWait::Child { call, pid: Some(pid) } => write!(f, "{call} for child {pid}"),
            KernelWait::Child { call, pid: None } => write!(f, "{call} for any child"),
            KernelWait::Signal { call } => write!(f, "{call}: waiting for a signal"),
            KernelWait::Resumed => f.write_str(
                "restart_syscall: an interrupted sleep or wait, resumed (the kernel does not say which)",
            ),
            KernelWait::Other { number, name: Some(name) } => write!(f, "other syscall {number} ({name})"),
            KernelWait::Other { number, name: None } => write!(f, "other syscall {number}"),
            KernelWait::InKernel { wchan } => write!(f, "in kernel function {wchan}"),
        }
    }
}

/// A descriptor target in a few words: `pipe 4711`, `tcp 127.0.0.1:80
/// listen`, `unix /run/x.sock`, a path.
pub fn describe_target(target: &FdTarget) -> String {
    use super::net::Socket;
    match target {
        FdTarget::Pipe { inode } => format!("pipe {inode}"),
        FdTarget::Socket { socket: Some(Socket::Tcp { local, remote, state }), .. } => {
            if remote.port() == 0 {
                format!("tcp {local} {state:?}").to_lowercase()
            } else {
                format!("tcp {local} → {remote} {state:?}").to_lowercase()
            }
        }
        FdTarget::Socket { socket: Some(Socket::Udp { local, .. }), .. } => format!("udp {local}"),
        FdTarget::Socket { socket: Some(Socket::Unix { path: Some(path), .. }), .. } => {
            format!("unix {path}")
        }
        FdTarget::Socket { socket: Some(Socket::Unix { path: None, .. }), inode } => {
            format!("unix socket {inode}")
        }
        FdTarget::Socket { socket: None, inode } => format!("socket {inode}"),
        FdTarget::File { path } => path.clone(),
        FdTarget::AnonInode { what } => what.clone(),
        FdTarget::Other { link } => link.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(number: i64, args: [u64; 6]) -> KernelWait {
        KernelWait::decode(&Syscall::InSyscall { number, args })
    }

    #[test]
    fn futex_ops_and_flags() {
        let wait = call(libc::SYS_futex, [0x1000, 9 | 128 | 256, 0, 0x7ff0, 0, u64::from(u32::MAX)]);
        assert_eq!(
            wait,
            KernelWait::Futex {
                address: 0x1000,
                op: FutexOp::WaitBitset,
                private: true,
                expected: 0,
                timed: true
            }
        );
        assert_eq!(wait.futex_wait(), Some((0x1000, FutexOp::WaitBitset)));
        assert_eq!(call(libc::SYS_futex, [0x1000, 1, 1, 0, 0, 0]).futex_wait(), None, "a wake is no wait");
        let pi = call(libc::SYS_futex, [0x2000, 6, 1, 0, 0, 0]);
        assert_eq!(pi.futex_wait(), Some((0x2000, FutexOp::LockPi)));
    }

    #[test]
    fn sleeps() {
        let relative =
            call(libc::SYS_clock_nanosleep, [libc::CLOCK_REALTIME as u64, 0, 0x7ff0, 0x7ff0, 0, 0]);
        assert!(matches!(relative, KernelWait::Sleep { clock: SleepClock::Realtime, absolute: false, .. }));
        let absolute = call(libc::SYS_clock_nanosleep, [libc::CLOCK_MONOTONIC as u64, 1, 0x7ff0, 0, 0, 0]);
        assert!(matches!(absolute, KernelWait::Sleep { clock: SleepClock::Monotonic, absolute: true, .. }));
        assert_eq!(absolute.to_string(), "clock_nanosleep");
        assert!(matches!(call(libc::SYS_nanosleep, [0; 6]), KernelWait::Sleep { call: "nanosleep", .. }));
        // Lengths as a person writes them, not to the nanosecond.
        let left = KernelWait::Sleep {
            call: "clock_nanosleep",
            clock: SleepClock::Monotonic,
            absolute: true,
            length: None,
            remaining: Some(Duration::from_nanos(3_598_288_916_050)),
            deadline: None,
        };
        assert_eq!(left.to_string(), "clock_nanosleep, 59m58s left");
    }

    #[test]
    fn a_resumed_call_is_said_as_one() {
        let resumed = call(libc::SYS_restart_syscall, [0; 6]);
        assert_eq!(resumed, KernelWait::Resumed);
        assert!(
            resumed.to_string().starts_with("restart_syscall: an interrupted sleep or wait"),
            "{resumed}"
        );
    }

    #[test]
    fn descriptor_calls() {
        let read = call(libc::SYS_read, [7, 0x7ff0, 4096, 0, 0, 0]);
        assert!(matches!(read, KernelWait::Io { call: "read", direction: IoDirection::Read, fd: 7, .. }));
        assert!(matches!(call(libc::SYS_recvfrom, [3; 6]), KernelWait::Io { call: "recvfrom", .. }));
        assert!(matches!(
            call(libc::SYS_sendto, [3; 6]),
            KernelWait::Io { direction: IoDirection::Write, .. }
        ));
        assert!(matches!(call(libc::SYS_accept4, [5; 6]), KernelWait::Io { call: "accept4", fd: 5, .. }));
        assert!(matches!(
            call(libc::SYS_connect, [5; 6]),
            KernelWait::Io { direction: IoDirection::Connect, .. }
        ));
        assert!(matches!(call(libc::SYS_epoll_pwait, [9; 6]), KernelWait::Poll { epoll_fd: Some(9), .. }));
        assert!(matches!(
            call(libc::SYS_ppoll, [9; 6]),
            KernelWait::Poll { call: "ppoll", epoll_fd: None, .. }
        ));
        assert_eq!(call(libc::SYS_read, [u64::MAX; 6]).to_string(), "read on fd -1");
    }

    #[test]
    fn children_signals_and_others() {
        assert_eq!(
            call(libc::SYS_wait4, [u64::MAX, 0, 0, 0, 0, 0]),
            KernelWait::Child { call: "wait4", pid: None }
        );
        assert_eq!(
            call(libc::SYS_wait4, [42, 0, 0, 0, 0, 0]),
            KernelWait::Child { call: "wait4", pid: Some(42) }
        );
        assert_eq!(call(libc::SYS_waitid, [1, 42, 0, 0, 0, 0]).to_string(), "waitid for child 42");
        assert_eq!(call(libc::SYS_rt_sigsuspend, [0; 6]), KernelWait::Signal { call: "rt_sigsuspend" });
        assert_eq!(
            call(libc::SYS_getpid, [0; 6]).to_string(),
            format!("other syscall {} (getpid)", libc::SYS_getpid)
        );
        assert_eq!(call(99_999, [0; 6]), KernelWait::Other { number: 99_999, name: None });
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_64_only_calls() {
        assert_eq!(call(libc::SYS_pause, [0; 6]), KernelWait::Signal { call: "pause" });
        assert!(matches!(call(libc::SYS_epoll_wait, [4; 6]), KernelWait::Poll { epoll_fd: Some(4), .. }));
        assert!(matches!(call(libc::SYS_select, [4; 6]), KernelWait::Poll { call: "select", .. }));
    }

    #[test]
    fn running_user_space_and_wchan() {
        assert_eq!(KernelWait::decode(&Syscall::Running), KernelWait::Running);
        let preempted = Syscall::NotInSyscall { stack_pointer: 1, program_counter: 2 };
        assert_eq!(KernelWait::decode(&preempted), KernelWait::UserSpace);
        let denied = Field::Unavailable(Reason::Denied);
        assert_eq!(
            KernelWait::from_fields(&denied, &Field::Available(Some("pipe_read".into()))),
            Field::Available(KernelWait::InKernel { wchan: "pipe_read".into() })
        );
        assert_eq!(
            KernelWait::from_fields(&denied, &Field::Available(None)),
            Field::Unavailable(Reason::Denied)
        );
    }

    #[test]
    fn serialises_with_a_kind() {
        let json = serde_json::to_value(call(libc::SYS_read, [7, 0, 0, 0, 0, 0])).unwrap();
        assert_eq!(json["kind"], "io");
        assert_eq!(json["call"], "read");
        assert_eq!(json["target"]["unavailable"], "not_sampled");
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn every_call_decodes(number in -2i64..600, args in any::<[u64; 6]>()) {
                let wait = KernelWait::decode(&Syscall::InSyscall { number, args });
                let _ = wait.to_string();
            }
        }
    }
}
