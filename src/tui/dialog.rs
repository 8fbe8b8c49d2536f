//! The modal states: the filter prompt, text prompts, pickers and the quit
//! dialog. Only data and small edits here; what confirming one does is in
//! [`App`](super::App)'s actions.

use crate::scenario::WorkerKind;

/// What is open on top of the screens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dialog {
    /// Typing a filter (the table follows as you type).
    Filter,
    /// Typing a value.
    Prompt(Prompt),
    /// Choosing from a list.
    Picker(Picker),
    /// Quitting while threads still run.
    Quit(QuitDialog),
    /// Quitting while the program run as threadscope's child still runs.
    Child(super::child::ChildQuit),
}

/// A one-line text prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    /// What the value is for.
    pub purpose: PromptPurpose,
    /// The text typed so far.
    pub input: String,
    /// Why the last value was refused.
    pub error: Option<String>,
}

/// What a prompt asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptPurpose {
    /// A new name for a thread.
    Rename {
        /// Registry id.
        key: u64,
        /// Its name now.
        name: String,
    },
    /// The path of a scenario file to load.
    LoadPath,
    /// A join timeout.
    Join {
        /// Registry id.
        key: u64,
        /// Its name.
        name: String,
    },
    /// A time in the recording to go to (replay).
    Seek,
}

impl Prompt {
    /// The prompt's title.
    pub fn title(&self) -> String {
        match &self.purpose {
            PromptPurpose::Rename { name, .. } => format!("Rename {}", crate::display::sanitize(name)),
            PromptPurpose::LoadPath => "Load a scenario file — its path (e.g. demos/my-demo.toml)".to_owned(),
            PromptPurpose::Join { name, .. } => {
                format!("Join {} — timeout (e.g. 1s, 500ms)", crate::display::sanitize(name))
            }
            PromptPurpose::Seek => "Go to a time after the first sample (e.g. 90s, 2m)".to_owned(),
        }
    }
}

/// The scenario picker's last item: type a path instead of choosing.
pub const BY_PATH: &str = "a .toml file…";

/// A list to choose from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picker {
    /// What the choice is for.
    pub purpose: PickPurpose,
    /// The choices.
    pub items: Vec<PickItem>,
    /// The highlighted one.
    pub selected: usize,
}

/// One choice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickItem {
    /// What is chosen (a name).
    pub value: String,
    /// A word about it.
    pub detail: String,
}

/// What a picker chooses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickPurpose {
    /// The kind of worker to spawn.
    Worker,
    /// The primitive the worker uses.
    Target(WorkerKind),
    /// The event to set.
    SetEvent,
    /// The event to clear.
    ClearEvent,
    /// The lock to release.
    ReleaseLock,
    /// The scenario to load.
    Scenario,
}

impl PickPurpose {
    /// The picker's title.
    pub fn title(self) -> String {
        match self {
            PickPurpose::Worker => "Spawn a worker".to_owned(),
            PickPurpose::Target(worker) => {
                format!(
                    "Spawn a {} on which {}?",
                    worker.stem(),
                    worker.target_kind().map_or("primitive", |k| k.label())
                )
            }
            PickPurpose::SetEvent => "Set which event?".to_owned(),
            PickPurpose::ClearEvent => "Clear which event?".to_owned(),
            PickPurpose::ReleaseLock => "Release which lock (from the UI thread)?".to_owned(),
            PickPurpose::Scenario => "Load a scenario (the current one is stopped)".to_owned(),
        }
    }
}

impl Picker {
    /// Moves the highlight by `delta`, wrapping.
    pub fn move_by(&mut self, delta: isize) {
        let n = self.items.len();
        if n > 0 {
            self.selected = (self.selected as isize + delta).rem_euclid(n as isize) as usize;
        }
    }

    /// The highlighted choice.
    pub fn chosen(&self) -> Option<&PickItem> {
        self.items.get(self.selected)
    }
}

/// The quit dialog.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuitDialog {
    /// Non-daemon threads still running: Python would wait for them.
    pub waiting_for: Vec<String>,
    /// Daemon threads still running: abandoned at exit in any case.
    pub daemons: Vec<String>,
    /// True while they are being stopped.
    pub stopping: bool,
    /// After stopping: the threads that could not be stopped, with why.
    pub stuck: Vec<String>,
}

/// How many names or lines a list shows before it says how many more.
pub const LISTED: usize = 8;

/// `names`, the first [`LISTED`] of them, then how many more: a scenario
/// of 2,000 threads must not print 2,000 names.
pub fn summarise(names: &[String]) -> String {
    let mut text = names.iter().take(LISTED).map(String::as_str).collect::<Vec<_>>().join(", ");
    let more = names.len().saturating_sub(LISTED);
    if more > 0 {
        text.push_str(&format!(" … and {more} more"));
    }
    text
}

impl QuitDialog {
    /// The lines printed after the terminal is restored when quitting now.
    pub fn farewell(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.stuck.is_empty() {
            out.push(format!(
                "threadscope: abandoned {} thread(s) that could not be stopped, without their cleanup:",
                self.stuck.len()
            ));
            out.extend(self.stuck.iter().take(LISTED).map(|line| format!("  {line}")));
            if self.stuck.len() > LISTED {
                out.push(format!("  … and {} more", self.stuck.len() - LISTED));
            }
        } else if !self.waiting_for.is_empty() {
            out.push(format!(
                "threadscope: abandoned {} non-daemon thread(s) without their cleanup: {}",
                self.waiting_for.len(),
                summarise(&self.waiting_for)
            ));
        }
        if !self.daemons.is_empty() {
            out.push(format!(
                "threadscope: abandoned {} daemon thread(s), as Python does at exit: {}",
                self.daemons.len(),
                summarise(&self.daemons)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pickers_wrap() {
        let item = |v: &str| PickItem { value: v.into(), detail: String::new() };
        let mut picker =
            Picker { purpose: PickPurpose::Scenario, items: vec![item("a"), item("b")], selected: 0 };
        picker.move_by(-1);
        assert_eq!(picker.chosen().map(|i| i.value.as_str()), Some("b"));
        picker.move_by(1);
        assert_eq!(picker.selected, 0);
    }

    #[test]
    fn quitting_two_thousand_threads_summarises_them() {
        let names: Vec<String> = (0..2000).map(|i| format!("Storm-{i}")).collect();
        let stuck: Vec<String> = names.iter().map(|n| format!("{n}: still running")).collect();
        let quit = QuitDialog { waiting_for: names.clone(), daemons: names, ..QuitDialog::default() };
        let farewell = quit.farewell();
        assert_eq!(farewell.len(), 2);
        assert!(farewell[0].starts_with("threadscope: abandoned 2000 non-daemon thread(s)"), "{farewell:?}");
        assert!(farewell[0].ends_with("Storm-7 … and 1992 more"), "{farewell:?}");
        assert!(farewell[1].ends_with("Storm-7 … and 1992 more"), "{farewell:?}");
        let quit = QuitDialog { stuck, ..QuitDialog::default() };
        let farewell = quit.farewell();
        assert_eq!(farewell.len(), 1 + LISTED + 1);
        assert_eq!(farewell.last().unwrap(), "  … and 1992 more");
    }
}
