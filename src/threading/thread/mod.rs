//! Threads: [`Thread`] and its [`Builder`], the current and main thread,
//! the module functions (`enumerate`, `active_count`, `stack_size`,
//! `shutdown`…), the excepthook, thread-local data, the names the kernel
//! gets, and the budget that refuses a start before the process would abort.

mod body;
pub(crate) mod budget;
pub(crate) mod builder;
pub(crate) mod current;
pub(crate) mod excepthook;
pub(crate) mod functions;
mod handle;
mod join;
pub(crate) mod local;
pub(crate) mod naming;

pub use handle::Thread;
