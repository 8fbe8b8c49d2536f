//! What can go wrong writing or reading a recording.

use std::path::PathBuf;

/// An error of [`record`](super).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file could not be created, written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing to an open recording failed (the disk is full…).
    #[error("cannot write the recording: {0}")]
    Write(#[from] std::io::Error),
    /// The file does not start with a recording's header.
    #[error("not a threadscope recording (it does not start with a recording header)")]
    NotARecording,
    /// A later threadscope wrote it, in a layout this one cannot read.
    #[error(
        "recorded by a newer threadscope ({what} {found}; this one reads up to {supported}): replay it with threadscope {by} or later"
    )]
    Newer {
        /// The version that is too new ("format", "snapshot schema").
        what: &'static str,
        /// The recording's.
        found: u32,
        /// The newest this build reads.
        supported: u32,
        /// The version that wrote it.
        by: String,
    },
    /// An older layout this build no longer reads.
    #[error("recorded with {what} {found}, which this threadscope ({supported}) does not read")]
    Older {
        /// The version that is too old.
        what: &'static str,
        /// The recording's.
        found: u32,
        /// The one this build reads.
        supported: u32,
    },
    /// The recording holds no complete sample (or the flight recorder
    /// has none yet).
    #[error("no complete sample: nothing recorded yet")]
    Empty,
    /// A record failed its checksum or did not decode.
    #[error("damaged record at byte {offset}: {why}")]
    Damaged {
        /// Where it starts.
        offset: usize,
        /// What was wrong.
        why: String,
    },
}
