//! The event loop: a tokio current-thread runtime on the main thread, with
//! terminal input, a tick, samples, reports and signals in one `select!`.
//! It draws, feeds each event to [`App::handle_event`] and performs the
//! effect.

use super::action::Effect;
use super::app::{App, Config, Source};
use super::event::{Event, LogKind, Report};
use super::recording::RecordingSetup;
use super::sampler::{Control, SamplerHandle};
use super::terminal::{self, Tui};
use super::theme::Theme;
use super::ui;
use super::workload::Workload;
use crate::inspect::{Inspector, mark_inspector_thread};
use crate::launch::{Launched, describe};
use crate::record::RecordedSource;
use crate::scenario::{BUILTINS, Scenario};
use crate::threading::{Registry, format_exception, reset_excepthook, set_excepthook};
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind, MouseEventKind};
use futures::StreamExt;
use std::io::IsTerminal;
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// How often the clock ticks (uptime, "for 1.2 s" figures between samples).
const TICK: Duration = Duration::from_millis(500);

/// What to watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A built-in scenario or a scenario file, run in this process.
    Scenario(String),
    /// Another process, read-only.
    Attach(u32),
    /// A recording, read-only.
    Replay(std::path::PathBuf),
}

/// How to run the TUI.
#[derive(Clone, Debug)]
pub struct Options {
    /// What to watch.
    pub target: Target,
    /// Time between samples.
    pub interval: Duration,
    /// Use colours.
    pub color: bool,
    /// Which runtimes to ask when attached to another process (a JVM).
    pub runtime: crate::inspect::RuntimeOptions,
    /// Keep the last minutes in memory, written out on a deadlock, `W` or
    /// SIGUSR1 (`--flight-recorder`).
    pub flight_recorder: Option<crate::record::FlightBudget>,
}

/// Why the loop ended.
pub(super) enum Exit {
    Quit(Vec<String>),
    /// Quit, stopping the child (or leaving it running).
    QuitChild {
        stop: bool,
    },
    /// The child ended by itself soon after it started: nothing to watch.
    ChildAtOnce(std::process::ExitStatus),
    Signal(&'static str, u8),
}

/// How long the child has after SIGTERM before SIGKILL, when the user
/// asks to stop it.
const CHILD_GRACE: Duration = Duration::from_secs(2);

/// Runs the TUI until the user quits; the process exit code.
///
/// # Errors
///
/// A scenario that cannot be loaded or started, a pid that cannot be read,
/// or no terminal — all reported before the screen is touched.
pub fn run(options: &Options) -> Result<u8, String> {
    run_with(options, None)
}

/// `threadscope exec`: the TUI on `child`, attached by its pid
/// (`options.target` is [`Target::Attach`] of it), with Ctrl-C forwarded
/// to it, its exit shown, and `q` asking whether to stop it. A child still
/// running when threadscope leaves any other way (a signal, an error, a
/// panic) is stopped.
///
/// # Errors
///
/// As [`run`].
pub fn run_child(options: &Options, child: Launched) -> Result<u8, String> {
    run_with(options, Some(child))
}

fn run_with(options: &Options, mut child: Option<Launched>) -> Result<u8, String> {
    mark_inspector_thread();
    let (scenario, inspector) = match &options.target {
        Target::Scenario(name) => {
            let scenario = crate::scenario::load(name).map_err(|e| e.to_string())?;
            let mut inspector = Inspector::own(Registry::global()).map_err(|e| e.to_string())?;
            inspector.set_scenario(Some(scenario.name.clone()));
            (Some(scenario), inspector)
        }
        Target::Attach(pid) => {
            let inspector = Inspector::pid_with(*pid, &options.runtime)
                .map_err(|e| format!("cannot attach to pid {pid}: {e}"))?;
            (None, inspector)
        }
        Target::Replay(path) => return super::replay_run::run(options, path),
    };
    require_terminal()?;
    let runtime = event_runtime()?;
    let exit = runtime.block_on(session(options, scenario, inspector, &mut child))?;
    Ok(finish(exit, child, &options.target))
}

/// The TUI needs a terminal: said before the screen is touched.
pub(super) fn require_terminal() -> Result<(), String> {
    if !std::io::stdout().is_terminal() {
        return Err(
            "the TUI needs a terminal; use `threadscope run NAME --headless` or `threadscope snapshot`"
                .into(),
        );
    }
    Ok(())
}

/// The current-thread runtime the loop runs on.
pub(super) fn event_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the event loop: {e}"))
}

/// Says goodbye as the exit asks; the exit code. `child` is `exec`'s
/// program, if any; `target`, what was watched.
pub(super) fn finish(exit: Exit, child: Option<Launched>, target: &Target) -> u8 {
    match exit {
        Exit::Quit(lines) => {
            for line in lines {
                println!("{line}");
            }
            0
        }
        Exit::ChildAtOnce(status) => {
            if let Some(child) = &child {
                for line in child.at_once_report(status) {
                    eprintln!("{line}");
                }
            }
            1
        }
        Exit::QuitChild { stop } => {
            let Some(mut child) = child else { return 0 };
            if !stop {
                println!("{}", child.leave_running());
                return 0;
            }
            let who = format!("`{}` (pid {})", child.command(), child.pid());
            match child.stop(CHILD_GRACE) {
                Some(status) => println!("threadscope: stopped {who}: {}", describe(status)),
                None => println!("threadscope: stopped {who}: its exit status could not be read"),
            }
            0
        }
        Exit::Signal(name, code) => {
            // What became of what was watched: only a scenario's threads
            // are threadscope's to abandon.
            let watched = match (child, target) {
                (Some(mut child), _) => {
                    let who = format!("`{}` (pid {})", child.command(), child.pid());
                    match child.stop(CHILD_GRACE) {
                        Some(status) => format!("stopped {who}: {}", describe(status)),
                        None => format!("stopped {who}: its exit status could not be read"),
                    }
                }
                (None, Target::Scenario(_)) => "the scenario's threads abandoned".to_owned(),
                (None, Target::Attach(pid)) => format!("pid {pid} was only read and runs on"),
                (None, Target::Replay(_)) => "the replay closed".to_owned(),
            };
            eprintln!("threadscope: {name}: terminal restored, {watched}");
            code
        }
    }
}

async fn session(
    options: &Options,
    scenario: Option<Scenario>,
    inspector: Inspector,
    child: &mut Option<Launched>,
) -> Result<Exit, String> {
    let (events_tx, mut events) = mpsc::unbounded_channel::<Event>();
    let (samples_tx, mut samples) = mpsc::channel::<Event>(2);
    let (mut terminal, guard) = terminal::enter().map_err(|e| format!("cannot set up the terminal: {e}"))?;
    let stderr_tx = events_tx.clone();
    let _ = terminal::capture_stderr(move |line| {
        let _ = stderr_tx.send(Event::Log(LogKind::Stderr, line));
    });
    let hook_tx = events_tx.clone();
    set_excepthook(move |args| {
        let _ = hook_tx.send(Event::Log(LogKind::Exception, format_exception(args)));
    });

    // Before the workload starts, so that only the input thread is new.
    let mut input = input_stream();
    let mut workload = match scenario {
        Some(scenario) => Some(Workload::start(scenario, events_tx.clone())?),
        None => None,
    };
    let source = match (&workload, &options.target) {
        (Some(w), _) => Source::Own(w.info()),
        (None, Target::Attach(pid)) => Source::Attach { pid: *pid },
        (None, Target::Scenario(_) | Target::Replay(_)) => Source::Own(Default::default()),
    };
    let recorded = match &source {
        Source::Attach { pid } => RecordedSource::Pid { pid: *pid },
        Source::Own(info) => RecordedSource::Scenario { name: info.name.clone() },
        Source::Replay(info) => RecordedSource::Scenario { name: info.file.clone() },
    };
    let recording =
        RecordingSetup { source: recorded, flight: options.flight_recorder, news: events_tx.clone() };
    let sampler = SamplerHandle::spawn(inspector, options.interval, samples_tx, recording)
        .map_err(|e| format!("cannot start the sampler: {e}"))?;
    let size = terminal.size().map_err(|e| e.to_string())?;
    let mut app = App::new(Config {
        source,
        theme: if options.color { Theme::colored() } else { Theme::plain() },
        debug_panic: std::env::var("THREADSCOPE_TEST_PANIC").is_ok_and(|v| v == "1"),
        scenarios: scenarios(),
        size: (size.width, size.height),
        now: Instant::now(),
    });
    if let Some(child) = child.as_ref() {
        app.set_child(child.pid(), child.command());
    }

    let channels = Channels { input: &mut input, events: &mut events, samples: &mut samples, events_tx };
    let result = event_loop(&mut terminal, &mut app, &mut workload, &sampler, channels, child).await;
    drop(sampler);
    drop(guard);
    reset_excepthook();
    result
}

/// Where events come from.
struct Channels<'a> {
    input: &'a mut EventStream,
    events: &'a mut mpsc::UnboundedReceiver<Event>,
    samples: &'a mut mpsc::Receiver<Event>,
    /// For work done off the loop (a stack) to report back.
    events_tx: mpsc::UnboundedSender<Event>,
}

async fn event_loop(
    terminal: &mut Tui,
    app: &mut App,
    workload: &mut Option<Workload>,
    sampler: &SamplerHandle,
    channels: Channels<'_>,
    child: &mut Option<Launched>,
) -> Result<Exit, String> {
    let Channels { input, events, samples, events_tx } = channels;
    let mut tick = tokio::time::interval(TICK);
    let failed = |e: std::io::Error| format!("terminal error: {e}");
    let mut term = signal(SignalKind::terminate()).map_err(failed)?;
    let mut hup = signal(SignalKind::hangup()).map_err(failed)?;
    let mut int = signal(SignalKind::interrupt()).map_err(failed)?;
    let mut usr1 = signal(SignalKind::user_defined1()).map_err(failed)?;
    let mut chld = signal(SignalKind::child()).map_err(failed)?;
    let mut child_ended = false;
    loop {
        if !child_ended && let Some(status) = child.as_mut().and_then(Launched::status) {
            child_ended = true;
            if child.as_mut().is_some_and(Launched::ended_at_once) {
                return Ok(Exit::ChildAtOnce(status));
            }
            app.handle_event(Event::ChildExited(describe(status)));
        }
        terminal.draw(|frame| ui::draw(frame, app)).map_err(failed)?;
        let event = tokio::select! {
            input = input.next() => match input {
                Some(Ok(event)) => match translate(event) {
                    Some(event) => event,
                    None => continue,
                },
                Some(Err(e)) => return Err(failed(e)),
                None => return Ok(Exit::Quit(Vec::new())),
            },
            Some(mut event) = samples.recv() => {
                if let (Event::Sample(sample), Some(workload)) = (&mut event, workload.as_ref()) {
                    sample.progress = workload.progress();
                }
                event
            }
            Some(event) = events.recv() => event,
            _ = tick.tick() => Event::Tick(Instant::now()),
            // The child's exit is read at the top of the loop.
            _ = chld.recv() => Event::Tick(Instant::now()),
            _ = term.recv() => return Ok(Exit::Signal("SIGTERM", 143)),
            _ = hup.recv() => return Ok(Exit::Signal("SIGHUP", 129)),
            _ = int.recv() => match child {
                // Under exec, a SIGINT from outside is the program's, as Ctrl-C is.
                Some(_) => interrupt_child(child),
                None => Event::Log(
                    LogKind::Info,
                    "SIGINT reached the main thread (interrupt_main or kill -INT); Python would raise KeyboardInterrupt there".into(),
                ),
            },
            _ = usr1.recv() => {
                sampler.send(Control::DumpFlight("SIGUSR1"));
                continue;
            }
        };
        let mut effect = app.handle_event(event);
        // A command's immediate report may itself call for an effect (quit).
        while let Effect::Command(command) = effect {
            let report = match workload.as_mut() {
                Some(workload) => workload.perform(command),
                None => Some(Report::Done { what: "act".into(), result: Err("read-only".into()) }),
            };
            effect = report.map_or(Effect::None, |report| app.handle_event(Event::Report(report)));
        }
        match effect {
            Effect::None | Effect::Command(_) => {}
            Effect::Pause(paused) => sampler.send(Control::Pause(paused)),
            Effect::TakeStack(request) => super::stacks::perform(request, events_tx.clone()),
            Effect::Record(on) => sampler.send(Control::Record(on)),
            Effect::DumpFlight => sampler.send(Control::DumpFlight("key")),
            Effect::Replay(_) => {}
            Effect::Quit(lines) => return Ok(Exit::Quit(lines)),
            Effect::QuitChild { stop } => return Ok(Exit::QuitChild { stop }),
            Effect::Interrupt => {
                let event = interrupt_child(child);
                app.handle_event(event);
            }
            Effect::Panic => panic!("debug panic (Ctrl-P with THREADSCOPE_TEST_PANIC=1)"),
        }
        if let Some(tids) = app.take_watch_change() {
            sampler.send(Control::Watch(tids));
        }
        if app.take_scenario_changed()
            && let Source::Own(info) = &app.source
        {
            sampler.send(Control::Scenario(Some(info.name.clone())));
        }
    }
}

/// Forwards SIGINT (Ctrl-C) to the child; what happened, for the log.
fn interrupt_child(child: &mut Option<Launched>) -> Event {
    match child.as_mut().map(|c| (c.pid(), c.interrupt())) {
        Some((pid, Ok(()))) => {
            Event::Log(LogKind::Info, format!("Ctrl-C: SIGINT sent to pid {pid} (q quits)"))
        }
        Some((pid, Err(why))) => {
            Event::Log(LogKind::Error, format!("Ctrl-C: SIGINT not sent to pid {pid}: {why}"))
        }
        None => Event::Log(LogKind::Info, "Ctrl-C: no program to send it to".to_owned()),
    }
}

/// crossterm's event stream, whose helper thread (started by `new`) is
/// marked as threadscope's own so it is not shown as foreign.
pub(super) fn input_stream() -> EventStream {
    let before = own_tids();
    let stream = EventStream::new();
    for tid in own_tids().difference(&before) {
        crate::inspect::mark_inspector_tid(*tid);
        // Named, so it is not a second "threadscope" beside the UI thread.
        let _ = std::fs::write(format!("/proc/self/task/{tid}/comm"), "ts-input");
    }
    stream
}

fn own_tids() -> std::collections::BTreeSet<u32> {
    let tasks = std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten();
    tasks.filter_map(|entry| entry.file_name().to_str()?.parse().ok()).collect()
}

/// Terminal events the app cares about (mouse motion and key releases are
/// dropped without a redraw).
pub(super) fn translate(event: TermEvent) -> Option<Event> {
    match event {
        TermEvent::Key(key) if key.kind != KeyEventKind::Release => Some(Event::Key(key)),
        TermEvent::Mouse(mouse) => match mouse.kind {
            MouseEventKind::Moved | MouseEventKind::Drag(_) | MouseEventKind::Up(_) => None,
            _ => Some(Event::Mouse(mouse)),
        },
        TermEvent::Resize(width, height) => Some(Event::Resize(width, height)),
        _ => None,
    }
}

/// The built-ins for the load picker: name and description.
pub(super) fn scenarios() -> Vec<(String, String)> {
    BUILTINS
        .iter()
        .map(|b| {
            let about = b.load(None).map(|s| s.description).unwrap_or_default();
            (b.name.to_owned(), about)
        })
        .collect()
}
