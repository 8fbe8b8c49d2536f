//! Every built-in scenario reaches its characteristic state on real
//! threads, checked through the registry, and stops cleanly (or, for the
//! deadlocks, says exactly which threads cannot be stopped).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::wait_for_snapshot;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use threadscope::inspect::confirmed_deadlocks;
use threadscope::scenario::{self, RunningScenario};
use threadscope::threading::{Outcome, Registry, RegistrySnapshot, ThreadState, kernel_comm};

fn start(name: &str) -> (RunningScenario, Registry) {
    let registry = Registry::new();
    let scenario = scenario::builtin(name).unwrap().load(None).unwrap();
    (RunningScenario::start(scenario, &registry).unwrap(), registry)
}

fn stop_cleanly(mut running: RunningScenario) {
    let report = running.stop(Duration::from_secs(10));
    assert!(report.stuck.is_empty(), "{:?}", report.stuck);
    // Every member stopped (the pools' workers are reported too).
    for thread in running.threads() {
        assert!(report.stopped.contains(&thread.name()), "{} not in {:?}", thread.name(), report.stopped);
    }
}

/// Thread names around the wait-for cycle that starts at `start`, if any:
/// thread → the lock it waits on → that lock's holder → …
fn wait_cycle(snapshot: &RegistrySnapshot, start: &str) -> Option<Vec<String>> {
    let next: HashMap<&str, &str> = snapshot
        .threads
        .iter()
        .filter_map(|t| {
            let on = t.waiting_on.as_ref()?;
            Some((t.name.as_str(), on.holders.first()?.name.as_str()))
        })
        .collect();
    let mut path = vec![start];
    let mut at = start;
    loop {
        at = next.get(at)?;
        if at == start {
            return Some(path.iter().map(|s| s.to_string()).collect());
        }
        if path.contains(&at) || path.len() > snapshot.threads.len() {
            return None;
        }
        path.push(at);
    }
}

#[test]
fn deadlock_forms_the_abba_cycle_and_reports_both_as_unstoppable() {
    let (mut running, registry) = start("deadlock");
    let snapshot = wait_for_snapshot(&registry, |s| wait_cycle(s, "Transfer-AB").is_some());
    let mut cycle = wait_cycle(&snapshot, "Transfer-AB").unwrap();
    cycle.sort();
    assert_eq!(cycle, ["Transfer-AB", "Transfer-BA"]);
    let report = running.stop(Duration::from_millis(200));
    let stuck: Vec<String> = report.stuck.iter().map(|s| s.to_string()).collect();
    assert_eq!(stuck.len(), 2);
    assert!(
        stuck[0]
            .starts_with("Transfer-AB (daemon): blocked in acquire of lock account-B (held by Transfer-BA)"),
        "{stuck:?}"
    );
    assert!(
        stuck[1]
            .starts_with("Transfer-BA (daemon): blocked in acquire of lock account-A (held by Transfer-AB)"),
        "{stuck:?}"
    );
}

#[test]
fn dining_philosophers_deadlock_in_a_cycle_of_five() {
    let (mut running, registry) = start("dining-philosophers");
    let snapshot =
        wait_for_snapshot(&registry, |s| wait_cycle(s, "Philosopher-0").is_some_and(|c| c.len() == 5));
    assert_eq!(
        wait_cycle(&snapshot, "Philosopher-0").unwrap(),
        ["Philosopher-0", "Philosopher-1", "Philosopher-2", "Philosopher-3", "Philosopher-4"]
    );
    assert_eq!(running.stop(Duration::from_millis(200)).stuck.len(), 5);
}

#[test]
fn ordered_philosophers_all_eat() {
    let (running, registry) = start("dining-philosophers-ordered");
    let deadline = Instant::now() + Duration::from_secs(20);
    while running.progress().iter().any(|p| p.loops < 3) {
        assert!(Instant::now() < deadline, "someone starved: {:?}", running.progress());
        // A single snapshot's records are read at different moments and may
        // show a cycle that never existed; a deadlock is what survives the
        // re-read, as the inspector reports it.
        let snapshot = registry.snapshot();
        let deadlocks = confirmed_deadlocks(&registry, &snapshot);
        assert!(deadlocks.is_empty(), "a cycle formed: {deadlocks:?} in {snapshot:#?}");
        std::thread::yield_now();
    }
    stop_cleanly(running);
}

#[test]
fn producer_consumer_moves_items_through_the_queue() {
    let (running, registry) = start("producer-consumer");
    let snapshot = wait_for_snapshot(&registry, |s| {
        s.primitive_named("orders").is_some_and(|q| q.details["gets"] >= 5 && q.details["tasks_done"] >= 3)
    });
    let orders = snapshot.primitive_named("orders").unwrap();
    assert_eq!(orders.details["maxsize"], 8);
    assert!(orders.details["puts"] >= orders.details["gets"]);
    // The queue may be full when producers stop, or empty when consumers
    // do: a producer blocked in `put`, or a consumer in `get` once the
    // producers are gone, cannot be interrupted (nor in Python) and is
    // reported as such. Nothing else may be left behind.
    let mut running = running;
    let report = running.stop(Duration::from_secs(10));
    for stuck in &report.stuck {
        let expected = match stuck.name.split('-').next() {
            Some("Producer") => "put of queue orders",
            Some("Consumer") => "get of queue orders",
            _ => panic!("{stuck} should have stopped"),
        };
        assert_eq!(stuck.waiting_on.as_deref(), Some(expected), "{stuck}");
    }
}

#[test]
fn lock_convoy_queues_workers_on_the_ledger() {
    let (running, registry) = start("lock-convoy");
    // Between two holders the ledger has none for a moment while its
    // queue stays: wait for a held moment rather than assume one.
    let snapshot = wait_for_snapshot(&registry, |s| {
        s.primitive_named("ledger").is_some_and(|l| l.waiters.len() >= 3 && l.holders.len() == 1)
    });
    let ledger = snapshot.primitive_named("ledger").unwrap();
    assert!(ledger.holders[0].name.starts_with("Worker-"), "{ledger:?}");
    assert!(ledger.waiters.iter().all(|w| w.name.starts_with("Worker-") && w.id != ledger.holders[0].id));
    stop_cleanly(running);
}

#[test]
fn tour_shows_a_lock_queue_a_pipeline_a_daemon_and_a_created_thread() {
    let (running, registry) = start("tour");
    let snapshot = wait_for_snapshot(&registry, |s| {
        let readers_waiting = (1..=3)
            .filter(|i| {
                s.thread(&format!("Config-Reader-{i}"))
                    .and_then(|t| t.waiting_on.as_ref())
                    .is_some_and(|w| w.name == "config" && w.holders.iter().any(|h| h.name == "Lock-Holder"))
            })
            .count();
        readers_waiting >= 2 && s.primitive_named("jobs").is_some_and(|q| q.details["gets"] >= 1)
    });
    assert!(snapshot.thread("Housekeeper").unwrap().daemon);
    assert_eq!(snapshot.thread("Late-Starter").unwrap().state, ThreadState::Created);
    running.start_thread("Late-Starter").unwrap();
    wait_for_snapshot(&registry, |s| {
        s.thread("Late-Starter").is_some_and(|t| t.state != ThreadState::Created)
    });
    assert!(running.start_thread("Late-Starter").is_err(), "threads can only be started once");
    assert!(running.start_thread("Nobody").is_err());
    stop_cleanly(running);
}

#[test]
fn daemon_flags_follow_the_file() {
    let (running, registry) = start("daemon-vs-nondaemon");
    let snapshot = wait_for_snapshot(&registry, |s| {
        s.threads.iter().filter(|t| t.state != ThreadState::Created).count() == 5
    });
    for t in &snapshot.threads {
        assert_eq!(t.daemon, t.name.starts_with("Heartbeat"), "{}", t.name);
    }
    stop_cleanly(running);
}

#[test]
fn thread_pool_runs_on_named_workers_and_reports_the_raising_task() {
    let (running, registry) = start("thread-pool");
    let deadline = Instant::now() + Duration::from_secs(20);
    let faulty = loop {
        let progress = running.progress();
        let faulty = progress.iter().find(|p| p.name == "Faulty-Dispatcher").unwrap().clone();
        if faulty.failed_tasks >= 1 {
            break faulty;
        }
        assert!(Instant::now() < deadline, "no task ever raised: {progress:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        faulty.last_task_error.as_deref().is_some_and(|e| e.contains("invalid record in batch")),
        "{faulty:?}"
    );
    let snapshot = registry.snapshot();
    let workers: Vec<&str> =
        snapshot.threads.iter().map(|t| t.name.as_str()).filter(|n| n.starts_with("Pool_")).collect();
    assert!(!workers.is_empty() && workers.len() <= 4, "{workers:?}");
    // The pool keeps the raise, at the scenario's `panic` step.
    let pool = snapshot.primitive_named("pool").unwrap();
    let raise = pool.last_raise.as_ref().unwrap();
    assert_eq!(raise.message, "invalid record in batch");
    assert_eq!(raise.location.as_deref(), Some("thread-pool.toml:28:49"));
    assert!(raise.thread.starts_with("Pool_"), "{raise:?}");
    assert!(pool.details["raised"] >= 1 && pool.details["done"] >= 2, "{:?}", pool.details);
    stop_cleanly(running);
}

#[test]
fn event_cancellation_workers_wait_on_the_event_then_stop_when_it_is_set() {
    let (running, registry) = start("event-cancellation");
    wait_for_snapshot(&registry, |s| {
        s.primitive_named("cancel").is_some_and(|e| !e.waiters.is_empty())
            && s.threads.iter().any(|t| {
                t.waiting_on.as_ref().is_some_and(|w| w.kind.label() == "event" && w.name == "cancel")
            })
    });
    // Once Controller sets it, every worker returns and Controller joins them.
    let ended = |s: &RegistrySnapshot, name: &str| {
        s.thread(name)
            .is_some_and(|t| t.state == ThreadState::Terminated && t.outcome == Some(Outcome::Returned))
    };
    wait_for_snapshot(&registry, |s| {
        (1..=4).all(|i| ended(s, &format!("Download-{i}")))
            && ended(s, "Controller")
            && s.primitive_named("cancel").is_some_and(|e| e.waiters.is_empty())
    });
    stop_cleanly(running);
}

fn comm(tid: u32) -> String {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap_or_default().trim_end().to_owned()
}

#[test]
fn naming_patterns_truncate_collide_and_rename() {
    let (running, registry) = start("naming-patterns");
    let threads = running.threads().to_vec();
    let by_name = |name: &str| threads.iter().find(|t| t.name() == name).unwrap().clone();
    // Truncated by the kernel.
    let payment = by_name("PaymentService-Processor-1");
    assert_eq!(comm(payment.native_id().unwrap()), "PaymentService-");
    // Two different names, one comm.
    let (a, b) = (by_name("InventorySyncWorker-Primary"), by_name("InventorySyncWorker-Secondary"));
    assert_eq!(comm(a.native_id().unwrap()), comm(b.native_id().unwrap()));
    assert_eq!(kernel_comm(&a.name()), "InventorySyncWo");
    // Default names, an id-like pattern and literal braces.
    assert_eq!(threads.iter().filter(|t| t.name().starts_with("Thread-")).count(), 2);
    assert!(threads.iter().any(|t| t.name() == "UserSession-1037"));
    assert!(threads.iter().any(|t| t.name() == "{i}-literal-braces"));
    // A rename while running reaches the kernel.
    let reporter = by_name("Metrics-Reporter");
    let tid = reporter.native_id().unwrap();
    wait_for_snapshot(&registry, |_| reporter.name() == "Metrics-Reporter-Renamed-While-Running");
    assert_eq!(comm(tid), "Metrics-Reporte");
    assert_eq!(
        registry.snapshot().thread("Metrics-Reporter-Renamed-While-Running").unwrap().native_id,
        Some(tid)
    );
    stop_cleanly(running);
}

#[test]
fn thread_storm_runs_two_thousand_threads_and_stops() {
    let (running, registry) = start("thread-storm");
    let snapshot = wait_for_snapshot(&registry, |s| {
        s.threads.iter().filter(|t| t.state != ThreadState::Created).count() == 2000
    });
    assert!(snapshot.threads.iter().all(|t| t.daemon));
    stop_cleanly(running);
}

#[test]
fn gil_makes_crunchers_queue_for_the_interpreter_lock() {
    let (running, registry) = start("gil");
    // As for the ledger: wait for a moment the GIL is held, not between holders.
    let snapshot = wait_for_snapshot(&registry, |s| {
        s.primitive_named("GIL").is_some_and(|g| g.waiters.len() >= 2 && g.holders.len() == 1)
    });
    let gil = snapshot.primitive_named("GIL").unwrap();
    assert!(gil.holders[0].name.starts_with("Cruncher-") || gil.holders[0].name.starts_with("Fetcher-"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while running.progress().iter().any(|p| p.ops == 0) {
        assert!(Instant::now() < deadline, "someone never ran: {:?}", running.progress());
        std::thread::sleep(Duration::from_millis(20));
    }
    stop_cleanly(running);
}

#[test]
fn exceptions_record_raise_and_exit() {
    threadscope::threading::set_excepthook(|_| ()); // keep the test output quiet
    let (running, registry) = start("exceptions");
    let snapshot = wait_for_snapshot(&registry, |s| {
        ["Parser-1", "Quitter"]
            .iter()
            .all(|n| s.thread(n).is_some_and(|t| t.state == ThreadState::Terminated))
    });
    threadscope::threading::reset_excepthook();
    match &snapshot.thread("Parser-1").unwrap().outcome {
        // Raised where the scenario says, not in the interpreter's source.
        Some(Outcome::Panicked { message, location }) => {
            assert_eq!(message, "unexpected token at line 42");
            assert_eq!(location.as_deref(), Some("exceptions.toml:13:51"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(snapshot.thread("Quitter").unwrap().outcome, Some(Outcome::Exited));
    assert_ne!(snapshot.thread("Survivor").unwrap().state, ThreadState::Terminated);
    stop_cleanly(running);
}

#[test]
fn interrupt_main_watchdog_fires_after_its_timeout() {
    // The test process has no SIGINT handler, so, as in Python,
    // interrupt_main does nothing here; the child-process test in
    // parity_threads proves delivery. What this scenario must do is time
    // out on `done` and call it without error.
    let (running, registry) = start("interrupt-main");
    let snapshot = wait_for_snapshot(&registry, |s| {
        s.thread("Watchdog").is_some_and(|t| t.state == ThreadState::Terminated)
    });
    assert_eq!(snapshot.thread("Watchdog").unwrap().outcome, Some(Outcome::Returned));
    assert_ne!(snapshot.thread("Long-Job").unwrap().state, ThreadState::Terminated, "the job overran");
    stop_cleanly(running);
}
