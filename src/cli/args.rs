//! The arguments, as clap parses them. Every type here is the binary's:
//! the library takes plain values (`headless::Format`, `tui::Options`).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::time::Duration;
use threadscope::scenario;

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
    pub interval: Duration,
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
        run_for: Option<Duration>,
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
        after: Duration,
        /// How many snapshots to print.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        count: u32,
        /// Time between snapshots.
        #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration_arg)]
        interval: Duration,
        /// Output format.
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
    },
}

fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    scenario::units::parse_duration(text)
}

fn parse_interval_arg(text: &str) -> Result<Duration, String> {
    let interval = scenario::units::parse_duration(text)?;
    if interval < Duration::from_millis(50) {
        return Err("the interval must be at least 50ms".to_owned());
    }
    Ok(interval)
}

/// Output format of `threadscope snapshot` (clap's mirror of
/// [`threadscope::headless::Format`], which knows nothing of clap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per snapshot, one per line.
    Json,
    /// A jstack-like dump.
    Text,
}

impl From<Format> for threadscope::headless::Format {
    fn from(format: Format) -> Self {
        match format {
            Format::Json => Self::Json,
            Format::Text => Self::Text,
        }
    }
}
