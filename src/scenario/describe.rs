//! Steps in words, for progress displays: `acquire fork-2`, `sleep 50ms±20ms`.

use super::model::{AcquireMode, Scenario, Step, Times, Wait};
use crate::display::human;
use std::time::Duration;

/// A step as a person would say it.
pub fn describe(step: &Step, scenario: &Scenario) -> String {
    let name = |i: usize| scenario.primitives.get(i).map_or("?", |p| p.name.as_str());
    let timeout = |t: &Option<Duration>| t.map(|t| format!(" (timeout {})", human(t))).unwrap_or_default();
    match step {
        Step::Acquire { target, mode: AcquireMode::Blocking } => {
            format!("acquire {}", name(target.primitive))
        }
        Step::Acquire { target, mode: AcquireMode::Try } => {
            format!("try to acquire {}", name(target.primitive))
        }
        Step::Acquire { target, mode: AcquireMode::Timeout(t) } => {
            format!("acquire {}{}", name(target.primitive), timeout(&Some(*t)))
        }
        Step::Release { target, n: 1 } => format!("release {}", name(target.primitive)),
        Step::Release { target, n } => format!("release {} ×{n}", name(target.primitive)),
        Step::Sleep(wait) => format!("sleep {}", wait_text(*wait)),
        Step::Spin(wait) => format!("spin {}", wait_text(*wait)),
        Step::EventWait { target, timeout: t, exit_if_set } => format!(
            "wait on {}{}{}",
            name(target.primitive),
            timeout(t),
            if *exit_if_set { ", return if set" } else { "" }
        ),
        Step::ConditionWait { target, timeout: t } => {
            format!("wait on {}{}", name(target.primitive), timeout(t))
        }
        Step::BarrierWait { target, timeout: t } => {
            format!("wait on {}{}", name(target.primitive), timeout(t))
        }
        Step::Set { target } => format!("set {}", name(target.primitive)),
        Step::Clear { target } => format!("clear {}", name(target.primitive)),
        Step::Notify { target, n: Some(n) } => format!("notify {} ({n})", name(target.primitive)),
        Step::Notify { target, n: None } => format!("notify_all {}", name(target.primitive)),
        Step::Put { target, item, timeout: t } => {
            format!("put {item} into {}{}", name(target.primitive), timeout(t))
        }
        Step::Get { target, timeout: t } => format!("get from {}{}", name(target.primitive), timeout(t)),
        Step::TaskDone { target } => format!("task_done on {}", name(target.primitive)),
        Step::JoinQueue { target } => format!("join {}", name(target.primitive)),
        Step::JoinThread { thread, timeout: t } => {
            format!("join {}{}", scenario.threads.get(*thread).map_or("?", |t| t.name.as_str()), timeout(t))
        }
        Step::Submit { pool, count, task } => {
            format!("submit {count} task(s) of {} step(s) to {}", task.len(), name(pool.primitive))
        }
        Step::Rename { name } => format!("rename to {name}"),
        Step::Panic { message, .. } => format!("panic: {message}"),
        Step::Exit => "exit".to_owned(),
        Step::InterruptMain { signum } => format!("interrupt_main({signum})"),
        Step::Repeat { times: Times::Forever, steps } => format!("repeat forever ({} steps)", steps.len()),
        Step::Repeat { times: Times::Count(n), steps } => format!("repeat {n}× ({} steps)", steps.len()),
    }
}

fn wait_text(wait: Wait) -> String {
    if wait.jitter.is_zero() {
        human(wait.base)
    } else {
        format!("{}±{}", human(wait.base), human(wait.jitter))
    }
}
