//! Whole-process and whole-system figures, from one kept `sysinfo::System`.

use super::error::SamplerError;
use super::field::{Field, Reason};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use sysinfo::{MemoryRefreshKind, System};

/// The sampled process as a whole.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProcessFigures {
    /// The process name (its main thread's comm, lossily decoded), or the
    /// last one seen once it is gone.
    pub name: String,
    /// CPU used, in percent of one core (a process busy on two cores reads
    /// 200), over the interval between the last two CPU refreshes. CPU
    /// figures are refreshed at most every
    /// [`CPU_RATE_MIN_INTERVAL`](super::CPU_RATE_MIN_INTERVAL), so samples
    /// closer together repeat the last figure, and samples within that of
    /// the sampler's start have none ([`NotSampled`](Reason::NotSampled)).
    /// 0 once the process has exited.
    pub cpu_percent: Field<f32>,
    /// Resident memory in bytes (0 once it has exited).
    pub rss_bytes: u64,
    /// Threads in this sample.
    pub thread_count: usize,
}

/// The machine as a whole.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SystemFigures {
    /// Per core, percent busy over the interval between the last two CPU
    /// refreshes (see [`ProcessFigures::cpu_percent`]); unavailable
    /// (`NotSampled`) until there have been two.
    pub cpu_percent: Field<Vec<f32>>,
    /// Memory in use (total minus available), in bytes.
    pub memory_used_bytes: u64,
    /// Installed memory, in bytes.
    pub memory_total_bytes: u64,
    /// Run-queue load averages; `None` if the kernel would not say.
    pub load_average: Option<LoadAverage>,
    /// Time since boot (`CLOCK_BOOTTIME`, the clock a thread's start time
    /// in `stat` counts on), read just after the threads' `stat`; `None`
    /// if the clock could not be read.
    pub uptime: Option<Duration>,
}

/// Load averages over 1, 5 and 15 minutes, as in `/proc/loadavg`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadAverage {
    /// Over one minute.
    pub one: f64,
    /// Over five minutes.
    pub five: f64,
    /// Over fifteen minutes.
    pub fifteen: f64,
}

/// The machine's figures from sysinfo, refreshed only in what they need
/// (never the process list, never the tasks: those are
/// [`TaskDir`](super::tasks::TaskDir)'s job, done far more cheaply), and
/// the process's: its CPU use from the ticks the sampler reads
/// (`ProcessTicks`), its name and memory from the main thread's `stat`.
pub(crate) struct SystemView {
    system: System,
    /// CPU figures are only refreshed (and only change) every
    /// `CPU_RATE_MIN_INTERVAL`, so the process and the cores stay measured
    /// over the same interval, long enough to mean something.
    last_cpu_refresh: Option<Instant>,
    process_cpu_percent: Field<f32>,
    /// Whether the cores have been read twice, so that they have a rate
    /// (sysinfo says 0 % for each before).
    cores_measured: bool,
    /// The process's CPU ticks at the last CPU refresh, and when.
    process_ticks: Option<(u64, Instant)>,
    name: String,
}

impl SystemView {
    /// Sets up sysinfo and takes the first CPU readings (the cores', and
    /// the process's `ticks`), so the next refresh can give percentages.
    pub(crate) fn new(ticks: Option<u64>) -> Result<SystemView, SamplerError> {
        let system = System::new().map_err(SamplerError::System)?;
        let now = Instant::now();
        let mut view = SystemView {
            system,
            last_cpu_refresh: Some(now),
            process_cpu_percent: Field::Unavailable(Reason::NotSampled),
            cores_measured: false,
            process_ticks: ticks.map(|ticks| (ticks, now)),
            name: String::new(),
        };
        view.system.refresh_cpu_usage();
        Ok(view)
    }

    /// Fresh figures. `main` is what the main thread's `stat` said (name
    /// and resident pages; `None` once the process is reaped, when its pid
    /// may already name another process and is not looked up any more);
    /// `process_ticks` the process's CPU ticks (see `ProcessTicks`), read
    /// when `cpu_due` (what [`cpu_due`](Self::cpu_due) said before they
    /// were read) asked for them.
    pub(crate) fn refresh(
        &mut self,
        thread_count: usize,
        main: Option<(String, u64)>,
        process_ticks: Option<u64>,
        cpu_due: bool,
        uptime: Option<Duration>,
    ) -> (ProcessFigures, SystemFigures) {
        if cpu_due {
            self.last_cpu_refresh = Some(Instant::now());
            self.system.refresh_cpu_usage();
            self.cores_measured = true;
            self.process_cpu_percent = match (main.is_some(), process_ticks) {
                (true, Some(ticks)) => self.process_cpu(ticks),
                // Its main thread read, its stat not: it ended in between.
                (true, None) => Field::Unavailable(Reason::Gone),
                (false, _) => Field::Available(0.0),
            };
        }
        self.system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());

        let rss_bytes = match main {
            Some((name, rss_pages)) => {
                self.name = name;
                rss_pages.saturating_mul(procfs::page_size())
            }
            None => {
                self.process_cpu_percent = Field::Available(0.0);
                0
            }
        };
        let process = ProcessFigures {
            name: self.name.clone(),
            cpu_percent: self.process_cpu_percent.clone(),
            rss_bytes,
            thread_count,
        };
        let load_average = System::load_average().ok().map(|load| LoadAverage {
            one: load.one,
            five: load.five,
            fifteen: load.fifteen,
        });
        let system = SystemFigures {
            cpu_percent: match self.cores_measured {
                true => Field::Available(self.system.cpus().iter().map(sysinfo::Cpu::usage).collect()),
                false => Field::Unavailable(Reason::NotSampled),
            },
            memory_used_bytes: self.system.used_memory(),
            memory_total_bytes: self.system.total_memory(),
            load_average,
            uptime,
        };
        (process, system)
    }

    /// Whether the next refresh refreshes CPU figures (and so needs the
    /// process's ticks).
    pub(crate) fn cpu_due(&self) -> bool {
        self.last_cpu_refresh.is_none_or(|last| last.elapsed() >= super::CPU_RATE_MIN_INTERVAL)
    }

    /// The process's CPU use since the last CPU refresh, in percent of one
    /// core, from its CPU ticks (as sysinfo and top work it out); none
    /// before there is a baseline to measure from.
    fn process_cpu(&mut self, ticks: u64) -> Field<f32> {
        let now = Instant::now();
        let percent = match self.process_ticks {
            Some((before, at)) if now > at => {
                let elapsed = now.saturating_duration_since(at).as_secs_f64();
                let used = super::ticks_to_duration(ticks.saturating_sub(before)).as_secs_f64();
                Field::Available((used / elapsed * 100.0) as f32)
            }
            _ => Field::Unavailable(Reason::NotSampled),
        };
        self.process_ticks = Some((ticks, now));
        percent
    }
}
