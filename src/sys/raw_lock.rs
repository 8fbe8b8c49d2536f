//! A binary semaphore on `parking_lot_core`: two bits of state, spin then park.
//!
//! Unlike a mutex it has no owner, so any thread may unlock it — exactly
//! Python's `_thread.lock`. The slow path hands the caller a hook that runs
//! only when the thread is about to sleep, which is where the registry's
//! bookkeeping belongs.

use parking_lot_core::{DEFAULT_PARK_TOKEN, ParkResult, UnparkResult, UnparkToken, park, unpark_one};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

const LOCKED: u8 = 1;
const PARKED: u8 = 2;
const TOKEN_NORMAL: UnparkToken = UnparkToken(0);

/// A word-sized lock that any thread may release.
#[derive(Debug)]
pub(crate) struct RawLock {
    state: AtomicU8,
}

impl RawLock {
    pub(crate) const fn new() -> Self {
        Self { state: AtomicU8::new(0) }
    }

    /// One compare-and-swap; false when locked or when the CAS lost a race.
    #[inline]
    pub(crate) fn try_lock_fast(&self) -> bool {
        self.state.compare_exchange_weak(0, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// Takes the lock if it is free, whether or not threads are parked.
    pub(crate) fn try_lock(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & LOCKED != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                state,
                state | LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
    }

    #[inline]
    pub(crate) fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & LOCKED != 0
    }

    /// Spins briefly, then parks until the lock is ours or `deadline` passes.
    /// `about_to_park` runs once, when spinning has failed and the thread is
    /// about to park. It runs *outside* `park`: code in park's own callbacks
    /// must not block on anything built on `parking_lot_core` (a registry
    /// mutex, say), or the thread would be queued twice and the queue
    /// corrupted. A woken thread competes for the lock at once: bookkeeping
    /// between waking and retrying would let the releaser barge back in.
    pub(crate) fn lock_slow(&self, deadline: Option<Instant>, about_to_park: &mut dyn FnMut()) -> bool {
        let mut spin = Backoff::default();
        let mut announced = false;
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & LOCKED == 0 {
                match self.state.compare_exchange_weak(
                    state,
                    state | LOCKED,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return true,
                    Err(now) => state = now,
                }
                continue;
            }
            if state & PARKED == 0 && spin.spin() {
                state = self.state.load(Ordering::Relaxed);
                continue;
            }
            // Announce before setting PARKED: while that bit is set every
            // release takes the slow path, so the window must stay short.
            if !announced {
                announced = true;
                about_to_park();
                state = self.state.load(Ordering::Relaxed);
                continue;
            }
            if state & PARKED == 0
                && let Err(now) = self.state.compare_exchange_weak(
                    state,
                    state | PARKED,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
            {
                state = now;
                continue;
            }
            let key = self as *const Self as usize;
            let validate = || self.state.load(Ordering::Relaxed) == LOCKED | PARKED;
            let timed_out = |_, was_last_thread: bool| {
                if was_last_thread {
                    self.state.fetch_and(!PARKED, Ordering::Relaxed);
                }
            };
            // SAFETY: `key` is this lock's address, unique while it lives; the
            // callbacks only touch `self.state` and neither panic nor park.
            let result = unsafe { park(key, validate, || {}, timed_out, DEFAULT_PARK_TOKEN, deadline) };
            match result {
                ParkResult::TimedOut => return false,
                // Woken: the lock was released; compete for it again.
                ParkResult::Unparked(_) | ParkResult::Invalid => {}
            }
            spin.reset();
            state = self.state.load(Ordering::Relaxed);
        }
    }

    /// Unlocks; false if it was not locked (Python's "release unlocked lock").
    #[inline]
    pub(crate) fn unlock(&self) -> bool {
        if self.state.compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed).is_ok() {
            return true;
        }
        self.unlock_slow()
    }

    #[cold]
    fn unlock_slow(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & LOCKED == 0 {
                return false;
            }
            if state & PARKED != 0 {
                break;
            }
            match self.state.compare_exchange_weak(state, 0, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
        let key = self as *const Self as usize;
        let mut released = false;
        let callback = |result: UnparkResult| {
            // Runs under the queue lock, so two racing releasers are ordered:
            // only the first finds the lock still held.
            if self.state.load(Ordering::Relaxed) & LOCKED == 0 {
                return TOKEN_NORMAL;
            }
            released = true;
            let next = if result.have_more_threads { PARKED } else { 0 };
            self.state.store(next, Ordering::Release);
            TOKEN_NORMAL
        };
        // SAFETY: same key as `lock_slow`; the callback only touches
        // `self.state` and a local flag.
        unsafe {
            unpark_one(key, callback);
        }
        released
    }
}

/// Spinning before parking. Parking costs two system calls and a context
/// switch, while a typical critical section lasts nanoseconds, so it pays to
/// spin longer than `parking_lot`'s `SpinWait` before yielding: a few
/// hundred pause instructions, then a few yields, then park.
///
/// The queues in `threading` spin the same way before they block.
#[derive(Default)]
pub(crate) struct Backoff {
    round: u32,
}

impl Backoff {
    const PAUSE_ROUNDS: u32 = 8;
    const YIELD_ROUNDS: u32 = 8;

    /// Waits a little; false when it is time to park instead.
    pub(crate) fn spin(&mut self) -> bool {
        if self.round >= Self::PAUSE_ROUNDS + Self::YIELD_ROUNDS {
            return false;
        }
        self.round += 1;
        if self.round <= Self::PAUSE_ROUNDS {
            for _ in 0..1u32 << self.round.min(6) {
                std::hint::spin_loop();
            }
        } else {
            std::thread::yield_now();
        }
        true
    }

    fn reset(&mut self) {
        self.round = 0;
    }
}
