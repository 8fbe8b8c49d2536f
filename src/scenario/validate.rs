//! From the file as written ([`format`](super::format)) to a [`Scenario`]:
//! templates expanded, names resolved, every rule checked, every error
//! pointing at its line and column.

use super::error::ScenarioError;
use super::expr::{self, Vars};
use super::format::{RawGroup, RawPrimitive, RawScenario, RawStep};
use super::model::*;
use super::units::{parse_duration, parse_size};
use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;

/// Most threads one group may declare; beyond, the thread budget decides.
pub const MAX_GROUP_COUNT: i64 = 100_000;

/// Parses and validates scenario `text`; `origin` names it in errors.
/// `room` is how many more threads the process can start (None: unknown).
pub fn parse(origin: &str, text: &str, room: Option<usize>) -> Result<Scenario> {
    let raw: RawScenario =
        toml::from_str(text).map_err(|e| ScenarioError::at(origin, text, e.span(), e.message().trim()))?;
    Validator { origin, text }.scenario(raw, room)
}

pub(super) struct Validator<'a> {
    origin: &'a str,
    text: &'a str,
}

impl Validator<'_> {
    /// `file:line:column` of `offset`, for what is reported at run time.
    pub(super) fn place(&self, offset: usize) -> String {
        let (line, column) = super::line_column(self.text, offset);
        format!("{}:{line}:{column}", self.origin)
    }
}

pub(super) type Result<T> = std::result::Result<T, ScenarioError>;

impl Validator<'_> {
    pub(super) fn err(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
        ScenarioError::at(self.origin, self.text, Some(span), message)
    }

    pub(super) fn duration(&self, text: &Spanned<String>) -> Result<Duration> {
        parse_duration(text.get_ref()).map_err(|m| self.err(text.span(), m))
    }

    pub(super) fn expand(&self, template: &Spanned<String>, vars: Vars) -> Result<String> {
        expr::expand(template.get_ref(), vars).map_err(|e| self.err(template.span(), e.0))
    }

    pub(super) fn positive(&self, value: &Spanned<i64>, what: &str, max: i64) -> Result<usize> {
        let v = *value.get_ref();
        if v < 1 || v > max {
            return Err(self.err(value.span(), format!("{what} must be between 1 and {max}, not {v}")));
        }
        usize::try_from(v).map_err(|_| self.err(value.span(), format!("{what} is out of range")))
    }

    fn scenario(&self, raw: RawScenario, room: Option<usize>) -> Result<Scenario> {
        for field in [&raw.name, &raw.description] {
            if field.get_ref().trim().is_empty() {
                return Err(self.err(field.span(), "must not be empty"));
            }
        }
        let gil = match &raw.gil {
            Some(gil) => {
                let switch_interval = self.duration(&gil.get_ref().switch_interval)?;
                if switch_interval.is_zero() {
                    return Err(
                        self.err(gil.get_ref().switch_interval.span(), "switch_interval must be above 0")
                    );
                }
                Some(GilSpec { switch_interval })
            }
            None => None,
        };
        let primitives = self.primitives(&raw)?;
        let by_name: HashMap<&str, usize> =
            primitives.iter().enumerate().map(|(i, p)| (p.name.as_str(), i)).collect();
        let names = self.thread_names(&raw.threads)?;
        let mut threads = Vec::new();
        for group in &raw.threads {
            self.group(group, &names, &primitives, &by_name, &mut threads)?;
        }
        let scenario = Scenario {
            name: raw.name.into_inner(),
            description: raw.description.into_inner(),
            notes: raw.notes,
            seed: raw.seed.unwrap_or(0),
            gil,
            primitives,
            threads,
        };
        if let Some(room) = room
            && scenario.max_threads() > room
        {
            let at =
                raw.threads.iter().map(|g| g.get_ref().count.as_ref().map_or(g.span(), |c| c.span())).next();
            return Err(ScenarioError::at(
                self.origin,
                self.text,
                at,
                format!(
                    "{} threads are over the thread budget: this process has room for about {room} more",
                    scenario.max_threads()
                ),
            ));
        }
        Ok(scenario)
    }

    fn primitives(&self, raw: &RawScenario) -> Result<Vec<PrimitiveSpec>> {
        let mut declared: Vec<(&Spanned<String>, &Spanned<RawPrimitive>)> = raw.primitives.iter().collect();
        declared.sort_by_key(|(name, _)| name.span().start);
        let mut out: Vec<PrimitiveSpec> = Vec::new();
        let mut locks_wanted: Vec<(usize, &Spanned<String>)> = Vec::new();
        for (template, spec) in declared {
            let count = match &spec.get_ref().count {
                Some(count) => self.positive(count, "count", MAX_GROUP_COUNT)?,
                None if expr::is_template(template.get_ref()) => {
                    return Err(self.err(
                        template.span(),
                        format!("`{}` is a template: give it a count", template.get_ref()),
                    ));
                }
                None => 1,
            };
            for i in 0..count {
                let vars = Vars { i: i as i64, n: count as i64 };
                let name = self.expand(template, vars)?;
                if out.iter().any(|p| p.name == name) {
                    return Err(self.err(template.span(), format!("primitive `{name}` is declared twice")));
                }
                let kind = self.primitive_kind(spec)?;
                if let Some(lock) = &spec.get_ref().lock {
                    locks_wanted.push((out.len(), lock));
                }
                out.push(PrimitiveSpec { name, kind });
            }
        }
        for (index, lock) in locks_wanted {
            let Some(target) = out.iter().position(|p| &p.name == lock.get_ref()) else {
                return Err(
                    self.err(lock.span(), format!("unknown lock `{}` for this condition", lock.get_ref()))
                );
            };
            if !matches!(out[target].kind, PrimitiveSpecKind::Lock | PrimitiveSpecKind::RLock) {
                return Err(self.err(
                    lock.span(),
                    format!(
                        "`{}` is a {}, not a lock or rlock",
                        lock.get_ref(),
                        out[target].kind.kind().label()
                    ),
                ));
            }
            out[index].kind = PrimitiveSpecKind::Condition { lock: Some(target) };
        }
        Ok(out)
    }

    fn primitive_kind(&self, spec: &Spanned<RawPrimitive>) -> Result<PrimitiveSpecKind> {
        let raw = spec.get_ref();
        let word = raw.kind.get_ref().as_str();
        let options: [OptionUse<'_>; 8] = [
            ("value", raw.value.as_ref().map(Spanned::span), &["semaphore"]),
            ("bounded", raw.bounded.map(|_| spec.span()), &["semaphore"]),
            ("parties", raw.parties.as_ref().map(Spanned::span), &["barrier"]),
            ("timeout", raw.timeout.as_ref().map(Spanned::span), &["barrier"]),
            ("maxsize", raw.maxsize.as_ref().map(Spanned::span), &["queue"]),
            ("order", raw.order.as_ref().map(Spanned::span), &["queue"]),
            ("lock", raw.lock.as_ref().map(Spanned::span), &["condition"]),
            (
                "max_workers",
                raw.max_workers.as_ref().map(Spanned::span).or(raw.prefix.as_ref().map(Spanned::span)),
                &["pool"],
            ),
        ];
        for (option, span, kinds) in options {
            if let Some(span) = span
                && !kinds.contains(&word)
            {
                return Err(self.err(span, format!("`{option}` does not apply to a {word}")));
            }
        }
        Ok(match word {
            "lock" => PrimitiveSpecKind::Lock,
            "rlock" => PrimitiveSpecKind::RLock,
            "event" => PrimitiveSpecKind::Event,
            "condition" => PrimitiveSpecKind::Condition { lock: None },
            "semaphore" => {
                let value = raw.value.as_ref().map_or(Ok(1), |v| {
                    usize::try_from(*v.get_ref())
                        .map_err(|_| self.err(v.span(), "semaphore initial value must be >= 0"))
                })?;
                PrimitiveSpecKind::Semaphore { value, bounded: raw.bounded.unwrap_or(false) }
            }
            "barrier" => {
                let parties =
                    raw.parties.as_ref().ok_or_else(|| self.err(spec.span(), "a barrier needs `parties`"))?;
                let parties = self.positive(parties, "parties", MAX_GROUP_COUNT)?;
                let timeout = raw.timeout.as_ref().map(|t| self.duration(t)).transpose()?;
                PrimitiveSpecKind::Barrier { parties, timeout }
            }
            "queue" => {
                let maxsize = raw.maxsize.as_ref().map_or(0, |m| usize::try_from(*m.get_ref()).unwrap_or(0));
                let order = match raw.order.as_ref().map(|o| (o.get_ref().as_str(), o.span())) {
                    None | Some(("fifo", _)) => QueueOrder::Fifo,
                    Some(("lifo", _)) => QueueOrder::Lifo,
                    Some(("priority", _)) => QueueOrder::Priority,
                    Some((other, span)) => {
                        return Err(
                            self.err(span, format!("unknown queue order `{other}` (fifo, lifo or priority)"))
                        );
                    }
                };
                PrimitiveSpecKind::Queue { maxsize, order }
            }
            "pool" => PrimitiveSpecKind::Pool {
                max_workers: raw
                    .max_workers
                    .as_ref()
                    .map(|m| self.positive(m, "max_workers", 1024))
                    .transpose()?,
                prefix: raw.prefix.as_ref().map(|p| p.get_ref().clone()),
            },
            other => {
                return Err(self.err(
                    raw.kind.span(),
                    format!("unknown kind `{other}` (lock, rlock, event, condition, semaphore, barrier, queue or pool)"),
                ));
            }
        })
    }

    /// Every thread's name, group by group, for resolving joins.
    fn thread_names(&self, groups: &[Spanned<RawGroup>]) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for group in groups {
            let count = self.group_count(group)?;
            for i in 0..count {
                names.push(self.expand(&group.get_ref().name, Vars { i: i as i64, n: count as i64 })?);
            }
        }
        Ok(names)
    }

    fn group_count(&self, group: &Spanned<RawGroup>) -> Result<usize> {
        match &group.get_ref().count {
            Some(count) => self.positive(count, "count", MAX_GROUP_COUNT),
            None => Ok(1),
        }
    }

    fn group(
        &self,
        group: &Spanned<RawGroup>,
        names: &[String],
        primitives: &[PrimitiveSpec],
        by_name: &HashMap<&str, usize>,
        out: &mut Vec<ThreadSpec>,
    ) -> Result<()> {
        let raw = group.get_ref();
        let count = self.group_count(group)?;
        let stack_size = match &raw.stack_size {
            Some(size) => {
                let bytes = parse_size(size.get_ref()).map_err(|m| self.err(size.span(), m))?;
                if bytes < 32 * 1024 {
                    return Err(
                        self.err(size.span(), format!("size not valid: {bytes} bytes (at least 32KiB)"))
                    );
                }
                Some(bytes)
            }
            None => None,
        };
        let start = match raw.start.as_ref().map(|s| (s.get_ref().as_str(), s)) {
            None | Some(("now", _)) => StartPolicy::Now,
            Some(("manual", _)) => StartPolicy::Manual,
            Some((_, delay)) => StartPolicy::After(self.duration(delay).map_err(|e| ScenarioError {
                message: format!("{} (start is \"now\", \"manual\" or a delay like \"500ms\")", e.message),
                ..e
            })?),
        };
        let times = raw.repeat.as_ref().map(|r| self.times(r)).transpose()?;
        for i in 0..count {
            let vars = Vars { i: i as i64, n: count as i64 };
            let context = StepContext { vars, names, primitives, by_name };
            let mut steps = self.steps(&raw.steps, &context)?;
            if let Some(times) = times {
                steps = vec![Step::Repeat { times, steps }];
            }
            out.push(ThreadSpec {
                name: self.expand(&raw.name, vars)?,
                group: raw.name.get_ref().clone(),
                index: i,
                daemon: raw.daemon,
                stack_size,
                start,
                steps,
            });
        }
        Ok(())
    }

    pub(super) fn times(&self, value: &Spanned<toml::Value>) -> Result<Times> {
        match value.get_ref() {
            toml::Value::String(s) if s == "forever" => Ok(Times::Forever),
            toml::Value::Integer(n) if *n >= 0 => Ok(Times::Count(n.unsigned_abs())),
            _ => Err(self.err(value.span(), "repeat is a count (0 or more) or \"forever\"")),
        }
    }

    pub(super) fn steps(&self, raw: &[Spanned<RawStep>], context: &StepContext<'_>) -> Result<Vec<Step>> {
        raw.iter().map(|step| self.step(step, context)).collect()
    }
}

/// A kind-specific option: its name, where it was given, and the kinds it applies to.
type OptionUse<'a> = (&'a str, Option<Range<usize>>, &'a [&'a str]);

/// What a step needs to resolve its names: the thread's template
/// variables, every thread name and every primitive.
pub(super) struct StepContext<'a> {
    pub vars: Vars,
    pub names: &'a [String],
    pub primitives: &'a [PrimitiveSpec],
    pub by_name: &'a HashMap<&'a str, usize>,
}
