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
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(inner);
    let mut pairs = library(app, t);
    let native = app.stack_of(t.key);
    let pending = app.stacks_pending.contains(&t.key);
    if native.is_none()
        && !pending
        && let Some(hint) = stack_hint(app, t)
    {
        pairs.push(("stack", hint.to_owned()));
    }
    if t.runtime.is_none() && native.is_none() && !pending {
        draw_pairs(app, &pairs, left, buf);
    } else {
        let rows = (pairs.len() as u16).min(left.height / 2);
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
    draw_pairs(app, &kernel(t), right, buf);
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

fn draw_pairs(app: &App, pairs: &[(&'static str, String)], area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    for (i, (label, value)) in pairs.iter().take(usize::from(area.height)).enumerate() {
        let line =
            Line::from(vec![Span::styled(format!("{label:>10} "), theme.dim()), Span::raw(value.as_str())]);
        buf.set_line(area.x, area.y + i as u16, &line, area.width);
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
        out.push(("waits on", words::waits_on(t, primitive, &app.shared_names)));
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

fn kernel(t: &ThreadView) -> Vec<(&'static str, String)> {
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
    ];
    if let Some(ranges) = k.cpus_allowed.value() {
        let text: Vec<String> =
            ranges.iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
        out.push(("affinity", text.join(",")));
    }
    if let Some(wait) = &k.wait {
        out.push(("kernel says", safe(wait).into_owned()));
    }
    if let Some(futex) = &k.futex {
        out.push(("futex", safe(futex).into_owned()));
    }
    if let Some(raw) = &k.comm_raw {
        out.push(("raw comm", format!("{raw:?}")));
    }
    out
}
