//! The Python agent (`assets/agent/threadscope_agent.py`) on real python3
//! programs, over the raw protocol: full names, holders and waiters by
//! native id, the line each thread waits at; bad requests answered and
//! survived; Python's semantics kept by the wrappers. Without python3
//! each test prints `skipped: no python3` and passes, unless
//! `THREADSCOPE_REQUIRE_RUNTIMES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod python_support;

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use python_support::{PATIENCE, PythonChild, line_of, python_or_skip};
use std::time::Instant;
use threadscope::agent::protocol::{AgentSnapshot, AgentState, AgentThread};

fn thread<'a>(snapshot: &'a AgentSnapshot, name: &str) -> &'a AgentThread {
    snapshot
        .threads
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no thread {name}: {snapshot:#?}"))
}

fn tid(snapshot: &AgentSnapshot, name: &str) -> u32 {
    thread(snapshot, name).native_id.unwrap()
}

const WAITERS: [&str; 2] = ["PaymentService-ProcessorThread-1", "PaymentService-ProcessorThread-2"];
const HOLDER: &str = "PaymentService-LedgerThread-1";
const SLEEPER: &str = "PaymentService-Scheduler-1";

#[test]
fn a_held_lock_shows_its_holder_its_waiters_and_the_line_each_waits_at() {
    let Some(python) = python_or_skip("a_held_lock_shows_its_holder") else { return };
    let mut child = PythonChild::start(python, "lock_held.py", &[], true);
    child.expect_line("ready");
    let mut agent = child.connect();
    let hello = agent.ask(r#"{"protocol":1,"request":"hello"}"#).agent.unwrap();
    assert_eq!((hello.runtime.as_str(), hello.pid), ("python", child.pid()));
    assert_eq!(hello.program.as_deref(), Some("lock_held.py"));
    // The waiters block once the holder has the lock: ask until both do.
    let deadline = Instant::now() + PATIENCE;
    let snapshot = loop {
        let snapshot = agent.snapshot();
        let blocked = |name| thread(&snapshot, name).waiting_on.as_ref().is_some_and(|w| w.kind == "lock");
        let asleep = thread(&snapshot, SLEEPER).waiting_on.as_ref().is_some_and(|w| w.kind == "sleep");
        let joining = thread(&snapshot, "MainThread").waiting_on.as_ref().is_some_and(|w| w.kind == "join");
        if WAITERS.iter().all(|w| blocked(w)) && asleep && joining {
            break snapshot;
        }
        assert!(
            Instant::now() < deadline,
            "the waiters never blocked (or the sleeper slept, or main joined it): {snapshot:#?}"
        );
    };
    let lock_line = line_of("lock_held.py", "accounts = threading.Lock()");
    let lock = snapshot.primitives.iter().find(|p| p.kind == "lock").unwrap();
    assert_eq!(lock.created_at.as_deref(), Some(lock_line.as_str()));
    assert_eq!(lock.name, lock_line, "named by where it was created");
    assert_eq!(lock.holders, [tid(&snapshot, HOLDER)]);
    let mut waiters = lock.waiters.clone();
    waiters.sort_unstable();
    let mut expected: Vec<u32> = WAITERS.iter().map(|w| tid(&snapshot, w)).collect();
    expected.sort_unstable();
    assert_eq!(waiters, expected);
    let waits_at = line_of("lock_held.py", "# processor waits here");
    for name in WAITERS {
        let t = thread(&snapshot, name);
        assert_eq!(t.state, AgentState::Waiting);
        let wait = t.waiting_on.as_ref().unwrap();
        assert_eq!((wait.primitive, wait.role.as_deref()), (Some(lock.id), Some("acquire")));
        assert!(wait.waited_ms.is_some_and(|ms| ms >= 0.0));
        assert_eq!(t.stack[0].function, "process");
        assert_eq!(
            t.stack[0].location.as_deref(),
            Some(waits_at.as_str()),
            "the innermost frame is the program's"
        );
        assert!(t.daemon && t.alive && !t.own);
    }
    let holder = thread(&snapshot, HOLDER);
    let event = holder.waiting_on.as_ref().unwrap();
    assert_eq!(event.kind, "event");
    // Its stack goes through threading's Event.wait: the program's line is below.
    let program_frame =
        holder.stack.iter().find(|f| f.location.as_deref().is_some_and(|l| l.starts_with("lock_held.py")));
    assert_eq!(
        program_frame.and_then(|f| f.location.as_deref()),
        Some(line_of("lock_held.py", "# holder waits here").as_str())
    );
    // A thread in time.sleep is waiting, on a sleep named by its call, at
    // the program's line (time.sleep is the one call the agent wraps
    // outside threading and queue).
    let sleeper = thread(&snapshot, SLEEPER);
    assert_eq!(sleeper.state, AgentState::Waiting, "{sleeper:#?}");
    let sleep = sleeper.waiting_on.as_ref().unwrap();
    assert_eq!((sleep.kind.as_str(), sleep.name.as_str()), ("sleep", "time.sleep(3600)"));
    assert_eq!((sleep.primitive, sleep.role.as_deref()), (None, Some("sleep")));
    assert!(sleep.waited_ms.is_some_and(|ms| ms >= 0.0));
    assert_eq!(
        sleeper.stack[0].location.as_deref(),
        Some(line_of("lock_held.py", "# scheduler sleeps here").as_str())
    );
    // The main thread's join names the sleeper by identity, its TID.
    let join = thread(&snapshot, "MainThread").waiting_on.clone().unwrap();
    assert_eq!(join.name, format!("thread {SLEEPER}"));
    assert_eq!(join.joins, Some(tid(&snapshot, SLEEPER)), "{join:?}");
    let own: Vec<_> = snapshot.threads.iter().filter(|t| t.own).collect();
    assert_eq!(own.len(), 1, "one agent thread, marked as threadscope's");
    // Every native id is a task of the program.
    for t in &snapshot.threads {
        let task = format!("/proc/{}/task/{}", child.pid(), t.native_id.unwrap());
        assert!(std::path::Path::new(&task).exists(), "{} is not a task: {task}", t.name);
    }
}

#[test]
fn bad_requests_get_error_replies_and_the_agent_keeps_answering() {
    let Some(python) = python_or_skip("bad_requests_get_error_replies") else { return };
    let mut child = PythonChild::start(python, "lock_held.py", &[], true);
    child.expect_line("ready");
    let mut agent = child.connect();
    let cases: [(&[u8], &str); 7] = [
        (b"junk\n", "request is not JSON"),
        (b"\xff\xfe\n", "request is not UTF-8"),
        (b"[1,2]\n", "not a JSON object"),
        (b"{\"request\":\"hello\"}\n", "no protocol version"),
        (b"{\"protocol\":2,\"request\":\"hello\"}\n", "protocol 2 not supported (this agent speaks 1)"),
        (b"{\"protocol\":1,\"request\":\"shutdown\"}\n", "unknown request \"shutdown\""),
        (b"{\"protocol\":1}\n", "no request name"),
    ];
    for (request, error) in cases {
        agent.send(request);
        let reply = agent.reply();
        assert!(!reply.ok, "{request:?}");
        let message = reply.error.unwrap();
        assert!(message.contains(error), "{request:?}: {message}");
    }
    // Unknown fields are ignored; a request of exactly 4096 bytes is read.
    let mut exact = br#"{"protocol":1,"request":"hello","later":true}"#.to_vec();
    exact.resize(4095, b' ');
    exact.push(b'\n');
    agent.send(&exact);
    assert!(agent.reply().ok);
    // One byte more: an error, and the connection closed.
    let mut long = vec![b' '; 4096];
    long.push(b'\n');
    agent.send(&long);
    let reply = agent.reply();
    assert_eq!(reply.error.as_deref(), Some("request longer than 4096 bytes"));
    assert!(agent.closed());
    // A line with no end, past the bound, is refused before it ends.
    let mut endless = child.connect();
    endless.send(&[b'x'; 8192]);
    assert_eq!(endless.reply().error.as_deref(), Some("request longer than 4096 bytes"));
    // Nothing of that reached the program, and the agent still answers.
    let mut fresh = child.connect();
    assert!(fresh.snapshot().threads.iter().any(|t| t.name == HOLDER));
}

#[test]
fn the_wrappers_keep_pythons_semantics() {
    let Some(python) = python_or_skip("the_wrappers_keep_pythons_semantics") else { return };
    for agent in [false, true] {
        let child = PythonChild::start(python, "semantics.py", &[], agent);
        let pid = child.pid();
        let (out, status) = child.finish();
        assert!(status.success(), "semantics.py (agent: {agent}) failed:\n{out}");
        let socket = threadscope::agent::location::socket_in(&threadscope::agent::location::own_dir(), pid);
        assert!(!socket.exists(), "a normal exit removes the agent's socket: {}", socket.display());
        let word = if agent { "(agent loaded)" } else { "(no agent)" };
        assert!(out.contains("checks passed") && out.contains(word), "{out}");
    }
}

#[test]
fn a_deadlock_is_described_while_the_program_is_stuck() {
    let Some(python) = python_or_skip("a_deadlock_is_described") else { return };
    let mut child = PythonChild::start(python, "deadlock.py", &[], true);
    child.expect_line("ready");
    let mut agent = child.connect();
    let deadline = Instant::now() + PATIENCE;
    let names = ["Bank-TransferThread-1", "Bank-ReconcileThread-1"];
    let snapshot = loop {
        let snapshot = agent.snapshot();
        let blocked = names.iter().all(|n| {
            snapshot
                .threads
                .iter()
                .any(|t| t.name == *n && t.waiting_on.as_ref().is_some_and(|w| w.kind == "lock"))
        });
        // The main thread reaches its join (at exit) a moment later.
        let main_joins = snapshot
            .threads
            .iter()
            .any(|t| t.name == "MainThread" && t.waiting_on.as_ref().is_some_and(|w| w.kind == "join"));
        if blocked && main_joins {
            break snapshot;
        }
        assert!(Instant::now() < deadline, "never deadlocked: {snapshot:#?}");
    };
    // Each waits for the lock the other holds.
    for (me, other) in [(names[0], names[1]), (names[1], names[0])] {
        let wait = thread(&snapshot, me).waiting_on.clone().unwrap();
        let lock = snapshot.primitives.iter().find(|p| Some(p.id) == wait.primitive).unwrap();
        assert_eq!(lock.holders, [tid(&snapshot, other)], "{me} waits for {other}'s lock");
    }
    let main = thread(&snapshot, "MainThread");
    let at_exit = main.waiting_on.as_ref().unwrap();
    assert_eq!(at_exit.kind, "join", "main waits at exit");
    assert_eq!(at_exit.joins, None, "for every non-daemon thread: no one thread to name");
    // Named by where they were made, and never alike: the second lock made
    // at one line says so.
    let spares = line_of("deadlock.py", "# two made at one line");
    let mut at_spares: Vec<&str> = snapshot
        .primitives
        .iter()
        .filter(|p| p.created_at.as_deref() == Some(&spares))
        .map(|p| p.name.as_str())
        .collect();
    at_spares.sort_unstable();
    assert_eq!(at_spares, [spares.clone(), format!("{spares} #2")]);
    let names: std::collections::HashSet<&str> =
        snapshot.primitives.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), snapshot.primitives.len(), "{snapshot:#?}");
}

/// Any line at all gets one reply the client can parse, and leaves the
/// agent answering the next request on the same connection (a property
/// test against one real agent, which the test stops at its end).
#[test]
fn any_line_gets_a_parseable_reply() {
    let Some(python) = python_or_skip("any_line_gets_a_parseable_reply") else { return };
    let mut child = PythonChild::start(python, "lock_held.py", &[], true);
    child.expect_line("ready");
    let socket = child.socket();
    let mut runner = TestRunner::new(ProptestConfig { cases: 64, ..ProptestConfig::default() });
    let lines = proptest::collection::vec(any::<u8>(), 0..600);
    let outcome = runner.run(&lines, |line| {
        let mut agent = python_support::Raw::connect(&socket);
        let mut request: Vec<u8> = line.into_iter().filter(|&b| b != b'\n').collect();
        request.push(b'\n');
        agent.send(&request);
        let _ = agent.reply();
        let hello = agent.ask(r#"{"protocol":1,"request":"hello"}"#);
        prop_assert!(hello.ok, "{:?}", hello);
        Ok(())
    });
    outcome.unwrap();
}

#[test]
fn the_programs_own_sitecustomize_still_runs_and_its_path_is_unchanged() {
    let Some(python) = python_or_skip("the_programs_own_sitecustomize_still_runs") else { return };
    let agent = threadscope::agent::python::AgentDir::create().unwrap();
    let own = threadscope::agent::python::AgentDir::create().unwrap();
    std::fs::write(own.path().join("sitecustomize.py"), "import sys\nsys.OWN_SITECUSTOMIZE = True\n")
        .unwrap();
    let check = format!(
        "import sys, threading\n\
         print(getattr(sys, 'OWN_SITECUSTOMIZE', False))\n\
         print('threadscope_agent' in sys.modules, type(threading.Lock()).__module__)\n\
         print({:?} in sys.path, {:?} in sys.path)\n",
        agent.path().display().to_string(),
        own.path().display().to_string()
    );
    let output = std::process::Command::new(python)
        .args(["-c", &check])
        .env("PYTHONPATH", agent.python_path(Some(own.path().as_os_str())))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{out}{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        out, "True\nTrue threading\nFalse True\n",
        "the program's sitecustomize ran, the agent loaded, our directory left the path"
    );
}
