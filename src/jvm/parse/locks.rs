//! Monitors and synchronizers by address: who holds each, who waits.

use std::collections::BTreeMap;

use crate::jvm::model::{JavaLock, JavaLockKind, JvmThreadDump, LockAction, LockRef};

/// Every lock some thread holds or waits for, sorted by address.
///
/// - A monitor's holder is the thread with `- locked <A>`, except a thread
///   in `A.wait()`: the JVM still prints the frame's `locked <A>`, but the
///   monitor is released while it waits (and while it waits to re-lock it).
/// - A synchronizer's holder is the thread listing it under `Locked
///   ownable synchronizers`.
/// - The deadlock section's "which is held by" fills a holder the stacks
///   did not give.
pub(super) fn derive(dump: &JvmThreadDump) -> Vec<JavaLock> {
    let mut locks: BTreeMap<u64, JavaLock> = BTreeMap::new();
    for (i, t) in dump.threads.iter().enumerate() {
        let waits_for = t.waiting_for().and_then(|l| l.lock.address);
        for l in t.frames.iter().flat_map(|f| &f.locks) {
            let Some(address) = l.lock.address else { continue };
            let kind = match l.action {
                LockAction::ParkingToWaitFor => JavaLockKind::Synchronizer,
                LockAction::Eliminated => continue,
                _ => JavaLockKind::Monitor,
            };
            let lock = entry(&mut locks, address, &l.lock, kind);
            match l.action {
                LockAction::Locked if waits_for != Some(address) => lock.holder = lock.holder.or(Some(i)),
                LockAction::Locked => {}
                LockAction::WaitingToLock | LockAction::WaitingToRelock | LockAction::ParkingToWaitFor => {
                    push_once(&mut lock.waiters, i);
                }
                LockAction::WaitingOn => push_once(&mut lock.wait_set, i),
                LockAction::Eliminated => {}
            }
        }
        for owned in &t.owned_synchronizers {
            if let Some(address) = owned.address {
                let lock = entry(&mut locks, address, owned, JavaLockKind::Synchronizer);
                lock.holder = lock.holder.or(Some(i));
            }
        }
    }
    for link in dump.deadlocks.iter().flat_map(|d| &d.links) {
        let (Some(address), Some(holder)) = (link.address, link.held_by) else { continue };
        let lock = entry(
            &mut locks,
            address,
            &LockRef { address: Some(address), class: link.class.clone() },
            link.kind,
        );
        lock.holder = lock.holder.or(Some(holder));
        if let Some(waiter) = link.thread.filter(|w| !lock.waiters.contains(w)) {
            lock.waiters.push(waiter);
        }
    }
    locks.into_values().collect()
}

fn entry<'a>(
    locks: &'a mut BTreeMap<u64, JavaLock>,
    address: u64,
    lock: &LockRef,
    kind: JavaLockKind,
) -> &'a mut JavaLock {
    let entry = locks.entry(address).or_insert_with(|| JavaLock {
        address,
        class: None,
        kind,
        holder: None,
        waiters: Vec::new(),
        wait_set: Vec::new(),
    });
    if entry.class.is_none() {
        entry.class.clone_from(&lock.class);
    }
    // Parking on it or owning it makes it a synchronizer, whatever came first.
    if kind == JavaLockKind::Synchronizer {
        entry.kind = kind;
    }
    entry
}

/// Pushes `i` unless it was the last pushed: threads are visited in order,
/// so this is enough to list a re-entered lock's thread once.
fn push_once(list: &mut Vec<usize>, i: usize) {
    if list.last() != Some(&i) {
        list.push(i);
    }
}
