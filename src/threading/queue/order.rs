//! The three orders a queue can keep: first in first out, last in first
//! out, smallest first. Python's `Queue`, `LifoQueue` and `PriorityQueue`
//! differ only in their `_put` / `_get`; these are those.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

pub(crate) mod sealed {
    /// Storage behind a queue: Python's `_init` / `_qsize` / `_put` / `_get`.
    pub trait Store<T> {
        /// Python's class name, for `repr`.
        const PYTHON_CLASS: &'static str;
        /// True if a bounded queue of this order may run on a lock-free ring.
        const RING: bool = false;
        /// Empty storage (Python's `_init`).
        fn empty() -> Self;
        /// Adds one item.
        fn push(&mut self, item: T);
        /// Takes the next item in this order.
        fn pop(&mut self) -> Option<T>;
        /// Items stored.
        fn len(&self) -> usize;
    }
}

/// The order a [`BaseQueue`](super::BaseQueue) hands items out in: [`Fifo`],
/// [`Lifo`] or [`Priority`]. Sealed: the three are all there is.
///
/// Code that works with any of the three queues is generic over it.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{BaseQueue, LifoQueue, Order, Queue};
/// fn drain<S: Order<i32>>(q: &BaseQueue<i32, S>) -> Vec<i32> {
///     std::iter::from_fn(|| q.get_nowait().ok()).collect()
/// }
/// let (fifo, lifo) = (Queue::new(0), LifoQueue::new(0));
/// for n in 1..=3 {
///     fifo.put(n).unwrap();
///     lifo.put(n).unwrap();
/// }
/// assert_eq!((drain(&fifo), drain(&lifo)), (vec![1, 2, 3], vec![3, 2, 1]));
/// ```
///
/// # Differences from Python
///
/// Python's `LifoQueue` and `PriorityQueue` subclass `Queue` and override
/// `_put` / `_get`; here the order is a type parameter, and user-defined
/// orders are not possible.
pub trait Order<T>: sealed::Store<T> {}

/// First in, first out: the order of [`Queue`](super::Queue).
///
/// # Examples
///
/// ```
/// use threadscope::threading::{BaseQueue, Fifo, Queue};
/// let q: BaseQueue<u8, Fifo<u8>> = Queue::new(0);
/// assert!(q.empty());
/// ```
#[derive(Debug)]
pub struct Fifo<T>(VecDeque<T>);

/// Last in, first out: the order of [`LifoQueue`](super::LifoQueue).
///
/// # Examples
///
/// ```
/// use threadscope::threading::{BaseQueue, Lifo, LifoQueue};
/// let q: BaseQueue<u8, Lifo<u8>> = LifoQueue::new(0);
/// assert!(q.empty());
/// ```
#[derive(Debug)]
pub struct Lifo<T>(Vec<T>);

/// Smallest first: the order of [`PriorityQueue`](super::PriorityQueue).
///
/// # Examples
///
/// ```
/// use threadscope::threading::{BaseQueue, Priority, PriorityQueue};
/// let q: BaseQueue<u8, Priority<u8>> = PriorityQueue::new(0);
/// assert!(q.empty());
/// ```
#[derive(Debug)]
pub struct Priority<T>(BinaryHeap<Reverse<T>>);

impl<T> sealed::Store<T> for Fifo<T> {
    const PYTHON_CLASS: &'static str = "queue.Queue";
    const RING: bool = true;
    fn empty() -> Self {
        Self(VecDeque::new())
    }
    #[inline]
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> sealed::Store<T> for Lifo<T> {
    const PYTHON_CLASS: &'static str = "queue.LifoQueue";
    fn empty() -> Self {
        Self(Vec::new())
    }
    #[inline]
    fn push(&mut self, item: T) {
        self.0.push(item);
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T: Ord> sealed::Store<T> for Priority<T> {
    const PYTHON_CLASS: &'static str = "queue.PriorityQueue";
    fn empty() -> Self {
        Self(BinaryHeap::new())
    }
    #[inline]
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item));
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|Reverse(item)| item)
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> Order<T> for Fifo<T> {}
impl<T> Order<T> for Lifo<T> {}
impl<T: Ord> Order<T> for Priority<T> {}

#[cfg(test)]
mod tests {
    use super::sealed::Store;
    use super::*;

    fn drain<S: Store<i32>>(mut store: S) -> Vec<i32> {
        for n in [3, 1, 2] {
            store.push(n);
        }
        assert_eq!(store.len(), 3);
        std::iter::from_fn(|| store.pop()).collect()
    }

    #[test]
    fn each_order_hands_items_out_its_way() {
        assert_eq!(drain(Fifo::empty()), [3, 1, 2]);
        assert_eq!(drain(Lifo::empty()), [2, 1, 3]);
        assert_eq!(drain(Priority::empty()), [1, 2, 3]);
    }
}
