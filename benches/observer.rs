//! The observer effect: a workload's throughput while threadscope samples
//! it at 4 Hz (the inspector in the same process, as the TUI runs it),
//! against the same workload unobserved, in alternating windows of one
//! run so drift in the machine's load falls on both sides alike.
//!
//! `cargo bench --bench observer` (`OBSERVER_WINDOW_MS`, `OBSERVER_ROUNDS`)
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use threadscope::inspect::Inspector;
use threadscope::scenario::{self, RunningScenario};
use threadscope::threading::Registry;

/// Sampling every 250 ms: the TUI's `--interval 250ms`.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Operations the scenario's threads have done so far.
fn ops(running: &RunningScenario) -> u64 {
    running.progress().iter().map(|p| p.ops).sum()
}

/// Operations per second over `window`, with or without an inspector
/// sampling the process meanwhile.
fn window(running: &RunningScenario, registry: &Registry, window: Duration, observed: bool) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = observed.then(|| {
        let (stop, registry) = (stop.clone(), registry.clone());
        std::thread::spawn(move || {
            let mut inspector = Inspector::own(&registry).unwrap();
            while !stop.load(Ordering::Relaxed) {
                let _ = inspector.refresh().unwrap();
                std::thread::sleep(SAMPLE_EVERY);
            }
        })
    });
    let (start, before) = (Instant::now(), ops(running));
    std::thread::sleep(window);
    let rate = (ops(running) - before) as f64 / start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    if let Some(sampler) = sampler {
        sampler.join().unwrap();
    }
    rate
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let window_len = Duration::from_millis(env("OBSERVER_WINDOW_MS", 2000));
    let rounds = env("OBSERVER_ROUNDS", 6);
    println!("{:<20} {:>14} {:>14} {:>9}", "scenario", "unobserved/s", "at 4 Hz/s", "change");
    for name in ["producer-consumer", "gil", "lock-convoy"] {
        let registry = Registry::new();
        let scenario = scenario::builtin(name).unwrap().load(None).unwrap();
        let mut running = RunningScenario::start(scenario, &registry).unwrap();
        std::thread::sleep(Duration::from_millis(500)); // past the start-up
        let (mut plain, mut observed) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate which goes first, so neither always follows the other.
            let observed_first = round % 2 == 1;
            let a = window(&running, &registry, window_len, observed_first);
            let b = window(&running, &registry, window_len, !observed_first);
            let (p, o) = if observed_first { (b, a) } else { (a, b) };
            plain.push(p);
            observed.push(o);
        }
        let (p, o) = (median(plain), median(observed));
        println!("{name:<20} {p:>14.0} {o:>14.0} {:>+8.2}%", (o - p) / p * 100.0);
        running.stop(Duration::from_secs(3));
    }
}
