//! threadscope: watch threads live.
//!
//! The crate is a library with a thin binary. Data flows one way:
//!
//! ```text
//!  scenario::load (a built-in's name or a .toml path) ──▶ scenario::Scenario (validated)
//!                                                                 │ RunningScenario::start
//!                                                                 ▼
//!                                                 threading::{Thread, Lock, Queue, …}
//!                                                                 │ every state change writes its record
//!                                                                 ▼
//!  /proc/<pid>/task/*, sysinfo                       threading::Registry
//!          │ kernel::Sampler                                      │ snapshot()
//!          ▼                                                      ▼
//!  kernel::KernelSample ──────────▶ inspect::Inspector ◀── RegistrySnapshot (own process only)
//!                                           │ joined by native_id: waits, deadlocks, naming, findings
//!                                           ▼
//!                                 inspect::Snapshot (owned, Serialize)
//!                                    │                          │
//!                                    ▼                          ▼
//!                          tui (feature `tui`)     headless: run (events as text),
//!                                    ▲             snapshot (JSON, text dump)
//!                                    │                          ▲
//!                                    └──── the binary ──────────┘
//!                              src/main.rs + src/cli/ (clap, feature `cli`)
//! ```
//!
//! - [`threading`]: Python's `threading` / `_thread` model on real OS
//!   threads, with a live registry of every thread and primitive.
//! - [`kernel`]: what Linux says about every thread of a process
//!   (`/proc/<pid>/task`), and process and system figures (sysinfo).
//! - [`inspect`]: joins a registry snapshot and a kernel sample into one
//!   owned [`inspect::Snapshot`], the only thing the views read.
//! - [`jvm`]: a JVM's threads through its own attach mechanism (as
//!   `jstack` does): full names, states, monitors, deadlocks, stacks, keyed
//!   by kernel TID.
//! - [`stacks`]: native stacks of another process's threads, on demand
//!   (each thread stopped for microseconds to copy its registers and a
//!   stack window; unwound and symbolized afterwards; feature `stacks`).
//! - [`scenario`]: the TOML scenario format, [`scenario::load`], and the
//!   interpreter that runs each thread's steps through [`threading`].
//! - [`headless`]: `threadscope run --headless` and `threadscope snapshot`.
//! - [`record`]: recordings (keyframes and deltas, checksummed, indexed),
//!   read back for `replay` and `snapshot --from`; the flight recorder.
//! - `tui` (feature `tui`, default): the terminal UI.
//! - [`agent`]: the agent protocol (docs/agent-protocol.md), by which a
//!   program serves its threads, waits and locks to threadscope:
//!   [`agent::start`] serves this process's registry from a thread of its
//!   own; [`agent::AgentClient`] asks another process's agent (the
//!   inspector's `AgentSource` joins its answers by TID);
//!   [`agent::python`] is the Python agent threadscope ships.
//! - [`launch`]: a program run as threadscope's child (`exec`,
//!   `snapshot -- CMD`), with the agents injected where the runtime allows.
//! - [`display`]: untrusted text made safe to print, used by every output.
//! - `sys` (private): the one module allowed `unsafe` — libc calls (the
//!   ptrace stop of [`stacks`] among them) and the `parking_lot_core` lock
//!   underneath [`threading::Lock`].
//!
//! The command line is not here: it is the binary's (`src/main.rs`,
//! `src/cli/`), so a program that uses the library alone
//! (`default-features = false`) compiles neither clap nor the TUI's crates.
//! `docs/architecture.md` has the details.

pub mod agent;
pub mod display;
pub mod headless;
pub mod inspect;
pub mod jvm;
pub mod kernel;
pub mod launch;
pub mod record;
pub mod scenario;
pub mod stacks;
#[allow(unsafe_code)]
mod sys;
pub mod threading;
#[cfg(feature = "tui")]
pub mod tui;
