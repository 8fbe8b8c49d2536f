//! Many threads on one primitive: exact notify counts, barriers over many
//! rounds, semaphores that never hand out more permits than they have.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::sync::{join_ok, spawn_in};
use common::{PATIENCE, eventually, wait_for_snapshot};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use threadscope::threading::{Barrier, Condition, Event, Registry, Semaphore, Thread};

#[test]
fn notify_wakes_exactly_as_many_as_asked_among_many_waiters() {
    const WAITERS: usize = 24;
    let registry = Registry::new();
    let cond = Arc::new(Condition::with_registry(&registry));
    cond.set_name("crowd");
    let woken = Arc::new(AtomicUsize::new(0));
    let threads: Vec<Thread> = (0..WAITERS)
        .map(|i| {
            let (cond, woken) = (cond.clone(), woken.clone());
            spawn_in(&registry, &format!("crowd-{i}"), move || {
                let _held = cond.guard();
                assert_eq!(cond.wait(Some(PATIENCE)), Ok(true));
                woken.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    wait_for_snapshot(&registry, |s| s.primitive_named("crowd").is_some_and(|p| p.waiters.len() == WAITERS));

    let mut expected = 0;
    for batch in [1, 2, 3, 5, 7] {
        {
            let _held = cond.guard();
            cond.notify(batch).unwrap();
        }
        expected += batch;
        eventually("the batch woke", || (woken.load(Ordering::SeqCst) == expected).then_some(()));
        // The rest are still queued, so no one else can have woken.
        let rest = WAITERS - expected;
        wait_for_snapshot(&registry, |s| {
            s.primitive_named("crowd")
                .is_some_and(|p| p.waiters.len() == rest && p.details["waiters"] == rest as u64)
        });
        assert_eq!(woken.load(Ordering::SeqCst), expected);
    }
    {
        let _held = cond.guard();
        cond.notify_all().unwrap();
    }
    for t in &threads {
        join_ok(t);
    }
    assert_eq!(woken.load(Ordering::SeqCst), WAITERS);
    assert_eq!(cond.record().details(), [("waiters", 0), ("notified", WAITERS as u64)]);
}

#[test]
fn a_barrier_gives_each_round_a_permutation_of_indices() {
    const PARTIES: usize = 6;
    const ROUNDS: usize = 200;
    let actions = Arc::new(AtomicUsize::new(0));
    let counter = actions.clone();
    let barrier = Arc::new(Barrier::new(PARTIES).unwrap().with_action(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    let seen = Arc::new(Mutex::new(vec![Vec::new(); ROUNDS]));
    let threads: Vec<Thread> = (0..PARTIES)
        .map(|_| {
            let (barrier, seen, actions) = (barrier.clone(), seen.clone(), actions.clone());
            Thread::spawn(move || {
                for round in 0..ROUNDS {
                    let index = barrier.wait(Some(PATIENCE)).unwrap();
                    assert!(actions.load(Ordering::SeqCst) > round);
                    seen.lock().unwrap()[round].push(index);
                }
            })
            .unwrap()
        })
        .collect();
    for t in &threads {
        join_ok(t);
    }
    assert_eq!(actions.load(Ordering::SeqCst), ROUNDS);
    for mut indices in seen.lock().unwrap().drain(..) {
        indices.sort_unstable();
        assert_eq!(indices, (0..PARTIES).collect::<Vec<_>>());
    }
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

#[test]
fn a_semaphore_never_admits_more_than_its_value() {
    const LIMIT: usize = 3;
    let registry = Registry::new();
    let sem = Arc::new(Semaphore::with_registry(LIMIT, &registry));
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let threads: Vec<Thread> = (0..12)
        .map(|i| {
            let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
            spawn_in(&registry, &format!("sem-{i}"), move || {
                for _ in 0..300 {
                    let _permit = sem.guard();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    assert!(now <= LIMIT, "{now} threads inside a semaphore of {LIMIT}");
                    most.fetch_max(now, Ordering::SeqCst);
                    std::hint::spin_loop();
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in &threads {
        join_ok(t);
    }
    assert!(most.load(Ordering::SeqCst) <= LIMIT);
    assert_eq!(sem.value(), LIMIT);
    assert!(sem.record().holders().is_empty());
    assert_eq!(sem.record().stats_now().acquisitions, 12 * 300);
}

#[test]
fn event_ping_pong_never_loses_a_wakeup() {
    let (ping, pong) = (Arc::new(Event::new()), Arc::new(Event::new()));
    let (p, q) = (ping.clone(), pong.clone());
    let partner = Thread::spawn(move || {
        for _ in 0..2000 {
            assert_eq!(p.wait(Some(PATIENCE)), Ok(true));
            p.clear();
            q.set();
        }
    })
    .unwrap();
    for _ in 0..2000 {
        ping.set();
        assert_eq!(pong.wait(Some(PATIENCE)), Ok(true));
        pong.clear();
    }
    join_ok(&partner);
}
