//! Carrying the costly kernel figures forward: `status`, `wchan` and the
//! CPU list are read every few samples; in between, the last values read
//! stand in for them (keyed by thread, so a reused TID starts afresh), so
//! columns do not blink and the text dump does not lose them. Kept by the
//! inspector, below every view, so the TUI and `snapshot` agree.

use super::snapshot::ThreadView;
use crate::kernel::{Field, Reason};
use std::collections::HashMap;

/// The costly kernel figures are read every few samples; in between, the
/// last values read stand in for them, so columns do not blink.
#[derive(Default)]
pub(crate) struct CarryForward {
    last: HashMap<u64, Remembered>,
}

#[derive(Default)]
struct Remembered {
    voluntary: Option<u64>,
    nonvoluntary: Option<u64>,
    wchan: Option<Option<String>>,
    cpus: Option<Vec<(u32, u32)>>,
}

impl CarryForward {
    pub(crate) fn fill(&mut self, threads: &mut [ThreadView]) {
        let mut next = HashMap::with_capacity(threads.len());
        for t in threads.iter_mut() {
            let Some(k) = &mut t.kernel else { continue };
            let old = self.last.remove(&t.key).unwrap_or_default();
            let remembered = Remembered {
                voluntary: keep(&mut k.voluntary_ctxt_switches, old.voluntary),
                nonvoluntary: keep(&mut k.nonvoluntary_ctxt_switches, old.nonvoluntary),
                wchan: keep(&mut k.wchan, old.wchan),
                cpus: keep(&mut k.cpus_allowed, old.cpus),
            };
            next.insert(t.key, remembered);
        }
        self.last = next;
    }
}

/// Fills a not-sampled field from `old`; returns the value to remember.
fn keep<T: Clone>(field: &mut Field<T>, old: Option<T>) -> Option<T> {
    match (&*field, old) {
        (Field::Unavailable(Reason::NotSampled), Some(old)) => {
            *field = Field::Available(old.clone());
            Some(old)
        }
        (field, _) => field.value().cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_figures_keep_their_last_value() {
        let mut field = Field::Unavailable(Reason::NotSampled);
        assert_eq!(keep(&mut field, Some(7u64)), Some(7));
        assert_eq!(field, Field::Available(7));
        let mut denied: Field<u64> = Field::Unavailable(Reason::Denied);
        assert_eq!(keep(&mut denied, Some(7)), None);
        assert_eq!(denied, Field::Unavailable(Reason::Denied));
        let mut fresh = Field::Available(9u64);
        assert_eq!(keep(&mut fresh, Some(7)), Some(9));
    }
}
