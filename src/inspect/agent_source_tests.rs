use super::*;
use crate::agent::protocol::{AgentPrimitive, Reply};
use crate::inspect::runtime::merge;

/// The documented example reply, with a second thread holding the lock.
fn documented() -> (AgentSnapshot, AgentInfo) {
    let line = r#"{"protocol": 1, "ok": true, "snapshot": {
       "taken_at_unix_ms": 1796169600123,
       "threads": [
         {"native_id": 4243, "ident": 139872, "name": "PaymentService-ProcessorThread-1",
          "daemon": false, "alive": true, "state": "waiting", "own": false,
          "waiting_on": {"kind": "lock", "primitive": 7, "name": "accounts_lock",
                         "role": "acquire", "waited_ms": 1520.5},
          "stack": [{"function": "transfer", "location": "app.py:42"}]},
         {"native_id": 4244, "ident": 139873, "name": "PaymentService-Auditor\u001b[2J",
          "daemon": true, "alive": true, "state": "running", "own": false,
          "waiting_on": null, "stack": []},
         {"native_id": 4245, "ident": 139874, "name": "ts-agent",
          "daemon": true, "alive": true, "state": "running", "own": true,
          "waiting_on": null, "stack": []}
       ],
       "primitives": [
         {"id": 7, "kind": "lock", "name": "accounts_lock", "created_at": "app.py:12",
          "holders": [4244], "waiters": [4243]}
       ]}}"#;
    let reply: Reply = serde_json::from_str(line).unwrap();
    let info = AgentInfo {
        runtime: "python".into(),
        runtime_version: Some("3.11.7".into()),
        agent_version: "0.1.0".into(),
        pid: 4242,
        program: Some("app.py".into()),
    };
    (reply.snapshot.unwrap(), info)
}

#[test]
fn a_wait_names_its_lock_and_how_long() {
    let (snapshot, info) = documented();
    let facts = AgentSource::facts_of(&snapshot, &info);
    assert_eq!(facts.about.as_deref(), Some("agent: python 3.11.7 (pid 4242)"));
    let worker = &facts.threads[&4243];
    assert_eq!(worker.name.as_deref(), Some("PaymentService-ProcessorThread-1"));
    assert_eq!(
        (worker.ident, worker.daemon, worker.library_state),
        (Some(139872), Some(false), Some(ThreadState::Waiting))
    );
    let wait = worker.wait.as_ref().unwrap();
    assert_eq!(wait.kind, WaitKind::Primitive(PrimitiveKind::Lock));
    assert_eq!(wait.lock, Some(runtime_lock_id(LockSource::Agent, 7)));
    assert_eq!(wait.waited, Some(Duration::from_micros(1_520_500)));
    assert_eq!(worker.stack[0].location.as_deref(), Some("app.py:42"));
    assert_eq!(facts.threads[&4245].origin, Some(Origin::Inspector), "the agent's own thread");
    let lock = &facts.locks[0];
    assert_eq!((lock.holders.as_slice(), lock.waiters.as_slice()), (&[4244][..], &[4243][..]));
}

#[test]
fn unknown_words_are_said_not_guessed() {
    let (mut snapshot, info) = documented();
    snapshot.primitives.push(AgentPrimitive {
        id: 8,
        kind: "spinlock\u{1b}]0;".into(),
        name: "x".into(),
        created_at: None,
        holders: vec![],
        waiters: vec![],
    });
    snapshot.threads[1].waiting_on = Some(AgentWait {
        kind: "actor".into(),
        primitive: Some(99),
        name: "mailbox".into(),
        role: None,
        waited_ms: Some(f64::NAN),
        joins: None,
    });
    let facts = AgentSource::facts_of(&snapshot, &info);
    assert_eq!(facts.locks.len(), 1);
    assert_eq!(facts.notes, ["the agent sent a primitive of unknown kind \"spinlock\\e]0;\" (not shown)"]);
    let wait = facts.threads[&4244].wait.as_ref().unwrap();
    assert_eq!(
        (wait.kind, &*wait.name, wait.lock, wait.waited),
        (WaitKind::Region, "actor: mailbox", None, None)
    );
}

#[test]
fn merged_the_agent_s_threads_show_as_the_program_s_with_their_holders() {
    let (threads, primitives, deadlocks) = merged_with_documented(vec![
        kernel_only(4243, "PaymentService-"),
        kernel_only(4244, "PaymentService-"),
        kernel_only(4245, "ts-agent"),
    ]);
    assert!(deadlocks.is_empty());
    assert_eq!(threads[0].name.shown(), "PaymentService-ProcessorThread-1");
    assert_eq!((threads[0].origin, threads[0].ident), (Origin::Managed, Some(139872)));
    assert_eq!(threads[1].name.shown(), "PaymentService-Auditor\\e[2J", "escaped, never raw");
    assert_eq!(threads[1].state, ThreadState::Running, "the library's state, not the kernel's");
    assert_eq!(threads[2].origin, Origin::Inspector);
    let wait = threads[0].waiting_on.as_ref().unwrap();
    assert_eq!(wait.holder.as_ref().and_then(|h| h.tid), Some(4244));
    assert_eq!(primitives[0].name, "accounts_lock");
    assert_eq!(primitives[0].waiters[0].tid, Some(4243));
    assert_eq!(threads[1].holds[0].name, "accounts_lock");
}

#[test]
fn a_cycle_among_the_agent_s_locks_is_a_deadlock() {
    let wait = |primitive: u64| AgentWait {
        kind: "lock".into(),
        primitive: Some(primitive),
        name: format!("fork-{primitive}"),
        role: Some("acquire".into()),
        waited_ms: Some(10.0),
        joins: None,
    };
    let thread = |tid: u32, name: &str, on: u64| AgentThread {
        native_id: Some(tid),
        ident: u64::from(tid),
        name: name.into(),
        daemon: false,
        alive: true,
        state: AgentState::Waiting,
        own: false,
        waiting_on: Some(wait(on)),
        stack: Vec::new(),
    };
    let fork = |id: u64, holder: u32, waiter: u32| AgentPrimitive {
        id,
        kind: "lock".into(),
        name: format!("fork-{id}"),
        created_at: None,
        holders: vec![holder],
        waiters: vec![waiter],
    };
    let snapshot = AgentSnapshot {
        taken_at_unix_ms: 0,
        threads: vec![thread(11, "Philosopher-0", 2), thread(12, "Philosopher-1", 1)],
        primitives: vec![fork(1, 11, 12), fork(2, 12, 11)],
    };
    let (_, info) = documented();
    let facts = AgentSource::facts_of(&snapshot, &info);
    let view = |tid: u32| kernel_only(tid, "comm");
    let mut threads = vec![view(11), view(12)];
    let mut primitives = Vec::new();
    let deadlocks = merge(&facts, &mut threads, &mut primitives);
    assert_eq!(deadlocks.len(), 1);
    let words = deadlocks[0].describe();
    assert!(
        words.contains("Philosopher-0 (tid 11) waits for lock fork-2 held by Philosopher-1 (tid 12)"),
        "{words}"
    );
}

/// `threads` with the documented reply's facts merged in, its primitives
/// and the deadlocks found.
fn merged_with_documented(
    mut threads: Vec<crate::inspect::ThreadView>,
) -> (Vec<crate::inspect::ThreadView>, Vec<crate::inspect::PrimitiveView>, Vec<crate::inspect::Deadlock>) {
    let (snapshot, info) = documented();
    let facts = AgentSource::facts_of(&snapshot, &info);
    let mut primitives = Vec::new();
    let deadlocks = merge(&facts, &mut threads, &mut primitives);
    (threads, primitives, deadlocks)
}

/// A thread only the kernel has described yet, as the join leaves one.
fn kernel_only(tid: u32, comm: &str) -> crate::inspect::ThreadView {
    crate::inspect::ThreadView {
        key: (1 << 52) | u64::from(tid),
        name: crate::inspect::DisplayName::from_text(comm),
        name_raw: None,
        ident: None,
        native_id: Some(tid),
        daemon: None,
        state: ThreadState::Waiting,
        waiting_on: None,
        kernel: None,
        origin: Origin::Foreign,
        holds: Vec::new(),
        time_in_state: None,
        outcome: None,
        runtime: None,
        native_stack: None,
        wait_backtrace: None,
    }
}

#[test]
fn facts_in_another_order_than_the_threads_each_find_their_own() {
    // The agent lists 4243, 4244, 4245; the kernel's order here is reversed,
    // with a thread the agent never named between them.
    let (threads, ..) = merged_with_documented(vec![
        kernel_only(4245, "ts-agent"),
        kernel_only(9999, "stranger"),
        kernel_only(4244, "PaymentService-"),
        kernel_only(4243, "PaymentService-"),
    ]);
    let shown: Vec<String> = threads.iter().map(|t| t.name.shown().to_owned()).collect();
    assert_eq!(
        shown,
        ["ts-agent", "stranger", "PaymentService-Auditor\\e[2J", "PaymentService-ProcessorThread-1"]
    );
    assert_eq!(threads[1].origin, Origin::Foreign, "no fact, no claim");
    assert_eq!(threads[3].waiting_on.as_ref().and_then(|w| w.holder.as_ref()?.tid), Some(4244));
}

/// A live program thread of the agent's, waiting on `wait` (or running).
fn agent_thread(tid: u32, name: &str, wait: Option<AgentWait>) -> AgentThread {
    AgentThread {
        native_id: Some(tid),
        ident: u64::from(tid),
        name: name.into(),
        daemon: false,
        alive: true,
        state: if wait.is_some() { AgentState::Waiting } else { AgentState::Running },
        own: false,
        waiting_on: wait,
        stack: Vec::new(),
    }
}

fn join_of(name: &str, joins: Option<u32>) -> AgentWait {
    AgentWait {
        kind: "join".into(),
        primitive: None,
        name: format!("thread {name}"),
        role: Some("join".into()),
        waited_ms: None,
        joins,
    }
}

#[test]
fn a_join_links_the_joined_thread_by_tid_not_by_its_name() {
    // Two threads called Sleeper-Thread: only the TID says which is joined.
    let snapshot = AgentSnapshot {
        taken_at_unix_ms: 0,
        threads: vec![
            agent_thread(11, "MainThread", Some(join_of("Sleeper-Thread", Some(13)))),
            agent_thread(12, "Sleeper-Thread", None),
            agent_thread(13, "Sleeper-Thread", None),
        ],
        primitives: Vec::new(),
    };
    let (_, info) = documented();
    let facts = AgentSource::facts_of(&snapshot, &info);
    assert_eq!(facts.threads[&11].wait.as_ref().unwrap().joins, Some(13));
    let mut threads =
        vec![kernel_only(11, "python3"), kernel_only(12, "python3"), kernel_only(13, "python3")];
    merge(&facts, &mut threads, &mut Vec::new());
    let wait = threads[0].waiting_on.as_ref().unwrap();
    assert_eq!(wait.kind, WaitKind::Join);
    let holder = wait.holder.as_ref().unwrap();
    assert_eq!((holder.tid, holder.key, holder.name.as_str()), (Some(13), threads[2].key, "Sleeper-Thread"));
}

#[test]
fn a_deadlock_through_a_join_is_found() {
    // Main holds the lock its worker waits for, and joins that worker.
    let lock_wait = AgentWait {
        kind: "lock".into(),
        primitive: Some(1),
        name: "state_lock".into(),
        role: Some("acquire".into()),
        waited_ms: Some(5.0),
        joins: None,
    };
    let snapshot = AgentSnapshot {
        taken_at_unix_ms: 0,
        threads: vec![
            agent_thread(11, "MainThread", Some(join_of("Worker-1", Some(12)))),
            agent_thread(12, "Worker-1", Some(lock_wait)),
        ],
        primitives: vec![AgentPrimitive {
            id: 1,
            kind: "lock".into(),
            name: "state_lock".into(),
            created_at: None,
            holders: vec![11],
            waiters: vec![12],
        }],
    };
    let (_, info) = documented();
    let facts = AgentSource::facts_of(&snapshot, &info);
    let mut threads = vec![kernel_only(11, "python3"), kernel_only(12, "python3")];
    let deadlocks = merge(&facts, &mut threads, &mut Vec::new());
    assert_eq!(deadlocks.len(), 1, "{deadlocks:?}");
    let words = deadlocks[0].describe();
    assert!(words.contains("MainThread (tid 11)") && words.contains("Worker-1 (tid 12)"), "{words}");
}

#[test]
fn joins_is_kept_only_on_a_join_of_a_live_thread() {
    let sleep = AgentWait { kind: "sleep".into(), ..join_of("x", Some(12)) };
    let snapshot = AgentSnapshot {
        taken_at_unix_ms: 0,
        threads: vec![
            agent_thread(11, "Sleeper", Some(sleep)),
            agent_thread(12, "Joiner", Some(join_of("Gone", Some(99)))),
            agent_thread(13, "Exiting", Some(join_of("the program's non-daemon threads (at exit)", None))),
        ],
        primitives: Vec::new(),
    };
    let (_, info) = documented();
    let facts = AgentSource::facts_of(&snapshot, &info);
    let joins = |facts: &RuntimeFacts, tid: u32| facts.threads[&tid].wait.as_ref().unwrap().joins;
    assert_eq!(joins(&facts, 11), None, "a sleep joins nothing, whatever the field says");
    assert_eq!(joins(&facts, 13), None, "no single thread to wait for");
    assert_eq!(joins(&facts, 12), Some(99));
    let live = alive_only(facts, &HashSet::from([11, 12, 13]));
    assert_eq!(joins(&live, 12), None, "99 has ended: the join falls back to its name");
}
