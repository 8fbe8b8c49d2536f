//! The scenario file as written: serde structs over TOML, with spans kept
//! for everything a validation error may need to point at.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub name: Spanned<String>,
    pub description: Spanned<String>,
    #[serde(default)]
    pub notes: String,
    pub seed: Option<u64>,
    pub gil: Option<Spanned<RawGil>>,
    #[serde(default)]
    pub primitives: BTreeMap<Spanned<String>, Spanned<RawPrimitive>>,
    #[serde(default)]
    pub threads: Vec<Spanned<RawGroup>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGil {
    pub switch_interval: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrimitive {
    pub kind: Spanned<String>,
    pub count: Option<Spanned<i64>>,
    /// Semaphore initial value.
    pub value: Option<Spanned<i64>>,
    /// Semaphore: a BoundedSemaphore.
    pub bounded: Option<bool>,
    /// Barrier parties.
    pub parties: Option<Spanned<i64>>,
    /// Barrier default timeout.
    pub timeout: Option<Spanned<String>>,
    /// Queue maxsize (0: unbounded).
    pub maxsize: Option<Spanned<i64>>,
    /// Queue order: fifo, lifo, priority.
    pub order: Option<Spanned<String>>,
    /// Condition: the lock it uses (default: its own RLock).
    pub lock: Option<Spanned<String>>,
    /// Pool size.
    pub max_workers: Option<Spanned<i64>>,
    /// Pool worker name prefix.
    pub prefix: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    pub name: Spanned<String>,
    pub count: Option<Spanned<i64>>,
    #[serde(default)]
    pub daemon: bool,
    pub stack_size: Option<Spanned<String>>,
    pub start: Option<Spanned<String>>,
    pub repeat: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub steps: Vec<Spanned<RawStep>>,
}

/// One step: exactly one action key, plus the modifiers that action takes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    // Actions.
    pub acquire: Option<Spanned<String>>,
    pub release: Option<Spanned<String>>,
    pub sleep: Option<Spanned<String>>,
    pub spin: Option<Spanned<String>>,
    pub wait: Option<Spanned<String>>,
    pub set: Option<Spanned<String>>,
    pub clear: Option<Spanned<String>>,
    pub notify: Option<Spanned<String>>,
    pub notify_all: Option<Spanned<String>>,
    pub put: Option<Spanned<String>>,
    pub get: Option<Spanned<String>>,
    pub task_done: Option<Spanned<String>>,
    pub join: Option<Spanned<String>>,
    pub submit: Option<Spanned<String>>,
    pub rename: Option<Spanned<String>>,
    pub panic: Option<Spanned<String>>,
    pub exit: Option<Spanned<bool>>,
    pub interrupt_main: Option<Spanned<toml::Value>>,
    pub repeat: Option<Spanned<toml::Value>>,
    // Modifiers.
    pub timeout: Option<Spanned<String>>,
    pub blocking: Option<Spanned<bool>>,
    pub exit_if_set: Option<Spanned<bool>>,
    pub jitter: Option<Spanned<String>>,
    pub n: Option<Spanned<i64>>,
    pub item: Option<Spanned<i64>>,
    pub count: Option<Spanned<i64>>,
    pub steps: Option<Vec<Spanned<RawStep>>>,
    pub task: Option<Vec<Spanned<RawStep>>>,
}

use super::step_table::Action;
use std::ops::Range;

fn span_of<T>(field: &Option<Spanned<T>>) -> Option<Range<usize>> {
    field.as_ref().map(Spanned::span)
}

fn list_span(field: &Option<Vec<Spanned<RawStep>>>, whole: &Range<usize>) -> Option<Range<usize>> {
    field.as_ref().map(|steps| steps.first().map_or_else(|| whole.clone(), Spanned::span))
}

impl RawStep {
    /// Each action's key as written, where present: the one place that ties
    /// the file's keys to [`Action`]s.
    pub fn actions(&self) -> [(Action, Option<Range<usize>>); 19] {
        [
            (Action::Acquire, span_of(&self.acquire)),
            (Action::Release, span_of(&self.release)),
            (Action::Sleep, span_of(&self.sleep)),
            (Action::Spin, span_of(&self.spin)),
            (Action::Wait, span_of(&self.wait)),
            (Action::Set, span_of(&self.set)),
            (Action::Clear, span_of(&self.clear)),
            (Action::Notify, span_of(&self.notify)),
            (Action::NotifyAll, span_of(&self.notify_all)),
            (Action::Put, span_of(&self.put)),
            (Action::Get, span_of(&self.get)),
            (Action::TaskDone, span_of(&self.task_done)),
            (Action::Join, span_of(&self.join)),
            (Action::Submit, span_of(&self.submit)),
            (Action::Rename, span_of(&self.rename)),
            (Action::Panic, span_of(&self.panic)),
            (Action::Exit, span_of(&self.exit)),
            (Action::InterruptMain, span_of(&self.interrupt_main)),
            (Action::Repeat, span_of(&self.repeat)),
        ]
    }

    /// Each modifier's key as written, where present (`whole` stands in for
    /// an empty step list, which has no span of its own).
    pub fn modifiers(&self, whole: &Range<usize>) -> [(&'static str, Option<Range<usize>>); 9] {
        [
            ("timeout", span_of(&self.timeout)),
            ("blocking", span_of(&self.blocking)),
            ("exit_if_set", span_of(&self.exit_if_set)),
            ("jitter", span_of(&self.jitter)),
            ("n", span_of(&self.n)),
            ("item", span_of(&self.item)),
            ("count", span_of(&self.count)),
            ("steps", list_span(&self.steps, whole)),
            ("task", list_span(&self.task, whole)),
        ]
    }

    /// The target template of a step whose action takes one.
    pub fn target(&self, action: Action) -> Option<&Spanned<String>> {
        match action {
            Action::Acquire => self.acquire.as_ref(),
            Action::Release => self.release.as_ref(),
            Action::Wait => self.wait.as_ref(),
            Action::Set => self.set.as_ref(),
            Action::Clear => self.clear.as_ref(),
            Action::Notify => self.notify.as_ref(),
            Action::NotifyAll => self.notify_all.as_ref(),
            Action::Put => self.put.as_ref(),
            Action::Get => self.get.as_ref(),
            Action::TaskDone => self.task_done.as_ref(),
            Action::Join => self.join.as_ref(),
            Action::Submit => self.submit.as_ref(),
            Action::Sleep
            | Action::Spin
            | Action::Rename
            | Action::Panic
            | Action::Exit
            | Action::InterruptMain
            | Action::Repeat => None,
        }
    }
}
