//! Validating one step: exactly one action, only the modifiers it takes,
//! and targets of the right kind — all as the step table says.

use super::format::RawStep;
use super::model::{AcquireMode, PrimitiveSpecKind, Step, Times, Wait};
use super::step_table::{self, Action, StepSpec, Targets};
use super::target::class::{Barriers, Conditions, Events, Lockables, Pools, Queues};
use super::target::{ClassMarker, Target};
use super::validate::{Result, StepContext, Validator};
use crate::scenario::ScenarioError;
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;

impl Validator<'_> {
    pub(super) fn step(&self, step: &Spanned<RawStep>, cx: &StepContext<'_>) -> Result<Step> {
        let raw = step.get_ref();
        let whole = step.span();
        let present: Vec<(Action, Range<usize>)> =
            raw.actions().into_iter().filter_map(|(action, span)| span.map(|s| (action, s))).collect();
        let action = match present.as_slice() {
            [] => {
                return Err(
                    self.err(whole, format!("a step needs an action: one of {}", step_table::action_list()))
                );
            }
            [(action, _)] => *action,
            [(first, _), (second, span), ..] => {
                return Err(self.err(
                    span.clone(),
                    format!(
                        "one action per step: `{}` and `{}` are both here; split them into two steps",
                        step_table::spec(*first).key,
                        step_table::spec(*second).key
                    ),
                ));
            }
        };
        let spec = step_table::spec(action);
        for (modifier, span) in raw.modifiers(&whole) {
            if let Some(span) = span
                && !spec.modifiers.contains(&modifier)
            {
                return Err(self.err(span, format!("`{modifier}` does not apply to `{}`", spec.key)));
            }
        }
        let timeout = raw.timeout.as_ref().map(|t| self.duration(t)).transpose()?;
        let target = StepTarget { validator: self, raw, spec, whole: &whole, cx };
        Ok(match action {
            Action::Acquire => {
                let blocking = raw.blocking.as_ref().is_none_or(|b| *b.get_ref());
                let mode = match (blocking, timeout) {
                    (false, Some(_)) => {
                        return Err(self.err(
                            raw.timeout.as_ref().map_or(whole, Spanned::span),
                            "can't specify a timeout for a non-blocking call",
                        ));
                    }
                    (false, None) => AcquireMode::Try,
                    (true, Some(t)) => AcquireMode::Timeout(t),
                    (true, None) => AcquireMode::Blocking,
                };
                Step::Acquire { target: target.of::<Lockables>()?, mode }
            }
            Action::Release => {
                let target = target.of::<Lockables>()?;
                let n = raw.n.as_ref().map(|n| self.positive(n, "n", 1_000_000)).transpose()?.unwrap_or(1);
                if n > 1
                    && !matches!(cx.primitives[target.primitive].kind, PrimitiveSpecKind::Semaphore { .. })
                {
                    return Err(self.err(
                        raw.n.as_ref().map_or(whole, Spanned::span),
                        "`n` above 1 applies only to a semaphore",
                    ));
                }
                Step::Release { target, n }
            }
            Action::Sleep | Action::Spin => {
                let base = raw.sleep.as_ref().or(raw.spin.as_ref()).map(|d| self.duration(d)).transpose()?;
                let jitter =
                    raw.jitter.as_ref().map(|j| self.duration(j)).transpose()?.unwrap_or(Duration::ZERO);
                let wait = Wait { base: base.unwrap_or_default(), jitter };
                if action == Action::Sleep { Step::Sleep(wait) } else { Step::Spin(wait) }
            }
            Action::Wait => {
                let index = target.index()?;
                let exit_if_set = raw.exit_if_set.as_ref().is_some_and(|e| *e.get_ref());
                if let Some(target) = Target::<Events>::of(cx.primitives, index) {
                    Step::EventWait { target, timeout, exit_if_set }
                } else if let Some(flag) = &raw.exit_if_set {
                    return Err(self.err(flag.span(), "`exit_if_set` applies only to an event"));
                } else if let Some(target) = Target::<Conditions>::of(cx.primitives, index) {
                    Step::ConditionWait { target, timeout }
                } else {
                    Step::BarrierWait { target: target.of::<Barriers>()?, timeout }
                }
            }
            Action::Set => Step::Set { target: target.of::<Events>()? },
            Action::Clear => Step::Clear { target: target.of::<Events>()? },
            Action::Notify => {
                let n = raw.n.as_ref().map(|n| self.positive(n, "n", 1_000_000)).transpose()?.unwrap_or(1);
                Step::Notify { target: target.of::<Conditions>()?, n: Some(n) }
            }
            Action::NotifyAll => Step::Notify { target: target.of::<Conditions>()?, n: None },
            Action::Put => {
                let item = raw.item.as_ref().map_or(cx.vars.i, |i| *i.get_ref());
                Step::Put { target: target.of::<Queues>()?, item, timeout }
            }
            Action::Get => Step::Get { target: target.of::<Queues>()?, timeout },
            Action::TaskDone => Step::TaskDone { target: target.of::<Queues>()? },
            Action::Join => self.join(&target, timeout)?,
            Action::Submit => {
                let pool = target.of::<Pools>()?;
                let task = self.steps(raw.task.as_deref().unwrap_or_default(), cx)?;
                if task.is_empty() {
                    return Err(self.err(whole, "`submit` needs a `task`: the steps each pool task runs"));
                }
                let count =
                    raw.count.as_ref().map(|c| self.positive(c, "count", 100_000)).transpose()?.unwrap_or(1);
                Step::Submit { pool, task, count }
            }
            Action::Rename => Step::Rename {
                name: self.expand(
                    raw.rename.as_ref().ok_or_else(|| self.err(whole.clone(), "missing name"))?,
                    cx.vars,
                )?,
            },
            Action::Panic => Step::Panic {
                message: self.expand(
                    raw.panic.as_ref().ok_or_else(|| self.err(whole.clone(), "missing message"))?,
                    cx.vars,
                )?,
                at: self.place(whole.start),
            },
            Action::Exit => match &raw.exit {
                Some(flag) if *flag.get_ref() => Step::Exit,
                _ => return Err(self.err(whole, "write `exit = true` (or leave the step out)")),
            },
            Action::InterruptMain => {
                Step::InterruptMain { signum: self.signal(raw.interrupt_main.as_ref(), whole)? }
            }
            Action::Repeat => {
                let times = raw.repeat.as_ref().map(|r| self.times(r)).transpose()?;
                let steps = self.steps(raw.steps.as_deref().unwrap_or_default(), cx)?;
                if steps.is_empty() {
                    return Err(self.err(whole, "`repeat` needs `steps`"));
                }
                Step::Repeat { times: times.unwrap_or(Times::Forever), steps }
            }
        })
    }

    /// `join` names a thread (uniquely) or a queue.
    fn join(&self, target: &StepTarget<'_, '_>, timeout: Option<Duration>) -> Result<Step> {
        let (template, name) = target.name()?;
        let cx = target.cx;
        if let Some(&index) = cx.by_name.get(name.as_str()) {
            let Some(queue) = Target::<Queues>::of(cx.primitives, index) else {
                return Err(self.err(
                    template.span(),
                    format!(
                        "`join` needs a thread or a queue, but `{name}` is a {}",
                        cx.primitives[index].kind.kind().label()
                    ),
                ));
            };
            if timeout.is_some() {
                return Err(self.err(
                    target.raw.timeout.as_ref().map_or(template.span(), Spanned::span),
                    "a queue join takes no timeout",
                ));
            }
            return Ok(Step::JoinQueue { target: queue });
        }
        let matches: Vec<usize> =
            cx.names.iter().enumerate().filter(|(_, n)| **n == name).map(|(i, _)| i).collect();
        match matches.as_slice() {
            [thread] => Ok(Step::JoinThread { thread: *thread, timeout }),
            [] => Err(self.err(template.span(), format!("unknown thread or queue `{name}`"))),
            many => Err(self.err(
                template.span(),
                format!("`{name}` names {} threads; `join` needs a unique name", many.len()),
            )),
        }
    }

    fn signal(&self, value: Option<&Spanned<toml::Value>>, whole: Range<usize>) -> Result<i32> {
        let Some(value) = value else { return Ok(libc::SIGINT) };
        let signum = match value.get_ref() {
            toml::Value::Boolean(true) => Some(libc::SIGINT),
            toml::Value::Integer(n) => i32::try_from(*n).ok(),
            toml::Value::String(s) => match s.as_str() {
                "SIGINT" => Some(libc::SIGINT),
                "SIGTERM" => Some(libc::SIGTERM),
                "SIGHUP" => Some(libc::SIGHUP),
                "SIGUSR1" => Some(libc::SIGUSR1),
                "SIGUSR2" => Some(libc::SIGUSR2),
                _ => None,
            },
            _ => None,
        };
        match signum {
            Some(s) if (1..65).contains(&s) => Ok(s),
            _ => Err(self.err(if value.span().is_empty() { whole } else { value.span() }, "signal number out of range (true for SIGINT, a number 1-64, or SIGINT/SIGTERM/SIGHUP/SIGUSR1/SIGUSR2)")),
        }
    }
}

/// Resolving one step's target, as its row of the step table allows.
struct StepTarget<'v, 'c> {
    validator: &'v Validator<'v>,
    raw: &'c RawStep,
    spec: &'static StepSpec,
    whole: &'c Range<usize>,
    cx: &'c StepContext<'c>,
}

impl StepTarget<'_, '_> {
    /// The target template and the name it expands to.
    fn name(&self) -> Result<(&Spanned<String>, String)> {
        let template = self
            .raw
            .target(self.spec.action)
            .ok_or_else(|| self.validator.err(self.whole.clone(), "missing target"))?;
        Ok((template, self.validator.expand(template, self.cx.vars)?))
    }

    /// The index of the declared primitive the step names.
    fn index(&self) -> Result<usize> {
        let (template, name) = self.name()?;
        let from = if &name == template.get_ref() {
            String::new()
        } else {
            format!(" (from `{}` with i={})", template.get_ref(), self.cx.vars.i)
        };
        let primitives = self.cx.primitives;
        let Some(&index) = self.cx.by_name.get(name.as_str()) else {
            let mut declared: Vec<&str> = primitives.iter().map(|p| p.name.as_str()).take(8).collect();
            if primitives.len() > 8 {
                declared.push("…");
            }
            let declared = if declared.is_empty() { "none".to_owned() } else { declared.join(", ") };
            return Err(self
                .validator
                .err(template.span(), format!("unknown primitive `{name}`{from}; declared: {declared}")));
        };
        Ok(index)
    }

    /// The target as class `C`, or the error naming what the step accepts.
    fn of<C: ClassMarker>(&self) -> Result<Target<C>> {
        let index = self.index()?;
        Target::<C>::of(self.cx.primitives, index).ok_or_else(|| self.wrong_kind(index))
    }

    fn wrong_kind(&self, index: usize) -> ScenarioError {
        let span = self.raw.target(self.spec.action).map_or_else(|| self.whole.clone(), Spanned::span);
        let accepted = match self.spec.targets {
            Targets::Classes(classes) => step_table::kinds_in_words(classes),
            Targets::ThreadOrQueue => "a thread or a queue".to_owned(),
            Targets::Nothing => "nothing".to_owned(),
        };
        let primitive = &self.cx.primitives[index];
        self.validator.err(
            span,
            format!(
                "`{}` needs {accepted}, but `{}` is a {}",
                self.spec.key,
                primitive.name,
                primitive.kind.kind().label()
            ),
        )
    }
}
