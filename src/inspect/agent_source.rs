//! [`AgentSource`]: a program's own agent (docs/agent-protocol.md) as a
//! runtime view — full names, library states, waits with their primitive
//! and how long, holders and waiters by TID — asked at every sample.
//! Everything the agent says is the other program's text: it is
//! sanitized here, before any screen or JSON sees it. When the agent stops
//! answering, the facts say so and the kernel view carries on; the next
//! sample tries again.

use super::runtime::{
    LockSource, RuntimeFacts, RuntimeLock, RuntimeSource, RuntimeThread, RuntimeWait, StackFrame,
    runtime_lock_id,
};
use super::snapshot::Origin;
use crate::agent::protocol::{AgentFrame, AgentInfo, AgentSnapshot, AgentState, AgentThread, AgentWait};
use crate::agent::{AgentClient, ClientError};
use crate::display::sanitize;
use crate::kernel::KernelSample;
use crate::threading::{PrimitiveKind, ThreadState, WaitKind};
use std::collections::HashSet;
use std::time::Duration;

/// [`RuntimeFacts::source`] of an agent's view.
pub const AGENT: &str = "agent";
/// What `covers` says while the agent answers.
const COVERS: &str = "the program's own locks and primitives, as its agent reports them";

/// A program's agent, by pid.
///
/// # Examples
///
/// ```
/// use threadscope::inspect::AgentSource;
/// // No agent serves this test binary: no source, and nothing said.
/// assert!(AgentSource::for_pid(std::process::id()).is_none());
/// ```
pub struct AgentSource {
    pid: u32,
    client: Option<AgentClient>,
    /// Who answered last (kept while it is away, to say who went).
    info: Option<AgentInfo>,
    /// Why the last attempt failed, in words.
    problem: Option<String>,
}

impl AgentSource {
    /// A source for `pid` when it has an agent socket where the client
    /// looks ([`crate::agent::location::candidates`]); `None`, silently,
    /// when it has none. A socket nobody answers on gives a source that
    /// says so (and keeps trying).
    pub fn for_pid(pid: u32) -> Option<Self> {
        if crate::agent::location::candidates(pid).is_empty() {
            return None;
        }
        let mut source = Self::new(pid);
        source.connect();
        Some(source)
    }

    /// A source for `pid` that looks for its socket at every sample until
    /// one appears (a program started just now, whose agent is not up
    /// yet): silent while there is none, as [`AgentSource::for_pid`].
    pub fn new(pid: u32) -> Self {
        Self { pid, client: None, info: None, problem: None }
    }

    /// A source asking an agent already connected (for tests and embedders).
    pub fn with_client(pid: u32, client: AgentClient) -> Self {
        Self { pid, info: Some(client.info().clone()), client: Some(client), problem: None }
    }

    fn connect(&mut self) {
        match AgentClient::connect_pid(self.pid) {
            Ok(client) => {
                self.info = Some(client.info().clone());
                self.client = Some(client);
                self.problem = None;
            }
            Err(e) => self.problem = Some(self.lost(&e)),
        }
    }

    /// Why there is no agent view, in words, once it has failed.
    fn lost(&self, e: &ClientError) -> String {
        let who = match &self.info {
            Some(info) => format!("{} stopped answering", about(info)),
            None => format!("the agent of pid {} does not answer", self.pid),
        };
        sanitize(&format!("{who}: {e}; showing the kernel view")).into_owned()
    }

    /// The facts of one agent snapshot, unfiltered and sanitized (public
    /// for benchmarks and tests).
    pub fn facts_of(snapshot: &AgentSnapshot, info: &AgentInfo) -> RuntimeFacts {
        let mut notes = Vec::new();
        let mut locks = Vec::new();
        for p in &snapshot.primitives {
            let Some(kind) = primitive_kind(&p.kind) else {
                notes.push(format!(
                    "the agent sent a primitive of unknown kind \"{}\" (not shown)",
                    clean(&p.kind)
                ));
                continue;
            };
            locks.push(RuntimeLock {
                id: runtime_lock_id(LockSource::Agent, p.id),
                kind,
                name: clean(&p.name),
                holders: p.holders.clone(),
                waiters: p.waiters.clone(),
                owner_note: None,
            });
        }
        let known: HashSet<u64> = locks.iter().map(|l| l.id).collect();
        let threads = snapshot
            .threads
            .iter()
            .filter(|t| t.alive)
            .filter_map(|t| Some((t.native_id?, thread_facts(t, &known))))
            .collect();
        RuntimeFacts {
            source: AGENT,
            threads,
            locks,
            notes,
            covers: Some(COVERS.to_owned()),
            about: Some(about(info)),
        }
    }
}

impl RuntimeSource for AgentSource {
    fn facts(&mut self, kernel: &KernelSample) -> Option<RuntimeFacts> {
        if self.client.is_none() {
            // Never answered and no socket: not a program with an agent
            // (yet); nothing to say. Once it has answered, its going away is said.
            let never_seen = self.info.is_none() && self.problem.is_none();
            if never_seen && crate::agent::location::candidates(self.pid).is_empty() {
                return None;
            }
            self.connect();
        }
        let answer = self.client.as_mut().map(AgentClient::snapshot);
        let mut facts = match (answer, &self.info) {
            (Some(Ok(snapshot)), Some(info)) => {
                self.problem = None;
                let alive: HashSet<u32> = kernel.threads.iter().map(|t| t.tid).collect();
                alive_only(Self::facts_of(&snapshot, info), &alive)
            }
            (Some(Err(e)), _) => {
                // After an error a connection is not used again.
                self.client = None;
                self.problem = Some(self.lost(&e));
                RuntimeFacts { source: AGENT, ..RuntimeFacts::default() }
            }
            _ => RuntimeFacts { source: AGENT, ..RuntimeFacts::default() },
        };
        facts.notes.extend(self.problem.clone());
        (!facts.threads.is_empty() || !facts.notes.is_empty()).then_some(facts)
    }
}

/// `agent: rust, threadscope 0.1.0 (pid 4242)`, `agent: python 3.11.7 (pid 4242)`.
fn about(info: &AgentInfo) -> String {
    let version = match &info.runtime_version {
        Some(version) => format!(" {}", clean(version)),
        None => format!(", threadscope {}", clean(&info.agent_version)),
    };
    format!("agent: {}{version} (pid {})", clean(&info.runtime), info.pid)
}

fn thread_facts(t: &AgentThread, known: &HashSet<u64>) -> RuntimeThread {
    let state = match t.state {
        AgentState::Created => ThreadState::Created,
        AgentState::Running => ThreadState::Running,
        AgentState::Waiting => ThreadState::Waiting,
        AgentState::Terminated => ThreadState::Terminated,
    };
    RuntimeThread {
        // The name goes to a DisplayName, which keeps unprintable bytes
        // visible as escapes; it is not cleaned here, so none is lost.
        name: Some(t.name.clone()),
        // The state is the thread's own (`library_state`), not a word beside it.
        state: None,
        wait: t.waiting_on.as_ref().map(|w| wait_facts(w, known)),
        stack: t.stack.iter().map(frame).collect(),
        ident: (t.ident != 0).then_some(t.ident),
        daemon: Some(t.daemon),
        library_state: Some(state),
        origin: Some(if t.own { Origin::Inspector } else { Origin::Managed }),
    }
}

fn wait_facts(w: &AgentWait, known: &HashSet<u64>) -> RuntimeWait {
    let (kind, name) = match wait_kind(&w.kind) {
        Some(kind) => (kind, clean(&w.name)),
        // A word of a later protocol: shown in words, as a declared region.
        None => (WaitKind::Region, format!("{}: {}", clean(&w.kind), clean(&w.name))),
    };
    let lock = w.primitive.map(|id| runtime_lock_id(LockSource::Agent, id)).filter(|id| known.contains(id));
    let waited = w.waited_ms.filter(|ms| ms.is_finite() && *ms >= 0.0 && *ms < 1e15);
    RuntimeWait {
        kind,
        name: name.into(),
        role: w.role.as_deref().map(|role| clean(role).into()),
        lock,
        waited: waited.map(|ms| Duration::from_secs_f64(ms / 1000.0)),
        // Only a join has a thread to wait for; on any other kind the field
        // would draw a join edge the agent never meant.
        joins: w.joins.filter(|_| kind == WaitKind::Join),
    }
}

fn frame(f: &AgentFrame) -> StackFrame {
    StackFrame {
        function: clean(&f.function),
        location: f.location.as_deref().map(clean),
        ..StackFrame::default()
    }
}

/// The protocol's kind words (`WaitKind::label`) back to kinds.
fn primitive_kind(word: &str) -> Option<PrimitiveKind> {
    Some(match word {
        "lock" => PrimitiveKind::Lock,
        "rlock" => PrimitiveKind::RLock,
        "condition" => PrimitiveKind::Condition,
        "event" => PrimitiveKind::Event,
        "semaphore" => PrimitiveKind::Semaphore,
        "bounded semaphore" => PrimitiveKind::BoundedSemaphore,
        "barrier" => PrimitiveKind::Barrier,
        "queue" => PrimitiveKind::Queue,
        "future" => PrimitiveKind::Future,
        "thread pool" => PrimitiveKind::ThreadPool,
        _ => return None,
    })
}

fn wait_kind(word: &str) -> Option<WaitKind> {
    match word {
        "join" => Some(WaitKind::Join),
        "sleep" => Some(WaitKind::Sleep),
        "region" => Some(WaitKind::Region),
        other => primitive_kind(other).map(WaitKind::Primitive),
    }
}

/// The agent's text, safe to show.
fn clean(text: &str) -> String {
    sanitize(text).into_owned()
}

/// The facts restricted to TIDs in this kernel sample.
fn alive_only(mut facts: RuntimeFacts, alive: &HashSet<u32>) -> RuntimeFacts {
    facts.threads.retain(|tid, _| alive.contains(tid));
    // A joined thread gone from the kernel has ended: the join is about to
    // return, and a link to its TID could name a task that reuses it.
    for wait in facts.threads.values_mut().filter_map(|t| t.wait.as_mut()) {
        wait.joins = wait.joins.filter(|tid| alive.contains(tid));
    }
    for lock in &mut facts.locks {
        lock.holders.retain(|tid| alive.contains(tid));
        lock.waiters.retain(|tid| alive.contains(tid));
    }
    facts
}

#[cfg(test)]
#[path = "agent_source_tests.rs"]
mod tests;
