//! What the binary does until the TUI lands: show the registry at work.

use crate::threading::{Lock, Registry, Thread, ThreadState};
use std::process::ExitCode;
use std::sync::Arc;

/// Runs a tiny live example — one thread holding a lock, one waiting for
/// it — and prints the registry's view of it as JSON.
pub fn demo() -> ExitCode {
    match run_demo() {
        Ok(json) => {
            println!(
                "threadscope {}: the core threading library is ready; the TUI is not yet.",
                env!("CARGO_PKG_VERSION")
            );
            println!("Registry snapshot of a lock with a waiter:\n{json}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("threadscope: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run_demo() -> Result<String, Box<dyn std::error::Error>> {
    let registry = Registry::new();
    let lock = Arc::new(Lock::with_registry(&registry));
    lock.set_name("config");
    lock.acquire();
    let waiter = {
        let lock = lock.clone();
        Thread::builder().name("Config-Reader-1").registry(&registry).target(move || {
            lock.acquire();
            let _ = lock.release();
        })
    };
    waiter.start()?;
    while registry.thread_record(waiter.id()).map(|r| r.state()) != Some(ThreadState::Waiting) {
        std::thread::yield_now();
    }
    let json = serde_json::to_string_pretty(&registry.snapshot())?;
    lock.release()?;
    waiter.join()?;
    Ok(json)
}
