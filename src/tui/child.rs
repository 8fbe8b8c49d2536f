//! `threadscope exec`: the program the TUI runs as its child. What the app
//! knows of it ([`ChildState`]), Ctrl-C (forwarded to it), its exit (said
//! in the header and the log), and the quit dialog that asks whether to
//! stop it or leave it running. The loop (`run.rs`) does the signalling.

use super::Action;
use super::action::Effect;
use super::app::App;
use super::dialog::Dialog;
use super::event::LogKind;

/// The child, as the app knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildState {
    /// Its pid.
    pub pid: u32,
    /// Its command line (sanitized).
    pub command: String,
    /// How it ended (`exited with status 3`), once it has.
    pub exited: Option<String>,
}

/// The quit dialog while the child runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildQuit {
    /// Its pid.
    pub pid: u32,
    /// Its command line (sanitized).
    pub command: String,
}

impl App {
    /// Watches `pid`, run as threadscope's child (`exec`).
    pub fn set_child(&mut self, pid: u32, command: &str) {
        self.child = Some(ChildState { pid, command: command.to_owned(), exited: None });
    }

    /// The child, when the app runs one.
    pub fn child(&self) -> Option<&ChildState> {
        self.child.as_ref()
    }

    /// The child has ended: said in the log and the status line, kept for
    /// the header.
    pub(crate) fn child_exited(&mut self, how: String) {
        let Some(child) = self.child.as_mut() else { return };
        let text = format!("`{}` (pid {}) {how}", child.command, child.pid);
        child.exited = Some(how);
        self.note(LogKind::Info, text);
    }

    /// Ctrl-C: the child's while it runs (as in a shell); otherwise quit.
    pub(crate) fn interrupt(&mut self) -> Effect {
        match &self.child {
            Some(child) if child.exited.is_none() => Effect::Interrupt,
            _ => self.quit(),
        }
    }

    /// `q` while the child runs: ask whether to stop it.
    pub(crate) fn quit_child(&mut self) -> Option<Effect> {
        let child = self.child.as_ref()?;
        if let Some(how) = &child.exited {
            let line = format!("threadscope: `{}` (pid {}) {how}", child.command, child.pid);
            return Some(Effect::Quit(vec![line]));
        }
        self.dialog = Some(Dialog::Child(ChildQuit { pid: child.pid, command: child.command.clone() }));
        Some(Effect::None)
    }

    pub(crate) fn child_quit_update(&mut self, dialog: ChildQuit, action: Action) -> Effect {
        match action {
            Action::StopAndQuit | Action::Confirm => Effect::QuitChild { stop: true },
            Action::QuitNow => Effect::QuitChild { stop: false },
            Action::Cancel => Effect::None,
            _ => {
                self.dialog = Some(Dialog::Child(dialog));
                Effect::None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::screen_text;
    use super::super::{Event, Source, fixtures};
    use super::*;
    use std::time::Instant;

    fn exec_app() -> App {
        let mut app = fixtures::app(0, 120, 40, Instant::now());
        app.source = Source::Attach { pid: 4242 };
        app.set_child(4242, "python3 app.py");
        app
    }

    #[test]
    fn ctrl_c_goes_to_the_running_child_and_quits_once_it_has_ended() {
        let mut app = exec_app();
        assert_eq!(app.update(Action::Interrupt), Effect::Interrupt);
        app.handle_event(Event::ChildExited("exited with status 3".into()));
        assert_eq!(app.child().unwrap().exited.as_deref(), Some("exited with status 3"));
        assert!(
            app.log
                .entries
                .iter()
                .any(|e| e.text.contains("`python3 app.py` (pid 4242) exited with status 3"))
        );
        let Effect::Quit(lines) = app.update(Action::Interrupt) else { panic!("quits") };
        assert_eq!(lines, ["threadscope: `python3 app.py` (pid 4242) exited with status 3"]);
    }

    #[test]
    fn without_a_child_ctrl_c_quits_as_before() {
        let mut app = fixtures::app(0, 120, 40, Instant::now());
        app.source = Source::Attach { pid: 7 };
        assert_eq!(app.update(Action::Interrupt), Effect::Quit(Vec::new()));
    }

    #[test]
    fn a_long_command_is_cut_in_its_middle_not_what_the_dialog_says() {
        let mut app = fixtures::app(0, 120, 40, Instant::now());
        app.source = Source::Attach { pid: 4242 };
        let long = format!("python3 /{}/lock_held.py", "very-long-directory".repeat(8));
        app.set_child(4242, &long);
        app.update(Action::Quit);
        let text = screen_text(&app, 120, 40);
        let line = text.lines().find(|l| l.contains("Still running (pid 4242): `python3 /very")).unwrap();
        assert!(line.contains("lock_held.py`"), "the end of the command stays: {line}");
    }

    /// `exec python3 prog.py` at 80×24: the command and the agent's line
    /// give way before the thread count does.
    #[test]
    fn at_80_columns_an_exec_header_keeps_the_thread_count() {
        let mut app = fixtures::app(0, 120, 40, Instant::now());
        app.source = Source::Attach { pid: 15121 };
        app.set_child(15121, &format!("python3 /home/someone/{}/prog.py", "projects".repeat(3)));
        let threads = app.snapshot.as_ref().unwrap().threads.len();
        app.agent_about = Some("agent: python 3.11.7 (pid 15121)".into());
        let wide = screen_text(&app, 200, 40);
        let header = wide.lines().next().unwrap();
        assert!(header.contains("agent: python 3.11.7") && header.contains("prog.py"), "{header}");
        for width in [80, 70] {
            let text = screen_text(&app, width, 24);
            let header = text.lines().next().unwrap();
            assert!(header.contains(&format!("{threads} threads:")), "{width}: {header}");
            assert!(header.contains("exec python") && header.contains("(pid 15121, read-only)"), "{header}");
        }
    }

    #[test]
    fn q_asks_whether_to_stop_the_child_or_leave_it_running() {
        let mut app = exec_app();
        assert_eq!(app.update(Action::Quit), Effect::None);
        assert!(matches!(app.dialog, Some(Dialog::Child(_))));
        let text = screen_text(&app, 120, 40);
        assert!(text.contains("Still running (pid 4242): `python3 app.py`"), "{text}");
        assert!(text.contains("exec python3 app.py (pid 4242, read-only)"), "{text}");
        assert_eq!(app.update(Action::Down), Effect::None, "other keys keep it open");
        assert_eq!(app.update(Action::StopAndQuit), Effect::QuitChild { stop: true });
        app.update(Action::Quit);
        assert_eq!(app.update(Action::QuitNow), Effect::QuitChild { stop: false });
        app.update(Action::Quit);
        assert_eq!(app.update(Action::Cancel), Effect::None);
        assert!(app.dialog.is_none());
    }

    #[test]
    fn the_header_says_how_the_child_ended() {
        let mut app = exec_app();
        app.handle_event(Event::ChildExited("killed by SIGSEGV".into()));
        let text = screen_text(&app, 120, 40);
        assert!(text.contains(" KILLED BY SIGSEGV "), "{text}");
    }
}
