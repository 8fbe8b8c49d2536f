//! Non-interactive output: running a scenario with lifecycle events as
//! text, `threadscope snapshot` (of a scenario, a pid, or a command run as
//! threadscope's child) as JSON or a jstack-like text dump (live, or a
//! moment of a recording), and `threadscope record`.

mod child;
mod flight;
mod from_recording;
mod record;
mod run;
mod snapshot;
mod text;

pub use child::{STOP_GRACE, snapshot_child};
pub use from_recording::snapshot_from;
pub use record::{RecordArgs, RecordTarget, record};
pub use run::{run, run_with_flight};
pub use snapshot::{Format, SnapshotArgs, snapshot};
pub use text::render_text;
