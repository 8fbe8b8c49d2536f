//! A small job server that threadscope can look inside: a pool of named
//! workers, an acceptor feeding it, and a ledger lock they all contend
//! for (an auditor holds it for seconds at a time). One line starts the
//! agent; then, from another terminal:
//!
//! ```text
//! cargo run --example job_server            # prints its pid
//! threadscope attach PID                    # full names, who holds the ledger, who waits
//! threadscope snapshot --pid PID --format text
//! ```
//!
//! `--deadlock` adds two transfer threads that lock two accounts in
//! opposite orders and stay stuck: threadscope's DEADLOCK banner names
//! them. `--for SECONDS` stops it after that long (default: until Ctrl-C).

use std::sync::Arc;
use std::time::{Duration, Instant};
use threadscope::threading::{self, Lock, Thread, ThreadPoolExecutor};

const USAGE: &str = "usage: job_server [--deadlock] [--for SECONDS]
  --deadlock     two transfer threads lock two accounts in opposite orders and stay stuck
  --for SECONDS  stop after that long (default: until Ctrl-C)";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let known = |i: usize, a: &str| {
        a == "--deadlock" || a == "--for" || (i > 0 && args[i - 1] == "--for" && a.parse::<u64>().is_ok())
    };
    if let Some((_, bad)) = args.iter().enumerate().find(|(i, a)| !known(*i, a)) {
        let help = bad == "--help" || bad == "-h";
        if help {
            println!("{USAGE}");
            return Ok(());
        }
        eprintln!("job_server: unexpected argument `{bad}`\n{USAGE}");
        std::process::exit(2);
    }
    // The one line an instrumented program needs.
    let agent = threadscope::agent::start()?;
    let run_for = args
        .iter()
        .position(|a| a == "--for")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .map(Duration::from_secs);
    println!("job server: pid {} (threadscope attach {})", std::process::id(), std::process::id());
    if let Some(socket) = agent.socket() {
        println!("agent socket: {}", socket.display());
    }

    let ledger = Arc::new(Lock::named("ledger"));
    let pool = Arc::new(
        ThreadPoolExecutor::builder().max_workers(4).thread_name_prefix("JobServer-Worker").build()?,
    );

    // Accepts a job every 20 ms; each worker computes, then books it.
    let (jobs, books) = (Arc::clone(&pool), Arc::clone(&ledger));
    Thread::builder()
        .name("JobServer-Acceptor")
        .daemon(true)
        .target(move || {
            for job in 0u64.. {
                let books = Arc::clone(&books);
                let submitted = jobs.submit(move || {
                    let result = (0..20_000u64).fold(job, |acc, n| acc.wrapping_mul(31).wrapping_add(n));
                    let _entry = books.guard();
                    threading::sleep(Duration::from_millis(5));
                    result
                });
                if submitted.is_err() {
                    return; // shutting down
                }
                threading::sleep(Duration::from_millis(20));
            }
        })
        .start()?;

    // Holds the ledger for 1.5 s every 3 s: the workers queue up behind it.
    let audit = Arc::clone(&ledger);
    Thread::builder()
        .name("JobServer-Auditor")
        .daemon(true)
        .target(move || {
            loop {
                {
                    let _reading = audit.guard();
                    threading::sleep(Duration::from_millis(1500));
                }
                threading::sleep(Duration::from_secs(3));
            }
        })
        .start()?;

    if args.iter().any(|a| a == "--deadlock") {
        let (a, b) = (Arc::new(Lock::named("account-a")), Arc::new(Lock::named("account-b")));
        for (name, first, second) in
            [("Transfer-a-to-b", Arc::clone(&a), Arc::clone(&b)), ("Transfer-b-to-a", b, a)]
        {
            Thread::builder()
                .name(name)
                .daemon(true)
                .target(move || {
                    let _first = first.guard();
                    threading::sleep(Duration::from_millis(100));
                    let _second = second.guard(); // never: the other holds it
                })
                .start()?;
        }
    }

    let started = Instant::now();
    while run_for.is_none_or(|limit| started.elapsed() < limit) {
        threading::sleep(Duration::from_millis(200));
    }
    pool.shutdown(false, true);
    agent.stop();
    Ok(())
}
