//! The command line: parses arguments into a [`Command`] and runs it.
//! `main.rs` only calls [`main`].

use crate::scenario::{self, BUILTINS};
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;

/// Watch threads live: Python's threading model in Rust, cross-referenced
/// with the kernel.
#[derive(Parser, Debug)]
#[command(name = "threadscope", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do (default: the TUI on the `tour` scenario).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// TUI options, for the default command.
    #[command(flatten)]
    pub view: ViewArgs,
}

/// How the TUI looks and samples.
#[derive(Args, Debug, Clone)]
pub struct ViewArgs {
    /// Time between samples in the TUI (e.g. "500ms", "2s").
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_interval_arg)]
    pub interval: std::time::Duration,
    /// No colours in the TUI (also when the NO_COLOR variable is set).
    #[arg(long)]
    pub no_color: bool,
}

const EXAMPLES: &str = "\
Examples:
  threadscope                              the TUI on the built-in tour
  threadscope run dining-philosophers      the TUI on a built-in (press ? for keys)
  threadscope run my-demo.toml --interval 500ms --no-color
                                           your own scenario, sampled twice a second
  threadscope attach 1234                  the TUI on another process, read-only
  threadscope scenarios                    list the built-in scenarios
  threadscope scenarios --show deadlock    print one as a starting point
  threadscope run deadlock --headless      lifecycle events as text, until Ctrl-C
  threadscope run my-demo.toml --for 10s   the same for ten seconds (--for implies --headless)
  threadscope snapshot --scenario deadlock --format text
                                           a jstack-like dump, deadlocks named
  threadscope snapshot --pid 1234 --count 5 --interval 1s
                                           five JSON snapshots of another process";

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the built-in scenarios, or print one's TOML.
    Scenarios {
        /// Print this built-in's TOML instead of the list.
        #[arg(long, value_name = "NAME")]
        show: Option<String>,
    },
    /// Run a scenario (a built-in name or a .toml file) in the TUI; with
    /// `--headless` (or `--for`), print what its threads do as text instead.
    Run {
        /// Built-in name or path to a .toml file.
        scenario: String,
        /// Print lifecycle events as text instead of opening the TUI.
        #[arg(long)]
        headless: bool,
        /// Stop after this long (e.g. "10s"; implies --headless); default: until Ctrl-C.
        #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration_arg)]
        run_for: Option<std::time::Duration>,
        /// TUI options.
        #[command(flatten)]
        view: ViewArgs,
    },
    /// Watch another process's threads in the TUI, read-only (nothing is
    /// ever written to it).
    #[cfg(feature = "tui")]
    Attach {
        /// Its pid.
        pid: u32,
        /// TUI options.
        #[command(flatten)]
        view: ViewArgs,
    },
    /// Print snapshots of a scenario run here, or of another process
    /// (read-only), as JSON (one per line) or a jstack-like text dump.
    Snapshot {
        /// Scenario to run and snapshot (a built-in or a .toml file; default: tour).
        #[arg(long, value_name = "NAME|FILE", conflicts_with = "pid")]
        scenario: Option<String>,
        /// Another process to inspect, read-only.
        #[arg(long, value_name = "PID")]
        pid: Option<u32>,
        /// How long to let it run before the (first) snapshot.
        #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration_arg)]
        after: std::time::Duration,
        /// How many snapshots to print.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        count: u32,
        /// Time between snapshots.
        #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration_arg)]
        interval: std::time::Duration,
        /// Output format.
        #[arg(long, value_enum, default_value = "json")]
        format: crate::headless::Format,
    },
}

fn parse_duration_arg(text: &str) -> Result<std::time::Duration, String> {
    scenario::units::parse_duration(text)
}

fn parse_interval_arg(text: &str) -> Result<std::time::Duration, String> {
    let interval = scenario::units::parse_duration(text)?;
    if interval < std::time::Duration::from_millis(50) {
        return Err("the interval must be at least 50ms".to_owned());
    }
    Ok(interval)
}

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Scenarios { show: None }) => list_scenarios(),
        Some(Command::Scenarios { show: Some(name) }) => show_scenario(&name),
        Some(Command::Run { scenario, headless, run_for, view }) => {
            if headless || run_for.is_some() {
                crate::headless::run(&scenario, run_for)
            } else {
                return tui(TuiTarget::Scenario(scenario), &view);
            }
        }
        #[cfg(feature = "tui")]
        Some(Command::Attach { pid, view }) => return tui(TuiTarget::Attach(pid), &view),
        Some(Command::Snapshot { scenario, pid, after, count, interval, format }) => {
            crate::headless::snapshot(&crate::headless::SnapshotArgs {
                scenario,
                pid,
                after,
                count,
                interval,
                format,
            })
        }
        None => return tui(TuiTarget::Scenario(scenario::DEFAULT.to_owned()), &cli.view),
    };
    finish(result)
}

fn finish(result: Result<(), String>) -> ExitCode {
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
    Attach(u32),
}

#[cfg(feature = "tui")]
fn tui(target: TuiTarget, view: &ViewArgs) -> ExitCode {
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let options = crate::tui::Options {
        target: match target {
            TuiTarget::Scenario(name) => crate::tui::Target::Scenario(name),
            TuiTarget::Attach(pid) => crate::tui::Target::Attach(pid),
        },
        interval: view.interval,
        color: !(view.no_color || no_color_env),
    };
    match crate::tui::run(&options) {
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
    finish(crate::headless::run(&name, None))
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
    let builtin = scenario::builtin(name)
        .ok_or_else(|| scenario::LoadError::Unknown { name: name.to_owned() }.to_string())?;
    let _ = std::io::stdout().lock().write_all(builtin.source.as_bytes());
    Ok(())
}
