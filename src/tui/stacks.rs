//! The stack key: the selected thread's native stack, on demand. For
//! another process the thread is stopped for a moment (ptrace) to copy its
//! registers and stack — the one thing threadscope ever does to another
//! process — and the pause is measured and shown; for this process, a
//! library thread shows where its wait began. Taken off the UI thread.

use super::action::{Effect, StackRequest};
use super::app::{App, Source};
use super::event::{Event, LogKind, StackTaken};
use crate::inspect::{NativeStackView, own_unavailable, pause_words, stack_view, wait_stack};
use crate::stacks::{StackOptions, take};
use std::time::Instant;

impl App {
    /// The stack key: asks the loop to take the selected thread's stack.
    pub(crate) fn take_stack(&mut self) -> Effect {
        let Some(t) = self.selected_thread() else {
            self.note(LogKind::Error, "select a thread first (↑ ↓ or a click)".to_owned());
            return Effect::None;
        };
        let who =
            format!("{} (tid {})", t.name, t.native_id.map_or_else(|| "—".to_owned(), |t| t.to_string()));
        let Some(tid) = t.native_id.filter(|_| t.state != crate::threading::ThreadState::Terminated) else {
            self.note(LogKind::Error, format!("no stack for {who}: it is not running in the kernel"));
            return Effect::None;
        };
        let key = t.key;
        let pid = match &self.source {
            Source::Attach { pid } => Some(*pid),
            Source::Own(_) => None,
            Source::Replay(_) => {
                // The threads of a recording are not there to stop.
                let text = "replay: read-only — a recording has no live thread to take a stack of \
                            (stacks taken while recording replay with it)";
                self.note(LogKind::Error, text.to_owned());
                return Effect::None;
            }
        };
        if pid.is_none() && t.wait_backtrace.is_none() {
            // Nothing to take: say why at once.
            let view = own_unavailable(t);
            self.stack_taken(StackTaken { key, who, view, missing: None });
            return Effect::None;
        }
        let request =
            StackRequest { key, tid, name: t.name.shown().to_owned(), pid, trace: t.wait_backtrace.clone() };
        self.stacks_pending.insert(key);
        let what = if pid.is_some() {
            "stopping it for a moment to copy its stack"
        } else {
            "resolving where its wait began"
        };
        self.note(LogKind::Info, format!("stack of {who}: {what}…"));
        Effect::TakeStack(request)
    }

    /// A stack came back: kept for its thread's detail pane, its cost said.
    pub(crate) fn stack_taken(&mut self, taken: StackTaken) {
        self.stacks_pending.remove(&taken.key);
        let text = match (&taken.view.unavailable, taken.view.paused) {
            (Some(why), _) => format!("no stack for {}: {why}", taken.who),
            (None, Some(paused)) => format!(
                "stack of {}: {} frames; the thread was stopped for {} to copy it (the only time threadscope stops another process)",
                taken.who,
                taken.view.frames.len(),
                pause_words(paused)
            ),
            (None, None) => {
                format!("stack of {}: {} frames, where its wait began", taken.who, taken.view.frames.len())
            }
        };
        let kind = if taken.view.unavailable.is_some() { LogKind::Error } else { LogKind::Action };
        self.note(kind, text);
        if let Some(missing) = taken.missing
            && self.seen.notes.insert(missing.clone())
        {
            let at = self.elapsed();
            self.log.push(at, LogKind::Error, &missing);
        }
        self.stacks.insert(taken.key, (taken.view, self.now));
    }

    /// Scrolls the selected thread's stacks (its runtime's and its native
    /// one, together) by `frames`, within the longer of them.
    pub(crate) fn scroll_stack(&mut self, frames: isize) {
        let Some(t) = self.selected_thread() else { return };
        let key = t.key;
        let runtime = t.runtime.as_ref().map_or(0, |r| r.stack.len());
        let native = self.stack_of(key).map_or(0, |(view, _)| view.frames.len());
        let last = runtime.max(native).saturating_sub(1);
        let from = self.stack_offset(key);
        self.stack_scroll = (key, from.saturating_add_signed(frames).min(last));
    }

    /// How many frames of thread `key`'s stacks are scrolled past: none for
    /// a thread other than the one last scrolled.
    pub(crate) fn stack_offset(&self, key: u64) -> usize {
        match self.stack_scroll {
            (scrolled, offset) if scrolled == key => offset,
            _ => 0,
        }
    }

    /// The stack taken for thread `key`, and when.
    pub(crate) fn stack_of(&self, key: u64) -> Option<&(NativeStackView, Instant)> {
        self.stacks.get(&key)
    }
}

/// Takes the stack `request` asks for on a thread of its own and sends it
/// back as [`Event::Stack`].
pub(crate) fn perform(request: StackRequest, events: tokio::sync::mpsc::UnboundedSender<Event>) {
    let spawned = std::thread::Builder::new().name("ts-stack".into()).spawn(move || {
        let _own = crate::inspect::mark_inspector_thread_scoped();
        let who = format!("{} (tid {})", request.name, request.tid);
        let (view, missing) = match (request.pid, &request.trace) {
            (Some(pid), _) => {
                let report = take(pid, &[request.tid], &StackOptions::default());
                let view = report.stacks.first().map(|(_, s)| stack_view(s));
                (view, report.missing.map(|m| m.to_string()))
            }
            (None, Some(trace)) => (Some(wait_stack(trace)), None),
            (None, None) => (None, None),
        };
        let Some(view) = view else { return };
        let _ = events.send(Event::Stack(Box::new(StackTaken { key: request.key, who, view, missing })));
    });
    drop(spawned);
}
