//! The command line, which belongs to the binary: [`args`] is what clap
//! parses, and [`main`] hands each command to the library (`headless`,
//! `tui`, `scenario`). Nothing here is reachable from the library, so a
//! program that only wants the threading library never compiles clap.

mod args;
mod exec;

use args::{Cli, Command, ScenarioViewArgs, ViewArgs};
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;
use threadscope::scenario::{self, BUILTINS, LoadError};

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Scenarios { show: None }) => list_scenarios(),
        Some(Command::Scenarios { show: Some(name) }) => show_scenario(&name),
        Some(Command::Run { scenario, headless, run_for, view }) => {
            if headless || run_for.is_some() {
                let flight = view.view.flight_recorder.map(threadscope::record::FlightBudget::span);
                threadscope::headless::run_with_flight(&scenario, run_for, flight)
            } else {
                return scenario_tui(scenario, &view);
            }
        }
        #[cfg(feature = "tui")]
        Some(Command::Attach { pid, view, runtime }) => {
            return tui(TuiTarget::Attach(pid, (&runtime).into()), &view);
        }
        Some(Command::Record { scenario, pid, output, run_for, interval, runtime, command }) => {
            use threadscope::headless::RecordTarget;
            let target = match (pid, command.is_empty()) {
                (Some(pid), _) => RecordTarget::Pid(pid),
                (None, false) => RecordTarget::Command(command),
                (None, true) => {
                    RecordTarget::Scenario(scenario.unwrap_or_else(|| scenario::DEFAULT.to_owned()))
                }
            };
            let runtime = (&runtime).into();
            threadscope::headless::record(&threadscope::headless::RecordArgs {
                target,
                output,
                run_for,
                interval,
                runtime,
            })
        }
        #[cfg(feature = "tui")]
        Some(Command::Exec { view, runtime, command }) => return exec::tui(&command, &view, &runtime),
        Some(Command::PythonAgent { print }) => python_agent(print),
        #[cfg(feature = "tui")]
        Some(Command::Replay { file, view }) => return tui(TuiTarget::Replay(file), &view),
        Some(Command::Snapshot { from: Some(file), at, format, stacks, .. }) => {
            threadscope::headless::snapshot_from(&file, at.unwrap_or_default(), format.into(), stacks)
        }
        Some(Command::Snapshot {
            scenario,
            pid,
            after,
            count,
            interval,
            format,
            stacks,
            runtime,
            command,
            ..
        }) => {
            let args = threadscope::headless::SnapshotArgs {
                scenario,
                pid,
                after,
                count,
                interval,
                format: format.into(),
                stacks,
                runtime: (&runtime).into(),
            };
            if command.is_empty() {
                threadscope::headless::snapshot(&args)
            } else {
                return exec::snapshot(&command, &args);
            }
        }
        None => return scenario_tui(scenario::DEFAULT.to_owned(), &cli.view),
    };
    finish(result)
}

pub(crate) fn finish(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "threadscope: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What the TUI watches (mirrors `tui::Target`, which exists only with the feature).
enum TuiTarget {
    Scenario(String),
    #[cfg(feature = "tui")]
    Attach(u32, threadscope::inspect::RuntimeOptions),
    #[cfg(feature = "tui")]
    Replay(std::path::PathBuf),
}

/// The TUI on a scenario run here, recording where its waits began if asked.
fn scenario_tui(name: String, view: &ScenarioViewArgs) -> ExitCode {
    if view.wait_backtraces {
        threadscope::threading::set_wait_backtraces(true);
    }
    tui(TuiTarget::Scenario(name), &view.view)
}

#[cfg(feature = "tui")]
fn tui(target: TuiTarget, view: &ViewArgs) -> ExitCode {
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (target, runtime) = match target {
        TuiTarget::Scenario(name) => (threadscope::tui::Target::Scenario(name), Default::default()),
        TuiTarget::Attach(pid, runtime) => (threadscope::tui::Target::Attach(pid), runtime),
        TuiTarget::Replay(file) => (threadscope::tui::Target::Replay(file), Default::default()),
    };
    let options = threadscope::tui::Options {
        target,
        interval: view.interval,
        color: !(view.no_color || no_color_env),
        runtime,
        flight_recorder: view.flight_recorder.map(threadscope::record::FlightBudget::span),
    };
    match threadscope::tui::run(&options) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "threadscope: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Without the TUI, a scenario runs headless, as before the TUI existed.
#[cfg(not(feature = "tui"))]
fn tui(target: TuiTarget, _view: &ViewArgs) -> ExitCode {
    let TuiTarget::Scenario(name) = target;
    let flight = _view.flight_recorder.map(threadscope::record::FlightBudget::span);
    finish(threadscope::headless::run_with_flight(&name, None, flight))
}

fn python_agent(print: bool) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    let text = if print { threadscope::agent::python::AGENT_SOURCE } else { exec::PYTHON_AGENT_HELP };
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())
}

fn list_scenarios() -> Result<(), String> {
    let width = BUILTINS.iter().map(|b| b.name.len()).max().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    for builtin in BUILTINS {
        let scenario = builtin.load(None).map_err(|e| e.to_string())?;
        let _ = writeln!(out, "{:width$}  {}", builtin.name, scenario.description);
    }
    Ok(())
}

fn show_scenario(name: &str) -> Result<(), String> {
    let builtin =
        scenario::builtin(name).ok_or_else(|| LoadError::Unknown { name: name.to_owned() }.to_string())?;
    let _ = std::io::stdout().lock().write_all(builtin.source.as_bytes());
    Ok(())
}
