//! Actions on the workload, their dialogs, quitting, and taking in the
//! outcomes the loop reports back. State changes only: the work itself is
//! an [`Effect::Command`] the loop performs.

use super::action::{Action, Command, Effect};
use super::app::{App, Source};
use super::dialog::{BY_PATH, Dialog, PickItem, PickPurpose, Picker, Prompt, PromptPurpose, QuitDialog};
use super::event::{LogKind, Report};
use super::words::safe;
use crate::inspect::{Origin, ThreadView};
use crate::scenario::WorkerKind;
use crate::threading::{PrimitiveKind, ThreadState};
use std::time::Duration;

/// How long quitting waits for threads asked to stop.
pub const STOP_GRACE: Duration = Duration::from_secs(3);
/// The join prompt's suggestion.
const DEFAULT_JOIN_TIMEOUT: &str = "1s";

/// The selected thread, as far as actions need it.
struct Target {
    key: u64,
    /// The library's name, exactly (commands use it).
    name: String,
    daemon: bool,
}

impl App {
    /// A workload action: a command, or a dialog that leads to one.
    pub(crate) fn act(&mut self, action: Action) -> Effect {
        let info = match &self.source {
            Source::Own(info) => info.clone(),
            Source::Attach { pid } => {
                let text = format!(
                    "read-only: attached to pid {pid}, which threadscope never writes to \
                     (its agent is only asked for snapshots, a JVM for thread dumps, as jstack asks; \
                     b stops one thread for a moment to copy its stack, and only when pressed)"
                );
                self.note(LogKind::Error, text);
                return Effect::None;
            }
            Source::Replay(_) => {
                self.note(
                    LogKind::Error,
                    "replay: read-only (this is a recording; nothing runs to act on)".into(),
                );
                return Effect::None;
            }
        };
        let primitives = |kinds: &[PrimitiveKind]| -> Vec<PickItem> {
            (info.primitives.iter())
                .filter(|(_, kind)| kinds.contains(kind))
                .map(|(name, kind)| PickItem { value: name.clone(), detail: kind.label().to_owned() })
                .collect()
        };
        match action {
            Action::Spawn => {
                let items = WorkerKind::ALL
                    .iter()
                    .map(|w| PickItem { value: w.stem().to_owned(), detail: w.describe().to_owned() })
                    .collect();
                self.open_picker(PickPurpose::Worker, items, "")
            }
            Action::SetEvent => {
                self.open_picker(PickPurpose::SetEvent, primitives(&[PrimitiveKind::Event]), "event")
            }
            Action::ClearEvent => {
                self.open_picker(PickPurpose::ClearEvent, primitives(&[PrimitiveKind::Event]), "event")
            }
            Action::ReleaseLock => self.open_picker(
                PickPurpose::ReleaseLock,
                primitives(&[PrimitiveKind::Lock, PrimitiveKind::RLock]),
                "lock",
            ),
            Action::LoadScenario => {
                let mut items: Vec<PickItem> = (self.scenarios.iter())
                    .map(|(name, about)| PickItem { value: name.clone(), detail: about.clone() })
                    .collect();
                items.push(PickItem {
                    value: BY_PATH.to_owned(),
                    detail: "type the path of your own".to_owned(),
                });
                self.open_picker(PickPurpose::Scenario, items, "scenario")
            }
            Action::InterruptMain => return Effect::Command(Command::InterruptMain),
            _ => return self.act_on_selected(action),
        }
        Effect::None
    }

    fn act_on_selected(&mut self, action: Action) -> Effect {
        let target = match self.selected_thread().map(target_of) {
            Some(Ok(target)) => target,
            Some(Err(why)) => {
                self.note(LogKind::Error, why);
                return Effect::None;
            }
            None => {
                self.note(LogKind::Error, "select a thread first (↑ ↓ or a click)".to_owned());
                return Effect::None;
            }
        };
        let Target { key, name, daemon } = target;
        let command = match action {
            Action::Start => Command::Start { key, name },
            Action::Stop => Command::Stop { key, name },
            Action::ToggleDaemon => Command::SetDaemon { key, name, daemon: !daemon },
            Action::Join => {
                let purpose = PromptPurpose::Join { key, name };
                self.dialog = Some(Dialog::Prompt(Prompt {
                    purpose,
                    input: DEFAULT_JOIN_TIMEOUT.to_owned(),
                    error: None,
                }));
                return Effect::None;
            }
            Action::Rename => {
                let input = name.clone();
                self.dialog = Some(Dialog::Prompt(Prompt {
                    purpose: PromptPurpose::Rename { key, name },
                    input,
                    error: None,
                }));
                return Effect::None;
            }
            _ => return Effect::None,
        };
        Effect::Command(command)
    }

    fn open_picker(&mut self, purpose: PickPurpose, items: Vec<PickItem>, kind: &str) {
        if items.is_empty() {
            let current = match &self.source {
                Source::Own(info) => info.name.as_str(),
                Source::Attach { .. } | Source::Replay(_) => "",
            };
            let text = match builtin_with(kind, current) {
                Some(other) => {
                    format!("this scenario has no {kind} to choose from; {other} has one (l loads it)")
                }
                None => format!("this scenario has no {kind} to choose from"),
            };
            self.note(LogKind::Error, text);
        } else {
            self.dialog = Some(Dialog::Picker(Picker { purpose, items, selected: 0 }));
        }
    }

    /// An action while a dialog is open.
    pub(crate) fn dialog_update(&mut self, action: Action) -> Effect {
        let Some(dialog) = self.dialog.take() else { return Effect::None };
        match dialog {
            Dialog::Filter => self.filter_update(action),
            Dialog::Prompt(prompt) => self.prompt_update(prompt, action),
            Dialog::Picker(picker) => self.picker_update(picker, action),
            Dialog::Quit(quit) => self.quit_update(quit, action),
            Dialog::Child(child) => self.child_quit_update(child, action),
        }
    }

    fn filter_update(&mut self, action: Action) -> Effect {
        match action {
            Action::Input(c) => self.table.filter.push(c),
            Action::Backspace => {
                self.table.filter.pop();
            }
            Action::ClearInput => self.table.filter.clear(),
            Action::Confirm => {
                self.rebuild_table();
                return Effect::None;
            }
            Action::Cancel => {
                self.table.filter.clear();
                self.rebuild_table();
                return Effect::None;
            }
            Action::QuitNow => return self.quit(),
            _ => {}
        }
        self.rebuild_table();
        self.dialog = Some(Dialog::Filter);
        Effect::None
    }

    fn prompt_update(&mut self, mut prompt: Prompt, action: Action) -> Effect {
        match action {
            Action::Input(c) => prompt.input.push(c),
            Action::Backspace => {
                prompt.input.pop();
            }
            Action::ClearInput => prompt.input.clear(),
            Action::Cancel => return Effect::None,
            Action::QuitNow => return self.quit(),
            Action::Confirm if prompt.purpose == PromptPurpose::Seek => {
                match crate::scenario::units::parse_duration(prompt.input.trim()) {
                    Ok(at) => return Effect::Replay(super::action::ReplayGo::At(at)),
                    Err(why) => prompt.error = Some(why),
                }
            }
            Action::Confirm => match confirm_prompt(&prompt) {
                Ok(command) => return Effect::Command(command),
                Err(why) => prompt.error = Some(why),
            },
            _ => {}
        }
        self.dialog = Some(Dialog::Prompt(prompt));
        Effect::None
    }

    fn picker_update(&mut self, mut picker: Picker, action: Action) -> Effect {
        match action {
            Action::Up => picker.move_by(-1),
            Action::Down => picker.move_by(1),
            Action::Cancel => return Effect::None,
            Action::QuitNow => return self.quit(),
            Action::Confirm => {
                let Some(chosen) = picker.chosen().map(|item| item.value.clone()) else {
                    return Effect::None;
                };
                return self.picked(picker.purpose, chosen);
            }
            _ => {}
        }
        self.dialog = Some(Dialog::Picker(picker));
        Effect::None
    }

    fn picked(&mut self, purpose: PickPurpose, chosen: String) -> Effect {
        let command = match purpose {
            PickPurpose::Worker => {
                let Some(worker) = WorkerKind::ALL.into_iter().find(|w| w.stem() == chosen) else {
                    return Effect::None;
                };
                let Some(kind) = worker.target_kind() else {
                    return Effect::Command(Command::Spawn { worker, target: None });
                };
                let items: Vec<PickItem> = match &self.source {
                    Source::Own(info) => (info.primitives.iter())
                        .filter(|(_, k)| worker.accepts(*k))
                        .map(|(name, k)| PickItem { value: name.clone(), detail: k.label().to_owned() })
                        .collect(),
                    Source::Attach { .. } | Source::Replay(_) => Vec::new(),
                };
                self.open_picker(PickPurpose::Target(worker), items, kind.label());
                return Effect::None;
            }
            PickPurpose::Target(worker) => Command::Spawn { worker, target: Some(chosen) },
            PickPurpose::SetEvent => Command::SetEvent(chosen),
            PickPurpose::ClearEvent => Command::ClearEvent(chosen),
            PickPurpose::ReleaseLock => Command::ReleaseLock(chosen),
            PickPurpose::Scenario if chosen == BY_PATH => {
                self.dialog = Some(Dialog::Prompt(Prompt {
                    purpose: PromptPurpose::LoadPath,
                    input: String::new(),
                    error: None,
                }));
                return Effect::None;
            }
            PickPurpose::Scenario => Command::Load(chosen),
        };
        Effect::Command(command)
    }

    /// `q` / Ctrl-C: quit now, or ask first when threads would be abandoned.
    pub(crate) fn quit(&mut self) -> Effect {
        if let Some(effect) = self.quit_child() {
            return effect;
        }
        if self.read_only() {
            return Effect::Quit(Vec::new());
        }
        let mut dialog = QuitDialog::default();
        for t in self.snapshot.iter().flat_map(|s| &s.threads) {
            let alive = matches!(t.state, ThreadState::Running | ThreadState::Waiting);
            if alive && t.origin == Origin::Managed {
                let name = t.name.shown().to_owned();
                if t.daemon == Some(true) { dialog.daemons.push(name) } else { dialog.waiting_for.push(name) }
            }
        }
        if dialog.waiting_for.is_empty() {
            return Effect::Quit(dialog.farewell());
        }
        self.dialog = Some(Dialog::Quit(dialog));
        Effect::None
    }

    fn quit_update(&mut self, mut dialog: QuitDialog, action: Action) -> Effect {
        match action {
            Action::QuitNow => return Effect::Quit(dialog.farewell()),
            Action::Cancel => return Effect::None,
            Action::StopAndQuit | Action::Confirm if !dialog.stopping && dialog.stuck.is_empty() => {
                dialog.stopping = true;
                self.dialog = Some(Dialog::Quit(dialog));
                return Effect::Command(Command::StopAll { grace: STOP_GRACE });
            }
            _ => {}
        }
        self.dialog = Some(Dialog::Quit(dialog));
        Effect::None
    }

    /// Takes in the outcome of a command.
    pub(crate) fn report(&mut self, report: Report) -> Effect {
        match report {
            Report::Done { what, result: Ok(message) } => {
                self.note(LogKind::Action, format!("{what}: {message}"))
            }
            Report::Done { what, result: Err(error) } => {
                self.note(LogKind::Error, format!("{what}: {error}"))
            }
            Report::Loaded(info) => {
                let text = format!("loaded scenario {}", safe(&info.name));
                self.source = Source::Own(info);
                self.scenario_changed = true;
                self.note(LogKind::Action, text);
            }
            Report::StoppedAll { stuck } => {
                if let Some(Dialog::Quit(dialog)) = &mut self.dialog {
                    if stuck.is_empty() {
                        return Effect::Quit(vec!["threadscope: every thread stopped".to_owned()]);
                    }
                    dialog.stopping = false;
                    dialog.stuck = stuck.clone();
                }
                for line in &stuck {
                    self.note(LogKind::Error, format!("could not stop {line}"));
                }
            }
        }
        Effect::None
    }
}

/// The first built-in scenario other than `current` that declares a
/// primitive whose label is `kind`, for a hint that leads somewhere.
fn builtin_with(kind: &str, current: &str) -> Option<&'static str> {
    crate::scenario::BUILTINS.iter().filter(|b| b.name != current).map(|b| b.name).find(|name| {
        crate::scenario::builtin(name)
            .and_then(|b| b.load(None).ok())
            .is_some_and(|s| s.primitives.iter().any(|p| p.kind.kind().label() == kind))
    })
}

fn target_of(t: &ThreadView) -> Result<Target, String> {
    match t.origin {
        Origin::Managed => Ok(Target {
            key: t.key,
            name: String::from_utf8_lossy(t.name.raw()).into_owned(),
            daemon: t.daemon.unwrap_or(false),
        }),
        Origin::Inspector => {
            Err(format!("{} is threadscope's own thread: it is not part of the workload", t.name))
        }
        Origin::Foreign => {
            Err(format!("{} is not a library thread: threadscope only acts on threads it started", t.name))
        }
    }
}

fn confirm_prompt(prompt: &Prompt) -> Result<Command, String> {
    match &prompt.purpose {
        // Python takes any str as a name, the empty one included.
        PromptPurpose::Rename { key, name } => {
            Ok(Command::Rename { key: *key, from: name.clone(), to: prompt.input.clone() })
        }
        PromptPurpose::LoadPath => {
            let path = prompt.input.trim();
            if path.is_empty() {
                return Err("type the path of a .toml scenario file".to_owned());
            }
            Ok(Command::Load(path.to_owned()))
        }
        PromptPurpose::Join { key, name } => {
            let timeout = crate::scenario::units::parse_duration(prompt.input.trim())?;
            Ok(Command::Join { key: *key, name: name.clone(), timeout })
        }
        PromptPurpose::Seek => Err("seeking is not a command".to_owned()),
    }
}
