//! CPU per refresh of a process with 10,000 sleeping threads: `kernel::Sampler`
//! against `top -H -b -d 1 -n 3 -p PID`, in one run.
//!
//! `cargo bench --bench sampler`
//!
//! The bench re-executes itself as the child holding the threads (64 KiB
//! stacks, parked). Our cost is the sampling thread's own CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`, user + system) per `sample()`; top's is its
//! user + system time (reaped children's `cutime + cstime`) divided by its
//! refreshes. Samples are taken 200 ms apart (sysinfo refreshes CPU figures
//! no more often), so each includes every cost a live view would pay. The
//! floor is one `pread` of every thread's kept-open `stat` and nothing else:
//! the kernel's own cost, which no `/proc` reader can go below.
//!
//! Without `--bench` (as under `cargo test --benches`) it runs a small smoke
//! version and skips top.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use procfs::process::Process;
use rustix::time::{ClockId, clock_gettime};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use threadscope::kernel::{SampleOptions, Sampler, ticks_to_duration};

const CHILD_ENV: &str = "THREADSCOPE_BENCH_THREADS";
const SAMPLES: usize = 30;
/// sysinfo's `MINIMUM_CPU_UPDATE_INTERVAL`.
const CPU_INTERVAL: Duration = Duration::from_millis(200);

fn main() {
    if let Ok(threads) = std::env::var(CHILD_ENV) {
        return hold_threads(threads.parse().unwrap());
    }
    let full = std::env::args().any(|arg| arg == "--bench");
    let threads = if full { 10_000 } else { 200 };
    let mut child = spawn_child(threads);
    let pid = child.id();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap().count();
    println!("child {pid}: {tasks} threads (rustc {}, {} CPUs)", rustc(), cpus());

    let stat_only = SampleOptions { detail_every: 0, ..SampleOptions::default() };
    let mut sampler = Sampler::with_options(pid, stat_only.clone()).unwrap();
    let (first, sample) = cpu_time(|| sampler.sample().unwrap());
    assert_eq!(sample.threads.len(), tasks, "every thread sampled");
    println!("threadscope first sample (opens {} stat files): {}", sampler.open_files(), ms(first));

    let samples = if full { SAMPLES } else { 3 };
    let steady = per_sample(&mut sampler, samples);
    report("threadscope refresh, stat only (detail_every: 0)", &steady);

    sampler.set_options(SampleOptions { detail_every: 1, ..stat_only.clone() });
    let detailed = per_sample(&mut sampler, if full { 3 } else { 1 });
    report("threadscope refresh with status+wchan+syscall of every thread", &detailed);

    sampler.set_options(SampleOptions { detail_every: 10, ..stat_only });
    let amortised = per_sample(&mut sampler, if full { 20 } else { 10 });
    report("threadscope refresh, details every 10th (detail_every: 10)", &amortised);

    drop(sampler); // gives back its descriptors for the floor's own
    let floor = pread_floor(pid, samples);
    report("floor: pread of every kept-open stat file, no parsing", &floor);

    if full {
        let top_cmd = format!("top -H -b -d 1 -n 3 -p {pid}");
        let three = top_cpu(pid, 3);
        let one = top_cpu(pid, 1);
        let per_refresh = three / 3;
        let marginal = three.saturating_sub(one) / 2;
        println!("\n`{top_cmd}`: {} CPU for 3 refreshes", ms(three));
        println!("  top per refresh (total / 3):                 {}", ms(per_refresh));
        println!("  top per refresh after the first ((n3-n1)/2):  {}", ms(marginal));
        let ours = median(&steady);
        println!("\nratio top / threadscope (stat only, median):    {:.1}x", ratio(per_refresh, ours));
        println!(
            "ratio top / floor (pread only, median):         {:.1}x",
            ratio(per_refresh, median(&floor))
        );
        println!(
            "ratio top / threadscope (details every 10th):   {:.1}x",
            ratio(per_refresh, mean(&amortised))
        );
        println!(
            "ratio top / threadscope (all details, median):  {:.1}x",
            ratio(per_refresh, median(&detailed))
        );
    }

    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

/// The child: `count` threads with 64 KiB stacks parked for good, then
/// "ready" on stdout; exits when stdin closes.
fn hold_threads(count: usize) {
    for i in 0..count {
        std::thread::Builder::new()
            .name(format!("sleeper-{i}"))
            .stack_size(64 * 1024)
            .spawn(|| {
                loop {
                    std::thread::park();
                }
            })
            .unwrap();
    }
    println!("ready");
    std::io::stdout().flush().unwrap();
    std::io::stdin().read_to_end(&mut Vec::new()).unwrap();
    std::process::exit(0);
}

fn spawn_child(threads: usize) -> Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, threads.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    child
}

fn thread_cpu() -> Duration {
    let now = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn cpu_time<T>(work: impl FnOnce() -> T) -> (Duration, T) {
    let start = thread_cpu();
    let value = work();
    (thread_cpu() - start, value)
}

/// Samples `count` times, at least `CPU_INTERVAL` apart as a UI would, so
/// every sample also pays for sysinfo's CPU refresh (skipped by sysinfo
/// for refreshes closer together).
fn per_sample(sampler: &mut Sampler, count: usize) -> Vec<Duration> {
    (0..count)
        .map(|_| {
            let due = Instant::now() + CPU_INTERVAL;
            let (cpu, sample) = cpu_time(|| sampler.sample().unwrap());
            assert!(!sample.exited);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            cpu
        })
        .collect()
}

/// What the kernel alone costs: one `pread` of every thread's `stat`,
/// kept open, per pass — the least any `/proc` reader can spend.
fn pread_floor(pid: u32, passes: usize) -> Vec<Duration> {
    use std::os::unix::fs::FileExt;
    let files: Vec<std::fs::File> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|entry| std::fs::File::open(entry.unwrap().path().join("stat")).unwrap())
        .collect();
    let mut buf = [0u8; 4096];
    (0..passes)
        .map(|_| {
            let (cpu, ()) = cpu_time(|| {
                for file in &files {
                    assert!(file.read_at(&mut buf, 0).unwrap() > 0);
                }
            });
            cpu
        })
        .collect()
}

/// CPU time (user + system) of `top -H -b -d 1 -n <refreshes> -p <pid>`.
fn top_cpu(pid: u32, refreshes: u32) -> Duration {
    let children = || {
        let stat = Process::myself().unwrap().stat().unwrap();
        ticks_to_duration((stat.cutime + stat.cstime) as u64)
    };
    let before = children();
    let started = Instant::now();
    let status = Command::new("top")
        .args(["-H", "-b", "-d", "1", "-n", &refreshes.to_string(), "-p", &pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .expect("top (procps) must be installed");
    assert!(status.success());
    let cpu = children() - before;
    println!("top -n {refreshes}: {} CPU in {:.1} s wall", ms(cpu), started.elapsed().as_secs_f64());
    cpu
}

fn report(what: &str, cpu: &[Duration]) {
    let min = cpu.iter().min().copied().unwrap_or_default();
    let max = cpu.iter().max().copied().unwrap_or_default();
    println!(
        "{what}: median {} mean {} (min {}, max {}, {} samples)",
        ms(median(cpu)),
        ms(mean(cpu)),
        ms(min),
        ms(max),
        cpu.len()
    );
}

fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

fn mean(values: &[Duration]) -> Duration {
    values.iter().sum::<Duration>() / u32::try_from(values.len().max(1)).unwrap()
}

fn ratio(theirs: Duration, ours: Duration) -> f64 {
    theirs.as_secs_f64() / ours.as_secs_f64().max(1e-9)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn rustc() -> String {
    Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
