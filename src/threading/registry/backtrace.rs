//! Where each blocking wait began, for threadscope's own library threads:
//! a `std::backtrace::Backtrace` captured when a thread really blocks
//! (never on a fast path), resolved to names only when shown. Off by
//! default: a capture walks the stack, which costs more than the rest of
//! a blocking wait's bookkeeping (docs/benchmarks.md, "Wait backtraces").

use std::backtrace::Backtrace;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

/// Turns wait backtraces on or off for every registry of the process (ids
/// and records are process-wide too). Waits that began before keep what
/// they had.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{set_wait_backtraces, wait_backtraces};
/// assert!(!wait_backtraces(), "off by default");
/// set_wait_backtraces(true);
/// assert!(wait_backtraces());
/// set_wait_backtraces(false);
/// ```
pub fn set_wait_backtraces(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

/// True while wait backtraces are captured.
pub fn wait_backtraces() -> bool {
    ON.load(Ordering::Relaxed)
}

/// A capture now, if they are on.
pub(crate) fn capture() -> Option<WaitBacktrace> {
    wait_backtraces().then(|| WaitBacktrace(Arc::new(Backtrace::force_capture())))
}

/// One frame of a resolved wait backtrace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacktraceFrame {
    /// The function, demangled.
    pub function: String,
    /// `file:line:column`, where debug info says.
    pub location: Option<String>,
}

/// The stack of a thread where its current wait began, captured by the
/// thread itself (nothing stopped it). Cheap to clone; resolved on the
/// first [`frames`](Self::frames).
#[derive(Clone)]
pub struct WaitBacktrace(Arc<Backtrace>);

impl std::fmt::Debug for WaitBacktrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WaitBacktrace(..)")
    }
}

impl PartialEq for WaitBacktrace {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for WaitBacktrace {}

/// Frames of the capture itself and of the library's wait bookkeeping,
/// which say nothing about where the program waits. They are the top of
/// every capture (with helpers between them: closures, `bool::then`); the
/// program's frames start after the last of them.
const MACHINERY: [&str; 5] = [
    "std::backtrace::",
    "threadscope::threading::registry::backtrace::",
    "threadscope::threading::registry::thread_record::",
    "threadscope::threading::wait::WaitScope",
    "threadscope::threading::sync::contention::",
];

impl WaitBacktrace {
    /// The frames, innermost first, from the blocking call the program
    /// made (the capture's own frames and the bookkeeping left out).
    /// Resolving symbols happens here, once per capture.
    pub fn frames(&self) -> Vec<BacktraceFrame> {
        trim(parse(&self.0.to_string()))
    }
}

/// `frames` from the first after the last of the [`MACHINERY`].
fn trim(frames: Vec<BacktraceFrame>) -> Vec<BacktraceFrame> {
    let skip = frames
        .iter()
        .rposition(|f| MACHINERY.iter().any(|m| f.function.starts_with(m)))
        .map_or(0, |last| last + 1);
    frames.into_iter().skip(skip).collect()
}

/// std's text of a backtrace (`  3: name` then `             at file:line:col`)
/// as frames.
fn parse(text: &str) -> Vec<BacktraceFrame> {
    let mut out: Vec<BacktraceFrame> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(at) = line.strip_prefix("at ") {
            if let Some(last) = out.last_mut()
                && last.location.is_none()
            {
                last.location = Some(at.to_owned());
            }
        } else if let Some((number, function)) = line.split_once(": ")
            && number.chars().all(|c| c.is_ascii_digit())
        {
            out.push(BacktraceFrame { function: function.to_owned(), location: None });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_text_parses_into_frames() {
        let text = "   0: std::backtrace::Backtrace::create\n             at /rustc/x/library/std/src/backtrace.rs:331:13\n   1: my::wait\n             at ./src/main.rs:4:5\n   2: main\n";
        let frames = parse(text);
        assert_eq!(frames.len(), 3);
        assert_eq!(
            frames[1],
            BacktraceFrame { function: "my::wait".into(), location: Some("./src/main.rs:4:5".into()) }
        );
        assert_eq!(frames[2].location, None);
    }

    #[inline(never)]
    fn waits_here() -> WaitBacktrace {
        WaitBacktrace(Arc::new(Backtrace::force_capture()))
    }

    #[test]
    fn a_capture_names_the_function_that_waited() {
        let frames = parse(&waits_here().0.to_string());
        assert!(frames.iter().any(|f| f.function.contains("waits_here")), "{frames:#?}");
    }

    #[test]
    fn the_bookkeeping_on_top_is_left_out() {
        let frame = |f: &str| BacktraceFrame { function: f.into(), location: None };
        let frames = vec![
            frame("std::backtrace::Backtrace::force_capture"),
            frame("core::bool::<impl bool>::then"),
            frame("threadscope::threading::registry::backtrace::capture"),
            frame("threadscope::threading::registry::thread_record::ThreadRecord::begin_wait"),
            frame("threadscope::threading::wait::WaitScope::on_primitive"),
            frame("threadscope::threading::sync::contention::acquire_slow"),
            frame("threadscope::threading::sync::lock::Lock::acquire"),
            frame("my::transfer"),
        ];
        let kept: Vec<String> = trim(frames).into_iter().map(|f| f.function).collect();
        assert_eq!(kept, ["threadscope::threading::sync::lock::Lock::acquire", "my::transfer"]);
    }
}
