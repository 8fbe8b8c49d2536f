//! The primitives of a running scenario, made from their specs.

use crate::scenario::{PrimitiveSpec, PrimitiveSpecKind, QueueOrder};
use crate::threading::{
    Barrier, BoundedSemaphore, Condition, ConditionLock, Event, LifoQueue, Lock, PriorityQueue, Queue, RLock,
    Registry, Result, Semaphore, ThreadPoolExecutor,
};
use std::sync::Arc;

/// One live primitive.
pub(crate) enum Instance {
    Lock(Arc<Lock>),
    RLock(Arc<RLock>),
    Event(Event),
    Condition(Condition),
    Semaphore(Semaphore),
    Bounded(BoundedSemaphore),
    Barrier(Barrier),
    Fifo(Queue<i64>),
    Lifo(LifoQueue<i64>),
    Priority(PriorityQueue<i64>),
    Pool(ThreadPoolExecutor),
}

/// Makes every primitive, named as in the file, in `registry`. Specs are
/// validated, so the only failures are Python's own (none today).
pub(crate) fn instantiate(specs: &[PrimitiveSpec], registry: &Registry) -> Result<Vec<Instance>> {
    let mut out: Vec<Instance> = Vec::with_capacity(specs.len());
    for spec in specs {
        let instance = match &spec.kind {
            PrimitiveSpecKind::Lock => Instance::Lock(Arc::new(Lock::with_registry(registry))),
            PrimitiveSpecKind::RLock => Instance::RLock(Arc::new(RLock::with_registry(registry))),
            PrimitiveSpecKind::Event => Instance::Event(Event::with_registry(registry)),
            PrimitiveSpecKind::Condition { lock } => {
                let condition = match lock.and_then(|i| out.get(i)) {
                    Some(Instance::Lock(lock)) => Condition::with_lock(ConditionLock::Lock(lock.clone())),
                    Some(Instance::RLock(lock)) => Condition::with_lock(ConditionLock::RLock(lock.clone())),
                    _ => Condition::with_registry(registry),
                };
                Instance::Condition(condition)
            }
            PrimitiveSpecKind::Semaphore { value, bounded: false } => {
                Instance::Semaphore(Semaphore::with_registry(*value, registry))
            }
            PrimitiveSpecKind::Semaphore { value, bounded: true } => {
                Instance::Bounded(BoundedSemaphore::with_registry(*value, registry))
            }
            PrimitiveSpecKind::Barrier { parties, timeout } => {
                let barrier = Barrier::with_registry(*parties, registry)?;
                Instance::Barrier(match timeout {
                    Some(t) => barrier.with_timeout(*t),
                    None => barrier,
                })
            }
            PrimitiveSpecKind::Queue { maxsize, order } => {
                let maxsize = isize::try_from(*maxsize).unwrap_or(isize::MAX);
                match order {
                    QueueOrder::Fifo => Instance::Fifo(Queue::with_registry(registry, maxsize)),
                    QueueOrder::Lifo => Instance::Lifo(LifoQueue::with_registry(registry, maxsize)),
                    QueueOrder::Priority => {
                        Instance::Priority(PriorityQueue::with_registry(registry, maxsize))
                    }
                }
            }
            PrimitiveSpecKind::Pool { max_workers, prefix } => {
                let mut builder = ThreadPoolExecutor::builder().registry(registry);
                if let Some(n) = max_workers {
                    builder = builder.max_workers(*n);
                }
                if let Some(prefix) = prefix {
                    builder = builder.thread_name_prefix(prefix.clone());
                }
                Instance::Pool(builder.build()?)
            }
        };
        instance.set_name(&spec.name);
        out.push(instance);
    }
    Ok(out)
}

impl Instance {
    fn set_name(&self, name: &str) {
        match self {
            Self::Lock(p) => p.set_name(name),
            Self::RLock(p) => p.set_name(name),
            Self::Event(p) => p.set_name(name),
            Self::Condition(p) => p.set_name(name),
            Self::Semaphore(p) => p.set_name(name),
            Self::Bounded(p) => p.set_name(name),
            Self::Barrier(p) => p.set_name(name),
            Self::Fifo(p) => p.set_name(name),
            Self::Lifo(p) => p.set_name(name),
            Self::Priority(p) => p.set_name(name),
            Self::Pool(p) => p.record().set_name(Some(name.to_owned())),
        }
    }
}
