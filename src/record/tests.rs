//! Record, then read back: the same snapshots, any sample by time, and
//! recordings cut short, damaged or from a newer threadscope.

use super::frame::{self, Kind};
use super::*;
use crate::inspect::{DisplayName, Inspector, Snapshot};
use crate::scenario::RunningScenario;
use crate::threading::Registry;
use std::time::Duration;

/// Real snapshots: the deadlock scenario run on a registry of its own,
/// sampled `count` times (its threads deadlock within the first samples,
/// so later ones hold a deadlock, findings and waits).
fn real_snapshots(count: usize) -> Vec<Snapshot> {
    let registry = Registry::new();
    let scenario = crate::scenario::load("deadlock").unwrap();
    let mut running = RunningScenario::start(scenario, &registry).unwrap();
    let mut inspector = Inspector::own(&registry).unwrap();
    inspector.set_scenario(Some("deadlock".into()));
    // Sample until the deadlock is confirmed (polling the inspector, as
    // tests/common's `eventually` does), then `count` more; keep the two
    // before it too, so both sides of its forming are covered.
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    while out.last().is_none_or(|s: &Snapshot| s.deadlocks.is_empty()) {
        assert!(started.elapsed() < Duration::from_secs(60), "the deadlock scenario never deadlocked");
        out.push(inspector.refresh().unwrap());
        std::thread::sleep(Duration::from_millis(20));
    }
    out.extend((1..count).map(|_| inspector.refresh().unwrap()));
    let out: Vec<Snapshot> = out.split_off(out.len().saturating_sub(count + 2));
    let mut out = out;
    out.truncate(count);
    running.stop(Duration::from_millis(100));
    // A hostile process name, which JSON shows only escaped: the recording
    // must give back its bytes.
    out[0].process.name = DisplayName::from_bytes(b"evil\x1b[2J\xff");
    out
}

fn header() -> Header {
    Header::new(RecordedSource::Scenario { name: "deadlock".into() }, Duration::from_secs(1))
}

fn record(snapshots: &[Snapshot], keyframe_every: u32) -> Vec<u8> {
    let mut recorder = Recorder::new(Vec::new(), &header()).unwrap().keyframe_every(keyframe_every);
    for s in snapshots {
        recorder.record(s).unwrap();
    }
    recorder.finish().unwrap()
}

fn json(snapshot: &Snapshot) -> String {
    serde_json::to_string(snapshot).unwrap()
}

/// `count` snapshots one second apart, so times are distinct.
fn spaced(count: usize) -> Vec<Snapshot> {
    let mut snapshots = real_snapshots(count);
    let start = snapshots[0].taken_at_unix_ms;
    for (i, s) in snapshots.iter_mut().enumerate() {
        s.taken_at_unix_ms = start + 1000 * i as u64;
    }
    snapshots
}

#[test]
fn record_then_replay_gives_back_the_same_snapshots() {
    let snapshots = spaced(12);
    let mut recording = Recording::from_bytes(record(&snapshots, 5)).unwrap();
    assert!(recording.indexed());
    assert!(recording.problems().is_empty());
    assert_eq!(recording.len(), snapshots.len());
    assert_eq!(recording.header(), &header_like(recording.header()));
    for (i, original) in snapshots.iter().enumerate() {
        let replayed = recording.snapshot(i).unwrap();
        assert_eq!(json(&replayed), json(original), "sample {i}");
        for (a, b) in replayed.threads.iter().zip(&original.threads) {
            assert_eq!(a.name.raw(), b.name.raw());
            assert_eq!(
                a.kernel.as_ref().map(|k| k.comm.raw().to_vec()),
                b.kernel.as_ref().map(|k| k.comm.raw().to_vec())
            );
        }
    }
    let first = recording.snapshot(0).unwrap();
    assert_eq!(first.process.name.raw(), b"evil\x1b[2J\xff", "raw bytes of the process name kept");
    assert!(
        snapshots.iter().any(|s| !s.deadlocks.is_empty()),
        "the scenario deadlocked: the test covers deadlocks"
    );
}

/// The header as written, for comparing (its time is the writer's).
fn header_like(read: &Header) -> Header {
    Header { started_at_unix_ms: read.started_at_unix_ms, ..header() }
}

#[test]
fn any_sample_can_be_reached_in_any_order() {
    let snapshots = spaced(9);
    let mut recording = Recording::from_bytes(record(&snapshots, 4)).unwrap();
    for i in [8, 0, 5, 4, 3, 7, 7, 1, 6, 2] {
        assert_eq!(json(&recording.snapshot(i).unwrap()), json(&snapshots[i]), "sample {i}");
    }
    let t0 = snapshots[0].taken_at_unix_ms;
    assert_eq!(recording.sample_at(t0 + 3500), 3);
    assert_eq!(recording.sample_at(t0 + 3000), 3);
    assert_eq!(recording.sample_at(0), 0);
    assert_eq!(recording.sample_at(u64::MAX), 8);
}

#[test]
fn a_recording_cut_anywhere_replays_up_to_its_last_complete_record() {
    let snapshots = spaced(6);
    let bytes = record(&snapshots, 3);
    let header_end = frame::read_at(&bytes, 0).unwrap().end();
    let mut ends = Vec::new();
    let mut at = header_end;
    while let Ok(f) = frame::read_at(&bytes, at) {
        if f.kind != Kind::Index {
            ends.push(f.end());
        }
        at = f.end();
    }
    let index_end = at;
    for cut in header_end + 1..bytes.len() - 1 {
        let complete = ends.iter().filter(|&&end| end <= cut).count();
        match Recording::from_bytes(bytes[..cut].to_vec()) {
            Ok(mut recording) => {
                assert_eq!(recording.len(), complete, "cut at {cut}");
                let last = recording.len() - 1;
                assert_eq!(json(&recording.snapshot(last).unwrap()), json(&snapshots[last]));
                if ends.contains(&cut) {
                    // Between two records: nothing is cut, but the index is missing.
                    assert_eq!(recording.problems(), [Problem::Unclosed { offset: cut }], "cut at {cut}");
                    assert!(recording.problems()[0].to_string().contains("without its index"));
                } else if cut < index_end {
                    assert!(
                        matches!(recording.problems(), [Problem::Cut { .. }]),
                        "cut at {cut}: {:?}",
                        recording.problems()
                    );
                    assert!(recording.problems()[0].to_string().contains("cut short"));
                }
            }
            Err(RecordError::Empty) => assert_eq!(complete, 0, "cut at {cut}"),
            Err(e) => panic!("cut at {cut}: {e}"),
        }
    }
}

#[test]
fn a_damaged_byte_is_found_and_skipped_with_its_dependents() {
    let snapshots = spaced(6);
    let bytes = record(&snapshots, 3);
    let header_end = frame::read_at(&bytes, 0).unwrap().end();
    let second = frame::read_at(&bytes, header_end).unwrap().end();
    // Damage sample 1 (a delta): samples 1 and 2 are lost, 3.. (a new keyframe) stay.
    let mut damaged = bytes.clone();
    damaged[second + frame::HEAD + 1] ^= 0x55;
    // Without the index (cut off), the scan finds the damage up front.
    let unindexed = damaged[..damaged.len() - 20].to_vec();
    let mut recording = Recording::from_bytes(unindexed).unwrap();
    assert!(!recording.indexed());
    assert!(
        recording.problems().contains(&Problem::Damaged {
            offset: second,
            skipped: 1,
            why: Damage::Checksum
        }),
        "{:?}",
        recording.problems()
    );
    assert_eq!(recording.len(), 4);
    assert_eq!(json(&recording.snapshot(1).unwrap()), json(&snapshots[3]));
    assert!(recording.problems()[0].to_string().contains("checksum"));

    // With the index, every record it lists is checked on opening: the
    // damage is told the same way, and the samples keep their numbers.
    let mut indexed = Recording::from_bytes(damaged).unwrap();
    assert!(indexed.indexed());
    assert_eq!(indexed.problems(), [Problem::Damaged { offset: second, skipped: 1, why: Damage::Checksum }]);
    assert_eq!(indexed.len(), 6);
    let readable: Vec<bool> = (0..6).map(|i| indexed.readable(i)).collect();
    assert_eq!(readable, [true, false, false, true, true, true]);
    let error = indexed.snapshot(1).unwrap_err();
    assert!(matches!(error, RecordError::Damaged { offset, why: Damage::Checksum } if offset == second));
    assert_eq!(error.to_string(), format!("damaged record at byte {second} (checksum mismatch)"));
    assert!(indexed.snapshot(2).is_err());
    assert_eq!(json(&indexed.snapshot(3).unwrap()), json(&snapshots[3]));
    assert_eq!(json(&indexed.snapshot(0).unwrap()), json(&snapshots[0]));
}

/// Where each record starts, header and index included.
fn record_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = 0;
    while let Ok(f) = frame::read_at(bytes, at) {
        starts.push(at);
        at = f.end();
    }
    starts
}

#[test]
fn a_damaged_length_field_is_told_with_or_without_the_index() {
    let snapshots = spaced(6);
    let bytes = record(&snapshots, 3);
    // Sample 4 (a delta on the keyframe at 3): its length over the limit,
    // past the end of the file, and one off.
    let starts = record_starts(&bytes);
    let (at, index) = (starts[5], starts[7]);
    type Edit = fn(u8) -> u8;
    let edits: [(usize, Edit, Damage); 3] = [
        (7, |_| 0x7f, Damage::Length(0)),
        (6, |b| b | 0x10, Damage::Overrun),
        (4, |b| b ^ 0x01, Damage::Checksum),
    ];
    for (byte, edit, why) in edits {
        let mut damaged = bytes.clone();
        damaged[at + byte] = edit(damaged[at + byte]);
        let why = match why {
            Damage::Length(_) => {
                Damage::Length(u32::from_le_bytes(damaged[at + 4..at + 8].try_into().unwrap()))
            }
            why => why,
        };
        // Without the index: killed before it was closed.
        let unindexed = damaged[..index].to_vec();
        for (bytes, indexed) in [(damaged, true), (unindexed, false)] {
            let mut recording = Recording::from_bytes(bytes).unwrap();
            assert_eq!(recording.indexed(), indexed);
            let damage = Problem::Damaged { offset: at, skipped: 1, why: why.clone() };
            // Unindexed, the missing index is told too.
            let told: &[Problem] =
                if indexed { &[damage] } else { &[damage, Problem::Unclosed { offset: index }] };
            assert_eq!(recording.problems(), told, "byte {byte}, indexed {indexed}");
            assert_eq!(json(&recording.snapshot(0).unwrap()), json(&snapshots[0]));
            assert_eq!(json(&recording.snapshot(3).unwrap()), json(&snapshots[3]));
        }
    }
}

#[test]
fn damage_to_the_only_keyframe_leaves_nothing_readable_and_says_why() {
    let snapshots = spaced(4);
    let bytes = record(&snapshots, 60);
    let starts = record_starts(&bytes);
    let keyframe = starts[1];
    let mut damaged = bytes.clone();
    damaged[keyframe + frame::HEAD + 10] ^= 0x08;
    let cut = damaged[..starts[5]].to_vec();
    for (bytes, told) in [(damaged, 1), (cut, 2)] {
        let error = Recording::from_bytes(bytes).unwrap_err();
        // Cut between records, the missing index is the second thing told.
        assert!(matches!(&error, RecordError::Unreadable(p) if p.len() == told), "{error:?}");
        let text = error.to_string();
        assert!(
            text.starts_with(&format!(
                "no sample can be read: damaged record at byte {keyframe} (checksum mismatch)"
            )) && text.contains("3 sample(s) that depended on it"),
            "{text}"
        );
    }
}

#[test]
fn a_damaged_index_or_trailer_is_told_and_every_sample_is_found_by_a_scan() {
    let snapshots = spaced(5);
    let bytes = record(&snapshots, 2);
    let index = *record_starts(&bytes).last().unwrap();
    let trailer = bytes.len() - 12;
    for (at, why) in [
        (index + frame::HEAD + 2, Damage::Checksum),
        (index + 1, Damage::NoSync),
        (trailer, Damage::Trailer),
        (trailer + 5, Damage::Trailer),
    ] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x10;
        let mut recording = Recording::from_bytes(damaged).unwrap();
        assert!(!recording.indexed(), "byte {at}");
        assert_eq!(recording.problems(), [Problem::Index { offset: index, why }], "byte {at}");
        assert!(recording.problems()[0].to_string().contains("index"));
        assert_eq!(recording.len(), 5);
        assert_eq!(json(&recording.snapshot(4).unwrap()), json(&snapshots[4]));
    }
}

#[test]
fn a_recording_cut_inside_its_header_says_so() {
    let bytes = record(&spaced(2), 60);
    let header_end = frame::read_at(&bytes, 0).unwrap().end();
    for cut in [4, 10, frame::HEAD, 100, header_end - 1] {
        let error = Recording::from_bytes(bytes[..cut].to_vec()).unwrap_err();
        assert!(matches!(error, RecordError::CutInHeader { len, .. } if len == cut), "{cut}: {error:?}");
        assert!(error.to_string().contains("cut short inside its header"), "{error}");
    }
    let mut damaged = bytes.clone();
    damaged[30] ^= 0x01;
    let error = Recording::from_bytes(damaged).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the recording's header record is damaged (checksum mismatch): without it nothing in the file can be read"
    );
}

#[test]
fn a_newer_schema_or_format_is_refused_with_a_clear_error() {
    for (field, value) in [("format", 99), ("snapshot_schema", 99)] {
        let mut h = serde_json::to_value(header()).unwrap();
        h[field] = value.into();
        let mut bytes = Vec::new();
        frame::write(&mut bytes, Kind::Header, 0, &serde_json::to_vec(&h).unwrap()).unwrap();
        let error = Recording::from_bytes(bytes).unwrap_err();
        assert!(matches!(error, RecordError::Newer { found: 99, .. }), "{error}");
        let text = error.to_string();
        assert!(text.contains("newer threadscope") && text.contains("99"), "{text}");
    }
}

#[test]
fn a_schema_2_recording_still_reads_and_an_older_one_is_refused() {
    // Schema 2: the cores' figures were always an array, which reads back
    // as measured.
    let mut h = serde_json::to_value(header()).unwrap();
    h["snapshot_schema"] = 2.into();
    let mut bytes = Vec::new();
    frame::write(&mut bytes, Kind::Header, 0, &serde_json::to_vec(&h).unwrap()).unwrap();
    let error = Recording::from_bytes(bytes).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(!error.contains("schema"), "schema 2 is read: {error}");
    let cores: crate::inspect::SystemView =
        serde_json::from_str(r#"{"cpu_percent": [1.5, 2.0], "memory_used_bytes": 1, "memory_total_bytes": 2, "load_average": null}"#).unwrap();
    assert_eq!(cores.cpu_percent, crate::kernel::Field::Available(vec![1.5, 2.0]));
    h["snapshot_schema"] = 1.into();
    let mut bytes = Vec::new();
    frame::write(&mut bytes, Kind::Header, 0, &serde_json::to_vec(&h).unwrap()).unwrap();
    let error = Recording::from_bytes(bytes).unwrap_err();
    assert!(matches!(error, RecordError::Older { found: 1, supported: 2, .. }), "{error}");
    assert!(error.to_string().contains("it reads 2 and later"), "{error}");
}

#[test]
fn what_is_not_a_recording_says_so() {
    let empty = Recording::from_bytes(Vec::new()).unwrap_err();
    assert!(matches!(empty, RecordError::EmptyFile), "an empty file is said to be empty: {empty}");
    assert!(empty.to_string().starts_with("the file is empty"), "{empty}");
    for bytes in [b"{\"threads\": []}".to_vec(), vec![0; 100]] {
        assert!(matches!(Recording::from_bytes(bytes), Err(RecordError::NotARecording)));
    }
    let mut header_only = Vec::new();
    Recorder::new(&mut header_only, &header()).unwrap();
    assert!(matches!(Recording::from_bytes(header_only), Err(RecordError::Empty)));
}

#[test]
fn the_flight_recorder_keeps_the_last_span_and_dumps_it() {
    let snapshots = spaced(40);
    let mut flight = FlightRecorder::new(FlightBudget::span(Duration::from_secs(15))).unwrap();
    for s in &snapshots {
        flight.push(s).unwrap();
    }
    // Segments of 10 samples: at least the last 15 s, at most one segment more.
    assert!((15..=25).contains(&flight.samples()), "{}", flight.samples());
    let dir = std::env::temp_dir().join(format!("threadscope-flight-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dump.tsrec");
    let written = flight.dump(&path, &header(), "deadlock").unwrap();
    let mut recording = Recording::open(&path).unwrap();
    assert_eq!(recording.len(), written);
    assert_eq!(recording.header().flight_recorder.as_deref(), Some("deadlock"));
    let last = recording.len() - 1;
    assert_eq!(json(&recording.snapshot(last).unwrap()), json(&snapshots[39]));
    let first = snapshots.len() - written;
    assert_eq!(json(&recording.snapshot(0).unwrap()), json(&snapshots[first]));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_flight_recorder_stays_within_its_byte_budget() {
    let snapshots = spaced(30);
    let mut flight =
        FlightRecorder::new(FlightBudget { span: Duration::from_secs(3600), bytes: 4000 }).unwrap();
    let mut most = 0;
    for s in &snapshots {
        flight.push(s).unwrap();
        most = most.max(flight.bytes());
    }
    assert!(flight.samples() < snapshots.len(), "old samples were dropped");
    // One keyframe segment may exceed the budget alone; past it, it is dropped.
    assert!(
        flight.bytes() <= 4000 || flight.samples() <= FLIGHT_KEYFRAME_EVERY as usize,
        "{}",
        flight.bytes()
    );
}

#[test]
fn threads_that_come_go_and_move_replay_exactly() {
    let base = spaced(4);
    let mut snapshots = base.clone();
    // Sample 1 loses its first thread, sample 2 has them in reverse, sample
    // 3 gains a thread and a hostile name.
    snapshots[1].threads.remove(0);
    snapshots[2].threads.reverse();
    let mut extra = snapshots[3].threads[0].clone();
    extra.key = 999_999;
    extra.name = DisplayName::from_bytes(b"new\x07one");
    extra.name_raw = extra.name.raw_if_unprintable();
    snapshots[3].threads.push(extra);
    let mut recording = Recording::from_bytes(record(&snapshots, 60)).unwrap();
    for (i, original) in snapshots.iter().enumerate() {
        let replayed = recording.snapshot(i).unwrap();
        assert_eq!(json(&replayed), json(original), "sample {i}");
    }
    let last = recording.snapshot(3).unwrap();
    assert_eq!(last.thread_by_key(999_999).unwrap().name.raw(), b"new\x07one");
}

/// A real thread (this test process's), with a kernel view and a runtime view.
pub(crate) fn any_thread() -> crate::inspect::ThreadView {
    let registry = Registry::new();
    let mut inspector = Inspector::own(&registry).unwrap();
    let mut snapshot = inspector.refresh().unwrap();
    let mut thread = snapshot.threads.swap_remove(0);
    assert!(thread.kernel.is_some());
    thread.runtime = Some(Box::new(crate::inspect::runtime::RuntimeView {
        source: "kernel",
        state: Some("S".into()),
        stack: Vec::new(),
        about: None,
    }));
    thread
}

/// A disk that fills up after `room` bytes.
struct Full {
    written: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    room: usize,
}

impl std::io::Write for Full {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut written = self.written.lock().unwrap();
        let n = buf.len().min(self.room - written.len());
        if n == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
        }
        written.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_full_disk_is_an_error_and_what_was_written_replays() {
    let snapshots = spaced(6);
    let whole = record(&snapshots, 3);
    let header_end = frame::read_at(&whole, 0).unwrap().end();
    let second_end = frame::read_at(&whole, frame::read_at(&whole, header_end).unwrap().end()).unwrap().end();
    let written = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let disk = Full { written: written.clone(), room: second_end + 10 };
    let mut recorder = Recorder::new(disk, &header()).unwrap().keyframe_every(3);
    assert!(recorder.record(&snapshots[0]).is_ok() && recorder.record(&snapshots[1]).is_ok());
    let error = snapshots[2..].iter().find_map(|s| recorder.record(s).err()).unwrap();
    assert!(error.to_string().starts_with("cannot write the recording"), "{error}");
    let bytes = written.lock().unwrap().clone();
    let mut recording = Recording::from_bytes(bytes).unwrap();
    assert_eq!(recording.len(), 2);
    assert!(matches!(recording.problems(), [Problem::Cut { .. }]), "{:?}", recording.problems());
    assert_eq!(json(&recording.snapshot(1).unwrap()), json(&snapshots[1]));
}

#[test]
fn naming_findings_recorded_with_bare_names_still_replay() {
    // Before naming findings named threads by identity, their `threads`
    // were bare names, and equal 15-byte comms were `cut_to_same`: a
    // recording of that shape, same schema, must still open and replay.
    let snapshot = real_snapshots(1).remove(0);
    let mut value = snapshot_json::encode(&snapshot).unwrap();
    value["naming"]["findings"] = serde_json::json!([
        {"kind": "cut_to_same", "message": "2 threads' names are cut to the same 15 bytes", "threads": ["PaymentService-"]},
        {"kind": "duplicate", "message": "2 threads are named waiter", "threads": ["waiter"]},
    ]);
    let mut bytes = Vec::new();
    frame::write(&mut bytes, Kind::Header, 0, &serde_json::to_vec(&header()).unwrap()).unwrap();
    let payload = zstd::bulk::compress(&serde_json::to_vec(&value).unwrap(), 3).unwrap();
    frame::write(&mut bytes, Kind::Keyframe, snapshot.taken_at_unix_ms, &payload).unwrap();
    let mut recording = Recording::from_bytes(bytes).unwrap();
    let replayed = recording.snapshot(0).unwrap();
    let findings = &replayed.naming.findings;
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert_eq!(findings[0].kind, crate::inspect::NamingFindingKind::CutToSame);
    assert_eq!(findings[1].threads, [crate::inspect::ThreadLink::name_only("waiter".into())]);
    assert_eq!(findings[1].threads[0].label(), "waiter", "no made-up identity shown");
}
