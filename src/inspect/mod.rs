//! The inspector's model: the registry and the kernel joined by
//! `native_id`, and what can be derived from them — the wait-for graph and
//! its deadlocks, naming patterns and problems, findings that hold across
//! samples, and per-thread history for the timeline.
//!
//! Everything here is owned, `Serialize` data: the TUI, the JSON output and
//! recordings read the same [`Snapshot`].

mod agent_source;
mod confirm;
mod convoy;
mod deadlock;
mod display_name;
pub mod history;
mod ids;
mod inspector;
mod interned;
mod join;
mod jvm_source;
mod kernel_source;
mod links;
pub mod lints;
pub mod naming;
mod native;
pub mod runtime;
mod snapshot;
pub mod waitgraph;

pub use agent_source::{AGENT, AgentSource};
pub use confirm::confirmed_deadlocks;
pub use deadlock::{CycleStep, Deadlock, DeadlockSearch};
pub use display_name::DisplayName;
pub use history::{History, Segment};
pub use inspector::{
    Inspector, InspectorThreadGuard, mark_inspector_thread, mark_inspector_thread_scoped, mark_inspector_tid,
};
pub use jvm_source::{JvmSource, RuntimeOptions};
pub use kernel_source::KernelSource;
pub use links::{PrimitiveLink, ThreadLink};
pub use lints::{Candidate, Debouncer, Lint, LintKind};
pub use naming::{NamePattern, NamedThread, NamingFinding, NamingFindingKind};
pub use native::{
    HOW as STACKS_HOW, NativeSource, NativeStackView, StacksTaken, add_native_stacks, apply as apply_stacks,
    own_unavailable, pause_words, stack_view, wait_stack,
};
pub use snapshot::{
    FutexGroup, KernelView, NamingView, OLDEST_READABLE_SCHEMA, Origin, PrimitiveView, ProcessView, SCHEMA,
    Snapshot, SystemView, ThreadView, WaitView,
};
pub use waitgraph::WaitGraph;
