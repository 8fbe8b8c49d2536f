//! `threadscope exec -- CMD ARGS…` and `threadscope snapshot -- CMD ARGS…`:
//! the command is started here (so a command that is not found exits 127,
//! as in a shell), then handed to the TUI or the headless snapshot, both
//! of which watch it through the attach pipeline by its pid.

use super::args::{RuntimeArgs, ViewArgs};
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;
use threadscope::launch::{LaunchError, Launched, Output};

/// What `threadscope python-agent` says without `--print`.
pub const PYTHON_AGENT_HELP: &str = "\
threadscope's Python agent (standard library only, CPython 3.8+) serves a
program's full thread names, stacks, and who holds and waits on each Lock,
RLock, Condition, Semaphore, Event, Barrier and Queue, to `threadscope
attach PID` and `threadscope snapshot --pid PID`.

`threadscope exec -- python3 app.py` loads it by itself. To load it by hand:

  mkdir -p ~/.threadscope && threadscope python-agent --print > ~/.threadscope/threadscope_agent.py
  PYTHONPATH=~/.threadscope python3 -c 'import threadscope_agent; import runpy; runpy.run_path(\"app.py\", run_name=\"__main__\")'

or put `import threadscope_agent` first in the program (with the file on its
path): it must come before the program creates its locks, which are the
ones it can describe.
";

fn failed(error: &LaunchError) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "threadscope: {error}");
    ExitCode::from(error.exit_code())
}

/// `snapshot -- CMD`: run it, snapshot it, stop it.
pub fn snapshot(command: &[OsString], args: &threadscope::headless::SnapshotArgs) -> ExitCode {
    let child = match Launched::spawn(command, Output::Stderr) {
        Ok(child) => child,
        Err(error) => return failed(&error),
    };
    super::finish(threadscope::headless::snapshot_child(args, child))
}

/// `exec -- CMD`: run it and open the TUI on it.
#[cfg(feature = "tui")]
pub fn tui(command: &[OsString], view: &ViewArgs, runtime: &RuntimeArgs) -> ExitCode {
    let mut child = match Launched::spawn(command, Output::File) {
        Ok(child) => child,
        Err(error) => return failed(&error),
    };
    if let threadscope::launch::Settled::Exited(status) = child.settle(threadscope::launch::PYTHON_PATIENCE) {
        return exited_at_once(&child, status);
    }
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let options = threadscope::tui::Options {
        target: threadscope::tui::Target::Attach(child.pid()),
        interval: view.interval,
        color: !(view.no_color || no_color_env),
        runtime: runtime.into(),
        flight_recorder: view.flight_recorder.map(threadscope::record::FlightBudget::span),
    };
    match threadscope::tui::run_child(&options, child) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "threadscope: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A program that ended before there was anything to watch: said, with
/// the end of what it wrote, instead of an empty screen.
#[cfg(feature = "tui")]
fn exited_at_once(child: &Launched, status: std::process::ExitStatus) -> ExitCode {
    let mut err = std::io::stderr().lock();
    for line in child.at_once_report(status) {
        let _ = writeln!(err, "{line}");
    }
    ExitCode::FAILURE
}
