use super::*;
use crate::jvm::{JvmSign, parse_thread_dump};

const JDK17: &[u8] = include_bytes!("../../tests/fixtures/jvm/jdk17_thread_print.txt");

fn tid(dump: &JvmThreadDump, name: &str) -> u32 {
    dump.threads.iter().find(|t| t.name == name).and_then(|t| t.native_id).unwrap_or_else(|| panic!("{name}"))
}

fn facts() -> (JvmThreadDump, RuntimeFacts) {
    let dump = parse_thread_dump(JDK17);
    let facts = JvmSource::facts_of(&dump, Duration::from_secs(5));
    (dump, facts)
}

#[test]
fn full_names_and_states_with_reasons_by_tid() {
    let (dump, facts) = facts();
    let t = &facts.threads[&tid(&dump, "PaymentService-Processor-3")];
    assert_eq!(t.name.as_deref(), Some("PaymentService-Processor-3"));
    assert_eq!(t.state.as_deref(), Some("WAITING (parking)"));
    let w = &facts.threads[&tid(&dump, "Lock-Waiter-1")];
    assert_eq!(w.state.as_deref(), Some("BLOCKED (on object monitor)"));
    let vm = &facts.threads[&tid(&dump, "VM Thread")];
    assert_eq!(vm.state.as_deref(), Some("JVM-internal thread (runnable)"));
    assert_eq!(facts.covers.as_deref(), Some(COVERS));
    assert!(facts.about.as_deref().is_some_and(|a| a.contains("via attach") && a.contains("every 5 s")));
}

#[test]
fn a_monitor_with_its_holder_and_two_waiters_by_tid() {
    let (dump, facts) = facts();
    let waiting = facts.threads[&tid(&dump, "Lock-Waiter-2")].wait.clone().unwrap();
    assert_eq!(waiting.kind, WaitKind::Primitive(PrimitiveKind::Monitor));
    assert_eq!(waiting.role.as_deref(), Some("waiting to lock"));
    assert!(waiting.name.ends_with("(java.lang.Object)"), "{}", waiting.name);
    let lock = facts.locks.iter().find(|l| Some(l.id) == waiting.lock).unwrap();
    assert_eq!(lock.kind, PrimitiveKind::Monitor);
    assert_eq!(lock.holders, vec![tid(&dump, "Lock-Holder")]);
    assert_eq!(lock.waiters, vec![tid(&dump, "Lock-Waiter-1"), tid(&dump, "Lock-Waiter-2")]);
    assert_eq!(lock.owner_note, None);
}

#[test]
fn parking_and_wait_and_sleep_in_words() {
    let (dump, facts) = facts();
    let parked = facts.threads[&tid(&dump, "Deadlock-A")].wait.clone().unwrap();
    assert_eq!(parked.kind, WaitKind::Primitive(PrimitiveKind::JavaLock));
    assert_eq!(parked.role.as_deref(), Some("parking"));
    let lock = facts.locks.iter().find(|l| Some(l.id) == parked.lock).unwrap();
    assert_eq!(lock.holders, vec![tid(&dump, "Deadlock-B")]);
    // In wait(): no link to the lock, so no wait-for edge to its holder.
    let waiter = facts.threads[&tid(&dump, "Object-Waiter")].wait.clone().unwrap();
    assert_eq!((waiter.role.as_deref(), waiter.lock), (Some("in Object.wait()"), None));
    let sleeper = facts.threads[&tid(&dump, "Sleeper \"quoted\" name")].wait.clone().unwrap();
    assert_eq!(sleeper.kind, WaitKind::Sleep);
    // The latch nobody owns says why.
    let latch = facts.locks.iter().find(|l| l.id == runtime_lock_id(LockSource::Jvm, 0x69ec1bf70)).unwrap();
    assert!(latch.holders.is_empty() && latch.owner_note.is_some());
}

#[test]
fn stacks_innermost_first_with_lock_notes() {
    let (dump, facts) = facts();
    let holder = &facts.threads[&tid(&dump, "Lock-Holder")];
    assert!(holder.stack[0].function.starts_with("jdk.internal.misc.Unsafe.park"), "{:?}", holder.stack[0]);
    assert_eq!(holder.stack[0].location.as_deref(), Some("Native Method"));
    let locked = holder.stack.iter().flat_map(|f| &f.notes).find(|n| n.starts_with("locked <0x"));
    assert!(locked.is_some_and(|n| n.ends_with("(a java.lang.Object)")), "{:?}", holder.stack);
    assert!(
        holder
            .stack
            .iter()
            .any(|f| f.location.as_deref().is_some_and(|l| l.starts_with("ThreadscopeFixture.java:")))
    );
}

#[test]
fn the_attach_listener_is_marked_as_ours() {
    let (dump, facts) = facts();
    let state = facts.threads[&tid(&dump, "Attach Listener")].state.clone().unwrap();
    assert!(state.contains("serving threadscope's requests"), "{state}");
}

#[test]
fn the_jvms_deadlock_is_seen_in_the_locks_and_an_unseen_one_is_a_note() {
    let (mut dump, facts) = facts();
    assert!(facts.notes.is_empty(), "{:?}", facts.notes);
    // A report whose edges the lock lines lack (the holder unresolved).
    dump.deadlocks[0].links[0].held_by = None;
    let facts = JvmSource::facts_of(&dump, Duration::from_secs(5));
    assert_eq!(facts.notes.len(), 1);
    assert!(facts.notes[0].contains("\"Deadlock-A\", \"Deadlock-B\""), "{:?}", facts.notes);
}

#[test]
fn tids_gone_from_proc_are_dropped_everywhere() {
    let (dump, facts) = facts();
    let holder = tid(&dump, "Lock-Holder");
    let alive: HashSet<u32> = facts.threads.keys().copied().filter(|&t| t != holder).collect();
    let out = alive_only(&facts, &alive);
    assert!(!out.threads.contains_key(&holder));
    assert!(out.locks.iter().all(|l| !l.holders.contains(&holder) && !l.waiters.contains(&holder)));
    assert_eq!(out.threads.len(), facts.threads.len() - 1);
}

#[test]
fn not_a_jvm_is_silent() {
    assert!(JvmSource::for_pid(std::process::id(), JvmViewOptions::default()).is_none());
    assert!(JvmSource::for_pid(u32::MAX - 1, JvmViewOptions::default()).is_none());
}

#[test]
fn a_process_whose_maps_are_refused_is_a_jvm_only_with_a_sign() {
    let denied = || std::io::Error::from_raw_os_error(libc::EACCES);
    let options = JvmViewOptions::default;
    // Refused maps and nothing Java about it (pid 1 `process_api` of a
    // container, refused even to root): nothing said.
    let none = JvmSource::from_detection(Err(JvmError::NoSignOfJvm { pid: 1, source: denied() }), options());
    assert!(none.is_none());
    // Refused maps of a `java`: said plainly that it cannot be told.
    let undetermined = JvmError::Undetermined { pid: 1, sign: JvmSign::JavaName, source: denied() };
    let mut source = JvmSource::from_detection(Err(undetermined), options()).expect("a note");
    let kernel = crate::kernel::Sampler::new(std::process::id()).unwrap().sample().unwrap();
    let facts = source.facts(&kernel).expect("the note");
    assert_eq!(
        facts.notes,
        vec![
            "no JVM view: cannot tell whether process 1 is a JVM: its main thread is named java, \
             but its maps cannot be read (Permission denied (os error 13)) (the kernel view carries on)"
        ]
    );
    assert!(facts.threads.is_empty() && facts.covers.is_none());
}

#[test]
fn hostile_names_stay_data_here() {
    let text = String::from_utf8_lossy(JDK17).replace("\"Lock-Holder\"", "\"Evil\u{1b}[2J\"");
    let dump = parse_thread_dump(text.as_bytes());
    let facts = JvmSource::facts_of(&dump, Duration::from_secs(5));
    // Kept as given: the display layer escapes it (DisplayName, safe()).
    assert!(facts.threads.values().any(|t| t.name.as_deref() == Some("Evil\u{1b}[2J")));
}
