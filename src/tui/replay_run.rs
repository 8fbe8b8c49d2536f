//! `threadscope replay FILE`: the same screens on a recording. The loop
//! here owns the [`Recording`]; it decodes the sample the app asks for
//! (a step, a seek, the next deadlock…) and, while playing, the next one
//! when its time comes at the chosen speed.

use super::action::{Effect, Jump, ReplayGo};
use super::app::{App, Config, Source};
use super::event::{Event, Report, Sample};
use super::replay::{ReplayInfo, Replayed};
use super::run::{
    Exit, Options, event_runtime, finish, input_stream, require_terminal, scenarios, translate,
};
use super::terminal;
use super::theme::Theme;
use super::ui;
use crate::inspect::history::HISTORY_SPAN;
use crate::record::{Recording, Seek};
use crate::threading::ThreadState;
use futures::StreamExt;
use serde_json::Value;
use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::signal::unix::{SignalKind, signal};

/// Samples searched per pass when looking backwards: about one keyframe's
/// worth, so each pass decodes one keyframe and its deltas once.
const BACK_CHUNK: usize = 64;

/// Replays the recording at `path`; the exit code.
///
/// # Errors
///
/// The file cannot be read or is not a recording this threadscope reads
/// (said before the screen is touched), or the terminal fails.
pub(super) fn run(options: &Options, path: &Path) -> Result<u8, String> {
    let recording = Recording::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    require_terminal()?;
    let runtime = event_runtime()?;
    let exit = runtime.block_on(session(options, path, recording))?;
    Ok(finish(exit, None, &options.target))
}

/// The recording, with the replay's clock: sample `i` is shown as taken at
/// `epoch` plus its time after the first sample.
struct Player {
    recording: Recording,
    first_ms: u64,
    epoch: Instant,
}

impl Player {
    fn new(recording: Recording) -> Self {
        let first_ms = recording.time_ms(0);
        let span = Duration::from_millis(recording.time_ms(recording.len() - 1) - first_ms);
        // The clock is set in the past, so no sample's time is later than
        // the UI's own "now" (the status line and the log keep real time).
        let now = Instant::now();
        let epoch = now.checked_sub(span + Duration::from_secs(1)).unwrap_or(now);
        Self { recording, first_ms, epoch }
    }

    fn len(&self) -> usize {
        self.recording.len()
    }

    fn at(&self, i: usize) -> Duration {
        Duration::from_millis(self.recording.time_ms(i).saturating_sub(self.first_ms))
    }

    fn info(&self, path: &Path) -> ReplayInfo {
        let header = self.recording.header();
        let mut what = format!("{} on {}", header.source.describe(), header.host);
        if let Some(reason) = &header.flight_recorder {
            what.push_str(&format!(", flight recorder dump ({reason})"));
        }
        ReplayInfo {
            file: path.display().to_string(),
            what,
            samples: self.len(),
            span: self.at(self.len() - 1),
        }
    }

    /// Sample `i` for the app; `jumped` when it does not follow the one
    /// shown. A sample that cannot be read (damaged, or standing on a
    /// damaged record) is skipped for the next one that can, and the note
    /// says so: playing never sticks on it. A jump to where nothing after
    /// can be read shows the nearest readable sample before it.
    fn show(&mut self, i: usize, jumped: bool, note: Option<String>) -> Event {
        let mut first_error = None;
        let back = if jumped { 0..i.min(self.len()) } else { 0..0 };
        for j in (i..self.len()).chain(back.rev()) {
            if !self.recording.readable(j) && first_error.is_some() {
                continue;
            }
            match self.recording.snapshot(j) {
                Ok(snapshot) => {
                    let jumped = jumped || j != i;
                    let note = match first_error {
                        Some(error) if j > i => {
                            Some(format!("replay: skipped sample(s) {}–{j}: {error}", i + 1))
                        }
                        Some(error) => Some(format!(
                            "replay: {} cannot be read ({error}): showing sample {}",
                            self.samples_on(i),
                            j + 1
                        )),
                        None => note,
                    };
                    let warmup = if jumped { self.warmup(j) } else { Vec::new() };
                    let at = self.epoch + self.at(j);
                    return Event::Replayed(Box::new(Replayed {
                        sample: Sample { snapshot, at, progress: Vec::new() },
                        position: j,
                        at: self.at(j),
                        jumped,
                        warmup,
                        note,
                    }));
                }
                Err(e) => {
                    first_error.get_or_insert(e.to_string());
                }
            }
        }
        let error = match first_error {
            Some(error) => format!("{} cannot be read: {error}", self.samples_on(i)),
            None => "no such sample".to_owned(),
        };
        Event::Report(Report::Done { what: "replay".into(), result: Err(error) })
    }

    /// Samples `i` to the last, in words.
    fn samples_on(&self, i: usize) -> String {
        match self.len() - i {
            1 => format!("sample {}, the last,", i + 1),
            _ => format!("samples {}–{}", i + 1, self.len()),
        }
    }

    /// The threads' states in the samples within the timeline's span
    /// before `i`, for the timeline after a jump.
    fn warmup(&mut self, i: usize) -> Vec<(Instant, Vec<(u64, ThreadState)>)> {
        let horizon = self.at(i).saturating_sub(HISTORY_SPAN);
        let start = (0..i).find(|&j| self.at(j) >= horizon).unwrap_or(i);
        let mut out = Vec::new();
        for j in start..i {
            let Ok(value) = self.recording.value(j) else { continue };
            let states = thread_states(value);
            out.push((self.epoch + self.at(j), states));
        }
        out
    }

    /// The nearest sample after (or before) `from` where `jump` happens.
    fn find(&mut self, from: usize, forward: bool, jump: Jump, key: Option<u64>) -> Option<usize> {
        let feature =
            |player: &mut Self, i: usize| player.recording.value(i).ok().map(|v| feature(v, jump, key));
        let happens = |before: Option<u64>, now: Option<u64>| match (jump, before, now) {
            (Jump::Deadlock, before, Some(1)) => before != Some(1),
            (_, Some(before), Some(now)) => before != now,
            (_, None, Some(now)) => now != feature_of_nothing(jump),
            _ => false,
        };
        if forward {
            let mut before = feature(self, from);
            for i in from + 1..self.len() {
                let now = feature(self, i);
                if happens(before, now) {
                    return Some(i);
                }
                before = now;
            }
            return None;
        }
        let mut end = from;
        while end > 0 {
            let start = end.saturating_sub(BACK_CHUNK);
            let mut before = start.checked_sub(1).and_then(|i| feature(self, i));
            let mut found = None;
            for i in start..end {
                let now = feature(self, i);
                if happens(before, now) {
                    found = Some(i);
                }
                before = now;
            }
            if found.is_some() {
                return found;
            }
            end = start;
        }
        None
    }
}

/// What a jump compares between samples, as a number.
fn feature(value: &Value, jump: Jump, key: Option<u64>) -> u64 {
    let items = |field: &str| value.get(field).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    match jump {
        Jump::Deadlock => u64::from(!items("deadlocks").is_empty()),
        Jump::Finding => {
            // A finding's identity is what it is and whom it is about, not
            // its figures ("held for 17 s" grows every sample).
            let lints = items("findings").iter().map(|f| format!("{}:{}", f["kind"], f["subject"]));
            let naming = value.pointer("/naming/findings").and_then(Value::as_array).into_iter().flatten();
            let naming = naming.map(|f| format!("{}:{}", f["kind"], f["threads"]));
            let set: BTreeSet<String> = lints.chain(naming).collect();
            hash(&set)
        }
        Jump::StateChange => {
            let thread = items("threads").iter().find(|t| t["key"].as_u64() == key);
            hash(&thread.map(|t| t["state"].to_string()))
        }
    }
}

/// The feature of a sample where nothing has happened yet.
fn feature_of_nothing(jump: Jump) -> u64 {
    match jump {
        Jump::Deadlock => 0,
        Jump::Finding => hash(&BTreeSet::<String>::new()),
        Jump::StateChange => hash(&None::<String>),
    }
}

fn hash(value: &impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

fn thread_states(value: &Value) -> Vec<(u64, ThreadState)> {
    let threads = value.get("threads").and_then(Value::as_array).into_iter().flatten();
    threads
        .filter_map(|t| Some((t["key"].as_u64()?, serde_json::from_value(t["state"].clone()).ok()?)))
        .collect()
}

async fn session(options: &Options, path: &Path, recording: Recording) -> Result<Exit, String> {
    let mut player = Player::new(recording);
    let (mut terminal, guard) = terminal::enter().map_err(|e| format!("cannot set up the terminal: {e}"))?;
    let mut input = input_stream();
    let size = terminal.size().map_err(|e| e.to_string())?;
    let mut app = App::new(Config {
        source: Source::Replay(player.info(path)),
        theme: if options.color { Theme::colored() } else { Theme::plain() },
        debug_panic: std::env::var("THREADSCOPE_TEST_PANIC").is_ok_and(|v| v == "1"),
        scenarios: scenarios(),
        size: (size.width, size.height),
        now: Instant::now(),
    });
    let problems: Vec<String> = player.recording.problems().iter().map(ToString::to_string).collect();
    for problem in problems {
        app.handle_event(Event::Report(Report::Done { what: "replay".into(), result: Err(problem) }));
    }
    let first = player.show(0, true, None);
    app.handle_event(first);

    let failed = |e: std::io::Error| format!("terminal error: {e}");
    let mut term = signal(SignalKind::terminate()).map_err(failed)?;
    let mut hup = signal(SignalKind::hangup()).map_err(failed)?;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut due: Option<tokio::time::Instant> = None;
    // A sample past which nothing decodes (damage to the end of the
    // recording): playing stops there instead of trying again.
    let mut dead_end: Option<usize> = None;
    let result = loop {
        if let Err(e) = terminal.draw(|frame| ui::draw(frame, &app)) {
            break Err(failed(e));
        }
        let position = app.replay.as_ref().map_or(0, |r| r.position);
        let playing = app.replay.as_ref().is_some_and(|r| r.playing);
        if !playing {
            due = None;
        } else if due.is_none() && position + 1 < player.len() && dead_end != Some(position) {
            let gap = player.at(position + 1).saturating_sub(player.at(position));
            let speed = app.replay.as_ref().map_or(1.0, |r| r.speed());
            due = Some(tokio::time::Instant::now() + gap.div_f64(speed));
        }
        let next_due = async {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let event = tokio::select! {
            input = input.next() => match input {
                Some(Ok(event)) => match translate(event) {
                    Some(event) => event,
                    None => continue,
                },
                Some(Err(e)) => break Err(failed(e)),
                None => break Ok(Exit::Quit(Vec::new())),
            },
            () = next_due => {
                due = None;
                let event = player.show(position + 1, false, None);
                if matches!(event, Event::Report(_)) {
                    dead_end = Some(position);
                }
                event
            }
            _ = tick.tick() => Event::Tick(Instant::now()),
            _ = term.recv() => break Ok(Exit::Signal("SIGTERM", 143)),
            _ = hup.recv() => break Ok(Exit::Signal("SIGHUP", 129)),
        };
        let mut effect = app.handle_event(event);
        while let Effect::Replay(go) = effect {
            due = None;
            let event = go_to(&mut player, go, position);
            effect = app.handle_event(event);
        }
        match effect {
            Effect::Quit(lines) => break Ok(Exit::Quit(lines)),
            Effect::Panic => panic!("debug panic (Ctrl-P with THREADSCOPE_TEST_PANIC=1)"),
            _ => {}
        }
    };
    drop(guard);
    result
}

/// The event that shows where `go` leads from sample `position`.
fn go_to(player: &mut Player, go: ReplayGo, position: usize) -> Event {
    let last = player.len() - 1;
    let (target, note) = match go {
        ReplayGo::To(i) => (i.min(last), None),
        ReplayGo::At(at) => {
            // Where `snapshot --from --at` lands too.
            let human = crate::display::human;
            match player.recording.seek(at) {
                Seek::At(i) => (i, None),
                Seek::Nearest(i) => {
                    let note =
                        format!("replay: no sample at {}; the nearest is {}", human(at), human(player.at(i)));
                    (i, Some(note))
                }
                Seek::PastTheEnd(i) => {
                    (i, Some(format!("replay: {} is past the end; showing the last sample", human(at))))
                }
            }
        }
        ReplayGo::Find { from, forward, jump, key } => {
            let what = match jump {
                Jump::Finding => "finding appearing or clearing",
                Jump::Deadlock => "deadlock forming",
                Jump::StateChange => "state change of the selected thread",
            };
            match player.find(from, forward, jump, key) {
                Some(i) => (i, Some(format!("replay: {what} at {}", crate::display::human(player.at(i))))),
                None => {
                    let way = if forward { "after" } else { "before" };
                    let text = format!("no {what} {way} this sample");
                    return Event::Report(Report::Done { what: "replay".into(), result: Err(text) });
                }
            }
        }
    };
    player.show(target, target != position + 1, note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Header, RecordedSource, Recorder};

    /// Four samples a second apart, one keyframe, the last one's record
    /// damaged.
    fn last_damaged() -> Recording {
        let header = Header::new(RecordedSource::Pid { pid: 1 }, Duration::from_secs(1));
        let mut recorder = Recorder::new(Vec::new(), &header).unwrap();
        let mut last = 0;
        for i in 0..4 {
            let mut snapshot = super::super::fixtures::snapshot(i);
            snapshot.taken_at_unix_ms = 1_000_000 + 1000 * i as u64;
            last = recorder.bytes();
            recorder.record(&snapshot).unwrap();
        }
        let mut bytes = recorder.finish().unwrap();
        bytes[last + 25] ^= 0x01;
        Recording::from_bytes(bytes).unwrap()
    }

    #[test]
    fn going_to_a_time_lands_where_snapshot_at_does() {
        let header = Header::new(RecordedSource::Pid { pid: 1 }, Duration::from_secs(1));
        let mut recorder = Recorder::new(Vec::new(), &header).unwrap();
        // The third sample, taken for 2 s, came 2 ms late.
        for (i, offset) in [0, 1000, 2002].into_iter().enumerate() {
            let mut snapshot = super::super::fixtures::snapshot(i);
            snapshot.taken_at_unix_ms = 1_000_000 + offset;
            recorder.record(&snapshot).unwrap();
        }
        let mut player = Player::new(Recording::from_bytes(recorder.finish().unwrap()).unwrap());
        let landed = |player: &mut Player, at: Duration| match go_to(player, ReplayGo::At(at), 0) {
            Event::Replayed(replayed) => (replayed.position, replayed.note),
            _ => panic!("going to {at:?} showed nothing"),
        };
        assert_eq!(landed(&mut player, Duration::from_secs(2)), (2, None));
        assert_eq!(player.recording.seek(Duration::from_secs(2)), Seek::At(2));
        let (position, note) = landed(&mut player, Duration::from_secs(9));
        assert_eq!(position, 2);
        assert!(note.is_some_and(|n| n.contains("past the end")));
    }

    #[test]
    fn playing_onto_an_unreadable_last_sample_says_so_and_a_jump_shows_the_one_before() {
        let mut player = Player::new(last_damaged());
        assert_eq!(player.len(), 4);
        match player.show(3, false, None) {
            Event::Report(Report::Done { what, result: Err(error) }) => {
                assert_eq!(what, "replay");
                assert!(
                    error.starts_with("sample 4, the last, cannot be read: damaged record at byte"),
                    "{error}"
                );
                assert!(error.ends_with("(checksum mismatch)"), "{error}");
            }
            _ => panic!("playing onto the damaged last sample showed something"),
        }
        match player.show(3, true, None) {
            Event::Replayed(replayed) => {
                assert_eq!(replayed.position, 2);
                let note = replayed.note.unwrap_or_default();
                assert!(
                    note.starts_with("replay: sample 4, the last, cannot be read (damaged record"),
                    "{note}"
                );
                assert!(note.ends_with("showing sample 3"), "{note}");
            }
            _ => panic!("a jump onto the damaged last sample showed nothing"),
        }
    }
}
