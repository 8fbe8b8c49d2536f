//! The timeline: each thread's state over the last minute as a bar (the way
//! VisualVM draws it), with the share of time in each state. Rows follow
//! the threads table's filter, order and selection.

use super::super::app::App;
use super::super::table::visible_offset;
use super::super::words::fit;
use crate::inspect::Segment;
use crate::inspect::history::HISTORY_SPAN;
use crate::threading::ThreadState;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use std::time::Duration;

const NAME_WIDTH: u16 = 22;
const SHARE_WIDTH: u16 = 24;
const STATES: [ThreadState; 4] =
    [ThreadState::Running, ThreadState::Waiting, ThreadState::Created, ThreadState::Terminated];

/// The glyph for a state, so the bars read without colour too.
fn glyph(state: ThreadState) -> &'static str {
    match state {
        ThreadState::Running => "█",
        ThreadState::Waiting => "▒",
        ThreadState::Created => "░",
        ThreadState::Terminated => "·",
    }
}

fn letter(state: ThreadState) -> char {
    match state {
        ThreadState::Running => 'R',
        ThreadState::Waiting => 'W',
        ThreadState::Created => 'C',
        ThreadState::Terminated => 'T',
    }
}

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let bar_width = area.width.saturating_sub(NAME_WIDTH + SHARE_WIDTH + 2);
    let bar_x = area.x + NAME_WIDTH + 1;
    let share_x = bar_x + bar_width + 1;
    let mut legend = vec![Span::styled(
        format!("{:<w$}", "THREAD", w = usize::from(NAME_WIDTH)),
        theme.table_header(false),
    )];
    legend.push(Span::raw(" "));
    let axis = axis(usize::from(bar_width));
    legend.push(Span::styled(axis, theme.dim()));
    buf.set_line(area.x, area.y, &Line::from(legend), area.width);
    let mut key = Vec::new();
    for state in STATES {
        key.push(Span::styled(glyph(state), theme.state_bar(state)));
        key.push(Span::styled(format!("{} ", letter(state)), theme.dim()));
    }
    buf.set_line(share_x, area.y, &Line::from(key), SHARE_WIDTH);

    let Some(snapshot) = &app.snapshot else { return };
    let now = app.sampled_at.unwrap_or(app.now);
    let height = usize::from(area.height.saturating_sub(1));
    let rows = &app.table.rows;
    let offset = visible_offset(app.table.offset, app.table.selected, height, rows.len());
    for (line, &index) in rows.iter().skip(offset).take(height).enumerate() {
        let y = area.y + 1 + line as u16;
        let t = &snapshot.threads[index];
        let selected = offset + line == app.table.selected;
        let name_style = if selected { theme.selected() } else { theme.state(t.state) };
        buf.set_stringn(
            area.x,
            y,
            timeline_name(t, &app.shared_names, usize::from(NAME_WIDTH)),
            usize::from(NAME_WIDTH),
            name_style,
        );
        let segments = app.history.segments(t.key, now, HISTORY_SPAN);
        for cell in 0..bar_width {
            let ago = cell_time(cell, bar_width);
            if let Some(state) = state_at(&segments, ago) {
                buf.set_stringn(bar_x + cell, y, glyph(state), 1, theme.state_bar(state));
            }
        }
        let shares = crate::inspect::history::shares_of(&segments);
        let mut spans = Vec::new();
        for state in STATES {
            let share = shares[state_index(state)];
            if share > 0.0 {
                spans.push(Span::styled(
                    format!("{}{:.0}% ", letter(state), share * 100.0),
                    theme.state(state),
                ));
            }
        }
        buf.set_line(share_x, y, &Line::from(spans), SHARE_WIDTH);
    }
}

/// "-60s … -30s … now", spread over `width` cells.
/// A row's name, `width` wide; a name two threads share ends in its TID.
fn timeline_name(
    t: &crate::inspect::ThreadView,
    shared: &std::collections::HashSet<String>,
    width: usize,
) -> String {
    let name = t.name.shown();
    match t.native_id.filter(|_| shared.contains(name)) {
        Some(tid) => super::super::words::name_with_tid(name, tid, width),
        None => fit(name, width).into_owned(),
    }
}

fn axis(width: usize) -> String {
    if width < 12 {
        return " ".repeat(width);
    }
    let mut cells = vec![' '; width];
    let mut put = |at: usize, text: &str| {
        for (i, c) in text.chars().enumerate() {
            if let Some(cell) = cells.get_mut(at + i) {
                *cell = c;
            }
        }
    };
    put(0, "-60s");
    put(width / 2 - 2, "-30s");
    put(width - 3, "now");
    cells.into_iter().collect()
}

/// How long ago the middle of `cell` is, on a bar `width` cells wide.
fn cell_time(cell: u16, width: u16) -> Duration {
    let span = HISTORY_SPAN.as_secs_f64();
    let ago = span * (f64::from(width - cell) - 0.5) / f64::from(width.max(1));
    Duration::from_secs_f64(ago.max(0.0))
}

fn state_at(segments: &[Segment], ago: Duration) -> Option<ThreadState> {
    segments.iter().find(|s| s.from_ago >= ago && s.until_ago <= ago).map(|s| s.state)
}

fn state_index(state: ThreadState) -> usize {
    match state {
        ThreadState::Created => 0,
        ThreadState::Running => 1,
        ThreadState::Waiting => 2,
        ThreadState::Terminated => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_map_to_the_last_minute() {
        assert!(cell_time(0, 60) > Duration::from_secs(59));
        assert!(cell_time(59, 60) < Duration::from_secs(1));
        let segments = [
            Segment {
                state: ThreadState::Running,
                from_ago: Duration::from_secs(10),
                until_ago: Duration::from_secs(4),
            },
            Segment {
                state: ThreadState::Waiting,
                from_ago: Duration::from_secs(4),
                until_ago: Duration::ZERO,
            },
        ];
        assert_eq!(state_at(&segments, Duration::from_secs(5)), Some(ThreadState::Running));
        assert_eq!(state_at(&segments, Duration::from_secs(1)), Some(ThreadState::Waiting));
        assert_eq!(state_at(&segments, Duration::from_secs(30)), None);
        assert_eq!(axis(20).len(), 20);
    }
}
