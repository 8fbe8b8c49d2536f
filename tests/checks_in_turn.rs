//! A process of thousands of threads: the inspector's live view checks its
//! quiet threads in turn and the snapshot says so; a dump checks every thread. In a
//! test binary of its own, since its 2,600 threads would change how every
//! other test's sample of this process is read.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Barrier};
use threadscope::inspect::Inspector;

#[test]
fn live_views_check_quiet_threads_in_turn_and_say_so_and_dumps_check_all() {
    const THREADS: usize = 2600;
    let started = Arc::new(Barrier::new(THREADS + 1));
    let (end, ends) = std::sync::mpsc::channel::<()>();
    let ends = Arc::new(std::sync::Mutex::new(ends));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (started, ends) = (started.clone(), ends.clone());
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    started.wait();
                    // Asleep until the channel closes.
                    let _ = ends.lock().map(|rx| rx.recv());
                })
                .unwrap()
        })
        .collect();
    started.wait();
    let mut inspector = Inspector::pid(std::process::id()).unwrap();
    inspector.refresh().unwrap();
    let live = inspector.refresh().unwrap();
    assert!(live.threads.len() > THREADS);
    // 2,601 threads, about 2,500 a sample: each every 2 samples.
    assert_eq!(live.process.checked_in_turn, Some(2));
    inspector.set_checks_in_turn(false);
    inspector.refresh().unwrap();
    let dump = inspector.refresh().unwrap();
    assert_eq!(dump.process.checked_in_turn, None, "a dump reads every thread");
    drop(end);
    for thread in threads {
        thread.join().unwrap();
    }
}
