//! What the JVM view adds to each refresh of the inspector, against the
//! number of threads: a refresh between dumps (the last dump's facts,
//! filtered to live TIDs and merged: names, waits, locks, stacks, naming
//! analysis on the full names), a refresh that takes a dump, and building
//! the facts of one dump — each against the kernel-only refresh.
//!
//! `cargo bench --bench jvm_view` (needs javac and java; prints `skipped:
//! no java` otherwise). Figures go to docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/java_support/mod.rs"]
mod java_support;

use std::time::{Duration, Instant};

use java_support::{JavaChild, java_or_skip};
use threadscope::inspect::{Inspector, JvmSource, RuntimeOptions};
use threadscope::jvm::{JvmTarget, JvmViewOptions, thread_dump};

const SAMPLES: usize = 15;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let Some(java) = java_or_skip("jvm_view") else { return };
    println!(
        "{:>6} {:>12} {:>16} {:>16} {:>12}",
        "thrds", "kernel only", "+ JVM, cached", "+ JVM, dumping", "facts_of"
    );
    for n in [10, 100, 1000] {
        run(java, n);
    }
}

fn run(java: &java_support::JavaTools, n: usize) {
    let mut jvm = JavaChild::spawn(java, &[], &["threads", &n.to_string()]);
    jvm.wait_ready(Duration::from_secs(120));
    let pid = jvm.pid();
    let options = |ask: bool, interval: Duration| RuntimeOptions {
        ask,
        jvm: JvmViewOptions { interval, ..JvmViewOptions::default() },
    };
    let kernel = refreshes(&mut Inspector::pid_with(pid, &options(false, Duration::ZERO)).unwrap());
    let cached = refreshes(&mut Inspector::pid_with(pid, &options(true, Duration::from_secs(3600))).unwrap());
    let dumping = refreshes(&mut Inspector::pid_with(pid, &options(true, Duration::ZERO)).unwrap());
    let dump = thread_dump(&JvmTarget::detect(pid).unwrap(), &Default::default()).unwrap();
    let mut builds: Vec<Duration> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            let facts = JvmSource::facts_of(&dump, Duration::from_secs(5));
            assert!(facts.threads.len() > n);
            start.elapsed()
        })
        .collect();
    jvm.finish(Duration::from_secs(30));
    println!(
        "{:>6} {:>12} {:>16} {:>16} {:>12}",
        n,
        ms(kernel),
        ms(cached),
        ms(dumping),
        ms(median(&mut builds))
    );
}

/// The median of [`SAMPLES`] refreshes, after one unmeasured (which
/// starts the Attach Listener where the JVM is asked).
fn refreshes(inspector: &mut Inspector) -> Duration {
    inspector.refresh().unwrap();
    let mut times: Vec<Duration> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            let snapshot = inspector.refresh().unwrap();
            assert!(!snapshot.threads.is_empty());
            start.elapsed()
        })
        .collect();
    median(&mut times)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
