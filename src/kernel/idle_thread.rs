//! For tests: a thread that says its TID, then sleeps until dropped.

use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

/// A thread asleep in a channel wait (a futex) until this is dropped.
pub(crate) struct IdleThread {
    /// Its kernel TID.
    pub(crate) tid: u32,
    end: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl IdleThread {
    /// Starts it and waits for its TID.
    pub(crate) fn start() -> Self {
        let (tid_tx, tid_rx) = channel();
        let (end, ends) = channel::<()>();
        let thread = std::thread::spawn(move || {
            tid_tx.send(crate::sys::gettid()).expect("the starter waits for the TID");
            let _ = ends.recv();
        });
        let tid = tid_rx.recv().expect("the thread says its TID");
        IdleThread { tid, end: Some(end), thread: Some(thread) }
    }
}

impl Drop for IdleThread {
    fn drop(&mut self) {
        drop(self.end.take());
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the idle thread ends cleanly");
        }
    }
}
