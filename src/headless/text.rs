//! A jstack-like text dump of a snapshot: one block per thread, then the
//! deadlocks. Every name goes through `DisplayName` / `sanitize`.

use crate::display::{human, sanitize};
use crate::inspect::runtime::RuntimeView;
use crate::inspect::{
    NativeSource, NativeStackView, Origin, PrimitiveLink, Snapshot, ThreadLink, ThreadView, pause_words,
};
use crate::kernel::{Field, describe_state};
use crate::threading::{Outcome, PrimitiveKind, ThreadState, WaitKind};
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
        "{}: {running} running, {waiting} waiting, {created} created, {terminated} terminated\n",
        crate::display::threads(s.threads.len())
    );
    runtime_sources(&mut out, s);
    if let Some(stacks) = &s.stacks {
        // The one place threadscope touches another process: said first.
        let _ = writeln!(out, "{}\n({})\n", stacks.sentence(), crate::inspect::STACKS_HOW);
    }
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
    locks_section(&mut out, s);
    pools_section(&mut out, s);
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
        let waited = w.waited.map(|d| format!(", waiting for {}", human(d))).unwrap_or_default();
        let _ = match w.kind {
            WaitKind::Sleep if &*w.name == "sleep" => writeln!(out, "   sleeping{waited}"),
            WaitKind::Sleep => writeln!(out, "   sleeping in {}{waited}", sanitize(&w.name)),
            WaitKind::Region => writeln!(out, "   in region {}{waited}", sanitize(&w.name)),
            WaitKind::Join => {
                let of = w.holders.first().map_or_else(|| sanitize(&w.name).into_owned(), ThreadLink::label);
                writeln!(out, "   waiting on the end of {of}{waited}")
            }
            kind if kind.is_system_call() => writeln!(out, "   waiting in {}{waited}", sanitize(&w.name)),
            kind => {
                let role = w.role.as_deref().map(|r| format!(" ({})", sanitize(r))).unwrap_or_default();
                let primitive = w.primitive.and_then(|id| s.primitive(id));
                let held_for = primitive.and_then(|p| p.stats.value()?.held_for);
                let held = match (w.holders.as_slice(), held_for) {
                    ([], _) => primitive
                        .and_then(|p| p.owner_note.as_deref())
                        .map(|note| format!(" — {}", sanitize(note)))
                        .unwrap_or_default(),
                    (holders, held_for) => format!(
                        ", held by {}{}",
                        holders.iter().map(ThreadLink::label).collect::<Vec<_>>().join(", "),
                        held_for.map(|d| format!(" for {}", human(d))).unwrap_or_default()
                    ),
                };
                let waited = waited.replacen(", ", "; ", 1);
                writeln!(out, "   waiting on {kind} {}{role}{held}{waited}", sanitize(&w.name))
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
    if let Some(native) = &t.native_stack {
        native_block(out, native);
    }
    if let Some(k) = &t.kernel {
        let wchan = k
            .wchan
            .value()
            .cloned()
            .flatten()
            .map(|w| format!(" wchan={}", sanitize(&w)))
            .unwrap_or_default();
        let cpu = match &k.cpu_percent {
            Field::Available(c) => format!(" cpu={c:.1}%"),
            Field::Unavailable(why) => format!(" cpu=unavailable ({})", why.describe()),
        };
        let ctxt = match (k.voluntary_ctxt_switches.value(), k.nonvoluntary_ctxt_switches.value()) {
            (Some(v), Some(n)) => format!(" ctxt={v}/{n}"),
            _ => String::new(),
        };
        // Since the kernel started the task: the only age another program's threads have.
        let age = k.age(s.system.uptime_ms).map(|a| format!(" age={}", human(a))).unwrap_or_default();
        let _ = writeln!(
            out,
            "   kernel: {} ({}) comm=\"{}\"{wchan}{cpu} utime={}ms stime={}ms{ctxt}{age}",
            k.state,
            describe_state(k.state),
            k.comm,
            k.utime_ms,
            k.stime_ms
        );
        if let Some(words) = &k.wait {
            let _ = writeln!(out, "   the kernel says: {}", sanitize(words));
        }
    }
    out.push('\n');
}

/// The locks seen through the kernel (another program's pthread mutexes
/// and futexes): `mutex 0x55…140 held by xfer-AB (tid 6943); waiting:
/// xfer-BA (tid 6944), late-waiter-A (tid 6945)`.
fn locks_section(out: &mut String, s: &Snapshot) {
    let kernel_locks: Vec<_> = s
        .primitives
        .iter()
        .filter(|p| matches!(p.kind, PrimitiveKind::Mutex | PrimitiveKind::Futex))
        .collect();
    if kernel_locks.is_empty() {
        return;
    }
    let _ = writeln!(out, "Locks seen through the kernel:");
    let labels = |links: &[ThreadLink]| links.iter().map(ThreadLink::label).collect::<Vec<_>>().join(", ");
    for p in kernel_locks {
        let held = match (p.holders.as_slice(), &p.owner_note) {
            ([], Some(note)) => format!(" — {}", sanitize(note)),
            ([], None) => " — not held".to_owned(),
            (holders, _) => format!(" held by {}", labels(holders)),
        };
        let waiting =
            if p.waiters.is_empty() { String::new() } else { format!("; waiting: {}", labels(&p.waiters)) };
        let _ = writeln!(out, "  {} {}{held}{waiting}", p.kind.label(), sanitize(&p.name));
    }
    out.push('\n');
}

/// Each thread pool: its workers, its futures by state, its last raise.
fn pools_section(out: &mut String, s: &Snapshot) {
    let pools: Vec<_> = s.primitives.iter().filter(|p| p.kind == PrimitiveKind::ThreadPool).collect();
    if pools.is_empty() {
        return;
    }
    let _ = writeln!(out, "Thread pools:");
    for p in pools {
        // A gauge the pool's program did not send is unavailable, not 0.
        let gauge = |name: &str| p.details.get(name).map_or_else(|| "—".to_owned(), ToString::to_string);
        if p.details.is_empty() {
            let _ = writeln!(
                out,
                "  pool {}: workers and futures not recorded by its program",
                sanitize(&p.name)
            );
        } else {
            let _ = writeln!(
                out,
                "  pool {}: {} of {} workers ({} idle); futures: {} pending, {} running, {} done, {} raised, {} cancelled",
                sanitize(&p.name),
                gauge("workers"),
                gauge("max_workers"),
                gauge("idle"),
                gauge("queue_len"),
                gauge("running"),
                gauge("done"),
                gauge("raised"),
                gauge("cancelled"),
            );
        }
        if let Some(raise) = &p.last_raise {
            let _ = writeln!(out, "    last raised: {}", raise.describe());
        }
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
    if !r.stack.is_empty() {
        let language = if r.source == "jvm" { "java" } else { r.source };
        let _ = writeln!(out, "   {} stack:", sanitize(language));
    }
    frames(out, &r.stack);
}

fn frames(out: &mut String, stack: &[crate::inspect::runtime::StackFrame]) {
    for frame in stack {
        let at = frame.location.as_deref().map(|l| format!("({})", sanitize(l))).unwrap_or_default();
        let inlined = if frame.inlined { " [inlined]" } else { "" };
        let _ = writeln!(out, "      at {}{at}{inlined}", sanitize(&frame.function));
        for note in &frame.notes {
            let _ = writeln!(out, "      - {}", sanitize(note));
        }
    }
}

/// A native stack (`native stack, thread stopped for 38 us:` and its
/// frames), or why there is none.
fn native_block(out: &mut String, n: &NativeStackView) {
    if let Some(why) = &n.unavailable {
        let _ = writeln!(out, "   native stack: unavailable ({})", sanitize(why));
        return;
    }
    let how = match (n.source, n.paused) {
        (NativeSource::Stopped, Some(d)) => format!(", thread stopped for {}", pause_words(d)),
        (NativeSource::Stopped, None) => String::new(),
        (NativeSource::WaitBegan, _) => " where this wait began (captured by the thread itself)".to_owned(),
    };
    let _ = writeln!(out, "   native stack{how}:");
    frames(out, &n.frames);
    if let Some(end) = &n.end {
        let _ = writeln!(out, "      ({})", sanitize(end));
    }
}

#[cfg(all(test, feature = "tui"))]
mod tests {
    use super::*;

    #[test]
    fn a_pool_whose_program_sent_no_gauges_says_so_rather_than_zero_workers() {
        let mut snapshot = crate::tui::fixtures::snapshot(0);
        let mut pool = snapshot.primitives[0].clone();
        (pool.kind, pool.name) = (PrimitiveKind::ThreadPool, "JobServer-Worker".to_owned());
        pool.details.clear();
        let mut counted = pool.clone();
        counted.name = "Local-Pool".to_owned();
        counted.details = [("workers", 3), ("max_workers", 4), ("idle", 1)].into_iter().collect();
        snapshot.primitives = vec![pool, counted];
        let text = render_text(&snapshot);
        assert!(
            text.contains("pool JobServer-Worker: workers and futures not recorded by its program"),
            "{text}"
        );
        assert!(text.contains("pool Local-Pool: 3 of 4 workers (1 idle); futures: — pending"), "{text}");
    }
}
