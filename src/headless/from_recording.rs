//! `threadscope snapshot --from FILE --at T`: one moment of a recording,
//! printed exactly as `threadscope snapshot` printed it live.

use super::snapshot::{Format, without_stacks, write_snapshot};
use crate::display::human;
use crate::inspect::Snapshot;
use crate::record::{RecordError, Recording, Seek};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Prints the sample of the recording at `path` taken `at` after its first
/// sample (the nearest to that moment, see [`Recording::seek`]; stderr says
/// so when none is within half an interval of it). When that sample cannot
/// be read (it, or a record it stands on, is damaged), the nearest one in
/// time that can is printed instead; stderr says which, and what was
/// skipped.
///
/// # Errors
///
/// The file cannot be read or is not a recording this threadscope reads;
/// `at` is past its end; no sample of it can be read.
pub fn snapshot_from(path: &Path, at: Duration, format: Format, stacks: bool) -> Result<(), String> {
    let shown = path.display();
    let say = |text: &dyn std::fmt::Display| {
        let _ = writeln!(std::io::stderr().lock(), "threadscope: {shown}: {text}");
    };
    let mut recording = Recording::open(path).map_err(|e| format!("{shown}: {e}"))?;
    for problem in recording.problems() {
        say(problem);
    }
    let span = recording.span();
    let asked = match recording.seek(at) {
        Seek::At(i) => i,
        Seek::Nearest(i) => {
            say(&format_args!(
                "no sample within {} of {}: the nearest, {} in, is shown",
                human(recording.slack()),
                human(at),
                human(recording.after_first(i))
            ));
            i
        }
        Seek::PastTheEnd(_) => {
            return Err(format!(
                "{shown}: --at {} is past the end: the recording spans {} ({} samples)",
                human(at),
                human(span),
                recording.len()
            ));
        }
    };
    let wanted = recording.time_ms(0).saturating_add(u64::try_from(at.as_millis()).unwrap_or(u64::MAX));
    let Found { index, mut snapshot, unread } = nearest_readable(&mut recording, asked, wanted)
        .map_err(|e| format!("{shown}: no sample can be read (sample {}: {e})", asked + 1))?;
    let len = recording.len();
    let moment = |i: usize| format!("sample {} of {len} ({} in)", i + 1, human(recording.after_first(i)));
    if let Some(why) = unread {
        say(&format_args!(
            "{} cannot be read: {why}; showing {}, the nearest that can",
            moment(asked),
            moment(index)
        ));
    } else if !recording.problems().is_empty() {
        say(&format_args!("showing {}", moment(index)));
    }
    if !stacks {
        without_stacks(&mut snapshot);
    }
    write_snapshot(&mut std::io::BufWriter::new(std::io::stdout().lock()), &snapshot, format, 0)
}

/// The sample printed.
struct Found {
    index: usize,
    snapshot: Snapshot,
    /// Why the sample asked for could not be read, when another is shown.
    unread: Option<RecordError>,
}

/// Sample `asked`, or when it cannot be read the one nearest in time to
/// `wanted_ms` that can (the earlier of two as near).
///
/// # Errors
///
/// No sample decodes: why `asked` does not.
fn nearest_readable(recording: &mut Recording, asked: usize, wanted_ms: u64) -> Result<Found, RecordError> {
    let error = match recording.snapshot(asked) {
        Ok(snapshot) => return Ok(Found { index: asked, snapshot, unread: None }),
        Err(e) => e,
    };
    let mut others: Vec<usize> =
        (0..recording.len()).filter(|&i| i != asked && recording.readable(i)).collect();
    others.sort_by_key(|&i| (recording.time_ms(i).abs_diff(wanted_ms), i));
    for index in others {
        if let Ok(snapshot) = recording.snapshot(index) {
            return Ok(Found { index, snapshot, unread: Some(error) });
        }
    }
    Err(error)
}
