//! A bounded ring for many producers and many consumers (Dmitry Vyukov's
//! bounded MPMC queue). Each side claims a position with one
//! compare-and-swap on its own cursor, so in a steady flow the two sides
//! share no line written on every message but the slots themselves — which
//! is what a lock around a deque cannot offer: there, every message moves
//! the lock's line between the cores.
//!
//! Positions are plain counts (the puts and the gets so far), so the depth
//! is `tail - head` and a queue's counters need no stores of their own. At
//! the full capacity a slot's stamp alone says whether it is free, as in
//! std's channel; a lower bound is checked against the last head a producer
//! saw, which only lags: a put that passes the check against a stale head
//! passes it against the true one, so the bound is never exceeded.
//!
//! A ring can be closed, once: claims after that fail with
//! [`Refusal::Closed`], and [`Ring::close`] hands back what was left, in
//! order, after the puts already claimed have landed. The queue built on it
//! then goes on without it, under a lock.

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Set in both cursors once the ring is closed.
const CLOSED: u64 = 1 << 63;

/// Why a claim failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No room under the bound (a put), or nothing in the ring (a get).
    NotNow,
    /// The ring was closed; the caller goes on without it.
    Closed,
}

/// A put's claim: the position it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Claimed {
    pub(crate) pos: u64,
}

/// How hard a claim looks before it says [`Refusal::NotNow`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Look {
    /// Only at the slot: a call about to spin anyway refuses as soon as the
    /// slot is not ready, without reading the other side's cursor (polling
    /// that line would slow the other side's next claim).
    Quick,
    /// Until sure: `NotNow` then means full (or empty) as of a SeqCst read
    /// of the other side's cursor, which a sleeper's second look needs.
    Sure,
}

#[repr(align(64))]
struct Line<T>(T);

/// What producers write: the next position to put, the last head one of
/// them read, and the bound they check it against.
struct ProducerSide {
    tail: AtomicU64,
    head_seen: AtomicU64,
    bound: AtomicU64,
    /// The ring's slots, for reading the depth without the ring.
    capacity: u64,
}

struct Slot<T> {
    /// `pos` while free for the put at `pos`, `pos + 1` once that put's
    /// item is in it, `pos + capacity` once the get of `pos` took it.
    stamp: AtomicU64,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// `leading - trailing` (two counts that only grow, the trailing never
/// past the leading: puts and gets, puts and tasks done) as of one
/// instant: one count read between two reads of the other that agree.
/// When both keep moving through every try, the trailing count read
/// before the leading one: that may count what happened in between as
/// still open, but never says 0 unless some instant had 0.
pub(crate) fn gap_at_one_instant(mut trailing: impl FnMut() -> u64, mut leading: impl FnMut() -> u64) -> u64 {
    let mut behind = trailing();
    for _ in 0..16 {
        let ahead = leading();
        let again = trailing();
        if again == behind {
            return ahead - behind;
        }
        if leading() == ahead {
            return ahead - again;
        }
        behind = again;
    }
    let behind = trailing();
    leading() - behind
}

/// Waiting for the other side's claim in flight to land (a few
/// nanoseconds, unless that thread was preempted mid-claim): pauses, then
/// yields, so a preempted claimer gets the CPU back.
#[derive(Default)]
struct InFlight {
    spins: u32,
}

impl InFlight {
    fn wait(&mut self) {
        self.spins += 1;
        if self.spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// The two cursors, apart from the slots so that a queue's record can
/// read its counts without knowing the item type.
pub(crate) struct Cursors {
    producers: Line<ProducerSide>,
    head: Line<AtomicU64>,
}

impl Cursors {
    /// Reads the head afresh and remembers it for the producers' bound check.
    pub(crate) fn fresh_head(&self) -> u64 {
        let head = self.head.0.load(Ordering::SeqCst) & !CLOSED;
        self.producers.0.head_seen.store(head, Ordering::Relaxed);
        head
    }

    /// Items put so far (SeqCst: see `Ring::try_pop`).
    pub(crate) fn puts(&self) -> u64 {
        self.producers.0.tail.load(Ordering::SeqCst) & !CLOSED
    }

    /// Items taken so far.
    pub(crate) fn gets(&self) -> u64 {
        self.head.0.load(Ordering::SeqCst) & !CLOSED
    }

    /// Items in the ring at one instant: the tail read between two reads of
    /// the head that agree, or the head read between two of the tail.
    /// (Reading each once could count gets made in between as still in —
    /// more than the bound — or puts as not yet made — an empty queue that
    /// never was.) Frozen at the count [`Ring::close`] took once closed.
    pub(crate) fn len(&self) -> u64 {
        // Never more than the slots, even when the gap is not exact. (Not
        // the bound: a lowered `maxsize` leaves more items in than it.)
        let capacity = self.producers.0.capacity;
        gap_at_one_instant(|| self.gets(), || self.puts()).min(capacity)
    }

    /// True once [`Ring::close`] began.
    pub(crate) fn is_closed(&self) -> bool {
        self.producers.0.tail.load(Ordering::Acquire) & CLOSED != 0
    }
}

impl fmt::Debug for Cursors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cursors").field("puts", &self.puts()).field("gets", &self.gets()).finish()
    }
}

/// The ring. See the module's documentation.
pub(crate) struct Ring<T> {
    cursors: Arc<Cursors>,
    slots: Box<[Slot<T>]>,
    mask: u64,
    /// Set by [`close`](Self::close) once it has taken the items left.
    emptied: AtomicBool,
}

// SAFETY: the ring hands each item from the one thread that put it to the
// one thread that claimed its position (the stamps order the two), so it
// is as thread-safe as sending a `T`.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as above; `&Ring` only lets a thread claim positions.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    /// The bytes a slot takes.
    pub(crate) const SLOT_BYTES: u64 = std::mem::size_of::<Slot<T>>() as u64;

    /// The slots a ring for `bound` items has: at least two (a stamp must
    /// tell "full" from "free for the next lap"), a power of two.
    pub(crate) fn capacity_for(bound: u64) -> u64 {
        bound.max(2).next_power_of_two()
    }

    /// A ring of [`capacity_for`](Self::capacity_for)`(bound)` slots,
    /// holding at most `bound` items.
    pub(crate) fn new(bound: u64) -> Self {
        let capacity = Self::capacity_for(bound);
        let slots = (0..capacity)
            .map(|pos| Slot { stamp: AtomicU64::new(pos), value: UnsafeCell::new(MaybeUninit::uninit()) })
            .collect();
        let cursors = Cursors {
            producers: Line(ProducerSide {
                tail: AtomicU64::new(0),
                head_seen: AtomicU64::new(0),
                bound: AtomicU64::new(bound.min(capacity)),
                capacity,
            }),
            head: Line(AtomicU64::new(0)),
        };
        Self { cursors: Arc::new(cursors), slots, mask: capacity - 1, emptied: AtomicBool::new(false) }
    }

    /// The most `bound` may be.
    pub(crate) fn capacity(&self) -> u64 {
        self.mask + 1
    }

    /// Changes the bound (at most the capacity). Items already in stay.
    pub(crate) fn set_bound(&self, bound: u64) {
        debug_assert!(bound <= self.capacity());
        self.cursors.producers.0.bound.store(bound.min(self.capacity()), Ordering::Relaxed);
    }

    /// The bound now.
    pub(crate) fn bound(&self) -> u64 {
        self.cursors.producers.0.bound.load(Ordering::Relaxed)
    }

    /// Puts `item` if the bound allows.
    #[inline]
    pub(crate) fn try_push(&self, item: T, look: Look) -> Result<Claimed, (T, Refusal)> {
        let side = &self.cursors.producers.0;
        let mut in_flight = InFlight::default();
        let mut tail = side.tail.load(Ordering::Relaxed);
        loop {
            if tail & CLOSED != 0 {
                return Err((item, Refusal::Closed));
            }
            // The full capacity is checked by the slot's stamp alone, as
            // std's channel does; a bound below it (a lowered or odd
            // `maxsize`) against the head, as last seen if that suffices.
            let bound = side.bound.load(Ordering::Relaxed);
            if bound < self.capacity() {
                let mut head = side.head_seen.load(Ordering::Relaxed);
                if head <= tail && tail - head >= bound {
                    head = self.cursors.fresh_head();
                    if head <= tail && tail - head >= bound {
                        return Err((item, Refusal::NotNow));
                    }
                }
                if head > tail {
                    // Our tail is older than a head someone read: look again.
                    tail = side.tail.load(Ordering::Relaxed);
                    continue;
                }
            }
            let slot = &self.slots[(tail & self.mask) as usize];
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                // SeqCst: a consumer about to sleep reads the tail after
                // announcing itself; one of the two sees the other.
                match side.tail.compare_exchange_weak(tail, tail + 1, Ordering::SeqCst, Ordering::Relaxed) {
                    Ok(_) => {
                        // SAFETY: the claim makes this slot ours until the
                        // stamp says it is full; it was free (stamp == tail).
                        unsafe { (*slot.value.get()).write(item) };
                        slot.stamp.store(tail + 1, Ordering::Release);
                        return Ok(Claimed { pos: tail });
                    }
                    Err(now) => tail = now,
                }
            } else if stamp < tail {
                // The slot still holds the lap before's item: full, unless
                // its get has claimed it and is reading it.
                if look == Look::Quick {
                    return Err((item, Refusal::NotNow));
                }
                let head = self.cursors.head.0.load(Ordering::SeqCst);
                if head & CLOSED != 0 {
                    return Err((item, Refusal::Closed));
                }
                if head + self.capacity() <= tail {
                    return Err((item, Refusal::NotNow));
                }
                in_flight.wait();
                tail = side.tail.load(Ordering::Relaxed);
            } else {
                // Another put took `tail` already.
                tail = side.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// True if a get would find an item now, or the ring is closed: a
    /// waiting get watches this. It reads only the slot the next item
    /// lands in, never the tail: polling the tail would take its line away
    /// from the producer about to claim it.
    #[inline]
    pub(crate) fn may_pop(&self) -> bool {
        let head = self.cursors.head.0.load(Ordering::Relaxed);
        let slot = &self.slots[(head & self.mask) as usize];
        head & CLOSED != 0 || slot.stamp.load(Ordering::Relaxed) == head + 1
    }

    /// True if a put could claim a slot now, or the ring is closed (its
    /// bound aside): a waiting put watches this, reading the slot the
    /// last lap's get frees rather than the head.
    #[inline]
    pub(crate) fn may_push(&self) -> bool {
        let tail = self.cursors.producers.0.tail.load(Ordering::Relaxed);
        let slot = &self.slots[(tail & self.mask) as usize];
        tail & CLOSED != 0 || slot.stamp.load(Ordering::Relaxed) == tail
    }

    /// Takes the oldest item, if there is one.
    #[inline]
    pub(crate) fn try_pop(&self, look: Look) -> Result<T, Refusal> {
        let mut in_flight = InFlight::default();
        let mut head = self.cursors.head.0.load(Ordering::Relaxed);
        loop {
            if head & CLOSED != 0 {
                return Err(Refusal::Closed);
            }
            let slot = &self.slots[(head & self.mask) as usize];
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                // SeqCst: see `try_push`, the other way round.
                match self.cursors.head.0.compare_exchange_weak(
                    head,
                    head + 1,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the stamp says the put of `head` wrote
                        // this slot, and the claim gives it to us alone.
                        let item = unsafe { (*slot.value.get()).assume_init_read() };
                        slot.stamp.store(head + self.capacity(), Ordering::Release);
                        return Ok(item);
                    }
                    Err(now) => head = now,
                }
            } else if stamp <= head {
                // Nothing at `head` yet. Empty, unless a put claimed it and
                // is writing; the SeqCst load pairs with its claim.
                if look == Look::Quick {
                    return Err(Refusal::NotNow);
                }
                let tail = self.cursors.producers.0.tail.load(Ordering::SeqCst);
                if tail & CLOSED != 0 {
                    return Err(Refusal::Closed);
                }
                if tail == head {
                    return Err(Refusal::NotNow);
                }
                in_flight.wait();
                head = self.cursors.head.0.load(Ordering::Relaxed);
            } else {
                // Another get took `head` already.
                head = self.cursors.head.0.load(Ordering::Relaxed);
            }
        }
    }

    /// Its cursors, which count its puts and gets.
    pub(crate) fn cursors(&self) -> &Arc<Cursors> {
        &self.cursors
    }

    /// Closes the ring and takes the items left, oldest first, once every
    /// put already claimed has landed. Gets already claimed take theirs.
    /// Call it once (the queue does, under its lock).
    pub(crate) fn close(&self) -> Vec<T> {
        let tail = self.cursors.producers.0.tail.fetch_or(CLOSED, Ordering::SeqCst) & !CLOSED;
        let head = self.cursors.head.0.fetch_or(CLOSED, Ordering::SeqCst) & !CLOSED;
        debug_assert!(!self.emptied.load(Ordering::Relaxed), "a ring is closed once");
        let mut items = Vec::with_capacity((tail - head) as usize);
        for pos in head..tail {
            let slot = &self.slots[(pos & self.mask) as usize];
            let mut in_flight = InFlight::default();
            while slot.stamp.load(Ordering::Acquire) != pos + 1 {
                // A put claimed `pos` and has not written it yet.
                in_flight.wait();
            }
            // SAFETY: the stamp says the slot holds the item of `pos`, and
            // no get can claim it now the head is closed.
            items.push(unsafe { (*slot.value.get()).assume_init_read() });
        }
        self.emptied.store(true, Ordering::Release);
        items
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        if *self.emptied.get_mut() {
            return;
        }
        let (head, tail) = (self.cursors.gets(), self.cursors.puts());
        for pos in head..tail {
            let slot = &mut self.slots[(pos & self.mask) as usize];
            // SAFETY: with `&mut self` no claim is in flight, so every
            // position in [head, tail) holds its item.
            unsafe { slot.value.get_mut().assume_init_drop() };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    /// Counts scripted to move on every read: the gap is always 1, and so
    /// is every answer, exact or not (an answer of 0 would let `join`
    /// return with a task open).
    #[test]
    fn a_gap_read_while_both_counts_move_is_never_less_than_it_was() {
        use std::cell::Cell;
        let (puts, gets) = (Cell::new(1u64), Cell::new(0u64));
        // Each read of the trailing count sees one more done, each read of
        // the leading one one more made: the true gap stays 1.
        let trailing = || {
            gets.set(gets.get() + 1);
            puts.set(puts.get() + 1);
            gets.get()
        };
        let leading = || puts.get();
        assert!(gap_at_one_instant(trailing, leading) >= 1);
        // Still counts read at one instant give the gap itself.
        assert_eq!(gap_at_one_instant(|| 5, || 9), 4);
    }

    #[test]
    fn it_keeps_order_and_its_bound() {
        let ring = Ring::new(3);
        assert_eq!(ring.capacity(), 4);
        for n in 0..3 {
            assert_eq!(ring.try_push(n, Look::Sure).ok().map(|claimed| claimed.pos), Some(n as u64));
        }
        assert_eq!(ring.try_push(9, Look::Sure).unwrap_err(), (9, Refusal::NotNow));
        assert_eq!(ring.cursors().len(), 3);
        assert_eq!((ring.try_pop(Look::Sure), ring.try_pop(Look::Sure)), (Ok(0), Ok(1)));
        ring.set_bound(1);
        assert_eq!(ring.try_push(7, Look::Sure).unwrap_err(), (7, Refusal::NotNow));
        assert_eq!(ring.try_pop(Look::Sure), Ok(2));
        assert_eq!(ring.try_pop(Look::Sure), Err(Refusal::NotNow));
        assert_eq!((ring.cursors().puts(), ring.cursors().gets()), (3, 3));
    }

    #[test]
    fn a_closed_ring_hands_back_what_was_left_and_refuses_the_rest() {
        let ring = Ring::new(4);
        (0..4).for_each(|n| assert!(ring.try_push(n.to_string(), Look::Sure).is_ok()));
        assert_eq!(ring.try_pop(Look::Sure).as_deref(), Ok("0"));
        assert_eq!(ring.close(), ["1", "2", "3"]);
        assert!(ring.cursors().is_closed());
        assert_eq!(ring.cursors().len(), 3, "frozen at what close took");
        assert_eq!(ring.try_push("4".to_owned(), Look::Sure).unwrap_err().1, Refusal::Closed);
        assert_eq!(ring.try_pop(Look::Sure), Err(Refusal::Closed));
    }

    #[test]
    fn dropping_a_ring_drops_its_items_once() {
        let item = Arc::new(());
        let ring = Ring::new(8);
        for _ in 0..5 {
            assert!(ring.try_push(item.clone(), Look::Sure).is_ok());
        }
        drop(ring.try_pop(Look::Sure));
        drop(ring);
        assert_eq!(Arc::strong_count(&item), 1);
        let ring = Ring::new(2);
        assert!(ring.try_push(item.clone(), Look::Sure).is_ok());
        let left = ring.close();
        drop(ring);
        assert_eq!(Arc::strong_count(&item), 2, "close took it; the ring did not drop it again");
        drop(left);
    }

    /// Every item put by four producers comes out exactly once, each
    /// producer's in its order, through a ring of four slots (so every slot
    /// is reused thousands of times under contention).
    #[test]
    fn many_producers_and_consumers_lose_and_repeat_nothing() {
        const PER: u64 = 20_000;
        let ring = Arc::new(Ring::new(4));
        let start = Arc::new(Barrier::new(8));
        let producers: Vec<_> = (0..4u64)
            .map(|p| {
                let (ring, start) = (ring.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    for n in 0..PER {
                        let mut item = (p, n);
                        while let Err((back, _)) = ring.try_push(item, Look::Sure) {
                            item = back;
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let (ring, start) = (ring.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    let mut got = Vec::new();
                    while got.len() < PER as usize {
                        match ring.try_pop(Look::Quick) {
                            Ok(item) => got.push(item),
                            Err(_) => std::thread::yield_now(),
                        }
                    }
                    got
                })
            })
            .collect();
        producers.into_iter().for_each(|t| t.join().unwrap());
        let mut all: Vec<(u64, u64)> = Vec::new();
        for consumer in consumers {
            let got = consumer.join().unwrap();
            let mut seen = [None::<u64>; 4];
            for &(p, n) in &got {
                assert!(
                    seen[p as usize].is_none_or(|before| before < n),
                    "one consumer sees a producer in order"
                );
                seen[p as usize] = Some(n);
            }
            all.extend(got);
        }
        all.sort_unstable();
        let expected: Vec<_> = (0..4).flat_map(|p| (0..PER).map(move |n| (p, n))).collect();
        assert_eq!(all, expected);
    }
}
