//! The parsed thread dump: owned, `Serialize`, threads referred to by index.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use super::name::JavaName;

/// One thread dump of a JVM (what `jcmd PID Thread.print -l` prints), parsed.
///
/// Threads keep the dump's order; everything else refers to a thread by its
/// index in [`JvmThreadDump::threads`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct JvmThreadDump {
    /// The dump's first line, e.g. `2026-12-01 20:54:47`.
    pub timestamp: Option<String>,
    /// `Full thread dump OpenJDK 64-Bit Server VM (17.0.15+6 mixed mode, sharing):`
    pub vm: Option<String>,
    /// Every thread, Java and JVM-internal, in the dump's order.
    pub threads: Vec<JavaThread>,
    /// The JVM's own "Found one Java-level deadlock" sections.
    pub deadlocks: Vec<JavaDeadlock>,
    /// Every monitor and synchronizer some thread holds or waits for, by address.
    pub locks: Vec<JavaLock>,
    /// True when the dump reached its `JNI global refs` trailer: a dump cut
    /// short (the JVM died while writing) lacks it.
    pub complete: bool,
}

impl JvmThreadDump {
    /// A map from kernel TID (`nid`) to the thread's index, for joining with
    /// `/proc/PID/task/TID`.
    pub fn index_by_native_id(&self) -> HashMap<u32, usize> {
        self.threads.iter().enumerate().filter_map(|(i, t)| Some((t.native_id?, i))).collect()
    }

    /// The thread whose kernel TID is `tid` (a linear search; build
    /// [`index_by_native_id`](Self::index_by_native_id) for many look-ups).
    pub fn thread_by_native_id(&self, tid: u32) -> Option<&JavaThread> {
        self.threads.iter().find(|t| t.native_id == Some(tid))
    }

    /// The lock at `address`, if any thread holds or waits for it.
    pub fn lock(&self, address: u64) -> Option<&JavaLock> {
        self.locks.binary_search_by_key(&address, |l| l.address).ok().map(|i| &self.locks[i])
    }
}

/// Whether a dumped thread runs Java code or is one of the JVM's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JavaThreadKind {
    /// A `java.lang.Thread` (it has a `#N` id and a `java.lang.Thread.State`).
    Java,
    /// A JVM-internal thread (`VM Thread`, `GC Thread#0`, …): no Java id,
    /// no Java state, no stack.
    VmInternal,
}

/// One thread of the dump.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JavaThread {
    /// The full name, as the JVM printed it.
    pub name: JavaName,
    /// Java or JVM-internal.
    pub kind: JavaThreadKind,
    /// `#N`: the Java thread id (`Thread.threadId()`).
    pub java_id: Option<u64>,
    /// `daemon` in the header.
    pub daemon: bool,
    /// `prio=`: the Java priority (1–10).
    pub priority: Option<i32>,
    /// `os_prio=`: the native priority.
    pub os_priority: Option<i32>,
    /// `cpu=`: CPU time the thread used.
    pub cpu: Option<Duration>,
    /// `elapsed=`: time since the thread started.
    pub elapsed: Option<Duration>,
    /// `tid=`: the address of the JVM's thread structure (not a kernel id).
    pub vm_address: Option<u64>,
    /// `nid=`: the kernel TID (hex up to JDK 18, decimal from JDK 19).
    pub native_id: Option<u32>,
    /// The VM's word for what the thread does: `runnable`, `waiting on
    /// condition`, `in Object.wait()`, `waiting for monitor entry`, `sleeping`.
    pub vm_status: String,
    /// `java.lang.Thread.State` (Java threads only).
    pub state: Option<JavaState>,
    /// The Java stack, innermost frame first, each with its lock lines.
    pub frames: Vec<JavaFrame>,
    /// `Locked ownable synchronizers` (`java.util.concurrent` locks it owns).
    pub owned_synchronizers: Vec<LockRef>,
}

impl JavaThread {
    /// What the thread waits for (the innermost `waiting to lock`, `waiting
    /// on`, `parking to wait for` or `waiting to re-lock` line), if any.
    pub fn waiting_for(&self) -> Option<&FrameLock> {
        self.frames.iter().flat_map(|f| &f.locks).find(|l| l.action.is_wait())
    }
}

/// `java.lang.Thread.State: WAITING (parking)`: the state and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JavaState {
    /// The state.
    pub state: ThreadState,
    /// The part in parentheses.
    pub reason: Option<StateReason>,
}

/// `java.lang.Thread.State`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadState {
    /// Not yet started.
    New,
    /// Running or ready to run (including inside native code).
    Runnable,
    /// Waiting to enter a `synchronized` block.
    Blocked,
    /// `Object.wait()`, `LockSupport.park()`, `Thread.join()` without timeout.
    Waiting,
    /// The same with a timeout, or `Thread.sleep`.
    TimedWaiting,
    /// Ended.
    Terminated,
    /// A word this parser does not know, kept as printed.
    Other(String),
}

/// The reason in `(…)` after the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StateReason {
    /// `(on object monitor)`: a monitor enter or `Object.wait`.
    OnObjectMonitor,
    /// `(parking)`: `LockSupport.park`, i.e. `java.util.concurrent`.
    Parking,
    /// `(sleeping)`: `Thread.sleep`.
    Sleeping,
    /// Anything else, as printed.
    Other(String),
}

/// One stack frame: `at pkg.Class.method(java.base@17/File.java:12)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JavaFrame {
    /// `pkg.Class.method`.
    pub method: String,
    /// `java.base@17.0.15` when the class is in a named module.
    pub module: Option<String>,
    /// `File.java`, or None for `Native Method` / `Unknown Source`.
    pub file: Option<String>,
    /// The line number.
    pub line: Option<u32>,
    /// True for `Native Method`.
    pub native: bool,
    /// The lock lines printed under this frame.
    pub locks: Vec<FrameLock>,
}

/// A `- locked <0x…> (a java.lang.Object)` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FrameLock {
    /// What the thread does with the lock.
    pub action: LockAction,
    /// Which lock.
    pub lock: LockRef,
}

/// The verb of a frame's lock line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockAction {
    /// `- locked <A>`: holds monitor A (entered in this frame).
    Locked,
    /// `- waiting to lock <A>`: BLOCKED entering monitor A.
    WaitingToLock,
    /// `- waiting on <A>`: in `A.wait()` (monitor released until notified).
    WaitingOn,
    /// `- waiting to re-lock in wait() <A>`: notified, re-entering A.
    WaitingToRelock,
    /// `- parking to wait for <A>`: parked on a `java.util.concurrent` synchronizer.
    ParkingToWaitFor,
    /// `- eliminated <…>`: a lock the JIT removed.
    Eliminated,
}

impl LockAction {
    /// True for the actions that mean the thread waits.
    pub fn is_wait(self) -> bool {
        matches!(self, Self::WaitingToLock | Self::WaitingOn | Self::WaitingToRelock | Self::ParkingToWaitFor)
    }
}

/// A lock named in a dump: `<0x000000069ec1c090> (a java.lang.Object)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LockRef {
    /// The object's address; None for `<no object reference available>`
    /// or `<owner is scalar replaced>`.
    pub address: Option<u64>,
    /// The object's class.
    pub class: Option<String>,
}

/// Monitor (`synchronized`) or `java.util.concurrent` synchronizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JavaLockKind {
    /// An object monitor.
    Monitor,
    /// An `AbstractOwnableSynchronizer` (`ReentrantLock`, …) or another
    /// object threads park on (a `CountDownLatch$Sync` has waiters, no owner).
    Synchronizer,
}

/// A monitor or synchronizer, derived from every thread's lock lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JavaLock {
    /// The object's address.
    pub address: u64,
    /// The object's class.
    pub class: Option<String>,
    /// Monitor or synchronizer.
    pub kind: JavaLockKind,
    /// The holding thread's index (`- locked`, `Locked ownable
    /// synchronizers`, or the deadlock section's "which is held by").
    pub holder: Option<usize>,
    /// Threads waiting to acquire it (`waiting to lock`, `waiting to
    /// re-lock`, `parking to wait for`), in dump order.
    pub waiters: Vec<usize>,
    /// Threads in `wait()` on this monitor (waiting for a notify, not for the lock).
    pub wait_set: Vec<usize>,
}

/// One "Found one Java-level deadlock" section: a cycle of threads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JavaDeadlock {
    /// Each thread of the cycle with what it waits for and who holds it.
    pub links: Vec<DeadlockLink>,
}

/// `"A": waiting to lock monitor … which is held by "B"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeadlockLink {
    /// The waiting thread's name as the section prints it.
    pub thread_name: JavaName,
    /// Its index in the dump's threads, when the name resolves.
    pub thread: Option<usize>,
    /// What it waits for.
    pub kind: JavaLockKind,
    /// The object's address (for a monitor: the object, not the monitor).
    pub address: Option<u64>,
    /// The object's class.
    pub class: Option<String>,
    /// The holder's name as printed (None for `UNKNOWN_owner_addr=…`).
    pub held_by_name: Option<JavaName>,
    /// The holder's index in the dump's threads, when the name resolves.
    pub held_by: Option<usize>,
}
