//! The patch between two versions of a thread, field by field: what
//! [`patch::diff`](super::patch::diff) would make of their JSON, without
//! turning the whole thread into JSON twice (most of a recording's cost
//! when every thread's figures move each second).
//!
//! The destructuring below has no `..`: a field added to `ThreadView` or
//! `KernelView` fails to compile here until it is recorded. A field the
//! views skip when `None` is removed, not set to null, when it goes away.

use crate::inspect::{KernelView, ThreadView};
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Default)]
struct FieldPatch {
    set: Map<String, Value>,
    removed: Vec<Value>,
}

impl FieldPatch {
    fn put<T: Serialize + PartialEq>(&mut self, name: &str, old: &T, new: &T) -> serde_json::Result<()> {
        if old != new {
            self.whole(name, serde_json::to_value(new)?);
        }
        Ok(())
    }

    /// A field serialised only when `Some`.
    fn put_skipped<T: Serialize + PartialEq>(
        &mut self,
        name: &str,
        old: &Option<T>,
        new: &Option<T>,
    ) -> serde_json::Result<()> {
        match new {
            None if old.is_some() => self.removed.push(Value::from(name)),
            Some(value) if old.as_ref() != Some(value) => self.whole(name, serde_json::to_value(value)?),
            _ => {}
        }
        Ok(())
    }

    fn whole(&mut self, name: &str, value: Value) {
        let mut replace = Map::new();
        replace.insert("=".into(), value);
        self.set.insert(name.to_owned(), Value::Object(replace));
    }

    fn finish(self) -> Value {
        let mut patch = Map::new();
        patch.insert("o".into(), Value::Object(self.set));
        if !self.removed.is_empty() {
            patch.insert("-".into(), Value::Array(self.removed));
        }
        Value::Object(patch)
    }
}

/// The patch from `old` to `new` (which differ).
///
/// # Errors
///
/// serde_json's.
pub fn thread_patch(old: &ThreadView, new: &ThreadView) -> serde_json::Result<Value> {
    let ThreadView {
        key,
        name,
        name_raw,
        ident,
        native_id,
        daemon,
        state,
        waiting_on,
        kernel,
        origin,
        holds,
        time_in_state,
        outcome,
        runtime,
        native_stack,
        // A capture of this process's own stack, resolved when shown: it
        // means nothing in another process, so it is not recorded (as JSON
        // leaves it out).
        wait_backtrace: _,
    } = new;
    let mut p = FieldPatch::default();
    p.put("key", &old.key, key)?;
    p.put("name", &old.name, name)?;
    p.put_skipped("name_raw", &old.name_raw, name_raw)?;
    p.put("ident", &old.ident, ident)?;
    p.put("native_id", &old.native_id, native_id)?;
    p.put("daemon", &old.daemon, daemon)?;
    p.put("state", &old.state, state)?;
    p.put("waiting_on", &old.waiting_on, waiting_on)?;
    match (&old.kernel, kernel) {
        (Some(before), Some(after)) if before != after => {
            p.set.insert("kernel".into(), kernel_patch(before, after)?);
        }
        _ => p.put("kernel", &old.kernel, kernel)?,
    }
    p.put("origin", &old.origin, origin)?;
    p.put("holds", &old.holds, holds)?;
    p.put("time_in_state", &old.time_in_state, time_in_state)?;
    p.put("outcome", &old.outcome, outcome)?;
    p.put_skipped("runtime", &old.runtime, runtime)?;
    p.put_skipped("native_stack", &old.native_stack, native_stack)?;
    Ok(p.finish())
}

fn kernel_patch(old: &KernelView, new: &KernelView) -> serde_json::Result<Value> {
    let KernelView {
        tid,
        comm,
        comm_raw,
        state,
        cpu_percent,
        utime_ms,
        stime_ms,
        processor,
        priority,
        nice,
        voluntary_ctxt_switches,
        nonvoluntary_ctxt_switches,
        wchan,
        cpus_allowed,
        futex,
        wait,
        started_ms,
    } = new;
    let mut p = FieldPatch::default();
    p.put("tid", &old.tid, tid)?;
    p.put("comm", &old.comm, comm)?;
    p.put_skipped("comm_raw", &old.comm_raw, comm_raw)?;
    p.put("state", &old.state, state)?;
    p.put("cpu_percent", &old.cpu_percent, cpu_percent)?;
    p.put("utime_ms", &old.utime_ms, utime_ms)?;
    p.put("stime_ms", &old.stime_ms, stime_ms)?;
    p.put("processor", &old.processor, processor)?;
    p.put("priority", &old.priority, priority)?;
    p.put("nice", &old.nice, nice)?;
    p.put("voluntary_ctxt_switches", &old.voluntary_ctxt_switches, voluntary_ctxt_switches)?;
    p.put("nonvoluntary_ctxt_switches", &old.nonvoluntary_ctxt_switches, nonvoluntary_ctxt_switches)?;
    p.put("wchan", &old.wchan, wchan)?;
    p.put("cpus_allowed", &old.cpus_allowed, cpus_allowed)?;
    p.put("futex", &old.futex, futex)?;
    p.put_skipped("wait", &old.wait, wait)?;
    p.put_skipped("started_ms", &old.started_ms, started_ms)?;
    Ok(p.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::DisplayName;
    use crate::kernel::{Field, Reason};

    fn thread() -> ThreadView {
        crate::record::tests::any_thread()
    }

    /// Applying the field patch to the old thread's JSON gives the new one's.
    fn check(old: &ThreadView, new: &ThreadView) {
        let mut value = serde_json::to_value(old).unwrap();
        crate::record::patch::apply(&mut value, &thread_patch(old, new).unwrap()).unwrap();
        assert_eq!(value, serde_json::to_value(new).unwrap());
    }

    #[test]
    fn each_kind_of_change_patches_to_the_same_json() {
        let old = thread();
        let mut new = old.clone();
        new.name = DisplayName::from_bytes(b"x\x1b");
        new.name_raw = new.name.raw_if_unprintable();
        check(&old, &new);
        check(&new, &old);
        let mut new = old.clone();
        if let Some(k) = &mut new.kernel {
            k.cpu_percent = Field::Unavailable(Reason::Gone);
            k.utime_ms += 10;
            k.wait = Some("read on fd 3".into());
        }
        check(&old, &new);
        check(&new, &old);
        let mut new = old.clone();
        new.kernel = None;
        new.runtime = None;
        check(&old, &new);
        check(&new, &old);
    }
}
