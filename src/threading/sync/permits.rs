//! The counter of permits behind [`Semaphore`](super::Semaphore) and
//! [`BoundedSemaphore`](super::BoundedSemaphore): one implementation, two
//! public types (Python's subclass, without `Deref`).

use crate::threading::error::{Error, Result};
use crate::threading::registry::{PrimitiveKind, PrimitiveRecord, Registry};
use crate::threading::thread::current::current_id;
use crate::threading::timeout::Deadline;
use crate::threading::wait::{WaitScope, condvar_wait};
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::time::Instant;

/// Gauges of a semaphore's record, by index.
const GAUGES: [&str; 2] = ["value", "initial"];
const VALUE: usize = 0;
const INITIAL: usize = 1;

#[derive(Debug)]
struct State {
    value: usize,
    /// Threads blocked in `acquire`, so `release` notifies only when needed.
    waiters: usize,
}

/// Permits, their waiters and their record.
#[derive(Debug)]
pub(super) struct Permits {
    state: Mutex<State>,
    available: Condvar,
    /// `Some(initial value)` for a bounded semaphore.
    bound: Option<usize>,
    pub(super) record: Arc<PrimitiveRecord>,
}

impl Permits {
    pub(super) fn new(value: usize, bound: Option<usize>, registry: &Registry) -> Self {
        let kind = if bound.is_some() { PrimitiveKind::BoundedSemaphore } else { PrimitiveKind::Semaphore };
        let record = registry.new_primitive_with(kind, &GAUGES);
        record.set_detail(VALUE, value as u64);
        record.set_detail(INITIAL, value as u64);
        Self { state: Mutex::new(State { value, waiters: 0 }), available: Condvar::new(), bound, record }
    }

    pub(super) fn value(&self) -> usize {
        self.state.lock().value
    }

    pub(super) fn try_acquire(&self) -> bool {
        let mut state = self.state.lock();
        self.take(&mut state)
    }

    pub(super) fn acquire_until(&self, deadline: Deadline) -> bool {
        let mut state = self.state.lock();
        if self.take(&mut state) {
            return true;
        }
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return false;
        }
        drop(state);
        let scope = WaitScope::on_primitive(&self.record, "acquire");
        let mut state = self.state.lock();
        state.waiters += 1;
        let mut timed_out = false;
        let acquired = loop {
            if self.take_permit(&mut state) {
                break true;
            }
            if timed_out {
                break false;
            }
            timed_out = condvar_wait(&self.available, &mut state, deadline);
        };
        state.waiters -= 1;
        drop(state);
        // The wait ends before the permit is published as held, so no
        // snapshot sees this thread holding the permit it still waits for
        // (snapshots read holders, then statuses).
        scope.end_on(&self.record);
        if acquired {
            self.record.add_holder(current_id());
        }
        acquired
    }

    /// Takes a permit if there is one and records the caller as holding
    /// it; the caller holds the state lock.
    fn take(&self, state: &mut State) -> bool {
        let taken = self.take_permit(state);
        if taken {
            self.record.add_holder(current_id());
        }
        taken
    }

    /// Takes a permit if there is one, without naming a holder; the caller
    /// holds the state lock, which serialises the record's counters.
    fn take_permit(&self, state: &mut State) -> bool {
        if state.value == 0 {
            return false;
        }
        state.value -= 1;
        self.record.set_detail(VALUE, state.value as u64);
        // Counts the acquisition without making the caller the single holder.
        self.record.note_reacquired();
        true
    }

    pub(super) fn release_n(&self, n: usize) -> Result<()> {
        if n == 0 {
            return Err(Error::value("n must be one or more"));
        }
        let mut state = self.state.lock();
        let value =
            state.value.checked_add(n).ok_or_else(|| Error::overflow("semaphore value out of range"))?;
        if self.bound.is_some_and(|bound| value > bound) {
            return Err(Error::value("Semaphore released too many times"));
        }
        state.value = value;
        self.record.set_detail(VALUE, value as u64);
        let me = current_id();
        for _ in 0..n {
            self.record.remove_holder(me);
        }
        if n >= state.waiters {
            if state.waiters > 0 {
                self.available.notify_all();
            }
        } else {
            for _ in 0..n {
                self.available.notify_one();
            }
        }
        Ok(())
    }

    /// Python's `repr()`: `<threading.Semaphore at 0x…: value=3>`, or for a
    /// bounded one `<threading.BoundedSemaphore at 0x…: value=2/3>`.
    pub(super) fn repr(&self) -> String {
        let value = self.value();
        match self.bound {
            None => format!("<threading.Semaphore at {:p}: value={value}>", self),
            Some(bound) => format!("<threading.BoundedSemaphore at {:p}: value={value}/{bound}>", self),
        }
    }
}

/// Python's `Semaphore(value)` check on the sign.
pub(super) fn checked_value(value: i64) -> Result<usize> {
    usize::try_from(value).map_err(|_| Error::value("semaphore initial value must be >= 0"))
}
