//! The one audited module where `unsafe` is allowed: thin wrappers over libc
//! (including `process_vm_readv`, which only reads, the ptrace stop that
//! copies another process's thread's stack, and the library's threads from
//! `pthread_create` with std's stack-overflow report) and `parking_lot_core`,
//! each with a `// SAFETY:` note. Everything above this module is safe Rust.

mod memory;
mod os;
mod os_thread;
#[cfg(feature = "stacks")]
mod ptrace;
mod raw_lock;
mod ring;
mod stack_guard;

pub(crate) use memory::{clock_now, process_cpu_clock, read_process_memory};

pub(crate) use os::{
    at_process_exit, count_maps, gettid, main_thread_ids, pid, process_nproc_limit, pthread_self,
    set_current_comm, signal_has_handler, tgkill_main,
};
pub(crate) use os_thread::{OsThread, ThreadMain};
#[cfg(feature = "stacks")]
pub(crate) use ptrace::{Registers, StopError, stop_thread};
pub(crate) use raw_lock::{Backoff, RawLock};
pub(crate) use ring::{Claimed, Cursors, Look, Refusal, Ring, gap_at_one_instant};
