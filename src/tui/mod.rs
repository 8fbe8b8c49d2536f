//! The terminal UI: watch, poke and understand threads.
//!
//! Data flows one way. The sampler thread (`sampler.rs`) turns the registry
//! and `/proc` into owned [`Snapshot`](crate::inspect::Snapshot)s; the loop
//! ([`run`]) turns input, ticks, samples and reports into one [`Event`]
//! type; [`App::handle_event`] maps keys through the [`Keymap`] to an
//! [`Action`], and [`App::update`] changes state and returns an [`Effect`]
//! that the loop performs on the workload (a [`Workload`]); views in
//! [`ui`] only read the [`App`]. Colours live in [`Theme`], keys in
//! [`Keymap`] (the help screen is generated from it).

mod action;
mod actions;
mod app;
mod child;
mod columns;
mod dialog;
mod event;
pub mod fixtures;
mod ingest;
mod keymap;
mod layout;
mod log;
mod mouse;
mod recording;
mod replay;
mod replay_run;
mod run;
mod sampler;
mod stacks;
mod table;
mod terminal;
mod theme;
pub mod ui;
mod watch;
mod words;
mod workload;

pub use action::{Action, Command, Effect, Jump, ReplayAction, ReplayGo, StackRequest, Tab};
pub use app::{App, Config, Source};
pub use child::{ChildQuit, ChildState};
pub use columns::Column;
pub use dialog::{Dialog, PickItem, PickPurpose, Picker, Prompt, PromptPurpose, QuitDialog};
pub use event::{Event, LogKind, Report, Sample, ScenarioInfo, StackTaken};
pub use keymap::{Binding, Group, Key, Keymap};
pub use layout::{MIN_HEIGHT, MIN_WIDTH};
pub use log::{LogEntry, LogState};
pub use recording::RecordingSetup;
pub use replay::{RecordingNews, ReplayInfo, ReplayState, Replayed, SPEEDS};
pub use run::{Options, Target, run, run_child};
pub use table::TableState;
pub use theme::Theme;
pub use workload::Workload;

#[cfg(test)]
mod screens;
#[cfg(test)]
mod screens_wide;
#[cfg(test)]
mod tests;
