//! `threading::shutdown()` runs the pools' exit hook (CPython's
//! `_python_exit`): queued work finishes, idle workers end and are waited
//! for, and later submits fail. It changes process-wide state, so it has
//! this test binary to itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::eventually;
use std::sync::Arc;
use threadscope::threading::{Queue, Registry, ThreadPoolExecutor, ThreadState, current_thread};

#[test]
fn shutdown_finishes_queued_work_and_ends_every_worker() {
    let idle = ThreadPoolExecutor::builder().max_workers(2).build().unwrap();
    idle.submit(|| ()).unwrap().result().unwrap();
    let busy = ThreadPoolExecutor::builder().max_workers(1).build().unwrap();
    let gate = Arc::new(Queue::<()>::new(0));
    let futures: Vec<_> = (0..4)
        .map(|n| {
            let gate = gate.clone();
            busy.submit(move || {
                gate.get().unwrap();
                n
            })
            .unwrap()
        })
        .collect();

    // Open the gate only once this thread is blocked in shutdown(), joining a worker.
    let me = current_thread().id();
    let opener = std::thread::spawn(move || {
        eventually("shutdown() to join a worker", || {
            let snapshot = Registry::global().snapshot();
            let me = snapshot.thread_by_id(me)?;
            (me.state == ThreadState::Waiting && me.waiting_on.as_ref()?.kind.label() == "join").then_some(())
        });
        for _ in 0..4 {
            gate.put(()).unwrap();
        }
    });
    threadscope::threading::shutdown();
    opener.join().unwrap();

    let results: Vec<i32> = futures.iter().map(|f| f.result().unwrap()).collect();
    assert_eq!(results, [0, 1, 2, 3], "queued work ran before the workers ended");
    for worker in idle.workers().into_iter().chain(busy.workers()) {
        assert!(!worker.is_alive(), "{} is still alive", worker.name());
    }
    let err = idle.submit(|| ()).unwrap_err();
    assert_eq!(err.to_string(), "RuntimeError: cannot schedule new futures after interpreter shutdown");
}
