//! The join: a registry snapshot and a kernel sample become the
//! snapshot's threads, by TID. Pure: the same inputs give the same views;
//! what it needs from earlier samples (CPU ticks for rates, comms already
//! decoded) comes in as [`Earlier`], the one place state across samples is
//! kept for it.

use super::DisplayName;
use super::kernel_source::address_words;
use super::links::{PrimitiveLink, ThreadLink};
use super::snapshot::{KernelView, Origin, PrimitiveView, ThreadView, WaitView};
use crate::kernel::{
    CPU_RATE_MIN_INTERVAL, Field, KernelSample, KernelThread, Reason, ThreadKey, ticks_to_duration,
};
use crate::threading::{PrimitiveRef, RegistrySnapshot, ThreadRef, ThreadSnapshot, ThreadState};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

/// What the join keeps from the previous sample: each thread's CPU ticks,
/// for rates, its comm as decoded, so a thread whose comm did not change
/// is not decoded and sanitised again (10,000 a sample), and its costly
/// figures as last read ([`LastRead`]).
///
/// Kept in the kernel sample's order, which is stable from one sample to
/// the next: a thread is found at its own position without hashing, and
/// the index by key is rebuilt only when threads came or went.
#[derive(Debug, Default)]
pub(crate) struct Earlier {
    threads: Vec<Remembered>,
    index: FxHashMap<ThreadKey, usize>,
}

#[derive(Debug, Clone)]
struct Remembered {
    key: ThreadKey,
    /// Its CPU ticks at its last check, when, and the rate then.
    ticks: u64,
    at: Instant,
    rate: Field<f32>,
    comm: DisplayName,
    read: LastRead,
}

/// The costly kernel figures (`status`, `wchan`, `syscall`) as last read.
/// They are read every few samples; in between, these stand in for them,
/// so columns do not blink and the text dump does not lose them. `None`:
/// nothing to stand in (not read yet, or it could not be: what could not
/// be read is not carried forward).
#[derive(Debug, Clone, Default)]
struct LastRead {
    voluntary: Option<u64>,
    nonvoluntary: Option<u64>,
    wchan: Option<Option<Arc<str>>>,
    cpus: Option<Arc<[(u32, u32)]>>,
    /// The futex it slept on, in words.
    futex: Option<Option<Arc<str>>>,
}

impl LastRead {
    /// Takes in `kt`'s reading, in place: each figure it read replaces
    /// what stood; one it did not read this sample stands, untouched (no
    /// string or list shared again for 10,000 threads not read).
    fn renew(&mut self, kt: &KernelThread) {
        renew(&mut self.voluntary, &kt.voluntary_ctxt_switches);
        renew(&mut self.nonvoluntary, &kt.nonvoluntary_ctxt_switches);
        renew(&mut self.wchan, &kt.wchan);
        renew(&mut self.cpus, &kt.cpus_allowed_list);
        let futex = futex_read(kt, self);
        renew(&mut self.futex, &futex);
    }
}

/// A figure as the view shows it: as read, or the last one read while
/// this sample did not read it.
fn shown<T: Clone>(read: &Field<T>, last: &Option<T>) -> Field<T> {
    match (read, last) {
        (Field::Unavailable(Reason::NotSampled), Some(old)) => Field::Available(old.clone()),
        (read, _) => read.clone(),
    }
}

/// What is remembered of a figure after a sample (see [`shown`]): what
/// was read, unless nothing was this time; what could not be read is not
/// remembered.
fn renew<T: Clone>(last: &mut Option<T>, read: &Field<T>) {
    match read {
        Field::Unavailable(Reason::NotSampled) => {}
        read => *last = read.value().cloned(),
    }
}

/// What the join takes from the last sample for one thread.
struct Carried<'a> {
    comm: DisplayName,
    cpu_percent: Field<f32>,
    last: Option<&'a Remembered>,
}

impl Earlier {
    /// The thread `kt`, at position `hint` in the last sample if it was there.
    fn find(&self, kt: &KernelThread, hint: usize) -> Option<&Remembered> {
        let key = kt.key();
        match self.threads.get(hint) {
            Some(r) if r.key == key => Some(r),
            _ => self.index.get(&key).map(|&i| &self.threads[i]),
        }
    }

    /// The thread's comm, decoded (the last sample's when it is the same),
    /// its CPU rate and what else the last sample left: one lookup for all.
    fn of(&self, kt: &KernelThread, hint: usize, now: Instant) -> Carried<'_> {
        let last = self.find(kt, hint);
        Carried { comm: comm_after(last, kt), cpu_percent: rate_since(last, kt, now), last }
    }

    /// Remembers this sample's CPU ticks, rates and comms for the next one
    /// (a thread not checked keeps what its last check left). In place
    /// when the threads are those of the last sample, in its order (a
    /// process whose threads neither came nor went): nothing is copied for
    /// a thread whose figures stand.
    pub(crate) fn remember(&mut self, kernel: &KernelSample) {
        let now = kernel.taken_at;
        let same_order = self.threads.len() == kernel.threads.len()
            && self.threads.iter().zip(&kernel.threads).all(|(here, t)| here.key == t.key());
        if same_order {
            for (here, t) in self.threads.iter_mut().zip(&kernel.threads) {
                here.renew(t, now);
            }
            return;
        }
        let threads: Vec<Remembered> = kernel
            .threads
            .iter()
            .enumerate()
            .map(|(i, t)| match self.find(t, i) {
                Some(last) => {
                    let mut here = last.clone();
                    here.renew(t, now);
                    here
                }
                None => {
                    let mut read = LastRead::default();
                    read.renew(t);
                    Remembered {
                        key: t.key(),
                        ticks: t.cpu_ticks(),
                        at: now,
                        rate: rate_since(None, t, now),
                        comm: comm_after(None, t),
                        read,
                    }
                }
            })
            .collect();
        self.threads = threads;
        self.index = self.threads.iter().enumerate().map(|(i, r)| (r.key, i)).collect();
    }
}

impl Remembered {
    /// Takes in this sample's reading of the thread, `kt`.
    fn renew(&mut self, kt: &KernelThread, now: Instant) {
        // Its details may have been read although it was not checked
        // (every thread's, on a sample that reads them all): what was read
        // replaces what stood.
        self.read.renew(kt);
        // Not checked, its CPU figures stand; checked too soon to measure,
        // the next check measures from the same baseline, over the longer
        // interval.
        if !kt.checked {
            return;
        }
        if self.comm.raw() != kt.comm_raw.as_slice() {
            self.comm = DisplayName::from_bytes(&kt.comm_raw);
        }
        if too_soon(self, now) {
            return;
        }
        self.rate = rate_since(Some(self), kt, now);
        (self.ticks, self.at) = (kt.cpu_ticks(), now);
    }
}

/// A rate needs two checks of the same thread at least
/// [`CPU_RATE_MIN_INTERVAL`] apart: before them it is unavailable, not 0
/// (a thread at 100 % must not read 0.0, nor 118 % off two ticks counted
/// over 17 ms). A thread this sample did not check, or checked too soon
/// after the baseline, keeps the rate of its last measure; the next check
/// measures over the whole time since. A thread runs on one CPU at a
/// time, so more than 100 % is the ticks' rounding (see
/// [`CPU_RATE_MIN_INTERVAL`]), and is said as 100.
fn rate_since(last: Option<&Remembered>, kt: &KernelThread, now: Instant) -> Field<f32> {
    let Some(last) = last else {
        return Field::Unavailable(Reason::NotSampled);
    };
    if !kt.checked || too_soon(last, now) {
        return last.rate.clone();
    }
    let elapsed = now.saturating_duration_since(last.at).as_secs_f64();
    let used = ticks_to_duration(kt.cpu_ticks().saturating_sub(last.ticks)).as_secs_f64();
    Field::Available((used / elapsed * 100.0).min(100.0) as f32)
}

/// Whether `now` is too soon after `last`'s baseline to measure a rate.
fn too_soon(last: &Remembered, now: Instant) -> bool {
    now.saturating_duration_since(last.at) < CPU_RATE_MIN_INTERVAL
}

/// The thread's comm, decoded: the last one's when the bytes are the same.
fn comm_after(last: Option<&Remembered>, kt: &KernelThread) -> DisplayName {
    match last {
        Some(last) if last.comm.raw() == kt.comm_raw.as_slice() => last.comm.clone(),
        _ => DisplayName::from_bytes(&kt.comm_raw),
    }
}

/// The futex `kt` sleeps on as read, in words (the last reading's when
/// it is the same address). Unavailable as the call is: a call we may not
/// read (or did not read this sample) is not "no futex".
fn futex_read(kt: &KernelThread, last: &LastRead) -> Field<Option<Arc<str>>> {
    let call = match &kt.syscall {
        Field::Available(call) => call,
        Field::Unavailable(why) => return Field::Unavailable(*why),
    };
    let earlier = last.futex.as_ref().and_then(Option::as_ref);
    Field::Available(call.futex_address().map(|address| address_words(address, earlier)))
}

/// The threads of one sample: every library thread (joined to its kernel
/// task by TID while it is alive), then every kernel task no library
/// thread claimed. `own` are TIDs of threadscope's own machinery.
pub(crate) fn join(
    library: Option<&RegistrySnapshot>,
    kernel: &KernelSample,
    own: &BTreeSet<u32>,
    earlier: &Earlier,
) -> Vec<ThreadView> {
    let now = kernel.taken_at;
    let library_threads = library.map_or(0, |l| l.threads.len());
    // Only when there are library threads to join: attached to another
    // program there are none, and 10,000 tasks need no index.
    let mut by_tid: FxHashMap<u32, (usize, &KernelThread)> = FxHashMap::default();
    if library_threads > 0 {
        by_tid.reserve(kernel.threads.len());
        by_tid.extend(kernel.threads.iter().enumerate().map(|(i, t)| (t.tid, (i, t))));
    }
    let mut joined: FxHashSet<u32> = FxHashSet::default();
    let mut threads = Vec::with_capacity(kernel.threads.len());
    let links = Links::of(library);
    for t in library.into_iter().flat_map(|l| &l.threads) {
        let alive = matches!(t.state, ThreadState::Running | ThreadState::Waiting);
        let kt = t.native_id.filter(|_| alive).and_then(|tid| by_tid.get(&tid).copied());
        if let Some((_, kt)) = kt {
            joined.insert(kt.tid);
        }
        let own_thread = t.origin == crate::threading::ThreadOrigin::Helper
            || t.native_id.is_some_and(|tid| alive && own.contains(&tid));
        let origin = if own_thread { Origin::Inspector } else { Origin::Managed };
        threads.push(library_view(t, kt, &links, origin, earlier, now));
    }
    // A library thread that has started but not yet published its TID has
    // a task that still carries the comm it inherited from the thread that
    // started it (the main thread's, for all but threads started by other
    // library threads). Up to that many such unclaimed tasks are taken to
    // be theirs and not listed again as "foreign".
    let mut starting = library.map_or(0, starting);
    let inherited = kernel.thread(kernel.pid).map(|main| main.comm_raw.as_slice());
    for (i, kt) in kernel.threads.iter().enumerate().filter(|(_, kt)| !joined.contains(&kt.tid)) {
        if own.contains(&kt.tid) {
            threads.push(kernel_only_view(kt, i, Origin::Inspector, earlier, now));
        } else if starting > 0 && kt.tid != kernel.pid && Some(kt.comm_raw.as_slice()) == inherited {
            starting -= 1;
        } else {
            threads.push(kernel_only_view(kt, i, Origin::Foreign, earlier, now));
        }
    }
    threads
}

/// Library threads that have started but not yet published their TID: for
/// a moment their kernel tasks exist unclaimed.
pub(crate) fn starting(library: &RegistrySnapshot) -> usize {
    library.threads.iter().filter(|t| t.state == ThreadState::Running && t.native_id.is_none()).count()
}

fn kernel_view(kt: &KernelThread, Carried { comm, cpu_percent, last }: Carried) -> KernelView {
    let none = LastRead::default();
    let last = last.map_or(&none, |last| &last.read);
    let futex = shown(&futex_read(kt, last), &last.futex);
    KernelView {
        tid: kt.tid,
        comm_raw: comm.raw_if_unprintable(),
        comm,
        state: kt.state,
        cpu_percent,
        utime_ms: ticks_to_duration(kt.utime_ticks).as_millis() as u64,
        stime_ms: ticks_to_duration(kt.stime_ticks).as_millis() as u64,
        processor: kt.processor,
        priority: kt.priority,
        nice: kt.nice,
        voluntary_ctxt_switches: shown(&kt.voluntary_ctxt_switches, &last.voluntary),
        nonvoluntary_ctxt_switches: shown(&kt.nonvoluntary_ctxt_switches, &last.nonvoluntary),
        wchan: shown(&kt.wchan, &last.wchan),
        cpus_allowed: shown(&kt.cpus_allowed_list, &last.cpus),
        futex,
        wait: None,
        started_ms: Some(ticks_to_duration(kt.starttime).as_millis() as u64),
    }
}

fn library_view(
    t: &ThreadSnapshot,
    kt: Option<(usize, &KernelThread)>,
    links: &Links,
    origin: Origin,
    earlier: &Earlier,
    now: Instant,
) -> ThreadView {
    let name = DisplayName::from_text(&t.name);
    ThreadView {
        key: t.id,
        name_raw: name.raw_if_unprintable(),
        name,
        ident: t.ident,
        native_id: t.native_id,
        daemon: Some(t.daemon),
        state: t.state,
        waiting_on: t.waiting_on.as_ref().map(|w| WaitView {
            kind: w.kind,
            name: w.name.as_str().into(),
            role: w.role.as_deref().map(Into::into),
            primitive: w.primitive,
            holder: w.holders.first().map(|h| links.thread(h)),
            holders: w.holders.iter().map(|h| links.thread(h)).collect(),
            waited: Some(w.waited),
        }),
        kernel: kt.map(|(at, kt)| kernel_view(kt, earlier.of(kt, at, now))),
        origin,
        holds: t.holds.iter().map(primitive_link).collect(),
        time_in_state: Some(t.time_in_state),
        outcome: t.outcome.clone(),
        runtime: None,
        native_stack: None,
        wait_backtrace: t.wait_backtrace.clone(),
    }
}

fn kernel_only_view(
    kt: &KernelThread,
    at: usize,
    origin: Origin,
    earlier: &Earlier,
    now: Instant,
) -> ThreadView {
    let carried = earlier.of(kt, at, now);
    let name = carried.comm.clone();
    ThreadView {
        key: super::ids::kernel_thread_key(kt.key()),
        name_raw: name.raw_if_unprintable(),
        name,
        ident: None,
        native_id: Some(kt.tid),
        daemon: None,
        state: kernel_state(kt.state),
        waiting_on: None,
        kernel: Some(kernel_view(kt, carried)),
        origin,
        holds: Vec::new(),
        time_in_state: None,
        outcome: None,
        runtime: None,
        native_stack: None,
        wait_backtrace: None,
    }
}

/// The library state closest to a kernel state letter.
fn kernel_state(state: char) -> ThreadState {
    match state {
        'R' => ThreadState::Running,
        'Z' | 'X' | 'x' => ThreadState::Terminated,
        _ => ThreadState::Waiting,
    }
}

/// Registry ids to TIDs, for turning the registry's references into links.
pub(crate) struct Links {
    tids: HashMap<u64, u32>,
}

impl Links {
    pub(crate) fn of(library: Option<&RegistrySnapshot>) -> Self {
        let tids = library
            .into_iter()
            .flat_map(|l| &l.threads)
            .filter_map(|t| t.native_id.map(|tid| (t.id, tid)))
            .collect();
        Self { tids }
    }

    fn thread(&self, r: &ThreadRef) -> ThreadLink {
        ThreadLink { key: r.id, tid: self.tids.get(&r.id).copied(), name: r.name.clone() }
    }
}

fn primitive_link(p: &PrimitiveRef) -> PrimitiveLink {
    PrimitiveLink { id: p.id, kind: p.kind, name: p.name.clone() }
}

pub(crate) fn primitive_views(library: &RegistrySnapshot, links: &Links) -> Vec<PrimitiveView> {
    library
        .primitives
        .iter()
        .map(|p| PrimitiveView {
            id: p.id,
            name: p.name.clone(),
            kind: p.kind,
            holders: p.holders.iter().map(|h| links.thread(h)).collect(),
            waiters: p.waiters.iter().map(|h| links.thread(h)).collect(),
            stats: Field::Available(p.stats),
            details: p.details.clone(),
            related: p.related.as_ref().map(primitive_link),
            owner_note: None,
            last_raise: p.last_raise.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{ProcessFigures, SystemFigures, ticks_per_second};
    use crate::threading::{StateTimes, ThreadOrigin};
    use std::time::Duration;

    fn task(tid: u32, starttime: u64, comm: &str) -> KernelThread {
        KernelThread {
            tid,
            starttime,
            comm_raw: crate::kernel::Comm::new(comm.as_bytes()).unwrap(),
            state: 'S',
            utime_ticks: 0,
            stime_ticks: 0,
            processor: 0,
            priority: 20,
            nice: 0,
            voluntary_ctxt_switches: Field::Unavailable(Reason::NotSampled),
            nonvoluntary_ctxt_switches: Field::Unavailable(Reason::NotSampled),
            cpus_allowed_list: Field::Unavailable(Reason::NotSampled),
            wchan: Field::Unavailable(Reason::NotSampled),
            syscall: Field::Unavailable(Reason::NotSampled),
            checked: true,
        }
    }

    fn sample(threads: Vec<KernelThread>) -> KernelSample {
        KernelSample {
            pid: 100,
            taken_at: Instant::now(),
            process: ProcessFigures {
                name: "app".into(),
                cpu_percent: Field::Available(0.0),
                rss_bytes: 0,
                thread_count: threads.len(),
            },
            system: SystemFigures {
                cpu_percent: Field::Unavailable(Reason::NotSampled),
                memory_used_bytes: 0,
                memory_total_bytes: 0,
                load_average: None,
                uptime: None,
            },
            threads,
            exited: false,
            malformed: Vec::new(),
        }
    }

    fn record(
        id: u64,
        name: &str,
        tid: Option<u32>,
        state: ThreadState,
        origin: ThreadOrigin,
    ) -> ThreadSnapshot {
        ThreadSnapshot {
            id,
            name: name.into(),
            ident: tid.map(u64::from),
            native_id: tid,
            daemon: false,
            origin,
            state,
            waiting_on: None,
            holds: Vec::new(),
            time_in_state: StateTimes::default(),
            age: Duration::ZERO,
            outcome: None,
            wait_backtrace: None,
        }
    }

    fn library(threads: Vec<ThreadSnapshot>) -> RegistrySnapshot {
        RegistrySnapshot { threads, primitives: Vec::new() }
    }

    fn origins(views: &[ThreadView]) -> Vec<(String, Origin, Option<u32>)> {
        views.iter().map(|t| (t.name.shown().to_owned(), t.origin, t.native_id)).collect()
    }

    /// Sample after sample, as the inspector runs the join: the view shows
    /// what was last read, a thread not checked included, and what could
    /// not be read is not brought back afterwards.
    #[test]
    fn carried_figures_follow_every_reading_checked_or_not() {
        let with = |voluntary: Field<u64>, checked: bool| {
            let mut t = task(10, 1, "worker");
            (t.voluntary_ctxt_switches, t.checked) = (voluntary, checked);
            sample(vec![t])
        };
        let not_read = Field::Unavailable(Reason::NotSampled);
        let shown = |earlier: &Earlier, s: &KernelSample| {
            join(None, s, &BTreeSet::new(), earlier)[0]
                .kernel
                .as_ref()
                .unwrap()
                .voluntary_ctxt_switches
                .clone()
        };
        let mut earlier = Earlier::default();
        let readings = [
            (Field::Available(5), true, Field::Available(5)),
            (not_read.clone(), true, Field::Available(5)),
            // Read on a sample that reads every thread's details, though
            // the thread was not due a check.
            (Field::Available(7), false, Field::Available(7)),
            (not_read.clone(), false, Field::Available(7)),
            (Field::Unavailable(Reason::Denied), false, Field::Unavailable(Reason::Denied)),
            (not_read.clone(), false, not_read.clone()),
            (not_read.clone(), true, not_read),
        ];
        for (i, (read, checked, expected)) in readings.into_iter().enumerate() {
            let s = with(read, checked);
            assert_eq!(shown(&earlier, &s), expected, "reading {i}");
            earlier.remember(&s);
        }
    }

    /// What `renew` leaves of `last` after `read`.
    fn kept<T: Clone>(read: &Field<T>, last: &Option<T>) -> Option<T> {
        let mut last = last.clone();
        renew(&mut last, read);
        last
    }

    #[test]
    fn skipped_figures_keep_their_last_value() {
        let not_read: Field<u64> = Field::Unavailable(Reason::NotSampled);
        assert_eq!((shown(&not_read, &Some(7)), kept(&not_read, &Some(7))), (Field::Available(7), Some(7)));
        assert_eq!((shown(&not_read, &None), kept(&not_read, &None)), (not_read.clone(), None));
        let denied: Field<u64> = Field::Unavailable(Reason::Denied);
        assert_eq!((shown(&denied, &Some(7)), kept(&denied, &Some(7))), (denied, None), "not carried");
        let fresh = Field::Available(9u64);
        assert_eq!((shown(&fresh, &Some(7)), kept(&fresh, &Some(7))), (fresh, Some(9)));
    }

    #[test]
    fn a_record_joins_its_task_and_the_rest_are_foreign() {
        let lib = library(vec![record(1, "Worker-1", Some(11), ThreadState::Running, ThreadOrigin::Managed)]);
        let kernel = sample(vec![task(11, 5, "Worker-1"), task(12, 6, "tokio-rt")]);
        let views = join(Some(&lib), &kernel, &BTreeSet::new(), &Earlier::default());
        assert_eq!(
            origins(&views),
            [("Worker-1".into(), Origin::Managed, Some(11)), ("tokio-rt".into(), Origin::Foreign, Some(12))]
        );
        assert!(views[0].kernel.is_some(), "joined to its task");
    }

    #[test]
    fn a_starting_thread_s_task_is_not_counted_twice() {
        // Worker-1 started but has not published its TID; its task still
        // carries the comm it inherited from the main thread (TID = pid).
        let lib = library(vec![record(1, "Worker-1", None, ThreadState::Running, ThreadOrigin::Managed)]);
        let kernel = sample(vec![task(100, 1, "app"), task(101, 2, "app"), task(102, 3, "tokio-rt")]);
        let names: Vec<String> = join(Some(&lib), &kernel, &BTreeSet::new(), &Earlier::default())
            .iter()
            .map(|t| t.name.shown().to_owned())
            .collect();
        assert_eq!(
            names,
            ["Worker-1", "app", "tokio-rt"],
            "the main thread stays, the inherited-comm task goes"
        );
    }

    #[test]
    fn a_thread_without_a_tid_yet_claims_no_task() {
        let lib = library(vec![record(1, "Starting", None, ThreadState::Running, ThreadOrigin::Managed)]);
        assert_eq!(starting(&lib), 1);
        let views = join(Some(&lib), &sample(vec![]), &BTreeSet::new(), &Earlier::default());
        assert_eq!(origins(&views), [("Starting".into(), Origin::Managed, None)]);
        assert!(views[0].kernel.is_none());
    }

    #[test]
    fn a_reused_tid_is_not_joined_to_a_dead_record() {
        // Worker-1 ended; the kernel gave its TID to a new task.
        let lib =
            library(vec![record(1, "Worker-1", Some(11), ThreadState::Terminated, ThreadOrigin::Managed)]);
        let views =
            join(Some(&lib), &sample(vec![task(11, 99, "newcomer")]), &BTreeSet::new(), &Earlier::default());
        assert!(views[0].kernel.is_none(), "a terminated record keeps no kernel view");
        assert_eq!(origins(&views)[1], ("newcomer".into(), Origin::Foreign, Some(11)));
        // Keys differ: the task is not the record.
        assert_ne!(views[0].key, views[1].key);
    }

    #[test]
    fn threadscope_s_own_threads_are_marked_so() {
        let lib = library(vec![record(1, "ts-join", Some(21), ThreadState::Waiting, ThreadOrigin::Helper)]);
        let own = BTreeSet::from([22]);
        let views = join(
            Some(&lib),
            &sample(vec![task(21, 1, "ts-join"), task(22, 2, "ts-sampler")]),
            &own,
            &Earlier::default(),
        );
        assert_eq!(
            origins(&views),
            [
                ("ts-join".into(), Origin::Inspector, Some(21)),
                ("ts-sampler".into(), Origin::Inspector, Some(22))
            ]
        );
    }

    #[test]
    fn a_thread_not_checked_keeps_its_rate_and_the_next_check_measures_since_the_last() {
        let rate =
            |views: &[ThreadView]| views[0].kernel.as_ref().and_then(|k| k.cpu_percent.value().copied());
        let base = Instant::now();
        let tps = ticks_per_second();
        let at = |secs: u64, ticks: u64, checked: bool| {
            let mut s = sample(vec![task(11, 5, "spin")]);
            s.taken_at = base + Duration::from_secs(secs);
            s.threads[0].utime_ticks = ticks;
            s.threads[0].checked = checked;
            s
        };
        let mut earlier = Earlier::default();
        earlier.remember(&at(0, 0, true));
        let next = at(1, tps / 2, true);
        let half = rate(&join(None, &next, &BTreeSet::new(), &earlier)).unwrap();
        assert!((half - 50.0).abs() < 1.0, "{half}");
        earlier.remember(&next);
        // Not checked for two samples: its figures and rate are its last check's.
        for secs in [2, 3] {
            let stale = at(secs, tps / 2, false);
            assert_eq!(rate(&join(None, &stale, &BTreeSet::new(), &earlier)), Some(half));
            earlier.remember(&stale);
        }
        // Checked again: 3 s of CPU over the 3 s since its last check.
        let checked = at(4, tps / 2 + 3 * tps, true);
        let full = rate(&join(None, &checked, &BTreeSet::new(), &earlier)).unwrap();
        assert!((full - 100.0).abs() < 1.0, "{full}");
    }

    #[test]
    fn threads_that_come_and_go_keep_their_own_rates_and_names() {
        let base = Instant::now();
        let tps = ticks_per_second();
        let at = |secs: u64, threads: Vec<(u32, &str, u64)>| {
            let mut s = sample(
                threads
                    .into_iter()
                    .map(|(tid, comm, ticks)| {
                        let mut t = task(tid, u64::from(tid), comm);
                        t.utime_ticks = ticks;
                        t
                    })
                    .collect(),
            );
            s.taken_at = base + Duration::from_secs(secs);
            s
        };
        let summary = |earlier: &Earlier, s: &KernelSample| -> Vec<(String, Option<f32>)> {
            join(None, s, &BTreeSet::new(), earlier)
                .iter()
                .map(|v| {
                    (
                        v.name.shown().to_owned(),
                        v.kernel.as_ref().and_then(|k| k.cpu_percent.value().copied()),
                    )
                })
                .collect()
        };
        let mut earlier = Earlier::default();
        earlier.remember(&at(0, vec![(1, "a", 0), (2, "b", 0), (3, "c", 0)]));
        // "a" ended, "d" is new: the others move up a place.
        let next = at(1, vec![(2, "b", tps), (3, "c-renamed", 0), (4, "d", 0)]);
        let views = summary(&earlier, &next);
        assert_eq!(views, [("b".into(), Some(100.0)), ("c-renamed".into(), Some(0.0)), ("d".into(), None)]);
        earlier.remember(&next);
        let again = at(2, vec![(2, "b", tps), (3, "c-renamed", tps), (4, "d", 0)]);
        assert_eq!(
            summary(&earlier, &again),
            [("b".into(), Some(0.0)), ("c-renamed".into(), Some(100.0)), ("d".into(), Some(0.0))]
        );
    }

    #[test]
    fn a_rate_is_measured_over_enough_time_and_never_over_one_cpu() {
        let rate = |earlier: &Earlier, s: &KernelSample| {
            join(None, s, &BTreeSet::new(), earlier)[0].kernel.as_ref().unwrap().cpu_percent.clone()
        };
        let base = Instant::now();
        let at = |after: Duration, ticks: u64| {
            let mut s = sample(vec![task(11, 5, "spin")]);
            s.taken_at = base + after;
            s.threads[0].utime_ticks = ticks;
            s
        };
        let mut earlier = Earlier::default();
        earlier.remember(&at(Duration::ZERO, 0));
        // Two ticks counted 17 ms after the baseline: 118 % by arithmetic,
        // nothing anyone measured.
        let soon = at(Duration::from_millis(17), 2);
        assert_eq!(rate(&earlier, &soon), Field::Unavailable(Reason::NotSampled));
        earlier.remember(&soon);
        // The baseline stays the first sample's: a second's worth over the
        // second since it, plus the two ticks' rounding, is one CPU.
        let tps = ticks_per_second();
        let later = at(Duration::from_secs(1), tps + 2);
        assert_eq!(rate(&earlier, &later), Field::Available(100.0));
        earlier.remember(&later);
        // Measured once, a rate stands until the next measure can be taken.
        let soon_again = at(Duration::from_millis(1010), tps + 3);
        assert_eq!(rate(&earlier, &soon_again), Field::Available(100.0));
    }

    #[test]
    fn cpu_is_a_rate_from_the_second_sample_on() {
        let mut cpu = Earlier::default();
        let first = sample(vec![task(11, 5, "spin")]);
        let views = join(None, &first, &BTreeSet::new(), &cpu);
        assert_eq!(
            views[0].kernel.as_ref().map(|k| k.cpu_percent.clone()),
            Some(Field::Unavailable(Reason::NotSampled))
        );
        cpu.remember(&first);
        let mut second = sample(vec![task(11, 5, "spin")]);
        second.taken_at = first.taken_at + Duration::from_secs(1);
        second.threads[0].utime_ticks = ticks_per_second();
        let views = join(None, &second, &BTreeSet::new(), &cpu);
        let rate = views[0].kernel.as_ref().and_then(|k| k.cpu_percent.value().copied());
        assert!(rate.is_some_and(|r| (r - 100.0).abs() < 1.0), "{rate:?}");
    }
}
