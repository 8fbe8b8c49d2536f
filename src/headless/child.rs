//! `threadscope snapshot -- CMD ARGS…`: runs CMD as threadscope's child
//! (agents injected), snapshots it after `--after`, then stops it and says
//! how it ended.

use super::run::{install_safe_excepthook, interrupt_flag};
use super::snapshot::{SnapshotArgs, print_snapshots};
use crate::display::human;
use crate::inspect::{Inspector, mark_inspector_thread};
use crate::launch::{Launched, Settled, describe};
use std::time::Duration;

/// How long the child has to end after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// Prints the snapshots of `child` asked for, then stops it.
///
/// # Errors
///
/// The child exited before the (first) snapshot, or could not be read.
/// It is stopped in every case.
pub fn snapshot_child(args: &SnapshotArgs, mut child: Launched) -> Result<(), String> {
    mark_inspector_thread();
    let interrupted = interrupt_flag()?;
    install_safe_excepthook();
    let who = format!("`{}` (pid {})", child.command(), child.pid());
    let exited_before = |status| {
        format!(
            "{who} {} before the snapshot (--after {}): nothing to show",
            describe(status),
            human(args.after)
        )
    };
    if let Settled::Exited(status) = child.settle(args.after) {
        return Err(exited_before(status));
    }
    let mut inspector = Inspector::pid_with(child.pid(), &args.runtime).map_err(|e| format!("{who}: {e}"))?;
    let rest = SnapshotArgs { after: args.after.saturating_sub(child.age()), ..args.clone() };
    let mut ended = None;
    print_snapshots(&mut inspector, &rest, &interrupted, |printed| match child.status() {
        Some(status) if printed == 0 => Err(exited_before(status)),
        Some(status) => {
            ended = Some(status);
            Ok(false)
        }
        None => Ok(true),
    })?;
    let words = match ended {
        Some(status) => format!("{who} {} during the snapshots", describe(status)),
        None => match child.stop(STOP_GRACE) {
            Some(status) => format!("stopped {who}: {}", describe(status)),
            None => format!("stopped {who}: its exit status could not be read"),
        },
    };
    eprintln!("threadscope: {words}");
    Ok(())
}
