//! The log screen: newest at the bottom, following new entries unless
//! scrolled back.

use super::super::app::App;
use super::super::words::wrap;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// The time and kind before each entry's text, in columns.
const PREFIX: usize = 18;

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let entries = &app.log.entries;
    if entries.is_empty() {
        buf.set_stringn(area.x, area.y, "nothing logged yet", usize::from(area.width), theme.dim());
        return;
    }
    let height = usize::from(area.height);
    let end = entries.len().saturating_sub(app.log.back);
    // Each entry wraps under its text; rows are gathered from the newest
    // back until the screen is full.
    let text_width = usize::from(area.width).saturating_sub(PREFIX).max(8);
    let mut rows: Vec<Line<'_>> = Vec::with_capacity(height);
    for entry in entries.range(..end).rev() {
        let wrapped = wrap(&entry.text, text_width);
        for (i, text) in wrapped.into_iter().enumerate().rev() {
            let row = if i == 0 {
                Line::from(vec![
                    Span::styled(format!("{:>8.1}s ", entry.at.as_secs_f64()), theme.dim()),
                    Span::styled(format!("{:<8}", entry.kind.tag()), theme.log(entry.kind)),
                    Span::raw(text),
                ])
            } else {
                Line::from(vec![Span::raw(" ".repeat(PREFIX)), Span::raw(text)])
            };
            rows.push(row);
        }
        if rows.len() >= height {
            break;
        }
    }
    for (line, row) in rows.iter().take(height).rev().enumerate() {
        buf.set_line(area.x, area.y + line as u16, row, area.width);
    }
    if app.log.back > 0 && area.height > 0 {
        let text = format!(" ↓ {} newer (End follows) ", app.log.back);
        let x = area.right().saturating_sub(text.chars().count() as u16);
        buf.set_stringn(x, area.bottom() - 1, text, usize::from(area.width), theme.paused());
    }
}
