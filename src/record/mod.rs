//! Recordings: every snapshot of a session written as it goes, and read
//! back for replay (docs/recording-format.md has the layout).
//!
//! ```text
//!  Snapshot ─▶ snapshot_json::encode ─▶ keyframe, or patch::diff against the previous
//!           ─▶ zstd ─▶ frame (sync, length, kind, time, crc32) ─▶ file, flushed per record
//!                                   … on close: the index record and its trailer
//!  file ─▶ Recording (index, or a scan that skips damage) ─▶ keyframe + deltas ─▶ Snapshot
//! ```
//!
//! [`Recorder`] writes, [`Recording`] reads, [`FlightRecorder`] keeps the
//! last minutes in memory and writes them out when asked.

mod encoder;
mod error;
mod flight;
mod frame;
mod header;
mod index;
pub mod patch;
#[cfg(test)]
mod proptests;
mod reader;
mod snapshot_json;
#[cfg(test)]
pub(crate) mod tests;
mod thread_patch;
mod writer;

pub use error::{Damage, RecordError};
pub use flight::{FLIGHT_KEYFRAME_EVERY, FlightBudget, FlightRecorder};
pub use header::{FORMAT, Header, RecordedSource, now_unix_ms};
pub use reader::{Problem, Recording, Seek};
pub use writer::{KEYFRAME_EVERY, Recorder, unused_path};
