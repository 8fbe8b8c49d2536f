//! Running one thread's steps against the scenario's live primitives.
//!
//! A step that fails the way Python would raise (a broken barrier, a
//! release of an unlocked lock) is raised: the thread panics with the
//! Python error, the excepthook reports it, and its outcome records it.

use super::Shared;
use super::control::{Control, StopSignal};
use super::instances::Instances;
use super::jitter::Jitter;
use crate::scenario::target::Target;
use crate::scenario::target::class::{Lockables, Pools};
use crate::scenario::{AcquireMode, Step, Times, Wait, describe};
use crate::threading::{self, Error, ErrorKind, Result};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Whether to go on after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Next,
    Stop,
}

/// Interprets steps for one thread.
pub(crate) struct Interpreter<'a> {
    shared: &'a Shared,
    jitter: Jitter,
    control: Option<&'a Control>,
    /// What this thread acquired and has not released, oldest first, so a
    /// stopped thread can let go of it (as if its script used `with`).
    held: Vec<Target<Lockables>>,
    /// Where the step that failed is, once one has (see [`Self::raise`]).
    failed_at: Option<String>,
}

/// How long one unit of spinning lasts (one op on the throughput counter).
const SPIN_UNIT: Duration = Duration::from_micros(100);

impl<'a> Interpreter<'a> {
    pub(crate) fn new(shared: &'a Shared, stream: usize, control: Option<&'a Control>) -> Self {
        Self {
            shared,
            jitter: Jitter::new(shared.scenario.seed, stream),
            control,
            held: Vec::new(),
            failed_at: None,
        }
    }

    /// Step `index` (from 0) of the running thread's script, in words.
    fn place(&self, index: usize, step: &Step) -> String {
        let thread = threading::current_thread().name();
        let scenario = &self.shared.scenario;
        format!("{}: {thread}, step {} ({})", scenario.name, index + 1, describe(step, scenario))
    }

    /// This thread's stop signal (pool tasks answer to the scenario's).
    fn stop(&self) -> &'a StopSignal {
        self.control.map_or(&self.shared.stop, |c| &c.stop)
    }

    /// Runs a thread's whole script, raising (panicking) on a Python error.
    ///
    /// A thread that stops releases what it still holds, so that stopping
    /// it does not strand the threads queued behind it. A thread that
    /// raises keeps its locks, as a Python thread that raised outside a
    /// `with` block would.
    pub(crate) fn run_thread(&mut self, steps: &[Step]) {
        match self.run(steps, true) {
            Ok(Flow::Stop) => self.release_held(),
            Ok(Flow::Next) => {}
            Err(err) => self.raise(err),
        }
    }

    /// Python's `raise`: the thread ends with `err` as its exception,
    /// reported at the step that failed (`deadlock: Transfer-AB, step 3
    /// (wait on gate)`), not at this file's line.
    fn raise(&mut self, err: Error) -> ! {
        let at = self.failed_at.take().unwrap_or_else(|| self.shared.scenario.name.clone());
        threading::raise_at(err.to_string(), at)
    }

    fn release_held(&mut self) {
        while let Some(target) = self.held.pop() {
            let _ = self.live().lockable(target).release();
        }
    }

    fn run(&mut self, steps: &[Step], top: bool) -> Result<Flow> {
        for (index, step) in steps.iter().enumerate() {
            if self.stop().is_stopped() {
                return Ok(Flow::Stop);
            }
            if top && let Some(progress) = self.control.map(|c| &c.progress) {
                progress.step.store(index, Ordering::Relaxed);
            }
            match self.step(step, top) {
                Ok(Flow::Stop) => return Ok(Flow::Stop),
                Ok(Flow::Next) => {}
                Err(err) => {
                    // The innermost step that failed says where.
                    if self.failed_at.is_none() {
                        self.failed_at = Some(self.place(index, step));
                    }
                    return Err(err);
                }
            }
            self.count_ops(1);
        }
        Ok(Flow::Next)
    }

    fn count_ops(&self, n: u64) {
        if let Some(control) = self.control {
            control.progress.ops.fetch_add(n, Ordering::Relaxed);
        }
    }

    fn shared_weak(&self) -> std::sync::Weak<Shared> {
        self.shared.weak.clone()
    }

    /// A jitter stream for pool task `n` of this thread, apart from every thread's.
    fn task_stream(&mut self, n: usize) -> usize {
        self.shared.scenario.threads.len() + self.jitter.next_stream() + n
    }

    fn live(&self) -> &'a Instances {
        &self.shared.instances
    }

    fn step(&mut self, step: &Step, top: bool) -> Result<Flow> {
        match step {
            Step::Acquire { target, mode } => {
                if self.acquire(*target, *mode)? {
                    self.held.push(*target);
                }
            }
            Step::Release { target, n } => {
                self.live().lockable(*target).release_n(*n)?;
                for _ in 0..*n {
                    if let Some(pos) = self.held.iter().rposition(|t| t == target) {
                        self.held.remove(pos);
                    }
                }
            }
            Step::Sleep(wait) => {
                let duration = self.jitter.apply(*wait);
                if self.stop().sleep(duration) {
                    return Ok(Flow::Stop);
                }
            }
            Step::Spin(wait) => return Ok(self.spin(*wait)),
            Step::EventWait { target, timeout, exit_if_set } => {
                if self.live().event(*target).wait(*timeout)? && *exit_if_set {
                    return Ok(Flow::Stop);
                }
            }
            Step::Set { target } => self.live().event(*target).set(),
            Step::Clear { target } => self.live().event(*target).clear(),
            Step::ConditionWait { target, timeout } => {
                let cond = self.live().condition(*target);
                let _held = cond.guard();
                cond.wait(*timeout)?;
            }
            Step::Notify { target, n } => {
                let cond = self.live().condition(*target);
                let _held = cond.guard();
                match n {
                    Some(n) => cond.notify(*n)?,
                    None => cond.notify_all()?,
                }
            }
            Step::BarrierWait { target, timeout } => {
                self.live().barrier(*target).wait(*timeout)?;
            }
            Step::Put { target, item, timeout } => self.live().queue(*target).put(*item, *timeout)?,
            Step::Get { target, timeout } => self.live().queue(*target).get(*timeout)?,
            Step::TaskDone { target } => self.live().queue(*target).task_done()?,
            Step::JoinQueue { target } => self.live().queue(*target).join(),
            Step::Submit { pool, task, count } => return self.submit(*pool, task, *count),
            Step::JoinThread { thread, timeout } => {
                // Members are made for every thread of the file before any
                // runs, so a validated index is always there.
                if let Some(thread) = self.shared.thread(*thread) {
                    match timeout {
                        Some(t) => thread.join_timeout(*t)?,
                        None => thread.join()?,
                    }
                }
            }
            Step::Rename { name } => threading::current_thread().set_name(name),
            Step::Panic { message, at } => threading::raise_at(message.clone(), at.clone()),
            Step::Exit => threading::exit(),
            Step::InterruptMain { signum } => threading::interrupt_main(*signum)?,
            Step::Repeat { times, steps } => return self.repeat(*times, steps, top),
        }
        Ok(Flow::Next)
    }

    /// Acquires in `mode`; true if the thread now holds it (a try or a
    /// timed acquire may not).
    fn acquire(&self, target: Target<Lockables>, mode: AcquireMode) -> Result<bool> {
        let lockable = self.live().lockable(target);
        Ok(match mode {
            AcquireMode::Blocking => {
                lockable.acquire();
                true
            }
            AcquireMode::Try => lockable.try_acquire(),
            AcquireMode::Timeout(t) => lockable.acquire_timeout(t)?,
        })
    }

    fn repeat(&mut self, times: Times, steps: &[Step], top: bool) -> Result<Flow> {
        let mut done = 0u64;
        while times == Times::Forever || Times::Count(done) != times {
            if self.stop().is_stopped() || self.run(steps, false)? == Flow::Stop {
                return Ok(Flow::Stop);
            }
            done += 1;
            if top && let Some(progress) = self.control.map(|c| &c.progress) {
                progress.loops.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(Flow::Next)
    }

    /// Burns CPU for the (jittered) duration, holding the emulated GIL if
    /// there is one and handing it over every switch interval.
    fn spin(&mut self, wait: Wait) -> Flow {
        let end = Instant::now() + self.jitter.apply(wait);
        loop {
            let held = self.shared.gil.as_ref().map(|gil| (gil.lock.guard(), gil.switch_interval));
            let slice_end = match &held {
                Some((_, interval)) => end.min(Instant::now() + *interval),
                None => end,
            };
            while Instant::now() < slice_end {
                burn(SPIN_UNIT);
                self.count_ops(1);
                if self.stop().is_stopped() {
                    return Flow::Stop;
                }
            }
            drop(held);
            if Instant::now() >= end {
                return Flow::Next;
            }
            // Let a thread waiting for the GIL take it, as CPython's forced
            // switch does.
            std::thread::yield_now();
        }
    }
}

/// Busy work for about `unit`.
fn burn(unit: Duration) {
    let start = Instant::now();
    let mut x = 0x9E37_79B9_u64;
    while start.elapsed() < unit {
        for _ in 0..64 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

/// Pool steps.
impl Interpreter<'_> {
    /// Submits `count` tasks and waits for their futures. A task that
    /// raises leaves its error in its future, as in Python; the submitter
    /// carries on.
    fn submit(&mut self, pool: Target<Pools>, task: &[Step], count: usize) -> Result<Flow> {
        let executor = self.live().pool(pool);
        let mut futures = Vec::with_capacity(count);
        for n in 0..count {
            let shared = self.shared_weak();
            let task = task.to_vec();
            let stream = self.task_stream(n);
            futures.push(executor.submit(move || {
                if let Some(shared) = shared.upgrade() {
                    let mut interpreter = Interpreter::new(&shared, stream, None);
                    if let Err(err) = interpreter.run(&task, false) {
                        interpreter.raise(err);
                    }
                }
            })?);
        }
        for future in futures {
            if self.stop().is_stopped() {
                return Ok(Flow::Stop);
            }
            match future.result() {
                Ok(()) => {}
                Err(err) if err.kind() == ErrorKind::CancelledError => return Ok(Flow::Stop),
                Err(err) => {
                    // The exception stays in its future, as in Python; the
                    // progress says so.
                    if let Some(progress) = self.control.map(|c| &c.progress) {
                        progress.failed_tasks.fetch_add(1, Ordering::Relaxed);
                        *progress.last_task_error.lock() = Some(err.to_string());
                    }
                }
            }
        }
        Ok(Flow::Next)
    }
}
