//! Native stacks of a program that never heard of threadscope (the stacks
//! child of `foreign_support`: a thread blocked in `read` on a pipe inside
//! `blocked_in_pipe_read`, one in `nanosleep` inside `blocked_in_nanosleep`,
//! one 200 KiB deep): `snapshot --stacks` as JSON and text through the real
//! binary; a thread that ended, a binary without debug info or symbols,
//! and a user who may not trace the program, through the library.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod foreign_support;

use foreign_support::{CHILD_ENV, PATIENCE, STACKS_CHILD, Target};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};
use threadscope::stacks::{NativeFrame, NativeStack, StackError, StackOptions, take};

/// The child's entry: a test that does nothing unless the environment
/// says this process is the child.
#[test]
fn child_entry() {
    if std::env::var_os(CHILD_ENV).is_some() {
        foreign_support::child();
    }
}

fn snapshot(pid: u32, format: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_threadscope"))
        .args(["snapshot", "--pid", &pid.to_string(), "--stacks", "--after", "0s", "--format", format])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn thread(json: &Value, tid: u32) -> &Value {
    json["threads"].as_array().unwrap().iter().find(|t| t["native_id"] == tid).unwrap_or(&Value::Null)
}

fn functions(stack: &Value) -> Vec<String> {
    stack["frames"].as_array().unwrap().iter().map(|f| f["function"].as_str().unwrap().to_owned()).collect()
}

/// Takes stacks until `ready` holds for every one asked for (the child's
/// threads reach their calls a moment after saying their TIDs).
fn settled(
    pid: u32,
    tids: &[u32],
    ready: impl Fn(&NativeStack) -> bool,
) -> Vec<(u32, Result<NativeStack, StackError>)> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let report = take(pid, tids, &StackOptions::default());
        if report.stacks.iter().all(|(_, s)| s.as_ref().is_ok_and(&ready)) {
            return report.stacks;
        }
        assert!(Instant::now() < deadline, "the stacks never settled: {:#?}", report.stacks);
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn named(stack: &NativeStack, function: &str) -> bool {
    stack.frames.iter().any(|f| f.function.as_deref().is_some_and(|n| n.contains(function)))
}

#[test]
fn snapshot_stacks_name_the_functions_a_foreign_program_blocks_in() {
    let target = Target::start_kind(std::env::current_exe().unwrap(), STACKS_CHILD);
    let pid = target.child.id();
    let (reader, sleeper, deep) = (target.tid("pipe-reader"), target.tid("sleeper"), target.tid("deep"));
    settled(pid, &[reader, sleeper, deep], |s| {
        named(s, "blocked_in_pipe_read") || named(s, "blocked_in_nanosleep")
    });

    let json: Value = serde_json::from_str(&snapshot(pid, "json")).unwrap();
    let threads = json["threads"].as_array().unwrap().len();
    assert_eq!(json["stacks"]["threads"], threads, "every thread asked: {:#}", json["stacks"]);
    assert_eq!(json["stacks"]["stopped"], threads, "{:#}", json["stacks"]);
    let max = json["stacks"]["paused_max"].as_f64().unwrap();
    assert!(max > 0.0 && max < 1.0, "each stop is measured, and short: {max}");

    let read = &thread(&json, reader)["native_stack"];
    assert_eq!(read["source"], "stopped");
    let paused = read["paused"].as_f64().unwrap();
    assert!(paused > 0.0 && paused <= max, "{paused} vs max {max}");
    let least = read["paused_at_least"].as_f64().unwrap();
    assert!(least > 0.0 && least <= paused, "{least} vs {paused}");
    let names = functions(read);
    let at =
        names.iter().position(|n| n.ends_with("blocked_in_pipe_read")).unwrap_or_else(|| panic!("{read:#}"));
    assert!(names[..at].iter().any(|n| n.contains("read")), "read is inside it: {names:#?}");
    let frame = &read["frames"][at];
    let location = frame["location"].as_str().unwrap();
    assert!(location.contains("foreign_support/mod.rs:"), "file:line from DWARF: {frame:#}");
    assert_eq!(frame["module"], std::env::current_exe().unwrap().to_str().unwrap());
    assert!(
        frame["address"].as_str().unwrap().starts_with("0x")
            && frame["offset"].as_str().unwrap().starts_with("0x")
    );

    let sleep = functions(&thread(&json, sleeper)["native_stack"]);
    let at = sleep
        .iter()
        .position(|n| n.ends_with("blocked_in_nanosleep"))
        .unwrap_or_else(|| panic!("{sleep:#?}"));
    assert!(sleep[..at].iter().any(|n| n.contains("nanosleep")), "{sleep:#?}");

    let deep = &thread(&json, deep)["native_stack"];
    assert!(deep["end"].as_str().unwrap().starts_with("cut at the 64 KiB of stack copied"), "{deep:#}");
    assert!(functions(deep).iter().filter(|n| n.ends_with("deep_recursion")).count() > 10, "{deep:#}");

    // The text dump: what it cost first, each stack with its pause.
    let text = snapshot(pid, "text");
    let cost = text.lines().find(|l| l.starts_with("stacks: ")).unwrap_or_else(|| panic!("{text}"));
    assert!(cost.contains(&format!("{threads} of {threads} threads stopped one at a time")), "{cost}");
    assert!(
        text.contains("(each thread stopped in turn (ptrace), its registers and stack copied, then let go")
    );
    let block: String = text
        .lines()
        .skip_while(|l| !l.contains(&format!("tid={reader} ")))
        .take(30)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(block.contains("   native stack, thread stopped for "), "{block}");
    assert!(block.contains("blocked_in_pipe_read(") && block.contains("foreign_support/mod.rs:"), "{block}");
}

#[test]
fn a_thread_that_ended_vanished_and_the_others_are_still_taken() {
    let target = Target::start_kind(std::env::current_exe().unwrap(), STACKS_CHILD);
    let (reader, sleeper, ended) = (target.tid("pipe-reader"), target.tid("sleeper"), target.tid("ended"));
    let report = take(target.child.id(), &[reader, ended, sleeper], &StackOptions::default());
    assert_eq!(report.stacks.len(), 3);
    assert_eq!(report.stacks[1], (ended, Err(StackError::Vanished)));
    assert!(report.stacks[0].1.is_ok() && report.stacks[2].1.is_ok(), "{:#?}", report.stacks);
    assert_eq!(report.pauses().len(), 2);
    assert!(report.missing.is_none());
}

/// A copy of this test binary, stripped by `strip` with `flag`.
fn stripped(flag: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("threadscope-stacks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join(format!("target{flag}"));
    let status =
        Command::new("strip").arg(flag).arg(std::env::current_exe().unwrap()).arg("-o").arg(&copy).status();
    match status {
        Ok(s) if s.success() => Some(copy),
        other => {
            assert!(
                std::env::var_os("CI").is_none(),
                "strip is part of binutils, with the linker: {other:?}"
            );
            eprintln!("skipped: no strip here ({other:?})");
            None
        }
    }
}

fn frames_in<'a>(stack: &'a NativeStack, module: &std::path::Path) -> Vec<&'a NativeFrame> {
    stack.frames.iter().filter(|f| f.module.as_deref() == module.to_str()).collect()
}

#[test]
fn without_debug_info_the_symbol_table_names_functions_without_a_line() {
    let Some(exe) = stripped("--strip-debug") else { return };
    let target = Target::start_kind(&exe, STACKS_CHILD);
    let reader = target.tid("pipe-reader");
    let stacks = settled(target.child.id(), &[reader], |s| named(s, "blocked_in_pipe_read"));
    let stack = stacks[0].1.as_ref().unwrap();
    let ours = frames_in(stack, &exe);
    assert!(!ours.is_empty(), "{stack:#?}");
    assert!(ours.iter().all(|f| f.location.is_none() && f.offset.is_some()), "no DWARF, no line: {ours:#?}");
    assert!(ours.iter().all(|f| !f.inlined), "inlining is DWARF's to say");
    let _ = std::fs::remove_file(exe);
}

#[test]
fn a_stripped_binary_gives_module_and_offset_never_a_guess() {
    let Some(exe) = stripped("--strip-all") else { return };
    let target = Target::start_kind(&exe, STACKS_CHILD);
    let reader = target.tid("pipe-reader");
    // Settled once the thread sleeps in read (libc still has its symbols).
    let stacks = settled(target.child.id(), &[reader], |s| {
        s.frames.first().and_then(|f| f.function.as_deref()).is_some_and(|f| f.contains("read"))
    });
    let stack = stacks[0].1.as_ref().unwrap();
    assert!(!named(stack, "blocked_in_pipe_read"), "{stack:#?}");
    let ours = frames_in(stack, &exe);
    assert!(ours.len() >= 2, "unwound through the stripped binary by its .eh_frame: {stack:#?}");
    for f in &ours {
        assert_eq!((&f.function, &f.location), (&None, &None), "nothing guessed: {f:#?}");
        assert!(f.offset.is_some_and(|o| o < f.address), "{f:#?}");
    }
    // Through the binary, such a frame reads as its address and module + offset.
    let json: Value = serde_json::from_str(&snapshot(target.child.id(), "json")).unwrap();
    let frames = thread(&json, reader)["native_stack"]["frames"].as_array().unwrap().clone();
    let name = exe.file_name().unwrap().to_str().unwrap();
    let frame = frames.iter().find(|f| f["module"] == exe.to_str().unwrap()).unwrap();
    assert_eq!(frame["function"], frame["address"], "{frame:#}");
    assert_eq!(frame["location"].as_str().unwrap(), format!("{name}+{}", frame["offset"].as_str().unwrap()));
    let _ = std::fs::remove_file(exe);
}

const NOBODY_ENV: &str = "THREADSCOPE_STACKS_TARGET";

/// As user nobody (through `run_child_as_nobody`): another user's program
/// may not be stopped; said once, with how to get the permission.
#[test]
#[ignore = "run by denied_without_permission, as another user"]
fn as_nobody_stacks_are_denied() {
    let Ok(pid) = std::env::var(NOBODY_ENV) else { return };
    let pid: u32 = pid.parse().unwrap();
    let report = take(pid, &[pid], &StackOptions::default());
    assert_eq!(report.stacks[0].1, Err(StackError::Denied), "{report:#?}");
    let missing = report.missing.expect("what is missing is said").to_string();
    assert!(
        missing.starts_with(&format!("cannot stop the threads of process {pid} to copy their stacks")),
        "{missing}"
    );
    assert!(missing.contains("run threadscope as root") && missing.contains("CAP_SYS_PTRACE"), "{missing}");
    // Through the binary: the note, once, and the reason on the thread.
    let json: Value = serde_json::from_str(&snapshot(pid, "json")).unwrap();
    let notes: Vec<&str> = json["notes"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(notes.iter().filter(|n| n.starts_with("cannot stop the threads")).count(), 1, "{notes:#?}");
    let stack = &thread(&json, pid)["native_stack"];
    assert_eq!(stack["unavailable"], "not allowed to stop this thread (ptrace refused)", "{stack:#}");
    assert_eq!(json["stacks"]["stopped"], 0);
}

#[test]
fn denied_without_permission() {
    let target = Target::start_kind(std::env::current_exe().unwrap(), STACKS_CHILD);
    common::run_child_as_nobody("as_nobody_stacks_are_denied", (NOBODY_ENV, &target.child.id().to_string()));
}

#[test]
fn own_library_threads_show_where_their_wait_began() {
    let output = Command::new(env!("CARGO_BIN_EXE_threadscope"))
        .args(["snapshot", "--scenario", "deadlock", "--stacks", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: Value = serde_json::from_str(String::from_utf8(output.stdout).unwrap().trim()).unwrap();
    assert!(json.get("stacks").is_none(), "nothing was stopped: {:#}", json["stacks"]);
    let threads = json["threads"].as_array().unwrap();
    let waiting: Vec<&Value> = threads
        .iter()
        .filter(|t| t["state"] == "waiting" && t["origin"] == "managed" && t["ident"].is_u64())
        .collect();
    assert!(!waiting.is_empty(), "{json:#}");
    for t in waiting {
        let stack = &t["native_stack"];
        assert_eq!(stack["source"], "wait_began", "{stack:#}");
        assert_eq!(stack["paused"], Value::Null, "the thread took it itself: {stack:#}");
        let names = functions(stack);
        assert!(names.iter().any(|n| n.contains("acquire")), "where the wait began: {names:#?}");
        assert!(!names[0].starts_with("std::backtrace"), "{names:#?}");
    }
    let inspector = threads.iter().find(|t| t["origin"] == "inspector").unwrap();
    let why = inspector["native_stack"]["unavailable"].as_str().unwrap();
    assert!(why.contains("a process cannot ptrace-stop its own threads"), "{why}");
}

#[test]
fn a_process_that_ended_vanished_whole() {
    let mut target = Target::start_kind(std::env::current_exe().unwrap(), STACKS_CHILD);
    let (pid, reader) = (target.child.id(), target.tid("pipe-reader"));
    target.child.kill().unwrap();
    target.child.wait().unwrap();
    let report = take(pid, &[pid, reader], &StackOptions::default());
    assert!(report.stacks.iter().all(|(_, s)| *s == Err(StackError::Vanished)), "{report:#?}");
    assert!(report.pauses().is_empty() && report.missing.is_none());
}
