//! [`Queue`], [`LifoQueue`] and [`PriorityQueue`]: Python's `queue` module,
//! one blocking core ([`BaseQueue`]) in three orders.
//!
//! A FIFO [`Queue`] whose slots fit in 64 KiB (4,096 `u64`s; 1,024 slots
//! for an unbounded one) runs on a lock-free ring (`ring_core`): a put or a
//! get is one compare-and-swap on its own side's cursor. Everything else —
//! larger queues, `LifoQueue`, `PriorityQueue`, and a `Queue` once shut
//! down, given a `maxsize` its ring cannot hold, or (unbounded) past 1,024
//! items at once — is the locked core: one `parking_lot` mutex around the
//! storage, a few relaxed gauge stores, and a condvar notify only when a
//! thread is parked. A call that has to wait spins briefly with the queue
//! unlocked, then records the thread as Waiting on the queue (outside the
//! mutex) and sleeps.

use super::error::Result;
use super::registry::{PrimitiveKind, PrimitiveRecord, Registry};
use order::{Fifo, Lifo, Order, Priority};
use parking_lot::{Condvar, Mutex};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

mod blocking;
pub(super) mod order;
mod put_error;
mod ring_core;
mod tasks;

use blocking::Patience;
pub use put_error::PutError;
use ring_core::RingCore;

/// The queue's gauges in its registry record, by index.
const GAUGES: [&str; 7] = ["depth", "maxsize", "high_water", "puts", "gets", "tasks_done", "unfinished"];
const DEPTH: usize = 0;
const MAXSIZE: usize = 1;
const HIGH_WATER: usize = 2;
const PUTS: usize = 3;
const GETS: usize = 4;
const TASKS_DONE: usize = 5;
const UNFINISHED: usize = 6;

/// A FIFO queue: Python's `queue.Queue`.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{ErrorKind, Queue, Thread};
/// use std::sync::Arc;
///
/// let q = Arc::new(Queue::new(2));
/// let consumer = {
///     let q = q.clone();
///     Thread::spawn(move || {
///         while let Ok(job) = q.get() {
///             println!("did {job}");
///             q.task_done().unwrap();
///         }
///     })
///     .unwrap()
/// };
/// for job in ["a", "b", "c"] {
///     q.put(job).unwrap(); // blocks while 2 jobs wait
/// }
/// q.join(); // every job was task_done()
/// q.shutdown(false); // the consumer's get() now fails with ShutDown
/// consumer.join().unwrap();
/// assert_eq!(q.put("d").unwrap_err().error.kind(), ErrorKind::ShutDown);
/// ```
///
/// # Differences from Python
///
/// - `put(item, block, timeout)` / `get(block, timeout)` are
///   [`put_with`](BaseQueue::put_with) / [`get_with`](BaseQueue::get_with)
///   (timeout in seconds, `None` for no limit). [`put`](BaseQueue::put) and
///   [`get`](BaseQueue::get) block without limit; `*_nowait` and
///   `*_timeout(Option<Duration>)` are the other common forms.
/// - A failed put gives the item back in a [`PutError`].
/// - The `maxsize` attribute is [`maxsize`](BaseQueue::maxsize) /
///   [`set_maxsize`](BaseQueue::set_maxsize); raising it lets blocked puts
///   in at once (Python's wait for the next `get`).
/// - The internals (`mutex`, `not_empty`, `_put`…) are not exposed; the
///   registry record shows depth, high-water mark and counters instead.
pub type Queue<T> = BaseQueue<T, Fifo<T>>;

/// A LIFO queue (a stack): Python's `queue.LifoQueue`.
///
/// # Examples
///
/// ```
/// use threadscope::threading::LifoQueue;
/// let q = LifoQueue::new(0);
/// for n in 1..=3 {
///     q.put(n).unwrap();
/// }
/// assert_eq!([q.get().unwrap(), q.get().unwrap(), q.get().unwrap()], [3, 2, 1]);
/// ```
///
/// # Differences from Python
///
/// As [`Queue`].
pub type LifoQueue<T> = BaseQueue<T, Lifo<T>>;

/// A queue that hands out its smallest item first: Python's `queue.PriorityQueue`.
///
/// # Examples
///
/// ```
/// use threadscope::threading::PriorityQueue;
/// let q = PriorityQueue::new(0);
/// q.put((2, "write docs")).unwrap();
/// q.put((1, "fix bug")).unwrap();
/// assert_eq!(q.get().unwrap(), (1, "fix bug"));
/// ```
///
/// # Differences from Python
///
/// As [`Queue`]; items are ordered by [`Ord`] (Python: `<`), so a
/// priority with an unorderable payload is a compile error rather than a
/// `TypeError` at the second put.
pub type PriorityQueue<T> = BaseQueue<T, Priority<T>>;

/// The queue behind [`Queue`], [`LifoQueue`] and [`PriorityQueue`], which
/// differ only in their [`Order`]. Use it through those names.
///
/// Every blocking call that has to sleep shows in the registry as Waiting
/// on the queue, in the role "put", "get" or "join"; the queue's record has
/// the gauges `depth`, `maxsize`, `high_water`, `puts`, `gets`,
/// `tasks_done` and `unfinished`. All are exact, but for two: on the
/// lock-free ring of a `Queue`, `depth` and `unfinished` are each read at
/// one instant unless traffic outruns sixteen tries, when they may count a
/// call made meanwhile as still open (never an empty queue or a finished
/// one that was not; the depth never past the ring's slots); and
/// `high_water` is the deepest the queue was seen (at every 64th put,
/// whenever a put found it full, and at every snapshot): a queue a
/// producer found full shows its `maxsize`, and a peak between two looks
/// can be missed.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{Queue, Registry};
/// let registry = Registry::new();
/// let q = Queue::with_registry(&registry, 8);
/// q.set_name("jobs");
/// q.put(1).unwrap();
/// let snapshot = registry.snapshot();
/// assert_eq!(snapshot.primitive_named("jobs").unwrap().details["depth"], 1);
/// ```
///
/// # Differences from Python
///
/// See [`Queue`].
pub struct BaseQueue<T, S> {
    state: CacheLine<Mutex<State<S>>>,
    not_empty: Condvar,
    not_full: Condvar,
    all_done: Condvar,
    record: Arc<PrimitiveRecord>,
    /// The lock-free core, for a bounded FIFO queue that fits one.
    ring: Option<RingCore<T>>,
    items: PhantomData<fn() -> T>,
}

/// The lock word and everything it guards share one cache line, so an
/// operation moves one line between cores, not two. (Waiters are counted by
/// the condvars themselves: notifying none is one load of a quiet line.)
#[repr(align(64))]
struct CacheLine<T>(T);

struct State<S> {
    items: S,
    maxsize: isize,
    unfinished: usize,
    shutdown: bool,
}

impl<T> Queue<T> {
    /// An empty FIFO queue holding at most `maxsize` items (`<= 0`:
    /// unbounded), in the global registry.
    pub fn new(maxsize: isize) -> Self {
        Self::with_registry(Registry::global(), maxsize)
    }

    /// An empty FIFO queue recorded in `registry`.
    pub fn with_registry(registry: &Registry, maxsize: isize) -> Self {
        Self::create(registry, maxsize)
    }
}

impl<T> LifoQueue<T> {
    /// An empty LIFO queue holding at most `maxsize` items (`<= 0`:
    /// unbounded), in the global registry.
    pub fn new(maxsize: isize) -> Self {
        Self::with_registry(Registry::global(), maxsize)
    }

    /// An empty LIFO queue recorded in `registry`.
    pub fn with_registry(registry: &Registry, maxsize: isize) -> Self {
        Self::create(registry, maxsize)
    }
}

impl<T: Ord> PriorityQueue<T> {
    /// An empty priority queue holding at most `maxsize` items (`<= 0`:
    /// unbounded), in the global registry.
    pub fn new(maxsize: isize) -> Self {
        Self::with_registry(Registry::global(), maxsize)
    }

    /// An empty priority queue recorded in `registry`.
    pub fn with_registry(registry: &Registry, maxsize: isize) -> Self {
        Self::create(registry, maxsize)
    }
}

impl<T, S: Order<T>> Default for BaseQueue<T, S> {
    /// An unbounded queue in the global registry.
    fn default() -> Self {
        Self::create(Registry::global(), 0)
    }
}

impl<T, S: Order<T>> BaseQueue<T, S> {
    fn create(registry: &Registry, maxsize: isize) -> Self {
        let record = registry.new_primitive_with(PrimitiveKind::Queue, &GAUGES);
        record.set_detail(MAXSIZE, maxsize.max(0).unsigned_abs() as u64);
        let ring = if S::RING { RingCore::for_queue(maxsize, &record) } else { None };
        Self {
            state: CacheLine(Mutex::new(State {
                items: S::empty(),
                maxsize,
                unfinished: 0,
                shutdown: false,
            })),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            all_done: Condvar::new(),
            record,
            ring,
            items: PhantomData,
        }
    }

    /// The ring, for a queue that has one (retired or not).
    #[inline]
    fn ring(&self) -> Option<&RingCore<T>> {
        if S::RING { self.ring.as_ref() } else { None }
    }

    record_accessors!("queue", record);

    /// The most items it holds; `<= 0` means no limit (Python's `maxsize`).
    pub fn maxsize(&self) -> isize {
        self.lock().maxsize
    }

    /// Changes the limit. Items already in stay; a lower limit applies to
    /// later puts, a higher one lets blocked puts in at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::Queue;
    /// let q = Queue::new(3);
    /// (1..=3).for_each(|n| q.put(n).unwrap());
    /// q.set_maxsize(2); // Python: q.maxsize = 2
    /// assert_eq!(q.qsize(), 3);
    /// assert!(q.put_nowait(4).is_err());
    /// ```
    pub fn set_maxsize(&self, maxsize: isize) {
        let mut st = self.lock();
        self.ring_set_maxsize(&mut st, maxsize);
        st.maxsize = maxsize;
        self.record.set_detail(MAXSIZE, maxsize.max(0).unsigned_abs() as u64);
        self.not_full.notify_all();
    }

    /// Items in the queue now (Python's `qsize()`; stale as soon as it returns).
    pub fn qsize(&self) -> usize {
        match self.ring().and_then(RingCore::len) {
            Some(len) => len,
            None => self.lock().items.len(),
        }
    }

    /// True if the queue holds no items now.
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// True if the queue is bounded and at its limit now.
    pub fn full(&self) -> bool {
        match self.ring().and_then(RingCore::full) {
            Some(full) => full,
            None => Self::is_full(&self.lock()),
        }
    }

    /// Items put but not yet marked [`task_done`](Self::task_done).
    pub fn unfinished_tasks(&self) -> usize {
        match self.ring().and_then(RingCore::unfinished) {
            Some(unfinished) => unfinished,
            None => self.lock().unfinished,
        }
    }

    /// True once [`shutdown`](Self::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.lock().shutdown
    }

    /// Adds `item`, waiting as long as it takes for room.
    ///
    /// # Errors
    ///
    /// `ShutDown` if the queue is shut down, before or during the wait; the
    /// item comes back in the [`PutError`].
    ///
    /// # Blocking
    ///
    /// While the queue is full; recorded as Waiting on it in the role "put".
    #[inline]
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_patiently(item, Patience::Until(None))
    }

    /// Adds `item` only if there is room now (Python's `put_nowait`).
    ///
    /// # Errors
    ///
    /// `Full` or `ShutDown`, with the item.
    #[inline]
    pub fn put_nowait(&self, item: T) -> Result<(), PutError<T>> {
        self.put_patiently(item, Patience::NoWait)
    }

    /// Adds `item`, waiting at most `timeout` for room (`None`: no limit).
    ///
    /// # Errors
    ///
    /// `Full` when the time is up, `ShutDown`, or `OverflowError` past
    /// [`TIMEOUT_MAX`](super::TIMEOUT_MAX); the item comes back.
    ///
    /// # Blocking
    ///
    /// As [`put`](Self::put), for at most `timeout`.
    pub fn put_timeout(&self, item: T, timeout: Option<Duration>) -> Result<(), PutError<T>> {
        match Patience::duration(timeout) {
            Ok(patience) => self.put_patiently(item, patience),
            Err(error) => Err(PutError { item, error }),
        }
    }

    /// Python's `put(item, block=True, timeout=None)`, timeout in seconds.
    ///
    /// # Errors
    ///
    /// As [`put_timeout`](Self::put_timeout), and on a bounded queue
    /// `ValueError: 'timeout' must be a non-negative number` (Python does
    /// not check the timeout of an unbounded queue, which never waits).
    ///
    /// # Blocking
    ///
    /// As [`put`](Self::put) when `block`, for at most `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::{ErrorKind, Queue};
    /// let q = Queue::new(1);
    /// q.put_with("a", true, None).unwrap(); // q.put("a")
    /// let err = q.put_with("b", true, Some(0.01)).unwrap_err(); // q.put("b", timeout=0.01)
    /// assert_eq!(err.error.kind(), ErrorKind::Full);
    /// assert_eq!(q.get_with(false, None).unwrap(), "a"); // q.get(block=False)
    /// ```
    pub fn put_with(&self, item: T, block: bool, timeout: Option<f64>) -> Result<(), PutError<T>> {
        self.put_patiently(item, Patience::python(block, timeout))
    }

    /// Takes the next item, waiting as long as it takes for one.
    ///
    /// # Errors
    ///
    /// `ShutDown` once the queue is shut down and empty (remaining items
    /// are still handed out).
    ///
    /// # Blocking
    ///
    /// While the queue is empty; recorded as Waiting on it in the role "get".
    #[inline]
    pub fn get(&self) -> Result<T> {
        self.get_patiently(Patience::Until(None))
    }

    /// Takes the next item if there is one now (Python's `get_nowait`).
    ///
    /// # Errors
    ///
    /// `Empty`, or `ShutDown` once shut down and empty.
    #[inline]
    pub fn get_nowait(&self) -> Result<T> {
        self.get_patiently(Patience::NoWait)
    }

    /// Takes the next item, waiting at most `timeout` (`None`: no limit).
    ///
    /// # Errors
    ///
    /// `Empty` when the time is up, `ShutDown`, or `OverflowError`.
    ///
    /// # Blocking
    ///
    /// As [`get`](Self::get), for at most `timeout`.
    pub fn get_timeout(&self, timeout: Option<Duration>) -> Result<T> {
        self.get_patiently(Patience::duration(timeout)?)
    }

    /// Python's `get(block=True, timeout=None)`, timeout in seconds.
    ///
    /// # Errors
    ///
    /// As [`get_timeout`](Self::get_timeout), and `ValueError: 'timeout'
    /// must be a non-negative number` when blocking with a negative timeout.
    ///
    /// # Blocking
    ///
    /// As [`get`](Self::get) when `block`, for at most `timeout`.
    pub fn get_with(&self, block: bool, timeout: Option<f64>) -> Result<T> {
        self.get_patiently(Patience::python(block, timeout))
    }

    /// Python's `repr()`: `<queue.Queue object at 0x…>`.
    pub fn repr(&self) -> String {
        format!("<{} object at {:p}>", S::PYTHON_CLASS, self)
    }
}

impl<T, S: Order<T>> fmt::Debug for BaseQueue<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threading::Error;
    use crate::threading::ErrorKind;
    use std::mem::size_of;

    #[test]
    fn the_lock_and_what_it_guards_fit_one_cache_line() {
        assert_eq!(size_of::<CacheLine<Mutex<State<Fifo<String>>>>>(), 64);
        assert_eq!(size_of::<CacheLine<Mutex<State<Lifo<String>>>>>(), 64);
        assert_eq!(size_of::<CacheLine<Mutex<State<Priority<String>>>>>(), 64);
    }

    #[test]
    fn python_timeouts_are_checked_only_where_python_checks_them() {
        let unbounded = Queue::with_registry(&Registry::new(), 0);
        // An unbounded put never waits, so Python never looks at its timeout.
        unbounded.put_with(1, true, Some(-1.0)).unwrap();
        // A non-blocking get ignores it too.
        assert_eq!(unbounded.get_with(false, Some(-1.0)).unwrap(), 1);
        let nan = unbounded.get_with(true, Some(f64::NAN)).unwrap_err();
        assert_eq!(nan.kind(), ErrorKind::ValueError);
    }

    #[test]
    fn a_failed_timed_put_gives_the_item_back() {
        let q = Queue::with_registry(&Registry::new(), 1);
        q.put(vec![1]).unwrap();
        let huge = Duration::from_secs(u64::MAX);
        let err = q.put_timeout(vec![2], Some(huge)).unwrap_err();
        assert_eq!((err.error.kind(), err.item), (ErrorKind::OverflowError, vec![2]));
        let err: Error = q.put_nowait(vec![3]).unwrap_err().into();
        assert_eq!(err.kind(), ErrorKind::Full);
        assert!(format!("{:?}", q).starts_with("<queue.Queue object at 0x"));
    }
}
