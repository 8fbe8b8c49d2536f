//! Drawing: read-only views of [`App`]. Each screen is a function from the
//! app and an area to cells in a buffer; nothing here changes state.

mod detail;
mod dialog;
mod fitted;
mod header;
mod help;
mod kernel;
mod locks;
mod locks_table;
mod log;
mod names;
mod replay_bar;
mod stack;
pub(crate) mod threads;
mod timeline;

use super::action::Tab;
use super::app::App;
use super::dialog::Dialog;
use super::layout::{self, MIN_HEIGHT, MIN_WIDTH};
use super::words;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

/// Draws the whole screen into a frame.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let area = frame.area();
    render(app, area, frame.buffer_mut());
}

/// Draws the whole screen into `buf`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(areas) = layout::areas(area, app.layout_flags_at(area.width, area.height)) else {
        too_small(app, area, buf);
        return;
    };
    header::render(app, areas.header, buf);
    tab_bar(app, areas.tabs, buf);
    if let Some(replay) = areas.replay {
        replay_bar::render(app, replay, buf);
    }
    match app.tab {
        Tab::Threads => {
            threads::render(app, areas.table, buf);
            if let Some(detail) = areas.detail {
                detail::render(app, detail, buf);
            }
        }
        Tab::Locks => locks::render(app, areas.body, buf),
        Tab::Timeline => timeline::render(app, areas.body, buf),
        Tab::Names => names::render(app, areas.body, buf),
        Tab::Kernel => kernel::render(app, areas.body, buf),
        Tab::Log => log::render(app, areas.body, buf),
        Tab::Help => help::render(app, areas.body, buf),
    }
    status_line(app, areas.status, buf);
    if let Some(open) = &app.dialog {
        dialog::render(app, open, area, buf);
    }
}

fn too_small(app: &App, area: Rect, buf: &mut Buffer) {
    let keys = if app.dialog.is_some() { "a dialog is open: Esc closes it" } else { "q quits" };
    let text = format!(
        "terminal too small: {}×{} — threadscope needs {MIN_WIDTH}×{MIN_HEIGHT} ({keys})",
        area.width, area.height
    );
    Paragraph::new(text).wrap(Wrap { trim: true }).render(area, buf);
}

fn tab_bar(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let mut x = area.x;
    for (tab, title) in layout::tab_titles() {
        let style = theme.tab(tab == app.tab);
        let (end, _) = buf.set_stringn(x, area.y, &title, usize::from(area.right().saturating_sub(x)), style);
        let key_x = x + 1;
        if key_x < area.right() && tab != app.tab {
            buf.set_stringn(key_x, area.y, &title[1..2], 1, theme.tab_key());
        }
        x = end;
        if x >= area.right() {
            break;
        }
    }
}

fn status_line(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let mut right: Vec<Span<'_>> = Vec::new();
    let rows_tab = app.tab == Tab::Threads || app.tab == Tab::Timeline;
    if rows_tab && area.width < 100 && !app.table.filter.is_empty() {
        // Narrow, the sort gives way; a kept filter never hides unsaid.
        let total = app.snapshot.as_ref().map_or(0, |s| s.threads.len());
        let filter = crate::display::sanitize(&app.table.filter);
        let text = format!(" filter \"{filter}\" · {}/{total} ", app.table.rows.len());
        right.push(Span::styled(text, theme.dim()));
    }
    if rows_tab && area.width >= 100 {
        let sort = match app.table.sort {
            Some(column) => format!("{} {}", column.title(), if app.table.descending { "▼" } else { "▲" }),
            None => format!("creation order{}", if app.table.descending { " ▼" } else { "" }),
        };
        let total = app.snapshot.as_ref().map_or(0, |s| s.threads.len());
        let shown = if app.table.rows.len() == total {
            crate::display::threads(total)
        } else {
            format!("{}/{}", app.table.rows.len(), crate::display::threads(total))
        };
        let shown = if app.table.filter.is_empty() {
            shown
        } else {
            format!("filter \"{}\" · {shown}", crate::display::sanitize(&app.table.filter))
        };
        right.push(Span::styled(format!(" sort: {sort} · {shown} "), theme.dim()));
    }
    let left = match (&app.dialog, app.fresh_status()) {
        (Some(Dialog::Filter), _) => Line::from(vec![
            Span::styled("/", theme.key()),
            Span::raw(format!("{}▏", crate::display::sanitize(&app.table.filter))),
            Span::styled("  Enter keeps · Esc clears", theme.dim()),
        ]),
        // Cut with `…` where it must be: the log (6) has it whole.
        (_, Some((kind, text))) => {
            Line::from(Span::styled(words::fit(text, usize::from(area.width)), theme.log(*kind)))
        }
        (_, None) => hint_line(app),
    };
    // A message wins over the sort indicator: it shows only beside what fits.
    let mut right = Line::from(right);
    let message = app.fresh_status().is_some() && !matches!(app.dialog, Some(Dialog::Filter));
    if message && left.width() + right.width() > usize::from(area.width) {
        right = Line::default();
    }
    let right_width = (right.width() as u16).min(area.width / 2);
    let left_width = area.width.saturating_sub(right_width);
    buf.set_line(area.x, area.y, &left, left_width);
    buf.set_line(area.x + left_width, area.y, &right, right_width);
}

fn hint_line(app: &App) -> Line<'static> {
    let theme = &app.theme;
    let hints: &[(&str, &str)] = if app.replay.is_some() {
        &[
            ("Space", "play"),
            (", .", "step"),
            ("[ ]", "speed"),
            ("t", "seek"),
            ("k", "deadlock"),
            ("?", "help"),
            ("q", "quit"),
        ]
    } else if app.read_only() {
        &[("?", "help"), ("/", "filter"), ("s", "sort"), ("p", "pause"), ("q", "quit")]
    } else {
        &[
            ("?", "help"),
            ("/", "filter"),
            ("s", "sort"),
            ("n", "spawn"),
            ("x", "stop"),
            ("l", "load"),
            ("q", "quit"),
        ]
    };
    let mut spans = Vec::new();
    for (key, what) in hints {
        spans.push(Span::styled(format!(" {key}"), theme.key()));
        spans.push(Span::styled(format!(" {what} "), theme.dim()));
    }
    Line::from(spans)
}

/// Draws `lines` from `scroll` into `area` (clamped so the last page is full).
pub(crate) fn scrolled_lines(lines: &[Line<'_>], scroll: usize, area: Rect, buf: &mut Buffer) {
    let height = usize::from(area.height);
    let first = scroll.min(lines.len().saturating_sub(height));
    for (i, line) in lines.iter().skip(first).take(height).enumerate() {
        fitted::set_line_fitted(buf, area.x, area.y + i as u16, line, area.width);
    }
}

impl App {
    /// The flags the layout depends on, at the app's size.
    pub(crate) fn layout_flags(&self) -> layout::Flags {
        self.layout_flags_at(self.size.0, self.size.1)
    }

    /// The flags the layout depends on, on a `width`×`height` screen.
    pub(crate) fn layout_flags_at(&self, width: u16, height: u16) -> layout::Flags {
        // Attached to another process, the third row says what the deadlock
        // search covers there, so "no deadlock" is never an all-clear.
        // A short screen keeps its rows for the threads: one banner row at
        // the smallest size, up to BANNER_MAX from 24 rows.
        let max = (height.saturating_sub(MIN_HEIGHT) / 4 + 1).min(layout::BANNER_MAX);
        let banner = match header::banner_lines(self, width, max) {
            Some(lines) => lines.len() as u16,
            None => u16::from(matches!(self.source, super::app::Source::Attach { .. })),
        };
        let rows = u16::try_from(self.table.rows.len()).unwrap_or(u16::MAX);
        layout::Flags { tab: self.tab, detail: self.detail, banner, replay: replay_bar::needed(self), rows }
    }
}
