//! Dialogs drawn over the screens: prompts, pickers and the quit dialog.
//! (The filter prompt lives in the status line.)

use super::super::app::App;
use super::super::child::ChildQuit;
use super::super::dialog::{Dialog, LISTED, Picker, Prompt, QuitDialog};
use super::super::words::{fit, fit_middle, wrap};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};
use unicode_width::UnicodeWidthStr;

pub(super) fn render(app: &App, dialog: &Dialog, area: Rect, buf: &mut Buffer) {
    // Inside the border and a column of margin each side.
    let room = Room {
        width: usize::from(area.width.saturating_sub(4)).min(MAX_LINE),
        height: usize::from(area.height.saturating_sub(2)),
    };
    let lines = match dialog {
        Dialog::Filter => return,
        Dialog::Prompt(prompt) => prompt_lines(app, prompt),
        Dialog::Picker(picker) => picker_lines(app, picker),
        Dialog::Quit(quit) => quit_lines(app, quit, room),
        Dialog::Child(child) => child_lines(app, child, room),
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

/// The text a dialog may take on this screen.
#[derive(Clone, Copy)]
struct Room {
    width: usize,
    height: usize,
}

fn child_lines(app: &App, child: &ChildQuit, room: Room) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let key = |k: &'static str, what: &'static str| {
        Line::from(vec![Span::styled(k, theme.key()), Span::styled(what, theme.text())])
    };
    // What matters first; a long command is cut in its middle, where a
    // path is least telling.
    let said = format!("Still running (pid {}): ", child.pid);
    let room = room.width.saturating_sub(said.chars().count());
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

/// The quit dialog: what still runs, then each key on its own line. On a
/// short screen the lists give up rows first (ending `… and N more`),
/// then the blank line; the keys always show.
fn quit_lines(app: &App, quit: &QuitDialog, room: Room) -> Vec<Line<'static>> {
    let theme = &app.theme;
    if quit.stopping {
        let text = "Asking every thread to stop and waiting for them…";
        return wrap(text, room.width).into_iter().map(|l| Line::styled(l, theme.warning())).collect();
    }
    let key = |k: &'static str, what: &'static str| {
        Line::from(vec![Span::styled(format!("{k:<4}"), theme.key()), Span::raw(what)])
    };
    let mut keys = Vec::new();
    if quit.stuck.is_empty() {
        keys.push(key("s", "stop them cooperatively and wait"));
    }
    keys.push(key("q", "quit now, abandoning them without cleanup"));
    keys.push(key("Esc", "stay"));
    let body_room = room.height.saturating_sub(keys.len());
    let body = (1..=LISTED)
        .rev()
        .map(|rows| quit_body(app, quit, room.width, rows))
        .find(|body| body.len() < body_room)
        .map(|mut body| {
            body.push(Line::raw(""));
            body
        })
        .unwrap_or_else(|| {
            let mut body = quit_body(app, quit, room.width, 1);
            body.truncate(body_room);
            body
        });
    body.into_iter().chain(keys).collect()
}

/// What the quit dialog says still runs, each list in at most `rows` rows.
fn quit_body(app: &App, quit: &QuitDialog, width: usize, rows: usize) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let prose = |text: &str, style: Style| -> Vec<Line<'static>> {
        wrap(text, width).into_iter().map(|l| Line::styled(l, style)).collect()
    };
    let mut lines = Vec::new();
    if quit.stuck.is_empty() {
        let text = format!(
            "{} non-daemon thread(s) still running; Python would wait for them at exit:",
            quit.waiting_for.len()
        );
        lines.extend(prose(&text, theme.text()));
        let names = name_rows(&quit.waiting_for, width, rows);
        lines.extend(names.into_iter().map(|row| Line::styled(row, theme.warning())));
    } else {
        lines.extend(prose("These threads could not be stopped:", theme.error()));
        let rows = rows.clamp(1, LISTED);
        let shown = if quit.stuck.len() > rows { rows - 1 } else { quit.stuck.len() };
        for line in &quit.stuck[..shown] {
            lines.push(Line::styled(format!("  {}", fit(line, width.saturating_sub(2))), theme.warning()));
        }
        if quit.stuck.len() > shown {
            lines.push(Line::styled(format!("  … and {} more", quit.stuck.len() - shown), theme.warning()));
        }
    }
    if !quit.daemons.is_empty() {
        lines.extend(prose("Daemon threads are abandoned at exit in any case:", theme.dim()));
        let names = name_rows(&quit.daemons, width, rows);
        lines.extend(names.into_iter().map(|row| Line::styled(row, theme.dim())));
    }
    lines
}

/// `names` (the first [`LISTED`] at most) joined with commas and wrapped
/// into at most `rows` rows `width` wide, each indented by two; as many
/// as fit, then how many more: `… and N more`.
fn name_rows(names: &[String], width: usize, rows: usize) -> Vec<String> {
    let room = width.saturating_sub(2).max(1);
    let layout = |take: usize| {
        let more = names.len() - take;
        let mut words: Vec<String> = names[..take]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let comma = if i + 1 < take { "," } else { "" };
                format!("{}{comma}", fit(name, room.saturating_sub(comma.len())))
            })
            .collect();
        if more > 0 {
            words.push(if take == 0 { format!("{more} threads") } else { format!("… and {more} more") });
        }
        let mut out: Vec<String> = Vec::new();
        for word in words {
            match out.last_mut() {
                Some(row) if row.width() + 1 + word.width() <= room => {
                    row.push(' ');
                    row.push_str(&word);
                }
                _ => out.push(fit(&word, room).into_owned()),
            }
        }
        out
    };
    let rows = (0..=names.len().min(LISTED)).rev().map(layout).find(|out| out.len() <= rows.max(1));
    rows.unwrap_or_default().into_iter().map(|row| format!("  {row}")).collect()
}
