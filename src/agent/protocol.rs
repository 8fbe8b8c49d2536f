//! The agent protocol's messages (docs/agent-protocol.md is their
//! contract): what a client asks, what an agent answers. Plain data, so the
//! Rust agent, the client and the tests share one definition; the Python
//! agent writes the same JSON by hand.

use serde::{Deserialize, Serialize};

/// The one version this build speaks.
pub const PROTOCOL: u32 = 1;

/// The longest request line an agent reads, `\n` included.
pub const MAX_REQUEST_BYTES: usize = 4096;

/// A request line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The protocol version the client speaks.
    pub protocol: u32,
    /// What it asks.
    pub request: RequestKind,
}

/// What a client may ask. Every request is read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Who the agent is.
    Hello,
    /// The program's threads and primitives now.
    Snapshot,
}

/// A reply line: `ok` with one payload, or an error in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The protocol version of the reply.
    pub protocol: u32,
    /// Whether the request was answered.
    pub ok: bool,
    /// Why not, when `ok` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The answer to `hello`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentInfo>,
    /// The answer to `snapshot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<AgentSnapshot>,
}

impl Reply {
    /// A failure, in words.
    pub fn error(message: impl Into<String>) -> Self {
        Self { protocol: PROTOCOL, ok: false, error: Some(message.into()), agent: None, snapshot: None }
    }

    /// The answer to `hello`.
    pub fn hello(agent: AgentInfo) -> Self {
        Self { protocol: PROTOCOL, ok: true, error: None, agent: Some(agent), snapshot: None }
    }

    /// The answer to `snapshot`.
    pub fn snapshot(snapshot: AgentSnapshot) -> Self {
        Self { protocol: PROTOCOL, ok: true, error: None, agent: None, snapshot: Some(snapshot) }
    }
}

/// Who answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// `"rust"` or `"python"`.
    pub runtime: String,
    /// The runtime's version (`3.11.7`, `rustc 1.95`), when known.
    #[serde(default)]
    pub runtime_version: Option<String>,
    /// The agent's own version.
    pub agent_version: String,
    /// The program's pid, as the agent sees it.
    pub pid: u32,
    /// The program, in words (`app.py`, the executable's name).
    #[serde(default)]
    pub program: Option<String>,
}

/// The program's threads and primitives at one instant.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AgentSnapshot {
    /// When it was taken, in milliseconds since the Unix epoch.
    pub taken_at_unix_ms: u64,
    /// Every thread the runtime knows, its own included.
    pub threads: Vec<AgentThread>,
    /// Every primitive the agent tracks.
    pub primitives: Vec<AgentPrimitive>,
}

/// One thread as the runtime knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentThread {
    /// The kernel TID; `None` before the thread has started.
    pub native_id: Option<u32>,
    /// The runtime's own id.
    pub ident: u64,
    /// The full name, as the program set it (unsanitized: the client
    /// sanitizes before anything is shown).
    pub name: String,
    /// Whether it is a daemon thread.
    pub daemon: bool,
    /// Whether it is alive.
    pub alive: bool,
    /// `created`, `running`, `waiting` or `terminated`.
    pub state: AgentState,
    /// The agent's own thread.
    #[serde(default)]
    pub own: bool,
    /// What it blocks on now.
    #[serde(default)]
    pub waiting_on: Option<AgentWait>,
    /// Innermost frame first; empty where the runtime has none.
    #[serde(default)]
    pub stack: Vec<AgentFrame>,
}

/// A thread's state, in the library's four words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// Not started.
    Created,
    /// Running (or runnable).
    Running,
    /// Blocked in a wait the agent knows.
    Waiting,
    /// Finished.
    Terminated,
}

/// What a thread blocks on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentWait {
    /// `lock`, `rlock`, `condition`, `event`, `semaphore`, `bounded
    /// semaphore`, `barrier`, `queue`, `future`, `thread pool`, `join`,
    /// `sleep` or `region`.
    pub kind: String,
    /// The [`AgentPrimitive::id`] it waits on, when it is one.
    #[serde(default)]
    pub primitive: Option<u64>,
    /// What it waits on, in words.
    pub name: String,
    /// How (`acquire`, `wait`, `get`, `put`).
    #[serde(default)]
    pub role: Option<String>,
    /// How long it has waited, when the agent knows.
    #[serde(default)]
    pub waited_ms: Option<f64>,
    /// For a `join`, the native id of the thread it waits to end; `None`
    /// when it has no single target (an interpreter waiting for all its
    /// threads at exit) or the agent predates the field.
    #[serde(default)]
    pub joins: Option<u32>,
}

/// One primitive the agent tracks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentPrimitive {
    /// Unique in this agent, stable while the primitive lives.
    pub id: u64,
    /// The words of [`AgentWait::kind`] for primitives.
    pub kind: String,
    /// The program's name for it, or where it was created.
    pub name: String,
    /// Where it was created (`app.py:12`), when known.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Who holds it, by native id.
    #[serde(default)]
    pub holders: Vec<u32>,
    /// Who waits for it, by native id.
    #[serde(default)]
    pub waiters: Vec<u32>,
}

/// One stack frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentFrame {
    /// The function.
    pub function: String,
    /// `file:line`, when known.
    #[serde(default)]
    pub location: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_snapshot_reply_parses() {
        let line = r#"{"protocol": 1, "ok": true,
 "snapshot": {
   "taken_at_unix_ms": 1796169600123,
   "threads": [
     {"native_id": 4243, "ident": 139872, "name": "PaymentService-ProcessorThread-1",
      "daemon": false, "alive": true, "state": "waiting", "own": false,
      "waiting_on": {"kind": "lock", "primitive": 7, "name": "accounts_lock",
                     "role": "acquire", "waited_ms": 1520.5},
      "stack": [{"function": "transfer", "location": "app.py:42"},
                {"function": "run", "location": "threading.py:975"}]}
   ],
   "primitives": [
     {"id": 7, "kind": "lock", "name": "accounts_lock", "created_at": "app.py:12",
      "holders": [4244], "waiters": [4243]}
   ]
 }}"#;
        let reply: Reply = serde_json::from_str(line).unwrap();
        let snapshot = reply.snapshot.unwrap();
        assert_eq!(snapshot.threads[0].waiting_on.as_ref().unwrap().primitive, Some(7));
        assert_eq!(snapshot.primitives[0].holders, vec![4244]);
        assert_eq!(snapshot.threads[0].state, AgentState::Waiting);
        assert_eq!(snapshot.threads[0].waiting_on.as_ref().unwrap().joins, None, "optional: absent is None");
    }

    #[test]
    fn a_join_names_the_thread_it_waits_for_by_native_id() {
        let line = r#"{"kind": "join", "primitive": null, "name": "thread Sleeper-Thread",
                       "role": "join", "waited_ms": null, "joins": 4243}"#;
        let wait: AgentWait = serde_json::from_str(line).unwrap();
        assert_eq!((wait.kind.as_str(), wait.joins), ("join", Some(4243)));
    }

    #[test]
    fn a_request_round_trips_and_unknown_fields_are_ignored() {
        let request: Request =
            serde_json::from_str(r#"{"protocol":1,"request":"snapshot","later":true}"#).unwrap();
        assert_eq!(request, Request { protocol: 1, request: RequestKind::Snapshot });
        let back: Request = serde_json::from_str(&serde_json::to_string(&request).unwrap()).unwrap();
        assert_eq!(back, request);
    }
}
