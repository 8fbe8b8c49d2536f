//! Event set/wait ping-pong between two threads against the same protocol
//! on std's `Mutex<bool>` + `Condvar`, in one run.
//!
//! Unpinned, a round trip is either a cross-core wake or a sleep and
//! reschedule on one core, and which one a sample lands in decides its
//! figure (the distribution is bimodal). So each side is measured twice,
//! with the two threads pinned to two CPUs and to one, each sample being
//! many round trips: two figures that each mean one thing.
//!
//! `cargo bench --bench event`
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::{Duration, Instant};
use threadscope::threading::Event;

/// The protocol both sides implement: Python's `Event` API.
trait Flag: Send + Sync + 'static {
    fn set(&self);
    fn clear(&self);
    fn wait(&self);
}

impl Flag for Event {
    fn set(&self) {
        Event::set(self);
    }
    fn clear(&self) {
        Event::clear(self);
    }
    fn wait(&self) {
        Event::wait(self, None).unwrap();
    }
}

/// An event the usual std way.
#[derive(Default)]
struct StdEvent {
    flag: Mutex<bool>,
    changed: Condvar,
}

impl Flag for StdEvent {
    fn set(&self) {
        *self.flag.lock().unwrap() = true;
        self.changed.notify_all();
    }
    fn clear(&self) {
        *self.flag.lock().unwrap() = false;
    }
    fn wait(&self) {
        let mut flag = self.flag.lock().unwrap();
        while !*flag {
            flag = self.changed.wait(flag).unwrap();
        }
    }
}

/// `iters` round trips: this thread sets `ping` and waits for `pong`; the
/// partner waits for `ping`, clears it and sets `pong`.
fn ping_pong<F: Flag>(iters: u64, ping: &Arc<F>, pong: &Arc<F>, cpus: (usize, usize)) -> Duration {
    let start_line = Arc::new(Barrier::new(2));
    let partner = {
        let (ping, pong, start_line) = (ping.clone(), pong.clone(), start_line.clone());
        std::thread::spawn(move || {
            pin(cpus.1);
            start_line.wait();
            for _ in 0..iters {
                ping.wait();
                ping.clear();
                pong.set();
            }
        })
    };
    pin(cpus.0);
    start_line.wait();
    let start = Instant::now();
    for _ in 0..iters {
        ping.set();
        pong.wait();
        pong.clear();
    }
    let elapsed = start.elapsed();
    partner.join().unwrap();
    elapsed
}

/// Pins the calling thread to `cpu`.
fn pin(cpu: usize) {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    rustix::thread::sched_setaffinity(None, &set).unwrap();
}

/// The ping-ponging thread's CPUs back to all of them, after a group.
fn unpin() {
    let mut set = rustix::thread::CpuSet::new();
    for cpu in 0..std::thread::available_parallelism().map_or(1, |n| n.get()) {
        set.set(cpu);
    }
    rustix::thread::sched_setaffinity(None, &set).unwrap();
}

fn event_ping_pong(c: &mut Criterion) {
    let two_cpus = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    let placements: &[(&str, (usize, usize))] =
        if two_cpus { &[("two_cpus", (0, 1)), ("one_cpu", (0, 0))] } else { &[("one_cpu", (0, 0))] };
    for &(placement, cpus) in placements {
        let mut group = c.benchmark_group(format!("event_ping_pong_{placement}"));
        let (ping, pong) = (Arc::new(Event::named("ping")), Arc::new(Event::named("pong")));
        group.bench_function("threadscope", |b| b.iter_custom(|iters| ping_pong(iters, &ping, &pong, cpus)));
        let (ping, pong) = (Arc::new(StdEvent::default()), Arc::new(StdEvent::default()));
        group.bench_function("std_condvar", |b| b.iter_custom(|iters| ping_pong(iters, &ping, &pong, cpus)));
        group.finish();
        unpin();
    }
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = event_ping_pong }
criterion_main!(benches);
