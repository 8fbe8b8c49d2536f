//! The registry while threads really block on conditions, events,
//! semaphores, barriers and timers: who waits on what, in which role, and
//! what each primitive's holders, gauges and related lock say.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::sync::{join_ok, spawn_in, wait_blocked, waiting_on};
use common::wait_for_snapshot;
use std::sync::Arc;
use std::time::Duration;
use threadscope::threading::{
    Barrier, Condition, Event, Lock, PrimitiveKind, RLock, Registry, Semaphore, ThreadState, Timer,
};

fn names(refs: &[threadscope::threading::ThreadRef]) -> Vec<&str> {
    refs.iter().map(|r| r.name.as_str()).collect()
}

#[test]
fn a_thread_in_event_wait_is_waiting_on_the_event() {
    let registry = Registry::new();
    let event = Arc::new(Event::with_registry(&registry));
    event.set_name("shutdown");
    let e = event.clone();
    let worker = spawn_in(&registry, "Worker-1", move || assert_eq!(e.wait(None), Ok(true)));

    wait_blocked(&registry, "Worker-1", "shutdown", "wait");
    // The `waits` gauge is bumped just after the thread is marked Waiting.
    let snapshot = wait_for_snapshot(&registry, |s| {
        s.primitive_named("shutdown").is_some_and(|p| p.details["waits"] == 1 && p.waiters.len() == 1)
    });
    assert_eq!(snapshot.thread("Worker-1").unwrap().state, ThreadState::Waiting);
    assert_eq!(waiting_on(&snapshot, "Worker-1").unwrap().kind.label(), "event");
    let primitive = snapshot.primitive_named("shutdown").unwrap();
    assert_eq!(primitive.kind, PrimitiveKind::Event);
    assert_eq!(names(&primitive.waiters), ["Worker-1"]);
    assert_eq!((primitive.details["is_set"], primitive.details["waits"]), (0, 1));

    event.set();
    join_ok(&worker);
    let after = registry.snapshot();
    let primitive = after.primitive_named("shutdown").unwrap();
    assert!(primitive.waiters.is_empty());
    assert_eq!((primitive.details["is_set"], primitive.details["sets"]), (1, 1));
    assert_eq!(primitive.stats.contentions, 1);
    assert!(primitive.stats.total_wait > Duration::ZERO);
}

#[test]
fn a_condition_waiter_waits_on_the_condition_then_on_its_lock() {
    let registry = Registry::new();
    let lock = Arc::new(Lock::with_registry(&registry));
    lock.set_name("jobs-lock");
    let cond = Arc::new(Condition::with_lock(lock));
    cond.set_name("jobs-ready");
    let c = cond.clone();
    let consumer = spawn_in(&registry, "Consumer-1", move || {
        let _held = c.guard();
        assert_eq!(c.wait(None), Ok(true));
    });

    let snapshot = wait_blocked(&registry, "Consumer-1", "jobs-ready", "wait");
    assert_eq!(waiting_on(&snapshot, "Consumer-1").unwrap().kind.label(), "condition");
    let primitive = snapshot.primitive_named("jobs-ready").unwrap();
    assert_eq!(primitive.kind, PrimitiveKind::Condition);
    assert_eq!(primitive.related.as_ref().unwrap().name, "jobs-lock");
    assert_eq!(names(&primitive.waiters), ["Consumer-1"]);
    assert_eq!(primitive.details["waiters"], 1);
    assert!(snapshot.primitive_named("jobs-lock").unwrap().holders.is_empty(), "released while waiting");

    // Notified while we hold the lock: it now waits for the lock, held by us.
    cond.acquire();
    cond.notify(1).unwrap();
    let snapshot = wait_blocked(&registry, "Consumer-1", "jobs-lock", "acquire");
    let on = waiting_on(&snapshot, "Consumer-1").unwrap();
    assert_eq!(on.holders.len(), 1);
    assert_ne!(on.holders[0].name, "Consumer-1");
    let primitive = snapshot.primitive_named("jobs-ready").unwrap();
    assert_eq!((primitive.details["waiters"], primitive.details["notified"]), (0, 1));
    assert!(primitive.waiters.is_empty());
    cond.release().unwrap();
    join_ok(&consumer);
}

#[test]
fn a_default_condition_is_related_to_its_rlock() {
    let registry = Registry::new();
    let cond = Condition::with_registry(&registry);
    cond.set_name("default");
    let snapshot = registry.snapshot();
    let related = snapshot.primitive_named("default").unwrap().related.clone().unwrap();
    assert_eq!(related.kind, PrimitiveKind::RLock);
    let rlock = Arc::new(RLock::with_registry(&registry));
    rlock.set_name("given-rlock");
    let cond = Condition::with_lock(rlock);
    cond.set_name("on-rlock");
    let snapshot = registry.snapshot();
    assert_eq!(snapshot.primitive_named("on-rlock").unwrap().related.as_ref().unwrap().name, "given-rlock");
}

#[test]
fn semaphore_holders_are_the_permit_holders_and_the_blocked_thread_waits_on_it() {
    let registry = Registry::new();
    let sem = Arc::new(Semaphore::with_registry(2, &registry));
    sem.set_name("db-pool");
    let release = Arc::new(Event::with_registry(&registry));
    release.set_name("release");
    let holder = |name: &str| {
        let (sem, release) = (sem.clone(), release.clone());
        spawn_in(&registry, name, move || {
            sem.acquire();
            release.wait(None).unwrap();
            sem.release().unwrap();
        })
    };
    let first = holder("Holder-1");
    wait_blocked(&registry, "Holder-1", "release", "wait");
    let second = holder("Holder-2");
    wait_blocked(&registry, "Holder-2", "release", "wait");
    let s = sem.clone();
    let blocked = spawn_in(&registry, "Blocked-1", move || {
        s.acquire();
        s.release().unwrap();
    });

    let snapshot = wait_blocked(&registry, "Blocked-1", "db-pool", "acquire");
    let on = waiting_on(&snapshot, "Blocked-1").unwrap();
    assert_eq!(on.kind.label(), "semaphore");
    assert_eq!(names(&on.holders), ["Holder-1", "Holder-2"]);
    let primitive = snapshot.primitive_named("db-pool").unwrap();
    assert_eq!(names(&primitive.holders), ["Holder-1", "Holder-2"]);
    assert_eq!(names(&primitive.waiters), ["Blocked-1"]);
    assert_eq!((primitive.details["value"], primitive.details["initial"]), (0, 2));
    let holds = &snapshot.thread("Holder-2").unwrap().holds;
    assert_eq!(holds.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["db-pool"]);

    release.set();
    for t in [first, second, blocked] {
        join_ok(&t);
    }
    let after = registry.snapshot();
    let primitive = after.primitive_named("db-pool").unwrap();
    assert!(primitive.holders.is_empty());
    assert_eq!(primitive.details["value"], 2);
    assert_eq!(primitive.stats.acquisitions, 3);
}

#[test]
fn barrier_waiters_and_gauges() {
    let registry = Registry::new();
    let barrier = Arc::new(Barrier::with_registry(3, &registry).unwrap());
    barrier.set_name("round");
    let party = |name: &str| {
        let b = barrier.clone();
        spawn_in(&registry, name, move || {
            assert!(b.wait(None).is_err());
        })
    };
    let first = party("Party-1");
    wait_blocked(&registry, "Party-1", "round", "wait");
    let threads = [first, party("Party-2")];
    let snapshot = wait_blocked(&registry, "Party-2", "round", "wait");
    assert_eq!(waiting_on(&snapshot, "Party-1").unwrap().kind.label(), "barrier");
    let primitive = snapshot.primitive_named("round").unwrap();
    assert_eq!(primitive.kind, PrimitiveKind::Barrier);
    assert_eq!(names(&primitive.waiters), ["Party-1", "Party-2"]);
    let gauges = (primitive.details["parties"], primitive.details["n_waiting"], primitive.details["broken"]);
    assert_eq!(gauges, (3, 2, 0));

    barrier.abort();
    for t in &threads {
        join_ok(t);
    }
    let after = registry.snapshot();
    let primitive = after.primitive_named("round").unwrap();
    assert!(primitive.waiters.is_empty());
    assert_eq!((primitive.details["n_waiting"], primitive.details["broken"]), (0, 1));
}

#[test]
fn a_counting_timer_waits_on_its_finished_event() {
    let registry = Registry::new();
    let timer = Timer::with_registry(Duration::from_secs(3600), || (), &registry);
    timer.set_name("Reminder");
    let event_name = timer.finished().name().unwrap();
    timer.start().unwrap();
    let snapshot = wait_blocked(&registry, "Reminder", &event_name, "wait");
    let primitive = snapshot.primitive_named(&event_name).unwrap();
    assert_eq!(primitive.details["interval_ms"], 3_600_000);
    assert_eq!(names(&primitive.waiters), ["Reminder"]);
    timer.cancel();
    join_ok(&timer);
    let after = wait_for_snapshot(&registry, |s| {
        s.thread("Reminder").is_some_and(|t| t.state == ThreadState::Terminated)
    });
    assert!(after.primitive_named(&event_name).unwrap().waiters.is_empty());
}
