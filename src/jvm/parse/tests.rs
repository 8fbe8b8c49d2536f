use std::time::Duration;

use proptest::prelude::*;

use super::parse_thread_dump;
use crate::jvm::model::*;

const JDK17: &[u8] = include_bytes!("../../../tests/fixtures/jvm/jdk17_thread_print.txt");
const JDK21: &[u8] = include_bytes!("../../../tests/fixtures/jvm/jdk21_thread_print.txt");

fn named<'a>(dump: &'a JvmThreadDump, name: &str) -> (usize, &'a JavaThread) {
    dump.threads
        .iter()
        .enumerate()
        .find(|(_, t)| t.name == name)
        .unwrap_or_else(|| panic!("no thread {name}"))
}

#[test]
fn jdk17_headers_states_and_ids() {
    let dump = parse_thread_dump(JDK17);
    assert!(dump.complete);
    assert_eq!(dump.timestamp.as_deref(), Some("2026-12-01 20:54:47"));
    assert!(dump.vm.as_deref().is_some_and(|v| v.contains("17.0.15")));
    assert_eq!(dump.threads.len(), 34);
    let (_, main) = named(&dump, "main");
    assert_eq!(main.java_id, Some(1));
    assert_eq!(main.native_id, Some(0x347a));
    assert_eq!(main.vm_address, Some(0x00007f02bc017ed0));
    assert_eq!((main.priority, main.os_priority, main.daemon), (Some(5), Some(0), false));
    assert_eq!(main.cpu, Some(Duration::from_micros(38_450)));
    assert_eq!(main.elapsed, Some(Duration::from_millis(560)));
    assert_eq!(main.vm_status, "runnable");
    assert_eq!(main.kind, JavaThreadKind::Java);
    assert_eq!(main.frames.len(), 12);
    assert_eq!(main.frames[0].method, "java.io.FileInputStream.readBytes");
    assert_eq!(main.frames[0].module.as_deref(), Some("java.base@17.0.15"));
    assert!(main.frames[0].native);
    assert_eq!(main.frames[11].file.as_deref(), Some("ThreadscopeFixture.java"));
    assert_eq!(main.frames[11].line, Some(35));

    let (_, finalizer) = named(&dump, "Finalizer");
    assert!(finalizer.daemon);
    assert_eq!(finalizer.vm_status, "in Object.wait()");
    let state = finalizer.state.as_ref().unwrap();
    assert_eq!((&state.state, &state.reason), (&ThreadState::Waiting, &Some(StateReason::OnObjectMonitor)));

    let (_, sleeper) = named(&dump, "Sleeper \"quoted\" name");
    assert_eq!(sleeper.state.as_ref().unwrap().reason, Some(StateReason::Sleeping));

    let (_, vm) = named(&dump, "VM Thread");
    assert_eq!((vm.kind, vm.java_id, vm.native_id), (JavaThreadKind::VmInternal, None, Some(0x3489)));
    assert!(vm.frames.is_empty() && vm.state.is_none());
    assert_eq!(named(&dump, "GC Thread#0").1.native_id, Some(0x347c));
}

#[test]
fn jdk17_long_names_are_whole() {
    let dump = parse_thread_dump(JDK17);
    for n in 1..=8 {
        let (_, t) = named(&dump, &format!("PaymentService-Processor-{n}"));
        assert_eq!(t.state.as_ref().unwrap().reason, Some(StateReason::Parking));
        let wait = t.waiting_for().unwrap();
        assert_eq!(wait.action, LockAction::ParkingToWaitFor);
        assert_eq!(wait.lock.class.as_deref(), Some("java.util.concurrent.CountDownLatch$Sync"));
    }
}

#[test]
fn jdk17_monitor_holder_and_two_waiters() {
    let dump = parse_thread_dump(JDK17);
    let (holder, _) = named(&dump, "Lock-Holder");
    let (w1, _) = named(&dump, "Lock-Waiter-1");
    let (w2, _) = named(&dump, "Lock-Waiter-2");
    let lock = dump.lock(0x000000069ec1c090).unwrap();
    assert_eq!(lock.kind, JavaLockKind::Monitor);
    assert_eq!(lock.class.as_deref(), Some("java.lang.Object"));
    assert_eq!(lock.holder, Some(holder));
    assert_eq!(lock.waiters, vec![w1, w2]);
    assert!(lock.wait_set.is_empty());
}

#[test]
fn jdk17_object_wait_releases_the_monitor() {
    let dump = parse_thread_dump(JDK17);
    let (waiter, _) = named(&dump, "Object-Waiter");
    let lock = dump.lock(0x000000069ec1c0a0).unwrap();
    assert_eq!(lock.holder, None, "a thread in wait() does not hold the monitor");
    assert_eq!(lock.wait_set, vec![waiter]);
    // The latch: eight processors and the holder park on it, nobody owns it.
    let latch = dump.lock(0x000000069ec1bf70).unwrap();
    assert_eq!((latch.kind, latch.holder, latch.waiters.len()), (JavaLockKind::Synchronizer, None, 9));
}

#[test]
fn jdk17_reentrant_lock_deadlock() {
    let dump = parse_thread_dump(JDK17);
    let (a, ta) = named(&dump, "Deadlock-A");
    let (b, tb) = named(&dump, "Deadlock-B");
    assert_eq!(ta.owned_synchronizers[0].address, Some(0x000000069eee9cf0));
    assert_eq!(tb.owned_synchronizers[0].address, Some(0x000000069eee9d20));
    assert_eq!(dump.deadlocks.len(), 1);
    let links = &dump.deadlocks[0].links;
    assert_eq!(links.len(), 2);
    assert_eq!((links[0].thread, links[0].held_by), (Some(a), Some(b)));
    assert_eq!((links[1].thread, links[1].held_by), (Some(b), Some(a)));
    assert_eq!(links[0].kind, JavaLockKind::Synchronizer);
    assert_eq!(links[0].address, Some(0x000000069eee9d20));
    assert_eq!(links[0].class.as_deref(), Some("java.util.concurrent.locks.ReentrantLock$NonfairSync"));
    let lock = dump.lock(0x000000069eee9d20).unwrap();
    assert_eq!(
        (lock.kind, lock.holder, lock.waiters.clone()),
        (JavaLockKind::Synchronizer, Some(b), vec![a])
    );
    // The stacks repeated under the deadlock report are not threads again.
    assert_eq!(dump.threads.iter().filter(|t| t.name == "Deadlock-A").count(), 1);
}

#[test]
fn jdk21_decimal_nids_and_bracket_tids() {
    let dump = parse_thread_dump(JDK21);
    assert!(dump.complete);
    assert_eq!(dump.threads.len(), 11);
    let (_, main) = named(&dump, "main");
    assert_eq!((main.java_id, main.native_id), (Some(1), Some(48211)));
    assert_eq!(main.frames[0].method, "java.lang.Thread.sleep0");
    let (_, rh) = named(&dump, "Reference Handler");
    assert!(rh.daemon);
    assert_eq!((rh.java_id, rh.native_id, rh.priority), (Some(9), Some(48219), Some(10)));
    assert_eq!(named(&dump, "VM Thread").1.native_id, Some(48218));
    assert_eq!(named(&dump, "VM Periodic Task Thread").1.vm_status, "waiting on condition");
    let carrier = named(&dump, "ForkJoinPool-1-worker-1").1;
    assert_eq!(carrier.frames.len(), 2, "`Carrying virtual thread` is not a frame");
}

#[test]
fn jdk21_monitor_deadlock_relock_and_owned_synchronizer() {
    let dump = parse_thread_dump(JDK21);
    let (w1, _) = named(&dump, "Worker-1");
    let (w2, _) = named(&dump, "Worker-2");
    let links = &dump.deadlocks[0].links;
    assert_eq!(links[0].kind, JavaLockKind::Monitor);
    assert_eq!(links[0].address, Some(0x00000007ffe10a58), "the object's address, not the monitor's");
    assert_eq!(links[0].class.as_deref(), Some("java.lang.Object"));
    assert_eq!((links[0].thread, links[0].held_by), (Some(w1), Some(w2)));
    assert_eq!((links[1].thread, links[1].held_by), (Some(w2), Some(w1)));
    let a58 = dump.lock(0x00000007ffe10a58).unwrap();
    assert_eq!((a58.holder, a58.waiters.clone()), (Some(w2), vec![w1]));

    let (notified, _) = named(&dump, "Notified");
    let relock = dump.lock(0x00000007ffe10c00).unwrap();
    assert_eq!((relock.holder, relock.waiters.clone()), (None, vec![notified]));

    let (pool_holder, _) = named(&dump, "Pool-Holder");
    let (carrier, _) = named(&dump, "ForkJoinPool-1-worker-1");
    let sync = dump.lock(0x00000007ffe10d00).unwrap();
    assert_eq!(
        (sync.kind, sync.holder, sync.waiters.clone()),
        (JavaLockKind::Synchronizer, Some(pool_holder), vec![carrier])
    );
}

#[test]
fn hostile_names_are_kept_exactly() {
    let text = b"\"evil\x1b[2J \"#1 prio=5\" name\" #7 prio=5 os_prio=0 tid=0x1 nid=0x10 runnable\n\
   java.lang.Thread.State: RUNNABLE\n\
\"two\nlines\" #8 daemon prio=5 os_prio=0 tid=0x2 nid=0x11 runnable\n\
\"\xed\xa0\xbd\xed\xb8\x80\" #9 prio=5 os_prio=0 tid=0x3 nid=0x12 runnable\n\
\"\" #10 prio=5 os_prio=0 tid=0x4 nid=0x13 runnable\n";
    let dump = parse_thread_dump(text);
    let names: Vec<&[u8]> = dump.threads.iter().map(|t| t.name.as_bytes()).collect();
    assert_eq!(
        names,
        vec![&b"evil\x1b[2J \"#1 prio=5\" name"[..], b"two\nlines", b"\xed\xa0\xbd\xed\xb8\x80", b""]
    );
    assert_eq!(dump.threads[0].java_id, Some(7));
    assert_eq!(dump.threads[1].native_id, Some(0x11));
    assert_eq!(dump.threads[2].name.to_text(), "\u{1F600}");
    assert!(!dump.complete);
}

#[test]
fn deadlock_names_with_quotes_and_unknown_owners() {
    let text = b"\"a\"b\" #1 prio=5 os_prio=0 tid=0x1 nid=0x10 blocked\n\
   java.lang.Thread.State: BLOCKED (on object monitor)\n\
\tat X.y(X.java:1)\n\
\t- waiting to lock <0x20> (a java.lang.Object)\n\
\n\
Found one Java-level deadlock:\n\
=============================\n\
\"a\"b\":\n\
  waiting to lock monitor 0x7f (object 0x20, a java.lang.Object),\n\
  which is held by UNKNOWN_owner_addr=0x00007f0000001000\n\
\n\
Found 1 deadlock.\n";
    let dump = parse_thread_dump(text);
    let link = &dump.deadlocks[0].links[0];
    assert_eq!((link.thread, link.held_by_name.as_ref(), link.address), (Some(0), None, Some(0x20)));
}

#[test]
fn nid_forms() {
    use super::lines::parse_nid;
    assert_eq!(parse_nid("0x1a2b"), Some(0x1a2b));
    assert_eq!(parse_nid("6699"), Some(6699));
    assert_eq!(parse_nid("0x1ffffffff"), None);
    assert_eq!(parse_nid("-1"), None);
}

#[test]
fn a_dump_cut_short_parses_what_is_there() {
    let cut = &JDK17[..JDK17.len() / 2];
    let dump = parse_thread_dump(cut);
    assert!(!dump.complete);
    assert!(dump.threads.len() > 5);
}

/// A real dump with a few lines dropped, duplicated, truncated or spliced.
fn mutated_dump() -> impl Strategy<Value = Vec<u8>> {
    let lines: Vec<Vec<u8>> =
        JDK17.split(|&b| b == b'\n').chain(JDK21.split(|&b| b == b'\n')).map(<[u8]>::to_vec).collect();
    let n = lines.len();
    proptest::collection::vec((0..n, 0..4u8, 0..200usize, any::<u8>()), 0..40).prop_map(move |edits| {
        let mut out = lines.clone();
        for (at, op, cut, byte) in edits {
            let at = at % out.len().max(1);
            if out.is_empty() {
                break;
            }
            match op {
                0 => {
                    out.remove(at);
                }
                1 => {
                    let line = out[at].clone();
                    out.insert(at, line);
                }
                2 => {
                    let len = out[at].len();
                    out[at].truncate(cut.min(len));
                }
                _ => {
                    let len = out[at].len();
                    out[at].insert(cut.min(len), byte);
                }
            }
        }
        out.join(&b'\n')
    })
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = parse_thread_dump(&bytes);
    }

    #[test]
    fn never_panics_on_dump_shaped_text(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("\"".to_string()),
                Just("Found one Java-level deadlock:".to_string()),
                Just("Java stack information for the threads listed above:".to_string()),
                Just("   Locked ownable synchronizers:".to_string()),
                Just("Threads class SMR info:".to_string()),
                "\"[^\n]{0,12}\" #[0-9]{1,3} (daemon )?\\[?[0-9x]{0,6}\\]? prio=[0-9] nid=[0-9a-fx]{0,10} [a-z ]{0,10}",
                "\t- (locked|waiting to lock|waiting on|parking to wait for ) ?<[0-9a-fx]{0,18}>? ?\\(?a? ?[a-z.]{0,8}\\)?",
                "\tat [a-zA-Z.$/]{0,20}\\(?[a-zA-Z.@/]{0,12}:?[0-9]{0,12}\\)?",
                "   java.lang.Thread.State: [A-Z_]{0,14} ?\\(?[a-z ]{0,12}\\)?",
                "\"[^\n]{0,8}\":",
                "  (waiting to lock monitor|waiting for ownable synchronizer) [0-9a-fx(), a-z]{0,30}",
                "  which is held by \"?[^\n]{0,8}\"?",
                "[^\n]{0,30}",
            ],
            0..60,
        )
    ) {
        let _ = parse_thread_dump(lines.join("\n").as_bytes());
    }

    #[test]
    fn never_panics_on_mutated_real_dumps(bytes in mutated_dump()) {
        let dump = parse_thread_dump(&bytes);
        // Whatever survives, every index points at a thread.
        for lock in &dump.locks {
            prop_assert!(lock.holder.is_none_or(|h| h < dump.threads.len()));
            prop_assert!(lock.waiters.iter().chain(&lock.wait_set).all(|&w| w < dump.threads.len()));
        }
    }
}
