//! What runs on every thread the library starts: publish its ids, give
//! the kernel its name, run the work under the excepthook, record the end.

use super::budget::BUDGET;
use super::current;
use super::excepthook;
use super::handle::{Thread, ThreadInner};
use super::naming::{COMM_MAX_BYTES, kernel_comm};
use crate::sys;
use crate::threading::registry::ThreadRecord;
use std::sync::Arc;

impl sys::ThreadMain for ThreadInner {
    fn run(self: Arc<Self>) {
        run_managed(self);
    }
}

/// The body of every thread the library starts.
fn run_managed(inner: Arc<ThreadInner>) {
    let work = inner.work.lock().take();
    let record = inner.record.clone();
    record.set_ident(sys::pthread_self());
    record.set_native_id(sys::gettid());
    name_kernel_thread(&record);
    inner.lifecycle.lock().running = true;
    inner.changed.notify_all();

    let outcome = current::run_as(&inner, record.id, || {
        let thread = Thread::from_inner(inner.clone());
        excepthook::run_target(&thread, || {
            if let Some(work) = work {
                work.call();
            }
        })
    });

    let ended = record.terminate(outcome);
    inner.registry.thread_ended(record.id, ended);
    BUDGET.release();
    inner.lifecycle.lock().done = true;
    inner.changed.notify_all();
}

/// Sets the kernel comm from the name, again if a rename raced with it
/// (the renamer writes /proc only once it sees our native id). Copies
/// into a stack buffer: the new thread must not allocate (see `sys`).
fn name_kernel_thread(record: &ThreadRecord) {
    loop {
        let mut comm = [0u8; COMM_MAX_BYTES];
        let len = record.with_name(|name| {
            let cut = kernel_comm(name);
            comm[..cut.len()].copy_from_slice(cut.as_bytes());
            cut.len()
        });
        let set = std::str::from_utf8(&comm[..len]).unwrap_or_default();
        sys::set_current_comm(set);
        if record.with_name(|name| kernel_comm(name) == set) {
            return;
        }
    }
}
