//! [`WaitReader`]: every thread's wait in words, the futex locks with their
//! owners, and the deadlocks among them, for one [`KernelSample`].

use super::fd::FdResolver;
use super::field::{Field, Reason};
use super::locks::{FutexLock, LockCycle, Memory, ProcessMemory, find_cycles, futex_locks, wait_edges};
use super::permission::{MissingPermission, PtraceRead};
use super::sampler::KernelSample;
use super::syscall::Syscall;
use super::wait::{KernelWait, MAX_WATCHED, SleepClock, WatchedFd};
use serde::Serialize;
use std::collections::HashSet;
use std::time::Duration;

/// One thread's wait.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ThreadWait {
    /// The thread's TID.
    pub tid: u32,
    /// What it waits for; [`NotSampled`](Reason::NotSampled) when the
    /// sample did not read its `syscall` (see
    /// [`SampleOptions::detail_every`](super::SampleOptions::detail_every)).
    pub wait: Field<KernelWait>,
}

/// What the threads of one process wait for, in one sample. Owned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcessWaits {
    /// The process.
    pub pid: u32,
    /// One entry per thread of the sample, in its order.
    pub threads: Vec<ThreadWait>,
    /// The futex addresses threads sleep on, ascending, each with its
    /// owner (or why it is unknown) and waiters.
    pub locks: Vec<FutexLock>,
    /// Cycles of threads waiting for locks held by each other.
    pub deadlocks: Vec<LockCycle>,
    /// What could not be read for want of permission, once, with how to
    /// get it; `None` when nothing was refused.
    pub missing_permission: Option<MissingPermission>,
}

impl ProcessWaits {
    /// The wait of thread `tid`, if it is in the sample.
    pub fn thread(&self, tid: u32) -> Option<&Field<KernelWait>> {
        self.threads.iter().find(|t| t.tid == tid).map(|t| &t.wait)
    }

    /// The lock at `address`, if threads sleep on it.
    pub fn lock(&self, address: u64) -> Option<&FutexLock> {
        self.locks.iter().find(|l| l.address == address)
    }
}

/// Turns kernel samples of one process into [`ProcessWaits`].
///
/// It reads nothing per thread beyond what the sample already holds, except
/// for threads whose wait needs it: one `readlink` per descriptor a thread
/// reads, writes or polls (each descriptor once per sample), the socket
/// tables once per sample if a socket is among them, one
/// `process_vm_readv` of 20 bytes per futex address (owner), of 16 bytes
/// per sleeping thread (its timespec) and of the poll array per polling
/// thread. It never stops, traces or writes to the process.
///
/// # Examples
///
/// ```
/// use threadscope::kernel::{IoDirection, KernelWait, Sampler, WaitReader};
/// use threadscope::threading::get_native_id;
///
/// let pid = std::process::id();
/// let mut sampler = Sampler::new(pid)?;
/// let waits = WaitReader::new(pid).read(&sampler.sample()?);
/// // The calling thread was caught reading its own `syscall` file.
/// let me = waits.thread(get_native_id()).and_then(|wait| wait.value());
/// assert!(matches!(me, Some(KernelWait::Io { direction: IoDirection::Read, .. })), "{me:?}");
/// assert!(waits.missing_permission.is_none());
/// # Ok::<(), threadscope::kernel::SamplerError>(())
/// ```
#[derive(Debug)]
pub struct WaitReader {
    pid: u32,
}

impl WaitReader {
    /// A reader for process `pid`.
    pub fn new(pid: u32) -> WaitReader {
        WaitReader { pid }
    }

    /// The waits, locks and deadlocks of `sample`'s threads.
    pub fn read(&mut self, sample: &KernelSample) -> ProcessWaits {
        let pid = self.pid;
        let mut fds = FdResolver::new(pid);
        let mut memory = ProcessMemory { pid, denied: false };
        let mut syscalls_denied = false;
        let mut futex_waits = Vec::new();
        let threads: Vec<ThreadWait> = sample
            .threads
            .iter()
            .map(|thread| {
                syscalls_denied |= thread.syscall.reason() == Some(Reason::Denied);
                let mut wait = KernelWait::from_fields(&thread.syscall, &thread.wchan);
                if let (Field::Available(wait), Field::Available(call)) = (&mut wait, &thread.syscall) {
                    enrich(wait, call, &mut fds, &mut memory);
                    if let (Some((address, op)), KernelWait::Futex { timed, expected, .. }) =
                        (wait.futex_wait(), &*wait)
                    {
                        futex_waits.push((thread.tid, address, op, *timed, *expected));
                    }
                }
                ThreadWait { tid: thread.tid, wait }
            })
            .collect();
        let live: HashSet<u32> = sample.threads.iter().filter(|t| !t.is_exited()).map(|t| t.tid).collect();
        let mut is_live = |tid: u32| {
            live.contains(&tid) || std::path::Path::new(&format!("/proc/{pid}/task/{tid}")).exists()
        };
        let locks = futex_locks(futex_waits, &mut memory, &mut is_live);
        let deadlocks = find_cycles(&wait_edges(&locks));
        let denied: Vec<PtraceRead> = [
            (syscalls_denied, PtraceRead::Syscalls),
            (fds.was_denied(), PtraceRead::Descriptors),
            (memory.denied, PtraceRead::Memory),
        ]
        .into_iter()
        .filter_map(|(refused, what)| refused.then_some(what))
        .collect();
        let missing_permission = (!denied.is_empty()).then(|| MissingPermission::new(pid, denied));
        ProcessWaits { pid, threads, locks, deadlocks, missing_permission }
    }
}

/// Fills what `wait` needs beyond its system call's numbers.
fn enrich(wait: &mut KernelWait, call: &Syscall, fds: &mut FdResolver, memory: &mut dyn Memory) {
    let Syscall::InSyscall { number, args } = call else { return };
    match wait {
        KernelWait::Io { fd, target, .. } => *target = fds.describe(*fd),
        KernelWait::Sleep { clock, absolute, length, remaining, deadline, .. } => {
            let request = if *number == libc::SYS_nanosleep { args[0] } else { args[2] };
            let Some(asked) = read_timespec(memory, request) else { return };
            if !*absolute {
                *length = Some(asked);
            } else if !matches!(clock, SleepClock::Other(_)) {
                *remaining = crate::sys::clock_now(clock.id()).map(|now| asked.saturating_sub(now));
                *deadline = Some(asked);
            }
        }
        KernelWait::Poll { epoll_fd: Some(epfd), watched, .. } => {
            *watched = fds.epoll_watched(*epfd).map(|list| describe_all(list, fds));
        }
        KernelWait::Poll { watched, .. } => {
            *watched = polled_fds(*number, args, memory).map(|list| describe_all(list, fds));
        }
        _ => {}
    }
}

fn describe_all(mut list: Vec<i32>, fds: &mut FdResolver) -> Vec<WatchedFd> {
    list.truncate(MAX_WATCHED);
    list.into_iter().map(|fd| WatchedFd { fd, target: fds.describe(fd) }).collect()
}

/// A `struct timespec` (two 64-bit words on LP64) at `address`.
fn read_timespec(memory: &mut dyn Memory, address: u64) -> Option<Duration> {
    let mut bytes = [0u8; 16];
    memory.read(address, &mut bytes).ok()?;
    let (secs, nanos) = bytes.split_at(8);
    let secs = u64::try_from(i64::from_ne_bytes(secs.try_into().ok()?)).ok()?;
    let nanos =
        u32::try_from(i64::from_ne_bytes(nanos.try_into().ok()?)).ok().filter(|&n| n < 1_000_000_000)?;
    Some(Duration::new(secs, nanos))
}

/// The descriptors of a `poll`/`ppoll` array or the read and write sets of
/// a `select`/`pselect6`, read from the process.
fn polled_fds(number: i64, args: &[u64; 6], memory: &mut dyn Memory) -> Field<Vec<i32>> {
    let unreadable = |err: std::io::Error| {
        Field::Unavailable(if err.raw_os_error() == Some(libc::EPERM) {
            Reason::Denied
        } else {
            Reason::Gone
        })
    };
    if number == libc::SYS_pselect6 || is_select(number) {
        // select(nfds, readfds, writefds, exceptfds, …): bitmaps of nfds bits.
        let nfds = args[0].min(1024) as usize;
        let mut set = vec![0u8; nfds.div_ceil(64) * 8];
        let mut fds = Vec::new();
        for &pointer in &args[1..3] {
            if pointer == 0 {
                continue;
            }
            if let Err(err) = memory.read(pointer, &mut set) {
                return unreadable(err);
            }
            fds.extend((0..nfds).filter(|&fd| set[fd / 8] & (1 << (fd % 8)) != 0).map(|fd| fd as i32));
        }
        fds.sort_unstable();
        fds.dedup();
        return Field::Available(fds);
    }
    // poll(fds, nfds, …): struct pollfd { int fd; short events, revents; }.
    let nfds = args[1] as usize;
    if nfds > MAX_WATCHED {
        return Field::Unavailable(Reason::NotSampled);
    }
    let mut array = vec![0u8; nfds * 8];
    if let Err(err) = memory.read(args[0], &mut array) {
        return unreadable(err);
    }
    let fds: Vec<i32> = array
        .chunks_exact(8)
        .map(|entry| i32::from_ne_bytes([entry[0], entry[1], entry[2], entry[3]]))
        .filter(|&fd| fd >= 0) // poll skips negative ones
        .collect();
    // No descriptor reaches the kernel's hard ceiling (`fs.nr_open`, at
    // most 2^20 by default): a larger one means the array was read after
    // the thread moved on and its memory holds something else.
    if fds.iter().any(|&fd| fd >= MAX_FD) {
        return Field::Unavailable(Reason::Malformed);
    }
    Field::Available(fds)
}

/// Above any descriptor a process can have open (`fs.nr_open`'s default).
const MAX_FD: i32 = 1 << 20;

#[cfg(target_arch = "x86_64")]
fn is_select(number: i64) -> bool {
    number == libc::SYS_select
}

#[cfg(not(target_arch = "x86_64"))]
fn is_select(_number: i64) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    /// One readable range of memory.
    struct Fake(u64, Vec<u8>);

    impl Memory for Fake {
        fn read(&mut self, address: u64, buf: &mut [u8]) -> io::Result<()> {
            let from = address.checked_sub(self.0).map(|d| d as usize);
            match from.and_then(|f| self.1.get(f..f + buf.len())) {
                Some(bytes) => {
                    buf.copy_from_slice(bytes);
                    Ok(())
                }
                None => Err(io::Error::from_raw_os_error(libc::EFAULT)),
            }
        }
    }

    fn timespec(secs: i64, nanos: i64) -> Vec<u8> {
        [secs.to_ne_bytes(), nanos.to_ne_bytes()].concat()
    }

    #[test]
    fn timespecs_must_be_valid() {
        assert_eq!(read_timespec(&mut Fake(0x10, timespec(2, 5)), 0x10), Some(Duration::new(2, 5)));
        assert_eq!(read_timespec(&mut Fake(0x10, timespec(-1, 0)), 0x10), None);
        assert_eq!(read_timespec(&mut Fake(0x10, timespec(1, 1_000_000_000)), 0x10), None);
        assert_eq!(read_timespec(&mut Fake(0x10, timespec(1, 0)), 0x99), None);
    }

    #[test]
    fn a_sleep_is_filled_from_memory() {
        let mut wait = KernelWait::Sleep {
            call: "clock_nanosleep",
            clock: SleepClock::Realtime,
            absolute: false,
            length: None,
            remaining: None,
            deadline: None,
        };
        let call = Syscall::InSyscall { number: libc::SYS_clock_nanosleep, args: [0, 0, 0x40, 0, 0, 0] };
        enrich(&mut wait, &call, &mut FdResolver::new(std::process::id()), &mut Fake(0x40, timespec(3, 0)));
        assert!(matches!(wait, KernelWait::Sleep { length: Some(d), .. } if d == Duration::from_secs(3)));
    }

    #[test]
    fn poll_arrays_and_select_sets() {
        let pollfds: Vec<u8> = [(4i32, 1i16), (-1, 0), (9, 4)]
            .iter()
            .flat_map(|&(fd, events)| {
                [fd.to_ne_bytes().to_vec(), events.to_ne_bytes().to_vec(), vec![0, 0]].concat()
            })
            .collect();
        let args = [0x100, 3, 0, 0, 0, 0];
        assert_eq!(
            polled_fds(libc::SYS_ppoll, &args, &mut Fake(0x100, pollfds)),
            Field::Available(vec![4, 9])
        );
        // Read after the thread moved on: text where the array was.
        let torn = b"rtAu\x01\0\0\0".to_vec();
        assert_eq!(
            polled_fds(libc::SYS_ppoll, &[0x100, 1, 0, 0, 0, 0], &mut Fake(0x100, torn)),
            Field::Unavailable(Reason::Malformed)
        );
        let many = [0x100, MAX_WATCHED as u64 + 1, 0, 0, 0, 0];
        assert_eq!(
            polled_fds(libc::SYS_ppoll, &many, &mut Fake(0, vec![])),
            Field::Unavailable(Reason::NotSampled)
        );
        assert_eq!(
            polled_fds(libc::SYS_ppoll, &args, &mut Fake(0, vec![])),
            Field::Unavailable(Reason::Gone)
        );
        // pselect6(10, readfds = {3, 8}, NULL, …)
        let mut set = vec![0u8; 8];
        set[0] = 1 << 3;
        set[1] = 1 << 0;
        let args = [10, 0x200, 0, 0, 0, 0];
        assert_eq!(
            polled_fds(libc::SYS_pselect6, &args, &mut Fake(0x200, set)),
            Field::Available(vec![3, 8])
        );
    }
}
