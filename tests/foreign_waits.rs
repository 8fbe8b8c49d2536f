//! Waits in words, pthread mutex owners and deadlocks of a program that
//! never heard of threadscope: the test re-runs its own binary as a child
//! that calls glibc's pthread functions directly, then reads it from
//! outside with `kernel::WaitReader`, and checks everything by TID.
//!
//! The child makes: an ABBA deadlock (ab-a holds A and wants B, ab-b holds
//! B and wants A) with a third thread queued behind A; a holder that sleeps
//! while another waits; a PI mutex holder and waiter; a std::sync::Mutex
//! holder and waiter (a lock that records no owner); a pipe reader; a
//! sleeper; a thread in accept on 127.0.0.1.

// The child calls libc's pthread functions on mutexes it leaks: unsafe
// code, allowed here only (an integration test is its own crate), each
// call with its reason.
#![allow(unsafe_code, clippy::unwrap_used, clippy::expect_used)]

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use threadscope::kernel::{
    FdTarget, FutexOp, IoDirection, KernelWait, LockOwner, MutexProtocol, OwnerUnknown, ProcessWaits,
    Sampler, Socket, TcpState, WaitReader,
};

const CHILD_ENV: &str = "THREADSCOPE_FOREIGN_WAITS_CHILD";
/// How long anything may take before the test gives up (never hang CI).
const PATIENCE: Duration = Duration::from_secs(20);
const LONG: Duration = Duration::from_secs(3600);

// ---------------------------------------------------------------- child

/// A leaked pthread mutex, shared between the child's threads by address.
#[derive(Clone, Copy)]
struct RawMutex(*mut libc::pthread_mutex_t);
// SAFETY: a pthread mutex is made to be used from several threads; the
// pointer is leaked, so it stays valid for the life of the process.
unsafe impl Send for RawMutex {}

impl RawMutex {
    fn new(pi: bool) -> RawMutex {
        let mutex = Box::leak(Box::new(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER))).get();
        if pi {
            // SAFETY: attr is initialised before use and destroyed after;
            // the mutex memory is valid and not yet shared.
            unsafe {
                let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
                assert_eq!(libc::pthread_mutexattr_init(&mut attr), 0);
                assert_eq!(libc::pthread_mutexattr_setprotocol(&mut attr, libc::PTHREAD_PRIO_INHERIT), 0);
                assert_eq!(libc::pthread_mutex_init(mutex, &attr), 0);
                libc::pthread_mutexattr_destroy(&mut attr);
            }
        }
        RawMutex(mutex)
    }

    fn lock(self) {
        // SAFETY: the mutex is initialised and never destroyed.
        assert_eq!(unsafe { libc::pthread_mutex_lock(self.0) }, 0);
    }

    fn address(self) -> usize {
        self.0 as usize
    }
}

fn tid() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::gettid() }
}

fn say(line: String) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // libtest may have begun a line ("test child_entry ... "): the marker
    // says where ours starts.
    writeln!(out, "@@ {line}").unwrap();
    out.flush().unwrap();
}

/// A thread named `role` that says its TID, then runs `body`; returns once
/// the TID is said (so "ready" comes after every TID).
fn spawn(role: &'static str, body: impl FnOnce() + Send + 'static) {
    let (said, told) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(role.into())
        .spawn(move || {
            say(format!("tid {role} {}", tid()));
            said.send(()).unwrap();
            body();
        })
        .unwrap();
    told.recv().unwrap();
}

fn child() {
    let (a, b, held, pi) =
        (RawMutex::new(false), RawMutex::new(false), RawMutex::new(false), RawMutex::new(true));
    for (name, mutex) in [("a", a), ("b", b), ("held", held), ("pi", pi)] {
        say(format!("mutex {name} {:#x}", mutex.address()));
    }
    // ABBA: both take their first lock, meet, then ask for the other's;
    // the late waiter asks for A once both are stuck holding.
    let both_hold = Arc::new(Barrier::new(3));
    let meet = Arc::clone(&both_hold);
    spawn("ab-a", move || {
        a.lock();
        meet.wait();
        b.lock();
    });
    let meet = Arc::clone(&both_hold);
    spawn("ab-b", move || {
        b.lock();
        meet.wait();
        a.lock();
    });
    both_hold.wait();
    spawn("late-a", move || a.lock());

    // Holders that sleep, and their waiters.
    for (holder, waiter, mutex) in [("holder", "waiter", held), ("pi-holder", "pi-waiter", pi)] {
        let (tx, rx) = std::sync::mpsc::channel();
        spawn(holder, move || {
            mutex.lock();
            tx.send(()).unwrap();
            std::thread::sleep(LONG);
        });
        rx.recv().unwrap();
        spawn(waiter, move || mutex.lock());
    }
    static STD_MUTEX: std::sync::Mutex<u64> = std::sync::Mutex::new(0);
    let (tx, rx) = std::sync::mpsc::channel();
    spawn("std-holder", move || {
        let _guard = STD_MUTEX.lock().unwrap();
        tx.send(()).unwrap();
        std::thread::sleep(LONG);
    });
    rx.recv().unwrap();
    spawn("std-waiter", || drop(STD_MUTEX.lock()));

    let (reader, writer) = std::io::pipe().unwrap();
    std::mem::forget(writer);
    spawn("pipe-reader", move || {
        let mut reader = reader;
        let _ = reader.read(&mut [0u8; 16]);
    });
    spawn("sleeper", || std::thread::sleep(LONG));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    say(format!("port {}", listener.local_addr().unwrap().port()));
    spawn("acceptor", move || drop(listener.accept()));

    say("ready".into());
    // Until the test closes stdin (or kills us).
    let _ = std::io::stdin().read(&mut [0u8; 1]);
    std::process::exit(0);
}

/// The child's entry: a test that does nothing unless the environment
/// says this process is the child.
#[test]
fn child_entry() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
    }
}

// --------------------------------------------------------------- parent

/// The child process, killed and reaped on drop.
struct Target {
    child: Child,
    tids: HashMap<String, u32>,
    mutexes: HashMap<String, u64>,
    port: u16,
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Target {
    fn start() -> Target {
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut target = Target { child, tids: HashMap::new(), mutexes: HashMap::new(), port: 0 };
        let stdout = target.child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if tx.send(line.unwrap_or_default()).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).expect("the child says ready in time");
            let Some((_, ours)) = line.split_once("@@ ") else { continue }; // libtest's own lines
            let words: Vec<&str> = ours.split_whitespace().collect();
            match words.as_slice() {
                ["ready"] => return target,
                ["tid", role, tid] => drop(target.tids.insert((*role).into(), tid.parse().unwrap())),
                ["mutex", name, address] => drop(
                    target.mutexes.insert((*name).into(), u64::from_str_radix(&address[2..], 16).unwrap()),
                ),
                ["port", port] => target.port = port.parse().unwrap(),
                other => panic!("unexpected line from the child: {other:?}"),
            }
        }
    }

    fn tid(&self, role: &str) -> u32 {
        self.tids[role]
    }

    fn mutex(&self, name: &str) -> u64 {
        self.mutexes[name]
    }

    /// Samples until `settled` holds of the waits, for at most `PATIENCE`.
    fn waits_once(&self, settled: impl Fn(&ProcessWaits) -> bool) -> ProcessWaits {
        let pid = self.child.id();
        let mut sampler = Sampler::new(pid).unwrap();
        let mut reader = WaitReader::new(pid);
        let deadline = Instant::now() + PATIENCE;
        loop {
            let waits = reader.read(&sampler.sample().unwrap());
            if settled(&waits) {
                return waits;
            }
            assert!(Instant::now() < deadline, "the child's threads never settled: {waits:#?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn wait_of(waits: &ProcessWaits, tid: u32) -> Option<&KernelWait> {
    waits.thread(tid).and_then(|field| field.value())
}

fn in_futex(waits: &ProcessWaits, tid: u32) -> bool {
    wait_of(waits, tid).and_then(KernelWait::futex_wait).is_some()
}

/// Every role is asleep in the call the test expects of it.
fn settled(target: &Target) -> impl Fn(&ProcessWaits) -> bool + '_ {
    move |waits| {
        let futex = ["ab-a", "ab-b", "late-a", "waiter", "pi-waiter", "std-waiter"];
        let sleeping = ["holder", "pi-holder", "std-holder", "sleeper"];
        futex.iter().all(|role| in_futex(waits, target.tid(role)))
            && sleeping
                .iter()
                .all(|role| matches!(wait_of(waits, target.tid(role)), Some(KernelWait::Sleep { .. })))
            && matches!(wait_of(waits, target.tid("pipe-reader")), Some(KernelWait::Io { .. }))
            && matches!(wait_of(waits, target.tid("acceptor")), Some(KernelWait::Io { .. }))
    }
}

#[test]
fn a_foreign_programs_waits_owners_and_deadlock_by_tid() {
    let target = Target::start();
    let waits = target.waits_once(settled(&target));
    let t = |role| target.tid(role);
    assert_eq!(waits.missing_permission, None, "our own child may be read");

    // The ABBA deadlock, with the late waiter queued behind A.
    let a = waits.lock(target.mutex("a")).expect("threads wait on A");
    assert_eq!(a.owner.tid(), Some(t("ab-a")), "{a:?}");
    assert_eq!(a.waiters, sorted([t("ab-b"), t("late-a")]));
    let b = waits.lock(target.mutex("b")).expect("a thread waits on B");
    assert_eq!(b.owner.tid(), Some(t("ab-b")), "{b:?}");
    assert_eq!(b.waiters, vec![t("ab-a")]);
    assert_eq!(waits.deadlocks.len(), 1, "{:#?}", waits.deadlocks);
    let cycle = &waits.deadlocks[0];
    let (first, second) = if t("ab-a") < t("ab-b") { ("ab-a", "ab-b") } else { ("ab-b", "ab-a") };
    assert_eq!(cycle.threads, vec![t(first), t(second)]);
    let wanted = |role| if role == "ab-a" { target.mutex("b") } else { target.mutex("a") };
    assert_eq!(cycle.locks, vec![wanted(first), wanted(second)]);
    assert!(!cycle.threads.contains(&t("late-a")));
    assert!(matches!(
        wait_of(&waits, t("late-a")),
        Some(KernelWait::Futex { op: FutexOp::Wait, private: true, expected: 2, .. })
    ));

    // A holder asleep while another waits.
    let held = waits.lock(target.mutex("held")).unwrap();
    assert_eq!((held.owner.tid(), held.waiters.clone()), (Some(t("holder")), vec![t("waiter")]));
    let Some(KernelWait::Sleep { length, .. }) = wait_of(&waits, t("holder")) else { unreachable!() };
    assert_eq!(*length, Some(LONG), "std::thread::sleep asks for the whole hour");

    // The PI mutex: the owner from the futex word, the waiter in LOCK_PI.
    let pi = waits.lock(target.mutex("pi")).unwrap();
    assert!(pi.pi);
    assert!(
        matches!(pi.owner, LockOwner::Known { tid, kind: Some(kind) } if tid == t("pi-holder") && kind.protocol == MutexProtocol::Inherit),
        "{pi:?}"
    );
    assert_eq!(pi.waiters, vec![t("pi-waiter")]);
    let pi_op = wait_of(&waits, t("pi-waiter")).and_then(KernelWait::futex_wait).unwrap().1;
    assert!(pi_op.is_pi_lock(), "{pi_op:?}");

    // std's Mutex keeps no owner: said, not guessed.
    let std_lock = waits.locks.iter().find(|lock| lock.waiters.contains(&t("std-waiter"))).unwrap();
    assert!(matches!(std_lock.owner, LockOwner::Unknown(OwnerUnknown::NotRecorded { .. })), "{std_lock:?}");
    assert_eq!(
        LockOwner::Unknown(OwnerUnknown::NotRecorded { detail: "" }).tid(),
        None,
        "and no edge comes of it"
    );
    assert!(waits.deadlocks.iter().all(|c| !c.threads.contains(&t("std-waiter"))));

    // A pipe read, a sleep, an accept on 127.0.0.1.
    let Some(KernelWait::Io { direction: IoDirection::Read, target: pipe, .. }) =
        wait_of(&waits, t("pipe-reader"))
    else {
        panic!("{:?}", waits.thread(t("pipe-reader")))
    };
    assert!(matches!(pipe.value(), Some(FdTarget::Pipe { inode }) if *inode > 0), "{pipe:?}");
    assert!(
        matches!(wait_of(&waits, t("sleeper")), Some(KernelWait::Sleep { length: Some(l), .. }) if *l == LONG)
    );
    let Some(KernelWait::Io { direction: IoDirection::Accept, target: socket, .. }) =
        wait_of(&waits, t("acceptor"))
    else {
        panic!("{:?}", waits.thread(t("acceptor")))
    };
    let Some(FdTarget::Socket { socket: Some(Socket::Tcp { local, state, .. }), .. }) = socket.value() else {
        panic!("{socket:?}")
    };
    assert_eq!(local.to_string(), format!("127.0.0.1:{}", target.port));
    assert_eq!(*state, TcpState::Listen);

    // And the whole of it serialises, kinds tagged.
    let json = serde_json::to_value(&waits).unwrap();
    assert_eq!(json["deadlocks"][0]["threads"][0], t(first));
}

fn sorted<const N: usize>(mut tids: [u32; N]) -> Vec<u32> {
    tids.sort_unstable();
    tids.to_vec()
}

#[test]
fn without_permission_it_says_once_what_is_missing_and_how_to_get_it() {
    let child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_reads_its_parents_waits", "--nocapture", "--test-threads=1"])
        .env("THREADSCOPE_WAITS_PARENT", std::process::id().to_string())
        .output();
    let output = match child {
        Ok(output) => output,
        Err(err) => return eprintln!("skipped: cannot run setpriv ({err})"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if stdout.contains("skipped:") {
        return eprintln!("{stdout}");
    }
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("1 passed"), "{stdout}");
}

/// Run as user nobody by the test above, against this (root's) process.
#[test]
#[ignore = "run as another user by without_permission_it_says_once_what_is_missing_and_how_to_get_it"]
fn child_reads_its_parents_waits() {
    use threadscope::kernel::{Field, PtraceRead, Reason, Remedy};
    let Ok(parent) = std::env::var("THREADSCOPE_WAITS_PARENT") else { return };
    let parent: u32 = parent.parse().unwrap();
    if rustix::process::getuid().is_root() {
        return println!("skipped: still root, cannot test another user's process");
    }
    let waits = WaitReader::new(parent).read(&Sampler::new(parent).unwrap().sample().unwrap());
    let main = waits.thread(parent).unwrap();
    // `wchan` is hidden from another user too ("0"), so nothing is shown.
    assert!(matches!(
        main,
        Field::Unavailable(Reason::Denied) | Field::Available(KernelWait::InKernel { .. })
    ));
    let missing = waits.missing_permission.expect("the refusal is reported");
    assert_eq!(missing.pid, parent);
    assert_eq!(missing.denied, vec![PtraceRead::Syscalls]);
    assert_eq!(&missing.remedies[..3], &[Remedy::Root, Remedy::CapSysPtrace, Remedy::SameUser { uid: 0 }]);
    let text = missing.to_string();
    assert!(text.starts_with(&format!("cannot read the system calls of process {parent}")), "{text}");
}
