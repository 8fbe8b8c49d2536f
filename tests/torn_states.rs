//! No snapshot contradicts itself, however busy the primitives are: no
//! thread waits on what it holds, and every view of a primitive's holders
//! and waiters agrees with the others.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::wait_for_snapshot;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use threadscope::inspect::confirmed_deadlocks;
use threadscope::threading::{Lock, RLock, Registry, RegistrySnapshot, Semaphore, Thread};

/// Every contradiction in `s`, in words.
fn contradictions(s: &RegistrySnapshot) -> Vec<String> {
    let mut out = Vec::new();
    for p in &s.primitives {
        for w in &p.waiters {
            if p.holders.iter().any(|h| h.id == w.id) {
                out.push(format!("{} waits on {}, which it holds", w.name, p.name));
            }
            let on = s.thread_by_id(w.id).and_then(|t| t.waiting_on.as_ref());
            if on.and_then(|on| on.primitive) != Some(p.id) {
                out.push(format!("{} is among {}'s waiters but waits on {on:?}", w.name, p.name));
            } else if on.is_some_and(|on| on.holders != p.holders) {
                out.push(format!("{} sees {:?} hold {}, which says {:?}", w.name, on, p.name, p.holders));
            }
        }
        for h in &p.holders {
            let holds = s.thread_by_id(h.id).is_some_and(|t| t.holds.iter().any(|r| r.id == p.id));
            if !holds {
                out.push(format!("{} holds {} but its own view does not say so", h.name, p.name));
            }
        }
        if p.holders.is_empty() && p.stats.held_for.is_some() {
            out.push(format!("{} has no holder but has been held for {:?}", p.name, p.stats.held_for));
        }
    }
    out
}

#[test]
fn busy_locks_never_show_a_thread_waiting_on_what_it_holds() {
    let registry = Registry::new();
    let lock = Arc::new(Lock::with_registry(&registry));
    lock.set_name("lock");
    let rlock = Arc::new(RLock::with_registry(&registry));
    rlock.set_name("rlock");
    let permits = Arc::new(Semaphore::with_registry(1, &registry));
    permits.set_name("permit");
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<Thread> = (0..4)
        .map(|i| {
            let (lock, rlock, permits, stop) = (lock.clone(), rlock.clone(), permits.clone(), stop.clone());
            let t = Thread::builder().registry(&registry).name(format!("Worker-{i}")).target(move || {
                while !stop.load(Ordering::Relaxed) {
                    drop(lock.guard());
                    drop(rlock.guard());
                    drop(permits.guard());
                }
            });
            t.start().unwrap();
            t
        })
        .collect();

    // Snapshots until each primitive has been seen with waiters a hundred
    // times: the hand-offs are what could tear.
    let mut seen_waiting = [0usize; 3];
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut snapshots = 0;
    while seen_waiting.iter().any(|&n| n < 100) {
        assert!(Instant::now() < deadline, "too little contention: {seen_waiting:?} in {snapshots}");
        let snapshot = registry.snapshot();
        snapshots += 1;
        let torn = contradictions(&snapshot);
        assert!(torn.is_empty(), "{torn:#?}\n{snapshot:#?}");
        assert!(confirmed_deadlocks(&registry, &snapshot).is_empty(), "{snapshot:#?}");
        for (i, name) in ["lock", "rlock", "permit"].iter().enumerate() {
            if snapshot.primitive_named(name).is_some_and(|p| !p.waiters.is_empty()) {
                seen_waiting[i] += 1;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap();
    }
    let idle = wait_for_snapshot(&registry, |s| s.primitives.iter().all(|p| p.holders.is_empty()));
    assert!(contradictions(&idle).is_empty());
}
