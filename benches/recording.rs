//! Recordings: how big, how much CPU they add, how fast replay seeks, and
//! why zstd.
//!
//! `cargo bench --bench recording` (the full run); without `--bench` (as
//! under `cargo test --benches`) a small smoke version.
//!
//! Every snapshot here is real: taken by the inspector from real threads.
//! Waiting 10 (or 60) real minutes per figure is avoided this way:
//!
//! - **tour**: the `tour` scenario runs in this process and is sampled
//!   every 100 ms; the samples are stamped 1 s apart and recorded as a
//!   10-minute, 1 Hz recording (600 samples). Sampled faster than 1 Hz,
//!   consecutive samples differ a little less than 1 s apart would: the
//!   real 10-minute `threadscope record` in docs/benchmarks.md checks it.
//! - **10,000 sleepers**: this bench re-executes itself as a child holding
//!   10,000 parked threads (64 KiB stacks) and attaches to it as
//!   `threadscope record --pid` does, 60 real samples 1 s apart (two
//!   keyframes' worth); the 10-minute size is what 10 keyframes and 590
//!   deltas of the measured mean sizes weigh, and the 60 are also written.
//! - **1 hour**: the tour's 600 real samples, six times over with their
//!   times shifted (3,600 samples at 1 Hz), recorded to a file; replay
//!   opens it and seeks to 300 random samples, and to the worst one (the
//!   last before a keyframe: one keyframe and 59 deltas to decode).
//!
//! CPU is each thread's own (`CLOCK_THREAD_CPUTIME_ID`): what sampling
//! costs (`Inspector::refresh`) against what recording adds (encoding,
//! compressing and writing each sample).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use rustix::time::{ClockId, clock_gettime};
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use threadscope::inspect::{Inspector, RuntimeOptions, Snapshot};
use threadscope::record::{Header, KEYFRAME_EVERY, RecordedSource, Recorder, Recording};
use threadscope::scenario::RunningScenario;
use threadscope::threading::Registry;

const CHILD_ENV: &str = "THREADSCOPE_BENCH_RECORDING_THREADS";

fn main() {
    if let Ok(threads) = std::env::var(CHILD_ENV) {
        return hold_threads(threads.parse().unwrap());
    }
    let full = std::env::args().any(|a| a == "--bench");
    let dir = std::env::temp_dir().join(format!("threadscope-bench-recording-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let tour_samples = if full { 600 } else { 20 };
    let (tour, sampling) = sample_tour(tour_samples);
    if std::env::args().any(|a| a == "--profile") {
        return profile(&tour);
    }
    let header = Header::new(RecordedSource::Scenario { name: "tour".into() }, Duration::from_secs(1));
    let (bytes, recording_cpu) = record(&dir.join("tour.tsrec"), &header, &tour);
    println!(
        "tour: {} samples at 1 Hz ({} threads): {} bytes ({:.0} KiB), {:.0} bytes a sample",
        tour.len(),
        tour[0].threads.len(),
        bytes,
        bytes as f64 / 1024.0,
        bytes as f64 / tour.len() as f64
    );
    cpu_line("tour", sampling, recording_cpu, tour.len());

    let threads = if full { 10_000 } else { 300 };
    sleepers(&dir, threads, if full { 60 } else { 5 });

    let mut hour = Vec::with_capacity(6 * tour.len());
    for lap in 0..6u64 {
        for s in &tour {
            let mut s = s.clone();
            s.taken_at_unix_ms += lap * 1000 * tour.len() as u64;
            hour.push(s);
        }
    }
    seek(&dir.join("hour.tsrec"), &header, &hour);

    compare_codecs(&tour);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Where a sample's recording time goes (`-- --profile`).
fn profile(tour: &[Snapshot]) {
    let time = |what: &str, f: &mut dyn FnMut()| {
        let before = thread_cpu();
        for _ in 0..tour.len() {
            f();
        }
        println!(
            "  {what}: {:.1} us a sample",
            (thread_cpu() - before).as_secs_f64() * 1e6 / tour.len() as f64
        );
    };
    let s = &tour[tour.len() / 2];
    time("to_value(snapshot)", &mut || drop(serde_json::to_value(s).unwrap()));
    time("to_vec(snapshot)", &mut || drop(serde_json::to_vec(s).unwrap()));
    time("to_value(threads)", &mut || drop(serde_json::to_value(&s.threads).unwrap()));
    time("to_value(primitives)", &mut || drop(serde_json::to_value(&s.primitives).unwrap()));
    time("to_value(naming)", &mut || drop(serde_json::to_value(&s.naming).unwrap()));
    time("clone(threads)", &mut || drop(s.threads.clone()));
    let a = serde_json::to_value(&tour[1]).unwrap();
    let b = serde_json::to_value(&tour[2]).unwrap();
    time("diff(values)", &mut || drop(threadscope::record::patch::diff(&a, &b)));
    let patch = serde_json::to_vec(&threadscope::record::patch::diff(&a, &b)).unwrap();
    let mut z = zstd::bulk::Compressor::new(3).unwrap();
    time("zstd 3 (one delta)", &mut || drop(z.compress(&patch).unwrap()));
    let mut z1 = zstd::bulk::Compressor::new(1).unwrap();
    time("zstd 1 (one delta)", &mut || drop(z1.compress(&patch).unwrap()));
    println!("  delta {} bytes of JSON", patch.len());
    time("to_value(process+system+findings+deadlocks)", &mut || {
        drop(serde_json::to_value(&s.process).unwrap());
        drop(serde_json::to_value(&s.system).unwrap());
        drop(serde_json::to_value(&s.findings).unwrap());
        drop(serde_json::to_value(&s.deadlocks).unwrap());
        drop(serde_json::to_value(&s.deadlock_search).unwrap());
        drop(serde_json::to_value(&s.futex_groups).unwrap());
    });
    let header = Header::new(RecordedSource::Scenario { name: "tour".into() }, Duration::from_secs(1));
    let mut recorder = Recorder::new(Vec::new(), &header).unwrap();
    let before = thread_cpu();
    for s in tour {
        recorder.record(s).unwrap();
    }
    println!(
        "  Recorder::record: {:.1} us a sample",
        (thread_cpu() - before).as_secs_f64() * 1e6 / tour.len() as f64
    );
}

fn thread_cpu() -> Duration {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Runs `tour` here and samples it every 100 ms, stamped 1 s apart; the
/// CPU the sampling took.
fn sample_tour(count: usize) -> (Vec<Snapshot>, Duration) {
    let registry = Registry::global();
    let scenario = threadscope::scenario::load("tour").unwrap();
    let mut inspector = Inspector::own(registry).unwrap();
    inspector.set_scenario(Some("tour".into()));
    let mut running = RunningScenario::start(scenario, registry).unwrap();
    let mut snapshots = Vec::with_capacity(count);
    let mut cpu = Duration::ZERO;
    let start = threadscope::record::now_unix_ms();
    let mut next = Instant::now();
    for i in 0..count {
        next += Duration::from_millis(100);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        let before = thread_cpu();
        let mut snapshot = inspector.refresh().unwrap();
        cpu += thread_cpu() - before;
        snapshot.taken_at_unix_ms = start + 1000 * i as u64;
        snapshots.push(snapshot);
    }
    running.stop(Duration::from_secs(2));
    (snapshots, cpu)
}

/// Records `snapshots` to `path`; its size and the CPU recording took.
fn record(path: &std::path::Path, header: &Header, snapshots: &[Snapshot]) -> (u64, Duration) {
    let mut recorder = Recorder::create(path, header).unwrap();
    let before = thread_cpu();
    for s in snapshots {
        recorder.record(s).unwrap();
    }
    recorder.finish().unwrap();
    let cpu = thread_cpu() - before;
    (std::fs::metadata(path).unwrap().len(), cpu)
}

fn cpu_line(what: &str, sampling: Duration, recording: Duration, samples: usize) {
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / samples as f64;
    println!(
        "{what}: sampling {:.2} ms a sample, recording {:.3} ms a sample: recording adds {:.1} % to sampling's CPU",
        per(sampling),
        per(recording),
        recording.as_secs_f64() * 100.0 / sampling.as_secs_f64()
    );
}

/// 10,000 (or `threads`) sleeping threads in a child, attached to.
fn sleepers(dir: &std::path::Path, threads: usize, samples: usize) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, threads.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut ready).unwrap();
    assert_eq!(ready, "ready\n");
    let pid = child.id();
    let options = RuntimeOptions { ask: false, ..RuntimeOptions::default() };
    let mut inspector = Inspector::pid_with(pid, &options).unwrap();
    let mut snapshots = Vec::new();
    let mut sampling = Duration::ZERO;
    let mut next = Instant::now();
    for _ in 0..samples {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        next += Duration::from_secs(1);
        let before = thread_cpu();
        snapshots.push(inspector.refresh().unwrap());
        sampling += thread_cpu() - before;
    }
    drop(child.stdin.take());
    let _ = child.wait();
    assert!(snapshots[0].threads.len() > threads, "every thread seen");

    let header = Header::new(RecordedSource::Pid { pid }, Duration::from_secs(1));
    let path = dir.join("sleepers.tsrec");
    let (bytes, recording) = record(&path, &header, &snapshots);
    // Sizes of its keyframes and deltas, from the file itself.
    let recording_file = Recording::open(&path).unwrap();
    assert_eq!(recording_file.len(), snapshots.len());
    let (keyframes, deltas) = record_sizes(&path);
    let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len().max(1) as f64;
    let ten_minutes = 10.0 * mean(&keyframes) + 590.0 * mean(&deltas);
    println!(
        "{threads} sleeping threads: {} samples 1 s apart: {bytes} bytes; keyframe {:.0} KiB, delta {:.1} KiB (means); 10 minutes at 1 Hz: {:.1} MiB",
        snapshots.len(),
        mean(&keyframes) / 1024.0,
        mean(&deltas) / 1024.0,
        ten_minutes / (1024.0 * 1024.0)
    );
    cpu_line(&format!("{threads} sleepers"), sampling, recording, snapshots.len());
}

/// The sizes of a recording's keyframe and delta records, read from its
/// framing (see docs/recording-format.md).
fn record_sizes(path: &std::path::Path) -> (Vec<usize>, Vec<usize>) {
    let bytes = std::fs::read(path).unwrap();
    let (mut keyframes, mut deltas) = (Vec::new(), Vec::new());
    let mut at = 0;
    while at + 21 <= bytes.len() && bytes[at..at + 4] == *b"TSr1" {
        let length = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        match bytes[at + 8] {
            2 => keyframes.push(21 + length),
            3 => deltas.push(21 + length),
            _ => {}
        }
        at += 21 + length;
    }
    (keyframes, deltas)
}

fn seek(path: &std::path::Path, header: &Header, snapshots: &[Snapshot]) {
    let (bytes, _) = record(path, header, snapshots);
    let started = Instant::now();
    let mut recording = Recording::open(path).unwrap();
    let open = started.elapsed();
    let mut times = Vec::new();
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..300 {
        let i = rng.usize(..recording.len());
        // A fresh jump each time, as a seek in replay is (no cache to step from).
        let mut fresh = Recording::open(path).unwrap();
        let started = Instant::now();
        fresh.snapshot(i).unwrap();
        times.push(started.elapsed());
    }
    let worst_position = KEYFRAME_EVERY as usize - 1;
    let started = Instant::now();
    recording.snapshot(worst_position).unwrap();
    let worst = started.elapsed();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "seeking, {} samples at 1 Hz ({:.1} MiB; the full run's is an hour): open {:.1} ms; seek median {:.1} ms, max {:.1} ms of 300 random; keyframe + {} deltas {:.1} ms",
        snapshots.len(),
        bytes as f64 / (1024.0 * 1024.0),
        ms(open),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        worst_position,
        ms(worst)
    );
}

/// The same keyframe and deltas through each codec considered, each with
/// its context reused from record to record (as the recorder does).
fn compare_codecs(snapshots: &[Snapshot]) {
    let first = serde_json::to_vec(&serde_json::to_value(&snapshots[0]).unwrap()).unwrap();
    let deltas: Vec<Vec<u8>> = snapshots
        .windows(2)
        .take(60)
        .map(|w| {
            let (a, b) = (serde_json::to_value(&w[0]).unwrap(), serde_json::to_value(&w[1]).unwrap());
            let patch = threadscope::record::patch::diff(&a, &b)
                .unwrap_or_else(threadscope::record::patch::unchanged);
            serde_json::to_vec(&patch).unwrap()
        })
        .collect();
    let raw: usize = deltas.iter().map(Vec::len).sum();
    println!(
        "codecs on the tour's keyframe ({} bytes of JSON) and {} deltas ({raw} bytes):",
        first.len(),
        deltas.len()
    );
    let mut zstd3 = zstd::bulk::Compressor::new(3).unwrap();
    let mut zstd9 = zstd::bulk::Compressor::new(9).unwrap();
    let mut unzstd = zstd::bulk::Decompressor::new().unwrap();
    let mut deflate6 = flate2::Compress::new(flate2::Compression::default(), false);
    let mut deflate9 = flate2::Compress::new(flate2::Compression::best(), false);
    let mut inflate = flate2::Decompress::new(false);
    type Pack<'a> = Box<dyn FnMut(&[u8]) -> Vec<u8> + 'a>;
    let codecs: Vec<(&str, Pack<'_>, Pack<'_>)> = vec![
        (
            "zstd 3",
            Box::new(|d: &[u8]| zstd3.compress(d).unwrap()),
            Box::new(|d: &[u8]| unzstd.decompress(d, 1 << 20).unwrap()),
        ),
        (
            "zstd 9",
            Box::new(|d: &[u8]| zstd9.compress(d).unwrap()),
            Box::new(|d: &[u8]| zstd::bulk::decompress(d, 1 << 20).unwrap()),
        ),
        (
            "lz4_flex",
            Box::new(|d: &[u8]| lz4_flex::compress_prepend_size(d)),
            Box::new(|d: &[u8]| lz4_flex::decompress_size_prepended(d).unwrap()),
        ),
        (
            "flate2 6",
            Box::new(|d: &[u8]| deflate(&mut deflate6, d)),
            Box::new(|d: &[u8]| undeflate(&mut inflate, d)),
        ),
        ("flate2 9", Box::new(|d: &[u8]| deflate(&mut deflate9, d)), Box::new(|d: &[u8]| d.to_vec())),
    ];
    for (name, mut pack, mut unpack) in codecs {
        let started = Instant::now();
        let keyframe = pack(&first);
        let packed: Vec<Vec<u8>> = deltas.iter().map(|d| pack(d)).collect();
        let took = started.elapsed();
        let started = Instant::now();
        unpack(&keyframe);
        packed.iter().for_each(|p| drop(unpack(p)));
        let back = started.elapsed();
        let size: usize = packed.iter().map(Vec::len).sum();
        let back = if name == "flate2 9" {
            "(as flate2 6)".to_owned()
        } else {
            format!("{:.3} ms", back.as_secs_f64() * 1000.0)
        };
        println!(
            "  {name:9} keyframe {:6} bytes, deltas {size:7} bytes ({:.0} a delta); compress all {:.3} ms, decompress all {back}",
            keyframe.len(),
            size as f64 / deltas.len() as f64,
            took.as_secs_f64() * 1000.0
        );
    }
}

fn deflate(context: &mut flate2::Compress, data: &[u8]) -> Vec<u8> {
    context.reset();
    let mut out = Vec::with_capacity(data.len() + 64);
    context.compress_vec(data, &mut out, flate2::FlushCompress::Finish).unwrap();
    out
}

fn undeflate(context: &mut flate2::Decompress, data: &[u8]) -> Vec<u8> {
    context.reset(false);
    let mut out = Vec::with_capacity(1 << 20);
    context.decompress_vec(data, &mut out, flate2::FlushDecompress::Finish).unwrap();
    out
}

/// The child: `count` threads parked until stdin closes.
fn hold_threads(count: usize) {
    let threads: Vec<std::thread::JoinHandle<()>> = (0..count)
        .map(|i| {
            std::thread::Builder::new()
                .name(format!("sleeper-{i}"))
                .stack_size(64 * 1024)
                .spawn(|| {
                    loop {
                        std::thread::park();
                    }
                })
                .unwrap()
        })
        .collect();
    println!("ready");
    std::io::stdout().flush().unwrap();
    for line in std::io::stdin().lines() {
        if line.is_err() {
            break;
        }
    }
    drop(threads);
    std::process::exit(0);
}
