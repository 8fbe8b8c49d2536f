//! [`Recorder`]: writes snapshots as they come — a keyframe now and then,
//! deltas between — each record flushed as soon as it is made, so a
//! recording cut short keeps everything up to its last record.

use super::RecordError;
use super::encoder::Encoder;
use super::frame::{self, Kind};
use super::header::Header;
use super::index::{self, IndexEntry};
use crate::inspect::Snapshot;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// A keyframe every this many samples (a minute at 1 Hz): seeking reads
/// one keyframe and at most this many deltas.
pub const KEYFRAME_EVERY: u32 = 60;

/// Writes a recording.
pub struct Recorder<W: Write> {
    out: W,
    written: usize,
    encoder: Encoder,
    index: Vec<IndexEntry>,
}

impl Recorder<BufWriter<File>> {
    /// Creates `path` and writes the header. An existing file is never
    /// replaced (it may be an earlier recording).
    ///
    /// # Errors
    ///
    /// The file exists, or cannot be created or written.
    pub fn create(path: &Path, header: &Header) -> Result<Self, RecordError> {
        let file = File::create_new(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => RecordError::Exists { path: path.to_owned() },
            _ => RecordError::Io { path: path.to_owned(), source },
        })?;
        Self::new(BufWriter::new(file), header)
    }

    /// Writes the index, flushes and closes the file; the file's size in
    /// bytes, index and trailer included.
    ///
    /// # Errors
    ///
    /// As [`finish`](Self::finish).
    pub fn close(self) -> Result<usize, RecordError> {
        Ok(self.finish_counted()?.1)
    }
}

impl<W: Write> Recorder<W> {
    /// A recorder writing to `out`, header first.
    ///
    /// # Errors
    ///
    /// Writing fails.
    pub fn new(mut out: W, header: &Header) -> Result<Self, RecordError> {
        let json = serde_json::to_vec(header).map_err(std::io::Error::other)?;
        let written = frame::write(&mut out, Kind::Header, header.started_at_unix_ms, &json)?;
        out.flush()?;
        Ok(Self { out, written, encoder: Encoder::new(KEYFRAME_EVERY)?, index: Vec::new() })
    }

    /// Keyframes every `samples` samples instead of [`KEYFRAME_EVERY`]
    /// (at least 1: every sample whole).
    pub fn keyframe_every(mut self, samples: u32) -> Self {
        self.encoder.keyframe_every = samples.max(1);
        self
    }

    /// Appends `snapshot` and flushes it to the file.
    ///
    /// # Errors
    ///
    /// Writing fails (the disk is full…); what was written before stays
    /// readable.
    pub fn record(&mut self, snapshot: &Snapshot) -> Result<(), RecordError> {
        let (kind, payload) = self.encoder.encode(snapshot)?;
        self.append(kind, snapshot.taken_at_unix_ms, &payload)
    }

    /// Appends a record made elsewhere (the flight recorder's).
    pub(crate) fn append(&mut self, kind: Kind, time_ms: u64, payload: &[u8]) -> Result<(), RecordError> {
        let offset = self.written;
        self.written += frame::write(&mut self.out, kind, time_ms, payload)?;
        self.out.flush()?;
        self.index.push(IndexEntry { time_ms, offset, keyframe: kind == Kind::Keyframe });
        Ok(())
    }

    /// Samples written so far.
    pub fn samples(&self) -> usize {
        self.index.len()
    }

    /// Bytes written so far (the index, written when the recording is
    /// closed, comes on top: [`close`](Recorder::close) tells the total).
    pub fn bytes(&self) -> usize {
        self.written
    }

    /// Writes the index (so a reader need not scan the file) and flushes;
    /// the writer.
    ///
    /// # Errors
    ///
    /// Writing fails; the recording is still readable, by a scan.
    pub fn finish(self) -> Result<W, RecordError> {
        Ok(self.finish_counted()?.0)
    }

    /// As [`finish`](Self::finish), with every byte written in all.
    fn finish_counted(mut self) -> Result<(W, usize), RecordError> {
        let offset = self.written;
        let payload = index::encode(&self.index)?;
        self.written += frame::write(&mut self.out, Kind::Index, 0, &payload)?;
        self.out.write_all(&index::trailer(offset))?;
        self.written += index::TRAILER;
        self.out.flush()?;
        Ok((self.out, self.written))
    }
}

/// `<dir>/<stem>.tsrec`, or `<stem>-2.tsrec`, `-3`… if that is taken: where
/// the TUI and the flight recorder put recordings without overwriting one.
pub fn unused_path(dir: &Path, stem: &str) -> std::path::PathBuf {
    let mut path = dir.join(format!("{stem}.tsrec"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{stem}-{n}.tsrec"));
        n += 1;
    }
    path
}
