//! What a person can do to a running scenario: add workers, stop one
//! thread, start one, set or clear an event, release a lock from outside.

use super::workers::WorkerKind;
use super::{RunningScenario, make_member};
use crate::scenario::target::Target;
use crate::scenario::target::class::{Events, Lockables};
use crate::threading::{Error, PrimitiveKind, Result, Thread, ThreadState, WaitKind};

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
        let primitives = &self.shared.scenario.primitives;
        let index = match (kind.target_kind().map(PrimitiveKind::label), target) {
            (None, _) => 0,
            (Some(wanted), None) => return Err(Error::value(format!("a {} needs a {wanted}", kind.stem()))),
            (Some(wanted), Some(name)) => match primitives.iter().position(|p| p.name == name) {
                Some(i) => i,
                None => return Err(Error::value(format!("no {wanted} named {name:?} in this scenario"))),
            },
        };
        let steps = kind.steps(primitives, index).ok_or_else(|| {
            let wanted = kind.target_kind().map_or("primitive", PrimitiveKind::label);
            Error::value(format!("{:?} is not a {wanted}", target.unwrap_or_default()))
        })?;
        let count = self.shared.members.lock().iter().filter(|m| m.name.starts_with(kind.stem())).count();
        let name = format!("{}-{}", kind.stem(), count + 1);
        let member = make_member(&self.shared, &self.registry, name, false, None, steps);
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
            (w.kind != WaitKind::Sleep).then(|| {
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

    fn index(&self, name: &str) -> Result<usize> {
        self.shared
            .scenario
            .primitives
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| Error::value(format!("no primitive named {name:?} in this scenario")))
    }

    fn event(&self, name: &str) -> Result<&crate::threading::Event> {
        let target = Target::<Events>::of(&self.shared.scenario.primitives, self.index(name)?)
            .ok_or_else(|| Error::value(format!("{name:?} is not an event")))?;
        Ok(self.shared.instances.event(target))
    }

    /// `event.set()` on the scenario's event `name`.
    ///
    /// # Errors
    ///
    /// `ValueError` if there is no such event.
    pub fn set_event(&self, name: &str) -> Result<()> {
        self.event(name)?.set();
        Ok(())
    }

    /// `event.clear()` on the scenario's event `name`.
    ///
    /// # Errors
    ///
    /// `ValueError` if there is no such event.
    pub fn clear_event(&self, name: &str) -> Result<()> {
        self.event(name)?.clear();
        Ok(())
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
        let primitives = &self.shared.scenario.primitives;
        let index = self.index(name)?;
        let is_lock = matches!(primitives[index].kind.kind(), PrimitiveKind::Lock | PrimitiveKind::RLock);
        match Target::<Lockables>::of(primitives, index) {
            Some(target) if is_lock => self.shared.instances.lockable(target).release(),
            _ => Err(Error::value(format!("{name:?} is not a lock"))),
        }
    }

    /// Every primitive of the scenario: name and kind.
    pub fn primitive_names(&self) -> Vec<(String, PrimitiveKind)> {
        self.shared.scenario.primitives.iter().map(|p| (p.name.clone(), p.kind.kind())).collect()
    }
}
