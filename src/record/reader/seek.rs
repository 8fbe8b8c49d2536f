//! Which sample a moment of a recording means: `snapshot --from --at T`
//! and the replay's `t` both land where [`Recording::seek`] says.

use super::Recording;
use std::time::Duration;

/// How far past the last sample a moment may be and still mean it: a
/// recording's length is said to a tenth of a second (`human`), so the
/// length as said is always a moment of the recording.
const SAID_TO: Duration = Duration::from_millis(50);

/// Where a moment of a recording lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seek {
    /// The sample nearest the moment, within half the recording's interval
    /// of it: the sample taken for that moment, a little early or late.
    At(usize),
    /// No sample within half an interval of the moment (samples were
    /// missed there): the nearest one, which the caller should say is not
    /// of that moment.
    Nearest(usize),
    /// The moment is after the recording's end: its last sample.
    PastTheEnd(usize),
}

impl Seek {
    /// The sample it lands on.
    pub fn index(self) -> usize {
        match self {
            Seek::At(i) | Seek::Nearest(i) | Seek::PastTheEnd(i) => i,
        }
    }
}

impl Recording {
    /// From the first sample to the last: what the recording covers.
    pub fn span(&self) -> Duration {
        self.after_first(self.len().saturating_sub(1))
    }

    /// How long after the first sample sample `i` was taken.
    pub fn after_first(&self, i: usize) -> Duration {
        Duration::from_millis(self.time_ms(i).saturating_sub(self.time_ms(0)))
    }

    /// How near a moment a sample must be to be the one taken for it:
    /// half the recording's interval. Samples are taken a few milliseconds
    /// off their beat, so the last one at or before a moment may be a
    /// whole interval before the one taken for it.
    pub fn slack(&self) -> Duration {
        Duration::from_millis(self.header.interval_ms / 2)
    }

    /// The sample for the moment `at` after the first one: the nearest to
    /// it (the earlier of two as near), and whether it is near enough to
    /// be that moment's.
    pub fn seek(&self, at: Duration) -> Seek {
        let last = self.len().saturating_sub(1);
        if at > self.span() + self.slack().max(SAID_TO) {
            return Seek::PastTheEnd(last);
        }
        let first = self.time_ms(0);
        let wanted = first.saturating_add(u64::try_from(at.as_millis()).unwrap_or(u64::MAX));
        let before = self.sample_at(wanted);
        let after = (before + 1).min(last);
        let off = |i: usize| self.time_ms(i).abs_diff(wanted);
        let index = if off(after) < off(before) { after } else { before };
        if Duration::from_millis(off(index)) <= self.slack() { Seek::At(index) } else { Seek::Nearest(index) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Header, RecordedSource, Recorder};

    /// A recording at 1 s intervals whose samples were taken at these
    /// milliseconds after the first.
    fn taken_at(offsets: &[u64]) -> Recording {
        let header = Header::new(RecordedSource::Pid { pid: 1 }, Duration::from_secs(1));
        let mut recorder = Recorder::new(Vec::new(), &header).unwrap();
        let registry = crate::threading::Registry::new();
        let one = crate::inspect::Inspector::own(&registry).unwrap().refresh().unwrap();
        for offset in offsets {
            let mut snapshot = one.clone();
            snapshot.taken_at_unix_ms = 1_700_000_000_000 + offset;
            recorder.record(&snapshot).unwrap();
        }
        Recording::from_bytes(recorder.finish().unwrap()).unwrap()
    }

    #[test]
    fn a_moment_means_the_sample_taken_for_it_early_or_late() {
        // Trial 6: the sample for 12 s was taken at 12.002 s, and `--at 12s`
        // showed the one at 11 s.
        let r = taken_at(&[0, 1000, 2001, 2999, 4002, 6000]);
        let s = |secs: f64| r.seek(Duration::from_secs_f64(secs));
        assert_eq!(s(0.0), Seek::At(0));
        assert_eq!(s(2.0), Seek::At(2), "a millisecond late");
        assert_eq!(s(3.0), Seek::At(3), "a millisecond early");
        assert_eq!(s(4.0), Seek::At(4));
        assert_eq!(s(3.4), Seek::At(3));
        assert_eq!(s(3.6), Seek::At(4));
        // The 5 s sample was missed: the nearest is said to be no closer.
        assert_eq!(s(5.0), Seek::Nearest(4), "the earlier of two as near");
        assert_eq!(s(5.2), Seek::Nearest(5));
    }

    #[test]
    fn the_length_as_said_is_a_moment_of_the_recording() {
        // Trial 6: a recording said to span 4.0 s called `--at 4s` past its end.
        let r = taken_at(&[0, 1000, 2000, 3000, 3996]);
        assert_eq!(crate::display::human(r.span()), "4.0 s");
        assert_eq!(r.seek(Duration::from_secs(4)), Seek::At(4));
        assert_eq!(r.seek(Duration::from_millis(4400)), Seek::At(4), "within half an interval");
        assert_eq!(r.seek(Duration::from_millis(4600)), Seek::PastTheEnd(4));
        assert_eq!(r.seek(Duration::from_secs(3600)).index(), 4);
    }
}
