//! The instrumented program of the agent tests (`mod agent_support;`): a
//! program that uses threadscope's library and serves it through the
//! agent. Each test crate re-runs its own binary as the child through an
//! `agent_child_entry` test that calls [`child`].
//!
//! The child makes: a ledger lock held by a long-named thread (waiting on
//! an event that never comes) with two long-named waiters; an ABBA
//! deadlock between two transfer threads on two account locks. It says
//! each thread's TID, then "ready"; on the line `stop-agent` it stops its
//! agent (and says "agent-stopped"), on `start-agent` it starts one (mode
//! `late` starts none before); it exits when stdin closes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};
use threadscope::threading::{Barrier, Event, Lock, Registry, Thread};

/// Set in the child: `start` (it calls `agent::start()`), `env` (it
/// relies on `THREADSCOPE_AGENT=1`) or `late` (no agent until asked).
pub const CHILD_ENV: &str = "THREADSCOPE_AGENT_TEST_CHILD";
/// How long anything may take before the test gives up (never hang CI).
pub const PATIENCE: Duration = Duration::from_secs(30);

pub const HOLDER: &str = "JobServer-Ledger-Holder";
pub const WAITERS: [&str; 2] = ["JobServer-Ledger-Waiter-1", "JobServer-Ledger-Waiter-2"];
pub const TRANSFERS: [&str; 2] = ["Transfer-account-a-to-b", "Transfer-account-b-to-a"];

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // libtest may have begun a line: the marker says where ours starts.
    writeln!(out, "@@ {line}").unwrap();
    out.flush().unwrap();
}

fn spawn(name: &str, body: impl FnOnce() + Send + 'static) {
    let thread = Thread::builder().name(name).daemon(true).target(body);
    thread.start().unwrap();
}

pub fn child() {
    let mode = std::env::var(CHILD_ENV).unwrap();
    let mut agent = (mode == "start").then(|| threadscope::agent::start().unwrap());

    let ledger = Arc::new(Lock::named("ledger"));
    let never = Arc::new(Event::new());
    let (held, wait) = (Arc::clone(&ledger), Arc::clone(&never));
    spawn(HOLDER, move || {
        let _held = held.guard();
        let _ = wait.wait(None);
    });
    while !ledger.locked() {
        std::thread::yield_now();
    }
    for name in WAITERS {
        let ledger = Arc::clone(&ledger);
        spawn(name, move || drop(ledger.guard()));
    }
    let (a, b) = (Arc::new(Lock::named("account-a")), Arc::new(Lock::named("account-b")));
    let meet = Arc::new(Barrier::new(2).unwrap());
    for (name, first, second) in [(TRANSFERS[0], Arc::clone(&a), Arc::clone(&b)), (TRANSFERS[1], b, a)] {
        let meet = Arc::clone(&meet);
        spawn(name, move || {
            let _first = first.guard();
            let _ = meet.wait(None);
            let _second = second.guard();
        });
    }
    // Ready when the registry shows every wait.
    let registry = Registry::global();
    let snapshot = loop {
        let s = registry.snapshot();
        let waiting = |name: &str, n: usize| s.primitive_named(name).is_some_and(|p| p.waiters.len() == n);
        if waiting("ledger", 2) && waiting("account-a", 1) && waiting("account-b", 1) {
            break s;
        }
        std::thread::yield_now();
    };
    for name in [HOLDER].into_iter().chain(WAITERS).chain(TRANSFERS) {
        say(&format!("tid {name} {}", snapshot.thread(name).unwrap().native_id.unwrap()));
    }
    say("ready");
    for line in std::io::stdin().lock().lines() {
        match line.unwrap_or_default().as_str() {
            "stop-agent" => {
                if let Some(agent) = &agent {
                    agent.stop();
                }
                say("agent-stopped");
            }
            "start-agent" => {
                agent = Some(threadscope::agent::start().unwrap());
                say("agent-started");
            }
            _ => {}
        }
    }
    std::process::exit(0);
}

/// The child process, killed and reaped on drop.
pub struct Target {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    tids: HashMap<String, u32>,
}

impl Drop for Target {
    fn drop(&mut self) {
        // Closing stdin ends the child normally, so its agent removes its
        // socket at exit; a child that does not end soon is killed.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Target {
    /// Starts the test binary `exe` as the child (`mode` as [`CHILD_ENV`]),
    /// until it says ready.
    pub fn start(exe: std::path::PathBuf, mode: &str) -> Target {
        let mut command = Command::new(exe);
        command
            .args(["--exact", "agent_child_entry", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if mode == "env" {
            command.env(threadscope::agent::ENV, "1");
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest's own lines carry no marker.
                if let Some((_, ours)) = line.split_once("@@ ")
                    && tx.send(ours.to_owned()).is_err()
                {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut target = Target { child, stdin, lines, tids: HashMap::new() };
        loop {
            let line = target.next_line("ready");
            match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["ready"] => return target,
                ["tid", name, tid] => drop(target.tids.insert((*name).to_owned(), tid.parse().unwrap())),
                other => panic!("unexpected line from the child: {other:?}"),
            }
        }
    }

    fn next_line(&self, waiting_for: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        let left = deadline.saturating_duration_since(Instant::now());
        self.lines.recv_timeout(left).unwrap_or_else(|_| panic!("the child never said {waiting_for}"))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn tid(&self, name: &str) -> u32 {
        self.tids[name]
    }

    /// Stops the child's agent; returns once it says it has.
    pub fn stop_agent(&mut self) {
        self.tell("stop-agent", "agent-stopped");
    }

    /// Starts the child's agent; returns once it says it has.
    pub fn start_agent(&mut self) {
        self.tell("start-agent", "agent-started");
    }

    fn tell(&mut self, line: &str, answer: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        assert_eq!(self.next_line(answer), answer);
    }
}
