//! `threadscope snapshot --pid` on a real C program whose threads carry
//! names no well-behaved program would give: cut by the kernel
//! mid-character, a lone `0x9b` (a C1 CSI to some terminals), an escape
//! sequence, a UTF-8 C1 CSI, `) (` with a newline. Every thread is read,
//! every other figure is there, and nothing raw reaches stdout.
//!
//! Needs `gcc`: without it the test says `skipped: no gcc`, unless
//! `THREADSCOPE_REQUIRE_RUNTIMES=1`, which makes a missing gcc a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The names the C program gives its threads. The kernel keeps the first
/// 15 bytes of each.
const NAMES: [&[u8]; 6] = [
    "Überprüfung-日本語".as_bytes(),
    b"bad\x9bbyte",
    b"esc\x1b[2Jseq",
    "c1\u{9b}csi".as_bytes(),
    b"a) (b\nc",
    b"plain-worker",
];

/// Starts threads named [`NAMES`], each blocked on a mutex the main
/// thread holds (so each sleeps in `futex`), says `ready` once every one
/// is named and the main thread waits on stdin, and exits at EOF.
fn source() -> String {
    // Every byte in octal, which unlike \x takes at most three digits.
    let names: Vec<String> = NAMES
        .iter()
        .map(|name| format!("\"{}\"", name.iter().map(|b| format!("\\{b:03o}")).collect::<String>()))
        .collect();
    format!(
        r#"#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/prctl.h>
static const char *names[] = {{{names}}};
#define COUNT (sizeof names / sizeof *names)
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t named;
static void *run(void *name) {{
    prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
    pthread_barrier_wait(&named);
    pthread_mutex_lock(&gate);
    pthread_mutex_unlock(&gate);
    return 0;
}}
int main(void) {{
    pthread_t threads[COUNT];
    pthread_mutex_lock(&gate);
    pthread_barrier_init(&named, 0, COUNT + 1);
    for (unsigned i = 0; i < COUNT; i++) pthread_create(&threads[i], 0, run, (void *)names[i]);
    pthread_barrier_wait(&named);
    printf("ready\n");
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {{}}
    pthread_mutex_unlock(&gate);
    for (unsigned i = 0; i < COUNT; i++) pthread_join(threads[i], 0);
    return 0;
}}
"#,
        names = names.join(", ")
    )
}

/// The C program, compiled; `None` (after saying so) when there is no gcc.
fn compile() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let c_file = dir.join(format!("hostile_names-{}.c", std::process::id()));
    let exe = dir.join(format!("hostile_names-{}", std::process::id()));
    std::fs::write(&c_file, source()).unwrap();
    let built = Command::new("gcc").args(["-O0", "-pthread", "-o"]).arg(&exe).arg(&c_file).output();
    let _ = std::fs::remove_file(&c_file);
    match built {
        Ok(out) if out.status.success() => Some(exe),
        Ok(out) => panic!("gcc failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(err) if std::env::var("THREADSCOPE_REQUIRE_RUNTIMES").as_deref() == Ok("1") => {
            panic!("THREADSCOPE_REQUIRE_RUNTIMES=1 but gcc cannot run: {err}")
        }
        Err(_) => {
            println!("skipped: no gcc");
            None
        }
    }
}

/// The running C program; killed and reaped on drop, so a failing test
/// leaves nothing behind.
struct Target {
    child: Child,
    exe: PathBuf,
}

impl Target {
    /// Starts `exe` and waits (10 s at most) for its `ready` line.
    fn start(exe: PathBuf) -> Target {
        let mut child = Command::new(&exe).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let target = Target { child, exe };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(10)).expect("the program never said ready");
        assert_eq!(line, "ready\n");
        target
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn tids(&self) -> Vec<u32> {
        std::fs::read_dir(format!("/proc/{}/task", self.child.id()))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_str().unwrap().parse().unwrap())
            .collect()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.exe);
    }
}

fn snapshot(pid: &str, format: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_threadscope"))
        .args(["snapshot", "--pid", pid, "--format", format, "--after", "0ms"])
        .output()
        .unwrap()
}

/// Whether this test may read another process's `syscall` (which gives
/// the futex address): as root, or with Yama letting any same-user
/// process trace another.
fn may_trace_a_sibling() -> bool {
    rustix::process::geteuid().is_root()
        || std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").map_or(true, |s| s.trim() == "0")
}

#[test]
fn names_that_are_not_text_break_nothing_and_reach_stdout_escaped() {
    let Some(exe) = compile() else { return };
    let target = Target::start(exe);
    let pid = target.pid();
    let tids = target.tids();
    assert_eq!(tids.len(), NAMES.len() + 1);

    let out = snapshot(&pid, "json");
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    assert!(!out.stdout.contains(&0x1b) && !out.stdout.contains(&0x9b), "raw bytes in the JSON");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let threads = json["threads"].as_array().unwrap();
    let mut seen: Vec<u32> = threads.iter().map(|t| t["kernel"]["tid"].as_u64().unwrap() as u32).collect();
    seen.sort_unstable();
    let mut expected = tids.clone();
    expected.sort_unstable();
    assert_eq!(seen, expected, "every thread, once");
    for t in threads {
        let k = &t["kernel"];
        assert!(k["wchan"].is_string(), "wchan of {}: {k}", t["name"]);
        assert!(k["voluntary_ctxt_switches"].is_u64(), "status of {}: {k}", t["name"]);
        assert!(k["cpus_allowed"].is_array(), "status of {}: {k}", t["name"]);
        let name = t["name"].as_str().unwrap();
        assert!(!name.contains('\u{9b}') && !name.contains('\n'), "{name:?}");
        if k["tid"].as_u64() != Some(u64::from(target.child.id())) && may_trace_a_sibling() {
            assert!(k["futex"].is_string(), "every worker sleeps on the gate's futex: {k}");
        }
    }
    let name = |start: &str| {
        threads
            .iter()
            .find_map(|t| t["name"].as_str().filter(|n| n.starts_with(start)))
            .unwrap_or_else(|| panic!("no thread named {start}…: {threads:#?}"))
    };
    // Bytes that are not UTF-8 are shown as bytes, so different names
    // never read alike (and a name's own U+FFFD stays one).
    assert_eq!(name("Überprüfung"), "Überprüfung-\\xe6", "cut mid-character by the kernel");
    assert_eq!(name("bad"), "bad\\x9bbyte");
    assert_eq!(name("esc"), "esc\\e[2Jseq");
    assert_eq!(name("c1"), "c1\\u{9b}csi");
    assert_eq!(name("a) (b"), "a) (b\\nc");
    assert_eq!(name("plain"), "plain-worker");
    let raw = threads.iter().find(|t| t["name"] == "bad\\x9bbyte").unwrap()["kernel"]["comm_raw"].clone();
    assert_eq!(raw, serde_json::json!(b"bad\x9bbyte"), "the bytes as read are kept");

    let out = snapshot(&pid, "text");
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    assert!(!out.stdout.contains(&0x1b) && !out.stdout.contains(&0x9b), "raw bytes in the text");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{9b}'), "{text}");
    for tid in &tids {
        assert!(text.contains(&format!("tid={tid} ")), "tid {tid} missing:\n{text}");
    }
    assert!(text.contains("\"esc\\e[2Jseq\"") && text.contains("\"a) (b\\nc\""), "{text}");
    drop(target);
}
