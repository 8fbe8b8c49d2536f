//! The first record of a recording: what was recorded, where and when.

use serde::{Deserialize, Serialize};

/// The layout of the file (framing, record kinds, index); bumped when a
/// reader of the previous one could not read it.
pub const FORMAT: u32 = 1;

/// What was recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordedSource {
    /// A scenario run by threadscope.
    Scenario {
        /// Its name.
        name: String,
    },
    /// Another process, attached to.
    Pid {
        /// Its pid.
        pid: u32,
    },
    /// A program threadscope started.
    Command {
        /// Its command line (untrusted text).
        argv: Vec<String>,
    },
}

impl RecordedSource {
    /// In words, for the screen (not yet escaped: the caller sanitizes).
    pub fn describe(&self) -> String {
        match self {
            Self::Scenario { name } => format!("scenario {name}"),
            Self::Pid { pid } => format!("pid {pid}"),
            Self::Command { argv } => format!("command {}", argv.join(" ")),
        }
    }
}

/// The header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// [`FORMAT`] of the writer.
    pub format: u32,
    /// [`SCHEMA`](crate::inspect::SCHEMA) of the snapshots inside.
    pub snapshot_schema: u32,
    /// The threadscope version that wrote it.
    pub threadscope: String,
    /// What was recorded.
    pub source: RecordedSource,
    /// The machine's host name (untrusted text).
    pub host: String,
    /// The kernel release (`uname -r`).
    pub kernel: String,
    /// When recording started, in milliseconds since the Unix epoch.
    pub started_at_unix_ms: u64,
    /// Time between samples asked for, in milliseconds.
    pub interval_ms: u64,
    /// Why it was written, for a flight recorder's dump ("deadlock",
    /// "key", "SIGUSR1"); absent for a recording made as it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flight_recorder: Option<String>,
}

impl Header {
    /// A header for a recording of `source` starting now.
    pub fn new(source: RecordedSource, interval: std::time::Duration) -> Self {
        Self {
            format: FORMAT,
            snapshot_schema: crate::inspect::SCHEMA,
            threadscope: env!("CARGO_PKG_VERSION").to_owned(),
            source,
            host: proc_text("/proc/sys/kernel/hostname"),
            kernel: proc_text("/proc/sys/kernel/osrelease"),
            started_at_unix_ms: now_unix_ms(),
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            flight_recorder: None,
        }
    }
}

/// The time now, in milliseconds since the Unix epoch.
pub fn now_unix_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// A one-line `/proc` file, or "unknown" with why when it cannot be read.
fn proc_text(path: &str) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => text.trim().to_owned(),
        Err(e) => format!("unknown ({path}: {e})"),
    }
}
