//! What a person can do to a running scenario: add workers, stop one
//! thread, release a lock from outside, set and clear events — and the
//! Python-style errors when it cannot be done.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{wait_for_snapshot, wait_for_state};
use std::time::Duration;
use threadscope::scenario::{self, RunningScenario, StopThread, WorkerKind};
use threadscope::threading::{ErrorKind, PrimitiveKind, Registry, ThreadState};

fn start(name: &str) -> (RunningScenario, Registry) {
    let registry = Registry::new();
    let scenario = scenario::builtin(name).unwrap().load(None).unwrap();
    (RunningScenario::start(scenario, &registry).unwrap(), registry)
}

fn start_text(text: &str) -> (RunningScenario, Registry) {
    let registry = Registry::new();
    let scenario = scenario::parse("test.toml", text, None).unwrap();
    (RunningScenario::start(scenario, &registry).unwrap(), registry)
}

#[test]
fn every_worker_kind_can_be_spawned_on_a_fitting_primitive() {
    let (mut running, registry) = start_text(
        "name = \"t\"\ndescription = \"d\"\n[primitives]\nl = { kind = \"lock\" }\ne = { kind = \"event\" }\nq = { kind = \"queue\", maxsize = 2 }\n",
    );
    for (kind, target) in [
        (WorkerKind::Sleeper, None),
        (WorkerKind::Spinner, None),
        (WorkerKind::LockContender, Some("l")),
        (WorkerKind::EventWaiter, Some("e")),
        (WorkerKind::Producer, Some("q")),
        (WorkerKind::Consumer, Some("q")),
    ] {
        let thread = running.spawn_worker(kind, target).unwrap();
        assert_eq!(thread.name(), format!("{}-1", kind.stem()));
        assert!(thread.is_alive());
    }
    wait_for_snapshot(&registry, |s| {
        s.thread("EventWaiter-1")
            .and_then(|t| t.waiting_on.as_ref())
            .is_some_and(|w| w.kind.label() == "event" && w.name == "e")
            && s.primitive_named("q").is_some_and(|q| q.details["gets"] >= 1)
    });
    running.set_event("e").unwrap();
    running.clear_event("e").unwrap();
    let report = running.stop(Duration::from_secs(3));
    // The event waiter may be back in an untimed wait: reported, not hung.
    assert!(
        report.stuck.iter().all(|s| s.name == "EventWaiter-1" || s.name == "Consumer-1"),
        "{:?}",
        report.stuck
    );
}

#[test]
fn spawning_needs_a_fitting_target() {
    let (mut running, _) = start("tour");
    let err = running.spawn_worker(WorkerKind::LockContender, None).unwrap_err();
    assert_eq!(err.to_string(), "ValueError: a Contender needs a lock");
    let err = running.spawn_worker(WorkerKind::LockContender, Some("jobs")).unwrap_err();
    assert_eq!(err.to_string(), "ValueError: \"jobs\" is not a lock");
    let err = running.spawn_worker(WorkerKind::Producer, Some("nope")).unwrap_err();
    assert_eq!(err.to_string(), "ValueError: no queue named \"nope\" in this scenario");
    running.stop(Duration::from_secs(3));
    let err = running.spawn_worker(WorkerKind::Sleeper, None).unwrap_err();
    assert_eq!(err.to_string(), "RuntimeError: the scenario is stopping");
}

#[test]
fn stopping_one_thread_says_when_it_cannot_be_interrupted() {
    let (mut running, registry) = start("deadlock");
    wait_for_state(&registry, "Transfer-AB", ThreadState::Waiting);
    wait_for_snapshot(&registry, |s| {
        s.thread("Transfer-AB").and_then(|t| t.waiting_on.as_ref()).is_some_and(|w| w.kind.label() == "lock")
    });
    match running.stop_thread("Transfer-AB").unwrap() {
        StopThread::CannotStop(why) => assert!(
            why.starts_with("Transfer-AB is blocked in acquire of lock account-B held by Transfer-BA; asked to stop once that returns"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(running.stop_thread("Nobody").unwrap_err().kind(), ErrorKind::RuntimeError);

    // Releasing account-A from outside (Python allows it for a Lock) lets
    // Transfer-BA through, and the stop request then takes effect.
    running.release_lock("account-A").unwrap();
    wait_for_snapshot(&registry, |s| {
        s.thread("Transfer-BA").is_some_and(|t| t.state == ThreadState::Terminated)
    });
    running.stop(Duration::from_millis(200));
}

#[test]
fn stopping_a_sleeper_and_a_finished_thread() {
    let (mut running, registry) = start("daemon-vs-nondaemon");
    wait_for_state(&registry, "Heartbeat-1", ThreadState::Waiting);
    assert_eq!(running.stop_thread("Heartbeat-1").unwrap(), StopThread::Stopping);
    wait_for_state(&registry, "Heartbeat-1", ThreadState::Terminated);
    assert_eq!(running.stop_thread("Heartbeat-1").unwrap(), StopThread::NotRunning);
    assert!(
        running.threads().iter().filter(|t| t.name() != "Heartbeat-1").all(|t| t.is_alive()),
        "only that one stopped"
    );
    running.stop(Duration::from_secs(3));
}

#[test]
fn releasing_an_unlocked_lock_is_pythons_error() {
    let (mut running, _) = start_text(
        "name = \"t\"\ndescription = \"d\"\n[primitives]\nidle = { kind = \"lock\" }\ne = { kind = \"event\" }\n",
    );
    assert_eq!(running.release_lock("idle").unwrap_err().to_string(), "RuntimeError: release unlocked lock");
    assert_eq!(running.release_lock("e").unwrap_err().to_string(), "ValueError: \"e\" is not a lock");
    assert_eq!(running.set_event("idle").unwrap_err().to_string(), "ValueError: \"idle\" is not an event");
    assert_eq!(running.clear_event("zzz").unwrap_err().kind(), ErrorKind::ValueError);
    assert_eq!(
        running.primitive_names(),
        [("idle".to_owned(), PrimitiveKind::Lock), ("e".to_owned(), PrimitiveKind::Event)]
    );
    running.stop(Duration::from_secs(1));
}

#[test]
fn stopping_names_the_pool_worker_it_could_not_stop_and_marks_daemons() {
    let (mut running, registry) = start_text(
        r#"name = "t"
description = "d"
[primitives]
gate = { kind = "lock" }
never = { kind = "event" }
pool = { kind = "pool", max_workers = 1, prefix = "Pool" }

[[threads]]
name = "Keeper"
daemon = true
steps = [{ acquire = "gate" }, { wait = "never" }]

[[threads]]
name = "Submitter"
start = "50ms"
steps = [{ submit = "pool", task = [{ acquire = "gate" }] }]
"#,
    );
    wait_for_snapshot(&registry, |s| {
        s.thread("Pool_0").and_then(|t| t.waiting_on.as_ref()).is_some_and(|w| w.name == "gate")
            && s.thread("Keeper").is_some_and(|t| t.state == ThreadState::Waiting)
    });
    let report = running.stop(Duration::from_millis(300));
    let stuck: Vec<(&str, bool)> = report.stuck.iter().map(|s| (s.name.as_str(), s.daemon)).collect();
    assert!(stuck.contains(&("Pool_0", false)), "{stuck:?}");
    assert!(stuck.contains(&("Keeper", true)), "{stuck:?}");
    let keeper = report.stuck.iter().find(|s| s.name == "Keeper").unwrap();
    assert!(keeper.to_string().starts_with("Keeper (daemon): blocked in wait of event never"), "{keeper}");
    running.release_lock("gate").unwrap();
    running.set_event("never").unwrap();
}

#[test]
fn a_failing_step_is_reported_at_the_step_not_in_threadscopes_source() {
    threadscope::threading::set_excepthook(|_| ()); // keep the test output quiet
    let (mut running, registry) = start_text(
        "name = \"t\"\ndescription = \"d\"\n[primitives]\nb = { kind = \"barrier\", parties = 2 }\n[[threads]]\nname = \"Lonely\"\nsteps = [{ sleep = \"1ms\" }, { wait = \"b\", timeout = \"20ms\" }]\n",
    );
    let snapshot = wait_for_snapshot(&registry, |s| {
        s.thread("Lonely").is_some_and(|t| t.state == ThreadState::Terminated)
    });
    threadscope::threading::reset_excepthook();
    match &snapshot.thread("Lonely").unwrap().outcome {
        Some(threadscope::threading::Outcome::Panicked { message, location }) => {
            assert_eq!(message, "BrokenBarrierError");
            assert_eq!(location.as_deref(), Some("t: Lonely, step 2 (wait on b (timeout 20 ms))"));
        }
        other => panic!("{other:?}"),
    }
    running.stop(Duration::from_secs(1));
}
