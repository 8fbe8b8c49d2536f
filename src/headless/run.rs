//! Running a scenario without the TUI: lifecycle events as text lines
//! until Ctrl-C (or SIGTERM, SIGHUP), `--for` elapses, or every thread ends.

use crate::display::sanitize;
use crate::scenario::{self, RunningScenario};
use crate::threading::{
    Outcome, Registry, RegistrySnapshot, ThreadOrigin, ThreadSnapshot, ThreadState, WaitKind,
};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the registry is sampled for changes.
const TICK: Duration = Duration::from_millis(100);
/// How long stopping waits for threads to finish.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Runs a scenario headless, printing what its threads do.
///
/// # Errors
///
/// A scenario that cannot be loaded or started.
pub fn run(name_or_path: &str, run_for: Option<Duration>) -> Result<(), String> {
    run_with_flight(name_or_path, run_for, None)
}

/// [`run`], with a flight recorder keeping the last minutes of snapshots
/// (sampled every second) and writing them to a file in the current
/// directory when a deadlock appears or on SIGUSR1, saying where on stderr.
///
/// # Errors
///
/// A scenario that cannot be loaded or started; the process cannot be read.
pub fn run_with_flight(
    name_or_path: &str,
    run_for: Option<Duration>,
    flight: Option<crate::record::FlightBudget>,
) -> Result<(), String> {
    let scenario = scenario::load(name_or_path).map_err(|e| e.to_string())?;
    let mut flight = match flight {
        Some(budget) => Some(super::flight::HeadlessFlight::new(budget, &scenario.name)?),
        None => None,
    };
    let interrupted = interrupt_flag()?;
    install_safe_excepthook();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}: {}", sanitize(&scenario.name), sanitize(&scenario.description));
    let _ = writeln!(out, "(Ctrl-C to stop)");
    let _ = out.flush();
    drop(out);

    let registry = Registry::global();
    let mut running = RunningScenario::start(scenario, registry).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut events = EventPrinter::default();
    let mut deadlocks = DeadlockWatch::default();
    let ids: Vec<u64> = running.threads().iter().map(|t| t.id()).collect();
    let reason = loop {
        let snapshot = registry.snapshot();
        events.print(&snapshot, &ids, started.elapsed());
        deadlocks.print(registry, &snapshot, started.elapsed());
        if let Some(flight) = flight.as_mut() {
            flight.tick();
        }
        if interrupted.load(Ordering::Relaxed) {
            break "interrupted by a signal: Ctrl-C, SIGTERM, or a thread's interrupt_main";
        }
        if run_for.is_some_and(|limit| started.elapsed() >= limit) {
            break "time is up";
        }
        if running.threads().iter().all(|t| t.state() == ThreadState::Terminated) {
            break "every thread has ended";
        }
        std::thread::sleep(TICK);
    };
    let report = running.stop(STOP_GRACE);
    events.print(&registry.snapshot(), &ids, started.elapsed());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "stopping ({reason}): {} thread(s) stopped", report.stopped.len());
    for stuck in &report.stuck {
        let _ = writeln!(out, "  could not stop {stuck}");
    }
    Ok(())
}

/// Reports a thread's uncaught panic as Python's default hook does, but
/// with the thread name and message made safe for the terminal: both come
/// from the scenario file.
pub(crate) fn install_safe_excepthook() {
    crate::threading::set_excepthook(|args| {
        let text = crate::threading::format_exception(args);
        let safe: Vec<String> = text.lines().map(|l| sanitize(l).into_owned()).collect();
        let _ = writeln!(std::io::stderr().lock(), "{}", safe.join("\n"));
    });
}

/// A flag set by SIGINT, SIGTERM or SIGHUP, so the program can stop its
/// threads cleanly instead of dying.
pub(crate) fn interrupt_flag() -> Result<Arc<AtomicBool>, String> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register(signal, flag.clone())
            .map_err(|e| format!("cannot handle signals: {e}"))?;
    }
    Ok(flag)
}

/// Prints the changes between snapshots that a person cares about:
/// starts, ends with their outcome, and blocking on a primitive or join
/// (sleeps are left out: they are the scenario's own pacing).
#[derive(Default)]
struct EventPrinter {
    last: HashMap<u64, String>,
}

impl EventPrinter {
    fn print(&mut self, snapshot: &RegistrySnapshot, ids: &[u64], elapsed: Duration) {
        let mut out = std::io::stdout().lock();
        for thread in
            snapshot.threads.iter().filter(|t| t.origin == ThreadOrigin::Managed && ids.contains(&t.id))
        {
            let Some(now) = event_text(thread) else { continue };
            if self.last.get(&thread.id) != Some(&now) {
                let _ =
                    writeln!(out, "{:>9.3}s  {:<28} {now}", elapsed.as_secs_f64(), sanitize(&thread.name));
                self.last.insert(thread.id, now);
            }
        }
        let _ = out.flush();
    }
}

/// Announces each deadlock once when it forms (confirmed, as the TUI's
/// banner is) and once when it clears, keyed by the threads in it.
#[derive(Default)]
struct DeadlockWatch {
    open: HashMap<Vec<u64>, String>,
}

impl DeadlockWatch {
    fn print(&mut self, registry: &Registry, snapshot: &RegistrySnapshot, elapsed: Duration) {
        let found = crate::inspect::confirmed_deadlocks(registry, snapshot);
        let mut now = HashMap::with_capacity(found.len());
        for deadlock in &found {
            let mut key: Vec<u64> = deadlock.threads.iter().map(|t| t.key).collect();
            key.sort_unstable();
            now.insert(key, deadlock.describe());
        }
        let mut out = std::io::stdout().lock();
        let at = elapsed.as_secs_f64();
        for (key, text) in &now {
            if !self.open.contains_key(key) {
                let _ = writeln!(out, "{at:>9.3}s  DEADLOCK: {text}");
            }
        }
        for (key, text) in &self.open {
            if !now.contains_key(key) {
                let _ = writeln!(out, "{at:>9.3}s  deadlock cleared: {text}");
            }
        }
        let _ = out.flush();
        self.open = now;
    }
}

fn event_text(thread: &ThreadSnapshot) -> Option<String> {
    Some(match thread.state {
        ThreadState::Created => "created".to_owned(),
        ThreadState::Running => "running".to_owned(),
        ThreadState::Waiting => {
            let on = thread.waiting_on.as_ref()?;
            if on.kind == WaitKind::Sleep {
                "running".to_owned()
            } else {
                let held = match on.holders.as_slice() {
                    [] => String::new(),
                    holders => format!(
                        " ← held by {}",
                        holders.iter().map(|h| h.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                };
                sanitize(&format!("waiting on {} {}{held}", on.kind, on.name)).into_owned()
            }
        }
        ThreadState::Terminated => match &thread.outcome {
            Some(Outcome::Panicked { message, .. }) => {
                sanitize(&format!("terminated: raised {message}")).into_owned()
            }
            Some(Outcome::Exited) => "terminated: exited".to_owned(),
            _ => "terminated".to_owned(),
        },
    })
}
