//! CPU per refresh of a process with 10,000 threads: `kernel::Sampler`
//! against `top -H -b -d 1 -n 3 -p PID`, in one run.
//!
//! `cargo bench --bench sampler`
//!
//! The bench re-executes itself as the child holding the threads (64 KiB
//! stacks, parked). Our cost is the sampling thread's own CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`, user + system) per `sample()`; top's is its
//! user + system time (reaped children's `cutime + cstime`) divided by its
//! refreshes. Samples are taken 200 ms apart (sysinfo refreshes CPU figures
//! no more often), so each includes every cost a live view would pay.
//!
//! The sampler reads a thread's `stat` only if its `schedstat` moved (it
//! ran), and every `stat` on every 10th sample, so the bench measures it
//! twice: with the threads asleep throughout (most threads of a big process,
//! most of the time), and with every thread woken to run a little before
//! each sample (the gate's worst case: every `stat` is read too). Means
//! count the full samples in; medians mostly do not. Without the gate
//! (`stat_every: 1`, every `stat` every sample) is there to compare. The
//! floors are one `pread` of every thread's kept-open `stat`, or
//! `schedstat`, and nothing else: the kernel's own cost, which no `/proc`
//! reader reading those files can go below.
//!
//! Without `--bench` (as under `cargo test --benches`) it runs a small smoke
//! version and skips top.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use procfs::process::Process;
use rustix::time::{ClockId, clock_gettime};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::Thread;
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
    let mut child = Sleepers::spawn(threads);
    let pid = child.pid();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap().count();
    println!("child {pid}: {tasks} threads (rustc {}, {} CPUs)", rustc(), cpus());

    let stat_only = SampleOptions { detail_every: 0, ..SampleOptions::default() };
    println!("defaults: stat_every {}, file cap {}", stat_only.stat_every, nofile_share());
    let mut sampler = Sampler::with_options(pid, stat_only.clone()).unwrap();
    let (first, sample) = cpu_time(|| sampler.sample().unwrap());
    assert_eq!(sample.threads.len(), tasks, "every thread sampled");
    println!("threadscope first sample (opens {} files): {}", sampler.open_files(), ms(first));

    let samples = if full { SAMPLES } else { 10 };
    let idle = per_sample(&mut sampler, samples, || ());
    report("threadscope refresh, threads asleep (detail_every: 0)", &idle);

    let busy = per_sample(&mut sampler, samples, || child.wake_all());
    report("threadscope refresh, every thread ran since the last", &busy);
    let woken = busy.stat_reads.iter().min().copied().unwrap_or(0);
    assert!(woken + 1 >= tasks, "the woken threads were all read: {woken} of {tasks}");

    sampler.set_options(SampleOptions { stat_every: 1, ..stat_only.clone() });
    let ungated = per_sample(&mut sampler, samples, || ());
    report("threadscope refresh without the gate (stat_every: 1)", &ungated);

    sampler.set_options(SampleOptions { detail_every: 1, ..stat_only.clone() });
    let detailed = per_sample(&mut sampler, if full { 3 } else { 1 }, || ());
    report("threadscope refresh with status+wchan+syscall of every thread", &detailed);

    sampler.set_options(SampleOptions { detail_every: 10, ..stat_only });
    let amortised = per_sample(&mut sampler, if full { 20 } else { 10 }, || ());
    report("threadscope refresh, details every 10th (detail_every: 10)", &amortised);

    drop(sampler); // gives back its descriptors for the floors' own
    let floor = pread_floor(pid, "stat", samples);
    report("floor: pread of every kept-open stat file, no parsing", &floor);
    let schedstat_floor = pread_floor(pid, "schedstat", samples);
    report("floor: pread of every kept-open schedstat file, no parsing", &schedstat_floor);
    // What a dump of one moment cannot go below: each file a full snapshot
    // reads, opened, read once and closed for every thread.
    let mut dump_floor = Duration::ZERO;
    for name in ["stat", "schedstat", "status", "wchan", "syscall"] {
        let run = open_floor(pid, name, if full { 3 } else { 1 });
        report(&format!("floor: open, read and close every thread's {name}"), &run);
        dump_floor += median(&run.cpu);
    }
    println!("floor of a first snapshot (the five files of every thread): {}", ms(dump_floor));

    if full {
        let top_cmd = format!("top -H -b -d 1 -n 3 -p {pid}");
        let three = top_cpu(pid, 3);
        let one = top_cpu(pid, 1);
        let per_refresh = three / 3;
        let marginal = three.saturating_sub(one) / 2;
        println!("\n`{top_cmd}`: {} CPU for 3 refreshes", ms(three));
        println!("  top per refresh (total / 3):                 {}", ms(per_refresh));
        println!("  top per refresh after the first ((n3-n1)/2):  {}", ms(marginal));
        println!();
        for (what, ours) in [
            ("threads asleep, median", median(&idle.cpu)),
            ("threads asleep, mean", mean(&idle.cpu)),
            ("every thread ran, median", median(&busy.cpu)),
            ("every thread ran, mean", mean(&busy.cpu)),
            ("without the gate, median", median(&ungated.cpu)),
            ("details every 10th, mean", mean(&amortised.cpu)),
            ("all details, median", median(&detailed.cpu)),
            ("floor, stat pread only", median(&floor.cpu)),
            ("floor, schedstat pread only", median(&schedstat_floor.cpu)),
            ("floor, a first snapshot", dump_floor),
        ] {
            println!(
                "ratio top / threadscope ({what}):{:>w$.1}x",
                ratio(per_refresh, ours),
                w = 34usize.saturating_sub(what.len())
            );
        }
    }
    child.finish();
}

/// The child: `count` threads with 64 KiB stacks, parked; "ready" on
/// stdout. Each line on stdin wakes every thread once, and "woke" says
/// they have all run; it exits when stdin closes.
fn hold_threads(count: usize) {
    static GENERATION: AtomicU64 = AtomicU64::new(0);
    static RAN: AtomicU64 = AtomicU64::new(0);
    let threads: Vec<Thread> = (0..count)
        .map(|i| {
            let spawned =
                std::thread::Builder::new().name(format!("sleeper-{i}")).stack_size(64 * 1024).spawn(|| {
                    let mut seen = 0;
                    loop {
                        std::thread::park();
                        let now = GENERATION.load(Ordering::Acquire);
                        if now != seen {
                            seen = now;
                            RAN.fetch_add(1, Ordering::Release);
                        }
                    }
                });
            spawned.unwrap().thread().clone()
        })
        .collect();
    let mut out = std::io::stdout();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    for line in std::io::stdin().lines() {
        line.unwrap();
        let generation = GENERATION.fetch_add(1, Ordering::AcqRel) + 1;
        threads.iter().for_each(Thread::unpark);
        while RAN.load(Ordering::Acquire) < generation * count as u64 {
            std::thread::sleep(Duration::from_millis(1));
        }
        writeln!(out, "woke").unwrap();
        out.flush().unwrap();
    }
    std::process::exit(0);
}

/// The child process and its pipes.
struct Sleepers {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Sleepers {
    fn spawn(threads: usize) -> Sleepers {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(CHILD_ENV, threads.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut sleepers = Sleepers { stdin, stdout: BufReader::new(child.stdout.take().unwrap()), child };
        assert_eq!(sleepers.line(), "ready\n");
        sleepers
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line
    }

    /// Makes every thread run a little, and waits until they all have.
    fn wake_all(&mut self) {
        writeln!(self.stdin, "wake").unwrap();
        assert_eq!(self.line(), "woke\n");
    }

    fn finish(self) {
        let Sleepers { mut child, stdin, .. } = self;
        drop(stdin);
        assert!(child.wait().unwrap().success());
    }
}

/// Half the soft `RLIMIT_NOFILE`: the sampler's default file cap.
fn nofile_share() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current.map_or(u64::MAX, |soft| soft / 2)
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

/// CPU per sample, and how many `stat` files each sample read.
struct Run {
    cpu: Vec<Duration>,
    stat_reads: Vec<usize>,
}

/// Samples `count` times, at least `CPU_INTERVAL` apart as a UI would, so
/// every sample also pays for sysinfo's CPU refresh (skipped by sysinfo
/// for refreshes closer together). `between` runs before each sample,
/// outside the measurement.
fn per_sample(sampler: &mut Sampler, count: usize, mut between: impl FnMut()) -> Run {
    let mut run = Run { cpu: Vec::new(), stat_reads: Vec::new() };
    for _ in 0..count {
        let due = Instant::now() + CPU_INTERVAL;
        between();
        let (cpu, sample) = cpu_time(|| sampler.sample().unwrap());
        assert!(!sample.exited);
        run.cpu.push(cpu);
        run.stat_reads.push(sampler.stat_reads());
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    run
}

/// What the kernel alone costs: one `pread` of every thread's `name` file
/// (`stat` or `schedstat`), kept open, per pass — the least any reader of
/// that file can spend. Passes are `CPU_INTERVAL` apart like the samples:
/// back to back, with the kernel's task structures still in cache, they
/// cost half as much.
fn pread_floor(pid: u32, name: &str, passes: usize) -> Run {
    use std::os::unix::fs::FileExt;
    let files: Vec<std::fs::File> =
        task_files(pid, name).iter().map(|path| std::fs::File::open(path).unwrap()).collect();
    let mut buf = [0u8; 4096];
    timed_passes(passes, || {
        for file in &files {
            assert!(file.read_at(&mut buf, 0).unwrap() > 0);
        }
    })
}

/// The least a first look at every thread costs for one file: opened,
/// read once and closed, for each thread, per pass (`CPU_INTERVAL` apart).
fn open_floor(pid: u32, name: &str, passes: usize) -> Run {
    use std::io::Read;
    let paths = task_files(pid, name);
    let mut buf = [0u8; 4096];
    timed_passes(passes, || {
        for path in &paths {
            let mut file = std::fs::File::open(path).unwrap();
            assert!(file.read(&mut buf).unwrap() > 0);
        }
    })
}

/// `/proc/PID/task/*/name`, for every thread of `pid`.
fn task_files(pid: u32, name: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|entry| entry.unwrap().path().join(name))
        .collect()
}

/// The CPU time of `pass`, run `passes` times `CPU_INTERVAL` apart.
fn timed_passes(passes: usize, mut pass: impl FnMut()) -> Run {
    let cpu = (0..passes)
        .map(|_| {
            std::thread::sleep(CPU_INTERVAL);
            cpu_time(&mut pass).0
        })
        .collect();
    Run { cpu, stat_reads: Vec::new() }
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

fn report(what: &str, run: &Run) {
    let cpu = &run.cpu;
    let min = cpu.iter().min().copied().unwrap_or_default();
    let max = cpu.iter().max().copied().unwrap_or_default();
    let reads = if run.stat_reads.is_empty() {
        String::new()
    } else {
        let mean = run.stat_reads.iter().sum::<usize>() / run.stat_reads.len();
        let max = run.stat_reads.iter().max().copied().unwrap_or(0);
        format!("; stat read for {mean} threads a sample on average, {max} at most")
    };
    println!(
        "{what}: median {} mean {} (min {}, max {}, {} samples{reads})",
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
