//! Python's `threading` and `_thread`, rebuilt on real OS threads, with
//! every thread and primitive visible in a [`Registry`].
//!
//! Names, semantics and error messages follow CPython (see each type's
//! "Differences from Python"). What Python cannot tell you, this can: what
//! each thread waits on, who holds each lock, and for how long.
//!
//! # Examples
//!
//! ```
//! use threadscope::threading::{Lock, Registry, Thread, ThreadState};
//! use std::sync::Arc;
//!
//! let registry = Registry::new();
//! let lock = Arc::new(Lock::with_registry(&registry));
//! lock.set_name("fork-1");
//! lock.acquire();
//! let waiter = {
//!     let lock = lock.clone();
//!     Thread::builder().name("Philosopher-1").registry(&registry).target(move || {
//!         lock.acquire();
//!         lock.release().unwrap();
//!     })
//! };
//! waiter.start().unwrap();
//! // Wait until the registry shows it blocked on the lock…
//! while registry.snapshot().thread("Philosopher-1").unwrap().state != ThreadState::Waiting {
//!     std::thread::yield_now();
//! }
//! let snapshot = registry.snapshot();
//! let blocked = snapshot.thread("Philosopher-1").unwrap();
//! assert_eq!(blocked.waiting_on.as_ref().unwrap().name, "fork-1");
//! lock.release().unwrap();
//! waiter.join().unwrap();
//! ```

#[macro_use]
mod accessors;
mod error;
mod futures;
mod queue;
mod registry;
mod sync;
mod thread;
mod timeout;
mod wait;

pub use error::{Error, ErrorKind, Result};
pub use futures::future::Future;
pub use futures::pool::{MapResults, PoolBuilder, ThreadPoolExecutor};
pub use futures::wait::{
    ALL_COMPLETED, AsCompleted, DoneAndNotDone, FIRST_COMPLETED, FIRST_EXCEPTION, ReturnWhen, as_completed,
    wait,
};
pub use queue::order::{Fifo, Lifo, Order, Priority};
pub use queue::{BaseQueue, LifoQueue, PriorityQueue, PutError, Queue};
pub use registry::clock::{HOLD_CLOCK_PERIOD, hold_clock_tid, start_hold_clock};
pub use registry::{BacktraceFrame, WaitBacktrace, set_wait_backtraces, wait_backtraces};
pub use registry::{HoldersRead, StatusRead, WaitEdge, WaitReads};
pub use registry::{
    Outcome, PrimitiveKind, PrimitiveRecord, PrimitiveRef, PrimitiveSnapshot, PrimitiveStats, Raise,
    Registry, RegistrySnapshot, Retention, StateTimes, ThreadOrigin, ThreadRecord, ThreadRef, ThreadSnapshot,
    ThreadState, WaitKind, WaitSnapshot,
};
pub use sync::{
    Barrier, BoundedSemaphore, Condition, ConditionGuard, ConditionLock, Event, Lock, LockGuard, Lockable,
    RLock, RLockGuard, Semaphore, SemaphoreGuard, Timer,
};
pub use thread::Thread;
pub use thread::builder::{Builder, Run};
pub use thread::current::{current_thread, get_ident, get_native_id, main_thread, register_helper_thread};
pub use thread::excepthook::{
    ExceptHook, ExceptHookArgs, RaisedAt, default_excepthook, excepthook, exit, format_exception, raise_at,
    reset_excepthook, set_excepthook,
};
pub use thread::functions::{
    ShutdownGuard, active_count, configured_stack_size, enumerate, interrupt_main, shutdown, stack_size,
    start_new_thread, thread_room,
};
pub use thread::local::{Local, Namespace};
pub use thread::naming::{COMM_MAX_BYTES, kernel_comm};
pub use timeout::TIMEOUT_MAX;
pub use wait::{blocking, sleep};

// For the scenario interpreter: its interruptible sleeps record themselves
// the way `threading::sleep` does.
pub(crate) use registry::WaitTarget;
// One way to write a `Duration` in JSON (fractional seconds), for every snapshot type.
pub(crate) use registry::snapshot::{opt_secs, secs};
pub(crate) use wait::WaitScope;
