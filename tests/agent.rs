//! The agent end to end, on real processes: an instrumented program (this
//! test binary re-run as `agent_support`'s child) asked by the real
//! `threadscope snapshot --pid`; another user refused; malformed, oversized,
//! torn and too many requests on a raw socket, after which the agent still
//! answers; the agent going away mid-session.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent_support;
mod common;

use agent_support::{HOLDER, TRANSFERS, Target, WAITERS};
use common::{PATIENCE, eventually};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::Command;
use threadscope::agent::protocol::{MAX_REQUEST_BYTES, Reply};
use threadscope::agent::{Agent, AgentClient, ClientError, IDLE_TIMEOUT};
use threadscope::inspect::{Inspector, RuntimeOptions};
use threadscope::threading::Registry;

/// The child's entry: nothing unless the environment says this process is it.
#[test]
fn agent_child_entry() {
    if std::env::var_os(agent_support::CHILD_ENV).is_some() {
        agent_support::child();
    }
}

fn threadscope(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_threadscope")).args(args).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn thread_named<'a>(snapshot: &'a Value, name: &str) -> &'a Value {
    let threads = snapshot["threads"].as_array().unwrap();
    threads.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("no thread {name} in {snapshot:#}"))
}

fn tids(links: &Value) -> Vec<u64> {
    let mut tids: Vec<u64> = links.as_array().unwrap().iter().map(|l| l["tid"].as_u64().unwrap()).collect();
    tids.sort_unstable();
    tids
}

#[test]
fn snapshot_of_an_instrumented_program_shows_full_names_holders_waiters_and_its_deadlock() {
    let target = Target::start(std::env::current_exe().unwrap(), "start");
    let pid = target.pid().to_string();
    let json: Value = serde_json::from_str(&threadscope(&["snapshot", "--pid", &pid])).unwrap();
    // Full names, longer than the kernel's 15 bytes, each on its own TID.
    for name in [HOLDER].into_iter().chain(WAITERS).chain(TRANSFERS) {
        let thread = thread_named(&json, name);
        assert_eq!(thread["native_id"].as_u64(), Some(u64::from(target.tid(name))), "{thread:#}");
        assert_eq!(thread["origin"], "managed", "{thread:#}");
    }
    let agent = thread_named(&json, "ts-agent");
    assert_eq!(agent["origin"], "inspector", "the agent's thread is threadscope's own");
    let ledger = json["primitives"].as_array().unwrap().iter().find(|p| p["name"] == "ledger").unwrap();
    assert_eq!(tids(&ledger["holders"]), [u64::from(target.tid(HOLDER))]);
    let mut waiters: Vec<u64> = WAITERS.iter().map(|w| u64::from(target.tid(w))).collect();
    waiters.sort_unstable();
    assert_eq!(tids(&ledger["waiters"]), waiters);
    let waiter = thread_named(&json, WAITERS[0]);
    assert_eq!(waiter["waiting_on"]["kind"], "lock");
    assert_eq!(waiter["waiting_on"]["holder"]["tid"].as_u64(), Some(u64::from(target.tid(HOLDER))));
    assert!(waiter["waiting_on"]["waited"].is_f64(), "the agent knows how long: {waiter:#}");
    // The deadlocked threads still let the agent answer, and the cycle is found.
    let deadlocks = json["deadlocks"].as_array().unwrap();
    assert_eq!(deadlocks.len(), 1, "{deadlocks:#?}");
    assert_eq!(tids(&deadlocks[0]["threads"]).len(), 2);

    let text = threadscope(&["snapshot", "--pid", &pid, "--format", "text"]);
    let (a, b) = (target.tid(TRANSFERS[0]), target.tid(TRANSFERS[1]));
    let cycle = format!(
        "{} (tid {a}) waits for lock account-b held by {} (tid {b}); {} (tid {b}) waits for lock account-a held by {} (tid {a})",
        TRANSFERS[0], TRANSFERS[1], TRANSFERS[1], TRANSFERS[0]
    );
    assert!(text.contains(&cycle), "{text}");
    assert!(
        text.contains(&format!("agent: rust, threadscope {} (pid {pid})", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}

#[test]
fn runtime_none_asks_no_agent() {
    let target = Target::start(std::env::current_exe().unwrap(), "start");
    let pid = target.pid().to_string();
    let json: Value =
        serde_json::from_str(&threadscope(&["snapshot", "--pid", &pid, "--runtime", "none"])).unwrap();
    let names: Vec<&str> =
        json["threads"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(!names.contains(&HOLDER), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("JobServer-Ledg")), "the kernel's cut names: {names:?}");
    assert!(json["deadlocks"].as_array().unwrap().is_empty(), "the kernel sees no owner of these locks");
}

#[test]
fn the_environment_variable_starts_the_agent_by_itself() {
    let target = Target::start(std::env::current_exe().unwrap(), "env");
    let mut client = AgentClient::connect_pid(target.pid()).unwrap();
    assert_eq!(client.info().runtime, "rust");
    assert_eq!(client.info().pid, target.pid());
    let snapshot = client.snapshot().unwrap();
    let holder = snapshot.threads.iter().find(|t| t.name == HOLDER).unwrap();
    assert_eq!(holder.native_id, Some(target.tid(HOLDER)));
}

#[test]
fn the_view_falls_back_to_the_kernel_and_says_so_when_the_agent_goes_away() {
    let mut target = Target::start(std::env::current_exe().unwrap(), "start");
    let mut inspector = Inspector::pid_with(target.pid(), &RuntimeOptions::default()).unwrap();
    let before = inspector.refresh().unwrap();
    assert!(before.thread(HOLDER).is_some(), "the agent's names first");
    assert!(before.notes.is_empty(), "{:?}", before.notes);
    target.stop_agent();
    let after = eventually("the view to fall back", || {
        let s = inspector.refresh().unwrap();
        s.thread(HOLDER).is_none().then_some(s)
    });
    let note = after.notes.iter().find(|n| n.contains("stopped answering")).expect("a note");
    assert!(
        note.starts_with(&format!(
            "agent: rust, threadscope {} (pid {}) stopped answering",
            env!("CARGO_PKG_VERSION"),
            target.pid()
        )),
        "{note}"
    );
    assert!(note.ends_with("showing the kernel view"), "{note}");
    assert!(after.deadlocks.is_empty(), "no stale deadlock once the agent is gone");
    // The process goes too: the view says it exited.
    drop(target);
    eventually("the exit to show", || inspector.refresh().unwrap().process.exited.then_some(()));
}

#[test]
fn an_agent_that_starts_after_the_view_is_picked_up_and_none_is_not_mentioned() {
    let mut target = Target::start(std::env::current_exe().unwrap(), "late");
    let mut inspector = Inspector::pid_with(target.pid(), &RuntimeOptions::default()).unwrap();
    let before = inspector.refresh().unwrap();
    assert!(before.thread(HOLDER).is_none() && before.notes.is_empty(), "{:?}", before.notes);
    target.start_agent();
    eventually("the agent's names", || inspector.refresh().unwrap().thread(HOLDER).map(|_| ()));
}

#[test]
fn a_socket_nobody_answers_on_is_said_once_and_the_kernel_view_carries_on() {
    // A program that never had an agent, and a socket left for its pid
    // (as a killed program with that pid would leave one).
    let mut program = Command::new("sleep").arg("60").spawn().unwrap();
    let dir = threadscope::agent::location::own_dir();
    if !dir.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let path = threadscope::agent::location::socket_in(&dir, program.id());
    drop(UnixListener::bind(&path).unwrap());
    let mut inspector = Inspector::pid_with(program.id(), &RuntimeOptions::default()).unwrap();
    let snapshot = inspector.refresh().unwrap();
    let _ = std::fs::remove_file(&path);
    let _ = program.kill();
    let _ = program.wait();
    let note = snapshot.notes.iter().find(|n| n.contains("does not answer")).expect("a note");
    assert!(
        note.starts_with(&format!("the agent of pid {} does not answer: cannot connect to", program.id())),
        "{note}"
    );
    assert!(snapshot.thread("sleep").is_some(), "the kernel's view: {:?}", snapshot.notes);
}

// ------------------------------------------------------------ raw sockets

/// An agent serving a fresh registry on a socket in a directory of its
/// own; `open` makes both reachable by other users (for the refusal test).
fn served(name: &str, open: bool, idle: std::time::Duration) -> (Agent, PathBuf) {
    let dir = std::env::temp_dir().join(format!("ts-agent-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let path = dir.join("agent.sock");
    let listener = UnixListener::bind(&path).unwrap();
    if open {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    (threadscope::agent::serve(listener, &Registry::new(), idle).unwrap(), path)
}

fn connect(path: &PathBuf) -> (BufReader<UnixStream>, UnixStream) {
    let stream = UnixStream::connect(path).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    (BufReader::new(stream.try_clone().unwrap()), stream)
}

fn reply(reader: &mut BufReader<UnixStream>) -> Reply {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

const HELLO: &[u8] = b"{\"protocol\":1,\"request\":\"hello\"}\n";

/// A new connection is answered: the agent is still there.
fn still_answers(path: &PathBuf) {
    eventually("a fresh connection to be answered", || {
        let (mut reader, mut stream) = connect(path);
        stream.write_all(HELLO).ok()?;
        reply(&mut reader).ok.then_some(())
    });
}

#[test]
fn garbage_gets_an_error_and_the_connection_carries_on() {
    let (_agent, path) = served("garbage", false, IDLE_TIMEOUT);
    let (mut reader, mut stream) = connect(&path);
    stream.write_all(b"garbage\n\xff\xfe\n{\"protocol\":2,\"request\":\"hello\"}\n").unwrap();
    for expected in
        ["request is not JSON", "request is not UTF-8", "protocol 2 not supported (this agent speaks 1)"]
    {
        let r = reply(&mut reader);
        assert!(!r.ok && r.error.as_deref().unwrap_or("").starts_with(expected), "{r:?}");
    }
    // A request in two writes is one request.
    stream.write_all(b"{\"protocol\":1,").unwrap();
    stream.write_all(b"\"request\":\"snapshot\"}\n").unwrap();
    let r = reply(&mut reader);
    assert!(r.ok && r.snapshot.is_some(), "{r:?}");
}

#[test]
fn many_requests_in_one_write_are_answered_one_by_one() {
    let (_agent, path) = served("pipelined", false, IDLE_TIMEOUT);
    let (mut reader, mut stream) = connect(&path);
    // 200 requests, 6.6 KB: more than one read's worth, sent at once.
    let writer = std::thread::spawn(move || stream.write_all(&HELLO.repeat(200)).map(|()| stream));
    for i in 0..200 {
        let r = reply(&mut reader);
        assert!(r.ok && r.agent.is_some(), "reply {i}: {r:?}");
    }
    drop(writer.join().unwrap().unwrap());
}

#[test]
fn a_line_over_the_limit_is_refused_and_closed_without_reading_the_rest() {
    let (_agent, path) = served("oversized", false, IDLE_TIMEOUT);
    let (mut reader, stream) = connect(&path);
    // A megabyte with no end of line; the agent stops reading after 4096
    // bytes, so most of it is never taken (the write fails, which is fine).
    let writer = std::thread::spawn(move || {
        let mut stream = stream;
        let _ = stream.write_all(&vec![b'x'; 1 << 20]);
    });
    let r = reply(&mut reader);
    assert_eq!(
        r.error.as_deref(),
        Some(format!("request longer than {MAX_REQUEST_BYTES} bytes; the connection is closed").as_str())
    );
    let mut rest = Vec::new();
    assert!(matches!(reader.read_to_end(&mut rest), Ok(0) | Err(_)), "closed: nothing more comes");
    writer.join().unwrap();
    still_answers(&path);
}

#[test]
fn half_a_line_then_close_and_a_silent_client_block_no_one() {
    let (_agent, path) = served("torn", false, IDLE_TIMEOUT);
    let (_silent_reader, _silent) = connect(&path); // connects and says nothing
    let (_, mut torn) = connect(&path);
    torn.write_all(b"{\"protocol\":1,\"req").unwrap();
    drop(torn);
    still_answers(&path);
}

#[test]
fn too_many_connections_are_told_so_and_the_agent_recovers() {
    let (_agent, path) = served("many", false, IDLE_TIMEOUT);
    let clients: Vec<_> = (0..40).map(|_| connect(&path)).collect();
    let mut replies = Vec::new();
    for (mut reader, mut stream) in clients {
        // A refused connection may be closed before our hello is written.
        let _ = stream.write_all(HELLO);
        replies.push((reply(&mut reader), stream));
    }
    let ok = replies.iter().filter(|(r, _)| r.ok).count();
    let refused = replies
        .iter()
        .filter(|(r, _)| r.error.as_deref().is_some_and(|e| e.starts_with("too many connections")))
        .count();
    assert!((1..=16).contains(&ok), "{ok} served");
    assert_eq!(ok + refused, 40, "every connection got exactly one answer");
    drop(replies);
    still_answers(&path);
}

#[test]
fn an_idle_connection_is_closed() {
    let (_agent, path) = served("idle", false, std::time::Duration::from_millis(100));
    let (mut reader, _stream) = connect(&path);
    let mut rest = Vec::new();
    assert_eq!(reader.read_to_end(&mut rest).unwrap(), 0, "closed by the agent, with nothing said");
}

#[test]
fn a_stale_socket_is_nobody_s() {
    let (agent, path) = served("stale", false, IDLE_TIMEOUT);
    agent.stop();
    eventually("the agent to stop listening", || UnixStream::connect(&path).is_err().then_some(()));
    let err = AgentClient::connect(&path, None).unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err}");
}

#[test]
fn a_client_of_another_user_is_refused() {
    let (_agent, path) = served("nobody", true, IDLE_TIMEOUT);
    if common::run_child_as_nobody("refused_as_nobody", ("TS_AGENT_TEST_SOCKET", path.to_str().unwrap()))
        .is_none()
    {
        return;
    }
    still_answers(&path);
}

/// Run as user nobody by `a_client_of_another_user_is_refused`.
#[test]
#[ignore = "run as another user by a_client_of_another_user_is_refused"]
fn refused_as_nobody() {
    let Some(path) = std::env::var_os("TS_AGENT_TEST_SOCKET") else { return };
    if rustix::process::geteuid().is_root() {
        println!("skipped: not another user");
        return;
    }
    let me = rustix::process::geteuid().as_raw();
    match AgentClient::connect(std::path::Path::new(&path), None) {
        Err(ClientError::Refused(why)) => {
            assert!(why.starts_with(&format!("peer uid {me} is not the program's uid")), "{why}")
        }
        other => panic!("not refused: {other:?}"),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    // Whatever bytes a client sends, then closes its side: every line back
    // is a protocol reply, the connection ends, and the agent answers the
    // next client.
    #[test]
    fn any_bytes_on_the_socket_leave_the_agent_answering(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..9000),
        newlines in proptest::collection::vec(0usize..9000, 0..6),
    ) {
        let mut bytes = bytes;
        let len = bytes.len();
        for at in newlines.into_iter().filter(|&at| at < len) {
            bytes[at] = b'\n';
        }
        let (agent, path) = served("fuzz", false, IDLE_TIMEOUT);
        let (reader, mut stream) = connect(&path);
        let _ = stream.write_all(&bytes);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        // Until the agent closes (a reset after a refused line ends it too).
        for line in reader.lines().map_while(Result::ok) {
            let reply: Reply = serde_json::from_str(&line).unwrap();
            proptest::prop_assert!(reply.ok || reply.error.is_some());
        }
        still_answers(&path);
        agent.stop();
    }
}
