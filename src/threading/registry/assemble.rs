//! [`Registry::snapshot`]: copying the live records into a [`RegistrySnapshot`].
//!
//! Nobody is stopped while the records are read, so a snapshot is not one
//! instant: each primitive's holders are read at one moment, each thread's
//! status at another. What keeps it from contradicting itself is the order
//! of the reads against the order of the writes:
//!
//! - every record is read once, and every derived list (a primitive's
//!   waiters, a thread's `holds`, the holders shown beside a wait) comes from
//!   that one read, so two parts of a snapshot never disagree about the same
//!   record;
//! - holders are read before any status. A thread that acquires after
//!   waiting stops being Waiting before it publishes itself as the holder
//!   (`contention.rs`, `semaphore.rs`), and a holder unpublishes itself
//!   before it lets go; so a hold seen here is never paired with the wait
//!   that preceded it;
//! - the other way round — a hold read just before its thread let go and
//!   began waiting for the same primitive again — is settled by re-reading
//!   just that pair (`untear`), so no thread shows as waiting on what it
//!   holds unless it really does (a second `acquire` of a plain `Lock` by
//!   its holder, which is Python's self-deadlock).
//!
//! What the snapshot cannot promise is a consistent cut across records: a
//! thread may show waiting on a lock whose holder has since moved on. The
//! inspector confirms a cycle against re-reads before calling it a
//! deadlock (`Registry::read_waits`, `inspect::confirm`).

use super::Registry;
use super::backtrace::WaitBacktrace;
use super::primitive_record::PrimitiveRecord;
use super::snapshot::{
    PrimitiveRef, PrimitiveSnapshot, RegistrySnapshot, ThreadRef, ThreadSnapshot, WaitKind, WaitSnapshot,
};
use super::thread_record::{self, Outcome, ThreadRecord, ThreadState, WaitTarget};
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

impl Registry {
    /// Copies every record into an owned snapshot.
    ///
    /// Reads holders first and statuses second (see the module notes), so
    /// no thread shows waiting on a lock it holds because of when it was read.
    pub fn snapshot(&self) -> RegistrySnapshot {
        let now = Instant::now();
        let records = self.records(now);
        let primitives: Vec<Arc<PrimitiveRecord>> =
            self.inner.primitives.lock().values().filter_map(Weak::upgrade).collect();

        let by_id: HashMap<u64, &Arc<PrimitiveRecord>> = primitives.iter().map(|p| (p.id, p)).collect();
        let find_primitive = |id: u64| match by_id.get(&id) {
            Some(p) => Some(Arc::clone(p)),
            None if !self.is_global() => Self::global().primitive_record(id),
            None => None,
        };
        // Holders, once each, before any status.
        let mut holders: Holders = primitives.iter().map(|p| (p.id, p.read_holders())).collect();
        let names: HashMap<u64, String> = records.iter().map(|r| (r.id, r.name())).collect();
        let thread_ref = |id: u64| ThreadRef { id, name: self.thread_name(id, &names) };

        // Each status is read once, so a thread's own view and the waiter
        // lists derived from it always agree.
        let mut statuses: Vec<StatusCopy> =
            records.iter().map(|r| r.with_status(|s| StatusCopy::of(s, now))).collect();
        untear(&records, &mut statuses, &mut holders, &find_primitive, now);
        // Threads of the global registry may wait on our primitives too (a
        // test's own thread, the main thread).
        let mut waiting = waiting_threads(records.iter().zip(&statuses));
        if !self.is_global() {
            let global = Self::global().records(now);
            let mut global_statuses: Vec<StatusCopy> =
                global.iter().map(|r| r.with_status(|s| StatusCopy::of(s, now))).collect();
            untear(&global, &mut global_statuses, &mut holders, &find_primitive, now);
            for (primitive, mut threads) in waiting_threads(global.iter().zip(&global_statuses)) {
                waiting.entry(primitive).or_default().append(&mut threads);
            }
        }

        let mut held: HashMap<u64, Vec<PrimitiveRef>> = HashMap::new();
        let primitives = primitives
            .iter()
            .map(|p| {
                let name = p.display_name();
                let (single, all) = holders.get(&p.id).cloned().unwrap_or_default();
                let holders: Vec<ThreadRef> = all.into_iter().map(thread_ref).collect();
                for h in &holders {
                    let held_by = held.entry(h.id).or_default();
                    if !held_by.iter().any(|r| r.id == p.id) {
                        held_by.push(PrimitiveRef { id: p.id, kind: p.kind, name: name.clone() });
                    }
                }
                let related = p.related().and_then(&find_primitive).map(|r| PrimitiveRef {
                    id: r.id,
                    kind: r.kind,
                    name: r.display_name(),
                });
                let mut waiters = waiting.remove(&p.id).unwrap_or_default();
                waiters.sort_by_key(|&(since, id)| (since, id));
                let mut stats = p.stats_given(now, single);
                // Waits still going on count too: seven threads stuck for
                // 22 s have waited 154 s, not 0.
                stats.total_wait +=
                    waiters.iter().map(|&(since, _)| now.saturating_duration_since(since)).sum::<Duration>();
                PrimitiveSnapshot {
                    id: p.id,
                    kind: p.kind,
                    name,
                    holders,
                    waiters: waiters.into_iter().map(|(_, id)| thread_ref(id)).collect(),
                    stats,
                    details: p.details().into_iter().collect(),
                    related,
                    last_raise: p.raised(),
                }
            })
            .collect();

        // A wait on a primitive of another registry (rare: a test's thread
        // on the global one) reads that primitive's holders now, after the
        // statuses; only those can be out of step.
        let holders_of = |id: u64| -> Vec<u64> {
            match holders.get(&id) {
                Some((_, all)) => all.clone(),
                None => find_primitive(id).map(|r| r.holders()).unwrap_or_default(),
            }
        };
        let threads = records
            .iter()
            .zip(statuses)
            .map(|(r, status)| {
                let StatusCopy { state, since, waiting_on, totals, outcome, wait_backtrace, .. } = status;
                let waiting_on = waiting_on.as_ref().map(|w| {
                    let wait = WaitRead { since, now, thread_ref: &thread_ref, holders_of: &holders_of };
                    wait_snapshot(w, &wait, &find_primitive)
                });
                ThreadSnapshot {
                    id: r.id,
                    name: names.get(&r.id).cloned().unwrap_or_default(),
                    ident: r.ident(),
                    native_id: r.native_id(),
                    daemon: r.daemon(),
                    origin: r.origin,
                    state,
                    waiting_on,
                    holds: held.remove(&r.id).unwrap_or_default(),
                    time_in_state: totals.into(),
                    age: now.saturating_duration_since(r.created_at),
                    outcome,
                    wait_backtrace: wait_backtrace.filter(|_| state == ThreadState::Waiting),
                }
            })
            .collect();
        RegistrySnapshot { threads, primitives }
    }
}

/// Holders as read, by primitive id: the single holder, and every holder.
type Holders = HashMap<u64, (Option<u64>, Vec<u64>)>;

/// How many times a thread shown waiting on what it holds is re-read
/// before its hold is taken for stale. Each retry follows a thread that
/// moved between two reads, so this is rarely more than one.
const UNTEAR_TRIES: usize = 3;

/// Settles each thread whose status (read after the holders) says it waits
/// on a primitive that lists it as a holder. That is real — a plain
/// `Lock`'s holder acquiring it again, a semaphore holder after one more
/// permit — or torn: it let go after the holders were read and began
/// waiting again before its status was. Re-reading the primitive's
/// holders and then the status tells them apart: a thread cannot make
/// itself a holder while it waits, so if the status is unchanged and the
/// hold still there, the hold came first and is real; if the hold is gone,
/// the thread waits holding nothing. A thread that keeps moving is
/// re-read with its newer status; one still unsettled after that is not
/// stuck, so its stale hold is dropped.
fn untear(
    records: &[Arc<ThreadRecord>],
    statuses: &mut [StatusCopy],
    holders: &mut Holders,
    primitive: &dyn Fn(u64) -> Option<Arc<PrimitiveRecord>>,
    now: Instant,
) {
    for (record, status) in records.iter().zip(statuses.iter_mut()) {
        let suspect = |status: &StatusCopy, holders: &Holders| match &status.waiting_on {
            Some(WaitTarget::Primitive { id, .. }) => {
                holders.get(id).is_some_and(|(_, all)| all.contains(&record.id)).then_some(*id)
            }
            _ => None,
        };
        let mut settled = false;
        for _ in 0..UNTEAR_TRIES {
            let Some(id) = suspect(status, holders) else {
                settled = true;
                break;
            };
            let holders_again = primitive(id).map(|p| p.holders()).unwrap_or_default();
            let again = record.with_status(|s| StatusCopy::of(s, now));
            if again.changes == status.changes {
                if !holders_again.contains(&record.id) {
                    forget_holder(holders, id, record.id);
                }
                settled = true;
                break;
            }
            *status = again;
        }
        if !settled && let Some(id) = suspect(status, holders) {
            forget_holder(holders, id, record.id);
        }
    }
}

fn forget_holder(holders: &mut Holders, primitive: u64, thread: u64) {
    if let Some((single, all)) = holders.get_mut(&primitive) {
        all.retain(|&h| h != thread);
        if *single == Some(thread) {
            *single = None;
        }
    }
}

/// One thread's status, copied under its lock in one go.
struct StatusCopy {
    state: ThreadState,
    since: Instant,
    /// The status's change count, to tell a re-read of the same stretch.
    changes: u64,
    waiting_on: Option<WaitTarget>,
    totals: [Duration; 4],
    outcome: Option<Outcome>,
    wait_backtrace: Option<WaitBacktrace>,
}

impl StatusCopy {
    fn of(s: &thread_record::Status, now: Instant) -> Self {
        Self {
            state: s.state,
            since: s.since,
            changes: s.changes,
            waiting_on: s.waiting_on.clone(),
            totals: s.totals_at(now),
            outcome: s.outcome.clone(),
            wait_backtrace: s.wait_backtrace.clone(),
        }
    }
}

/// Primitive id → (wait start, thread id) of the threads blocked on it.
fn waiting_threads<'a>(
    threads: impl Iterator<Item = (&'a Arc<ThreadRecord>, &'a StatusCopy)>,
) -> HashMap<u64, Vec<(Instant, u64)>> {
    let mut waiting: HashMap<u64, Vec<(Instant, u64)>> = HashMap::new();
    for (r, s) in threads {
        if let Some(WaitTarget::Primitive { id, .. }) = &s.waiting_on {
            waiting.entry(*id).or_default().push((s.since, r.id));
        }
    }
    waiting
}

/// What resolving one wait needs from the snapshot being built.
struct WaitRead<'a> {
    since: Instant,
    now: Instant,
    thread_ref: &'a dyn Fn(u64) -> ThreadRef,
    /// Holders as this snapshot read them (not re-read per wait).
    holders_of: &'a dyn Fn(u64) -> Vec<u64>,
}

fn wait_snapshot(
    target: &WaitTarget,
    read: &WaitRead<'_>,
    primitive: &dyn Fn(u64) -> Option<Arc<PrimitiveRecord>>,
) -> WaitSnapshot {
    let waited = read.now.saturating_duration_since(read.since);
    let snapshot = |kind: WaitKind, name: String| WaitSnapshot {
        kind,
        name,
        role: None,
        primitive: None,
        holders: Vec::new(),
        waited,
        remaining: None,
    };
    match target {
        WaitTarget::Primitive { id, kind, role } => {
            let name = primitive(*id).map_or_else(|| format!("{}#{id}", kind.label()), |r| r.display_name());
            WaitSnapshot {
                role: Some((*role).to_owned()),
                primitive: Some(*id),
                holders: (read.holders_of)(*id).into_iter().map(read.thread_ref).collect(),
                ..snapshot(WaitKind::Primitive(*kind), name)
            }
        }
        WaitTarget::Join { thread } => WaitSnapshot {
            holders: vec![(read.thread_ref)(thread.id)],
            ..snapshot(WaitKind::Join, thread.name())
        },
        WaitTarget::Sleep { until } => WaitSnapshot {
            remaining: until.map(|u| u.saturating_duration_since(read.now)),
            ..snapshot(WaitKind::Sleep, "sleep".to_owned())
        },
        WaitTarget::Region { label } => snapshot(WaitKind::Region, label.to_string()),
    }
}
