//! What the agent costs: the latency of one `snapshot` request (connect
//! once, then ask; the reply parsed by the client) against the number of
//! the program's threads, and the program's own throughput while a client
//! asks four times a second, against no client at all.
//!
//! `cargo bench --bench agent`. Figures go to docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::net::UnixListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use threadscope::agent::{AgentClient, IDLE_TIMEOUT, serve};
use threadscope::threading::{Event, Lock, Registry, Thread};

const SAMPLES: usize = 40;
/// How long each throughput window runs.
const WINDOW: Duration = Duration::from_secs(2);
/// Windows per arm, alternating, so drift on a shared machine hits both.
const ROUNDS: usize = 5;
const WORKERS: usize = 4;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    println!("{:>6} {:>10} {:>10} {:>12} {:>14}", "thrds", "median", "p90", "reply bytes", "agent CPU/req");
    for n in [100, 2000] {
        latency(n);
    }
    throughput();
}

/// A registry with `n` threads: one holds a ledger lock, a quarter wait
/// for it, the rest wait on an event that is never set.
fn program(n: usize) -> (Registry, Arc<Event>) {
    let registry = Registry::new();
    let ledger = Arc::new(Lock::with_registry(&registry));
    ledger.set_name("ledger");
    let never = Arc::new(Event::with_registry(&registry));
    for i in 0..n {
        let (book, never) = (Arc::clone(&ledger), Arc::clone(&never));
        let thread = Thread::builder()
            .name(format!("JobServer-Worker-{i}"))
            .daemon(true)
            .stack_size(64 << 10)
            .registry(&registry)
            .target(move || {
                if i == 0 {
                    let _held = book.guard();
                    let _ = never.wait(None);
                } else if i.is_multiple_of(4) {
                    drop(book.guard());
                } else {
                    let _ = never.wait(None);
                }
            });
        thread.start().unwrap();
        // The holder first, so that no waiter gets the ledger and ends.
        while i == 0 && !ledger.locked() {
            std::thread::yield_now();
        }
    }
    // Every thread in its wait before anything is measured.
    while registry.snapshot().threads.iter().filter(|t| t.waiting_on.is_some()).count() < n {
        std::thread::yield_now();
    }
    (registry, never)
}

fn socket(name: &str) -> (UnixListener, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!("ts-agent-bench-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    (UnixListener::bind(&path).unwrap(), path)
}

fn latency(n: usize) {
    let (registry, _never) = program(n);
    let (listener, path) = socket(&format!("latency-{n}"));
    let agent = serve(listener, &registry, IDLE_TIMEOUT).unwrap();
    let mut client = AgentClient::connect(&path, None).unwrap();
    for _ in 0..3 {
        client.snapshot().unwrap();
    }
    let cpu_before = agent_cpu();
    let mut times: Vec<Duration> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            let snapshot = client.snapshot().unwrap();
            assert!(snapshot.threads.len() >= n);
            start.elapsed()
        })
        .collect();
    let cpu = (agent_cpu() - cpu_before) / SAMPLES as u32;
    times.sort();
    let bytes = serde_json::to_vec(&client.snapshot().unwrap()).unwrap().len();
    println!(
        "{n:>6} {:>10} {:>10} {bytes:>12} {:>14}",
        ms(times[SAMPLES / 2]),
        ms(times[SAMPLES * 9 / 10]),
        ms(cpu)
    );
    agent.stop();
    let _ = std::fs::remove_file(&path);
}

/// The workload: workers taking a contended lock (its slow path writes
/// the thread's wait record, one of the locks a snapshot reads) and
/// making and dropping an event every 64 rounds (the primitive index).
fn window(registry: &Registry, ask: bool, path: &std::path::Path) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let lock = Arc::new(Lock::with_registry(registry));
    let workers: Vec<Thread> = (0..WORKERS)
        .map(|i| {
            let (stop, done, lock, registry) =
                (Arc::clone(&stop), Arc::clone(&done), Arc::clone(&lock), registry.clone());
            let t = Thread::builder().name(format!("Bench-Worker-{i}")).registry(&registry.clone()).target(
                move || {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        drop(lock.guard());
                        n += 1;
                        if n.is_multiple_of(64) {
                            drop(Event::with_registry(&registry));
                        }
                    }
                    done.fetch_add(n, Ordering::Relaxed);
                },
            );
            t.start().unwrap();
            t
        })
        .collect();
    let asker = ask.then(|| asker(&stop, path));
    let start = Instant::now();
    std::thread::sleep(WINDOW);
    stop.store(true, Ordering::Relaxed);
    for w in &workers {
        w.join().unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    if let Some(asker) = asker {
        assert!(asker.join().unwrap() >= 4, "the client asked at 4 Hz");
    }
    done.load(Ordering::Relaxed) as f64 / elapsed
}

/// Threads started and joined one after another: each start and end
/// takes the registry's thread index, which a snapshot holds while it
/// copies the list.
fn spawn_window(registry: &Registry, ask: bool, path: &std::path::Path) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let asker = ask.then(|| asker(&stop, path));
    let start = Instant::now();
    let mut started = 0u64;
    while start.elapsed() < WINDOW {
        let t = Thread::builder().registry(registry).target(|| ());
        t.start().unwrap();
        t.join().unwrap();
        started += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    if let Some(asker) = asker {
        assert!(asker.join().unwrap() >= 4, "the client asked at 4 Hz");
    }
    started as f64 / elapsed
}

/// A client asking `snapshot` four times a second until `stop`.
fn asker(stop: &Arc<AtomicBool>, path: &std::path::Path) -> std::thread::JoinHandle<u32> {
    let (stop, path) = (Arc::clone(stop), path.to_owned());
    std::thread::spawn(move || {
        let mut client = AgentClient::connect(&path, None).unwrap();
        let mut asked = 0u32;
        while !stop.load(Ordering::Relaxed) {
            client.snapshot().unwrap();
            asked += 1;
            std::thread::sleep(Duration::from_millis(250));
        }
        asked
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn compare(what: &str, unit: &str, mut arm: impl FnMut(bool) -> f64) {
    let (mut quiet, mut asked) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        quiet.push(arm(false));
        asked.push(arm(true));
    }
    let (quiet, asked) = (median(&mut quiet), median(&mut asked));
    println!(
        "{what}: {quiet:.0} {unit}/s alone, {asked:.0} {unit}/s asked at 4 Hz ({:+.1} %)",
        (asked / quiet - 1.0) * 100.0
    );
}

fn throughput() {
    {
        let (registry, _never) = program(2000);
        let (listener, path) = socket("spawns");
        let _agent = serve(listener, &registry, IDLE_TIMEOUT).unwrap();
        compare("thread start+join beside 2,000 waiting threads", "threads", |ask| {
            spawn_window(&registry, ask, &path)
        });
        // The control: the same requests, served from another registry of
        // the same size, so the same CPU is spent and no lock is shared —
        // what is left of the difference above is the registry's locks.
        let (other, _never_other) = program(2000);
        let (listener, other_path) = socket("spawns-other");
        let _other_agent = serve(listener, &other, IDLE_TIMEOUT).unwrap();
        compare("  control: the requests served from another registry of 2,000", "threads", |ask| {
            spawn_window(&registry, ask, &other_path)
        });
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&other_path);
    }
    let (registry, _never) = program(100);
    let (listener, path) = socket("throughput");
    let _agent = serve(listener, &registry, IDLE_TIMEOUT).unwrap();
    compare(&format!("{WORKERS} workers on a contended lock beside 100 waiting threads"), "rounds", |ask| {
        window(&registry, ask, &path)
    });
    let _ = std::fs::remove_file(&path);
}

/// CPU time of this process's agent threads (`ts-agent`), from the
/// kernel's own count (`schedstat`, nanoseconds on the CPU).
fn agent_cpu() -> Duration {
    let mut nanos = 0u64;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == threadscope::agent::THREAD_NAME {
            let schedstat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            nanos += schedstat.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    Duration::from_nanos(nanos)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}
