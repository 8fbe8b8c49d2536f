//! `start()` refuses with "can't start new thread" before the process runs
//! out, instead of letting the process abort. Each case lowers a limit in a
//! child process and starts threads until refused.
#![allow(clippy::unwrap_used, clippy::expect_used, unsafe_code)]

mod common;

use common::run_child;
use std::sync::Arc;
use threadscope::threading::{ErrorKind, Lock, Thread};

/// Starts threads that all block on one lock until one is refused; returns
/// how many started, after releasing and joining them.
fn start_until_refused(limit: usize) -> usize {
    let gate = Arc::new(Lock::new());
    gate.acquire();
    let mut started = Vec::new();
    let refusal = loop {
        let inner = gate.clone();
        let t = Thread::builder().stack_size(64 * 1024).target(move || {
            inner.acquire();
            inner.release().unwrap();
        });
        match t.start() {
            Ok(()) => started.push(t),
            Err(err) => break err,
        }
        assert!(started.len() < limit, "never refused after {limit} threads");
    };
    assert_eq!(refusal.kind(), ErrorKind::RuntimeError);
    assert_eq!(refusal.to_string(), "RuntimeError: can't start new thread");
    gate.release().unwrap();
    started.iter().for_each(|t| t.join().unwrap());
    started.len()
}

fn process_threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
#[ignore = "run in a child process by refuses_past_rlimit_nproc"]
fn child_rlimit_nproc() {
    let allowed = process_threads() + 20;
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit read and write a valid struct we own;
    // only our own soft limit is lowered.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NPROC, &mut limit), 0);
        limit.rlim_cur = allowed as libc::rlim_t;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NPROC, &limit), 0);
    }
    let started = start_until_refused(10_000);
    assert!(started <= 20, "started {started} with room for 20");
    // The refusal left the process healthy: threads still start.
    Thread::spawn(|| ()).unwrap().join().unwrap();
    println!("REFUSED AFTER {started}");
}

#[test]
fn refuses_past_rlimit_nproc() {
    let output = run_child("child_rlimit_nproc", &[]);
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("REFUSED AFTER"));
}

#[test]
#[ignore = "run in a child process by refuses_before_max_map_count_aborts"]
fn child_max_map_count() {
    let max: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count").unwrap().trim().parse().unwrap();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap().lines().count();
    // Fill the map table, leaving room for about 1,000 more mappings, by
    // making one region and flipping every other page's protection (each
    // flip splits it into separate mappings).
    let fill = max.saturating_sub(maps + 1_000);
    let page = 4096;
    let pages = fill + 1;
    // SAFETY: a fresh private anonymous mapping that nothing else uses;
    // mprotect stays inside it.
    unsafe {
        let base = libc::mmap(
            std::ptr::null_mut(),
            pages * page,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        );
        assert_ne!(base, libc::MAP_FAILED);
        for i in (1..pages).step_by(2) {
            let rc = libc::mprotect(base.cast::<u8>().add(i * page).cast(), page, libc::PROT_READ);
            assert_eq!(rc, 0, "mprotect {i}");
        }
    }
    // Without the budget, threads would be started until a stack could not
    // be mapped, leaving none for anything else: a malloc arena, a file, or
    // a std thread's signal stack, mapped after its spawn returned, whose
    // failure aborts the process. The reserve keeps room for them.
    let started = start_until_refused(2_000);
    Thread::spawn(|| ()).unwrap().join().unwrap();
    std::thread::spawn(|| ()).join().unwrap();
    println!("REFUSED AFTER {started}");
}

#[test]
fn refuses_before_max_map_count_aborts() {
    let output = run_child("child_max_map_count", &[]);
    assert!(output.status.success(), "the child must not abort: {output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("REFUSED AFTER"));
}
