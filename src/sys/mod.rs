//! The one audited module where `unsafe` is allowed: thin wrappers over libc
//! and `parking_lot_core`, each with a `// SAFETY:` note. Everything above
//! this module is safe Rust.

mod os;
mod raw_lock;

pub(crate) use os::{
    count_maps, gettid, main_thread_ids, pid, process_nproc_limit, pthread_self, set_current_comm,
    signal_has_handler, tgkill_main,
};
pub(crate) use raw_lock::{Backoff, RawLock};
