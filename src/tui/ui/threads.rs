//! The threads table. Only the visible rows are formatted, straight into
//! the buffer, so a frame costs the same with 10 threads or 10,000.

use super::super::app::App;
use super::super::columns::{Column, columns};
use super::super::table::visible_offset;
use super::super::theme::Theme;
use super::super::words::{self, fit, fit_middle};
use crate::inspect::{Origin, ThreadView};
use crate::threading::ThreadState;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

pub(crate) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let layout = columns(area.width, app.column_needs);
    for &(column, x, w) in &layout {
        let sorted = app.table.sort == Some(column);
        let mut title = column.title().to_owned();
        if sorted {
            title.push(if app.table.descending { '▼' } else { '▲' });
        }
        buf.set_stringn(
            area.x + x,
            area.y,
            fit(&title, usize::from(w)),
            usize::from(w),
            theme.table_header(sorted),
        );
    }
    let Some(snapshot) = &app.snapshot else {
        if area.height > 1 {
            buf.set_stringn(
                area.x,
                area.y + 1,
                "waiting for the first sample…",
                usize::from(area.width),
                theme.dim(),
            );
        }
        return;
    };
    let height = usize::from(area.height.saturating_sub(1));
    let rows = &app.table.rows;
    if rows.is_empty() && height > 0 {
        let text = if app.table.filter.is_empty() { "no threads" } else { "no thread matches the filter" };
        buf.set_stringn(area.x, area.y + 1, text, usize::from(area.width), theme.dim());
    }
    let offset = visible_offset(app.table.offset, app.table.selected, height, rows.len());
    let primitive = |id: u64| app.primitive_index.get(&id).map(|&i| &snapshot.primitives[i]);
    let rows_know = RowsKnow {
        theme,
        shared: &app.shared_names,
        uptime_ms: snapshot.system.uptime_ms,
        // Too narrow for TID: a name two threads share then carries it.
        tid_shown: layout.iter().any(|&(column, _, _)| column == Column::Tid),
    };
    for (line, &index) in rows.iter().skip(offset).take(height).enumerate() {
        let y = area.y + 1 + line as u16;
        let t = &snapshot.threads[index];
        let row_style = if t.state == ThreadState::Terminated { theme.terminated() } else { Style::new() };
        let selected = offset + line == app.table.selected;
        let row_area = Rect::new(area.x, y, area.width, 1);
        buf.set_style(row_area, if selected { row_style.patch(theme.selected()) } else { row_style });
        for &(column, x, w) in &layout {
            let (text, style) = cell(column, w, t, &primitive, &rows_know);
            let style = if selected { style.patch(theme.selected()) } else { row_style.patch(style) };
            // Names are cut in the middle: where they differ is often the end.
            let text = if column == Column::Name {
                fit_middle(&text, usize::from(w))
            } else {
                fit(&text, usize::from(w))
            };
            buf.set_stringn(area.x + x, y, text, usize::from(w), style);
        }
    }
}

/// What every row's cells are drawn with.
struct RowsKnow<'a> {
    theme: &'a Theme,
    /// Names more than one thread carries.
    shared: &'a std::collections::HashSet<String>,
    uptime_ms: Option<u64>,
    tid_shown: bool,
}

fn cell<'a>(
    column: Column,
    width: u16,
    t: &ThreadView,
    primitive: &impl Fn(u64) -> Option<&'a crate::inspect::PrimitiveView>,
    rows: &RowsKnow<'_>,
) -> (String, Style) {
    let RowsKnow { theme, shared, uptime_ms, tid_shown } = *rows;
    let plain = |text: String| (text, Style::new());
    match column {
        Column::Ident => (words::ident_hex(t.ident), theme.dim()),
        Column::Tid => plain(t.native_id.map_or_else(|| "—".to_owned(), |tid| tid.to_string())),
        Column::Name => {
            let style = match t.origin {
                Origin::Managed => Style::new(),
                Origin::Inspector => theme.inspector(),
                Origin::Foreign => theme.foreign(),
            };
            // `t.name = ""` is valid Python; a blank cell is not a name.
            if t.name.shown().is_empty() {
                ("\"\"".to_owned(), theme.dim())
            } else if let Some(tid) = t.native_id.filter(|_| !tid_shown && shared.contains(t.name.shown())) {
                (words::name_with_tid(&t.name.to_string(), tid, usize::from(width)), style)
            } else {
                (t.name.to_string(), style)
            }
        }
        Column::Comm => match words::comm(t) {
            // Only where it says something NAME does not.
            Some((comm, _)) if comm == t.name.shown() => plain(String::new()),
            Some((comm, true)) => (format!("{comm}…"), theme.truncated()),
            Some((comm, false)) => plain(comm),
            None => plain(String::new()),
        },
        Column::State => (words::state_word(t.state).to_owned(), theme.state(t.state)),
        Column::Kernel => plain(t.kernel.as_ref().map_or_else(String::new, |k| k.state.to_string())),
        Column::WaitsOn => match (t.state, words::outcome(t.outcome.as_ref())) {
            (ThreadState::Terminated, Some(outcome)) => (outcome, theme.dim()),
            _ => plain(words::waits_on(t, primitive, shared).fitted(usize::from(width))),
        },
        Column::Cpu => plain(t.kernel.as_ref().map_or_else(String::new, |k| {
            k.cpu_percent.value().map_or_else(|| "    —".to_owned(), |c| format!("{c:5.1}"))
        })),
        Column::Time => {
            plain(t.kernel.as_ref().map_or_else(String::new, |k| words::cpu_time(k.utime_ms + k.stime_ms)))
        }
        Column::Ctxt => plain(words::ctxt(t).map_or_else(String::new, |(v, n)| format!("{v}/{n}"))),
        Column::Daemon => plain(if t.daemon == Some(true) { "d".to_owned() } else { String::new() }),
        Column::Age => plain(words::age(t, uptime_ms).map_or_else(|| "—".to_owned(), words::human)),
        Column::Origin => {
            let style = match t.origin {
                Origin::Managed => theme.dim(),
                Origin::Inspector => theme.inspector(),
                Origin::Foreign => theme.foreign(),
            };
            (words::origin_word(t.origin).to_owned(), style)
        }
    }
}
