//! Running a scenario: its primitives and threads, live, on real threads.
//!
//! [`RunningScenario::start`] makes every primitive and thread (in the
//! given registry, names as in the file) and starts those that start now;
//! a helper starts delayed ones when their time comes; manual ones wait for
//! [`RunningScenario::start_thread`]. [`RunningScenario::stop`] is
//! cooperative and says which threads could not be stopped, and why.
//! `controls.rs` has what a person can do to a running scenario.

mod control;
mod controls;
mod instances;
mod interpreter;
mod jitter;
mod report;
mod workers;

pub use control::ThreadProgress;
pub use controls::StopThread;
pub use report::{StopReport, Stuck};
pub use workers::WorkerKind;

use crate::scenario::{Scenario, StartPolicy, Step, describe};
use crate::threading::{Error, Lock, Registry, Result, Thread, ThreadPoolExecutor};
use control::{Control, StopSignal};
use instances::Instances;
use interpreter::Interpreter;
use parking_lot::Mutex;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// The emulated interpreter lock.
pub(crate) struct Gil {
    lock: Lock,
    switch_interval: Duration,
}

/// One thread of the running scenario: from the file, or spawned later.
pub(crate) struct Member {
    thread: Thread,
    /// The name it was given (it may rename itself since).
    name: String,
    steps: Arc<Vec<Step>>,
    control: Arc<Control>,
}

/// What the scenario's threads share.
pub(crate) struct Shared {
    /// Itself, weakly, for pool tasks to reach the scenario.
    weak: Weak<Shared>,
    scenario: Scenario,
    instances: Instances,
    members: Mutex<Vec<Arc<Member>>>,
    /// Stops pool tasks and the delayed-start helper; each member also has
    /// its own signal, so one thread can be stopped alone.
    stop: StopSignal,
    gil: Option<Gil>,
}

impl Shared {
    fn thread(&self, index: usize) -> Option<Thread> {
        self.members.lock().get(index).map(|m| m.thread.clone())
    }

    fn stop_all(&self) {
        self.stop.stop();
        for member in self.members.lock().iter() {
            member.control.stop.stop();
        }
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
        // A scenario is there to be watched: its holds' ages must be true
        // from the first snapshot, even if the inspector comes later.
        crate::threading::start_hold_clock();
        let instances = instances::instantiate(&scenario.primitives, registry)?;
        let gil = scenario.gil.map(|spec| {
            let lock = Lock::with_registry(registry);
            lock.set_name("GIL");
            Gil { lock, switch_interval: spec.switch_interval }
        });
        let shared = Arc::new_cyclic(|weak| Shared {
            weak: weak.clone(),
            scenario,
            instances,
            members: Mutex::new(Vec::new()),
            stop: StopSignal::default(),
            gil,
        });
        for spec in &shared.scenario.threads {
            let member = make_member(
                &shared,
                registry,
                spec.name.clone(),
                spec.daemon,
                spec.stack_size,
                spec.steps.clone(),
            );
            shared.members.lock().push(member);
        }
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
        for (index, spec) in self.shared.scenario.threads.iter().enumerate() {
            if spec.start == StartPolicy::Now
                && let Some(thread) = self.shared.thread(index)
            {
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
                    if let Some(thread) = shared.thread(index) {
                        let _ = thread.start();
                    }
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

    /// Its threads: the file's in file order (Created ones included), then
    /// any spawned since.
    pub fn threads(&self) -> Vec<Thread> {
        self.shared.members.lock().iter().map(|m| m.thread.clone()).collect()
    }

    fn member(&self, name: &str) -> Result<Arc<Member>> {
        let members = self.shared.members.lock();
        members
            .iter()
            .find(|m| m.thread.name() == name)
            .or_else(|| members.iter().find(|m| m.name == name))
            .cloned()
            .ok_or_else(|| Error::runtime(format!("no thread named {name:?} in this scenario")))
    }

    /// Starts the thread named `name` (one left Created, or delayed).
    ///
    /// # Errors
    ///
    /// `RuntimeError: threads can only be started once` if it already
    /// runs; a `RuntimeError` naming the thread if there is none such.
    pub fn start_thread(&self, name: &str) -> Result<()> {
        self.member(name)?.thread.start()
    }

    /// Where each thread is in its script.
    pub fn progress(&self) -> Vec<ThreadProgress> {
        let scenario = &self.shared.scenario;
        let members = self.shared.members.lock();
        members
            .iter()
            .map(|m| {
                let progress = &m.control.progress;
                let step = progress.step.load(Ordering::Relaxed);
                ThreadProgress {
                    name: m.name.clone(),
                    step,
                    step_label: m.steps.get(step).map_or_else(String::new, |s| describe(s, scenario)),
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
        self.shared.stop_all();
        if let Some(starter) = self.starter.take() {
            let _ = starter.join();
        }
        for pool in self.shared.instances.pools() {
            pool.shutdown(false, true);
        }
        let deadline = Instant::now() + grace;
        // The pools' workers are the scenario's threads too: a worker in a
        // blocked task keeps the program alive as much as a member does.
        let mut threads = self.threads();
        threads.extend(self.shared.instances.pools().iter().flat_map(ThreadPoolExecutor::workers));
        for thread in &threads {
            if thread.is_alive() {
                let _ = thread.join_timeout(deadline.saturating_duration_since(Instant::now()));
            }
        }
        report::build(&threads, &self.registry)
    }
}

impl Drop for RunningScenario {
    fn drop(&mut self) {
        // Threads still running keep going, as Python's would; they only
        // learn that nobody will wait for them.
        self.shared.stop_all();
    }
}

/// A Created thread running `steps`, registered as a member.
fn make_member(
    shared: &Arc<Shared>,
    registry: &Registry,
    name: String,
    daemon: bool,
    stack_size: Option<usize>,
    steps: Vec<Step>,
) -> Arc<Member> {
    let control = Arc::new(Control::default());
    let steps = Arc::new(steps);
    let weak: Weak<Shared> = Arc::downgrade(shared);
    let stream = shared.members.lock().len();
    let mut builder = Thread::builder().registry(registry).name(&name).daemon(daemon);
    if let Some(bytes) = stack_size {
        builder = builder.stack_size(bytes);
    }
    let (body_steps, body_control) = (steps.clone(), control.clone());
    let thread = builder.target(move || {
        // Upgraded only once running, so an unstarted thread does not keep
        // the scenario alive.
        let Some(shared) = weak.upgrade() else { return };
        Interpreter::new(&shared, stream, Some(&body_control)).run_thread(&body_steps);
    });
    Arc::new(Member { thread, name, steps, control })
}
