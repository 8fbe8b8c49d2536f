//! Whole-process and whole-system figures, from one kept `sysinfo::System`.

use super::error::SamplerError;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use sysinfo::{MemoryRefreshKind, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// The sampled process as a whole.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProcessFigures {
    /// The process name (its main thread's comm, lossily decoded), or the
    /// last one seen once it is gone.
    pub name: String,
    /// CPU used, in percent of one core (a process busy on two cores reads
    /// 200), over the interval between the last two CPU refreshes: sysinfo
    /// refreshes CPU figures at most every `sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`
    /// (200 ms), so samples closer together repeat the last figure.
    pub cpu_percent: f32,
    /// Resident memory in bytes (0 once it has exited).
    pub rss_bytes: u64,
    /// Threads in this sample.
    pub thread_count: usize,
}

/// The machine as a whole.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SystemFigures {
    /// Per core, percent busy over the interval between the last two CPU
    /// refreshes (see [`ProcessFigures::cpu_percent`]).
    pub cpu_percent: Vec<f32>,
    /// Memory in use (total minus available), in bytes.
    pub memory_used_bytes: u64,
    /// Installed memory, in bytes.
    pub memory_total_bytes: u64,
    /// Run-queue load averages; `None` if the kernel would not say.
    pub load_average: Option<LoadAverage>,
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

/// sysinfo's view of one process and the machine, refreshed only in what
/// the figures need: never the process list, never the tasks (those are
/// [`TaskDir`](super::tasks::TaskDir)'s job, done far more cheaply), and the
/// process only for its CPU time. Its name and memory come free with the
/// main thread's `stat`, which the sampler reads anyway.
pub(crate) struct SystemView {
    system: System,
    pid: Pid,
    /// sysinfo ignores CPU refreshes closer than
    /// `MINIMUM_CPU_UPDATE_INTERVAL`; CPU figures are only refreshed (and
    /// only change) that often, so the process and the cores stay measured
    /// over the same interval.
    last_cpu_refresh: Option<Instant>,
    process_cpu_percent: f32,
    name: String,
}

impl SystemView {
    /// Sets up sysinfo and takes the first CPU reading, so the next
    /// refresh can give percentages.
    pub(crate) fn new(pid: u32) -> Result<SystemView, SamplerError> {
        let system = System::new().map_err(SamplerError::System)?;
        let mut view = SystemView {
            system,
            pid: Pid::from_u32(pid),
            last_cpu_refresh: Some(Instant::now()),
            process_cpu_percent: 0.0,
            name: String::new(),
        };
        view.system.refresh_cpu_usage();
        view.refresh_process_cpu();
        Ok(view)
    }

    /// Fresh figures. `main` is what the main thread's `stat` said (name
    /// and resident pages; `None` once the process is reaped, when its pid
    /// may already name another process and is not looked up any more).
    pub(crate) fn refresh(
        &mut self,
        thread_count: usize,
        main: Option<(String, u64)>,
    ) -> (ProcessFigures, SystemFigures) {
        let cpu_due =
            self.last_cpu_refresh.is_none_or(|last| last.elapsed() >= sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        if cpu_due {
            self.last_cpu_refresh = Some(Instant::now());
            self.system.refresh_cpu_usage();
            self.process_cpu_percent = if main.is_some() { self.refresh_process_cpu() } else { 0.0 };
        }
        self.system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());

        let rss_bytes = match main {
            Some((name, rss_pages)) => {
                self.name = name;
                rss_pages.saturating_mul(procfs::page_size())
            }
            None => {
                self.process_cpu_percent = 0.0;
                0
            }
        };
        let process = ProcessFigures {
            name: self.name.clone(),
            cpu_percent: self.process_cpu_percent,
            rss_bytes,
            thread_count,
        };
        let load_average = System::load_average().ok().map(|load| LoadAverage {
            one: load.one,
            five: load.five,
            fifteen: load.fifteen,
        });
        let system = SystemFigures {
            cpu_percent: self.system.cpus().iter().map(sysinfo::Cpu::usage).collect(),
            memory_used_bytes: self.system.used_memory(),
            memory_total_bytes: self.system.total_memory(),
            load_average,
        };
        (process, system)
    }

    /// The process's CPU use since the last call. Call right after
    /// refreshing the cores: refreshing a process's CPU refreshes the
    /// global CPU time too, and within `MINIMUM_CPU_UPDATE_INTERVAL` sysinfo
    /// would then skip the per-core refresh. It reads `/proc/<pid>/stat`,
    /// whose totals the kernel sums over every thread (about 3 ms at 10,000
    /// threads), hence only at the CPU cadence.
    fn refresh_process_cpu(&mut self) -> f32 {
        let kind = ProcessRefreshKind::nothing().without_tasks().with_cpu();
        self.system.refresh_processes_specifics(ProcessesToUpdate::Some(&[self.pid]), true, kind);
        self.system.process(self.pid).map_or(0.0, sysinfo::Process::cpu_usage)
    }
}
