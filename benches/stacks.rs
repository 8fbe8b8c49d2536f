//! What native stacks cost (issue 12, part 4).
//!
//! `cargo bench --bench stacks`
//!
//! 1. **The pause per thread**: the bench re-executes itself as a child
//!    whose threads (128 KiB stacks) each sleep in `nanosleep` a few frames
//!    deep; `stacks::take` stops them one at a time. Per thread, the pause
//!    is from `PTRACE_INTERRUPT` to `PTRACE_DETACH` (registers and a stack
//!    window copied in between); per take, the stopping phase (first stop
//!    to last detach) and the whole call (maps, stops, unwinding, symbols).
//!    At 35 and 1,000 threads.
//! 2. **`snapshot --stacks` as a whole**: `Inspector::pid`, a refresh and
//!    `add_native_stacks` — what `threadscope snapshot --pid P --stacks`
//!    does beyond printing.
//! 3. **Wait backtraces**: the cost a blocking wait of threadscope's own
//!    library pays with `set_wait_backtraces(true)` — a zero sleep
//!    (`threading::sleep`, always a blocking wait: the capture is all the
//!    difference) at two stack depths, and an `Event` ping-pong between two
//!    threads (every wait really blocks), off and on.
//!
//! Without `--bench` (as under `cargo test --benches`) it runs a small
//! smoke version.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use threadscope::inspect::{Inspector, add_native_stacks};
use threadscope::stacks::{StackOptions, take};
use threadscope::threading::{Event, set_wait_backtraces};

const CHILD_ENV: &str = "THREADSCOPE_BENCH_STACKS";

fn main() {
    if let Ok(count) = std::env::var(CHILD_ENV) {
        return hold(count.parse().unwrap());
    }
    let full = std::env::args().any(|arg| arg == "--bench");
    let (sizes, rounds): (&[usize], usize) = if full { (&[35, 1000], 20) } else { (&[35], 2) };
    println!("## pauses (median of {rounds} takes; per-thread figures over every thread of every take)\n");
    println!(
        "pause: PTRACE_INTERRUPT → PTRACE_DETACH (stopped at most that long); [in brackets: stop seen → detach, stopped at least that long]\n"
    );
    println!(
        "| threads | pause per thread: median | p99 | max | stopping (first stop → last detach) | take, whole | snapshot --stacks, whole |"
    );
    println!("|---|---|---|---|---|---|---|");
    for &threads in sizes {
        let child = Holder::spawn(threads);
        let pid = child.0.id();
        let tids = child_tids(pid);
        assert_eq!(tids.len(), threads + 1, "the child's threads and its main thread");
        let (mut pauses, mut held, mut stopping, mut wall, mut whole) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let report = take(pid, &tids, &StackOptions::default());
            assert_eq!(
                report.pauses().len(),
                tids.len(),
                "every thread stopped: {:?}",
                report.stacks.first()
            );
            pauses.extend(report.pauses());
            held.extend(report.stacks.iter().filter_map(|(_, s)| Some(s.as_ref().ok()?.held)));
            stopping.push(report.stopping);
            wall.push(report.wall);
            let started = Instant::now();
            let mut inspector = Inspector::pid(pid).unwrap();
            let mut snapshot = inspector.refresh().unwrap();
            add_native_stacks(&mut snapshot, None, &StackOptions::default());
            whole.push(started.elapsed());
            assert_eq!(snapshot.stacks.as_ref().map(|s| s.stopped), Some(tids.len()));
        }
        pauses.sort_unstable();
        held.sort_unstable();
        let at = |v: &[Duration], q: f64| v[((v.len() - 1) as f64 * q) as usize];
        println!(
            "| {threads} (+ main) | {} [{}] | {} [{}] | {} [{}] | {} | {} | {} |",
            us(at(&pauses, 0.5)),
            us(at(&held, 0.5)),
            us(at(&pauses, 0.99)),
            us(at(&held, 0.99)),
            us(*pauses.last().unwrap()),
            us(*held.last().unwrap()),
            ms(median(&mut stopping)),
            ms(median(&mut wall)),
            ms(median(&mut whole)),
        );
    }
    wait_backtraces(full);
}

/// Per blocking wait, with wait backtraces off and on.
fn wait_backtraces(full: bool) {
    let n = if full { 20_000 } else { 200 };
    println!("\n## wait backtraces (per blocking wait, median of 5 runs of {n})\n");
    println!("| wait | off | on | added |");
    println!("|---|---|---|---|");
    for depth in [0usize, 30] {
        let per = |on: bool| {
            set_wait_backtraces(on);
            let mut runs: Vec<Duration> =
                (0..5).map(|_| nested(depth, || time_sleeps(n)) / n as u32).collect();
            set_wait_backtraces(false);
            median(&mut runs)
        };
        let (off, on) = (per(false), per(true));
        println!(
            "| `threading::sleep(0)`, {depth} frames deeper | {} | {} | +{} |",
            ns(off),
            ns(on),
            ns(on.saturating_sub(off))
        );
    }
    let per = |on: bool| {
        set_wait_backtraces(on);
        let mut runs: Vec<Duration> = (0..5).map(|_| ping_pong(n / 4) / (2 * (n / 4)) as u32).collect();
        set_wait_backtraces(false);
        median(&mut runs)
    };
    let (off, on) = (per(false), per(true));
    println!(
        "| `Event` ping-pong, two threads (one wait each way) | {} | {} | +{} |",
        ns(off),
        ns(on),
        ns(on.saturating_sub(off))
    );
}

#[inline(never)]
fn nested<T>(depth: usize, f: impl FnOnce() -> T) -> T {
    if depth == 0 { f() } else { std::hint::black_box(nested(depth - 1, f)) }
}

fn time_sleeps(n: usize) -> Duration {
    let started = Instant::now();
    for _ in 0..n {
        threadscope::threading::sleep(Duration::ZERO);
    }
    started.elapsed()
}

/// `rounds` round trips: each side waits for the other's event, so every
/// wait blocks.
fn ping_pong(rounds: usize) -> Duration {
    let (ping, pong) = (Arc::new(Event::new()), Arc::new(Event::new()));
    let (p, q) = (ping.clone(), pong.clone());
    let other = std::thread::spawn(move || {
        for _ in 0..rounds {
            let _ = p.wait(None);
            p.clear();
            q.set();
        }
    });
    let started = Instant::now();
    for _ in 0..rounds {
        ping.set();
        let _ = pong.wait(None);
        pong.clear();
    }
    let took = started.elapsed();
    other.join().unwrap();
    took
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn ns(d: Duration) -> String {
    if d < Duration::from_micros(10) {
        format!("{:.2} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{:.0} µs", d.as_secs_f64() * 1e6)
    }
}

fn child_tids(pid: u32) -> Vec<u32> {
    let mut tids: Vec<u32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    tids
}

// ------------------------------------------------------------------ child

#[inline(never)]
fn sleeping_here(depth: usize) {
    if depth == 0 {
        std::thread::sleep(Duration::from_secs(3600));
    } else {
        sleeping_here(depth - 1);
    }
    std::hint::black_box(depth);
}

fn hold(count: usize) {
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..count {
        let tx = tx.clone();
        std::thread::Builder::new()
            .name(format!("sleeper-{i}"))
            .stack_size(128 * 1024)
            .spawn(move || {
                tx.send(()).unwrap();
                sleeping_here(5);
            })
            .unwrap();
    }
    for _ in 0..count {
        rx.recv().unwrap();
    }
    println!("ready");
    let _ = std::io::stdin().read(&mut [0u8; 1]);
}

struct Holder(Child);

impl Holder {
    fn spawn(count: usize) -> Holder {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(CHILD_ENV, count.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        // Every thread asleep before the first take.
        std::thread::sleep(Duration::from_millis(200));
        Holder(child)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
