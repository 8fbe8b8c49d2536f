//! The command line: parses arguments into a [`Command`] and runs it.
//! `main.rs` only calls [`main`].

use crate::scenario::{self, BUILTINS};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;

/// Watch threads live: Python's threading model in Rust, cross-referenced
/// with the kernel.
#[derive(Parser, Debug)]
#[command(name = "threadscope", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do (default: run the `tour` scenario).
    #[command(subcommand)]
    pub command: Option<Command>,
}

const EXAMPLES: &str = "\
Examples:
  threadscope                              run the built-in tour
  threadscope scenarios                    list the built-in scenarios
  threadscope scenarios --show deadlock    print one as a starting point
  threadscope run dining-philosophers      run a built-in
  threadscope run my-demo.toml --for 10s   run your own for ten seconds
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
    /// Run a scenario (a built-in name or a .toml file), printing what its
    /// threads do until Ctrl-C or `--for` elapses.
    Run {
        /// Built-in name or path to a .toml file.
        scenario: String,
        /// Stop after this long (e.g. "10s"); default: until Ctrl-C.
        #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration_arg)]
        run_for: Option<std::time::Duration>,
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

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Scenarios { show: None }) => list_scenarios(),
        Some(Command::Scenarios { show: Some(name) }) => show_scenario(&name),
        Some(Command::Run { scenario, run_for }) => crate::headless::run(&scenario, run_for),
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
        None => crate::headless::run(scenario::DEFAULT, None),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "threadscope: {message}");
            ExitCode::FAILURE
        }
    }
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
    let builtin = scenario::builtin(name).ok_or_else(|| unknown_builtin(name))?;
    let _ = std::io::stdout().lock().write_all(builtin.source.as_bytes());
    Ok(())
}

/// "unknown scenario `x`", with the built-ins listed.
pub(crate) fn unknown_builtin(name: &str) -> String {
    let names: Vec<&str> = BUILTINS.iter().map(|b| b.name).collect();
    format!(
        "unknown scenario `{}` (built-ins: {}; or give a path to a .toml file)",
        crate::display::sanitize(name),
        names.join(", ")
    )
}
