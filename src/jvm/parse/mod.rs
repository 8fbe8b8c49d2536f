//! Parsing HotSpot's thread dump text (JDK 8 to 21+) into [`JvmThreadDump`].
//!
//! The parser reads line by line and never fails: a line it does not
//! understand is skipped, a field it cannot read is `None`. It never
//! panics either (proptest feeds it arbitrary bytes and mutated dumps).

mod deadlock;
mod header;
mod lines;
mod locks;
#[cfg(test)]
mod tests;

use super::model::{JavaThread, JavaThreadKind, JvmThreadDump};

/// Parses a thread dump (the reply to the attach `threaddump` command, or
/// the output of `jcmd PID Thread.print` / `jstack PID`).
///
/// Never fails and never panics: unreadable lines are skipped. A dump cut
/// short parses up to where it stops, with `complete` false.
///
/// # Examples
///
/// ```
/// use threadscope::jvm::{parse_thread_dump, ThreadState};
/// let text = br#""worker-1" #12 daemon prio=5 os_prio=0 tid=0x00007f02bc11e2e0 nid=0x3497 waiting on condition  [0x00007f0298998000]
///    java.lang.Thread.State: TIMED_WAITING (sleeping)
///     at java.lang.Thread.sleep(java.base@17.0.15/Native Method)
///     at Worker.run(Worker.java:9)
///
/// JNI global refs: 4, weak refs: 0
/// "#;
/// let dump = parse_thread_dump(text);
/// let t = &dump.threads[0];
/// assert_eq!(t.name, "worker-1");
/// assert_eq!(t.native_id, Some(0x3497));
/// assert_eq!(t.state.as_ref().map(|s| &s.state), Some(&ThreadState::TimedWaiting));
/// assert_eq!(t.frames[1].line, Some(9));
/// assert!(dump.complete);
/// ```
pub fn parse_thread_dump(text: &[u8]) -> JvmThreadDump {
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).collect();
    let mut dump = JvmThreadDump::default();
    let mut current: Option<ThreadBuilder> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = lines::trim(line);
        if line.first() == Some(&b'"')
            && let Some((thread, used)) = header::parse_header(&lines[i..])
        {
            finish(&mut dump, current.take());
            current = Some(ThreadBuilder { thread, in_owned: false });
            i += used;
            continue;
        }
        if trimmed.starts_with(b"JNI global refs") {
            finish(&mut dump, current.take());
            dump.complete = true;
        } else if trimmed.starts_with(b"Found one Java-level deadlock") {
            finish(&mut dump, current.take());
            let (found, used) = deadlock::parse_section(&lines[i..]);
            dump.deadlocks.push(found);
            i += used;
            continue;
        } else if trimmed.starts_with(b"Threads class SMR info") {
            finish(&mut dump, current.take());
            i += skip_smr_info(&lines[i..]);
            continue;
        } else if let Some(builder) = current.as_mut() {
            builder.body_line(trimmed);
        } else if trimmed.starts_with(b"Full thread dump") {
            dump.vm = Some(lines::text(trimmed));
        } else if dump.timestamp.is_none()
            && dump.vm.is_none()
            && dump.threads.is_empty()
            && trimmed.first().is_some_and(u8::is_ascii_digit)
        {
            dump.timestamp = Some(lines::text(trimmed));
        }
        i += 1;
    }
    finish(&mut dump, current);
    deadlock::resolve(&mut dump);
    dump.locks = locks::derive(&dump);
    dump
}

/// A thread being read: the header is parsed, body lines add to it.
struct ThreadBuilder {
    thread: JavaThread,
    /// Inside "Locked ownable synchronizers:".
    in_owned: bool,
}

impl ThreadBuilder {
    fn body_line(&mut self, trimmed: &[u8]) {
        let t = &mut self.thread;
        if let Some(state) = trimmed.strip_prefix(b"java.lang.Thread.State:") {
            t.state = Some(lines::parse_state(&lines::text(state)));
            t.kind = JavaThreadKind::Java;
        } else if let Some(frame) = trimmed.strip_prefix(b"at ") {
            self.in_owned = false;
            t.frames.push(lines::parse_frame(&lines::text(frame)));
        } else if trimmed.starts_with(b"Locked ownable synchronizers") {
            self.in_owned = true;
        } else if let Some(item) = trimmed.strip_prefix(b"- ") {
            let item = lines::text(item);
            if self.in_owned {
                if let Some(lock) = lines::parse_lock_ref(&item) {
                    t.owned_synchronizers.push(lock);
                }
            } else if let (Some(lock), Some(frame)) = (lines::parse_frame_lock(&item), t.frames.last_mut()) {
                frame.locks.push(lock);
            }
        }
    }
}

fn finish(dump: &mut JvmThreadDump, builder: Option<ThreadBuilder>) {
    if let Some(b) = builder {
        dump.threads.push(b.thread);
    }
}

/// Lines used by the `Threads class SMR info:` block (up to its `}`).
fn skip_smr_info(lines: &[&[u8]]) -> usize {
    for (n, line) in lines.iter().enumerate().skip(1) {
        let trimmed = self::lines::trim(line);
        if trimmed == b"}" {
            return n + 1;
        }
        if line.first() == Some(&b'"') || trimmed.is_empty() {
            return n;
        }
    }
    lines.len()
}
