//! The help screen, generated from the keymap, with a legend and the
//! scenario's notes.

use super::super::app::{App, Source};
use super::super::keymap::Group;
use super::super::words::safe;
use super::scrolled_lines;
use crate::threading::ThreadState;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    scrolled_lines(&lines(app), app.scroll.help, area, buf);
}

/// The help text, one line each (also what `docs/user-guide.md` pastes).
pub(crate) fn lines(app: &App) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let mut out = Vec::new();
    let mut group: Option<Group> = None;
    for (g, keys, help) in app.keymap.help_lines() {
        if group != Some(g) {
            if group.is_some() {
                out.push(Line::raw(""));
            }
            out.push(Line::styled(g.title(), theme.heading()));
            group = Some(g);
        }
        out.push(Line::from(vec![Span::styled(format!("  {keys:<18}"), theme.key()), Span::raw(help)]));
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Mouse", theme.heading()));
    out.push(Line::raw(
        "  click a tab to show it, a row to select it, a column header to sort by it; the wheel scrolls",
    ));
    out.push(Line::raw(""));
    out.push(Line::styled("Legend", theme.heading()));
    let mut states = vec![Span::raw("  states: ")];
    for state in [ThreadState::Created, ThreadState::Running, ThreadState::Waiting, ThreadState::Terminated] {
        states.push(Span::styled(format!("{state:?} "), theme.state(state)));
    }
    states.push(Span::raw("· K: the kernel's state letter (R running, S sleeping, D disk, Z zombie)"));
    out.push(Line::from(states));
    out.push(Line::from(vec![
        Span::raw("  names: ours · "),
        Span::styled("threadscope's own", theme.inspector()),
        Span::raw(" · "),
        Span::styled("foreign (unknown to the library)", theme.foreign()),
        Span::raw(" · COMM "),
        Span::styled("ending in …", theme.truncated()),
        Span::raw(": the kernel cut the name to 15 bytes"),
    ]));
    out.push(Line::raw(
        "  D: daemon · CTXT: voluntary/involuntary context switches · AGE: time since created",
    ));
    if let Source::Own(info) = &app.source
        && !info.notes.trim().is_empty()
    {
        out.push(Line::raw(""));
        out.push(Line::styled(format!("About the scenario {}", safe(&info.name)), theme.heading()));
        for line in info.notes.lines() {
            out.push(Line::raw(format!("  {}", safe(line))));
        }
    }
    out
}
