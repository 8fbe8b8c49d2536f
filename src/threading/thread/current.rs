//! Which thread is running: a thread-local pointer to its [`Thread`].
//!
//! Threads the library starts set it before their target runs. The main
//! thread and threads started elsewhere get a record the first time they
//! touch the library ("MainThread", "Dummy-N"), like Python's
//! `_MainThread` and `_DummyThread`.

use super::handle::{Thread, ThreadInner};
use crate::sys;
use crate::threading::registry::{Outcome, Registry, ThreadOrigin, ThreadRecord};
use std::cell::{Cell, RefCell};
use std::sync::{Arc, OnceLock};

struct Current {
    thread: Thread,
}

impl Drop for Current {
    fn drop(&mut self) {
        // A dummy ends when its OS thread does: this destructor is that moment.
        let record = self.thread.record();
        if matches!(record.origin, ThreadOrigin::Dummy | ThreadOrigin::Helper) {
            let ended = record.terminate(Outcome::Returned);
            self.thread.registry().thread_ended(record.id, ended);
        }
    }
}

// The managed thread's own handle, set by `run_managed` for the length of
// the run. A scoped pointer has no destructor, so, unlike a thread-local
// holding an `Arc`, it registers nothing at thread exit and makes the new
// thread allocate nothing (glibc's per-thread malloc cache costs a short
// thread more than everything else we do).
scoped_tls::scoped_thread_local!(static MANAGED: Arc<ThreadInner>);

thread_local! {
    /// Registry id of the current thread; 0 until known. Kept separate from
    /// `CURRENT` because it has no destructor, so it is readable even while
    /// thread-locals are being torn down, and is one load on lock fast paths.
    static CURRENT_ID: Cell<u64> = const { Cell::new(0) };
    /// The main thread's or a dummy's handle (threads we did not start).
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// Registry id of the calling thread, registering it on first use.
#[inline]
pub(crate) fn current_id() -> u64 {
    let id = CURRENT_ID.get();
    if id != 0 { id } else { current_thread().record().id }
}

/// The record of the calling thread.
pub(crate) fn current_record() -> Arc<ThreadRecord> {
    if MANAGED.is_set() {
        return MANAGED.with(|inner| Thread::from_inner(inner.clone()).record().clone());
    }
    let bound = CURRENT.try_with(|c| c.borrow().as_ref().map(|c| c.thread.record().clone()));
    match bound {
        Ok(Some(record)) => record,
        _ => current_thread().record().clone(),
    }
}

/// Runs `body` as the managed thread `inner` (for threads the library starts).
pub(crate) fn run_as<T>(inner: &Arc<ThreadInner>, id: u64, body: impl FnOnce() -> T) -> T {
    CURRENT_ID.set(id);
    MANAGED.set(inner, body)
}

/// The [`Thread`] of the caller: Python's `threading.current_thread()`.
///
/// For the main thread it is [`main_thread()`]; for a thread the library did
/// not start it is a daemon "Dummy-N" thread, alive until its OS thread ends,
/// that cannot be joined.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{current_thread, get_ident};
/// assert_eq!(current_thread().ident(), Some(get_ident()));
/// ```
pub fn current_thread() -> Thread {
    if MANAGED.is_set() {
        return MANAGED.with(|inner| Thread::from_inner(inner.clone()));
    }
    let found = CURRENT.try_with(|c| c.borrow().as_ref().map(|c| c.thread.clone()));
    match found {
        Ok(Some(thread)) => thread,
        Ok(None) => {
            let thread = foreign_thread();
            CURRENT_ID.set(thread.record().id);
            let _ = CURRENT.try_with(|c| *c.borrow_mut() = Some(Current { thread: thread.clone() }));
            thread
        }
        // Thread-locals are being torn down: answer without binding.
        Err(_) => foreign_thread(),
    }
}

/// Registers the calling thread — one the library did not start — as a
/// helper of threadscope's own (origin [`ThreadOrigin::Helper`]), under its
/// OS thread's name, so that when it touches the library (a join, a wait)
/// it is not taken for the workload's "Dummy-N". Does nothing for a thread
/// the library already knows.
pub fn register_helper_thread() {
    if MANAGED.is_set() || CURRENT.try_with(|c| c.borrow().is_some()).unwrap_or(true) {
        return;
    }
    let name = std::thread::current().name().unwrap_or("ts-helper").to_owned();
    let thread = Thread::register_running(Registry::global(), ThreadOrigin::Helper, name, true);
    thread.record().set_ident(sys::pthread_self());
    thread.record().set_native_id(sys::gettid());
    CURRENT_ID.set(thread.record().id);
    let _ = CURRENT.try_with(|c| *c.borrow_mut() = Some(Current { thread }));
}

/// A record for the calling thread, which the library did not start.
fn foreign_thread() -> Thread {
    if sys::gettid() == sys::pid() {
        let main = main_thread();
        main.record().set_ident(sys::pthread_self());
        return main;
    }
    let registry = Registry::global();
    let name = format!("Dummy-{}", registry.next_name_number());
    let thread = Thread::register_running(registry, ThreadOrigin::Dummy, name, true);
    thread.record().set_ident(sys::pthread_self());
    thread.record().set_native_id(sys::gettid());
    thread
}

/// The main thread: Python's `threading.main_thread()`, named "MainThread".
///
/// # Examples
///
/// ```
/// use threadscope::threading::main_thread;
/// assert_eq!(main_thread().name(), "MainThread");
/// ```
pub fn main_thread() -> Thread {
    // Kept here, with the threads, not in the registry below them.
    static MAIN: OnceLock<Thread> = OnceLock::new();
    let registry = Registry::global();
    MAIN.get_or_init(|| {
        let ids = sys::main_thread_ids();
        let thread = Thread::register_running(registry, ThreadOrigin::Main, "MainThread".into(), false);
        if ids.ident != 0 {
            thread.record().set_ident(ids.ident);
        }
        thread.record().set_native_id(ids.native_id);
        thread
    })
    .clone()
}

/// The calling thread's ident (its pthread cookie): Python's `get_ident()`.
pub fn get_ident() -> u64 {
    sys::pthread_self()
}

/// The calling thread's kernel TID: Python's `get_native_id()`.
pub fn get_native_id() -> u32 {
    sys::gettid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_helper_keeps_its_own_name_and_is_no_dummy() {
        // Without registering, the first touch would make it "Dummy-N".
        let (name, origin) = std::thread::Builder::new()
            .name("ts-join".into())
            .spawn(|| {
                register_helper_thread();
                let me = current_thread();
                (me.name(), me.record().origin)
            })
            .and_then(|h| h.join().map_err(|_| std::io::Error::other("helper panicked")))
            .unwrap();
        assert_eq!((name.as_str(), origin), ("ts-join", ThreadOrigin::Helper));
    }
}
