//! The slow path shared by `Lock` and `RLock`: wait for a held lock and
//! record, only if the thread really sleeps, that it waits and on what.

use super::current::current_id;
use super::registry::{PrimitiveRecord, WaitTarget};
use super::timeout::Deadline;
use super::wait::WaitScope;
use crate::sys::RawLock;
use std::sync::Arc;
use std::time::Instant;

/// Blocks on `raw` until it is ours (true) or `deadline` passes (false).
/// Spins first; the first time the thread is about to park it becomes
/// Waiting on `record` and joins its waiter list.
#[cold]
pub(crate) fn acquire_contended(raw: &RawLock, record: &Arc<PrimitiveRecord>, deadline: Deadline) -> bool {
    let started = Instant::now();
    let mut waiting: Option<WaitScope> = None;
    let acquired = raw.lock_slow(deadline, &mut || {
        if waiting.is_none() {
            let scope = WaitScope::enter(WaitTarget::Primitive { record: record.clone(), role: "acquire" });
            record.add_waiter(scope.thread_id());
            waiting = Some(scope);
        }
    });
    if let Some(scope) = &waiting {
        record.remove_waiter(scope.thread_id());
    }
    drop(waiting);
    let now = Instant::now();
    record.note_contended(now - started, acquired.then_some(now));
    if acquired {
        record.note_acquired(current_id());
    }
    acquired
}
