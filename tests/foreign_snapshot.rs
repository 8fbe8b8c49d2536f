//! `threadscope snapshot --pid` on a program that never heard of
//! threadscope (the child of `foreign_support`: an ABBA pthread deadlock
//! with a third thread queued, a pipe read, a sleep, an accept): the JSON's
//! waits, locks and cycle by TID, and the text dump's words, through the
//! real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod foreign_support;

use foreign_support::{CHILD_ENV, PATIENCE, Target};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

/// The child's entry: a test that does nothing unless the environment
/// says this process is the child.
#[test]
fn child_entry() {
    if std::env::var_os(CHILD_ENV).is_some() {
        foreign_support::child();
    }
}

fn snapshot(pid: u32, format: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_threadscope"))
        .args(["snapshot", "--pid", &pid.to_string(), "--format", format])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn thread(json: &Value, tid: u32) -> &Value {
    json["threads"].as_array().unwrap().iter().find(|t| t["native_id"] == tid).unwrap_or(&Value::Null)
}

fn tids(links: &Value) -> Vec<u64> {
    let mut tids: Vec<u64> = links.as_array().unwrap().iter().map(|l| l["tid"].as_u64().unwrap()).collect();
    tids.sort_unstable();
    tids
}

/// Snapshots until every role is asleep where the test expects it (the
/// child's threads reach their calls a moment after saying ready).
fn settled_json(target: &Target) -> Value {
    let kind = |json: &Value, role: &str| thread(json, target.tid(role))["waiting_on"]["kind"].clone();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let json: Value = serde_json::from_str(&snapshot(target.child.id(), "json")).unwrap();
        let settled = ["ab-a", "ab-b", "late-a", "waiter"].iter().all(|r| kind(&json, r) == "mutex")
            && ["std-waiter", "std-waiter-2"].iter().all(|r| kind(&json, r) == "futex")
            && ["sleeper", "holder", "joined"].iter().all(|r| kind(&json, r) == "sleep")
            && kind(&json, "joiner") == "join"
            && ["pipe-reader", "acceptor"].iter().all(|r| kind(&json, r) == "io");
        if settled {
            return json;
        }
        assert!(Instant::now() < deadline, "the child's threads never settled: {json:#}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn snapshot_of_a_foreign_program_names_waits_owners_and_the_cycle_by_tid() {
    let target = Target::start(std::env::current_exe().unwrap());
    let t = |role: &str| target.tid(role);
    let json = settled_json(&target);

    // The ABBA cycle, by TID, without the late waiter.
    let deadlocks = json["deadlocks"].as_array().unwrap();
    assert_eq!(deadlocks.len(), 1, "{deadlocks:#?}");
    let mut cycle = tids(&deadlocks[0]["threads"]);
    cycle.dedup();
    let mut abba = vec![u64::from(t("ab-a")), u64::from(t("ab-b"))];
    abba.sort_unstable();
    assert_eq!(cycle, abba);

    // Locks as primitives: holders and waiters by TID.
    let primitive = |address: u64| {
        let name = format!("{address:#x}");
        json["primitives"].as_array().unwrap().iter().find(|p| p["name"] == name.as_str()).unwrap().clone()
    };
    let a = primitive(target.mutex("a"));
    assert_eq!(a["kind"], "mutex");
    assert_eq!(tids(&a["holders"]), vec![u64::from(t("ab-a"))]);
    let mut queued = vec![u64::from(t("ab-b")), u64::from(t("late-a"))];
    queued.sort_unstable();
    assert_eq!(tids(&a["waiters"]), queued);
    let late = &thread(&json, t("late-a"))["waiting_on"];
    assert_eq!(late["primitive"], a["id"], "joined by id");
    assert_eq!(tids(&late["holders"]), vec![u64::from(t("ab-a"))]);
    assert_eq!(late["waited"]["unavailable"], "not_recorded", "the kernel does not say since when");

    // std's Mutex records no owner: a futex, said so.
    let std_wait = &thread(&json, t("std-waiter"))["waiting_on"];
    assert_eq!(std_wait["kind"], "futex", "{std_wait}");
    let std_lock = json["primitives"].as_array().unwrap().iter().find(|p| p["id"] == std_wait["primitive"]);
    assert_eq!(std_lock.unwrap()["owner_note"], "owner not recorded by this kind of lock");
    // Another program's lock keeps no counters: unavailable, not zeros.
    assert_eq!(std_lock.unwrap()["stats"], serde_json::json!({"unavailable": "not_recorded"}));

    // pthread_join: a join of the thread it waits for, by TID, not a futex.
    let join = &thread(&json, t("joiner"))["waiting_on"];
    assert_eq!((&join["name"], tids(&join["holders"])), (&"joined".into(), vec![u64::from(t("joined"))]));
    assert!(join["primitive"].is_null(), "{join}");

    // Waits in the kernel's words.
    let words = |role: &str| thread(&json, t(role))["waiting_on"]["name"].as_str().unwrap().to_owned();
    assert!(words("pipe-reader").starts_with("read on fd ") && words("pipe-reader").contains("(pipe "));
    assert!(words("sleeper").starts_with("clock_nanosleep") || words("sleeper").starts_with("nanosleep"));
    assert!(
        words("acceptor").contains(&format!("tcp 127.0.0.1:{} listen", target.port)),
        "{}",
        words("acceptor")
    );
    assert_eq!(json["deadlock_search"]["runtime_covers"][0], "pthread mutexes, with their owners");
    // The JSON says what is not covered as the words do, not the kernel-only phrase.
    assert_eq!(json["deadlock_search"]["not_covered"], "other locks, whose owners are not recorded");
    assert_eq!(json["notes"].as_array().unwrap().len(), 0, "our own child may be read");

    // The text dump: the cycle named with TIDs, the locks, the waits.
    let text = snapshot(target.child.id(), "text");
    let found = text.lines().find(|l| l.starts_with("Found ")).unwrap();
    assert_eq!(
        found,
        "Found 1 deadlock(s) among pthread mutexes, with their owners; not visible: other locks, whose owners are not recorded."
    );
    let cycle_line = text.lines().find(|l| l.trim_start().starts_with("Deadlock 1:")).unwrap();
    for role in ["ab-a", "ab-b"] {
        assert!(cycle_line.contains(&format!("(tid {})", t(role))), "{cycle_line}");
    }
    assert!(!cycle_line.contains(&format!("tid {}", t("late-a"))), "{cycle_line}");
    let a_line = format!("  mutex {:#x} held by ab-a (tid {}); waiting: ", target.mutex("a"), t("ab-a"));
    assert!(text.lines().any(|l| l.starts_with(&a_line)), "{a_line}\n{text}");
    assert!(text.contains("owner not recorded by this kind of lock"), "{text}");
    assert!(text.contains("   waiting in read on fd "), "{text}");
    assert!(!text.contains("waiting for 0 ms"), "no false zero: {text}");
}

#[test]
fn a_deadlock_through_a_join_is_found_by_tid() {
    let target = Target::start_kind(std::env::current_exe().unwrap(), foreign_support::JOIN_DEADLOCK_CHILD);
    let (joiner, locker) = (u64::from(target.tid("joiner")), u64::from(target.tid("locker")));
    let deadline = Instant::now() + PATIENCE;
    let json = loop {
        let json: Value = serde_json::from_str(&snapshot(target.child.id(), "json")).unwrap();
        if !json["deadlocks"].as_array().unwrap().is_empty() {
            break json;
        }
        assert!(Instant::now() < deadline, "no deadlock found: {json:#}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let deadlocks = json["deadlocks"].as_array().unwrap();
    assert_eq!(deadlocks.len(), 1, "{deadlocks:#?}");
    let mut cycle = tids(&deadlocks[0]["threads"]);
    cycle.dedup();
    let mut expected = vec![joiner, locker];
    expected.sort_unstable();
    assert_eq!(cycle, expected);
    let join = &thread(&json, target.tid("joiner"))["waiting_on"];
    assert_eq!((&join["kind"], tids(&join["holders"])), (&"join".into(), vec![locker]));
}

/// A program we did not start has no library to say how old its threads
/// are: the kernel's start time does, against the boot clock of the
/// sample. No thread is older than the time since just before the spawn,
/// the main thread is the oldest, and it is at least as old as the time
/// since the child said it was ready.
#[test]
fn a_foreign_thread_s_age_comes_from_its_kernel_start_time() {
    let before = Instant::now();
    let target = Target::start(std::env::current_exe().unwrap());
    let ready = Instant::now();
    // Time for the ages to grow past any rounding, so that the lower bound
    // below says something: not a synchronisation.
    std::thread::sleep(Duration::from_millis(300));
    let since_ready = ready.elapsed().as_millis() as u64;
    let json: Value = serde_json::from_str(&snapshot(target.child.id(), "json")).unwrap();
    let since_spawn = before.elapsed().as_millis() as u64;
    let uptime = json["system"]["uptime_ms"].as_u64().expect("the sample's boot clock");
    let age = |t: &Value| {
        let started = t["kernel"]["started_ms"].as_u64().expect("a kernel start time");
        uptime.checked_sub(started).unwrap_or_else(|| panic!("started after the sample's clock: {t:#}"))
    };
    let main = thread(&json, target.child.id());
    // One clock tick (USER_HZ is 100) of rounding: `stat` gives the start
    // in ticks, cut down.
    let tick = 11;
    for t in json["threads"].as_array().unwrap() {
        assert!(age(t) <= since_spawn + tick, "{} ms old, the child {since_spawn} ms: {t:#}", age(t));
        assert!(age(t) <= age(main), "{t:#} is older than the main thread");
    }
    assert!(age(main) >= since_ready, "the main thread {} ms old, ready {since_ready} ms ago", age(main));
}
