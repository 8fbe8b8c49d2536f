//! The JVM view through the real binary: `threadscope snapshot --pid <jvm>`
//! on `tests/java/ThreadscopeFixture.java`, compiled and started here. Full
//! names joined to kernel TIDs, naming analysis on them, monitors and
//! `ReentrantLock`s with holders and waiters by TID, the deadlock, stacks,
//! and `--runtime none`. Without `javac`/`java` every test prints
//! `skipped: no java` and passes, unless `THREADSCOPE_REQUIRE_RUNTIMES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod java_support;

use std::collections::HashSet;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use java_support::{JavaChild, java_or_skip};
use serde_json::Value;

const READY: Duration = Duration::from_secs(60);
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// One JVM at a time: the machine's cores are shared.
fn one_jvm_at_a_time() -> MutexGuard<'static, ()> {
    static JVMS: Mutex<()> = Mutex::new(());
    JVMS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A fixture JVM in `mode`, ready.
fn jvm(java: &java_support::JavaTools, flags: &[&str], mode: &str) -> JavaChild {
    let mut jvm = JavaChild::spawn(java, flags, &[mode]);
    jvm.wait_ready(READY);
    jvm
}

/// Runs the binary with `args`; its stdout. Killed (and the test failed)
/// after [`RUN_LIMIT`].
fn threadscope(args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_threadscope"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        out.read_to_string(&mut text).map(|_| text)
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        err.read_to_string(&mut text).map(|_| text)
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("threadscope {args:?} did not finish within {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = reader.join().unwrap().unwrap();
    let stderr = err_reader.join().unwrap().unwrap();
    assert!(status.success(), "threadscope {args:?}: {status}; stderr: {stderr}");
    stdout
}

fn snapshot_json(pid: u32, extra: &[&str]) -> Value {
    let pid = pid.to_string();
    let mut args = vec!["snapshot", "--pid", &pid, "--after", "200ms", "--format", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(threadscope(&args).trim()).unwrap()
}

fn threads(s: &Value) -> &Vec<Value> {
    s["threads"].as_array().unwrap()
}

fn thread<'a>(s: &'a Value, name: &str) -> &'a Value {
    threads(s).iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("no thread {name} in {s}"))
}

fn tid(s: &Value, name: &str) -> u64 {
    thread(s, name)["native_id"].as_u64().unwrap()
}

fn tids(links: &Value) -> Vec<u64> {
    links.as_array().unwrap().iter().map(|l| l["tid"].as_u64().unwrap()).collect()
}

fn comm(pid: u32, tid: u64) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm")).unwrap().trim_end().to_owned()
}

#[test]
fn full_names_are_joined_to_their_tids_and_named_patterns_come_out() {
    let Some(java) = java_or_skip("full_names") else { return };
    let _one = one_jvm_at_a_time();
    let jvm = jvm(java, &[], "names");
    let s = snapshot_json(jvm.pid(), &[]);
    // The JVM's own dump, asked separately, says which TID is which name.
    let target = threadscope::jvm::JvmTarget::detect(jvm.pid()).unwrap();
    let dump = threadscope::jvm::thread_dump(&target, &Default::default()).unwrap();
    let mut seen = HashSet::new();
    for n in 1..=8 {
        let name = format!("PaymentService-Processor-{n}");
        let t = thread(&s, &name);
        let tid = t["native_id"].as_u64().unwrap();
        let java = dump.threads.iter().find(|j| j.name == name.as_str()).unwrap();
        assert_eq!(java.native_id.map(u64::from), Some(tid), "{name}");
        assert_eq!(comm(jvm.pid(), tid), "PaymentService-");
        assert_eq!(t["kernel"]["comm"], "PaymentService-");
        assert_eq!(t["runtime"]["source"], "jvm");
        assert_eq!(t["runtime"]["state"], "WAITING (parking)");
        assert!(seen.insert(tid));
    }
    let patterns = s["naming"]["patterns"].as_array().unwrap();
    let pattern =
        patterns.iter().find(|p| p["shape"] == "PaymentService-Processor-{n}").expect("the pattern");
    assert_eq!(pattern["count"], 8);
    let findings = s["naming"]["findings"].as_array().unwrap();
    let truncated = findings.iter().find(|f| f["kind"] == "truncated").expect("the truncation finding");
    let cut: Vec<&str> =
        truncated["threads"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert!((1..=8).all(|n| cut.contains(&format!("PaymentService-Processor-{n}").as_str())), "{cut:?}");
    let collide = findings
        .iter()
        .find(|f| {
            f["kind"] == "collide_when_truncated"
                && f["message"].as_str().unwrap().contains("`PaymentService-`")
        })
        .expect("the collision");
    assert_eq!(collide["threads"].as_array().unwrap().len(), 8, "{collide}");
    assert!(s["notes"].as_array().unwrap().is_empty(), "{}", s["notes"]);
    // Stacks only with --stacks.
    assert!(threads(&s).iter().all(|t| t["runtime"].get("stack").is_none()));
}

#[test]
fn a_monitor_with_its_holder_and_two_waiters_by_tid() {
    let Some(java) = java_or_skip("monitor") else { return };
    let _one = one_jvm_at_a_time();
    let jvm = jvm(java, &[], "monitor");
    let s = snapshot_json(jvm.pid(), &[]);
    let holder = tid(&s, "Lock-Holder");
    let waiters = vec![tid(&s, "Lock-Waiter-1"), tid(&s, "Lock-Waiter-2")];
    let monitor = s["primitives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["kind"] == "monitor" && p["name"].as_str().is_some_and(|n| n.ends_with("(java.lang.Object)"))
        })
        .expect("the monitor");
    assert_eq!(tids(&monitor["holders"]), vec![holder]);
    let mut got = tids(&monitor["waiters"]);
    got.sort_unstable();
    let mut want = waiters.clone();
    want.sort_unstable();
    assert_eq!(got, want);
    let w = &thread(&s, "Lock-Waiter-1")["waiting_on"];
    assert_eq!((w["kind"].as_str(), w["role"].as_str()), (Some("monitor"), Some("waiting to lock")));
    assert_eq!(w["holder"]["tid"].as_u64(), Some(holder));
    assert_eq!(w["primitive"], monitor["id"]);
    assert_eq!(thread(&s, "Lock-Waiter-2")["runtime"]["state"], "BLOCKED (on object monitor)");
}

#[test]
fn the_reentrant_lock_deadlock_by_tids() {
    let Some(java) = java_or_skip("deadlock") else { return };
    let _one = one_jvm_at_a_time();
    let jvm = jvm(java, &[], "deadlock");
    let s = snapshot_json(jvm.pid(), &[]);
    let deadlocks = s["deadlocks"].as_array().unwrap();
    assert_eq!(deadlocks.len(), 1, "{deadlocks:?}");
    let mut got = tids(&deadlocks[0]["threads"]);
    got.sort_unstable();
    let mut want = vec![tid(&s, "Deadlock-A"), tid(&s, "Deadlock-B")];
    want.sort_unstable();
    assert_eq!(got, want);
    assert!(deadlocks[0]["primitives"].as_array().unwrap().iter().all(|p| p["kind"] == "java_lock"));
    let covers = s["deadlock_search"]["runtime_covers"].as_array().unwrap();
    assert!(covers.iter().any(|c| c == "JVM monitors and java.util.concurrent locks"), "{covers:?}");
}

#[test]
fn runtime_none_never_asks_the_jvm() {
    let Some(java) = java_or_skip("runtime_none") else { return };
    let _one = one_jvm_at_a_time();
    let jvm = jvm(java, &[], "names");
    let s = snapshot_json(jvm.pid(), &["--runtime", "none"]);
    assert!(threads(&s).iter().all(|t| t.get("runtime").is_none()));
    assert!(threads(&s).iter().filter(|t| t["name"] == "PaymentService-").count() == 8);
    // Only what the kernel sees (futexes); no JVM monitor or lock.
    let kinds: Vec<&str> =
        s["primitives"].as_array().unwrap().iter().filter_map(|p| p["kind"].as_str()).collect();
    assert!(kinds.iter().all(|k| !matches!(*k, "monitor" | "java_lock")), "{kinds:?}");
    // Nothing was asked: the JVM never started its Attach Listener.
    let tasks = std::fs::read_dir(format!("/proc/{}/task", jvm.pid())).unwrap();
    for task in tasks {
        let c = std::fs::read_to_string(task.unwrap().path().join("comm")).unwrap_or_default();
        assert_ne!(c.trim_end(), "Attach Listener");
    }
    assert!(!std::path::Path::new(&format!("/tmp/.java_pid{}", jvm.pid())).exists());
}

#[test]
fn stacks_show_java_frames_only_when_asked() {
    let Some(java) = java_or_skip("stacks") else { return };
    let _one = one_jvm_at_a_time();
    let jvm = jvm(java, &[], "monitor");
    let pid = jvm.pid().to_string();
    let base = ["snapshot", "--pid", &pid, "--after", "200ms", "--format", "text"];
    let text = threadscope(&[&base[..], &["--stacks"]].concat());
    assert!(text.contains("JVM view via attach"), "{text}");
    let holder = text.split("\"Lock-Holder\"").nth(1).unwrap().split("\n\n").next().unwrap();
    assert!(holder.contains("   jvm: WAITING (parking)"), "{holder}");
    assert!(
        holder.contains("      at ThreadscopeFixture.lambda$monitor$0(ThreadscopeFixture.java:"),
        "{holder}"
    );
    assert!(holder.contains("      - locked <0x"), "{holder}");
    let plain = threadscope(&base);
    assert!(!plain.contains("      at "), "{plain}");
    let s = snapshot_json(jvm.pid(), &["--stacks"]);
    let stack = thread(&s, "Lock-Holder")["runtime"]["stack"].as_array().unwrap().clone();
    assert!(stack[0]["function"].as_str().unwrap().starts_with("jdk.internal.misc.Unsafe.park"));
}

#[test]
fn a_jvm_that_refuses_attach_gives_a_note_and_the_kernel_view() {
    let Some(java) = java_or_skip("disable_attach") else { return };
    let _one = one_jvm_at_a_time();
    let jvm = jvm(java, &["-XX:+DisableAttachMechanism"], "names");
    let s = snapshot_json(jvm.pid(), &[]);
    let notes = s["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n.as_str().unwrap().contains("DisableAttachMechanism")), "{notes:?}");
    assert_eq!(threads(&s).iter().filter(|t| t["name"] == "PaymentService-").count(), 8);
}
