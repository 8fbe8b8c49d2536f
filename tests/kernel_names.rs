//! Names reach the kernel: a thread's comm is its name cut to 15 bytes at a
//! character boundary, and renames from any thread follow.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, mpsc};
use threadscope::threading::{Lock, Thread, kernel_comm};

fn comm_of(tid: u32) -> String {
    let raw = std::fs::read(format!("/proc/self/task/{tid}/comm")).unwrap();
    String::from_utf8(raw).unwrap().trim_end_matches('\n').to_owned()
}

/// A running thread parked on `gate` until the test releases it.
fn parked(name: &str, gate: &Arc<Lock>) -> Thread {
    let gate = gate.clone();
    let t = Thread::builder().name(name).target(move || {
        gate.acquire();
        gate.release().unwrap();
    });
    t.start().unwrap();
    t
}

#[test]
fn the_kernel_comm_is_the_name_truncated() {
    let gate = Arc::new(Lock::new());
    gate.acquire();
    let long = parked("PaymentService-Processor-7", &gate);
    let short = parked("db-1", &gate);
    let unicode = parked("ünïcödé-wxörker", &gate);
    assert_eq!(comm_of(long.native_id().unwrap()), "PaymentService-");
    assert_eq!(comm_of(short.native_id().unwrap()), "db-1");
    assert_eq!(comm_of(unicode.native_id().unwrap()), "ünïcödé-wx", "cut before the split character");
    gate.release().unwrap();
    [long, short, unicode].iter().for_each(|t| t.join().unwrap());
}

#[test]
fn renames_from_another_thread_reach_the_kernel() {
    let gate = Arc::new(Lock::new());
    gate.acquire();
    let t = parked("before", &gate);
    let tid = t.native_id().unwrap();
    t.set_name("after-rename-from-outside");
    assert_eq!(t.name(), "after-rename-from-outside");
    assert_eq!(comm_of(tid), kernel_comm("after-rename-from-outside"));
    gate.release().unwrap();
    t.join().unwrap();
    t.set_name("renamed-after-exit"); // nothing left to rename in the kernel: no error
    assert_eq!(t.name(), "renamed-after-exit");
}

#[test]
fn a_thread_can_rename_itself() {
    let (tx, rx) = mpsc::channel();
    let t = Thread::builder().name("self-renamer").target(move || {
        let me = threadscope::threading::current_thread();
        me.set_name("renamed-myself");
        tx.send(std::fs::read_to_string("/proc/thread-self/comm").unwrap()).unwrap();
    });
    t.start().unwrap();
    assert_eq!(rx.recv().unwrap(), "renamed-myself\n");
    t.join().unwrap();
}

#[test]
fn a_rename_before_start_is_used_at_start() {
    let gate = Arc::new(Lock::new());
    gate.acquire();
    let inner = gate.clone();
    let t = Thread::builder().name("first").target(move || {
        inner.acquire();
        inner.release().unwrap();
    });
    t.set_name("second");
    t.start().unwrap();
    assert_eq!(comm_of(t.native_id().unwrap()), "second");
    gate.release().unwrap();
    t.join().unwrap();
}
