//! Whole-screen snapshots at 120×40 (insta) and a sweep of sizes from
//! 20×5 to 200×60 with resize storms: every screen draws without panicking.
#![allow(clippy::unwrap_used)]

use super::tests::screen_text;
use super::*;
use crate::threading::PrimitiveKind;
use std::time::Instant;

/// Redacts what would change between runs if the fixture used real
/// processes: the pid and the uptime.
fn assert_screen(name: &str, text: &str) {
    insta::with_settings!({ filters => vec![
        (r"pid \d+", "pid [pid]"),
        (r"up \d+:\d\d:\d\d", "up [uptime]"),
    ]}, {
        insta::assert_snapshot!(name, text);
    });
}

fn app() -> App {
    fixtures::app(3, 120, 40, Instant::now())
}

#[test]
fn every_screen_at_120_by_40() {
    let mut app = app();
    for tab in Tab::ALL {
        app.update(Action::ShowTab(tab));
        assert_screen(&format!("screen_{}", tab.title().to_lowercase()), &screen_text(&app, 120, 40));
    }
}

#[test]
fn dialogs_at_120_by_40() {
    let mut app = app();
    app.update(Action::Spawn);
    assert_screen("dialog_spawn", &screen_text(&app, 120, 40));
    app.update(Action::Cancel);
    app.update(Action::SelectRow(5));
    app.update(Action::Join);
    assert_screen("dialog_join", &screen_text(&app, 120, 40));
    app.update(Action::Cancel);
    app.update(Action::Quit);
    assert_screen("dialog_quit", &screen_text(&app, 120, 40));
    app.update(Action::Cancel);
    app.update(Action::Filter);
    for c in "reader".chars() {
        app.update(Action::Input(c));
    }
    assert_screen("filtered", &screen_text(&app, 120, 40));
}

#[test]
fn small_and_narrow() {
    let mut app = fixtures::app(3, 20, 5, Instant::now());
    assert_screen("too_small", &screen_text(&app, 20, 5));
    app.handle_event(Event::Resize(80, 24));
    assert_screen("threads_80x24", &screen_text(&app, 80, 24));
}

#[test]
fn the_detail_pane_shows_at_80_by_24_when_asked() {
    // The DEADLOCK banner takes two header rows: too few are left for the
    // pane to show unasked, but Enter makes room from the table.
    let mut app = fixtures::app(0, 80, 24, Instant::now());
    assert!(!screen_text(&app, 80, 24).contains("Enter hides"));
    app.update(Action::End);
    app.update(Action::ToggleDetail);
    let text = screen_text(&app, 80, 24);
    assert!(text.contains("Enter hides"), "{text}");
    let areas = app.areas().unwrap();
    assert!(areas.table.height >= 4, "{areas:?}");
    // The selected (last) row is among the table's rows.
    let name = app.selected_thread().unwrap().name.shown().to_owned();
    let rows: Vec<&str> =
        text.lines().skip(usize::from(areas.table.y) + 1).take(usize::from(areas.table.height) - 1).collect();
    assert!(rows.iter().any(|row| row.contains(&name[..10])), "{name}:\n{text}");
    assert_screen("threads_detail_80x24", &text);
    app.update(Action::ToggleDetail);
    assert!(!screen_text(&app, 80, 24).contains("Enter hides"));
    // With no room at all, Enter says so rather than toggling unseen.
    app.handle_event(Event::Resize(80, 13));
    app.update(Action::ToggleDetail);
    let text = screen_text(&app, 80, 13);
    assert!(text.contains("no room for the detail pane at 80×13: it needs"), "{text}");
    assert_eq!(app.detail, layout::DetailPane::Hidden);
    // Resized, the refusal no longer stands on the status line.
    app.handle_event(Event::Resize(100, 30));
    assert!(!screen_text(&app, 100, 30).contains("no room for the detail pane"));
    // Too small to draw, keys do not act unseen; q and Ctrl-C still do.
    app.handle_event(Event::Resize(40, 12));
    let tab = app.tab();
    for key in ['2', '?'] {
        app.handle_event(Event::Key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(key))));
    }
    assert_eq!(app.tab(), tab, "no tab changed while unseen");
    assert!(screen_text(&app, 40, 12).contains("(q quits)"));
}

#[test]
fn the_quit_dialog_at_80_by_24_and_60_by_12() {
    let names = |names: &[&str]| names.iter().map(|&n| n.to_owned()).collect::<Vec<_>>();
    let quit = dialog::QuitDialog {
        waiting_for: names(&[
            "Lock-Holder",
            "Config-Reader-1",
            "Config-Reader-2",
            "Config-Reader-3",
            "Producer",
            "Consumer-1",
            "Consumer-2",
            "Event-Waiter-1",
            "Event-Waiter-2",
            "Late-Starter",
        ]),
        daemons: names(&["Philosopher-0", "Philosopher-1", "Housekeeper", "Spinner"]),
        ..dialog::QuitDialog::default()
    };
    let mut app = fixtures::app(0, 80, 24, Instant::now());
    app.dialog = Some(Dialog::Quit(quit));
    let text = screen_text(&app, 80, 24);
    for shown in [
        "Lock-Holder, Config-Reader-1",
        "Event-Waiter-1 … and 2 more",
        "Spinner",
        "│ s   stop them cooperatively and wait",
        "│ q   quit now, abandoning them without cleanup",
        "│ Esc stay",
    ] {
        assert!(text.contains(shown), "{shown}:\n{text}");
    }
    assert_screen("dialog_quit_80x24", &text);
    // The smallest screen keeps every key, the lists cut to a row each.
    app.handle_event(Event::Resize(60, 12));
    let text = screen_text(&app, 60, 12);
    for shown in ["│ s   stop", "│ q   quit now", "│ Esc stay", "more"] {
        assert!(text.contains(shown), "{shown}:\n{text}");
    }
    assert_screen("dialog_quit_60x12", &text);
}

#[test]
fn help_wraps_at_80_columns() {
    let mut app = fixtures::app(0, 80, 24, Instant::now());
    app.update(Action::ShowTab(Tab::Help));
    app.update(Action::End);
    let text = screen_text(&app, 80, 24);
    assert!(text.contains("\n  wheel scrolls\n"), "{text}");
    assert_screen("help_end_80x24", &text);
}

/// The fixture with names that share a long prefix (as a pool's do) and a
/// foreign thread whose kernel comm is not its name.
fn long_names_app(width: u16, height: u16) -> App {
    use crate::inspect::DisplayName;
    let start = Instant::now();
    let mut app = fixtures::app(3, width, height, start);
    let mut snapshot = fixtures::snapshot(3);
    for (i, t) in snapshot.threads.iter_mut().filter(|t| t.name.shown().starts_with("Worker-")).enumerate() {
        t.name = DisplayName::from_text(&format!("PaymentService-Processor-{i}"));
    }
    if let Some(k) = snapshot.threads.last_mut().and_then(|t| t.kernel.as_mut()) {
        k.comm = DisplayName::from_text("tokio-rt-worker");
    }
    let at = start + std::time::Duration::from_secs(60);
    app.handle_event(Event::Sample(Box::new(Sample { snapshot, at, progress: Vec::new() })));
    app
}

#[test]
fn threads_columns_at_80_100_and_120() {
    for (width, height) in [(80, 24), (100, 40), (120, 40)] {
        let app = long_names_app(width, height);
        let text = screen_text(&app, width, height);
        let header = text.lines().find(|l| l.starts_with("TID")).unwrap();
        for title in ["TID", "NAME", "STATE", "CPU%", "D"] {
            assert!(header.split_whitespace().any(|w| w == title), "{width}: {title} in {header}");
        }
        assert!(header.contains("WAITS ON"), "{width}: {header}");
        // Told apart at every width: whole from 100 columns, cut in the
        // middle (the end kept) below.
        for i in 0..3 {
            let name =
                if width >= 100 { format!("PaymentService-Processor-{i}") } else { format!("…cessor-{i}") };
            assert!(text.contains(&name), "{width}:\n{text}");
        }
        assert_screen(&format!("threads_long_names_{width}x{height}"), &text);
    }
}

#[test]
fn comm_and_daemon_columns_only_when_they_say_something() {
    // In the plain fixture every comm is its name: no COMM column.
    let app = app();
    let text = screen_text(&app, 120, 40);
    let header = text.lines().find(|l| l.starts_with("TID")).unwrap();
    assert!(!header.contains("COMM"), "{header}");
    let mut app = fixtures::app(0, 120, 40, Instant::now());
    let mut snapshot = fixtures::snapshot(0);
    for t in &mut snapshot.threads {
        t.daemon = Some(false);
    }
    let at = Instant::now() + std::time::Duration::from_secs(60);
    app.handle_event(Event::Sample(Box::new(Sample { snapshot, at, progress: Vec::new() })));
    let text = screen_text(&app, 120, 40);
    let header = text.lines().find(|l| l.starts_with("TID")).unwrap();
    assert!(!header.split_whitespace().any(|w| w == "D"), "{header}");
}

#[test]
fn locks_table_aligned_from_60_columns() {
    for (width, height) in [(60, 24), (80, 24), (100, 30)] {
        let start = Instant::now();
        let mut app = fixtures::app(0, width, height, start);
        let mut snapshot = fixtures::snapshot(0);
        fixtures::rename(&mut snapshot, "Philosopher-0", "Transfer-Worker-0");
        fixtures::rename(&mut snapshot, "Philosopher-1", "Transfer-Worker-1");
        let at = start + std::time::Duration::from_secs(60);
        app.handle_event(Event::Sample(Box::new(Sample { snapshot, at, progress: Vec::new() })));
        app.update(Action::ShowTab(Tab::Locks));
        let text = screen_text(&app, width, height);
        let lines: Vec<&str> = text.lines().collect();
        let header = lines.iter().position(|l| l.starts_with("PRIMITIVE") || l.starts_with("NAME")).unwrap();
        let starts = |line: &str| -> Vec<usize> {
            let chars: Vec<char> = line.chars().collect();
            (0..chars.len()).filter(|&i| chars[i] != ' ' && (i == 0 || chars[i - 1] == ' ')).collect()
        };
        // Every left-aligned value starts under its heading.
        let heads = starts(lines[header]);
        let fork0 = lines[header + 1];
        assert!(fork0.starts_with("fork-0"), "{width}:\n{text}");
        let chars: Vec<char> = fork0.chars().collect();
        for &at in heads.iter().take(4) {
            assert!(
                chars[at] != ' ' && (at == 0 || chars[at - 1] == ' '),
                "{width}: column at {at}:\n{text}"
            );
        }
        assert_screen(&format!("locks_{width}x{height}"), &text);
    }
}

#[test]
fn a_five_philosopher_deadlock_banner_wraps() {
    use crate::inspect::{CycleStep, PrimitiveLink, ThreadLink};
    let start = Instant::now();
    let mut app = fixtures::app(0, 120, 40, start);
    let mut snapshot = fixtures::snapshot(0);
    let deadlock = &mut snapshot.deadlocks[0];
    let thread =
        |i: u64| ThreadLink { key: 900 + i, tid: Some(5000 + i as u32), name: format!("Philosopher-{i}") };
    let fork = |i: u64| PrimitiveLink { id: 950 + i, kind: PrimitiveKind::Lock, name: format!("fork-{i}") };
    deadlock.cycle = (0..5)
        .flat_map(|i| [CycleStep::Thread(thread(i)), CycleStep::Primitive(fork((i + 1) % 5))])
        .collect();
    deadlock.threads = (0..5).map(thread).collect();
    deadlock.primitives = (0..5).map(|i| fork((i + 1) % 5)).collect();
    let at = start + std::time::Duration::from_secs(60);
    app.handle_event(Event::Sample(Box::new(Sample { snapshot, at, progress: Vec::new() })));
    let text = screen_text(&app, 120, 40);
    let banner: Vec<&str> = text.lines().skip(2).take_while(|l| !l.starts_with(" 1 Threads")).collect();
    let banner = banner.join(" ").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(banner.starts_with("DEADLOCK"), "{text}");
    assert!(banner.trim_end().ends_with("held by Philosopher-0"), "{text}");
    for i in 0..5 {
        assert!(banner.contains(&format!("Philosopher-{i} waits for lock fork-{}", (i + 1) % 5)), "{text}");
    }
    assert_screen("deadlock_banner_5_cycle_120x40", &text);
    // Clicks still land where the rows are drawn.
    let areas = app.areas().unwrap();
    assert_eq!(text.lines().nth(usize::from(areas.tabs.y)).unwrap().trim_start().chars().next(), Some('1'));
}

#[test]
fn every_size_renders_without_panic() {
    let mut app = fixtures::app(50, 120, 40, Instant::now());
    app.update(Action::End);
    let mut sizes: Vec<(u16, u16)> = Vec::new();
    for width in (20..=200).step_by(30).chain([59, 60, 61, 119, 121, 200]) {
        for height in (5..=60).step_by(11).chain([11, 12, 13, 19, 20, 21, 60]) {
            sizes.push((width, height));
        }
    }
    // A resize storm: sizes jumping back and forth between extremes.
    for i in 0..40u16 {
        sizes.push(if i % 2 == 0 { (20 + i * 4, 5 + i) } else { (200 - i, 60 - i) });
    }
    for tab in Tab::ALL {
        app.update(Action::ShowTab(tab));
        for &(width, height) in &sizes {
            app.handle_event(Event::Resize(width, height));
            assert_eq!(screen_text(&app, width, height).lines().count(), usize::from(height));
        }
    }
    app.update(Action::ShowTab(Tab::Threads));
    for open in [Action::Spawn, Action::Quit, Action::Filter, Action::Rename] {
        app.update(open);
        for &(width, height) in &sizes {
            app.handle_event(Event::Resize(width, height));
            assert_eq!(screen_text(&app, width, height).lines().count(), usize::from(height));
        }
        app.update(Action::Cancel);
    }
}

#[test]
fn hostile_names_are_escaped_on_every_screen() {
    use crate::inspect::DisplayName;
    let evil = "\x1b[2J\x1b]0;pwned\x07x\u{202e}y\u{200b}";
    let mut snapshot = fixtures::snapshot(0);
    snapshot.threads[0].name = DisplayName::from_text(evil);
    if let Some(k) = snapshot.threads[0].kernel.as_mut() {
        k.comm = DisplayName::from_bytes(b"\x1b[31mred\xe2\x82");
        k.wchan = crate::kernel::Field::Available(Some(evil.into()));
    }
    let evil_link = crate::inspect::ThreadLink { key: 1, tid: Some(4001), name: evil.into() };
    if let Some(w) = snapshot.threads[3].waiting_on.as_mut() {
        (w.name, w.holders, w.role) = (evil.into(), vec![evil_link.clone()], Some(evil.into()));
    }
    snapshot.primitives[0].name = evil.into();
    snapshot.primitives[0].holders = vec![evil_link.clone()];
    snapshot.deadlocks[0].cycle[0] = crate::inspect::CycleStep::Thread(evil_link);
    snapshot.naming.findings[0].message = evil.into();
    snapshot.naming.findings[0].threads = vec![crate::inspect::ThreadLink::name_only(evil.into())];
    snapshot.naming.patterns[0].examples = vec![evil.into()];
    snapshot.findings[0].message = evil.into();
    snapshot.scenario = Some(evil.into());
    let mut app = fixtures::app(0, 120, 40, Instant::now());
    let sample =
        Sample { snapshot, at: Instant::now() + std::time::Duration::from_secs(90), progress: Vec::new() };
    app.handle_event(Event::Sample(Box::new(sample)));
    app.handle_event(Event::Log(LogKind::Exception, format!("Exception in thread {evil}:\nboom {evil}")));
    app.handle_event(Event::Report(Report::Loaded(ScenarioInfo {
        name: evil.into(),
        notes: evil.into(),
        primitives: vec![(evil.into(), PrimitiveKind::Event)],
    })));
    for tab in Tab::ALL {
        app.update(Action::ShowTab(tab));
        for open in [None, Some(Action::SetEvent), Some(Action::Quit), Some(Action::Filter)] {
            if let Some(open) = open.clone() {
                app.update(open);
            }
            let text = screen_text(&app, 120, 40);
            let bad = text.chars().find(|&c| c != '\n' && crate::display::is_unsafe(c));
            assert_eq!(bad, None, "{tab:?}:\n{text}");
            // ratatui would drop raw control characters silently; shown
            // escaped, the text says what the name really holds.
            for (at, _) in text.match_indices("pwned") {
                assert!(text[..at].ends_with("\\e]0;"), "{tab:?}: unescaped name:\n{text}");
            }
            if open.is_none() && tab != Tab::Timeline {
                assert!(text.contains("\\e]0;pwned"), "{tab:?} shows the name:\n{text}");
            }
            app.update(Action::Cancel);
        }
    }
}

#[test]
fn long_log_lines_and_findings_wrap_at_80_columns() {
    use crate::inspect::lints::{Lint, LintKind};
    let start = Instant::now();
    let mut app = fixtures::app(0, 80, 24, start);
    let mut snapshot = fixtures::snapshot(0);
    snapshot.findings.push(Lint {
        kind: LintKind::LockConvoy,
        subject: 1,
        message: "lock ledger is a convoy: 46 of 50 acquisitions waited for it, 7 threads queued now (420 of 460 in all)"
            .into(),
        held_for: std::time::Duration::from_secs(3),
    });
    let at = start + std::time::Duration::from_secs(60);
    app.handle_event(Event::Sample(Box::new(Sample { snapshot, at, progress: Vec::new() })));
    let error = "stop Config-Reader-1: RuntimeError: cannot stop Config-Reader-1: it is blocked in acquire of lock config held by Lock-Holder; asked to stop once that returns";
    app.handle_event(Event::Report(Report::Done { what: "stop".into(), result: Err(error.into()) }));
    app.update(Action::ShowTab(Tab::Names));
    let names = screen_text(&app, 80, 40);
    assert!(names.contains("    queued now (420 of 460 in all) (for 3.0 s)"), "{names}");
    app.update(Action::ShowTab(Tab::Log));
    let log = screen_text(&app, 80, 24);
    assert!(log.contains("asked to stop once that returns"), "{log}");
    assert_screen("log_wraps_80x24", &log);
    assert_screen("names_wrap_80x40", &names);
}
