//! The screen captures in docs/user-guide.md are the screen snapshot
//! tests' own output (src/tui/snapshots/), so the guide shows the program
//! as it is. A capture is a ```text block right after a marker line:
//!
//! `<!-- screen: NAME -->` (the whole screen), `<!-- screen: NAME body -->`
//! (between the tab bar and the status line), `<!-- screen: NAME box -->`
//! (the dialog box drawn on it).
//!
//! `UPDATE_DOCS=1 cargo test --test doc_captures` rewrites the blocks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

const GUIDE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/user-guide.md");

/// The snapshot's screen, with the fixture's pid and uptime put back
/// where the snapshot test redacted them.
fn screen(name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("src/tui/snapshots/threadscope__tui__screens__{name}.snap"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Past insta's header (`---` … `---`).
    let body = text.splitn(3, "---\n").nth(2).unwrap();
    body.lines().map(|l| l.replace("pid [pid]", "pid 4242").replace("up [uptime]", "up 0:01:23")).collect()
}

fn part(lines: Vec<String>, how: &str) -> Vec<String> {
    let mut lines = match how {
        "" => lines,
        "body" => {
            let tabs = lines.iter().position(|l| l.starts_with(" 1 Threads")).unwrap() + 1;
            lines[tabs..lines.len() - 1].to_vec()
        }
        "box" => {
            let top = lines.iter().position(|l| l.contains('╭')).unwrap();
            let bottom = lines.iter().rposition(|l| l.contains('╰')).unwrap();
            let chars = |l: &String| l.chars().collect::<Vec<_>>();
            let first = chars(&lines[top]);
            let left = first.iter().position(|&c| c == '╭').unwrap();
            let right = first.iter().position(|&c| c == '╮').unwrap();
            lines[top..=bottom].iter().map(|l| chars(l)[left..=right].iter().collect()).collect()
        }
        other => panic!("unknown capture part {other:?}"),
    };
    for line in &mut lines {
        *line = line.trim_end().to_owned();
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

#[test]
fn the_guide_shows_the_screens_the_snapshot_tests_draw() {
    let guide = std::fs::read_to_string(GUIDE).unwrap();
    let lines: Vec<&str> = guide.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut stale = Vec::new();
    let mut captures = 0;
    let mut i = 0;
    while i < lines.len() {
        out.push(lines[i].to_owned());
        let Some(marker) = lines[i].strip_prefix("<!-- screen: ").and_then(|m| m.strip_suffix(" -->")) else {
            i += 1;
            continue;
        };
        let (name, how) = marker.split_once(' ').unwrap_or((marker, ""));
        assert_eq!(lines.get(i + 1), Some(&"```text"), "a ```text block must follow the marker for {name}");
        let end = (i + 2..lines.len()).find(|&j| lines[j] == "```").expect("an unclosed capture");
        let want = part(screen(name), how);
        let have: Vec<String> = lines[i + 2..end].iter().map(|l| l.trim_end().to_owned()).collect();
        if have != want {
            stale.push(name.to_owned());
        }
        out.push("```text".to_owned());
        out.extend(want);
        out.push("```".to_owned());
        captures += 1;
        i = end + 1;
    }
    assert!(captures >= 5, "the guide has {captures} marked captures");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(GUIDE, out.join("\n") + "\n").unwrap();
        return;
    }
    assert!(
        stale.is_empty(),
        "docs/user-guide.md shows stale screens {stale:?}: run `UPDATE_DOCS=1 cargo test --test doc_captures`"
    );
}
