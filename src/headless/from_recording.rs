//! `threadscope snapshot --from FILE --at T`: one moment of a recording,
//! printed exactly as `threadscope snapshot` printed it live.

use super::snapshot::{Format, without_stacks, write_snapshot};
use crate::record::Recording;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Prints the sample of the recording at `path` taken `at` after its first
/// sample (the last one at or before that moment).
///
/// # Errors
///
/// The file cannot be read or is not a recording this threadscope reads;
/// `at` is past its end; the sample is damaged.
pub fn snapshot_from(path: &Path, at: Duration, format: Format, stacks: bool) -> Result<(), String> {
    let mut recording = Recording::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for problem in recording.problems() {
        let _ = writeln!(std::io::stderr().lock(), "threadscope: {}: {problem}", path.display());
    }
    let first = recording.time_ms(0);
    let span = Duration::from_millis(recording.time_ms(recording.len() - 1) - first);
    if at > span {
        return Err(format!(
            "{}: --at {} is past the end: the recording spans {} ({} samples)",
            path.display(),
            crate::display::human(at),
            crate::display::human(span),
            recording.len()
        ));
    }
    let wanted = first.saturating_add(u64::try_from(at.as_millis()).unwrap_or(u64::MAX));
    let index = recording.sample_at(wanted);
    let mut snapshot = recording.snapshot(index).map_err(|e| format!("{}: {e}", path.display()))?;
    if !stacks {
        without_stacks(&mut snapshot);
    }
    write_snapshot(&mut std::io::BufWriter::new(std::io::stdout().lock()), &snapshot, format, 0)
}
