//! The keymap as data: which key means which [`Action`], with the text the
//! help screen shows. The help screen is generated from it, so it cannot
//! drift from what the keys do.

use super::action::{Action, Jump, ReplayAction, Tab};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::fmt;

/// A key with its modifiers (Shift is part of the character for letters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Ctrl and Alt (Shift only for non-character keys such as Tab).
    pub modifiers: KeyModifiers,
}

impl Key {
    /// A key without modifiers.
    pub const fn plain(code: KeyCode) -> Self {
        Self { code, modifiers: KeyModifiers::NONE }
    }

    /// A character key.
    pub const fn char(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    /// Ctrl + a character.
    pub const fn ctrl(c: char) -> Self {
        Self { code: KeyCode::Char(c), modifiers: KeyModifiers::CONTROL }
    }

    /// The key of a terminal event, normalised: Shift folded into
    /// characters, BackTab kept as it is.
    pub fn from_event(event: &KeyEvent) -> Self {
        let modifiers = match event.code {
            KeyCode::Char(_) | KeyCode::BackTab => {
                event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT)
            }
            _ => event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT),
        };
        Self { code: event.code, modifiers }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if self.modifiers.contains(KeyModifiers::CONTROL) => {
                write!(f, "{}", c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The help screen's sections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    /// Moving between screens and rows.
    Navigate,
    /// Sorting, filtering, showing.
    View,
    /// Acting on the workload.
    Act,
    /// In prompts, pickers and dialogs.
    Dialog,
    /// Recording, the flight recorder, and moving through a replay.
    Record,
    /// Leaving.
    Quit,
}

impl Group {
    /// Every group, in help order.
    pub const ALL: [Group; 6] =
        [Group::Navigate, Group::View, Group::Act, Group::Record, Group::Dialog, Group::Quit];

    /// Its heading.
    pub fn title(self) -> &'static str {
        match self {
            Group::Navigate => "Navigate",
            Group::View => "View",
            Group::Act => "Act on the workload (not when attached)",
            Group::Dialog => "In prompts, pickers and dialogs",
            Group::Record => "Record and replay",
            Group::Quit => "Quit",
        }
    }
}

/// One binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The keys (all mean the same).
    pub keys: Vec<Key>,
    /// What they do.
    pub action: Action,
    /// The help text.
    pub help: &'static str,
    /// The help section.
    pub group: Group,
}

/// Key → action, for the main screens and for dialogs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    /// Bindings on the screens.
    pub normal: Vec<Binding>,
    /// Bindings inside prompts, pickers and the quit dialog (typed
    /// characters go to the prompt).
    pub dialog: Vec<Binding>,
}

fn bind(keys: &[Key], action: Action, help: &'static str, group: Group) -> Binding {
    Binding { keys: keys.to_vec(), action, help, group }
}

impl Default for Keymap {
    fn default() -> Self {
        use Group::*;
        use KeyCode as K;
        let p = Key::plain;
        let c = Key::char;
        let mut normal = vec![
            bind(&[p(K::Tab), p(K::Right)], Action::NextTab, "next screen", Navigate),
            bind(&[p(K::BackTab), p(K::Left)], Action::PrevTab, "previous screen", Navigate),
        ];
        for (i, tab) in Tab::ALL.iter().enumerate().take(6) {
            let digit = char::from(b'1' + i as u8);
            normal.push(bind(&[c(digit)], Action::ShowTab(*tab), tab.title(), Navigate));
        }
        normal.extend([
            bind(&[c('?'), p(K::F(1))], Action::ShowTab(Tab::Help), "this help", Navigate),
            bind(&[p(K::Up)], Action::Up, "select / scroll up", Navigate),
            bind(&[p(K::Down)], Action::Down, "select / scroll down", Navigate),
            bind(&[p(K::PageUp)], Action::PageUp, "page up", Navigate),
            bind(&[p(K::PageDown)], Action::PageDown, "page down", Navigate),
            bind(&[p(K::Home)], Action::Home, "first row", Navigate),
            bind(&[p(K::End)], Action::End, "last row (the log follows new entries)", Navigate),
            bind(&[c('/')], Action::Filter, "filter threads (name, comm, state, waits on, TID)", View),
            bind(&[c('s')], Action::SortNext, "sort by the next column", View),
            bind(&[c('S')], Action::SortPrev, "sort by the previous column", View),
            bind(&[c('o')], Action::SortReverse, "reverse the sort order", View),
            bind(&[p(K::Enter)], Action::ToggleDetail, "show / hide the detail pane", View),
            bind(
                &[c('p'), c(' ')],
                Action::TogglePause,
                "pause / resume sampling (replay: play / pause)",
                View,
            ),
            bind(
                &[c('b')],
                Action::TakeStack,
                "native stack of the selected thread (stops it for a moment, measured; never while sampling)",
                View,
            ),
            bind(&[c('{')], Action::StackUp, "scroll the detail pane's stacks up a frame", View),
            bind(&[c('}')], Action::StackDown, "scroll the detail pane's stacks down a frame", View),
            bind(&[c('n')], Action::Spawn, "spawn a worker (palette)", Act),
            bind(&[c('g')], Action::Start, "start the selected Created thread", Act),
            bind(&[c('x')], Action::Stop, "stop the selected thread (cooperatively)", Act),
            bind(&[c('j')], Action::Join, "join the selected thread with a timeout", Act),
            bind(&[c('r')], Action::Rename, "rename the selected thread (kernel comm follows)", Act),
            bind(&[c('d')], Action::ToggleDaemon, "toggle daemon (refused once started, as in Python)", Act),
            bind(&[c('e')], Action::SetEvent, "set an event", Act),
            bind(&[c('E')], Action::ClearEvent, "clear an event", Act),
            bind(&[c('u')], Action::ReleaseLock, "release a lock from another thread", Act),
            bind(&[c('i')], Action::InterruptMain, "interrupt_main(): SIGINT to the main thread", Act),
            bind(&[c('l')], Action::LoadScenario, "load another scenario", Act),
            bind(
                &[c('R')],
                Action::ToggleRecording,
                "start / stop recording to a file (REC in the header)",
                Record,
            ),
            bind(&[c('W')], Action::DumpFlight, "write the flight recorder's last minutes now", Record),
            bind(&[c(',')], Action::Replay(ReplayAction::StepBack), "replay: one sample back", Record),
            bind(&[c('.')], Action::Replay(ReplayAction::StepForward), "replay: one sample forward", Record),
            bind(&[c('[')], Action::Replay(ReplayAction::Slower), "replay: slower (down to ¼×)", Record),
            bind(&[c(']')], Action::Replay(ReplayAction::Faster), "replay: faster (up to 8×)", Record),
            bind(&[c('t')], Action::Replay(ReplayAction::Seek), "replay: go to a time", Record),
            bind(
                &[c('f')],
                Action::Replay(ReplayAction::Next(Jump::Finding)),
                "replay: next finding",
                Record,
            ),
            bind(
                &[c('F')],
                Action::Replay(ReplayAction::Previous(Jump::Finding)),
                "replay: previous finding",
                Record,
            ),
            bind(
                &[c('k')],
                Action::Replay(ReplayAction::Next(Jump::Deadlock)),
                "replay: next deadlock",
                Record,
            ),
            bind(
                &[c('K')],
                Action::Replay(ReplayAction::Previous(Jump::Deadlock)),
                "replay: previous deadlock",
                Record,
            ),
            bind(
                &[c('>')],
                Action::Replay(ReplayAction::Next(Jump::StateChange)),
                "replay: next state change of the selected thread",
                Record,
            ),
            bind(
                &[c('<')],
                Action::Replay(ReplayAction::Previous(Jump::StateChange)),
                "replay: previous state change of the selected thread",
                Record,
            ),
            bind(
                &[c('q')],
                Action::Quit,
                "quit (running a scenario or a program: asks what to do with it)",
                Quit,
            ),
            bind(
                &[Key::ctrl('c')],
                Action::Interrupt,
                "quit; under `exec`, SIGINT to the program instead",
                Quit,
            ),
            bind(&[Key::ctrl('p')], Action::DebugPanic, "panic (only with THREADSCOPE_TEST_PANIC=1)", Quit),
        ]);
        let dialog = vec![
            bind(&[p(K::Enter)], Action::Confirm, "accept", Dialog),
            bind(&[p(K::Esc)], Action::Cancel, "cancel (in the filter: clear it)", Dialog),
            bind(&[p(K::Up)], Action::Up, "previous choice", Dialog),
            bind(&[p(K::Down)], Action::Down, "next choice", Dialog),
            bind(&[p(K::Backspace)], Action::Backspace, "delete a character", Dialog),
            bind(&[Key::ctrl('u')], Action::ClearInput, "clear what is typed", Dialog),
            bind(&[c('s')], Action::StopAndQuit, "quit dialog: stop the threads, wait, then quit", Dialog),
            bind(&[c('y'), c('q')], Action::QuitNow, "quit dialog: quit now, abandoning them", Dialog),
            bind(&[Key::ctrl('c')], Action::QuitNow, "quit now, from anywhere in a dialog", Dialog),
        ];
        Self { normal, dialog }
    }
}

impl Keymap {
    /// The action for `event` on the screens.
    pub fn normal_action(&self, event: &KeyEvent) -> Option<Action> {
        Self::find(&self.normal, event)
    }

    /// The action for `event` in a dialog; `typing` sends printable
    /// characters to the prompt instead.
    pub fn dialog_action(&self, event: &KeyEvent, typing: bool) -> Option<Action> {
        if typing
            && let KeyCode::Char(ch) = event.code
            && !event.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return Some(Action::Input(ch));
        }
        Self::find(&self.dialog, event)
    }

    fn find(bindings: &[Binding], event: &KeyEvent) -> Option<Action> {
        if event.kind == KeyEventKind::Release {
            return None;
        }
        let key = Key::from_event(event);
        bindings.iter().find(|b| b.keys.contains(&key)).map(|b| b.action.clone())
    }

    /// The keys bound to `action` on the screens, as text (`q, Ctrl-C`).
    pub fn keys_for(&self, action: &Action) -> String {
        self.normal
            .iter()
            .filter(|b| &b.action == action)
            .flat_map(|b| b.keys.iter().map(ToString::to_string))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Every binding as `(group, keys, help)` lines, in help order.
    pub fn help_lines(&self) -> Vec<(Group, String, &'static str)> {
        let mut out = Vec::new();
        for group in Group::ALL {
            for b in self.normal.iter().chain(&self.dialog).filter(|b| b.group == group) {
                let keys = b.keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                out.push((group, keys, b.help));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn shifted_letters_and_ctrl_keys_are_told_apart() {
        let keymap = Keymap::default();
        let shift_s = press(KeyCode::Char('S'), KeyModifiers::SHIFT);
        assert_eq!(keymap.normal_action(&shift_s), Some(Action::SortPrev));
        assert_eq!(
            keymap.normal_action(&press(KeyCode::Char('s'), KeyModifiers::NONE)),
            Some(Action::SortNext)
        );
        assert_eq!(
            keymap.normal_action(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Interrupt)
        );
        assert_eq!(keymap.normal_action(&press(KeyCode::Char('c'), KeyModifiers::NONE)), None);
        assert_eq!(
            keymap.normal_action(&press(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::PrevTab)
        );
    }

    #[test]
    fn prompts_take_characters_but_not_control_keys() {
        let keymap = Keymap::default();
        assert_eq!(
            keymap.dialog_action(&press(KeyCode::Char('q'), KeyModifiers::NONE), true),
            Some(Action::Input('q'))
        );
        assert_eq!(
            keymap.dialog_action(&press(KeyCode::Char('q'), KeyModifiers::NONE), false),
            Some(Action::QuitNow)
        );
        assert_eq!(
            keymap.dialog_action(&press(KeyCode::Char('c'), KeyModifiers::CONTROL), true),
            Some(Action::QuitNow)
        );
        assert_eq!(
            keymap.dialog_action(&press(KeyCode::Esc, KeyModifiers::NONE), true),
            Some(Action::Cancel)
        );
    }

    #[test]
    fn no_key_is_bound_twice() {
        let keymap = Keymap::default();
        for list in [&keymap.normal, &keymap.dialog] {
            let mut seen = std::collections::HashSet::new();
            for key in list.iter().flat_map(|b| &b.keys) {
                assert!(seen.insert(*key), "{key} bound twice");
            }
        }
    }

    #[test]
    fn help_lists_every_binding() {
        let keymap = Keymap::default();
        let lines = keymap.help_lines();
        assert_eq!(lines.len(), keymap.normal.len() + keymap.dialog.len());
        assert!(lines.iter().any(|(_, keys, help)| keys == "q" && help.starts_with("quit")));
        assert!(lines.iter().any(|(_, keys, help)| keys == "Ctrl-C" && help.contains("under `exec`")));
        assert_eq!(keymap.keys_for(&Action::TogglePause), "p, Space");
    }
}
