//! Stopping one thread of another process for a moment: `PTRACE_SEIZE`
//! (which does not stop it), `PTRACE_INTERRUPT` (which does), a wait for
//! the stop, its registers, and `PTRACE_DETACH`. The only place threadscope
//! stops another process's thread; what is done while it is stopped (a
//! copy of its stack) is the caller's, and as short as it can be.
//!
//! Every request here must come from the thread that seized: the caller
//! does a whole stop on one thread. A thread left seized because it never
//! stopped (uninterruptible sleep) is released by the kernel when the
//! seizing thread exits, so callers seize from a short-lived thread.

use std::io;
use std::time::{Duration, Instant};

/// The registers an unwinder needs: the instruction pointer, the stack
/// pointer and the frame pointer (and, on aarch64, the link register).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Registers {
    /// Instruction pointer (`rip` / `pc`).
    pub(crate) ip: u64,
    /// Stack pointer (`rsp` / `sp`).
    pub(crate) sp: u64,
    /// Frame pointer (`rbp` / `x29`).
    pub(crate) fp: u64,
    /// Link register (`x30`); 0 on x86_64.
    pub(crate) lr: u64,
}

/// Why a thread could not be stopped.
#[derive(Debug)]
pub(crate) enum StopError {
    /// `PTRACE_SEIZE` refused (`EPERM`: not ours to trace; `ESRCH`: gone).
    Seize(io::Error),
    /// It ended before (or while) it could be stopped.
    Vanished,
    /// It did not stop in time (asleep uninterruptibly in the kernel). It
    /// stays seized until the calling thread exits.
    Timeout(Duration),
    /// Another request failed while it was stopped (it was let go).
    Other(&'static str, io::Error),
}

/// A thread stopped by [`stop_thread`]: its registers, and how to let it go.
pub(crate) struct Stopped {
    tid: libc::pid_t,
    /// A signal the stop intercepted, handed back on detach.
    pending_signal: libc::c_int,
    /// When `PTRACE_INTERRUPT` was sent.
    since: Instant,
    /// When the wait saw it stopped.
    seen: Instant,
    /// Its registers at the stop.
    pub(crate) registers: Registers,
    detached: bool,
}

impl Stopped {
    /// Lets the thread go on (delivering any signal the stop caught) and
    /// returns how long it was stopped at most (from the interrupt to the
    /// detach) and at least (from when the wait saw it stopped).
    pub(crate) fn detach(mut self) -> (Duration, Duration) {
        self.release();
        let now = Instant::now();
        (now - self.since, now - self.seen)
    }

    fn release(&mut self) {
        if !self.detached {
            self.detached = true;
            // SAFETY: PTRACE_DETACH takes no pointer: `data` is the signal
            // number to deliver (0 for none), passed as an integer.
            unsafe {
                libc::ptrace(libc::PTRACE_DETACH, self.tid, 0usize, self.pending_signal as usize);
            }
        }
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        self.release();
    }
}

/// Stops thread `tid` (of any process) with `PTRACE_SEIZE` +
/// `PTRACE_INTERRUPT`, waits at most `patience` for the stop and reads its
/// registers. The thread stays stopped until the returned [`Stopped`] is
/// detached (or dropped). Must not be called for a thread of this process
/// (the kernel refuses: a process may not trace itself).
pub(crate) fn stop_thread(tid: u32, patience: Duration) -> Result<Stopped, StopError> {
    let tid = libc::pid_t::try_from(tid).map_err(|_| StopError::Vanished)?;
    // SAFETY: PTRACE_SEIZE takes no pointer: addr is 0, data the option
    // bits (none) as an integer.
    if unsafe { libc::ptrace(libc::PTRACE_SEIZE, tid, 0usize, 0usize) } != 0 {
        let err = io::Error::last_os_error();
        return Err(if err.raw_os_error() == Some(libc::ESRCH) {
            StopError::Vanished
        } else {
            StopError::Seize(err)
        });
    }
    let since = Instant::now();
    let mut stopped = Stopped {
        tid,
        pending_signal: 0,
        since,
        seen: since,
        registers: Registers::default(),
        detached: false,
    };
    // SAFETY: PTRACE_INTERRUPT takes no pointers (addr and data are 0).
    if unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0usize, 0usize) } != 0 {
        let err = io::Error::last_os_error();
        // Not stopped, so nothing to detach from: the seize ends when we exit.
        stopped.detached = true;
        return Err(if err.raw_os_error() == Some(libc::ESRCH) {
            StopError::Vanished
        } else {
            StopError::Other("PTRACE_INTERRUPT", err)
        });
    }
    stopped.pending_signal = match wait_for_stop(tid, since, patience) {
        Ok(signal) => signal,
        Err(e) => {
            stopped.detached = true;
            return Err(e);
        }
    };
    stopped.seen = Instant::now();
    stopped.registers = registers(tid).map_err(|e| StopError::Other("reading registers", e))?;
    Ok(stopped)
}

/// Waits (polling, so a thread that never stops cannot hang us) for `tid`'s
/// ptrace stop; returns the signal to hand back on detach (0 for the
/// interrupt's own stop or a group stop).
fn wait_for_stop(tid: libc::pid_t, since: Instant, patience: Duration) -> Result<libc::c_int, StopError> {
    let deadline = since + patience;
    let mut spins = 0u32;
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid writes one int into `status`, which we own.
        let rc = unsafe { libc::waitpid(tid, &mut status, libc::__WALL | libc::WNOHANG) };
        if rc == tid {
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                return Err(StopError::Vanished);
            }
            if libc::WIFSTOPPED(status) {
                let signal = libc::WSTOPSIG(status);
                let event = (status >> 16) & 0xff;
                // The interrupt's stop (PTRACE_EVENT_STOP), or a group stop
                // (SIGSTOP… with the event bits): nothing to hand back. A
                // plain signal-delivery stop caught a signal on its way in:
                // give it back on detach so the program still gets it.
                return Ok(if event == libc::PTRACE_EVENT_STOP || signal == libc::SIGTRAP {
                    0
                } else {
                    signal
                });
            }
            continue;
        }
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(if err.raw_os_error() == Some(libc::ECHILD) {
                StopError::Vanished
            } else {
                StopError::Other("waitpid", err)
            });
        }
        if Instant::now() >= deadline {
            return Err(StopError::Timeout(patience));
        }
        // A stop lands once the thread is scheduled: yield the CPU to it
        // (on a busy machine it may be ours) and look again. Never a sleep:
        // a sleep's timer slack alone would add 50 us to every pause.
        spins += 1;
        if spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn registers(tid: libc::pid_t) -> io::Result<Registers> {
    // SAFETY: user_regs_struct is plain integers; all-zero is valid.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    // SAFETY: PTRACE_GETREGS writes one user_regs_struct at `data`, which
    // points at ours; the tracee is in a ptrace stop (checked by the kernel).
    let rc =
        unsafe { libc::ptrace(libc::PTRACE_GETREGS, tid, 0usize, &mut regs as *mut libc::user_regs_struct) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Registers { ip: regs.rip, sp: regs.rsp, fp: regs.rbp, lr: 0 })
}

#[cfg(target_arch = "aarch64")]
fn registers(tid: libc::pid_t) -> io::Result<Registers> {
    // SAFETY: user_regs_struct is plain integers; all-zero is valid.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: (&mut regs as *mut libc::user_regs_struct).cast(),
        iov_len: std::mem::size_of::<libc::user_regs_struct>(),
    };
    // SAFETY: PTRACE_GETREGSET with NT_PRSTATUS writes at most `iov_len`
    // bytes into `iov_base`, which is our `regs` of exactly that size.
    let rc = unsafe {
        libc::ptrace(libc::PTRACE_GETREGSET, tid, libc::NT_PRSTATUS as usize, &mut iov as *mut libc::iovec)
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Registers { ip: regs.pc, sp: regs.sp, fp: regs.regs[29], lr: regs.regs[30] })
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn registers(_tid: libc::pid_t) -> io::Result<Registers> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_of_our_own_process_cannot_be_stopped() {
        let err = stop_thread(super::super::gettid(), Duration::from_millis(10)).err();
        assert!(matches!(err, Some(StopError::Seize(_))), "{err:?}");
    }

    #[test]
    fn a_thread_that_does_not_exist_has_vanished() {
        // Beyond pid_max (at most 2^22): never a thread.
        let err = stop_thread(1 << 23, Duration::from_millis(10)).err();
        assert!(matches!(err, Some(StopError::Vanished)), "{err:?}");
    }
}
