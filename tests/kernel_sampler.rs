//! `kernel::Sampler` against real threads and processes: what it reads must be what the kernel says.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};
use threadscope::kernel::{
    Field, KernelSample, KernelThread, Reason, SampleOptions, Sampler, SamplerError, Syscall,
};
use threadscope::threading::{Lock, Thread, kernel_comm};

/// Samples until `ready` holds, or panics after 10 s so that a bug fails
/// the test instead of hanging it.
fn sample_until(sampler: &mut Sampler, ready: impl Fn(&KernelSample) -> bool) -> KernelSample {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let sample = sampler.sample().unwrap();
        if ready(&sample) {
            return sample;
        }
        assert!(Instant::now() < deadline, "condition never held; last sample: {sample:#?}");
        std::thread::yield_now();
    }
}

/// A started thread blocked on `gate` until the test releases it.
fn parked(name: &str, gate: &Arc<Lock>) -> Thread {
    let gate = gate.clone();
    let thread = Thread::builder().name(name).target(move || {
        gate.acquire();
        gate.release().unwrap();
    });
    thread.start().unwrap();
    thread
}

fn only_details_of(tids: impl IntoIterator<Item = u32>) -> SampleOptions {
    SampleOptions { detail_every: 0, detail_tids: tids.into_iter().collect(), ..SampleOptions::default() }
}

fn blocked_in_futex(thread: &KernelThread) -> bool {
    let in_futex = thread.syscall.value().is_some_and(Syscall::is_futex);
    let wchan_futex = thread.wchan.value().is_some_and(|w| w.as_deref().is_some_and(|w| w.contains("futex")));
    thread.state == 'S' && (in_futex || wchan_futex)
}

#[test]
fn our_own_threads_are_listed_with_their_tids() {
    let gate = Arc::new(Lock::new());
    gate.acquire();
    let workers: Vec<Thread> = (0..3).map(|i| parked(&format!("listed-{i}"), &gate)).collect();
    let tids: Vec<u32> = workers.iter().map(|w| w.native_id().unwrap()).collect();
    let mut sampler = Sampler::new(std::process::id()).unwrap();
    let sample = sampler.sample().unwrap();
    assert_eq!(sample.pid, std::process::id());
    assert!(!sample.exited);
    assert_eq!(sample.threads[0].tid, std::process::id(), "the main thread comes first");
    for tid in tids {
        let thread = sample.thread(tid).unwrap_or_else(|| panic!("{tid} not in {sample:#?}"));
        assert!(thread.starttime > 0);
        assert_eq!(thread.key().tid, tid);
    }
    assert_eq!(sample.thread(threadscope::threading::get_native_id()).unwrap().state, 'R');
    assert_eq!(sample.process.thread_count, sample.threads.len());
    assert_eq!(
        sample.system.cpu_percent,
        Field::Unavailable(Reason::NotSampled),
        "one reading of the cores is no rate: unavailable, not a row of zeros"
    );
    assert!(sample.system.memory_total_bytes >= sample.system.memory_used_bytes);
    assert!(sample.process.rss_bytes > 0);
    let main_comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    assert_eq!(sample.process.name, main_comm.trim_end());
    assert!(sampler.open_files() >= sample.threads.len().min(3));
    gate.release().unwrap();
    workers.iter().for_each(|w| w.join().unwrap());
}

#[test]
fn a_thread_blocked_on_a_held_lock_sleeps_in_futex() {
    let gate = Arc::new(Lock::named("held"));
    gate.acquire();
    let blocked = parked("blocked-on-held", &gate);
    let tid = blocked.native_id().unwrap();
    let mut sampler = Sampler::with_options(std::process::id(), only_details_of([tid])).unwrap();
    let sample = sample_until(&mut sampler, |s| s.thread(tid).is_some_and(blocked_in_futex));
    let thread = sample.thread(tid).unwrap();
    assert!(thread.voluntary_ctxt_switches.value().is_some_and(|&n| n >= 1), "{thread:#?}");
    assert!(thread.cpus_allowed_list.is_available());
    // Only the chosen thread was detailed.
    let main = sample.thread(std::process::id()).unwrap();
    assert_eq!(main.syscall, Field::Unavailable(Reason::NotSampled));
    assert_eq!(main.voluntary_ctxt_switches, Field::Unavailable(Reason::NotSampled));
    gate.release().unwrap();
    blocked.join().unwrap();
}

#[test]
fn threads_blocked_on_one_mutex_share_its_futex_address() {
    // std's Mutex sleeps on its own lock word, so both waiters name it.
    // (threading::Lock parks through parking_lot_core, which sleeps on a
    // per-thread word instead: its waiters have different addresses.)
    let mutex = Arc::new(Mutex::new(()));
    let guard = mutex.lock().unwrap();
    let waiters: Vec<Thread> = (0..2)
        .map(|i| {
            let mutex = mutex.clone();
            let thread = Thread::builder().name(format!("mutex-waiter-{i}")).target(move || {
                drop(mutex.lock().unwrap());
            });
            thread.start().unwrap();
            thread
        })
        .collect();
    let tids: Vec<u32> = waiters.iter().map(|w| w.native_id().unwrap()).collect();
    let mut sampler = Sampler::with_options(std::process::id(), only_details_of(tids.clone())).unwrap();
    let futex_address = |s: &KernelSample, tid| {
        s.thread(tid).and_then(|t| t.syscall.value().and_then(Syscall::futex_address))
    };
    let sample = sample_until(&mut sampler, |s| tids.iter().all(|&tid| futex_address(s, tid).is_some()));
    assert_eq!(futex_address(&sample, tids[0]), futex_address(&sample, tids[1]));
    drop(guard);
    waiters.iter().for_each(|w| w.join().unwrap());
}

#[test]
fn a_spinning_thread_runs_and_its_utime_rises() {
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = {
        let stop = stop.clone();
        Thread::builder().name("spinner").target(move || {
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        })
    };
    spinner.start().unwrap();
    let tid = spinner.native_id().unwrap();
    let mut sampler = Sampler::with_options(std::process::id(), only_details_of([])).unwrap();
    let first = sampler.sample().unwrap().thread(tid).unwrap().utime_ticks;
    sample_until(&mut sampler, |s| s.thread(tid).is_some_and(|t| t.state == 'R'));
    sample_until(&mut sampler, |s| s.thread(tid).is_some_and(|t| t.utime_ticks > first));
    stop.store(true, Ordering::Relaxed);
    spinner.join().unwrap();
}

#[test]
fn names_match_the_kernel_comm() {
    let gate = Arc::new(Lock::new());
    gate.acquire();
    let names = ["db-1", "PaymentService-Processor-7", "ünïcödé-wxörker", "my (weird) name"];
    let workers: Vec<Thread> = names.iter().map(|name| parked(name, &gate)).collect();
    // native_id() waits until the thread runs, and so has named itself.
    let tids: Vec<u32> = workers.iter().map(|w| w.native_id().unwrap()).collect();
    let sample = Sampler::new(std::process::id()).unwrap().sample().unwrap();
    for (&tid, name) in tids.iter().zip(names) {
        let thread = sample.thread(tid).unwrap();
        assert_eq!(thread.comm_raw, kernel_comm(name).as_bytes(), "{name}");
        let from_file = std::fs::read(format!("/proc/self/task/{tid}/comm")).unwrap();
        assert_eq!([thread.comm_raw.as_slice(), b"\n"].concat(), from_file);
    }
    gate.release().unwrap();
    workers.iter().for_each(|w| w.join().unwrap());
}

#[test]
fn churning_threads_never_make_a_sample_fail() {
    const CHURNERS: usize = 3;
    let stop = Arc::new(AtomicBool::new(false));
    let ended = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(Barrier::new(CHURNERS + 1));
    let churners: Vec<_> = (0..CHURNERS)
        .map(|_| {
            let (stop, ended, started) = (stop.clone(), ended.clone(), started.clone());
            std::thread::spawn(move || {
                started.wait();
                while !stop.load(Ordering::Relaxed) {
                    let short = std::thread::Builder::new().name("churn".into()).spawn(|| ()).unwrap();
                    short.join().unwrap();
                    ended.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    started.wait();
    let mut sampler = Sampler::new(std::process::id()).unwrap();
    let mut samples = 0;
    let mut saw_churn = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    // Until threads have ended under the sampler's feet many times over.
    while samples < 1_000 || ended.load(Ordering::Relaxed) < 10_000 || saw_churn < 50 {
        let sample = sampler.sample().unwrap_or_else(|err| panic!("sample {samples} failed: {err}"));
        saw_churn += usize::from(sample.threads.iter().any(|t| t.comm_raw == b"churn"));
        samples += 1;
        assert!(Instant::now() < deadline, "{samples} samples, {saw_churn} with churn threads");
    }
    stop.store(true, Ordering::Relaxed);
    churners.into_iter().for_each(|c| c.join().unwrap());
    assert!(sampler.sample().unwrap().threads.iter().all(|t| t.comm_raw != b"churn"));
}

#[test]
fn a_missing_pid_is_no_such_process() {
    let pid_max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap().trim().parse().unwrap();
    // Pids are below pid_max, so this one never exists.
    for pid in [pid_max, u32::MAX] {
        let err = Sampler::new(pid).err().unwrap();
        assert!(matches!(err, SamplerError::NoSuchProcess(p) if p == pid), "{err:?}");
        assert_eq!(err.to_string(), format!("no process with pid {pid}"));
    }
}

#[test]
fn a_thread_id_is_not_a_process() {
    let gate = Arc::new(Lock::new());
    gate.acquire();
    let worker = parked("not-a-process", &gate);
    let tid = worker.native_id().unwrap();
    let err = Sampler::new(tid).err().unwrap();
    assert!(
        matches!(err, SamplerError::NotAProcess { tid: t, pid } if t == tid && pid == std::process::id())
    );
    gate.release().unwrap();
    worker.join().unwrap();
}

#[test]
fn another_users_process_gives_denied_fields_not_errors() {
    let parent = std::process::id().to_string();
    common::run_child_as_nobody("child_samples_its_parent", ("THREADSCOPE_PARENT_PID", &parent));
}

/// Run by `another_users_process_gives_denied_fields_not_errors` as user
/// nobody against this test process (owned by someone else, root here).
#[test]
#[ignore = "run as another user by another_users_process_gives_denied_fields_not_errors"]
fn child_samples_its_parent() {
    let Ok(parent) = std::env::var("THREADSCOPE_PARENT_PID") else { return };
    let parent: u32 = parent.parse().unwrap();
    if rustix::process::getuid().is_root() {
        return println!("skipped: still root, cannot test another user's process");
    }
    let sample = Sampler::new(parent).unwrap().sample().unwrap();
    assert!(!sample.exited);
    let main = sample.thread(parent).unwrap();
    assert_eq!(main.syscall, Field::Unavailable(Reason::Denied), "{main:#?}");
    // The kernel writes "0" for a wchan it will not show: denied, not "not asleep".
    assert_eq!(main.wchan, Field::Unavailable(Reason::Denied), "{main:#?}");
    assert!(main.starttime > 0 && main.voluntary_ctxt_switches.is_available());
    // Other tests in the parent start and end threads meanwhile: one may
    // be gone by the time its syscall file is opened.
    for thread in &sample.threads {
        let reason = thread.syscall.reason();
        assert!(matches!(reason, Some(Reason::Denied | Reason::Gone)), "{thread:#?}");
    }
}

#[test]
fn running_out_of_file_descriptors_is_not_an_error() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_runs_out_of_file_descriptors", "--test-threads=1"])
        .env("THREADSCOPE_FD_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("1 passed"), "{stdout}");
}

/// Run by `running_out_of_file_descriptors_is_not_an_error`: with a low
/// `RLIMIT_NOFILE` and every descriptor taken, the sampler gives back kept
/// files to read the threads it cannot keep.
#[test]
#[ignore = "run as a child process by running_out_of_file_descriptors_is_not_an_error"]
fn child_runs_out_of_file_descriptors() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    if std::env::var_os("THREADSCOPE_FD_CHILD").is_none() {
        return;
    }
    let gate = Arc::new(Lock::new());
    gate.acquire();
    let workers: Vec<Thread> = (0..60).map(|i| parked(&format!("fd-{i}"), &gate)).collect();
    let tids: Vec<u32> = workers.iter().map(|w| w.native_id().unwrap()).collect();
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = Some(64);
    setrlimit(Resource::Nofile, limit).unwrap();

    let stat_only = SampleOptions { detail_every: 0, ..SampleOptions::default() };
    let mut sampler = Sampler::with_options(std::process::id(), stat_only).unwrap();
    let first = sampler.sample().unwrap();
    assert!(tids.iter().all(|&tid| first.thread(tid).is_some()));
    assert_eq!(sampler.open_files(), 32, "half the soft limit");
    let mut hog = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        hog.push(file);
    }
    // The threads without a kept file need a descriptor each time.
    let starved = sampler.sample().unwrap();
    assert!(tids.iter().all(|&tid| starved.thread(tid).is_some()));
    assert!(sampler.open_files() < 32, "{} kept", sampler.open_files());
    drop(hog);
    gate.release().unwrap();
    workers.iter().for_each(|w| w.join().unwrap());
}

#[test]
fn a_child_that_exits_is_reported_exited() {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--ignored", "--exact", "child_waits_for_stdin", "--test-threads=1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut sampler = Sampler::new(child.id()).unwrap();
    let pid = child.id();
    let alive = sample_until(&mut sampler, |s| s.thread(pid).is_some());
    assert!(!alive.exited);
    drop(child.stdin.take()); // EOF: the child returns from its test and exits
    // Not yet reaped: a zombie main thread, with no system call to show.
    let zombie = sample_until(&mut sampler, |s| s.exited);
    assert_eq!(zombie.threads.len(), 1, "{zombie:#?}");
    assert_eq!(zombie.threads[0].state, 'Z');
    assert_eq!(zombie.threads[0].syscall, Field::Unavailable(Reason::Gone));
    assert!(child.wait().unwrap().success());
    let reaped = sampler.sample().unwrap();
    assert!(reaped.exited && reaped.threads.is_empty(), "{reaped:#?}");
    assert_eq!(reaped.process.thread_count, 0);
}

/// Run by `a_child_that_exits_is_reported_exited`: lives until its stdin closes.
#[test]
#[ignore = "run as a child process by a_child_that_exits_is_reported_exited"]
fn child_waits_for_stdin() {
    let mut rest = Vec::new();
    std::io::stdin().read_to_end(&mut rest).unwrap();
    std::io::stdout().flush().unwrap();
}

#[test]
fn the_cores_have_a_figure_each_once_two_readings_give_a_rate() {
    let mut sampler = Sampler::new(std::process::id()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let cores = loop {
        if let Field::Available(cores) = sampler.sample().unwrap().system.cpu_percent {
            break cores;
        }
        assert!(Instant::now() < deadline, "the cores were never measured");
        std::thread::sleep(threadscope::kernel::CPU_RATE_MIN_INTERVAL);
    };
    let online = std::thread::available_parallelism().map_or(1, usize::from);
    assert!(cores.len() >= online, "{} cores for {online} online", cores.len());
    assert!(cores.iter().all(|p| (0.0..=100.0).contains(p)), "{cores:?}");
}

#[test]
fn a_sample_serialises_without_its_instant() {
    let sample = Sampler::new(std::process::id()).unwrap().sample().unwrap();
    let json: serde_json::Value = serde_json::to_value(&sample).unwrap();
    assert!(json.get("taken_at").is_none());
    assert_eq!(json["pid"], std::process::id());
    let main = &json["threads"][0];
    assert_eq!(main["tid"], std::process::id());
    assert!(main["state"].is_string() && main["comm_raw"].is_array());
    assert_eq!(json["system"]["cpu_percent"], serde_json::json!({"unavailable": "not_sampled"}));
}

/// The descriptor a thread reads from, when it sits in `read` or `recvfrom`
/// (a Unix socket's `read`).
fn reading_fd(sample: &KernelSample, tid: u32) -> Option<u64> {
    match sample.thread(tid)?.syscall.value()? {
        Syscall::InSyscall { number, args } if [libc::SYS_read, libc::SYS_recvfrom].contains(number) => {
            Some(args[0])
        }
        _ => None,
    }
}

#[test]
fn a_quiet_thread_keeps_its_details_and_one_that_ran_is_read_again() {
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    let (mut first_tx, mut first_rx) = UnixStream::pair().unwrap();
    let (mut second_tx, mut second_rx) = UnixStream::pair().unwrap();
    let (first_fd, second_fd) = (first_rx.as_raw_fd() as u64, second_rx.as_raw_fd() as u64);
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        tid_tx.send(threadscope::threading::get_native_id()).unwrap();
        let mut byte = [0u8];
        first_rx.read_exact(&mut byte).unwrap();
        second_rx.read_exact(&mut byte).unwrap();
    });
    let tid = tid_rx.recv().unwrap();
    let mut sampler = Sampler::new(std::process::id()).unwrap();
    sample_until(&mut sampler, |s| reading_fd(s, tid) == Some(first_fd));
    // Asleep since: given out again, the same, without opening its files.
    // Seen running just now, it is read directly (busy) until the next full
    // refresh, at most the default `stat_every` (10) samples away; quiet
    // from then on.
    let mut reads = Vec::new();
    for _ in 0..=10 {
        let again = sampler.sample().unwrap();
        assert_eq!(reading_fd(&again, tid), Some(first_fd));
        reads.push(sampler.detail_reads());
        if sampler.detail_reads().1 >= 1 {
            break;
        }
    }
    assert!(reads.last().is_some_and(|&(_, reused)| reused >= 1), "{reads:?}");
    // It runs, and sleeps somewhere else: read again, not the old words.
    first_tx.write_all(b"x").unwrap();
    sample_until(&mut sampler, |s| reading_fd(s, tid) == Some(second_fd));
    second_tx.write_all(b"x").unwrap();
    reader.join().unwrap();
}
