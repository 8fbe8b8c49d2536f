//! Module-level functions of Python's `threading` / `_thread`.

use super::budget::BUDGET;
use super::current::{current_thread, main_thread};
use super::excepthook;
use super::handle::{Thread, ThreadInner};
use super::naming::target_name;
use crate::sys;
use crate::threading::error::{Error, Result};
use crate::threading::registry::{Registry, ThreadOrigin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Live threads (started and not ended) in the global registry, including
/// the main thread and dummies: Python's `threading.enumerate()`.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{enumerate, current_thread};
/// assert!(enumerate().contains(&current_thread()));
/// ```
pub fn enumerate() -> Vec<Thread> {
    // Make sure the caller and the main thread are known, as Python's are.
    let _ = current_thread();
    let _ = main_thread();
    Registry::global().enumerate()
}

impl Registry {
    /// Live threads (started, not yet ended), in creation order: Python's
    /// `enumerate()` over this registry. (Defined with the threads: the
    /// registry keeps their handles without knowing their type.)
    pub fn enumerate(&self) -> Vec<Thread> {
        self.live_handles()
            .into_iter()
            .filter_map(|handle| handle.downcast::<ThreadInner>().ok())
            .map(Thread::from_inner)
            .collect()
    }
}

/// `enumerate().len()`: Python's `threading.active_count()`.
pub fn active_count() -> usize {
    enumerate().len()
}

/// How many more threads this process could start now, judging by the same
/// limits `start()` checks (memory maps, threads-max, pid_max,
/// RLIMIT_NPROC); `None` if /proc cannot tell.
pub fn thread_room() -> Option<usize> {
    super::budget::room()
}

/// Smallest stack size Python accepts on Linux (`THREAD_STACK_MIN`).
const STACK_MIN: isize = 0x8000;

static STACK_SIZE: AtomicUsize = AtomicUsize::new(0);

/// Sets the stack size for threads created afterwards and returns the
/// previous setting: Python's `threading.stack_size(size)`. 0 means the
/// platform default; `stack_size(0)` is also how Python's `stack_size()`
/// (no argument) reads-and-resets.
///
/// # Errors
///
/// - `ValueError: size must be 0 or a positive value` for a negative size.
/// - `ValueError: size not valid: N bytes` for 1..32767.
///
/// # Examples
///
/// ```
/// use threadscope::threading::stack_size;
/// assert_eq!(stack_size(262_144).unwrap(), 0);
/// assert_eq!(stack_size(0).unwrap(), 262_144);
/// assert_eq!(stack_size(4096).unwrap_err().to_string(), "ValueError: size not valid: 4096 bytes");
/// ```
pub fn stack_size(size: isize) -> Result<usize> {
    if size < 0 {
        return Err(Error::value("size must be 0 or a positive value"));
    }
    if size != 0 && size < STACK_MIN {
        return Err(Error::value(format!("size not valid: {size} bytes")));
    }
    Ok(STACK_SIZE.swap(size.unsigned_abs(), Ordering::Relaxed))
}

/// The stack size set with [`stack_size`], if any (without resetting it).
pub fn configured_stack_size() -> Option<usize> {
    Some(STACK_SIZE.load(Ordering::Relaxed)).filter(|&s| s != 0)
}

/// Number of signals (`NSIG` on Linux: 1..=64 are valid).
const NSIG: i32 = 65;

/// Simulates the arrival of signal `signum` in the main thread: Python's
/// `_thread.interrupt_main(signum=SIGINT)`.
///
/// As in Python, if the signal has no handler (it is `SIG_DFL` or
/// `SIG_IGN`) nothing happens. Otherwise the main thread receives the
/// signal, so a program waiting for Ctrl-C there (tokio's `ctrl_c`, a
/// `signal-hook` flag) sees it.
///
/// # Errors
///
/// `ValueError: signal number out of range` unless 1 ≤ signum < 65.
pub fn interrupt_main(signum: i32) -> Result<()> {
    if !(1..NSIG).contains(&signum) {
        return Err(Error::value("signal number out of range"));
    }
    if !sys::signal_has_handler(signum) {
        return Ok(());
    }
    sys::tgkill_main(signum).map_err(|e| Error::runtime(e.to_string()))
}

/// Waits for every live non-daemon thread the library started; daemon
/// threads are left running and are abandoned when the process exits
/// (their cleanup does not run). Python does this at interpreter exit;
/// call it at the end of `main`, or hold a [`ShutdownGuard`].
///
/// Called from the main thread, it first marks the main thread stopped,
/// as CPython's `threading._shutdown` does: from then on
/// `main_thread().is_alive()` is false and a thread joining it returns,
/// instead of the process waiting for that thread for ever.
///
/// Threads started while waiting are waited for too.
pub fn shutdown() {
    run_atexit_hooks();
    let me = current_thread();
    if me.record().origin == ThreadOrigin::Main {
        me.mark_stopped();
    }
    loop {
        let pending: Vec<Thread> = Registry::global()
            .enumerate()
            .into_iter()
            .filter(|t| t.record().origin == ThreadOrigin::Managed && !t.daemon() && *t != me)
            .collect();
        if pending.is_empty() {
            return;
        }
        for thread in pending {
            let _ = thread.join();
        }
    }
}

type AtexitHook = Box<dyn FnOnce() + Send>;

static ATEXIT: parking_lot::Mutex<Vec<AtexitHook>> = parking_lot::Mutex::new(Vec::new());

/// Registers `hook` to run at the start of [`shutdown`], before threads are
/// waited for, as CPython's `threading._register_atexit` does (thread pools
/// use it to tell idle workers to finish). Hooks run once, newest first.
#[allow(dead_code)] // until the thread pool lands
pub(crate) fn register_atexit(hook: impl FnOnce() + Send + 'static) {
    ATEXIT.lock().push(Box::new(hook));
}

fn run_atexit_hooks() {
    loop {
        let hook = ATEXIT.lock().pop();
        match hook {
            Some(hook) => hook(),
            None => return,
        }
    }
}

/// Calls [`shutdown`] when dropped: put one at the top of `main` to get
/// Python's "the process waits for non-daemon threads", even on an early
/// return or a panic in `main`.
///
/// # Examples
///
/// ```
/// let _shutdown = threadscope::threading::ShutdownGuard::new();
/// threadscope::threading::Thread::spawn(|| ()).unwrap();
/// // … the thread is joined when `_shutdown` drops.
/// ```
#[derive(Debug, Default)]
#[must_use = "the guard waits for threads when dropped"]
pub struct ShutdownGuard(());

impl ShutdownGuard {
    /// A guard that runs [`shutdown`] on drop.
    pub fn new() -> Self {
        Self(())
    }
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        shutdown();
    }
}

/// Starts a bare thread running `f` and returns its ident: Python's
/// `_thread.start_new_thread`. Such a thread has no `Thread` object; it
/// appears as a "Dummy-N" once it touches the library. A panic is reported
/// as "Exception ignored in thread started by: NAME"; [`exit`](crate::threading::exit) is silent.
///
/// # Errors
///
/// `RuntimeError: can't start new thread` when there is no room.
pub fn start_new_thread<F: FnOnce() + Send + 'static>(f: F) -> Result<u64> {
    let name = target_name::<F>().unwrap_or_else(|| "<closure>".to_owned());
    BUDGET.admit()?;
    let bare = Arc::new(BareThread { name, work: parking_lot::Mutex::new(Some(Box::new(f))) });
    // Dropping the handle detaches the thread: nothing joins it.
    match sys::OsThread::spawn(configured_stack_size(), bare) {
        Ok(thread) => Ok(thread.as_pthread_t()),
        Err(_) => {
            BUDGET.release();
            Err(Error::runtime("can't start new thread"))
        }
    }
}

/// What a `start_new_thread` thread runs: its function, once.
struct BareThread {
    name: String,
    work: parking_lot::Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl sys::ThreadMain for BareThread {
    fn run(self: Arc<Self>) {
        let work = self.work.lock().take();
        if let Some(work) = work {
            excepthook::run_unraisable(&self.name, work);
        }
        BUDGET.release();
    }
}
