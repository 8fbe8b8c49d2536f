//! Taking in a sample: the timeline's history, the indexes the screens
//! use, and log entries for what changed since the previous one.

use super::app::App;
use super::event::{LogKind, Sample};
use super::words::{self, safe};
use crate::inspect::{Origin, Snapshot, ThreadView};
use crate::threading::ThreadState;
use std::collections::{HashMap, HashSet};

/// More lifecycle changes than this in one sample are summarised.
const MAX_LIFECYCLE_LINES: usize = 12;

impl App {
    /// Takes in a new sample.
    pub(crate) fn receive(&mut self, sample: Sample) {
        let Sample { snapshot, at, progress } = sample;
        self.now = self.now.max(at);
        self.sampled_at = Some(at);
        self.sampler_error = None;
        for t in &snapshot.threads {
            self.history.observe(t.key, t.state, at);
        }
        self.history.prune(at);
        self.log_changes(&snapshot);
        self.primitive_index = snapshot.primitives.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
        self.shared_names = shared_names(&snapshot);
        self.progress = progress.into_iter().map(|p| (p.name.clone(), p)).collect();
        self.kernel_rows = kernel_order(&snapshot);
        self.snapshot = Some(snapshot);
        self.rebuild_table();
    }

    fn log_changes(&mut self, snapshot: &Snapshot) {
        let at = self.elapsed();
        let first = self.seen.samples == 0;
        self.seen.samples += 1;
        if first {
            let [created, running, waiting, terminated] = snapshot.counts();
            let text = format!(
                "watching pid {} ({}): {} threads — {running} running, {waiting} waiting, {created} created, {terminated} terminated",
                snapshot.process.pid,
                snapshot.process.name,
                snapshot.threads.len()
            );
            self.log.push(at, LogKind::Info, &text);
        }

        let mut lines = Vec::new();
        let mut threads = HashMap::with_capacity(self.seen.threads.len());
        for t in snapshot.threads.iter().filter(|t| t.origin == Origin::Managed) {
            let name = t.name.shown().to_owned();
            if !first {
                match self.seen.threads.get(&t.key) {
                    None => lines.push(appeared(t)),
                    Some((state, old)) => {
                        if old != &name {
                            lines.push(format!("{} renamed to {name}", safe(old)));
                        }
                        if *state != t.state
                            && let Some(line) = changed(t, *state)
                        {
                            lines.push(line);
                        }
                    }
                }
            }
            threads.insert(t.key, (t.state, name));
        }
        self.seen.threads = threads;
        let extra = lines.len().saturating_sub(MAX_LIFECYCLE_LINES);
        for line in lines.iter().take(MAX_LIFECYCLE_LINES) {
            self.log.push(at, LogKind::Lifecycle, line);
        }
        if extra > 0 {
            self.log.push(at, LogKind::Lifecycle, &format!("… and {extra} more thread changes"));
        }

        let findings: HashSet<String> = snapshot
            .findings
            .iter()
            .map(|f| f.message.clone())
            .chain(snapshot.naming.findings.iter().map(|f| f.message.clone()))
            .collect();
        let deadlocks: HashSet<String> = snapshot.deadlocks.iter().map(|d| d.describe()).collect();
        let shared = shared_names(snapshot);
        let mut notes = Vec::new();
        notes.extend(sorted(findings.difference(&self.seen.findings)).cloned());
        notes.extend(sorted(self.seen.findings.difference(&findings)).map(|f| format!("cleared: {f}")));
        notes.extend(sorted(deadlocks.difference(&self.seen.deadlocks)).map(|d| format!("DEADLOCK: {d}")));
        notes.extend(
            sorted(self.seen.deadlocks.difference(&deadlocks)).map(|d| format!("deadlock broken: {d}")),
        );
        for note in notes {
            self.log.push(at, LogKind::Finding, &note);
        }
        if let Some(d) = snapshot.deadlocks.first().filter(|_| !deadlocks.is_subset(&self.seen.deadlocks)) {
            self.set_status(
                LogKind::Finding,
                format!("DEADLOCK: {}", d.describe_with(|t| words::who(t, &shared))),
            );
        }
        self.seen.findings = findings;
        self.seen.deadlocks = deadlocks;

        if snapshot.process.exited && !self.seen.exited {
            self.seen.exited = true;
            let text = format!(
                "process {} ({}) has exited; the last sample stays on screen",
                snapshot.process.pid, snapshot.process.name
            );
            self.note(LogKind::Info, text);
        }
    }
}

fn sorted<'a>(set: impl Iterator<Item = &'a String>) -> impl Iterator<Item = &'a String> {
    let mut items: Vec<&String> = set.collect();
    items.sort();
    items.into_iter()
}

fn appeared(t: &ThreadView) -> String {
    match t.state {
        ThreadState::Created => format!("{} created (not started)", t.name),
        ThreadState::Terminated => ended(t),
        _ => format!("{} started{}", t.name, if t.daemon == Some(true) { " (daemon)" } else { "" }),
    }
}

fn changed(t: &ThreadView, before: ThreadState) -> Option<String> {
    match (before, t.state) {
        (_, ThreadState::Terminated) => Some(ended(t)),
        (ThreadState::Created, _) => Some(format!("{} started", t.name)),
        _ => None,
    }
}

fn ended(t: &ThreadView) -> String {
    let how = words::outcome(t.outcome.as_ref()).unwrap_or_else(|| "ended".to_owned());
    format!("{} terminated: {how}", t.name)
}

/// The kernel screen's order: threads asleep on a shared futex together
/// (busiest group first), then the rest by TID.
fn kernel_order(snapshot: &Snapshot) -> Vec<usize> {
    let group_of: HashMap<&str, usize> =
        snapshot.futex_groups.iter().enumerate().map(|(i, g)| (g.address.as_str(), i)).collect();
    let mut rows: Vec<usize> =
        (0..snapshot.threads.len()).filter(|&i| snapshot.threads[i].kernel.is_some()).collect();
    rows.sort_by_key(|&i| {
        let k = snapshot.threads[i].kernel.as_ref();
        let group = k.and_then(|k| k.futex.as_deref()).and_then(|a| group_of.get(a).copied());
        (group.unwrap_or(usize::MAX), k.map_or(0, |k| k.tid))
    });
    rows
}

/// Names that more than one thread carries (three `python3`s, eight
/// `PaymentService-`s).
fn shared_names(snapshot: &Snapshot) -> HashSet<String> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut shared = HashSet::new();
    for t in &snapshot.threads {
        if !seen.insert(t.name.shown()) {
            shared.insert(t.name.shown().to_owned());
        }
    }
    shared
}
