//! The replay's timeline: the whole recording as a bar with a cursor at
//! the sample shown, beside the tabs, with play state, speed and time.

use super::super::app::App;
use super::super::words;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// The narrowest bar worth drawing.
const MIN_BAR: u16 = 10;

/// Draws the timeline into `area` (what is left of the tab row), right-aligned.
pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(replay) = &app.replay else { return };
    let theme = &app.theme;
    let mark = if replay.playing { "▶" } else { "❚❚" };
    let text = format!(
        " {mark} {} {} / {}  {}/{} ",
        replay.speed_word(),
        words::clock(replay.at),
        words::clock(replay.span),
        replay.position + 1,
        replay.len
    );
    let text_width = text.chars().count() as u16;
    if area.width < text_width + 1 {
        return;
    }
    let bar_width = (area.width - text_width - 1).min(60);
    let mut spans = vec![Span::styled(text, theme.paused())];
    if bar_width >= MIN_BAR {
        spans.push(Span::styled(bar(replay.position, replay.len, usize::from(bar_width)), theme.dim()));
    }
    let line = Line::from(spans);
    let width = line.width() as u16;
    buf.set_line(area.right().saturating_sub(width), area.y, &line, width);
}

/// `├───●────┤`, `width` cells, the cursor at `position` of `len`.
fn bar(position: usize, len: usize, width: usize) -> String {
    let inner = width.saturating_sub(2).max(1);
    let cursor = if len <= 1 { 0 } else { position.min(len - 1) * (inner - 1) / (len - 1) };
    let mut out = String::from("├");
    out.extend((0..inner).map(|i| if i == cursor { '●' } else { '─' }));
    out.push('┤');
    out
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn the_cursor_spans_the_bar() {
        assert_eq!(bar(0, 10, 7), "├●────┤");
        assert_eq!(bar(9, 10, 7), "├────●┤");
        assert_eq!(bar(5, 11, 7), "├──●──┤");
        assert_eq!(bar(0, 1, 5), "├●──┤");
    }
}
