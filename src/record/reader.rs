//! [`Recording`]: a recording read back, any sample by number or time.
//!
//! Opening finds every sample: from the index when the recording was
//! closed properly, else by a scan that checks every record. A recording
//! cut short gives every sample up to its last complete record; a damaged
//! record is skipped (with the deltas that stood on it, up to the next
//! keyframe); both are told in [`Recording::problems`], never a panic.

use super::RecordError;
use super::frame::{self, Bad, Kind};
use super::header::{FORMAT, Header};
use super::index::{self, IndexEntry};
use super::patch;
use super::snapshot_json;
use crate::inspect::{SCHEMA, Snapshot};
use serde_json::Value;
use std::fmt;
use std::io::Read;
use std::path::Path;

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
    /// A record failed its checksum (or was not a record): it and the
    /// deltas that stood on it were skipped.
    Damaged {
        /// Where the damage starts.
        offset: usize,
        /// Samples lost with it.
        skipped: usize,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cut { offset } => write!(
                f,
                "the recording was cut short at byte {offset} (threadscope stopped mid-write?): replaying up to its last complete record"
            ),
            Self::Damaged { offset, skipped } => write!(
                f,
                "damaged record at byte {offset} (checksum mismatch): skipped it and {skipped} sample(s) that depended on it"
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
        let bytes =
            std::fs::read(path).map_err(|source| RecordError::Io { path: path.to_owned(), source })?;
        Self::from_bytes(bytes)
    }

    /// Reads a recording held in memory.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, RecordError> {
        let first = frame::read_at(&bytes, 0).map_err(|_| RecordError::NotARecording)?;
        if first.kind != Kind::Header {
            return Err(RecordError::NotARecording);
        }
        let header = read_header(first.payload)?;
        let body = first.end();
        let mut recording =
            Self { bytes, header, samples: Vec::new(), problems: Vec::new(), indexed: false, cache: None };
        match recording.indexed_samples(body) {
            Some(samples) => {
                recording.samples = samples;
                recording.indexed = true;
            }
            None => recording.scan(body),
        }
        if recording.samples.is_empty() {
            return Err(RecordError::Empty);
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
        snapshot_json::decode(value).map_err(|e| RecordError::Damaged { offset, why: e.to_string() })
    }

    /// Sample `i` as its JSON, for searches that need only a field or two.
    ///
    /// # Errors
    ///
    /// As [`snapshot`](Self::snapshot).
    pub fn value(&mut self, i: usize) -> Result<&Value, RecordError> {
        let Some(entry) = self.samples.get(i).copied() else {
            return Err(RecordError::Damaged { offset: self.bytes.len(), why: format!("no sample {i}") });
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
                return Err(RecordError::Damaged { offset: self.samples[step].offset, why: e.to_string() });
            }
            *at = step;
        }
        match &self.cache {
            Some((_, value)) => Ok(value),
            None => Err(RecordError::Damaged { offset: entry.offset, why: "nothing to build on".into() }),
        }
    }

    fn record_json(&self, offset: usize, kind: Kind) -> Result<Value, RecordError> {
        let damaged = |why: String| RecordError::Damaged { offset, why };
        let frame = frame::read_at(&self.bytes, offset).map_err(|bad| damaged(format!("{bad:?}")))?;
        if frame.kind != kind {
            return Err(damaged(format!("expected a {kind:?}, found a {:?}", frame.kind)));
        }
        let json = inflate(frame.payload).map_err(|e| damaged(e.to_string()))?;
        serde_json::from_slice(&json).map_err(|e| damaged(e.to_string()))
    }

    /// The samples the index lists, if the file ends in a good one that
    /// fits the file.
    fn indexed_samples(&self, body: usize) -> Option<Vec<Entry>> {
        let at = index::find(&self.bytes)?;
        let record = frame::read_at(&self.bytes, at).ok()?;
        if record.kind != Kind::Index || record.end() + index::TRAILER != self.bytes.len() {
            return None;
        }
        let entries = index::decode(record.payload)?;
        let ordered = entries.windows(2).all(|w| w[0].offset < w[1].offset);
        let inside = entries.iter().all(|e| e.offset >= body && e.offset + frame::HEAD <= at);
        if !ordered || !inside || entries.first().is_some_and(|e| !e.keyframe) {
            return None;
        }
        let mut keyframe = 0;
        Some(
            entries
                .iter()
                .enumerate()
                .map(|(i, &IndexEntry { time_ms, offset, keyframe: whole })| {
                    if whole {
                        keyframe = i;
                    }
                    Entry { time_ms, offset, keyframe }
                })
                .collect(),
        )
    }

    /// Finds every sample by reading every record from `offset`.
    fn scan(&mut self, mut offset: usize) {
        // The keyframe the next delta stands on; `None` after damage,
        // until the next keyframe.
        let mut keyframe: Option<usize> = None;
        while offset < self.bytes.len() {
            let frame = match frame::read_at(&self.bytes, offset) {
                Ok(frame) => frame,
                Err(bad) => match frame::resync(&self.bytes, offset) {
                    None if bad == Bad::Cut || self.trailer_at(offset) => {
                        if !self.trailer_at(offset) {
                            self.problems.push(Problem::Cut { offset });
                        }
                        return;
                    }
                    found => {
                        self.problems.push(Problem::Damaged { offset, skipped: 0 });
                        keyframe = None;
                        match found {
                            Some(frame) => frame,
                            None => return,
                        }
                    }
                },
            };
            let (kind, time_ms, at, end) = (frame.kind, frame.time_ms, frame.offset, frame.end());
            self.take(kind, Entry { time_ms, offset: at, keyframe: 0 }, &mut keyframe);
            offset = end;
        }
    }

    fn take(&mut self, kind: Kind, entry: Entry, keyframe: &mut Option<usize>) {
        let entry = |keyframe| Entry { keyframe, ..entry };
        match kind {
            Kind::Keyframe => {
                *keyframe = Some(self.samples.len());
                self.samples.push(entry(self.samples.len()));
            }
            Kind::Delta => match *keyframe {
                Some(k) => self.samples.push(entry(k)),
                None => {
                    if let Some(Problem::Damaged { skipped, .. }) = self.problems.last_mut() {
                        *skipped += 1;
                    }
                }
            },
            Kind::Header | Kind::Index => {}
        }
    }

    /// True when the bytes at `offset` are only the index trailer.
    fn trailer_at(&self, offset: usize) -> bool {
        self.bytes.len() == offset + index::TRAILER && index::find(&self.bytes).is_some()
    }
}

/// The header, checked for a version this build reads before anything
/// else is looked at (a newer header may have other fields).
fn read_header(payload: &[u8]) -> Result<Header, RecordError> {
    let value: Value = serde_json::from_slice(payload).map_err(|_| RecordError::NotARecording)?;
    let version =
        |field: &str| value.get(field).and_then(Value::as_u64).map(|v| u32::try_from(v).unwrap_or(u32::MAX));
    let by = value.get("threadscope").and_then(Value::as_str).unwrap_or("unknown").to_owned();
    let by = crate::display::sanitize(&by).into_owned();
    let format = version("format").ok_or(RecordError::NotARecording)?;
    if format > FORMAT {
        return Err(RecordError::Newer { what: "format", found: format, supported: FORMAT, by });
    }
    let schema = version("snapshot_schema").ok_or(RecordError::NotARecording)?;
    if schema > SCHEMA {
        return Err(RecordError::Newer { what: "snapshot schema", found: schema, supported: SCHEMA, by });
    }
    if schema < SCHEMA {
        return Err(RecordError::Older { what: "snapshot schema", found: schema, supported: SCHEMA });
    }
    serde_json::from_value(value).map_err(|_| RecordError::NotARecording)
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
