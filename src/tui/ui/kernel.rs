//! The kernel screen: every task of the process — ours, foreign and the
//! inspector's own — with wchan, and threads asleep on one futex grouped.

use super::super::app::App;
use super::super::words::{self, fit, pad, safe};
use crate::inspect::Origin;
use crate::kernel::describe_state;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use std::collections::HashMap;

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let Some(snapshot) = &app.snapshot else { return };
    let count = |origin| snapshot.threads.iter().filter(|t| t.kernel.is_some() && t.origin == origin).count();
    let summary = Line::from(vec![
        Span::styled(
            format!("{} tasks in /proc/{}/task: ", app.kernel_rows.len(), snapshot.process.pid),
            theme.heading(),
        ),
        Span::raw(format!("{} ours, ", count(Origin::Managed))),
        Span::styled(format!("{} threadscope's own, ", count(Origin::Inspector)), theme.inspector()),
        Span::styled(format!("{} foreign", count(Origin::Foreign)), theme.foreign()),
        Span::styled(
            format!(
                "  · {} futex group(s): asleep on one address, likely one lock",
                snapshot.futex_groups.len()
            ),
            theme.dim(),
        ),
    ]);
    super::fitted::set_line_fitted(buf, area.x, area.y, &summary, area.width);
    if area.height < 3 {
        return;
    }
    let group_of: HashMap<&str, usize> =
        snapshot.futex_groups.iter().enumerate().map(|(i, g)| (g.address.as_str(), i)).collect();
    let header = format!(
        "{:>7} {:<16} {:<9} {:<18} {:<14} {:<18} {:<17} {:>5} {:>3} {:>4}",
        "TID", "COMM", "ORIGIN", "LIBRARY NAME", "STATE", "WCHAN", "FUTEX", "CPU%", "CPU", "NICE"
    );
    buf.set_stringn(area.x, area.y + 1, header, usize::from(area.width), theme.table_header(false));
    let height = usize::from(area.height - 2);
    let first = app.scroll.kernel.min(app.kernel_rows.len().saturating_sub(height));
    for (line, &index) in app.kernel_rows.iter().skip(first).take(height).enumerate() {
        let t = &snapshot.threads[index];
        let Some(k) = &t.kernel else { continue };
        let library = if t.origin == Origin::Managed { t.name.shown() } else { "" };
        let futex = match k.futex.value().and_then(Option::as_deref) {
            Some(address) => match group_of.get(address) {
                Some(&g) => format!("{} {}", group_letter(g), safe(address)),
                None => safe(address).into_owned(),
            },
            None => String::new(),
        };
        // Padded by display cells, not characters: a CJK or emoji name
        // is two cells a character and must not push the columns after it.
        let cell = |text: &str, width| pad(&fit(text, width), width);
        let text = format!(
            "{:>7} {} {:<9} {} {} {} {} {:>5} {:>3} {:>4}",
            k.tid,
            cell(k.comm.shown(), 16),
            words::origin_word(t.origin),
            cell(library, 18),
            cell(&format!("{} {}", k.state, describe_state(k.state)), 14),
            cell(&words::wchan(t).unwrap_or_default(), 18),
            cell(&futex, 17),
            k.cpu_percent.value().map_or_else(|| "—".to_owned(), |c| format!("{c:.1}")),
            k.processor,
            k.nice,
        );
        let style = match t.origin {
            Origin::Managed => Style::new(),
            Origin::Inspector => theme.inspector(),
            Origin::Foreign => theme.foreign(),
        };
        buf.set_stringn(area.x, area.y + 2 + line as u16, text, usize::from(area.width), style);
    }
}

/// `A`, `B`, … `Z`, `AA`… for futex groups.
fn group_letter(index: usize) -> String {
    let letter = char::from(b'A' + (index % 26) as u8);
    if index < 26 { letter.to_string() } else { format!("{letter}{}", index / 26) }
}
