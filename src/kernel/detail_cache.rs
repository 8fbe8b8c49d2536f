//! The details (`status`, `wchan`, `syscall`) of threads that have not run
//! since they were read. A thread asleep in the kernel has the same system
//! call, wait channel and context-switch counts until it runs again, and
//! its `schedstat` says when it does (see `TaskDir::refresh`): for 10,000
//! sleeping threads that is 30,000 files a sample not opened.

use super::details::DetailReader;
use super::error::SamplerError;
use super::field::Field;
use super::syscall::Syscall;
use super::thread::{KernelThread, ThreadKey};
use rustc_hash::FxHashMap;
use std::os::fd::BorrowedFd;
use std::sync::Arc;

/// The detail fields of one thread as last read.
#[derive(Clone, Debug)]
struct Details {
    voluntary_ctxt_switches: Field<u64>,
    nonvoluntary_ctxt_switches: Field<u64>,
    cpus_allowed_list: Field<Arc<[(u32, u32)]>>,
    wchan: Field<Option<Arc<str>>>,
    syscall: Field<Syscall>,
}

impl Details {
    fn of(t: &KernelThread) -> Self {
        Details {
            voluntary_ctxt_switches: t.voluntary_ctxt_switches.clone(),
            nonvoluntary_ctxt_switches: t.nonvoluntary_ctxt_switches.clone(),
            cpus_allowed_list: t.cpus_allowed_list.clone(),
            wchan: t.wchan.clone(),
            syscall: t.syscall.clone(),
        }
    }

    fn into(self, t: &mut KernelThread) {
        t.voluntary_ctxt_switches = self.voluntary_ctxt_switches;
        t.nonvoluntary_ctxt_switches = self.nonvoluntary_ctxt_switches;
        t.cpus_allowed_list = self.cpus_allowed_list;
        t.wchan = self.wchan;
        t.syscall = self.syscall;
    }
}

/// Details by thread (a TID with its start time, so a reused TID is a new
/// thread), kept for the threads of the last sample only, in that sample's
/// order: the next sample lists its threads in the same order, so each is
/// found at its own position without hashing (10,000 threads a sample),
/// and the index by key is rebuilt only when threads came or went. A
/// thread that ran since its details were read keeps its entry, without
/// details: it is known, not new (see [`is_new`](Self::is_new)).
#[derive(Debug, Default)]
pub(crate) struct DetailCache {
    /// The last sample's threads, in its order.
    last: Vec<Entry>,
    /// Where each of `last` is, for a thread not at its old position.
    index: FxHashMap<ThreadKey, usize>,
    /// This sample's, as they are passed or filled.
    next: Vec<Entry>,
    /// Files read and reads saved in the last sample, for benchmarks.
    pub(crate) read: usize,
    pub(crate) reused: usize,
}

#[derive(Debug)]
struct Entry {
    key: ThreadKey,
    /// Boxed: the entries of 10,000 threads move from one sample's list
    /// to the next, and a pointer moves cheaper than the 150 bytes.
    details: Option<Box<Details>>,
}

impl DetailCache {
    /// Starts a sample.
    pub(crate) fn begin(&mut self) {
        self.next.clear();
        self.next.reserve(self.last.len());
        self.read = 0;
        self.reused = 0;
    }

    /// Where `key` was in the last sample, looked for first at `position`.
    fn find(&self, key: ThreadKey, position: usize) -> Option<usize> {
        match self.last.get(position) {
            Some(entry) if entry.key == key => Some(position),
            _ => self.index.get(&key).copied().filter(|&i| self.last.get(i).is_some_and(|e| e.key == key)),
        }
    }

    /// The details kept for the thread at `position` (taken: this sample
    /// hands them on).
    fn take(&mut self, key: ThreadKey, position: usize) -> Option<Box<Details>> {
        let i = self.find(key, position)?;
        self.last[i].details.take()
    }

    /// Fills `thread`'s details, the `position`-th of this sample: from the
    /// last reading when `quiet` (it has not run since) and there is one,
    /// else from its files.
    pub(crate) fn fill(
        &mut self,
        reader: &mut DetailReader,
        tasks: BorrowedFd<'_>,
        thread: &mut KernelThread,
        quiet: bool,
        position: usize,
    ) -> Result<(), SamplerError> {
        let key = thread.key();
        let kept = self.take(key, position).filter(|_| quiet);
        let details = match kept {
            Some(details) => {
                Details::clone(&details).into(thread);
                self.reused += 1;
                details
            }
            None => {
                reader.fill(tasks, thread)?;
                self.read += 1;
                Box::new(Details::of(thread))
            }
        };
        self.next.push(Entry { key, details: Some(details) });
        Ok(())
    }

    /// True for a thread no sample has seen before (`position`: its place
    /// in this sample): the sample it first appears in reads every
    /// thread's details, whatever the cadence, so the threads a program
    /// starts with show what they wait on from the start.
    pub(crate) fn is_new(&self, thread: &KernelThread, position: usize) -> bool {
        self.find(thread.key(), position).is_none()
    }

    /// A thread not detailed in this sample: its last details stay good
    /// only while it stays quiet (one that ran has moved on from them).
    pub(crate) fn pass(&mut self, thread: &KernelThread, quiet: bool, position: usize) {
        let key = thread.key();
        let details = self.take(key, position).filter(|_| quiet);
        self.next.push(Entry { key, details });
    }

    /// Ends a sample: threads not seen in it are forgotten.
    pub(crate) fn end(&mut self) {
        let same_order = self.last.len() == self.next.len()
            && self.last.iter().zip(&self.next).all(|(was, is)| was.key == is.key);
        std::mem::swap(&mut self.last, &mut self.next);
        if !same_order {
            self.index = self.last.iter().enumerate().map(|(i, e)| (e.key, i)).collect();
        }
    }
}
