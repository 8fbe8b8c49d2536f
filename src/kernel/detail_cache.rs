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
/// thread), kept for the threads of the last sample only: one map, each
/// entry stamped with the sample that last vouched for it. A thread that
/// ran since its details were read keeps its entry, without details: it
/// is known, not new (see [`is_new`](Self::is_new)).
#[derive(Debug, Default)]
pub(crate) struct DetailCache {
    by_thread: FxHashMap<ThreadKey, (u64, Option<Details>)>,
    sample: u64,
    /// Files read and reads saved in the last sample, for benchmarks.
    pub(crate) read: usize,
    pub(crate) reused: usize,
}

impl DetailCache {
    /// Starts a sample.
    pub(crate) fn begin(&mut self) {
        self.sample += 1;
        self.read = 0;
        self.reused = 0;
    }

    /// Fills `thread`'s details: from the last reading when `quiet` (it
    /// has not run since) and there is one, else from its files.
    pub(crate) fn fill(
        &mut self,
        reader: &mut DetailReader,
        tasks: BorrowedFd<'_>,
        thread: &mut KernelThread,
        quiet: bool,
    ) -> Result<(), SamplerError> {
        let sample = self.sample;
        let kept = self.by_thread.get_mut(&thread.key()).filter(|_| quiet);
        match kept.and_then(|(stamp, details)| Some((stamp, details.as_ref()?))) {
            Some((stamp, details)) => {
                *stamp = sample;
                details.clone().into(thread);
                self.reused += 1;
            }
            None => {
                reader.fill(tasks, thread)?;
                self.by_thread.insert(thread.key(), (sample, Some(Details::of(thread))));
                self.read += 1;
            }
        }
        Ok(())
    }

    /// True for a thread no sample has seen before: the sample it first
    /// appears in reads every thread's details, whatever the cadence, so
    /// the threads a program starts with show what they wait on from the
    /// start.
    pub(crate) fn is_new(&self, thread: &KernelThread) -> bool {
        !self.by_thread.contains_key(&thread.key())
    }

    /// A thread not detailed in this sample: its last details stay good
    /// only while it stays quiet (one that ran has moved on from them).
    pub(crate) fn pass(&mut self, thread: &KernelThread, quiet: bool) {
        let (stamp, details) = self.by_thread.entry(thread.key()).or_insert((self.sample, None));
        *stamp = self.sample;
        if !quiet {
            *details = None;
        }
    }

    /// Ends a sample: threads not seen in it are forgotten.
    pub(crate) fn end(&mut self) {
        let sample = self.sample;
        self.by_thread.retain(|_, (stamp, _)| *stamp == sample);
    }
}
