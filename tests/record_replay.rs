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
    let file = record(&dir, &["--for", "1s", "--interval", "200ms", "--", "sleep", "30"]);
    let mut recording = Recording::open(&file).unwrap();
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
    assert!(fails(&[], &dir.join("missing.tsrec")).contains("No such file"));

    // Cut short: the moments before the cut print, and the cut is told.
    let bytes = std::fs::read(&file).unwrap();
    let cut = dir.join("cut.tsrec");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let output = threadscope().args(["snapshot", "--at", "0s", "--from"]).arg(&cut).output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cut short"), "{output:?}");
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
    assert!(String::from_utf8_lossy(&output.stderr).contains("File exists"), "{output:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "an earlier recording");

    std::fs::remove_dir_all(&dir).unwrap();
}
