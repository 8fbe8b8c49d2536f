//! The one stack view: what a runtime says of a thread — which runtime, its
//! state word, its stack innermost first — for any runtime that gives a
//! [`RuntimeView`] (a JVM's today; a native unwind or Python frames feed
//! the same shape). Every word comes from the inspected program and is
//! escaped here.

use super::super::app::App;
use super::super::words::safe;
use crate::inspect::runtime::{RuntimeView, StackFrame};
use crate::inspect::{NativeStackView, pause_words};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use std::time::Instant;

/// Label column width, as the detail pane's pairs.
const LABEL: usize = 10;

/// Draws `view` into `area`: a `runtime` line, then the stack.
pub(super) fn render(app: &App, view: &RuntimeView, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let rows = usize::from(area.height);
    if rows == 0 {
        return;
    }
    let state = view.state.as_deref().map(|s| format!(" · {}", safe(s))).unwrap_or_default();
    // The language of the stack, beside the runtime that gave it.
    let language = if view.source == "jvm" && !view.stack.is_empty() { " (java stack)" } else { "" };
    let head = Line::from(vec![
        Span::styled(format!("{:>LABEL$} ", "runtime"), theme.dim()),
        Span::raw(format!("{}{language}{state}", safe(view.source))),
    ]);
    super::fitted::set_line_fitted(buf, area.x, area.y, &head, area.width);
    let skip = app.selected_thread().map_or(0, |t| app.stack_offset(t.key));
    for (i, (first, text)) in stack_lines(&view.stack, rows - 1, skip).into_iter().enumerate() {
        let label = if first { "stack" } else { "" };
        let line = Line::from(vec![
            Span::styled(format!("{label:>LABEL$} "), theme.dim()),
            Span::raw(room_for(&text, area)),
        ]);
        super::fitted::set_line_fitted(buf, area.x, area.y + 1 + i as u16, &line, area.width);
    }
}

/// Draws a native stack taken on demand into `area`: a `native` line with
/// how it was had and what it cost the thread, then the frames.
pub(super) fn render_native(app: &App, view: &NativeStackView, at: Instant, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let rows = usize::from(area.height);
    if rows == 0 {
        return;
    }
    let ago = crate::display::human(app.now.saturating_duration_since(at));
    let about = match (&view.unavailable, view.paused) {
        (Some(why), _) => format!("unavailable: {}", safe(why)),
        (None, Some(paused)) => format!("thread stopped {} to copy it · {ago} ago", pause_words(paused)),
        (None, None) => format!("captured by the thread itself · {ago} ago"),
    };
    let head = Line::from(vec![
        Span::styled(format!("{:>LABEL$} ", "runtime"), theme.dim()),
        Span::raw(format!("{} · {about}", view.source.label())),
    ]);
    super::fitted::set_line_fitted(buf, area.x, area.y, &head, area.width);
    if view.unavailable.is_some() {
        return;
    }
    // Source paths by their last two parts (`foreign_support/mod.rs:62`):
    // the function is what the width is for. JSON and the text dump keep them whole.
    let frames: Vec<StackFrame> = view
        .frames
        .iter()
        .map(|f| StackFrame { location: f.location.as_deref().map(short_path), ..f.clone() })
        .collect();
    let skip = app.selected_thread().map_or(0, |t| app.stack_offset(t.key));
    let mut lines = stack_lines(&frames, rows - 1, skip);
    if let Some(end) = &view.end
        && lines.len() < rows - 1
        && !lines.last().is_some_and(|(_, text)| text.starts_with('…'))
    {
        lines.push((lines.is_empty(), format!("({})", safe(end))));
    }
    for (i, (first, text)) in lines.into_iter().enumerate() {
        let label = if first { "stack" } else { "" };
        let line = Line::from(vec![
            Span::styled(format!("{label:>LABEL$} "), theme.dim()),
            Span::raw(room_for(&text, area)),
        ]);
        super::fitted::set_line_fitted(buf, area.x, area.y + 1 + i as u16, &line, area.width);
    }
}

/// `text` cut with `…` to what is left of `area` after the label, less a
/// cell, so a long frame never runs into the column beside it.
fn room_for(text: &str, area: Rect) -> String {
    crate::tui::words::fit(text, usize::from(area.width).saturating_sub(LABEL + 2)).into_owned()
}

/// `/a/b/c/file.rs:12` as `c/file.rs:12`.
fn short_path(location: &str) -> String {
    let parts: Vec<&str> = location.rsplitn(3, '/').collect();
    match parts.as_slice() {
        [file, dir, _rest] => format!("{dir}/{file}"),
        _ => location.to_owned(),
    }
}

/// The line shown while a stack is being taken.
pub(super) fn render_pending(app: &App, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let line = Line::from(vec![
        Span::styled(format!("{:>LABEL$} ", "runtime"), app.theme.dim()),
        Span::raw("native · taking the stack…"),
    ]);
    super::fitted::set_line_fitted(buf, area.x, area.y, &line, area.width);
}

/// The stack as at most `rows` lines (`true` on the first), escaped: each
/// frame `at function (location)` and its notes, from frame `skip` on
/// (the first row then says how many are above); when it does not fit, the
/// last row says how many frames are left out.
fn stack_lines(stack: &[StackFrame], rows: usize, skip: usize) -> Vec<(bool, String)> {
    let skip = skip.min(stack.len().saturating_sub(1));
    let above = (skip > 0).then(|| format!("↑ {skip} frame{} above ({{ scrolls up)", plural(skip)));
    let rows = rows.saturating_sub(usize::from(above.is_some()));
    let frames: Vec<Vec<String>> = stack[skip..]
        .iter()
        .map(|frame| {
            let at = frame.location.as_deref().map(|l| format!(" ({})", safe(l))).unwrap_or_default();
            let inlined = if frame.inlined { " [inlined]" } else { "" };
            let mut lines = vec![format!("at {}{at}{inlined}", safe(&frame.function))];
            lines.extend(frame.notes.iter().map(|n| format!("  - {}", safe(n))));
            lines
        })
        .collect();
    let mut out: Vec<String> = Vec::new();
    if stack.is_empty() {
        out.push("— (no stack from this runtime)".to_owned());
    } else if frames.iter().map(Vec::len).sum::<usize>() <= rows {
        out = frames.concat();
    } else {
        let budget = rows.saturating_sub(1);
        let mut shown = 0;
        for frame in &frames {
            if out.len() + frame.len() > budget {
                break;
            }
            out.extend(frame.iter().cloned());
            shown += 1;
        }
        if shown == 0 {
            // An innermost frame with more notes than rows: what fits of it.
            out.extend(frames[0].iter().take(budget).cloned());
            shown = 1;
        }
        let more = frames.len() - shown;
        out.push(format!("… {more} more frame{} (}} scrolls down)", plural(more)));
    }
    out.truncate(rows);
    above.into_iter().chain(out).enumerate().map(|(n, text)| (n == 0, text)).collect()
}

/// The plural's `s`, for `n` of something.
fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, notes: &[&str]) -> StackFrame {
        StackFrame {
            function: function.to_owned(),
            location: Some("Worker.java:12".to_owned()),
            notes: notes.iter().map(|n| (*n).to_owned()).collect(),
            ..StackFrame::default()
        }
    }

    #[test]
    fn a_stack_that_fits_is_shown_whole_innermost_first() {
        let stack = [frame("a.B.inner", &["locked <0x1> (a java.lang.Object)"]), frame("a.B.outer", &[])];
        let lines = stack_lines(&stack, 10, 0);
        let text: Vec<&str> = lines.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            text,
            [
                "at a.B.inner (Worker.java:12)",
                "  - locked <0x1> (a java.lang.Object)",
                "at a.B.outer (Worker.java:12)"
            ]
        );
        assert!(lines[0].0 && !lines[1].0);
    }

    #[test]
    fn a_long_stack_is_cut_with_a_count_and_never_mid_frame() {
        let stack: Vec<StackFrame> = (0..20).map(|i| frame(&format!("f{i}"), &["- note"])).collect();
        let lines = stack_lines(&stack, 6, 0);
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert_eq!(lines.last().map(|(_, t)| t.as_str()), Some("… 18 more frames (} scrolls down)"));
        assert_eq!(lines[3].1, "  - - note");
    }

    #[test]
    fn a_scrolled_stack_says_what_is_above_and_stops_at_its_last_frame() {
        let stack: Vec<StackFrame> = (0..20).map(|i| frame(&format!("f{i}"), &[])).collect();
        let text =
            |skip| -> Vec<String> { stack_lines(&stack, 5, skip).into_iter().map(|(_, t)| t).collect() };
        assert_eq!(
            text(3),
            [
                "↑ 3 frames above ({ scrolls up)",
                "at f3 (Worker.java:12)",
                "at f4 (Worker.java:12)",
                "at f5 (Worker.java:12)",
                "… 14 more frames (} scrolls down)"
            ]
        );
        assert_eq!(text(1)[0], "↑ 1 frame above ({ scrolls up)");
        // Past the end, the last frame stays in view.
        assert_eq!(text(99), ["↑ 19 frames above ({ scrolls up)", "at f19 (Worker.java:12)"]);
        assert!(stack_lines(&stack, 5, 3)[0].0, "the first row carries the label");
    }

    #[test]
    fn native_paths_keep_their_last_two_parts() {
        assert_eq!(short_path("/work/x/tests/foreign_support/mod.rs:62"), "foreign_support/mod.rs:62");
        assert_eq!(short_path("./io/read.c:26"), "io/read.c:26");
        assert_eq!(short_path("read.c:26"), "read.c:26");
        assert_eq!(short_path("libc.so.6+0x1f"), "libc.so.6+0x1f");
    }

    #[test]
    fn frames_from_the_program_are_escaped() {
        let stack = [frame("evil\u{1b}[2J.run", &["locked \u{7}"])];
        let lines = stack_lines(&stack, 5, 0);
        assert!(lines.iter().all(|(_, t)| !t.chars().any(char::is_control)), "{lines:?}");
    }

    #[test]
    fn the_detail_pane_shows_the_runtime_its_source_and_the_stack() {
        use crate::inspect::runtime::RuntimeView;
        use crate::tui::event::{Event, Sample};
        use std::time::{Duration, Instant};
        let start = Instant::now();
        let mut app = crate::tui::fixtures::app(0, 120, 40, start);
        let mut snapshot = crate::tui::fixtures::snapshot(0);
        for t in &mut snapshot.threads {
            t.runtime = Some(Box::new(RuntimeView {
                source: "jvm",
                state: Some("BLOCKED (on object monitor)".to_owned()),
                stack: (0..30).map(|i| frame(&format!("Evil\u{1b}]0;x\u{7}.f{i}"), &[])).collect(),
                about: Some(
                    "JVM view via attach (asked of the JVM, as jstack does), at most every 5 s".to_owned(),
                ),
            }));
        }
        let at = start + Duration::from_secs(80);
        app.handle_event(Event::Sample(Box::new(Sample { snapshot, at, progress: Vec::new() })));
        let screen = crate::tui::tests::screen_text(&app, 120, 40);
        assert!(screen.contains("runtime jvm (java stack) · BLOCKED (on object monitor)"), "{screen}");
        assert!(
            screen.contains("JVM view via attach (asked of the JVM, as jstack does), at most every 5 s"),
            "{screen}"
        );
        assert!(screen.contains("stack at Evil"), "{screen}");
        assert!(screen.contains("more frames"), "{screen}");
        assert!(!screen.contains('\u{1b}') && !screen.contains('\u{7}'));
        // The keys scroll the selected thread's stack, and only its.
        let press = |app: &mut crate::tui::App, c| {
            let key = crossterm::event::KeyEvent::new(
                crossterm::event::KeyCode::Char(c),
                crossterm::event::KeyModifiers::NONE,
            );
            app.handle_event(Event::Key(key));
        };
        for _ in 0..3 {
            press(&mut app, '}');
        }
        press(&mut app, '{');
        let screen = crate::tui::tests::screen_text(&app, 120, 40);
        assert!(screen.contains("↑ 2 frames above ({ scrolls up)"), "{screen}");
        assert!(screen.contains(".f2") && !screen.contains(".f1 "), "{screen}");
        app.update(crate::tui::Action::Down);
        let screen = crate::tui::tests::screen_text(&app, 120, 40);
        assert!(!screen.contains("frames above") && screen.contains(".f0"), "{screen}");
    }
}
