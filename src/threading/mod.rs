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
mod barrier;
mod budget;
mod builder;
mod condition;
mod contention;
mod current;
mod error;
mod event;
mod excepthook;
mod functions;
mod future;
mod futures_wait;
mod local;
mod lock;
mod naming;
mod pool;
mod pool_worker;
mod queue;
mod queue_order;
mod registry;
mod rlock;
mod semaphore;
mod thread;
mod timeout;
mod timer;
mod wait;

pub use barrier::Barrier;
pub use builder::{Builder, Run};
pub use condition::{Condition, ConditionGuard, ConditionLock};
pub use current::{current_thread, get_ident, get_native_id, main_thread};
pub use error::{Error, ErrorKind, Result};
pub use event::Event;
pub use excepthook::{
    ExceptHook, ExceptHookArgs, default_excepthook, excepthook, exit, format_exception, reset_excepthook,
    set_excepthook,
};
pub use functions::{
    ShutdownGuard, active_count, configured_stack_size, enumerate, interrupt_main, shutdown, stack_size,
    start_new_thread, thread_room,
};
pub use future::Future;
pub use futures_wait::{
    ALL_COMPLETED, AsCompleted, DoneAndNotDone, FIRST_COMPLETED, FIRST_EXCEPTION, ReturnWhen, as_completed,
    wait,
};
pub use local::{Local, Namespace};
pub use lock::{Lock, LockGuard};
pub use naming::{COMM_MAX_BYTES, kernel_comm};
pub use pool::{MapResults, PoolBuilder, ThreadPoolExecutor};
pub use queue::{BaseQueue, LifoQueue, PriorityQueue, PutError, Queue};
pub use queue_order::{Fifo, Lifo, Order, Priority};
pub use registry::{HoldersRead, StatusRead, WaitEdge, WaitReads};
pub use registry::{
    Outcome, PrimitiveKind, PrimitiveRecord, PrimitiveRef, PrimitiveSnapshot, PrimitiveStats, Registry,
    RegistrySnapshot, Retention, StateTimes, ThreadOrigin, ThreadRecord, ThreadRef, ThreadSnapshot,
    ThreadState, WaitSnapshot,
};
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreGuard};
pub use thread::Thread;
pub use timeout::TIMEOUT_MAX;
pub use timer::Timer;
pub use wait::{blocking, sleep};

// For the scenario interpreter: its interruptible sleeps record themselves
// the way `threading::sleep` does.
pub(crate) use registry::WaitTarget;
// One way to write a `Duration` in JSON (fractional seconds), for every snapshot type.
pub(crate) use registry::snapshot::secs;
pub(crate) use wait::WaitScope;
