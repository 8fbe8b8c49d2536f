//! Property tests: the reader takes a file, which anyone can write.
//! Arbitrary bytes, and arbitrary edits of a real recording, never panic:
//! they open or are refused, and every sample that opens either decodes
//! or is reported damaged.
//!
//! 256 cases a property by default; `PROPTEST_CASES=10000 cargo test
//! record::proptests` for a longer soak.

use super::frame::{self, Kind};
use super::*;
use crate::inspect::Inspector;
use crate::threading::Registry;
use proptest::collection::vec;
use proptest::prelude::*;
use std::sync::LazyLock;
use std::time::Duration;

/// A small real recording: this test process sampled five times.
static VALID: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let registry = Registry::new();
    let mut inspector = Inspector::own(&registry).unwrap();
    let header = Header::new(RecordedSource::Pid { pid: std::process::id() }, Duration::from_secs(1));
    let mut recorder = Recorder::new(Vec::new(), &header).unwrap().keyframe_every(2);
    for i in 0..5 {
        let mut snapshot = inspector.refresh().unwrap();
        snapshot.taken_at_unix_ms += i * 1000;
        recorder.record(&snapshot).unwrap();
    }
    recorder.finish().unwrap()
});

/// Reads everything `bytes` holds, as replay would.
fn read_all(bytes: Vec<u8>) {
    if let Ok(mut recording) = Recording::from_bytes(bytes) {
        for i in (0..recording.len()).rev().chain(0..recording.len()) {
            let _ = recording.snapshot(i);
        }
        for problem in recording.problems() {
            let _ = problem.to_string();
        }
    }
}

/// Up to `max` edits to `bytes`: a byte replaced, inserted or removed.
fn mutated(bytes: Vec<u8>, max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec((0u8..3, any::<prop::sample::Index>(), any::<u8>()), 0..=max).prop_map(move |edits| {
        let mut out = bytes.clone();
        for (op, at, byte) in edits {
            let i = at.index(out.len() + 1);
            match op {
                0 if i < out.len() => out[i] = byte,
                1 => out.insert(i, byte),
                _ if i < out.len() => {
                    out.remove(i);
                }
                _ => {}
            }
        }
        out
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..2048)) {
        read_all(bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_good_header_never_panic(tail in vec(any::<u8>(), 0..2048)) {
        let header_end = frame::read_at(&VALID, 0).unwrap().end();
        let mut bytes = VALID[..header_end].to_vec();
        bytes.extend(tail);
        read_all(bytes);
    }

    #[test]
    fn edits_of_a_real_recording_never_panic(bytes in mutated(VALID.clone(), 8)) {
        read_all(bytes);
    }

    #[test]
    fn a_cut_real_recording_keeps_what_came_before(cut in 0usize..100_000) {
        let cut = cut % (VALID.len() + 1);
        read_all(VALID[..cut].to_vec());
    }

    /// One damaged byte past the header (what a bad disk sector or a
    /// stray write does): always told, and every sample not lost with it
    /// still reads, with or without the index; or, when it took the only
    /// keyframe the samples stood on, opening says that no sample can be
    /// read. A single damaged byte is always caught: CRC-32 finds every
    /// error burst up to 32 bits.
    #[test]
    fn one_damaged_byte_is_told_and_the_rest_reads(at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let header_end = frame::read_at(&VALID, 0).unwrap().end();
        let mut bytes = VALID.clone();
        let at = header_end + at.index(bytes.len() - header_end);
        bytes[at] ^= flip;
        match Recording::from_bytes(bytes) {
            Ok(mut recording) => {
                prop_assert!(!recording.problems().is_empty(), "byte {at}: nothing told");
                let mut read = 0;
                for i in 0..recording.len() {
                    if recording.readable(i) {
                        prop_assert!(recording.snapshot(i).is_ok(), "byte {at}: sample {i}");
                        read += 1;
                    } else {
                        prop_assert!(recording.snapshot(i).is_err(), "byte {at}: sample {i}");
                    }
                }
                prop_assert!(read > 0);
            }
            Err(RecordError::Unreadable(problems)) => prop_assert!(!problems.is_empty()),
            Err(e) => prop_assert!(false, "byte {at}: {e}"),
        }
    }

    /// Records that pass the checksum but hold nonsense (a crafted file):
    /// a keyframe or delta whose payload is arbitrary zstd of arbitrary JSON.
    #[test]
    fn well_framed_nonsense_never_panics(json in "[\\[\\]{}\":,0-9a-z =k-]{0,200}", delta in any::<bool>()) {
        let header_end = frame::read_at(&VALID, 0).unwrap().end();
        let mut bytes = VALID[..header_end].to_vec();
        let first = frame::read_at(&VALID, header_end).unwrap();
        bytes.extend_from_slice(&VALID[header_end..first.end()]);
        let payload = zstd::bulk::compress(json.as_bytes(), 1).unwrap();
        let kind = if delta { Kind::Delta } else { Kind::Keyframe };
        frame::write(&mut bytes, kind, 5, &payload).unwrap();
        read_all(bytes);
    }
}
