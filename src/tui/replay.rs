//! Replay and recording in the UI: where a replay is, how it plays, and
//! what the keys that move through it or record do. Pure state, as in
//! [`App::update`]; the loop finds and decodes the samples.

use super::action::{Effect, Jump, ReplayAction, ReplayGo};
use super::app::{App, Seen};
use super::dialog::{Dialog, Prompt, PromptPurpose};
use super::event::{LogKind, Sample};
use crate::inspect::History;
use crate::threading::ThreadState;
use std::time::{Duration, Instant};

/// The speeds a replay plays at.
pub const SPEEDS: [f64; 6] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0];
const NORMAL_SPEED: usize = 2;

/// What the screen says about the recording being replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayInfo {
    /// The file, as given.
    pub file: String,
    /// What was recorded, in words (untrusted text).
    pub what: String,
    /// How many samples.
    pub samples: usize,
    /// From the first sample to the last.
    pub span: Duration,
}

/// Where the replay is.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayState {
    /// The sample shown.
    pub position: usize,
    /// How many samples.
    pub len: usize,
    /// The shown sample's time after the first.
    pub at: Duration,
    /// The whole recording's span.
    pub span: Duration,
    /// Playing (else paused).
    pub playing: bool,
    /// Index into [`SPEEDS`].
    pub speed: usize,
}

impl ReplayState {
    /// At the start, playing at 1×.
    pub fn new(info: &ReplayInfo) -> Self {
        Self {
            position: 0,
            len: info.samples,
            at: Duration::ZERO,
            span: info.span,
            playing: true,
            speed: NORMAL_SPEED,
        }
    }

    /// The speed, as a factor.
    pub fn speed(&self) -> f64 {
        SPEEDS[self.speed.min(SPEEDS.len() - 1)]
    }

    /// The speed in words: `¼×`, `2×`.
    pub fn speed_word(&self) -> &'static str {
        ["¼×", "½×", "1×", "2×", "4×", "8×"][self.speed.min(SPEEDS.len() - 1)]
    }
}

/// A sample of the recording, for the screens.
#[derive(Debug)]
pub struct Replayed {
    /// The sample (its `at` on the replay's clock).
    pub sample: Sample,
    /// Its number.
    pub position: usize,
    /// Its time after the first sample.
    pub at: Duration,
    /// Not the sample after the one shown: what the screens remember
    /// across samples (timeline, log) starts again from here.
    pub jumped: bool,
    /// For a jump: the states of the threads in the samples before it
    /// (up to the timeline's span), oldest first, so the timeline is full.
    pub warmup: Vec<(Instant, Vec<(u64, ThreadState)>)>,
    /// Something to say (a search that found nothing, a damaged record).
    pub note: Option<String>,
}

/// What became of recording or of the flight recorder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordingNews {
    /// Recording to this file.
    Started(String),
    /// Recording stopped.
    Stopped {
        /// The file.
        path: String,
        /// Samples written.
        samples: usize,
        /// Bytes written.
        bytes: usize,
    },
    /// Recording stopped before its first sample: its file, which held
    /// nothing, was removed.
    Discarded(String),
    /// Recording could not start or go on.
    Failed(String),
    /// The flight recorder wrote what it kept.
    FlightWritten {
        /// The file.
        path: String,
        /// Samples written.
        samples: usize,
        /// Why: a deadlock, a key, SIGUSR1.
        reason: String,
    },
    /// The flight recorder could not write.
    FlightFailed(String),
}

impl App {
    /// Play or pause; from the end, play starts again at the beginning.
    pub(crate) fn toggle_play(&mut self) -> Effect {
        let Some(replay) = &mut self.replay else { return Effect::None };
        replay.playing = !replay.playing;
        let (playing, at_end) = (replay.playing, replay.position + 1 >= replay.len);
        let word = if playing { "playing" } else { "paused" };
        self.note(LogKind::Info, format!("replay {word}"));
        if playing && at_end {
            return Effect::Replay(ReplayGo::To(0));
        }
        Effect::None
    }

    pub(crate) fn replay_update(&mut self, action: ReplayAction) -> Effect {
        let selected = self.selected_thread().map(|t| t.key);
        let Some(replay) = &mut self.replay else {
            self.note(LogKind::Error, "only in replay (threadscope replay FILE)".into());
            return Effect::None;
        };
        let position = replay.position;
        match action {
            ReplayAction::StepBack | ReplayAction::StepForward => {
                replay.playing = false;
                let back = action == ReplayAction::StepBack;
                let to = if back {
                    position.checked_sub(1)
                } else {
                    Some(position + 1).filter(|&p| p < replay.len)
                };
                match to {
                    Some(to) => return Effect::Replay(ReplayGo::To(to)),
                    None => {
                        let edge = if back { "first" } else { "last" };
                        self.note(LogKind::Info, format!("replay: this is the {edge} sample"));
                    }
                }
            }
            ReplayAction::Slower | ReplayAction::Faster => {
                replay.speed = if action == ReplayAction::Faster {
                    (replay.speed + 1).min(SPEEDS.len() - 1)
                } else {
                    replay.speed.saturating_sub(1)
                };
                let word = replay.speed_word();
                self.note(LogKind::Info, format!("replay speed {word}"));
            }
            ReplayAction::Seek => {
                replay.playing = false;
                self.dialog = Some(Dialog::Prompt(Prompt {
                    purpose: PromptPurpose::Seek,
                    input: String::new(),
                    error: None,
                }));
            }
            ReplayAction::Next(jump) | ReplayAction::Previous(jump) => {
                if jump == Jump::StateChange && selected.is_none() {
                    self.note(
                        LogKind::Error,
                        "select a thread first: its state changes are what is looked for".into(),
                    );
                    return Effect::None;
                }
                replay.playing = false;
                let forward = matches!(action, ReplayAction::Next(_));
                return Effect::Replay(ReplayGo::Find { from: position, forward, jump, key: selected });
            }
        }
        Effect::None
    }

    /// Takes in a sample of the recording.
    pub(crate) fn replayed(&mut self, replayed: Replayed) {
        let Replayed { sample, position, at, jumped, warmup, note } = replayed;
        if jumped {
            // The log and timeline go on from the new moment: nothing
            // "appeared" or "cleared" because of the jump itself.
            let notes = std::mem::take(&mut self.seen.notes);
            self.seen = Seen { notes, ..Seen::default() };
            self.history = History::default();
            self.snapshot = None;
            for (when, states) in warmup {
                for (key, state) in states {
                    self.history.observe(key, state, when);
                }
            }
        }
        self.receive(sample);
        let Some(replay) = &mut self.replay else { return };
        replay.position = position;
        replay.at = at;
        let at_end = position + 1 >= replay.len;
        let stopped = at_end && replay.playing;
        if stopped {
            replay.playing = false;
        }
        if let Some(note) = note {
            self.note(LogKind::Info, note);
        } else if stopped {
            self.note(LogKind::Info, "replay: end of the recording (Space plays it again)".into());
        }
    }

    pub(crate) fn toggle_recording(&mut self) -> Effect {
        if self.replay.is_some() {
            self.note(LogKind::Error, "replay: read-only (this is already a recording)".into());
            return Effect::None;
        }
        Effect::Record(self.recording.is_none())
    }

    pub(crate) fn dump_flight(&mut self) -> Effect {
        if self.replay.is_some() {
            self.note(LogKind::Error, "replay: read-only (this is already a recording)".into());
            return Effect::None;
        }
        Effect::DumpFlight
    }

    pub(crate) fn recording_news(&mut self, news: RecordingNews) {
        let safe = |text: &str| crate::display::sanitize(text).into_owned();
        match news {
            RecordingNews::Started(path) => {
                self.note(LogKind::Action, format!("recording to {}", safe(&path)));
                self.recording = Some(path);
            }
            RecordingNews::Stopped { path, samples, bytes } => {
                self.recording = None;
                let size = super::words::bytes(bytes as u64);
                self.note(
                    LogKind::Action,
                    format!("recording stopped: {samples} samples, {size}, in {}", safe(&path)),
                );
            }
            RecordingNews::Discarded(path) => {
                self.recording = None;
                self.note(
                    LogKind::Action,
                    format!(
                        "recording stopped before its first sample: nothing kept ({} removed)",
                        safe(&path)
                    ),
                );
            }
            RecordingNews::Failed(error) => {
                self.recording = None;
                self.note(LogKind::Error, format!("recording failed: {error}"));
            }
            RecordingNews::FlightWritten { path, samples, reason } => self.note(
                LogKind::Action,
                format!("flight recorder ({reason}): wrote the last {samples} samples to {}", safe(&path)),
            ),
            RecordingNews::FlightFailed(error) => {
                self.note(LogKind::Error, format!("flight recorder: {error}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::action::{Action, Tab};
    use super::super::app::{Config, Source};
    use super::super::event::Event;
    use super::super::theme::Theme;
    use super::super::{fixtures, tests::screen_text};
    use super::*;

    fn replaying(samples: usize, start: Instant) -> App {
        let info = ReplayInfo {
            file: "demo.tsrec".into(),
            what: "scenario deadlock on host".into(),
            samples,
            span: Duration::from_secs(samples as u64 - 1),
        };
        App::new(Config {
            source: Source::Replay(info),
            theme: Theme::plain(),
            debug_panic: false,
            scenarios: Vec::new(),
            size: (120, 40),
            now: start,
        })
    }

    fn show(app: &mut App, position: usize, jumped: bool, start: Instant) {
        let at = Duration::from_secs(position as u64);
        let sample = Sample { snapshot: fixtures::snapshot(0), at: start + at, progress: Vec::new() };
        app.handle_event(Event::Replayed(Box::new(Replayed {
            sample,
            position,
            at,
            jumped,
            warmup: Vec::new(),
            note: None,
        })));
    }

    #[test]
    fn steps_pause_and_ask_for_the_neighbouring_sample() {
        let start = Instant::now();
        let mut app = replaying(10, start);
        show(&mut app, 4, true, start);
        assert!(app.replay.as_ref().unwrap().playing);
        assert_eq!(app.update(Action::Replay(ReplayAction::StepForward)), Effect::Replay(ReplayGo::To(5)));
        assert!(!app.replay.as_ref().unwrap().playing, "a step pauses");
        assert_eq!(app.update(Action::Replay(ReplayAction::StepBack)), Effect::Replay(ReplayGo::To(3)));
        show(&mut app, 0, true, start);
        assert_eq!(app.update(Action::Replay(ReplayAction::StepBack)), Effect::None);
        assert_eq!(app.status(), Some("replay: this is the first sample"));
    }

    #[test]
    fn space_plays_and_pauses_and_plays_again_from_the_end() {
        let start = Instant::now();
        let mut app = replaying(3, start);
        show(&mut app, 0, true, start);
        assert_eq!(app.update(Action::TogglePause), Effect::None);
        assert!(!app.replay.as_ref().unwrap().playing);
        assert_eq!(app.update(Action::TogglePause), Effect::None);
        show(&mut app, 1, false, start);
        show(&mut app, 2, false, start);
        assert!(!app.replay.as_ref().unwrap().playing, "the end stops the replay");
        assert!(app.status().unwrap().contains("end of the recording"));
        assert_eq!(app.update(Action::TogglePause), Effect::Replay(ReplayGo::To(0)));
    }

    #[test]
    fn speed_goes_from_a_quarter_to_eight_times() {
        let mut app = replaying(3, Instant::now());
        for _ in 0..10 {
            app.update(Action::Replay(ReplayAction::Faster));
        }
        assert_eq!(app.replay.as_ref().unwrap().speed(), 8.0);
        for _ in 0..10 {
            app.update(Action::Replay(ReplayAction::Slower));
        }
        assert_eq!(app.replay.as_ref().unwrap().speed_word(), "¼×");
        assert_eq!(app.status(), Some("replay speed ¼×"));
    }

    #[test]
    fn actions_are_refused_read_only() {
        let start = Instant::now();
        let mut app = replaying(3, start);
        show(&mut app, 0, true, start);
        for action in
            [Action::Spawn, Action::Stop, Action::Rename, Action::ToggleRecording, Action::DumpFlight]
        {
            assert_eq!(app.update(action.clone()), Effect::None, "{action:?}");
            assert!(app.status().unwrap().starts_with("replay: read-only"), "{action:?}: {:?}", app.status());
        }
        assert_eq!(app.update(Action::Quit), Effect::Quit(Vec::new()), "quitting a replay asks nothing");
    }

    #[test]
    fn seeking_asks_for_a_time_and_jumps_carry_the_selected_thread() {
        let start = Instant::now();
        let mut app = replaying(10, start);
        show(&mut app, 2, true, start);
        app.update(Action::Replay(ReplayAction::Seek));
        for c in "5s".chars() {
            app.update(Action::Input(c));
        }
        assert_eq!(app.update(Action::Confirm), Effect::Replay(ReplayGo::At(Duration::from_secs(5))));
        let key = app.selected_thread().map(|t| t.key);
        assert!(key.is_some());
        assert_eq!(
            app.update(Action::Replay(ReplayAction::Next(Jump::StateChange))),
            Effect::Replay(ReplayGo::Find { from: 2, forward: true, jump: Jump::StateChange, key })
        );
    }

    #[test]
    fn keys_that_move_a_replay_say_so_when_live() {
        let mut app = fixtures::app(0, 120, 40, Instant::now());
        assert_eq!(app.update(Action::Replay(ReplayAction::StepForward)), Effect::None);
        assert_eq!(app.status(), Some("only in replay (threadscope replay FILE)"));
        assert_eq!(app.update(Action::ToggleRecording), Effect::Record(true));
        app.handle_event(Event::Recording(RecordingNews::Started("/tmp/x.tsrec".into())));
        assert_eq!(app.update(Action::ToggleRecording), Effect::Record(false));
        assert!(screen_text(&app, 120, 40).contains("● REC /tmp/x.tsrec"));
        app.handle_event(Event::Recording(RecordingNews::Discarded("/tmp/x.tsrec".into())));
        let screen = screen_text(&app, 120, 40);
        assert!(!screen.contains("● REC"), "{screen}");
        assert!(screen.contains("recording stopped before its first sample: nothing kept"), "{screen}");
    }

    #[test]
    fn the_screen_shows_the_replay_and_its_timeline() {
        let start = Instant::now();
        let mut app = replaying(10, start);
        show(&mut app, 4, true, start);
        let screen = screen_text(&app, 120, 40);
        assert!(screen.contains("REPLAY  scenario deadlock on host (read-only)"), "{screen}");
        assert!(screen.contains("▶ 1× 0:00:04 / 0:00:09  5/10"), "{screen}");
        assert!(screen.contains("├") && screen.contains("●"), "{screen}");
        // Once the status line's news (the deadlock) has faded, the keys.
        app.handle_event(Event::Tick(start + Duration::from_secs(60)));
        let screen = screen_text(&app, 120, 40);
        assert!(screen.contains("Space play  , . step  [ ] speed  t seek"), "{screen}");
        for tab in Tab::ALL {
            app.update(Action::ShowTab(tab));
            assert!(screen_text(&app, 120, 40).contains("5/10"), "{tab:?}");
        }
    }

    #[test]
    fn at_80_columns_the_position_gets_a_row_of_its_own() {
        let start = Instant::now();
        let mut app = replaying(5, start);
        app.handle_event(Event::Resize(80, 24));
        show(&mut app, 1, true, start);
        app.update(Action::TogglePause);
        let screen = screen_text(&app, 80, 24);
        let lines: Vec<&str> = screen.lines().collect();
        let tabs = lines.iter().position(|l| l.starts_with(" 1 Threads")).unwrap();
        assert!(lines[tabs + 1].contains("❚❚ 1× 0:00:01 / 0:00:04  2/5 ├"), "{screen}");
        assert!(lines[tabs + 2].starts_with("TID"), "{screen}");
        // Clicks land on the rows as drawn: the table starts below it.
        assert_eq!(app.areas().unwrap().table.y as usize, tabs + 2);
        // At the smallest width the bar still fits beside the text.
        app.handle_event(Event::Resize(60, 12));
        assert!(screen_text(&app, 60, 12).contains("2/5 ├"), "{}", screen_text(&app, 60, 12));
        app.handle_event(Event::Resize(80, 24));
        for tab in Tab::ALL {
            app.update(Action::ShowTab(tab));
            assert!(screen_text(&app, 80, 24).contains("2/5"), "{tab:?}");
        }
    }
}
