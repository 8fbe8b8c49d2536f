//! The names screen: naming patterns with counts, naming findings with the
//! threads behind each, and behaviour findings.

use super::super::app::App;
use super::super::words::{human, pad, safe, who};
use super::scrolled_lines;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// At most this many threads are listed under a finding.
const MAX_NAMES: usize = 12;

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let Some(snapshot) = &app.snapshot else { return };
    let mut lines = vec![Line::styled("Naming patterns (names grouped by shape)", theme.heading())];
    if snapshot.naming.patterns.is_empty() {
        lines.push(Line::styled("  none", theme.dim()));
    }
    for p in &snapshot.naming.patterns {
        let examples: Vec<String> = p.examples.iter().map(|e| safe(e).into_owned()).collect();
        lines.push(Line::from(vec![
            Span::raw(format!("  {:>5} × ", p.count)),
            Span::styled(pad(&safe(&p.shape), 28), theme.key()),
            Span::styled(format!(" e.g. {}", examples.join(", ")), theme.dim()),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Naming findings", theme.heading()));
    if snapshot.naming.findings.is_empty() {
        lines.push(Line::styled(
            "  none: every name is distinct, descriptive and fits the kernel's 15 bytes",
            theme.dim(),
        ));
    }
    let width = usize::from(area.width);
    for f in &snapshot.naming.findings {
        lines.extend(bullet(&safe(&f.message), width).into_iter().map(|l| Line::styled(l, theme.warning())));
        // By identity: a duplicate's threads differ by TID alone, shown
        // (as on the Locks screen) wherever the name is shared.
        let mut names: Vec<String> =
            f.threads.iter().take(MAX_NAMES).map(|t| who(t, &app.shared_names)).collect();
        if f.threads.len() > MAX_NAMES {
            names.push(format!("… {} more", f.threads.len() - MAX_NAMES));
        }
        if !names.is_empty() {
            lines.push(Line::styled(format!("      {}", names.join(", ")), theme.dim()));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Behaviour findings (held across several samples)", theme.heading()));
    if snapshot.findings.is_empty() {
        lines.push(Line::styled("  none", theme.dim()));
    }
    for f in &snapshot.findings {
        let text = format!("{} (for {})", safe(&f.message), human(f.held_for));
        lines.extend(bullet(&text, width).into_iter().map(|l| Line::styled(l, theme.warning())));
    }
    scrolled_lines(&lines, app.scroll.names, area, buf);
}

/// `  • text`, wrapped to `width` with the lines after the first hung
/// under the text, so a long finding is read whole, not cut at the edge.
fn bullet(text: &str, width: usize) -> Vec<String> {
    const FIRST: &str = "  • ";
    const HANG: &str = "    ";
    crate::tui::words::wrap(text, width.saturating_sub(FIRST.len()).max(8))
        .into_iter()
        .enumerate()
        .map(|(i, line)| format!("{}{line}", if i == 0 { FIRST } else { HANG }))
        .collect()
}
