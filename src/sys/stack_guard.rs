//! The report std makes when a thread runs out of stack ("thread '…' has
//! overflowed its stack"), for the threads [`os_thread`](super::os_thread)
//! starts, which std's own handler does not know. Every other fault goes on
//! to the handler that was there before: std's, which reports its own
//! threads' overflows and otherwise lets the fault kill the process.
//!
//! A fault is taken for an overflow when it hits within [`NEAR_SP`] of the
//! stack pointer: everything above the stack pointer up to the thread's
//! first frame is mapped, so a fault that close is the guard page below it.

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::sync::{Once, OnceLock};

/// Room for the kernel's signal frame (its AVX-512 state included) and the
/// handlers run on it.
pub(super) type SignalStack = [u8; 16 * 1024];
/// How close to the stack pointer a fault must be to be an overflow; stack
/// probes touch each page in turn, so an overflow's fault is within a page.
const NEAR_SP: usize = 64 * 1024;

thread_local! {
    // Const-initialised and without a destructor: a plain TLS read, so
    // the signal handler may touch it.
    static WATCHED: Cell<bool> = const { Cell::new(false) };
}

static INSTALL: Once = Once::new();
static PREVIOUS_SEGV: OnceLock<libc::sigaction> = OnceLock::new();
static PREVIOUS_BUS: OnceLock<libc::sigaction> = OnceLock::new();

/// Puts the handler in front of the current SIGSEGV and SIGBUS handlers,
/// once per process.
pub(super) fn install() {
    INSTALL.call_once(|| {
        for (signum, previous) in [(libc::SIGSEGV, &PREVIOUS_SEGV), (libc::SIGBUS, &PREVIOUS_BUS)] {
            // SAFETY: a zeroed sigaction is valid; sigaction swaps in ours
            // and writes the old one into `old`, both valid structs.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_fault as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signum, &action, &mut old) == 0 {
                    let _ = previous.set(old);
                }
            }
        }
    });
}

/// While alive, the calling thread's faults near its stack pointer are
/// reported as overflows, handled on `stack`.
pub(super) struct Watch {
    _not_send: std::marker::PhantomData<*const ()>,
}

/// Watches the calling thread, its signal stack being `stack`, which must
/// outlive the returned [`Watch`] (it lives in the caller's frame).
pub(super) fn watch_this_thread(stack: &mut MaybeUninit<SignalStack>) -> Watch {
    let alternate =
        libc::stack_t { ss_sp: stack.as_mut_ptr().cast(), ss_flags: 0, ss_size: size_of::<SignalStack>() };
    // SAFETY: `alternate` names memory this thread owns until `Watch` is
    // dropped, which disables it first.
    let set = unsafe { libc::sigaltstack(&alternate, std::ptr::null_mut()) } == 0;
    WATCHED.set(set);
    Watch { _not_send: std::marker::PhantomData }
}

impl Drop for Watch {
    fn drop(&mut self) {
        WATCHED.set(false);
        let off = libc::stack_t { ss_sp: std::ptr::null_mut(), ss_flags: libc::SS_DISABLE, ss_size: 0 };
        // SAFETY: disabling the alternate stack before its frame ends, so
        // no later signal (thread-local destructors run after) lands on it.
        unsafe { libc::sigaltstack(&off, std::ptr::null_mut()) };
    }
}

extern "C" fn on_fault(signum: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo and ucontext to an
    // SA_SIGINFO handler.
    if WATCHED.get() && unsafe { is_overflow(info, context) } {
        report_overflow_and_abort();
    }
    // SAFETY: passing on what the kernel gave us.
    unsafe { pass_on(signum, info, context) };
}

/// # Safety
///
/// `info` and `context` as the kernel gives an SA_SIGINFO handler.
unsafe fn is_overflow(info: *mut libc::siginfo_t, context: *mut libc::c_void) -> bool {
    // SAFETY: the caller's promise.
    let address = unsafe { (*info).si_addr() } as usize;
    // SAFETY: as above.
    match unsafe { stack_pointer(context) } {
        Some(sp) => address.abs_diff(sp) < NEAR_SP,
        None => false,
    }
}

/// # Safety
///
/// `context` must be the kernel's ucontext.
#[cfg(target_arch = "x86_64")]
unsafe fn stack_pointer(context: *mut libc::c_void) -> Option<usize> {
    // SAFETY: the caller's promise.
    let context = unsafe { &*context.cast::<libc::ucontext_t>() };
    Some(context.uc_mcontext.gregs[libc::REG_RSP as usize] as usize)
}

/// # Safety
///
/// `context` must be the kernel's ucontext.
#[cfg(target_arch = "aarch64")]
unsafe fn stack_pointer(context: *mut libc::c_void) -> Option<usize> {
    // SAFETY: the caller's promise.
    let context = unsafe { &*context.cast::<libc::ucontext_t>() };
    Some(context.uc_mcontext.sp as usize)
}

/// Elsewhere no fault is called an overflow; std's handler still runs.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe fn stack_pointer(_context: *mut libc::c_void) -> Option<usize> {
    None
}

/// std's words (`thread 'NAME' (TID) has overflowed its stack`), the name
/// being the kernel's: the library's is behind a lock, which a signal
/// handler may not take. Only
/// async-signal-safe calls: prctl, gettid, write, abort.
fn report_overflow_and_abort() -> ! {
    let mut comm = [0u8; 16];
    // SAFETY: PR_GET_NAME writes at most 16 bytes into `comm`.
    unsafe { libc::prctl(libc::PR_GET_NAME, comm.as_mut_ptr() as libc::c_ulong, 0, 0, 0) };
    let mut message = Message::default();
    message.push(b"\nthread '");
    for &byte in comm.iter().take_while(|&&b| b != 0) {
        // The name is the program's; keep control bytes off the terminal.
        message.push(&[if byte.is_ascii_control() { b'?' } else { byte }]);
    }
    message.push(b"' (");
    message.push_number(super::gettid());
    message.push(b") has overflowed its stack\nfatal runtime error: stack overflow, aborting\n");
    // SAFETY: write from a valid buffer, then abort; both are
    // async-signal-safe.
    unsafe {
        libc::write(libc::STDERR_FILENO, message.bytes.as_ptr().cast(), message.len);
        libc::abort();
    }
}

/// A fixed buffer: the handler must not allocate.
struct Message {
    bytes: [u8; 160],
    len: usize,
}

impl Default for Message {
    fn default() -> Self {
        Self { bytes: [0; 160], len: 0 }
    }
}

impl Message {
    fn push(&mut self, text: &[u8]) {
        let room = self.bytes.len() - self.len;
        let take = text.len().min(room);
        self.bytes[self.len..self.len + take].copy_from_slice(&text[..take]);
        self.len += take;
    }

    fn push_number(&mut self, mut n: u32) {
        let mut digits = [0u8; 10];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[at..]);
    }
}

/// Hands the fault to the handler that was there before ours. With none
/// (or one that ignores it), restores the default and returns: the fault
/// happens again and the kernel ends the process with it, as without us.
///
/// # Safety
///
/// The arguments as the kernel gave them to [`on_fault`].
unsafe fn pass_on(signum: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let previous = if signum == libc::SIGBUS { PREVIOUS_BUS.get() } else { PREVIOUS_SEGV.get() };
    let Some(previous) =
        previous.filter(|p| p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN)
    else {
        // SAFETY: installing the default action for this signal.
        unsafe {
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signum, &default, std::ptr::null_mut());
        }
        return;
    };
    type WithInfo = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);
    type Plain = extern "C" fn(libc::c_int);
    // SAFETY: a handler installed with SA_SIGINFO takes three arguments,
    // one without it takes one; `sa_sigaction` holds its address.
    unsafe {
        if previous.sa_flags & libc::SA_SIGINFO != 0 {
            std::mem::transmute::<libc::sighandler_t, WithInfo>(previous.sa_sigaction)(signum, info, context);
        } else {
            std::mem::transmute::<libc::sighandler_t, Plain>(previous.sa_sigaction)(signum);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_cut_at_its_buffer_and_numbers_are_written_in_full() {
        let mut message = Message::default();
        message.push(b"TID ");
        message.push_number(0);
        message.push(b" ");
        message.push_number(u32::MAX);
        assert_eq!(&message.bytes[..message.len], b"TID 0 4294967295");
        message.push(&[b'x'; 200]);
        assert_eq!(message.len, 160, "full, not past the end");
    }
}
