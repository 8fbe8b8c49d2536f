//! What reading waits, descriptor targets and lock owners adds to a refresh
//! of a process with 10,000 threads (issue 12).
//!
//! `cargo bench --bench waits`
//!
//! The bench re-executes itself as the child holding the threads (64 KiB
//! stacks), in two shapes: **parked** — every thread parked by std (a
//! `FUTEX_WAIT_BITSET` on its own address, the commonest sleeper of Rust
//! and parking_lot programs: no owner read, decided from the operation) —
//! and **pairs** — 5,000 glibc mutexes each held by a thread asleep in
//! `nanosleep` with one waiter in `FUTEX_WAIT`: 5,000 owner reads (20 bytes
//! each with `process_vm_readv`), 5,000 timespec reads and 5,000 liveness
//! checks, the worst case for owners. Both shapes add 100 threads reading
//! pipes (100 `readlink`s). The figures are the sampling thread's own CPU
//! time (`CLOCK_THREAD_CPUTIME_ID`): `Sampler::sample` with every thread's
//! details (the detail cadence, when `syscall` is read), then
//! `WaitReader::read` on that sample — the cost this issue adds.
//!
//! Without `--bench` (as under `cargo test --benches`) it runs a small
//! smoke version.
#![allow(missing_docs, unsafe_code, clippy::unwrap_used, clippy::expect_used)]

use rustix::time::{ClockId, clock_gettime};
use std::cell::UnsafeCell;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use threadscope::inspect::runtime::RuntimeSource;
use threadscope::inspect::{Inspector, KernelSource};
use threadscope::kernel::{KernelWait, SampleOptions, Sampler, WaitReader};

const CHILD_ENV: &str = "THREADSCOPE_BENCH_WAITS";
const PIPE_READERS: usize = 100;

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (shape, count) = spec.split_once(':').unwrap();
        return hold(shape, count.parse().unwrap());
    }
    let full = std::env::args().any(|arg| arg == "--bench");
    let threads = if full { 10_000 } else { 200 };
    let samples = if full { 10 } else { 3 };
    for shape in ["parked", "pairs"] {
        let child = Holder::spawn(shape, threads);
        let pid = child.0.id();
        let mut sampler = Sampler::with_options(pid, SampleOptions::default()).unwrap();
        let mut reader = WaitReader::new(pid);
        let expected_owners = if shape == "pairs" { threads / 2 } else { 0 };
        settle(&mut sampler, &mut reader, expected_owners);
        let (mut sample_cpu, mut waits_cpu, mut facts_cpu) = (Vec::new(), Vec::new(), Vec::new());
        let mut source = KernelSource::new(pid);
        let mut summary = String::new();
        for _ in 0..samples {
            let (cpu, sample) = cpu_time(|| sampler.sample().unwrap());
            sample_cpu.push(cpu);
            let (cpu, waits) = cpu_time(|| reader.read(&sample));
            waits_cpu.push(cpu);
            let (cpu, _) = cpu_time(|| source.facts(&sample));
            facts_cpu.push(cpu);
            let owned = waits.locks.iter().filter(|l| l.owner.tid().is_some()).count();
            let io = waits
                .threads
                .iter()
                .filter(|t| matches!(t.wait.value(), Some(KernelWait::Io { .. })))
                .count();
            summary = format!(
                "{} threads, {} futex addresses, {owned} owners, {io} in read",
                sample.threads.len(),
                waits.locks.len()
            );
        }
        println!("{shape}: {summary}");
        println!("  Sampler::sample, every thread's details: median {}", ms(median(&mut sample_cpu)));
        println!("  WaitReader::read on that sample:          median {}", ms(median(&mut waits_cpu)));
        println!("  KernelSource::facts on that sample:       median {}", ms(median(&mut facts_cpu)));
        // The whole refresh as `snapshot --pid` takes it (every detail, the
        // kernel view merged: waits, locks, their deadlock search).
        let mut inspector = Inspector::pid(pid).unwrap();
        inspector.set_detail_every(1);
        let mut refresh_cpu: Vec<Duration> =
            (0..samples).map(|_| cpu_time(|| inspector.refresh().unwrap()).0).collect();
        println!("  Inspector::refresh, kernel view included: median {}", ms(median(&mut refresh_cpu)));
    }
}

fn settle(sampler: &mut Sampler, reader: &mut WaitReader, owners: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let waits = reader.read(&sampler.sample().unwrap());
        let known = waits.locks.iter().filter(|l| l.owner.tid().is_some()).count();
        let reading =
            waits.threads.iter().filter(|t| matches!(t.wait.value(), Some(KernelWait::Io { .. }))).count();
        if known >= owners && reading >= PIPE_READERS {
            return;
        }
        assert!(Instant::now() < deadline, "child never settled: {known} owners, {reading} readers");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn cpu_time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let now = || Duration::try_from(clock_gettime(ClockId::ThreadCPUTime)).unwrap();
    let start = now();
    let out = f();
    (now() - start, out)
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The child process, killed on drop.
struct Holder(Child);

impl Holder {
    fn spawn(shape: &str, threads: usize) -> Holder {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(CHILD_ENV, format!("{shape}:{threads}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n");
        Holder(child)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn thread(body: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new().stack_size(64 * 1024).spawn(body).unwrap();
}

/// `count` threads in `shape`, plus the pipe readers; "ready" once spawned.
fn hold(shape: &str, count: usize) {
    let long = Duration::from_secs(3600);
    if shape == "pairs" {
        for _ in 0..count / 2 {
            let mutex = Box::leak(Box::new(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER))).get() as usize;
            let (locked, taken) = std::sync::mpsc::channel();
            thread(move || {
                // SAFETY: a leaked, statically initialised mutex.
                unsafe { libc::pthread_mutex_lock(mutex as *mut libc::pthread_mutex_t) };
                locked.send(()).unwrap();
                std::thread::sleep(long);
            });
            taken.recv().unwrap();
            // SAFETY: as above; this one blocks for good.
            thread(move || unsafe {
                libc::pthread_mutex_lock(mutex as *mut libc::pthread_mutex_t);
            });
        }
    } else {
        for _ in 0..count {
            thread(|| {
                loop {
                    std::thread::park();
                }
            });
        }
    }
    for _ in 0..PIPE_READERS {
        let (mut reader, writer) = std::io::pipe().unwrap();
        std::mem::forget(writer);
        thread(move || drop(reader.read(&mut [0u8; 1])));
    }
    let mut out = std::io::stdout();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    let _ = std::io::stdin().read(&mut [0u8; 1]);
    std::process::exit(0);
}
