//! A JVM's threads at their own cadence: the last dump, refreshed every few seconds.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::attach::{AttachOptions, thread_dump};
use super::detect::JvmTarget;
use super::error::JvmError;
use super::model::{JavaThread, JvmThreadDump};

/// How often a [`JvmView`] asks the JVM, and the limits of each ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JvmViewOptions {
    /// Time between dumps (default 5 s). Each dump stops every Java thread
    /// at a safepoint, about 8 µs per thread (8 ms at 1,000 threads, see
    /// docs/benchmarks.md), so this is much slower than the kernel sampler.
    pub interval: Duration,
    /// Timeouts and what to ask for.
    pub attach: AttachOptions,
}

impl Default for JvmViewOptions {
    fn default() -> Self {
        JvmViewOptions { interval: Duration::from_secs(5), attach: AttachOptions::default() }
    }
}

/// One dump with when it was taken, what it cost, and a TID index.
#[derive(Debug)]
pub struct JvmSample {
    /// The parsed dump.
    pub dump: JvmThreadDump,
    /// When the request was sent.
    pub taken_at: Instant,
    /// Connect, dump, read and parse, end to end.
    pub round_trip: Duration,
    by_native_id: HashMap<u32, usize>,
}

impl JvmSample {
    /// Wraps a dump (for tests and replays; [`JvmView`] makes its own).
    pub fn new(dump: JvmThreadDump, taken_at: Instant, round_trip: Duration) -> Self {
        let by_native_id = dump.index_by_native_id();
        JvmSample { dump, taken_at, round_trip, by_native_id }
    }

    /// The Java (or JVM-internal) thread whose kernel TID is `tid`.
    pub fn thread(&self, tid: u32) -> Option<&JavaThread> {
        self.by_native_id.get(&tid).map(|&i| &self.dump.threads[i])
    }

    /// The index in `dump.threads` of the thread whose kernel TID is `tid`.
    pub fn index(&self, tid: u32) -> Option<usize> {
        self.by_native_id.get(&tid).copied()
    }
}

/// A poller that keeps a JVM's last thread dump and takes a new one when
/// its interval has passed.
///
/// [`poll`](Self::poll) is cheap when no dump is due (a clock comparison),
/// so a sampler can call it on every refresh. A permanent error (the JVM
/// exited, attach is disabled) stops the view: it forgets the last dump
/// and never asks again. A passing one (a timeout) keeps the last dump and
/// tries again an interval later.
///
/// # Examples
///
/// ```no_run
/// use std::time::Instant;
/// use threadscope::jvm::{JvmTarget, JvmView, JvmViewOptions};
/// # fn main() -> Result<(), threadscope::jvm::JvmError> {
/// let mut view = JvmView::new(JvmTarget::detect(4242)?, JvmViewOptions::default());
/// view.poll(Instant::now())?;
/// if let Some(sample) = view.latest() {
///     let name = sample.thread(4250).map(|t| t.name.to_text());
///     println!("TID 4250 is {name:?}");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct JvmView {
    target: JvmTarget,
    options: JvmViewOptions,
    latest: Option<Arc<JvmSample>>,
    next_due: Option<Instant>,
    stopped: Option<String>,
}

impl JvmView {
    /// A view of `target`; the first [`poll`](Self::poll) takes a dump.
    pub fn new(target: JvmTarget, options: JvmViewOptions) -> Self {
        JvmView { target, options, latest: None, next_due: None, stopped: None }
    }

    /// The JVM this view asks.
    pub fn target(&self) -> &JvmTarget {
        &self.target
    }

    /// The last dump, if there is one (shared: cloning the `Arc` is free).
    pub fn latest(&self) -> Option<&Arc<JvmSample>> {
        self.latest.as_ref()
    }

    /// Why the view stopped asking, after a permanent error.
    pub fn stopped(&self) -> Option<&str> {
        self.stopped.as_deref()
    }

    /// True when the next [`poll`](Self::poll) at `now` would ask the JVM.
    pub fn is_due(&self, now: Instant) -> bool {
        self.stopped.is_none() && self.next_due.is_none_or(|due| now >= due)
    }

    /// Takes a dump if one is due at `now`; returns whether it did.
    ///
    /// # Errors
    ///
    /// The [`JvmError`] of this attempt; [`JvmError::is_permanent`] ones
    /// stop the view (later polls return `Ok(false)`).
    ///
    /// # Blocking
    ///
    /// When a dump is due: as [`crate::jvm::thread_dump`].
    pub fn poll(&mut self, now: Instant) -> Result<bool, JvmError> {
        if !self.is_due(now) {
            return Ok(false);
        }
        self.refresh().map(|_| true)
    }

    /// Takes a dump now, whatever the interval says.
    ///
    /// # Errors
    ///
    /// As [`poll`](Self::poll); a stopped view answers
    /// [`JvmError::Stopped`] without asking.
    pub fn refresh(&mut self) -> Result<Arc<JvmSample>, JvmError> {
        if let Some(reason) = &self.stopped {
            return Err(JvmError::Stopped { pid: self.target.pid, reason: reason.clone() });
        }
        let taken_at = Instant::now();
        self.next_due = Some(taken_at + self.options.interval);
        match thread_dump(&self.target, &self.options.attach) {
            Ok(dump) => {
                let sample = Arc::new(JvmSample::new(dump, taken_at, taken_at.elapsed()));
                self.latest = Some(Arc::clone(&sample));
                Ok(sample)
            }
            Err(e) => {
                if e.is_permanent() {
                    self.stopped = Some(e.to_string());
                    self.latest = None;
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// This test process posing as a JVM whose listener is not running.
    fn fake_target(pid: u32) -> JvmTarget {
        let stat = std::fs::read(format!("/proc/{pid}/stat")).unwrap_or_default();
        JvmTarget {
            pid,
            ns_pid: pid,
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
            start_time: super::super::detect::parse_start_time(&stat).unwrap_or(0),
            libjvm: PathBuf::from("/nonexistent/libjvm.so"),
            tmp_dir: PathBuf::from("/nonexistent-threadscope-test"),
            reduced_signals: false,
            attach_disabled: false,
        }
    }

    #[test]
    fn a_passing_error_keeps_asking_at_the_interval() {
        let interval = Duration::from_secs(3);
        let mut view =
            JvmView::new(fake_target(std::process::id()), JvmViewOptions { interval, ..Default::default() });
        let now = Instant::now();
        assert!(view.is_due(now));
        // The test process does not catch SIGQUIT: refused, never sent.
        let err = view.poll(now).unwrap_err();
        assert!(matches!(err, JvmError::SigquitNotCaught { .. }), "{err:?}");
        assert!(!err.is_permanent() && view.stopped().is_none());
        assert!(!view.is_due(Instant::now()));
        assert!(!view.poll(Instant::now()).unwrap(), "not due: no attempt");
        assert!(view.is_due(Instant::now() + interval));
    }

    #[test]
    fn a_permanent_error_stops_the_view() {
        let mut view = JvmView::new(fake_target(u32::MAX - 1), JvmViewOptions::default());
        let err = view.poll(Instant::now()).unwrap_err();
        assert!(err.is_permanent(), "{err:?}");
        assert!(view.stopped().is_some() && view.latest().is_none());
        assert!(!view.poll(Instant::now() + Duration::from_secs(3600)).unwrap());
        assert!(matches!(view.refresh(), Err(JvmError::Stopped { .. })));
    }
}
