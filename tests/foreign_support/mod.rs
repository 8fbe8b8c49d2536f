//! The child program of the foreign-process tests (`mod foreign_support;`):
//! a program that never heard of threadscope, calling glibc's pthread
//! functions directly. Each test crate re-runs its own binary as the child
//! through a `child_entry` test that calls [`child`].
//!
//! The child makes: an ABBA deadlock (ab-a holds A and wants B, ab-b holds
//! B and wants A) with a third thread queued behind A; a holder that sleeps
//! while another waits; a PI mutex holder and waiter; a std::sync::Mutex
//! holder and two waiters (a lock that records no owner); a pipe reader; a
//! sleeper; a thread joining another (asleep); a thread in accept on
//! 127.0.0.1.

// The child calls libc's pthread functions on mutexes it leaks: unsafe
// code, allowed here only (an integration test is its own crate), each
// call with its reason.
#![allow(unsafe_code, dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

pub const CHILD_ENV: &str = "THREADSCOPE_FOREIGN_WAITS_CHILD";
/// How long anything may take before the test gives up (never hang CI).
pub const PATIENCE: Duration = Duration::from_secs(20);
pub const LONG: Duration = Duration::from_secs(3600);

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

pub fn child() {
    if std::env::var(CHILD_ENV).as_deref() == Ok(JOIN_DEADLOCK_CHILD) {
        return join_deadlock_child();
    }
    if std::env::var(CHILD_ENV).as_deref() == Ok(STACKS_CHILD) {
        return stacks_child();
    }
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
    // Two waiters: an owner-less futex with one sleeper is a parked thread
    // to threadscope, with two it is a lock row that says it has no owner.
    spawn("std-waiter-2", || drop(STD_MUTEX.lock()));

    let (reader, writer) = std::io::pipe().unwrap();
    std::mem::forget(writer);
    spawn("pipe-reader", move || {
        let mut reader = reader;
        let _ = reader.read(&mut [0u8; 16]);
    });
    spawn("sleeper", || std::thread::sleep(LONG));
    // A thread joining another that sleeps: glibc's pthread_join is a
    // futex wait on the joined thread's TID.
    let (said, told) = std::sync::mpsc::channel();
    let joined = std::thread::Builder::new()
        .name("joined".into())
        .spawn(move || {
            say(format!("tid joined {}", tid()));
            said.send(()).unwrap();
            std::thread::sleep(LONG);
        })
        .unwrap();
    told.recv().unwrap();
    spawn("joiner", move || drop(joined.join()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    say(format!("port {}", listener.local_addr().unwrap().port()));
    spawn("acceptor", move || drop(listener.accept()));

    say("ready".into());
    // Until the test closes stdin (or kills us).
    let _ = std::io::stdin().read(&mut [0u8; 1]);
    std::process::exit(0);
}

/// [`CHILD_ENV`]'s value for the child of [`join_deadlock_child`].
pub const JOIN_DEADLOCK_CHILD: &str = "join-deadlock";

/// A deadlock through a join: `joiner` holds a pthread mutex and joins
/// `locker`, which waits for that mutex.
pub fn join_deadlock_child() {
    let mutex = RawMutex::new(false);
    let (held, holds) = std::sync::mpsc::channel();
    let (go, gone) = std::sync::mpsc::channel::<()>();
    spawn("joiner", move || {
        mutex.lock();
        held.send(()).unwrap();
        let locker = std::thread::Builder::new()
            .name("locker".into())
            .spawn(move || {
                say(format!("tid locker {}", tid()));
                go.send(()).unwrap();
                mutex.lock();
            })
            .unwrap();
        drop(locker.join());
    });
    holds.recv().unwrap();
    gone.recv().unwrap();
    say("ready".into());
    let _ = std::io::stdin().read(&mut [0u8; 1]);
    std::process::exit(0);
}

/// [`CHILD_ENV`]'s value for the native-stacks child ([`stacks_child`]).
pub const STACKS_CHILD: &str = "stacks";

/// Blocks in `read` on a pipe nobody writes to: a frame a native stack
/// must name.
#[inline(never)]
pub fn blocked_in_pipe_read(mut reader: std::io::PipeReader) {
    let _ = reader.read(&mut [0u8; 16]);
    // Not a tail call: this frame stays on the stack under `read`.
    std::hint::black_box(&reader);
}

/// Sleeps in `nanosleep` (glibc's `clock_nanosleep`).
#[inline(never)]
pub fn blocked_in_nanosleep() {
    std::thread::sleep(LONG);
    std::hint::black_box(());
}

/// Recurses `depth` frames of a KiB each, then sleeps: a stack deeper than
/// the window threadscope copies.
#[inline(never)]
pub fn deep_recursion(depth: usize) {
    let pad = std::hint::black_box([depth as u8; 1024]);
    if depth == 0 {
        blocked_in_nanosleep();
    } else {
        deep_recursion(depth - 1);
    }
    std::hint::black_box(&pad);
}

/// The native-stacks child: a pipe reader, a sleeper and a deep sleeper,
/// each in a known function, and the TID of a thread that has ended.
pub fn stacks_child() {
    let (reader, writer) = std::io::pipe().unwrap();
    std::mem::forget(writer);
    spawn("pipe-reader", move || blocked_in_pipe_read(reader));
    spawn("sleeper", blocked_in_nanosleep);
    spawn("deep", || deep_recursion(200));
    let ended = std::thread::spawn(tid).join().unwrap();
    say(format!("tid ended {ended}"));
    say("ready".into());
    let _ = std::io::stdin().read(&mut [0u8; 1]);
    std::process::exit(0);
}

// --------------------------------------------------------------- parent

/// The child process, killed and reaped on drop.
pub struct Target {
    pub child: Child,
    pub tids: HashMap<String, u32>,
    pub mutexes: HashMap<String, u64>,
    pub port: u16,
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Target {
    /// Starts the test binary `exe` as the child, until it says ready.
    pub fn start(exe: std::path::PathBuf) -> Target {
        Self::start_kind(exe, "1")
    }

    /// Starts the test binary `exe` as the child of kind `kind` (the value
    /// of [`CHILD_ENV`]: `1`, or [`STACKS_CHILD`]).
    pub fn start_kind(exe: impl AsRef<std::ffi::OsStr>, kind: &str) -> Target {
        let child = Command::new(exe)
            .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, kind)
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

    pub fn tid(&self, role: &str) -> u32 {
        self.tids[role]
    }

    pub fn mutex(&self, name: &str) -> u64 {
        self.mutexes[name]
    }
}
