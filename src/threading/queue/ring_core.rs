//! The lock-free core of a FIFO [`Queue`](super::Queue): puts and gets
//! claim positions in a [`Ring`], and the queue's lock is taken only to
//! sleep, to wake a sleeper, or to do what the ring cannot — a `maxsize`
//! above its capacity, an unbounded queue's burst past its 1,024 slots, a
//! shutdown. Those *retire* the ring: its items move into the locked core,
//! which carries on for good.
//!
//! A sleeper announces itself in a counter the other side reads after each
//! claim. The announcement, the claim, the sleeper's second look and the
//! read of the counter are all SeqCst, so of the sleeper's second look and
//! the claimer's read one sees the other: a wake-up is never lost. The
//! waker takes the lock to notify, so it cannot slip in between a sleeper's
//! second look and its sleep.
//!
//! The ring's cursors count the puts and gets; the record reads `depth`,
//! `puts`, `gets`, `tasks_done` and `unfinished` from them (and from the
//! task counter here) rather than storing them again on every message.

use super::blocking::Patience;
use super::{BaseQueue, DEPTH, GETS, HIGH_WATER, Order, PUTS, PutError, State, TASKS_DONE, UNFINISHED};
use crate::sys::{Backoff, Claimed, Cursors, Look, Refusal, Ring, gap_at_one_instant};
use crate::threading::error::{Error, ErrorKind, Result};
use crate::threading::registry::LiveGauges;
use crate::threading::timeout::Deadline;
use crate::threading::wait::WaitScope;
use parking_lot::{Condvar, MutexGuard};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// A FIFO queue gets a ring if its slots fit in this many bytes (4,096
/// `u64`s, 2,048 `String`s; an unbounded queue's 1,024): they are allocated
/// up front, where the locked core grows as items come. Larger queues keep
/// the locked core.
const RING_BYTES: u64 = 64 * 1024;

/// The ring of a queue without a `maxsize` (Python's default): puts go
/// in at the ring's speed until a burst finds all of these slots full.
const UNBOUNDED_SLOTS: u64 = 1024;

/// Set in the task counter once the ring is retired.
const RETIRED: u64 = 1 << 63;

/// A bounded FIFO queue's ring and the counters beside it.
pub(super) struct RingCore<T> {
    ring: Ring<T>,
    tally: Arc<Tally>,
}

#[repr(align(64))]
#[derive(Debug)]
struct Line<T>(T);

/// The counters a ring-backed queue keeps besides the ring's cursors.
#[derive(Debug)]
pub(super) struct Tally {
    cursors: Arc<Cursors>,
    /// `task_done` calls so far, written by consumers only.
    tasks_done: Line<AtomicU64>,
    /// The deepest the queue was seen (see [`RingCore::note_depth`]).
    high_water: Line<AtomicU64>,
    /// Read on every message, written rarely.
    quiet: Line<Quiet>,
}

#[derive(Debug)]
struct Quiet {
    get_sleepers: AtomicU64,
    put_sleepers: AtomicU64,
    join_sleepers: AtomicU64,
    /// False once the ring is retired and the record's stored gauges hold
    /// the figures again.
    live: AtomicBool,
    /// The queue has no `maxsize`: a put that finds the ring full retires
    /// it (and goes into the locked core) instead of waiting.
    unbounded: AtomicBool,
}

impl Tally {
    fn tasks_done(&self) -> u64 {
        self.tasks_done.0.load(Ordering::SeqCst) & !RETIRED
    }

    /// Puts not yet done, at one instant (the way `Cursors::len` reads the
    /// depth). `join` relies on it: it must never say 0 when no instant had
    /// every task done.
    fn unfinished(&self) -> u64 {
        gap_at_one_instant(|| self.tasks_done(), || self.cursors.puts())
    }

    fn is_retired(&self) -> bool {
        self.tasks_done.0.load(Ordering::SeqCst) & RETIRED != 0
    }
}

impl LiveGauges for Tally {
    fn gauge(&self, index: usize) -> Option<u64> {
        if !self.quiet.0.live.load(Ordering::Acquire) {
            return None;
        }
        Some(match index {
            DEPTH => self.cursors.len(),
            PUTS => self.cursors.puts(),
            GETS => self.cursors.gets(),
            TASKS_DONE => self.tasks_done(),
            UNFINISHED => self.unfinished(),
            // A snapshot is one more look at the depth.
            HIGH_WATER => {
                let depth = self.cursors.len();
                self.high_water.0.fetch_max(depth, Ordering::Relaxed).max(depth)
            }
            _ => return None,
        })
    }
}

impl<T> RingCore<T> {
    /// A ring for a queue of `maxsize` items, if it should have one; its
    /// record reads the counted gauges from it from now on.
    pub(super) fn for_queue(maxsize: isize, record: &crate::threading::PrimitiveRecord) -> Option<Self> {
        let unbounded = maxsize <= 0;
        let bound = if unbounded { UNBOUNDED_SLOTS } else { maxsize.unsigned_abs() as u64 };
        if Ring::<T>::capacity_for(bound).saturating_mul(Ring::<T>::SLOT_BYTES) > RING_BYTES {
            return None;
        }
        let ring = Ring::new(bound);
        let tally = Arc::new(Tally {
            cursors: ring.cursors().clone(),
            tasks_done: Line(AtomicU64::new(0)),
            high_water: Line(AtomicU64::new(0)),
            quiet: Line(Quiet {
                get_sleepers: AtomicU64::new(0),
                put_sleepers: AtomicU64::new(0),
                join_sleepers: AtomicU64::new(0),
                live: AtomicBool::new(true),
                unbounded: AtomicBool::new(unbounded),
            }),
        });
        record.read_gauges_from(tally.clone());
        Some(Self { ring, tally })
    }

    /// Items in the ring, unless it is retired.
    pub(super) fn len(&self) -> Option<usize> {
        let cursors = self.ring.cursors();
        (!cursors.is_closed()).then(|| cursors.len() as usize)
    }

    /// True if at its bound now, unless the ring is retired.
    pub(super) fn full(&self) -> Option<bool> {
        self.len().map(|len| !self.unbounded() && len as u64 >= self.ring.bound())
    }

    /// True if the queue has no `maxsize` (the ring's bound is its capacity).
    fn unbounded(&self) -> bool {
        self.tally.quiet.0.unbounded.load(Ordering::Relaxed)
    }

    /// Raises the high-water mark to `depth`, a depth the queue had. An
    /// exact mark would need the head at every put — the consumers' line,
    /// read on every message — so the ring's mark is the deepest seen: at
    /// every 64th put, whenever a put found the queue full, and at every
    /// snapshot. A queue a producer found full shows its `maxsize`; a peak
    /// between two looks can be missed.
    fn note_depth(&self, depth: u64) {
        let mark = &self.tally.high_water.0;
        if depth > mark.load(Ordering::Relaxed) {
            mark.fetch_max(depth, Ordering::Relaxed);
        }
    }

    /// Items put but not done, unless the ring is retired.
    pub(super) fn unfinished(&self) -> Option<usize> {
        (!self.tally.is_retired()).then(|| self.tally.unfinished() as usize)
    }
}

/// What the ring made of a call: the answer, or "retired under you" with
/// what the locked core needs to go on.
pub(super) enum Handled<R, Rest> {
    Done(R),
    Retired(Rest),
}

use Handled::{Done, Retired};

fn full() -> Error {
    Error::new(ErrorKind::Full, "")
}

fn empty() -> Error {
    Error::new(ErrorKind::Empty, "")
}

/// A call that found its slot not ready lets about 100 ns pass (four
/// pauses of 25 ns on this project's machine) before it looks again:
/// looking at once takes the slot's line from the other side, which is
/// writing it — slowing the very claim it waits for — while after a short
/// wait the other side has usually filled (or freed) the rest of the line.
/// It lifted 1p1c throughput by about a fifth (docs/benchmarks.md).
fn pause_before_looking() {
    for _ in 0..4 {
        std::hint::spin_loop();
    }
}

fn passed(deadline: Deadline) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

impl<T, S: Order<T>> BaseQueue<T, S> {
    #[inline]
    pub(super) fn ring_put(
        &self,
        core: &RingCore<T>,
        item: T,
        patience: Patience,
        scope: &mut Option<WaitScope>,
    ) -> Handled<Result<(), PutError<T>>, (T, Patience)> {
        // Python checks a bounded queue's put timeout, full or not (after
        // its shutdown, which the locked core checks once retired).
        let wait = match patience.resolve() {
            Ok(wait) => wait,
            Err(_) if core.ring.cursors().is_closed() => return Retired((item, patience)),
            // Nor does it look at an unbounded queue's, which never waits.
            Err(_) if core.unbounded() => None,
            Err(error) => return Done(Err(PutError { item, error })),
        };
        // A put that would wait anyway looks only at its slot first.
        let look = if wait.is_some() { Look::Quick } else { Look::Sure };
        match core.ring.try_push(item, look) {
            Ok(claimed) => {
                self.after_ring_put(core, claimed);
                Done(Ok(()))
            }
            Err((item, Refusal::Closed)) => Retired((item, patience)),
            Err((item, Refusal::NotNow)) if core.unbounded() => self.ring_overflow(core, item, patience),
            Err((item, Refusal::NotNow)) => match wait {
                None => {
                    core.note_depth(core.ring.bound());
                    Done(Err(PutError { item, error: full() }))
                }
                Some(deadline) => self.ring_put_waiting(core, item, deadline, scope),
            },
        }
    }

    /// A put into an unbounded queue whose ring looked full: if a sure
    /// look agrees, the ring retires and the put goes into the locked core,
    /// which grows without limit.
    #[cold]
    #[inline(never)]
    fn ring_overflow(
        &self,
        core: &RingCore<T>,
        item: T,
        patience: Patience,
    ) -> Handled<Result<(), PutError<T>>, (T, Patience)> {
        match core.ring.try_push(item, Look::Sure) {
            Ok(claimed) => {
                self.after_ring_put(core, claimed);
                Done(Ok(()))
            }
            Err((item, _)) => {
                self.retire_ring(&mut self.lock());
                Retired((item, patience))
            }
        }
    }

    #[inline]
    fn after_ring_put(&self, core: &RingCore<T>, claimed: Claimed) {
        if claimed.pos.is_multiple_of(64) {
            core.note_depth((claimed.pos + 1).saturating_sub(core.ring.cursors().fresh_head()));
        }
        if core.tally.quiet.0.get_sleepers.load(Ordering::SeqCst) != 0 {
            self.wake(&self.not_empty, false);
        }
    }

    /// Notifies under the lock, so that no sleeper is between its second
    /// look and its sleep.
    #[cold]
    fn wake(&self, condvar: &Condvar, all: bool) {
        let _st = self.lock();
        if all {
            condvar.notify_all();
        } else {
            condvar.notify_one();
        }
    }

    /// A put that found no room: spins, then sleeps until a get makes room.
    #[cold]
    #[inline(never)]
    fn ring_put_waiting(
        &self,
        core: &RingCore<T>,
        mut item: T,
        deadline: Deadline,
        scope: &mut Option<WaitScope>,
    ) -> Handled<Result<(), PutError<T>>, (T, Patience)> {
        // One sure look first: a queue found full raises the high-water mark.
        match core.ring.try_push(item, Look::Sure) {
            Ok(claimed) => {
                self.after_ring_put(core, claimed);
                return Done(Ok(()));
            }
            Err((back, Refusal::Closed)) => return Retired((back, Patience::Until(deadline))),
            Err((back, Refusal::NotNow)) => {
                core.note_depth(core.ring.bound());
                item = back;
            }
        }
        // Then watching the slot a get frees, not the head a get moves.
        let mut backoff = Backoff::default();
        pause_before_looking();
        while backoff.spin() {
            if core.ring.may_push() {
                match core.ring.try_push(item, Look::Quick) {
                    Ok(claimed) => {
                        self.after_ring_put(core, claimed);
                        return Done(Ok(()));
                    }
                    Err((back, Refusal::Closed)) => return Retired((back, Patience::Until(deadline))),
                    Err((back, Refusal::NotNow)) => item = back,
                }
            }
            if passed(deadline) {
                // Unless the queue lost its limit meanwhile (as the sleep below checks).
                if core.unbounded() {
                    return self.ring_overflow(core, item, Patience::Until(deadline));
                }
                return Done(Err(PutError { item, error: full() }));
            }
        }
        let sleepers = &core.tally.quiet.0.put_sleepers;
        let mut st = self.lock();
        sleepers.fetch_add(1, Ordering::SeqCst);
        let outcome = loop {
            match core.ring.try_push(item, Look::Sure) {
                Ok(claimed) => break Ok(claimed),
                Err((back, Refusal::Closed)) => break Err((back, true)),
                // The queue lost its maxsize while this put waited.
                Err((back, Refusal::NotNow)) if core.unbounded() => {
                    self.retire_ring(&mut st);
                    break Err((back, true));
                }
                Err((back, Refusal::NotNow)) => {
                    core.note_depth(core.ring.bound());
                    item = back;
                }
            }
            if passed(deadline) {
                break Err((item, false));
            }
            self.sleep(&mut st, &self.not_full, "put", deadline, scope);
        };
        sleepers.fetch_sub(1, Ordering::SeqCst);
        drop(st);
        match outcome {
            Ok(claimed) => {
                self.after_ring_put(core, claimed);
                Done(Ok(()))
            }
            Err((item, true)) => Retired((item, Patience::Until(deadline))),
            Err((item, false)) => Done(Err(PutError { item, error: full() })),
        }
    }

    /// One sleep of a ring-mode waiter, which holds the lock. The first
    /// time, it records the thread as Waiting instead (with the queue
    /// unlocked) and returns for another look.
    fn sleep(
        &self,
        st: &mut MutexGuard<'_, State<S>>,
        condvar: &Condvar,
        role: &'static str,
        deadline: Deadline,
        scope: &mut Option<WaitScope>,
    ) {
        if scope.is_none() {
            *scope = Some(MutexGuard::unlocked(st, || WaitScope::on_primitive(&self.record, role)));
            return;
        }
        match deadline {
            None => condvar.wait(st),
            Some(deadline) => drop(condvar.wait_until(st, deadline)),
        }
    }

    #[inline]
    pub(super) fn ring_get(
        &self,
        core: &RingCore<T>,
        patience: Patience,
        scope: &mut Option<WaitScope>,
    ) -> Handled<Result<T>, Patience> {
        // Python checks a blocking get's timeout even when an item is there
        // (after its shutdown check, which the locked core makes once retired).
        let wait = match patience.resolve() {
            Ok(wait) => wait,
            Err(_) if core.ring.cursors().is_closed() => return Retired(patience),
            Err(error) => return Done(Err(error)),
        };
        // A get that would wait anyway looks only at its slot first.
        let look = if wait.is_some() { Look::Quick } else { Look::Sure };
        match core.ring.try_pop(look) {
            Ok(item) => {
                self.after_ring_get(core);
                Done(Ok(item))
            }
            Err(Refusal::Closed) => Retired(patience),
            Err(Refusal::NotNow) => match wait {
                None => Done(Err(empty())),
                Some(deadline) => self.ring_get_waiting(core, deadline, scope),
            },
        }
    }

    #[inline]
    fn after_ring_get(&self, core: &RingCore<T>) {
        if core.tally.quiet.0.put_sleepers.load(Ordering::SeqCst) != 0 {
            self.wake(&self.not_full, false);
        }
    }

    /// A get that found nothing: spins, then sleeps until a put.
    #[cold]
    #[inline(never)]
    fn ring_get_waiting(
        &self,
        core: &RingCore<T>,
        deadline: Deadline,
        scope: &mut Option<WaitScope>,
    ) -> Handled<Result<T>, Patience> {
        // Watching the slot the next item lands in, not the tail.
        let mut backoff = Backoff::default();
        pause_before_looking();
        while backoff.spin() {
            if core.ring.may_pop() {
                match core.ring.try_pop(Look::Quick) {
                    Ok(item) => {
                        self.after_ring_get(core);
                        return Done(Ok(item));
                    }
                    Err(Refusal::Closed) => return Retired(Patience::Until(deadline)),
                    Err(Refusal::NotNow) => {}
                }
            }
            if passed(deadline) {
                return Done(Err(empty()));
            }
        }
        let sleepers = &core.tally.quiet.0.get_sleepers;
        let mut st = self.lock();
        sleepers.fetch_add(1, Ordering::SeqCst);
        let outcome = loop {
            match core.ring.try_pop(Look::Sure) {
                Ok(item) => break Ok(item),
                Err(Refusal::Closed) => break Err(true),
                Err(Refusal::NotNow) if passed(deadline) => break Err(false),
                Err(Refusal::NotNow) => {}
            }
            self.sleep(&mut st, &self.not_empty, "get", deadline, scope);
        };
        sleepers.fetch_sub(1, Ordering::SeqCst);
        drop(st);
        match outcome {
            Ok(item) => {
                self.after_ring_get(core);
                Done(Ok(item))
            }
            Err(true) => Retired(Patience::Until(deadline)),
            Err(false) => Done(Err(empty())),
        }
    }

    /// `task_done` on the ring's task counter; `None` once retired.
    pub(super) fn ring_task_done(&self, core: &RingCore<T>) -> Option<Result<()>> {
        let counter = &core.tally.tasks_done.0;
        let mut done = counter.load(Ordering::Relaxed);
        loop {
            if done & RETIRED != 0 {
                return None;
            }
            if done >= core.ring.cursors().puts() {
                return Some(Err(Error::value("task_done() called too many times")));
            }
            match counter.compare_exchange_weak(done, done + 1, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) => break,
                Err(now) => done = now,
            }
        }
        let quiet = &core.tally.quiet.0;
        if done + 1 == core.ring.cursors().puts() && quiet.join_sleepers.load(Ordering::SeqCst) != 0 {
            self.wake(&self.all_done, true);
        }
        Some(Ok(()))
    }

    /// `join` on the ring's counters: true once every task is done, false
    /// if the ring was retired first (the locked core's join goes on).
    pub(super) fn ring_join(&self, core: &RingCore<T>) -> bool {
        let tally = &core.tally;
        if tally.is_retired() {
            return false;
        }
        if tally.unfinished() == 0 {
            return true;
        }
        let sleepers = &tally.quiet.0.join_sleepers;
        let mut scope = None;
        let mut st = self.lock();
        sleepers.fetch_add(1, Ordering::SeqCst);
        let finished = loop {
            if tally.is_retired() {
                break false;
            }
            if tally.unfinished() == 0 {
                break true;
            }
            self.sleep(&mut st, &self.all_done, "join", None, &mut scope);
        };
        sleepers.fetch_sub(1, Ordering::SeqCst);
        drop(st);
        if let Some(scope) = scope {
            scope.end_on(&self.record);
        }
        finished
    }

    /// Moves the ring's items and counts into the locked core, for good
    /// (under the lock). Every ring-mode waiter wakes and carries on there.
    pub(super) fn retire_ring(&self, st: &mut State<S>) {
        let Some(core) = self.ring() else { return };
        let cursors = core.ring.cursors();
        if cursors.is_closed() {
            return;
        }
        let items = core.ring.close();
        let done = core.tally.tasks_done.0.fetch_or(RETIRED, Ordering::SeqCst) & !RETIRED;
        let (puts, gets) = (cursors.puts(), cursors.gets());
        let depth = items.len() as u64;
        items.into_iter().for_each(|item| st.items.push(item));
        st.unfinished = (puts - done) as usize;
        let high_water = core.tally.high_water.0.load(Ordering::Relaxed).max(depth);
        for (gauge, value) in [
            (DEPTH, depth),
            (PUTS, puts),
            (GETS, gets),
            (TASKS_DONE, done),
            (UNFINISHED, puts - done),
            (HIGH_WATER, high_water),
        ] {
            self.record.set_detail(gauge, value);
        }
        core.tally.quiet.0.live.store(false, Ordering::Release);
        self.not_empty.notify_all();
        self.not_full.notify_all();
        self.all_done.notify_all();
    }

    /// A new `maxsize` the ring can keep (at most its capacity); otherwise
    /// retires it. Under the lock.
    pub(super) fn ring_set_maxsize(&self, st: &mut State<S>, maxsize: isize) {
        let Some(core) = self.ring() else { return };
        if core.ring.cursors().is_closed() {
            return;
        }
        let unbounded = &core.tally.quiet.0.unbounded;
        match u64::try_from(maxsize) {
            // The flag and the bound change in the order that keeps a put
            // that reads one new and one old from retiring a ring for
            // nothing: the flag off before a smaller bound, on after the
            // whole ring. (Either way the wrong guess is only slower.)
            Ok(bound) if bound >= 1 && bound <= core.ring.capacity() => {
                unbounded.store(false, Ordering::Release);
                core.ring.set_bound(bound);
            }
            // No limit: the whole ring, and a put that finds it full retires it.
            _ if maxsize <= 0 => {
                core.ring.set_bound(core.ring.capacity());
                unbounded.store(true, Ordering::Release);
            }
            _ => self.retire_ring(st),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threading::{PrimitiveKind, Registry};

    fn gets_a_ring<T>(maxsize: isize) -> bool {
        let record = Registry::new().new_primitive_with(PrimitiveKind::Queue, &super::super::GAUGES);
        RingCore::<T>::for_queue(maxsize, &record).is_some()
    }

    #[test]
    fn a_ring_only_for_queues_whose_slots_fit_its_budget() {
        assert!(gets_a_ring::<u64>(1) && gets_a_ring::<u64>(4096) && gets_a_ring::<String>(2048));
        assert!(gets_a_ring::<u64>(0) && gets_a_ring::<u64>(-1), "unbounded: 1,024 slots");
        assert!(!gets_a_ring::<[u8; 64]>(0), "1,024 slots of 72 bytes are past the budget");
        assert!(!gets_a_ring::<u64>(4097) && !gets_a_ring::<String>(2049), "past 64 KiB of slots");
        assert!(!gets_a_ring::<[u8; 2048]>(64), "64 slots of 2 KiB items are past it too");
    }
}
