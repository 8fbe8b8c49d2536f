//! PARITY items 1–27: `_thread` functions, `Thread`, and the excepthook.
//! Each test names the item it covers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{child_stderr, run_child, wait_for_state};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::{Duration, Instant};
use threadscope::threading::{
    self, ErrorKind, ExceptHookArgs, Lock, Outcome, Registry, TIMEOUT_MAX, Thread, ThreadState,
    current_thread, get_ident, get_native_id, main_thread,
};

/// A non-daemon thread blocked on `gate` until the test releases it. (The
/// test's own thread is a dummy, which is a daemon, so unless told
/// otherwise its threads would be daemons too: item 19.)
fn gated(registry: &Registry, name: &str, gate: &Arc<Lock>) -> Thread {
    let gate = gate.clone();
    Thread::builder().name(name).registry(registry).daemon(false).target(move || {
        gate.acquire();
        gate.release().unwrap();
    })
}

#[test]
fn p01_start_new_thread_ident_matches_current_thread_inside() {
    let (tx, rx) = mpsc::channel();
    let ident = threading::start_new_thread(move || {
        tx.send(current_thread().ident()).unwrap();
    })
    .unwrap();
    assert_eq!(rx.recv().unwrap(), Some(ident));
    assert_eq!(threading::Error::new(ErrorKind::RuntimeError, "x").kind().python_name(), "RuntimeError");
}

#[test]
#[ignore = "run in a child process by p02"]
fn child_start_new_thread_reports() {
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    threading::start_new_thread(move || {
        let _done = Notify(tx2);
        panic!("kaboom");
    })
    .unwrap();
    threading::start_new_thread(move || {
        let _done = Notify(tx);
        threading::exit();
    })
    .unwrap();
    rx.recv().unwrap();
    rx.recv().unwrap();
    // The report is written before the thread's locals drop; give stderr a
    // moment to be flushed by the dying thread.
    std::thread::sleep(Duration::from_millis(50));
}

/// Sends on drop, so a thread can signal its end even when it unwinds.
struct Notify(mpsc::Sender<()>);
impl Drop for Notify {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[test]
fn p02_start_new_thread_panic_is_unraisable_and_exit_is_silent() {
    let output = run_child("child_start_new_thread_reports", &[]);
    assert!(output.status.success(), "{output:?}");
    let stderr = child_stderr(&output);
    assert!(stderr.contains("Exception ignored in thread started by: <closure>\n"), "{stderr}");
    assert!(stderr.contains("kaboom"), "{stderr}");
    assert_eq!(stderr.matches("Exception ignored").count(), 1, "exit() must be silent: {stderr}");
}

#[test]
fn p03_p04_stack_size_get_set_and_errors() {
    // Both items touch the process-wide setting, so they share one test.
    assert_eq!(threading::stack_size(0).unwrap(), 0);
    assert_eq!(threading::stack_size(262_144).unwrap(), 0);
    assert_eq!(threading::stack_size(0x10_0000).unwrap(), 262_144);
    let t = Thread::spawn(|| ()).unwrap();
    t.join().unwrap();
    assert_eq!(threading::stack_size(0).unwrap(), 0x10_0000);
    assert_eq!(threading::configured_stack_size(), None);

    let err = threading::stack_size(4096).unwrap_err();
    assert_eq!(err.to_string(), "ValueError: size not valid: 4096 bytes");
    assert_eq!(threading::stack_size(32_767).unwrap_err().kind(), ErrorKind::ValueError);
    let err = threading::stack_size(-1).unwrap_err();
    assert_eq!(err.to_string(), "ValueError: size must be 0 or a positive value");
    assert_eq!(threading::configured_stack_size(), None, "a refused size changes nothing");
}

#[test]
fn p05_timeout_max() {
    assert_eq!(TIMEOUT_MAX, 9_223_372_036.0);
    let lock = Lock::new();
    assert!(lock.acquire_with(true, TIMEOUT_MAX).unwrap());
    lock.release().unwrap();
    for too_big in [TIMEOUT_MAX + 1e6, 1e100] {
        let err = lock.acquire_with(true, too_big).unwrap_err();
        assert_eq!(err.to_string(), "OverflowError: timestamp out of range for platform time_t");
    }
    let err = lock.acquire_timeout(Duration::from_secs(u64::MAX)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OverflowError);
    assert!(!lock.locked());
}

#[test]
fn p06_get_ident_positive_and_native_ids_distinct() {
    assert!(get_ident() > 0);
    let barrier = Arc::new(Barrier::new(3));
    let (tx, rx) = mpsc::channel();
    let threads: Vec<Thread> = (0..2)
        .map(|_| {
            let (barrier, tx) = (barrier.clone(), tx.clone());
            Thread::spawn(move || {
                tx.send(get_native_id()).unwrap();
                barrier.wait(); // both alive at once
            })
            .unwrap()
        })
        .collect();
    let ids = [rx.recv().unwrap(), rx.recv().unwrap(), get_native_id()];
    barrier.wait();
    threads.iter().for_each(|t| t.join().unwrap());
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2], "{ids:?}");
}

#[test]
fn p07_interrupt_main_range_and_default_disposition() {
    for bad in [-1, 0, 65, 1_000_000] {
        let err = threading::interrupt_main(bad).unwrap_err();
        assert_eq!(err.to_string(), "ValueError: signal number out of range");
    }
    // SIGUSR2 is SIG_DFL here (it would kill the process): Python does
    // nothing, and so do we.
    threading::interrupt_main(libc::SIGUSR2).unwrap();
}

#[test]
#[ignore = "run in a child process by p07"]
fn child_interrupt_main_reaches_handler() {
    let flag = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(libc::SIGUSR1, flag.clone()).unwrap();
    let t = Thread::spawn(|| threading::interrupt_main(libc::SIGUSR1).unwrap()).unwrap();
    t.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !flag.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the handler never ran");
        std::thread::yield_now();
    }
    println!("HANDLED");
}

#[test]
fn p07_interrupt_main_from_worker_reaches_the_handler() {
    let output = run_child("child_interrupt_main_reaches_handler", &[]);
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("HANDLED"));
}

fn worker() {}

#[test]
fn p08_default_names() {
    let registry = Registry::new();
    let b = || Thread::builder().registry(&registry);
    assert_eq!(b().target(|| ()).name(), "Thread-1");
    assert_eq!(b().name("explicit").target(|| ()).name(), "explicit");
    assert_eq!(b().target(|| ()).name(), "Thread-2", "a named thread does not advance the counter");
    assert_eq!(b().target(worker).name(), "Thread-3 (worker)");
    assert_eq!(b().name("").target(|| ()).name(), "Thread-4", "an empty name counts as none");
}

#[test]
fn p09_explicit_name_wins_and_names_are_stringified() {
    let registry = Registry::new();
    let t = Thread::builder().registry(&registry).name("mine").target(worker);
    assert_eq!(t.name(), "mine");
    let t = Thread::builder().registry(&registry).name(123).target(|| ());
    assert_eq!(t.name(), "123");
    t.set_name(456);
    assert_eq!(t.name(), "456");
}

static FN_TARGET_RAN: AtomicBool = AtomicBool::new(false);
fn zero_sized_target() {
    FN_TARGET_RAN.store(true, Ordering::SeqCst);
}

#[test]
fn p10_a_zero_sized_fn_target_still_runs() {
    // Rust has no args tuple (closures capture); the analog of a falsy but
    // callable target is a zero-sized function item.
    assert_eq!(std::mem::size_of_val(&zero_sized_target), 0);
    let t = Thread::spawn(zero_sized_target).unwrap();
    t.join().unwrap();
    assert!(FN_TARGET_RAN.load(Ordering::SeqCst));
}

#[test]
fn p11_ident_and_native_id_none_before_start_kept_after() {
    let t = Thread::new(|| ());
    assert_eq!((t.ident(), t.native_id()), (None, None));
    t.start().unwrap();
    let (ident, native) = (t.ident(), t.native_id());
    assert!(ident.is_some_and(|i| i != 0) && native.is_some_and(|n| n != 0));
    t.join().unwrap();
    assert_eq!((t.ident(), t.native_id()), (ident, native));
}

#[test]
fn p12_repr_follows_the_life_cycle() {
    let registry = Registry::new();
    let gate = Arc::new(Lock::new());
    let t = gated(&registry, "r", &gate);
    assert_eq!(t.repr(), "<Thread(r, initial)>");
    gate.acquire();
    t.start().unwrap();
    let ident = t.ident().unwrap();
    assert_eq!(t.repr(), format!("<Thread(r, started {ident})>"));
    gate.release().unwrap();
    t.join().unwrap();
    assert_eq!(format!("{t:?}"), format!("<Thread(r, stopped {ident})>"));

    let d = Thread::builder().registry(&registry).name("d").daemon(true).target(|| ());
    assert_eq!(d.repr(), "<Thread(d, initial daemon)>");
    d.start().unwrap();
    d.join().unwrap();
    assert_eq!(d.repr(), format!("<Thread(d, stopped daemon {})>", d.ident().unwrap()));
}

#[test]
fn p13_is_alive_and_join_timeout() {
    let registry = Registry::new();
    let gate = Arc::new(Lock::new());
    let t = gated(&registry, "alive", &gate);
    assert!(!t.is_alive());
    gate.acquire();
    t.start().unwrap();
    assert!(t.is_alive());
    t.join_timeout(Duration::from_millis(20)).unwrap();
    assert!(t.is_alive(), "a timed-out join returns and the thread is still alive");
    gate.release().unwrap();
    t.join().unwrap();
    assert!(!t.is_alive());
}

#[test]
fn p14_join_repeated_and_from_several_threads() {
    let registry = Registry::new();
    let gate = Arc::new(Lock::new());
    gate.acquire();
    let t = gated(&registry, "target", &gate);
    t.start().unwrap();
    let joiners: Vec<Thread> = (0..3)
        .map(|i| {
            let t = t.clone();
            Thread::builder()
                .registry(&registry)
                .name(format!("joiner-{i}"))
                .target(move || t.join().unwrap())
        })
        .collect();
    joiners.iter().for_each(|j| j.start().unwrap());
    for i in 0..3 {
        wait_for_state(&registry, &format!("joiner-{i}"), ThreadState::Waiting);
    }
    gate.release().unwrap();
    joiners.iter().for_each(|j| j.join().unwrap());
    t.join().unwrap();
    t.join().unwrap();
    assert!(!t.is_alive());
}

#[test]
fn p15_start_twice() {
    let t = Thread::spawn(|| ()).unwrap();
    assert_eq!(t.start().unwrap_err().to_string(), "RuntimeError: threads can only be started once");
    t.join().unwrap();
    assert_eq!(t.start().unwrap_err().to_string(), "RuntimeError: threads can only be started once");
}

#[test]
fn p16_join_current_thread() {
    let (tx, rx) = mpsc::channel();
    let t = Thread::spawn(move || tx.send(current_thread().join()).unwrap()).unwrap();
    let err = rx.recv().unwrap().unwrap_err();
    assert_eq!(err.to_string(), "RuntimeError: cannot join current thread");
    t.join().unwrap();
}

#[test]
fn p17_join_before_start() {
    let t = Thread::new(|| ());
    assert_eq!(t.join().unwrap_err().to_string(), "RuntimeError: cannot join thread before it is started");
    assert_eq!(t.join_timeout(Duration::ZERO).unwrap_err().kind(), ErrorKind::RuntimeError);
}

#[test]
fn p18_daemon_refused_after_start() {
    let t = Thread::new(|| ());
    t.set_daemon(true).unwrap();
    t.set_daemon(false).unwrap();
    t.start().unwrap();
    let err = t.set_daemon(true).unwrap_err();
    assert_eq!(err.to_string(), "RuntimeError: cannot set daemon status of active thread");
    t.join().unwrap();
    assert!(t.set_daemon(true).is_err(), "still refused after it ended");
    assert!(!t.daemon());
}

#[test]
fn p19_daemon_is_inherited_unless_given() {
    let (tx, rx) = mpsc::channel();
    for parent_daemon in [false, true] {
        let tx = tx.clone();
        let parent = Thread::builder().daemon(parent_daemon).target(move || {
            let inherited = Thread::new(|| ()).daemon();
            let given = Thread::builder().daemon(!parent_daemon).target(|| ()).daemon();
            tx.send((parent_daemon, inherited, given)).unwrap();
        });
        parent.start().unwrap();
        parent.join().unwrap();
    }
    assert_eq!(rx.recv().unwrap(), (false, false, true));
    assert_eq!(rx.recv().unwrap(), (true, true, false));
    assert!(!main_thread().daemon());
}

#[test]
fn p20_enumerate_and_active_count() {
    let registry = Registry::new();
    let gate = Arc::new(Lock::new());
    gate.acquire();
    let threads: Vec<Thread> = (0..3).map(|i| gated(&registry, &format!("e{i}"), &gate)).collect();
    assert!(registry.enumerate().is_empty(), "unstarted threads are not listed");
    threads.iter().for_each(|t| t.start().unwrap());
    assert_eq!(registry.enumerate(), threads);
    gate.release().unwrap();
    threads.iter().for_each(|t| t.join().unwrap());
    assert!(registry.enumerate().is_empty());
    // The module functions work on the global registry.
    assert_eq!(threading::active_count(), threading::enumerate().len());
    assert!(threading::enumerate().contains(&main_thread()));
}

#[test]
#[ignore = "run in a child process by p21"]
fn child_shutdown_waits_for_non_daemon_only() {
    let _shutdown = threading::ShutdownGuard::new();
    // A daemon blocked for ever: abandoned at exit, its cleanup never runs.
    let forever = Arc::new(Lock::new());
    forever.acquire();
    let daemon_lock = forever.clone();
    Thread::builder()
        .daemon(true)
        .target(move || {
            struct Cleanup;
            impl Drop for Cleanup {
                fn drop(&mut self) {
                    println!("DAEMON CLEANUP");
                }
            }
            let _cleanup = Cleanup;
            daemon_lock.acquire();
        })
        .start()
        .unwrap();
    // A non-daemon that finishes after main's body has returned.
    Thread::builder()
        .daemon(false)
        .target(|| {
            threading::sleep(Duration::from_millis(100));
            println!("NON-DAEMON FINISHED");
        })
        .start()
        .unwrap();
    // `_shutdown` drops here: main waits for the non-daemon thread only.
}

#[test]
fn p21_the_process_waits_for_non_daemon_threads_only() {
    let output = run_child("child_shutdown_waits_for_non_daemon_only", &[]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("NON-DAEMON FINISHED"), "{stdout}");
    assert!(!stdout.contains("DAEMON CLEANUP"), "{stdout}");
}

#[test]
fn p22_main_thread() {
    let main = main_thread();
    assert_eq!(main.name(), "MainThread");
    assert_eq!(main.native_id(), Some(std::process::id()));
    assert!(main.ident().is_some_and(|i| i != 0), "captured before main ran");
    let (tx, rx) = mpsc::channel();
    let t = Thread::spawn(move || tx.send(get_ident()).unwrap()).unwrap();
    assert_ne!(rx.recv().unwrap(), main.ident().unwrap());
    t.join().unwrap();
    assert_eq!(main, main_thread(), "one handle, always the same");
}

#[test]
fn p23_foreign_threads_are_dummies() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let me = current_thread();
        let listed = threading::enumerate().contains(&me);
        let join = me.join();
        tx.send((me.name(), me.daemon(), me.is_alive(), listed, join, me.repr())).unwrap();
    })
    .join()
    .unwrap();
    let (name, daemon, alive, listed, join, repr) = rx.recv().unwrap();
    assert!(name.starts_with("Dummy-"), "{name}");
    assert!(daemon && alive && listed);
    assert_eq!(join.unwrap_err().to_string(), "RuntimeError: cannot join a dummy thread");
    assert!(repr.starts_with(&format!("<_DummyThread({name}, started daemon ")), "{repr}");
}

#[test]
#[ignore = "run in a child process by p24/p26/p27"]
fn child_excepthook_output() {
    match std::env::var("EXCEPTHOOK_CASE").as_deref() {
        Ok("default") => {}
        Ok("failing") => threading::set_excepthook(|_| panic!("hook broke")),
        other => panic!("unknown case {other:?}"),
    }
    let t = Thread::builder().name("crasher").target(|| panic!("worker failed: {}", 42));
    t.start().unwrap();
    t.join().unwrap();
    let quiet = Thread::builder().name("quitter").target(|| threading::exit());
    quiet.start().unwrap();
    quiet.join().unwrap();
    assert_eq!(quiet.outcome(), Some(Outcome::Exited));
}

#[test]
fn p24_default_excepthook_prints_name_and_traceback() {
    let output = run_child("child_excepthook_output", &[("EXCEPTHOOK_CASE", "default")]);
    assert!(output.status.success(), "{output:?}");
    let stderr = child_stderr(&output);
    let header = "Exception in thread crasher:\npanicked at tests/parity_threads.rs:";
    assert!(stderr.starts_with(header), "{stderr}");
    assert!(stderr.contains("\nworker failed: 42\n"), "{stderr}");
    assert!(!stderr.contains("thread 'crasher' panicked"), "Rust's own report is replaced: {stderr}");

    let args = ExceptHookArgs { thread: None, message: "m".into(), location: None };
    let text = threading::format_exception(&args);
    assert_eq!(text, format!("Exception in thread {}:\npanicked:\nm\n", get_ident()));
}

#[test]
fn p26_exit_in_a_thread_is_silent() {
    let output = run_child("child_excepthook_output", &[("EXCEPTHOOK_CASE", "default")]);
    let stderr = child_stderr(&output);
    assert!(!stderr.contains("quitter"), "{stderr}");
    let t = Thread::spawn(|| threading::exit()).unwrap();
    t.join().unwrap();
    assert_eq!(t.outcome(), Some(Outcome::Exited));
}

#[test]
fn p27_a_failing_hook_is_reported_exactly() {
    let output = run_child("child_excepthook_output", &[("EXCEPTHOOK_CASE", "failing")]);
    assert!(output.status.success(), "{output:?}");
    let stderr = child_stderr(&output);
    assert!(stderr.starts_with("Exception in threading.excepthook:\npanicked at "), "{stderr}");
    assert!(stderr.contains("\nhook broke\n"), "{stderr}");
    assert!(!stderr.contains("worker failed"), "the original error went to the hook only: {stderr}");
}

#[test]
#[ignore = "run in a child process by p25"]
fn child_custom_excepthook_gets_the_thread() {
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let log = seen.clone();
    threading::set_excepthook(move |args| {
        log.lock().push((args.thread.clone(), args.message.clone(), args.location.clone()));
    });
    let t = Thread::builder().name("raiser").target(|| panic!("bad value"));
    t.start().unwrap();
    t.join().unwrap();
    threading::reset_excepthook();
    let seen = seen.lock();
    assert_eq!(seen.len(), 1);
    let (thread, message, location) = &seen[0];
    assert_eq!(thread.as_ref(), Some(&t), "the hook gets the Thread itself");
    assert_eq!(message, "bad value");
    assert!(location.as_deref().is_some_and(|l| l.starts_with("tests/parity_threads.rs:")), "{location:?}");
    assert_eq!(
        t.outcome(),
        Some(Outcome::Panicked { message: "bad value".into(), location: location.clone() })
    );
    println!("HOOK OK");
}

#[test]
fn p25_custom_excepthook_receives_thread_message_location() {
    // The hook is process-wide, so it is exercised in its own process.
    let output = run_child("child_custom_excepthook_gets_the_thread", &[]);
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("HOOK OK"));
    assert!(child_stderr(&output).is_empty(), "a custom hook replaces the printout");
}

#[test]
fn stress_many_threads_start_and_join() {
    let counter = Arc::new(AtomicU64::new(0));
    let threads: Vec<Thread> = (0..64)
        .map(|_| {
            let counter = counter.clone();
            Thread::builder().stack_size(64 * 1024).target(move || {
                counter.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    threads.iter().for_each(|t| t.start().unwrap());
    threads.iter().for_each(|t| t.join().unwrap());
    assert_eq!(counter.load(Ordering::Relaxed), 64);
    assert!(threads.iter().all(|t| t.outcome() == Some(Outcome::Returned)));
}
