//! Opening a recording: the header read and checked for a version this
//! build reads, then every sample found — from the index, each record it
//! lists checked, or by a scan — with what is damaged or cut told as
//! [`Problem`]s.

use super::{Entry, Problem, Recording};
use crate::inspect::{OLDEST_READABLE_SCHEMA, SCHEMA};
use crate::record::frame::{self, Bad, Kind};
use crate::record::header::{FORMAT, Header};
use crate::record::index::{self, IndexEntry};
use crate::record::{Damage, RecordError};
use serde_json::Value;

impl Recording {
    /// Checks that each record the index lists is whole and of the kind it
    /// says, so damage is told on opening, as a scan tells it, and marks
    /// the samples lost with it.
    pub(super) fn check_records(&mut self) {
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
    pub(super) fn indexed_samples(&self, body: usize) -> Result<Vec<Entry>, Option<(usize, Damage)>> {
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
    pub(super) fn scan(&mut self, mut offset: usize) -> Option<usize> {
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
        // Whole records to the last byte, and no index: never closed.
        self.problems.push(Problem::Unclosed { offset });
        None
    }

    /// Says what was wrong with the index, after a scan: `pointed`, where
    /// the trailer pointed and what was wrong there; `found`, where the
    /// scan read a whole index.
    pub(super) fn tell_index(&mut self, pointed: Option<(usize, Damage)>, found: Option<usize>) {
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
pub(super) fn damage(bad: Bad) -> Damage {
    match bad {
        Bad::Cut => Damage::Overrun,
        Bad::Damaged(why) => why,
    }
}

/// Why the first record is not a good header: a file that does not start
/// with a record's sync word is no recording; one that does is a recording
/// cut short inside its header, or one whose header is damaged.
pub(super) fn header_error(bytes: &[u8], bad: Bad) -> RecordError {
    if bytes.is_empty() {
        return RecordError::EmptyFile;
    }
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
pub(super) fn read_header(payload: &[u8]) -> Result<Header, RecordError> {
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
    if schema < OLDEST_READABLE_SCHEMA {
        return Err(RecordError::Older {
            what: "snapshot schema",
            found: schema,
            supported: OLDEST_READABLE_SCHEMA,
        });
    }
    serde_json::from_value(value).map_err(|_| RecordError::NotARecording)
}
