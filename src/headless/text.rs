//! A jstack-like text dump of a snapshot: one block per thread, then the
//! deadlocks. Every name goes through `DisplayName` / `sanitize`.

use crate::display::sanitize;
use crate::inspect::{Origin, Snapshot, ThreadView};
use crate::kernel::describe_state;
use crate::threading::{Outcome, ThreadState};
use std::fmt::Write;

/// The dump.
pub fn render_text(s: &Snapshot) -> String {
    let mut out = String::new();
    let scenario = s.scenario.as_deref().map(|n| format!(" — scenario {}", sanitize(n))).unwrap_or_default();
    let _ = writeln!(out, "threadscope snapshot of pid {} ({}){scenario}", s.process.pid, s.process.name);
    if s.process.exited {
        let _ = writeln!(out, "the process has exited");
    }
    let [created, running, waiting, terminated] = s.counts();
    let _ = writeln!(
        out,
        "{} threads: {running} running, {waiting} waiting, {created} created, {terminated} terminated\n",
        s.threads.len()
    );
    for t in &s.threads {
        thread_block(&mut out, t);
    }
    if !s.futex_groups.is_empty() {
        let _ = writeln!(out, "Threads asleep on the same futex (likely the same lock):");
        for g in &s.futex_groups {
            let names: Vec<String> = g.threads.iter().map(|n| sanitize(n).into_owned()).collect();
            let _ = writeln!(out, "  {}: {}", g.address, names.join(", "));
        }
        out.push('\n');
    }
    for f in &s.findings {
        let _ = writeln!(out, "Finding: {}", sanitize(&f.message));
    }
    for f in &s.naming.findings {
        let _ = writeln!(out, "Naming: {}", sanitize(&f.message));
    }
    let _ = writeln!(out, "\nFound {} deadlock(s).", s.deadlocks.len());
    for (i, d) in s.deadlocks.iter().enumerate() {
        let _ = writeln!(out, "  Deadlock {}: {}", i + 1, sanitize(&d.describe()));
    }
    out
}

fn thread_block(out: &mut String, t: &ThreadView) {
    let mut head = format!("\"{}\"", t.name);
    if let Some(ident) = t.ident {
        let _ = write!(head, " ident=0x{ident:x}");
    }
    if let Some(tid) = t.native_id {
        let _ = write!(head, " tid={tid}");
    }
    if t.daemon == Some(true) {
        head.push_str(" daemon");
    }
    let state = match t.state {
        ThreadState::Created => "created",
        ThreadState::Running => "running",
        ThreadState::Waiting => "waiting",
        ThreadState::Terminated => "terminated",
    };
    let origin = match t.origin {
        Origin::Managed => "",
        Origin::Inspector => " (threadscope's own)",
        Origin::Foreign => " (foreign)",
    };
    let _ = writeln!(out, "{head} {state}{origin}");
    if let Some(w) = &t.waiting_on {
        let role = w.role.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
        let held = if w.holders.is_empty() {
            String::new()
        } else {
            format!(
                " held by {}",
                w.holders.iter().map(|h| sanitize(h).into_owned()).collect::<Vec<_>>().join(", ")
            )
        };
        let _ = writeln!(
            out,
            "   waiting on {} {}{role}{held} for {:.1} s",
            w.kind,
            sanitize(&w.name),
            w.waited.as_secs_f64()
        );
    }
    if !t.holds.is_empty() {
        let holds: Vec<String> = t.holds.iter().map(|h| sanitize(h).into_owned()).collect();
        let _ = writeln!(out, "   holds {}", holds.join(", "));
    }
    match &t.outcome {
        Some(Outcome::Panicked { message, location }) => {
            let at = location.as_deref().map(|l| format!(" at {}", sanitize(l))).unwrap_or_default();
            let _ = writeln!(out, "   raised: {}{at}", sanitize(message));
        }
        Some(Outcome::Exited) => out.push_str("   exited\n"),
        _ => {}
    }
    if let Some(k) = &t.kernel {
        let wchan = k
            .wchan
            .value()
            .cloned()
            .flatten()
            .map(|w| format!(" wchan={}", sanitize(&w)))
            .unwrap_or_default();
        let cpu = k.cpu_percent.map(|c| format!(" cpu={c:.1}%")).unwrap_or_default();
        let ctxt = match (k.voluntary_ctxt_switches.value(), k.nonvoluntary_ctxt_switches.value()) {
            (Some(v), Some(n)) => format!(" ctxt={v}/{n}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "   kernel: {} ({}) comm=\"{}\"{wchan}{cpu} utime={}ms stime={}ms{ctxt}",
            k.state,
            describe_state(k.state),
            k.comm,
            k.utime_ms,
            k.stime_ms
        );
    }
    out.push('\n');
}
