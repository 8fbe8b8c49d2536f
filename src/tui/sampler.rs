//! The sampler thread: refreshes the [`Inspector`] every interval and sends
//! owned snapshots to the UI. It never waits for the UI: when the UI is
//! behind, a sample is dropped rather than queued.

use super::event::{Event, Sample};
use super::recording::{RecordingSetup, SessionRecorder};
use crate::inspect::{Inspector, mark_inspector_thread};
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
    /// Start (true) or stop recording to a file.
    Record(bool),
    /// The TIDs on screen: checked, and detailed, on every sample.
    Watch(std::collections::BTreeSet<u32>),
    /// Write the flight recorder to a file, for this reason ("key", "SIGUSR1").
    DumpFlight(&'static str),
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
    pub fn spawn(
        inspector: Inspector,
        interval: Duration,
        samples: Sender<Event>,
        recording: RecordingSetup,
    ) -> std::io::Result<Self> {
        let (control, inbox) = mpsc::channel();
        let recorder = SessionRecorder::new(recording, interval);
        let thread = std::thread::Builder::new()
            .name("ts-sampler".into())
            .spawn(move || sample_loop(inspector, interval, &inbox, &samples, recorder))?;
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
    mut recorder: SessionRecorder,
) {
    mark_inspector_thread();
    let mut paused = false;
    // Once the UI has been told the process exited, there is nothing more
    // to read: it keeps the last sample taken while the process lived.
    let mut exited = false;
    let mut next = Instant::now();
    loop {
        match inbox.recv_timeout(next.saturating_duration_since(Instant::now())) {
            Ok(Control::Pause(p)) => {
                paused = p;
                next = Instant::now();
                continue;
            }
            Ok(Control::Watch(tids)) => {
                inspector.watch(tids);
                continue;
            }
            Ok(Control::Scenario(name)) => {
                inspector.set_scenario(name);
                next = Instant::now();
                continue;
            }
            Ok(Control::Record(on)) => {
                // A recording begins with a sample taken now, before any
                // other control is read: stopping it at once still keeps one.
                if !recorder.set_recording(on) || paused || exited {
                    continue;
                }
                next = Instant::now();
            }
            Ok(Control::DumpFlight(reason)) => {
                recorder.dump(reason);
                continue;
            }
            Ok(Control::Stop) | Err(RecvTimeoutError::Disconnected) => {
                recorder.close();
                return;
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        let now = Instant::now();
        next = (next + interval).max(now);
        if paused || exited {
            next = now + Duration::from_secs(3600);
            continue;
        }
        let event = match inspector.refresh() {
            Ok(snapshot) => {
                recorder.take(&snapshot);
                Event::Sample(Box::new(Sample { snapshot, at: Instant::now(), progress: Vec::new() }))
            }
            Err(error) => Event::SamplerError(error.to_string()),
        };
        let exit = matches!(&event, Event::Sample(sample) if sample.snapshot.process.exited);
        match out.try_send(event) {
            Err(TrySendError::Closed(_)) => {
                recorder.close();
                return;
            }
            Ok(()) => exited |= exit,
            // Dropped: the next sample says it again.
            Err(TrySendError::Full(_)) => {}
        }
    }
}
