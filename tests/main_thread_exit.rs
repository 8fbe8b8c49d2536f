//! PARITY item 21: at shutdown the main thread is marked stopped before the
//! non-daemon threads are waited for (CPython's `threading._shutdown`), so a
//! worker joining `main_thread()` returns and the process exits.
//!
//! libtest runs every test on a thread of its own, where `main_thread()` is
//! not the caller; so this test binary has no harness (`harness = false`):
//! its `main` re-runs itself as a child with `CHILD_ENV` set, and the child's
//! `main` is the real main thread.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use threadscope::threading::{self, Thread, ThreadState, main_thread};

const CHILD_ENV: &str = "THREADSCOPE_MAIN_THREAD_EXIT_CHILD";
/// Long enough for a loaded 2-core machine; only a hang waits this long.
const PATIENCE: Duration = Duration::from_secs(30);

fn main() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
    } else {
        worker_joining_main_thread_returns_at_shutdown();
        println!("test worker_joining_main_thread_returns_at_shutdown ... ok");
    }
}

/// Main starts a non-daemon worker that joins the main thread, prints and
/// returns; the shutdown at the end of main must not wait for ever.
fn child() {
    let main = main_thread();
    assert_eq!(threading::current_thread(), main, "the child's main is the main thread");
    Thread::builder()
        .name("joins-main")
        .daemon(false)
        .target(move || {
            main.join().unwrap();
            assert!(!main.is_alive(), "main joined but still alive");
            assert_eq!(main.state(), ThreadState::Terminated);
            assert_eq!(main.repr(), format!("<_MainThread(MainThread, stopped {})>", main.ident().unwrap()));
            println!("worker: main thread joined");
        })
        .start()
        .unwrap();
    println!("main: returning");
    threading::shutdown();
}

fn worker_joining_main_thread_returns_at_shutdown() {
    let output = run_self_as_child();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout, "main: returning\nworker: main thread joined\n", "{output:?}");
}

/// Runs this binary with `CHILD_ENV` set; kills it if it hangs.
fn run_self_as_child() -> Output {
    let child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(PATIENCE) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("the child hung at exit (a worker joining the main thread was never released)");
        }
    }
}
