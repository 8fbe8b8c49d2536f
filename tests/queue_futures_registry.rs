//! What the registry shows about queues, futures and thread pools while
//! threads are really blocked on them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::eventually;
use common::queue::{Gate, blocked_in};
use std::sync::Arc;
use threadscope::threading::{
    ALL_COMPLETED, FIRST_COMPLETED, Future, PrimitiveKind, Queue, Registry, Thread, ThreadPoolExecutor,
    ThreadState, as_completed, wait,
};

fn spawn_in(registry: &Registry, name: &str, f: impl FnOnce() + Send + 'static) -> Thread {
    let thread = Thread::builder().name(name).registry(registry).target(f);
    thread.start().unwrap();
    thread
}

#[test]
fn a_consumer_on_an_empty_queue_waits_on_it_to_get() {
    let registry = Registry::new();
    let q = Arc::new(Queue::with_registry(&registry, 3));
    q.set_name("jobs");
    let consumer = {
        let q = q.clone();
        spawn_in(&registry, "consumer", move || assert_eq!(q.get().unwrap(), "job"))
    };
    let seen = blocked_in(&registry, "consumer", "get");
    let waiting = seen.waiting_on.unwrap();
    assert_eq!((waiting.kind.label(), waiting.name.as_str()), ("queue", "jobs"));
    let snapshot = registry.snapshot();
    let queue = snapshot.primitive_named("jobs").unwrap();
    assert_eq!(queue.kind, PrimitiveKind::Queue);
    assert_eq!(queue.waiters.iter().map(|w| w.name.as_str()).collect::<Vec<_>>(), ["consumer"]);
    assert_eq!((queue.details["depth"], queue.details["maxsize"]), (0, 3));

    q.put("job").unwrap();
    consumer.join().unwrap();
    let snapshot = registry.snapshot();
    let queue = snapshot.primitive_named("jobs").unwrap();
    assert!(queue.waiters.is_empty());
    assert_eq!(snapshot.thread("consumer").unwrap().state, ThreadState::Terminated);
    let gauges: Vec<u64> =
        ["depth", "high_water", "puts", "gets", "unfinished"].iter().map(|g| queue.details[g]).collect();
    assert_eq!(gauges, [0, 1, 1, 1, 1]);
    assert_eq!(queue.stats.contentions, 1);
    q.task_done().unwrap();
    let snapshot = registry.snapshot();
    let queue = snapshot.primitive_named("jobs").unwrap();
    assert_eq!((queue.details["tasks_done"], queue.details["unfinished"]), (1, 0));
}

#[test]
fn a_producer_on_a_full_queue_waits_on_it_to_put() {
    let registry = Registry::new();
    let q = Arc::new(Queue::with_registry(&registry, 2));
    q.set_name("outbox");
    q.put(1).unwrap();
    q.put(2).unwrap();
    let producer = {
        let q = q.clone();
        spawn_in(&registry, "producer", move || q.put(3).unwrap())
    };
    let seen = blocked_in(&registry, "producer", "put");
    assert_eq!(seen.waiting_on.unwrap().name, "outbox");
    let snapshot = registry.snapshot();
    let queue = snapshot.primitive_named("outbox").unwrap();
    assert_eq!((queue.details["depth"], queue.details["maxsize"], queue.details["high_water"]), (2, 2, 2));
    assert_eq!(queue.waiters.len(), 1);

    assert_eq!(q.get().unwrap(), 1);
    producer.join().unwrap();
    let snapshot = registry.snapshot();
    assert_eq!(snapshot.primitive_named("outbox").unwrap().details["depth"], 2);
}

#[test]
fn a_result_waiter_points_at_the_worker_running_the_future() {
    let registry = Registry::new();
    let pool = ThreadPoolExecutor::builder()
        .max_workers(2)
        .thread_name_prefix("render")
        .registry(&registry)
        .build()
        .unwrap();
    let gate = Gate::new();
    let future = {
        let pass = gate.pass();
        pool.submit(move || {
            pass.wait();
            7
        })
        .unwrap()
    };
    future.set_name("frame");
    // The worker runs the task: it is blocked at the gate.
    blocked_in(&registry, "render_0", "get");
    let waiter = {
        let future = future.clone();
        spawn_in(&registry, "viewer", move || assert_eq!(future.result().unwrap(), 7))
    };
    let seen = blocked_in(&registry, "viewer", "result");
    let waiting = seen.waiting_on.unwrap();
    assert_eq!((waiting.kind.label(), waiting.name.as_str()), ("future", "frame"));
    assert_eq!(waiting.holders.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(), ["render_0"]);

    let snapshot = registry.snapshot();
    let frame = snapshot.primitive_named("frame").unwrap();
    assert_eq!(frame.related.as_ref().unwrap().name, "render");
    assert_eq!(frame.holders[0].name, "render_0");
    assert_eq!(
        snapshot.thread("render_0").unwrap().waiting_on.as_ref().unwrap().role.as_deref(),
        Some("get")
    );
    let holds: Vec<&str> =
        snapshot.thread("render_0").unwrap().holds.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(holds, ["frame"]);

    gate.open(1);
    waiter.join().unwrap();
    let snapshot = registry.snapshot();
    assert!(
        snapshot.primitive_named("frame").unwrap().holders.is_empty(),
        "the holder goes when it finishes"
    );
}

#[test]
fn pool_gauges_and_idle_workers() {
    let registry = Registry::new();
    let pool = ThreadPoolExecutor::builder()
        .max_workers(3)
        .thread_name_prefix("gauged")
        .registry(&registry)
        .build()
        .unwrap();
    let gauges = || {
        let snapshot = registry.snapshot();
        let pool = snapshot.primitive_named("gauged").unwrap();
        assert_eq!(pool.kind, PrimitiveKind::ThreadPool);
        ["workers", "idle", "max_workers", "queue_len"].map(|g| pool.details[g])
    };
    assert_eq!(gauges(), [0, 0, 3, 0]);

    let gate = Gate::new();
    let futures: Vec<_> = (0..5)
        .map(|_| {
            let pass = gate.pass();
            pool.submit(move || pass.wait()).unwrap()
        })
        .collect();
    eventually("3 busy workers and 2 queued tasks", || (gauges() == [3, 0, 3, 2]).then_some(()));
    gate.open(5);
    futures.iter().for_each(|f| f.result().unwrap());
    eventually("3 idle workers", || (gauges() == [3, 3, 3, 0]).then_some(()));
    let idle = blocked_in(&registry, "gauged_0", "idle");
    assert_eq!(idle.waiting_on.unwrap().name, "gauged");

    pool.shutdown(true, false);
    assert_eq!(gauges(), [0, 0, 3, 0]);
}

#[test]
fn waiting_on_several_futures_shows_what_is_awaited() {
    let registry = Registry::new();
    let a = Future::<i32>::with_registry(&registry);
    let b = Future::<i32>::with_registry(&registry);
    a.set_name("a");
    b.set_name("b");

    // Any of two: a region, since no single future is the one awaited.
    let first = {
        let (a, b) = (a.clone(), b.clone());
        spawn_in(&registry, "first", move || {
            let sets = wait([&a, &b], None, FIRST_COMPLETED).unwrap();
            assert!(sets.done.contains(&b) && sets.not_done.contains(&a));
        })
    };
    eventually("first to wait in a region", || {
        let snapshot = registry.snapshot();
        let waiting = snapshot.thread("first")?.waiting_on.clone()?;
        (waiting.kind.label() == "region" && waiting.name == "any of 2 futures").then_some(())
    });

    // All of them: the next one needed.
    let all = {
        let (a, b) = (a.clone(), b.clone());
        spawn_in(&registry, "all", move || {
            assert_eq!(wait([&a, &b], None, ALL_COMPLETED).unwrap().done.len(), 2)
        })
    };
    assert_eq!(blocked_in(&registry, "all", "wait").waiting_on.unwrap().name, "a");

    b.set_result(2).unwrap();
    first.join().unwrap();
    assert_eq!(blocked_in(&registry, "all", "wait").waiting_on.unwrap().name, "a");

    // One left for as_completed: that one.
    let completed = {
        let (a, b) = (a.clone(), b.clone());
        spawn_in(&registry, "completed", move || assert_eq!(as_completed([&a, &b], None).unwrap().count(), 2))
    };
    assert_eq!(blocked_in(&registry, "completed", "as_completed").waiting_on.unwrap().name, "a");
    a.set_result(1).unwrap();
    all.join().unwrap();
    completed.join().unwrap();
}

#[test]
fn a_pool_counts_its_futures_by_state_and_keeps_where_a_task_raised() {
    let registry = Registry::new();
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .thread_name_prefix("counted")
        .registry(&registry)
        .build()
        .unwrap();
    let futures = |state: &str| {
        let snapshot = registry.snapshot();
        snapshot.primitive_named("counted").unwrap().details[state]
    };
    let gate = Gate::new();
    let pass = gate.pass();
    let running = pool.submit(move || pass.wait()).unwrap();
    let queued = pool.submit(|| ()).unwrap();
    let cancelled = pool.submit(|| ()).unwrap();
    eventually("one running, two pending", || {
        (futures("running") == 1 && futures("queue_len") == 2).then_some(())
    });
    assert!(cancelled.cancel());
    gate.open(1);
    running.result().unwrap();
    queued.result().unwrap();
    let line = line!() + 1;
    let raising = pool.submit(|| panic!("invalid record")).unwrap();
    assert!(raising.exception().unwrap().is_some());
    pool.shutdown(true, false);
    assert_eq!(["running", "done", "raised", "cancelled"].map(futures), [0, 2, 1, 1]);
    let snapshot = registry.snapshot();
    let raise = snapshot.primitive_named("counted").unwrap().last_raise.clone().unwrap();
    assert_eq!(raise.message, "invalid record");
    assert_eq!(raise.thread, "counted_0");
    let location = raise.location.unwrap();
    assert!(location.starts_with(&format!("tests/queue_futures_registry.rs:{line}:")), "{location}");
}
