//! The registry observed while real threads really block: what each thread
//! waits on, who holds what, time in each state, outcomes, retention.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{wait_for_snapshot, wait_for_state};
use std::sync::Arc;
use std::time::Duration;
use threadscope::threading::{
    self, Lock, Outcome, RLock, Registry, Retention, Thread, ThreadOrigin, ThreadState,
};

fn spawn_in(registry: &Registry, name: &str, f: impl FnOnce() + Send + 'static) -> Thread {
    let t = Thread::builder().registry(registry).name(name).daemon(false).target(f);
    t.start().unwrap();
    t
}

fn contender(registry: &Registry, name: &str, lock: &Arc<Lock>) -> Thread {
    let lock = lock.clone();
    spawn_in(registry, name, move || {
        lock.acquire();
        lock.release().unwrap();
    })
}

#[test]
fn a_thread_blocked_on_a_held_lock_is_waiting_on_it() {
    let registry = Registry::new();
    let lock = Arc::new(Lock::with_registry(&registry));
    lock.set_name("fork-2");
    let holder_lock = lock.clone();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = spawn_in(&registry, "Philosopher-3", move || {
        holder_lock.acquire();
        release_rx.recv().unwrap();
        holder_lock.release().unwrap();
    });
    wait_for_snapshot(&registry, |s| s.primitive_named("fork-2").is_some_and(|p| !p.holders.is_empty()));
    let waiter = contender(&registry, "Philosopher-1", &lock);
    let snapshot = wait_for_state(&registry, "Philosopher-1", ThreadState::Waiting);

    let blocked = snapshot.thread("Philosopher-1").unwrap();
    let on = blocked.waiting_on.as_ref().unwrap();
    assert_eq!((on.kind.label(), on.name.as_str(), on.role.as_deref()), ("lock", "fork-2", Some("acquire")));
    assert_eq!(on.holders.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(), ["Philosopher-3"]);

    let fork = snapshot.primitive_named("fork-2").unwrap();
    assert_eq!(fork.holders[0].name, "Philosopher-3");
    assert_eq!(fork.waiters.iter().map(|w| w.name.as_str()).collect::<Vec<_>>(), ["Philosopher-1"]);
    assert!(fork.stats.held_for.is_some());
    let holds = &snapshot.thread("Philosopher-3").unwrap().holds;
    assert_eq!(holds.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["fork-2"]);

    release_tx.send(()).unwrap();
    holder.join().unwrap();
    waiter.join().unwrap();
    let after = registry.snapshot();
    let fork = after.primitive_named("fork-2").unwrap();
    assert!(fork.holders.is_empty() && fork.waiters.is_empty());
    assert_eq!(fork.stats.acquisitions, 2);
    assert_eq!(fork.stats.contentions, 1);
    assert!(fork.stats.total_wait > Duration::ZERO);
    assert!(after.thread("Philosopher-1").unwrap().time_in_state.waiting > Duration::ZERO);
}

#[test]
fn waiters_are_listed_in_arrival_order() {
    let registry = Registry::new();
    let lock = Arc::new(Lock::with_registry(&registry));
    lock.set_name("door");
    lock.acquire();
    let mut threads = Vec::new();
    for name in ["first", "second", "third"] {
        threads.push(contender(&registry, name, &lock));
        wait_for_state(&registry, name, ThreadState::Waiting);
    }
    let snapshot = registry.snapshot();
    let door = snapshot.primitive_named("door").unwrap();
    assert_eq!(
        door.waiters.iter().map(|w| w.name.as_str()).collect::<Vec<_>>(),
        ["first", "second", "third"]
    );
    lock.release().unwrap();
    threads.iter().for_each(|t| t.join().unwrap());
}

#[test]
fn join_sleep_and_declared_regions_are_visible() {
    let registry = Registry::new();
    let gate = Arc::new(Lock::with_registry(&registry));
    gate.acquire();
    let target = contender(&registry, "slow-target", &gate);
    let joined = target.clone();
    let joiner = spawn_in(&registry, "joiner", move || joined.join().unwrap());
    let sleeper = Thread::builder()
        .registry(&registry)
        .name("sleeper")
        .daemon(true)
        .target(|| threading::sleep(Duration::from_secs(60)));
    sleeper.start().unwrap();
    let region_gate = gate.clone();
    let reader = spawn_in(&registry, "reader", move || {
        threading::blocking("reading socket", || {
            region_gate.acquire();
            region_gate.release().unwrap();
        })
    });
    let snapshot = wait_for_snapshot(&registry, |s| {
        ["joiner", "sleeper"].iter().all(|n| s.thread(n).is_some_and(|t| t.state == ThreadState::Waiting))
            && s.thread("reader")
                .is_some_and(|t| t.waiting_on.as_ref().is_some_and(|w| w.kind.label() == "lock"))
    });
    let join = snapshot.thread("joiner").unwrap().waiting_on.clone().unwrap();
    assert_eq!((join.kind.label(), join.name.as_str()), ("join", "slow-target"));
    let sleep = snapshot.thread("sleeper").unwrap().waiting_on.clone().unwrap();
    assert_eq!(sleep.kind.label(), "sleep");
    assert!(sleep.remaining.is_some_and(|r| r > Duration::from_secs(1)));
    gate.release().unwrap();
    let snapshot = wait_for_snapshot(&registry, |s| {
        s.thread("reader").is_some_and(|t| t.state == ThreadState::Terminated)
    });
    assert!(snapshot.thread("reader").unwrap().waiting_on.is_none());
    [&target, &joiner, &reader].iter().for_each(|t| t.join().unwrap());
    assert!(sleeper.daemon(), "left to finish on its own");
}

#[test]
fn a_nested_wait_restores_the_outer_one() {
    let registry = Registry::new();
    let inner_gate = Arc::new(Lock::with_registry(&registry));
    inner_gate.acquire();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let gate = inner_gate.clone();
    let t = spawn_in(&registry, "nested", move || {
        threading::blocking("outer work", || {
            gate.acquire();
            gate.release().unwrap();
            rx.recv().unwrap();
        })
    });
    wait_for_snapshot(&registry, |s| {
        s.thread("nested").and_then(|t| t.waiting_on.as_ref()).is_some_and(|w| w.kind.label() == "lock")
    });
    inner_gate.release().unwrap();
    let snapshot = wait_for_snapshot(&registry, |s| {
        s.thread("nested").and_then(|t| t.waiting_on.as_ref()).is_some_and(|w| w.kind.label() == "region")
    });
    assert_eq!(snapshot.thread("nested").unwrap().waiting_on.as_ref().unwrap().name, "outer work");
    tx.send(()).unwrap();
    t.join().unwrap();
}

#[test]
fn outcomes_are_recorded() {
    let registry = Registry::new();
    let ok = spawn_in(&registry, "ok", || ());
    let exited = spawn_in(&registry, "exited", || threading::exit());
    threading::set_excepthook(|_| ()); // keep the test output quiet
    let panicked = spawn_in(&registry, "panicked", || panic!("disk full"));
    [&ok, &exited, &panicked].iter().for_each(|t| t.join().unwrap());
    threading::reset_excepthook();
    let snapshot = registry.snapshot();
    assert_eq!(snapshot.thread("ok").unwrap().outcome, Some(Outcome::Returned));
    assert_eq!(snapshot.thread("exited").unwrap().outcome, Some(Outcome::Exited));
    match &snapshot.thread("panicked").unwrap().outcome {
        Some(Outcome::Panicked { message, location }) => {
            assert_eq!(message, "disk full");
            assert!(location.as_deref().is_some_and(|l| l.starts_with("tests/registry.rs:")));
        }
        other => panic!("unexpected outcome {other:?}"),
    }
    assert!(snapshot.threads.iter().all(|t| t.state == ThreadState::Terminated));
}

#[test]
fn created_threads_are_listed_until_their_handle_drops() {
    let registry = Registry::new();
    let t = Thread::builder().registry(&registry).name("not-yet").target(|| ());
    let snapshot = registry.snapshot();
    let created = snapshot.thread("not-yet").unwrap();
    assert_eq!((created.state, created.ident, created.native_id), (ThreadState::Created, None, None));
    assert_eq!(created.origin, ThreadOrigin::Managed);
    drop(t);
    assert!(registry.snapshot().thread("not-yet").is_none());
}

#[test]
fn terminated_threads_are_retained_by_count() {
    let registry = Registry::new();
    registry.set_retention(Retention { max_terminated: 2, max_age: Duration::from_secs(3600) });
    for i in 0..5 {
        spawn_in(&registry, &format!("done-{i}"), || ()).join().unwrap();
    }
    // Pruning happens on the reading side.
    let names: Vec<String> = registry.snapshot().threads.into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["done-3", "done-4"]);
}

#[test]
fn terminated_threads_are_retained_by_age() {
    let registry = Registry::new();
    registry.set_retention(Retention { max_terminated: 100, max_age: Duration::ZERO });
    spawn_in(&registry, "gone", || ()).join().unwrap();
    assert!(registry.snapshot().thread("gone").is_none());
}

#[test]
fn primitives_vanish_when_dropped_and_time_in_state_adds_up() {
    let registry = Registry::new();
    let lock = Lock::with_registry(&registry);
    let rlock = RLock::with_registry(&registry);
    rlock.set_name("r");
    assert_eq!(registry.snapshot().primitives.len(), 2);
    drop(lock);
    let snapshot = registry.snapshot();
    assert_eq!(snapshot.primitives.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["r"]);
    drop(rlock);
    assert!(registry.snapshot().primitives.is_empty());

    let t = spawn_in(&registry, "timed", || threading::sleep(Duration::from_millis(5)));
    t.join().unwrap();
    let snap = registry.snapshot();
    let timed = snap.thread("timed").unwrap();
    let times = timed.time_in_state;
    let total = times.created + times.running + times.waiting + times.terminated;
    assert!(total <= timed.age + Duration::from_millis(1), "{times:?} vs age {:?}", timed.age);
    assert!(times.waiting >= Duration::from_millis(5), "slept at least 5 ms: {times:?}");
}

#[test]
fn rlock_owner_is_the_holder() {
    let registry = Registry::new();
    let rlock = Arc::new(RLock::with_registry(&registry));
    rlock.set_name("reentrant");
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let inner = rlock.clone();
    let owner = spawn_in(&registry, "owner", move || {
        inner.acquire();
        inner.acquire();
        held_tx.send(()).unwrap();
        rx.recv().unwrap();
        inner.release().unwrap();
        inner.release().unwrap();
    });
    held_rx.recv().unwrap();
    let waiter_lock = rlock.clone();
    let waiter = spawn_in(&registry, "rwaiter", move || {
        waiter_lock.acquire();
        waiter_lock.release().unwrap();
    });
    let snapshot = wait_for_state(&registry, "rwaiter", ThreadState::Waiting);
    let on = snapshot.thread("rwaiter").unwrap().waiting_on.clone().unwrap();
    assert_eq!((on.kind.label(), on.holders[0].name.as_str()), ("rlock", "owner"));
    tx.send(()).unwrap();
    owner.join().unwrap();
    waiter.join().unwrap();
}

#[test]
fn snapshots_serialise_to_json() {
    let registry = Registry::new();
    let lock = Lock::with_registry(&registry);
    lock.set_name("json-lock");
    lock.acquire();
    spawn_in(&registry, "json-thread", || ()).join().unwrap();
    let value = serde_json::to_value(registry.snapshot()).unwrap();
    let thread = &value["threads"][0];
    assert_eq!(thread["name"], "json-thread");
    assert_eq!(thread["state"], "terminated");
    assert_eq!(thread["origin"], "managed");
    assert_eq!(thread["outcome"]["kind"], "returned");
    assert!(thread["native_id"].as_u64().is_some_and(|n| n > 0));
    assert!(thread["time_in_state"]["running"].is_f64());
    let primitive = &value["primitives"][0];
    assert_eq!(primitive["name"], "json-lock");
    assert_eq!(primitive["kind"], "lock");
    assert_eq!(primitive["stats"]["acquisitions"], 1);
    lock.release().unwrap();
}

#[test]
fn a_fast_path_hold_shows_its_true_age_from_the_first_snapshot() {
    threadscope::threading::start_hold_clock();
    let registry = Registry::new();
    let lock = Lock::with_registry(&registry);
    lock.set_name("config");
    let before = std::time::Instant::now();
    lock.acquire(); // uncontended: the fast path, no clock read
    // Time must pass for an age to show; the hold's age is the subject here.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let snapshot = registry.snapshot(); // the first snapshot ever to see the hold
    let real_age = before.elapsed();
    let held_for = snapshot.primitive_named("config").unwrap().stats.held_for.unwrap();
    // The stamp is the hold clock's last tick, at or before the acquire:
    // never younger than the hold, and older by at most a tick or so.
    assert!(
        held_for + threadscope::threading::HOLD_CLOCK_PERIOD >= std::time::Duration::from_millis(300),
        "{held_for:?}"
    );
    assert!(held_for <= real_age + std::time::Duration::from_secs(1), "{held_for:?} vs {real_age:?}");
    lock.release().unwrap();
}
