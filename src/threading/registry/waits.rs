//! [`Registry::read_waits`]: the few records a suspected deadlock stands
//! on, read in the order that lets the inspector find one instant at which
//! they all held (a double collect).

use super::Registry;
use super::primitive_record::PrimitiveRecord;
use super::thread_record::{ThreadRecord, WaitTarget};
use std::sync::Arc;

/// What a waiting thread waits for, as an edge of the wait-for graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitEdge {
    /// A primitive, by id (its holders are the next step).
    Primitive(u64),
    /// The end of another thread (`join`), by id.
    Join(u64),
}

/// One read of a thread's status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRead {
    /// Thread id.
    pub thread: u64,
    /// The status's change count: equal in two reads means no transition
    /// in between, so one unbroken wait.
    pub changes: u64,
    /// What it waits on, if that is a graph edge (a primitive or a join);
    /// `None` when running, sleeping, in a declared region or gone.
    pub waits: Option<WaitEdge>,
}

/// One read of a primitive's holders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldersRead {
    /// Primitive id.
    pub primitive: u64,
    /// Thread ids holding it (empty when free or gone).
    pub holders: Vec<u64>,
}

/// The statuses of some threads, then the holders of some primitives, then
/// the same statuses again — each pass wholly after the one before.
///
/// A thread whose two reads have the same change count waited on the same
/// thing over the whole time between them. A holder cannot make itself a
/// holder again while it waits, so a holder read between the two passes
/// that names such a thread held all along from its first read to the
/// holder read. So every edge kept this way held at the same instant: the
/// end of the first pass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WaitReads {
    /// First pass over the threads.
    pub before: Vec<StatusRead>,
    /// The primitives' holders, read after `before` and before `after`.
    pub holders: Vec<HoldersRead>,
    /// Second pass over the same threads, in the same order.
    pub after: Vec<StatusRead>,
}

impl Registry {
    /// Reads threads `threads` and primitives `primitives` as [`WaitReads`]
    /// describes: for confirming a cycle seen in a snapshot, so callers pass
    /// only the handful of records on it. Ids this registry does not know
    /// are looked up in the global one (a test's own thread), else read as
    /// gone (no wait, no holders).
    pub fn read_waits(&self, threads: &[u64], primitives: &[u64]) -> WaitReads {
        let threads: Vec<(u64, Option<Arc<ThreadRecord>>)> =
            threads.iter().map(|&id| (id, self.any_thread_record(id))).collect();
        let primitives: Vec<(u64, Option<Arc<PrimitiveRecord>>)> =
            primitives.iter().map(|&id| (id, self.any_primitive_record(id))).collect();
        let statuses = || -> Vec<StatusRead> {
            threads.iter().map(|(id, record)| status_read(*id, record.as_deref())).collect()
        };
        let before = statuses();
        let holders = primitives
            .iter()
            .map(|(id, record)| HoldersRead {
                primitive: *id,
                holders: record.as_ref().map(|r| r.holders()).unwrap_or_default(),
            })
            .collect();
        let after = statuses();
        WaitReads { before, holders, after }
    }

    fn any_thread_record(&self, id: u64) -> Option<Arc<ThreadRecord>> {
        self.thread_record(id)
            .or_else(|| if self.is_global() { None } else { Self::global().thread_record(id) })
    }

    fn any_primitive_record(&self, id: u64) -> Option<Arc<PrimitiveRecord>> {
        self.primitive_record(id)
            .or_else(|| if self.is_global() { None } else { Self::global().primitive_record(id) })
    }
}

fn status_read(thread: u64, record: Option<&ThreadRecord>) -> StatusRead {
    let Some(record) = record else { return StatusRead { thread, changes: 0, waits: None } };
    record.with_status(|s| StatusRead {
        thread,
        changes: s.changes,
        waits: match &s.waiting_on {
            Some(WaitTarget::Primitive { id, .. }) => Some(WaitEdge::Primitive(*id)),
            Some(WaitTarget::Join { thread }) => Some(WaitEdge::Join(thread.id)),
            Some(WaitTarget::Sleep { .. } | WaitTarget::Region { .. }) | None => None,
        },
    })
}
