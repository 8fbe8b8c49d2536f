//! Running a scenario: its primitives and threads, live, on real threads.
//!
//! [`RunningScenario::start`] makes every primitive and thread (in the
//! given registry, names as in the file) and starts those that start now;
//! a helper starts delayed ones when their time comes; manual ones wait for
//! [`RunningScenario::start_thread`]. [`RunningScenario::stop`] is
//! cooperative and says which threads could not be stopped, and why.

mod control;
mod instances;
mod interpreter;
mod jitter;
mod report;

pub use control::ThreadProgress;
pub use report::{StopReport, Stuck};

use crate::scenario::{Scenario, StartPolicy, Step, describe};
use crate::threading::{Error, Lock, Registry, Result, Thread};
use control::{Progress, StopSignal};
use instances::Instance;
use interpreter::Interpreter;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

/// The emulated interpreter lock.
pub(crate) struct Gil {
    lock: Lock,
    switch_interval: Duration,
}

/// What the scenario's threads share.
pub(crate) struct Shared {
    /// Itself, weakly, for pool tasks to reach the scenario.
    weak: Weak<Shared>,
    scenario: Scenario,
    instances: Vec<Instance>,
    threads: OnceLock<Vec<Thread>>,
    progress: Vec<Progress>,
    stop: StopSignal,
    gil: Option<Gil>,
}

impl Shared {
    fn thread(&self, index: usize) -> &Thread {
        &self.threads.get().expect("threads are made before any runs")[index]
    }
}

/// A scenario whose threads are running.
pub struct RunningScenario {
    shared: Arc<Shared>,
    registry: Registry,
    started_at: Instant,
    starter: Option<std::thread::JoinHandle<()>>,
}

impl RunningScenario {
    /// Makes the scenario's primitives and threads in `registry` and starts
    /// the threads that start now.
    ///
    /// # Errors
    ///
    /// `RuntimeError: can't start new thread` if the process runs out of
    /// room part-way; the threads already started are stopped first.
    pub fn start(scenario: Scenario, registry: &Registry) -> Result<Self> {
        let instances = instances::instantiate(&scenario.primitives, registry)?;
        let gil = scenario.gil.map(|spec| {
            let lock = Lock::with_registry(registry);
            lock.set_name("GIL");
            Gil { lock, switch_interval: spec.switch_interval }
        });
        let progress = scenario.threads.iter().map(|_| Progress::default()).collect();
        let shared = Arc::new_cyclic(|weak| Shared {
            weak: weak.clone(),
            scenario,
            instances,
            threads: OnceLock::new(),
            progress,
            stop: StopSignal::default(),
            gil,
        });
        let threads = shared
            .scenario
            .threads
            .iter()
            .enumerate()
            .map(|(i, spec)| make_thread(&shared, registry, i, spec))
            .collect();
        let _ = shared.threads.set(threads);
        let mut running =
            Self { shared, registry: registry.clone(), started_at: Instant::now(), starter: None };
        if let Err(err) = running.start_now() {
            running.stop(Duration::from_secs(1));
            return Err(err);
        }
        running.starter = running.start_delayed();
        Ok(running)
    }

    fn start_now(&self) -> Result<()> {
        for (thread, spec) in self.threads().iter().zip(&self.shared.scenario.threads) {
            if spec.start == StartPolicy::Now {
                thread.start()?;
            }
        }
        Ok(())
    }

    /// A plain helper thread (not in the registry) that starts delayed threads on time.
    fn start_delayed(&self) -> Option<std::thread::JoinHandle<()>> {
        let mut delayed: Vec<(Duration, usize)> = (self.shared.scenario.threads.iter().enumerate())
            .filter_map(|(i, spec)| match spec.start {
                StartPolicy::After(delay) => Some((delay, i)),
                _ => None,
            })
            .collect();
        if delayed.is_empty() {
            return None;
        }
        delayed.sort();
        let shared = Arc::downgrade(&self.shared);
        let origin = self.started_at;
        std::thread::Builder::new()
            .name("ts-scenario-start".into())
            .spawn(move || {
                for (delay, index) in delayed {
                    let Some(shared) = shared.upgrade() else { return };
                    if shared.stop.wait_until(Some(origin + delay)) {
                        return;
                    }
                    let _ = shared.thread(index).start();
                }
            })
            .ok()
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &Scenario {
        &self.shared.scenario
    }

    /// The registry its threads and primitives are recorded in.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Its threads, in file order (Created ones included).
    pub fn threads(&self) -> &[Thread] {
        self.shared.threads.get().map_or(&[], Vec::as_slice)
    }

    /// Starts the thread named `name` (one left Created, or delayed).
    ///
    /// # Errors
    ///
    /// `RuntimeError: threads can only be started once` if it already
    /// runs; a `RuntimeError` naming the thread if there is none such.
    pub fn start_thread(&self, name: &str) -> Result<()> {
        let thread = self
            .threads()
            .iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| Error::runtime(format!("no thread named {name:?} in this scenario")))?;
        thread.start()
    }

    /// Where each thread is in its script.
    pub fn progress(&self) -> Vec<ThreadProgress> {
        let scenario = &self.shared.scenario;
        (scenario.threads.iter().zip(&self.shared.progress))
            .map(|(spec, progress)| {
                let step = progress.step.load(Ordering::Relaxed);
                ThreadProgress {
                    name: spec.name.clone(),
                    step,
                    step_label: spec.steps.get(step).map_or_else(String::new, |s| describe(s, scenario)),
                    loops: progress.loops.load(Ordering::Relaxed),
                    ops: progress.ops.load(Ordering::Relaxed),
                    failed_tasks: progress.failed_tasks.load(Ordering::Relaxed),
                    last_task_error: progress.last_task_error.lock().clone(),
                }
            })
            .collect()
    }

    /// Asks every thread to stop and waits up to `grace` for them. Threads
    /// blocked where Python could not interrupt them either (a plain
    /// acquire, get or wait) are reported, with what they wait on.
    pub fn stop(&mut self, grace: Duration) -> StopReport {
        self.shared.stop.stop();
        if let Some(starter) = self.starter.take() {
            let _ = starter.join();
        }
        let deadline = Instant::now() + grace;
        for thread in self.threads() {
            if thread.is_alive() {
                let _ = thread.join_timeout(deadline.saturating_duration_since(Instant::now()));
            }
        }
        report::build(self.threads(), &self.registry)
    }
}

impl Drop for RunningScenario {
    fn drop(&mut self) {
        // Threads still running keep going, as Python's would; they only
        // learn that nobody will wait for them.
        self.shared.stop.stop();
    }
}

fn make_thread(
    shared: &Arc<Shared>,
    registry: &Registry,
    index: usize,
    spec: &crate::scenario::ThreadSpec,
) -> Thread {
    let weak: Weak<Shared> = Arc::downgrade(shared);
    let mut builder = Thread::builder().registry(registry).name(&spec.name).daemon(spec.daemon);
    if let Some(bytes) = spec.stack_size {
        builder = builder.stack_size(bytes);
    }
    builder.target(move || {
        // Upgraded only once running, so an unstarted thread does not keep
        // the scenario alive.
        let Some(shared) = weak.upgrade() else { return };
        let steps: &[Step] = &shared.scenario.threads[index].steps;
        Interpreter::new(&shared, index, Some(&shared.progress[index])).run_thread(steps);
    })
}
