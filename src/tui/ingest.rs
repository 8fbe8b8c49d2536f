//! Taking in a sample: the timeline's history, the indexes the screens
//! use, and log entries for what changed since the previous one.

use super::app::App;
use super::event::{LogKind, Sample};
use super::words::{self, safe};
use crate::inspect::{DisplayName, Origin, Snapshot, ThreadView};
use crate::threading::ThreadState;
use rustc_hash::FxHashSet;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// More lifecycle changes than this in one sample are summarised.
const MAX_LIFECYCLE_LINES: usize = 12;

/// A runtime's view lost this close before the process exited went with
/// the exit (an agent stops answering while the program tears down): the
/// last sample with it is the one kept on screen.
const LOST_WITH_THE_EXIT: Duration = Duration::from_secs(3);

/// Whether a runtime (our registry, an agent, a JVM) described some
/// thread of `snapshot`, beyond what the kernel says.
fn runtime_known(snapshot: &Snapshot) -> bool {
    snapshot.threads.iter().any(|t| t.origin != Origin::Foreign || t.runtime.is_some())
}

impl App {
    /// Takes in a new sample.
    ///
    /// Once the process has exited, its samples hold nothing worth showing
    /// (no threads once it is reaped, only a zombie main thread before):
    /// the last sample taken while it lived stays, marked exited, with its
    /// threads, kernel rows and timeline as they were. When a runtime's
    /// view (full names, holders) went away just before the exit, the
    /// last sample that had it is the one kept.
    pub(crate) fn receive(&mut self, sample: Sample) {
        let Sample { snapshot, at, progress } = sample;
        self.now = self.now.max(at);
        self.sampler_error = None;
        if snapshot.process.exited && self.snapshot.is_some() {
            self.keep_the_last_sample(at);
            return;
        }
        for t in &snapshot.threads {
            self.history.observe(t.key, t.state, at);
        }
        self.history.prune(at);
        // Before the log: its lines name threads, with their TIDs where
        // this sample's names collide.
        self.note_shared_names(&snapshot);
        self.log_changes(&snapshot);
        self.progress = progress.into_iter().map(|p| (p.name.clone(), p)).collect();
        let before = self.sampled_at.replace(at);
        let known = runtime_known(&snapshot);
        let previous = self.show(snapshot);
        match (previous, before) {
            _ if known => self.before_runtime_lost = None,
            (Some(previous), Some(before)) if runtime_known(&previous) => {
                self.before_runtime_lost = Some((previous, before));
            }
            // Too old to stand for the exit now: not kept in memory.
            _ if self
                .before_runtime_lost
                .as_ref()
                .is_some_and(|(_, taken)| at.saturating_duration_since(*taken) > LOST_WITH_THE_EXIT) =>
            {
                self.before_runtime_lost = None;
            }
            _ => {}
        }
    }

    /// Puts `snapshot` on screen with the indexes the screens use; gives
    /// back the one it replaces.
    fn show(&mut self, snapshot: Snapshot) -> Option<Snapshot> {
        self.note_shared_names(&snapshot);
        self.primitive_index = snapshot.primitives.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
        self.column_needs = super::columns::Needs::of(&snapshot);
        self.state_counts = snapshot.counts();
        self.agent_about = snapshot
            .threads
            .iter()
            .find_map(|t| t.runtime.as_ref().filter(|r| r.source == crate::inspect::AGENT)?.about.clone());
        self.kernel_rows = kernel_order(&snapshot);
        let previous = self.snapshot.replace(snapshot);
        self.rebuild_table();
        previous
    }

    /// The names more than one of `snapshot`'s threads carry, worked out
    /// again only when a name changed.
    fn note_shared_names(&mut self, snapshot: &Snapshot) {
        if !names_as(&self.shared_names_from, snapshot) {
            self.shared_names = shared_names(snapshot);
            self.shared_names_from = snapshot.threads.iter().map(|t| t.name.clone()).collect();
        }
    }

    /// The process has exited at `at`: the sample on screen stays, marked
    /// exited — or the last one with a runtime's view, if that view was
    /// lost only as the process went.
    fn keep_the_last_sample(&mut self, at: Instant) {
        if let Some((kept, taken)) = self.before_runtime_lost.take()
            && at.saturating_duration_since(taken) <= LOST_WITH_THE_EXIT
        {
            let ago = self.sampled_at.map_or(Duration::ZERO, |last| last.saturating_duration_since(taken));
            self.show(kept);
            self.sampled_at = Some(taken);
            self.note(
                LogKind::Info,
                format!(
                    "the program's runtime view went away with its exit: the screen shows the last sample \
                     that had it, {} before the last one",
                    words::human(ago)
                ),
            );
        }
        let Some(last) = &mut self.snapshot else { return };
        last.process.exited = true;
        let (pid, name) = (last.process.pid, last.process.name.to_string());
        self.note_exit(pid, &name);
    }

    fn log_changes(&mut self, snapshot: &Snapshot) {
        let at = self.elapsed();
        let first = self.seen.samples == 0;
        self.seen.samples += 1;
        if first {
            let [created, running, waiting, terminated] = snapshot.counts();
            let text = format!(
                "watching pid {} ({}): {} — {running} running, {waiting} waiting, {created} created, {terminated} terminated",
                snapshot.process.pid,
                snapshot.process.name,
                crate::display::threads(snapshot.threads.len())
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

        // A finding is one line when it appears and one when it clears: its
        // identity is what it is and whom it is about, not its figures
        // ("held for 17.0 s" grows every sample). A naming finding is about
        // names: a 21st `pool-worker` grows the duplicate, it is not a new one.
        let findings: BTreeMap<String, String> = snapshot
            .findings
            .iter()
            .map(|f| (format!("{:?}:{}", f.kind, f.subject), f.message.clone()))
            .chain(snapshot.naming.findings.iter().map(|f| (naming_identity(f), f.message.clone())))
            .collect();
        let deadlocks: HashSet<String> = snapshot.deadlocks.iter().map(|d| d.describe()).collect();
        let mut notes = Vec::new();
        notes.extend(
            findings.iter().filter(|(id, _)| !self.seen.findings.contains_key(*id)).map(|(_, m)| m.clone()),
        );
        notes.extend(
            (self.seen.findings.iter())
                .filter(|(id, _)| !findings.contains_key(*id))
                .map(|(_, m)| format!("cleared: {m}")),
        );
        notes.extend(sorted(deadlocks.difference(&self.seen.deadlocks)).map(|d| format!("DEADLOCK: {d}")));
        notes.extend(
            sorted(self.seen.deadlocks.difference(&deadlocks)).map(|d| format!("deadlock broken: {d}")),
        );
        for note in notes {
            self.log.push(at, LogKind::Finding, &note);
        }
        if let Some(d) = snapshot.deadlocks.first().filter(|_| !deadlocks.is_subset(&self.seen.deadlocks)) {
            let text = format!("DEADLOCK: {}", d.describe_with(|t| words::who(t, &self.shared_names)));
            self.set_status(LogKind::Finding, text);
        }
        self.seen.findings = findings;
        self.seen.deadlocks = deadlocks;

        for note in &snapshot.notes {
            if self.seen.notes.insert(note.clone()) {
                self.note(LogKind::Info, note.clone());
            }
        }
        let in_turn = snapshot.process.checked_in_turn;
        if in_turn != self.seen.checked_in_turn {
            self.seen.checked_in_turn = in_turn;
            let text = match in_turn {
                Some(every) => format!(
                    "{} threads: quiet ones are checked in turn, each at least every {every} samples; the rows \
                     on screen, the main thread, running and new threads every sample, and all of them after \
                     the process used CPU time the checked ones do not account for",
                    snapshot.threads.len()
                ),
                None => "every thread is read on every sample again".to_owned(),
            };
            self.log.push(at, LogKind::Info, &text);
        }

        if snapshot.process.exited {
            self.note_exit(snapshot.process.pid, &snapshot.process.name.to_string());
        }
    }

    /// Says once that the process has exited.
    fn note_exit(&mut self, pid: u32, name: &str) {
        if !self.seen.exited {
            self.seen.exited = true;
            self.note(
                LogKind::Info,
                format!("process {pid} ({name}) has exited; the last sample stays on screen"),
            );
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
    // Each row's place worked out once, then sorted (mostly in order already).
    let mut rows: Vec<(usize, u32, usize)> = (snapshot.threads.iter().enumerate())
        .filter_map(|(i, t)| {
            let k = t.kernel.as_ref()?;
            let address = k.futex.value().and_then(Option::as_deref);
            let group = address.filter(|_| !group_of.is_empty()).and_then(|a| group_of.get(a).copied());
            Some((group.unwrap_or(usize::MAX), k.tid, i))
        })
        .collect();
    rows.sort_unstable();
    rows.into_iter().map(|(_, _, i)| i).collect()
}

/// The distinct names among `threads`, sorted, joined by NULs.
/// What a naming finding is about, whatever its figures: a finding that
/// counts threads (6 named only in their runtime, then 4) is the same one
/// while its words past the count are; one about names is its names.
fn naming_identity(f: &crate::inspect::NamingFinding) -> String {
    use crate::inspect::NamingFindingKind as Kind;
    let kind = f.kind;
    match kind {
        // One a sample, its example the first of its threads.
        Kind::Truncated | Kind::DefaultName => format!("{kind:?}"),
        // Two of the kind can stand side by side (named only in the runtime,
        // unnamed); a collision is its comm, said after the count.
        Kind::Unnamed | Kind::CollideWhenTruncated => {
            let words = f.message.trim_start_matches(|c: char| c.is_ascii_digit());
            format!("{kind:?}:{words}")
        }
        _ => format!("{kind:?}:{}", distinct_names(&f.threads)),
    }
}

fn distinct_names(threads: &[crate::inspect::ThreadLink]) -> String {
    let names: std::collections::BTreeSet<&str> = threads.iter().map(|t| t.name.as_str()).collect();
    names.into_iter().collect::<Vec<_>>().join("\u{0}")
}

/// Whether `snapshot`'s threads carry `names`, in that order.
fn names_as(names: &[DisplayName], snapshot: &Snapshot) -> bool {
    names.len() == snapshot.threads.len() && names.iter().zip(&snapshot.threads).all(|(n, t)| *n == t.name)
}

/// Names that more than one thread carries (three `python3`s, eight
/// `PaymentService-`s).
fn shared_names(snapshot: &Snapshot) -> HashSet<String> {
    let mut seen: FxHashSet<&str> = FxHashSet::default();
    seen.reserve(snapshot.threads.len());
    let mut shared = HashSet::new();
    for t in &snapshot.threads {
        if !seen.insert(t.name.shown()) {
            shared.insert(t.name.shown().to_owned());
        }
    }
    shared
}

#[cfg(test)]
mod tests {
    use super::super::action::Tab;
    use super::super::event::Event;
    use super::super::{fixtures, tests::screen_text};
    use super::*;
    use std::time::{Duration, Instant};

    fn attached(start: Instant) -> App {
        fixtures::attached(4242, start)
    }

    fn sample(snapshot: Snapshot, at: Instant) -> Event {
        Event::Sample(Box::new(Sample { snapshot, at, progress: Vec::new() }))
    }

    /// What the sampler sends once the process is reaped.
    fn reaped() -> Snapshot {
        let mut gone = fixtures::snapshot(0);
        gone.process.exited = true;
        gone.threads.clear();
        gone.primitives.clear();
        gone.futex_groups.clear();
        gone.deadlocks.clear();
        gone.findings.clear();
        gone.naming.findings.clear();
        gone
    }

    #[test]
    fn the_last_sample_stays_on_screen_marked_exited() {
        let start = Instant::now();
        let mut app = attached(start);
        app.handle_event(sample(fixtures::snapshot(0), start));
        let threads = app.snapshot().unwrap().threads.len();
        let rows = app.kernel_rows.clone();
        assert!(threads > 0 && !rows.is_empty());
        let log_before = app.log().entries.len();

        for later in 1..=3 {
            app.handle_event(sample(reaped(), start + Duration::from_secs(later)));
        }
        let kept = app.snapshot().unwrap();
        assert!(kept.process.exited);
        assert_eq!(kept.threads.len(), threads, "the threads are the last ones seen alive");
        assert_eq!(app.kernel_rows, rows);
        assert_eq!(app.sampled_at, Some(start), "the timeline ends where the process did");
        let new: Vec<&str> = app.log().entries.iter().skip(log_before).map(|e| e.text.as_str()).collect();
        assert_eq!(new, ["process 4242 (threadscope) has exited; the last sample stays on screen"]);

        let screen = screen_text(&app, 120, 40);
        assert!(screen.contains("PROCESS EXITED"), "{screen}");
        assert!(screen.contains("Philosopher-0"), "threads still listed:\n{screen}");
        app.update(super::super::action::Action::ShowTab(Tab::Kernel));
        let kernel = screen_text(&app, 120, 40);
        assert!(kernel.contains("Philosopher-0"), "kernel rows still listed:\n{kernel}");
    }

    /// `snapshot` as the kernel alone sees it: no runtime view, names cut
    /// (shorter than the kernel's 15 bytes, so every fixture name is cut).
    fn kernel_only(mut snapshot: Snapshot) -> Snapshot {
        for t in &mut snapshot.threads {
            t.origin = Origin::Foreign;
            t.runtime = None;
            let cut: String = t.name.shown().chars().take(8).collect();
            t.name = crate::inspect::DisplayName::from_text(&cut);
        }
        snapshot
    }

    /// A finding that counts threads keeps its one line while the count
    /// moves (a Python program's threads come and go), and clears once.
    #[test]
    fn a_naming_finding_whose_count_changes_is_not_announced_again() {
        use crate::inspect::{NamingFinding, NamingFindingKind};
        let start = Instant::now();
        let mut app = attached(start);
        let runtime_only = |snapshot: &Snapshot, n: usize| NamingFinding {
            kind: NamingFindingKind::Unnamed,
            message: format!(
                "{n} thread(s) are named only in their runtime: the kernel shows each as `python3`, so top, ps and perf cannot tell them apart"
            ),
            threads: snapshot.threads.iter().take(n).map(|t| t.link()).collect(),
        };
        let findings = |app: &App| {
            app.log.entries.iter().filter(|e| e.text.contains("named only in their runtime")).count()
        };
        for (i, n) in [6, 4, 5].into_iter().enumerate() {
            let mut snapshot = fixtures::snapshot(0);
            snapshot.naming.findings = vec![runtime_only(&snapshot, n)];
            app.handle_event(sample(snapshot, start + Duration::from_secs(i as u64)));
        }
        assert_eq!(findings(&app), 1, "one line while it stands: {:?}", app.log.entries);
        let mut gone = fixtures::snapshot(0);
        gone.naming.findings.clear();
        app.handle_event(sample(gone, start + Duration::from_secs(3)));
        assert_eq!(findings(&app), 2, "and one when it clears");
        assert!(app.log.entries.iter().any(|e| e.text.starts_with("cleared: 5 thread(s)")));
    }

    #[test]
    fn shared_names_follow_a_rename_into_and_out_of_a_shared_name() {
        let start = Instant::now();
        let mut app = attached(start);
        let first = fixtures::snapshot(0);
        let (a, b) = (first.threads[0].name.clone(), first.threads[1].name.clone());
        assert_ne!(a, b);
        app.handle_event(sample(first.clone(), start));
        assert!(!app.shared_names.contains(a.shown()));
        let mut renamed = first.clone();
        renamed.threads[1].name = crate::inspect::DisplayName::from_text(a.shown());
        app.handle_event(sample(renamed, start + Duration::from_secs(1)));
        assert!(app.shared_names.contains(a.shown()), "two threads now carry {a}");
        app.handle_event(sample(first, start + Duration::from_secs(2)));
        assert!(!app.shared_names.contains(a.shown()), "{b} took its own name back");
    }

    #[test]
    fn a_runtime_view_lost_with_the_exit_leaves_the_last_sample_that_had_it() {
        let start = Instant::now();
        let mut app = attached(start);
        app.handle_event(sample(fixtures::snapshot(0), start));
        let second = start + Duration::from_secs(1);
        app.handle_event(sample(kernel_only(fixtures::snapshot(0)), second));
        assert!(
            !runtime_known(app.snapshot().unwrap()),
            "the agent-less sample is shown while the process lives"
        );
        app.handle_event(sample(reaped(), start + Duration::from_secs(2)));
        let kept = app.snapshot().unwrap();
        assert!(kept.process.exited && runtime_known(kept), "the last sample with the runtime's view");
        assert_eq!(app.sampled_at, Some(start));
        let log: Vec<&str> = app.log().entries.iter().map(|e| e.text.as_str()).collect();
        assert!(
            log.iter().any(|t| t.contains("went away with its exit") && t.contains("1.0 s before")),
            "{log:?}"
        );
        let screen = screen_text(&app, 120, 40);
        assert!(screen.contains("Philosopher-0") && screen.contains("PROCESS EXITED"), "{screen}");
    }

    #[test]
    fn a_runtime_view_lost_long_before_the_exit_is_not_brought_back() {
        let start = Instant::now();
        let mut app = attached(start);
        app.handle_event(sample(fixtures::snapshot(0), start));
        for later in 1..=10 {
            app.handle_event(sample(kernel_only(fixtures::snapshot(0)), start + Duration::from_secs(later)));
        }
        app.handle_event(sample(reaped(), start + Duration::from_secs(11)));
        let kept = app.snapshot().unwrap();
        assert!(kept.process.exited && !runtime_known(kept), "the sample of the last moment stays");
        assert_eq!(app.sampled_at, Some(start + Duration::from_secs(10)));
    }

    #[test]
    fn checking_in_turn_is_logged_once_and_its_end_too() {
        let start = Instant::now();
        let mut app = attached(start);
        let in_turn = |every: Option<u32>| {
            let mut snapshot = fixtures::snapshot(0);
            snapshot.process.checked_in_turn = every;
            snapshot
        };
        for (i, every) in [None, Some(4), Some(4), None].into_iter().enumerate() {
            app.handle_event(sample(in_turn(every), start + Duration::from_secs(i as u64)));
        }
        let said: Vec<&str> = app
            .log()
            .entries
            .iter()
            .map(|e| e.text.as_str())
            .filter(|t| t.contains("in turn") || t.contains("every sample again"))
            .collect();
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(said[0].ends_with("threads: quiet ones are checked in turn, each at least every 4 samples; the rows on screen, the main thread, running and new threads every sample, and all of them after the process used CPU time the checked ones do not account for"), "{said:?}");
        assert_eq!(said[1], "every thread is read on every sample again");
    }

    #[test]
    fn a_zombie_main_thread_does_not_replace_the_last_sample() {
        let start = Instant::now();
        let mut app = attached(start);
        app.handle_event(sample(fixtures::snapshot(0), start));
        let mut zombie = reaped();
        zombie.threads.push(fixtures::snapshot(0).threads.remove(0));
        app.handle_event(sample(zombie, start + Duration::from_secs(1)));
        assert_eq!(app.snapshot().unwrap().threads.len(), fixtures::snapshot(0).threads.len());
        assert!(app.snapshot().unwrap().process.exited);
    }

    #[test]
    fn a_process_already_gone_at_the_first_sample_shows_that_sample() {
        let start = Instant::now();
        let mut app = attached(start);
        app.handle_event(sample(reaped(), start));
        assert!(app.snapshot().unwrap().process.exited);
        assert!(app.log().entries.iter().any(|e| e.text.contains("has exited")));
    }
}
