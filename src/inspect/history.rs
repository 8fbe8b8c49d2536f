//! Per-thread state history for the timeline: bounded by age and size.

use crate::threading::ThreadState;
use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;
use serde::Serialize;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How much history is kept per thread.
pub const HISTORY_SPAN: Duration = Duration::from_secs(60);
/// At most this many state changes are kept per thread.
const MAX_CHANGES: usize = 512;

/// One stretch of a thread's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// The state during the stretch.
    pub state: ThreadState,
    /// How long before the snapshot it began.
    #[serde(with = "crate::threading::secs")]
    pub from_ago: Duration,
    /// How long before the snapshot it ended (zero: still going).
    #[serde(with = "crate::threading::secs")]
    pub until_ago: Duration,
}

/// State changes per thread key, as seen at each sample.
///
/// In the order threads were first seen, which is the order each sample
/// lists them in: 10,000 threads observed a second are visited one after
/// the other in memory, not scattered over a hash table, and a thread that
/// stays in its state is settled without reading its list of changes.
#[derive(Debug, Default)]
pub struct History {
    threads: IndexMap<u64, Track, FxBuildHasher>,
}

/// One thread's state changes, oldest first, and when it was last seen.
#[derive(Debug)]
struct Track {
    changes: VecDeque<(Instant, ThreadState)>,
    /// The state of the last change (`changes`' last), kept beside it.
    state: ThreadState,
    seen: Instant,
}

impl History {
    /// Records that thread `key` was in `state` at `at` (only changes are stored).
    pub fn observe(&mut self, key: u64, state: ThreadState, at: Instant) {
        let track = self.threads.entry(key).or_insert_with(|| Track {
            changes: VecDeque::from([(at, state)]),
            state,
            seen: at,
        });
        track.seen = at;
        if track.state != state {
            track.state = state;
            track.changes.push_back((at, state));
            if track.changes.len() > MAX_CHANGES {
                track.changes.pop_front();
            }
        }
    }

    /// Forgets changes older than [`HISTORY_SPAN`] (keeping the state in
    /// force at the window's start) and threads not seen for that long.
    pub fn prune(&mut self, now: Instant) {
        let horizon = now.checked_sub(HISTORY_SPAN).unwrap_or(now);
        self.threads.retain(|_, Track { changes, seen, .. }| {
            while changes.len() > 1 && changes.get(1).is_some_and(|&(at, _)| at <= horizon) {
                changes.pop_front();
            }
            // Threads that vanish (a foreign task that exits, a record the
            // registry dropped) are never seen Terminated: forget them once
            // unseen for the whole span.
            *seen >= horizon
        });
    }

    /// The timeline of `key` over the last `window` before `now`, oldest first.
    pub fn segments(&self, key: u64, now: Instant, window: Duration) -> Vec<Segment> {
        let Some(Track { changes, .. }) = self.threads.get(&key) else { return Vec::new() };
        let start = now.checked_sub(window).unwrap_or(now);
        let mut out = Vec::new();
        for (i, &(at, state)) in changes.iter().enumerate() {
            let end = changes.get(i + 1).map_or(now, |&(next, _)| next);
            if end <= start {
                continue;
            }
            let begin = at.max(start);
            out.push(Segment {
                state,
                from_ago: now.saturating_duration_since(begin),
                until_ago: now.saturating_duration_since(end),
            });
        }
        out
    }

    /// Share of the last `window` spent in each state (created, running,
    /// waiting, terminated), as fractions of the time observed.
    pub fn shares(&self, key: u64, now: Instant, window: Duration) -> [f64; 4] {
        shares_of(&self.segments(key, now, window))
    }
}

/// Share of the time covered by `segments` spent in each state (created,
/// running, waiting, terminated).
pub fn shares_of(segments: &[Segment]) -> [f64; 4] {
    let mut totals = [0f64; 4];
    for s in segments {
        let index = match s.state {
            ThreadState::Created => 0,
            ThreadState::Running => 1,
            ThreadState::Waiting => 2,
            ThreadState::Terminated => 3,
        };
        totals[index] += (s.from_ago - s.until_ago).as_secs_f64();
    }
    let sum: f64 = totals.iter().sum();
    if sum > 0.0 {
        totals.iter_mut().for_each(|t| *t /= sum);
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_changes_within_the_window() {
        let t0 = Instant::now();
        let mut h = History::default();
        h.observe(1, ThreadState::Running, t0);
        h.observe(1, ThreadState::Running, t0 + Duration::from_secs(1)); // no change, not stored
        h.observe(1, ThreadState::Waiting, t0 + Duration::from_secs(2));
        let now = t0 + Duration::from_secs(5);
        let segments = h.segments(1, now, Duration::from_secs(4));
        assert_eq!(segments.len(), 2);
        assert_eq!(
            (segments[0].state, segments[0].from_ago, segments[0].until_ago),
            (ThreadState::Running, Duration::from_secs(4), Duration::from_secs(3))
        );
        assert_eq!((segments[1].state, segments[1].until_ago), (ThreadState::Waiting, Duration::ZERO));
        let shares = h.shares(1, now, Duration::from_secs(4));
        assert!((shares[1] - 0.25).abs() < 1e-9 && (shares[2] - 0.75).abs() < 1e-9, "{shares:?}");
    }

    #[test]
    fn history_is_bounded() {
        let t0 = Instant::now();
        let mut h = History::default();
        for i in 0..2000u64 {
            let state = if i % 2 == 0 { ThreadState::Running } else { ThreadState::Waiting };
            h.observe(7, state, t0 + Duration::from_millis(i));
        }
        assert!(h.threads[&7].changes.len() <= MAX_CHANGES);
        h.observe(8, ThreadState::Running, t0);
        let later = t0 + HISTORY_SPAN + Duration::from_secs(1);
        h.observe(7, ThreadState::Running, later);
        h.prune(later);
        assert!(!h.threads.contains_key(&8), "threads unseen for the whole span are forgotten");
        assert!(h.threads.contains_key(&7));
    }
}
