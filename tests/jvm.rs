//! The JVM view against real JVMs: `tests/java/ThreadscopeFixture.java`,
//! compiled and started here. Without `javac`/`java` every test prints
//! `skipped: no java` and passes, unless `THREADSCOPE_REQUIRE_RUNTIMES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod java_support;

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use java_support::{JavaChild, java_or_skip};
use threadscope::jvm::{
    AttachOptions, JavaLockKind, JavaThread, JvmError, JvmTarget, JvmThreadDump, JvmView, JvmViewOptions,
    StateReason, ThreadState, thread_dump,
};

const READY: Duration = Duration::from_secs(60);

/// One JVM at a time: the machine's cores are shared.
fn one_jvm_at_a_time() -> MutexGuard<'static, ()> {
    static JVMS: Mutex<()> = Mutex::new(());
    JVMS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn options() -> AttachOptions {
    AttachOptions {
        start_timeout: Duration::from_secs(15),
        io_timeout: Duration::from_secs(15),
        ..Default::default()
    }
}

fn named<'a>(dump: &'a JvmThreadDump, name: &str) -> (usize, &'a JavaThread) {
    dump.threads
        .iter()
        .enumerate()
        .find(|(_, t)| t.name == name)
        .unwrap_or_else(|| panic!("no thread {name}"))
}

fn comm(pid: u32, tid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm")).unwrap().trim_end_matches('\n').to_owned()
}

#[test]
fn long_names_come_back_whole_and_joined_to_kernel_tids() {
    let Some(java) = java_or_skip("long_names") else { return };
    let _one = one_jvm_at_a_time();
    let mut jvm = JavaChild::spawn(java, &[], &["names"]);
    jvm.wait_ready(READY);
    let target = JvmTarget::detect(jvm.pid()).unwrap();
    assert!(!target.attach_disabled && !target.reduced_signals);
    let socket = target.socket_path();
    let dump = thread_dump(&target, &options()).unwrap();
    assert!(dump.complete);

    let mut tids = HashSet::new();
    for n in 1..=8 {
        let name = format!("PaymentService-Processor-{n}");
        let (_, t) = named(&dump, &name);
        let tid = t.native_id.unwrap();
        assert!(tids.insert(tid), "{name}: TID {tid} given twice");
        // The kernel keeps 15 bytes, the JVM the whole name.
        assert_eq!(comm(jvm.pid(), tid), &name[..15], "{name} is TID {tid}");
        let state = t.state.as_ref().unwrap();
        assert_eq!((&state.state, &state.reason), (&ThreadState::Waiting, &Some(StateReason::Parking)));
    }
    // The main thread's nid is the JVM's java main thread, a task of the process.
    let (_, main) = named(&dump, "main");
    assert!(std::path::Path::new(&format!("/proc/{}/task/{}", jvm.pid(), main.native_id.unwrap())).exists());

    // The handshake left the listener running and removed its trigger file.
    assert!(dump.threads.iter().any(|t| t.name == "Attach Listener"));
    assert!(socket.exists());
    for path in target.attach_file_paths() {
        assert!(!path.exists(), "{} left behind", path.display());
    }
    // A second dump goes straight to the socket.
    assert_eq!(thread_dump(&target, &options()).unwrap().threads.len(), dump.threads.len());
    assert!(jvm.finish(READY).success());
}

#[test]
fn monitor_with_a_holder_and_two_waiters() {
    let Some(java) = java_or_skip("monitor") else { return };
    let _one = one_jvm_at_a_time();
    let mut jvm = JavaChild::spawn(java, &[], &["monitor"]);
    jvm.wait_ready(READY);
    let dump = thread_dump(&JvmTarget::detect(jvm.pid()).unwrap(), &options()).unwrap();
    let (holder, _) = named(&dump, "Lock-Holder");
    let (w1, t1) = named(&dump, "Lock-Waiter-1");
    let (w2, _) = named(&dump, "Lock-Waiter-2");
    assert_eq!(t1.state.as_ref().unwrap().state, ThreadState::Blocked);
    let address = t1.waiting_for().unwrap().lock.address.unwrap();
    let lock = dump.lock(address).unwrap();
    assert_eq!(lock.kind, JavaLockKind::Monitor);
    assert_eq!(lock.class.as_deref(), Some("java.lang.Object"));
    assert_eq!(lock.holder, Some(holder));
    assert_eq!(lock.waiters, vec![w1, w2]);
    assert!(jvm.finish(READY).success());
}

#[test]
fn reentrant_lock_deadlock_from_the_jvms_own_report() {
    let Some(java) = java_or_skip("deadlock") else { return };
    let _one = one_jvm_at_a_time();
    let mut jvm = JavaChild::spawn(java, &[], &["deadlock"]);
    jvm.wait_ready(READY);
    let dump = thread_dump(&JvmTarget::detect(jvm.pid()).unwrap(), &options()).unwrap();
    let (a, ta) = named(&dump, "Deadlock-A");
    let (b, tb) = named(&dump, "Deadlock-B");
    assert_eq!(dump.deadlocks.len(), 1, "{:#?}", dump.deadlocks);
    let links = &dump.deadlocks[0].links;
    let cycle: Vec<(Option<usize>, Option<usize>)> = links.iter().map(|l| (l.thread, l.held_by)).collect();
    assert_eq!(cycle, vec![(Some(a), Some(b)), (Some(b), Some(a))]);
    for link in links {
        assert_eq!(link.kind, JavaLockKind::Synchronizer);
        let lock = dump.lock(link.address.unwrap()).unwrap();
        assert_eq!(lock.holder, link.held_by);
        assert_eq!(lock.waiters, vec![link.thread.unwrap()]);
    }
    // Joined to the kernel: both TIDs are tasks of the JVM, with cut names.
    assert_eq!(comm(jvm.pid(), ta.native_id.unwrap()), "Deadlock-A");
    assert_eq!(comm(jvm.pid(), tb.native_id.unwrap()), "Deadlock-B");
    // The threads never end; the JVM exits through System.exit.
    assert!(jvm.finish(READY).success());
}

#[test]
fn a_jvm_exiting_mid_session_is_a_clear_error_and_stops_the_view() {
    let Some(java) = java_or_skip("exiting") else { return };
    let _one = one_jvm_at_a_time();
    let mut jvm = JavaChild::spawn(java, &[], &["idle"]);
    jvm.wait_ready(READY);
    let target = JvmTarget::detect(jvm.pid()).unwrap();
    let mut view = JvmView::new(target, JvmViewOptions { interval: Duration::ZERO, attach: options() });
    assert!(view.poll(Instant::now()).unwrap());
    assert!(view.latest().is_some());
    assert!(jvm.finish(READY).success());

    let err = view.poll(Instant::now()).unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
    assert!(matches!(err, JvmError::NoSuchProcess { .. } | JvmError::Exited { .. }), "{err:?}");
    assert!(view.latest().is_none(), "a dead JVM's threads are not shown");
    assert!(view.stopped().is_some());
    assert!(!view.poll(Instant::now()).unwrap(), "a stopped view does not ask again");
}

#[test]
fn a_jvm_killed_while_dumping_gives_an_error_not_a_hang() {
    let Some(java) = java_or_skip("killed") else { return };
    let _one = one_jvm_at_a_time();
    let mut jvm = JavaChild::spawn(java, &[], &["threads", "1000"]);
    jvm.wait_ready(READY);
    let target = JvmTarget::detect(jvm.pid()).unwrap();
    thread_dump(&target, &options()).unwrap();
    let (first_sent, first_seen) = std::sync::mpsc::channel();
    let dumper = std::thread::spawn(move || {
        // Dump back to back until the JVM dies under one of them.
        for n in 0.. {
            if n == 1 {
                first_sent.send(()).unwrap();
            }
            if let Err(e) = thread_dump(&target, &options()) {
                return e;
            }
        }
        unreachable!()
    });
    first_seen.recv_timeout(READY).unwrap();
    jvm.kill();
    let started = Instant::now();
    let err = dumper.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
    assert!(
        matches!(
            err,
            JvmError::Exited { .. } | JvmError::NoSuchProcess { .. } | JvmError::ConnectionClosed { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn disable_attach_mechanism_is_a_clear_error() {
    let Some(java) = java_or_skip("attach_disabled") else { return };
    let _one = one_jvm_at_a_time();
    let mut jvm = JavaChild::spawn(java, &["-XX:+DisableAttachMechanism"], &["idle"]);
    jvm.wait_ready(READY);
    let target = JvmTarget::detect(jvm.pid()).unwrap();
    assert!(target.attach_disabled);
    let err = thread_dump(&target, &options()).unwrap_err();
    assert!(matches!(err, JvmError::AttachDisabled { .. }), "{err:?}");
    assert!(err.to_string().contains("DisableAttachMechanism"), "{err}");
    for path in target.attach_file_paths() {
        assert!(!path.exists(), "{} created for nothing", path.display());
    }
    assert!(jvm.finish(READY).success());
}

#[test]
fn reduced_signals_never_gets_sigquit() {
    let Some(java) = java_or_skip("xrs") else { return };
    let _one = one_jvm_at_a_time();
    let mut jvm = JavaChild::spawn(java, &["-Xrs"], &["idle"]);
    jvm.wait_ready(READY);
    let target = JvmTarget::detect(jvm.pid()).unwrap();
    assert!(target.reduced_signals);
    assert!(!target.catches_sigquit().unwrap(), "-Xrs leaves SIGQUIT to its default action");
    // With -Xrs HotSpot starts the listener at start-up, so attach works...
    let socket = target.socket_path();
    if socket.exists() {
        assert!(thread_dump(&target, &options()).is_ok());
        // ...but without the socket, SIGQUIT would kill it: refused.
        std::fs::remove_file(&socket).unwrap();
    }
    let err = thread_dump(&target, &options()).unwrap_err();
    assert!(matches!(err, JvmError::ReducedSignals { .. }), "{err:?}");
    assert!(target.is_alive(), "the JVM must survive");
    assert!(jvm.finish(READY).success());
}

#[test]
fn detect_refuses_what_is_not_a_jvm() {
    let err = JvmTarget::detect(std::process::id()).unwrap_err();
    assert!(matches!(err, JvmError::NotAJvm { .. }), "{err:?}");
    let err = JvmTarget::detect(u32::MAX - 1).unwrap_err();
    assert!(matches!(err, JvmError::NoSuchProcess { .. }), "{err:?}");
}

const NOBODY_ENV: &str = "THREADSCOPE_JVM_NOBODY_TARGETS";

/// Another user's processes, whose maps user nobody may not read: a native
/// one (this test process, root's) is not taken for a JVM nor mentioned;
/// a JVM is said to look like one, by its launcher, and why it cannot be
/// asked.
#[test]
fn as_another_user_only_what_looks_like_a_jvm_is_called_one() {
    if !rustix::process::geteuid().is_root() {
        return eprintln!("skipped: not root, cannot run a child as another user");
    }
    let _one = one_jvm_at_a_time();
    let mut jvm = java_or_skip("as_another_user").map(|java| JavaChild::spawn(java, &[], &["idle"]));
    let mut targets = std::process::id().to_string();
    if let Some(jvm) = &mut jvm {
        jvm.wait_ready(READY);
        targets.push_str(&format!(" {}", jvm.pid()));
    }
    common::run_child_as_nobody("as_nobody_only_a_jvm_is_called_one", (NOBODY_ENV, &targets));
    if let Some(mut jvm) = jvm {
        assert!(jvm.finish(READY).success());
    }
}

#[test]
#[ignore = "run as another user by as_another_user_only_what_looks_like_a_jvm_is_called_one"]
fn as_nobody_only_a_jvm_is_called_one() {
    let Ok(targets) = std::env::var(NOBODY_ENV) else { return };
    if rustix::process::getuid().is_root() {
        return println!("skipped: still root, cannot test another user's process");
    }
    let mut pids = targets.split(' ').map(|p| p.parse::<u32>().unwrap());
    let native = pids.next().unwrap();
    assert!(std::fs::read(format!("/proc/{native}/maps")).is_err(), "its maps must be refused here");
    let err = JvmTarget::detect(native).unwrap_err();
    assert!(matches!(err, JvmError::NoSignOfJvm { .. }), "{err:?}");
    assert!(threadscope::inspect::JvmSource::for_pid(native, JvmViewOptions::default()).is_none());
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_threadscope"))
        .args(["snapshot", "--pid", &native.to_string(), "--format", "text"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && text.contains("Note: cannot read the system calls"), "{text}");
    assert!(!text.contains("JVM"), "a native process is not mentioned as a JVM: {text}");
    if let Some(jvm) = pids.next() {
        let err = JvmTarget::detect(jvm).unwrap_err();
        assert!(matches!(err, JvmError::DifferentUser { sign: Some(_), .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("process {jvm}, which looks like a JVM (its program is java)")),
            "{text}"
        );
    }
}
