//! A jstack-like text dump of a snapshot: one block per thread, then the
//! deadlocks. Every name goes through `DisplayName` / `sanitize`.

use crate::display::{human, sanitize};
use crate::inspect::runtime::RuntimeView;
use crate::inspect::{Origin, PrimitiveLink, Snapshot, ThreadLink, ThreadView};
use crate::kernel::describe_state;
use crate::threading::{Outcome, ThreadState, WaitKind};
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
    runtime_sources(&mut out, s);
    for t in &s.threads {
        thread_block(&mut out, t, s);
    }
    if !s.futex_groups.is_empty() {
        let _ = writeln!(out, "Threads asleep on the same futex (likely the same lock):");
        for g in &s.futex_groups {
            let names: Vec<String> = g.threads.iter().map(ThreadLink::label).collect();
            let _ = writeln!(out, "  {}: {}", g.address, names.join(", "));
        }
        out.push('\n');
    }
    for note in &s.notes {
        let _ = writeln!(out, "Note: {}", sanitize(note));
    }
    for f in &s.findings {
        let _ = writeln!(out, "Finding: {}", sanitize(&f.message));
    }
    for f in &s.naming.findings {
        let _ = writeln!(out, "Naming: {}", sanitize(&f.message));
    }
    let _ = writeln!(out, "\nFound {} deadlock(s) {}.", s.deadlocks.len(), s.deadlock_search.describe());
    for (i, d) in s.deadlocks.iter().enumerate() {
        let _ = writeln!(out, "  Deadlock {}: {}", i + 1, d.describe());
    }
    out
}

fn thread_block(out: &mut String, t: &ThreadView, s: &Snapshot) {
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
        let waited = human(w.waited);
        let _ = match w.kind {
            WaitKind::Sleep => writeln!(out, "   sleeping, waiting for {waited}"),
            WaitKind::Region => writeln!(out, "   in region {}, waiting for {waited}", sanitize(&w.name)),
            WaitKind::Join => {
                let of = w.holders.first().map_or_else(|| sanitize(&w.name).into_owned(), ThreadLink::label);
                writeln!(out, "   waiting on the end of {of}, waiting for {waited}")
            }
            WaitKind::Primitive(kind) => {
                let role = w.role.as_deref().map(|r| format!(" ({})", sanitize(r))).unwrap_or_default();
                let held_for = w.primitive.and_then(|id| s.primitive(id)).and_then(|p| p.stats.held_for);
                let held = match (w.holders.as_slice(), held_for) {
                    ([], _) => String::new(),
                    (holders, held_for) => format!(
                        ", held by {}{}",
                        holders.iter().map(ThreadLink::label).collect::<Vec<_>>().join(", "),
                        held_for.map(|d| format!(" for {}", human(d))).unwrap_or_default()
                    ),
                };
                writeln!(
                    out,
                    "   waiting on {} {}{role}{held}; waiting for {waited}",
                    kind.label(),
                    sanitize(&w.name)
                )
            }
        };
    }
    if !t.holds.is_empty() {
        let holds: Vec<String> = t.holds.iter().map(PrimitiveLink::label).collect();
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
    if let Some(runtime) = &t.runtime {
        runtime_block(out, runtime);
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

/// Where each runtime view comes from (`JVM view via attach, …`), once.
fn runtime_sources(out: &mut String, s: &Snapshot) {
    let mut said: Vec<&str> = Vec::new();
    for about in s.threads.iter().filter_map(|t| t.runtime.as_ref()?.about.as_deref()) {
        if !said.contains(&about) {
            said.push(about);
            let _ = writeln!(out, "{}\n", sanitize(about));
        }
    }
}

/// The runtime's state word and, when the snapshot kept it, the stack,
/// jstack-like (`at pkg.Class.method(File.java:12)`, `- locked <0x…>`).
fn runtime_block(out: &mut String, r: &RuntimeView) {
    if let Some(state) = &r.state {
        let _ = writeln!(out, "   {}: {}", sanitize(r.source), sanitize(state));
    }
    for frame in &r.stack {
        let at = frame.location.as_deref().map(|l| format!("({})", sanitize(l))).unwrap_or_default();
        let _ = writeln!(out, "      at {}{at}", sanitize(&frame.function));
        for note in &frame.notes {
            let _ = writeln!(out, "      - {}", sanitize(note));
        }
    }
}
