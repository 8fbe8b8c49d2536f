//! PARITY items 28–39: `Lock` and `RLock`, plus multi-thread stress.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{wait_for_snapshot, wait_for_state};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};
use threadscope::threading::{ErrorKind, Lock, RLock, Registry, Thread, ThreadState, get_ident};

fn spawn_in(registry: &Registry, name: &str, f: impl FnOnce() + Send + 'static) -> Thread {
    let t = Thread::builder().registry(registry).name(name).target(f);
    t.start().unwrap();
    t
}

#[test]
fn p28_try_acquire() {
    let lock = Arc::new(Lock::new());
    assert!(lock.try_acquire());
    assert!(!lock.try_acquire());
    assert!(!lock.acquire_with(false, -1.0).unwrap());
    lock.release().unwrap();
    // Held by another thread: still refused.
    let held = lock.clone();
    Thread::spawn(move || held.acquire()).unwrap().join().unwrap();
    assert!(!lock.try_acquire());
    lock.release().unwrap();
}

#[test]
fn p29_a_lock_is_not_reentrant() {
    let registry = Registry::new();
    let lock = Arc::new(Lock::with_registry(&registry));
    lock.set_name("twice");
    let inner = lock.clone();
    let t = spawn_in(&registry, "reacquirer", move || {
        inner.acquire();
        inner.acquire(); // blocks until someone else releases
    });
    let snapshot = wait_for_state(&registry, "reacquirer", ThreadState::Waiting);
    let waiting = snapshot.thread("reacquirer").unwrap().waiting_on.clone().unwrap();
    assert_eq!((waiting.kind.label(), waiting.name.as_str()), ("lock", "twice"));
    assert_eq!(waiting.holders[0].name, "reacquirer", "it waits on a lock it holds itself");
    lock.release().unwrap();
    t.join().unwrap();
    assert!(lock.locked());
}

#[test]
fn p30_any_thread_may_release() {
    let lock = Arc::new(Lock::new());
    let (tx, rx) = mpsc::channel();
    let held = lock.clone();
    let t = Thread::spawn(move || {
        held.acquire();
        tx.send(()).unwrap();
    })
    .unwrap();
    rx.recv().unwrap();
    lock.release().unwrap();
    assert!(!lock.locked());
    t.join().unwrap();
}

#[test]
fn p31_release_unlocked() {
    let lock = Lock::new();
    let err = lock.release().unwrap_err();
    assert_eq!(
        (err.kind(), err.to_string().as_str()),
        (ErrorKind::RuntimeError, "RuntimeError: release unlocked lock")
    );
    lock.acquire();
    lock.release().unwrap();
    assert!(lock.release().is_err());
}

#[test]
fn p32_argument_errors() {
    let lock = Lock::new();
    let err = lock.acquire_with(false, 1.0).unwrap_err();
    assert_eq!(err.to_string(), "ValueError: can't specify a timeout for a non-blocking call");
    let err = lock.acquire_with(true, -100.0).unwrap_err();
    assert_eq!(err.to_string(), "ValueError: timeout value must be a non-negative number");
    assert!(!lock.locked(), "a refused call does not acquire");
    assert!(lock.acquire_with(true, -1.0).unwrap(), "-1 means wait for ever");
    lock.release().unwrap();
}

#[test]
fn p33_timed_acquire_gives_up_and_the_lock_stays_usable() {
    let lock = Lock::new();
    lock.acquire();
    let timeout = Duration::from_millis(100);
    let start = Instant::now();
    assert!(!lock.acquire_timeout(timeout).unwrap());
    assert!(start.elapsed() >= timeout.mul_f64(0.6), "gave up early: {:?}", start.elapsed());
    assert!(!lock.acquire_with(true, 0.01).unwrap());
    lock.release().unwrap();
    assert!(lock.acquire_timeout(timeout).unwrap());
    lock.release().unwrap();
    assert!(lock.try_acquire());
}

#[test]
fn p34_every_blocked_acquirer_gets_through_and_guards_release_on_panic() {
    let registry = Registry::new();
    let lock = Arc::new(Lock::with_registry(&registry));
    lock.acquire();
    let threads: Vec<Thread> = (0..5)
        .map(|i| {
            let lock = lock.clone();
            spawn_in(&registry, &format!("blocked-{i}"), move || {
                lock.acquire();
                lock.release().unwrap();
            })
        })
        .collect();
    wait_for_snapshot(&registry, |s| s.primitives[0].waiters.len() == 5);
    lock.release().unwrap();
    threads.iter().for_each(|t| t.join().unwrap());
    assert!(!lock.locked());

    let result = catch_unwind(AssertUnwindSafe(|| {
        let _held = lock.guard();
        panic!("body raised");
    }));
    assert!(result.is_err());
    assert!(!lock.locked(), "`with` released the lock");
}

#[test]
fn p35_repr() {
    let lock = Lock::new();
    let address = format!("{:p}", &lock);
    assert_eq!(lock.repr(), format!("<unlocked _thread.lock object at {address}>"));
    lock.acquire();
    assert_eq!(format!("{lock:?}"), format!("<locked _thread.lock object at {address}>"));
    lock.release().unwrap();
}

#[test]
fn p36_rlock_is_reentrant() {
    let rlock = RLock::new();
    for _ in 0..5 {
        rlock.acquire();
    }
    for _ in 0..5 {
        rlock.release().unwrap();
    }
    assert!(!rlock.locked());
    assert!(rlock.release().is_err());
}

#[test]
fn p37_rlock_release_errors_and_other_threads() {
    let rlock = Arc::new(RLock::new());
    let err = rlock.release().unwrap_err();
    assert_eq!(err.to_string(), "RuntimeError: cannot release un-acquired lock");
    rlock.acquire();
    let other = rlock.clone();
    let (tx, rx) = mpsc::channel();
    Thread::spawn(move || {
        tx.send((other.release(), other.try_acquire(), other.acquire_with(false, -1.0))).unwrap()
    })
    .unwrap()
    .join()
    .unwrap();
    let (release, try_acquire, acquire_false) = rx.recv().unwrap();
    assert_eq!(release.unwrap_err().to_string(), "RuntimeError: cannot release un-acquired lock");
    assert!(!try_acquire && !acquire_false.unwrap());
    rlock.release().unwrap();
}

#[test]
fn p38_is_owned_and_recursion_count() {
    let rlock = Arc::new(RLock::new());
    let mut counts = vec![rlock.recursion_count()];
    rlock.acquire();
    counts.push(rlock.recursion_count());
    rlock.acquire();
    rlock.acquire();
    counts.push(rlock.recursion_count());
    rlock.release().unwrap();
    counts.push(rlock.recursion_count());
    assert!(rlock.is_owned());
    let other = rlock.clone();
    let (tx, rx) = mpsc::channel();
    Thread::spawn(move || tx.send((other.is_owned(), other.recursion_count())).unwrap())
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(rx.recv().unwrap(), (false, 0));
    rlock.release().unwrap();
    rlock.release().unwrap();
    counts.push(rlock.recursion_count());
    assert_eq!(counts, [0, 1, 3, 2, 0]);
    assert!(!rlock.is_owned());
}

#[test]
fn p39_rlock_repr() {
    let rlock = RLock::new();
    let address = format!("{:p}", &rlock);
    assert_eq!(rlock.repr(), format!("<unlocked _thread.RLock object owner=0 count=0 at {address}>"));
    rlock.acquire();
    rlock.acquire();
    assert_eq!(
        rlock.repr(),
        format!("<locked _thread.RLock object owner={} count=2 at {address}>", get_ident())
    );
    rlock.release().unwrap();
    rlock.release().unwrap();
}

/// Many threads doing a non-atomic read-modify-write under the lock: any
/// lapse in mutual exclusion loses an increment.
fn hammer(acquire: impl Fn() + Send + Sync + 'static, release: impl Fn() + Send + Sync + 'static) -> u64 {
    const THREADS: u64 = 8;
    const ROUNDS: u64 = 20_000;
    let counter = Arc::new(AtomicU64::new(0));
    let ops = Arc::new((acquire, release));
    let threads: Vec<Thread> = (0..THREADS)
        .map(|_| {
            let (counter, ops) = (counter.clone(), ops.clone());
            Thread::spawn(move || {
                for _ in 0..ROUNDS {
                    (ops.0)();
                    let n = counter.load(Ordering::Relaxed);
                    std::hint::spin_loop();
                    counter.store(n + 1, Ordering::Relaxed);
                    (ops.1)();
                }
            })
            .unwrap()
        })
        .collect();
    threads.iter().for_each(|t| t.join().unwrap());
    assert_eq!(counter.load(Ordering::Relaxed), THREADS * ROUNDS);
    THREADS * ROUNDS
}

#[test]
fn stress_lock_mutual_exclusion() {
    let lock = Arc::new(Lock::new());
    let (a, r) = (lock.clone(), lock.clone());
    let total = hammer(move || a.acquire(), move || r.release().unwrap());
    let stats = lock.record().stats_now();
    assert_eq!(stats.acquisitions, total);
    assert!(!lock.locked());
}

#[test]
fn stress_rlock_mutual_exclusion_with_reentry() {
    let lock = Arc::new(RLock::new());
    let (a, r) = (lock.clone(), lock.clone());
    hammer(
        move || {
            a.acquire();
            a.acquire();
        },
        move || {
            r.release().unwrap();
            r.release().unwrap();
        },
    );
    assert!(!lock.locked());
}

#[test]
fn stress_timed_acquires_never_break_the_lock() {
    let lock = Arc::new(Lock::new());
    let threads: Vec<Thread> = (0..4)
        .map(|_| {
            let lock = lock.clone();
            Thread::spawn(move || {
                for i in 0..2_000 {
                    if lock.acquire_timeout(Duration::from_micros(i % 50)).unwrap() {
                        lock.release().unwrap();
                    }
                }
            })
            .unwrap()
        })
        .collect();
    threads.iter().for_each(|t| t.join().unwrap());
    assert!(!lock.locked());
    assert!(lock.try_acquire());
}
