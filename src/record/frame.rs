//! Records on disk: each one framed with a sync word, its length, its
//! kind, the time it stands for and a CRC-32 of all of that and its
//! payload, so a cut or a damaged byte is found, not misread, and the
//! next good record can be found again after damage.
//!
//! ```text
//! sync "TSr1" · length u32 · kind u8 · time u64 (ms since the epoch) · crc32 u32 · payload
//! ```
//! (little-endian; the CRC covers length, kind, time and payload.)

use super::Damage;
use std::io::{self, Write};

/// Marks the start of every record.
pub const SYNC: [u8; 4] = *b"TSr1";
/// Bytes before the payload.
pub const HEAD: usize = 4 + 4 + 1 + 8 + 4;
/// The largest payload accepted: a length beyond it is damage, not a record
/// (a 10,000-thread keyframe compresses to well under 10 MiB).
pub const MAX_PAYLOAD: usize = 256 << 20;

/// What a record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The recording's header (plain JSON, so any version can read it).
    Header,
    /// A whole snapshot (compressed JSON).
    Keyframe,
    /// What changed since the previous sample (compressed JSON patch).
    Delta,
    /// Where every sample is, written when the recording is closed.
    Index,
}

impl Kind {
    /// In words.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Header => "header",
            Kind::Keyframe => "keyframe",
            Kind::Delta => "delta",
            Kind::Index => "index",
        }
    }

    fn byte(self) -> u8 {
        match self {
            Kind::Header => 1,
            Kind::Keyframe => 2,
            Kind::Delta => 3,
            Kind::Index => 4,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            1 => Kind::Header,
            2 => Kind::Keyframe,
            3 => Kind::Delta,
            4 => Kind::Index,
            _ => return None,
        })
    }
}

fn checksum(length: u32, kind: u8, time_ms: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&length.to_le_bytes());
    hasher.update(&[kind]);
    hasher.update(&time_ms.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// Writes one record; the bytes written.
///
/// # Errors
///
/// The writer's, or a payload over [`MAX_PAYLOAD`].
pub fn write(out: &mut impl Write, kind: Kind, time_ms: u64, payload: &[u8]) -> io::Result<usize> {
    if payload.len() > MAX_PAYLOAD {
        return Err(io::Error::other(format!("a record of {} bytes is over the limit", payload.len())));
    }
    let length = payload.len() as u32;
    let mut head = [0u8; HEAD];
    head[0..4].copy_from_slice(&SYNC);
    head[4..8].copy_from_slice(&length.to_le_bytes());
    head[8] = kind.byte();
    head[9..17].copy_from_slice(&time_ms.to_le_bytes());
    head[17..21].copy_from_slice(&checksum(length, kind.byte(), time_ms, payload).to_le_bytes());
    out.write_all(&head)?;
    out.write_all(payload)?;
    Ok(HEAD + payload.len())
}

/// One record read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Where it starts in the file.
    pub offset: usize,
    /// What it holds.
    pub kind: Kind,
    /// The time it stands for.
    pub time_ms: u64,
    /// Its payload.
    pub payload: &'a [u8],
}

impl Frame<'_> {
    /// Where the next record starts.
    pub fn end(&self) -> usize {
        self.offset + HEAD + self.payload.len()
    }
}

/// What is at an offset that is not a good record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bad {
    /// The file ends inside the record: it was cut short (or its length
    /// field is damaged; only what follows can tell).
    Cut,
    /// The bytes are not a record, or its checksum does not match.
    Damaged(Damage),
}

/// The record at `offset` of `bytes`.
///
/// # Errors
///
/// [`Bad::Cut`] when the file ends inside what reads as a record's head or
/// payload; [`Bad::Damaged`] when the sync word, kind, length or checksum
/// is wrong.
pub fn read_at(bytes: &[u8], offset: usize) -> Result<Frame<'_>, Bad> {
    let rest = bytes.get(offset..).unwrap_or_default();
    if rest.len() < HEAD {
        let sync = SYNC.starts_with(&rest[..rest.len().min(4)]);
        return Err(if sync { Bad::Cut } else { Bad::Damaged(Damage::NoSync) });
    }
    if rest[0..4] != SYNC {
        return Err(Bad::Damaged(Damage::NoSync));
    }
    let length = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    let kind_byte = rest[8];
    let mut time = [0u8; 8];
    time.copy_from_slice(&rest[9..17]);
    let time_ms = u64::from_le_bytes(time);
    let crc = u32::from_le_bytes([rest[17], rest[18], rest[19], rest[20]]);
    let kind = Kind::from_byte(kind_byte).ok_or(Bad::Damaged(Damage::Kind(kind_byte)))?;
    if length as usize > MAX_PAYLOAD {
        return Err(Bad::Damaged(Damage::Length(length)));
    }
    let Some(payload) = rest.get(HEAD..HEAD + length as usize) else { return Err(Bad::Cut) };
    if checksum(length, kind_byte, time_ms, payload) != crc {
        return Err(Bad::Damaged(Damage::Checksum));
    }
    Ok(Frame { offset, kind, time_ms, payload })
}

/// The next good record after damage at `offset`: the first sync word
/// past it that starts a record whose checksum holds.
pub fn resync(bytes: &[u8], offset: usize) -> Option<Frame<'_>> {
    let mut at = offset + 1;
    while let Some(found) = bytes.get(at..).and_then(|rest| rest.windows(4).position(|w| w == SYNC)) {
        at += found;
        if let Ok(frame) = read_at(bytes, at) {
            return Some(frame);
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_records() -> Vec<u8> {
        let mut bytes = Vec::new();
        write(&mut bytes, Kind::Keyframe, 1000, b"first").unwrap();
        write(&mut bytes, Kind::Delta, 2000, b"second").unwrap();
        bytes
    }

    #[test]
    fn records_read_back() {
        let bytes = two_records();
        let first = read_at(&bytes, 0).unwrap();
        assert_eq!((first.kind, first.time_ms, first.payload), (Kind::Keyframe, 1000, &b"first"[..]));
        let second = read_at(&bytes, first.end()).unwrap();
        assert_eq!((second.kind, second.payload), (Kind::Delta, &b"second"[..]));
        assert_eq!(second.end(), bytes.len());
    }

    #[test]
    fn a_cut_is_told_from_damage() {
        let bytes = two_records();
        let second = read_at(&bytes, 0).unwrap().end();
        for cut in second + 1..bytes.len() {
            assert_eq!(read_at(&bytes[..cut], second), Err(Bad::Cut), "cut at {cut}");
        }
        let mut damaged = bytes.clone();
        damaged[HEAD + 2] ^= 0x20;
        assert_eq!(read_at(&damaged, 0), Err(Bad::Damaged(Damage::Checksum)));
        assert_eq!(resync(&damaged, 0).map(|f| f.offset), Some(second));
    }

    #[test]
    fn every_damaged_byte_is_caught() {
        let bytes = two_records();
        let end = read_at(&bytes, 0).unwrap().end();
        for i in 0..end {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x01;
            assert!(read_at(&damaged, 0).is_err(), "byte {i}");
        }
    }
}
