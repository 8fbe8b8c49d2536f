//! Task accounting and shutdown of a [`BaseQueue`]: `task_done`, `join`
//! and Python 3.13's `shutdown`.

use super::{BaseQueue, DEPTH, Order, TASKS_DONE, UNFINISHED};
use crate::threading::error::{Error, Result};
use crate::threading::wait::WaitScope;
use parking_lot::MutexGuard;

impl<T, S: Order<T>> BaseQueue<T, S> {
    /// Marks one item taken with `get` as processed, for [`join`](Self::join).
    ///
    /// # Errors
    ///
    /// `ValueError: task_done() called too many times` when no item is unfinished.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::Queue;
    /// let q = Queue::new(0);
    /// q.put("work").unwrap();
    /// let _work = q.get().unwrap();
    /// assert_eq!(q.unfinished_tasks(), 1);
    /// q.task_done().unwrap();
    /// q.join(); // returns at once: nothing unfinished
    /// assert!(q.task_done().is_err());
    /// ```
    pub fn task_done(&self) -> Result<()> {
        if let Some(done) = self.ring().and_then(|core| self.ring_task_done(core)) {
            return done;
        }
        let mut st = self.lock();
        if st.unfinished == 0 {
            return Err(Error::value("task_done() called too many times"));
        }
        st.unfinished -= 1;
        self.record.bump_detail(TASKS_DONE, 1);
        self.record.set_detail(UNFINISHED, st.unfinished as u64);
        if st.unfinished == 0 {
            self.all_done.notify_all();
        }
        Ok(())
    }

    /// Waits until every item put has been marked [`task_done`](Self::task_done).
    /// May be called again, from any number of threads.
    ///
    /// # Blocking
    ///
    /// While items are unfinished; recorded as Waiting on the queue in the
    /// role "join".
    pub fn join(&self) {
        if self.ring().is_some_and(|core| self.ring_join(core)) {
            return;
        }
        let mut st = self.lock();
        if st.unfinished == 0 {
            return;
        }
        let scope = MutexGuard::unlocked(&mut st, || WaitScope::on_primitive(&self.record, "join"));
        while st.unfinished > 0 {
            self.all_done.wait(&mut st);
        }
        drop(st);
        scope.end_on(&self.record);
    }

    /// Shuts the queue down (Python 3.13): later puts fail with `ShutDown`,
    /// gets hand out what is left and then fail, and blocked callers wake up
    /// with `ShutDown`. With `immediate`, the items left are dropped and
    /// count as done, so [`join`](Self::join) returns. Calling it again
    /// (say, with `immediate` the second time) is allowed.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::threading::{ErrorKind, Queue};
    /// let q = Queue::new(0);
    /// q.put(1).unwrap();
    /// q.shutdown(false);
    /// assert_eq!(q.get().unwrap(), 1); // what is left still comes out
    /// assert_eq!(q.get().unwrap_err().kind(), ErrorKind::ShutDown);
    /// ```
    pub fn shutdown(&self, immediate: bool) {
        let mut st = self.lock();
        self.retire_ring(&mut st);
        st.shutdown = true;
        let mut dropped = None;
        if immediate {
            let items = std::mem::replace(&mut st.items, S::empty());
            st.unfinished = st.unfinished.saturating_sub(items.len());
            self.record.set_detail(DEPTH, 0);
            self.record.set_detail(UNFINISHED, st.unfinished as u64);
            dropped = Some(items);
            self.all_done.notify_all();
        }
        self.not_empty.notify_all();
        self.not_full.notify_all();
        drop(st);
        // Items' destructors run with the queue unlocked.
        drop(dropped);
    }
}
