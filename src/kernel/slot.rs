//! One known thread's kept-open files and remembered readings, and the
//! descriptor budget all threads share.
//!
//! A thread may keep two files open: `schedstat`, read each refresh to see
//! whether it has run, and `stat`, read when it has. Both count against
//! one cap (by default half the soft `RLIMIT_NOFILE`, which may be less
//! than two per thread: 10,000 files for 10,000 threads under a limit of
//! 20,000). So each thread first keeps its *primary* file, the one it
//! reads every refresh (`schedstat` while gated on it; `stat` for the main
//! thread, busy threads, or without gating), and only what the cap leaves
//! beyond one file per thread goes to second files. A file not kept is
//! opened and closed each time it is needed, about 2.3 µs more a read.

use super::schedstat::Schedstat;
use super::stat::StatLine;
use std::fs::File;

/// The share of the soft `RLIMIT_NOFILE` kept files may use by default.
const NOFILE_SHARE: u64 = 2;

/// Which of a thread's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Stat,
    Schedstat,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Stat => "stat",
            Kind::Schedstat => "schedstat",
        }
    }

    fn other(self) -> Kind {
        match self {
            Kind::Stat => Kind::Schedstat,
            Kind::Schedstat => Kind::Stat,
        }
    }
}

/// A thread known from an earlier refresh.
pub(crate) struct Slot {
    pub(crate) tid: u32,
    stat: Option<File>,
    schedstat: Option<File>,
    /// Its last `stat`, given out again while its `schedstat` stands still.
    pub(crate) last_stat: Option<StatLine>,
    /// Its `schedstat` when last read, at or before `last_stat`.
    pub(crate) last_schedstat: Option<Schedstat>,
    /// It ran since the last full refresh: its `stat` is read every refresh,
    /// without asking `schedstat` first, until the next one.
    pub(crate) busy: bool,
    /// Whether the last refresh read its `stat` rather than reusing it.
    pub(crate) stat_read: bool,
    /// The last refresh found it has not run since its `schedstat`
    /// baseline: what it sleeps in is as it was (see `TaskDir::refresh`).
    pub(crate) quiet: bool,
    /// The last refresh looked at it (it was due a check, see
    /// `TaskDir::set_check_every`).
    pub(crate) checked: bool,
}

impl Slot {
    pub(crate) fn new(tid: u32) -> Slot {
        Slot {
            tid,
            stat: None,
            schedstat: None,
            last_stat: None,
            last_schedstat: None,
            busy: false,
            stat_read: false,
            quiet: false,
            checked: false,
        }
    }

    pub(crate) fn file(&self, kind: Kind) -> Option<&File> {
        match kind {
            Kind::Stat => self.stat.as_ref(),
            Kind::Schedstat => self.schedstat.as_ref(),
        }
    }

    fn file_mut(&mut self, kind: Kind) -> &mut Option<File> {
        match kind {
            Kind::Stat => &mut self.stat,
            Kind::Schedstat => &mut self.schedstat,
        }
    }

    fn held(&self) -> usize {
        usize::from(self.stat.is_some()) + usize::from(self.schedstat.is_some())
    }
}

/// Files a thread opened during one refresh, for [`Budget::keep`] to keep
/// or close.
#[derive(Default)]
pub(crate) struct Opened {
    stat: Option<File>,
    schedstat: Option<File>,
}

impl Opened {
    pub(crate) fn put(&mut self, kind: Kind, file: File) {
        match kind {
            Kind::Stat => self.stat = Some(file),
            Kind::Schedstat => self.schedstat = Some(file),
        }
    }

    fn take(&mut self, kind: Kind) -> Option<File> {
        match kind {
            Kind::Stat => self.stat.take(),
            Kind::Schedstat => self.schedstat.take(),
        }
    }
}

/// How many files the slots may keep open, and how many they hold.
pub(crate) struct Budget {
    max: usize,
    kept: usize,
    /// Slots holding both their files.
    paired: usize,
    /// Threads sharing the budget: each is owed room for its primary file.
    threads: usize,
}

impl Budget {
    pub(crate) fn new(max: usize) -> Budget {
        Budget { max, kept: 0, paired: 0, threads: 0 }
    }

    pub(crate) fn kept(&self) -> usize {
        self.kept
    }

    /// How many threads share the budget, from the next [`keep`](Self::keep) on.
    pub(crate) fn set_threads(&mut self, threads: usize) {
        self.threads = threads;
    }

    /// Closes `slot`'s files and forgets what was read from them: its
    /// thread is gone, though a new one may have its TID.
    pub(crate) fn forget(&mut self, slot: &mut Slot) {
        self.kept -= slot.held();
        self.paired -= usize::from(slot.held() == 2);
        *slot = Slot::new(slot.tid);
    }

    /// Keeps what `slot` opened this refresh as far as the budget allows,
    /// its `primary` file first; closes the rest.
    pub(crate) fn keep(&mut self, slot: &mut Slot, primary: Kind, mut opened: Opened) {
        let second = primary.other();
        if let Some(file) = opened.take(primary) {
            if self.kept < self.max {
                self.kept += 1;
                self.paired += usize::from(slot.file(second).is_some());
                *slot.file_mut(primary) = Some(file);
            } else if slot.file_mut(second).take().is_some() {
                // Full: the file this thread reads every time is worth
                // more than its other one.
                *slot.file_mut(primary) = Some(file);
            }
        }
        if let Some(file) = opened.take(second) {
            let pairing = slot.file(primary).is_some();
            let spare = self.max.saturating_sub(self.threads);
            if self.kept < self.max && (!pairing || self.paired < spare) {
                self.kept += 1;
                self.paired += usize::from(pairing);
                *slot.file_mut(second) = Some(file);
            }
        }
    }

    /// Counts what `slots` hold again (after slots were dropped or added)
    /// and closes second files beyond the room their number leaves.
    pub(crate) fn settle(&mut self, slots: &mut [Slot], primary: impl Fn(&Slot) -> Kind) {
        self.threads = slots.len();
        self.kept = slots.iter().map(Slot::held).sum();
        self.paired = slots.iter().filter(|slot| slot.held() == 2).count();
        self.trim(slots, primary);
    }

    /// Lowers (or raises) the cap to `max`, closing second files first,
    /// then primary ones, newest threads first.
    pub(crate) fn set_max(&mut self, max: usize, slots: &mut [Slot], primary: impl Fn(&Slot) -> Kind) {
        self.max = max;
        self.trim(slots, primary);
    }

    /// Closes every file of `kind`.
    pub(crate) fn close_all(&mut self, kind: Kind, slots: &mut [Slot]) {
        for slot in slots {
            self.paired -= usize::from(slot.held() == 2);
            self.kept -= usize::from(slot.file_mut(kind).take().is_some());
        }
    }

    fn trim(&mut self, slots: &mut [Slot], primary: impl Fn(&Slot) -> Kind) {
        let spare = self.max.saturating_sub(self.threads);
        for slot in slots.iter_mut().rev() {
            if self.kept <= self.max && self.paired <= spare {
                return;
            }
            if slot.held() == 2 {
                *slot.file_mut(primary(slot).other()) = None;
                self.kept -= 1;
                self.paired -= 1;
            }
        }
        for slot in slots.iter_mut().rev() {
            if self.kept <= self.max {
                return;
            }
            self.kept -= slot.held();
            slot.stat = None;
            slot.schedstat = None;
        }
    }
}

/// How many files to keep open: what was asked, but never more than half
/// the soft `RLIMIT_NOFILE`, so the rest of the program (and the sampler's
/// own detail reads) keep room.
pub(crate) fn kept_limit(asked: Option<usize>) -> usize {
    asked.map_or_else(nofile_share, |asked| asked.min(nofile_share()))
}

/// Half the soft `RLIMIT_NOFILE` (or 2^19 files when there is no limit).
fn nofile_share() -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    let share = soft.map_or(1 << 19, |soft| soft / NOFILE_SHARE);
    usize::try_from(share).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> File {
        File::open("/dev/null").unwrap()
    }

    fn opened(stat: bool, schedstat: bool) -> Opened {
        Opened { stat: stat.then(file), schedstat: schedstat.then(file) }
    }

    fn held(slot: &Slot) -> (bool, bool) {
        (slot.stat.is_some(), slot.schedstat.is_some())
    }

    #[test]
    fn with_room_for_two_files_a_thread_each_both_are_kept() {
        let mut budget = Budget::new(4);
        budget.set_threads(2);
        let mut slots = [Slot::new(1), Slot::new(2)];
        for slot in &mut slots {
            budget.keep(slot, Kind::Schedstat, opened(true, true));
            assert_eq!(held(slot), (true, true));
        }
        assert_eq!((budget.kept(), budget.paired), (4, 2));
    }

    #[test]
    fn primary_files_come_before_second_ones() {
        // Three threads, four files: one thread may keep both.
        let mut budget = Budget::new(4);
        budget.set_threads(3);
        let mut slots = [Slot::new(1), Slot::new(2), Slot::new(3)];
        for slot in &mut slots {
            budget.keep(slot, Kind::Schedstat, opened(true, true));
        }
        let kept: Vec<_> = slots.iter().map(held).collect();
        assert_eq!(kept, [(true, true), (false, true), (false, true)]);
        assert_eq!(budget.kept(), 4);
    }

    #[test]
    fn when_full_a_primary_file_displaces_the_other() {
        let mut budget = Budget::new(1);
        budget.set_threads(1);
        let mut slot = Slot::new(1);
        budget.keep(&mut slot, Kind::Stat, opened(true, false));
        assert_eq!(held(&slot), (true, false));
        // It became gated on schedstat: that file is now the one to keep.
        budget.keep(&mut slot, Kind::Schedstat, opened(false, true));
        assert_eq!((held(&slot), budget.kept()), ((false, true), 1));
    }

    #[test]
    fn more_threads_close_second_files_newest_first() {
        let mut budget = Budget::new(4);
        budget.set_threads(2);
        let mut slots = vec![Slot::new(1), Slot::new(2)];
        for slot in &mut slots {
            budget.keep(slot, Kind::Schedstat, opened(true, true));
        }
        slots.push(Slot::new(3));
        budget.settle(&mut slots, |_| Kind::Schedstat);
        let kept: Vec<_> = slots.iter().map(held).collect();
        assert_eq!(kept, [(true, true), (false, true), (false, false)]);
        assert_eq!((budget.kept(), budget.paired), (3, 1));
    }

    #[test]
    fn a_lower_cap_closes_second_files_then_primary_ones() {
        let mut budget = Budget::new(4);
        budget.set_threads(2);
        let mut slots = [Slot::new(1), Slot::new(2)];
        for slot in &mut slots {
            budget.keep(slot, Kind::Schedstat, opened(true, true));
        }
        budget.set_max(2, &mut slots, |_| Kind::Schedstat);
        assert_eq!(slots.iter().map(held).collect::<Vec<_>>(), [(false, true), (false, true)]);
        budget.set_max(1, &mut slots, |_| Kind::Schedstat);
        assert_eq!(slots.iter().map(held).collect::<Vec<_>>(), [(false, true), (false, false)]);
        assert_eq!((budget.kept(), budget.paired), (1, 0));
    }

    #[test]
    fn a_gone_thread_gives_its_files_back() {
        let mut budget = Budget::new(4);
        budget.set_threads(1);
        let mut slot = Slot::new(7);
        budget.keep(&mut slot, Kind::Schedstat, opened(true, true));
        slot.busy = true;
        budget.forget(&mut slot);
        assert_eq!((held(&slot), slot.busy, slot.tid), ((false, false), false, 7));
        assert_eq!((budget.kept(), budget.paired), (0, 0));
    }
}
