//! Reading another process's memory without stopping it, and the clocks a
//! sleeping thread measures its deadline against.

use std::io;
use std::time::Duration;

/// Copies `buf.len()` bytes at address `address` of process `pid` into
/// `buf` with `process_vm_readv`: the target is not stopped, not traced and
/// never written. Returns how many bytes were copied (fewer than asked when
/// the range runs into unmapped memory).
///
/// Needs the same permission as ptrace-attaching to `pid`
/// (`PTRACE_MODE_ATTACH_REALCREDS`): `EPERM` otherwise, `ESRCH` if the
/// process is gone, `EFAULT` if `address` is not mapped in it.
pub(crate) fn read_process_memory(pid: u32, address: u64, buf: &mut [u8]) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    let local = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    let remote = libc::iovec { iov_base: address as usize as *mut libc::c_void, iov_len: buf.len() };
    // SAFETY: `local` describes `buf`, which we own mutably for the call and
    // whose length is `iov_len`; the kernel writes at most that many bytes
    // into it. `remote` is only an address in the *other* process: the
    // kernel checks it there (EFAULT) and never touches our memory with it.
    // Both iovec arrays have exactly one element, as the counts say.
    let copied = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    if copied < 0 { Err(io::Error::last_os_error()) } else { Ok(copied as usize) }
}

/// The id of the clock that measures the CPU time of every thread of
/// process `pid`, live and ended (`clock_getcpuclockid`); `None` if it has
/// none (no such process). Linux lets any process read another's: the
/// kernel sums the same figures `/proc/<pid>/stat` does, without that
/// file's second walk over the threads or its fifty formatted fields.
pub(crate) fn process_cpu_clock(pid: u32) -> Option<i32> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    let mut clock: libc::clockid_t = 0;
    // SAFETY: clock_getcpuclockid writes one clockid_t into `clock`, an
    // owned local; a pid with no process only makes it return an error.
    let rc = unsafe { libc::clock_getcpuclockid(pid, &mut clock) };
    (rc == 0).then_some(clock)
}

/// The current time of clock `clock_id` (`CLOCK_MONOTONIC`,
/// `CLOCK_REALTIME`, `CLOCK_BOOTTIME`, …) as time since its epoch, or
/// `None` for a clock this process cannot read (a thread's CPU-time clock in another
/// process, an unknown id).
pub(crate) fn clock_now(clock_id: i32) -> Option<Duration> {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into `now`, which is a
    // valid, owned struct; an unknown clock id only makes it fail (EINVAL).
    let rc = unsafe { libc::clock_gettime(clock_id, &mut now) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(now.tv_sec).ok()?;
    let nanos = u32::try_from(now.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_memory() {
        let value: u64 = 0x1122_3344_5566_7788;
        let mut buf = [0u8; 8];
        let copied = read_process_memory(std::process::id(), &value as *const u64 as u64, &mut buf).unwrap();
        assert_eq!(copied, 8);
        assert_eq!(u64::from_ne_bytes(buf), value);
    }

    #[test]
    fn an_unmapped_address_is_efault() {
        let mut buf = [0u8; 4];
        let err = read_process_memory(std::process::id(), 8, &mut buf).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EFAULT));
        assert_eq!(read_process_memory(std::process::id(), 8, &mut []).unwrap(), 0);
    }

    #[test]
    fn the_monotonic_clock_moves_forward() {
        let a = clock_now(libc::CLOCK_MONOTONIC).unwrap();
        let b = clock_now(libc::CLOCK_MONOTONIC).unwrap();
        assert!(b >= a);
        assert_eq!(clock_now(-12345), None);
    }
}
