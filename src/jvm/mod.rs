//! JVM threads through the JVM's own attach mechanism, as `jstack` does.
//!
//! ```text
//!  JvmTarget::detect(pid)          /proc/PID/{status,maps,stat,cmdline,environ}: libjvm.so,
//!          │                       uid, NSpid, temp dir, -Xrs, -XX:+DisableAttachMechanism;
//!          │                       maps unreadable: signs::Visible (exe, comm, argv[0],
//!          │                       thread names) says whether it looks like a JVM at all
//!          ▼
//!  attach::thread_dump             .java_pid<NSPID> (started by .attach_pid<NSPID> + SIGQUIT
//!          │                       when absent), request "threaddump -l", status + text
//!          ▼
//!  parse_thread_dump ──▶ JvmThreadDump { threads (full names, Java ids, nid = kernel TID,
//!          │                  states, frames, lock lines), deadlocks, locks by address }
//!          ▼
//!  JvmView::poll                   the last dump, refreshed at its own cadence (default 5 s),
//!                                  indexed by kernel TID for the inspector's join
//! ```
//!
//! What is written to the target: the attach handshake only. When the
//! Attach Listener is not running yet, `.attach_pid<NSPID>` is created (in
//! the JVM's working directory, else its `/tmp`) and removed again, and
//! SIGQUIT is sent — only when `/proc/PID/status` shows the JVM catches
//! it (a JVM started with `-Xrs` does not, and SIGQUIT would kill it).
//! The JVM then starts its "Attach Listener" thread, which stays. Each
//! dump brings the JVM to a safepoint (see docs/benchmarks.md).
//!
//! Only the JVM's user or root may attach; both ends check the other's
//! credentials.

mod attach;
mod detect;
mod error;
mod model;
mod name;
mod parse;
mod signs;
mod view;

pub use attach::{AttachOptions, execute, thread_dump};
pub use detect::JvmTarget;
pub use error::{AttachStep, JvmError};
pub use model::{
    DeadlockLink, FrameLock, JavaDeadlock, JavaFrame, JavaLock, JavaLockKind, JavaState, JavaThread,
    JavaThreadKind, JvmThreadDump, LockAction, LockRef, StateReason, ThreadState,
};
pub use name::JavaName;
pub use parse::parse_thread_dump;
pub use signs::JvmSign;
pub use view::{JvmSample, JvmView, JvmViewOptions};
