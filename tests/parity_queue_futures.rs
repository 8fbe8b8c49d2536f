//! Python parity for `queue` and `concurrent.futures`: one test per PARITY.md item 65–84.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::queue::{Gate, blocked_in};
use common::{eventually, not_early};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use threadscope::threading::{
    ALL_COMPLETED, Error, ErrorKind, FIRST_COMPLETED, FIRST_EXCEPTION, Future, LifoQueue, PriorityQueue,
    Queue, Registry, Thread, ThreadPoolExecutor, ThreadState, as_completed, wait,
};

const SHORT: Duration = Duration::from_millis(50);

fn spawn_in(registry: &Registry, name: &str, f: impl FnOnce() + Send + 'static) -> Thread {
    let thread = Thread::builder().name(name).registry(registry).target(f);
    thread.start().unwrap();
    thread
}

fn drain<T>(mut get: impl FnMut() -> threadscope::threading::Result<T>) -> Vec<T> {
    std::iter::from_fn(|| get().ok()).collect()
}

#[test]
fn p65_orders_sizes_and_maxsize() {
    let fifo = Queue::new(0);
    let lifo = LifoQueue::new(0);
    let prio = PriorityQueue::new(0);
    for n in [111, 333, 222] {
        fifo.put(n).unwrap();
        lifo.put(n).unwrap();
        prio.put(n).unwrap();
    }
    assert_eq!(drain(|| fifo.get_nowait()), [111, 333, 222]);
    assert_eq!(drain(|| lifo.get_nowait()), [222, 333, 111]);
    assert_eq!(drain(|| prio.get_nowait()), [111, 222, 333]);

    // empty() / full() / qsize(), bounded.
    let q = Queue::new(2);
    assert!(q.empty() && !q.full());
    q.put(1).unwrap();
    assert_eq!(q.qsize(), 1);
    assert!(!q.empty() && !q.full());
    q.put(2).unwrap();
    assert!(q.full());

    // maxsize <= 0 is unbounded.
    for maxsize in [0, -1] {
        let q = Queue::new(maxsize);
        for n in 0..1000 {
            q.put_nowait(n).unwrap();
        }
        assert!(!q.full());
        assert_eq!(q.maxsize(), maxsize);
    }

    // Lowering maxsize applies to later puts (test_shrinking_queue).
    let q = Queue::new(3);
    for n in 1..=3 {
        q.put(n).unwrap();
    }
    assert_eq!(q.put_nowait(4).unwrap_err().error.kind(), ErrorKind::Full);
    assert_eq!(q.qsize(), 3);
    q.set_maxsize(2);
    assert_eq!(q.put_nowait(4).unwrap_err().error.kind(), ErrorKind::Full);
    q.get().unwrap();
    assert!(q.full(), "2 items with maxsize 2");
    q.get().unwrap();
    q.put_nowait(4).unwrap();
}

#[test]
fn p66_full_and_empty_and_wakeups() {
    let q = Queue::new(1);
    q.put("x").unwrap();
    let err = q.put_nowait("y").unwrap_err();
    assert_eq!((err.error.kind(), err.error.message(), err.item), (ErrorKind::Full, "", "y"));
    assert_eq!(err.error.to_string(), "Full");
    let start = Instant::now();
    let err = q.put_with("z", true, Some(SHORT.as_secs_f64())).unwrap_err();
    assert_eq!(err.error.kind(), ErrorKind::Full);
    not_early(start.elapsed(), SHORT);
    let start = Instant::now();
    assert_eq!(q.put_timeout("z", Some(SHORT)).unwrap_err().error.kind(), ErrorKind::Full);
    not_early(start.elapsed(), SHORT);

    q.get().unwrap();
    let err = q.get_nowait().unwrap_err();
    assert_eq!((err.kind(), err.to_string()), (ErrorKind::Empty, "Empty".to_owned()));
    let start = Instant::now();
    assert_eq!(q.get_with(true, Some(SHORT.as_secs_f64())).unwrap_err().kind(), ErrorKind::Empty);
    not_early(start.elapsed(), SHORT);
    assert_eq!(q.get_with(false, None).unwrap_err().kind(), ErrorKind::Empty);

    // A blocked get wakes when an item arrives; a blocked put when room appears.
    let registry = Registry::new();
    let q = Arc::new(Queue::with_registry(&registry, 1));
    let (tx, rx) = mpsc::channel();
    let getter = {
        let (q, tx) = (q.clone(), tx.clone());
        spawn_in(&registry, "getter", move || tx.send(q.get().unwrap()).unwrap())
    };
    blocked_in(&registry, "getter", "get");
    q.put(7).unwrap();
    assert_eq!(rx.recv().unwrap(), 7);
    getter.join().unwrap();

    q.put(8).unwrap();
    let putter = {
        let q = q.clone();
        spawn_in(&registry, "putter", move || q.put(9).unwrap())
    };
    blocked_in(&registry, "putter", "put");
    assert_eq!(q.get().unwrap(), 8);
    putter.join().unwrap();
    assert_eq!(q.get().unwrap(), 9);
}

#[test]
fn p67_negative_timeout_is_a_value_error() {
    let q = Queue::new(5);
    let err = q.put_with(1, true, Some(-1.0)).unwrap_err();
    assert_eq!(err.error.to_string(), "ValueError: 'timeout' must be a non-negative number");
    assert_eq!(err.item, 1);
    let err = q.get_with(true, Some(-1.0)).unwrap_err();
    assert_eq!(err.to_string(), "ValueError: 'timeout' must be a non-negative number");
    // Checked even when an item is there, as Python does.
    q.put(1).unwrap();
    assert_eq!(q.get_with(true, Some(-0.5)).unwrap_err().kind(), ErrorKind::ValueError);
}

#[test]
fn p68_task_done_and_join() {
    let q = Queue::<i32>::new(0);
    let err = q.task_done().unwrap_err();
    assert_eq!(err.to_string(), "ValueError: task_done() called too many times");

    let registry = Registry::new();
    let q = Arc::new(Queue::with_registry(&registry, 0));
    for n in 0..10 {
        q.put(n).unwrap();
    }
    assert_eq!(q.unfinished_tasks(), 10);
    let joiner = {
        let q = q.clone();
        spawn_in(&registry, "joiner", move || q.join())
    };
    blocked_in(&registry, "joiner", "join");
    let done = Arc::new(AtomicUsize::new(0));
    let workers: Vec<Thread> = (0..2)
        .map(|i| {
            let (q, done) = (q.clone(), done.clone());
            spawn_in(&registry, &format!("worker-{i}"), move || {
                while let Ok(_item) = q.get_nowait() {
                    done.fetch_add(1, Ordering::SeqCst);
                    q.task_done().unwrap();
                }
            })
        })
        .collect();
    joiner.join().unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 10, "join returned before every task_done");
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(q.unfinished_tasks(), 0);
    q.join(); // may be called again
    assert_eq!(q.task_done().unwrap_err().kind(), ErrorKind::ValueError);
}

#[test]
fn p69_shutdown() {
    let q = Queue::new(0);
    q.put("a").unwrap();
    q.put("b").unwrap();
    assert!(!q.is_shutdown());
    q.shutdown(false);
    assert!(q.is_shutdown());
    let err = q.put("c").unwrap_err();
    assert_eq!(
        (err.error.kind(), err.error.to_string(), err.item),
        (ErrorKind::ShutDown, "ShutDown".into(), "c")
    );
    assert_eq!(q.get().unwrap(), "a");
    assert_eq!(q.get_nowait().unwrap(), "b");
    assert_eq!(q.get().unwrap_err().kind(), ErrorKind::ShutDown);
    assert_eq!(q.get_nowait().unwrap_err().kind(), ErrorKind::ShutDown);
    q.shutdown(true); // shutdown() then shutdown(immediate=True) is allowed

    // Blocked callers wake with ShutDown.
    let registry = Registry::new();
    let empty = Arc::new(Queue::<i32>::with_registry(&registry, 1));
    let full = Arc::new(Queue::with_registry(&registry, 1));
    full.put(0).unwrap();
    let (tx, rx) = mpsc::channel();
    let getter = {
        let (q, tx) = (empty.clone(), tx.clone());
        spawn_in(&registry, "getter", move || tx.send(q.get().unwrap_err().kind()).unwrap())
    };
    let putter = {
        let (q, tx) = (full.clone(), tx.clone());
        spawn_in(&registry, "putter", move || tx.send(q.put(1).unwrap_err().error.kind()).unwrap())
    };
    blocked_in(&registry, "getter", "get");
    blocked_in(&registry, "putter", "put");
    empty.shutdown(false);
    full.shutdown(false);
    assert_eq!([rx.recv().unwrap(), rx.recv().unwrap()], [ErrorKind::ShutDown; 2]);
    getter.join().unwrap();
    putter.join().unwrap();
    assert_eq!(full.get().unwrap(), 0, "the item already in is still handed out");
}

#[test]
fn p70_shutdown_immediate() {
    #[derive(Debug)]
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let registry = Registry::new();
    let q = Arc::new(Queue::with_registry(&registry, 0));
    for _ in 0..3 {
        q.put(Counted(dropped.clone())).unwrap();
    }
    let joiner = {
        let q = q.clone();
        spawn_in(&registry, "joiner", move || q.join())
    };
    blocked_in(&registry, "joiner", "join");
    q.shutdown(true);
    joiner.join().unwrap();
    assert_eq!(dropped.load(Ordering::SeqCst), 3, "items are thrown away");
    assert_eq!(q.qsize(), 0);
    assert_eq!(q.get().unwrap_err().kind(), ErrorKind::ShutDown);
    assert_eq!(q.task_done().unwrap_err().to_string(), "ValueError: task_done() called too many times");
}

#[test]
fn p71_default_max_workers() {
    let cpus = std::thread::available_parallelism().unwrap().get();
    let pool = ThreadPoolExecutor::new(None).unwrap();
    assert_eq!(pool.max_workers(), (cpus + 4).min(32));
    let err = ThreadPoolExecutor::new(Some(0)).unwrap_err();
    assert_eq!(err.to_string(), "ValueError: max_workers must be greater than 0");
    // -1 cannot be written: max_workers is a usize.
}

#[test]
fn p72_workers_start_lazily_are_reused_and_capped() {
    let registry = Registry::new();
    let pool = ThreadPoolExecutor::builder().max_workers(4).registry(&registry).build().unwrap();
    assert!(pool.workers().is_empty());
    for n in [21, 6, 3] {
        assert_eq!(pool.submit(move || n * 2).unwrap().result().unwrap(), n * 2);
    }
    assert_eq!(pool.workers().len(), 1, "sequential submits use one thread");
    drop(pool);

    // test_saturation: 15 × max_workers blocked tasks start only max_workers threads.
    let pool = ThreadPoolExecutor::builder().max_workers(4).registry(&registry).build().unwrap();
    let gate = Gate::new();
    let futures: Vec<_> = (0..60)
        .map(|_| {
            let pass = gate.pass();
            pool.submit(move || pass.wait()).unwrap()
        })
        .collect();
    assert_eq!(pool.workers().len(), 4);
    gate.open(60);
    for future in futures {
        future.result().unwrap();
    }
    assert_eq!(pool.workers().len(), 4);
}

#[test]
fn p73_thread_names() {
    fn suffix(name: &str, prefix: &str) -> usize {
        name.strip_prefix(prefix).and_then(|s| s.strip_prefix('_')).and_then(|m| m.parse().ok()).unwrap()
    }
    let registry = Registry::new();
    let start_all = |pool: &ThreadPoolExecutor| {
        let gate = Gate::new();
        let futures: Vec<_> = (0..5)
            .map(|_| {
                let pass = gate.pass();
                pool.submit(move || pass.wait()).unwrap()
            })
            .collect();
        gate.open(5);
        futures.into_iter().for_each(|f| f.result().unwrap());
    };

    let first = ThreadPoolExecutor::builder().max_workers(5).registry(&registry).build().unwrap();
    let second = ThreadPoolExecutor::builder().max_workers(5).registry(&registry).build().unwrap();
    let number = |pool: &ThreadPoolExecutor| -> u64 {
        pool.thread_name_prefix().strip_prefix("ThreadPoolExecutor-").unwrap().parse().unwrap()
    };
    assert!(number(&second) > number(&first), "N counts executors");
    start_all(&first);
    let mut indices: Vec<usize> =
        first.workers().iter().map(|t| suffix(&t.name(), first.thread_name_prefix())).collect();
    indices.sort_unstable();
    assert_eq!(indices, [0, 1, 2, 3, 4]);

    let special = ThreadPoolExecutor::builder()
        .max_workers(5)
        .thread_name_prefix("SpecialPool")
        .registry(&registry)
        .build()
        .unwrap();
    start_all(&special);
    let mut names: Vec<String> = special.workers().iter().map(Thread::name).collect();
    names.sort();
    assert_eq!(names, ["SpecialPool_0", "SpecialPool_1", "SpecialPool_2", "SpecialPool_3", "SpecialPool_4"]);
}

#[test]
fn p74_submit_returns_a_future() {
    let pool = ThreadPoolExecutor::builder().max_workers(2).registry(&Registry::new()).build().unwrap();
    let (base, exp) = (2_u64, 8);
    let future = pool.submit(move || base.pow(exp)).unwrap();
    assert_eq!(future.result().unwrap(), 256);
    // Keyword arguments named `self` or `fn` have no Rust analog: a closure captures anything.
    let fn_ = "captured";
    assert_eq!(pool.submit(move || fn_.len()).unwrap().result().unwrap(), 8);
}

#[test]
fn p75_submit_after_shutdown() {
    let pool = ThreadPoolExecutor::builder().max_workers(2).registry(&Registry::new()).build().unwrap();
    pool.submit(|| ()).unwrap().result().unwrap();
    pool.shutdown(true, false);
    let err = pool.submit(|| ()).unwrap_err();
    assert_eq!(err.to_string(), "RuntimeError: cannot schedule new futures after shutdown");
    // "…after interpreter shutdown": tests/pool_atexit.rs (it needs its own process).
}

#[test]
fn p76_map() {
    let registry = Registry::new();
    let pool = ThreadPoolExecutor::builder().max_workers(3).registry(&registry).build().unwrap();
    let squares: Vec<i32> = pool.map(|n: i32| n * n, 0..10, None).unwrap().map(Result::unwrap).collect();
    assert_eq!(squares, (0..10).map(|n| n * n).collect::<Vec<_>>());

    // An item's exception arrives when reached; then the iterator ends.
    let mut results = pool.map(|n: i32| if n == 2 { panic!("boom {n}") } else { n }, 1..=4, None).unwrap();
    assert_eq!(results.next().unwrap().unwrap(), 1);
    let err = results.next().unwrap().unwrap_err();
    assert_eq!(err.to_string(), "Exception: boom 2");
    assert!(results.next().is_none());
    drop(results);

    // Everything is submitted before iteration starts.
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let results = pool.map(move |n: i32| tx.lock().unwrap().send(n).unwrap(), 0..5, None).unwrap();
    let mut seen: Vec<i32> = (0..5).map(|_| rx.recv().unwrap()).collect();
    seen.sort_unstable();
    assert_eq!(seen, [0, 1, 2, 3, 4]);
    drop(results);

    // Timeout: TimeoutError after the finished items; unstarted items are cancelled.
    let one = ThreadPoolExecutor::builder().max_workers(1).registry(&registry).build().unwrap();
    let gate = Gate::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut results = {
        let (pass, ran) = (gate.pass(), ran.clone());
        one.map(
            move |n: i32| {
                ran.fetch_add(1, Ordering::SeqCst);
                if n == 2 {
                    pass.wait();
                }
                n
            },
            0..5,
            Some(SHORT * 2),
        )
        .unwrap()
    };
    assert_eq!(results.next().unwrap().unwrap(), 0);
    assert_eq!(results.next().unwrap().unwrap(), 1);
    assert_eq!(results.next().unwrap().unwrap_err().kind(), ErrorKind::TimeoutError);
    not_early(start.elapsed(), SHORT * 2);
    assert!(results.next().is_none());
    gate.open(1);
    one.shutdown(true, false);
    assert_eq!(ran.load(Ordering::SeqCst), 3, "items 3 and 4 were cancelled before they started");
}

#[test]
fn p77_shutdown_wait_no_wait_and_cancel() {
    fn held_tasks(pool: &ThreadPoolExecutor, gate: &Gate, n: usize) -> Vec<Future<usize>> {
        (0..n)
            .map(|i| {
                let pass = gate.pass();
                pool.submit(move || {
                    pass.wait();
                    i
                })
                .unwrap()
            })
            .collect()
    }
    let registry = Registry::new();

    // shutdown(wait=True) waits for queued and running work.
    let pool = Arc::new(ThreadPoolExecutor::builder().max_workers(2).registry(&registry).build().unwrap());
    let gate = Gate::new();
    let futures = held_tasks(&pool, &gate, 5);
    let (tx, rx) = mpsc::channel();
    let closer = {
        let (pool, futures) = (pool.clone(), futures.clone());
        spawn_in(&registry, "closer", move || {
            pool.shutdown(true, false);
            tx.send(futures.iter().all(Future::done)).unwrap();
        })
    };
    eventually("closer to wait for a worker", || {
        let snapshot = registry.snapshot();
        let closer = snapshot.thread("closer")?;
        (closer.state == ThreadState::Waiting && closer.waiting_on.as_ref()?.kind.label() == "join")
            .then_some(())
    });
    gate.open(5);
    assert!(rx.recv().unwrap(), "shutdown(wait=True) returned before the work was done");
    closer.join().unwrap();

    // shutdown(wait=False) returns at once and the queued work still runs.
    let pool = ThreadPoolExecutor::builder().max_workers(1).registry(&registry).build().unwrap();
    let gate = Gate::new();
    let futures = held_tasks(&pool, &gate, 3);
    pool.shutdown(false, false);
    assert!(!futures[2].done());
    gate.open(3);
    let results: Vec<usize> = futures.iter().map(|f| f.result().unwrap()).collect();
    assert_eq!(results, [0, 1, 2]);

    // Dropping the executor is the context manager's exit: it waits.
    let futures = {
        let pool = ThreadPoolExecutor::builder().max_workers(2).registry(&registry).build().unwrap();
        let futures: Vec<_> =
            (0..4_u64).map(|n| pool.submit(move || (0..=n * 1000).sum::<u64>()).unwrap()).collect();
        futures
    };
    assert!(futures.iter().all(Future::done));

    // cancel_futures=True cancels what has not started.
    let pool = ThreadPoolExecutor::builder().max_workers(1).registry(&registry).build().unwrap();
    let gate = Gate::new();
    let futures = held_tasks(&pool, &gate, 4);
    eventually("the first task to run", || futures[0].running().then_some(()));
    pool.shutdown(false, true);
    assert!(futures[1..].iter().all(Future::cancelled));
    gate.open(1);
    assert_eq!(futures[0].result().unwrap(), 0);
    assert_eq!(futures[3].result().unwrap_err().kind(), ErrorKind::CancelledError);
}

/// CPython's `test_cancel_futures`: tasks that the started workers have
/// already taken run even when `shutdown(cancel_futures=True)` comes right
/// after the submits; the rest are cancelled.
#[test]
fn p77_cancel_futures_right_after_submitting_runs_what_workers_took() {
    let registry = Registry::new();
    let gate = Gate::new();
    let (tx, rx) = mpsc::channel();
    // Submits and shuts down in one thread, with nothing in between.
    let closer = {
        let (pool_registry, gate) = (registry.clone(), gate.pass());
        spawn_in(&registry, "closer", move || {
            let pool = ThreadPoolExecutor::builder().max_workers(5).registry(&pool_registry).build().unwrap();
            let futures: Vec<Future<usize>> = (0..50)
                .map(|i| {
                    let gate = gate.clone();
                    pool.submit(move || {
                        gate.wait();
                        i
                    })
                    .unwrap()
                })
                .collect();
            pool.shutdown(true, true);
            tx.send(futures).unwrap();
        })
    };
    // Let the held tasks go once shutdown has cancelled and waits for workers
    // (or has returned, when nothing ran).
    eventually("closer to wait for a worker or finish", || {
        let snapshot = registry.snapshot();
        let closer = snapshot.thread("closer")?;
        let joining =
            closer.state == ThreadState::Waiting && closer.waiting_on.as_ref()?.kind.label() == "join";
        (joining || closer.state == ThreadState::Terminated).then_some(())
    });
    gate.open(50);
    let futures = rx.recv().unwrap();
    closer.join().unwrap();

    let (cancelled, ran): (Vec<_>, Vec<_>) = futures.iter().partition(|f| f.cancelled());
    let ran: Vec<usize> = ran.iter().map(|f| f.result().unwrap()).collect();
    assert_eq!(ran, [0, 1, 2, 3, 4], "each of the 5 workers ran the task it was started for");
    assert_eq!(cancelled.len(), 45);
}

#[test]
fn p78_initializer_failure_breaks_the_pool() {
    let broken = "BrokenThreadPool: A thread initializer failed, the thread pool is not usable anymore";
    let pool = ThreadPoolExecutor::builder()
        .max_workers(2)
        .initializer(|| panic!("error in initializer"))
        .registry(&Registry::new())
        .build()
        .unwrap();
    match pool.submit(|| 1) {
        Err(err) => assert_eq!(err.to_string(), broken),
        Ok(future) => assert_eq!(future.result().unwrap_err().to_string(), broken),
    }
    let err = eventually("the pool to break", || pool.submit(|| 1).err());
    assert_eq!(err.to_string(), broken);
    assert_eq!(pool.submit(|| 1).unwrap_err().kind(), ErrorKind::BrokenThreadPool);

    // A working initializer runs in each worker before its first task.
    let ready = Arc::new(AtomicUsize::new(0));
    let counted = ready.clone();
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .initializer(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        })
        .registry(&Registry::new())
        .build()
        .unwrap();
    let seen = pool.submit({
        let ready = ready.clone();
        move || ready.load(Ordering::SeqCst)
    });
    assert_eq!(seen.unwrap().result().unwrap(), 1);
}

#[test]
fn p79_cancel_and_state_queries() {
    let registry = Registry::new();
    let pending = Future::<i32>::with_registry(&registry);
    assert!(!pending.done() && !pending.running() && !pending.cancelled());
    assert!(pending.cancel());
    assert!(pending.cancelled() && pending.done());
    assert!(pending.cancel(), "cancelling again still says true");

    let running = Future::<i32>::with_registry(&registry);
    assert!(running.set_running_or_notify_cancel().unwrap());
    assert!(running.running() && !running.done());
    assert!(!running.cancel());
    assert!(running.running());

    let finished = Future::with_registry(&registry);
    finished.set_result(5).unwrap();
    assert!(!finished.cancel() && finished.done() && !finished.cancelled());

    let raised = Future::<i32>::with_registry(&registry);
    raised.set_exception(Error::new(ErrorKind::ValueError, "bad")).unwrap();
    assert!(raised.done() && !raised.cancel());

    // The executor's acknowledgement of a cancelled future.
    assert!(!pending.set_running_or_notify_cancel().unwrap());
    assert!(pending.cancelled());
}

#[test]
fn p80_result_and_exception() {
    let registry = Registry::new();
    let pending = Future::<i32>::with_registry(&registry);
    assert_eq!(pending.result_with(Some(0.0)).unwrap_err().kind(), ErrorKind::TimeoutError);
    assert_eq!(pending.exception_with(Some(0.0)).unwrap_err().kind(), ErrorKind::TimeoutError);
    let start = Instant::now();
    assert_eq!(pending.result_timeout(Some(SHORT)).unwrap_err().to_string(), "TimeoutError");
    not_early(start.elapsed(), SHORT);
    pending.set_running_or_notify_cancel().unwrap();
    assert_eq!(pending.result_with(Some(0.0)).unwrap_err().kind(), ErrorKind::TimeoutError);
    assert_eq!(pending.exception_timeout(Some(Duration::ZERO)).unwrap_err().kind(), ErrorKind::TimeoutError);

    let cancelled = Future::<i32>::with_registry(&registry);
    cancelled.cancel();
    assert_eq!(cancelled.result().unwrap_err().to_string(), "CancelledError");
    assert_eq!(cancelled.exception().unwrap_err().kind(), ErrorKind::CancelledError);

    let raised = Future::<i32>::with_registry(&registry);
    let oops = Error::new(ErrorKind::ValueError, "oops");
    raised.set_exception(oops.clone()).unwrap();
    assert_eq!(raised.result().unwrap_err(), oops);
    assert_eq!(raised.exception().unwrap(), Some(oops));

    let returned = Future::with_registry(&registry);
    returned.set_result(42).unwrap();
    assert_eq!(returned.result_with(Some(0.0)).unwrap(), 42);
    assert_eq!(returned.exception().unwrap(), None);

    // Blocked waiters wake on set_result and on cancel.
    for finish_by_cancel in [false, true] {
        let future = Future::<i32>::with_registry(&registry);
        let (tx, rx) = mpsc::channel();
        let name = format!("result-waiter-{finish_by_cancel}");
        let waiter = {
            let future = future.clone();
            spawn_in(&registry, &name, move || tx.send(future.result()).unwrap())
        };
        blocked_in(&registry, &name, "result");
        if finish_by_cancel {
            assert!(future.cancel());
            assert_eq!(rx.recv().unwrap().unwrap_err().kind(), ErrorKind::CancelledError);
        } else {
            future.set_result(9).unwrap();
            assert_eq!(rx.recv().unwrap().unwrap(), 9);
        }
        waiter.join().unwrap();
    }
}

#[test]
fn p81_done_callbacks() {
    let registry = Registry::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let logger = |tag: &'static str| {
        let log = log.clone();
        move |f: &Future<i32>| log.lock().unwrap().push((tag, f.done()))
    };
    let future = Future::with_registry(&registry);
    future.add_done_callback(logger("first"));
    future.add_done_callback(|_| panic!("a raising callback"));
    future.add_done_callback(logger("second"));
    assert!(log.lock().unwrap().is_empty());
    future.set_result(1).unwrap();
    assert_eq!(*log.lock().unwrap(), [("first", true), ("second", true)]);
    future.add_done_callback(logger("late"));
    assert_eq!(log.lock().unwrap().last(), Some(&("late", true)), "runs at once when already done");

    let cancelled = Future::with_registry(&registry);
    cancelled.add_done_callback(logger("cancelled"));
    cancelled.cancel();
    assert_eq!(log.lock().unwrap().last(), Some(&("cancelled", true)));
}

#[test]
fn p82_invalid_state_and_repr() {
    fn shape(repr: &str) -> String {
        // "<Future at 0x55d… state=…>" → "<Future at ADDR state=…>"
        let rest = repr.strip_prefix("<Future at 0x").unwrap();
        let hex_len = rest.find(' ').unwrap();
        assert!(rest[..hex_len].chars().all(|c| c.is_ascii_hexdigit()), "{repr}");
        format!("<Future at ADDR{}", &rest[hex_len..])
    }
    let registry = Registry::new();
    let future = Future::with_registry(&registry);
    assert_eq!(shape(&future.repr()), "<Future at ADDR state=pending>");
    future.set_running_or_notify_cancel().unwrap();
    assert_eq!(shape(&future.repr()), "<Future at ADDR state=running>");
    future.set_result(1_i32).unwrap();
    assert_eq!(shape(&future.repr()), "<Future at ADDR state=finished returned i32>");
    let err = future.set_result(2).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidStateError);
    let (state, repr) = err.message().split_once(": ").unwrap();
    assert_eq!((state, shape(repr)), ("FINISHED", "<Future at ADDR state=finished returned i32>".into()));
    assert_eq!(repr, future.repr());

    let raised = Future::<i32>::with_registry(&registry);
    raised.set_exception(Error::new(ErrorKind::ValueError, "x")).unwrap();
    assert_eq!(shape(&raised.repr()), "<Future at ADDR state=finished raised ValueError>");
    let err = raised.set_exception(Error::new(ErrorKind::ValueError, "y")).unwrap_err();
    assert!(err.to_string().starts_with("InvalidStateError: FINISHED: <Future at 0x"), "{err}");

    let cancelled = Future::<i32>::with_registry(&registry);
    cancelled.cancel();
    assert_eq!(shape(&cancelled.repr()), "<Future at ADDR state=cancelled>");
    assert!(cancelled.set_result(1).unwrap_err().message().starts_with("CANCELLED: <Future"));
    assert_eq!(format!("{cancelled:?}"), cancelled.repr());
}

#[test]
fn p83_as_completed() {
    let registry = Registry::new();
    let futures: Vec<Future<i32>> = (0..4).map(|_| Future::with_registry(&registry)).collect();
    futures[0].set_result(0).unwrap();
    futures[1].set_result(1).unwrap();

    // Duplicates are collapsed.
    let twice = [&futures[0], &futures[0], &futures[1], &futures[1]];
    assert_eq!(as_completed(twice, None).unwrap().count(), 2);

    let start = Instant::now();
    let mut completed =
        as_completed([&futures[0], &futures[1], &futures[2], &futures[3], &futures[0]], Some(SHORT)).unwrap();
    let mut first: Vec<i32> = (0..2).map(|_| completed.next().unwrap().unwrap().result().unwrap()).collect();
    first.sort_unstable();
    assert_eq!(first, [0, 1]);
    let err = completed.next().unwrap().unwrap_err();
    assert_eq!(err.to_string(), "TimeoutError: 2 (of 4) futures unfinished");
    not_early(start.elapsed(), SHORT);
    assert!(completed.next().is_none());

    // Futures finished later come in the order they finish.
    let completed = as_completed(&futures, None).unwrap();
    futures[3].set_result(3).unwrap();
    futures[2].set_result(2).unwrap();
    let order: Vec<i32> = completed.map(|f| f.unwrap().result().unwrap()).collect();
    assert_eq!(&order[2..], [3, 2]);
}

/// bpo-14406: `as_completed` lets go of each future as it yields it, so a
/// future the caller drops is freed while the iterator lives on.
#[test]
fn p83_as_completed_keeps_no_yielded_future_alive() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let registry = Registry::new();
    let (done, pending) = (Future::with_registry(&registry), Future::with_registry(&registry));
    done.set_result(Counted(dropped.clone())).unwrap();
    let mut completed = as_completed([done, pending.clone()], None).unwrap();

    let first = completed.next().unwrap().unwrap();
    drop(first);
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the iterator still holds the yielded future");

    pending.set_result(Counted(dropped.clone())).unwrap();
    assert_eq!(completed.next().unwrap().unwrap(), pending);
    drop(pending);
    assert_eq!(dropped.load(Ordering::SeqCst), 2, "the iterator still holds the last future");
    assert!(completed.next().is_none());
}

#[test]
fn p84_wait() {
    let registry = Registry::new();
    let new = || Future::<i32>::with_registry(&registry);
    let (done, pending, raised) = (new(), new(), new());
    done.set_result(1).unwrap();
    raised.set_exception(Error::new(ErrorKind::ValueError, "no")).unwrap();

    // Duplicates are merged.
    let sets = wait([&done, &done], None, ALL_COMPLETED).unwrap();
    assert_eq!((sets.done.len(), sets.not_done.len()), (1, 0));

    let sets = wait([&done, &pending], None, FIRST_COMPLETED).unwrap();
    assert!(sets.done.contains(&done) && sets.not_done.contains(&pending));

    let sets = wait([&done, &pending, &raised], None, FIRST_EXCEPTION).unwrap();
    assert_eq!(sets.done.len(), 2);
    assert!(sets.not_done.contains(&pending));

    // FIRST_EXCEPTION without an exception waits for everything (here: the timeout).
    let start = Instant::now();
    let sets = wait([&done, &pending], Some(SHORT), FIRST_EXCEPTION).unwrap();
    not_early(start.elapsed(), SHORT);
    assert!(sets.done.contains(&done) && sets.not_done.contains(&pending));

    let start = Instant::now();
    let sets = wait([&done, &pending, &raised], Some(SHORT), ALL_COMPLETED).unwrap();
    not_early(start.elapsed(), SHORT);
    assert_eq!((sets.done.len(), sets.not_done.len()), (2, 1));

    // A cancelled future counts as completed.
    pending.cancel();
    let sets = wait([&done, &pending, &raised], None, ALL_COMPLETED).unwrap();
    assert_eq!((sets.done.len(), sets.not_done.len()), (3, 0));
}
