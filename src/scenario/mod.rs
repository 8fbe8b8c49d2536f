//! Scenarios: TOML files that declare primitives and groups of threads, each
//! running a small script of steps on real threads through the core library.
//!
//! [`parse`] turns a file into a validated [`Scenario`] (or a
//! [`ScenarioError`] naming the line and column); nothing runs until the
//! whole file is valid; [`load`] finds one by a built-in's name or a
//! file's path. `docs/scenarios.md` is the format reference.

mod builtins;
mod describe;
mod error;
pub mod expr;
mod format;
mod load;
mod model;
mod run;
mod step_table;
mod steps;
pub mod target;
pub mod units;
mod validate;

pub use builtins::{BUILTINS, Builtin, DEFAULT, builtin};
pub use describe::describe;
pub use error::{ScenarioError, line_column};
pub use load::{LoadError, load};
pub use model::{
    AcquireMode, GilSpec, PrimitiveSpec, PrimitiveSpecKind, QueueOrder, Scenario, StartPolicy, Step,
    ThreadSpec, Times, Wait,
};
pub use run::{RunningScenario, StopReport, StopThread, Stuck, ThreadProgress, WorkerKind};
pub use validate::MAX_GROUP_COUNT;

/// Parses and validates scenario `text`. `origin` (a file name) prefixes
/// error messages; `room` is how many more threads the process can start.
///
/// # Errors
///
/// A [`ScenarioError`] at the line and column of the first problem.
pub fn parse(origin: &str, text: &str, room: Option<usize>) -> Result<Scenario, ScenarioError> {
    validate::parse(origin, text, room)
}
