//! The locks screen: every primitive with its holders, waiters in order and
//! statistics, then the wait-for graph as text with cycles highlighted.

use super::super::app::App;
use super::super::words::{self, fit, human, safe};
use super::scrolled_lines;
use crate::inspect::{PrimitiveView, Snapshot, ThreadLink};
use crate::threading::{ThreadState, WaitKind};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use std::collections::HashSet;

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(snapshot) = &app.snapshot else { return };
    let lines = lines(app, snapshot, area.width);
    scrolled_lines(&lines, app.scroll.locks, area, buf);
}

fn lines<'a>(app: &App, snapshot: &'a Snapshot, width: u16) -> Vec<Line<'a>> {
    let theme = &app.theme;
    // Cycle members by identity: a same-named thread outside the cycle is not lit.
    let cycle_threads: HashSet<u64> =
        snapshot.deadlocks.iter().flat_map(|d| &d.threads).map(|t| t.key).collect();
    let cycle_primitives: HashSet<u64> =
        snapshot.deadlocks.iter().flat_map(|d| &d.primitives).map(|p| p.id).collect();
    let shared = &app.shared_names;
    let mut out = Vec::new();
    let name_w = snapshot.primitives.iter().map(|p| p.name.chars().count()).max().unwrap_or(0).clamp(9, 24);
    let people_w = usize::from(width).saturating_sub(name_w + 12 + 9 + 24 + 5) / 2;
    out.push(Line::styled(
        format!(
            "{:<name_w$} {:<12} {:<people_w$} {:<people_w$} {:>8} {:>7} {:>7} {:>8}",
            "PRIMITIVE", "KIND", "HOLDERS", "WAITERS (in order)", "HELD FOR", "ACQ", "CONT", "WAITED"
        ),
        theme.table_header(false),
    ));
    if snapshot.primitives.is_empty() {
        out.push(Line::styled(
            "no primitives (of another process, only the futexes its threads sleep on show here)",
            theme.dim(),
        ));
    }
    for p in &snapshot.primitives {
        let style = if cycle_primitives.contains(&p.id) { theme.cycle() } else { Style::new() };
        out.push(Line::styled(primitive_row(p, name_w, people_w, shared), style));
        // Kind-specific gauges (a queue's depth, an event's flag) on a line
        // of their own, where they are not cut to a column's width.
        if let Some(note) = p.owner_note.as_deref().filter(|_| p.holders.is_empty()) {
            out.push(Line::styled(format!("{:name_w$}   {}", "", safe(note)), theme.dim()));
        }
        if !p.details.is_empty() {
            let gauges: Vec<String> = p.details.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push(Line::styled(format!("{:name_w$}   {}", "", gauges.join("  ")), theme.dim()));
        }
    }

    out.push(Line::raw(""));
    out.push(Line::styled("Wait-for graph: thread ──▶ what it waits on ──▶ who holds it", theme.heading()));
    let mut any = false;
    for t in snapshot.threads.iter().filter(|t| t.state == ThreadState::Waiting) {
        let Some(w) = &t.waiting_on else { continue };
        if w.kind == WaitKind::Sleep || w.kind.is_system_call() {
            continue;
        }
        any = true;
        let cycle =
            cycle_threads.contains(&t.key) && w.primitive.is_some_and(|id| cycle_primitives.contains(&id));
        let edge = if cycle { theme.cycle() } else { theme.dim() };
        let mut spans = vec![
            Span::raw("  "),
            Span::styled(
                words::who(&t.link(), shared),
                if cycle { theme.cycle() } else { theme.state(t.state) },
            ),
            Span::styled(format!(" ──{}──▶ ", safe(w.role.as_deref().unwrap_or("waits"))), edge),
            Span::styled(
                format!("{} {}", w.kind, safe(&w.name)),
                if cycle { theme.cycle() } else { Style::new() },
            ),
        ];
        match w.holders.as_slice() {
            [] => {
                let note =
                    w.primitive.and_then(|id| snapshot.primitive(id)).and_then(|p| p.owner_note.as_deref());
                let text =
                    note.map_or_else(|| "  (nobody holds it)".to_owned(), |n| format!("  ({})", safe(n)));
                spans.push(Span::styled(text, theme.dim()));
            }
            holders => {
                let verb = if w.kind == WaitKind::Join {
                    " ──until it ends"
                } else {
                    " ──held by──▶ "
                };
                spans.push(Span::styled(verb, edge));
                if w.kind != WaitKind::Join {
                    spans.push(Span::styled(
                        words::whom(holders, shared),
                        if cycle { theme.cycle() } else { Style::new() },
                    ));
                }
            }
        }
        if let Some(waited) = w.waited {
            spans.push(Span::styled(format!("  waiting for {}", human(waited)), theme.dim()));
        }
        if cycle {
            spans.push(Span::styled("  ⟲ cycle", theme.cycle()));
        }
        out.push(Line::from(spans));
    }
    if !any {
        out.push(Line::styled("  nobody waits on a primitive", theme.dim()));
    }
    for (i, d) in snapshot.deadlocks.iter().enumerate() {
        let mut cycle: Vec<String> = d.names();
        if let Some(first) = cycle.first().cloned() {
            cycle.push(first);
        }
        out.push(Line::raw(""));
        out.push(Line::styled(format!("DEADLOCK {}: {}", i + 1, cycle.join(" → ")), theme.cycle()));
        out.push(Line::styled(format!("  {}", d.describe_with(|t| words::who(t, shared))), theme.warning()));
    }
    out
}

fn primitive_row(p: &PrimitiveView, name_w: usize, people_w: usize, shared: &HashSet<String>) -> String {
    let names =
        |list: &[ThreadLink]| if list.is_empty() { "—".to_owned() } else { words::whom(list, shared) };
    let held = p.stats.held_for.map_or_else(|| "—".to_owned(), human);
    let mut kind = p.kind.label().to_owned();
    if let Some(related) = &p.related {
        kind = format!("{kind} on {}", safe(&related.name));
    }
    let holders = names(&p.holders);
    format!(
        "{:<name_w$} {:<12} {:<people_w$} {:<people_w$} {:>8} {:>7} {:>7} {:>8}",
        fit(&safe(&p.name), name_w),
        fit(&kind, 12),
        fit(&holders, people_w),
        fit(&names(&p.waiters), people_w),
        held,
        p.stats.acquisitions,
        p.stats.contentions,
        human(p.stats.total_wait),
    )
}
