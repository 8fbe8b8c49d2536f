//! [`JvmSource`]: a JVM's thread dump as a runtime view. The dump comes
//! from the JVM itself through its attach mechanism, as `jstack` does (see
//! [`crate::jvm`]), at its own slower cadence; between dumps the facts of
//! the last one are handed back, filtered to the TIDs still in `/proc`.

use super::runtime::{
    LockSource, RuntimeFacts, RuntimeLock, RuntimeSource, RuntimeThread, RuntimeWait, StackFrame,
    runtime_lock_id,
};
use crate::jvm::{
    FrameLock, JavaLockKind, JavaState, JavaThread, JavaThreadKind, JvmError, JvmSample, JvmTarget,
    JvmThreadDump, JvmView, JvmViewOptions, LockAction, LockRef, StateReason, ThreadState,
};
use crate::kernel::KernelSample;
use crate::threading::{PrimitiveKind, WaitKind};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `covers` says while a dump is in hand.
const COVERS: &str = "JVM monitors and java.util.concurrent locks";
/// The thread the JVM starts when threadscope (or jstack, jcmd) first attaches.
const ATTACH_LISTENER: &str = "Attach Listener";

/// Which runtime views to ask, beside the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeOptions {
    /// False for `--runtime none`: never ask a runtime (no agent, no JVM
    /// attach), the kernel view only.
    pub ask: bool,
    /// The JVM view's cadence and limits.
    pub jvm: JvmViewOptions,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self { ask: true, jvm: JvmViewOptions::default() }
    }
}

/// A JVM's threads, monitors, `java.util.concurrent` locks and stacks, by
/// kernel TID.
///
/// # Examples
///
/// ```
/// use threadscope::inspect::JvmSource;
/// use threadscope::jvm::JvmViewOptions;
/// // This test binary is not a JVM: no source, and nothing said.
/// assert!(JvmSource::for_pid(std::process::id(), JvmViewOptions::default()).is_none());
/// ```
pub struct JvmSource {
    view: Option<JvmView>,
    interval: Duration,
    /// The facts of the latest dump, before the `/proc` filter.
    built: Option<(Arc<JvmSample>, RuntimeFacts)>,
    /// Why the last attempt (or detection) failed, in words.
    problem: Option<String>,
}

impl JvmSource {
    /// A source for `pid` when it is a HotSpot JVM; `None` when it is not,
    /// or shows no sign of one where its maps may not be read (silently).
    /// A JVM we may not attach to, or a process we cannot tell, gives a
    /// source that only says why.
    pub fn for_pid(pid: u32, options: JvmViewOptions) -> Option<Self> {
        Self::from_detection(JvmTarget::detect(pid), options)
    }

    fn from_detection(detected: Result<JvmTarget, JvmError>, options: JvmViewOptions) -> Option<Self> {
        let interval = options.interval;
        match detected {
            Ok(target) => Some(Self::new(target, options)),
            Err(JvmError::NotAJvm { .. } | JvmError::NoSignOfJvm { .. } | JvmError::NoSuchProcess { .. }) => {
                None
            }
            Err(e) => Some(Self { view: None, interval, built: None, problem: Some(e.to_string()) }),
        }
    }

    /// A source asking `target` at `options.interval`.
    pub fn new(target: JvmTarget, options: JvmViewOptions) -> Self {
        let interval = options.interval;
        Self { view: Some(JvmView::new(target, options)), interval, built: None, problem: None }
    }

    /// The facts of one dump, unfiltered (public for benchmarks and tests).
    pub fn facts_of(dump: &JvmThreadDump, interval: Duration) -> RuntimeFacts {
        let tid_of = |i: usize| dump.threads.get(i).and_then(|t| t.native_id);
        let locks: Vec<RuntimeLock> = dump
            .locks
            .iter()
            .map(|l| {
                let holders: Vec<u32> = l.holder.and_then(tid_of).into_iter().collect();
                let waiters: Vec<u32> = l.waiters.iter().filter_map(|&i| tid_of(i)).collect();
                let owner_note = (holders.is_empty() && !waiters.is_empty()).then(|| owner_note(l.kind));
                RuntimeLock {
                    id: runtime_lock_id(LockSource::Jvm, l.address),
                    kind: lock_kind(l.kind),
                    name: lock_words(Some(l.address), l.class.as_deref()),
                    holders,
                    waiters,
                    owner_note,
                }
            })
            .collect();
        let threads =
            dump.threads.iter().filter_map(|t| Some((t.native_id?, thread_facts(t, dump)))).collect();
        let mut facts = RuntimeFacts {
            source: "jvm",
            threads,
            locks,
            notes: Vec::new(),
            covers: Some(COVERS.to_owned()),
            about: Some(about(interval)),
        };
        facts.notes.extend(unseen_deadlocks(dump, &facts.locks));
        facts
    }
}

impl RuntimeSource for JvmSource {
    fn facts(&mut self, kernel: &KernelSample) -> Option<RuntimeFacts> {
        if let Some(view) = &mut self.view {
            match view.poll(Instant::now()) {
                Ok(true) => self.problem = None,
                Ok(false) => {}
                Err(JvmError::NotAJvm { .. }) => {}
                Err(e) => self.problem = Some(e.to_string()),
            }
        }
        let latest = self.view.as_ref().and_then(JvmView::latest);
        let mut facts = match latest {
            Some(sample) => {
                if !self.built.as_ref().is_some_and(|(built, _)| Arc::ptr_eq(built, sample)) {
                    self.built = Some((Arc::clone(sample), Self::facts_of(&sample.dump, self.interval)));
                }
                let (_, facts) = self.built.as_ref()?;
                alive_only(facts, &kernel.threads.iter().map(|t| t.tid).collect())
            }
            None => {
                self.built = None;
                RuntimeFacts { source: "jvm", ..RuntimeFacts::default() }
            }
        };
        if let Some(problem) = &self.problem {
            facts.notes.push(format!("no JVM view: {problem} (the kernel view carries on)"));
        }
        (!facts.threads.is_empty() || !facts.notes.is_empty()).then_some(facts)
    }
}

/// The facts restricted to TIDs in this kernel sample: a thread that ended
/// since the dump is dropped, everywhere.
fn alive_only(facts: &RuntimeFacts, alive: &HashSet<u32>) -> RuntimeFacts {
    let mut out = facts.clone();
    out.threads.retain(|tid, _| alive.contains(tid));
    for lock in &mut out.locks {
        lock.holders.retain(|tid| alive.contains(tid));
        lock.waiters.retain(|tid| alive.contains(tid));
    }
    out.locks.retain(|l| !l.holders.is_empty() || !l.waiters.is_empty());
    out
}

fn thread_facts(t: &JavaThread, dump: &JvmThreadDump) -> RuntimeThread {
    let mut state = match (t.kind, &t.state) {
        (JavaThreadKind::Java, Some(state)) => state_words(state),
        (JavaThreadKind::Java, None) => t.vm_status.clone(),
        (JavaThreadKind::VmInternal, _) => format!("JVM-internal thread ({})", t.vm_status),
    };
    if t.name == ATTACH_LISTENER && t.kind == JavaThreadKind::Java {
        // Started by the first attach (ours, or an earlier jstack's); it stays.
        state.push_str(" — the JVM's attach thread, serving threadscope's requests (as it serves jstack's)");
    }
    let wait = t.waiting_for().map(|wait| wait_facts(wait, dump)).or_else(|| {
        let sleeping = t.state.as_ref().is_some_and(|s| s.reason == Some(StateReason::Sleeping));
        sleeping.then(|| RuntimeWait {
            kind: WaitKind::Sleep,
            name: "Thread.sleep".into(),
            role: None,
            lock: None,
            waited: None,
            joins: None,
        })
    });
    RuntimeThread {
        name: Some(t.name.to_text()),
        state: Some(state),
        wait,
        stack: t.frames.iter().map(frame).collect(),
        ..RuntimeThread::default()
    }
}

fn wait_facts(wait: &FrameLock, dump: &JvmThreadDump) -> RuntimeWait {
    let class = wait.lock.class.as_deref();
    let kind = match wait.lock.address.and_then(|a| dump.lock(a)) {
        Some(lock) => lock_kind(lock.kind),
        None if wait.action == LockAction::ParkingToWaitFor => PrimitiveKind::JavaLock,
        None => PrimitiveKind::Monitor,
    };
    // A thread in wait() waits for a notify, not for the monitor's holder:
    // no link to the lock, so the wait-for graph draws no edge.
    let lock = match wait.action {
        LockAction::WaitingOn => None,
        _ => wait.lock.address.map(|a| runtime_lock_id(LockSource::Jvm, a)),
    };
    let role = match wait.action {
        LockAction::ParkingToWaitFor => "parking",
        LockAction::WaitingOn => "in Object.wait()",
        LockAction::WaitingToRelock => "re-locking after wait()",
        _ => "waiting to lock",
    };
    RuntimeWait {
        kind: WaitKind::Primitive(kind),
        name: lock_words(wait.lock.address, class).into(),
        role: Some(role.into()),
        lock,
        waited: None,
        joins: None,
    }
}

fn frame(f: &crate::jvm::JavaFrame) -> StackFrame {
    let location = match (&f.file, f.line) {
        (Some(file), Some(line)) => Some(format!("{file}:{line}")),
        (Some(file), None) => Some(file.clone()),
        (None, _) if f.native => Some("Native Method".to_owned()),
        (None, _) => Some("Unknown Source".to_owned()),
    };
    let notes =
        f.locks.iter().map(|l| format!("{} {}", action_words(l.action), lock_ref_words(&l.lock))).collect();
    StackFrame { function: f.method.clone(), location, notes, ..StackFrame::default() }
}

/// `BLOCKED (on object monitor)`, as jstack prints it.
fn state_words(state: &JavaState) -> String {
    let word = match &state.state {
        ThreadState::New => "NEW",
        ThreadState::Runnable => "RUNNABLE",
        ThreadState::Blocked => "BLOCKED",
        ThreadState::Waiting => "WAITING",
        ThreadState::TimedWaiting => "TIMED_WAITING",
        ThreadState::Terminated => "TERMINATED",
        ThreadState::Other(other) => other.as_str(),
    };
    let reason = match &state.reason {
        None => return word.to_owned(),
        Some(StateReason::OnObjectMonitor) => "on object monitor",
        Some(StateReason::Parking) => "parking",
        Some(StateReason::Sleeping) => "sleeping",
        Some(StateReason::Other(other)) => other.as_str(),
    };
    format!("{word} ({reason})")
}

fn action_words(action: LockAction) -> &'static str {
    match action {
        LockAction::Locked => "locked",
        LockAction::WaitingToLock => "waiting to lock",
        LockAction::WaitingOn => "waiting on",
        LockAction::WaitingToRelock => "waiting to re-lock in wait()",
        LockAction::ParkingToWaitFor => "parking to wait for",
        LockAction::Eliminated => "eliminated",
    }
}

/// `<0x000000069ec1c090> (a java.lang.Object)`, as in the dump.
fn lock_ref_words(lock: &LockRef) -> String {
    let address = lock.address.map_or_else(|| "<no object reference>".to_owned(), |a| format!("<{a:#018x}>"));
    match &lock.class {
        Some(class) => format!("{address} (a {class})"),
        None => address,
    }
}

/// `0x69ec1aa98 (java.lang.Object)`: the kind's word goes before it on screen.
fn lock_words(address: Option<u64>, class: Option<&str>) -> String {
    let address = address.map_or_else(|| "(no object reference)".to_owned(), |a| format!("{a:#x}"));
    match class {
        Some(class) => format!("{address} ({class})"),
        None => address,
    }
}

fn lock_kind(kind: JavaLockKind) -> PrimitiveKind {
    match kind {
        JavaLockKind::Monitor => PrimitiveKind::Monitor,
        JavaLockKind::Synchronizer => PrimitiveKind::JavaLock,
    }
}

fn owner_note(kind: JavaLockKind) -> String {
    match kind {
        JavaLockKind::Monitor => "no thread shows it locked in this dump".to_owned(),
        JavaLockKind::Synchronizer => {
            "no owner: a java.util.concurrent object that records none (a latch, a condition, a semaphore)"
                .to_owned()
        }
    }
}

/// How the screen says where the JVM view comes from.
fn about(interval: Duration) -> String {
    format!("JVM view via attach (asked of the JVM, as jstack does), at most every {}", seconds(interval))
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{} s", d.as_secs()) } else { format!("{:.1} s", d.as_secs_f64()) }
}

/// The JVM's own deadlock reports that the locks (holders and waiters by
/// TID) do not show as a cycle, in words. The wait-for graph finds the
/// cycles from the locks; a report it cannot find must still be said.
fn unseen_deadlocks(dump: &JvmThreadDump, locks: &[RuntimeLock]) -> Vec<String> {
    let tid_of = |i: Option<usize>| i.and_then(|i| dump.threads.get(i)).and_then(|t| t.native_id);
    dump.deadlocks
        .iter()
        .filter(|d| {
            !d.links.iter().all(|link| {
                let (Some(waiter), Some(holder), Some(address)) =
                    (tid_of(link.thread), tid_of(link.held_by), link.address)
                else {
                    return false;
                };
                let id = runtime_lock_id(LockSource::Jvm, address);
                locks.iter().any(|l| l.id == id && l.waiters.contains(&waiter) && l.holders.contains(&holder))
            })
        })
        .map(|d| {
            let names: Vec<String> =
                d.links.iter().map(|l| format!("\"{}\"", l.thread_name.to_text())).collect();
            format!(
                "the JVM reports a Java-level deadlock among {} that its lock lines do not show as a cycle",
                names.join(", ")
            )
        })
        .collect()
}

#[cfg(test)]
#[path = "jvm_source_tests.rs"]
mod tests;
