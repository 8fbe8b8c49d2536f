//! Python's `concurrent.futures`: [`Future`], [`ThreadPoolExecutor`] and
//! its workers, and `wait` / `as_completed` over many futures.

pub(crate) mod future;
pub(crate) mod pool;
mod pool_worker;
mod result;
pub(crate) mod wait;
