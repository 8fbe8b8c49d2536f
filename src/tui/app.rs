//! [`App`]: everything the screens show, and [`App::update`], the only
//! place it changes. No I/O here: what must happen outside comes back as
//! an [`Effect`] for the loop to perform.

use super::action::{Action, Effect, Tab};
use super::columns::{self, Column};
use super::dialog::Dialog;
use super::event::{Event, LogKind, ScenarioInfo};
use super::keymap::Keymap;
use super::layout::{self, Areas};
use super::log::LogState;
use super::table::TableState;
use super::theme::Theme;
use crate::inspect::{DisplayName, History, Snapshot, ThreadView};
use crate::scenario::ThreadProgress;
use crate::threading::ThreadState;
use ratatui::layout::Rect;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// How long a message stays in the status line.
const STATUS_FOR: Duration = Duration::from_secs(10);
/// How long an action's outcome keeps the status line from news (log
/// lines, findings) unless a key is pressed first: long enough to read.
const OUTCOME_HOLDS: Duration = Duration::from_secs(5);

/// Whose threads are shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A scenario run in this process: actions are allowed.
    Own(ScenarioInfo),
    /// Another process, read-only.
    Attach {
        /// Its pid.
        pid: u32,
    },
    /// A recording, read-only.
    Replay(super::replay::ReplayInfo),
}

/// How to build an [`App`].
#[derive(Clone, Debug)]
pub struct Config {
    /// Whose threads.
    pub source: Source,
    /// Colours or not.
    pub theme: Theme,
    /// Whether the debug panic key works (`THREADSCOPE_TEST_PANIC=1`).
    pub debug_panic: bool,
    /// The scenarios the load picker offers: name and description.
    pub scenarios: Vec<(String, String)>,
    /// The terminal size.
    pub size: (u16, u16),
    /// The time now.
    pub now: Instant,
}

/// What was seen in the previous snapshot, to log what changed.
#[derive(Clone, Debug, Default)]
pub(crate) struct Seen {
    pub(crate) samples: u64,
    pub(crate) threads: HashMap<u64, (ThreadState, String)>,
    /// Findings shown, by identity (what and whom, never the figures that
    /// change), with the words they appeared with.
    pub(crate) findings: BTreeMap<String, String>,
    pub(crate) deadlocks: HashSet<String>,
    /// The snapshot notes already said (each is said once).
    pub(crate) notes: HashSet<String>,
    /// The in-turn cadence last said (see `ProcessView::checked_in_turn`).
    pub(crate) checked_in_turn: Option<u32>,
    pub(crate) exited: bool,
}

/// Scroll positions of the screens without a selection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scroll {
    /// Locks screen.
    pub locks: usize,
    /// Names screen.
    pub names: usize,
    /// Kernel screen.
    pub kernel: usize,
    /// Help screen.
    pub help: usize,
}

/// The UI's whole state.
pub struct App {
    pub(crate) source: Source,
    pub(crate) tab: Tab,
    pub(crate) snapshot: Option<Snapshot>,
    /// Primitives by registry id: waits join them by id, never by name.
    pub(crate) primitive_index: HashMap<u64, usize>,
    /// Names more than one thread of the snapshot carries: shown with the
    /// TID wherever a thread is referred to, so the references stay apart.
    pub(crate) shared_names: HashSet<String>,
    /// The names `shared_names` was worked out from, in the snapshot's
    /// order: while they stay the same (shared, not copied, so compared by
    /// address), 10,000 names a sample are not hashed again.
    pub(crate) shared_names_from: Vec<DisplayName>,
    /// What the threads table's columns must make room for.
    pub(crate) column_needs: columns::Needs,
    /// Threads by state (created, running, waiting, terminated) and where
    /// an agent's view comes from: the header's, worked out once a sample
    /// rather than over 10,000 threads every frame.
    pub(crate) state_counts: [usize; 4],
    pub(crate) agent_about: Option<String>,
    pub(crate) progress: HashMap<String, ThreadProgress>,
    pub(crate) history: History,
    pub(crate) table: TableState,
    /// Kernel screen order: indices into `snapshot.threads` of every task.
    pub(crate) kernel_rows: Vec<usize>,
    pub(crate) scroll: Scroll,
    pub(crate) log: LogState,
    pub(crate) status: Option<(LogKind, String)>,
    pub(crate) status_at: Instant,
    /// A key was pressed since the status line last changed.
    pub(crate) status_read: bool,
    pub(crate) dialog: Option<Dialog>,
    pub(crate) detail: layout::DetailPane,
    pub(crate) paused: bool,
    pub(crate) size: (u16, u16),
    pub(crate) started: Instant,
    pub(crate) now: Instant,
    pub(crate) sampled_at: Option<Instant>,
    /// The last sample with a runtime's view and when it was taken, while
    /// the samples since have had only the kernel's (see `receive`).
    pub(crate) before_runtime_lost: Option<(crate::inspect::Snapshot, Instant)>,
    pub(crate) sampler_error: Option<String>,
    pub(crate) keymap: Keymap,
    pub(crate) theme: Theme,
    pub(crate) debug_panic: bool,
    pub(crate) scenarios: Vec<(String, String)>,
    pub(crate) seen: Seen,
    pub(crate) scenario_changed: bool,
    /// The TIDs on screen the sampler was last told of (see `watch.rs`).
    pub(crate) watched: std::collections::BTreeSet<u32>,
    /// Native stacks taken on demand, by thread key, with when.
    pub(crate) stacks: HashMap<u64, (crate::inspect::NativeStackView, Instant)>,
    /// Threads whose stack is being taken.
    pub(crate) stacks_pending: HashSet<u64>,
    /// Which thread's stacks are scrolled in the detail pane (its key),
    /// and by how many frames.
    pub(crate) stack_scroll: (u64, usize),
    /// Where a replay is and how it plays (replay only).
    pub(crate) replay: Option<super::replay::ReplayState>,
    /// The file being recorded to, while recording.
    pub(crate) recording: Option<String>,
    /// The program run as threadscope's child (`exec`).
    pub(crate) child: Option<super::child::ChildState>,
}

/// How the refusal to show the detail pane begins (cleared on a resize).
const NO_ROOM: &str = "no room for the detail pane";

/// The actions a screen too small to draw still takes: quitting, and
/// closing or answering a dialog opened before it shrank.
fn acts_unseen(action: &Action) -> bool {
    matches!(
        action,
        Action::Quit | Action::Interrupt | Action::Cancel | Action::QuitNow | Action::StopAndQuit
    )
}
impl App {
    /// A new app with nothing sampled yet.
    pub fn new(config: Config) -> Self {
        Self {
            tab: Tab::Threads,
            snapshot: None,
            primitive_index: HashMap::new(),
            shared_names: HashSet::new(),
            shared_names_from: Vec::new(),
            column_needs: columns::Needs::default(),
            state_counts: [0; 4],
            agent_about: None,
            progress: HashMap::new(),
            history: History::default(),
            table: TableState::default(),
            kernel_rows: Vec::new(),
            scroll: Scroll::default(),
            log: LogState::default(),
            status: None,
            status_at: config.now,
            status_read: false,
            dialog: None,
            detail: layout::DetailPane::Auto,
            paused: false,
            size: config.size,
            started: config.now,
            now: config.now,
            sampled_at: None,
            before_runtime_lost: None,
            sampler_error: None,
            keymap: Keymap::default(),
            theme: config.theme,
            debug_panic: config.debug_panic,
            scenarios: config.scenarios,
            seen: Seen::default(),
            scenario_changed: false,
            watched: std::collections::BTreeSet::new(),
            stacks: HashMap::new(),
            stacks_pending: HashSet::new(),
            stack_scroll: (0, 0),
            replay: match &config.source {
                Source::Replay(info) => Some(super::replay::ReplayState::new(info)),
                _ => None,
            },
            recording: None,
            child: None,
            source: config.source,
        }
    }

    /// Handles one event; the effect is for the loop to perform.
    pub fn handle_event(&mut self, event: Event) -> Effect {
        match event {
            Event::Key(key) => {
                self.status_read = true;
                let action = match &self.dialog {
                    Some(dialog) => {
                        let typing = matches!(dialog, Dialog::Filter | Dialog::Prompt(_));
                        self.keymap.dialog_action(&key, typing)
                    }
                    None => self.keymap.normal_action(&key),
                };
                // Too small to draw a screen, keys would act unseen: only
                // those the too-small screen offers do.
                let action = action.filter(|a| self.areas().is_some() || acts_unseen(a));
                action.map_or(Effect::None, |action| self.update(action))
            }
            Event::Mouse(mouse) => match self.mouse_action(mouse) {
                Some(action) => self.update(action),
                None => Effect::None,
            },
            Event::Resize(width, height) => {
                self.size = (width, height);
                // A refusal that named the old size no longer holds.
                if self.status.as_ref().is_some_and(|(_, text)| text.starts_with(NO_ROOM)) {
                    self.status = None;
                }
                self.keep_selection_visible();
                Effect::None
            }
            Event::Tick(now) => {
                self.now = now;
                Effect::None
            }
            Event::Sample(sample) => {
                self.receive(*sample);
                Effect::None
            }
            Event::SamplerError(message) => {
                self.note(LogKind::Error, format!("sampling failed: {message}"));
                self.sampler_error = Some(message);
                Effect::None
            }
            Event::Log(kind, text) => {
                let at = self.elapsed();
                self.log.push(at, kind, &text);
                if kind == LogKind::Exception
                    && let Some(first) = text.lines().next()
                {
                    self.set_status(kind, crate::display::sanitize(first).into_owned());
                }
                Effect::None
            }
            Event::Report(report) => self.report(report),
            Event::Stack(taken) => {
                self.stack_taken(*taken);
                Effect::None
            }
            Event::Replayed(replayed) => {
                self.replayed(*replayed);
                Effect::None
            }
            Event::Recording(news) => {
                self.recording_news(news);
                Effect::None
            }
            Event::ChildExited(how) => {
                self.child_exited(how);
                Effect::None
            }
        }
    }

    /// Changes state for `action`; returns what the loop must do.
    pub fn update(&mut self, action: Action) -> Effect {
        if self.dialog.is_some() {
            return self.dialog_update(action);
        }
        match action {
            Action::NextTab => self.show_tab(Tab::ALL[(self.tab.index() + 1) % Tab::ALL.len()]),
            Action::PrevTab => {
                self.show_tab(Tab::ALL[(self.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()])
            }
            Action::ShowTab(tab) => self.show_tab(tab),
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(self.page() as isize)),
            Action::PageDown => self.move_by(self.page() as isize),
            Action::Home => self.move_by(isize::MIN / 2),
            Action::End => self.move_by(isize::MAX / 2),
            Action::SelectRow(row) => self.select_row(row),
            Action::SortNext => self.sort(self.next_shown_column(true), false),
            Action::SortPrev => self.sort(self.next_shown_column(false), false),
            Action::SortReverse => {
                self.table.descending = !self.table.descending;
                self.rebuild_table();
            }
            Action::SortBy(column) => self.sort(column, true),
            Action::Filter => self.dialog = Some(Dialog::Filter),
            Action::ToggleDetail => self.toggle_detail(),
            Action::TakeStack => return self.take_stack(),
            Action::StackUp => self.scroll_stack(-1),
            Action::StackDown => self.scroll_stack(1),
            Action::TogglePause if self.replay.is_some() => return self.toggle_play(),
            Action::Replay(action) => return self.replay_update(action),
            Action::ToggleRecording => return self.toggle_recording(),
            Action::DumpFlight => return self.dump_flight(),
            Action::TogglePause => {
                self.paused = !self.paused;
                let word = if self.paused { "paused" } else { "resumed" };
                self.note(LogKind::Info, format!("sampling {word}"));
                return Effect::Pause(self.paused);
            }
            Action::Quit => return self.quit(),
            Action::Interrupt => return self.interrupt(),
            Action::DebugPanic => {
                if self.debug_panic {
                    return Effect::Panic;
                }
                self.note(LogKind::Info, "the debug panic key needs THREADSCOPE_TEST_PANIC=1".to_owned());
            }
            Action::Spawn
            | Action::Start
            | Action::Stop
            | Action::Join
            | Action::Rename
            | Action::ToggleDaemon
            | Action::SetEvent
            | Action::ClearEvent
            | Action::ReleaseLock
            | Action::InterruptMain
            | Action::LoadScenario => return self.act(action),
            Action::Input(_)
            | Action::Backspace
            | Action::ClearInput
            | Action::Confirm
            | Action::Cancel
            | Action::StopAndQuit
            | Action::QuitNow => {}
        }
        Effect::None
    }

    /// Enter: shows or hides the detail pane, or says why it cannot show.
    fn toggle_detail(&mut self) {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        match layout::toggle_detail(area, self.layout_flags()) {
            Ok(detail) => {
                self.detail = detail;
                self.keep_selection_visible();
            }
            Err(short) => self.note(
                LogKind::Info,
                format!("{NO_ROOM} at {}×{}: it needs {short} more row(s)", self.size.0, self.size.1),
            ),
        }
    }

    fn show_tab(&mut self, tab: Tab) {
        self.tab = tab;
        self.keep_selection_visible();
    }

    fn sort(&mut self, column: Column, toggle: bool) {
        if toggle && self.table.sort == Some(column) {
            self.table.descending = !self.table.descending;
        } else {
            self.table.sort = Some(column);
            self.table.descending = matches!(column, Column::Cpu | Column::Time | Column::Ctxt | Column::Age);
        }
        self.rebuild_table();
    }

    /// Rebuilds the table's rows (after a snapshot, a sort or a filter change).
    pub(crate) fn rebuild_table(&mut self) {
        if let Some(snapshot) = &self.snapshot {
            self.table.rebuild(snapshot);
        }
        self.keep_selection_visible();
    }

    /// The next (or previous) column to sort by among those the threads
    /// table shows at the current width: sorting by a hidden column would
    /// reorder the rows with no arrow in sight.
    fn next_shown_column(&self, forward: bool) -> Column {
        let shown: Vec<Column> =
            columns::columns(self.size.0, self.column_needs).into_iter().map(|(c, _, _)| c).collect();
        let mut column = self.table.sort.unwrap_or(if forward {
            Column::ALL[Column::ALL.len() - 1]
        } else {
            Column::ALL[0]
        });
        for _ in 0..Column::ALL.len() {
            column = column.step(forward);
            if shown.contains(&column) {
                return column;
            }
        }
        column
    }

    fn move_by(&mut self, delta: isize) {
        match self.tab {
            Tab::Threads | Tab::Timeline => {
                if let Some(snapshot) = &self.snapshot {
                    self.table.move_by(delta, snapshot);
                }
                self.keep_selection_visible();
            }
            Tab::Log => self.log.scroll(-delta),
            Tab::Locks => self.scroll.locks = self.scroll.locks.saturating_add_signed(delta),
            Tab::Names => self.scroll.names = self.scroll.names.saturating_add_signed(delta),
            Tab::Kernel => {
                let max = self.kernel_rows.len().saturating_sub(1);
                self.scroll.kernel = self.scroll.kernel.saturating_add_signed(delta).min(max);
            }
            Tab::Help => self.scroll.help = self.scroll.help.saturating_add_signed(delta),
        }
    }

    fn select_row(&mut self, row: usize) {
        if let Some(snapshot) = &self.snapshot {
            self.table.select(row, snapshot);
        }
        self.keep_selection_visible();
    }

    pub(crate) fn keep_selection_visible(&mut self) {
        if let Some(areas) = self.areas() {
            let rows = layout::table_rows(&areas, self.tab);
            self.table.scroll_into_view(rows);
        }
    }

    /// Rows in a page of the current screen.
    fn page(&self) -> usize {
        self.areas().map_or(10, |a| usize::from(a.body.height.saturating_sub(2)).max(1))
    }

    /// The screen's regions at the current size (`None`: too small).
    pub fn areas(&self) -> Option<Areas> {
        layout::areas(Rect::new(0, 0, self.size.0, self.size.1), self.layout_flags())
    }

    /// Time since the UI started, for log entries.
    pub(crate) fn elapsed(&self) -> Duration {
        self.now.saturating_duration_since(self.started)
    }

    /// Shows `text` in the status line and logs it.
    pub(crate) fn note(&mut self, kind: LogKind, text: String) {
        let at = self.elapsed();
        self.log.push(at, kind, &text);
        self.set_status(kind, crate::display::sanitize(&text).into_owned());
    }

    /// Shows `text` (already safe) in the status line for a while. An
    /// action's outcome is not replaced by anything but another outcome
    /// until a key is pressed or it has been shown for [`OUTCOME_HOLDS`]
    /// (what it would have replaced it with is in the log all the same).
    pub(crate) fn set_status(&mut self, kind: LogKind, text: String) {
        let holding = self.status.as_ref().is_some_and(|(shown, _)| is_outcome(*shown))
            && !self.status_read
            && self.now.saturating_duration_since(self.status_at) < OUTCOME_HOLDS;
        if holding && !is_outcome(kind) {
            return;
        }
        self.status = Some((kind, text));
        self.status_at = self.now;
        self.status_read = false;
    }

    /// The status line's message, while it is fresh.
    pub(crate) fn fresh_status(&self) -> Option<&(LogKind, String)> {
        let fresh = self.now.saturating_duration_since(self.status_at) < STATUS_FOR;
        self.status.as_ref().filter(|_| fresh)
    }

    /// The selected thread, if any.
    pub fn selected_thread(&self) -> Option<&ThreadView> {
        self.table.selected_thread(self.snapshot.as_ref()?)
    }

    /// The screen shown.
    pub fn tab(&self) -> Tab {
        self.tab
    }

    /// The open dialog.
    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref()
    }

    /// The status line's text.
    pub fn status(&self) -> Option<&str> {
        self.fresh_status().map(|(_, text)| text.as_str())
    }

    /// The log.
    pub fn log(&self) -> &LogState {
        &self.log
    }

    /// The table state.
    pub fn table(&self) -> &TableState {
        &self.table
    }

    /// True while sampling is paused.
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// True once after another scenario was loaded (the sampler must be told).
    pub fn take_scenario_changed(&mut self) -> bool {
        std::mem::take(&mut self.scenario_changed)
    }

    /// True in attach mode and in replay.
    pub fn read_only(&self) -> bool {
        matches!(self.source, Source::Attach { .. } | Source::Replay(_))
    }
}

/// Whether a status of this kind is the outcome of something the user did.
fn is_outcome(kind: LogKind) -> bool {
    matches!(kind, LogKind::Action | LogKind::Error)
}
