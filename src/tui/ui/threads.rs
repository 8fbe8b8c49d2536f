//! The threads table. Only the visible rows are formatted, straight into
//! the buffer, so a frame costs the same with 10 threads or 10,000.

use super::super::action::Column;
use super::super::app::App;
use super::super::table::visible_offset;
use super::super::theme::Theme;
use super::super::words::{self, fit};
use crate::inspect::{Origin, ThreadView};
use crate::threading::ThreadState;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

/// How a column is laid out: minimum width, and the order in which columns
/// are dropped when the screen is narrow (highest first).
struct Spec {
    column: Column,
    min: u16,
    drop_order: u8,
}

const SPECS: [Spec; 12] = [
    Spec { column: Column::Ident, min: 12, drop_order: 9 },
    Spec { column: Column::Tid, min: 7, drop_order: 2 },
    Spec { column: Column::Name, min: 18, drop_order: 0 },
    Spec { column: Column::Comm, min: 16, drop_order: 5 },
    Spec { column: Column::State, min: 10, drop_order: 1 },
    Spec { column: Column::Kernel, min: 1, drop_order: 3 },
    Spec { column: Column::WaitsOn, min: 40, drop_order: 0 },
    Spec { column: Column::Cpu, min: 5, drop_order: 4 },
    Spec { column: Column::Ctxt, min: 11, drop_order: 10 },
    Spec { column: Column::Daemon, min: 1, drop_order: 7 },
    Spec { column: Column::Age, min: 7, drop_order: 6 },
    Spec { column: Column::Origin, min: 9, drop_order: 8 },
];
/// The name column stops growing here; the rest goes to "waits on".
const NAME_MAX: u16 = 30;

/// The columns that fit in `width`, with their x offset and width.
pub(crate) fn columns(width: u16) -> Vec<(Column, u16, u16)> {
    let mut shown: Vec<&Spec> = SPECS.iter().collect();
    let need = |shown: &[&Spec]| shown.iter().map(|s| s.min + 1).sum::<u16>().saturating_sub(1);
    while need(&shown) > width {
        let droppable = shown.iter().enumerate().filter(|(_, s)| s.drop_order > 1);
        let Some((i, _)) = droppable.max_by_key(|(_, s)| s.drop_order) else { break };
        shown.remove(i);
    }
    let mut widths: Vec<u16> = shown.iter().map(|s| s.min).collect();
    // Still too wide: "waits on", then the name, give up room.
    let mut excess = need(&shown).saturating_sub(width);
    for column in [Column::WaitsOn, Column::Name] {
        if let Some(i) = shown.iter().position(|s| s.column == column) {
            let cut = excess.min(widths[i].saturating_sub(8));
            widths[i] -= cut;
            excess -= cut;
        }
    }
    let used: u16 = widths.iter().map(|w| w + 1).sum::<u16>().saturating_sub(1);
    let mut spare = width.saturating_sub(used);
    if let Some(i) = shown.iter().position(|s| s.column == Column::Name) {
        let extra = (spare / 4).min(NAME_MAX.saturating_sub(widths[i]));
        widths[i] += extra;
        spare -= extra;
    }
    if let Some(i) = shown.iter().position(|s| s.column == Column::WaitsOn) {
        widths[i] += spare;
    }
    let mut x = 0;
    shown
        .iter()
        .zip(widths)
        .map(|(s, w)| {
            let at = x;
            x += w + 1;
            (s.column, at, w.min(width.saturating_sub(at)))
        })
        .collect()
}

/// The column under offset `x` of a table `width` wide.
pub(crate) fn column_at(width: u16, x: u16) -> Option<Column> {
    columns(width).into_iter().find(|&(_, at, w)| x >= at && x <= at + w).map(|(c, _, _)| c)
}

pub(crate) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let layout = columns(area.width);
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
    let primitive = |name: &str| app.primitive_index.get(name).map(|&i| &snapshot.primitives[i]);
    for (line, &index) in rows.iter().skip(offset).take(height).enumerate() {
        let y = area.y + 1 + line as u16;
        let t = &snapshot.threads[index];
        let row_style = if t.state == ThreadState::Terminated { theme.terminated() } else { Style::new() };
        let selected = offset + line == app.table.selected;
        let row_area = Rect::new(area.x, y, area.width, 1);
        buf.set_style(row_area, if selected { row_style.patch(theme.selected()) } else { row_style });
        for &(column, x, w) in &layout {
            let (text, style) = cell(column, t, theme, &primitive);
            let style = if selected { style.patch(theme.selected()) } else { row_style.patch(style) };
            buf.set_stringn(area.x + x, y, fit(&text, usize::from(w)), usize::from(w), style);
        }
    }
}

fn cell<'a>(
    column: Column,
    t: &ThreadView,
    theme: &Theme,
    primitive: &impl Fn(&str) -> Option<&'a crate::inspect::PrimitiveView>,
) -> (String, Style) {
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
            (t.name.to_string(), style)
        }
        Column::Comm => match words::comm(t) {
            Some((comm, true)) => (format!("{comm}…"), theme.truncated()),
            Some((comm, false)) => plain(comm),
            None => plain(String::new()),
        },
        Column::State => (words::state_word(t.state).to_owned(), theme.state(t.state)),
        Column::Kernel => plain(t.kernel.as_ref().map_or_else(String::new, |k| k.state.to_string())),
        Column::WaitsOn => match (t.state, words::outcome(t.outcome.as_ref())) {
            (ThreadState::Terminated, Some(outcome)) => (outcome, theme.dim()),
            _ => plain(words::waits_on(t, primitive)),
        },
        Column::Cpu => plain(
            t.kernel.as_ref().and_then(|k| k.cpu_percent).map_or_else(String::new, |c| format!("{c:5.1}")),
        ),
        Column::Ctxt => plain(words::ctxt(t).map_or_else(String::new, |(v, n)| format!("{v}/{n}"))),
        Column::Daemon => plain(if t.daemon == Some(true) { "d".to_owned() } else { String::new() }),
        Column::Age => plain(words::age(t).map_or_else(String::new, words::human)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_and_narrow_screens_drop_the_least_useful() {
        for width in [20u16, 60, 80, 120, 200, 400] {
            let layout = columns(width);
            let (_, x, w) = layout.last().copied().unwrap_or((Column::Name, 0, 0));
            assert!(x + w <= width, "{width}: {layout:?}");
            assert!(layout.iter().any(|(c, _, _)| *c == Column::Name));
        }
        let wide: Vec<Column> = columns(200).into_iter().map(|(c, _, _)| c).collect();
        assert_eq!(wide, Column::ALL);
        let narrow: Vec<Column> = columns(60).into_iter().map(|(c, _, _)| c).collect();
        assert!(!narrow.contains(&Column::Ctxt) && narrow.contains(&Column::State));
    }

    #[test]
    fn a_click_finds_its_column() {
        assert_eq!(column_at(200, 0), Some(Column::Ident));
        assert_eq!(column_at(200, 13), Some(Column::Tid));
    }
}
