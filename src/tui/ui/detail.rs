//! The detail pane: every library and kernel field of the selected thread.

use super::super::app::App;
use super::super::words::{self, safe};
use crate::inspect::{Origin, ThreadView};
use crate::kernel::{Field, describe_state};
use crate::threading::ThreadState;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let thread = app.selected_thread();
    let title = thread.map_or_else(|| " no thread selected ".to_owned(), |t| format!(" {} ", t.name));
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme.dim())
        .title(Span::styled(title, theme.heading()))
        .title(Span::styled(" Enter hides ", theme.dim()));
    // Where a runtime's view comes from, said where it is shown.
    let about = thread.and_then(|t| t.runtime.as_ref()?.about.as_deref());
    let block = match about {
        Some(about) => block.title(Span::styled(format!(" {} ", safe(about)), theme.dim())),
        None => block,
    };
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(t) = thread else { return };
    let mut pairs = library(app, t);
    let native = app.stack_of(t.key);
    let pending = app.stacks_pending.contains(&t.key);
    if native.is_none()
        && !pending
        && let Some(hint) = stack_hint(app, t)
    {
        pairs.push(("stack", hint.to_owned()));
    }
    let kernel = kernel(t, app.snapshot().and_then(|s| s.system.uptime_ms));
    let [left, right] =
        columns(inner.width, &pairs, &kernel).map(|(x, width)| Rect { x: inner.x + x, width, ..inner });
    if t.runtime.is_none() && native.is_none() && !pending {
        draw_pairs(app, &pairs, left, buf);
    } else {
        let rows = (pair_lines(&pairs, left.width).len() as u16).min(left.height / 2);
        let [top, bottom] = Layout::vertical([Constraint::Length(rows), Constraint::Fill(1)]).areas(left);
        draw_pairs(app, &pairs, top, buf);
        let [first, second] = match (&t.runtime, native.is_some() || pending) {
            (Some(_), true) => Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(bottom),
            _ => [bottom, Rect::default()],
        };
        if let Some(runtime) = &t.runtime {
            super::stack::render(app, runtime, first, buf);
        }
        let native_area = if t.runtime.is_some() { second } else { first };
        match native {
            Some((view, at)) => super::stack::render_native(app, view, *at, native_area, buf),
            None => super::stack::render_pending(app, native_area, buf),
        }
    }
    draw_pairs(app, &kernel, right, buf);
}

/// Width of a label and the space after it.
const LABEL: usize = 11;

/// The two columns' offsets and widths in `width` cells: the split, from
/// 35 % to 65 %, that leaves the taller column shortest once long values
/// wrap (nearest 55 % among equals), so a value wraps only when both
/// sides are full.
fn columns(width: u16, left: &[(&'static str, String)], right: &[(&'static str, String)]) -> [(u16, u16); 2] {
    let tallest =
        |left_width: u16| pair_lines(left, left_width).len().max(pair_lines(right, width - left_width).len());
    let even = width * 55 / 100;
    // Drawn every frame: the search only when the usual split wraps (when
    // it does not, it is the search's answer: fewest lines, nearest 55 %).
    let fits = |pairs: &[(&'static str, String)], w: u16| pair_lines(pairs, w).len() == pairs.len();
    if fits(left, even) && fits(right, width - even) {
        return [(0, even), (even, width - even)];
    }
    let left_width =
        (width * 35 / 100..=width * 65 / 100).min_by_key(|&w| (tallest(w), w.abs_diff(even))).unwrap_or(even);
    [(0, left_width), (left_width, width - left_width)]
}

/// Each pair as lines at most `width` cells wide: the label right-aligned,
/// a value too long for the line wrapped under itself rather than cut.
fn pair_lines(pairs: &[(&'static str, String)], width: u16) -> Vec<(Option<&'static str>, String)> {
    use unicode_width::UnicodeWidthStr;
    let room = usize::from(width).saturating_sub(LABEL).max(8);
    let mut lines = Vec::new();
    for (label, value) in pairs {
        if value.width() <= room {
            lines.push((Some(*label), value.clone()));
            continue;
        }
        for (i, part) in wrap_value(value, room).into_iter().enumerate() {
            lines.push(((i == 0).then_some(*label), part));
        }
    }
    lines
}

/// Breaks a value at its ` · ` separators where it can, at spaces inside
/// a part that is itself too long, so `user 770 ms` stays on one line.
fn wrap_value(value: &str, room: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for part in value.split(" · ") {
        let joined = if line.is_empty() { part.width() } else { line.width() + 3 + part.width() };
        if joined <= room {
            if !line.is_empty() {
                line.push_str(" · ");
            }
            line.push_str(part);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line) + " ·");
        }
        let mut parts = wrap_words(part, room);
        line = parts.pop().unwrap_or_default();
        lines.extend(parts);
    }
    lines.push(line);
    lines
}

/// Breaks `text` at spaces into lines of at most `room` cells; a word
/// wider than that (a path, a long name) is broken across lines, not cut.
fn wrap_words(text: &str, room: usize) -> Vec<String> {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.width() + 1 + word.width() > room {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        for c in word.chars() {
            if line.width() + c.width().unwrap_or(0) > room && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    lines.push(line);
    lines
}

/// What the stack key would show for `t`, when it would show anything.
fn stack_hint(app: &App, t: &ThreadView) -> Option<&'static str> {
    if t.state == ThreadState::Terminated || t.native_id.is_none() {
        return None;
    }
    match &app.source {
        crate::tui::Source::Attach { .. } => {
            Some("b: its native stack (stops this one thread for a moment, measured and shown)")
        }
        crate::tui::Source::Own(_) if t.wait_backtrace.is_some() => {
            Some("b: the native stack where this wait began")
        }
        crate::tui::Source::Own(_) | crate::tui::Source::Replay(_) => None,
    }
}

/// Draws `pairs` wrapped to `area`; when they need more rows than it has,
/// the last row says how many lines are not shown.
fn draw_pairs(app: &App, pairs: &[(&'static str, String)], area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let lines = pair_lines(pairs, area.width);
    let rows = usize::from(area.height);
    let shown = if lines.len() > rows { rows.saturating_sub(1) } else { lines.len() };
    for (i, (label, value)) in lines.iter().take(shown).enumerate() {
        let label = label.unwrap_or("");
        let line =
            Line::from(vec![Span::styled(format!("{label:>10} "), theme.dim()), Span::raw(value.as_str())]);
        super::fitted::set_line_fitted(buf, area.x, area.y + i as u16, &line, area.width);
    }
    if shown < lines.len() {
        let more = format!("{:>10} {} more lines: a taller terminal shows them", "…", lines.len() - shown);
        super::fitted::set_line_fitted(
            buf,
            area.x,
            area.y + shown as u16,
            &Line::styled(more, theme.dim()),
            area.width,
        );
    }
}

fn library(app: &App, t: &ThreadView) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let daemon = t.daemon.map_or_else(|| "—".to_owned(), |d| if d { "yes".into() } else { "no".into() });
    out.push((
        "thread",
        format!("{} · {} · daemon {daemon}", words::state_word(t.state), words::origin_word(t.origin)),
    ));
    let no_ident = match (t.origin, t.state) {
        (Origin::Foreign, _) => "— (not a threadscope library thread: the kernel's view only)",
        (_, ThreadState::Created) => "— (not started)",
        _ => "— (unknown)",
    };
    out.push(("ident", t.ident.map_or_else(|| no_ident.to_owned(), |i| format!("0x{i:x}  ({i})"))));
    if let Some(w) = &t.waiting_on {
        let snapshot = app.snapshot.as_ref();
        let primitive =
            |id: u64| snapshot.and_then(|s| app.primitive_index.get(&id).map(|&i| &s.primitives[i]));
        out.push(("waits on", words::waits_on(t, primitive, &app.shared_names).full()));
        if let Some(waited) = w.waited {
            out.push(("since", format!("{} ago", words::human(waited))));
        }
        if let Some(note) = w.primitive.and_then(&primitive).and_then(|p| p.owner_note.as_deref()) {
            out.push(("owner", safe(note).into_owned()));
        }
    } else if let Some(outcome) = words::outcome(t.outcome.as_ref()) {
        out.push(("outcome", outcome));
    }
    if let Some(crate::threading::Outcome::Panicked { location: Some(at), .. }) = &t.outcome {
        out.push(("at", safe(at).into_owned()));
    }
    if !t.holds.is_empty() {
        let holds: Vec<String> = t.holds.iter().map(|h| safe(&h.name).into_owned()).collect();
        out.push(("holds", holds.join(", ")));
    }
    if let Some(s) = &t.time_in_state {
        out.push((
            "time in",
            format!(
                "created {} · running {} · waiting {}",
                words::human(s.created),
                words::human(s.running),
                words::human(s.waiting)
            ),
        ));
    }
    if let Some(p) = app.progress.get(String::from_utf8_lossy(t.name.raw()).as_ref()) {
        let label = if p.step_label.is_empty() { "—".to_owned() } else { safe(&p.step_label).into_owned() };
        out.push(("step", format!("#{} {label} · {} loops · {} ops", p.step + 1, p.loops, p.ops)));
        if let Some(error) = &p.last_task_error {
            out.push(("task error", format!("{} failed: {}", p.failed_tasks, safe(error))));
        }
    }
    if let Some(raw) = &t.name_raw {
        out.push(("raw name", format!("{raw:?}")));
    }
    out
}

fn kernel(t: &ThreadView, uptime_ms: Option<u64>) -> Vec<(&'static str, String)> {
    let Some(k) = &t.kernel else {
        return vec![("kernel", "not in /proc (not started, or ended)".to_owned())];
    };
    let field = |f: &Field<u64>| f.value().map_or_else(|| "—".to_owned(), u64::to_string);
    let mut out = vec![
        ("tid", k.tid.to_string()),
        (
            "comm",
            format!("{}{}", k.comm, words::comm(t).filter(|c| c.1).map_or("", |_| "  (cut by the kernel)")),
        ),
        ("state", format!("{} ({})", k.state, describe_state(k.state))),
        ("wchan", words::wchan(t).unwrap_or_else(|| "—".to_owned())),
        (
            "cpu",
            format!(
                "{} · on CPU {} · user {} ms · sys {} ms",
                match &k.cpu_percent {
                    crate::kernel::Field::Available(c) => format!("{c:.1}%"),
                    crate::kernel::Field::Unavailable(why) => format!("— ({})", why.describe()),
                },
                k.processor,
                k.utime_ms,
                k.stime_ms
            ),
        ),
        (
            "ctxt",
            format!(
                "{} voluntary · {} involuntary",
                field(&k.voluntary_ctxt_switches),
                field(&k.nonvoluntary_ctxt_switches)
            ),
        ),
        ("sched", format!("priority {} · nice {}", k.priority, k.nice)),
        (
            "started",
            k.age(uptime_ms).map_or_else(
                || "— (not in this sample: a recording made before start times were kept)".to_owned(),
                |age| format!("{} ago (by the kernel)", words::human(age)),
            ),
        ),
    ];
    if let Some(ranges) = k.cpus_allowed.value() {
        let text: Vec<String> =
            ranges.iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
        out.push(("affinity", text.join(",")));
    }
    if let Some(wait) = &k.wait {
        out.push(("kernel says", safe(wait).into_owned()));
    }
    if let Some(Some(futex)) = k.futex.value() {
        out.push(("futex", safe(futex).into_owned()));
    }
    if let Some(raw) = &k.comm_raw {
        out.push(("raw comm", format!("{raw:?}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_wrap_at_their_separators_and_nothing_is_cut() {
        let value = "0.0% · on CPU 1 · user 770 ms · sys 50 ms";
        assert_eq!(wrap_value(value, 30), ["0.0% · on CPU 1 · user 770 ms ·", "sys 50 ms"]);
        assert_eq!(wrap_value(value, 60), [value]);
        let long = "— (not a threadscope library thread: the kernel's view only)";
        let lines = pair_lines(&[("ident", long.to_owned())], 11 + 20);
        assert_eq!(lines[0].0, Some("ident"));
        assert!(lines[1..].iter().all(|(label, _)| label.is_none()));
        let words: Vec<&str> = lines.iter().flat_map(|(_, line)| line.split(' ')).collect();
        assert_eq!(words.join(" "), long);
        let path = "/home/someone/projects/a-rather-long-directory-name/src/main.rs:42";
        let lines = wrap_value(path, 20);
        assert!(lines.iter().all(|line| line.chars().count() <= 20), "{lines:?}");
        assert_eq!(lines.concat(), path, "a long word is broken, not cut");
    }

    #[test]
    fn a_column_that_needs_less_gives_its_room_to_the_other() {
        let short = [("tid", "4001".to_owned())];
        let long = [("waits on", "lock fork-1 ← held by Philosopher-1 3s".to_owned())];
        let [(_, left), (x, right)] = columns(80, &long, &short);
        assert_eq!(x, left);
        assert_eq!(left + right, 80);
        assert_eq!(pair_lines(&long, left).len(), 1, "the long value has room beside a short one");
        let [(_, even), _] = columns(80, &short, &short);
        assert_eq!(even, 44, "nothing to wrap: the usual 55 %");
    }
}
