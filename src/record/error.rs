//! What can go wrong writing or reading a recording.

use super::reader::Problem;
use std::fmt;
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
    /// The file to record into exists: a recording never replaces a file.
    #[error(
        "{} already exists: a recording never replaces a file (it may be an earlier recording); choose another name",
        path.display()
    )]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The file to replay could not be read (the caller names it).
    #[error("{0}")]
    Read(std::io::Error),
    /// Writing to an open recording failed (the disk is full…).
    #[error("cannot write the recording: {0}")]
    Write(#[from] std::io::Error),
    /// The file is empty: nothing was ever written to it (a recording
    /// writes its header the moment it is created).
    #[error("the file is empty (0 bytes): there is no recording in it")]
    EmptyFile,
    /// The file does not start with a recording's header.
    #[error("not a threadscope recording (it does not start with a recording header)")]
    NotARecording,
    /// The file starts as a recording but ends inside its header record.
    #[error(
        "the recording is cut short inside its header (the file has {len} bytes, its header record needs {needs}): there is no sample in it"
    )]
    CutInHeader {
        /// The file's size.
        len: usize,
        /// The header record's size, or the fixed part of it when even
        /// that is cut.
        needs: usize,
    },
    /// The header record is there but damaged: nothing says what the
    /// rest is.
    #[error("the recording's header record is damaged ({0}): without it nothing in the file can be read")]
    HeaderDamaged(Damage),
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
    #[error(
        "recorded with {what} {found}, which this threadscope does not read (it reads {supported} and later)"
    )]
    Older {
        /// The version that is too old.
        what: &'static str,
        /// The recording's.
        found: u32,
        /// The oldest this build reads.
        supported: u32,
    },
    /// The recording holds no complete sample (or the flight recorder
    /// has none yet).
    #[error("no complete sample: nothing recorded yet")]
    Empty,
    /// Samples were recorded but damage left none that can be read.
    #[error("no sample can be read: {}", Joined(.0))]
    Unreadable(Vec<Problem>),
    /// A record failed its checksum or did not decode.
    #[error("damaged record at byte {offset} ({why})")]
    Damaged {
        /// Where it starts.
        offset: usize,
        /// What was wrong.
        why: Damage,
    },
    /// A sample number past the end.
    #[error("there is no sample {0}")]
    NoSample(usize),
}

/// What is wrong with a damaged record, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Damage {
    /// The bytes where a record should start are not a record's start.
    #[error("no record starts there: its sync word is wrong")]
    NoSync,
    /// The record's kind byte is none of the known kinds.
    #[error("unknown record kind {0}")]
    Kind(u8),
    /// The length field is beyond any record's.
    #[error("its length field reads {0} bytes, over the 256 MiB limit")]
    Length(u32),
    /// The length field runs past the end of the file, yet records follow.
    #[error("its length field runs past the end of the file")]
    Overrun,
    /// The checksum does not match the bytes.
    #[error("checksum mismatch")]
    Checksum,
    /// A whole record, but not the kind the index says is there.
    #[error("the index says a {expected} is there, the record is a {found}")]
    Misplaced {
        /// What the index says.
        expected: &'static str,
        /// What the record is.
        found: &'static str,
    },
    /// The index's trailer, the file's last 12 bytes, is damaged (or cut).
    #[error("the trailer after it, at the end of the file, is damaged or missing")]
    Trailer,
    /// The checksum holds but the payload does not decode (not zstd, not
    /// JSON, a patch that does not fit the sample before).
    #[error("it does not decode: {0}")]
    Undecodable(String),
}

/// Problems, one after the other.
struct Joined<'a>(&'a [Problem]);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}
