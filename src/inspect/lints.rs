//! Findings about behaviour, shown only once they have held across several
//! samples, so a passing state never flickers onto the screen.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Samples a condition must hold for before it is shown.
pub const MIN_SAMPLES: u32 = 3;

/// What a lint is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LintKind {
    /// The library says Running but the kernel has the thread sleeping (S
    /// or D): it is blocked somewhere the library cannot see.
    BlockedOutsideLibrary,
    /// The library says Waiting but the kernel says R: it spins.
    Spinning,
    /// A lock held for over a second while others wait for it.
    LockHeldWithWaiters,
    /// A lock most of whose recent acquisitions had to wait, with a queue
    /// behind it (see `convoy`).
    LockConvoy,
}

impl LintKind {
    /// How long the condition must have held before it is shown.
    pub fn min_duration(self) -> Duration {
        match self {
            Self::BlockedOutsideLibrary => Duration::from_secs(2),
            Self::Spinning | Self::LockHeldWithWaiters | Self::LockConvoy => Duration::ZERO,
        }
    }
}

/// A condition seen in one sample: the kind, the registry id it is about,
/// and the message to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// What kind.
    pub kind: LintKind,
    /// The thread or primitive id.
    pub subject: u64,
    /// In words.
    pub message: String,
}

/// A lint that has held long enough to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lint {
    /// What kind.
    pub kind: LintKind,
    /// The thread or primitive id.
    pub subject: u64,
    /// In words.
    pub message: String,
    /// How long it has held.
    #[serde(with = "crate::threading::secs")]
    pub held_for: Duration,
}

/// Remembers candidates across samples.
#[derive(Debug, Default)]
pub struct Debouncer {
    seen: HashMap<(LintKind, u64), (Instant, u32)>,
}

impl Debouncer {
    /// Takes this sample's candidates; returns those that have now held for
    /// at least [`MIN_SAMPLES`] samples and their kind's minimum duration.
    /// A candidate missing from a sample starts over.
    pub fn update(&mut self, now: Instant, candidates: Vec<Candidate>) -> Vec<Lint> {
        let mut next = HashMap::with_capacity(candidates.len());
        let mut shown = Vec::new();
        for c in candidates {
            let key = (c.kind, c.subject);
            let (first, samples) = self.seen.get(&key).map_or((now, 1), |&(first, n)| (first, n + 1));
            next.insert(key, (first, samples));
            let held_for = now.saturating_duration_since(first);
            if samples >= MIN_SAMPLES && held_for >= c.kind.min_duration() {
                shown.push(Lint { kind: c.kind, subject: c.subject, message: c.message, held_for });
            }
        }
        self.seen = next;
        shown.sort_by(|a, b| a.kind.cmp(&b.kind).then(a.subject.cmp(&b.subject)));
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(kind: LintKind, subject: u64) -> Candidate {
        Candidate { kind, subject, message: format!("{kind:?} {subject}") }
    }

    #[test]
    fn shown_only_after_enough_samples_and_time() {
        let mut d = Debouncer::default();
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        assert!(d.update(at(0), vec![candidate(LintKind::Spinning, 1)]).is_empty());
        assert!(d.update(at(100), vec![candidate(LintKind::Spinning, 1)]).is_empty());
        let shown = d.update(at(200), vec![candidate(LintKind::Spinning, 1)]);
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].held_for, Duration::from_millis(200));

        // Blocked-outside-library needs 2 s as well as 3 samples.
        for ms in [0, 100, 200, 1900] {
            assert!(d.update(at(ms), vec![candidate(LintKind::BlockedOutsideLibrary, 2)]).is_empty(), "{ms}");
        }
        assert_eq!(d.update(at(2000), vec![candidate(LintKind::BlockedOutsideLibrary, 2)]).len(), 1);
    }

    #[test]
    fn a_gap_starts_over() {
        let mut d = Debouncer::default();
        let t0 = Instant::now();
        d.update(t0, vec![candidate(LintKind::Spinning, 1)]);
        d.update(t0, vec![candidate(LintKind::Spinning, 1)]);
        d.update(t0, vec![]);
        assert!(d.update(t0, vec![candidate(LintKind::Spinning, 1)]).is_empty(), "no flicker back on");
    }
}
