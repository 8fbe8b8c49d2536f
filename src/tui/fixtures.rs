//! Made-up, fully deterministic snapshots for screen tests and the render
//! benchmark: a small workload with a deadlock, a contended lock, a queue,
//! a panicked thread, foreign and inspector threads, and as many filler
//! threads as asked for.
#![doc(hidden)]

use super::app::{App, Config, Source};
use super::event::{Event, Sample, ScenarioInfo};
use super::theme::Theme;
use crate::inspect::{
    CycleStep, Deadlock, DeadlockSearch, DisplayName, FutexGroup, KernelView, Lint, LintKind, NamePattern,
    NamingFinding, NamingFindingKind, NamingView, Origin, PrimitiveLink, PrimitiveView, ProcessView, SCHEMA,
    Snapshot, SystemView, ThreadLink, ThreadView, WaitView,
};
use crate::kernel::{Field, LoadAverage};
use crate::threading::{Outcome, PrimitiveKind, PrimitiveStats, StateTimes, ThreadState, WaitKind};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn kernel(tid: u32, comm: &str, state: char, cpu: f32, wchan: Option<&str>) -> KernelView {
    KernelView {
        tid,
        comm: DisplayName::from_text(comm),
        comm_raw: None,
        state,
        cpu_percent: Field::Available(cpu),
        utime_ms: u64::from(tid % 97) * 10,
        stime_ms: u64::from(tid % 13) * 10,
        processor: tid % 4,
        priority: 20,
        nice: 0,
        voluntary_ctxt_switches: Field::Available(u64::from(tid % 1000)),
        nonvoluntary_ctxt_switches: Field::Available(u64::from(tid % 17)),
        wchan: Field::Available(wchan.map(Into::into)),
        cpus_allowed: Field::Available(vec![(0, 3)].into()),
        futex: Field::Available(None),
        wait: None,
        started_ms: Some(UPTIME_MS - 83_000 - u64::from(tid % 7) * 1000),
    }
}

/// The fixture machine's time since boot at the sample.
const UPTIME_MS: u64 = 3_600_000;

/// The fixture's named threads by key, so references carry identities.
const KEYS: [(&str, u64); 9] = [
    ("Philosopher-0", 1),
    ("Philosopher-1", 2),
    ("Lock-Holder", 3),
    ("Config-Reader-1", 4),
    ("Config-Reader-2", 5),
    ("Producer", 6),
    ("Late-Starter", 7),
    ("Housekeeper", 8),
    ("Faulty-Worker", 9),
];

/// The fixture's primitives: name, id, kind.
const PRIMITIVES: [(&str, u64, PrimitiveKind); 5] = [
    ("fork-0", 11, PrimitiveKind::Lock),
    ("fork-1", 12, PrimitiveKind::Lock),
    ("config", 13, PrimitiveKind::Lock),
    ("jobs", 14, PrimitiveKind::Queue),
    ("done", 15, PrimitiveKind::Event),
];

fn tid_of(key: u64) -> u32 {
    4000 + (key % 100_000) as u32
}

/// A reference to the fixture thread `name`.
fn link(name: &str) -> ThreadLink {
    let key = KEYS.iter().find(|(n, _)| *n == name).map_or(0, |(_, k)| *k);
    ThreadLink { key, tid: Some(tid_of(key)), name: name.to_owned() }
}

/// A reference to the fixture primitive `name`.
fn plink(name: &str) -> PrimitiveLink {
    let (_, id, kind) =
        PRIMITIVES.iter().find(|(n, ..)| *n == name).copied().unwrap_or((name, 0, PrimitiveKind::Lock));
    PrimitiveLink { id, kind, name: name.to_owned() }
}

struct Spec<'a> {
    key: u64,
    name: &'a str,
    state: ThreadState,
    daemon: bool,
    waiting_on: Option<(WaitKind, &'a str, Option<&'a str>, f64)>,
    holds: &'a [&'a str],
}

fn thread(spec: &Spec<'_>) -> ThreadView {
    let tid = tid_of(spec.key);
    let alive = matches!(spec.state, ThreadState::Running | ThreadState::Waiting);
    let comm = crate::threading::kernel_comm(spec.name);
    let (kstate, cpu, wchan) = match spec.state {
        ThreadState::Running => ('R', 97.5, None),
        _ => ('S', 0.0, Some("futex_wait_queue")),
    };
    let times = StateTimes {
        created: secs(0.1),
        running: secs(2.0 + spec.key as f64 % 7.0),
        waiting: secs(10.0 + spec.key as f64 % 11.0),
        terminated: Duration::ZERO,
    };
    // The kernel's task started when the library's thread did, after
    // the object was created.
    let started_ms = UPTIME_MS - (times.running + times.waiting).as_millis() as u64;
    ThreadView {
        key: spec.key,
        name: DisplayName::from_text(spec.name),
        name_raw: None,
        ident: (spec.state != ThreadState::Created)
            .then_some(0x7f00_0000_0000 + (spec.key % 4096) * 0x10_0000),
        native_id: alive.then_some(tid),
        daemon: Some(spec.daemon),
        state: spec.state,
        waiting_on: spec.waiting_on.map(|(kind, name, holder, waited)| WaitView {
            kind,
            name: name.into(),
            role: None,
            primitive: PRIMITIVES.iter().find(|(n, ..)| *n == name).map(|(_, id, _)| *id),
            holder: holder.map(link),
            holders: holder.map(link).into_iter().collect(),
            waited: Some(secs(waited)),
        }),
        kernel: alive
            .then(|| KernelView { started_ms: Some(started_ms), ..kernel(tid, comm, kstate, cpu, wchan) }),
        origin: Origin::Managed,
        holds: spec.holds.iter().map(|h| plink(h)).collect(),
        time_in_state: Some(times),
        outcome: None,
        runtime: None,
        native_stack: None,
        wait_backtrace: None,
    }
}

fn primitive(
    id: u64,
    name: &str,
    kind: PrimitiveKind,
    holders: &[&str],
    waiters: &[&str],
    held: Option<f64>,
) -> PrimitiveView {
    PrimitiveView {
        id,
        name: name.to_owned(),
        kind,
        holders: holders.iter().map(|h| link(h)).collect(),
        waiters: waiters.iter().map(|w| link(w)).collect(),
        stats: Field::Available(PrimitiveStats {
            acquisitions: id * 7,
            contentions: id * 2,
            total_wait: secs(id as f64 * 0.5),
            total_hold: secs(id as f64 * 1.5),
            held_for: held.map(secs),
        }),
        details: BTreeMap::new(),
        related: None,
        owner_note: None,
        last_raise: None,
    }
}

/// A snapshot with the small workload plus `extra` sleeping filler threads.
pub fn snapshot(extra: usize) -> Snapshot {
    use ThreadState::*;
    let specs = [
        Spec {
            key: 1,
            name: "Philosopher-0",
            state: Waiting,
            daemon: true,
            waiting_on: Some((
                WaitKind::Primitive(PrimitiveKind::Lock),
                "fork-1",
                Some("Philosopher-1"),
                3.2,
            )),
            holds: &["fork-0"],
        },
        Spec {
            key: 2,
            name: "Philosopher-1",
            state: Waiting,
            daemon: true,
            waiting_on: Some((
                WaitKind::Primitive(PrimitiveKind::Lock),
                "fork-0",
                Some("Philosopher-0"),
                3.1,
            )),
            holds: &["fork-1"],
        },
        Spec {
            key: 3,
            name: "Lock-Holder",
            state: Waiting,
            daemon: false,
            waiting_on: Some((WaitKind::Sleep, "sleep", None, 0.4)),
            holds: &["config"],
        },
        Spec {
            key: 4,
            name: "Config-Reader-1",
            state: Waiting,
            daemon: false,
            waiting_on: Some((WaitKind::Primitive(PrimitiveKind::Lock), "config", Some("Lock-Holder"), 1.2)),
            holds: &[],
        },
        Spec { key: 5, name: "Config-Reader-2", state: Running, daemon: false, waiting_on: None, holds: &[] },
        Spec {
            key: 6,
            name: "Producer",
            state: Waiting,
            daemon: false,
            waiting_on: Some((WaitKind::Primitive(PrimitiveKind::Queue), "jobs", None, 0.2)),
            holds: &[],
        },
        Spec { key: 7, name: "Late-Starter", state: Created, daemon: false, waiting_on: None, holds: &[] },
        Spec {
            key: 8,
            name: "Housekeeper",
            state: Waiting,
            daemon: true,
            waiting_on: Some((WaitKind::Sleep, "sleep", None, 4.0)),
            holds: &[],
        },
        Spec {
            key: 9,
            name: "Faulty-Worker",
            state: Terminated,
            daemon: false,
            waiting_on: None,
            holds: &[],
        },
    ];
    let mut threads: Vec<ThreadView> = specs.iter().map(thread).collect();
    if let Some(w) = threads[5].waiting_on.as_mut() {
        w.role = Some("put".into());
    }
    threads[8].outcome = Some(Outcome::Panicked {
        message: "division by zero".into(),
        location: Some("src/worker.rs:12:5".into()),
    });
    if let Some(k) = threads[0].kernel.as_mut() {
        k.futex = Field::Available(Some("0x7f0000001000".into()));
    }
    if let Some(k) = threads[1].kernel.as_mut() {
        k.futex = Field::Available(Some("0x7f0000001000".into()));
    }
    for i in 0..extra {
        let name = format!("Worker-{i}");
        let mut t = thread(&Spec {
            key: 100 + i as u64,
            name: &name,
            state: Waiting,
            daemon: true,
            waiting_on: Some((WaitKind::Sleep, "sleep", None, 0.5)),
            holds: &[],
        });
        if i % 3 == 0 {
            t.state = Running;
            t.waiting_on = None;
        }
        threads.push(t);
    }
    let mut main = thread(&Spec {
        key: 50,
        name: "MainThread",
        state: Running,
        daemon: false,
        waiting_on: None,
        holds: &[],
    });
    main.origin = Origin::Inspector;
    threads.push(main);
    let mut foreign = thread(&Spec {
        key: (1 << 52) | 77,
        name: "tokio-runtime-w",
        state: Waiting,
        daemon: false,
        waiting_on: None,
        holds: &[],
    });
    (foreign.origin, foreign.ident, foreign.daemon, foreign.time_in_state) =
        (Origin::Foreign, None, None, None);
    threads.push(foreign);

    Snapshot {
        schema: SCHEMA,
        taken_at_unix_ms: 1_700_000_000_000,
        process: ProcessView {
            checked_in_turn: None,
            pid: 4242,
            name: DisplayName::from_text("threadscope"),
            own: true,
            exited: false,
            cpu_percent: Field::Available(12.5),
            rss_bytes: 24 * 1024 * 1024,
            watched_for: secs(83.0),
        },
        system: SystemView {
            cpu_percent: Field::Available(vec![12.0, 55.0, 90.0, 3.0]),
            memory_used_bytes: 6 * 1024 * 1024 * 1024,
            memory_total_bytes: 16 * 1024 * 1024 * 1024,
            load_average: Some(LoadAverage { one: 1.25, five: 0.8, fifteen: 0.5 }),
            uptime_ms: Some(UPTIME_MS),
        },
        scenario: Some("fixture".into()),
        threads,
        primitives: vec![
            primitive(11, "fork-0", PrimitiveKind::Lock, &["Philosopher-0"], &["Philosopher-1"], Some(3.3)),
            primitive(12, "fork-1", PrimitiveKind::Lock, &["Philosopher-1"], &["Philosopher-0"], Some(3.2)),
            primitive(13, "config", PrimitiveKind::Lock, &["Lock-Holder"], &["Config-Reader-1"], Some(1.2)),
            primitive(14, "jobs", PrimitiveKind::Queue, &[], &["Producer"], None),
            primitive(15, "done", PrimitiveKind::Event, &[], &[], None),
        ],
        deadlocks: vec![Deadlock {
            cycle: vec![
                CycleStep::Thread(link("Philosopher-0")),
                CycleStep::Primitive(plink("fork-1")),
                CycleStep::Thread(link("Philosopher-1")),
                CycleStep::Primitive(plink("fork-0")),
            ],
            threads: vec![link("Philosopher-0"), link("Philosopher-1")],
            primitives: vec![plink("fork-1"), plink("fork-0")],
        }],
        deadlock_search: DeadlockSearch::library(5, 12),
        notes: Vec::new(),
        futex_groups: vec![FutexGroup {
            address: "0x7f0000001000".into(),
            threads: vec![link("Philosopher-0"), link("Philosopher-1")],
        }],
        naming: NamingView {
            patterns: vec![
                NamePattern {
                    shape: "{Name}-{N}".into(),
                    count: 4,
                    examples: vec!["Philosopher-0".into(), "Config-Reader-1".into()],
                },
                NamePattern {
                    shape: "{Name}".into(),
                    count: 4,
                    examples: vec!["Producer".into(), "Housekeeper".into()],
                },
            ],
            findings: vec![NamingFinding {
                kind: NamingFindingKind::Truncated,
                message: "2 names are longer than the kernel's 15 bytes: top shows them cut".into(),
                threads: vec![link("Config-Reader-1"), link("Config-Reader-2")],
            }],
        },
        findings: vec![Lint {
            kind: LintKind::LockHeldWithWaiters,
            subject: 13,
            message: "lock config held by Lock-Holder for 1.2 s with 1 waiting".into(),
            held_for: secs(1.2),
        }],
        stacks: None,
    }
}

/// Renames the fixture thread `from` to `to` everywhere `snapshot` refers to it.
pub fn rename(snapshot: &mut Snapshot, from: &str, to: &str) {
    let fix = |link: &mut ThreadLink| {
        if link.name == from {
            link.name = to.to_owned();
        }
    };
    for t in &mut snapshot.threads {
        if t.name.shown() == from {
            t.name = DisplayName::from_text(to);
        }
        if let Some(w) = t.waiting_on.as_mut() {
            w.holder.iter_mut().chain(&mut w.holders).for_each(fix);
        }
    }
    for p in &mut snapshot.primitives {
        p.holders.iter_mut().chain(&mut p.waiters).for_each(fix);
    }
    for d in &mut snapshot.deadlocks {
        d.threads.iter_mut().for_each(fix);
        for step in &mut d.cycle {
            if let CycleStep::Thread(link) = step {
                fix(link);
            }
        }
    }
    for g in &mut snapshot.futex_groups {
        g.threads.iter_mut().for_each(fix);
    }
    for f in &mut snapshot.naming.findings {
        f.threads.iter_mut().for_each(fix);
    }
}

/// An app showing [`snapshot`]`(extra)` on a `width`×`height` screen, with
/// a history of three samples a second apart; the clock is `start`.
pub fn app(extra: usize, width: u16, height: u16, start: Instant) -> App {
    let info = ScenarioInfo {
        name: "fixture".into(),
        notes: "A made-up workload for tests.".into(),
        primitives: vec![
            ("fork-0".into(), PrimitiveKind::Lock),
            ("fork-1".into(), PrimitiveKind::Lock),
            ("config".into(), PrimitiveKind::Lock),
            ("jobs".into(), PrimitiveKind::Queue),
            ("done".into(), PrimitiveKind::Event),
        ],
    };
    let mut app = App::new(Config {
        source: Source::Own(info),
        theme: Theme::colored(),
        debug_panic: false,
        scenarios: vec![
            ("tour".into(), "A little of everything".into()),
            ("deadlock".into(), "Two locks, two threads".into()),
        ],
        size: (width, height),
        now: start,
    });
    for i in 0..3u64 {
        let mut snapshot = snapshot(extra);
        if i < 2 {
            for t in &mut snapshot.threads {
                if t.key % 2 == 0 && t.state == ThreadState::Waiting {
                    t.state = ThreadState::Running;
                }
            }
        }
        let at = start + Duration::from_secs(20 * i);
        app.handle_event(Event::Sample(Box::new(Sample { snapshot, at, progress: Vec::new() })));
    }
    app
}

/// An app attached to process `pid` (120×40, plain theme), with no sample yet.
pub fn attached(pid: u32, start: Instant) -> App {
    App::new(Config {
        source: Source::Attach { pid },
        theme: Theme::plain(),
        debug_panic: false,
        scenarios: Vec::new(),
        size: (120, 40),
        now: start,
    })
}

/// [`attached`], then given the fixture [`snapshot`] as its first sample.
pub fn attached_with_snapshot(pid: u32, start: Instant) -> App {
    let mut app = attached(pid, start);
    let sample = Sample { snapshot: snapshot(0), at: start, progress: Vec::new() };
    app.handle_event(Event::Sample(Box::new(sample)));
    app
}
