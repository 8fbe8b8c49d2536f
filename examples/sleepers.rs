//! N threads that sleep forever: the target of benches/whole-process.sh,
//! as a process with 10,000 threads looks to threadscope and to top.
//!
//! `cargo run --release --example sleepers -- 10000` prints `ready PID`
//! once every thread is asleep, then sleeps until killed.

use std::io::Write;

fn main() {
    let count: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    for i in 0..count {
        let tx = tx.clone();
        std::thread::Builder::new()
            .name(format!("sleeper-{i}"))
            .stack_size(64 * 1024)
            .spawn(move || {
                drop(tx);
                loop {
                    std::thread::park();
                }
            })
            .expect("spawn a sleeper");
    }
    drop(tx);
    // Every sender gone: every thread has started.
    let _ = rx.recv();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "ready {}", std::process::id());
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
    }
}
