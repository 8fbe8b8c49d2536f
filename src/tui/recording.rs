//! Recording from the TUI (the `R` key) and its flight recorder
//! (`--flight-recorder`), both on the sampler thread, where the snapshots
//! are: the UI thread never waits for a file.

use super::event::Event;
use super::replay::RecordingNews;
use crate::inspect::Snapshot;
use crate::record::{
    FlightBudget, FlightRecorder, Header, RecordedSource, Recorder, now_unix_ms, unused_path,
};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// How the sampler records.
#[derive(Clone, Debug)]
pub struct RecordingSetup {
    /// What is watched, for recordings' headers.
    pub source: RecordedSource,
    /// Keep the last minutes in memory (`--flight-recorder`).
    pub flight: Option<FlightBudget>,
    /// Where to say what happened.
    pub news: UnboundedSender<Event>,
}

/// The sampler's recorder and flight recorder.
pub(crate) struct SessionRecorder {
    setup: RecordingSetup,
    interval: Duration,
    recording: Option<(Recorder<BufWriter<File>>, PathBuf)>,
    flight: Option<FlightRecorder>,
    pid: u32,
}

impl SessionRecorder {
    pub(crate) fn new(setup: RecordingSetup, interval: Duration) -> Self {
        let flight = setup.flight.and_then(|budget| match FlightRecorder::new(budget) {
            Ok(flight) => Some(flight),
            Err(e) => {
                let _ = setup.news.send(Event::Recording(RecordingNews::FlightFailed(e.to_string())));
                None
            }
        });
        Self { setup, interval, recording: None, flight, pid: 0 }
    }

    fn tell(&self, news: RecordingNews) {
        let _ = self.setup.news.send(Event::Recording(news));
    }

    fn header(&self) -> Header {
        Header::new(self.setup.source.clone(), self.interval)
    }

    /// `threadscope-<what><pid>-<unix seconds>.tsrec` in the current
    /// directory, never one that exists.
    fn file_name(&self, what: &str) -> PathBuf {
        let stem = format!("threadscope-{what}{}-{}", self.pid, now_unix_ms() / 1000);
        unused_path(&std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")), &stem)
    }

    /// Starts (true) or stops recording. True when a recording started,
    /// so the sampler takes its first sample now, not an interval later.
    pub(crate) fn set_recording(&mut self, on: bool) -> bool {
        match (on, self.recording.take()) {
            (true, Some(running)) => self.recording = Some(running),
            (true, None) => {
                let path = self.file_name("");
                match Recorder::create(&path, &self.header()) {
                    Ok(recorder) => {
                        self.tell(RecordingNews::Started(path.display().to_string()));
                        self.recording = Some((recorder, path));
                        return true;
                    }
                    Err(e) => self.tell(RecordingNews::Failed(e.to_string())),
                }
            }
            (false, Some((recorder, path))) => self.stop(recorder, path),
            (false, None) => {}
        }
        false
    }

    /// Finishes a recording. One stopped before its first sample (while
    /// paused, or at once) would be a file no replay can open: it is removed.
    fn stop(&self, recorder: Recorder<BufWriter<File>>, path: PathBuf) {
        let samples = recorder.samples();
        if samples == 0 {
            drop(recorder);
            return match std::fs::remove_file(&path) {
                Ok(()) => self.tell(RecordingNews::Discarded(path.display().to_string())),
                Err(e) => self.tell(RecordingNews::Failed(format!("{}: {e}", path.display()))),
            };
        }
        match recorder.close() {
            Ok(bytes) => {
                self.tell(RecordingNews::Stopped { path: path.display().to_string(), samples, bytes })
            }
            Err(e) => self.tell(RecordingNews::Failed(e.to_string())),
        }
    }

    /// Writes the flight recorder to a file now.
    pub(crate) fn dump(&self, reason: &str) {
        let Some(flight) = &self.flight else {
            self.tell(RecordingNews::FlightFailed(
                "no flight recorder: start threadscope with --flight-recorder 5m (for example)".into(),
            ));
            return;
        };
        let path = self.file_name("flight-");
        match flight.dump(&path, &self.header(), reason) {
            Ok(samples) => self.tell(RecordingNews::FlightWritten {
                path: path.display().to_string(),
                samples,
                reason: reason.to_owned(),
            }),
            Err(e) => self.tell(RecordingNews::FlightFailed(e.to_string())),
        }
    }

    /// Takes in a sample: written when recording, kept by the flight
    /// recorder (which writes itself out when a deadlock appears).
    pub(crate) fn take(&mut self, snapshot: &Snapshot) {
        self.pid = snapshot.process.pid;
        if let Some((recorder, _)) = &mut self.recording
            && let Err(e) = recorder.record(snapshot)
        {
            self.tell(RecordingNews::Failed(e.to_string()));
            if let Some((recorder, path)) = self.recording.take() {
                self.stop(recorder, path);
            }
        }
        let appeared = match &mut self.flight {
            Some(flight) => match flight.push(snapshot) {
                Ok(appeared) => appeared,
                Err(e) => {
                    self.tell(RecordingNews::FlightFailed(e.to_string()));
                    false
                }
            },
            None => false,
        };
        if appeared {
            self.dump("deadlock");
        }
    }

    /// Closes a recording still open (the index is written).
    pub(crate) fn close(&mut self) {
        if let Some((recorder, path)) = self.recording.take() {
            self.stop(recorder, path);
        }
    }
}
