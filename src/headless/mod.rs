//! Non-interactive output: running a scenario with lifecycle events as
//! text, and `threadscope snapshot` as JSON or a jstack-like text dump.

mod run;
mod snapshot;
mod text;

pub use run::run;
pub use snapshot::{Format, SnapshotArgs, snapshot};
pub use text::render_text;
