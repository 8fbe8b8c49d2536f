//! `threadscope snapshot`: one or more snapshots of a scenario run here or
//! of another process, as JSON (one per line) or text.

use super::run::interrupt_flag;
use super::text::render_text;
use crate::inspect::{Inspector, RuntimeOptions, Snapshot, add_native_stacks, mark_inspector_thread};
use crate::scenario::RunningScenario;
use crate::stacks::StackOptions;
use crate::threading::Registry;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per snapshot, one per line.
    Json,
    /// A jstack-like dump.
    Text,
}

/// What `threadscope snapshot` was asked for.
#[derive(Debug, Clone)]
pub struct SnapshotArgs {
    /// Scenario to run here (a built-in or a file); the default when no pid is given.
    pub scenario: Option<String>,
    /// Another process to inspect, read-only.
    pub pid: Option<u32>,
    /// How long to let things run before the first snapshot.
    pub after: Duration,
    /// How many snapshots.
    pub count: u32,
    /// Time between snapshots.
    pub interval: Duration,
    /// Output format.
    pub format: Format,
    /// Keep the runtime's stacks (Java frames) in the output, and take
    /// every thread's native stack (another process's threads are each
    /// stopped for a measured moment; library threads here give where
    /// their wait began).
    pub stacks: bool,
    /// Which runtimes to ask, for a pid.
    pub runtime: RuntimeOptions,
}

/// Prints the snapshots asked for.
///
/// # Errors
///
/// A scenario that cannot be loaded or started, a pid that does not exist
/// or may not be read.
pub fn snapshot(args: &SnapshotArgs) -> Result<(), String> {
    mark_inspector_thread();
    let interrupted = interrupt_flag()?;
    super::run::install_safe_excepthook();
    let (mut inspector, mut running) = match args.pid {
        Some(pid) => (Inspector::pid_with(pid, &args.runtime).map_err(|e| e.to_string())?, None),
        None => {
            // Before the scenario's threads start waiting: where each wait
            // began is captured when it begins.
            if args.stacks {
                crate::threading::set_wait_backtraces(true);
            }
            let name = args.scenario.as_deref().unwrap_or(crate::scenario::DEFAULT);
            let scenario = crate::scenario::load(name).map_err(|e| e.to_string())?;
            let registry = Registry::global();
            let mut inspector = Inspector::own(registry).map_err(|e| e.to_string())?;
            inspector.set_scenario(Some(scenario.name.clone()));
            (inspector, Some(RunningScenario::start(scenario, registry).map_err(|e| e.to_string())?))
        }
    };
    print_snapshots(&mut inspector, args, &interrupted, |_| Ok(true))?;
    if let Some(running) = running.as_mut() {
        running.stop(Duration::from_secs(2));
    }
    Ok(())
}

/// Prints `args.count` snapshots, the first after `args.after`;
/// `carry_on(printed)` is asked while waiting, and may stop the loop
/// (`Ok(false)`) or fail it (a child that exited before its snapshot).
pub(super) fn print_snapshots(
    inspector: &mut Inspector,
    args: &SnapshotArgs,
    interrupted: &AtomicBool,
    mut carry_on: impl FnMut(u32) -> Result<bool, String>,
) -> Result<(), String> {
    // A one-off dump wants every detail and every thread as it is now;
    // the sampling cost is paid once.
    inspector.set_detail_every(1);
    inspector.set_checks_in_turn(false);
    // A first sample so the next one can say CPU use over the interval.
    inspector.refresh().map_err(|e| e.to_string())?;
    let mut next = Instant::now() + args.after;
    // Buffered: serde writes a snapshot in thousands of small pieces, and
    // stdout's own line buffering looks for a newline in each of them.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    for i in 0..args.count.max(1) {
        while Instant::now() < next && !interrupted.load(Ordering::Relaxed) {
            if !carry_on(i)? {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10).min(next.saturating_duration_since(Instant::now())));
        }
        if interrupted.load(Ordering::Relaxed) || !carry_on(i)? {
            break;
        }
        let mut snapshot = inspector.refresh().map_err(|e| e.to_string())?;
        if args.stacks {
            add_native_stacks(&mut snapshot, None, &StackOptions::default());
        } else {
            without_stacks(&mut snapshot);
        }
        write_snapshot(&mut out, &snapshot, args.format, i)?;
        next = Instant::now() + args.interval;
    }
    Ok(())
}

/// Drops the runtimes' stacks: a JVM's are most of a dump's size.
pub(super) fn without_stacks(snapshot: &mut Snapshot) {
    for runtime in snapshot.threads.iter_mut().filter_map(|t| t.runtime.as_mut()) {
        runtime.stack = Vec::new();
    }
}

pub(super) fn write_snapshot(
    out: &mut impl Write,
    snapshot: &Snapshot,
    format: Format,
    index: u32,
) -> Result<(), String> {
    let written = match format {
        Format::Json => serde_json::to_writer(&mut *out, snapshot)
            .map_err(|e| e.to_string())
            .and_then(|()| writeln!(out).map_err(|e| e.to_string())),
        Format::Text => {
            let separator = if index > 0 { "\n" } else { "" };
            write!(out, "{separator}{}", render_text(snapshot)).map_err(|e| e.to_string())
        }
    };
    written?;
    out.flush().map_err(|e| e.to_string())
}
