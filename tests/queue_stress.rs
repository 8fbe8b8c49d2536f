//! Stress: many producers and consumers through bounded queues (every item
//! delivered exactly once), and a saturated pool that never exceeds its workers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;
use threadscope::threading::{
    BaseQueue, ErrorKind, LifoQueue, Order, PriorityQueue, Queue, Registry, Thread, ThreadPoolExecutor,
};

const PRODUCERS: usize = 4;
const CONSUMERS: usize = 4;
const PER_PRODUCER: usize = 5_000;

fn start(registry: &Registry, name: String, f: impl FnOnce() + Send + 'static) -> Thread {
    let thread = Thread::builder().name(name).registry(registry).target(f);
    thread.start().unwrap();
    thread
}

/// Runs producers (each with its own way of putting) and consumers through
/// `q`, then checks every item arrived exactly once.
fn exactly_once<S: Order<usize> + Send + 'static>(q: BaseQueue<usize, S>) {
    let registry = Registry::new();
    let q = Arc::new(q);
    let barrier = Arc::new(Barrier::new(PRODUCERS + CONSUMERS));
    let producers: Vec<Thread> = (0..PRODUCERS)
        .map(|p| {
            let (q, barrier) = (q.clone(), barrier.clone());
            start(&registry, format!("producer-{p}"), move || {
                barrier.wait();
                for i in 0..PER_PRODUCER {
                    let mut item = p * PER_PRODUCER + i;
                    // Some producers never block, some only briefly: a Full hands
                    // the item back, to put again.
                    loop {
                        let put = match p % 3 {
                            0 => q.put(item),
                            1 => q.put_nowait(item),
                            _ => q.put_timeout(item, Some(Duration::from_micros(50))),
                        };
                        match put {
                            Ok(()) => break,
                            Err(err) => {
                                assert_eq!(err.error.kind(), ErrorKind::Full);
                                item = err.item;
                                std::thread::yield_now();
                            }
                        }
                    }
                }
            })
        })
        .collect();
    let received = Arc::new(Mutex::new(Vec::with_capacity(PRODUCERS * PER_PRODUCER)));
    let consumers: Vec<Thread> = (0..CONSUMERS)
        .map(|c| {
            let (q, barrier, received) = (q.clone(), barrier.clone(), received.clone());
            start(&registry, format!("consumer-{c}"), move || {
                barrier.wait();
                let mut mine = Vec::new();
                loop {
                    let got =
                        if c % 2 == 0 { q.get() } else { q.get_timeout(Some(Duration::from_millis(1))) };
                    match got {
                        Ok(item) => {
                            mine.push(item);
                            q.task_done().unwrap();
                        }
                        Err(err) if err.kind() == ErrorKind::Empty => {}
                        Err(err) => {
                            assert_eq!(err.kind(), ErrorKind::ShutDown);
                            break;
                        }
                    }
                }
                received.lock().unwrap().extend(mine);
            })
        })
        .collect();
    for producer in producers {
        producer.join().unwrap();
    }
    q.join();
    q.shutdown(false);
    for consumer in consumers {
        consumer.join().unwrap();
    }
    let mut received = std::mem::take(&mut *received.lock().unwrap());
    received.sort_unstable();
    assert_eq!(received.len(), PRODUCERS * PER_PRODUCER, "items lost or duplicated");
    assert!(received.iter().enumerate().all(|(i, &item)| i == item), "items lost or duplicated");
    let details = q.record().details();
    let gauge = |name| details.iter().find(|(n, _)| *n == name).unwrap().1;
    assert_eq!(
        (gauge("puts"), gauge("gets")),
        ((PRODUCERS * PER_PRODUCER) as u64, (PRODUCERS * PER_PRODUCER) as u64)
    );
    assert!(gauge("high_water") <= 16);
}

#[test]
fn fifo_delivers_every_item_exactly_once() {
    exactly_once(Queue::with_registry(&Registry::new(), 16));
}

#[test]
fn lifo_delivers_every_item_exactly_once() {
    exactly_once(LifoQueue::with_registry(&Registry::new(), 16));
}

#[test]
fn priority_delivers_every_item_exactly_once() {
    exactly_once(PriorityQueue::with_registry(&Registry::new(), 16));
}

#[test]
fn a_saturated_pool_never_exceeds_max_workers() {
    const MAX: usize = 3;
    let registry = Registry::new();
    let pool = Arc::new(ThreadPoolExecutor::builder().max_workers(MAX).registry(&registry).build().unwrap());
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    // Several submitters at once, each task yielding while "busy".
    let submitters: Vec<Thread> = (0..4)
        .map(|s| {
            let (pool, running, peak) = (pool.clone(), running.clone(), peak.clone());
            start(&registry, format!("submitter-{s}"), move || {
                let futures: Vec<_> = (0..200)
                    .map(|i| {
                        let (running, peak) = (running.clone(), peak.clone());
                        pool.submit(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(now, Ordering::SeqCst);
                            for _ in 0..i % 7 {
                                std::thread::yield_now();
                            }
                            running.fetch_sub(1, Ordering::SeqCst);
                            i
                        })
                        .unwrap()
                    })
                    .collect();
                for (i, future) in futures.into_iter().enumerate() {
                    assert_eq!(future.result().unwrap(), i);
                }
            })
        })
        .collect();
    for submitter in submitters {
        submitter.join().unwrap();
    }
    assert!(peak.load(Ordering::SeqCst) <= MAX, "{} tasks ran at once", peak.load(Ordering::SeqCst));
    assert!(pool.workers().len() <= MAX);
    let details = pool.record().details();
    assert!(details.iter().find(|(n, _)| *n == "workers").unwrap().1 <= MAX as u64);
}
