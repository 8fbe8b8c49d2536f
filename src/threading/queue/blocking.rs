//! The inside of a [`BaseQueue`]: its lock, the fast paths of `put` and
//! `get` (the ring's first, where there is one), and the locked core's slow
//! path that spins, then records the thread as Waiting and sleeps.

use super::order::Order;
use super::ring_core::Handled;
use super::{BaseQueue, DEPTH, GETS, HIGH_WATER, PUTS, PutError, State, UNFINISHED};
use crate::sys::Backoff;
use crate::threading::error::{Error, ErrorKind, Result};
use crate::threading::timeout::{self, Deadline};
use crate::threading::wait::WaitScope;
use parking_lot::MutexGuard;
use std::time::{Duration, Instant};

const NEGATIVE_TIMEOUT: &str = "'timeout' must be a non-negative number";

/// How long a call may block, as its caller put it.
#[derive(Clone, Copy)]
pub(super) enum Patience {
    NoWait,
    Until(Deadline),
    /// Python's `timeout=` in seconds, checked where Python checks it.
    Seconds(f64),
}

impl Patience {
    pub(super) fn python(block: bool, timeout: Option<f64>) -> Self {
        match (block, timeout) {
            (false, _) => Self::NoWait,
            (true, None) => Self::Until(None),
            (true, Some(seconds)) => Self::Seconds(seconds),
        }
    }

    pub(super) fn duration(timeout: Option<Duration>) -> Result<Self> {
        Ok(Self::Until(match timeout {
            None => None,
            Some(timeout) => timeout::duration_deadline(timeout)?,
        }))
    }

    /// `None`: do not block; `Some(deadline)`: block until then.
    #[inline]
    pub(super) fn resolve(self) -> Result<Option<Deadline>> {
        match self {
            Self::NoWait => Ok(None),
            Self::Until(deadline) => Ok(Some(deadline)),
            Self::Seconds(seconds) => timeout::seconds_deadline(seconds, NEGATIVE_TIMEOUT).map(Some),
        }
    }
}

/// Which way a blocked call waits.
#[derive(Clone, Copy)]
enum Side {
    Get,
    Put,
}

fn full() -> Error {
    Error::new(ErrorKind::Full, "")
}

fn empty() -> Error {
    Error::new(ErrorKind::Empty, "")
}

fn shut_down() -> Error {
    Error::new(ErrorKind::ShutDown, "")
}

impl<T, S: Order<T>> BaseQueue<T, S> {
    /// Locks the queue. Its critical sections are a few nanoseconds, so a
    /// contended lock is worth a longer spin than `parking_lot` gives it
    /// before yielding: watching the lock word, not hammering it.
    #[inline]
    pub(super) fn lock(&self) -> MutexGuard<'_, State<S>> {
        match self.state.0.try_lock() {
            Some(st) => st,
            None => self.lock_contended(),
        }
    }

    #[cold]
    #[inline(never)]
    fn lock_contended(&self) -> MutexGuard<'_, State<S>> {
        let mut backoff = Backoff::default();
        while backoff.spin() {
            if !self.state.0.is_locked()
                && let Some(st) = self.state.0.try_lock()
            {
                return st;
            }
        }
        self.state.0.lock()
    }

    pub(super) fn is_full(st: &State<S>) -> bool {
        st.maxsize > 0 && st.items.len() >= st.maxsize.unsigned_abs()
    }

    #[inline]
    pub(super) fn put_patiently(&self, item: T, patience: Patience) -> Result<(), PutError<T>> {
        let mut scope = None;
        let result = match self.ring() {
            Some(core) => match self.ring_put(core, item, patience, &mut scope) {
                Handled::Done(result) => result,
                Handled::Retired((item, patience)) => self.put_locked(item, patience, &mut scope),
            },
            None => self.put_locked(item, patience, &mut scope),
        };
        if let Some(scope) = scope {
            scope.end_on(&self.record);
        }
        result
    }

    #[inline]
    fn put_locked(
        &self,
        item: T,
        patience: Patience,
        scope: &mut Option<WaitScope>,
    ) -> Result<(), PutError<T>> {
        let mut st = self.lock();
        if st.shutdown {
            return Err(PutError { item, error: shut_down() });
        }
        if st.maxsize > 0 {
            // Python checks the timeout here, full or not, bounded queues only.
            let room = patience.resolve().and_then(|wait| match wait {
                _ if !Self::is_full(&st) => Ok(()),
                None => Err(full()),
                Some(deadline) => self.block(&mut st, Side::Put, deadline, scope),
            });
            if let Err(error) = room {
                return Err(PutError { item, error });
            }
        }
        st.items.push(item);
        st.unfinished += 1;
        let depth = st.items.len() as u64;
        self.record.set_detail(DEPTH, depth);
        self.record.bump_detail(PUTS, 1);
        self.record.set_detail(UNFINISHED, st.unfinished as u64);
        if depth > self.record.detail(HIGH_WATER) {
            self.record.set_detail(HIGH_WATER, depth);
        }
        self.not_empty.notify_one();
        Ok(())
    }

    #[inline]
    pub(super) fn get_patiently(&self, patience: Patience) -> Result<T> {
        let mut scope = None;
        let result = match self.ring() {
            Some(core) => match self.ring_get(core, patience, &mut scope) {
                Handled::Done(result) => result,
                Handled::Retired(patience) => self.get_locked(patience, &mut scope),
            },
            None => self.get_locked(patience, &mut scope),
        };
        if let Some(scope) = scope {
            scope.end_on(&self.record);
        }
        result
    }

    #[inline]
    fn get_locked(&self, patience: Patience, scope: &mut Option<WaitScope>) -> Result<T> {
        let mut st = self.lock();
        if st.shutdown && st.items.len() == 0 {
            return Err(shut_down());
        }
        // Python checks a blocking call's timeout even when an item is there.
        let wait = patience.resolve()?;
        let item = match st.items.pop() {
            Some(item) => item,
            None => {
                let Some(deadline) = wait else { return Err(empty()) };
                self.block(&mut st, Side::Get, deadline, scope)?;
                st.items.pop().ok_or_else(empty)?
            }
        };
        self.record.set_detail(DEPTH, st.items.len() as u64);
        self.record.bump_detail(GETS, 1);
        self.not_full.notify_one();
        Ok(item)
    }

    /// The slow path: waits until `side` may go on (`Ok`), the queue shuts
    /// down, or `deadline` passes (`Empty` / `Full`). Spins first with the
    /// queue unlocked, watching the depth gauge; a thread about to sleep
    /// becomes Waiting in `scope`, which the caller ends once it has
    /// unlocked the queue.
    #[cold]
    #[inline(never)]
    fn block(
        &self,
        st: &mut MutexGuard<'_, State<S>>,
        side: Side,
        deadline: Deadline,
        scope: &mut Option<WaitScope>,
    ) -> Result<()> {
        let mut backoff = Backoff::default();
        loop {
            match side {
                Side::Get if st.items.len() > 0 => return Ok(()),
                Side::Get | Side::Put if st.shutdown => return Err(shut_down()),
                Side::Put if !Self::is_full(st) => return Ok(()),
                _ => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(match side {
                    Side::Get => empty(),
                    Side::Put => full(),
                });
            }
            if scope.is_none() {
                let maxsize = st.maxsize;
                let spun = MutexGuard::unlocked(st, || self.spin(side, maxsize, &mut backoff));
                if !spun {
                    let role = if let Side::Get = side { "get" } else { "put" };
                    *scope = Some(MutexGuard::unlocked(st, || WaitScope::on_primitive(&self.record, role)));
                }
                continue;
            }
            let condvar = match side {
                Side::Get => &self.not_empty,
                Side::Put => &self.not_full,
            };
            // A timeout shows at the top of the loop, after one more look.
            match deadline {
                None => condvar.wait(st),
                Some(deadline) => drop(condvar.wait_until(st, deadline)),
            }
        }
    }

    /// Spins until the depth gauge says `side` may go on (true) or it is
    /// time to sleep (false).
    fn spin(&self, side: Side, maxsize: isize, backoff: &mut Backoff) -> bool {
        while backoff.spin() {
            let depth = self.record.detail(DEPTH);
            let ready = match side {
                Side::Get => depth > 0,
                Side::Put => maxsize <= 0 || depth < maxsize.unsigned_abs() as u64,
            };
            if ready {
                return true;
            }
        }
        false
    }
}
