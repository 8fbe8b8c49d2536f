//! [`wait`] and [`as_completed`]: Python's module functions for waiting on
//! several [`Future`]s at once.

use super::future::Future;
use crate::threading::error::{Error, ErrorKind, Result};
use crate::threading::registry::{PrimitiveRecord, WaitTarget};
use crate::threading::timeout::Deadline;
use crate::threading::wait::WaitScope;
use parking_lot::{Condvar, Mutex};
use std::borrow::Borrow;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// When [`wait`] returns: Python's `FIRST_COMPLETED`, `FIRST_EXCEPTION`,
/// `ALL_COMPLETED`.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{ALL_COMPLETED, ReturnWhen};
/// assert_eq!(ReturnWhen::default(), ALL_COMPLETED);
/// ```
///
/// # Differences from Python
///
/// Python's constants are strings; here they are an enum, with the
/// constants as aliases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as any future is done (finished or cancelled).
    FirstCompleted,
    /// As soon as any future raises; else when all are done.
    FirstException,
    /// When every future is done.
    #[default]
    AllCompleted,
}

/// Python's `concurrent.futures.FIRST_COMPLETED`.
pub const FIRST_COMPLETED: ReturnWhen = ReturnWhen::FirstCompleted;
/// Python's `concurrent.futures.FIRST_EXCEPTION`.
pub const FIRST_EXCEPTION: ReturnWhen = ReturnWhen::FirstException;
/// Python's `concurrent.futures.ALL_COMPLETED`.
pub const ALL_COMPLETED: ReturnWhen = ReturnWhen::AllCompleted;

/// What [`wait`] returns: Python's `DoneAndNotDoneFutures(done, not_done)`.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{Future, FIRST_COMPLETED, wait};
/// let (ready, pending) = (Future::new(), Future::new());
/// ready.set_result("ok").unwrap();
/// let sets = wait([&ready, &pending], None, FIRST_COMPLETED).unwrap();
/// assert!(sets.done.contains(&ready) && sets.not_done.contains(&pending));
/// ```
///
/// # Differences from Python
///
/// A struct, not a named tuple; the sets hold futures by identity, as
/// Python's do.
#[derive(Debug)]
pub struct DoneAndNotDone<T> {
    /// Futures finished or cancelled.
    pub done: HashSet<Future<T>>,
    /// The others.
    pub not_done: HashSet<Future<T>>,
}

/// Hears from futures as they become done; one per `wait` / `as_completed`.
pub(crate) struct Waiter {
    /// Indices (in the caller's list) of futures done since last looked at.
    finished: Mutex<Vec<usize>>,
    wake: Condvar,
}

/// What a thread waiting on several futures is shown waiting on.
enum Watch<'a> {
    /// The one future it needs next (all of them are needed, or one is left).
    One(&'a PrimitiveRecord, &'static str),
    /// Any of several: no single future to point at.
    AnyOf(usize),
}

impl Waiter {
    fn new() -> Arc<Self> {
        Arc::new(Self { finished: Mutex::new(Vec::new()), wake: Condvar::new() })
    }

    /// Called by future `index` when it is done (with the future locked).
    pub(crate) fn notify(&self, index: usize) {
        self.finished.lock().push(index);
        self.wake.notify_all();
    }

    /// Futures done since the last look, without waiting.
    fn take_done(&self) -> Vec<usize> {
        std::mem::take(&mut *self.finished.lock())
    }

    /// Futures done since the last look, waiting for one until `deadline`.
    fn next_done(&self, deadline: Deadline, watch: Watch<'_>) -> Vec<usize> {
        let mut finished = self.finished.lock();
        if finished.is_empty() && deadline.is_none_or(|d| Instant::now() < d) {
            let scope = match watch {
                Watch::One(record, role) => WaitScope::on_primitive(record, role),
                Watch::AnyOf(n) => {
                    WaitScope::enter(WaitTarget::Region { label: format!("any of {n} futures").into() })
                }
            };
            while finished.is_empty() {
                match deadline {
                    None => self.wake.wait(&mut finished),
                    Some(d) => {
                        if self.wake.wait_until(&mut finished, d).timed_out() {
                            break;
                        }
                    }
                }
            }
            match watch {
                Watch::One(record, _) => scope.end_on(record),
                Watch::AnyOf(_) => drop(scope),
            }
        }
        std::mem::take(&mut *finished)
    }
}

/// The distinct futures of `futures`, in first-seen order.
fn distinct<T, I>(futures: I) -> Vec<Future<T>>
where
    I: IntoIterator,
    I::Item: Borrow<Future<T>>,
{
    let mut seen = HashSet::new();
    futures.into_iter().map(|f| f.borrow().clone()).filter(|f| seen.insert(f.identity())).collect()
}

/// Registers `waiter` with every future; the flags say which were done already.
fn install<T>(futures: &[Future<T>], waiter: &Arc<Waiter>) -> Vec<bool> {
    futures.iter().enumerate().map(|(i, f)| !f.add_waiter(waiter, i)).collect()
}

/// Waits for `futures` until `return_when` says so or `timeout` passes:
/// Python's `concurrent.futures.wait`. Duplicates count once.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{ThreadPoolExecutor, FIRST_COMPLETED, wait};
/// let pool = ThreadPoolExecutor::new(Some(2)).unwrap();
/// let quick = pool.submit(|| 1).unwrap();
/// let stuck = threadscope::threading::Future::<i32>::new();
/// let sets = wait([&quick, &stuck, &quick], None, FIRST_COMPLETED).unwrap();
/// assert!(sets.done.contains(&quick));
/// assert!(sets.not_done.contains(&stuck));
/// ```
///
/// # Errors
///
/// `OverflowError` if `timeout` exceeds [`TIMEOUT_MAX`](crate::threading::TIMEOUT_MAX).
/// A timeout is not an error: the unfinished futures are in `not_done`.
///
/// # Blocking
///
/// Until the condition holds. Recorded as Waiting on the next future needed
/// (role "wait") when that is one future; else in a region "any of N futures".
pub fn wait<T, I>(futures: I, timeout: Option<Duration>, return_when: ReturnWhen) -> Result<DoneAndNotDone<T>>
where
    I: IntoIterator,
    I::Item: Borrow<Future<T>>,
{
    let deadline = crate::threading::timeout::optional_deadline(timeout)?;
    let futures = distinct(futures);
    let waiter = Waiter::new();
    let mut done = install(&futures, &waiter);
    loop {
        let finished = done.iter().filter(|&&d| d).count();
        let enough = match return_when {
            ReturnWhen::FirstCompleted => finished > 0,
            ReturnWhen::FirstException => futures.iter().zip(&done).any(|(f, &d)| d && f.raised()),
            ReturnWhen::AllCompleted => false,
        };
        if enough || finished == futures.len() || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let watch = match done.iter().position(|&d| !d) {
            Some(next) if return_when == ReturnWhen::AllCompleted || finished + 1 == futures.len() => {
                Watch::One(futures[next].record(), "wait")
            }
            _ => Watch::AnyOf(futures.len() - finished),
        };
        for index in waiter.next_done(deadline, watch) {
            done[index] = true;
        }
    }
    for future in &futures {
        future.remove_waiter(&waiter);
    }
    // Those that finished since the last look are done too.
    for index in waiter.take_done() {
        done[index] = true;
    }
    let (done, not_done): (Vec<_>, Vec<_>) = futures.into_iter().zip(done).partition(|(_, d)| *d);
    Ok(DoneAndNotDone {
        done: done.into_iter().map(|(f, _)| f).collect(),
        not_done: not_done.into_iter().map(|(f, _)| f).collect(),
    })
}

/// An iterator over `futures` as they complete: Python's
/// `concurrent.futures.as_completed`. Futures already done come first;
/// each distinct future comes once.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{ThreadPoolExecutor, as_completed};
/// let pool = ThreadPoolExecutor::new(Some(4)).unwrap();
/// let futures: Vec<_> = (1..=3).map(|n| pool.submit(move || n * 10).unwrap()).collect();
/// let mut total = 0;
/// for done in as_completed(&futures, None).unwrap() {
///     total += done.unwrap().result().unwrap();
/// }
/// assert_eq!(total, 60);
/// ```
///
/// # Errors
///
/// `OverflowError` for a `timeout` past [`TIMEOUT_MAX`](crate::threading::TIMEOUT_MAX).
/// When `timeout` (counted from this call) passes with futures unfinished,
/// the iterator yields `TimeoutError: 2 (of 4) futures unfinished` and ends.
///
/// # Blocking
///
/// Each `next()` waits for the next future to complete, recorded as
/// Waiting on it (role "as_completed") when one is left, else in a region
/// "any of N futures".
pub fn as_completed<T, I>(futures: I, timeout: Option<Duration>) -> Result<AsCompleted<T>>
where
    I: IntoIterator,
    I::Item: Borrow<Future<T>>,
{
    let deadline = crate::threading::timeout::optional_deadline(timeout)?;
    let futures = distinct(futures);
    let waiter = Waiter::new();
    let done = install(&futures, &waiter);
    let ready = done.iter().enumerate().filter(|&(_, &d)| d).map(|(i, _)| i).collect();
    let pending = done.iter().filter(|&&d| !d).count();
    let total = futures.len();
    let futures = futures.into_iter().map(Some).collect();
    Ok(AsCompleted { futures, total, waiter, ready, done, pending, deadline, ended: false })
}

/// The iterator [`as_completed`] returns; yields `Ok(future)` as each one
/// completes, or one `Err(TimeoutError)` and then nothing.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{Future, as_completed};
/// use std::time::Duration;
/// let (done, stuck) = (Future::new(), Future::new());
/// done.set_result(1).unwrap();
/// let mut completed = as_completed([&done, &stuck], Some(Duration::from_millis(10))).unwrap();
/// assert_eq!(completed.next().unwrap().unwrap(), done);
/// let err = completed.next().unwrap().unwrap_err();
/// assert_eq!(err.to_string(), "TimeoutError: 1 (of 2) futures unfinished");
/// assert!(completed.next().is_none());
/// ```
///
/// # Differences from Python
///
/// Python's generator raises `TimeoutError`; this iterator yields it, then
/// ends. Dropping it early unregisters it from the futures, as closing the
/// generator does. As in Python (bpo-14406), it lets go of each future as
/// it yields it, so a future the caller drops is freed at once.
pub struct AsCompleted<T> {
    /// By index in the caller's list; a yielded future is taken out, so the
    /// iterator never keeps one (and its result) alive for the caller.
    futures: Vec<Option<Future<T>>>,
    total: usize,
    waiter: Arc<Waiter>,
    ready: VecDeque<usize>,
    done: Vec<bool>,
    pending: usize,
    deadline: Deadline,
    ended: bool,
}

impl<T> Iterator for AsCompleted<T> {
    type Item = Result<Future<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(index) = self.ready.pop_front() {
                // A done future has already dropped its waiters: nothing to unregister.
                if let Some(future) = self.futures[index].take() {
                    return Some(Ok(future));
                }
                continue;
            }
            if self.pending == 0 || self.ended {
                return None;
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                self.ended = true;
                let message = format!("{} (of {}) futures unfinished", self.pending, self.total);
                return Some(Err(Error::new(ErrorKind::TimeoutError, message)));
            }
            let next = self.done.iter().position(|&d| !d).and_then(|i| self.futures[i].as_ref());
            let watch = match next {
                Some(next) if self.pending == 1 => Watch::One(next.record(), "as_completed"),
                _ => Watch::AnyOf(self.pending),
            };
            for index in self.waiter.next_done(self.deadline, watch) {
                self.done[index] = true;
                self.pending -= 1;
                self.ready.push_back(index);
            }
        }
    }
}

impl<T> Drop for AsCompleted<T> {
    fn drop(&mut self) {
        for future in self.futures.iter().flatten() {
            future.remove_waiter(&self.waiter);
        }
    }
}
