//! A thread's fields in words, for cells, the detail pane and the filter.
//! Every string from a name or `/proc` goes through
//! [`sanitize`](crate::display::sanitize) (or is a `DisplayName`) here.

use crate::display::sanitize;
use crate::inspect::{Origin, PrimitiveView, ThreadLink, ThreadView};
use crate::threading::{Outcome, ThreadState, WaitKind};
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Duration;

/// Safe text from an untrusted string.
pub fn safe(text: &str) -> Cow<'_, str> {
    sanitize(text)
}

/// A state in one word.
pub fn state_word(state: ThreadState) -> &'static str {
    match state {
        ThreadState::Created => "Created",
        ThreadState::Running => "Running",
        ThreadState::Waiting => "Waiting",
        ThreadState::Terminated => "Terminated",
    }
}

/// Who a thread belongs to, in one word.
pub fn origin_word(origin: Origin) -> &'static str {
    match origin {
        Origin::Managed => "ours",
        Origin::Inspector => "inspector",
        Origin::Foreign => "foreign",
    }
}

/// `ident` in hex, as Python's `hex(get_ident())` would show it.
pub fn ident_hex(ident: Option<u64>) -> String {
    // Unknown, not blank (a thread the library did not start, or not
    // started yet): the detail pane says which.
    ident.map_or_else(|| "—".to_owned(), |i| format!("{i:x}"))
}

/// The one duration format, shared with the text dump.
pub use crate::display::human;

/// `h:mm:ss`, for the header's uptime.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Cumulative CPU time as htop's TIME+ shows it: `M:SS.hh`, and from an
/// hour on `HhMM:SS`.
pub fn cpu_time(ms: u64) -> String {
    let (centis, secs) = ((ms / 10) % 100, ms / 1000);
    let (minutes, seconds) = (secs / 60, secs % 60);
    if minutes < 60 {
        format!("{minutes}:{seconds:02}.{centis:02}")
    } else {
        format!("{}h{:02}:{seconds:02}", minutes / 60, minutes % 60)
    }
}

/// Bytes as `12.3 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// How long the thread has existed. The library's own account where it has one (it counts from the
/// thread object's creation, before the kernel had a task), otherwise the
/// kernel's: since the task's start, at a sample `uptime_ms` after boot.
/// The two clocks part after a suspend: the library's (monotonic) stops,
/// the kernel's (boot time) does not.
pub fn age(t: &ThreadView, uptime_ms: Option<u64>) -> Option<Duration> {
    match t.time_in_state {
        Some(s) => Some(s.created + s.running + s.waiting + s.terminated),
        None => t.kernel.as_ref()?.age(uptime_ms),
    }
}

/// The kernel comm and whether the kernel cut the name to fit: the name
/// shown (the library's, an agent's, a JVM's) is longer than the kernel
/// keeps and begins with the comm. A thread only the kernel names shows
/// its comm as its name, so it is never marked: whether a 15-byte comm was
/// cut, nothing here can tell.
pub fn comm(t: &ThreadView) -> Option<(String, bool)> {
    let k = t.kernel.as_ref()?;
    let comm = k.comm.shown().to_owned();
    let (name, kept) = (t.name.raw(), k.comm.raw());
    let cut = name.len() > crate::threading::COMM_MAX_BYTES && name.starts_with(kept);
    Some((comm, cut))
}

/// Voluntary / involuntary context switches, when read.
pub fn ctxt(t: &ThreadView) -> Option<(u64, u64)> {
    let k = t.kernel.as_ref()?;
    Some((*k.voluntary_ctxt_switches.value()?, *k.nonvoluntary_ctxt_switches.value()?))
}

/// The kernel's wait channel, when read and non-empty.
pub fn wchan(t: &ThreadView) -> Option<String> {
    let w = t.kernel.as_ref()?.wchan.value()?.clone()?;
    Some(safe(&w).into_owned())
}

/// A thread referred to from elsewhere (a holder, a waiter), escaped: its
/// name, and its TID too when other threads share the name.
pub fn who(link: &ThreadLink, shared: &HashSet<String>) -> String {
    if shared.contains(&link.name) { link.label() } else { safe(&link.name).into_owned() }
}

/// Several threads, as [`who`] names them, comma-separated.
pub fn whom(links: &[ThreadLink], shared: &HashSet<String>) -> String {
    links.iter().map(|l| who(l, shared)).collect::<Vec<_>>().join(", ")
}

/// What a thread waits on, in words, in three parts so a narrow cell can
/// drop the least telling first: the hold time, then "held by".
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WaitsOn {
    /// The wait itself: `lock fork-1`, `queue jobs (put)`, `sleep`.
    what: String,
    /// Who holds what it waits for, when someone does.
    holders: Option<String>,
    /// For how long the holder has held it, when known.
    held_for: Option<String>,
}

impl WaitsOn {
    /// The whole text: `lock fork-1 ← held by Philosopher-1 for 3.2 s`.
    pub fn full(&self) -> String {
        self.shortened(true, true)
    }

    /// The longest form that fits in `width` cells: without the hold
    /// time, then with `←` alone before the holder, then cut with `…`
    /// (the holder's name is what a cut must keep longest).
    pub fn fitted(&self, width: usize) -> String {
        use unicode_width::UnicodeWidthStr;
        for (held_by, held_for) in [(true, true), (true, false), (false, false)] {
            let text = self.shortened(held_by, held_for);
            if text.width() <= width {
                return text;
            }
        }
        // Then the wait's own words give way, cut in the middle (an
        // address keeps its ends), so the holder still shows whole.
        if let Some(holders) = &self.holders {
            let room = width.saturating_sub(holders.width() + " ← ".width());
            if room >= 8 {
                return format!("{} ← {holders}", fit_middle(&self.what, room));
            }
        }
        fit(&self.shortened(false, false), width).into_owned()
    }

    fn shortened(&self, held_by: bool, held_for: bool) -> String {
        let mut out = self.what.clone();
        if let Some(holders) = &self.holders {
            out.push_str(if held_by { " ← held by " } else { " ← " });
            out.push_str(holders);
            if let Some(time) = self.held_for.as_ref().filter(|_| held_for) {
                let _ = write!(out, " for {time}");
            }
        }
        out
    }
}

/// What a thread waits on, in words:
/// `lock fork-2 ← held by Philosopher-3 for 1.2 s`, `queue jobs (put)`,
/// `join Worker-1`, `sleep` (empty when it does not wait). `primitive`
/// finds a primitive by id (for how long its holder has held it);
/// `shared` is the names several threads carry.
pub fn waits_on<'a>(
    t: &ThreadView,
    primitive: impl Fn(u64) -> Option<&'a PrimitiveView>,
    shared: &HashSet<String>,
) -> WaitsOn {
    let Some(w) = &t.waiting_on else { return WaitsOn::default() };
    let mut out = String::new();
    match (w.kind, w.holders.first()) {
        // `sleep`, `time.sleep(30)`: the name says it is a sleep.
        (WaitKind::Sleep, _) if w.name.contains("sleep") => out.push_str(&safe(&w.name)),
        (WaitKind::Sleep, _) => {
            let _ = write!(out, "sleep: {}", safe(&w.name));
        }
        (kind, _) if kind.is_system_call() => out.push_str(&safe(&w.name)),
        (WaitKind::Join, Some(joined)) => {
            let _ = write!(out, "join {}", who(joined, shared));
        }
        (kind, _) => {
            let _ = write!(out, "{kind} {}", safe(&w.name));
        }
    }
    let futex_op = w.role.as_deref().is_some_and(|r| r.starts_with("FUTEX_"));
    if let Some(role) =
        w.role.as_deref().filter(|r| !futex_op && !matches!(*r, "acquire" | "wait" | "join" | "sleep"))
    {
        let _ = write!(out, " ({})", safe(role));
    }
    let held = !w.holders.is_empty() && w.kind != WaitKind::Join;
    WaitsOn {
        what: out,
        holders: held.then(|| whom(&w.holders, shared)),
        held_for: held
            .then(|| w.primitive.and_then(&primitive).and_then(|p| p.stats.value()?.held_for))
            .flatten()
            .map(human),
    }
}

/// How a terminated thread ended, in words.
pub fn outcome(outcome: Option<&Outcome>) -> Option<String> {
    Some(match outcome? {
        Outcome::Returned => "returned".to_owned(),
        Outcome::Exited => "exited".to_owned(),
        Outcome::Panicked { message, .. } => format!("raised: {}", safe(message)),
    })
}

/// What the filter matches against, lowercased.
pub fn haystack(t: &ThreadView) -> String {
    let mut out = t.name.shown().to_lowercase();
    if let Some(k) = &t.kernel {
        let _ = write!(out, " {} {}", k.comm.shown().to_lowercase(), k.tid);
    }
    let _ = write!(out, " {}", state_word(t.state).to_lowercase());
    if let Some(w) = &t.waiting_on {
        let _ = write!(out, " {} {}", w.kind, safe(&w.name).to_lowercase());
    }
    out.push(' ');
    out.push_str(origin_word(t.origin));
    out
}

/// Fits `text` into `width` columns, ending with `…` when cut.
/// `name` in `width` cells, ending in `·tid` which the cut never takes
/// (`pool-wor…·4242`): for a name two threads share, where there is no
/// room for a TID column or a `(tid N)`.
pub fn name_with_tid(name: &str, tid: u32, width: usize) -> String {
    let tid = format!("·{tid}");
    let room = width.saturating_sub(tid.chars().count());
    format!("{}{tid}", fit(name, room))
}

pub fn fit(text: &str, width: usize) -> Cow<'_, str> {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if text.width() <= width {
        return Cow::Borrowed(text);
    }
    if width == 0 {
        return Cow::Borrowed("");
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    Cow::Owned(out)
}

/// `text` padded with spaces to `width` display cells (wide characters
/// count two, combining marks none), never cut: `format!("{:<16}")` pads
/// by characters, so a CJK or emoji name would push the columns after it
/// right. Fit first ([`fit`]) where the column must not grow.
pub fn pad(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    let mut out = text.to_owned();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(text.width())));
    out
}

/// Fits `text` into `width` columns, cut in the middle when it must be,
/// so names that share a beginning (`Worker-Pool-1`, `Worker-Pool-2`)
/// still differ where they differ: at the end.
pub fn fit_middle(text: &str, width: usize) -> Cow<'_, str> {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if text.width() <= width || width < 5 {
        return fit(text, width);
    }
    let tail_room = (width - 1) / 2;
    let mut tail = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > tail_room {
            break;
        }
        tail.push(c);
        used += w;
    }
    let head = fit(text, width - used);
    let mut out = head.into_owned();
    out.extend(tail.iter().rev());
    Cow::Owned(out)
}

/// Breaks `text` into lines at most `width` columns wide, at spaces (a
/// word wider than a line is cut with `…`).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&fit(word, width));
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_narrow_waits_on_keeps_the_holder_longest() {
        let wait = WaitsOn {
            what: "lock fork-1".into(),
            holders: Some("Philosopher-1".into()),
            held_for: Some("3.2 s".into()),
        };
        assert_eq!(wait.fitted(60), "lock fork-1 ← held by Philosopher-1 for 3.2 s");
        assert_eq!(wait.fitted(40), "lock fork-1 ← held by Philosopher-1");
        assert_eq!(wait.fitted(30), "lock fork-1 ← Philosopher-1");
        assert_eq!(wait.fitted(24), "lock…k-1 ← Philosopher-1");
        assert_eq!(wait.fitted(20), "lock fork-1 ← Philo…");
        let sleep = WaitsOn { what: "sleep".into(), ..WaitsOn::default() };
        assert_eq!((sleep.full(), sleep.fitted(3)), ("sleep".to_owned(), "sl…".to_owned()));
    }

    #[test]
    fn a_sleep_is_said_once() {
        use crate::inspect::WaitView;
        let mut t = crate::tui::fixtures::snapshot(0).threads.remove(0);
        let said = |t: &mut ThreadView, name: &str, role: Option<&str>| {
            t.waiting_on = Some(WaitView {
                kind: WaitKind::Sleep,
                name: name.into(),
                role: role.map(Into::into),
                primitive: None,
                holder: None,
                holders: Vec::new(),
                waited: None,
            });
            waits_on(t, |_| None, &HashSet::new()).full()
        };
        // The Python agent's, the library's, and a sleep by another name.
        assert_eq!(said(&mut t, "time.sleep(3600)", Some("sleep")), "time.sleep(3600)");
        assert_eq!(said(&mut t, "sleep", None), "sleep");
        assert_eq!(said(&mut t, "backoff", Some("retry")), "sleep: backoff (retry)");
    }

    #[test]
    fn a_cut_is_marked_whoever_gave_the_full_name() {
        use crate::inspect::DisplayName;
        let mut t = crate::tui::fixtures::snapshot(0).threads.remove(0);
        // A JVM's thread: no ident, foreign, its full name from the dump.
        (t.ident, t.origin) = (None, Origin::Foreign);
        let named = |t: &mut ThreadView, name: &str, comm: &str| {
            t.name = DisplayName::from_text(name);
            if let Some(k) = t.kernel.as_mut() {
                k.comm = DisplayName::from_text(comm);
            }
            comm_cut(t)
        };
        assert!(named(&mut t, "PaymentService-Processor-3", "PaymentService-"));
        assert!(named(&mut t, "Reference Handler", "Reference Handl"));
        // Only the kernel names it, 15 bytes: maybe cut, maybe not; not marked.
        assert!(!named(&mut t, "cv-wait-ümlaut", "cv-wait-ümlaut"));
        // The runtime's name is not what the comm was cut from (a JVM's `main`).
        assert!(!named(&mut t, "main-loop-of-the-program", "java"));
    }

    fn comm_cut(t: &ThreadView) -> bool {
        comm(t).is_some_and(|(_, cut)| cut)
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(Duration::from_millis(850)), "850 ms");
        assert_eq!(human(Duration::from_millis(1234)), "1.2 s");
        assert_eq!(human(Duration::from_secs(185)), "3m05s");
        assert_eq!(human(Duration::from_secs(7440)), "2h04m");
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
    }

    #[test]
    fn sizes_and_fitting() {
        assert_eq!(cpu_time(0), "0:00.00");
        assert_eq!(cpu_time(61_234), "1:01.23");
        assert_eq!(cpu_time(3_725_000), "1h02:05");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024 + 300 * 1024), "3.3 MiB");
        assert_eq!(fit("Philosopher-1", 20), "Philosopher-1");
        assert_eq!(fit("Philosopher-1", 6), "Philo…");
        assert_eq!(fit("ワーカー", 5), "ワー…");
        assert_eq!(fit("x", 0), "");
        assert_eq!(pad("日本語", 8), "日本語  ", "three wide characters are six cells");
        assert_eq!(pad("cafe\u{301}", 6), "cafe\u{301}  ", "a combining mark takes no cell");
        assert_eq!(pad("Philosopher-1", 4), "Philosopher-1", "never cut");
        assert_eq!(fit_middle("PaymentService-Processor-1", 18), "PaymentSe…cessor-1");
        assert_eq!(fit_middle("PaymentService-Processor-1", 26), "PaymentService-Processor-1");
        assert_eq!(fit_middle("Philosopher-1", 4), "Phi…");
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("Philosopher-1 x", 5), ["Phil…", "x"]);
        assert_eq!(wrap("", 5), [""]);
    }
}
