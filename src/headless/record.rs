//! `threadscope record`: sample a scenario, a process or a program every
//! interval and write each snapshot to a recording as it is taken, until
//! `--for` elapses, Ctrl-C (or SIGTERM, SIGHUP), or the process exits.

use super::run::{install_safe_excepthook, interrupt_flag};
use crate::inspect::{Inspector, RuntimeOptions, mark_inspector_thread};
use crate::launch::{Launched, Output, describe};
use crate::record::{Header, RecordedSource, Recorder};
use crate::scenario::RunningScenario;
use crate::threading::Registry;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordTarget {
    /// A scenario run here (a built-in or a file).
    Scenario(String),
    /// Another process, read-only.
    Pid(u32),
    /// A program started here as our child (program and arguments); it is
    /// ended when recording stops.
    Command(Vec<String>),
}

/// What `threadscope record` was asked for.
#[derive(Debug, Clone)]
pub struct RecordArgs {
    /// What to record.
    pub target: RecordTarget,
    /// The file to write.
    pub output: PathBuf,
    /// Stop after this long; default: until Ctrl-C or the process exits.
    pub run_for: Option<Duration>,
    /// Time between samples.
    pub interval: Duration,
    /// Which runtimes to ask, for a pid or a program.
    pub runtime: RuntimeOptions,
}

/// What is being watched, and how to let it go.
enum Watched {
    Scenario(RunningScenario),
    Pid,
    /// Run as `exec` runs it: the agents injected, its own process group.
    Child(Launched),
}

/// Records until told to stop; says what was written on stderr.
///
/// # Errors
///
/// A scenario that cannot be started, a pid that cannot be read, a program
/// that cannot be run, a file that cannot be written.
pub fn record(args: &RecordArgs) -> Result<(), String> {
    mark_inspector_thread();
    let interrupted = interrupt_flag()?;
    install_safe_excepthook();
    let (mut inspector, mut watched, source) = start(args)?;
    let header = Header::new(source.clone(), args.interval);
    let mut recorder = Recorder::create(&args.output, &header).map_err(|e| e.to_string())?;
    let shown = args.output.display();
    let mut err = std::io::stderr().lock();
    let what = crate::display::sanitize(&source.describe()).into_owned();
    let _ =
        writeln!(err, "threadscope: recording {what} to {shown} every {:?} (Ctrl-C to stop)", args.interval);
    drop(err);
    let started = Instant::now();
    let mut next = started;
    // The first and last samples' times: the span a replay shows.
    let mut times: Option<(u64, u64)> = None;
    let reason = loop {
        if interrupted.load(Ordering::Relaxed) {
            break "interrupted";
        }
        if args.run_for.is_some_and(|limit| started.elapsed() >= limit) {
            break "time is up";
        }
        if let Watched::Child(child) = &mut watched
            && child.status().is_some()
        {
            break "the program exited";
        }
        let now = Instant::now();
        if now < next {
            std::thread::sleep((next - now).min(Duration::from_millis(50)));
            continue;
        }
        next += args.interval;
        let snapshot = inspector.refresh().map_err(|e| e.to_string())?;
        recorder.record(&snapshot).map_err(|e| e.to_string())?;
        let taken = snapshot.taken_at_unix_ms;
        times = Some(times.map_or((taken, taken), |(first, _)| (first, taken)));
        if snapshot.process.exited {
            break "the process exited";
        }
    };
    let samples = recorder.samples();
    let bytes = recorder.close().map_err(|e| e.to_string())?;
    let ended = stop(watched);
    let span =
        times.map_or(Duration::ZERO, |(first, last)| Duration::from_millis(last.saturating_sub(first)));
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "threadscope: {reason}: recorded {samples} samples spanning {}, {bytes} bytes, to {shown}",
        crate::display::human(span)
    );
    if let Some(ended) = ended {
        let _ = writeln!(err, "threadscope: {ended}");
    }
    Ok(())
}

fn start(args: &RecordArgs) -> Result<(Inspector, Watched, RecordedSource), String> {
    Ok(match &args.target {
        RecordTarget::Scenario(name) => {
            let scenario = crate::scenario::load(name).map_err(|e| e.to_string())?;
            let registry = Registry::global();
            let mut inspector = Inspector::own(registry).map_err(|e| e.to_string())?;
            inspector.set_scenario(Some(scenario.name.clone()));
            let source = RecordedSource::Scenario { name: scenario.name.clone() };
            let running = RunningScenario::start(scenario, registry).map_err(|e| e.to_string())?;
            (inspector, Watched::Scenario(running), source)
        }
        RecordTarget::Pid(pid) => {
            let inspector = Inspector::pid_with(*pid, &args.runtime).map_err(|e| e.to_string())?;
            (inspector, Watched::Pid, RecordedSource::Pid { pid: *pid })
        }
        RecordTarget::Command(argv) => {
            let command: Vec<std::ffi::OsString> = argv.iter().map(Into::into).collect();
            // Not settled first: waiting would reap a program that exits at
            // once before there is anything to record; its agent, once up,
            // is found at the next sample.
            let child = Launched::spawn(&command, Output::Stderr).map_err(|e| e.to_string())?;
            let inspector = match Inspector::pid_with(child.pid(), &args.runtime) {
                Ok(inspector) => inspector,
                Err(e) => {
                    stop(Watched::Child(child));
                    return Err(e.to_string());
                }
            };
            (inspector, Watched::Child(child), RecordedSource::Command { argv: argv.clone() })
        }
    })
}

/// Lets the watched go: a scenario's threads are stopped, a program we
/// started is ended, another process is left alone. For a program, how it
/// ended, in the words `snapshot -- CMD` uses.
fn stop(watched: Watched) -> Option<String> {
    match watched {
        Watched::Scenario(mut running) => {
            running.stop(Duration::from_secs(2));
            None
        }
        Watched::Pid => None,
        Watched::Child(mut child) => {
            let who = format!("`{}` (pid {})", child.command(), child.pid());
            if let Some(status) = child.status() {
                return Some(format!("{who} {}", describe(status)));
            }
            Some(match child.stop(super::STOP_GRACE) {
                Some(status) => format!("stopped {who}: {}", describe(status)),
                None => format!("stopped {who}: its exit status could not be read"),
            })
        }
    }
}
