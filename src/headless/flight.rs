//! The flight recorder of `threadscope run --headless --flight-recorder D`:
//! a snapshot every second kept in memory, written out when a deadlock
//! appears or on SIGUSR1, with where said on stderr.

use crate::inspect::Inspector;
use crate::record::{FlightBudget, FlightRecorder, Header, RecordedSource, now_unix_ms, unused_path};
use crate::threading::Registry;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Time between the flight recorder's samples.
const EVERY: Duration = Duration::from_secs(1);

/// The flight recorder of a headless run.
pub(crate) struct HeadlessFlight {
    inspector: Inspector,
    recorder: FlightRecorder,
    header: Header,
    asked: Arc<AtomicBool>,
    next: Instant,
}

impl HeadlessFlight {
    /// Samples this process's registry; SIGUSR1 asks for a dump.
    pub(crate) fn new(budget: FlightBudget, scenario: &str) -> Result<Self, String> {
        let mut inspector = Inspector::own(Registry::global()).map_err(|e| e.to_string())?;
        inspector.set_scenario(Some(scenario.to_owned()));
        let asked = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGUSR1, asked.clone())
            .map_err(|e| format!("cannot handle SIGUSR1: {e}"))?;
        let header = Header::new(RecordedSource::Scenario { name: scenario.to_owned() }, EVERY);
        Ok(Self {
            inspector,
            recorder: FlightRecorder::new(budget).map_err(|e| e.to_string())?,
            header,
            asked,
            next: Instant::now(),
        })
    }

    /// Samples when a second has passed; dumps on a new deadlock or SIGUSR1.
    pub(crate) fn tick(&mut self) {
        if self.asked.swap(false, Ordering::Relaxed) {
            self.dump("SIGUSR1");
        }
        if Instant::now() < self.next {
            return;
        }
        self.next = Instant::now() + EVERY;
        let appeared = match self.inspector.refresh() {
            Ok(snapshot) => self.recorder.push(&snapshot),
            Err(e) => return say(&format!("flight recorder: cannot sample: {e}")),
        };
        match appeared {
            Ok(true) => self.dump("deadlock"),
            Ok(false) => {}
            Err(e) => say(&format!("flight recorder: {e}")),
        }
    }

    fn dump(&self, reason: &str) {
        let stem = format!("threadscope-flight-{}-{}", std::process::id(), now_unix_ms() / 1000);
        let path = unused_path(&std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")), &stem);
        match self.recorder.dump(&path, &self.header, reason) {
            Ok(samples) => say(&format!(
                "flight recorder ({reason}): wrote the last {samples} samples to {}",
                path.display()
            )),
            Err(e) => say(&format!("flight recorder ({reason}): {e}")),
        }
    }
}

fn say(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "threadscope: {text}");
}
