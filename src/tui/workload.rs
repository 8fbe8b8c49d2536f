//! Carrying out [`Command`]s on the scenario run in this process. Quick
//! ones report at once; ones that wait (join, stopping a scenario) run on
//! a helper thread and report through the event channel, so the UI never
//! blocks — and never takes a lock a worker may hold.

use super::action::Command;
use super::event::{Event, Report, ScenarioInfo};
use crate::display::sanitize;
use crate::scenario::{RunningScenario, Scenario, StopReport, StopThread, ThreadProgress};
use crate::threading::{Registry, Thread, interrupt_main, kernel_comm};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// How long a replaced scenario's threads get to stop.
const REPLACE_GRACE: Duration = Duration::from_secs(2);

/// The scenario being run and a way to report back.
pub struct Workload {
    running: Option<RunningScenario>,
    events: UnboundedSender<Event>,
}

impl Workload {
    /// Starts `scenario` in the global registry.
    ///
    /// # Errors
    ///
    /// Python's `RuntimeError: can't start new thread` if it cannot.
    pub fn start(scenario: Scenario, events: UnboundedSender<Event>) -> Result<Self, String> {
        let running = RunningScenario::start(scenario, Registry::global()).map_err(|e| e.to_string())?;
        Ok(Self { running: Some(running), events })
    }

    /// What the UI needs to know about the scenario.
    pub fn info(&self) -> ScenarioInfo {
        let Some(running) = &self.running else { return ScenarioInfo::default() };
        let scenario = running.scenario();
        ScenarioInfo {
            name: scenario.name.clone(),
            notes: scenario.notes.clone(),
            primitives: running.primitive_names(),
        }
    }

    /// Where each thread is in its script.
    pub fn progress(&self) -> Vec<ThreadProgress> {
        self.running.as_ref().map(RunningScenario::progress).unwrap_or_default()
    }

    /// Carries out `command`; `Some` when the outcome is known at once,
    /// otherwise it arrives later as an [`Event::Report`].
    pub fn perform(&mut self, command: Command) -> Option<Report> {
        let what = describe(&command);
        let done = |result: Result<String, String>| Some(Report::Done { what: what.clone(), result });
        match command {
            Command::Load(name) => return self.load(&name),
            Command::StopAll { grace } => return self.stop_all(grace),
            Command::InterruptMain => {
                return done(
                    interrupt_main(libc::SIGINT)
                        .map(|()| {
                            "SIGINT sent to the main thread (Python would raise KeyboardInterrupt there)"
                                .to_owned()
                        })
                        .map_err(|e| e.to_string()),
                );
            }
            _ => {}
        }
        let Some(running) = &self.running else {
            return done(Err("no scenario is running (it was stopped): load one with l".to_owned()));
        };
        let thread = |key: u64| -> Result<Thread, String> {
            running
                .threads()
                .into_iter()
                .find(|t| t.id() == key)
                .or_else(|| crate::threading::enumerate().into_iter().find(|t| t.id() == key))
                .ok_or_else(|| "RuntimeError: no such thread in this scenario".to_owned())
        };
        let result = match command {
            Command::Spawn { worker, target } => running
                .spawn_worker(worker, target.as_deref())
                .map(|t| format!("started {}", sanitize(&t.name())))
                .map_err(|e| e.to_string()),
            Command::Start { key, .. } => {
                thread(key).and_then(|t| t.start().map_err(|e| e.to_string())).map(|()| "started".to_owned())
            }
            Command::Stop { name, .. } => match running.stop_thread(&name) {
                Ok(StopThread::Stopping) => {
                    Ok("asked to stop; it stops at its next step, sleep or timed wait".to_owned())
                }
                Ok(StopThread::NotRunning) => Ok("it is not running".to_owned()),
                // Asked all the same: it stops once the call returns. Not an error.
                Ok(StopThread::CannotStop(why)) => Ok(why),
                Err(e) => Err(e.to_string()),
            },
            Command::Join { key, name, timeout } => {
                let thread = match thread(key) {
                    Ok(thread) => thread,
                    Err(e) => return done(Err(e)),
                };
                self.join_in_background(thread, what.clone(), name, timeout);
                return None;
            }
            Command::Rename { key, to, .. } => thread(key).map(|t| {
                t.set_name(&to);
                format!("kernel comm is now \"{}\"", sanitize(kernel_comm(&to)))
            }),
            Command::SetDaemon { key, daemon, .. } => thread(key)
                .and_then(|t| t.set_daemon(daemon).map_err(|e| e.to_string()))
                .map(|()| format!("daemon = {}", if daemon { "True" } else { "False" })),
            Command::SetEvent(name) => {
                running.set_event(&name).map(|()| "set".to_owned()).map_err(|e| e.to_string())
            }
            Command::ClearEvent(name) => {
                running.clear_event(&name).map(|()| "cleared".to_owned()).map_err(|e| e.to_string())
            }
            Command::ReleaseLock(name) => running
                .release_lock(&name)
                .map(|()| "released from the UI thread".to_owned())
                .map_err(|e| e.to_string()),
            Command::Load(_) | Command::StopAll { .. } | Command::InterruptMain => return None,
        };
        done(result)
    }

    fn join_in_background(&self, thread: Thread, what: String, name: String, timeout: Duration) {
        let events = self.events.clone();
        let spawned = std::thread::Builder::new().name("ts-join".into()).spawn(move || {
            let _own = crate::inspect::mark_inspector_thread_scoped();
            crate::threading::register_helper_thread();
            let result = thread.join_timeout(timeout).map_err(|e| e.to_string()).map(|()| {
                if thread.is_alive() {
                    format!(
                        "{} is still alive after {timeout:?}: join returned, is_alive() is True",
                        sanitize(&name)
                    )
                } else {
                    format!("{} has ended", sanitize(&name))
                }
            });
            let _ = events.send(Event::Report(Report::Done { what, result }));
        });
        if let Err(e) = spawned {
            let _ = self.events.send(Event::Report(Report::Done {
                what: "join".to_owned(),
                result: Err(format!("RuntimeError: can't start new thread ({e})")),
            }));
        }
    }

    fn load(&mut self, name: &str) -> Option<Report> {
        let what = format!("load {}", sanitize(name));
        let scenario = match crate::scenario::load(name) {
            Ok(scenario) => scenario,
            Err(e) => return Some(Report::Done { what, result: Err(e.to_string()) }),
        };
        if let Some(old) = self.running.take() {
            let label = format!("stop {}", sanitize(&old.scenario().name));
            self.stop_in_background(old, REPLACE_GRACE, move |report| Report::Done {
                what: label,
                result: Ok(stop_summary(&report)),
            });
        }
        match RunningScenario::start(scenario, Registry::global()) {
            Ok(running) => {
                self.running = Some(running);
                Some(Report::Loaded(self.info()))
            }
            Err(e) => Some(Report::Done { what, result: Err(e.to_string()) }),
        }
    }

    fn stop_all(&mut self, grace: Duration) -> Option<Report> {
        match self.running.take() {
            Some(running) => {
                // Daemon threads are abandoned at exit in any case (the
                // dialog says so); only the others keep the program alive.
                self.stop_in_background(running, grace, |report| Report::StoppedAll {
                    stuck: report.stuck.iter().filter(|s| !s.daemon).map(ToString::to_string).collect(),
                });
                None
            }
            None => Some(Report::StoppedAll { stuck: Vec::new() }),
        }
    }

    fn stop_in_background(
        &self,
        mut running: RunningScenario,
        grace: Duration,
        report: impl FnOnce(StopReport) -> Report + Send + 'static,
    ) {
        let events = self.events.clone();
        let spawned = std::thread::Builder::new().name("ts-stop".into()).spawn(move || {
            let _own = crate::inspect::mark_inspector_thread_scoped();
            crate::threading::register_helper_thread();
            let _ = events.send(Event::Report(report(running.stop(grace))));
        });
        if spawned.is_err() {
            let _ = self.events.send(Event::Report(Report::StoppedAll {
                stuck: vec!["RuntimeError: can't start new thread (to stop the scenario)".to_owned()],
            }));
        }
    }
}

fn stop_summary(report: &StopReport) -> String {
    let mut text = format!("{} thread(s) stopped", report.stopped.len());
    for stuck in &report.stuck {
        text.push_str(&format!("; could not stop {stuck}"));
    }
    text
}

/// A command in words, for the status line and the log.
pub fn describe(command: &Command) -> String {
    match command {
        Command::Spawn { worker, target: Some(target) } => {
            format!("spawn {} on {}", worker.stem(), sanitize(target))
        }
        Command::Spawn { worker, target: None } => format!("spawn {}", worker.stem()),
        Command::Start { name, .. } => format!("start {}", sanitize(name)),
        Command::Stop { name, .. } => format!("stop {}", sanitize(name)),
        Command::Join { name, timeout, .. } => format!("join {} (timeout {timeout:?})", sanitize(name)),
        Command::Rename { from, to, .. } => format!("rename {} → {}", sanitize(from), sanitize(to)),
        Command::SetDaemon { name, daemon, .. } => {
            format!("{}.daemon = {}", sanitize(name), if *daemon { "True" } else { "False" })
        }
        Command::SetEvent(name) => format!("set event {}", sanitize(name)),
        Command::ClearEvent(name) => format!("clear event {}", sanitize(name)),
        Command::ReleaseLock(name) => format!("release lock {}", sanitize(name)),
        Command::InterruptMain => "interrupt_main()".to_owned(),
        Command::Load(name) => format!("load {}", sanitize(name)),
        Command::StopAll { .. } => "stop every thread".to_owned(),
    }
}
