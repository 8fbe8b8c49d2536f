//! Joining a [`Thread`]: Python's `join(timeout)`, and the main thread's
//! stop at shutdown that lets its joiners return.

use super::current::current_thread;
use super::handle::Thread;
use crate::threading::error::{Error, Result};
use crate::threading::registry::{Outcome, ThreadOrigin, WaitTarget};
use crate::threading::wait::WaitScope;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl Thread {
    /// Waits until the thread ends.
    ///
    /// # Errors
    ///
    /// `RuntimeError`: "cannot join thread before it is started", "cannot
    /// join current thread", "cannot join a dummy thread".
    ///
    /// # Blocking
    ///
    /// Recorded as Waiting on a join of this thread.
    pub fn join(&self) -> Result<()> {
        self.join_until(None)
    }

    /// Waits at most `timeout`. Returns `Ok(())` either way: as in Python,
    /// call [`is_alive`](Self::is_alive) to learn whether it ended.
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join).
    pub fn join_timeout(&self, timeout: Duration) -> Result<()> {
        self.join_until(Some(Instant::now().checked_add(timeout).unwrap_or_else(far_future)))
    }

    fn join_until(&self, deadline: Option<Instant>) -> Result<()> {
        if !self.inner.started.load(Ordering::Acquire) {
            return Err(Error::runtime("cannot join thread before it is started"));
        }
        if matches!(self.inner.record.origin, ThreadOrigin::Dummy | ThreadOrigin::Helper) {
            return Err(Error::runtime("cannot join a dummy thread"));
        }
        if *self == current_thread() {
            return Err(Error::runtime("cannot join current thread"));
        }
        if self.inner.lifecycle.lock().done {
            self.reap();
            return Ok(());
        }
        let _waiting = WaitScope::enter(WaitTarget::Join { thread: self.inner.record.clone() });
        if deadline.is_none() {
            // The common case: one wait, in pthread_join, as std does.
            let handle = self.inner.handle.lock().take();
            if let Some(handle) = handle {
                handle.join();
                return Ok(());
            }
        }
        let mut lifecycle = self.inner.lifecycle.lock();
        while !lifecycle.done {
            match deadline {
                None => self.inner.changed.wait(&mut lifecycle),
                Some(deadline) => {
                    if self.inner.changed.wait_until(&mut lifecycle, deadline).timed_out() {
                        break;
                    }
                }
            }
        }
        let done = lifecycle.done;
        drop(lifecycle);
        if done {
            self.reap();
        }
        Ok(())
    }

    /// Ends the run of a thread the library did not start (the main thread
    /// at [`shutdown`](crate::threading::shutdown)): the record says Terminated and
    /// joiners return. Its OS thread goes on; its later waits leave the
    /// record as it is.
    pub(crate) fn mark_stopped(&self) {
        let mut lifecycle = self.inner.lifecycle.lock();
        if lifecycle.done {
            return;
        }
        let ended = self.inner.record.terminate(Outcome::Returned);
        self.inner.registry.thread_ended(self.inner.record.id, ended);
        lifecycle.done = true;
        self.inner.changed.notify_all();
    }

    /// Collects the finished OS thread, so its TID is gone once join returns.
    fn reap(&self) {
        let handle = self.inner.handle.lock().take();
        if let Some(handle) = handle {
            handle.join();
        }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}
