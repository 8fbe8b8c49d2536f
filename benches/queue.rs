//! Bounded queue throughput against std's `sync_channel` and crossbeam's
//! bounded channel, same capacity, in one run, and against the floor of a
//! one-lock design: a bare `parking_lot` mutex around a `VecDeque` with two
//! condvars, nothing recorded. The time reported is per message.
//!
//! `cargo bench --bench queue`; `QUEUE_INTERLEAVED=1 cargo bench --bench
//! queue` for 1p1c in alternating pairs of runs (see `interleaved`).
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group};
use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::{Duration, Instant};
use threadscope::threading::Queue;

const CAPACITY: usize = 1024;

type Job = Box<dyn FnOnce() + Send>;

/// Runs every job on its own thread, all released at once; the time from
/// release until the last one ends.
fn run(jobs: Vec<Job>) -> Duration {
    let barrier = Arc::new(Barrier::new(jobs.len() + 1));
    let threads: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                job();
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for thread in threads {
        thread.join().unwrap();
    }
    start.elapsed()
}

/// `total` split into `n` shares.
fn shares(total: u64, n: u64) -> impl Iterator<Item = u64> {
    (0..n).map(move |i| total / n + u64::from(i < total % n))
}

fn threadscope(iters: u64, producers: u64, consumers: u64) -> Duration {
    let q = Arc::new(Queue::new(CAPACITY as isize));
    let mut jobs: Vec<Job> = Vec::new();
    for share in shares(iters, producers) {
        let q = q.clone();
        jobs.push(Box::new(move || (0..share).for_each(|i| q.put(i).unwrap())));
    }
    for share in shares(iters, consumers) {
        let q = q.clone();
        jobs.push(Box::new(move || {
            (0..share).for_each(|_| {
                black_box(q.get().unwrap());
            })
        }));
    }
    run(jobs)
}

/// The one-lock floor: what `Queue` would cost with no registry, no spin
/// and no Python semantics.
#[derive(Default)]
struct OneLock {
    items: parking_lot::Mutex<VecDeque<u64>>,
    not_empty: parking_lot::Condvar,
    not_full: parking_lot::Condvar,
}

impl OneLock {
    fn put(&self, item: u64) {
        let mut items = self.items.lock();
        while items.len() >= CAPACITY {
            self.not_full.wait(&mut items);
        }
        items.push_back(item);
        self.not_empty.notify_one();
    }

    fn get(&self) -> u64 {
        let mut items = self.items.lock();
        loop {
            if let Some(item) = items.pop_front() {
                self.not_full.notify_one();
                return item;
            }
            self.not_empty.wait(&mut items);
        }
    }
}

fn one_lock(iters: u64, producers: u64, consumers: u64) -> Duration {
    let q = Arc::new(OneLock::default());
    let mut jobs: Vec<Job> = Vec::new();
    for share in shares(iters, producers) {
        let q = q.clone();
        jobs.push(Box::new(move || (0..share).for_each(|i| q.put(i))));
    }
    for share in shares(iters, consumers) {
        let q = q.clone();
        jobs.push(Box::new(move || {
            (0..share).for_each(|_| {
                black_box(q.get());
            })
        }));
    }
    run(jobs)
}

/// std's receiver is single-consumer: two consumers share it behind a mutex.
fn std_sync_channel(iters: u64, producers: u64, consumers: u64) -> Duration {
    let (tx, rx) = mpsc::sync_channel(CAPACITY);
    let mut jobs: Vec<Job> = Vec::new();
    for share in shares(iters, producers) {
        let tx = tx.clone();
        jobs.push(Box::new(move || (0..share).for_each(|i| tx.send(i).unwrap())));
    }
    if consumers == 1 {
        jobs.push(Box::new(move || {
            (0..iters).for_each(|_| {
                black_box(rx.recv().unwrap());
            })
        }));
    } else {
        let rx = Arc::new(Mutex::new(rx));
        for share in shares(iters, consumers) {
            let rx = rx.clone();
            jobs.push(Box::new(move || {
                (0..share).for_each(|_| {
                    black_box(rx.lock().unwrap().recv().unwrap());
                })
            }));
        }
    }
    run(jobs)
}

fn crossbeam(iters: u64, producers: u64, consumers: u64) -> Duration {
    let (tx, rx) = crossbeam_channel::bounded(CAPACITY);
    let mut jobs: Vec<Job> = Vec::new();
    for share in shares(iters, producers) {
        let tx = tx.clone();
        jobs.push(Box::new(move || (0..share).for_each(|i| tx.send(i).unwrap())));
    }
    for share in shares(iters, consumers) {
        let rx = rx.clone();
        jobs.push(Box::new(move || {
            (0..share).for_each(|_| {
                black_box(rx.recv().unwrap());
            })
        }));
    }
    run(jobs)
}

fn group(c: &mut Criterion, name: &str, producers: u64, consumers: u64) {
    let mut group = c.benchmark_group(name);
    group.bench_function("threadscope", |b| b.iter_custom(|iters| threadscope(iters, producers, consumers)));
    group.bench_function("std_sync_channel", |b| {
        b.iter_custom(|iters| std_sync_channel(iters, producers, consumers))
    });
    group.bench_function("crossbeam", |b| b.iter_custom(|iters| crossbeam(iters, producers, consumers)));
    group.bench_function("one_lock_floor", |b| b.iter_custom(|iters| one_lock(iters, producers, consumers)));
    group.finish();
}

fn one_to_one(c: &mut Criterion) {
    group(c, "queue_1p1c", 1, 1);
}

fn two_to_two(c: &mut Criterion) {
    group(c, "queue_2p2c", 2, 2);
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = one_to_one, two_to_two }

/// `QUEUE_INTERLEAVED=1 cargo bench --bench queue`: 1p1c as pairs of runs
/// of 2,000,000 messages, threadscope and std `sync_channel` one after the
/// other (which goes first alternates), 40 pairs. On this VM one run of
/// either can take 12 or 180 ns a message, as the host places its two
/// vCPUs; the two runs of a pair share that placement, so the median of
/// the pairs' ratios is the steady figure, beside each side's median.
fn interleaved() {
    const MESSAGES: u64 = 2_000_000;
    const PAIRS: usize = 40;
    let per_message = |elapsed: Duration| elapsed.as_secs_f64() * 1e9 / MESSAGES as f64;
    let (mut ours, mut std, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..PAIRS {
        let (a, b) = if pair % 2 == 0 {
            let a = threadscope(MESSAGES, 1, 1);
            (a, std_sync_channel(MESSAGES, 1, 1))
        } else {
            let b = std_sync_channel(MESSAGES, 1, 1);
            (threadscope(MESSAGES, 1, 1), b)
        };
        let (a, b) = (per_message(a), per_message(b));
        ours.push(a);
        std.push(b);
        ratios.push(a / b);
    }
    let faster = ratios.iter().filter(|&&r| r < 1.0).count();
    let quartiles = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let n = v.len() - 1;
        (v[n / 2], v[n / 4], v[3 * n / 4])
    };
    for (name, times) in [("threadscope", ours), ("std_sync_channel", std)] {
        let (median, low, high) = quartiles(times);
        println!("queue_1p1c/{name:17} median {median:5.1} ns, quartiles [{low:5.1}, {high:5.1}]");
    }
    let (median, low, high) = quartiles(ratios);
    println!(
        "threadscope / std, per pair: median {median:.2}, quartiles [{low:.2}, {high:.2}]; threadscope faster in {faster} of {PAIRS}"
    );
}

fn main() {
    if std::env::var_os("QUEUE_INTERLEAVED").is_some() {
        interleaved();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
