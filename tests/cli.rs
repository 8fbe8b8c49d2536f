//! The binary, end to end: listing and showing scenarios, running one
//! headless, and every bad input giving a clear error and a non-zero exit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn threadscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_threadscope")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn scenarios_lists_every_builtin_with_its_description() {
    let out = threadscope(&["scenarios"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    for builtin in threadscope::scenario::BUILTINS {
        assert!(text.lines().any(|l| l.starts_with(builtin.name)), "{} missing from:\n{text}", builtin.name);
    }
    assert!(text.contains("Two threads take two locks in opposite order"));
}

#[test]
fn scenarios_show_prints_the_toml() {
    let out = threadscope(&["scenarios", "--show", "deadlock"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), threadscope::scenario::builtin("deadlock").unwrap().source);
}

#[test]
fn unknown_names_are_errors_that_list_the_builtins() {
    for args in [&["scenarios", "--show", "nope"][..], &["run", "nope"][..]] {
        let out = threadscope(args);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.starts_with("threadscope: unknown scenario `nope` (built-ins: tour, "), "{err}");
    }
}

#[test]
fn an_invalid_file_names_line_and_column() {
    let dir = std::env::temp_dir().join(format!("threadscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.toml");
    std::fs::write(
        &file,
        "name = \"x\"\ndescription = \"y\"\n[[threads]]\nname = \"T\"\nsteps = [{ sleep = \"soon\" }]\n",
    )
    .unwrap();
    let out = threadscope(&["run", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim_end(),
        format!(
            "threadscope: {}:5:20: bad duration `soon` (write e.g. \"250ms\" or \"1.5s\")",
            file.display()
        )
    );
    let missing = dir.join("missing.toml");
    let out = threadscope(&["run", missing.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot read") && stderr(&out).contains("missing.toml"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_arguments_are_rejected_by_the_parser() {
    let out = threadscope(&["run", "tour", "--for", "forever"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad duration `forever`"), "{}", stderr(&out));
    let out = threadscope(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    // Where the threads are another program's, their waits' backtraces are
    // not ours to record: the flag is not offered, rather than ignored.
    for command in [&["attach", "1"][..], &["replay", "x.tsrec"], &["exec", "--", "true"]] {
        let out = threadscope(&[&command[..1], &["--wait-backtraces"], &command[1..]].concat());
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        assert!(stderr(&out).contains("unexpected argument '--wait-backtraces'"), "{}", stderr(&out));
    }
    // A mistyped option of `exec` is an error, not the program to run.
    let out = threadscope(&["exec", "--intreval", "1s", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unexpected argument '--intreval'"), "{}", stderr(&out));
    let help = stdout(&threadscope(&["attach", "--help"]));
    assert!(!help.contains("--wait-backtraces") && help.contains("--flight-recorder"), "{help}");
    assert!(stdout(&threadscope(&["run", "--help"])).contains("--wait-backtraces"));
    // Past TIMEOUT_MAX a duration is refused, not left to overflow later.
    let out = threadscope(&["snapshot", "--scenario", "tour", "--after", "18000000000000000000s"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("out of range"), "{}", stderr(&out));
    // A negative number is a bad value, not a flag: no tip to write `-- -5`,
    // which in `snapshot` would run `-5` as the command.
    for (args, said) in [
        (&["snapshot", "--pid", "-5"][..], "invalid value '-5' for '--pid <PID>'"),
        (&["snapshot", "--after", "-1s"], "bad duration `-1s`"),
        (&["snapshot", "--count", "-1"], "invalid value '-1' for '--count <N>'"),
        // Snapshots at one moment would repeat one sample.
        (&["snapshot", "--interval", "0s", "--count", "4"], "the interval must be at least 50ms"),
    ] {
        let out = threadscope(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let error = stderr(&out);
        assert!(error.contains(said) && !error.contains("-- -"), "{args:?}: {error}");
    }
}

#[test]
fn run_prints_lifecycle_events_and_who_could_not_stop() {
    let out = threadscope(&["run", "deadlock", "--for", "300ms"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.contains("Transfer-AB                  waiting on lock account-B ← held by Transfer-BA"),
        "{text}"
    );
    assert!(
        text.contains(
            "could not stop Transfer-BA (daemon): blocked in acquire of lock account-A (held by Transfer-AB)"
        ),
        "{text}"
    );
}

#[test]
fn help_has_examples() {
    let out = threadscope(&["--help"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("threadscope run dining-philosophers"));
}

#[test]
fn hostile_names_in_a_scenario_are_printed_escaped() {
    let dir = std::env::temp_dir().join(format!("threadscope-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hostile.toml");
    std::fs::write(
        &file,
        "name = \"evil\\u001b]0;pwned\\u0007\"\ndescription = \"bidi \\u202e here\"\n[[threads]]\nname = \"\\u001b[2Jclear\"\nsteps = [{ sleep = \"1ms\" }]\n",
    )
    .unwrap();
    let out = threadscope(&["run", file.to_str().unwrap(), "--for", "200ms"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(!text.contains('\x1b') && !text.contains('\x07') && !text.contains('\u{202e}'), "{text:?}");
    assert!(text.contains("evil\\e]0;pwned\\u{7}") && text.contains("\\e[2Jclear"), "{text}");
    // A hostile name and message in an uncaught panic reach stderr escaped.
    std::fs::write(
        &file,
        "name = \"x\"\ndescription = \"y\"\n[[threads]]\nname = \"\\u001b[31mRED\"\nsteps = [{ panic = \"boom\\u001b[2J\" }]\n",
    )
    .unwrap();
    let out = threadscope(&["run", file.to_str().unwrap(), "--for", "300ms"]);
    let err = stderr(&out);
    assert!(!err.contains('\x1b'), "{err:?}");
    assert!(err.contains("Exception in thread \\e[31mRED:") && err.contains("boom\\e[2J"), "{err}");
    // An error quoting hostile text is escaped too.
    std::fs::write(&file, "name = \"x\"\ndescription = \"y\"\n[[threads]]\nname = \"T\"\nsteps = [{ acquire = \"\\u001b[31mred\" }]\n").unwrap();
    let out = threadscope(&["run", file.to_str().unwrap()]);
    let err = stderr(&out);
    assert!(!err.contains('\x1b') && err.contains("unknown primitive `\\e[31mred`"), "{err:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn headless_run_announces_a_deadlock_when_it_forms_and_when_it_clears() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/valid/deadlock-that-clears.toml");
    // Patient's timed acquire gives up after 500 ms and breaks the cycle.
    let out = threadscope(&["run", file, "--for", "20s"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    let formed = text.find("DEADLOCK: Patient (tid ").expect(&text);
    let cleared = text.find("deadlock cleared: Patient (tid ").expect(&text);
    assert!(formed < cleared, "{text}");
    assert!(text.contains("waits for lock B held by Stubborn (tid "), "{text}");
    assert!(text.ends_with("stopping (every thread has ended): 2 thread(s) stopped\n"), "{text}");
}
