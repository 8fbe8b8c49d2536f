//! Seeded randomness for `jitter`: repeatable per scenario seed and thread.

use crate::scenario::Wait;
use std::time::Duration;

/// A thread's random stream.
pub(crate) struct Jitter(fastrand::Rng);

impl Jitter {
    /// The stream for thread number `thread` of a scenario seeded with `seed`.
    pub(crate) fn new(seed: u64, thread: usize) -> Self {
        // SplitMix64's increment spreads neighbouring threads apart.
        Self(fastrand::Rng::with_seed(seed ^ (thread as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)))
    }

    /// A fresh stream number drawn from this one (for pool tasks).
    pub(crate) fn next_stream(&mut self) -> usize {
        self.0.usize(..1 << 20) * 1024
    }

    /// `wait.base` moved by up to ± `wait.jitter`, never below zero.
    pub(crate) fn apply(&mut self, wait: Wait) -> Duration {
        if wait.jitter.is_zero() {
            return wait.base;
        }
        let span = u64::try_from(wait.jitter.as_nanos()).unwrap_or(u64::MAX / 2);
        let offset = self.0.u64(0..=span.saturating_mul(2));
        let base = u64::try_from(wait.base.as_nanos()).unwrap_or(u64::MAX / 2);
        Duration::from_nanos(base.saturating_add(offset).saturating_sub(span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_range_and_repeats() {
        let wait = Wait { base: Duration::from_millis(10), jitter: Duration::from_millis(4) };
        let a: Vec<Duration> = {
            let mut j = Jitter::new(7, 3);
            (0..100).map(|_| j.apply(wait)).collect()
        };
        let b: Vec<Duration> = {
            let mut j = Jitter::new(7, 3);
            (0..100).map(|_| j.apply(wait)).collect()
        };
        assert_eq!(a, b, "same seed and thread, same stream");
        assert!(a.iter().all(|d| (Duration::from_millis(6)..=Duration::from_millis(14)).contains(d)));
        let c: Vec<Duration> = {
            let mut j = Jitter::new(7, 4);
            (0..100).map(|_| j.apply(wait)).collect()
        };
        assert_ne!(a, c, "another thread, another stream");
    }

    #[test]
    fn jitter_never_goes_negative() {
        let wait = Wait { base: Duration::from_millis(1), jitter: Duration::from_millis(5) };
        let mut j = Jitter::new(1, 0);
        assert!((0..1000).all(|_| j.apply(wait) <= Duration::from_millis(6)));
    }
}
