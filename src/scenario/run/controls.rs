//! What a person can do to a running scenario: add workers, stop one
//! thread, start one, set or clear an event, release a lock from outside.

use super::workers::WorkerKind;
use super::{Instance, RunningScenario, make_member};
use crate::threading::{Error, Result, Thread, ThreadState};

/// What [`RunningScenario::stop_thread`] achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopThread {
    /// Asked; it stops at its next step, sleep or timed wait.
    Stopping,
    /// It is not running (not started, or already ended).
    NotRunning,
    /// Asked, but it is blocked where Python could not interrupt it
    /// either; it stops only once that call returns. Says where.
    CannotStop(String),
}

impl RunningScenario {
    /// Starts a new worker of `kind` on the scenario's primitive `target`
    /// (a lock, an event or a queue, as the kind needs).
    ///
    /// # Errors
    ///
    /// `ValueError` for a missing or unfitting target; `RuntimeError` once
    /// the scenario is stopping, or when no thread can be started.
    pub fn spawn_worker(&self, kind: WorkerKind, target: Option<&str>) -> Result<Thread> {
        if self.shared.stop.is_stopped() {
            return Err(Error::runtime("the scenario is stopping"));
        }
        let index = match (kind.target_kind(), target) {
            (None, _) => 0,
            (Some(wanted), None) => return Err(Error::value(format!("a {} needs a {wanted}", kind.stem()))),
            (Some(wanted), Some(name)) => {
                let found = self.shared.scenario.primitives.iter().position(|p| p.name == name);
                match found {
                    Some(i) if kind.accepts(&self.shared.scenario.primitives[i].kind) => i,
                    Some(_) => return Err(Error::value(format!("{name:?} is not a {wanted}"))),
                    None => return Err(Error::value(format!("no {wanted} named {name:?} in this scenario"))),
                }
            }
        };
        let count = self.shared.members.lock().iter().filter(|m| m.name.starts_with(kind.stem())).count();
        let name = format!("{}-{}", kind.stem(), count + 1);
        let member = make_member(&self.shared, &self.registry, name, false, None, kind.steps(index));
        member.thread.start()?;
        let thread = member.thread.clone();
        self.shared.members.lock().push(member);
        Ok(thread)
    }

    /// Asks the thread named `name` to stop, cooperatively.
    ///
    /// # Errors
    ///
    /// `RuntimeError` if there is no such thread.
    pub fn stop_thread(&self, name: &str) -> Result<StopThread> {
        let member = self.member(name)?;
        if !member.thread.is_alive() {
            return Ok(StopThread::NotRunning);
        }
        member.control.stop.stop();
        let snapshot = self.registry.snapshot();
        let blocked = snapshot.thread_by_id(member.thread.id()).filter(|t| t.state == ThreadState::Waiting).and_then(|t| {
            let w = t.waiting_on.as_ref()?;
            (w.kind != "sleep").then(|| {
                let held = w.holders.first().map(|h| format!(" held by {}", h.name)).unwrap_or_default();
                format!(
                    "{} is blocked in {} of {} {}{held}; asked to stop once that returns (a plain blocking call cannot be interrupted, in Python neither)",
                    member.thread.name(),
                    w.role.as_deref().unwrap_or("wait"),
                    w.kind,
                    w.name
                )
            })
        });
        Ok(blocked.map_or(StopThread::Stopping, StopThread::CannotStop))
    }

    fn instance(&self, name: &str) -> Result<&Instance> {
        let index = self.shared.scenario.primitives.iter().position(|p| p.name == name);
        index
            .and_then(|i| self.shared.instances.get(i))
            .ok_or_else(|| Error::value(format!("no primitive named {name:?} in this scenario")))
    }

    /// `event.set()` on the scenario's event `name`.
    ///
    /// # Errors
    ///
    /// `ValueError` if there is no such event.
    pub fn set_event(&self, name: &str) -> Result<()> {
        match self.instance(name)? {
            Instance::Event(event) => {
                event.set();
                Ok(())
            }
            _ => Err(Error::value(format!("{name:?} is not an event"))),
        }
    }

    /// `event.clear()` on the scenario's event `name`.
    ///
    /// # Errors
    ///
    /// `ValueError` if there is no such event.
    pub fn clear_event(&self, name: &str) -> Result<()> {
        match self.instance(name)? {
            Instance::Event(event) => {
                event.clear();
                Ok(())
            }
            _ => Err(Error::value(format!("{name:?} is not an event"))),
        }
    }

    /// Releases the lock `name` from this (another) thread, as Python
    /// allows for a plain `Lock`.
    ///
    /// # Errors
    ///
    /// `RuntimeError: release unlocked lock` if it is not held; for an
    /// RLock, `RuntimeError: cannot release un-acquired lock` (only its
    /// owner may); `ValueError` if there is no such lock.
    pub fn release_lock(&self, name: &str) -> Result<()> {
        match self.instance(name)? {
            Instance::Lock(lock) => lock.release(),
            Instance::RLock(lock) => lock.release(),
            _ => Err(Error::value(format!("{name:?} is not a lock"))),
        }
    }

    /// Every primitive of the scenario: name and kind word (`lock`, `event`…).
    pub fn primitive_names(&self) -> Vec<(String, &'static str)> {
        self.shared.scenario.primitives.iter().map(|p| (p.name.clone(), p.kind.word())).collect()
    }
}
