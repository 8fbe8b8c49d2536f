//! Deadlocks are reported only once confirmed: real ones in the first
//! snapshot after they form, torn ones never. The soak at the end runs the
//! scenarios that cannot deadlock and counts what the inspector reports
//! (`.ci/soak` runs it with 10,000 snapshots each).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::wait_for_snapshot;
use std::sync::Arc;
use std::time::Duration;
use threadscope::inspect::{Inspector, WaitGraph, confirmed_deadlocks};
use threadscope::scenario::{self, RunningScenario, Stuck};
use threadscope::threading::{Lock, Registry, RegistrySnapshot, Thread, ThreadState};

fn start(name: &str) -> (RunningScenario, Registry) {
    let registry = Registry::new();
    let scenario = scenario::builtin(name).unwrap().load(None).unwrap();
    (RunningScenario::start(scenario, &registry).unwrap(), registry)
}

fn spawn_in(registry: &Registry, name: &str, f: impl FnOnce() + Send + 'static) -> Thread {
    let thread = Thread::builder().registry(registry).name(name).daemon(false).target(f);
    thread.start().unwrap();
    thread
}

/// Both named threads Waiting on a lock.
fn both_waiting(s: &RegistrySnapshot, a: &str, b: &str) -> bool {
    [a, b].iter().all(|n| {
        s.thread(n).is_some_and(|t| {
            t.state == ThreadState::Waiting && t.waiting_on.as_ref().is_some_and(|w| w.kind.label() == "lock")
        })
    })
}

#[test]
fn a_real_deadlock_is_confirmed_and_the_same_snapshot_is_not_once_it_resolves() {
    let registry = Registry::new();
    let a = Arc::new(Lock::with_registry(&registry));
    a.set_name("A");
    let b = Arc::new(Lock::with_registry(&registry));
    b.set_name("B");
    // Not a registry primitive, so it is no part of the wait-for graph.
    let both_hold_one = Arc::new(std::sync::Barrier::new(2));
    let ab = {
        let (a, b, both) = (a.clone(), b.clone(), both_hold_one.clone());
        spawn_in(&registry, "AB", move || {
            a.acquire();
            both.wait();
            b.acquire();
            b.release().unwrap();
            // A is released by the test thread (any thread may release a Lock).
        })
    };
    let ba = {
        let (a, b, both) = (a.clone(), b.clone(), both_hold_one);
        spawn_in(&registry, "BA", move || {
            b.acquire();
            both.wait();
            a.acquire();
            a.release().unwrap();
            b.release().unwrap();
        })
    };
    let snapshot = wait_for_snapshot(&registry, |s| both_waiting(s, "AB", "BA"));
    let deadlocks = confirmed_deadlocks(&registry, &snapshot);
    assert_eq!(deadlocks.len(), 1, "{snapshot:#?}");
    assert_eq!(deadlocks[0].names(), ["AB", "B", "BA", "A"]);

    a.release().unwrap(); // breaks the cycle: BA gets A, then AB gets B
    ab.join().unwrap();
    ba.join().unwrap();
    assert_eq!(WaitGraph::from_snapshot(&snapshot).deadlocks().len(), 1, "still a candidate");
    assert!(confirmed_deadlocks(&registry, &snapshot).is_empty(), "the re-read finds it gone");
}

/// Starts `name`, waits until the registry shows the cycle of `threads`
/// threads, and checks the very next inspector snapshot reports it.
fn first_snapshot_after_it_forms_reports(name: &str, threads: usize) {
    let (mut running, registry) = start(name);
    let mut inspector = Inspector::own(&registry).unwrap();
    wait_for_snapshot(&registry, |s| {
        s.threads.iter().filter(|t| t.state == ThreadState::Waiting).count() >= threads
            && WaitGraph::from_snapshot(s).deadlocks().iter().any(|d| d.threads.len() == threads)
    });
    let snapshot = inspector.refresh().unwrap();
    assert_eq!(snapshot.deadlocks.len(), 1, "{:#?}", snapshot.deadlocks);
    assert_eq!(snapshot.deadlocks[0].threads.len(), threads);
    assert_eq!(running.stop(Duration::from_millis(200)).stuck.len(), threads);
}

#[test]
fn the_abba_scenario_is_reported_in_the_first_snapshot() {
    first_snapshot_after_it_forms_reports("deadlock", 2);
}

#[test]
fn the_philosophers_deadlock_is_reported_in_the_first_snapshot() {
    first_snapshot_after_it_forms_reports("dining-philosophers", 5);
}

/// What one soak of a scenario saw.
#[derive(Debug, Default)]
struct Soak {
    snapshots: usize,
    /// Cycles in raw registry snapshots (taken between the inspector's):
    /// candidates, which confirmation has to reject.
    candidates: usize,
    /// Deadlocks the inspector reported: must stay 0.
    reported: Vec<Vec<String>>,
}

/// `snapshots` inspector snapshots of `name`, a scenario that cannot deadlock.
fn soak(name: &str, snapshots: usize) -> Soak {
    let (mut running, registry) = start(name);
    let mut inspector = Inspector::own(&registry).unwrap();
    // As `threadscope snapshot` does: every detail, every time.
    inspector.set_detail_every(1);
    // Let every worker get going: each has taken a step.
    wait_for_snapshot(&registry, |s| s.threads.iter().all(|t| t.state != ThreadState::Created));
    let mut soak = Soak { snapshots, ..Soak::default() };
    for _ in 0..snapshots {
        let snapshot = inspector.refresh().unwrap();
        soak.reported.extend(snapshot.deadlocks.into_iter().map(|d| d.names()));
        soak.candidates += WaitGraph::from_snapshot(&registry.snapshot()).deadlocks().len();
    }
    let report = running.stop(Duration::from_secs(10));
    // A producer blocked in `put` on a full queue, or a consumer in `get`
    // on an empty one, cannot be interrupted (nor in Python): once the
    // other side has stopped it stays blocked. Anything else is a bug.
    let blocked_on_queue = |s: &&Stuck| {
        s.waiting_on
            .as_deref()
            .is_some_and(|w| w.starts_with("put of queue") || w.starts_with("get of queue"))
    };
    assert!(report.stuck.iter().all(|s| blocked_on_queue(&s)), "{:?}", report.stuck);
    soak
}

fn soak_all(snapshots: usize) {
    for name in ["dining-philosophers-ordered", "lock-convoy", "producer-consumer"] {
        let soak = soak(name, snapshots);
        // The soak script reads this line.
        eprintln!(
            "soak {name}: {} snapshots, {} raw candidate cycles, {} reported",
            soak.snapshots,
            soak.candidates,
            soak.reported.len()
        );
        assert!(soak.reported.is_empty(), "{name} cannot deadlock, yet: {:?}", soak.reported);
    }
}

#[test]
fn scenarios_that_cannot_deadlock_never_report_one() {
    soak_all(200);
}

/// The long soak: `THREADSCOPE_SOAK_SNAPSHOTS` (default 10,000) snapshots
/// of each scenario. Run by `.ci/soak`; not timed, so not in `cargo test`.
#[test]
#[ignore = "long: run by .ci/soak"]
fn soak_scenarios_that_cannot_deadlock() {
    let snapshots = std::env::var("THREADSCOPE_SOAK_SNAPSHOTS").ok().and_then(|n| n.parse().ok());
    soak_all(snapshots.unwrap_or(10_000));
}
