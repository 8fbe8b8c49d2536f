//! The index: where each sample's record is and whether it is a keyframe,
//! written as the last record when a recording is closed, and found from
//! the end of the file by a fixed trailer.
//!
//! ```text
//! … records … · Index record · "TSix" · offset of the Index record u64
//! ```
//! A recording without it (cut short) is read by a scan instead.

use super::RecordError;
use serde::{Deserialize, Serialize};

/// Marks the trailer.
pub const TRAILER_MAGIC: [u8; 4] = *b"TSix";
/// The trailer's size.
pub const TRAILER: usize = 12;

/// One sample in the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Its time, in milliseconds since the epoch.
    #[serde(rename = "t")]
    pub time_ms: u64,
    /// Where its record starts.
    #[serde(rename = "o")]
    pub offset: usize,
    /// Whether it is whole (else a delta on the sample before).
    #[serde(rename = "k")]
    pub keyframe: bool,
}

/// The index record's payload.
///
/// # Errors
///
/// Compression fails.
pub fn encode(entries: &[IndexEntry]) -> Result<Vec<u8>, RecordError> {
    let json = serde_json::to_vec(entries).map_err(std::io::Error::other)?;
    Ok(zstd::bulk::compress(&json, 3)?)
}

/// The entries of an index record's payload, if it reads as one.
pub fn decode(payload: &[u8]) -> Option<Vec<IndexEntry>> {
    let json = super::reader::inflate(payload).ok()?;
    serde_json::from_slice(&json).ok()
}

/// The trailer pointing at the index record at `offset`.
pub fn trailer(offset: usize) -> [u8; TRAILER] {
    let mut out = [0; TRAILER];
    out[..4].copy_from_slice(&TRAILER_MAGIC);
    out[4..].copy_from_slice(&(offset as u64).to_le_bytes());
    out
}

/// The index record's offset, if `bytes` ends in a trailer.
pub fn find(bytes: &[u8]) -> Option<usize> {
    let tail = bytes.get(bytes.len().checked_sub(TRAILER)?..)?;
    if tail[..4] != TRAILER_MAGIC {
        return None;
    }
    let mut offset = [0; 8];
    offset.copy_from_slice(&tail[4..]);
    usize::try_from(u64::from_le_bytes(offset)).ok()
}
