//! A registry snapshot in the protocol's words ([`AgentSnapshot`]):
//! threads and primitives keyed by what a client can join on (native ids),
//! never by registry ids, which mean nothing outside this process.

use super::protocol::{AgentPrimitive, AgentSnapshot, AgentState, AgentThread, AgentWait};
use crate::threading::{
    RegistrySnapshot, ThreadOrigin, ThreadRef, ThreadSnapshot, ThreadState, WaitKind, WaitSnapshot,
};
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// `registry` as the protocol says it, taken at `taken_at`.
pub fn agent_snapshot(registry: &RegistrySnapshot, taken_at: SystemTime) -> AgentSnapshot {
    let tids: HashMap<u64, u32> =
        registry.threads.iter().filter_map(|t| Some((t.id, t.native_id?))).collect();
    let native =
        |refs: &[ThreadRef]| -> Vec<u32> { refs.iter().filter_map(|r| tids.get(&r.id).copied()).collect() };
    AgentSnapshot {
        taken_at_unix_ms: taken_at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
        threads: registry.threads.iter().map(|t| thread(t, &tids)).collect(),
        primitives: registry
            .primitives
            .iter()
            .map(|p| AgentPrimitive {
                id: p.id,
                kind: p.kind.label().to_owned(),
                name: p.name.clone(),
                created_at: None,
                holders: native(&p.holders),
                waiters: native(&p.waiters),
            })
            .collect(),
    }
}

/// `t` in the protocol's words; `tids` maps registry ids to native ids.
fn thread(t: &ThreadSnapshot, tids: &HashMap<u64, u32>) -> AgentThread {
    AgentThread {
        native_id: t.native_id,
        // Not started: no ident yet (the protocol's 0).
        ident: t.ident.unwrap_or(0),
        name: t.name.clone(),
        daemon: t.daemon,
        alive: matches!(t.state, ThreadState::Running | ThreadState::Waiting),
        state: match t.state {
            ThreadState::Created => AgentState::Created,
            ThreadState::Running => AgentState::Running,
            ThreadState::Waiting => AgentState::Waiting,
            ThreadState::Terminated => AgentState::Terminated,
        },
        own: t.origin == ThreadOrigin::Helper,
        waiting_on: t.waiting_on.as_ref().map(|w| AgentWait {
            // The registry's wait words are the protocol's (`WaitKind::label`).
            kind: w.kind.label().to_owned(),
            primitive: w.primitive,
            name: w.name.clone(),
            role: w.role.clone(),
            waited_ms: Some(w.waited.as_secs_f64() * 1000.0),
            joins: joined_tid(w, tids),
        }),
        // Rust keeps no stack a snapshot could read without stopping the thread.
        stack: Vec::new(),
    }
}

/// The native id of the thread a join waits for: the registry names it as
/// the wait's one holder. `None` for any other wait, or a joined thread
/// not started (no TID yet).
fn joined_tid(w: &WaitSnapshot, tids: &HashMap<u64, u32>) -> Option<u32> {
    match (w.kind, w.holders.as_slice()) {
        (WaitKind::Join, [joined]) => tids.get(&joined.id).copied(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threading::{Event, Lock, PrimitiveKind, Registry, Thread};
    use std::sync::Arc;

    #[test]
    fn a_holder_and_its_waiter_are_named_by_native_id() {
        let registry = Registry::new();
        let lock = Arc::new(Lock::with_registry(&registry));
        lock.set_name("accounts");
        let release = Arc::new(Event::with_registry(&registry));
        let (holder_lock, released) = (Arc::clone(&lock), Arc::clone(&release));
        let holder = Thread::builder().name("Payments-Auditor").registry(&registry).target(move || {
            let _held = holder_lock.guard();
            let _ = released.wait(None);
        });
        holder.start().unwrap();
        while !lock.locked() {
            std::thread::yield_now();
        }
        let waiter_lock = Arc::clone(&lock);
        let waiter = Thread::builder()
            .name("Payments-Worker-1")
            .registry(&registry)
            .target(move || drop(waiter_lock.guard()));
        waiter.start().unwrap();
        let library = loop {
            let s = registry.snapshot();
            if s.primitive_named("accounts").is_some_and(|p| !p.waiters.is_empty()) {
                break s;
            }
            std::thread::yield_now();
        };
        let snapshot = agent_snapshot(&library, SystemTime::now());
        let worker = snapshot.threads.iter().find(|t| t.name == "Payments-Worker-1").unwrap();
        let primitive = snapshot.primitives.iter().find(|p| p.name == "accounts").unwrap();
        assert_eq!(primitive.kind, "lock");
        assert_eq!(primitive.waiters, vec![worker.native_id.unwrap()]);
        let auditor = snapshot.threads.iter().find(|t| t.name == "Payments-Auditor").unwrap();
        assert_eq!(primitive.holders, vec![auditor.native_id.unwrap()]);
        let wait = worker.waiting_on.as_ref().unwrap();
        assert_eq!(
            (wait.kind.as_str(), wait.primitive, wait.role.as_deref()),
            ("lock", Some(primitive.id), Some("acquire"))
        );
        assert_eq!(worker.state, AgentState::Waiting);
        release.set();
        holder.join().unwrap();
        waiter.join().unwrap();
    }

    #[test]
    fn a_join_names_the_joined_thread_by_native_id() {
        let registry = Registry::new();
        let release = Arc::new(Event::with_registry(&registry));
        let released = Arc::clone(&release);
        let sleeper = Thread::builder().name("Sleeper-Thread").registry(&registry).target(move || {
            let _ = released.wait(None);
        });
        sleeper.start().unwrap();
        // Waits until it runs, so its record has its TID before the join is read.
        let sleeper_tid = sleeper.native_id();
        let joined = sleeper.clone();
        let joiner =
            Thread::builder().name("Joiner").registry(&registry).target(move || joined.join().unwrap());
        joiner.start().unwrap();
        let library = loop {
            let s = registry.snapshot();
            // Both in their waits: the sleeper may still be on its way to its event.
            let waits = |name, kind| {
                s.thread(name).is_some_and(|t| t.waiting_on.as_ref().is_some_and(|w| w.kind == kind))
            };
            if waits("Joiner", WaitKind::Join)
                && waits("Sleeper-Thread", WaitKind::Primitive(PrimitiveKind::Event))
            {
                break s;
            }
            std::thread::yield_now();
        };
        let snapshot = agent_snapshot(&library, SystemTime::now());
        let wait = snapshot.threads.iter().find(|t| t.name == "Joiner").unwrap().waiting_on.clone().unwrap();
        assert_eq!((wait.kind.as_str(), wait.joins), ("join", sleeper_tid));
        let sleeping = snapshot.threads.iter().find(|t| t.name == "Sleeper-Thread").unwrap();
        assert_eq!(sleeping.waiting_on.as_ref().unwrap().joins, None, "an event wait joins nothing");
        release.set();
        joiner.join().unwrap();
    }
}
