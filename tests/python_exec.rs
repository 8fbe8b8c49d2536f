//! `threadscope snapshot -- CMD` and `python-agent` through the binary: a
//! python3 program run as threadscope's child, with the Python agent
//! injected, seen with its full thread names, the lock's holder and the
//! line each waiter waits at; a Python deadlock found; a child that exits
//! at once, a command that does not exist, no command. Without python3 the
//! Python tests print `skipped: no python3` and pass, unless
//! `THREADSCOPE_REQUIRE_RUNTIMES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod python_support;

use python_support::{line_of, python_or_skip, script};
use serde_json::Value;
use std::process::{Command, Output};

fn threadscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_threadscope")).args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn first_snapshot(output: &Output) -> Value {
    assert!(output.status.success(), "threadscope failed: {}", stderr(output));
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not a JSON snapshot ({e}): {text}\n{}", stderr(output)))
}

fn last_snapshot(output: &Output) -> Value {
    assert!(output.status.success(), "threadscope failed: {}", stderr(output));
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not a JSON snapshot ({e}): {text}\n{}", stderr(output)))
}

fn thread<'a>(snapshot: &'a Value, name: &str) -> &'a Value {
    let threads = snapshot["threads"].as_array().unwrap();
    threads.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("no {name} in {snapshot:#}"))
}

#[test]
fn a_python_programs_threads_show_their_full_names_holder_and_lines() {
    let Some(python) = python_or_skip("a_python_programs_threads_show") else { return };
    let path = script("lock_held.py");
    // The last of several snapshots: the holder holds and the waiters wait
    // for good once there, however long the interpreter took to start.
    let output = threadscope(&[
        "snapshot",
        "--after",
        "1500ms",
        "--count",
        "8",
        "--interval",
        "500ms",
        "--stacks",
        "--",
        python.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    let snapshot = last_snapshot(&output);
    let holder = thread(&snapshot, "PaymentService-LedgerThread-1");
    let holder_tid = holder["native_id"].as_u64().unwrap();
    let waits_at = line_of("lock_held.py", "# processor waits here");
    for name in ["PaymentService-ProcessorThread-1", "PaymentService-ProcessorThread-2"] {
        let t = thread(&snapshot, name);
        assert_eq!(t["state"], "waiting", "{t:#}");
        assert_eq!(t["waiting_on"]["kind"], "lock", "{t:#}");
        assert_eq!(t["waiting_on"]["holder"]["name"], "PaymentService-LedgerThread-1");
        assert_eq!(t["waiting_on"]["holder"]["tid"].as_u64(), Some(holder_tid));
        assert_eq!(t["runtime"]["stack"][0]["location"], waits_at.as_str(), "{t:#}");
    }
    let sleeper = thread(&snapshot, "PaymentService-Scheduler-1");
    assert_eq!(
        (&sleeper["state"], &sleeper["waiting_on"]["kind"]),
        (&"waiting".into(), &"sleep".into()),
        "{sleeper:#}"
    );
    assert_eq!(sleeper["waiting_on"]["name"], "time.sleep(3600)");
    assert_eq!(
        sleeper["runtime"]["stack"][0]["location"],
        line_of("lock_held.py", "# scheduler sleeps here").as_str()
    );
    // The main thread's join links the sleeper by its TID, as a C join does.
    let join = &thread(&snapshot, "MainThread")["waiting_on"];
    assert_eq!(join["kind"], "join", "{join:#}");
    assert_eq!(join["holder"]["tid"], sleeper["native_id"], "{join:#}");
    assert_eq!(join["holder"]["name"], "PaymentService-Scheduler-1");
    // Before 3.14 CPython puts no name in the kernel (each comm is
    // python3): nothing is cut there, only named in the runtime alone.
    if thread(&snapshot, "PaymentService-ProcessorThread-1")["kernel"]["comm"] == "python3" {
        let findings = snapshot["naming"]["findings"].as_array().unwrap();
        let cut = ["truncated", "collide_when_truncated"];
        assert!(findings.iter().all(|f| !cut.contains(&f["kind"].as_str().unwrap())), "{findings:#?}");
        assert!(findings.iter().any(|f| f["kind"] == "unnamed"), "{findings:#?}");
    }
    let lock = snapshot["primitives"].as_array().unwrap().iter().find(|p| p["kind"] == "lock").unwrap();
    assert_eq!(lock["name"], line_of("lock_held.py", "accounts = threading.Lock()").as_str());
    assert_eq!(lock["waiters"].as_array().unwrap().len(), 2);
    let said = stderr(&output);
    assert!(said.contains("ready"), "the child's output goes to stderr: {said}");
    assert!(said.contains("stopped `") && said.contains("killed by SIGTERM"), "{said}");
}

#[test]
fn a_python_deadlock_is_found_with_full_names() {
    let Some(python) = python_or_skip("a_python_deadlock_is_found") else { return };
    let path = script("deadlock.py");
    // Several dumps, the last 5 s in: on a loaded machine the interpreter
    // may take longer than --after to start its threads, and a deadlock,
    // once formed, stays.
    let output = threadscope(&[
        "snapshot",
        "--format",
        "text",
        "--count",
        "11",
        "--interval",
        "500ms",
        "--",
        python.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let dumps = String::from_utf8_lossy(&output.stdout);
    let text = dumps.split("threadscope snapshot of pid").last().unwrap();
    assert!(text.contains("Found 1 deadlock"), "{dumps}");
    assert!(text.contains("Bank-TransferThread-1") && text.contains("Bank-ReconcileThread-1"), "{text}");
    let lock_line = line_of("deadlock.py", "audit = threading.Lock()");
    assert!(text.contains(&format!("waits for lock {lock_line} held by Bank-ReconcileThread-1")), "{text}");
}

#[test]
fn a_child_that_exits_before_the_snapshot_is_an_error_with_its_status() {
    let output = threadscope(&["snapshot", "--", "sh", "-c", "echo bye; exit 3"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "no snapshot: {}", String::from_utf8_lossy(&output.stdout));
    let said = stderr(&output);
    assert!(said.contains("bye"), "its output is shown: {said}");
    assert!(said.contains("`sh -c 'echo bye; exit 3'`"), "the command as a shell reads it back: {said}");
    assert!(said.contains("exited with status 3 before the snapshot (--after 1.0 s)"), "{said}");
}

#[test]
fn a_command_that_does_not_exist_exits_127_and_no_command_is_refused() {
    let output = threadscope(&["snapshot", "--", "threadscope-no-such-command", "x"]);
    assert_eq!(output.status.code(), Some(127));
    assert_eq!(
        stderr(&output).trim(),
        "threadscope: cannot run `threadscope-no-such-command`: command not found"
    );
    let output = threadscope(&["exec"]);
    assert_eq!(output.status.code(), Some(2), "clap's usage error");
    assert!(stderr(&output).contains("<CMD>"), "{}", stderr(&output));
    let output = threadscope(&["exec", "--", "threadscope-no-such-command"]);
    assert_eq!(output.status.code(), Some(127), "{}", stderr(&output));
    let output = threadscope(&["snapshot", "--pid", "1", "--", "true"]);
    assert_eq!(output.status.code(), Some(2), "--pid and a command conflict");
}

#[test]
fn python_agent_print_writes_the_agent_that_exec_injects() {
    let output = threadscope(&["python-agent", "--print"]);
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap(), threadscope::agent::python::AGENT_SOURCE);
    let help = threadscope(&["python-agent"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("import threadscope_agent"));
}

#[test]
fn a_manual_import_serves_the_same_agent() {
    let Some(python) = python_or_skip("a_manual_import_serves_the_same_agent") else { return };
    let dir = threadscope::agent::python::AgentDir::create().unwrap();
    let printed = threadscope(&["python-agent", "--print"]).stdout;
    let manual = dir.path().join("manual");
    std::fs::create_dir(&manual).unwrap();
    std::fs::write(manual.join("threadscope_agent.py"), printed).unwrap();
    // The program imports it first thing; threadscope only attaches by pid.
    let program = format!(
        "import sys; sys.path.insert(0, {:?}); import threadscope_agent; exec(open({:?}).read())",
        manual.display(),
        script("lock_held.py").display()
    );
    let mut child =
        Command::new(python).args(["-c", &program]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.as_mut().unwrap()), &mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let output = threadscope(&["snapshot", "--pid", &child.id().to_string(), "--after", "500ms"]);
    let _ = child.kill();
    let _ = child.wait();
    let snapshot = first_snapshot(&output);
    assert_eq!(thread(&snapshot, "PaymentService-ProcessorThread-1")["state"], "waiting");
}
