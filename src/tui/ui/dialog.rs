//! Dialogs drawn over the screens: prompts, pickers and the quit dialog.
//! (The filter prompt lives in the status line.)

use super::super::app::App;
use super::super::child::ChildQuit;
use super::super::dialog::{Dialog, LISTED, Picker, Prompt, QuitDialog, summarise};
use super::super::words::{fit, fit_middle};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};

pub(super) fn render(app: &App, dialog: &Dialog, area: Rect, buf: &mut Buffer) {
    let lines = match dialog {
        Dialog::Filter => return,
        Dialog::Prompt(prompt) => prompt_lines(app, prompt),
        Dialog::Picker(picker) => picker_lines(app, picker),
        Dialog::Quit(quit) => quit_lines(app, quit),
        Dialog::Child(child) => child_lines(app, child),
    };
    let title = match dialog {
        Dialog::Prompt(prompt) => prompt.title(),
        Dialog::Picker(picker) => picker.purpose.title(),
        Dialog::Quit(_) => "Quit?".to_owned(),
        Dialog::Child(_) => "Quit? The program still runs".to_owned(),
        Dialog::Filter => String::new(),
    };
    let width = lines.iter().map(Line::width).max().unwrap_or(0).max(title.chars().count() + 4) as u16 + 4;
    let height = lines.len() as u16 + 2;
    let popup =
        area.centered(Constraint::Length(width.min(area.width)), Constraint::Length(height.min(area.height)));
    Clear.render(popup, buf);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(app.theme.dialog())
        .title(Span::styled(format!(" {title} "), app.theme.heading()));
    let inner = block.inner(popup);
    block.render(popup, buf);
    for (i, line) in lines.iter().take(usize::from(inner.height)).enumerate() {
        buf.set_line(inner.x + 1, inner.y + i as u16, line, inner.width.saturating_sub(1));
    }
}

fn child_lines(app: &App, child: &ChildQuit) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let key = |k: &'static str, what: &'static str| {
        Line::from(vec![Span::styled(k, theme.key()), Span::styled(what, theme.text())])
    };
    // What matters first; a long command is cut in its middle, where a
    // path is least telling.
    let said = format!("Still running (pid {}): ", child.pid);
    let room = MAX_LINE.saturating_sub(said.chars().count());
    vec![
        Line::styled(format!("{said}{}", fit_middle(&format!("`{}`", child.command), room)), theme.text()),
        key("s  ", "stop it (SIGTERM, then SIGKILL after 2 s) and quit"),
        key("q  ", "quit and leave it running"),
        key("Esc", " stay"),
    ]
}

fn prompt_lines(app: &App, prompt: &Prompt) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let mut lines = vec![Line::from(vec![
        Span::styled("> ", theme.key()),
        Span::raw(format!("{}▏", crate::display::sanitize(&prompt.input))),
    ])];
    if let Some(error) = &prompt.error {
        lines.push(Line::styled(error.clone(), theme.error()));
    }
    lines.push(Line::styled("Enter accepts · Esc cancels", theme.dim()));
    lines
}

/// Lines in dialogs are cut to this width.
const MAX_LINE: usize = 96;

/// At most this many choices are shown at once.
const PICKER_ROWS: usize = 14;

fn picker_lines(app: &App, picker: &Picker) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let label_w = picker.items.iter().map(|i| i.value.chars().count()).max().unwrap_or(0).min(30);
    let first = picker.selected.saturating_sub(PICKER_ROWS - 1);
    let mut lines: Vec<Line<'static>> = picker
        .items
        .iter()
        .enumerate()
        .skip(first)
        .take(PICKER_ROWS)
        .map(|(i, item)| {
            let selected = i == picker.selected;
            let marker = if selected { "▶ " } else { "  " };
            let style = if selected { theme.selected() } else { theme.text() };
            let label = crate::display::sanitize(&item.value);
            Line::from(vec![
                Span::styled(format!("{marker}{:<label_w$}", fit(&label, label_w)), style),
                Span::styled(format!("  {}", fit(&crate::display::sanitize(&item.detail), 70)), theme.dim()),
            ])
        })
        .collect();
    lines.push(Line::styled("↑ ↓ choose · Enter accepts · Esc cancels", theme.dim()));
    lines
}

fn quit_lines(app: &App, quit: &QuitDialog) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let mut lines = Vec::new();
    let list = |names: &[String]| fit(&summarise(names), MAX_LINE).into_owned();
    if quit.stopping {
        lines.push(Line::styled("Asking every thread to stop and waiting for them…", theme.warning()));
        return lines;
    }
    if quit.stuck.is_empty() {
        lines.push(Line::raw(format!(
            "{} non-daemon thread(s) still running; Python would wait for them at exit:",
            quit.waiting_for.len()
        )));
        lines.push(Line::styled(format!("  {}", list(&quit.waiting_for)), theme.warning()));
    } else {
        lines.push(Line::styled("These threads could not be stopped:", theme.error()));
        for line in quit.stuck.iter().take(LISTED) {
            lines.push(Line::styled(format!("  {}", fit(line, MAX_LINE)), theme.warning()));
        }
        if quit.stuck.len() > LISTED {
            let more = format!("  … and {} more", quit.stuck.len() - LISTED);
            lines.push(Line::styled(more, theme.warning()));
        }
    }
    if !quit.daemons.is_empty() {
        lines.push(Line::styled("Daemon threads are abandoned at exit in any case:", theme.dim()));
        lines.push(Line::styled(format!("  {}", list(&quit.daemons)), theme.dim()));
    }
    lines.push(Line::raw(""));
    let mut keys = Vec::new();
    if quit.stuck.is_empty() {
        keys.push(Span::styled("s", theme.key()));
        keys.push(Span::raw(" stop them cooperatively and wait   "));
    }
    keys.push(Span::styled("q", theme.key()));
    keys.push(Span::raw(" quit now, abandoning them without cleanup   "));
    keys.push(Span::styled("Esc", theme.key()));
    keys.push(Span::raw(" stay"));
    lines.push(Line::from(keys));
    lines
}
