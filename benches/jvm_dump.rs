//! What one JVM thread dump costs, against the number of threads.
//!
//! For N = 10, 100, 1000 parked threads (`tests/java/ThreadscopeFixture.java
//! threads N`), with and without `-l` (locked ownable synchronizers), it
//! measures the attach round trip (connect, dump, read) and our parse, and
//! reads the pause the JVM took from its own `-Xlog:safepoint` log: each
//! dump is three safepoints (`PrintThreads`, `PrintJNI`, `FindDeadlocks`).
//!
//! `cargo bench --bench jvm_dump` (needs javac and java; prints `skipped:
//! no java` otherwise). Figures go to docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/java_support/mod.rs"]
mod java_support;

use std::path::Path;
use std::time::{Duration, Instant};

use java_support::{JavaChild, java_or_skip};
use threadscope::jvm::{AttachOptions, JvmTarget, execute, parse_thread_dump, thread_dump};

const SAMPLES: usize = 15;

fn main() {
    // `cargo test --benches` runs this with --bench absent: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let Some(java) = java_or_skip("jvm_dump") else { return };
    println!(
        "{:>6} {:>3} {:>9} {:>14} {:>9} {:>16} {:>12}",
        "thrds", "-l", "reply", "round trip", "parse", "pause (median)", "PrintThreads"
    );
    for n in [10, 100, 1000] {
        for locked in [false, true] {
            run(java, n, locked);
        }
    }
}

fn run(java: &java_support::JavaTools, n: usize, locked: bool) {
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("safepoint-{n}-{locked}.log"));
    let _ = std::fs::remove_file(&log);
    let log_flag = format!("-Xlog:safepoint:file={}", log.display());
    let mut jvm = JavaChild::spawn(java, &[&log_flag], &["threads", &n.to_string()]);
    jvm.wait_ready(Duration::from_secs(120));
    let target = JvmTarget::detect(jvm.pid()).unwrap();
    let options = AttachOptions { locked_synchronizers: locked, ..AttachOptions::default() };
    // The first dump starts the Attach Listener; it is not measured.
    thread_dump(&target, &options).unwrap();

    let args: &[&str] = if locked { &["-l"] } else { &[] };
    let (mut trips, mut parses, mut pauses, mut prints) = (vec![], vec![], vec![], vec![]);
    let mut reply_len = 0;
    for _ in 0..SAMPLES {
        let before = std::fs::read_to_string(&log).unwrap_or_default().len();
        let start = Instant::now();
        let reply = execute(&target, "threaddump", args, &options).unwrap();
        trips.push(start.elapsed());
        let start = Instant::now();
        let dump = parse_thread_dump(&reply);
        parses.push(start.elapsed());
        assert!(dump.threads.len() > n, "{} threads parsed", dump.threads.len());
        reply_len = reply.len();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let (total, print) = safepoints(text.get(before..).unwrap_or(""));
        pauses.push(total);
        prints.push(print);
    }
    jvm.finish(Duration::from_secs(30));
    println!(
        "{:>6} {:>3} {:>6} KiB {:>14} {:>9} {:>16} {:>12}",
        n,
        if locked { "yes" } else { "no" },
        reply_len / 1024,
        format!("{} (p90 {})", ms(median(&mut trips)), ms(p90(&mut trips))),
        ms(median(&mut parses)),
        ms(median(&mut pauses)),
        ms(median(&mut prints)),
    );
}

/// The summed `Total:` of the safepoints in `lines`, and that of `PrintThreads` alone.
fn safepoints(lines: &str) -> (Duration, Duration) {
    let mut total = Duration::ZERO;
    let mut print = Duration::ZERO;
    for line in lines.lines().filter(|l| l.contains("[safepoint]")) {
        let Some(ns) = line.rsplit_once("Total: ").and_then(|(_, t)| t.trim_end_matches(" ns").parse().ok())
        else {
            continue;
        };
        total += Duration::from_nanos(ns);
        if line.contains("\"PrintThreads\"") {
            print += Duration::from_nanos(ns);
        }
    }
    (total, print)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn p90(v: &mut [Duration]) -> Duration {
    v.sort();
    v[(v.len() * 9 / 10).min(v.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
