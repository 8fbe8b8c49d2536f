//! The inspector against real threads, and `threadscope snapshot` end to
//! end: its own scenarios and, read-only, another process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use threadscope::inspect::{Inspector, Origin, Snapshot};
use threadscope::kernel::{CPU_RATE_MIN_INTERVAL, Field, Reason};
use threadscope::threading::{Lock, Registry, Thread, ThreadState, kernel_comm};

/// Refreshes until `ready` holds (10 s at most).
fn refresh_until(inspector: &mut Inspector, ready: impl Fn(&Snapshot) -> bool) -> Snapshot {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let snapshot = inspector.refresh().unwrap();
        if ready(&snapshot) {
            return snapshot;
        }
        assert!(Instant::now() < deadline, "never held; last: {:#?}", snapshot.threads);
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_thread_blocked_on_a_lock_is_waiting_in_the_library_and_asleep_on_a_futex_in_the_kernel() {
    let registry = Registry::new();
    let lock = Arc::new(Lock::with_registry(&registry));
    lock.set_name("held-lock");
    lock.acquire();
    let inner = lock.clone();
    let waiter = Thread::builder().registry(&registry).name("Blocked-Waiter").target(move || {
        inner.acquire();
        inner.release().unwrap();
    });
    waiter.start().unwrap();
    let mut inspector = Inspector::own(&registry).unwrap();
    inspector.set_detail_every(1);
    let snapshot = refresh_until(&mut inspector, |s| {
        s.thread("Blocked-Waiter").is_some_and(|t| {
            t.state == ThreadState::Waiting
                && t.kernel.as_ref().is_some_and(|k| {
                    k.state == 'S' && k.wchan.value().cloned().flatten().is_some_and(|w| w.contains("futex"))
                })
        })
    });
    let t = snapshot.thread("Blocked-Waiter").unwrap();
    assert_eq!(t.origin, Origin::Managed);
    assert_eq!(&*t.waiting_on.as_ref().unwrap().name, "held-lock");
    assert_eq!(t.kernel.as_ref().unwrap().tid, waiter.native_id().unwrap());
    assert!(
        t.kernel.as_ref().unwrap().futex.value().is_some_and(Option::is_some),
        "the futex address is read from /proc/…/syscall"
    );
    lock.release().unwrap();
    waiter.join().unwrap();
}

#[test]
fn cpu_before_a_second_sample_is_unavailable_not_zero() {
    let registry = Registry::new();
    // Before the inspector: every baseline it takes is after this.
    let start = Instant::now();
    let mut inspector = Inspector::own(&registry).unwrap();
    let first = inspector.refresh().unwrap();
    let me = first.threads.iter().find(|t| t.kernel.is_some()).unwrap().kernel.clone().unwrap();
    let not_sampled = Field::Unavailable(Reason::NotSampled);
    assert_eq!(me.cpu_percent, not_sampled);
    let json = serde_json::to_value(&me).unwrap();
    assert_eq!(json["cpu_percent"], serde_json::json!({"unavailable": "not_sampled"}));
    // Sampled again and again: no rate until two samples are far enough
    // apart for the kernel's ticks to measure one, then one.
    loop {
        let again = inspector.refresh().unwrap();
        let soon = start.elapsed() < CPU_RATE_MIN_INTERVAL;
        let k = again.threads.iter().find(|t| t.native_id == Some(me.tid)).unwrap().kernel.clone().unwrap();
        if soon {
            assert_eq!(k.cpu_percent, not_sampled, "measured over less than the minimum");
            assert_eq!(again.process.cpu_percent, not_sampled, "the process's, too");
        }
        if k.cpu_percent.is_available() {
            assert!(again.process.cpu_percent.is_available(), "{:?}", again.process);
            break;
        }
    }
}

#[test]
fn a_spinning_thread_is_running_with_rising_utime_and_names_match_the_kernel() {
    let registry = Registry::new();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let spinner =
        Thread::builder().registry(&registry).name("CPU-Spinner-With-A-Long-Name").target(move || {
            while !flag.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
    spinner.start().unwrap();
    let mut inspector = Inspector::own(&registry).unwrap();
    let first = refresh_until(&mut inspector, |s| {
        s.thread("CPU-Spinner-With-A-Long-Name")
            .and_then(|t| t.kernel.as_ref())
            .is_some_and(|k| k.state == 'R')
    });
    let utime =
        |s: &Snapshot| s.thread("CPU-Spinner-With-A-Long-Name").unwrap().kernel.as_ref().unwrap().utime_ms;
    let before = utime(&first);
    let measured = |s: &Snapshot| {
        s.thread("CPU-Spinner-With-A-Long-Name").unwrap().kernel.as_ref().unwrap().cpu_percent.is_available()
    };
    let later = refresh_until(&mut inspector, |s| utime(s) > before && measured(s));
    let k = later.thread("CPU-Spinner-With-A-Long-Name").unwrap().kernel.clone().unwrap();
    assert_eq!(k.comm.shown(), kernel_comm("CPU-Spinner-With-A-Long-Name"));
    assert!(k.cpu_percent.value().is_some_and(|c| *c > 0.0 && *c <= 100.0), "{k:?}");
    stop.store(true, Ordering::Relaxed);
    spinner.join().unwrap();
}

fn threadscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_threadscope")).args(args).output().unwrap()
}

#[test]
fn snapshot_of_the_deadlock_scenario_names_exactly_its_cycle() {
    let out = threadscope(&["snapshot", "--scenario", "deadlock", "--after", "300ms"]);
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["schema"], 3);
    assert_eq!(json["deadlocks"].as_array().unwrap().len(), 1);
    let cycle = json["deadlocks"][0]["cycle"].as_array().unwrap();
    let names: Vec<&str> = cycle.iter().map(|step| step["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Transfer-AB", "account-B", "Transfer-BA", "account-A"]);
    let steps: Vec<&str> = cycle.iter().map(|step| step["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["thread", "primitive", "thread", "primitive"]);
    assert_eq!(cycle[1]["kind"], "lock");
    let threads = json["threads"].as_array().unwrap();
    let named = |name: &str| threads.iter().find(|t| t["name"] == name).unwrap();
    let (ab, ba) = (named("Transfer-AB"), named("Transfer-BA"));
    // Every reference is an identity: the cycle's and the wait's threads
    // carry the key and TID of the thread they mean.
    assert_eq!((&cycle[0]["key"], &cycle[0]["tid"]), (&ab["key"], &ab["native_id"]));
    assert_eq!((&cycle[2]["key"], &cycle[2]["tid"]), (&ba["key"], &ba["native_id"]));
    assert_eq!(ab["state"], "waiting");
    assert_eq!(ab["origin"], "managed");
    assert_eq!(ab["waiting_on"]["kind"], "lock");
    assert_eq!(ab["waiting_on"]["holder"]["name"], "Transfer-BA");
    assert_eq!(ab["waiting_on"]["holder"]["tid"], ba["native_id"]);
    let account_b = json["primitives"].as_array().unwrap().iter().find(|p| p["name"] == "account-B").unwrap();
    assert_eq!(ab["waiting_on"]["primitive"], account_b["id"]);
    for field in [
        "tid",
        "comm",
        "state",
        "cpu_percent",
        "utime_ms",
        "stime_ms",
        "voluntary_ctxt_switches",
        "nonvoluntary_ctxt_switches",
        "wchan",
    ] {
        assert!(ab["kernel"].get(field).is_some(), "kernel.{field} missing: {}", ab["kernel"]);
    }
    let a = json["primitives"].as_array().unwrap().iter().find(|p| p["name"] == "account-A").unwrap();
    assert_eq!(
        (a["kind"].as_str(), a["holders"][0]["name"].as_str(), a["waiters"][0]["name"].as_str()),
        (Some("lock"), Some("Transfer-AB"), Some("Transfer-BA"))
    );
    assert_eq!(a["holders"][0]["tid"], ab["native_id"]);
    // True times: the hold taken on the fast path at start-up is about
    // 300 ms old, and the wait still going on counts in the total.
    let held_for = a["stats"]["held_for"].as_f64().unwrap();
    assert!(held_for >= 0.2, "held_for {held_for}: a 300 ms hold read as {held_for}");
    assert!(a["stats"]["total_wait"].as_f64().unwrap() >= 0.2, "{}", a["stats"]);
    assert!(json["deadlock_search"]["library_primitives"].as_u64().is_some_and(|n| n >= 2));
    assert!(json["naming"]["patterns"].is_array() && json["naming"]["findings"].is_array());
}

#[test]
fn text_snapshots_end_with_the_deadlocks_and_count_repeats() {
    let out = threadscope(&[
        "snapshot",
        "--scenario",
        "dining-philosophers",
        "--after",
        "300ms",
        "--format",
        "text",
    ]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\"Philosopher-0\" ident=0x"), "{text}");
    let kernel_line = text.lines().find(|l| l.starts_with("   kernel: ")).unwrap();
    assert!(kernel_line.contains(" age="), "every kernel line says the task's age: {kernel_line}");
    // References name the thread with its TID; "held for" is the hold's
    // age, "waiting for" the wait's.
    let tid_of = |name: &str| {
        let head = text.lines().find(|l| l.starts_with(&format!("\"{name}\" "))).unwrap();
        head.split(" tid=").nth(1).unwrap().split(' ').next().unwrap().to_owned()
    };
    let (p0, p1) = (tid_of("Philosopher-0"), tid_of("Philosopher-1"));
    assert!(
        text.contains(&format!("waiting on lock fork-1 (acquire), held by Philosopher-1 (tid {p1}) for ")),
        "{text}"
    );
    assert!(text.contains("; waiting for "), "{text}");
    assert!(
        text.contains("Found 1 deadlock(s) among threadscope's own primitives (")
            && text.contains(
                " threads) and pthread mutexes, with their owners; not searched: locks that record no owner"
            ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "  Deadlock 1: Philosopher-0 (tid {p0}) waits for lock fork-1 held by Philosopher-1 (tid {p1});"
        )),
        "{text}"
    );

    let out = threadscope(&[
        "snapshot",
        "--scenario",
        "producer-consumer",
        "--after",
        "0ms",
        "--count",
        "3",
        "--interval",
        "50ms",
    ]);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "one JSON object per line");
    assert!(lines.iter().all(|s| s["scenario"] == "producer-consumer"));
}

#[test]
fn a_missing_pid_is_a_clear_error() {
    let out = threadscope(&["snapshot", "--pid", "999999999"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("threadscope: no process with pid 999999999"), "{err}");
    let out = threadscope(&["snapshot", "--pid", "1", "--scenario", "tour"]);
    assert_eq!(out.status.code(), Some(2), "--pid and --scenario exclude each other");
}

/// `snapshot --after 0s` (trial 6): a thread spinning at 100 % read 0.0,
/// 56 % or 114 %, the process 0.0. The first snapshot comes at once after
/// the baseline, too soon to measure; the next, an interval later, is
/// measured, and one thread never uses more than one CPU.
#[test]
fn a_snapshot_at_once_has_no_cpu_figure_and_the_next_one_is_one_cpu_at_most() {
    let dir = std::env::temp_dir().join(format!("threadscope-spin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("spin.toml");
    std::fs::write(
        &scenario,
        "name = \"spin\"\ndescription = \"One thread that spins\"\n\n[[threads]]\nname = \"Spinner\"\nrepeat = \"forever\"\nsteps = [{ spin = \"10s\" }]\n",
    )
    .unwrap();
    let out = threadscope(&[
        "snapshot",
        "--scenario",
        scenario.to_str().unwrap(),
        "--after",
        "0s",
        "--count",
        "2",
        "--interval",
        "300ms",
    ]);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<serde_json::Value> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let not_sampled = serde_json::json!({"unavailable": "not_sampled"});
    let spinner = |json: &serde_json::Value| {
        json["threads"].as_array().unwrap().iter().find(|t| t["name"] == "Spinner").unwrap()["kernel"]
            ["cpu_percent"]
            .clone()
    };
    // The first comes a refresh after the baseline: unmeasured, unless the
    // machine stalled past the minimum between them; then a spinner's
    // figure is a measure, so never 0 (nor is its process's).
    let busy = |figure: &serde_json::Value| {
        *figure == not_sampled || figure.as_f64().is_some_and(|c| c > 0.0 && c <= 100.0)
    };
    assert!(busy(&spinner(&lines[0])), "{}", lines[0]);
    let process = &lines[0]["process"]["cpu_percent"];
    assert!(*process == not_sampled || process.as_f64().is_some_and(|c| c > 0.0), "{process}");
    for line in &lines {
        for t in line["threads"].as_array().unwrap() {
            let figure = &t["kernel"]["cpu_percent"];
            assert!(*figure == not_sampled || figure.as_f64().is_some_and(|c| c <= 100.0), "{t}");
        }
    }
    // An interval (over the minimum) later: measured.
    let measured = spinner(&lines[1]).as_f64().unwrap_or_else(|| panic!("{}", lines[1]));
    assert!(measured > 0.0 && measured <= 100.0, "{measured}");
    assert!(lines[1]["process"]["cpu_percent"].as_f64().is_some_and(|p| p > 0.0), "{}", lines[1]["process"]);
    let _ = std::fs::remove_dir_all(&dir);
}

const HOSTILE: [&str; 2] = ["evil\x1b[2Jname", "bidi\u{202e}gnp.exe"];

#[test]
#[ignore = "run in a child process by pid_snapshot_sanitizes_hostile_names"]
fn child_with_hostile_thread_names() {
    let gate = Arc::new(Lock::new());
    gate.acquire();
    let threads: Vec<Thread> = HOSTILE
        .iter()
        .map(|name| {
            let gate = gate.clone();
            let t = Thread::builder().name(name).target(move || {
                gate.acquire();
                gate.release().unwrap();
            });
            t.start().unwrap();
            t
        })
        .collect();
    threads.iter().for_each(|t| assert!(t.native_id().is_some()));
    println!("READY");
    // Stay until the parent closes our stdin.
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    gate.release().unwrap();
}

#[test]
fn pid_snapshot_sanitizes_hostile_names_and_keeps_raw_bytes() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_with_hostile_thread_names", "--nocapture", "--test-threads=1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    while !ready.contains("READY") {
        ready.clear();
        assert!(reader.read_line(&mut ready).unwrap() > 0, "child ended early");
    }
    let pid = child.id().to_string();
    let out = threadscope(&["snapshot", "--pid", &pid, "--after", "100ms"]);
    let text_out = threadscope(&["snapshot", "--pid", &pid, "--after", "0ms", "--format", "text"]);
    drop(child.stdin.take());
    child.wait().unwrap();

    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["process"]["own"], false);
    let threads = json["threads"].as_array().unwrap();
    assert!(threads.iter().all(|t| t["origin"] == "foreign"));
    let evil = threads.iter().find(|t| t["name"].as_str().is_some_and(|n| n.starts_with("evil"))).unwrap();
    assert_eq!(evil["name"], "evil\\e[2Jname");
    let raw: Vec<u8> =
        evil["name_raw"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap() as u8).collect();
    assert_eq!(raw, kernel_comm(HOSTILE[0]).as_bytes());
    let bidi = threads.iter().find(|t| t["name"].as_str().is_some_and(|n| n.starts_with("bidi"))).unwrap();
    assert_eq!(bidi["name"], "bidi\\u{202e}gnp.exe");
    let finding_kinds: Vec<&str> =
        json["naming"]["findings"].as_array().unwrap().iter().filter_map(|f| f["kind"].as_str()).collect();
    assert!(finding_kinds.contains(&"unprintable"), "{finding_kinds:?}");

    let text = String::from_utf8(text_out.stdout).unwrap();
    assert!(!text.contains('\x1b') && !text.contains('\u{202e}'), "{text:?}");
    assert!(text.contains("\"evil\\e[2Jname\""), "{text}");
}

#[test]
fn the_first_sample_counts_no_thread_twice() {
    // Threads still starting when the first sample is taken must not show
    // twice: once as their record, once as a "foreign" task named after
    // the binary.
    for _ in 0..5 {
        let out = threadscope(&["snapshot", "--scenario", "naming-patterns", "--after", "0ms"]);
        assert!(out.status.success(), "{out:?}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let threads = json["threads"].as_array().unwrap();
        let foreign: Vec<&serde_json::Value> = threads.iter().filter(|t| t["origin"] == "foreign").collect();
        assert!(foreign.is_empty(), "counted twice: {foreign:?}");
        let mut tids: Vec<u64> = threads.iter().filter_map(|t| t["native_id"].as_u64()).collect();
        let all = tids.len();
        tids.dedup();
        tids.sort();
        tids.dedup();
        assert_eq!(tids.len(), all, "a TID shown twice");
    }
}

#[test]
fn lock_convoy_gets_a_convoy_finding_naming_its_lock() {
    let registry = Registry::new();
    let scenario = threadscope::scenario::builtin("lock-convoy").unwrap().load(None).unwrap();
    let mut running = threadscope::scenario::RunningScenario::start(scenario, &registry).unwrap();
    let mut inspector = Inspector::own(&registry).unwrap();
    let snapshot = refresh_until(&mut inspector, |s| {
        s.findings.iter().any(|f| f.message.starts_with("lock ledger is a convoy: "))
    });
    let finding =
        snapshot.findings.iter().find(|f| f.message.starts_with("lock ledger is a convoy")).unwrap();
    assert_eq!(serde_json::to_value(finding).unwrap()["kind"], "lock_convoy");
    assert_eq!(Some(finding.subject), snapshot.primitives.iter().find(|p| p.name == "ledger").map(|p| p.id));
    running.stop(Duration::from_secs(3));
}

#[test]
fn a_rename_changes_the_naming_findings_at_the_next_refresh() {
    let registry = Registry::new();
    let gate = Arc::new(Lock::with_registry(&registry));
    gate.acquire();
    let inner = gate.clone();
    let thread = Thread::builder().registry(&registry).name("ReportGenerator-Nightly").target(move || {
        inner.acquire();
        inner.release().unwrap();
    });
    thread.start().unwrap();
    let mut inspector = Inspector::own(&registry).unwrap();
    let truncated = |s: &Snapshot| {
        s.naming.findings.iter().any(|f| f.threads.iter().any(|t| t.name == "ReportGenerator-Nightly"))
    };
    refresh_until(&mut inspector, truncated);
    // Unchanged names: the same findings, given out again.
    assert!(truncated(&inspector.refresh().unwrap()));
    thread.set_name("Reports");
    let after = inspector.refresh().unwrap();
    assert!(!truncated(&after), "{:?}", after.naming.findings);
    gate.release().unwrap();
    thread.join().unwrap();
}
