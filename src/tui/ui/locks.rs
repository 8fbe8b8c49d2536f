//! The locks screen: every primitive with its holders, waiters in order and
//! statistics, then the wait-for graph as text with cycles highlighted.

use super::super::app::App;
use super::super::words::{self, fit, human, safe};
#[cfg(test)]
use super::locks_table::{LockColumn, cells, fit_whom, names_in};
use super::locks_table::{Needs, kind_text, pad, primitive_row, table};
use super::scrolled_lines;
#[cfg(test)]
use crate::inspect::ThreadLink;
use crate::inspect::{PrimitiveView, Snapshot};
use crate::threading::{PrimitiveKind, ThreadState, WaitKind};
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
    let name_want = snapshot.primitives.iter().map(|p| p.name.chars().count()).max().unwrap_or(0);
    let kind_want = snapshot.primitives.iter().map(|p| kind_text(p).chars().count()).max().unwrap_or(0);
    // The kind's own word is never cut: a lower column goes first.
    let kind_floor = snapshot.primitives.iter().map(|p| p.kind.label().len()).max().unwrap_or(0);
    let counted = snapshot.primitives.iter().any(|p| p.stats.is_available());
    let table = table(width, Needs { name: name_want, kind: kind_want, kind_floor, counted });
    let headings: Vec<String> = table
        .iter()
        .map(|&(col, w)| {
            let title = if col.title().len() <= w { col.title() } else { col.short_title() };
            pad(col, &fit(title, w), w)
        })
        .collect();
    out.push(Line::styled(headings.join(" ").trim_end().to_owned(), theme.table_header(false)));
    if snapshot.primitives.is_empty() {
        out.push(Line::styled(
            "no primitives (of another process, only the futexes its threads sleep on show here)",
            theme.dim(),
        ));
    }
    // Gauges go on a line of their own, just right of the name.
    let indent = table.first().map_or(0, |&(_, w)| w) + 3;
    // What matters first: locks in a deadlock, then the contended, then
    // the held, then the rest (a JVM's idle pool workers each hold one).
    let mut order: Vec<&PrimitiveView> = snapshot.primitives.iter().collect();
    order.sort_by_key(|p| (!cycle_primitives.contains(&p.id), p.waiters.is_empty(), p.holders.is_empty()));
    for p in order {
        let style = if cycle_primitives.contains(&p.id) { theme.cycle() } else { Style::new() };
        out.push(Line::styled(primitive_row(p, &table, shared), style));
        // Kind-specific gauges (a queue's depth, an event's flag) on a line
        // of their own, where they are not cut to a column's width.
        if let Some(note) = p.owner_note.as_deref().filter(|_| p.holders.is_empty()) {
            out.push(Line::styled(format!("{:indent$}{}", "", safe(note)), theme.dim()));
        }
        if !p.details.is_empty() {
            let gauges: Vec<String> = p.details.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push(Line::styled(format!("{:indent$}{}", "", gauges.join("  ")), theme.dim()));
        }
        if let Some(raise) = &p.last_raise {
            out.push(Line::styled(format!("{:indent$}last raised: {}", "", raise.describe()), theme.error()));
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
                // A join waits for its thread to end: nobody "holds" that;
                // a bare futex keeps no owner to say "nobody" of.
                let empty = match w.kind {
                    WaitKind::Join => "  ──until it ends",
                    WaitKind::Primitive(PrimitiveKind::Futex) => "  (its owner, if any, is not recorded)",
                    _ => "  (nobody holds it)",
                };
                let text = note.map_or_else(|| empty.to_owned(), |n| format!("  ({})", safe(n)));
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
        out.extend(wrap_spans(spans, usize::from(width)));
    }
    if !any {
        out.push(Line::styled("  nobody waits on a primitive", theme.dim()));
    }
    for (i, d) in snapshot.deadlocks.iter().enumerate() {
        let mut cycle: Vec<String> = d.names_with(|t| words::who(t, shared));
        if let Some(first) = cycle.first().cloned() {
            cycle.push(first);
        }
        out.push(Line::raw(""));
        let room = usize::from(width).saturating_sub(CONTINUED.len()).max(8);
        let title = format!("DEADLOCK {}: {}", i + 1, cycle.join(" → "));
        for (n, line) in words::wrap(&title, room).into_iter().enumerate() {
            let indent = if n == 0 { "" } else { CONTINUED };
            out.push(Line::styled(format!("{indent}{line}"), theme.cycle()));
        }
        for line in words::wrap(&d.describe_with(|t| words::who(t, shared)), room) {
            out.push(Line::styled(format!("  {line}"), theme.warning()));
        }
    }
    out
}

/// How a wrapped line of the graph or a deadlock goes on.
const CONTINUED: &str = "    ";

/// A graph line's spans on as many lines as `width` needs: a span that
/// would cross the edge starts the next line, indented, so a holder's
/// name or the wait's length is never cut off the screen's side.
fn wrap_spans(spans: Vec<Span<'_>>, width: usize) -> Vec<Line<'_>> {
    use unicode_width::UnicodeWidthStr;
    let mut lines = Vec::new();
    let mut line: Vec<Span> = Vec::new();
    let mut used = 0;
    for span in spans {
        let w = span.content.width();
        if used + w > width && used > CONTINUED.len() {
            lines.push(Line::from(std::mem::take(&mut line)));
            let content = span.content.trim_start().to_owned();
            line = vec![Span::raw(CONTINUED), Span::styled(content, span.style)];
            used = CONTINUED.len() + line[1].content.width();
        } else {
            used += w;
            line.push(span);
        }
    }
    lines.push(Line::from(line));
    lines
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::tui::fixtures;

    const NEEDS: Needs = Needs { name: 6, kind: 4, kind_floor: 4, counted: true };

    #[test]
    fn narrow_tables_drop_statistics_before_names() {
        for width in 60..=200u16 {
            let table = table(width, NEEDS);
            let used: usize = table.iter().map(|(_, w)| w + 1).sum::<usize>() - 1;
            assert!(used <= usize::from(width), "{width}: {table:?}");
            for column in [LockColumn::Name, LockColumn::Holders, LockColumn::Waiters, LockColumn::Kind] {
                assert!(table.iter().any(|(c, _)| *c == column), "{width}: {column:?}");
            }
        }
        assert_eq!(table(120, NEEDS).len(), LockColumn::ALL.len());
    }

    #[test]
    fn a_kind_s_word_is_never_cut_a_statistic_goes_first() {
        let needs =
            Needs { kind: "bounded semaphore on pool".len(), kind_floor: "bounded semaphore".len(), ..NEEDS };
        let table = table(80, needs);
        let kind = table.iter().find(|(c, _)| *c == LockColumn::Kind).map(|(_, w)| *w);
        assert!(kind >= Some("bounded semaphore".len()), "{table:?}");
        assert!(table.iter().all(|(c, _)| *c != LockColumn::Acquisitions), "{table:?}");
    }

    #[test]
    fn graph_lines_wrap_at_a_span_never_off_the_side() {
        let spans = vec![
            Span::raw("  "),
            Span::raw("Transfer-Worker-0"),
            Span::raw(" ──waits──▶ "),
            Span::raw("lock fork-1"),
            Span::raw(" ──held by──▶ "),
            Span::raw("Transfer-Worker-1"),
            Span::raw("  waiting for 3.2 s"),
        ];
        let lines = wrap_spans(spans, 60);
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text.iter().all(|t| t.chars().count() <= 60), "{text:?}");
        assert_eq!(text[1], format!("{CONTINUED}Transfer-Worker-1  waiting for 3.2 s"));
    }

    #[test]
    fn deadlocked_then_contended_locks_come_first() {
        let mut snapshot = fixtures::snapshot(0);
        snapshot.primitives.reverse();
        let app = fixtures::app(0, 120, 40, std::time::Instant::now());
        let rows: Vec<String> = lines(&app, &snapshot, 120).iter().skip(1).map(|l| l.to_string()).collect();
        let first = |name: &str| rows.iter().position(|r| r.starts_with(name)).unwrap();
        assert!(first("fork-") < first("config") && first("config") < first("done"), "{rows:#?}");
    }

    #[test]
    fn a_cut_keeps_the_tid_whole() {
        let link = |tid: u32| ThreadLink { key: u64::from(tid), tid: Some(tid), name: "rw-reader".into() };
        let shared: HashSet<String> = ["rw-reader".to_owned()].into();
        let two = [link(25173), link(25174)];
        assert_eq!(names_in(&two, 60, &shared), "rw-reader (tid 25173), rw-reader (tid 25174)");
        let cut = names_in(&two, 20, &shared);
        assert!(cut.ends_with(" (tid 25173) +1") && cut.chars().count() <= 20, "{cut}");
        assert!(fit_whom(&two[0], 16, &shared).ends_with("(tid 25173)"));
    }

    #[test]
    fn locks_that_count_nothing_give_the_statistics_room_to_the_people() {
        let mut snapshot = fixtures::snapshot(0);
        for p in &mut snapshot.primitives {
            p.stats = crate::kernel::Field::Unavailable(crate::kernel::Reason::NotRecorded);
        }
        let mut app = fixtures::app(0, 80, 24, std::time::Instant::now());
        app.handle_event(crate::tui::event::Event::Sample(Box::new(crate::tui::event::Sample {
            snapshot: snapshot.clone(),
            at: std::time::Instant::now(),
            progress: Vec::new(),
        })));
        let lines = lines(&app, &snapshot, 80);
        let header = lines[0].to_string();
        assert!(!header.contains("ACQ") && !header.contains("HELD"), "{header}");
        assert!(header.contains("WAITERS (in order)"), "{header}");
    }

    #[test]
    fn several_threads_that_do_not_fit_say_how_many_more() {
        let link =
            |tid: u32, name: &str| ThreadLink { key: u64::from(tid), tid: Some(tid), name: name.into() };
        let two = [link(1, "MainThread"), link(2, "PaymentService-LedgerThread-1")];
        let shared = HashSet::new();
        assert_eq!(names_in(&two, 60, &shared), "MainThread, PaymentService-LedgerThread-1");
        assert_eq!(names_in(&two, 14, &shared), "MainThread +1");
        let cut = names_in(&[two[1].clone(), two[0].clone()], 14, &shared);
        assert!(cut.ends_with(" +1") && cut.chars().count() <= 14, "{cut}");
        assert_eq!(names_in(&[], 14, &shared), "—");
    }

    #[test]
    fn holders_and_waiters_that_share_a_prefix_stay_apart() {
        let mut snapshot = fixtures::snapshot(0);
        fixtures::rename(&mut snapshot, "Philosopher-0", "Transfer-Worker-0");
        fixtures::rename(&mut snapshot, "Philosopher-1", "Transfer-Worker-1");
        for width in [60, 80, 100] {
            let table = table(width, NEEDS);
            let cells = cells(&snapshot.primitives[0], &table, &HashSet::new());
            let (holder, waiter) = (cells[2].trim(), cells[3].trim());
            assert!(holder.starts_with("Trans") && holder.ends_with("-0"), "{width}: {cells:?}");
            assert!(waiter.starts_with("Trans") && waiter.ends_with("-1"), "{width}: {cells:?}");
        }
    }

    #[test]
    fn a_join_whose_thread_is_not_on_record_waits_until_it_ends_not_for_a_holder() {
        use crate::inspect::WaitView;
        let start = std::time::Instant::now();
        let mut app = fixtures::app(0, 120, 40, start);
        let mut snapshot = fixtures::snapshot(0);
        let main = snapshot.threads.iter_mut().find(|t| t.name.shown() == "MainThread").unwrap();
        main.state = crate::threading::ThreadState::Waiting;
        main.waiting_on = Some(WaitView {
            kind: WaitKind::Join,
            name: "Worker-9".into(),
            role: Some("join".into()),
            primitive: None,
            holder: None,
            holders: Vec::new(),
            waited: None,
        });
        let sample = crate::tui::event::Sample { snapshot, at: start, progress: Vec::new() };
        app.handle_event(crate::tui::event::Event::Sample(Box::new(sample)));
        app.update(crate::tui::Action::ShowTab(crate::tui::Tab::Locks));
        let screen = crate::tui::tests::screen_text(&app, 120, 40);
        let line = screen.lines().find(|l| l.contains("──join──▶")).unwrap_or_else(|| panic!("{screen}"));
        assert!(line.contains("join Worker-9  ──until it ends"), "{line}");
        assert!(!line.contains("nobody holds it"), "{line}");
    }
}
