//! A library thread that runs out of stack is reported as std reports its
//! own threads ("thread '…' has overflowed its stack", then abort), though
//! the library starts its threads with `pthread_create`, not std; and the
//! handler in front of std's leaves every other fault, and std's own
//! threads' overflows, as they were.
//!
//! Each case runs in a child: this test binary again, with `CHILD_ENV`
//! naming the case, filtered to the one test that carries it out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};
use threadscope::threading::Thread;

const CHILD_ENV: &str = "THREADSCOPE_STACK_OVERFLOW_CASE";

/// Recursion the optimiser cannot turn into a loop: each frame keeps a
/// buffer it reads after the call returns.
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth as u8; 512]);
    if depth == 0 { 0 } else { recurse(black_box(depth - 1)) + u64::from(frame[(depth % 512) as usize]) }
}

/// Runs in the child: the case named by `CHILD_ENV`. Never returns normally.
#[test]
fn child_case() {
    let Ok(case) = std::env::var(CHILD_ENV) else { return };
    no_core_dump();
    match case.as_str() {
        "library-overflow" => {
            let t = Thread::builder().name("deep-recursion").target(|| {
                black_box(recurse(black_box(u64::MAX)));
            });
            t.start().unwrap();
            t.join().unwrap();
        }
        "std-overflow" => {
            // A std thread started after the library's first thread, so our
            // handler is in front of std's.
            let first = Thread::builder().name("first").target(|| ());
            first.start().unwrap();
            first.join().unwrap();
            std::thread::Builder::new()
                .name("std-recursion".into())
                .spawn(|| black_box(recurse(black_box(u64::MAX))))
                .unwrap()
                .join()
                .unwrap();
        }
        "library-null-write" => {
            let t = Thread::builder().name("null-write").target(|| {
                let address = black_box(16usize) as *mut u8;
                // SAFETY: none; the point is the fault (address 16 is never
                // mapped), which must stay an ordinary SIGSEGV.
                #[allow(unsafe_code)]
                unsafe {
                    address.write_volatile(1);
                }
            });
            t.start().unwrap();
            t.join().unwrap();
        }
        other => panic!("unknown case {other}"),
    }
    panic!("case {case} came back");
}

/// The child dies on purpose; it should not leave a core file behind on a
/// machine where core dumps are on.
fn no_core_dump() {
    let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: setrlimit reads a valid struct we own.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
    assert_eq!(rc, 0, "setrlimit(RLIMIT_CORE)");
}

/// Runs `case` in a child; the signal that ended it, and its stderr.
fn run_case(case: &str) -> (Option<i32>, String) {
    let output: Output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_case", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, case)
        .output()
        .unwrap();
    (output.status.signal(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_library_thread_that_overflows_its_stack_is_named_and_the_process_aborts() {
    let (signal, stderr) = run_case("library-overflow");
    assert_eq!(signal, Some(libc::SIGABRT), "{stderr}");
    assert!(stderr.contains("thread 'deep-recursion' ("), "{stderr}");
    assert!(stderr.contains(") has overflowed its stack\nfatal runtime error: stack overflow"), "{stderr}");
}

#[test]
fn a_std_thread_that_overflows_is_still_reported_by_std() {
    let (signal, stderr) = run_case("std-overflow");
    assert_eq!(signal, Some(libc::SIGABRT), "{stderr}");
    assert!(stderr.contains("thread 'std-recursion'"), "{stderr}");
    assert!(stderr.contains("has overflowed its stack"), "{stderr}");
}

#[test]
fn any_other_fault_in_a_library_thread_stays_a_segmentation_fault() {
    let (signal, stderr) = run_case("library-null-write");
    assert_eq!(signal, Some(libc::SIGSEGV), "{stderr}");
    assert!(!stderr.contains("overflowed"), "{stderr}");
}
