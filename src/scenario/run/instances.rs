//! The primitives of a running scenario, made from their specs and kept by
//! class, so that a step's typed [`Target`] finds its object by index and
//! never meets the wrong kind.

use crate::scenario::target::Target;
use crate::scenario::target::class::{Barriers, Conditions, Events, Lockables, Pools, Queues};
#[cfg(test)]
use crate::scenario::target::classes_of;
use crate::scenario::{PrimitiveSpec, PrimitiveSpecKind, QueueOrder};
#[cfg(test)]
use crate::threading::PrimitiveRecord;
use crate::threading::{
    Barrier, BaseQueue, BoundedSemaphore, Condition, ConditionLock, Event, LifoQueue, Lock, Lockable, Order,
    PriorityQueue, Queue, RLock, Registry, Result, Semaphore, ThreadPoolExecutor,
};
use std::sync::Arc;
use std::time::Duration;

/// What a step does to a queue, whatever its order.
pub(crate) trait StepQueue: Send + Sync {
    fn put(&self, item: i64, timeout: Option<Duration>) -> Result<()>;
    fn get(&self, timeout: Option<Duration>) -> Result<()>;
    fn task_done(&self) -> Result<()>;
    fn join(&self);
    #[cfg(test)]
    fn record(&self) -> &Arc<PrimitiveRecord>;
}

impl<S: Order<i64> + Send + Sync> StepQueue for BaseQueue<i64, S> {
    fn put(&self, item: i64, timeout: Option<Duration>) -> Result<()> {
        self.put_timeout(item, timeout).map_err(|e| e.error)
    }
    fn get(&self, timeout: Option<Duration>) -> Result<()> {
        self.get_timeout(timeout).map(drop)
    }
    fn task_done(&self) -> Result<()> {
        BaseQueue::task_done(self)
    }
    fn join(&self) {
        BaseQueue::join(self);
    }
    #[cfg(test)]
    fn record(&self) -> &Arc<PrimitiveRecord> {
        BaseQueue::record(self)
    }
}

/// Every live primitive of a scenario, by class, in file order within each.
#[derive(Default)]
pub(crate) struct Instances {
    lockables: Vec<Arc<dyn Lockable>>,
    events: Vec<Arc<Event>>,
    conditions: Vec<Arc<Condition>>,
    barriers: Vec<Barrier>,
    queues: Vec<Box<dyn StepQueue>>,
    pools: Vec<ThreadPoolExecutor>,
}

impl Instances {
    pub(crate) fn lockable(&self, target: Target<Lockables>) -> &dyn Lockable {
        &*self.lockables[target.slot()]
    }
    pub(crate) fn event(&self, target: Target<Events>) -> &Event {
        &self.events[target.slot()]
    }
    pub(crate) fn condition(&self, target: Target<Conditions>) -> &Condition {
        &self.conditions[target.slot()]
    }
    pub(crate) fn barrier(&self, target: Target<Barriers>) -> &Barrier {
        &self.barriers[target.slot()]
    }
    pub(crate) fn queue(&self, target: Target<Queues>) -> &dyn StepQueue {
        &*self.queues[target.slot()]
    }
    pub(crate) fn pool(&self, target: Target<Pools>) -> &ThreadPoolExecutor {
        &self.pools[target.slot()]
    }
    pub(crate) fn pools(&self) -> &[ThreadPoolExecutor] {
        &self.pools
    }
}

/// One primitive as made, before it is filed by class.
enum Made {
    Lock(Arc<Lock>),
    RLock(Arc<RLock>),
    Semaphore(Arc<Semaphore>),
    Bounded(Arc<BoundedSemaphore>),
    Condition(Arc<Condition>),
    Event(Arc<Event>),
    Barrier(Barrier),
    Queue(Box<dyn StepQueue>),
    Pool(ThreadPoolExecutor),
}

/// Makes every primitive, named as in the file, in `registry`. Specs are
/// validated, so the only failures are Python's own (none today).
pub(crate) fn instantiate(specs: &[PrimitiveSpec], registry: &Registry) -> Result<Instances> {
    let mut out = Instances::default();
    // A condition over a declared lock needs that lock's handle.
    let mut condition_locks: Vec<Option<ConditionLock>> = Vec::with_capacity(specs.len());
    for spec in specs {
        let made = make(spec, registry, &condition_locks)?;
        condition_locks.push(match &made {
            Made::Lock(lock) => Some(ConditionLock::Lock(lock.clone())),
            Made::RLock(lock) => Some(ConditionLock::RLock(lock.clone())),
            _ => None,
        });
        file(&mut out, made);
    }
    Ok(out)
}

fn make(spec: &PrimitiveSpec, registry: &Registry, locks: &[Option<ConditionLock>]) -> Result<Made> {
    let name = spec.name.as_str();
    Ok(match &spec.kind {
        PrimitiveSpecKind::Lock => {
            Made::Lock(Arc::new(named(Lock::with_registry(registry), Lock::set_name, name)))
        }
        PrimitiveSpecKind::RLock => {
            Made::RLock(Arc::new(named(RLock::with_registry(registry), RLock::set_name, name)))
        }
        PrimitiveSpecKind::Event => {
            Made::Event(Arc::new(named(Event::with_registry(registry), Event::set_name, name)))
        }
        PrimitiveSpecKind::Condition { lock } => {
            let condition = match lock.and_then(|i| locks.get(i).cloned().flatten()) {
                Some(lock) => Condition::with_lock(lock),
                None => Condition::with_registry(registry),
            };
            Made::Condition(Arc::new(named(condition, Condition::set_name, name)))
        }
        PrimitiveSpecKind::Semaphore { value, bounded: false } => Made::Semaphore(Arc::new(named(
            Semaphore::with_registry(*value, registry),
            Semaphore::set_name,
            name,
        ))),
        PrimitiveSpecKind::Semaphore { value, bounded: true } => Made::Bounded(Arc::new(named(
            BoundedSemaphore::with_registry(*value, registry),
            BoundedSemaphore::set_name,
            name,
        ))),
        PrimitiveSpecKind::Barrier { parties, timeout } => {
            let barrier = Barrier::with_registry(*parties, registry)?;
            let barrier = match timeout {
                Some(t) => barrier.with_timeout(*t),
                None => barrier,
            };
            Made::Barrier(named(barrier, Barrier::set_name, name))
        }
        PrimitiveSpecKind::Queue { maxsize, order } => {
            let maxsize = isize::try_from(*maxsize).unwrap_or(isize::MAX);
            Made::Queue(match order {
                QueueOrder::Fifo => {
                    Box::new(named(Queue::with_registry(registry, maxsize), Queue::set_name, name))
                }
                QueueOrder::Lifo => {
                    Box::new(named(LifoQueue::with_registry(registry, maxsize), LifoQueue::set_name, name))
                }
                QueueOrder::Priority => Box::new(named(
                    PriorityQueue::with_registry(registry, maxsize),
                    PriorityQueue::set_name,
                    name,
                )),
            })
        }
        PrimitiveSpecKind::Pool { max_workers, prefix } => {
            let mut builder = ThreadPoolExecutor::builder().registry(registry);
            if let Some(n) = max_workers {
                builder = builder.max_workers(*n);
            }
            if let Some(prefix) = prefix {
                builder = builder.thread_name_prefix(prefix.clone());
            }
            let pool = builder.build()?;
            pool.record().set_name(Some(name.to_owned()));
            Made::Pool(pool)
        }
    })
}

fn named<T>(primitive: T, set_name: impl Fn(&T, String), name: &str) -> T {
    set_name(&primitive, name.to_owned());
    primitive
}

/// Files a made primitive under each of its classes. The classes must be
/// those [`classes_of`] gives, in whose order [`Target`] slots count:
/// `every_target_finds_its_own_primitive` checks the two agree.
fn file(out: &mut Instances, made: Made) {
    match made {
        Made::Lock(p) => out.lockables.push(p),
        Made::RLock(p) => out.lockables.push(p),
        Made::Semaphore(p) => out.lockables.push(p),
        Made::Bounded(p) => out.lockables.push(p),
        Made::Condition(p) => {
            out.lockables.push(p.clone());
            out.conditions.push(p);
        }
        Made::Event(p) => out.events.push(p),
        Made::Barrier(p) => out.barriers.push(p),
        Made::Queue(p) => out.queues.push(p),
        Made::Pool(p) => out.pools.push(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::target::class::{Barriers, Conditions, Events, Lockables, Pools, Queues};

    #[test]
    fn every_target_finds_its_own_primitive() {
        let text = r#"
            name = "all-kinds"
            description = "one of each"
            [primitives]
            l = { kind = "lock" }
            e = { kind = "event" }
            r = { kind = "rlock" }
            c = { kind = "condition", lock = "l" }
            s = { kind = "semaphore", value = 2 }
            b = { kind = "semaphore", bounded = true }
            own = { kind = "condition" }
            bar = { kind = "barrier", parties = 2 }
            q = { kind = "queue" }
            lq = { kind = "queue", order = "lifo" }
            p = { kind = "pool", max_workers = 1 }
        "#;
        let scenario = crate::scenario::parse("all-kinds", text, None).unwrap();
        let registry = Registry::new();
        let live = instantiate(&scenario.primitives, &registry).unwrap();
        let specs = &scenario.primitives;
        let mut found = 0;
        for (index, spec) in specs.iter().enumerate() {
            let name = Some(spec.name.clone());
            let mut names = Vec::new();
            if let Some(t) = Target::<Lockables>::of(specs, index) {
                names.push(live.lockable(t).record().name());
            }
            if let Some(t) = Target::<Events>::of(specs, index) {
                names.push(live.event(t).name());
            }
            if let Some(t) = Target::<Conditions>::of(specs, index) {
                names.push(live.condition(t).name());
            }
            if let Some(t) = Target::<Barriers>::of(specs, index) {
                names.push(live.barrier(t).name());
            }
            if let Some(t) = Target::<Queues>::of(specs, index) {
                names.push(live.queue(t).record().name());
            }
            if let Some(t) = Target::<Pools>::of(specs, index) {
                names.push(live.pool(t).record().name());
            }
            assert_eq!(names.len(), classes_of(&spec.kind).count(), "{}", spec.name);
            assert!(names.iter().all(|n| *n == name), "{}: {names:?}", spec.name);
            found += names.len();
        }
        // Two conditions are in two classes each.
        assert_eq!(found, specs.len() + 2);
        live.pools().iter().for_each(|p| p.shutdown(true, false));
    }
}
