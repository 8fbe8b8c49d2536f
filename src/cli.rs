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
  threadscope run my-demo.toml --for 10s   run your own for ten seconds";

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
