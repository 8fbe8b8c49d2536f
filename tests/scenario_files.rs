//! Scenario fixtures: every file in `tests/scenarios/valid` parses; every
//! file in `tests/scenarios/invalid` fails with the message its first line
//! gives (`# error: LINE:COLUMN: MESSAGE`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use threadscope::scenario::{self, PrimitiveSpecKind, StartPolicy, Step};

fn fixtures(dir: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios").join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

#[test]
fn valid_fixtures_parse() {
    for (name, text) in fixtures("valid") {
        if let Err(err) = scenario::parse(&name, &text, Some(10_000)) {
            panic!("{err}");
        }
    }
}

#[test]
fn invalid_fixtures_fail_where_and_how_they_say() {
    let mut wrong = Vec::new();
    for (name, text) in fixtures("invalid") {
        let expected =
            text.lines().next().and_then(|l| l.strip_prefix("# error: ")).expect("first line `# error: …`");
        match scenario::parse(&name, &text, Some(1_000)) {
            Ok(_) => wrong.push(format!("{name}: parsed, expected {expected}")),
            Err(err) => {
                let got = err.to_string();
                let want = format!("{name}:{expected}");
                if got != want {
                    wrong.push(format!("{name}:\n  want {want}\n  got  {got}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn templates_and_groups_expand() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/valid/everything.toml"),
    )
    .unwrap();
    let s = scenario::parse("everything.toml", &text, None).unwrap();
    let names: Vec<&str> = s.threads.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Diner-1", "Diner-2", "Diner-3", "Waiter", "Late"]);
    assert_eq!(
        s.primitives.iter().take(3).map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["fork-0", "fork-1", "fork-2"]
    );
    // Diner-3 (i = 2) takes fork-2 then fork-0: the index arithmetic wrapped.
    let Step::Repeat { steps, .. } = &s.threads[2].steps[0] else { panic!("group repeat wraps the steps") };
    assert!(
        matches!(&steps[0], Step::Acquire { target, mode: scenario::AcquireMode::Blocking } if target.primitive == 2)
    );
    assert!(
        matches!(&steps[1], Step::Acquire { target, mode: scenario::AcquireMode::Timeout(_) } if target.primitive == 0)
    );
    assert_eq!(s.threads[3].start, StartPolicy::Manual);
    assert!(matches!(s.threads[4].start, StartPolicy::After(d) if d.as_millis() == 20));
    assert_eq!(s.primitive("cv").unwrap().kind, PrimitiveSpecKind::Condition { lock: Some(0) });
    assert_eq!(s.max_threads(), 5 + 2);
}

#[test]
fn a_missing_file_section_is_reported_whole() {
    let err = scenario::parse("empty.toml", "", None).unwrap_err();
    assert_eq!(err.origin, "empty.toml");
    assert!(err.to_string().contains("missing field `name`"), "{err}");
}
