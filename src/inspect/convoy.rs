//! The lock-convoy finding: a lock most of whose recent acquisitions had
//! to wait, with a queue behind it now. The counters are cumulative, so the
//! watch keeps each lock's counts from the start of a window (at least
//! [`MIN_ACQUISITIONS`] long) and judges that window, not the lock's whole
//! life: a lock contended an hour ago and quiet now is no convoy.

use super::lints::{Candidate, LintKind};
use crate::threading::{PrimitiveKind, PrimitiveSnapshot};
use std::collections::HashMap;

/// Fewer acquisitions than this in a window say nothing either way.
const MIN_ACQUISITIONS: u64 = 5;
/// Threads queued now, at least: one waiter is a handover, not a convoy.
const MIN_WAITERS: usize = 2;
/// Threads queued now that keep a convoy already found: its queue moves
/// by one at every handover, and a finding that clears whenever it dips
/// below two flaps on and off in the log.
const KEEP_WAITERS: usize = 1;

/// One lock's window: the counts it starts from, and the last verdict.
#[derive(Debug, Clone)]
struct Window {
    acquisitions: u64,
    contentions: u64,
    /// The message of the last window that was a convoy.
    verdict: Option<String>,
    /// Whether the last sample found it a convoy.
    found: bool,
}

/// Each lock's window. A window closes once it has seen
/// [`MIN_ACQUISITIONS`]; until then (samples faster than the lock's
/// traffic) the last verdict stands, so the finding does not flicker.
#[derive(Debug, Default)]
pub struct ConvoyWatch {
    windows: HashMap<u64, Window>,
}

impl ConvoyWatch {
    /// This sample's convoy candidates; remembers the counts for the next.
    pub fn candidates(&mut self, primitives: &[PrimitiveSnapshot]) -> Vec<Candidate> {
        let mut next = HashMap::with_capacity(self.windows.len());
        let mut out = Vec::new();
        for p in primitives.iter().filter(|p| matches!(p.kind, PrimitiveKind::Lock | PrimitiveKind::RLock)) {
            let (acquisitions, contentions) = (p.stats.acquisitions, p.stats.contentions);
            let found = self.windows.get(&p.id).is_some_and(|w| w.found);
            let fresh = Window { acquisitions, contentions, verdict: None, found: false };
            let mut window = match self.windows.get(&p.id) {
                None => fresh,
                Some(open) if acquisitions.saturating_sub(open.acquisitions) < MIN_ACQUISITIONS => {
                    open.clone()
                }
                Some(open) => {
                    let acquired = acquisitions.saturating_sub(open.acquisitions);
                    let contended = contentions.saturating_sub(open.contentions);
                    let verdict = (contended * 2 > acquired).then(|| {
                        format!(
                            "{} {} is a convoy: {contended} of {acquired} acquisitions waited for it",
                            p.kind.label(),
                            crate::display::sanitize(&p.name),
                        )
                    });
                    Window { verdict, ..fresh }
                }
            };
            let queue = if found { KEEP_WAITERS } else { MIN_WAITERS };
            window.found = window.verdict.is_some() && p.waiters.len() >= queue;
            if let Some(verdict) = window.verdict.as_ref().filter(|_| window.found) {
                out.push(Candidate {
                    kind: LintKind::LockConvoy,
                    subject: p.id,
                    message: format!(
                        "{verdict}, {} queued now ({} of {} in all)",
                        match p.waiters.len() {
                            1 => "1 thread".to_owned(),
                            n => format!("{n} threads"),
                        },
                        contentions,
                        acquisitions
                    ),
                });
            }
            next.insert(p.id, window);
        }
        self.windows = next;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threading::{PrimitiveStats, ThreadRef};

    fn lock(acquisitions: u64, contentions: u64, waiters: usize) -> PrimitiveSnapshot {
        let waiter = |i: usize| ThreadRef { id: i as u64 + 10, name: format!("Worker-{i}") };
        PrimitiveSnapshot {
            id: 7,
            kind: PrimitiveKind::Lock,
            name: "ledger".into(),
            holders: Vec::new(),
            waiters: (0..waiters).map(waiter).collect(),
            stats: PrimitiveStats { acquisitions, contentions, ..PrimitiveStats::default() },
            details: Default::default(),
            related: None,
            last_raise: None,
        }
    }

    #[test]
    fn a_window_of_mostly_contended_acquisitions_with_a_queue_is_a_convoy() {
        let mut watch = ConvoyWatch::default();
        assert!(watch.candidates(&[lock(400, 380, 7)]).is_empty(), "the first sample has no window");
        let found = watch.candidates(&[lock(460, 420, 7)]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "lock ledger is a convoy: 40 of 60 acquisitions waited for it, 7 threads queued now (420 of 460 in all)"
        );
        // Samples faster than the traffic keep the verdict; the window stays open.
        assert_eq!(watch.candidates(&[lock(462, 422, 6)]).len(), 1);
        assert_eq!(watch.candidates(&[lock(464, 424, 6)]).len(), 1);
        assert!(watch.candidates(&[lock(466, 422, 6)]).is_empty(), "2 of 6 waited: no longer");
    }

    #[test]
    fn past_contention_a_lone_waiter_or_a_quiet_window_is_not() {
        let mut watch = ConvoyWatch::default();
        watch.candidates(&[lock(400, 380, 7)]);
        assert!(watch.candidates(&[lock(500, 390, 7)]).is_empty(), "10 of 100 waited");
        assert!(watch.candidates(&[lock(560, 450, 1)]).is_empty(), "one waiter is a handover");
        assert!(watch.candidates(&[lock(600, 500, 7)]).len() == 1, "40 of 60 waited");
        // Found, it stays while anyone queues: a handover is not its end.
        let kept = watch.candidates(&[lock(600, 500, 1)]);
        assert_eq!(kept.len(), 1, "one still queues");
        assert!(kept[0].message.contains(", 1 thread queued now"), "{}", kept[0].message);
        assert!(watch.candidates(&[lock(600, 500, 0)]).is_empty(), "the queue drained");
        assert!(watch.candidates(&[lock(600, 500, 1)]).is_empty(), "found anew only with a queue of two");
    }
}
