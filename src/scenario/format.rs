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
    pub jitter: Option<Spanned<String>>,
    pub n: Option<Spanned<i64>>,
    pub item: Option<Spanned<i64>>,
    pub count: Option<Spanned<i64>>,
    pub steps: Option<Vec<Spanned<RawStep>>>,
    pub task: Option<Vec<Spanned<RawStep>>>,
}
