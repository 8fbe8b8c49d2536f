//! [`Recording`]: a recording read back, any sample by number or time.
//!
//! Opening finds every sample: from the index when the recording was
//! closed properly (each record it lists is then checked), else by a scan
//! that checks every record. A recording cut short gives every sample up
//! to its last complete record; a damaged record is skipped (with the
//! deltas that stood on it, up to the next keyframe); both are told in
//! [`Recording::problems`], never a panic.

use super::frame::{self, Bad, Kind};
use super::header::{FORMAT, Header};
use super::index::{self, IndexEntry};
use super::patch;
use super::snapshot_json;
use super::{Damage, RecordError};
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

    /// Checks that each record the index lists is whole and of the kind it
    /// says, so damage is told on opening, as a scan tells it, and marks
    /// the samples lost with it.
    fn check_records(&mut self) {
        let mut lost = false;
        for i in 0..self.samples.len() {
            let entry = self.samples[i];
            let expected = if entry.keyframe == i { Kind::Keyframe } else { Kind::Delta };
            let why = match frame::read_at(&self.bytes, entry.offset) {
                Ok(frame) if frame.kind == expected => None,
                Ok(frame) => Some(Damage::Misplaced { expected: expected.name(), found: frame.kind.name() }),
                Err(bad) => Some(damage(bad)),
            };
            if expected == Kind::Keyframe {
                lost = false;
            }
            match why {
                Some(why) => {
                    self.problems.push(Problem::Damaged { offset: entry.offset, skipped: 0, why });
                    lost = true;
                }
                None if lost => {
                    if let Some(Problem::Damaged { skipped, .. }) = self.problems.last_mut() {
                        *skipped += 1;
                    }
                }
                None => {}
            }
            self.samples[i].lost = lost;
        }
    }

    /// The samples the index lists, if the file ends in a good one that
    /// fits the file.
    ///
    /// # Errors
    ///
    /// There is no good index: where the trailer points and what is
    /// wrong there, when there is a trailer.
    fn indexed_samples(&self, body: usize) -> Result<Vec<Entry>, Option<(usize, Damage)>> {
        let at = index::find(&self.bytes).ok_or(None)?;
        let told = |why: Damage| Some((at, why));
        let record = frame::read_at(&self.bytes, at).map_err(|bad| told(damage(bad)))?;
        if record.kind != Kind::Index || record.end() + index::TRAILER != self.bytes.len() {
            return Err(told(Damage::Misplaced { expected: "index", found: record.kind.name() }));
        }
        let undecodable = || told(Damage::Undecodable("its entries do not fit the file".into()));
        let entries = index::decode(record.payload).ok_or_else(undecodable)?;
        let ordered = entries.windows(2).all(|w| w[0].offset < w[1].offset);
        let inside = entries.iter().all(|e| e.offset >= body && e.offset + frame::HEAD <= at);
        if !ordered || !inside || entries.first().is_some_and(|e| !e.keyframe) {
            return Err(undecodable());
        }
        let mut keyframe = 0;
        Ok(entries
            .iter()
            .enumerate()
            .map(|(i, &IndexEntry { time_ms, offset, keyframe: whole })| {
                if whole {
                    keyframe = i;
                }
                Entry { time_ms, offset, keyframe, lost: false }
            })
            .collect())
    }

    /// Finds every sample by reading every record from `offset`, up to
    /// the index; where the index is, when it is read whole.
    fn scan(&mut self, mut offset: usize) -> Option<usize> {
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
                        return None;
                    }
                    found => {
                        self.problems.push(Problem::Damaged { offset, skipped: 0, why: damage(bad) });
                        keyframe = None;
                        found?
                    }
                },
            };
            let (kind, time_ms, at, end) = (frame.kind, frame.time_ms, frame.offset, frame.end());
            if kind == Kind::Index {
                // The last record: only the trailer follows.
                return Some(at);
            }
            self.take(kind, Entry { time_ms, offset: at, keyframe: 0, lost: false }, &mut keyframe);
            offset = end;
        }
        None
    }

    /// Says what was wrong with the index, after a scan: `pointed`, where
    /// the trailer pointed and what was wrong there; `found`, where the
    /// scan read a whole index.
    fn tell_index(&mut self, pointed: Option<(usize, Damage)>, found: Option<usize>) {
        match (found, pointed) {
            (Some(at), Some((offset, why))) if offset == at => {
                self.problems.push(Problem::Index { offset, why })
            }
            (Some(offset), _) => self.problems.push(Problem::Index { offset, why: Damage::Trailer }),
            // The scan met damage where the trailer points: that was the index.
            (None, Some((at, _))) => {
                for problem in &mut self.problems {
                    if let Problem::Damaged { offset, skipped: 0, why } = problem
                        && *offset == at
                    {
                        *problem = Problem::Index { offset: at, why: why.clone() };
                    }
                }
            }
            (None, None) => {}
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

/// What is wrong with a record that is not whole. A record that seems to
/// run past the end of the file is damage here: the caller knows more
/// comes after it.
fn damage(bad: Bad) -> Damage {
    match bad {
        Bad::Cut => Damage::Overrun,
        Bad::Damaged(why) => why,
    }
}

/// Why the first record is not a good header: a file that does not start
/// with a record's sync word is no recording; one that does is a recording
/// cut short inside its header, or one whose header is damaged.
fn header_error(bytes: &[u8], bad: Bad) -> RecordError {
    if bytes.get(..4) != Some(&frame::SYNC[..]) {
        return RecordError::NotARecording;
    }
    match bad {
        Bad::Cut if frame::resync(bytes, 0).is_some() => RecordError::HeaderDamaged(Damage::Overrun),
        Bad::Cut => {
            let length = bytes.get(4..8).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
            let needs = length.map_or(frame::HEAD, |length| frame::HEAD + length);
            RecordError::CutInHeader { len: bytes.len(), needs }
        }
        Bad::Damaged(why) => RecordError::HeaderDamaged(why),
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
