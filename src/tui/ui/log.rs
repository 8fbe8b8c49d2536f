//! The log screen: newest at the bottom, following new entries unless
//! scrolled back.

use super::super::app::App;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let entries = &app.log.entries;
    if entries.is_empty() {
        buf.set_stringn(area.x, area.y, "nothing logged yet", usize::from(area.width), theme.dim());
        return;
    }
    let height = usize::from(area.height);
    let end = entries.len().saturating_sub(app.log.back);
    let start = end.saturating_sub(height);
    for (line, entry) in entries.range(start..end).enumerate() {
        let row = Line::from(vec![
            Span::styled(format!("{:>8.1}s ", entry.at.as_secs_f64()), theme.dim()),
            Span::styled(format!("{:<8}", entry.kind.tag()), theme.log(entry.kind)),
            Span::raw(entry.text.as_str()),
        ]);
        buf.set_line(area.x, area.y + line as u16, &row, area.width);
    }
    if app.log.back > 0 && area.height > 0 {
        let text = format!(" ↓ {} newer (End follows) ", app.log.back);
        let x = area.right().saturating_sub(text.chars().count() as u16);
        buf.set_stringn(x, area.bottom() - 1, text, usize::from(area.width), theme.paused());
    }
}
