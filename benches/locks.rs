//! Lock fast and contended paths against std and parking_lot, in one run.
//!
//! `cargo bench --bench locks`
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use threadscope::threading::Lock;

fn uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group("lock_uncontended");
    // As the user pays it: with the hold clock running (the inspector and
    // scenarios start it), so the fast path stamps each hold.
    threadscope::threading::start_hold_clock();
    let lock = Lock::new();
    group.bench_function("threadscope", |b| {
        b.iter(|| {
            lock.acquire();
            lock.release().unwrap();
        })
    });
    let mutex = std::sync::Mutex::new(());
    group.bench_function("std_mutex", |b| b.iter(|| drop(black_box(mutex.lock().unwrap()))));
    let pl = parking_lot::Mutex::new(());
    group.bench_function("parking_lot", |b| b.iter(|| drop(black_box(pl.lock()))));
    group.finish();
}

/// Two threads hammer one lock; the measured time is for `iters`
/// acquire/release pairs by each of them.
fn hammer(iters: u64, op: Arc<dyn Fn() + Send + Sync>) -> Duration {
    let barrier = Arc::new(Barrier::new(3));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (barrier, op) = (barrier.clone(), op.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..iters {
                    op();
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for w in workers {
        w.join().unwrap();
    }
    start.elapsed()
}

fn contended(c: &mut Criterion) {
    let mut group = c.benchmark_group("lock_contended_2");
    group.bench_function("threadscope", |b| {
        // The same critical section as the mutexes': bump a counter.
        let lock = Arc::new((Lock::new(), AtomicU64::new(0)));
        b.iter_custom(|iters| {
            let lock = lock.clone();
            hammer(
                iters,
                Arc::new(move || {
                    let (lock, counter) = &*lock;
                    lock.acquire();
                    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                    lock.release().unwrap();
                }),
            )
        })
    });
    group.bench_function("std_mutex", |b| {
        let mutex = Arc::new(std::sync::Mutex::new(0u64));
        b.iter_custom(|iters| {
            let mutex = mutex.clone();
            hammer(iters, Arc::new(move || *mutex.lock().unwrap() += 1))
        })
    });
    group.bench_function("parking_lot", |b| {
        let mutex = Arc::new(parking_lot::Mutex::new(0u64));
        b.iter_custom(|iters| {
            let mutex = mutex.clone();
            hammer(iters, Arc::new(move || *mutex.lock() += 1))
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = uncontended, contended }
criterion_main!(benches);
