//! [`Inspector`]: samples the kernel and the registry, joins them by
//! `native_id` (the pure `join` module) and merges runtime views into a
//! [`Snapshot`]; keeps what needs more than one sample (CPU rates,
//! debounced findings). The timeline's history is kept by whoever shows
//! it, from the snapshots.

use super::agent_source::AgentSource;
use super::convoy::ConvoyWatch;
use super::join::{self, Earlier, Links, primitive_views};
use super::jvm_source::{JvmSource, RuntimeOptions};
use super::kernel_source::KernelSource;
use super::runtime::{self, RuntimeSource};
use super::snapshot::*;
use super::{Candidate, Debouncer, DisplayName, LintKind, NamedThread, confirmed_deadlocks, naming};
use super::{DeadlockSearch, ThreadLink};
use crate::kernel::{KernelSample, SampleOptions, Sampler, SamplerError};
use crate::threading::{PrimitiveKind, Registry, RegistrySnapshot, ThreadState, WaitKind};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

static INSPECTOR_TIDS: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// Marks the calling thread as threadscope's own (the UI loop, the sampler),
/// so snapshots show it with origin `inspector` rather than as workload.
pub fn mark_inspector_thread() {
    mark_inspector_tid(crate::threading::get_native_id());
}

/// Marks the calling thread as threadscope's own until the returned guard
/// drops: for short-lived helpers, whose TID the kernel may give a
/// workload thread once they end.
#[must_use = "the thread is unmarked when the guard drops"]
pub fn mark_inspector_thread_scoped() -> InspectorThreadGuard {
    let tid = crate::threading::get_native_id();
    mark_inspector_tid(tid);
    InspectorThreadGuard(tid)
}

/// Unmarks a short-lived helper thread on drop (see [`mark_inspector_thread_scoped`]).
#[derive(Debug)]
pub struct InspectorThreadGuard(u32);

impl Drop for InspectorThreadGuard {
    fn drop(&mut self) {
        INSPECTOR_TIDS.lock().remove(&self.0);
    }
}

/// Marks thread `tid` of this process as threadscope's own: for helper
/// threads that a library starts on threadscope's behalf (the terminal
/// input thread), which cannot mark themselves.
pub fn mark_inspector_tid(tid: u32) {
    INSPECTOR_TIDS.lock().insert(tid);
}

/// A lock held this long with waiters is a finding.
const LOCK_HELD_TOO_LONG: Duration = Duration::from_secs(1);
/// Every how many samples the costly per-thread files are read.
const DETAIL_EVERY: u32 = 4;
/// From this many threads on, a thread's `stat` is re-read only when its
/// `schedstat` shows it ran (see `SampleOptions::stat_every`). Below it,
/// every `stat` is read every time: cheap, and never stale (a comm renamed
/// by another thread shows at once, so the naming findings stay true).
const GATE_FROM_THREADS: usize = 1000;
/// From `GATE_FROM_THREADS` threads on, live views check about this many
/// quiet threads a sample, in turn (see `SampleOptions::check_every`).
const CHECKS_PER_SAMPLE: usize = 2500;

/// Turns samples into snapshots.
pub struct Inspector {
    registry: Option<Registry>,
    sampler: Sampler,
    scenario: Option<String>,
    earlier: Earlier,
    checks_in_turn: bool,
    debouncer: Debouncer,
    convoys: ConvoyWatch,
    naming: NamingCache,
    started: Instant,
    runtimes: Vec<Box<dyn RuntimeSource>>,
    /// Merged after `runtimes`, so a runtime's own words (a JVM's monitor)
    /// come before the kernel's futex.
    kernel_waits: Option<KernelSource>,
}

impl Inspector {
    /// Inspects this process, joining `registry` with the kernel, and the
    /// kernel's view of waits and pthread mutexes for the threads the
    /// library does not describe.
    ///
    /// # Errors
    ///
    /// If `/proc/self` cannot be read.
    pub fn own(registry: &Registry) -> Result<Self, SamplerError> {
        // Every hold's age true to within the clock's period, fast-path
        // holds included (they stamp the clock's tick, not the time).
        crate::threading::start_hold_clock();
        Self::build(std::process::id(), Some(registry.clone()))
    }

    /// Inspects another process, read-only: the kernel's view, with every
    /// thread's wait in words and its pthread mutex owners
    /// ([`KernelSource`]), and the runtime views it has (a JVM's, asked
    /// every 5 s): [`Inspector::pid_with`] with the defaults.
    ///
    /// # Errors
    ///
    /// `NoSuchProcess` or `PermissionDenied` for a pid that does not exist
    /// or may not be read.
    pub fn pid(pid: u32) -> Result<Self, SamplerError> {
        Self::pid_with(pid, &RuntimeOptions::default())
    }

    /// Inspects another process, read-only: the kernel's view, and when
    /// `runtimes.ask` the runtime's own: a program with threadscope's
    /// agent (docs/agent-protocol.md) is asked for its library's view at
    /// every sample, a HotSpot JVM for thread dumps through its attach
    /// mechanism, as jstack does.
    ///
    /// # Errors
    ///
    /// As [`Inspector::pid`].
    pub fn pid_with(pid: u32, runtimes: &RuntimeOptions) -> Result<Self, SamplerError> {
        let mut inspector = Self::build(pid, None)?;
        if runtimes.ask
            && let Some(jvm) = JvmSource::for_pid(pid, runtimes.jvm.clone())
        {
            // First: where the JVM names a monitor, that is a better wait
            // than the futex the kernel sees the same thread asleep on.
            inspector.runtimes.insert(0, Box::new(jvm));
        }
        if runtimes.ask {
            // The program's own library knows best of all. Asked from the
            // first sample on where a socket exists, looked for at every
            // sample where none does yet (a program just started).
            let agent = AgentSource::for_pid(pid).unwrap_or_else(|| AgentSource::new(pid));
            inspector.runtimes.insert(0, Box::new(agent));
        }
        Ok(inspector)
    }

    fn build(pid: u32, registry: Option<Registry>) -> Result<Self, SamplerError> {
        // Gated from the first sample (a full one, so nothing is stale),
        // which then takes every thread's `schedstat` baseline: the second
        // sample already skips the details of threads that have not run.
        // A small process is ungated after it (see `gate_stat_reads`).
        let options = SampleOptions { detail_every: DETAIL_EVERY, ..SampleOptions::default() };
        Ok(Self {
            registry,
            sampler: Sampler::with_options(pid, options)?,
            scenario: None,
            earlier: Earlier::default(),
            checks_in_turn: true,
            debouncer: Debouncer::default(),
            convoys: ConvoyWatch::default(),
            naming: NamingCache::default(),
            started: Instant::now(),
            runtimes: Vec::new(),
            kernel_waits: Some(KernelSource::new(pid)),
        })
    }

    /// Reads the costly per-thread files (status, wchan, syscall) on every
    /// `n`-th refresh (1: always; the default is 4, for live views).
    pub fn set_detail_every(&mut self, n: u32) {
        let mut options = self.sampler.options().clone();
        options.detail_every = n;
        self.sampler.set_options(options);
    }

    /// Threads a view shows (its visible rows, the selected one): checked
    /// on every refresh, whatever the turn (their details as for any
    /// thread: a quiet one's stay as read, a running one's every few
    /// samples).
    pub fn watch(&mut self, tids: BTreeSet<u32>) {
        let mut options = self.sampler.options().clone();
        options.check_tids = tids;
        self.sampler.set_options(options);
    }

    /// Checks the quiet threads of a process of thousands in turn (true,
    /// the default, for live views: about 2,500 a sample, every thread
    /// within a few samples, see `SampleOptions::check_every`) or every
    /// thread on every refresh (false: a dump must be of one moment).
    pub fn set_checks_in_turn(&mut self, in_turn: bool) {
        self.checks_in_turn = in_turn;
    }

    /// Adds a runtime view (the kernel's view of another program's locks, a
    /// JVM): its facts are merged into every snapshot, by TID.
    pub fn add_runtime(&mut self, source: Box<dyn RuntimeSource>) {
        self.runtimes.push(source);
    }

    /// Names the scenario shown in snapshots.
    pub fn set_scenario(&mut self, name: Option<String>) {
        self.scenario = name;
    }

    /// Samples now.
    ///
    /// # Errors
    ///
    /// Only if the process could not be read at all (a process that has
    /// exited gives a snapshot saying so).
    pub fn refresh(&mut self) -> Result<Snapshot, SamplerError> {
        // The kernel first, then the registry: every task the sample saw
        // that is ours already has its record.
        let kernel = self.sampler.sample()?;
        let every = self.sampler.options().check_every;
        let checked_in_turn = Some(every).filter(|&every| every > 1);
        let library = self.library_after(&kernel);
        self.gate_stat_reads(kernel.threads.len());
        let now = kernel.taken_at;
        let mut inspector_tids = INSPECTOR_TIDS.lock().clone();
        inspector_tids.extend(crate::threading::hold_clock_tid());
        let mut threads = join::join(library.as_ref(), &kernel, &inspector_tids, &self.earlier);
        self.earlier.remember(&kernel);
        let links = Links::of(library.as_ref());

        let mut primitives = library.as_ref().map(|l| primitive_views(l, &links)).unwrap_or_default();
        // Confirmed against a re-read of the records on each cycle: a
        // snapshot's records are read at different moments (see `confirm`).
        let mut deadlocks = match (&self.registry, &library) {
            (Some(registry), Some(library)) => confirmed_deadlocks(registry, library),
            _ => Vec::new(),
        };
        let mut deadlock_search = library.as_ref().map_or_else(DeadlockSearch::kernel_only, |l| {
            DeadlockSearch::library(l.primitives.len(), l.threads.len())
        });
        let mut notes = Vec::new();
        let kernel_waits = self.kernel_waits.as_mut().map(|k| k as &mut dyn RuntimeSource);
        for source in self.runtimes.iter_mut().map(|s| &mut **s as &mut dyn RuntimeSource).chain(kernel_waits)
        {
            let Some(mut facts) = source.facts(&kernel) else { continue };
            deadlocks.extend(runtime::merge(&facts, &mut threads, &mut primitives));
            if let Some(covers) = facts.covers.take() {
                deadlock_search.add_runtime_cover(covers);
            }
            notes.append(&mut facts.notes);
            source.recycle(facts);
        }
        let mut candidates = lint_candidates(&threads, library.as_ref());
        candidates
            .extend(library.as_ref().map(|l| self.convoys.candidates(&l.primitives)).unwrap_or_default());
        let findings = self.debouncer.update(now, candidates);
        let naming = self.naming.of(&threads, kernel.pid, &kernel.process.name);
        Ok(Snapshot {
            schema: SCHEMA,
            taken_at_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            process: ProcessView {
                checked_in_turn,
                pid: kernel.pid,
                name: DisplayName::from_text(&kernel.process.name),
                own: self.registry.is_some(),
                exited: kernel.exited,
                cpu_percent: kernel.process.cpu_percent.clone(),
                rss_bytes: kernel.process.rss_bytes,
                watched_for: now.saturating_duration_since(self.started),
            },
            system: SystemView {
                cpu_percent: kernel.system.cpu_percent.clone(),
                memory_used_bytes: kernel.system.memory_used_bytes,
                memory_total_bytes: kernel.system.memory_total_bytes,
                load_average: kernel.system.load_average,
                uptime_ms: kernel.system.uptime.map(|u| u.as_millis() as u64),
            },
            scenario: self.scenario.clone(),
            futex_groups: futex_groups(&threads),
            threads,
            primitives,
            deadlocks,
            deadlock_search,
            notes,
            naming,
            findings,
            stacks: None,
        })
    }

    /// The registry's snapshot, taken after `kernel`. A thread that has
    /// started but not yet published its TID (it does so first thing) has a
    /// kernel task the join could not claim, and would be counted twice —
    /// once as its record, once as a "foreign" task named after the binary.
    /// So while some are starting, give them a moment (at most 20 ms) and
    /// look again; `join` then takes the tasks of those still starting for
    /// theirs.
    fn library_after(&self, kernel: &KernelSample) -> Option<RegistrySnapshot> {
        let registry = self.registry.as_ref()?;
        let mut library = registry.snapshot();
        let deadline = Instant::now() + Duration::from_millis(20);
        while join::starting(&library) > 0 && !kernel.threads.is_empty() && Instant::now() < deadline {
            std::thread::yield_now();
            library = registry.snapshot();
        }
        Some(library)
    }

    /// Gates `stat` reads on `schedstat`, and checks quiet threads in turn,
    /// only for processes big enough to need it.
    fn gate_stat_reads(&mut self, threads: usize) {
        let big = threads >= GATE_FROM_THREADS;
        let stat_every = if big { SampleOptions::default().stat_every } else { 1 };
        let check_every = if big && self.checks_in_turn { threads.div_ceil(CHECKS_PER_SAMPLE) } else { 1 };
        let check_every = u32::try_from(check_every).unwrap_or(u32::MAX);
        let options = self.sampler.options();
        if options.stat_every != stat_every || options.check_every != check_every {
            let mut options = options.clone();
            options.stat_every = stat_every;
            options.check_every = check_every;
            self.sampler.set_options(options);
        }
    }
}

/// True when a runtime gave the thread the name it shows: the library or
/// an agent (its threads are `managed`), or a runtime view of its own (a
/// JVM's dump) — the kernel's view names no thread. Such a name is whole,
/// so naming analysis knows whether the kernel cut it; a name only the
/// kernel gave that fills its 15 bytes may or may not have been cut.
fn named_by_runtime(t: &ThreadView) -> bool {
    t.origin == Origin::Managed
        || t.runtime.as_ref().is_some_and(|r| r.source != runtime::KERNEL)
        || t.kernel.as_ref().is_some_and(|k| k.comm.raw() != t.name.raw())
}

/// This sample's behaviour conditions (the debouncer decides when to show them).
fn lint_candidates(threads: &[ThreadView], library: Option<&RegistrySnapshot>) -> Vec<Candidate> {
    let mut out = Vec::new();
    // Managed threads are this process's library's, or an agent's in
    // another program (a Python program knows no "library").
    let seen = if library.is_some() { "in the library" } else { "as its agent reports it" };
    let outside = if library.is_some() { "the library" } else { "what its agent tracks" };
    for t in threads.iter().filter(|t| t.origin == Origin::Managed) {
        let Some(k) = &t.kernel else { continue };
        match (t.state, k.state) {
            (ThreadState::Running, 'S' | 'D') => out.push(Candidate {
                kind: LintKind::BlockedOutsideLibrary,
                subject: t.key,
                // No wchan here: it is read only every few samples, and the
                // text must not flip between samples.
                message: format!(
                    "{} is Running {seen} but asleep in the kernel ({}): blocked outside {outside}",
                    t.name, k.state
                ),
            }),
            (ThreadState::Waiting, 'R')
                if t.waiting_on.as_ref().is_some_and(|w| w.kind != WaitKind::Sleep) =>
            {
                out.push(Candidate {
                    kind: LintKind::Spinning,
                    subject: t.key,
                    message: format!("{} is Waiting {seen} but running in the kernel: it spins", t.name),
                })
            }
            _ => {}
        }
    }
    for p in library.into_iter().flat_map(|l| &l.primitives) {
        let held_long = p.stats.held_for.is_some_and(|d| d >= LOCK_HELD_TOO_LONG);
        if matches!(p.kind, PrimitiveKind::Lock | PrimitiveKind::RLock) && held_long && !p.waiters.is_empty()
        {
            out.push(Candidate {
                kind: LintKind::LockHeldWithWaiters,
                subject: p.id,
                message: format!(
                    "{} {} held by {} for {:.1} s with {} waiting",
                    p.kind.label(),
                    crate::display::sanitize(&p.name),
                    p.holders.first().map_or("?".into(), |h| crate::display::sanitize(&h.name).into_owned()),
                    p.stats.held_for.unwrap_or_default().as_secs_f64(),
                    p.waiters.len()
                ),
            });
        }
    }
    out
}

/// The naming view of the last sample, given out again while no name,
/// comm or thread has changed: patterns and findings over 10,000 names
/// are worth skipping when nothing they are worked out from moved. The
/// threads they were worked out from are kept and compared whole (no hash
/// of them, which a name crafted to collide could fool).
#[derive(Default)]
struct NamingCache {
    last: Option<(String, Vec<NamedThread>, NamingView)>,
}

/// Whether `t` gives the naming analysis what `named` gave it, compared
/// without copying a name.
fn names_as(named: &NamedThread, t: &ThreadView) -> bool {
    named.thread.key == t.key
        && named.thread.tid == t.native_id
        && named.name.raw() == t.name.raw()
        && named.full == named_by_runtime(t)
        && named.comm.as_ref().map(DisplayName::raw) == t.kernel.as_ref().map(|k| k.comm.raw())
}

impl NamingCache {
    fn of(&mut self, threads: &[ThreadView], pid: u32, process: &str) -> NamingView {
        let named =
            || threads.iter().filter(|t| t.origin != Origin::Inspector && t.state != ThreadState::Terminated);
        if let Some((last_process, from, view)) = &self.last
            && last_process == process
        {
            let mut from = from.iter();
            if named().all(|t| from.next().is_some_and(|was| names_as(was, t))) && from.next().is_none() {
                return view.clone();
            }
        }
        let named: Vec<NamedThread> = named()
            .map(|t| NamedThread {
                thread: t.link(),
                name: t.name.clone(),
                full: named_by_runtime(t),
                comm: t.kernel.as_ref().map(|k| k.comm.clone()),
                main: t.native_id == Some(pid),
            })
            .collect();
        let view =
            NamingView { patterns: naming::patterns(&named), findings: naming::findings(&named, process) };
        self.last = Some((process.to_owned(), named, view.clone()));
        view
    }
}

/// Threads asleep in futex() grouped by address (two or more per group).
/// Counted first, linked for the groups only: 10,000 threads each parked
/// on a futex of its own are no group, and cost no link.
fn futex_groups(threads: &[ThreadView]) -> Vec<FutexGroup> {
    fn futex(t: &ThreadView) -> Option<&str> {
        t.kernel.as_ref()?.futex.value()?.as_deref()
    }
    let mut sleepers: FxHashMap<&str, u32> = FxHashMap::default();
    for address in threads.iter().filter_map(futex) {
        *sleepers.entry(address).or_default() += 1;
    }
    let mut groups: BTreeMap<&str, Vec<ThreadLink>> = BTreeMap::new();
    for t in threads {
        if let Some(address) = futex(t).filter(|address| sleepers.get(address).is_some_and(|&n| n > 1)) {
            groups.entry(address).or_default().push(t.link());
        }
    }
    groups.into_iter().map(|(address, threads)| FutexGroup { address: address.to_owned(), threads }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_a_runtimes_whole_name_only_where_a_runtime_gave_it() {
        let mut t = crate::record::tests::any_thread();
        let comm = DisplayName::from_text("java");
        if let Some(k) = t.kernel.as_mut() {
            k.comm = comm.clone();
        }
        // Only the kernel's name, and only the kernel's view beside it.
        (t.origin, t.ident, t.name) = (Origin::Foreign, None, comm.clone());
        assert!(!named_by_runtime(&t));
        // A JVM's dump names it `main`; or names it what the comm says.
        if let Some(r) = t.runtime.as_mut() {
            r.source = "jvm";
        }
        assert!(named_by_runtime(&t), "the JVM's name, though equal to the comm");
        t.runtime = None;
        t.name = DisplayName::from_text("main");
        assert!(named_by_runtime(&t), "a name the kernel did not give came from a runtime");
    }

    #[test]
    fn blocked_outside_says_whose_view_it_is() {
        let mut t = crate::record::tests::any_thread();
        (t.origin, t.state) = (Origin::Managed, ThreadState::Running);
        if let Some(k) = t.kernel.as_mut() {
            k.state = 'S';
        }
        let said = |library: Option<&RegistrySnapshot>| {
            let found = lint_candidates(std::slice::from_ref(&t), library);
            assert_eq!(found.len(), 1, "{found:?}");
            found[0].message.clone()
        };
        let own = said(Some(&RegistrySnapshot { threads: Vec::new(), primitives: Vec::new() }));
        assert!(own.ends_with(
            "is Running in the library but asleep in the kernel (S): blocked outside the library"
        ));
        // Another program's threads, from its agent (a Python program has no library).
        let agent = said(None);
        assert!(
            agent.ends_with("is Running as its agent reports it but asleep in the kernel (S): blocked outside what its agent tracks"),
            "{agent}"
        );
    }

    #[test]
    fn a_scoped_mark_ends_with_its_guard() {
        let tid = std::thread::spawn(|| {
            let _own = mark_inspector_thread_scoped();
            let tid = crate::threading::get_native_id();
            assert!(INSPECTOR_TIDS.lock().contains(&tid));
            tid
        })
        .join()
        .unwrap_or_default();
        assert!(!INSPECTOR_TIDS.lock().contains(&tid), "a reused TID must not stay ours");
    }

    /// What `record -- CMD` and `attach` see of a program starting up: its
    /// threads appear between the samples that read every thread's details.
    #[test]
    fn a_thread_that_starts_between_detailed_refreshes_shows_its_details_at_once() {
        let registry = Registry::new();
        let mut inspector = Inspector::own(&registry).unwrap();
        inspector.refresh().unwrap();
        let sleeper = crate::kernel::idle_thread::IdleThread::start();
        let tid = sleeper.tid;
        let snapshot = inspector.refresh().unwrap();
        let view = snapshot.threads.iter().find(|t| t.native_id == Some(tid)).expect("the new thread");
        let kernel = view.kernel.as_ref().expect("a kernel view");
        assert!(kernel.voluntary_ctxt_switches.is_available() && kernel.wchan.is_available(), "{kernel:?}");
        drop(sleeper);
    }
}
