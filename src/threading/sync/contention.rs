//! The slow path shared by `Lock` and `RLock`: wait for a held lock and
//! record, only if the thread really sleeps, that it waits and on what.

use crate::sys::RawLock;
use crate::threading::registry::{PrimitiveRecord, WaitTarget};
use crate::threading::thread::current::current_id;
use crate::threading::timeout::Deadline;
use crate::threading::wait::WaitScope;
use std::sync::atomic::Ordering;

/// Blocks on `raw` until it is ours (true) or `deadline` passes (false).
///
/// Spins first. Only when the thread is about to park does it read the
/// clock, count a contention and become Waiting on `record` (which makes
/// it one of the lock's waiters in snapshots): brief contention that
/// spinning resolves writes nothing shared, not even a counter. The wait names the primitive by id rather than
/// holding a reference to it: a shared reference count would be one more
/// cache line bouncing between the contending cores.
#[cold]
pub(crate) fn acquire_contended(raw: &RawLock, record: &PrimitiveRecord, deadline: Deadline) -> bool {
    let mut parked: Option<WaitScope> = None;
    let acquired = raw.lock_slow(deadline, &mut || {
        if parked.is_none() {
            record.note_contended();
            parked = Some(WaitScope::enter(WaitTarget::Primitive {
                id: record.id,
                kind: record.kind,
                role: "acquire",
            }));
        }
    });
    if let Some(scope) = parked {
        let since = scope.since();
        // The wait ends before the hold is published, and the fence keeps
        // the holder store below from being seen first (the snapshot reads
        // holders with acquire loads, then statuses): no reader ever sees
        // this thread hold the lock while still waiting for it.
        let now = scope.end();
        std::sync::atomic::fence(Ordering::Release);
        record.note_waited(now - since);
        if acquired {
            record.note_acquired_at(current_id(), now);
        }
        return acquired;
    }
    if acquired {
        record.note_acquired(current_id());
    }
    acquired
}
