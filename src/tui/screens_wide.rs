//! The Kernel and Names screens with names that are not one cell a
//! character — CJK and emoji take two, combining marks none — and with
//! same-named threads, which only their TIDs tell apart.
#![allow(clippy::unwrap_used)]

use super::tests::screen_text;
use super::*;
use crate::inspect::{DisplayName, NamePattern, NamingFinding, NamingFindingKind};
use std::time::Instant;

const WIDE: [(&str, &str); 3] = [
    ("Philosopher-0", "日本語名前"),
    ("Philosopher-1", "😀😀😀"),
    ("Lock-Holder", "\u{301}\u{301}combining"),
];

fn wide_app() -> App {
    let start = Instant::now();
    let mut app = fixtures::app(0, 120, 40, start);
    let mut snapshot = fixtures::snapshot(0);
    for (from, to) in WIDE {
        let t = snapshot.threads.iter_mut().find(|t| t.name.shown() == from).unwrap();
        if let Some(k) = t.kernel.as_mut() {
            k.comm = DisplayName::from_text(to);
        }
        fixtures::rename(&mut snapshot, from, to);
    }
    snapshot.naming.patterns = WIDE
        .iter()
        .map(|(_, name)| NamePattern {
            shape: DisplayName::from_text(name).shown().to_owned(),
            count: 2,
            examples: vec![DisplayName::from_text(name).shown().to_owned(); 2],
        })
        .collect();
    // Two threads of one name: only their TIDs tell them apart.
    for from in ["Producer", "Housekeeper"] {
        fixtures::rename(&mut snapshot, from, "rw-reader");
    }
    let readers =
        snapshot.threads.iter().filter(|t| t.name.shown() == "rw-reader").map(|t| t.link()).collect();
    snapshot.naming.findings.push(NamingFinding {
        kind: NamingFindingKind::Duplicate,
        message: "2 threads are named rw-reader".into(),
        threads: readers,
    });
    let at = start + std::time::Duration::from_secs(60);
    app.handle_event(Event::Sample(Box::new(Sample { snapshot, at, progress: Vec::new() })));
    app
}

/// Where `word` begins in `line`, in cells (the screen text has one
/// character a cell: a wide character's second cell is a space).
fn cell_of(line: &str, word: &str) -> Option<usize> {
    line.find(word).map(|at| line[..at].chars().count())
}

#[test]
fn kernel_rows_align_whatever_cells_their_names_take() {
    let mut app = wide_app();
    app.update(Action::ShowTab(Tab::Kernel));
    let text = screen_text(&app, 120, 40);
    let header = text.lines().find(|l| l.trim_start().starts_with("TID")).unwrap();
    let (origin, nice) = (cell_of(header, "ORIGIN").unwrap(), cell_of(header, "NICE").unwrap() + 3);
    let rows: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("TID"))
        .filter(|l| l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit()))
        .collect();
    assert!(rows.len() >= 6, "{text}");
    for row in &rows {
        let word = ["ours", "inspector", "foreign"].into_iter().find_map(|w| cell_of(row, w)).unwrap();
        assert_eq!(word, origin, "ORIGIN moved:\n{row}\n{header}");
        assert_eq!(row.chars().count(), nice + 1, "NICE not in its column:\n{row}\n{header}");
    }
    assert!(text.contains("\\u{301}\\u{301}com…"), "a leading combining mark is shown:\n{text}");
    assert!(text.contains("日 本 語"), "{text}");
}

#[test]
fn names_rows_align_and_a_duplicate_names_its_threads_by_tid() {
    let mut app = wide_app();
    app.update(Action::ShowTab(Tab::Names));
    let text = screen_text(&app, 120, 40);
    let examples: Vec<usize> = text.lines().filter_map(|l| cell_of(l, " e.g. ")).collect();
    assert_eq!(examples.len(), WIDE.len(), "{text}");
    assert!(examples.iter().all(|&at| at == examples[0]), "e.g. columns {examples:?}:\n{text}");
    assert!(text.contains("      rw-reader (tid 4006), rw-reader (tid 4008)"), "{text}");
    // Names no other thread has are listed as they are.
    assert!(text.contains("      Config-Reader-1, Config-Reader-2"), "{text}");
}
