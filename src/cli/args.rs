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
    pub view: ScenarioViewArgs,
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
    /// Keep the last DURATION of samples in memory (e.g. "5m") and write
    /// them to a recording when a deadlock appears, on `W`, or on SIGUSR1.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub flight_recorder: Option<Duration>,
}

/// The TUI on a scenario run in this process: the view, and what only
/// this process's own threads can record (not offered where the threads
/// watched are another program's: `attach`, `exec`, `replay`).
#[derive(Args, Debug, Clone)]
pub struct ScenarioViewArgs {
    /// How the TUI looks and samples.
    #[command(flatten)]
    pub view: ViewArgs,
    /// Record where each blocking wait of the scenario's threads began, for
    /// the stack key (`b`): about 5-10 µs more per wait that blocks (see
    /// docs/benchmarks.md), so off unless asked.
    #[arg(long)]
    pub wait_backtraces: bool,
}

/// Which runtimes to ask besides the kernel (`attach`, `snapshot --pid`).
#[derive(Args, Debug, Clone)]
pub struct RuntimeArgs {
    /// `auto`: ask the process's runtime where it has one (threadscope's
    /// agent where the program serves one, a HotSpot JVM through its
    /// attach mechanism, as jstack does); `none`: the kernel's view only,
    /// nothing is asked.
    #[arg(long, value_enum, value_name = "auto|none", default_value = "auto")]
    pub runtime: RuntimeChoice,
    /// Time between JVM thread dumps (each stops the JVM at a safepoint).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_jvm_interval_arg)]
    pub jvm_interval: Duration,
}

/// `--runtime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuntimeChoice {
    /// Ask the runtime where there is one.
    Auto,
    /// Never ask: the kernel's view only.
    None,
}

impl From<&RuntimeArgs> for threadscope::inspect::RuntimeOptions {
    fn from(args: &RuntimeArgs) -> Self {
        let mut options = Self { ask: args.runtime == RuntimeChoice::Auto, ..Self::default() };
        options.jvm.interval = args.jvm_interval;
        options
    }
}

const EXAMPLES: &str = "\
Examples:
  threadscope                              the TUI on the built-in tour
  threadscope run dining-philosophers      the TUI on a built-in (press ? for keys)
  threadscope run my-demo.toml --interval 500ms --no-color
                                           your own scenario, sampled twice a second
  threadscope attach 1234                  the TUI on another process, read-only
  threadscope exec -- python3 app.py       run a program and watch it (Python: full names, locks, stacks)
  threadscope scenarios                    list the built-in scenarios
  threadscope scenarios --show deadlock    print one as a starting point
  threadscope run deadlock --headless      lifecycle events as text, until Ctrl-C
  threadscope run my-demo.toml --for 10s   the same for ten seconds (--for implies --headless)
  threadscope snapshot --scenario deadlock --format text
                                           a jstack-like dump, deadlocks named
  threadscope snapshot --pid 1234 --count 5 --interval 1s
                                           five JSON snapshots of another process
  threadscope record --scenario deadlock -o demo.tsrec --for 1m
                                           a minute of a scenario, to a file
  threadscope replay demo.tsrec            the TUI on it: Space plays, , and . step, t seeks
  threadscope snapshot --from demo.tsrec --at 30s
                                           the JSON of one moment of it
  threadscope snapshot --pid 4242 --stacks --format text
                                           every thread's native stack (each stopped for a
                                           measured moment), and a JVM's Java stacks
  threadscope snapshot --after 2s --format text -- python3 app.py
                                           run a program, dump its threads after 2 s, stop it";

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
        view: ScenarioViewArgs,
    },
    /// Watch another process's threads in the TUI, read-only (nothing is
    /// written to it; a JVM is asked for thread dumps as jstack does,
    /// unless `--runtime none`).
    #[cfg(feature = "tui")]
    Attach {
        /// Its pid.
        pid: u32,
        /// TUI options.
        #[command(flatten)]
        view: ViewArgs,
        /// Runtime views.
        #[command(flatten)]
        runtime: RuntimeArgs,
    },
    /// Record every snapshot of a scenario, a process or a program to a
    /// file, as it goes (replay it with `threadscope replay FILE`).
    Record {
        /// Scenario to run and record (a built-in or a .toml file; default: tour).
        #[arg(long, value_name = "NAME|FILE", conflicts_with_all = ["pid", "command"])]
        scenario: Option<String>,
        /// Another process to record, read-only.
        #[arg(long, value_name = "PID", conflicts_with = "command")]
        pid: Option<u32>,
        /// The file to write.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: std::path::PathBuf,
        /// Stop after this long (default: until Ctrl-C or the process exits).
        #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration_arg)]
        run_for: Option<Duration>,
        /// Time between samples.
        #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_interval_arg)]
        interval: Duration,
        /// Runtime views (for --pid and a program).
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// A program to run and record, after `--` (it is ended when recording stops).
        #[arg(last = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// The TUI on a recording: play, pause, step, seek, jump to the next
    /// deadlock or finding (read-only).
    #[cfg(feature = "tui")]
    Replay {
        /// The recording.
        file: std::path::PathBuf,
        /// TUI options.
        #[command(flatten)]
        view: ViewArgs,
    },
    /// Run a program as threadscope's child and watch it in the TUI, with
    /// the agents injected where its runtime allows (Python: full thread
    /// names, locks, holders, waits and stacks). Ctrl-C goes to the
    /// program; `q` asks whether to stop it or leave it running.
    #[cfg(feature = "tui")]
    Exec {
        /// TUI options.
        #[command(flatten)]
        view: ViewArgs,
        /// Runtime views.
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// The program and its arguments (after `--`).
        #[arg(value_name = "CMD", required = true, trailing_var_arg = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// Print the Python agent threadscope injects (`exec`), for a manual
    /// import.
    PythonAgent {
        /// Write the agent's source to stdout (save it as threadscope_agent.py).
        #[arg(long)]
        print: bool,
    },
    /// Print snapshots of a scenario run here, of another process
    /// (read-only), or of a command run as threadscope's child (`-- CMD
    /// ARGS…`, stopped after the snapshots), as JSON (one per line) or a
    /// jstack-like text dump; or one moment of a recording (`--from FILE
    /// --at T`).
    Snapshot {
        /// Scenario to run and snapshot (a built-in or a .toml file; default: tour).
        #[arg(long, value_name = "NAME|FILE", conflicts_with_all = ["pid", "from", "command"])]
        scenario: Option<String>,
        /// Another process to inspect, read-only.
        // Hyphen values: `--pid -5` is a bad pid, said as such, not clap's
        // tip to write `-- -5` (which would run `-5` as a command).
        #[arg(long, value_name = "PID", conflicts_with_all = ["from", "command"], allow_hyphen_values = true)]
        pid: Option<u32>,
        /// A recording to print a moment of, as it was printed live.
        #[arg(long, value_name = "FILE")]
        from: Option<std::path::PathBuf>,
        /// With --from: the moment, after the recording's first sample (e.g. "90s").
        #[arg(long, value_name = "DURATION", requires = "from", value_parser = parse_duration_arg, allow_hyphen_values = true)]
        at: Option<Duration>,
        /// How long to let it run before the (first) snapshot.
        #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration_arg, allow_hyphen_values = true)]
        after: Duration,
        /// How many snapshots to print.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..), allow_hyphen_values = true)]
        count: u32,
        /// Time between snapshots (at least 50ms: each is a fresh look, and
        /// its CPU figures are over the time since the last).
        #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_interval_arg, allow_hyphen_values = true)]
        interval: Duration,
        /// Output format.
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// Include every thread's stacks: a runtime's (Java frames, asked of
        /// the JVM) and the native one. For --pid each thread is stopped in
        /// turn for a moment (ptrace; the pause is measured and printed) to
        /// copy its stack; for a scenario, library threads show where their
        /// wait began. Without it no stack is taken or kept. A thread
        /// stopped in a sleep or wait resumes it as `restart_syscall`, which
        /// later readings can only name as a resumed call.
        #[arg(long)]
        stacks: bool,
        /// Runtime views (for --pid).
        #[command(flatten)]
        runtime: RuntimeArgs,
        /// A program to run as threadscope's child and snapshot (after `--`).
        #[arg(value_name = "CMD", last = true)]
        command: Vec<std::ffi::OsString>,
    },
}

fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    scenario::units::parse_duration(text)
}

fn parse_jvm_interval_arg(text: &str) -> Result<Duration, String> {
    let interval = scenario::units::parse_duration(text)?;
    if interval < Duration::from_millis(500) {
        return Err("the JVM interval must be at least 500ms: each dump pauses the JVM".to_owned());
    }
    Ok(interval)
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
