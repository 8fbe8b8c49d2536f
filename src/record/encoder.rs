//! [`Encoder`]: each snapshot as a record's kind and payload — a keyframe
//! every so often, else a delta on the snapshot before.
//!
//! A delta is what [`patch::diff`] makes of the two snapshots' JSON, but
//! built without turning every thread into JSON each sample: threads are
//! compared as values, by key, and only those that changed are diffed (the
//! same patch, at a fraction of the cost: of 10,000 sleeping threads, a
//! handful change in a second). Everything else in the snapshot is small
//! and diffed as JSON.

use super::RecordError;
use super::frame::Kind;
use super::patch;
use super::snapshot_json;
use super::thread_patch::thread_patch;
use crate::inspect::{
    Deadlock, DeadlockSearch, FutexGroup, Lint, NamingView, PrimitiveView, ProcessView, Snapshot, SystemView,
    ThreadView,
};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// zstd's level: 3 is its default; higher levels bought a few percent of
/// size for several times the CPU (docs/benchmarks.md).
const LEVEL: i32 = 3;

/// The snapshot's fields but its threads, serialised as the snapshot
/// serialises them (same names, same order, same attributes).
#[derive(Serialize)]
struct Rest<'a> {
    schema: u32,
    taken_at_unix_ms: u64,
    process: &'a ProcessView,
    system: &'a SystemView,
    scenario: &'a Option<String>,
    primitives: &'a [PrimitiveView],
    deadlocks: &'a [Deadlock],
    deadlock_search: &'a DeadlockSearch,
    notes: &'a [String],
    futex_groups: &'a [FutexGroup],
    naming: &'a NamingView,
    findings: &'a [Lint],
    #[serde(skip_serializing_if = "Option::is_none")]
    stacks: &'a Option<crate::inspect::StacksTaken>,
}

impl<'a> Rest<'a> {
    fn of(snapshot: &'a Snapshot) -> Self {
        // No `..`: a field added to `Snapshot` fails to compile here until
        // it is recorded too.
        let Snapshot {
            schema,
            taken_at_unix_ms,
            process,
            system,
            scenario,
            threads: _,
            primitives,
            deadlocks,
            deadlock_search,
            notes,
            futex_groups,
            naming,
            findings,
            stacks,
        } = snapshot;
        Self {
            schema: *schema,
            taken_at_unix_ms: *taken_at_unix_ms,
            process,
            system,
            scenario,
            primitives,
            deadlocks,
            deadlock_search,
            notes,
            futex_groups,
            naming,
            findings,
            stacks,
        }
    }
}

/// What the previous sample was, to diff the next one against.
struct Previous {
    rest: Value,
    threads: HashMap<u64, ThreadView>,
    order: Vec<u64>,
}

pub(crate) struct Encoder {
    previous: Option<Previous>,
    since_keyframe: u32,
    pub(crate) keyframe_every: u32,
    compressor: zstd::bulk::Compressor<'static>,
}

fn json_error(e: serde_json::Error) -> RecordError {
    RecordError::Write(std::io::Error::other(e))
}

impl Encoder {
    pub(crate) fn new(keyframe_every: u32) -> Result<Self, RecordError> {
        // One compression context for every record: making one per record
        // cost more than compressing a delta.
        let compressor = zstd::bulk::Compressor::new(LEVEL)?;
        Ok(Self { previous: None, since_keyframe: 0, keyframe_every: keyframe_every.max(1), compressor })
    }

    /// The next record is a keyframe.
    pub(crate) fn force_keyframe(&mut self) {
        self.previous = None;
    }

    pub(crate) fn encode(&mut self, snapshot: &Snapshot) -> Result<(Kind, Vec<u8>), RecordError> {
        let mut rest = serde_json::to_value(Rest::of(snapshot)).map_err(json_error)?;
        snapshot_json::augment(snapshot, &mut rest).map_err(json_error)?;
        let order: Vec<u64> = snapshot.threads.iter().map(|t| t.key).collect();
        let keys: std::collections::HashSet<u64> = order.iter().copied().collect();
        let unique = keys.len() == order.len();
        let delta = match &self.previous {
            Some(previous) if unique && self.since_keyframe < self.keyframe_every => {
                Some(delta(previous, &rest, snapshot, &order)?)
            }
            _ => None,
        };
        let (kind, json) = match delta {
            Some(patch) => {
                self.since_keyframe += 1;
                (Kind::Delta, serde_json::to_vec(&patch))
            }
            None => {
                self.since_keyframe = 1;
                (Kind::Keyframe, snapshot_json::encode(snapshot).and_then(|v| serde_json::to_vec(&v)))
            }
        };
        let json = json.map_err(json_error)?;
        let compressed = self.compressor.compress(&json)?;
        // Duplicate keys cannot be diffed by identity: the next sample is
        // whole. Otherwise only the threads that changed are copied.
        self.previous = match (unique, self.previous.take()) {
            (false, _) => None,
            (true, Some(mut previous)) => {
                previous.threads.retain(|key, _| keys.contains(key));
                for thread in &snapshot.threads {
                    if previous.threads.get(&thread.key) != Some(thread) {
                        previous.threads.insert(thread.key, thread.clone());
                    }
                }
                Some(Previous { rest, threads: previous.threads, order })
            }
            (true, None) => {
                let threads = snapshot.threads.iter().map(|t| (t.key, t.clone())).collect();
                Some(Previous { rest, threads, order })
            }
        };
        Ok((kind, compressed))
    }
}

/// The patch from `previous` to `snapshot` (whose rest is `rest`).
fn delta(
    previous: &Previous,
    rest: &Value,
    snapshot: &Snapshot,
    order: &[u64],
) -> Result<Value, RecordError> {
    let mut changes = Vec::new();
    for thread in &snapshot.threads {
        let patch = match previous.threads.get(&thread.key) {
            Some(old) if old == thread => None,
            Some(old) => Some(thread_patch(old, thread).map_err(json_error)?),
            None => Some(serde_json::json!({"=": serde_json::to_value(thread).map_err(json_error)?})),
        };
        if let Some(patch) = patch {
            changes.push(Value::Array(vec![Value::from(thread.key), patch]));
        }
    }
    let mut threads = Map::new();
    threads.insert("k".into(), Value::from("key"));
    threads.insert("c".into(), Value::Array(changes));
    if previous.order != order {
        threads.insert("ids".into(), order.iter().map(|&k| Value::from(k)).collect());
    }
    let mut patch = match patch::diff(&previous.rest, rest) {
        Some(Value::Object(patch)) if patch.contains_key("o") => patch,
        // The rest is always an object with the same fields: a change is
        // always an object patch. Anything else, say it whole.
        Some(_) => return Ok(serde_json::json!({"=": snapshot_json::encode(snapshot).map_err(json_error)?})),
        None => serde_json::from_value(patch::unchanged()).map_err(json_error)?,
    };
    let has_changes = threads.get("c").and_then(Value::as_array).is_some_and(|c| !c.is_empty());
    if (has_changes || threads.contains_key("ids"))
        && let Some(Value::Object(fields)) = patch.get_mut("o")
    {
        fields.insert("threads".into(), Value::Object(threads));
    }
    Ok(Value::Object(patch))
}
