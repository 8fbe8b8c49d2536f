//! Thread start+join against std's spawn+join, in one run.
//! `std_named_handshake` is what CPython's contract, a `start()` that
//! returns once the new thread runs, would add: std with a name plus a
//! park/unpark hand-shake (docs/benchmarks.md).
//!
//! `cargo bench --bench spawn`; `SPAWN_INTERLEAVED=1 cargo bench --bench spawn`
//! for the same comparison in alternating blocks (see `interleaved`);
//! `SPAWN_ONLY=NAME` with it runs that variant alone.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use threadscope::threading::{Registry, Thread};

fn spawn_join(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_join");
    let registry = Registry::new();
    group.bench_function("threadscope", |b| {
        b.iter(|| {
            let t = Thread::builder().name("bench").registry(&registry).target(|| ());
            t.start().unwrap();
            t.join().unwrap();
        })
    });
    group.bench_function("std", |b| {
        b.iter(|| std::thread::Builder::new().spawn(|| ()).unwrap().join().unwrap())
    });
    // For context: std setting a name pays the same prctl(PR_SET_NAME) that
    // every threadscope thread pays to put its name in the kernel.
    group.bench_function("std_named", |b| b.iter(std_named));
    group.bench_function("std_named_handshake", |b| b.iter(std_named_handshake));
    group.finish();
}

fn std_named() {
    std::thread::Builder::new().name("bench".into()).spawn(|| ()).unwrap().join().unwrap()
}

/// What a `start()` that waits for the new thread to run would add: the
/// cheapest such wait, a park on the starter's own parker (a futex; no
/// allocation but this bench's flag), unparked by the new thread.
fn std_named_handshake() {
    let running = Arc::new(AtomicBool::new(false));
    let (flag, starter) = (running.clone(), std::thread::current());
    let handle = std::thread::Builder::new()
        .name("bench".into())
        .spawn(move || {
            flag.store(true, Ordering::Release);
            starter.unpark();
        })
        .unwrap();
    while !running.load(Ordering::Acquire) {
        std::thread::park();
    }
    handle.join().unwrap()
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4))
}

criterion_group! { name = benches; config = config(); targets = spawn_join }

/// `SPAWN_INTERLEAVED=1 cargo bench --bench spawn`: the same variants in
/// alternating blocks of 200, medians of 40 rounds each (`SPAWN_ROUNDS`),
/// and threadscope's difference to `std_named` within each round. On a machine shared
/// with other builds, load drifts between criterion's back-to-back groups
/// by more than the differences measured; interleaving cancels the drift.
fn interleaved() {
    let registry = Registry::new();
    let threadscope = || {
        let t = Thread::builder().name("bench").registry(&registry).target(|| ());
        t.start().unwrap();
        t.join().unwrap();
    };
    let variants: [(&str, &dyn Fn()); 4] = [
        ("std", &|| std::thread::Builder::new().spawn(|| ()).unwrap().join().unwrap()),
        ("std_named", &std_named),
        ("std_named_handshake", &std_named_handshake),
        ("threadscope", &threadscope),
    ];
    // SPAWN_ONLY=threadscope (or another variant's name): that variant
    // alone, for counting its system calls or profiling it.
    let only = std::env::var("SPAWN_ONLY").ok();
    let variants: Vec<_> =
        variants.into_iter().filter(|(name, _)| only.as_deref().is_none_or(|o| o == *name)).collect();
    const BLOCK: u32 = 200;
    let rounds: usize = std::env::var("SPAWN_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(40);
    let mut blocks: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for round in 0..rounds {
        // Which variant goes first turns each round, so none always runs
        // right after another's thread exits.
        let first = round % variants.len();
        for i in (first..variants.len()).chain(0..first) {
            let start = Instant::now();
            (0..BLOCK).for_each(|_| (variants[i].1)());
            blocks[i].push(start.elapsed().as_secs_f64() * 1e6 / f64::from(BLOCK));
        }
    }
    for ((name, _), times) in variants.iter().zip(&blocks) {
        let (median, low, high) = quartiles(times.clone());
        println!("spawn_join/{name:20} median {median:5.1} µs, quartiles [{low:5.1}, {high:5.1}]");
    }
    // The figure issue 17 sets a target on: the same round's two blocks ran
    // minutes closer than any two medians above, so their difference
    // carries the least of the VM's drift.
    let position = |wanted: &str| variants.iter().position(|(name, _)| *name == wanted);
    if let (Some(ours), Some(std)) = (position("threadscope"), position("std_named")) {
        let differences: Vec<f64> = blocks[ours].iter().zip(&blocks[std]).map(|(a, b)| a - b).collect();
        let (median, low, high) = quartiles(differences);
        println!(
            "threadscope - std_named, per round: median {median:+5.2} µs, quartiles [{low:+5.2}, {high:+5.2}] ({rounds} rounds)"
        );
    }
}

/// Median and quartiles.
fn quartiles(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |q: usize| values[(values.len() - 1) * q / 4];
    (at(2), at(1), at(3))
}

fn main() {
    if std::env::var_os("SPAWN_INTERLEAVED").is_some() {
        interleaved();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
