//! [`FlightRecorder`]: the last minutes of samples kept in memory, within
//! a byte budget, and written out as a recording when something happens
//! (a deadlock, a key, SIGUSR1).
//!
//! Samples are kept as a recording keeps them — compressed keyframes and
//! deltas — in segments that each start with a keyframe, so the oldest
//! segment can be dropped whole. What is kept therefore reaches back at
//! least the asked-for span and at most one segment
//! ([`FLIGHT_KEYFRAME_EVERY`] samples) more.

use super::RecordError;
use super::encoder::Encoder;
use super::frame::Kind;
use super::header::Header;
use super::writer::Recorder;
use crate::inspect::Snapshot;
use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

/// A keyframe every this many samples: the granularity of what is dropped.
pub const FLIGHT_KEYFRAME_EVERY: u32 = 10;

/// How much to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlightBudget {
    /// How far back.
    pub span: Duration,
    /// At most this many bytes of records (the samples' compressed size).
    pub bytes: usize,
}

impl FlightBudget {
    /// The default byte budget: 64 MiB.
    pub const DEFAULT_BYTES: usize = 64 << 20;

    /// `span` back, within the default byte budget.
    pub fn span(span: Duration) -> Self {
        Self { span, bytes: Self::DEFAULT_BYTES }
    }
}

struct Record {
    kind: Kind,
    time_ms: u64,
    payload: Vec<u8>,
}

/// The last [`FlightBudget::span`] of samples, in memory.
pub struct FlightRecorder {
    budget: FlightBudget,
    encoder: Encoder,
    segments: VecDeque<Vec<Record>>,
    bytes: usize,
    deadlocked: bool,
}

impl FlightRecorder {
    /// Keeps samples within `budget`.
    ///
    /// # Errors
    ///
    /// The compressor cannot be made (out of memory).
    pub fn new(budget: FlightBudget) -> Result<Self, RecordError> {
        let encoder = Encoder::new(FLIGHT_KEYFRAME_EVERY)?;
        Ok(Self { budget, encoder, segments: VecDeque::new(), bytes: 0, deadlocked: false })
    }

    /// Takes in a sample, dropping the oldest segment once what is kept
    /// reaches back further than the span or weighs more than the budget;
    /// true when this sample shows a deadlock the one before did not (the
    /// moment to [`dump`](Self::dump)).
    ///
    /// # Errors
    ///
    /// The sample could not be encoded (compression failed).
    pub fn push(&mut self, snapshot: &Snapshot) -> Result<bool, RecordError> {
        let deadlocked = !snapshot.deadlocks.is_empty();
        let appeared = deadlocked && !self.deadlocked;
        self.deadlocked = deadlocked;
        let (kind, payload) = self.encoder.encode(snapshot)?;
        if kind == Kind::Keyframe || self.segments.is_empty() {
            self.segments.push_back(Vec::new());
        }
        self.bytes += payload.len();
        let time_ms = snapshot.taken_at_unix_ms;
        if let Some(segment) = self.segments.back_mut() {
            segment.push(Record { kind, time_ms, payload });
        }
        let span_ms = u64::try_from(self.budget.span.as_millis()).unwrap_or(u64::MAX);
        while self.segments.len() > 1 {
            let second_start = self.segments[1].first().map_or(0, |r| r.time_ms);
            let too_old = time_ms.saturating_sub(second_start) >= span_ms;
            if !(too_old || self.bytes > self.budget.bytes) {
                break;
            }
            if let Some(dropped) = self.segments.pop_front() {
                self.bytes -= dropped.iter().map(|r| r.payload.len()).sum::<usize>();
            }
        }
        // One segment over the budget alone cannot be dropped: start a new
        // one so that it can be next time.
        if self.segments.len() == 1 && self.bytes > self.budget.bytes {
            self.encoder.force_keyframe();
        }
        Ok(appeared)
    }

    /// Samples kept.
    pub fn samples(&self) -> usize {
        self.segments.iter().map(Vec::len).sum()
    }

    /// Bytes kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Writes what is kept to `path` as a recording whose header is
    /// `header`, marked as a flight recorder's dump for `reason`; the
    /// samples written.
    ///
    /// # Errors
    ///
    /// Nothing is kept yet ([`RecordError::Empty`], and no file is made);
    /// the file cannot be created or written.
    pub fn dump(&self, path: &Path, header: &Header, reason: &str) -> Result<usize, RecordError> {
        if self.segments.is_empty() {
            return Err(RecordError::Empty);
        }
        let mut header = header.clone();
        header.flight_recorder = Some(reason.to_owned());
        if let Some(first) = self.segments.front().and_then(|s| s.first()) {
            header.started_at_unix_ms = first.time_ms;
        }
        let mut recorder = Recorder::create(path, &header)?;
        for record in self.segments.iter().flatten() {
            recorder.append(record.kind, record.time_ms, &record.payload)?;
        }
        let samples = recorder.samples();
        recorder.finish()?;
        Ok(samples)
    }
}
