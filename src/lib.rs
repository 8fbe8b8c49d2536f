//! threadscope: watch threads live.
//!
//! The crate is a library with a thin binary. Data flows one way:
//!
//! ```text
//!  scenario ──spawns──▶ threading::{Thread, Lock, RLock, …}
//!                               │ every state change writes its record
//!                               ▼
//!                       threading::Registry ── snapshot() ──▶ RegistrySnapshot
//!                                                            (owned, Serialize)
//!                                                                 │
//!                                              TUI · JSON · recordings
//! ```
//!
//! - [`threading`]: Python's `threading` / `_thread` model on real OS
//!   threads, with a live registry of every thread and primitive.
//! - [`kernel`]: what Linux says about every thread of a process
//!   (`/proc/<pid>/task`), and process and system figures (sysinfo).
//! - `sys` (private): the one module allowed `unsafe` — libc calls and the
//!   `parking_lot_core` lock underneath [`threading::Lock`].
//!
//! Kernel cross-reference, scenarios and the terminal UI build on these
//! (see `docs/architecture.md`); the terminal UI is the `tui` module,
//! behind the default `tui` feature.

pub mod cli;
pub mod display;
pub mod headless;
pub mod inspect;
pub mod kernel;
pub mod scenario;
#[allow(unsafe_code)]
mod sys;
pub mod threading;
#[cfg(feature = "tui")]
pub mod tui;
