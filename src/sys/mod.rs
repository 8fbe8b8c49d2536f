//! The one audited module where `unsafe` is allowed: thin wrappers over libc
//! (including `process_vm_readv`, which only reads) and `parking_lot_core`,
//! each with a `// SAFETY:` note. Everything above this module is safe Rust.

mod memory;
mod os;
mod raw_lock;

pub(crate) use memory::{clock_now, read_process_memory};

pub(crate) use os::{
    at_process_exit, count_maps, gettid, main_thread_ids, pid, process_nproc_limit, pthread_self,
    set_current_comm, signal_has_handler, tgkill_main,
};
pub(crate) use raw_lock::{Backoff, RawLock};
