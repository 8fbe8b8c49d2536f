//! PARITY items 40–64: Condition, Event, Semaphore, Barrier, Timer and
//! local behave as CPython's do (see /work/shared/PARITY.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::sync::{join_ok, spawn_in, wait_blocked};
use common::{PATIENCE, eventually, not_early, wait_for_snapshot};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use threadscope::threading::{
    Barrier, BoundedSemaphore, Condition, ConditionLock, ErrorKind, Event, Local, Lock, Registry, Semaphore,
    Thread, ThreadState, Timer,
};

const SHORT: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------- Condition

#[test]
fn p40_the_default_lock_is_an_rlock_and_a_given_lock_is_used() {
    let cond = Arc::new(Condition::new());
    assert!(matches!(cond.lock(), ConditionLock::RLock(_)));
    cond.acquire();
    cond.acquire(); // re-entrant: no deadlock
    let other = cond.clone();
    let taken = Thread::spawn(move || assert!(!other.try_acquire())).unwrap();
    join_ok(&taken);
    cond.release().unwrap();
    cond.release().unwrap();

    let lock = Arc::new(Lock::new());
    let cond = Condition::with_lock(lock.clone());
    assert!(matches!(cond.lock(), ConditionLock::Lock(l) if Arc::ptr_eq(l, &lock)));
    cond.acquire();
    assert!(lock.locked());
    assert!(!cond.try_acquire(), "a plain Lock is not re-entrant");
    cond.release().unwrap();
    assert!(!lock.locked());
}

#[test]
fn p41_wait_and_notify_need_the_lock() {
    for cond in [Condition::new(), Condition::with_lock(Arc::new(Lock::new()))] {
        let wait = cond.wait(None).unwrap_err();
        assert_eq!(wait.to_string(), "RuntimeError: cannot wait on un-acquired lock");
        assert_eq!(cond.wait_for(|| false, None).unwrap_err(), wait);
        let notify = cond.notify(1).unwrap_err();
        assert_eq!(notify.to_string(), "RuntimeError: cannot notify on un-acquired lock");
        assert_eq!(cond.notify_all().unwrap_err(), notify);
    }
    // An RLock held by another thread is not "acquired" for this one.
    let cond = Arc::new(Condition::new());
    let holder = cond.clone();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let t = Thread::spawn(move || {
        let _held = holder.guard();
        held_tx.send(()).unwrap();
        done_rx.recv().unwrap();
    })
    .unwrap();
    held_rx.recv().unwrap();
    assert_eq!(cond.wait(Some(SHORT)).unwrap_err().kind(), ErrorKind::RuntimeError);
    assert_eq!(cond.notify(1).unwrap_err().kind(), ErrorKind::RuntimeError);
    done_tx.send(()).unwrap();
    join_ok(&t);
}

/// Starts `names` waiting on `cond` one after another (so their arrival
/// order is known); each appends its name to `woken` after `wait` returns.
fn start_waiters(
    registry: &Registry,
    cond: &Arc<Condition>,
    names: &[&str],
    woken: &Arc<Mutex<Vec<String>>>,
) -> Vec<Thread> {
    names
        .iter()
        .map(|&name| {
            let (cond, woken, me) = (cond.clone(), woken.clone(), name.to_owned());
            let t = spawn_in(registry, name, move || {
                let _held = cond.guard();
                assert_eq!(cond.wait(None), Ok(true));
                woken.lock().unwrap().push(me);
            });
            wait_blocked(registry, name, "cond", "wait");
            t
        })
        .collect()
}

#[test]
fn p42_notify_wakes_exactly_n_longest_waiting_after_the_notifier_releases() {
    let registry = Registry::new();
    let lock = Arc::new(Lock::with_registry(&registry));
    lock.set_name("cond-lock");
    let cond = Arc::new(Condition::with_lock(lock));
    cond.set_name("cond");
    // No waiters: nothing happens.
    cond.acquire();
    cond.notify(3).unwrap();
    cond.release().unwrap();

    let woken = Arc::new(Mutex::new(Vec::new()));
    let threads = start_waiters(&registry, &cond, &["w0", "w1", "w2", "w3", "w4"], &woken);

    cond.acquire();
    cond.notify(2).unwrap();
    // The two notified threads are now blocked re-acquiring the lock we
    // hold; the other three still wait on the condition.
    let waiters = |s: &threadscope::threading::RegistrySnapshot, name: &str| -> Vec<String> {
        let mut names: Vec<String> =
            s.primitive_named(name).unwrap().waiters.iter().map(|w| w.name.clone()).collect();
        names.sort();
        names
    };
    let snapshot = wait_for_snapshot(&registry, |s| waiters(s, "cond-lock") == ["w0", "w1"]);
    assert_eq!(waiters(&snapshot, "cond"), ["w2", "w3", "w4"]);
    assert!(woken.lock().unwrap().is_empty(), "nobody runs before the notifier releases");
    cond.release().unwrap();
    eventually("two woken", || (woken.lock().unwrap().len() == 2).then_some(()));
    let mut first = woken.lock().unwrap().clone();
    first.sort();
    assert_eq!(first, ["w0", "w1"]);

    cond.acquire();
    cond.notify_all().unwrap();
    cond.release().unwrap();
    for t in threads {
        join_ok(&t);
    }
    assert_eq!(woken.lock().unwrap().len(), 5);
}

#[test]
fn p43_a_wait_without_notify_times_out() {
    let cond = Condition::new();
    let _held = cond.guard();
    let start = Instant::now();
    assert_eq!(cond.wait(Some(SHORT)), Ok(false));
    not_early(start.elapsed(), SHORT);
    // The lock is held again afterwards.
    let ConditionLock::RLock(lock) = cond.lock() else { unreachable!() };
    assert_eq!(lock.recursion_count(), 1);
}

#[test]
fn p44_wait_for_returns_the_predicate_once_it_holds_or_its_last_value() {
    let cond = Arc::new(Condition::new());
    let state = Arc::new(AtomicUsize::new(0));
    let (c, s) = (cond.clone(), state.clone());
    let waiter = Thread::spawn(move || {
        let _held = c.guard();
        let result = c.wait_for(|| s.load(Ordering::Relaxed) == 4, None).unwrap();
        assert!(result);
        assert_eq!(s.load(Ordering::Relaxed), 4);
    })
    .unwrap();
    for _ in 0..4 {
        let _held = cond.guard();
        state.fetch_add(1, Ordering::Relaxed);
        cond.notify_all().unwrap();
    }
    join_ok(&waiter);

    let _held = cond.guard();
    let calls = AtomicUsize::new(0);
    let start = Instant::now();
    let result = cond.wait_for(
        || {
            calls.fetch_add(1, Ordering::Relaxed);
            false
        },
        Some(SHORT),
    );
    assert_eq!(result, Ok(false));
    not_early(start.elapsed(), SHORT);
    assert!(calls.load(Ordering::Relaxed) >= 2, "checked before and after waiting");
}

// -------------------------------------------------------------------- Event

#[test]
fn p45_set_and_clear_are_idempotent_and_repr_shows_the_flag() {
    let event = Event::new();
    assert!(!event.is_set());
    assert!(event.repr().starts_with("<threading.Event at 0x"));
    assert!(event.repr().ends_with(": unset>"));
    let () = event.set();
    event.set();
    assert!(event.is_set());
    assert!(event.repr().ends_with(": set>"));
    let () = event.clear();
    event.clear();
    assert!(!event.is_set());
}

#[test]
fn p46_every_waiter_returns_true_once_set_and_false_on_timeout() {
    let registry = Registry::new();
    let event = Arc::new(Event::with_registry(&registry));
    event.set_name("go");
    let waiters: Vec<Thread> = (0..5)
        .map(|i| {
            let event = event.clone();
            spawn_in(&registry, &format!("waiter-{i}"), move || assert_eq!(event.wait(None), Ok(true)))
        })
        .collect();
    wait_for_snapshot(&registry, |s| s.primitive_named("go").is_some_and(|p| p.waiters.len() == 5));
    event.set();
    for w in waiters {
        join_ok(&w);
    }
    assert_eq!(event.wait(None), Ok(true), "at once when already set");

    event.clear();
    assert_eq!(event.wait(Some(Duration::ZERO)), Ok(false));
    let start = Instant::now();
    assert_eq!(event.wait(Some(SHORT)), Ok(false));
    not_early(start.elapsed(), SHORT);
}

#[test]
fn p47_a_set_then_clear_before_the_waiter_wakes_still_returns_true() {
    let registry = Registry::new();
    let event = Arc::new(Event::with_registry(&registry));
    event.set_name("blink");
    for round in 0..20 {
        let name = format!("blinker-{round}");
        let e = event.clone();
        let waiter = spawn_in(&registry, &name, move || assert_eq!(e.wait(Some(PATIENCE)), Ok(true)));
        wait_blocked(&registry, &name, "blink", "wait");
        event.set();
        event.clear();
        join_ok(&waiter);
    }
}

// ---------------------------------------------------------------- Semaphore

#[test]
fn p48_a_negative_initial_value_is_a_value_error() {
    let msg = "ValueError: semaphore initial value must be >= 0";
    assert_eq!(Semaphore::try_new(-1).unwrap_err().to_string(), msg);
    assert_eq!(BoundedSemaphore::try_new(-1).unwrap_err().to_string(), msg);
    assert_eq!(Semaphore::try_new(0).unwrap().value(), 0);
}

#[test]
fn p49_default_value_try_acquire_timeout_and_repr() {
    assert_eq!(Semaphore::default().value(), 1);
    assert_eq!(BoundedSemaphore::default().value(), 1);
    let sem = Semaphore::new(1);
    assert!(sem.try_acquire());
    assert!(!sem.try_acquire());
    assert_eq!(sem.acquire_with(false, None), Ok(false));
    let start = Instant::now();
    assert_eq!(sem.acquire_timeout(SHORT), Ok(false));
    not_early(start.elapsed(), SHORT);
    let start = Instant::now();
    assert_eq!(sem.acquire_with(true, Some(SHORT.as_secs_f64())), Ok(false));
    not_early(start.elapsed(), SHORT);

    let sem = Semaphore::new(3);
    assert!(sem.repr().starts_with("<threading.Semaphore at 0x"));
    assert!(sem.repr().ends_with(": value=3>"));
    let bounded = BoundedSemaphore::new(3);
    bounded.acquire();
    assert!(bounded.repr().starts_with("<threading.BoundedSemaphore at 0x"));
    assert!(bounded.repr().ends_with(": value=2/3>"));
}

#[test]
fn p50_a_timeout_on_a_non_blocking_acquire_is_a_value_error() {
    let sem = Semaphore::new(1);
    let err = sem.acquire_with(false, Some(1.0)).unwrap_err();
    assert_eq!(err.to_string(), "ValueError: can't specify timeout for non-blocking acquire");
    let lock_err = Lock::new().acquire_with(false, 1.0).unwrap_err();
    assert_ne!(err.message(), lock_err.message(), "worded differently from Lock's");
    assert_eq!(sem.value(), 1, "nothing was acquired");
}

#[test]
fn p51_release_n_wakes_up_to_n_waiters_and_zero_is_an_error() {
    let registry = Registry::new();
    let sem = Arc::new(Semaphore::with_registry(0, &registry));
    sem.set_name("gate");
    let passed = Arc::new(AtomicUsize::new(0));
    let threads: Vec<Thread> = (0..5)
        .map(|i| {
            let (sem, passed) = (sem.clone(), passed.clone());
            spawn_in(&registry, &format!("p51-{i}"), move || {
                sem.acquire();
                passed.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    wait_for_snapshot(&registry, |s| s.primitive_named("gate").is_some_and(|p| p.waiters.len() == 5));
    assert_eq!(sem.release_n(0).unwrap_err().to_string(), "ValueError: n must be one or more");
    sem.release_n(3).unwrap();
    eventually("three passed", || (passed.load(Ordering::SeqCst) == 3).then_some(()));
    let snapshot =
        wait_for_snapshot(&registry, |s| s.primitive_named("gate").is_some_and(|p| p.waiters.len() == 2));
    assert_eq!(passed.load(Ordering::SeqCst), 3, "exactly n passed");
    assert_eq!(snapshot.primitive_named("gate").unwrap().details["value"], 0);
    sem.release_n(2).unwrap();
    for t in threads {
        join_ok(&t);
    }
    assert_eq!(passed.load(Ordering::SeqCst), 5);
}

#[test]
fn p52_a_plain_semaphore_may_be_released_past_its_initial_value() {
    let sem = Semaphore::new(1);
    sem.release().unwrap();
    sem.release_n(3).unwrap();
    assert_eq!(sem.value(), 5);
    assert!(sem.repr().ends_with(": value=5>"));
}

#[test]
fn p53_a_bounded_semaphore_refuses_over_release_also_from_other_threads() {
    let bounded = BoundedSemaphore::new(1);
    let err = bounded.release().unwrap_err();
    assert_eq!(err.to_string(), "ValueError: Semaphore released too many times");
    for limit in 1..10 {
        let bs = Arc::new(BoundedSemaphore::new(limit));
        let run_all = |op: fn(&BoundedSemaphore)| {
            let threads: Vec<Thread> = (0..limit)
                .map(|_| {
                    let bs = bs.clone();
                    Thread::spawn(move || op(&bs)).unwrap()
                })
                .collect();
            for t in threads {
                join_ok(&t);
            }
        };
        run_all(|bs| bs.acquire());
        run_all(|bs| bs.release().unwrap());
        assert_eq!(bs.release().unwrap_err().kind(), ErrorKind::ValueError);
        assert_eq!(bs.value(), limit);
    }
}

// ------------------------------------------------------------------ Barrier

#[test]
fn p54_parties_must_be_positive() {
    assert_eq!(Barrier::new(0).unwrap_err().to_string(), "ValueError: parties must be > 0");
    assert_eq!(Barrier::new(1).unwrap().parties(), 1);
}

#[test]
fn p55_indices_follow_arrival_and_a_single_party_never_waits() {
    let registry = Registry::new();
    let barrier = Arc::new(Barrier::with_registry(4, &registry).unwrap());
    barrier.set_name("gate");
    let mut threads = Vec::new();
    for i in 0..3 {
        let name = format!("arrival-{i}");
        let b = barrier.clone();
        threads.push(spawn_in(&registry, &name, move || assert_eq!(b.wait(None), Ok(i))));
        wait_blocked(&registry, &name, "gate", "wait");
    }
    assert_eq!(barrier.wait(None), Ok(3));
    for t in threads {
        join_ok(&t);
    }

    let single = Barrier::new(1).unwrap();
    for _ in 0..5 {
        assert_eq!(single.wait(None), Ok(0));
    }
}

#[test]
fn p56_reusable_over_many_rounds_and_repr() {
    let barrier = Arc::new(Barrier::new(3).unwrap());
    assert!(barrier.repr().starts_with("<threading.Barrier at 0x"));
    assert!(barrier.repr().ends_with(": waiters=0/3>"));
    let threads: Vec<Thread> = (0..2)
        .map(|_| {
            let b = barrier.clone();
            Thread::spawn(move || {
                for _ in 0..50 {
                    b.wait(None).unwrap();
                }
            })
            .unwrap()
        })
        .collect();
    for _ in 0..49 {
        barrier.wait(None).unwrap();
    }
    eventually("two waiting in the last round", || (barrier.n_waiting() == 2).then_some(()));
    assert!(barrier.repr().ends_with(": waiters=2/3>"));
    barrier.wait(None).unwrap();
    for t in threads {
        join_ok(&t);
    }
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
    barrier.abort();
    assert!(barrier.repr().ends_with(": broken>"));
}

#[test]
fn p57_the_action_runs_once_before_release_and_a_failing_one_breaks_the_barrier() {
    let runs = Arc::new(Mutex::new(Vec::new()));
    let log = runs.clone();
    let barrier = Arc::new(
        Barrier::new(3)
            .unwrap()
            .with_action(move || log.lock().unwrap().push(threadscope::threading::current_thread().name())),
    );
    let threads: Vec<Thread> = (0..3)
        .map(|i| {
            let (b, runs) = (barrier.clone(), runs.clone());
            Thread::builder().name(format!("party-{i}")).target(move || {
                for round in 1..=10 {
                    b.wait(None).unwrap();
                    let ran = runs.lock().unwrap().len();
                    assert_eq!(ran, 2 * round - 1, "the action ran before anyone was released");
                    b.wait(None).unwrap(); // keeps the next action from running yet
                }
            })
        })
        .collect();
    for t in &threads {
        t.start().unwrap();
    }
    for t in threads {
        join_ok(&t);
    }
    assert_eq!(runs.lock().unwrap().len(), 20);

    // An action that panics: that thread gets the panic, the others BrokenBarrierError.
    let barrier = Arc::new(Barrier::new(3).unwrap().with_action(|| panic!("action failed")));
    let others: Vec<Thread> = (0..2)
        .map(|_| {
            let b = barrier.clone();
            Thread::spawn(move || {
                assert_eq!(b.wait(None).unwrap_err().kind(), ErrorKind::BrokenBarrierError);
            })
            .unwrap()
        })
        .collect();
    eventually("two waiting", || (barrier.n_waiting() == 2).then_some(()));
    let b = barrier.clone();
    let last = Thread::spawn(move || {
        let result = panic::catch_unwind(AssertUnwindSafe(|| b.wait(None)));
        assert!(result.is_err(), "the action's panic reaches its thread");
    })
    .unwrap();
    join_ok(&last);
    for t in others {
        join_ok(&t);
    }
    assert!(barrier.broken());
}

#[test]
fn p58_abort_breaks_current_and_later_waits() {
    let barrier = Arc::new(Barrier::new(3).unwrap());
    let waiters: Vec<Thread> = (0..2)
        .map(|_| {
            let b = barrier.clone();
            Thread::spawn(move || {
                let err = b.wait(None).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::BrokenBarrierError);
                assert!(err.kind().is_runtime_error());
                assert_eq!(err.to_string(), "BrokenBarrierError");
            })
            .unwrap()
        })
        .collect();
    eventually("two waiting", || (barrier.n_waiting() == 2).then_some(()));
    barrier.abort();
    assert!(barrier.broken());
    for w in waiters {
        join_ok(&w);
    }
    assert_eq!(barrier.wait(None).unwrap_err().kind(), ErrorKind::BrokenBarrierError);
}

/// Runs one full round of `barrier` with `parties` threads.
fn full_round(barrier: &Arc<Barrier>) {
    let threads: Vec<Thread> = (1..barrier.parties())
        .map(|_| {
            let b = barrier.clone();
            Thread::spawn(move || {
                b.wait(None).unwrap();
            })
            .unwrap()
        })
        .collect();
    barrier.wait(None).unwrap();
    for t in threads {
        join_ok(&t);
    }
}

#[test]
fn p59_reset_breaks_current_waiters_and_the_barrier_is_usable_at_once() {
    let barrier = Arc::new(Barrier::new(3).unwrap());
    let waiters: Vec<Thread> = (0..2)
        .map(|_| {
            let b = barrier.clone();
            Thread::spawn(move || {
                assert_eq!(b.wait(None).unwrap_err().kind(), ErrorKind::BrokenBarrierError);
            })
            .unwrap()
        })
        .collect();
    eventually("two waiting", || (barrier.n_waiting() == 2).then_some(()));
    barrier.reset();
    for w in waiters {
        join_ok(&w);
    }
    assert!(!barrier.broken());
    full_round(&barrier);

    barrier.abort();
    barrier.reset();
    assert!(!barrier.broken());
    full_round(&barrier);
}

#[test]
fn p60_a_timeout_breaks_the_barrier_for_everyone_and_it_stays_broken() {
    let barrier = Arc::new(Barrier::new(3).unwrap());
    let b = barrier.clone();
    let patient = Thread::spawn(move || {
        assert_eq!(b.wait(None).unwrap_err().kind(), ErrorKind::BrokenBarrierError);
    })
    .unwrap();
    eventually("one waiting", || (barrier.n_waiting() == 1).then_some(()));
    let start = Instant::now();
    assert_eq!(barrier.wait(Some(SHORT)).unwrap_err().kind(), ErrorKind::BrokenBarrierError);
    not_early(start.elapsed(), SHORT);
    join_ok(&patient);
    assert!(barrier.broken());
    assert_eq!(barrier.wait(None).unwrap_err().kind(), ErrorKind::BrokenBarrierError);

    // The constructor's timeout is the default.
    let barrier = Barrier::new(2).unwrap().with_timeout(SHORT);
    let start = Instant::now();
    assert_eq!(barrier.wait(None).unwrap_err().kind(), ErrorKind::BrokenBarrierError);
    not_early(start.elapsed(), SHORT);
    assert!(barrier.broken());
}

// ------------------------------------------------------------ Timer / local

#[test]
fn p61_a_timer_calls_after_its_interval_unless_cancelled() {
    let interval = Duration::from_millis(50);
    let called = Arc::new(Mutex::new(None));
    let at = called.clone();
    let timer = Timer::new(interval, move || *at.lock().unwrap() = Some(Instant::now()));
    assert_eq!(timer.state(), ThreadState::Created);
    assert!(timer.name().starts_with("Thread-"));
    let start = Instant::now();
    timer.start().unwrap();
    timer.join().unwrap();
    let when = called.lock().unwrap().expect("the function was called");
    not_early(when - start, interval);
    assert!(timer.finished().is_set());

    let fired = Arc::new(AtomicBool::new(false));
    for cancel_before_start in [false, true] {
        let f = fired.clone();
        let timer = Timer::new(Duration::from_secs(3600), move || f.store(true, Ordering::SeqCst));
        if cancel_before_start {
            timer.cancel();
        }
        timer.start().unwrap();
        timer.cancel();
        timer.join().unwrap();
        assert!(timer.finished().is_set());
    }
    assert!(!fired.load(Ordering::SeqCst));

    // Each timer owns its arguments: changing one's does not change another's.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let timers: Vec<Timer> = (0..2)
        .map(|i| {
            let (seen, mut args) = (seen.clone(), vec![i]);
            if i == 0 {
                args.push(99);
            }
            Timer::new(Duration::ZERO, move || seen.lock().unwrap().push(args))
        })
        .collect();
    for t in &timers {
        t.start().unwrap();
        join_ok(t);
    }
    assert_eq!(*seen.lock().unwrap(), [vec![0, 99], vec![1]]);
}

#[test]
fn p62_values_are_per_thread_and_dict_is_read_only() {
    let mydata = Arc::new(Local::namespace());
    mydata.set_attr("x", 1).unwrap();
    let other = mydata.clone();
    join_ok(
        &Thread::spawn(move || {
            let err = other.get_attr::<i32>("x").unwrap_err();
            assert_eq!(err.to_string(), "AttributeError: '_thread._local' object has no attribute 'x'");
            other.set_attr("x", 2).unwrap();
            other.set_attr("y", 3).unwrap();
            assert_eq!(other.with(|ns| ns.names().count()), 2, "__dict__ is per thread");
        })
        .unwrap(),
    );
    assert_eq!(mydata.get_attr::<i32>("x"), Ok(1));
    assert!(!mydata.has_attr("y"));
    let err = mydata.set_attr("__dict__", 0).unwrap_err();
    assert_eq!(err.to_string(), "AttributeError: '_thread._local' object attribute '__dict__' is read-only");
    assert_eq!(mydata.del_attr("__dict__").unwrap_err(), err);
    assert_eq!(mydata.del_attr("nope").unwrap_err().kind(), ErrorKind::AttributeError);

    // A typed Local (the subclass analog): another thread sees its own start value.
    let typed = Arc::new(Local::new(String::new));
    typed.set("main".to_owned());
    let t = typed.clone();
    join_ok(&Thread::spawn(move || assert_eq!(t.get(), "")).unwrap());
    assert_eq!(typed.get(), "main");
}

#[test]
fn p63_init_arguments_are_captured_and_rerun_in_each_thread() {
    // `threading.local(1)` does not compile here (see Local's compile_fail
    // doctest); a subclass `__init__(self, *args)` is an init closure.
    let inits = Arc::new(AtomicUsize::new(0));
    let (count, args) = (inits.clone(), (7, "seven"));
    let local = Arc::new(Local::new(move || {
        count.fetch_add(1, Ordering::SeqCst);
        args
    }));
    assert_eq!(local.get(), (7, "seven"));
    let threads: Vec<Thread> = (0..3)
        .map(|_| {
            let local = local.clone();
            Thread::spawn(move || {
                assert_eq!(local.get(), (7, "seven"));
                assert_eq!(local.get(), (7, "seven"));
            })
            .unwrap()
        })
        .collect();
    for t in threads {
        join_ok(&t);
    }
    assert_eq!(inits.load(Ordering::SeqCst), 4, "once per thread");
}

struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A local whose per-thread value points back at the local itself.
struct SelfRef {
    local: Local<Mutex<Option<Arc<SelfRef>>>>,
}

#[test]
fn p64_values_are_freed_when_their_thread_exits_even_in_cycles() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    let local = Arc::new(Local::new(move || Tracked(d.clone())));
    let threads: Vec<Thread> = (0..4)
        .map(|_| {
            let local = local.clone();
            Thread::spawn(move || local.with(|_| ())).unwrap()
        })
        .collect();
    for t in threads {
        join_ok(&t);
    }
    assert_eq!(dropped.load(Ordering::SeqCst), 4);

    let weak: Weak<SelfRef> = {
        let cyclic = Arc::new(SelfRef { local: Local::new(|| Mutex::new(None)) });
        let weak = Arc::downgrade(&cyclic);
        join_ok(
            &Thread::spawn(move || {
                let me = cyclic.clone();
                cyclic.local.with(|slot| *slot.lock().unwrap() = Some(me));
            })
            .unwrap(),
        );
        weak
    };
    assert!(weak.upgrade().is_none(), "the cycle went with its thread");
}
