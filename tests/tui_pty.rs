//! The TUI end to end: the real binary in a pseudo-terminal, its screen read
//! through a VT parser. Every wait polls the screen for expected text with
//! a deadline; nothing sleeps a fixed time.
#![cfg(feature = "tui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod agent_support;
mod foreign_support;
mod python_support;

/// The child's entry for the foreign-program test: nothing unless the
/// environment says this process is the child.
#[test]
fn child_entry() {
    if std::env::var_os(foreign_support::CHILD_ENV).is_some() {
        foreign_support::child();
    }
}

/// The instrumented program's entry, for the agent test.
#[test]
fn agent_child_entry() {
    if std::env::var_os(agent_support::CHILD_ENV).is_some() {
        agent_support::child();
    }
}

/// How long any one expectation may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(20);
/// How long an exited program's last output may take to be read, should
/// something else (a child it left running) still hold the terminal.
const DRAIN: Duration = Duration::from_secs(5);

struct Session {
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    parser: Arc<Mutex<vt100::Parser>>,
    /// Everything the program wrote, for messages printed after it left
    /// the alternate screen.
    raw: Arc<Mutex<Vec<u8>>>,
    /// Set when the reader met the end of the program's output.
    ended: Arc<std::sync::atomic::AtomicBool>,
}

fn size(cols: u16, rows: u16) -> PtySize {
    PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }
}

impl Session {
    fn start(args: &[&str], envs: &[(&str, &str)], cols: u16, rows: u16) -> Self {
        Self::start_in(None, args, envs, cols, rows)
    }

    /// [`start`](Self::start) in directory `cwd` (where recordings go).
    fn start_in(
        cwd: Option<&std::path::Path>,
        args: &[&str],
        envs: &[(&str, &str)],
        cols: u16,
        rows: u16,
    ) -> Self {
        let pair = native_pty_system().openpty(size(cols, rows)).unwrap();
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_threadscope"));
        command.args(args);
        if let Some(dir) = cwd {
            command.cwd(dir);
        }
        command.env("TERM", "xterm-256color");
        command.env_remove("NO_COLOR");
        for (k, v) in envs {
            command.env(k, v);
        }
        let child = pair.slave.spawn_command(command).unwrap();
        drop(pair.slave);
        let parser =
            Arc::new(Mutex::new(vt100::Parser::new(rows.try_into().unwrap(), cols.try_into().unwrap(), 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pair.master.try_clone_reader().unwrap();
        let ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (feed, log, end) = (parser.clone(), raw.clone(), ended.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().unwrap().process(&buf[..n]);
                log.lock().unwrap().extend_from_slice(&buf[..n]);
            }
            // End of file, or EIO once every copy of the pty's slave side is closed.
            end.store(true, std::sync::atomic::Ordering::Release);
        });
        let writer = pair.master.take_writer().unwrap();
        Self { master: pair.master, writer, child, parser, raw, ended }
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen satisfies `ready`; returns it.
    fn wait_until(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait_until(text, |s| s.contains(text))
    }

    fn resize(&mut self, cols: u16, rows: u16) {
        // Our screen first: once the pty says the new size, the program
        // redraws for it (clearing first), and that redraw must not be
        // parsed into the old size, or the cells it left unchanged stay torn.
        self.parser.lock().unwrap().screen_mut().set_size(rows.try_into().unwrap(), cols.try_into().unwrap());
        self.master.resize(size(cols, rows)).unwrap();
    }

    fn press(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    fn pid(&self) -> i32 {
        self.child.process_id().unwrap() as i32
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // What it wrote last (after leaving the alternate screen) is
                // read once the reader meets the end of its output: the pty
                // closes when the program and everything holding it exit.
                let drained = Instant::now() + DRAIN;
                while !self.ended.load(std::sync::atomic::Ordering::Acquire) && Instant::now() < drained {
                    std::thread::sleep(Duration::from_millis(10));
                }
                return status;
            }
            assert!(Instant::now() < deadline, "the program did not exit; screen:\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The alternate screen was left and the cursor is shown again.
    fn assert_restored(&self) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let (alternate, hidden) = {
                let parser = self.parser.lock().unwrap();
                (parser.screen().alternate_screen(), parser.screen().hide_cursor())
            };
            if !alternate && !hidden {
                // Blank before it is left: tmux carries rows of an
                // alternate screen that grew into the main screen.
                let output = self.output();
                let left = output.rfind("\x1b[?1049l").unwrap_or(0);
                assert!(output[..left].ends_with("\x1b[2J"), "not cleared before it was left: {output:?}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "terminal not restored: alternate={alternate} hidden cursor={hidden}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn output(&self) -> String {
        String::from_utf8_lossy(&self.raw.lock().unwrap()).into_owned()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
        }
    }
}

/// A child process that does not outlive a failing test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(pid: i32, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(pid).unwrap();
    rustix::process::kill_process(pid, signal).unwrap();
}

#[test]
fn tour_screens_filter_sort_spawn_stop_and_quit() {
    let mut s = Session::start(&[], &[], 120, 40);
    s.wait_for("scenario tour");
    s.wait_for("Lock-Holder");
    for (key, expected) in [
        ("2", "Wait-for graph"),
        ("3", "-60s"),
        ("4", "Naming patterns"),
        ("5", "tasks in /proc/"),
        ("6", "watching pid"),
        ("?", "Act on the workload"),
        ("1", "WAITS ON"),
    ] {
        s.press(key);
        s.wait_for(expected);
    }

    s.press("/reader");
    let screen =
        s.wait_until("the filter to apply", |s| s.contains("/reader▏") && !s.contains("Housekeeper"));
    assert!(screen.contains("Config-Reader-1"), "{screen}");
    s.press("\x1b");
    s.wait_for("Housekeeper");

    // At 120 columns IDENT is hidden, so `s` starts with the first shown column.
    s.press("s");
    s.wait_for("sort: TID ▲");
    s.wait_for("TID▲");
    s.press("s");
    s.wait_for("NAME▲");
    s.press("o");
    s.wait_for("NAME▼");

    s.press("n");
    s.wait_for("Spawn a worker");
    s.press("\r");
    s.wait_for("spawn Sleeper: started Sleeper-1");
    // Selected once a sample has it: its name heads the detail pane.
    s.press("/Sleeper-1\r");
    s.wait_for("Sleeper-1 ─ Enter hides");
    s.press("x");
    s.wait_for("stop Sleeper-1: asked to stop");
    s.wait_for("Terminated");
    s.press("/\x1b");
    s.wait_for("Housekeeper");

    s.press("q");
    s.wait_for("Python would wait for them at exit");
    s.press("q");
    let status = s.wait_exit();
    assert!(status.success(), "{status:?}");
    s.assert_restored();
    assert!(s.output().contains("abandoned"), "{}", s.output());
}

#[test]
fn quitting_stops_threads_and_names_those_that_cannot_stop() {
    let dir = std::env::temp_dir().join(format!("threadscope-tui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("abba.toml");
    let abba = |name: &str, first: &str, second: &str| {
        format!(
            "[[threads]]\nname = \"{name}\"\nsteps = [{{ acquire = \"{first}\" }}, {{ wait = \"both\" }}, {{ acquire = \"{second}\" }}]\n"
        )
    };
    let text = format!(
        "name = \"abba\"\ndescription = \"non-daemon deadlock\"\n[primitives]\nA = {{ kind = \"lock\" }}\nB = {{ kind = \"lock\" }}\nboth = {{ kind = \"barrier\", parties = 2 }}\n{}{}",
        abba("Transfer-AB", "A", "B"),
        abba("Transfer-BA", "B", "A")
    );
    std::fs::write(&file, text).unwrap();
    let mut s = Session::start(&["run", file.to_str().unwrap()], &[], 120, 40);
    s.wait_for("DEADLOCK");
    s.press("q");
    s.wait_for("stop them cooperatively");
    s.press("s");
    s.wait_for("could not be stopped");
    s.press("q");
    let status = s.wait_exit();
    assert!(status.success(), "{status:?}");
    s.assert_restored();
    let screen = s.wait_for("could not be stopped");
    assert!(screen.contains("Transfer-AB: blocked in acquire of lock B"), "{screen}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigterm_restores_the_terminal() {
    let mut s = Session::start(&["run", "dining-philosophers"], &[], 120, 40);
    s.wait_for("Philosopher-");
    signal(s.pid(), rustix::process::Signal::TERM);
    let status = s.wait_exit();
    assert_eq!(status.exit_code(), 143, "{status:?}");
    s.assert_restored();
    assert!(
        s.screen().contains("SIGTERM: terminal restored, the scenario's threads abandoned"),
        "{}",
        s.screen()
    );
}

#[test]
fn sigterm_under_exec_stops_the_program_and_says_how_it_ended() {
    let mut s = Session::start(&["exec", "--interval", "200ms", "--", "sleep", "60"], &[], 120, 40);
    s.wait_for("exec sleep 60");
    signal(s.pid(), rustix::process::Signal::TERM);
    assert_eq!(s.wait_exit().exit_code(), 143);
    s.assert_restored();
    s.wait_for("SIGTERM: terminal restored, stopped `sleep 60` (pid ");
    assert!(s.screen().contains("killed by SIGTERM"), "{}", s.screen());
}

#[test]
fn sighup_while_attached_says_the_target_runs_on() {
    let mut target = std::process::Command::new("sleep").arg("60").spawn().unwrap();
    let pid = target.id();
    let mut s = Session::start(&["attach", &pid.to_string(), "--interval", "200ms"], &[], 120, 40);
    s.wait_for(&format!("attached to {pid} (read-only)"));
    signal(s.pid(), rustix::process::Signal::HUP);
    assert_eq!(s.wait_exit().exit_code(), 129);
    s.assert_restored();
    s.wait_for(&format!("SIGHUP: terminal restored, pid {pid} was only read and runs on"));
    assert!(target.try_wait().unwrap().is_none(), "the target still runs");
    target.kill().unwrap();
    target.wait().unwrap();
}

#[test]
fn a_panic_restores_the_terminal_and_reports_it() {
    let envs = [("THREADSCOPE_TEST_PANIC", "1"), ("RUST_BACKTRACE", "0")];
    let mut s = Session::start(&["run", "tour"], &envs, 120, 40);
    s.wait_for("Lock-Holder");
    s.press("\x10"); // Ctrl-P
    let status = s.wait_exit();
    assert!(!status.success());
    s.assert_restored();
    let screen = s.wait_for("debug panic");
    assert!(screen.contains("panicked"), "{screen}");
    // The message came after the terminal was restored, not into the UI.
    let output = s.output();
    let left = output.rfind("\x1b[?1049l").unwrap();
    assert!(output[left..].contains("debug panic"), "{output:?}");
}

#[test]
fn attach_is_read_only_and_survives_the_target_exiting() {
    let mut target = std::process::Command::new("sleep").arg("60").spawn().unwrap();
    let pid = target.id().to_string();
    let mut s = Session::start(&["attach", &pid, "--interval", "200ms"], &[], 120, 40);
    s.wait_for(&format!("attached to {pid} (read-only)"));
    s.wait_for("sleep");
    s.press("n");
    s.wait_for("read-only: attached to pid");
    target.kill().unwrap();
    target.wait().unwrap();
    s.wait_for("PROCESS EXITED");
    s.press("q");
    assert!(s.wait_exit().success());
    s.assert_restored();
}

#[test]
fn after_the_target_exits_its_last_sample_stays_on_every_screen() {
    // A target with named threads: threadscope itself running a scenario
    // headless (its stdout, the lifecycle text, is not needed).
    let mut target = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_threadscope"))
            .args(["run", "dining-philosophers", "--headless"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = target.0.id().to_string();
    let mut s = Session::start(&["attach", &pid, "--interval", "100ms"], &[], 120, 40);
    // Both ends of the table on screen before the kill: the last sample
    // must hold them (a sample can show the fifth philosopher before the
    // first is named in the kernel).
    s.wait_until("Philosopher-0 and Philosopher-4", |text| {
        text.contains("Philosopher-0") && text.contains("Philosopher-4")
    });
    target.0.kill().unwrap();
    target.0.wait().unwrap();
    let threads = s.wait_for("PROCESS EXITED");
    assert!(threads.contains("Philosopher-0") && threads.contains("Philosopher-4"), "{threads}");
    for (key, screen) in [("3", "timeline"), ("5", "kernel")] {
        s.press(key);
        let shown = s.wait_until(screen, |text| text.contains("Philosopher-4"));
        assert!(shown.contains("PROCESS EXITED"), "{screen}:\n{shown}");
    }
    s.press("q");
    assert!(s.wait_exit().success());
}

#[test]
fn tiny_terminals_and_resizes() {
    let mut s = Session::start(&["run", "tour", "--no-color"], &[], 30, 8);
    s.wait_for("too small");
    s.resize(120, 40);
    s.wait_for("Lock-Holder");
    for (cols, rows) in [(20, 5), (200, 60), (61, 12), (80, 24)] {
        s.resize(cols, rows);
    }
    s.wait_for("threadscope");
    signal(s.pid(), rustix::process::Signal::HUP);
    assert_eq!(s.wait_exit().exit_code(), 129);
    s.assert_restored();
}

#[test]
fn exceptions_interrupts_and_loading_another_scenario() {
    let mut s = Session::start(&["run", "exceptions"], &[], 120, 40);
    s.press("6");
    s.wait_for("Exception in thread Parser-1:");
    s.wait_for("unexpected token at line 42");
    s.press("i");
    s.wait_for("SIGINT reached the main thread");
    s.press("l");
    s.wait_for("Load a scenario");
    s.press("\x1b[B\x1b[B\r"); // ↓ ↓ Enter: deadlock
    s.wait_for("loaded scenario deadlock");
    s.wait_for("stop exceptions: ");
    s.wait_for("DEADLOCK");
    // The stop report can come before a sample shows its threads ended, and
    // quitting decides from the last sample: wait until one shows them.
    s.press("1");
    s.wait_until("Quitter and Survivor shown terminated", |screen| {
        ["Quitter", "Survivor"]
            .iter()
            .all(|name| screen.lines().any(|l| l.contains(name) && l.contains("Terminated")))
    });
    s.press("\x03"); // Ctrl-C: only daemon threads are left, so it quits at once
    assert!(s.wait_exit().success());
    s.assert_restored();
    assert!(s.output().contains("abandoned 2 daemon thread(s)"), "{}", s.output());
}

/// Not a test: prints each screen of a live `tour`, to refresh the
/// captures in `docs/user-guide.md`:
/// `cargo test --test tui_pty capture -- --ignored --nocapture`.
#[test]
#[ignore]
fn capture_screens_for_the_guide() {
    let mut s = Session::start(&["run", "tour", "--interval", "500ms"], &[], 120, 36);
    s.wait_for("up 0:00:12");
    for (key, shown) in [
        ("1", "WAITS ON"),
        ("2", "Wait-for graph"),
        ("3", "-60s"),
        ("4", "Naming patterns"),
        ("5", "tasks in /proc/"),
        ("6", "watching pid"),
        ("?", "Navigate"),
    ] {
        s.press(key);
        println!("==== {key}\n{}", s.wait_for(shown));
    }
    let mut s = Session::start(&["run", "exceptions"], &[], 120, 20);
    s.press("6");
    println!("==== exceptions log\n{}", s.wait_for("Quitter terminated"));
}

#[test]
fn attached_to_a_foreign_program_the_locks_screen_shows_a_mutex_owner() {
    let target = foreign_support::Target::start(std::env::current_exe().unwrap());
    let pid = target.child.id().to_string();
    let mut s = Session::start(&["attach", &pid, "--interval", "100ms"], &[], 160, 50);
    s.wait_for(" DEADLOCK ");
    s.press("2");
    let held = format!("{:#x}", target.mutex("held"));
    s.wait_until("the held mutex with its owner", |screen| {
        screen.lines().any(|l| l.starts_with(&held) && l.contains("mutex") && l.contains("holder"))
    });
    s.wait_for("owner not recorded by this kind of lock");
    s.press("q");
    assert!(s.wait_exit().success());
}

#[test]
fn attached_to_a_program_with_the_agent_its_names_holders_and_deadlock_show_until_the_agent_goes() {
    use agent_support::{HOLDER, TRANSFERS, WAITERS};
    let mut target = agent_support::Target::start(std::env::current_exe().unwrap(), "start");
    let pid = target.pid().to_string();
    let mut s = Session::start(&["attach", &pid, "--interval", "100ms"], &[], 160, 50);
    s.wait_for(&format!("agent: rust, threadscope {} (pid {pid})", env!("CARGO_PKG_VERSION")));
    let banner = s.wait_for(" DEADLOCK ");
    assert!(banner.contains(TRANSFERS[0]) && banner.contains(TRANSFERS[1]), "{banner}");
    let threads = s.wait_for(WAITERS[1]);
    assert!(threads.contains(HOLDER), "full names, not the kernel's 15 bytes:\n{threads}");
    s.press("2");
    s.wait_until("the ledger with its holder and waiters", |screen| {
        screen
            .lines()
            .any(|l| l.starts_with("ledger") && l.contains(HOLDER) && WAITERS.iter().all(|w| l.contains(w)))
    });
    target.stop_agent();
    s.wait_for("stopped answering");
    s.press("q");
    assert!(s.wait_exit().success());
}

#[test]
fn the_stack_key_shows_a_foreign_threads_native_stack_and_what_it_cost() {
    let target =
        foreign_support::Target::start_kind(std::env::current_exe().unwrap(), foreign_support::STACKS_CHILD);
    let pid = target.child.id().to_string();
    let mut s = Session::start(&["attach", &pid, "--interval", "200ms"], &[], 160, 50);
    s.wait_for("pipe-reader");
    // Nothing is stopped until the key is pressed: the pane says what it would do.
    s.press("/pipe-reader\r");
    s.wait_until("the filter to apply", |s| s.contains("pipe-reader") && !s.contains("sleeper"));
    s.wait_for("b: its native stack (stops this one thread for a moment, measured and shown)");
    s.press("b");
    let screen = s.wait_for("blocked_in_pipe_read");
    assert!(screen.contains("runtime native · thread stopped "), "{screen}");
    assert!(screen.contains("foreign_support/mod.rs:"), "file:line: {screen}");
    s.wait_for("the only time threadscope stops another process");
    s.press("q");
    assert!(s.wait_exit().success());
}

#[test]
fn in_a_scenario_the_stack_key_shows_where_a_library_wait_began() {
    let mut s =
        Session::start(&["run", "deadlock", "--wait-backtraces", "--interval", "200ms"], &[], 160, 50);
    s.wait_for(" DEADLOCK ");
    s.press("/Transfer-AB\r");
    s.wait_until("the filter to apply", |s| s.contains("Transfer-AB") && !s.contains("Transfer-BA (tid"));
    s.wait_for("b: the native stack where this wait began");
    s.press("b");
    let screen = s.wait_for("runtime native, where this wait began · captured by the thread itself");
    assert!(screen.contains("acquire"), "the library call it waits in: {screen}");
    s.press("q");
    s.press("q");
    let _ = s.wait_exit();
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("threadscope-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The replay's position on screen: `(sample, of)` from its `N/M`.
fn replay_position(screen: &str) -> Option<(usize, usize)> {
    let line = screen.lines().find(|l| l.contains('├'))?;
    line.split_whitespace().find_map(|word| {
        let (n, m) = word.split_once('/')?;
        Some((n.parse().ok()?, m.parse().ok()?))
    })
}

#[test]
fn replay_plays_pauses_steps_seeks_and_refuses_actions() {
    let dir = scratch("replay-pty");
    let file = dir.join("deadlock.tsrec");
    let recorded = std::process::Command::new(env!("CARGO_BIN_EXE_threadscope"))
        .args(["record", "--scenario", "deadlock", "--for", "3s", "--interval", "100ms", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(recorded.status.success(), "{}", String::from_utf8_lossy(&recorded.stderr));

    let mut s = Session::start(&["replay", file.to_str().unwrap()], &[], 120, 40);
    s.wait_for("REPLAY");
    s.wait_for("scenario deadlock on");
    s.wait_for("Transfer-AB");
    // Paused: the position stops moving.
    s.press(" ");
    let screen = s.wait_for("❚❚");
    let (at, len) = replay_position(&screen).unwrap();
    assert!(len >= 10, "{screen}");
    // From a sample with room on both sides, so both steps move.
    if at == len || at == 1 {
        s.press("t1s\r");
    }
    let screen = s.wait_until("a position inside the recording", |screen| {
        replay_position(screen).is_some_and(|(n, _)| n > 1 && n < len)
    });
    let (at, _) = replay_position(&screen).unwrap();
    s.press(".");
    s.wait_for(&format!(" {}/{len} ", at + 1));
    s.press(",");
    s.press(",");
    s.wait_for(&format!(" {}/{len} ", at - 1));
    // Seek to the start, then past the end (the last sample), then back
    // to where the deadlock formed (on a busy machine, maybe the first).
    s.press("t0s\r");
    s.wait_for(&format!(" 1/{len} "));
    s.press("t10m\r");
    s.wait_for(&format!(" {len}/{len} "));
    s.wait_for("past the end");
    s.press("K");
    s.wait_for("replay: deadlock forming at");
    s.wait_for("DEADLOCK");
    // Faster, then playing again to the end.
    s.press("]]");
    s.wait_for("4×");
    s.press(" ");
    s.wait_for(&format!(" {len}/{len} "));
    s.wait_for("end of the recording");
    // Nothing runs: acting is refused.
    s.press("x");
    s.wait_for("replay: read-only");
    s.press("q");
    assert!(s.wait_exit().success());
    s.assert_restored();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn recording_from_the_tui_and_the_flight_recorder_on_a_deadlock() {
    let dir = scratch("record-pty");
    let args = ["run", "deadlock", "--interval", "200ms", "--flight-recorder", "1m"];
    let mut s = Session::start_in(Some(&dir), &args, &[], 120, 40);
    // The flight recorder writes itself out when the deadlock forms. That
    // can be before a key is read, and a later outcome ("recording to …")
    // replaces it in the status line: so it is awaited first.
    s.wait_for("flight recorder (deadlock): wrote the last");
    s.press("R");
    s.wait_for("● REC");
    s.press("W");
    s.wait_for("flight recorder (key): wrote the last");
    signal(s.pid(), rustix::process::Signal::USR1);
    s.wait_for("flight recorder (SIGUSR1): wrote the last");
    s.press("R");
    let screen = s.wait_for("recording stopped:");
    assert!(!screen.contains("● REC"), "{screen}");
    // Its threads are daemons: quitting asks nothing.
    s.press("q");
    s.wait_exit();
    s.assert_restored();
    let files: Vec<std::path::PathBuf> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    let flights = files.iter().filter(|p| p.to_string_lossy().contains("threadscope-flight-")).count();
    assert!(flights >= 1, "{files:?}");
    for path in &files {
        let mut recording = threadscope::record::Recording::open(path).unwrap();
        assert!(recording.problems().is_empty(), "{path:?}: {:?}", recording.problems());
        let last = recording.snapshot(recording.len() - 1).unwrap();
        assert_eq!(last.scenario.as_deref(), Some("deadlock"), "{path:?}");
        if path.to_string_lossy().contains("flight") {
            assert!(!last.deadlocks.is_empty(), "a deadlock dump ends in the deadlock: {path:?}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_recording_stopped_before_its_first_sample_leaves_no_file() {
    let dir = scratch("record-empty");
    let args = ["run", "deadlock", "--interval", "200ms"];
    let mut s = Session::start_in(Some(&dir), &args, &[], 120, 40);
    s.wait_for("Transfer-AB");
    // Paused, nothing is sampled: the recording gets no sample at all.
    s.press("p");
    s.wait_for("PAUSED");
    s.press("R");
    s.wait_for("● REC");
    s.press("R");
    s.wait_for("recording stopped before its first sample: nothing kept");
    s.press("q");
    s.wait_exit();
    s.assert_restored();
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(files.is_empty(), "{files:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn replay_skips_a_damaged_sample_and_plays_on() {
    let dir = scratch("replay-damaged");
    let file = dir.join("deadlock.tsrec");
    let recorded = std::process::Command::new(env!("CARGO_BIN_EXE_threadscope"))
        .args(["record", "--scenario", "deadlock", "--for", "8s", "--interval", "100ms", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(recorded.status.success(), "{}", String::from_utf8_lossy(&recorded.stderr));
    // One byte of sample 5's record (a delta; a keyframe comes every 60
    // samples): the index is still trusted, so the damage is found only
    // when replay reaches it, and samples 5 to 59 stand on it.
    let mut bytes = std::fs::read(&file).unwrap();
    let mut at = 0;
    for _ in 0..6 {
        let length = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        at += 21 + length;
    }
    bytes[at + 21] ^= 0x40;
    std::fs::write(&file, bytes).unwrap();

    let mut s = Session::start(&["replay", file.to_str().unwrap()], &[], 120, 40);
    s.wait_for("REPLAY");
    s.press("]]]");
    s.wait_for("8×");
    s.wait_for("end of the recording");
    // The log keeps what the status line said on the way.
    s.press("6");
    s.wait_for("replay: skipped sample(s) 6–60");
    s.press("q");
    assert!(s.wait_exit().success());
    s.assert_restored();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The screen's text and everything written after the alternate screen.
fn raw_text(s: &Session) -> String {
    String::from_utf8_lossy(&s.raw.lock().unwrap()).into_owned()
}

fn process_exists(pid: &str) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn exec_of_a_python_program_shows_full_names_the_holder_and_where_each_waits() {
    let Some(python) = python_support::python_or_skip("exec_of_a_python_program") else { return };
    let script = python_support::script("lock_held.py");
    let args = ["exec", "--interval", "200ms", "--", python.to_str().unwrap(), script.to_str().unwrap()];
    let mut s = Session::start(&args, &[], 160, 50);
    let screen = s.wait_for("PaymentService-ProcessorThread-2");
    assert!(screen.contains("PaymentService-LedgerThread-1") && screen.contains("exec "), "{screen}");
    s.wait_for("agent: python");
    // The Locks screen: the lock by its creation line, its holder and both waiters.
    let lock = python_support::line_of("lock_held.py", "accounts = threading.Lock()");
    s.press("2");
    let edges: Vec<String> = ["PaymentService-ProcessorThread-1", "PaymentService-ProcessorThread-2"]
        .iter()
        .map(|waiter| format!("{waiter} ──acquire──▶ lock {lock} ──held by──▶ PaymentService-LedgerThread-1"))
        .collect();
    // Each waiter shows once it is seen waiting (under load, not both at once).
    s.wait_until("the lock with its holder, and both waiters' edges", |screen| {
        screen.lines().any(|l| l.starts_with(&lock) && l.contains("PaymentService-LedgerThread-1"))
            && edges.iter().all(|edge| screen.contains(edge))
    });
    // The stack view of a waiter shows the line it waits at.
    s.press("1");
    s.press("/ProcessorThread-1\r");
    let waits_at = python_support::line_of("lock_held.py", "# processor waits here");
    s.wait_for(&waits_at);
    let pid = s
        .wait_until("the child's pid in the header", |screen| screen.contains(", read-only)"))
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap()
        .to_owned();
    assert!(process_exists(&pid));
    s.press("q");
    s.wait_for("Still running (pid ");
    s.press("s");
    assert!(s.wait_exit().success());
    s.assert_restored();
    let out = raw_text(&s);
    assert!(out.contains(&format!("(pid {pid}): killed by SIGTERM")), "{out}");
    assert!(!process_exists(&pid), "the child was stopped and reaped");
}

#[test]
fn exec_of_a_python_deadlock_shows_the_banner_and_q_can_leave_it_running() {
    let Some(python) = python_support::python_or_skip("exec_of_a_python_deadlock") else { return };
    let script = python_support::script("deadlock.py");
    let mut s =
        Session::start(&["exec", "--", python.to_str().unwrap(), script.to_str().unwrap()], &[], 160, 50);
    let banner = s.wait_for(" DEADLOCK ");
    assert!(
        banner.contains("Bank-TransferThread-1") && banner.contains("Bank-ReconcileThread-1"),
        "{banner}"
    );
    s.press("q");
    s.wait_for("quit and leave it running");
    s.press("q");
    assert!(s.wait_exit().success());
    s.assert_restored();
    let out = raw_text(&s);
    let pid = out.split("(pid ").last().and_then(|rest| rest.split(')').next()).unwrap().to_owned();
    assert!(out.contains("running; its output goes to"), "{out}");
    assert!(process_exists(&pid), "left running");
    let killed = std::process::Command::new("kill").args(["-9", &pid]).status().unwrap();
    assert!(killed.success());
}

#[test]
fn exec_of_a_program_that_exits_at_once_says_so() {
    let Some(python) = python_support::python_or_skip("exec_of_a_program_that_exits_at_once") else { return };
    let script = python_support::script("exits_at_once.py");
    let mut s =
        Session::start(&["exec", "--", python.to_str().unwrap(), script.to_str().unwrap()], &[], 100, 30);
    assert_eq!(s.wait_exit().exit_code(), 1);
    let out = raw_text(&s);
    assert!(out.contains("exited with status 3 at once, before anything could be watched"), "{out}");
}

#[test]
fn exec_forwards_ctrl_c_to_the_program_and_shows_its_exit() {
    let Some(python) = python_support::python_or_skip("exec_forwards_ctrl_c") else { return };
    let dir = threadscope::agent::python::AgentDir::create().unwrap();
    let marker = dir.path().join("interrupted");
    let script = python_support::script("interrupt.py");
    let args = ["exec", "--", python.to_str().unwrap(), script.to_str().unwrap(), marker.to_str().unwrap()];
    let mut s = Session::start(&args, &[], 120, 40);
    s.wait_for("MainThread");
    s.press("\x03");
    let screen = s.wait_for("EXITED WITH STATUS 0");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "KeyboardInterrupt\n", "{screen}");
    s.press("q");
    assert!(s.wait_exit().success());
    s.assert_restored();
    assert!(raw_text(&s).contains("exited with status 0"));
}
