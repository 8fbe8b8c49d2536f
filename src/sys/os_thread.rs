//! OS threads from `pthread_create` itself, for the library's threads.
//!
//! std's `Builder::spawn` maps a signal stack and its guard page for every
//! thread it starts and unmaps them at its end, for its stack-overflow
//! report. On this VM that `mmap`/`munmap` pair, with the TLB shootdown the
//! unmapping sends to the other CPU, was most of a short thread's cost
//! (docs/benchmarks.md, issue 17). Here the signal stack is a buffer in the
//! new thread's own outermost frame, so nothing is mapped, and
//! [`stack_guard`](super::stack_guard) makes the same report std would.

use super::stack_guard;
use std::io;
use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a thread started here runs. It gets its `Arc` itself, passed as the
/// pthread argument, so starting a thread allocates and frees nothing.
pub(crate) trait ThreadMain: Send + Sync + 'static {
    /// The thread's whole life. A panic that escapes it ends the thread
    /// quietly (the panic hook has reported it), as under std.
    fn run(self: Arc<Self>);
}

/// A started thread: joined once, or detached when dropped (as std's
/// `JoinHandle`).
#[derive(Debug)]
pub(crate) struct OsThread {
    handle: libc::pthread_t,
}

impl OsThread {
    /// Starts `main` on a new thread with `stack_size` bytes of stack (std's
    /// default when None), plus room for its signal stack.
    ///
    /// # Errors
    ///
    /// The error `pthread_create` returns (EAGAIN when there is no room).
    pub(crate) fn spawn<T: ThreadMain>(stack_size: Option<usize>, main: Arc<T>) -> io::Result<Self> {
        stack_guard::install();
        let bytes = stack_size.unwrap_or_else(default_stack_size);
        let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
        let mut handle: libc::pthread_t = 0;
        let arg = Arc::into_raw(main).cast_mut().cast::<libc::c_void>();
        // SAFETY: `attr` is initialised by pthread_attr_init before any other
        // use and destroyed once; `trampoline::<T>` takes back exactly the
        // `Arc<T>` leaked into `arg`, and on failure no thread took it, so it
        // is taken back here.
        let rc = unsafe {
            let rc = libc::pthread_attr_init(attr.as_mut_ptr());
            assert_eq!(rc, 0, "pthread_attr_init cannot fail on Linux");
            set_stack_size(attr.as_mut_ptr(), bytes);
            let rc = libc::pthread_create(&mut handle, attr.as_ptr(), trampoline::<T>, arg);
            libc::pthread_attr_destroy(attr.as_mut_ptr());
            if rc != 0 {
                drop(Arc::from_raw(arg.cast_const().cast::<T>()));
            }
            rc
        };
        if rc == 0 { Ok(Self { handle }) } else { Err(io::Error::from_raw_os_error(rc)) }
    }

    /// The pthread handle as an integer (Python's `ident`).
    #[allow(clippy::unnecessary_cast, reason = "pthread_t is not u64 on every target")]
    pub(crate) fn as_pthread_t(&self) -> u64 {
        self.handle as u64
    }

    /// Waits for the thread to end and collects it.
    pub(crate) fn join(self) {
        let handle = self.handle;
        std::mem::forget(self);
        // SAFETY: `handle` is a joinable thread we started; `forget` above
        // makes this its only join and keeps `drop` from detaching it.
        unsafe { libc::pthread_join(handle, std::ptr::null_mut()) };
    }
}

impl Drop for OsThread {
    fn drop(&mut self) {
        // SAFETY: the thread was never joined (join forgets `self`), so its
        // handle is valid and detaching it once is allowed, even from itself.
        unsafe { libc::pthread_detach(self.handle) };
    }
}

extern "C" fn trampoline<T: ThreadMain>(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: `spawn` passed `Arc::into_raw` of an `Arc<T>` and gave up its
    // ownership to this thread.
    let main = unsafe { Arc::from_raw(arg.cast_const().cast::<T>()) };
    let mut signal_stack = MaybeUninit::<stack_guard::SignalStack>::uninit();
    let guard = stack_guard::watch_this_thread(&mut signal_stack);
    // Unwinding out of an `extern "C"` function aborts the process.
    let _ = catch_unwind(AssertUnwindSafe(|| main.run()));
    drop(guard);
    std::ptr::null_mut()
}

/// std's default: `RUST_MIN_STACK` when set, else 2 MiB.
fn default_stack_size() -> usize {
    static DEFAULT: AtomicUsize = AtomicUsize::new(0);
    match DEFAULT.load(Ordering::Relaxed) {
        0 => {
            let bytes =
                std::env::var("RUST_MIN_STACK").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(2 << 20);
            DEFAULT.store(bytes, Ordering::Relaxed);
            bytes
        }
        bytes => bytes,
    }
}

/// Sets the stack to at least `bytes` beyond what glibc keeps for the
/// thread's TLS and guard (as std does), plus the signal stack.
///
/// # Safety
///
/// `attr` must be initialised.
unsafe fn set_stack_size(attr: *mut libc::pthread_attr_t, bytes: usize) {
    // SAFETY: the caller's promise; `minimum_stack` only reads `attr`.
    let floor = unsafe { minimum_stack(attr) };
    let wanted = bytes.max(floor).saturating_add(size_of::<stack_guard::SignalStack>());
    // SAFETY: as above.
    if unsafe { libc::pthread_attr_setstacksize(attr, wanted) } == libc::EINVAL {
        // Some sizes must be whole pages.
        let page = page_size();
        let rounded = wanted.div_ceil(page).saturating_mul(page);
        // SAFETY: as above.
        unsafe { libc::pthread_attr_setstacksize(attr, rounded) };
    }
}

/// glibc's `__pthread_get_minstack` (the TLS, the guard and
/// `PTHREAD_STACK_MIN`), or `PTHREAD_STACK_MIN` without it.
///
/// # Safety
///
/// `attr` must be initialised.
unsafe fn minimum_stack(attr: *const libc::pthread_attr_t) -> usize {
    type GetMinStack = unsafe extern "C" fn(*const libc::pthread_attr_t) -> libc::size_t;
    static FOUND: std::sync::OnceLock<Option<GetMinStack>> = std::sync::OnceLock::new();
    let found = FOUND.get_or_init(|| {
        // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only
        // looks the symbol up.
        let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__pthread_get_minstack".as_ptr()) };
        // SAFETY: glibc's `__pthread_get_minstack` has this signature.
        (!symbol.is_null()).then(|| unsafe { std::mem::transmute::<*mut libc::c_void, GetMinStack>(symbol) })
    });
    match found {
        // SAFETY: the caller's promise that `attr` is initialised.
        Some(get) => unsafe { get(attr) },
        None => libc::PTHREAD_STACK_MIN,
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf takes a constant and cannot fail for _SC_PAGESIZE.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::mpsc;

    struct Report(Mutex<Option<mpsc::Sender<(u32, usize)>>>);

    impl ThreadMain for Report {
        fn run(self: Arc<Self>) {
            let here = 0u8;
            let sender = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(sender) = sender {
                let _ = sender.send((super::super::gettid(), std::ptr::from_ref(&here) as usize));
            }
        }
    }

    #[test]
    fn a_thread_runs_on_its_own_tid_and_is_joined() {
        let (tx, rx) = mpsc::channel();
        let thread =
            OsThread::spawn(None, Arc::new(Report(Mutex::new(Some(tx))))).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(thread.as_pthread_t(), 0);
        thread.join();
        let (tid, _) = rx.recv().unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(tid, super::super::gettid(), "it ran on a thread of its own");
    }

    #[test]
    fn a_small_stack_is_still_given_room_beyond_glibcs_floor() {
        // 32 KiB is Python's smallest `stack_size`; the thread must still run.
        let (tx, rx) = mpsc::channel();
        let thread = OsThread::spawn(Some(32 * 1024), Arc::new(Report(Mutex::new(Some(tx)))))
            .unwrap_or_else(|e| panic!("{e}"));
        thread.join();
        assert!(rx.recv().is_ok());
    }

    #[test]
    fn an_unjoined_thread_is_detached_and_still_runs() {
        let (tx, rx) = mpsc::channel();
        drop(OsThread::spawn(None, Arc::new(Report(Mutex::new(Some(tx))))).unwrap_or_else(|e| panic!("{e}")));
        assert!(rx.recv().is_ok());
    }
}
