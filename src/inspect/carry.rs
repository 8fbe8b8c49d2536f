//! Carrying the costly kernel figures forward: `status`, `wchan` and the
//! CPU list are read every few samples; in between, the last values read
//! stand in for them (keyed by thread, so a reused TID starts afresh), so
//! columns do not blink and the text dump does not lose them. Kept by the
//! inspector, below every view, so the TUI and `snapshot` agree.

use super::snapshot::ThreadView;
use crate::kernel::{Field, Reason};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// The costly kernel figures are read every few samples; in between, the
/// last values read stand in for them, so columns do not blink.
#[derive(Default)]
pub(crate) struct CarryForward {
    /// By thread key, stamped with the last sample that saw the thread.
    last: FxHashMap<u64, (u64, Remembered)>,
    sample: u64,
}

#[derive(Default)]
struct Remembered {
    voluntary: Option<u64>,
    nonvoluntary: Option<u64>,
    wchan: Option<Option<Arc<str>>>,
    futex: Option<Option<Arc<str>>>,
    cpus: Option<Arc<[(u32, u32)]>>,
}

impl CarryForward {
    /// Updated in place: a thread whose figures were read again replaces
    /// what is remembered only where they differ, so a sample of 10,000
    /// unchanged threads copies nothing.
    pub(crate) fn fill(&mut self, threads: &mut [ThreadView]) {
        self.sample += 1;
        let sample = self.sample;
        for t in threads.iter_mut() {
            let Some(k) = &mut t.kernel else { continue };
            let (stamp, old) = self.last.entry(t.key).or_default();
            *stamp = sample;
            keep(&mut k.voluntary_ctxt_switches, &mut old.voluntary);
            keep(&mut k.nonvoluntary_ctxt_switches, &mut old.nonvoluntary);
            keep(&mut k.wchan, &mut old.wchan);
            keep(&mut k.futex, &mut old.futex);
            keep(&mut k.cpus_allowed, &mut old.cpus);
        }
        self.last.retain(|_, (stamp, _)| *stamp == sample);
    }
}

/// Fills a not-sampled field from `remembered`, or remembers the value
/// read (what could not be read is forgotten: it is not carried forward).
fn keep<T: Clone + PartialEq>(field: &mut Field<T>, remembered: &mut Option<T>) {
    match (&*field, &*remembered) {
        (Field::Unavailable(Reason::NotSampled), Some(old)) => *field = Field::Available(old.clone()),
        (Field::Available(new), Some(old)) if new == old => {}
        (field, _) => *remembered = field.value().cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_figures_keep_their_last_value() {
        let mut remembered = Some(7u64);
        let mut field = Field::Unavailable(Reason::NotSampled);
        keep(&mut field, &mut remembered);
        assert_eq!((field, remembered), (Field::Available(7), Some(7)));
        let mut denied: Field<u64> = Field::Unavailable(Reason::Denied);
        keep(&mut denied, &mut remembered);
        assert_eq!((denied, remembered), (Field::Unavailable(Reason::Denied), None));
        let mut fresh = Field::Available(9u64);
        let mut remembered = Some(7);
        keep(&mut fresh, &mut remembered);
        assert_eq!((fresh, remembered), (Field::Available(9), Some(9)));
    }
}
