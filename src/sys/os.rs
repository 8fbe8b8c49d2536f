//! Process, thread and signal facts from libc.

use std::io;

/// The kernel thread id (TID) of the calling thread.
pub(crate) fn gettid() -> u32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    let tid = unsafe { libc::gettid() };
    tid as u32
}

/// This process's id (the main thread's TID).
pub(crate) fn pid() -> u32 {
    std::process::id()
}

/// The calling thread's pthread handle, as an integer cookie (Python's `get_ident`).
pub(crate) fn pthread_self() -> u64 {
    // SAFETY: pthread_self takes no arguments and cannot fail.
    let handle = unsafe { libc::pthread_self() };
    handle as u64
}

/// Sets the calling thread's kernel comm. `comm` must already fit in 15
/// bytes; interior NULs end it.
/// No allocation: a new thread that never mallocs skips glibc's per-thread
/// cache set-up and tear-down, a measurable share of a short thread's life.
pub(crate) fn set_current_comm(comm: &str) {
    let mut buf = [0u8; 16];
    for (dst, &src) in buf.iter_mut().zip(comm.as_bytes().iter().take(15).take_while(|&&b| b != 0)) {
        *dst = src;
    }
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes
    // from a valid pointer; `buf` is 16 bytes and its last byte stays 0.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, buf.as_ptr() as libc::c_ulong, 0, 0, 0);
    }
}

/// Ids of the process's main thread, captured before `main` runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MainThreadIds {
    pub(crate) ident: u64,
    pub(crate) native_id: u32,
}

static MAIN_IDENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn capture_main_thread() {
    MAIN_IDENT.store(pthread_self(), std::sync::atomic::Ordering::Relaxed);
}

// Runs in the main thread before `main`, so `main_thread().ident` is right
// even when a worker asks first.
// SAFETY: `.init_array` entries are plain `extern "C" fn()` called once by
// the loader; `capture_main_thread` only stores to an atomic.
#[unsafe(link_section = ".init_array")]
#[used]
static CAPTURE_MAIN_THREAD: extern "C" fn() = capture_main_thread;

/// The main thread's ident and TID. The ident is 0 if the loader did not run
/// the capture (then the main thread records it when it first asks).
pub(crate) fn main_thread_ids() -> MainThreadIds {
    // Reading the static keeps the linker from dropping the init_array entry.
    let _ = std::hint::black_box(&CAPTURE_MAIN_THREAD);
    MainThreadIds { ident: MAIN_IDENT.load(std::sync::atomic::Ordering::Relaxed), native_id: pid() }
}

/// True when `signum` has a handler installed (neither SIG_DFL nor SIG_IGN).
pub(crate) fn signal_has_handler(signum: i32) -> bool {
    // SAFETY: sigaction with a null new action only reads the current one
    // into `old`, which is a valid, zeroed struct.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(signum, std::ptr::null(), &mut old) != 0 {
            return false;
        }
        old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN
    }
}

/// Sends `signum` to the main thread (whose TID is the pid).
pub(crate) fn tgkill_main(signum: i32) -> io::Result<()> {
    let pid = pid() as libc::pid_t;
    // SAFETY: tgkill with our own pid and the main thread's tid; the kernel
    // validates the signal number.
    let rc = unsafe { libc::syscall(libc::SYS_tgkill, pid, pid, signum) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// The soft RLIMIT_NPROC, or None when unlimited.
pub(crate) fn process_nproc_limit() -> Option<u64> {
    // SAFETY: getrlimit writes into a valid struct we own.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NPROC, &mut lim) != 0 || lim.rlim_cur == libc::RLIM_INFINITY {
            return None;
        }
        Some(lim.rlim_cur)
    }
}

/// Number of memory mappings of this process (lines of /proc/self/maps).
pub(crate) fn count_maps() -> io::Result<usize> {
    use std::io::Read;
    let mut file = std::fs::File::open("/proc/self/maps")?;
    let mut buf = vec![0u8; 1 << 16];
    let mut lines = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(lines);
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
    }
}

/// Runs `hook` when the process exits normally (`exit`, a return from
/// `main`): C's `atexit`. Returns false if the C library had no room.
pub(crate) fn at_process_exit(hook: extern "C" fn()) -> bool {
    // SAFETY: `hook` is a plain function with the C ABI that takes nothing
    // and returns nothing, as atexit requires; it stays valid for the
    // life of the process.
    unsafe { libc::atexit(hook) == 0 }
}
