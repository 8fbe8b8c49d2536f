//! [`LogState`]: the log screen's entries (bounded) and scroll position.

use super::event::LogKind;
use std::collections::VecDeque;
use std::time::Duration;

/// At most this many entries are kept.
pub const MAX_ENTRIES: usize = 2000;

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Time since the UI started.
    pub at: Duration,
    /// What it is about.
    pub kind: LogKind,
    /// The text, already made safe (one line; multi-line text is split).
    pub text: String,
}

/// The entries and where the view is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogState {
    /// Oldest first.
    pub entries: VecDeque<LogEntry>,
    /// Lines scrolled up from the newest (0: following new entries).
    pub back: usize,
}

impl LogState {
    /// Adds an entry; multi-line text becomes several entries, each made
    /// safe for the terminal here.
    pub fn push(&mut self, at: Duration, kind: LogKind, text: &str) {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let text = crate::display::sanitize(line).into_owned();
            self.entries.push_back(LogEntry { at, kind, text });
            if self.back > 0 {
                // Keep the view still while someone reads back.
                self.back += 1;
            }
        }
        while self.entries.len() > MAX_ENTRIES {
            self.entries.pop_front();
        }
        self.back = self.back.min(self.entries.len());
    }

    /// Scrolls up (positive) or down by `lines`.
    pub fn scroll(&mut self, lines: isize) {
        self.back = self.back.saturating_add_signed(lines).min(self.entries.len().saturating_sub(1));
    }

    /// The most recent entry.
    pub fn last(&self) -> Option<&LogEntry> {
        self.entries.back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_made_safe_and_bounded() {
        let mut log = LogState::default();
        log.push(
            Duration::ZERO,
            LogKind::Exception,
            "Exception in thread \x1b[2Jx:\npanicked at a.rs:1:1:\nboom\n",
        );
        assert_eq!(log.entries.len(), 3);
        assert_eq!(log.entries[0].text, "Exception in thread \\e[2Jx:");
        for i in 0..MAX_ENTRIES + 10 {
            log.push(Duration::ZERO, LogKind::Info, &format!("line {i}"));
        }
        assert_eq!(log.entries.len(), MAX_ENTRIES);
    }

    #[test]
    fn reading_back_holds_the_view_still() {
        let mut log = LogState::default();
        for i in 0..10 {
            log.push(Duration::ZERO, LogKind::Info, &format!("{i}"));
        }
        log.scroll(3);
        log.push(Duration::ZERO, LogKind::Info, "new");
        assert_eq!(log.back, 4);
        log.scroll(-100);
        assert_eq!(log.back, 0);
    }
}
