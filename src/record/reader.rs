//! [`Recording`]: a recording read back, any sample by number or time.
//!
//! Opening finds every sample: from the index when the recording was
//! closed properly (each record it lists is then checked), else by a scan
//! that checks every record. A recording cut short gives every sample up
//! to its last complete record; a damaged record is skipped (with the
//! deltas that stood on it, up to the next keyframe); both are told in
//! [`Recording::problems`], never a panic.

use super::frame::{self, Kind};
use super::header::Header;
use super::patch;
use super::snapshot_json;
use super::{Damage, RecordError};
use crate::inspect::Snapshot;
use open::{damage, header_error, read_header};
use serde_json::Value;
use std::fmt;
use std::io::Read;
use std::path::Path;

mod open;
mod seek;

pub use seek::Seek;

/// The most a record may inflate to: far beyond any real snapshot, so a
/// crafted record cannot exhaust memory.
const MAX_INFLATED: u64 = 1 << 30;

/// Something wrong with a recording that reading worked around.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The file ends inside a record (threadscope was killed mid-write,
    /// the disk filled): replay stops at the last complete one.
    Cut {
        /// Where the incomplete record starts.
        offset: usize,
    },
    /// The file ends after a whole record, without the index a closed
    /// recording ends with: threadscope stopped between two records, or
    /// is still writing it. Every sample in it is whole.
    Unclosed {
        /// Where the file ends.
        offset: usize,
    },
    /// A record failed its checksum (or was not a record): it and the
    /// deltas that stood on it were skipped.
    Damaged {
        /// Where the damage starts.
        offset: usize,
        /// Samples lost with it.
        skipped: usize,
        /// What is wrong with it.
        why: Damage,
    },
    /// The index is damaged: the samples were found by a scan instead.
    Index {
        /// Where the index record starts.
        offset: usize,
        /// What is wrong with it.
        why: Damage,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cut { offset } => write!(
                f,
                "the recording was cut short at byte {offset} (threadscope stopped mid-write?): replaying up to its last complete record"
            ),
            Self::Unclosed { offset } => write!(
                f,
                "the recording ends at byte {offset} without its index (threadscope stopped between two records, or is still writing it): replaying every sample in it"
            ),
            Self::Damaged { offset, skipped: 0, why } => {
                write!(f, "damaged record at byte {offset} ({why}): skipped it")
            }
            Self::Damaged { offset, skipped, why } => write!(
                f,
                "damaged record at byte {offset} ({why}): skipped it and {skipped} sample(s) that depended on it"
            ),
            Self::Index { offset, why } => write!(
                f,
                "the index at byte {offset} is damaged ({why}): found the samples by reading every record instead"
            ),
        }
    }
}

/// One reachable sample.
#[derive(Clone, Copy, Debug)]
struct Entry {
    time_ms: u64,
    offset: usize,
    /// The position (in `samples`) of the keyframe it stands on.
    keyframe: usize,
    /// Its record, or one it stands on, is damaged (known only with the
    /// index: a scan leaves such samples out).
    lost: bool,
}

/// A recording, read.
pub struct Recording {
    bytes: Vec<u8>,
    header: Header,
    samples: Vec<Entry>,
    problems: Vec<Problem>,
    indexed: bool,
    /// The last sample built, to step forward by one delta.
    cache: Option<(usize, Value)>,
}

impl fmt::Debug for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recording")
            .field("header", &self.header)
            .field("samples", &self.samples.len())
            .finish()
    }
}

impl Recording {
    /// Reads the recording at `path`.
    ///
    /// # Errors
    ///
    /// The file cannot be read; it is not a recording; a newer threadscope
    /// wrote it; it holds no complete sample.
    pub fn open(path: &Path) -> Result<Self, RecordError> {
        Self::from_bytes(std::fs::read(path).map_err(RecordError::Read)?)
    }

    /// Reads a recording held in memory.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, RecordError> {
        let first = frame::read_at(&bytes, 0).map_err(|bad| header_error(&bytes, bad))?;
        if first.kind != Kind::Header {
            return Err(RecordError::NotARecording);
        }
        let header = read_header(first.payload)?;
        let body = first.end();
        let mut recording =
            Self { bytes, header, samples: Vec::new(), problems: Vec::new(), indexed: false, cache: None };
        match recording.indexed_samples(body) {
            Ok(samples) => {
                recording.samples = samples;
                recording.indexed = true;
                recording.check_records();
            }
            Err(pointed) => {
                let found = recording.scan(body);
                recording.tell_index(pointed, found);
            }
        }
        if recording.samples.iter().all(|s| s.lost) {
            let damaged = recording.problems.iter().any(|p| matches!(p, Problem::Damaged { .. }));
            return Err(if damaged {
                RecordError::Unreadable(recording.problems)
            } else {
                RecordError::Empty
            });
        }
        Ok(recording)
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// What reading worked around (cut short, damaged records).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// True when the samples were found from the index (the recording was
    /// closed properly) rather than by a scan.
    pub fn indexed(&self) -> bool {
        self.indexed
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Never true: an empty recording does not open.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Sample `i`'s time, in milliseconds since the epoch (the last
    /// sample's for an `i` past the end).
    pub fn time_ms(&self, i: usize) -> u64 {
        self.samples.get(i).or(self.samples.last()).map_or(0, |s| s.time_ms)
    }

    /// The last sample taken at or before `time_ms` (the first one for a
    /// time before the recording).
    pub fn sample_at(&self, time_ms: u64) -> usize {
        self.samples.partition_point(|s| s.time_ms <= time_ms).saturating_sub(1)
    }

    /// Sample `i`.
    ///
    /// # Errors
    ///
    /// A record on the way to it is damaged (found only now when the
    /// index was used) or does not decode.
    pub fn snapshot(&mut self, i: usize) -> Result<Snapshot, RecordError> {
        let offset = self.samples.get(i).map_or(0, |s| s.offset);
        let value = self.value(i)?;
        snapshot_json::decode(value)
            .map_err(|e| RecordError::Damaged { offset, why: Damage::Undecodable(e.to_string()) })
    }

    /// False when sample `i`'s record, or one it stands on, is known to be
    /// damaged (its checksum failed when the recording was opened).
    /// True does not promise it decodes.
    pub fn readable(&self, i: usize) -> bool {
        self.samples.get(i).is_some_and(|s| !s.lost)
    }

    /// Sample `i` as its JSON, for searches that need only a field or two.
    ///
    /// # Errors
    ///
    /// As [`snapshot`](Self::snapshot).
    pub fn value(&mut self, i: usize) -> Result<&Value, RecordError> {
        let Some(entry) = self.samples.get(i).copied() else {
            return Err(RecordError::NoSample(i));
        };
        let start = match &self.cache {
            Some((at, _)) if *at <= i && *at >= entry.keyframe => *at,
            _ => {
                let keyframe = self.samples[entry.keyframe];
                let value = self.record_json(keyframe.offset, Kind::Keyframe)?;
                self.cache = Some((entry.keyframe, value));
                entry.keyframe
            }
        };
        for step in start + 1..=i {
            let delta = self.record_json(self.samples[step].offset, Kind::Delta)?;
            let Some((at, value)) = self.cache.as_mut() else { break };
            if let Err(e) = patch::apply(value, &delta) {
                self.cache = None;
                let why = Damage::Undecodable(format!("the patch does not fit the sample before: {e}"));
                return Err(RecordError::Damaged { offset: self.samples[step].offset, why });
            }
            *at = step;
        }
        match &self.cache {
            Some((_, value)) => Ok(value),
            None => Err(RecordError::Damaged {
                offset: entry.offset,
                why: Damage::Undecodable("the sample before it did not decode".into()),
            }),
        }
    }

    fn record_json(&self, offset: usize, kind: Kind) -> Result<Value, RecordError> {
        let damaged = |why: Damage| RecordError::Damaged { offset, why };
        let frame = frame::read_at(&self.bytes, offset).map_err(|bad| damaged(damage(bad)))?;
        if frame.kind != kind {
            return Err(damaged(Damage::Misplaced { expected: kind.name(), found: frame.kind.name() }));
        }
        let undecodable = |e: &dyn fmt::Display| damaged(Damage::Undecodable(e.to_string()));
        let json = inflate(frame.payload).map_err(|e| undecodable(&e))?;
        serde_json::from_slice(&json).map_err(|e| undecodable(&e))
    }
}

/// A record's payload, decompressed (at most [`MAX_INFLATED`] bytes).
///
/// # Errors
///
/// Not zstd, or larger than the limit.
pub fn inflate(payload: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    zstd::stream::read::Decoder::new(payload)?.take(MAX_INFLATED + 1).read_to_end(&mut out)?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(std::io::Error::other("a record inflates past the limit"));
    }
    Ok(out)
}
