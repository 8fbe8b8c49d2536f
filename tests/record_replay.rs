//! `threadscope record`, `snapshot --from --at` and the headless flight
//! recorder, end to end through the binary, on real scenarios and
//! programs; and what the reader says about files that are not right.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use threadscope::record::{RecordedSource, Recording};

fn threadscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_threadscope"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("threadscope-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// Records into a new file of `dir`.
fn record(dir: &Path, args: &[&str]) -> PathBuf {
    let file = threadscope::record::unused_path(dir, "out");
    run(threadscope().arg("record").arg("-o").arg(&file).args(args));
    file
}

#[test]
fn a_recorded_scenario_prints_any_moment_as_it_was_printed_live() {
    let dir = scratch("record-scenario");
    let file = record(&dir, &["--scenario", "deadlock", "--for", "2s", "--interval", "200ms"]);
    let mut recording = Recording::open(&file).unwrap();
    assert!(recording.indexed() && recording.problems().is_empty());
    assert_eq!(recording.header().source, RecordedSource::Scenario { name: "deadlock".into() });
    assert!(recording.len() >= 5, "{} samples", recording.len());

    let last = recording.len() - 1;
    let at = Duration::from_millis(recording.time_ms(last) - recording.time_ms(0));
    let at_arg = format!("{}ms", at.as_millis());
    let printed = run(threadscope().args(["snapshot", "--from"]).arg(&file).args(["--at", &at_arg]));
    let expected = serde_json::to_string(&recording.snapshot(last).unwrap()).unwrap() + "\n";
    assert_eq!(String::from_utf8(printed.stdout).unwrap(), expected);
    let json: serde_json::Value = serde_json::from_str(&expected).unwrap();
    assert_eq!(json["schema"], threadscope::inspect::SCHEMA);
    assert!(!json["deadlocks"].as_array().unwrap().is_empty(), "2 s in, the scenario has deadlocked");

    let text = run(threadscope().args(["snapshot", "--format", "text", "--at", "0s", "--from"]).arg(&file));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.starts_with("threadscope snapshot of pid") && text.contains("Transfer-AB"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_program_and_a_pid_can_be_recorded() {
    let dir = scratch("record-program");
    let file = threadscope::record::unused_path(&dir, "out");
    let output = run(threadscope().arg("record").arg("-o").arg(&file).args([
        "--for",
        "2s",
        "--interval",
        "500ms",
        "--",
        "sleep",
        "30",
    ]));
    let said = String::from_utf8(output.stderr).unwrap();
    let mut recording = Recording::open(&file).unwrap();
    // The span it says is the one a replay shows (trial 6: "over 22.0 s",
    // then "spans 21.0 s"), and how the program ended.
    let span = threadscope::display::human(Duration::from_millis(
        recording.time_ms(recording.len() - 1) - recording.time_ms(0),
    ));
    let told = format!("recorded {} samples spanning {span},", recording.len());
    assert!(said.contains(&told), "{told:?} in {said}");
    assert!(said.contains("stopped `sleep 30` (pid ") && said.contains("killed by SIGTERM"), "{said}");
    // That span, as said, is a moment of the recording: its last sample.
    let at = span.replace(' ', "");
    let printed = run(threadscope().args(["snapshot", "--from"]).arg(&file).args(["--at", &at]));
    let last = serde_json::to_string(&recording.snapshot(recording.len() - 1).unwrap()).unwrap() + "\n";
    assert_eq!(String::from_utf8(printed.stdout).unwrap(), last, "--at {at}");
    assert_eq!(
        recording.header().source,
        RecordedSource::Command { argv: vec!["sleep".into(), "30".into()] }
    );
    assert_eq!(recording.snapshot(0).unwrap().process.name.shown(), "sleep");

    let mut target = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = target.id();
    let file = record(&dir, &["--pid", &pid.to_string(), "--for", "1s", "--interval", "200ms"]);
    let _ = target.kill();
    let _ = target.wait();
    let mut recording = Recording::open(&file).unwrap();
    assert_eq!(recording.header().source, RecordedSource::Pid { pid });
    assert_eq!(recording.snapshot(0).unwrap().process.pid, pid);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn recording_stops_when_the_program_exits() {
    let dir = scratch("record-exit");
    let started = Instant::now();
    let file = record(&dir, &["--interval", "100ms", "--", "sh", "-c", "exit 0"]);
    assert!(started.elapsed() < Duration::from_secs(30));
    // It may have exited before a sample: then there is only the header.
    match Recording::open(&file) {
        Ok(recording) => assert!(recording.problems().is_empty()),
        Err(e) => assert!(e.to_string().contains("nothing recorded"), "{e}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_recordings_and_moments_get_clear_errors() {
    let dir = scratch("record-errors");
    let file = record(&dir, &["--scenario", "tour", "--for", "1s", "--interval", "200ms"]);
    let fails = |args: &[&str], file: &Path| {
        let output = threadscope().args(["snapshot", "--from"]).arg(file).args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(output.stdout.is_empty(), "{args:?} printed {:?}", String::from_utf8_lossy(&output.stdout));
        String::from_utf8(output.stderr).unwrap()
    };
    let past = fails(&["--at", "60m"], &file);
    assert!(past.contains("past the end") && past.contains("samples"), "{past}");

    let not = dir.join("not.tsrec");
    std::fs::write(&not, "{\"threads\": []}").unwrap();
    assert!(fails(&[], &not).contains("not a threadscope recording"));
    let empty = dir.join("empty.tsrec");
    std::fs::write(&empty, "").unwrap();
    let error = fails(&[], &empty);
    assert!(error.contains("the file is empty") && !error.contains("not a threadscope"), "{error}");
    let missing = fails(&[], &dir.join("missing.tsrec"));
    assert!(missing.contains("No such file"), "{missing}");
    assert_eq!(missing.matches("missing.tsrec").count(), 1, "the path once: {missing}");

    // Cut inside the header: still a recording, and said to be cut short.
    let bytes = std::fs::read(&file).unwrap();
    let head = dir.join("head.tsrec");
    std::fs::write(&head, &bytes[..100]).unwrap();
    let error = fails(&[], &head);
    assert!(error.contains("cut short inside its header") && !error.contains("not a threadscope"), "{error}");

    // Cut short: the moments before the cut print, and the cut is told,
    // wherever it lands: inside a record ("cut short") or exactly between
    // two ("without its index"); two cuts a byte apart, so at least one
    // is inside a record.
    let mut inside = false;
    for extra in [0, 1] {
        let cut = dir.join("cut.tsrec");
        std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3 + extra]).unwrap();
        let output = threadscope().args(["snapshot", "--at", "0s", "--from"]).arg(&cut).output().unwrap();
        assert!(output.status.success(), "{output:?}");
        let said = String::from_utf8_lossy(&output.stderr);
        inside |= said.contains("cut short");
        assert!(said.contains("cut short") || said.contains("without its index"), "cut {extra}: {said}");
    }
    assert!(inside, "a cut inside a record is told as cut short");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_recording_from_a_newer_threadscope_is_refused() {
    let dir = scratch("record-newer");
    let file = record(&dir, &["--scenario", "tour", "--for", "1s", "--interval", "200ms"]);
    // Rewrite the header record as a newer threadscope would write it:
    // same framing, a later snapshot schema.
    let bytes = std::fs::read(&file).unwrap();
    let length = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[21..21 + length]).unwrap();
    header["snapshot_schema"] = 99.into();
    header["threadscope"] = "9.0.0".into();
    let payload = serde_json::to_vec(&header).unwrap();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&(payload.len() as u32).to_le_bytes());
    crc.update(&bytes[8..17]);
    crc.update(&payload);
    let mut newer = b"TSr1".to_vec();
    newer.extend((payload.len() as u32).to_le_bytes());
    newer.extend(&bytes[8..17]);
    newer.extend(crc.finalize().to_le_bytes());
    newer.extend(&payload);
    newer.extend(&bytes[21 + length..]);
    let path = dir.join("newer.tsrec");
    std::fs::write(&path, newer).unwrap();
    let output = threadscope().args(["snapshot", "--from"]).arg(&path).output().unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(error.contains("newer threadscope (snapshot schema 99") && error.contains("9.0.0"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Reads a child's stderr lines on a thread, so the test can wait for one.
fn lines_of(stream: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

fn wait_line(lines: &std::sync::mpsc::Receiver<String>, wanted: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(wanted) => return line,
            Ok(_) => {}
            Err(e) => panic!("no line with {wanted:?}: {e}"),
        }
    }
}

#[test]
fn the_headless_flight_recorder_writes_on_a_deadlock_and_on_sigusr1() {
    let dir = scratch("flight-headless");
    let mut child = threadscope()
        .args(["run", "deadlock", "--headless", "--flight-recorder", "1m"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(child.stderr.take().unwrap());
    let line = wait_line(&lines, "flight recorder (deadlock): wrote the last");
    let path = PathBuf::from(line.rsplit(" to ").next().unwrap());
    let mut recording = Recording::open(&path).unwrap();
    assert_eq!(recording.header().flight_recorder.as_deref(), Some("deadlock"));
    assert!(!recording.snapshot(recording.len() - 1).unwrap().deadlocks.is_empty());

    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::USR1).unwrap();
    let line = wait_line(&lines, "flight recorder (SIGUSR1): wrote the last");
    assert!(Recording::open(Path::new(line.rsplit(" to ").next().unwrap())).is_ok(), "{line}");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert!(child.wait().unwrap().success());
    let _ = std::io::stderr().flush();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_existing_file_is_never_replaced() {
    let dir = scratch("record-refusals");
    let file = dir.join("kept.tsrec");
    std::fs::write(&file, "an earlier recording").unwrap();
    let output = threadscope().args(["record", "--for", "1s", "-o"]).arg(&file).output().unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("kept.tsrec already exists: a recording never replaces a file")
            && error.contains("choose another name")
            && !error.contains("os error"),
        "{error}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "an earlier recording");

    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_bytes_record_tells_are_the_files_size() {
    let dir = scratch("record-bytes");
    let file = dir.join("sized.tsrec");
    let output = run(threadscope()
        .args(["record", "--scenario", "tour", "--for", "1s", "--interval", "200ms", "-o"])
        .arg(&file));
    let told = String::from_utf8(output.stderr).unwrap();
    let bytes: u64 = told
        .split(", ")
        .find_map(|part| part.strip_suffix(" bytes"))
        .unwrap_or_else(|| panic!("no byte count in {told}"))
        .parse()
        .unwrap();
    assert_eq!(bytes, std::fs::metadata(&file).unwrap().len(), "{told}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Where each record of `bytes` starts (header first, index last), by
/// their length fields.
fn record_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = 0;
    while bytes.get(at..at + 4) == Some(b"TSr1") {
        starts.push(at);
        at += 21 + u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
    }
    starts
}

/// `snapshot --from --at` on a copy of `bytes` with `edit` made at
/// byte `at`: its exit status, stdout and stderr.
fn snapshot_damaged(
    dir: &Path,
    bytes: &[u8],
    at: usize,
    edit: &[u8],
    moment: &str,
) -> (Option<i32>, String, String) {
    let mut damaged = bytes.to_vec();
    damaged[at..at + edit.len()].copy_from_slice(edit);
    let path = dir.join(format!("damaged-{at}.tsrec"));
    std::fs::write(&path, damaged).unwrap();
    let output = threadscope().args(["snapshot", "--at", moment, "--from"]).arg(&path).output().unwrap();
    std::fs::remove_file(&path).unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (output.status.code(), text(output.stdout), text(output.stderr))
}

#[test]
fn snapshot_from_a_damaged_recording_prints_the_nearest_readable_sample_and_says_what_it_skipped() {
    let dir = scratch("record-damaged");
    let file = record(&dir, &["--scenario", "deadlock", "--for", "2s", "--interval", "200ms"]);
    let bytes = std::fs::read(&file).unwrap();
    let starts = record_starts(&bytes);
    let (keyframe, index) = (starts[1], starts[starts.len() - 1]);
    let samples = &starts[1..starts.len() - 1];
    assert!(samples.len() >= 5, "{} samples", samples.len());
    let last = Recording::open(&file).unwrap();
    let end = format!("{}ms", last.time_ms(last.len() - 1) - last.time_ms(0));

    // Each sample's payload, its length field and its sync word; the
    // index's payload and the trailer. (The header is not here: without
    // it nothing is read, and that is its own error.)
    let mut damage = Vec::new();
    for &at in samples {
        damage.push((at + 21 + 5, &b"\x00\xff"[..]));
        damage.push((at + 5, &b"\x7f"[..]));
        damage.push((at, &b"X"[..]));
    }
    damage.push((index + 21 + 3, &b"\x00\xff"[..]));
    damage.push((bytes.len() - 12, &b"XX"[..]));
    damage.push((bytes.len() - 3, &b"\x55"[..]));
    for (at, edit) in damage {
        for moment in ["0s", end.as_str()] {
            let (code, stdout, stderr) = snapshot_damaged(&dir, &bytes, at, edit, moment);
            let context = format!("byte {at}, --at {moment}: {stderr}");
            assert!(!stderr.contains("panicked") && !stderr.contains("Damaged"), "{context}");
            if (keyframe..samples[1]).contains(&at) {
                // The only keyframe: every sample stood on it.
                assert_eq!(code, Some(1), "{context}");
                assert!(stdout.is_empty(), "{context}");
                assert!(
                    stderr.contains("no sample can be read: damaged record at byte")
                        && stderr.contains("sample(s) that depended on it"),
                    "{context}"
                );
                continue;
            }
            assert_eq!(code, Some(0), "{context}");
            let json: serde_json::Value =
                serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_eq!(json["schema"], threadscope::inspect::SCHEMA, "{context}");
            let told = if at >= index { "the index at byte" } else { "damaged record at byte" };
            assert!(stderr.contains(told) && stderr.contains("showing sample"), "{context}");
            // Which sample: the one asked for, or the nearest that reads.
            if at < index && moment != "0s" {
                assert!(
                    stderr.contains("cannot be read") && stderr.contains("the nearest that can"),
                    "{context}"
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
