//! Non-interactive output: running a scenario with lifecycle events as
//! text, and `threadscope snapshot` (of a scenario, a pid, or a command run
//! as threadscope's child) as JSON or a jstack-like text dump.

mod child;
mod run;
mod snapshot;
mod text;

pub use child::{STOP_GRACE, snapshot_child};
pub use run::run;
pub use snapshot::{Format, SnapshotArgs, snapshot};
pub use text::render_text;
