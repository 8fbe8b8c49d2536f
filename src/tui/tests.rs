//! `App::update` and `App::handle_event` without a terminal.
#![allow(clippy::unwrap_used)]

use super::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::time::Instant;

fn key(app: &mut App, code: KeyCode) -> Effect {
    app.handle_event(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        let code = match c {
            '\r' => KeyCode::Enter,
            '\x1b' => KeyCode::Esc,
            c => KeyCode::Char(c),
        };
        key(app, code);
    }
}

fn app() -> App {
    fixtures::app(3, 120, 40, Instant::now())
}

/// Selects the thread named `name` (through the filter, then clears it).
fn select(app: &mut App, name: &str) {
    let index =
        app.table().rows.iter().position(|&i| app.snapshot().unwrap().threads[i].name.shown() == name);
    app.update(Action::SelectRow(index.unwrap()));
    assert_eq!(app.selected_thread().unwrap().name.shown(), name);
}

fn command(effect: Effect) -> Command {
    match effect {
        Effect::Command(command) => command,
        other => panic!("expected a command, got {other:?}"),
    }
}

#[test]
fn filter_then_stop_acts_on_the_filtered_thread() {
    let mut app = app();
    typed(&mut app, "/Producer\r");
    assert_eq!(app.table().rows.len(), 1);
    let effect = key(&mut app, KeyCode::Char('x'));
    assert_eq!(
        effect,
        Effect::Command(Command::Stop { key: 6, name: "Producer".into() }),
        "{:?}",
        app.status()
    );
}

/// The screen as text, one line per row, trailing blanks trimmed.
pub(super) fn screen_text(app: &App, width: u16, height: u16) -> String {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    ui::render(app, area, &mut buf);
    let mut out = String::new();
    for y in 0..height {
        let mut line = String::new();
        for x in 0..width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn tabs_cycle_and_jump() {
    let mut app = app();
    assert_eq!(app.tab(), Tab::Threads);
    app.update(Action::NextTab);
    assert_eq!(app.tab(), Tab::Locks);
    app.update(Action::PrevTab);
    app.update(Action::PrevTab);
    assert_eq!(app.tab(), Tab::Help);
    app.update(Action::ShowTab(Tab::Kernel));
    assert_eq!(app.tab(), Tab::Kernel);
    key(&mut app, KeyCode::Char('?'));
    assert_eq!(app.tab(), Tab::Help);
    key(&mut app, KeyCode::Char('3'));
    assert_eq!(app.tab(), Tab::Timeline);
}

#[test]
fn moving_the_selection_pages_and_ends() {
    let mut app = fixtures::app(200, 120, 40, Instant::now());
    let rows = app.table().rows.len();
    app.update(Action::Down);
    app.update(Action::Down);
    assert_eq!(app.table().selected, 2);
    app.update(Action::Up);
    assert_eq!(app.table().selected, 1);
    app.update(Action::PageDown);
    let page = app.table().selected - 1;
    assert!(page > 10, "{page}");
    app.update(Action::PageUp);
    assert_eq!(app.table().selected, 1);
    app.update(Action::End);
    assert_eq!(app.table().selected, rows - 1);
    assert!(app.table().offset > 0 && app.table().offset + 10 < rows, "the selection is scrolled into view");
    app.update(Action::Home);
    assert_eq!((app.table().selected, app.table().offset), (0, 0));
    app.update(Action::Up);
    assert_eq!(app.table().selected, 0);
    app.update(Action::SelectRow(5));
    assert_eq!(app.selected_thread().unwrap().name.shown(), "Producer");
    app.update(Action::SelectRow(100_000));
    assert_eq!(app.table().selected, rows - 1);
}

#[test]
fn the_selection_follows_its_thread_across_samples_and_sorts() {
    let mut app = app();
    select(&mut app, "Producer");
    app.update(Action::SortBy(Column::Name));
    assert_eq!(app.selected_thread().unwrap().name.shown(), "Producer");
    let sample = Sample {
        snapshot: fixtures::snapshot(3),
        at: Instant::now() + std::time::Duration::from_secs(60),
        progress: Vec::new(),
    };
    app.handle_event(Event::Sample(Box::new(sample)));
    assert_eq!(app.selected_thread().unwrap().name.shown(), "Producer");
}

#[test]
fn sorting_by_every_column_and_reversing() {
    let mut app = app();
    // `s` / `S` step through the columns shown at this width (120 columns
    // leave ident and context switches out): sorting by a hidden
    // column would reorder rows with no arrow in sight.
    let shown: Vec<Column> =
        super::columns::columns(120, app.column_needs).into_iter().map(|(c, _, _)| c).collect();
    assert!(!shown.contains(&Column::Ident));
    app.update(Action::SortNext);
    assert_eq!(app.table().sort, Some(shown[0]));
    app.update(Action::SortPrev);
    assert_eq!(app.table().sort, shown.last().copied());
    for column in Column::ALL {
        app.update(Action::SortBy(column));
        assert_eq!(app.table().sort, Some(column));
        assert_eq!(app.table().rows.len(), app.snapshot().unwrap().threads.len());
    }
    app.update(Action::SortBy(Column::Name));
    let first = |app: &App| app.snapshot().unwrap().threads[app.table().rows[0]].name.shown().to_owned();
    assert_eq!(first(&app), "Config-Reader-1");
    app.update(Action::SortBy(Column::Name)); // again: reversed
    assert!(app.table().descending);
    assert_eq!(first(&app), "tokio-runtime-w");
    app.update(Action::SortReverse);
    assert_eq!(first(&app), "Config-Reader-1");
    app.update(Action::SortBy(Column::Cpu));
    assert!(app.table().descending, "busiest first");
    assert_eq!(
        app.snapshot().unwrap().threads[app.table().rows[0]].kernel.as_ref().unwrap().cpu_percent,
        crate::kernel::Field::Available(97.5)
    );
}

#[test]
fn the_filter_narrows_as_you_type_and_esc_clears_it() {
    let mut app = app();
    let all = app.table().rows.len();
    app.update(Action::Filter);
    assert_eq!(app.dialog(), Some(&Dialog::Filter));
    for c in "READER".chars() {
        app.update(Action::Input(c));
    }
    assert_eq!(app.table().rows.len(), 2, "case-insensitive");
    app.update(Action::Backspace);
    assert_eq!(app.table().filter, "READE");
    app.update(Action::Confirm);
    assert_eq!(app.dialog(), None);
    assert_eq!(app.table().rows.len(), 2);
    app.update(Action::Filter);
    app.update(Action::Cancel);
    assert_eq!((app.table().rows.len(), app.table().filter.as_str()), (all, ""));
    typed(&mut app, "/foreign\r");
    assert_eq!(app.table().rows.len(), 1, "origin words match");
    typed(&mut app, "/\x1b/zzz\r");
    assert!(app.table().rows.is_empty());
    assert!(app.selected_thread().is_none());
}

#[test]
fn detail_and_pause_toggle() {
    let mut app = app();
    assert!(app.areas().unwrap().detail.is_some());
    app.update(Action::ToggleDetail);
    assert!(app.areas().unwrap().detail.is_none());
    assert_eq!(app.update(Action::TogglePause), Effect::Pause(true));
    assert!(app.paused());
    assert_eq!(key(&mut app, KeyCode::Char(' ')), Effect::Pause(false));
    assert_eq!(app.log().last().unwrap().text, "sampling resumed");
}

#[test]
fn start_stop_daemon_act_on_the_selected_thread() {
    let mut app = app();
    select(&mut app, "Late-Starter");
    assert_eq!(command(app.update(Action::Start)), Command::Start { key: 7, name: "Late-Starter".into() });
    assert_eq!(command(app.update(Action::Stop)), Command::Stop { key: 7, name: "Late-Starter".into() });
    assert_eq!(
        command(app.update(Action::ToggleDaemon)),
        Command::SetDaemon { key: 7, name: "Late-Starter".into(), daemon: true }
    );
    select(&mut app, "Housekeeper");
    assert_eq!(
        command(app.update(Action::ToggleDaemon)),
        Command::SetDaemon { key: 8, name: "Housekeeper".into(), daemon: false }
    );
}

#[test]
fn actions_refuse_threads_that_are_not_ours() {
    let mut app = app();
    select(&mut app, "MainThread");
    assert_eq!(app.update(Action::Stop), Effect::None);
    assert!(app.status().unwrap().contains("threadscope's own thread"), "{:?}", app.status());
    select(&mut app, "tokio-runtime-w");
    assert_eq!(app.update(Action::Rename), Effect::None);
    assert!(app.status().unwrap().contains("not a library thread"));
    assert_eq!(app.dialog(), None);
}

#[test]
fn join_asks_for_a_timeout_and_checks_it() {
    let mut app = app();
    select(&mut app, "Producer");
    assert_eq!(app.update(Action::Join), Effect::None);
    let Some(Dialog::Prompt(prompt)) = app.dialog() else { panic!("{:?}", app.dialog()) };
    assert_eq!(prompt.input, "1s");
    // Ctrl-U clears what is there, as in a shell.
    app.handle_event(Event::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    let Some(Dialog::Prompt(prompt)) = app.dialog() else { panic!("{:?}", app.dialog()) };
    assert_eq!(prompt.input, "");
    typed(&mut app, "soon");
    assert_eq!(app.update(Action::Confirm), Effect::None);
    let Some(Dialog::Prompt(prompt)) = app.dialog() else { panic!() };
    assert!(prompt.error.as_deref().unwrap().contains("bad duration"), "{prompt:?}");
    for _ in 0..4 {
        app.update(Action::Backspace);
    }
    typed(&mut app, "250ms");
    let expected =
        Command::Join { key: 6, name: "Producer".into(), timeout: std::time::Duration::from_millis(250) };
    assert_eq!(command(app.update(Action::Confirm)), expected);
    assert_eq!(app.dialog(), None);
}

#[test]
fn rename_prefills_the_name_and_takes_what_python_takes() {
    let mut app = app();
    select(&mut app, "Producer");
    app.update(Action::Rename);
    for _ in 0.."Producer".len() {
        app.update(Action::Backspace);
    }
    // `t.name = ""` is valid Python.
    let expected = Command::Rename { key: 6, from: "Producer".into(), to: String::new() };
    assert_eq!(command(app.update(Action::Confirm)), expected);
    app.update(Action::Rename);
    for _ in 0.."Producer".len() {
        app.update(Action::Backspace);
    }
    typed(&mut app, "Job-Producer-1");
    let expected = Command::Rename { key: 6, from: "Producer".into(), to: "Job-Producer-1".into() };
    assert_eq!(command(key(&mut app, KeyCode::Enter)), expected);
    app.update(Action::Rename);
    assert_eq!(app.update(Action::Cancel), Effect::None);
    assert_eq!(app.dialog(), None);
}

#[test]
fn spawn_palette_then_target_picker() {
    let mut app = app();
    app.update(Action::Spawn);
    let Some(Dialog::Picker(picker)) = app.dialog() else { panic!() };
    assert_eq!(picker.items.len(), crate::scenario::WorkerKind::ALL.len());
    assert_eq!(
        command(app.update(Action::Confirm)),
        Command::Spawn { worker: crate::scenario::WorkerKind::Sleeper, target: None }
    );
    app.update(Action::Spawn);
    app.update(Action::Down);
    app.update(Action::Down); // lock contender
    app.update(Action::Confirm);
    let Some(Dialog::Picker(picker)) = app.dialog() else { panic!() };
    let locks: Vec<&str> = picker.items.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(locks, ["fork-0", "fork-1", "config"]);
    app.update(Action::Up); // wraps to config
    assert_eq!(
        command(app.update(Action::Confirm)),
        Command::Spawn { worker: crate::scenario::WorkerKind::LockContender, target: Some("config".into()) }
    );
    app.update(Action::Spawn);
    app.update(Action::Cancel);
    assert_eq!(app.dialog(), None);
}

#[test]
fn events_locks_interrupt_and_load() {
    let mut app = app();
    app.update(Action::SetEvent);
    assert_eq!(command(app.update(Action::Confirm)), Command::SetEvent("done".into()));
    app.update(Action::ClearEvent);
    assert_eq!(command(app.update(Action::Confirm)), Command::ClearEvent("done".into()));
    app.update(Action::ReleaseLock);
    app.update(Action::Down);
    assert_eq!(command(app.update(Action::Confirm)), Command::ReleaseLock("fork-1".into()));
    assert_eq!(command(app.update(Action::InterruptMain)), Command::InterruptMain);
    app.update(Action::LoadScenario);
    app.update(Action::Down);
    assert_eq!(command(app.update(Action::Confirm)), Command::Load("deadlock".into()));
}

#[test]
fn load_also_takes_a_toml_file_by_path() {
    let mut app = app();
    app.update(Action::LoadScenario);
    // The last item, one step up from the first.
    app.update(Action::Up);
    assert_eq!(app.update(Action::Confirm), Effect::None);
    let Some(Dialog::Prompt(prompt)) = app.dialog() else { panic!("{:?}", app.dialog()) };
    assert_eq!(prompt.purpose, PromptPurpose::LoadPath);
    app.update(Action::Confirm);
    let Some(Dialog::Prompt(prompt)) = app.dialog() else { panic!() };
    assert_eq!(prompt.error.as_deref(), Some("type the path of a .toml scenario file"));
    typed(&mut app, "demos/my demo.toml");
    assert_eq!(command(app.update(Action::Confirm)), Command::Load("demos/my demo.toml".into()));
}

#[test]
fn a_scenario_without_the_primitive_says_so() {
    let mut app = app();
    app.handle_event(Event::Report(Report::Loaded(ScenarioInfo {
        name: "bare".into(),
        ..ScenarioInfo::default()
    })));
    assert!(app.take_scenario_changed());
    assert!(!app.take_scenario_changed());
    app.update(Action::SetEvent);
    assert_eq!(app.dialog(), None);
    let status = app.status().unwrap().to_owned();
    assert!(status.contains("this scenario has no event to choose from; "), "{status}");
    // The hint names a built-in that really has one, never the tour it is on.
    let other: String = status.split("; ").nth(1).and_then(|rest| rest.split(' ').next()).unwrap().to_owned();
    let other = other.as_str();
    let scenario = crate::scenario::builtin(other).unwrap().load(None).unwrap();
    assert!(scenario.primitives.iter().any(|p| p.kind.kind() == crate::threading::PrimitiveKind::Event));
    app.handle_event(Event::Report(Report::Loaded(ScenarioInfo {
        name: other.into(),
        ..ScenarioInfo::default()
    })));
    app.update(Action::SetEvent);
    assert!(!app.status().unwrap().contains(&format!("; {other} has one")), "{:?}", app.status());
}

#[test]
fn outcomes_reach_the_status_line_and_the_log() {
    let mut app = app();
    let error = "RuntimeError: cannot set daemon status of active thread";
    let report = Report::Done { what: "Producer.daemon = True".into(), result: Err(error.into()) };
    assert_eq!(app.handle_event(Event::Report(report)), Effect::None);
    assert_eq!(app.status(), Some(format!("Producer.daemon = True: {error}").as_str()));
    assert_eq!(app.log().last().unwrap().kind, LogKind::Error);
    let report =
        Report::Done { what: "rename Producer → P".into(), result: Ok("kernel comm is now \"P\"".into()) };
    app.handle_event(Event::Report(report));
    assert_eq!(app.log().last().unwrap().kind, LogKind::Action);
    // Once the outcome has been on screen long enough to read.
    app.handle_event(Event::Tick(app.now + std::time::Duration::from_secs(6)));
    app.handle_event(Event::Log(
        LogKind::Exception,
        "Exception in thread W:\npanicked at a.rs:1:1:\nboom\n".into(),
    ));
    assert_eq!(app.status(), Some("Exception in thread W:"));
    assert_eq!(app.log().last().unwrap().text, "boom");
    app.handle_event(Event::SamplerError("permission denied".into()));
    assert!(app.status().unwrap().contains("sampling failed"));
}

#[test]
fn an_outcome_is_not_overwritten_before_it_can_be_read() {
    let mut app = app();
    let start = app.now;
    let report = |what: &str| Report::Done { what: what.into(), result: Err("RuntimeError: nope".into()) };
    app.handle_event(Event::Report(report("join Late-Starter")));
    // News arriving right after (a log line, a finding) goes to the log only.
    app.handle_event(Event::Log(LogKind::Exception, "Exception in thread W:\nboom".into()));
    assert_eq!(app.status(), Some("join Late-Starter: RuntimeError: nope"));
    assert_eq!(app.log().last().unwrap().text, "boom");
    // Another outcome replaces it at once.
    app.handle_event(Event::Report(report("start Late-Starter")));
    assert_eq!(app.status(), Some("start Late-Starter: RuntimeError: nope"));
    // After a few seconds, news shows again.
    app.handle_event(Event::Tick(start + std::time::Duration::from_secs(6)));
    app.handle_event(Event::Log(LogKind::Exception, "Exception in thread X:".into()));
    assert_eq!(app.status(), Some("Exception in thread X:"));
    // And a key press counts as read.
    app.handle_event(Event::Report(report("stop Producer")));
    key(&mut app, KeyCode::Down);
    app.handle_event(Event::Log(LogKind::Exception, "Exception in thread Y:".into()));
    assert_eq!(app.status(), Some("Exception in thread Y:"));
    // The last few outcomes stay in the log.
    let outcomes: Vec<&str> =
        app.log().entries.iter().filter(|e| e.kind == LogKind::Error).map(|e| e.text.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "join Late-Starter: RuntimeError: nope",
            "start Late-Starter: RuntimeError: nope",
            "stop Producer: RuntimeError: nope"
        ]
    );
}

#[test]
fn an_outcome_wins_over_the_sort_indicator() {
    let mut app = app();
    let error =
        "RuntimeError: cannot join thread before it is started (it was created but start() was never called)";
    let report = Report::Done { what: "join Late-Starter".into(), result: Err(error.into()) };
    app.handle_event(Event::Report(report));
    let text = screen_text(&app, 120, 40);
    let status = text.lines().last().unwrap();
    assert!(status.contains(error), "{status}");
    assert!(!status.contains("sort:"), "{status}");
    // Without a message, the indicator is back.
    app.handle_event(Event::Tick(app.now + std::time::Duration::from_secs(11)));
    assert!(screen_text(&app, 120, 40).lines().last().unwrap().contains("sort: creation order"));
}

#[test]
fn quit_asks_when_non_daemon_threads_run_and_can_stop_them() {
    let mut app = app();
    assert_eq!(key(&mut app, KeyCode::Char('q')), Effect::None);
    let Some(Dialog::Quit(quit)) = app.dialog() else { panic!("{:?}", app.dialog()) };
    assert_eq!(quit.waiting_for, ["Lock-Holder", "Config-Reader-1", "Config-Reader-2", "Producer"]);
    assert!(quit.daemons.contains(&"Housekeeper".to_owned()));
    assert_eq!(app.update(Action::Cancel), Effect::None);
    assert_eq!(app.dialog(), None);

    app.update(Action::Quit);
    let stop = command(app.update(Action::StopAndQuit));
    assert!(matches!(stop, Command::StopAll { .. }));
    assert_eq!(app.update(Action::StopAndQuit), Effect::None, "asked once");
    let stuck = vec!["Config-Reader-1: blocked in acquire of lock config".to_owned()];
    assert_eq!(app.handle_event(Event::Report(Report::StoppedAll { stuck: stuck.clone() })), Effect::None);
    let Some(Dialog::Quit(quit)) = app.dialog() else { panic!() };
    assert_eq!(quit.stuck, stuck);
    let Effect::Quit(lines) = app.update(Action::QuitNow) else { panic!() };
    assert!(lines[0].contains("could not be stopped") && lines[1].contains("Config-Reader-1"), "{lines:?}");
}

#[test]
fn quit_after_every_thread_stopped_and_ctrl_c_twice() {
    let mut app = app();
    app.update(Action::Quit);
    app.update(Action::Confirm);
    let effect = app.handle_event(Event::Report(Report::StoppedAll { stuck: Vec::new() }));
    assert!(matches!(effect, Effect::Quit(_)), "{effect:?}");
    let mut app = self::app();
    let ctrl_c = || Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(app.handle_event(ctrl_c()), Effect::None);
    assert!(matches!(app.handle_event(ctrl_c()), Effect::Quit(lines) if lines[0].contains("non-daemon")));
}

#[test]
fn attach_mode_is_read_only_and_quits_at_once() {
    let mut app = fixtures::attached_with_snapshot(1, Instant::now());
    for action in [Action::Spawn, Action::Stop, Action::SetEvent, Action::LoadScenario, Action::InterruptMain]
    {
        assert_eq!(app.update(action), Effect::None);
        assert!(app.status().unwrap().starts_with("read-only"));
        assert_eq!(app.dialog(), None);
    }
    assert_eq!(app.update(Action::Quit), Effect::Quit(Vec::new()));
}

#[test]
fn attached_at_80_columns_the_header_says_the_pid_once_and_keeps_the_thread_count() {
    let start = Instant::now();
    let mut app = fixtures::attached(4242, start);
    let mut snapshot = fixtures::snapshot(0);
    snapshot.threads.retain(|t| t.state != crate::threading::ThreadState::Terminated);
    app.handle_event(Event::Sample(Box::new(Sample { snapshot, at: start, progress: Vec::new() })));
    let screen = screen_text(&app, 80, 24);
    let header = screen.lines().next().unwrap();
    assert_eq!(header.matches("4242").count(), 1, "{header}");
    let threads = app.snapshot.as_ref().unwrap().threads.len();
    assert!(header.contains(&format!("{threads} threads:")), "{header}");
    // States no thread is in make way, then the time watched and the
    // name, before the states some are in; at 160 columns all are said.
    assert!(!header.contains("0 terminated") && !header.contains(" up "), "{header}");
    assert!(header.contains(&format!("{threads} threads: 2 running 7 waiting")), "{header}");
    let wide = screen_text(&app, 160, 40);
    assert!(wide.lines().next().unwrap().contains("0 terminated"), "{wide}");
}

#[test]
fn a_kept_filter_is_said_in_the_footer_at_80_columns() {
    let mut app = app();
    app.update(Action::Filter);
    typed(&mut app, "Cons\r");
    let shown = app.table().rows.len();
    let total = app.snapshot().unwrap().threads.len();
    let screen = screen_text(&app, 80, 24);
    let footer = screen.lines().last().unwrap();
    assert!(footer.contains(&format!("filter \"Cons\" · {shown}/{total}")), "{footer}");
}

#[test]
fn the_debug_panic_needs_its_variable() {
    let mut app = app();
    assert_eq!(app.update(Action::DebugPanic), Effect::None);
    assert!(app.status().unwrap().contains("THREADSCOPE_TEST_PANIC=1"));
    let mut armed = App::new(Config { debug_panic: true, ..config() });
    assert_eq!(armed.update(Action::DebugPanic), Effect::Panic);
}

fn config() -> Config {
    Config {
        source: Source::Own(ScenarioInfo::default()),
        theme: Theme::colored(),
        debug_panic: false,
        scenarios: Vec::new(),
        size: (120, 40),
        now: Instant::now(),
    }
}

#[test]
fn samples_log_lifecycle_findings_and_deadlocks() {
    let start = Instant::now();
    let mut app = App::new(config());
    let mut first = fixtures::snapshot(0);
    first.deadlocks.clear();
    first.threads[6].state = crate::threading::ThreadState::Created;
    let sample = |snapshot, secs| {
        Event::Sample(Box::new(Sample {
            snapshot,
            at: start + std::time::Duration::from_secs(secs),
            progress: Vec::new(),
        }))
    };
    app.handle_event(sample(first.clone(), 1));
    assert!(app.log().entries.iter().any(|e| e.text.starts_with("lock config held")), "{:?}", app.log());
    let mut second = fixtures::snapshot(0);
    second.threads[6].state = crate::threading::ThreadState::Running;
    second.threads[2].name = crate::inspect::DisplayName::from_text("Keeper");
    second.findings.clear();
    app.handle_event(sample(second, 2));
    let texts: Vec<&str> = app.log().entries.iter().map(|e| e.text.as_str()).collect();
    assert!(texts.contains(&"Lock-Holder renamed to Keeper"), "{texts:?}");
    assert!(texts.contains(&"Late-Starter started"), "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("cleared: lock config held")), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.starts_with("DEADLOCK: Philosopher-0 (tid 4001) waits for lock fork-1")),
        "{texts:?}"
    );
    assert!(app.status().unwrap().starts_with("DEADLOCK"));
    app.handle_event(sample(first, 3));
    assert!(app.log().last().unwrap().text.starts_with("deadlock broken"), "{:?}", app.log().last());
}

#[test]
fn scrolling_screens_without_a_selection() {
    let mut app = app();
    for tab in [Tab::Locks, Tab::Names, Tab::Kernel, Tab::Help] {
        app.update(Action::ShowTab(tab));
        app.update(Action::Down);
        app.update(Action::PageDown);
        app.update(Action::Home);
    }
    assert_eq!(app.table().selected, 0, "the table did not move");
    app.update(Action::ShowTab(Tab::Log));
    for i in 0..50 {
        app.handle_event(Event::Log(LogKind::Stderr, format!("line {i}")));
    }
    app.update(Action::Up);
    assert_eq!(app.log().back, 1);
    app.update(Action::End);
    assert_eq!(app.log().back, 0);
}

#[test]
fn mouse_selects_rows_switches_tabs_and_sorts() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = app();
    let click = |column, row| {
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    let table = app.areas().unwrap().table;
    app.handle_event(click(30, table.y + 1 + 5));
    assert_eq!(app.selected_thread().unwrap().name.shown(), "Producer");
    app.handle_event(click(1, table.y));
    assert!(app.table().sort.is_some(), "a header click sorts");
    let wheel = Event::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 5,
        row: 10,
        modifiers: KeyModifiers::NONE,
    });
    let before = app.table().selected;
    app.handle_event(wheel);
    assert_eq!(app.table().selected, before + 1);
    let tabs = app.areas().unwrap().tabs;
    app.handle_event(click(13, tabs.y));
    assert_eq!(app.tab(), Tab::Locks);
    app.handle_event(click(5, 200)); // outside: nothing
    assert_eq!(app.tab(), Tab::Locks);
}

#[test]
fn resizes_keep_the_selection_visible() {
    let mut app = fixtures::app(500, 120, 40, Instant::now());
    app.update(Action::End);
    app.handle_event(Event::Resize(80, 15));
    let rows = app.areas().map_or(0, |a| usize::from(a.table.height) - 1);
    assert!(app.table().selected >= app.table().offset && app.table().selected < app.table().offset + rows);
    app.handle_event(Event::Resize(20, 5));
    assert!(app.areas().is_none(), "too small");
    app.update(Action::Up);
    app.handle_event(Event::Tick(Instant::now()));
}

#[test]
fn a_finding_whose_figures_change_is_logged_once_and_cleared_once() {
    let start = Instant::now();
    let mut app = App::new(config());
    let sample = |held: f64, secs| {
        let mut snapshot = fixtures::snapshot(0);
        snapshot.findings[0].message =
            format!("lock config held by Lock-Holder for {held:.1} s with 1 waiting");
        Event::Sample(Box::new(Sample {
            snapshot,
            at: start + std::time::Duration::from_secs(secs),
            progress: Vec::new(),
        }))
    };
    for (i, held) in [1.2, 2.2, 3.2, 4.2].into_iter().enumerate() {
        app.handle_event(sample(held, i as u64 + 1));
    }
    let mut cleared = fixtures::snapshot(0);
    cleared.findings.clear();
    app.handle_event(Event::Sample(Box::new(Sample {
        snapshot: cleared,
        at: start + std::time::Duration::from_secs(9),
        progress: Vec::new(),
    })));
    let about_config: Vec<&str> = app
        .log()
        .entries
        .iter()
        .map(|e| e.text.as_str())
        .filter(|t| t.contains("lock config held"))
        .collect();
    assert_eq!(
        about_config,
        [
            "lock config held by Lock-Holder for 1.2 s with 1 waiting",
            // The last words it had: how long it lasted.
            "cleared: lock config held by Lock-Holder for 4.2 s with 1 waiting"
        ]
    );
}

#[test]
fn the_stack_key_asks_the_loop_only_when_attached_and_shows_what_came_back() {
    // Here, a thread of this process: nothing to stop, and it says why at once.
    let mut app = app();
    select(&mut app, "Lock-Holder");
    assert_eq!(key(&mut app, KeyCode::Char('b')), Effect::None);
    let status = app.status().unwrap().to_owned();
    assert!(status.starts_with("no stack for Lock-Holder"), "{status}");
    assert!(status.contains("cannot ptrace-stop its own threads"), "{status}");

    // Attached: the loop takes it, off the UI thread; what comes back is shown with its cost.
    let mut app = fixtures::attached_with_snapshot(4242, Instant::now());
    select(&mut app, "Lock-Holder");
    let Effect::TakeStack(request) = key(&mut app, KeyCode::Char('b')) else { panic!("no request") };
    assert_eq!((request.pid, request.name.as_str()), (Some(4242), "Lock-Holder"));
    let screen = screen_text(&app, 120, 40);
    assert!(screen.contains("native · taking the stack…"), "{screen}");
    let frame = crate::inspect::runtime::StackFrame {
        function: "blocked_in_read".into(),
        location: Some("/src/app/reader.rs:40".into()),
        ..Default::default()
    };
    let view = crate::inspect::NativeStackView {
        source: crate::inspect::NativeSource::Stopped,
        paused: Some(std::time::Duration::from_micros(38)),
        paused_at_least: Some(std::time::Duration::from_micros(12)),
        frames: vec![frame],
        end: None,
        unavailable: None,
    };
    app.handle_event(Event::Stack(Box::new(StackTaken {
        key: request.key,
        who: "Lock-Holder".into(),
        view,
        missing: None,
    })));
    assert!(
        app.status().unwrap().contains("the thread was stopped for 38 us to copy it"),
        "{:?}",
        app.status()
    );
    let screen = screen_text(&app, 120, 40);
    assert!(screen.contains("runtime native · thread stopped 38 us to copy it"), "{screen}");
    assert!(screen.contains("stack at blocked_in_read (app/reader.rs:40)"), "{screen}");
}

/// Attached, the process may have run for days before we looked: the
/// header's time is the watch's and says so; a scenario's process is as
/// old as the watch, and that time is its uptime.
#[test]
fn the_header_s_time_is_called_what_it_is() {
    let attached = fixtures::attached_with_snapshot(4242, Instant::now());
    let first_line = |app: &App| screen_text(app, 160, 40).lines().next().unwrap_or_default().to_owned();
    let header = first_line(&attached);
    assert!(header.contains("  watched 0:01:23  "), "{header}");
    assert!(!header.contains(" up "), "{header}");
    let own = first_line(&fixtures::app(3, 160, 40, Instant::now()));
    assert!(own.contains("  up 0:01:23  "), "{own}");
}

/// A recording made before start times were kept has no age for the
/// kernel's threads: unavailable, said so, never a blank or a guess.
#[test]
fn an_age_the_sample_does_not_have_is_shown_unavailable() {
    let start = Instant::now();
    let mut app = fixtures::attached(4242, start);
    let mut snapshot = fixtures::snapshot(0);
    snapshot.system.uptime_ms = None;
    app.handle_event(Event::Sample(Box::new(Sample { snapshot, at: start, progress: Vec::new() })));
    select(&mut app, "tokio-runtime-w");
    let screen = screen_text(&app, 120, 40);
    let row = screen.lines().find(|l| l.contains("tokio-runtime-w") && l.contains("0:00.82")).unwrap();
    let age = row.split("0:00.82").nth(1).unwrap_or_default().trim_start();
    assert!(age.starts_with('—'), "AGE unavailable: {row}");
    assert!(screen.contains("started — (not in this sample"), "{screen}");
}

#[test]
fn a_thread_without_an_ident_says_unknown_not_blank() {
    let app = app();
    let wide = screen_text(&app, 240, 40);
    let header = wide.lines().find(|l| l.contains("IDENT")).expect("240 columns show IDENT");
    let column = header.find("IDENT").unwrap();
    let row = wide.lines().find(|l| l.contains("tokio-runtime-w")).unwrap();
    let cell: String = row.chars().skip(header[..column].chars().count()).take(5).collect();
    assert_eq!(cell.trim(), "—", "a foreign thread's ident is unknown:\n{wide}");
}

/// Two deadlocked threads of one name (two C threads both `worker`): every
/// place that names them carries their TIDs, from the first sample on.
#[test]
fn same_named_threads_are_told_apart_everywhere_they_are_named() {
    let start = Instant::now();
    let mut app = fixtures::app(0, 120, 40, start);
    let mut snapshot = fixtures::snapshot(0);
    for from in ["Philosopher-0", "Philosopher-1"] {
        fixtures::rename(&mut snapshot, from, "worker");
    }
    let tids: Vec<u32> =
        snapshot.threads.iter().filter(|t| t.name.shown() == "worker").filter_map(|t| t.native_id).collect();
    assert_eq!(tids.len(), 2);
    // A fresh app's first sample with the deadlock: the status line.
    let mut fresh = fixtures::attached(4242, start);
    fresh.handle_event(Event::Sample(Box::new(Sample {
        snapshot: snapshot.clone(),
        at: start,
        progress: Vec::new(),
    })));
    let status = fresh.status().unwrap_or_default().to_owned();
    for tid in &tids {
        assert!(status.contains(&format!("(tid {tid})")), "status: {status}");
    }
    let at = start + std::time::Duration::from_secs(60);
    app.handle_event(Event::Sample(Box::new(Sample { snapshot, at, progress: Vec::new() })));
    // The Locks screen's cycle.
    app.update(Action::ShowTab(action::Tab::Locks));
    let locks = screen_text(&app, 120, 40);
    let cycle = locks.lines().find(|l| l.starts_with("DEADLOCK 1:")).unwrap_or_default().to_owned();
    for tid in &tids {
        assert!(cycle.contains(&format!("(tid {tid})")), "{locks}");
    }
    // The timeline's rows.
    app.update(Action::ShowTab(action::Tab::Timeline));
    let timeline = screen_text(&app, 120, 40);
    for tid in &tids {
        assert!(timeline.lines().any(|l| l.contains(&format!("worker·{tid}"))), "{timeline}");
    }
    // The threads table, too narrow for its TID column.
    app.update(Action::ShowTab(action::Tab::Threads));
    let narrow = screen_text(&app, 60, 20);
    assert!(!narrow.lines().any(|l| l.contains("TID")), "60 columns drop TID:\n{narrow}");
    let rows: Vec<&str> = narrow.lines().filter(|l| l.trim_start().starts_with("worker")).collect();
    for tid in &tids {
        // In the name's own cell: the wait beside it names the other, with its TID.
        assert!(rows.iter().any(|r| r.trim_start().starts_with(&format!("worker·{tid}"))), "{narrow}");
    }
}
