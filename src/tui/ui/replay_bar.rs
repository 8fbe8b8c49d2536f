//! The replay's timeline: the whole recording as a bar with a cursor at
//! the sample shown, with play state, speed and time — beside the tabs, or
//! on a row of its own under them where the tabs leave too little room.

use super::super::app::App;
use super::super::replay::ReplayState;
use super::super::words;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// The narrowest bar worth drawing.
const MIN_BAR: u16 = 10;
/// The widest bar drawn.
const MAX_BAR: u16 = 60;

/// Draws the timeline into `area`, right-aligned: the play state, speed,
/// time and position, then the bar in what is left. Where they do not all
/// fit, the bar goes first, then the recording's length, then the time.
pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(replay) = &app.replay else { return };
    let theme = &app.theme;
    let forms = [Form::Full, Form::NoSpan, Form::Position];
    let Some(text) = forms.iter().map(|&form| text(replay, form, false)).find(|t| width(t) < area.width)
    else {
        return;
    };
    let bar_width = (area.width - width(&text) - 1).min(MAX_BAR);
    let mut spans = vec![Span::styled(text, theme.paused())];
    if bar_width >= MIN_BAR {
        spans.push(Span::styled(bar(replay.position, replay.len, usize::from(bar_width)), theme.dim()));
    }
    let line = Line::from(spans);
    let width = line.width() as u16;
    buf.set_line(area.right().saturating_sub(width), area.y, &line, width);
}

/// The columns the whole text needs (as it is at the recording's end, so
/// the layout does not move as the numbers grow); 0 when not replaying.
pub(super) fn needed(app: &App) -> u16 {
    app.replay.as_ref().map_or(0, |replay| width(&text(replay, Form::Full, true)) + 1)
}

/// How much the text says.
#[derive(Clone, Copy)]
enum Form {
    /// ` ▶ 1× 0:00:04 / 0:00:09  5/10 `
    Full,
    /// ` ▶ 1× 0:00:04  5/10 `
    NoSpan,
    /// ` ▶ 1× 5/10 `
    Position,
}

fn text(replay: &ReplayState, form: Form, at_end: bool) -> String {
    let mark = if replay.playing { "▶" } else { "❚❚" };
    let speed = replay.speed_word();
    let (at, position) = if at_end { (replay.span, replay.len) } else { (replay.at, replay.position + 1) };
    let (at, span, len) = (words::clock(at), words::clock(replay.span), replay.len);
    match form {
        Form::Full => format!(" {mark} {speed} {at} / {span}  {position}/{len} "),
        Form::NoSpan => format!(" {mark} {speed} {at}  {position}/{len} "),
        Form::Position => format!(" {mark} {speed} {position}/{len} "),
    }
}

fn width(text: &str) -> u16 {
    text.chars().count() as u16
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
