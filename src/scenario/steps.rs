//! Validating one step: exactly one action, only the modifiers it takes,
//! and targets of the right kind.

use super::format::RawStep;
use super::model::{AcquireMode, PrimitiveSpecKind, Step, Wait};
use super::validate::{Result, StepContext, Validator};
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;

const ACTIONS: &str = "acquire, release, sleep, spin, wait, set, clear, notify, notify_all, put, get, \
                       task_done, join, submit, rename, panic, exit, interrupt_main or repeat";

/// Which modifiers each action accepts.
fn modifiers_of(action: &str) -> &'static [&'static str] {
    match action {
        "acquire" => &["timeout", "blocking"],
        "release" | "notify" => &["n"],
        "sleep" | "spin" => &["jitter"],
        "wait" | "get" | "join" => &["timeout"],
        "put" => &["item", "timeout"],
        "submit" => &["task", "count"],
        "repeat" => &["steps"],
        _ => &[],
    }
}

fn span_of<T>(field: &Option<Spanned<T>>) -> Option<Range<usize>> {
    field.as_ref().map(Spanned::span)
}

fn list_span(field: &Option<Vec<Spanned<RawStep>>>, whole: &Range<usize>) -> Option<Range<usize>> {
    field.as_ref().map(|steps| steps.first().map_or_else(|| whole.clone(), Spanned::span))
}

impl Validator<'_> {
    pub(super) fn step(&self, step: &Spanned<RawStep>, cx: &StepContext<'_>) -> Result<Step> {
        let raw = step.get_ref();
        let whole = step.span();
        let actions = [
            ("acquire", span_of(&raw.acquire)),
            ("release", span_of(&raw.release)),
            ("sleep", span_of(&raw.sleep)),
            ("spin", span_of(&raw.spin)),
            ("wait", span_of(&raw.wait)),
            ("set", span_of(&raw.set)),
            ("clear", span_of(&raw.clear)),
            ("notify", span_of(&raw.notify)),
            ("notify_all", span_of(&raw.notify_all)),
            ("put", span_of(&raw.put)),
            ("get", span_of(&raw.get)),
            ("task_done", span_of(&raw.task_done)),
            ("join", span_of(&raw.join)),
            ("submit", span_of(&raw.submit)),
            ("rename", span_of(&raw.rename)),
            ("panic", span_of(&raw.panic)),
            ("exit", span_of(&raw.exit)),
            ("interrupt_main", span_of(&raw.interrupt_main)),
            ("repeat", span_of(&raw.repeat)),
        ];
        let present: Vec<(&str, Range<usize>)> =
            actions.into_iter().filter_map(|(name, span)| span.map(|s| (name, s))).collect();
        let action = match present.as_slice() {
            [] => return Err(self.err(whole, format!("a step needs an action: one of {ACTIONS}"))),
            [(action, _)] => *action,
            [(first, _), (second, span), ..] => {
                return Err(self.err(
                    span.clone(),
                    format!("one action per step: `{first}` and `{second}` are both here; split them into two steps"),
                ));
            }
        };
        let modifiers = [
            ("timeout", span_of(&raw.timeout)),
            ("blocking", span_of(&raw.blocking)),
            ("jitter", span_of(&raw.jitter)),
            ("n", span_of(&raw.n)),
            ("item", span_of(&raw.item)),
            ("count", span_of(&raw.count)),
            ("steps", list_span(&raw.steps, &whole)),
            ("task", list_span(&raw.task, &whole)),
        ];
        for (modifier, span) in modifiers {
            if let Some(span) = span
                && !modifiers_of(action).contains(&modifier)
            {
                return Err(self.err(span, format!("`{modifier}` does not apply to `{action}`")));
            }
        }
        let timeout = raw.timeout.as_ref().map(|t| self.duration(t)).transpose()?;
        let target =
            |field: &Option<Spanned<String>>, kinds: &[&str]| -> Result<(usize, &PrimitiveSpecKind)> {
                let template = field.as_ref().ok_or_else(|| self.err(whole.clone(), "missing target"))?;
                self.resolve(template, kinds, action, cx)
            };
        Ok(match action {
            "acquire" => {
                let (target, _) =
                    target(&raw.acquire, &["lock", "rlock", "semaphore", "bounded semaphore", "condition"])?;
                let blocking = raw.blocking.as_ref().is_none_or(|b| *b.get_ref());
                let mode = match (blocking, timeout) {
                    (false, Some(_)) => {
                        return Err(self.err(
                            span_of(&raw.timeout).unwrap_or(whole),
                            "can't specify a timeout for a non-blocking call",
                        ));
                    }
                    (false, None) => AcquireMode::Try,
                    (true, Some(t)) => AcquireMode::Timeout(t),
                    (true, None) => AcquireMode::Blocking,
                };
                Step::Acquire { target, mode }
            }
            "release" => {
                let (target, kind) =
                    target(&raw.release, &["lock", "rlock", "semaphore", "bounded semaphore", "condition"])?;
                let n = raw.n.as_ref().map(|n| self.positive(n, "n", 1_000_000)).transpose()?.unwrap_or(1);
                if n > 1 && !matches!(kind, PrimitiveSpecKind::Semaphore { .. }) {
                    return Err(
                        self.err(span_of(&raw.n).unwrap_or(whole), "`n` above 1 applies only to a semaphore")
                    );
                }
                Step::Release { target, n }
            }
            "sleep" | "spin" => {
                let base = raw.sleep.as_ref().or(raw.spin.as_ref()).map(|d| self.duration(d)).transpose()?;
                let jitter =
                    raw.jitter.as_ref().map(|j| self.duration(j)).transpose()?.unwrap_or(Duration::ZERO);
                let wait = Wait { base: base.unwrap_or_default(), jitter };
                if action == "sleep" { Step::Sleep(wait) } else { Step::Spin(wait) }
            }
            "wait" => match target(&raw.wait, &["event", "condition", "barrier"])? {
                (target, PrimitiveSpecKind::Event) => Step::EventWait { target, timeout },
                (target, PrimitiveSpecKind::Condition { .. }) => Step::ConditionWait { target, timeout },
                (target, _) => Step::BarrierWait { target, timeout },
            },
            "set" => Step::Set { target: target(&raw.set, &["event"])?.0 },
            "clear" => Step::Clear { target: target(&raw.clear, &["event"])?.0 },
            "notify" => {
                let n = raw.n.as_ref().map(|n| self.positive(n, "n", 1_000_000)).transpose()?.unwrap_or(1);
                Step::Notify { target: target(&raw.notify, &["condition"])?.0, n: Some(n) }
            }
            "notify_all" => Step::Notify { target: target(&raw.notify_all, &["condition"])?.0, n: None },
            "put" => {
                let item = raw.item.as_ref().map_or(cx.vars.i, |i| *i.get_ref());
                Step::Put { target: target(&raw.put, &["queue"])?.0, item, timeout }
            }
            "get" => Step::Get { target: target(&raw.get, &["queue"])?.0, timeout },
            "task_done" => Step::TaskDone { target: target(&raw.task_done, &["queue"])?.0 },
            "join" => self.join(raw, timeout, cx)?,
            "submit" => {
                let pool = target(&raw.submit, &["pool"])?.0;
                let task = self.steps(raw.task.as_deref().unwrap_or_default(), cx)?;
                if task.is_empty() {
                    return Err(self.err(whole, "`submit` needs a `task`: the steps each pool task runs"));
                }
                let count =
                    raw.count.as_ref().map(|c| self.positive(c, "count", 100_000)).transpose()?.unwrap_or(1);
                Step::Submit { pool, task, count }
            }
            "rename" => Step::Rename {
                name: self.expand(
                    raw.rename.as_ref().ok_or_else(|| self.err(whole.clone(), "missing name"))?,
                    cx.vars,
                )?,
            },
            "panic" => Step::Panic {
                message: self.expand(
                    raw.panic.as_ref().ok_or_else(|| self.err(whole.clone(), "missing message"))?,
                    cx.vars,
                )?,
            },
            "exit" => match &raw.exit {
                Some(flag) if *flag.get_ref() => Step::Exit,
                _ => return Err(self.err(whole, "write `exit = true` (or leave the step out)")),
            },
            "interrupt_main" => {
                Step::InterruptMain { signum: self.signal(raw.interrupt_main.as_ref(), whole)? }
            }
            _ => {
                let times = raw.repeat.as_ref().map(|r| self.times(r)).transpose()?;
                let steps = self.steps(raw.steps.as_deref().unwrap_or_default(), cx)?;
                if steps.is_empty() {
                    return Err(self.err(whole, "`repeat` needs `steps`"));
                }
                Step::Repeat { times: times.unwrap_or(super::model::Times::Forever), steps }
            }
        })
    }

    /// Expands a target template and checks it names a primitive of one of `kinds`.
    fn resolve<'c>(
        &self,
        template: &Spanned<String>,
        kinds: &[&str],
        action: &str,
        cx: &'c StepContext<'_>,
    ) -> Result<(usize, &'c PrimitiveSpecKind)> {
        let name = self.expand(template, cx.vars)?;
        let from = if &name == template.get_ref() {
            String::new()
        } else {
            format!(" (from `{}` with i={})", template.get_ref(), cx.vars.i)
        };
        let Some(&index) = cx.by_name.get(name.as_str()) else {
            let mut declared: Vec<&str> = cx.primitives.iter().map(|p| p.name.as_str()).take(8).collect();
            if cx.primitives.len() > 8 {
                declared.push("…");
            }
            let declared = if declared.is_empty() { "none".to_owned() } else { declared.join(", ") };
            return Err(
                self.err(template.span(), format!("unknown primitive `{name}`{from}; declared: {declared}"))
            );
        };
        let kind = &cx.primitives[index].kind;
        if !kinds.contains(&kind.word()) {
            return Err(self.err(
                template.span(),
                format!("`{action}` needs a {}, but `{name}` is a {}", kinds.join(" or "), kind.word()),
            ));
        }
        Ok((index, kind))
    }

    fn join(&self, raw: &RawStep, timeout: Option<Duration>, cx: &StepContext<'_>) -> Result<Step> {
        let Some(template) = raw.join.as_ref() else { unreachable_step() };
        let name = self.expand(template, cx.vars)?;
        if let Some(&index) = cx.by_name.get(name.as_str()) {
            if !matches!(cx.primitives[index].kind, PrimitiveSpecKind::Queue { .. }) {
                return Err(self.err(
                    template.span(),
                    format!(
                        "`join` needs a thread or a queue, but `{name}` is a {}",
                        cx.primitives[index].kind.word()
                    ),
                ));
            }
            if timeout.is_some() {
                return Err(self
                    .err(span_of(&raw.timeout).unwrap_or(template.span()), "a queue join takes no timeout"));
            }
            return Ok(Step::JoinQueue { target: index });
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

fn unreachable_step() -> ! {
    unreachable!("join() is called only for steps whose action is join")
}
