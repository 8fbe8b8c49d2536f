//! A bounded `Queue` runs on a lock-free ring until something retires it
//! (a `maxsize` the ring cannot hold, a shutdown). These tests block real
//! threads on the ring, retire it under them, and read the gauges the
//! registry takes from the ring's counters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::eventually;
use common::queue::blocked_in;
use common::sync::spawn_in;
use std::sync::{Arc, Barrier, Mutex};
use threadscope::threading::{ErrorKind, Queue, Registry};

fn gauges(registry: &Registry, queue: &str, names: &[&str]) -> Vec<u64> {
    let snapshot = registry.snapshot();
    let queue = snapshot.primitive_named(queue).unwrap();
    names.iter().map(|name| queue.details[*name]).collect()
}

#[test]
fn the_record_counts_what_the_ring_counts() {
    let registry = Registry::new();
    let q = Queue::with_registry(&registry, 4);
    q.set_name("ring");
    (0..4).for_each(|n| q.put(n).unwrap());
    assert_eq!(q.put_nowait(4).unwrap_err().error.kind(), ErrorKind::Full);
    assert_eq!(q.get().unwrap(), 0);
    q.task_done().unwrap();
    let names = ["depth", "puts", "gets", "tasks_done", "unfinished", "high_water", "maxsize"];
    assert_eq!(gauges(&registry, "ring", &names), [3, 4, 1, 1, 3, 4, 4]);
    assert_eq!((q.qsize(), q.full(), q.unfinished_tasks()), (3, false, 3));
    // The same figures once the ring is retired, and counting on from there.
    q.set_maxsize(0);
    q.put(5).unwrap();
    assert_eq!(gauges(&registry, "ring", &names), [4, 5, 1, 1, 4, 4, 0]);
    assert_eq!((q.qsize(), q.full(), q.unfinished_tasks()), (4, false, 4));
    assert_eq!([q.get().unwrap(), q.get().unwrap(), q.get().unwrap(), q.get().unwrap()], [1, 2, 3, 5]);
}

#[test]
fn task_done_past_the_puts_is_refused_on_the_ring() {
    let q = Queue::with_registry(&Registry::new(), 8);
    q.put("a").unwrap();
    q.get().unwrap();
    q.task_done().unwrap();
    let err = q.task_done().unwrap_err();
    assert_eq!(
        (err.kind(), err.to_string()),
        (ErrorKind::ValueError, "ValueError: task_done() called too many times".to_owned())
    );
    q.join();
}

#[test]
fn a_put_blocked_on_the_ring_goes_in_when_maxsize_outgrows_it() {
    let registry = Registry::new();
    let q = Arc::new(Queue::with_registry(&registry, 2));
    q.set_name("small");
    q.put(1).unwrap();
    q.put(2).unwrap();
    let producer = {
        let q = q.clone();
        spawn_in(&registry, "producer", move || q.put(3).unwrap())
    };
    blocked_in(&registry, "producer", "put");
    q.set_maxsize(10_000); // more than the ring holds: the locked core takes over
    producer.join().unwrap();
    assert_eq!((q.qsize(), q.maxsize()), (3, 10_000));
    assert_eq!([q.get().unwrap(), q.get().unwrap(), q.get().unwrap()], [1, 2, 3]);
}

#[test]
fn a_shutdown_wakes_gets_and_puts_blocked_on_the_ring() {
    let registry = Registry::new();
    let empty = Arc::new(Queue::<u8>::with_registry(&registry, 4));
    let full = Arc::new(Queue::with_registry(&registry, 1));
    full.put("in").unwrap();
    let getter = {
        let q = empty.clone();
        spawn_in(&registry, "getter", move || assert_eq!(q.get().unwrap_err().kind(), ErrorKind::ShutDown))
    };
    let putter = {
        let q = full.clone();
        spawn_in(&registry, "putter", move || {
            let err = q.put("out").unwrap_err();
            assert_eq!((err.error.kind(), err.item), (ErrorKind::ShutDown, "out"));
        })
    };
    blocked_in(&registry, "getter", "get");
    blocked_in(&registry, "putter", "put");
    empty.shutdown(false);
    full.shutdown(false);
    getter.join().unwrap();
    putter.join().unwrap();
    assert_eq!(full.get().unwrap(), "in", "what was in still comes out");
    // Python checks the shutdown before the timeout, on the ring as off it.
    assert_eq!(full.put_with("late", true, Some(-1.0)).unwrap_err().error.kind(), ErrorKind::ShutDown);
    assert_eq!(full.get_with(true, Some(-1.0)).unwrap_err().kind(), ErrorKind::ShutDown);
}

#[test]
fn a_bad_timeout_on_an_open_ring_is_a_value_error_full_or_not() {
    let q = Queue::with_registry(&Registry::new(), 1);
    assert_eq!(q.put_with(1, true, Some(f64::NAN)).unwrap_err().error.kind(), ErrorKind::ValueError);
    q.put(1).unwrap();
    assert_eq!(q.put_with(2, true, Some(-1.0)).unwrap_err().error.kind(), ErrorKind::ValueError);
    assert_eq!(q.put_with(2, false, Some(-1.0)).unwrap_err().error.kind(), ErrorKind::Full);
    assert_eq!(q.get_with(true, Some(-1.0)).unwrap_err().kind(), ErrorKind::ValueError);
    assert_eq!(q.get_with(true, Some(0.0)).unwrap(), 1);
    assert_eq!(q.get_with(true, Some(0.001)).unwrap_err().kind(), ErrorKind::Empty);
}

#[test]
fn an_immediate_shutdown_drops_the_rings_items_and_their_tasks() {
    let registry = Registry::new();
    let q = Arc::new(Queue::with_registry(&registry, 8));
    let item = Arc::new(());
    (0..3).for_each(|_| q.put(item.clone()).unwrap());
    drop(q.get().unwrap());
    q.task_done().unwrap();
    let joiner = {
        let q = q.clone();
        spawn_in(&registry, "joiner", move || q.join())
    };
    blocked_in(&registry, "joiner", "join");
    q.shutdown(true);
    joiner.join().unwrap();
    assert_eq!((q.qsize(), q.unfinished_tasks(), Arc::strong_count(&item)), (0, 0, 1));
}

#[test]
fn join_on_the_ring_returns_once_every_task_is_done() {
    let registry = Registry::new();
    let q = Arc::new(Queue::with_registry(&registry, 16));
    let worker = {
        let q = q.clone();
        spawn_in(&registry, "worker", move || {
            for _ in 0..1_000 {
                q.get().unwrap();
                q.task_done().unwrap();
            }
        })
    };
    (0..1_000).for_each(|n| q.put(n).unwrap());
    q.join();
    assert_eq!(q.unfinished_tasks(), 0);
    worker.join().unwrap();
}

/// Two producers and two consumers keep going while the ring is retired
/// under them (at half-way, by the count of items taken): nothing is lost
/// or taken twice, and each producer's items come out in its order.
#[test]
fn nothing_is_lost_when_the_ring_retires_under_traffic() {
    const PER: usize = 20_000;
    let registry = Registry::new();
    let q = Arc::new(Queue::with_registry(&registry, 8));
    let start = Arc::new(Barrier::new(4));
    let taken = Arc::new(Mutex::new(Vec::new()));
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let (q, start) = (q.clone(), start.clone());
            spawn_in(&registry, &format!("producer-{p}"), move || {
                start.wait();
                (0..PER).for_each(|n| q.put((p, n)).unwrap());
            })
        })
        .collect();
    let consumers: Vec<_> = (0..2)
        .map(|c| {
            let (q, start, taken) = (q.clone(), start.clone(), taken.clone());
            spawn_in(&registry, &format!("consumer-{c}"), move || {
                start.wait();
                let mut mine = Vec::new();
                while let Ok(item) = q.get() {
                    mine.push(item);
                }
                taken.lock().unwrap().push(mine);
            })
        })
        .collect();
    eventually("half the items to be taken", || {
        (q.record().details().iter().find(|(name, _)| *name == "gets")?.1 >= PER as u64).then_some(())
    });
    q.set_maxsize(0);
    producers.into_iter().for_each(|p| p.join().unwrap());
    q.shutdown(false);
    consumers.into_iter().for_each(|c| c.join().unwrap());
    let taken = std::mem::take(&mut *taken.lock().unwrap());
    for mine in &taken {
        for p in 0..2 {
            let order: Vec<usize> = mine.iter().filter(|(from, _)| *from == p).map(|(_, n)| *n).collect();
            assert!(order.windows(2).all(|w| w[0] < w[1]), "a consumer saw producer {p} out of order");
        }
    }
    let mut all: Vec<_> = taken.into_iter().flatten().collect();
    all.sort_unstable();
    let expected: Vec<_> = (0..2).flat_map(|p| (0..PER).map(move |n| (p, n))).collect();
    assert_eq!(all, expected, "items lost or taken twice");
}

/// Read while a producer and a consumer run flat out, the depth is one the
/// queue really had: never above `maxsize`, in `qsize()` or in the gauge.
#[test]
fn the_depth_read_under_traffic_never_passes_maxsize() {
    const ITEMS: u64 = 200_000;
    let registry = Registry::new();
    let q = Arc::new(Queue::with_registry(&registry, 4));
    q.set_name("busy");
    let producer = {
        let q = q.clone();
        spawn_in(&registry, "producer", move || (0..ITEMS).for_each(|n| q.put(n).unwrap()))
    };
    let consumer = {
        let q = q.clone();
        spawn_in(&registry, "consumer", move || {
            (0..ITEMS).for_each(|_| {
                q.get().unwrap();
            })
        })
    };
    let mut reads = 0u64;
    while reads < 2_000 || q.record().details().iter().any(|&(name, gets)| name == "gets" && gets < ITEMS) {
        assert!(q.qsize() <= 4);
        let depth = q.record().details().iter().find(|(name, _)| *name == "depth").unwrap().1;
        assert!(depth <= 4, "a depth of {depth} in a queue of 4");
        reads += 1;
    }
    producer.join().unwrap();
    consumer.join().unwrap();
    assert!(gauges(&registry, "busy", &["high_water"])[0] <= 4);
}

#[test]
fn an_unbounded_queue_runs_on_the_ring_until_a_burst_outgrows_it() {
    let registry = Registry::new();
    let q = Queue::with_registry(&registry, 0);
    q.set_name("open");
    // Python looks at no timeout of an unbounded put.
    q.put_with(0, true, Some(-1.0)).unwrap();
    (1..1024).for_each(|n| q.put_nowait(n).unwrap());
    assert_eq!((q.qsize(), q.full()), (1024, false));
    // The 1,025th finds the ring's 1,024 slots full: the locked core takes
    // everything over and goes on growing.
    (1024..3000).for_each(|n| q.put(n).unwrap());
    assert_eq!((q.qsize(), q.full(), q.maxsize()), (3000, false, 0));
    assert_eq!(gauges(&registry, "open", &["depth", "puts", "maxsize"]), [3000, 3000, 0]);
    assert!((0..3000).all(|n| q.get().unwrap() == n), "in order across the move");
}

#[test]
fn a_maxsize_given_and_taken_away_keeps_the_ring() {
    let q = Queue::with_registry(&Registry::new(), 0);
    (0..3).for_each(|n| q.put(n).unwrap());
    q.set_maxsize(5);
    (3..5).for_each(|n| q.put(n).unwrap());
    assert_eq!(q.put_nowait(5).unwrap_err().error.kind(), ErrorKind::Full);
    assert!(q.full());
    q.set_maxsize(0);
    assert!(!q.full());
    (5..8).for_each(|n| q.put_nowait(n).unwrap());
    assert!((0..8).all(|n| q.get().unwrap() == n));
}

/// A put waiting on a full bounded queue goes in when the limit is taken
/// away, even when the ring has no free slot (it retires).
#[test]
fn a_put_waiting_on_a_full_ring_goes_in_when_maxsize_is_taken_away() {
    let registry = Registry::new();
    let q = Arc::new(Queue::with_registry(&registry, 4));
    (0..4).for_each(|n| q.put(n).unwrap());
    let producer = {
        let q = q.clone();
        spawn_in(&registry, "producer", move || q.put(4).unwrap())
    };
    blocked_in(&registry, "producer", "put");
    q.set_maxsize(0);
    producer.join().unwrap();
    assert_eq!(q.qsize(), 5);
    assert!((0..5).all(|n| q.get().unwrap() == n));
}

/// With one task always open and one item always in, a thread churning
/// put / get / task_done never makes the reads say "all done" or "empty":
/// a `join` on that reading would return with a task open.
#[test]
fn reads_under_churn_never_see_a_finished_queue_that_was_not() {
    use std::sync::atomic::{AtomicBool, Ordering};
    for maxsize in [0, 8] {
        let q = Arc::new(Queue::with_registry(&Registry::new(), maxsize));
        q.put(u64::MAX).unwrap(); // stays in: the queue is never empty
        q.put(0).unwrap();
        // Taken, never done: a task stays open.
        assert_eq!(q.get().unwrap(), u64::MAX);
        let done = Arc::new(AtomicBool::new(false));
        let churner = {
            let (q, done) = (q.clone(), done.clone());
            std::thread::spawn(move || {
                // Enough for millions of reads in a release build; a debug
                // build (the README's `cargo test`) runs a tenth.
                let cycles = if cfg!(debug_assertions) { 300_000 } else { 3_000_000 };
                for n in 1..cycles {
                    q.put_nowait(n).unwrap();
                    q.get_nowait().unwrap();
                    q.task_done().unwrap();
                }
                done.store(true, Ordering::Release);
            })
        };
        while !done.load(Ordering::Acquire) {
            assert!(q.unfinished_tasks() >= 1, "a task is open");
            assert!(q.qsize() >= 1, "an item is in");
        }
        churner.join().unwrap();
    }
}
