//! The sampler thread: refreshes the [`Inspector`] every interval and sends
//! owned snapshots to the UI. It never waits for the UI: when the UI is
//! behind, a sample is dropped rather than queued.

use super::event::{Event, Sample};
use crate::inspect::{Inspector, Snapshot, mark_inspector_thread};
use crate::kernel::{Field, Reason};
use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{Sender, error::TrySendError};

/// What the UI can tell the sampler.
#[derive(Debug)]
pub enum Control {
    /// Stop (true) or resume sampling.
    Pause(bool),
    /// Name the scenario in snapshots (and sample at once).
    Scenario(Option<String>),
    /// End the thread.
    Stop,
}

/// The running sampler thread.
pub struct SamplerHandle {
    control: mpsc::Sender<Control>,
    thread: Option<JoinHandle<()>>,
}

impl SamplerHandle {
    /// Starts sampling every `interval` on a thread named `ts-sampler`.
    ///
    /// # Errors
    ///
    /// If the thread cannot be started.
    pub fn spawn(inspector: Inspector, interval: Duration, samples: Sender<Event>) -> std::io::Result<Self> {
        let (control, inbox) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ts-sampler".into())
            .spawn(move || sample_loop(inspector, interval, &inbox, &samples))?;
        Ok(Self { control, thread: Some(thread) })
    }

    /// Sends `control` (ignored if the thread has ended).
    pub fn send(&self, control: Control) {
        let _ = self.control.send(control);
    }
}

impl Drop for SamplerHandle {
    fn drop(&mut self) {
        let _ = self.control.send(Control::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn sample_loop(
    mut inspector: Inspector,
    interval: Duration,
    inbox: &mpsc::Receiver<Control>,
    out: &Sender<Event>,
) {
    mark_inspector_thread();
    let mut paused = false;
    // Once the UI has been told the process exited, there is nothing more
    // to read: it keeps the last sample taken while the process lived.
    let mut exited = false;
    let mut carry = CarryForward::default();
    let mut next = Instant::now();
    loop {
        match inbox.recv_timeout(next.saturating_duration_since(Instant::now())) {
            Ok(Control::Pause(p)) => {
                paused = p;
                next = Instant::now();
                continue;
            }
            Ok(Control::Scenario(name)) => {
                inspector.set_scenario(name);
                next = Instant::now();
                continue;
            }
            Ok(Control::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        let now = Instant::now();
        next = (next + interval).max(now);
        if paused || exited {
            next = now + Duration::from_secs(3600);
            continue;
        }
        let event = match inspector.refresh() {
            Ok(mut snapshot) => {
                carry.fill(&mut snapshot);
                Event::Sample(Box::new(Sample { snapshot, at: Instant::now(), progress: Vec::new() }))
            }
            Err(error) => Event::SamplerError(error.to_string()),
        };
        let exit = matches!(&event, Event::Sample(sample) if sample.snapshot.process.exited);
        match out.try_send(event) {
            Err(TrySendError::Closed(_)) => return,
            Ok(()) => exited |= exit,
            // Dropped: the next sample says it again.
            Err(TrySendError::Full(_)) => {}
        }
    }
}

/// The costly kernel figures are read every few samples; in between, the
/// last values read stand in for them, so columns do not blink.
#[derive(Default)]
struct CarryForward {
    last: HashMap<u64, Remembered>,
}

#[derive(Default)]
struct Remembered {
    voluntary: Option<u64>,
    nonvoluntary: Option<u64>,
    wchan: Option<Option<String>>,
    cpus: Option<Vec<(u32, u32)>>,
}

impl CarryForward {
    fn fill(&mut self, snapshot: &mut Snapshot) {
        let mut next = HashMap::with_capacity(snapshot.threads.len());
        for t in &mut snapshot.threads {
            let Some(k) = &mut t.kernel else { continue };
            let old = self.last.remove(&t.key).unwrap_or_default();
            let remembered = Remembered {
                voluntary: keep(&mut k.voluntary_ctxt_switches, old.voluntary),
                nonvoluntary: keep(&mut k.nonvoluntary_ctxt_switches, old.nonvoluntary),
                wchan: keep(&mut k.wchan, old.wchan),
                cpus: keep(&mut k.cpus_allowed, old.cpus),
            };
            next.insert(t.key, remembered);
        }
        self.last = next;
    }
}

/// Fills a not-sampled field from `old`; returns the value to remember.
fn keep<T: Clone>(field: &mut Field<T>, old: Option<T>) -> Option<T> {
    match (&*field, old) {
        (Field::Unavailable(Reason::NotSampled), Some(old)) => {
            *field = Field::Available(old.clone());
            Some(old)
        }
        (field, _) => field.value().cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_figures_keep_their_last_value() {
        let mut field = Field::Unavailable(Reason::NotSampled);
        assert_eq!(keep(&mut field, Some(7u64)), Some(7));
        assert_eq!(field, Field::Available(7));
        let mut denied: Field<u64> = Field::Unavailable(Reason::Denied);
        assert_eq!(keep(&mut denied, Some(7)), None);
        assert_eq!(denied, Field::Unavailable(Reason::Denied));
        let mut fresh = Field::Available(9u64);
        assert_eq!(keep(&mut fresh, Some(7)), Some(9));
    }
}
