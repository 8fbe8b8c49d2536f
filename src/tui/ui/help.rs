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
    scrolled_lines(&lines(app, usize::from(area.width)), app.scroll.help, area, buf);
}

/// The help text, `width` wide: each entry wrapped under its description.
fn lines(app: &App, width: usize) -> Vec<Line<'static>> {
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
        out.extend(hung(Span::styled(format!("  {keys:<18}"), theme.key()), vec![Span::raw(help)], width));
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Mouse", theme.heading()));
    let mouse =
        "click a tab to show it, a row to select it, a column header to sort by it; the wheel scrolls";
    out.extend(hung(Span::raw("  "), vec![Span::raw(mouse)], width));
    out.push(Line::raw(""));
    out.push(Line::styled("Legend", theme.heading()));
    let mut states = Vec::new();
    for state in [ThreadState::Created, ThreadState::Running, ThreadState::Waiting, ThreadState::Terminated] {
        states.push(Span::styled(format!("{state:?} "), theme.state(state)));
    }
    states.push(Span::raw("· K: the kernel's state letter (R running, S sleeping, D disk, Z zombie)"));
    out.extend(hung(Span::raw("  states: "), states, width));
    let names = vec![
        Span::raw("ours · "),
        Span::styled("threadscope's own", theme.inspector()),
        Span::raw(" · "),
        Span::styled("foreign (unknown to the library)", theme.foreign()),
        Span::raw(" · COMM "),
        Span::styled("ending in …", theme.truncated()),
        Span::raw(": the kernel cut the name to 15 bytes"),
    ];
    out.extend(hung(Span::raw("  names: "), names, width));
    let columns = "D: daemon · CTXT: voluntary/involuntary context switches · AGE: time since created";
    out.extend(hung(Span::raw("  "), vec![Span::raw(columns)], width));
    if let Source::Own(info) = &app.source
        && !info.notes.trim().is_empty()
    {
        out.push(Line::raw(""));
        out.push(Line::styled(format!("About the scenario {}", safe(&info.name)), theme.heading()));
        for line in info.notes.lines() {
            out.extend(hung(Span::raw("  "), vec![Span::raw(safe(line).into_owned())], width));
        }
    }
    out
}

/// `prefix`, then `body` wrapped at spaces into `width` columns, its lines
/// after the first hung under where it began.
fn hung(prefix: Span<'static>, body: Vec<Span<'static>>, width: usize) -> Vec<Line<'static>> {
    let indent = prefix.width();
    let room = width.saturating_sub(indent).max(MIN_ROOM);
    let mut lines = Vec::new();
    let mut line = vec![prefix];
    let mut used = 0;
    for (space, word) in words(body) {
        let word_width: usize = word.iter().map(Span::width).sum();
        let space_width = space.as_ref().map_or(0, Span::width);
        if used > 0 && used + space_width + word_width > room {
            lines.push(Line::from(std::mem::replace(&mut line, vec![Span::raw(" ".repeat(indent))])));
            used = 0;
        }
        if used > 0
            && let Some(space) = space
        {
            line.push(space);
            used += space_width;
        }
        line.extend(word);
        used += word_width;
    }
    lines.push(Line::from(line));
    lines
}

/// A description narrower than this is not wrapped any further.
const MIN_ROOM: usize = 20;

/// `spans` as words, each with its styled pieces and the spaces before it.
fn words(spans: Vec<Span<'static>>) -> Vec<(Option<Span<'static>>, Vec<Span<'static>>)> {
    let mut words: Vec<(Option<Span<'static>>, Vec<Span<'static>>)> = Vec::new();
    let mut space: Option<Span<'static>> = None;
    let mut word: Vec<Span<'static>> = Vec::new();
    for span in spans {
        for piece in span.content.split_inclusive(' ') {
            let text = piece.trim_end_matches(' ');
            if !text.is_empty() {
                word.push(Span::styled(text.to_owned(), span.style));
            }
            if text.len() < piece.len() {
                if !word.is_empty() {
                    words.push((space.take(), std::mem::take(&mut word)));
                }
                let spaces = " ".repeat(piece.len() - text.len());
                match &mut space {
                    Some(space) => space.content.to_mut().push_str(&spaces),
                    None => space = Some(Span::styled(spaces, span.style)),
                }
            }
        }
    }
    if !word.is_empty() {
        words.push((space, word));
    }
    words
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::tui::fixtures;
    use std::time::Instant;

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>()).collect()
    }

    #[test]
    fn long_entries_wrap_under_their_description() {
        let app = fixtures::app(0, 80, 24, Instant::now());
        let narrow = text(&lines(&app, 80));
        let wide = text(&lines(&app, 1000));
        assert!(narrow.len() > wide.len());
        assert!(narrow.iter().all(|l| l.chars().count() <= 80), "{narrow:#?}");
        let b = narrow.iter().position(|l| l.starts_with("  b  ")).unwrap();
        assert_eq!(narrow[b + 1], format!("{:20}measured; never while sampling)", ""));
        let mouse = narrow.iter().position(|l| l.starts_with("  click a tab")).unwrap();
        assert_eq!(narrow[mouse + 1], "  wheel scrolls");
        let states = narrow.iter().position(|l| l.starts_with("  states: ")).unwrap();
        assert_eq!(narrow[states + 1], format!("{:10}running, S sleeping, D disk, Z zombie)", ""));
        // Nothing is lost: the same words, in the same order.
        let words =
            |lines: &[String]| lines.join(" ").split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(words(&narrow), words(&wide));
    }
}
