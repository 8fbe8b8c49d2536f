//! Every step a scenario can take, written once: its action, the modifiers
//! it accepts, what it may target, and its line in docs/scenarios.md.
//! Validation, its error messages and the docs are all driven from here.

use super::target::Class;

/// A step's action: the one key of a step that says what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Acquire,
    Release,
    Sleep,
    Spin,
    Wait,
    Set,
    Clear,
    Notify,
    NotifyAll,
    Put,
    Get,
    TaskDone,
    Join,
    Submit,
    Rename,
    Panic,
    Exit,
    InterruptMain,
    Repeat,
}

/// What an action may act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Targets {
    /// Nothing: the thread itself.
    Nothing,
    /// A primitive of one of these classes (the first that fits is used).
    Classes(&'static [Class]),
    /// A thread by its unique name, or else a queue.
    ThreadOrQueue,
}

/// One row of the table.
#[derive(Debug)]
pub(super) struct StepSpec {
    pub action: Action,
    /// The key in the file.
    pub key: &'static str,
    /// Modifiers it accepts (keys of the same step).
    pub modifiers: &'static [&'static str],
    pub targets: Targets,
    /// For the docs: how the step is written, its modifiers, what it does
    /// (read by the test that keeps docs/scenarios.md true).
    #[cfg_attr(not(test), allow(dead_code))]
    pub syntax: &'static str,
    #[cfg_attr(not(test), allow(dead_code))]
    pub modifiers_doc: &'static str,
    #[cfg_attr(not(test), allow(dead_code))]
    pub does: &'static str,
}

use Action as A;
use Class as C;

/// Every step, in the order of [`Action`] (which is the docs' order).
pub(super) const STEPS: &[StepSpec] = &[
    StepSpec {
        action: A::Acquire,
        key: "acquire",
        modifiers: &["timeout", "blocking"],
        targets: Targets::Classes(&[C::Lockable]),
        syntax: "`acquire = \"P\"`",
        modifiers_doc: "`timeout`, `blocking = false`",
        does: "acquire a lock, rlock, semaphore or a condition's lock",
    },
    StepSpec {
        action: A::Release,
        key: "release",
        modifiers: &["n"],
        targets: Targets::Classes(&[C::Lockable]),
        syntax: "`release = \"P\"`",
        modifiers_doc: "`n` (semaphores)",
        does: "release it — also a lock another thread holds, as Python allows",
    },
    StepSpec {
        action: A::Sleep,
        key: "sleep",
        modifiers: &["jitter"],
        targets: Targets::Nothing,
        syntax: "`sleep = \"D\"`",
        modifiers_doc: "`jitter = \"D\"`",
        does: "sleep (shown as Waiting on a sleep)",
    },
    StepSpec {
        action: A::Spin,
        key: "spin",
        modifiers: &["jitter"],
        targets: Targets::Nothing,
        syntax: "`spin = \"D\"`",
        modifiers_doc: "`jitter = \"D\"`",
        does: "burn CPU (holding the GIL if emulated)",
    },
    StepSpec {
        action: A::Wait,
        key: "wait",
        modifiers: &["timeout", "exit_if_set"],
        targets: Targets::Classes(&[C::Event, C::Condition, C::Barrier]),
        syntax: "`wait = \"P\"`",
        modifiers_doc: "`timeout`, `exit_if_set = true` (events)",
        does: "`event.wait()`, `with cond: cond.wait()`, or `barrier.wait()`; with `exit_if_set`, `if event.wait(t): return`",
    },
    StepSpec {
        action: A::Set,
        key: "set",
        modifiers: &[],
        targets: Targets::Classes(&[C::Event]),
        syntax: "`set = \"E\"`",
        modifiers_doc: "",
        does: "`event.set()`",
    },
    StepSpec {
        action: A::Clear,
        key: "clear",
        modifiers: &[],
        targets: Targets::Classes(&[C::Event]),
        syntax: "`clear = \"E\"`",
        modifiers_doc: "",
        does: "`event.clear()`",
    },
    StepSpec {
        action: A::Notify,
        key: "notify",
        modifiers: &["n"],
        targets: Targets::Classes(&[C::Condition]),
        syntax: "`notify = \"C\"`",
        modifiers_doc: "`n`",
        does: "`with cond: cond.notify(n)`",
    },
    StepSpec {
        action: A::NotifyAll,
        key: "notify_all",
        modifiers: &[],
        targets: Targets::Classes(&[C::Condition]),
        syntax: "`notify_all = \"C\"`",
        modifiers_doc: "",
        does: "`with cond: cond.notify_all()`",
    },
    StepSpec {
        action: A::Put,
        key: "put",
        modifiers: &["item", "timeout"],
        targets: Targets::Classes(&[C::Queue]),
        syntax: "`put = \"Q\"`",
        modifiers_doc: "`item` (default: the thread's index), `timeout`",
        does: "`queue.put(item)`",
    },
    StepSpec {
        action: A::Get,
        key: "get",
        modifiers: &["timeout"],
        targets: Targets::Classes(&[C::Queue]),
        syntax: "`get = \"Q\"`",
        modifiers_doc: "`timeout`",
        does: "`queue.get()`",
    },
    StepSpec {
        action: A::TaskDone,
        key: "task_done",
        modifiers: &[],
        targets: Targets::Classes(&[C::Queue]),
        syntax: "`task_done = \"Q\"`",
        modifiers_doc: "",
        does: "`queue.task_done()`",
    },
    StepSpec {
        action: A::Join,
        key: "join",
        modifiers: &["timeout"],
        targets: Targets::ThreadOrQueue,
        syntax: "`join = \"NAME\"`",
        modifiers_doc: "`timeout` (threads only)",
        does: "join a thread (by unique name) or a queue",
    },
    StepSpec {
        action: A::Submit,
        key: "submit",
        modifiers: &["task", "count"],
        targets: Targets::Classes(&[C::Pool]),
        syntax: "`submit = \"POOL\"`",
        modifiers_doc: "`task = [steps]`, `count`",
        does: "submit `count` tasks running `task`, then wait for their futures",
    },
    StepSpec {
        action: A::Rename,
        key: "rename",
        modifiers: &[],
        targets: Targets::Nothing,
        syntax: "`rename = \"NAME\"`",
        modifiers_doc: "",
        does: "rename the running thread (its kernel comm follows)",
    },
    StepSpec {
        action: A::Panic,
        key: "panic",
        modifiers: &[],
        targets: Targets::Nothing,
        syntax: "`panic = \"MESSAGE\"`",
        modifiers_doc: "",
        does: "panic (Python: raise); the excepthook reports it",
    },
    StepSpec {
        action: A::Exit,
        key: "exit",
        modifiers: &[],
        targets: Targets::Nothing,
        syntax: "`exit = true`",
        modifiers_doc: "",
        does: "`_thread.exit()`: end the thread silently",
    },
    StepSpec {
        action: A::InterruptMain,
        key: "interrupt_main",
        modifiers: &[],
        targets: Targets::Nothing,
        syntax: "`interrupt_main = true`",
        modifiers_doc: "",
        does: "`_thread.interrupt_main()`; or a signal: `\"SIGUSR1\"`, `10`",
    },
    StepSpec {
        action: A::Repeat,
        key: "repeat",
        modifiers: &["steps"],
        targets: Targets::Nothing,
        syntax: "`repeat = N \\| \"forever\"`",
        modifiers_doc: "`steps = [steps]`",
        does: "repeat the inner steps",
    },
];

/// The row of `action` (rows are in the enum's order: `rows_follow_the_enum`).
pub(super) fn spec(action: Action) -> &'static StepSpec {
    &STEPS[action as usize]
}

/// "acquire, release, … or repeat", for the "needs an action" message.
pub(super) fn action_list() -> String {
    let keys: Vec<&str> = STEPS.iter().map(|s| s.key).collect();
    match keys.split_last() {
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The kinds a step may target, in words: "an event, condition or barrier".
pub(super) fn kinds_in_words(classes: &[Class]) -> String {
    let mut words: Vec<&str> = Vec::new();
    for kind in classes.iter().flat_map(|c| c.kinds()) {
        if !words.contains(&kind.label()) {
            words.push(kind.label());
        }
    }
    let list = match words.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    let article = if list.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {list}")
}

/// The steps table of docs/scenarios.md, as generated from [`STEPS`].
#[cfg(test)]
fn docs_table() -> String {
    let mut out = String::from("| action | modifiers | does |\n|---|---|---|\n");
    for step in STEPS {
        out.push_str(&format!("| {} | {} | {} |\n", step.syntax, step.modifiers_doc, step.does));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_the_enum() {
        for (i, step) in STEPS.iter().enumerate() {
            assert_eq!(step.action as usize, i, "{:?} is out of place", step.action);
        }
        assert_eq!(STEPS.len(), Action::Repeat as usize + 1);
    }

    #[test]
    fn the_docs_list_exactly_these_steps() {
        let docs = include_str!("../../docs/scenarios.md");
        assert!(
            docs.contains(&docs_table()),
            "docs/scenarios.md's steps table differs from src/scenario/step_table.rs; paste this:\n{}",
            docs_table()
        );
    }

    #[test]
    fn kinds_read_as_a_person_would_write_them() {
        assert_eq!(
            kinds_in_words(&[Class::Event, Class::Condition, Class::Barrier]),
            "an event, condition or barrier"
        );
        assert_eq!(kinds_in_words(&[Class::Pool]), "a thread pool");
        assert_eq!(
            kinds_in_words(&[Class::Lockable]),
            "a lock, rlock, semaphore, bounded semaphore or condition"
        );
    }
}
