//! A validated scenario: every name resolved, every template expanded.
//! Nothing here can fail at run time for a reason the file could have shown.

use super::target::Target;
use super::target::class::{Barriers, Conditions, Events, Lockables, Pools, Queues};
use crate::threading::PrimitiveKind;
use serde::Serialize;
use std::time::Duration;

/// A scenario ready to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// Short name (`dining-philosophers`).
    pub name: String,
    /// One line saying what it shows.
    pub description: String,
    /// Longer notes for the UI.
    pub notes: String,
    /// Seed for jitter; each thread derives its own stream from it.
    pub seed: u64,
    /// Interpreter-lock emulation, if asked for.
    pub gil: Option<GilSpec>,
    /// Primitives, templates expanded, in file order.
    pub primitives: Vec<PrimitiveSpec>,
    /// Threads, groups expanded, in file order.
    pub threads: Vec<ThreadSpec>,
}

impl Scenario {
    /// The primitive named `name`.
    pub fn primitive(&self, name: &str) -> Option<&PrimitiveSpec> {
        self.primitives.iter().find(|p| p.name == name)
    }

    /// Threads the scenario starts, pool workers included at most.
    pub fn max_threads(&self) -> usize {
        let pools: usize = self
            .primitives
            .iter()
            .map(|p| match p.kind {
                PrimitiveSpecKind::Pool { max_workers, .. } => max_workers.unwrap_or(36),
                _ => 0,
            })
            .sum();
        self.threads.len() + pools
    }
}

/// Emulating CPython's interpreter lock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GilSpec {
    /// How long a spinning thread holds it before offering it to others
    /// (CPython's `sys.getswitchinterval()`, 5 ms by default).
    pub switch_interval: Duration,
}

/// One primitive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrimitiveSpec {
    /// Its name (also its registry name).
    pub name: String,
    /// What it is.
    pub kind: PrimitiveSpecKind,
}

/// Kinds of primitive a scenario can declare.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PrimitiveSpecKind {
    /// `threading.Lock`.
    Lock,
    /// `threading.RLock`.
    RLock,
    /// `threading.Event`.
    Event,
    /// `threading.Condition`, over the primitive at `lock` (a Lock or
    /// RLock) or its own RLock.
    Condition {
        /// Index of its lock in [`Scenario::primitives`].
        lock: Option<usize>,
    },
    /// `threading.Semaphore` / `BoundedSemaphore`.
    Semaphore {
        /// Initial value.
        value: usize,
        /// Over-release is an error.
        bounded: bool,
    },
    /// `threading.Barrier`.
    Barrier {
        /// Threads that must arrive.
        parties: usize,
        /// Default wait timeout.
        timeout: Option<Duration>,
    },
    /// `queue.Queue` and kin.
    Queue {
        /// 0: unbounded.
        maxsize: usize,
        /// FIFO, LIFO or priority.
        order: QueueOrder,
    },
    /// `concurrent.futures.ThreadPoolExecutor`.
    Pool {
        /// Default: min(32, CPUs + 4).
        max_workers: Option<usize>,
        /// Worker name prefix.
        prefix: Option<String>,
    },
}

impl PrimitiveSpecKind {
    /// What it is, in the library's one vocabulary (its label is the word
    /// messages use).
    pub fn kind(&self) -> PrimitiveKind {
        match self {
            Self::Lock => PrimitiveKind::Lock,
            Self::RLock => PrimitiveKind::RLock,
            Self::Event => PrimitiveKind::Event,
            Self::Condition { .. } => PrimitiveKind::Condition,
            Self::Semaphore { bounded: false, .. } => PrimitiveKind::Semaphore,
            Self::Semaphore { bounded: true, .. } => PrimitiveKind::BoundedSemaphore,
            Self::Barrier { .. } => PrimitiveKind::Barrier,
            Self::Queue { .. } => PrimitiveKind::Queue,
            Self::Pool { .. } => PrimitiveKind::ThreadPool,
        }
    }
}

/// Queue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueOrder {
    /// `queue.Queue`.
    Fifo,
    /// `queue.LifoQueue`.
    Lifo,
    /// `queue.PriorityQueue` (smallest first).
    Priority,
}

/// When a thread starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StartPolicy {
    /// As soon as the scenario runs.
    Now,
    /// After a delay.
    After(Duration),
    /// Left Created for a person to start.
    Manual,
}

/// One thread of the scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThreadSpec {
    /// Its name, template expanded.
    pub name: String,
    /// The group's template (`Philosopher-{i}`).
    pub group: String,
    /// Index in the group, from 0.
    pub index: usize,
    /// Daemon flag.
    pub daemon: bool,
    /// Stack size in bytes, if given.
    pub stack_size: Option<usize>,
    /// When it starts.
    pub start: StartPolicy,
    /// What it does.
    pub steps: Vec<Step>,
}

/// A duration with optional seeded random jitter (± `jitter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Wait {
    /// The nominal duration.
    pub base: Duration,
    /// Up to this much is added or taken away, per execution.
    pub jitter: Duration,
}

/// How a step acquires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AcquireMode {
    /// Block until acquired.
    Blocking,
    /// Try once.
    Try,
    /// Give up after a timeout.
    Timeout(Duration),
}

/// How many times a block of steps runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Times {
    /// A fixed number of times.
    Count(u64),
    /// Until the scenario is stopped.
    Forever,
}

/// One step of a thread's script.
///
/// Field names mean the same in every variant: `target` and `pool` are
/// typed [`Target`]s (a primitive of the class the step needs; validation
/// makes them), `thread` indexes [`Scenario::threads`],
/// `timeout` is `None` for "wait for ever", `n` counts permits or threads
/// to notify, `count` counts pool tasks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // the fields are documented above, once for all variants
pub enum Step {
    /// Acquire a lock, rlock, semaphore or a condition's lock.
    Acquire { target: Target<Lockables>, mode: AcquireMode },
    /// Release a lock (any thread may), rlock, semaphore (`n` permits) or condition's lock.
    Release { target: Target<Lockables>, n: usize },
    /// Sleep (recorded as Waiting on a sleep).
    Sleep(Wait),
    /// Burn CPU (holding the GIL if emulated).
    Spin(Wait),
    /// `event.wait(timeout)`; with `exit_if_set`, `if event.wait(timeout):
    /// return` — the cooperative-cancellation pattern.
    EventWait { target: Target<Events>, timeout: Option<Duration>, exit_if_set: bool },
    /// `event.set()`.
    Set { target: Target<Events> },
    /// `event.clear()`.
    Clear { target: Target<Events> },
    /// `with cond: cond.wait(timeout)`.
    ConditionWait { target: Target<Conditions>, timeout: Option<Duration> },
    /// `with cond: cond.notify(n)`; `None` notifies all.
    Notify { target: Target<Conditions>, n: Option<usize> },
    /// `barrier.wait(timeout)`.
    BarrierWait { target: Target<Barriers>, timeout: Option<Duration> },
    /// `queue.put(item, timeout=…)`.
    Put { target: Target<Queues>, item: i64, timeout: Option<Duration> },
    /// `queue.get(timeout=…)`.
    Get { target: Target<Queues>, timeout: Option<Duration> },
    /// `queue.task_done()`.
    TaskDone { target: Target<Queues> },
    /// `queue.join()`.
    JoinQueue { target: Target<Queues> },
    /// `thread.join(timeout)`.
    JoinThread { thread: usize, timeout: Option<Duration> },
    /// Submit `count` tasks running `task` to a pool, then wait for them.
    Submit { pool: Target<Pools>, task: Vec<Step>, count: usize },
    /// Rename the running thread (template expanded at validation).
    Rename { name: String },
    /// Panic with a message (Python: raise), reported as raised at `at`,
    /// the step's `file:line:column`.
    Panic { message: String, at: String },
    /// `_thread.exit()`.
    Exit,
    /// `_thread.interrupt_main(signum)`.
    InterruptMain { signum: i32 },
    /// Repeat the inner steps.
    Repeat { times: Times, steps: Vec<Step> },
}
