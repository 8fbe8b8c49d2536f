//! A snapshot as the JSON a recording keeps, and back, exactly.
//!
//! The recording keeps what `threadscope snapshot` prints, so a replayed
//! moment prints the same. JSON shows names in their safe form only;
//! where the raw bytes differ, threads and kernel tasks already carry
//! them (`name_raw`, `comm_raw`) and the process's are added here
//! (`process.name_raw`), so every name is rebuilt from the bytes read.

use crate::inspect::{DisplayName, Snapshot};
use serde::Deserialize;
use serde_json::Value;

/// The JSON kept for `snapshot`.
///
/// # Errors
///
/// serde_json's (none for the snapshot's types in practice).
pub fn encode(snapshot: &Snapshot) -> Result<Value, serde_json::Error> {
    let mut value = serde_json::to_value(snapshot)?;
    augment(snapshot, &mut value)?;
    Ok(value)
}

/// Adds to `value` (the snapshot's JSON, or all of it but the threads)
/// the raw bytes JSON does not show.
///
/// # Errors
///
/// serde_json's.
pub fn augment(snapshot: &Snapshot, value: &mut Value) -> Result<(), serde_json::Error> {
    if let (Some(raw), Some(process)) =
        (snapshot.process.name.raw_if_unprintable(), value.get_mut("process").and_then(Value::as_object_mut))
    {
        process.insert("name_raw".into(), serde_json::to_value(raw)?);
    }
    Ok(())
}

/// The snapshot `value` holds.
///
/// # Errors
///
/// A value that is not a snapshot of this schema.
pub fn decode(value: &Value) -> Result<Snapshot, serde_json::Error> {
    let mut snapshot = Snapshot::deserialize(value)?;
    if let Some(raw) = value.pointer("/process/name_raw") {
        snapshot.process.name = DisplayName::from_bytes(&Vec::<u8>::deserialize(raw)?);
    }
    for thread in &mut snapshot.threads {
        if let Some(raw) = &thread.name_raw {
            thread.name = DisplayName::from_bytes(raw);
        }
        if let Some(kernel) = &mut thread.kernel
            && let Some(raw) = &kernel.comm_raw
        {
            kernel.comm = DisplayName::from_bytes(raw);
        }
    }
    Ok(snapshot)
}
