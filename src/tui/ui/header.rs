//! The header: process, uptime, scenario, counts by state, per-core CPU and
//! memory, the paused marker, and the DEADLOCK banner.

use super::super::app::{App, Source};
use super::super::words::{self, safe};
use crate::inspect::Snapshot;
use crate::threading::ThreadState;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// Partial blocks, an eighth at a time.
const EIGHTHS: [char; 9] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
/// One-cell levels, for machines with many cores.
const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// The most of an exec'd command the header shows.
const COMMAND_WIDTH: usize = 40;
/// Width of one core's bar when there is room.
const BAR: usize = 5;

pub(super) fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let mut first = vec![Span::styled(" threadscope ", theme.brand())];
    // An exec'd command: where it lies in `first`, and its words, cut to
    // fit when the row is narrow (the thread count must stay).
    let mut command: Option<(usize, String)> = None;
    // Whose view joins the kernel's (the program's own agent): gives way
    // after the pid when the row is narrow.
    let mut about = None;
    match &app.source {
        Source::Own(info) => {
            first.push(Span::styled("scenario ", theme.dim()));
            first.push(Span::styled(safe(&info.name).into_owned(), theme.heading()));
        }
        Source::Attach { pid } => {
            match app.child() {
                Some(child) => {
                    first.push(Span::styled("exec ", theme.dim()));
                    command = Some((first.len(), child.command.clone()));
                    first.push(Span::styled(
                        words::fit_middle(&child.command, COMMAND_WIDTH).into_owned(),
                        theme.heading(),
                    ));
                    first.push(Span::styled(format!(" (pid {pid}, read-only)"), theme.warning()));
                    if let Some(how) = &child.exited {
                        first.push(Span::raw("  "));
                        first.push(Span::styled(format!(" {} ", how.to_uppercase()), theme.error()));
                    }
                }
                None => first.push(Span::styled(format!("attached to {pid} (read-only)"), theme.warning())),
            }
            about = app.agent_about.as_ref().map(|a| Span::styled(format!("  {}", safe(a)), theme.heading()));
        }
        Source::Replay(info) => {
            first.push(Span::styled(" REPLAY ", theme.paused()));
            first.push(Span::styled(format!(" {} (read-only)", safe(&info.what)), theme.warning()));
        }
    }
    if let Some(path) = &app.recording {
        first.push(Span::styled("  ● REC ", theme.error()));
        first.push(Span::styled(safe(path).into_owned(), theme.dim()));
    }
    let Some(snapshot) = &app.snapshot else {
        first.push(Span::styled("  waiting for the first sample…", theme.dim()));
        super::fitted::set_line_fitted(buf, area.x, area.y, &Line::from(first), area.width);
        return;
    };
    let process = &snapshot.process;
    if app.paused {
        first.push(Span::raw("  "));
        first.push(Span::styled(" PAUSED ", theme.paused()));
    }
    if process.exited {
        first.push(Span::raw("  "));
        first.push(Span::styled(" PROCESS EXITED ", theme.error()));
    }
    if let Some(error) = &app.sampler_error {
        first.push(Span::styled(format!("  sampling failed: {}", safe(error)), theme.error()));
    }
    // Attached or exec, the source already said the pid.
    let pid_said = matches!(app.source, Source::Attach { .. });
    let pid = (!pid_said).then(|| Span::styled(format!("  pid {}", process.pid), theme.dim()));
    let name = Span::raw(format!("{}{}", if pid_said { "  " } else { " " }, process.name));
    // A scenario runs in this process, as old as the watch: its uptime.
    // Attached (or replaying), the process may have run for days before we
    // looked: the time is the watch's, and says so.
    let since = if matches!(app.source, Source::Own(_)) { "up" } else { "watched" };
    let watched = Span::styled(format!("  {since} {}", words::clock(process.watched_for)), theme.dim());
    // When the row is narrow, states no thread is in give way first, then
    // the time watched, then the process's name, then a scenario's pid
    // (the Kernel screen and the log say both), then the agent's version;
    // then an exec'd command is cut shorter: the thread count and the
    // states it is in stay. What still does not fit ends in `…`.
    let fits = |row: &Vec<Span>| Line::from(row.clone()).width() <= usize::from(area.width);
    // `dropped`: how many of the empty states, the time, the name, the
    // pid and the agent give way, in that order; `width`, the command's.
    let row_of = |(dropped, width): (usize, usize)| {
        let mut row = first.clone();
        if let Some((at, text)) = &command {
            row[*at] = Span::styled(words::fit_middle(text, width).into_owned(), theme.heading());
        }
        row.extend(about.clone().filter(|_| dropped < 5));
        row.extend(pid.clone().filter(|_| dropped < 4));
        row.extend(Some(name.clone()).filter(|_| dropped < 3));
        row.extend(Some(watched.clone()).filter(|_| dropped < 2));
        row.extend(counts(app, snapshot, dropped < 1));
        row
    };
    let tries = (0..=5).map(|dropped| (dropped, COMMAND_WIDTH)).chain([24, 12].map(|width| (5, width)));
    let row = tries.map(row_of).find(fits).unwrap_or_else(|| row_of((5, 12)));
    super::fitted::set_line_fitted(buf, area.x, area.y, &Line::from(row), area.width);
    if area.height > 1 {
        buf.set_line(area.x, area.y + 1, &system_line(app, snapshot, area.width), area.width);
    }
    // The layout gave the banner the rows it needs (see `Flags::banner`).
    let banner = banner_lines(app, area.width, area.height.saturating_sub(2));
    if let Some(lines) = banner.filter(|_| area.height > 2) {
        for (i, line) in lines.iter().enumerate() {
            let row = Rect::new(area.x, area.y + 2 + i as u16, area.width, 1);
            buf.set_style(row, theme.deadlock());
            buf.set_stringn(row.x, row.y, line, usize::from(row.width), theme.deadlock());
        }
    } else if area.height > 2 {
        // What would show more (a permission and how to get it) wins over
        // what the search covered: it is the one thing to act on.
        match snapshot.notes.first() {
            Some(note) => {
                let text = format!(" {}", safe(note));
                let text = words::fit(&text, usize::from(area.width));
                buf.set_stringn(area.x, area.y + 2, text, usize::from(area.width), theme.warning());
            }
            None => {
                let text = format!(" no deadlock found {}", snapshot.deadlock_search.describe());
                let text = words::fit(&text, usize::from(area.width));
                buf.set_stringn(area.x, area.y + 2, text, usize::from(area.width), theme.dim());
            }
        }
    }
}

/// The DEADLOCK banner's rows, `width` wide, wrapped at words onto at most
/// `max` rows (the last one ends in `…` if it is still cut); `None`
/// without a deadlock.
pub(super) fn banner_lines(app: &App, width: u16, max: u16) -> Option<Vec<String>> {
    let snapshot = app.snapshot.as_ref()?;
    let deadlock = snapshot.deadlocks.first()?;
    let more = match snapshot.deadlocks.len() {
        1 => String::new(),
        n => format!(" (+{} more)", n - 1),
    };
    let text = format!("{}{more}", deadlock.describe_with(|t| words::who(t, &app.shared_names)));
    const LEAD: &str = " DEADLOCK  ";
    let room = usize::from(width).saturating_sub(LEAD.len() + 1).max(1);
    let mut lines = words::wrap(&text, room);
    if lines.len() > usize::from(max) {
        lines.truncate(usize::from(max));
        if let Some(last) = lines.last_mut() {
            *last = format!("{}…", words::fit(last, room.saturating_sub(1)).trim_end_matches('…'));
        }
    }
    let indent = " ".repeat(LEAD.len());
    Some(
        lines
            .into_iter()
            .enumerate()
            .map(|(i, line)| format!("{}{line}", if i == 0 { LEAD } else { &indent }))
            .collect(),
    )
}

/// The thread count and how many are in each state; `with_empty` false
/// leaves out the states no thread is in.
fn counts<'a>(app: &App, snapshot: &Snapshot, with_empty: bool) -> Vec<Span<'a>> {
    let theme = &app.theme;
    let [created, running, waiting, terminated] = app.state_counts;
    let threads = crate::display::threads(snapshot.threads.len());
    let mut spans = vec![Span::styled(format!("  {threads}:"), theme.dim())];
    for (n, state) in [
        (running, ThreadState::Running),
        (waiting, ThreadState::Waiting),
        (created, ThreadState::Created),
        (terminated, ThreadState::Terminated),
    ] {
        if n == 0 && !with_empty {
            continue;
        }
        spans.push(Span::styled(
            format!(" {n} {}", words::state_word(state).to_lowercase()),
            theme.state(state),
        ));
    }
    spans
}

fn system_line<'a>(app: &App, snapshot: &Snapshot, width: u16) -> Line<'a> {
    let theme = &app.theme;
    let system = &snapshot.system;
    let mut tail = vec![Span::styled("  mem ", theme.dim())];
    let used = system.memory_used_bytes;
    let total = system.memory_total_bytes.max(1);
    let percent = used as f32 * 100.0 / total as f32;
    tail.push(Span::styled(
        format!("{}/{}", words::bytes(used), words::bytes(system.memory_total_bytes)),
        theme.gauge(percent),
    ));
    tail.push(Span::styled("  proc ", theme.dim()));
    // Unmeasured yet (the first 200 ms): a dash, as a thread's CPU % is.
    let cpu = snapshot.process.cpu_percent.value().map_or_else(|| "—".to_owned(), |c| format!("{c:.1}%"));
    tail.push(Span::raw(format!("{cpu} {}", words::bytes(snapshot.process.rss_bytes))));
    if let Some(load) = &system.load_average {
        tail.push(Span::styled(
            format!("  load {:.2} {:.2} {:.2}", load.one, load.five, load.fifteen),
            theme.dim(),
        ));
    }
    let tail_width: usize = tail.iter().map(Span::width).sum();
    let room = usize::from(width).saturating_sub(tail_width + 5);
    let mut spans = vec![Span::styled(" CPU ", theme.dim())];
    // Not measured yet (the first moments): a dash, as for the process.
    let Some(cores) = system.cpu_percent.value() else {
        spans.push(Span::styled("—", theme.dim()));
        spans.extend(tail);
        return Line::from(spans);
    };
    if cores.len() * (BAR + 3) <= room {
        for p in cores {
            spans.push(Span::styled("▕", theme.dim()));
            spans.push(Span::styled(bar(*p, BAR), theme.gauge(*p)));
            spans.push(Span::styled("▏ ", theme.dim()));
        }
    } else {
        for p in cores.iter().take(room) {
            let level = ((p.clamp(0.0, 100.0) / 100.0) * (LEVELS.len() - 1) as f32).round() as usize;
            spans.push(Span::styled(LEVELS[level].to_string(), theme.gauge(*p)));
        }
    }
    spans.extend(tail);
    Line::from(spans)
}

/// A bar `width` cells wide filled to `percent`, in eighths.
fn bar(percent: f32, width: usize) -> String {
    let eighths = ((percent.clamp(0.0, 100.0) / 100.0) * (width * 8) as f32).round() as usize;
    (0..width).map(|i| EIGHTHS[eighths.saturating_sub(i * 8).min(8)]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_in_eighths() {
        assert_eq!(bar(0.0, 3), "   ");
        assert_eq!(bar(100.0, 3), "███");
        assert_eq!(bar(50.0, 2), "█ ");
        assert_eq!(bar(56.25, 2), "█▏");
        assert_eq!(bar(250.0, 1), "█");
    }

    #[test]
    fn cores_not_measured_yet_show_a_dash_not_empty_bars() {
        use crate::tui::event::{Event, Sample};
        let start = std::time::Instant::now();
        let mut app = crate::tui::fixtures::attached(4242, start);
        let mut snapshot = crate::tui::fixtures::snapshot(0);
        snapshot.system.cpu_percent = crate::kernel::Field::Unavailable(crate::kernel::Reason::NotSampled);
        app.handle_event(Event::Sample(Box::new(Sample { snapshot, at: start, progress: Vec::new() })));
        let screen = crate::tui::tests::screen_text(&app, 120, 40);
        assert!(screen.contains(" CPU —  mem "), "{screen}");
        assert!(!screen.contains('▕'), "no bar for a figure not measured:\n{screen}");
    }
}
