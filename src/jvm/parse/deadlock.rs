//! The JVM's own deadlock report:
//!
//! ```text
//! Found one Java-level deadlock:
//! =============================
//! "Deadlock-A":
//!   waiting for ownable synchronizer 0x000000069eee9d20, (a java.util.concurrent.locks.ReentrantLock$NonfairSync),
//!   which is held by "Deadlock-B"
//! "Thread-1":
//!   waiting to lock monitor 0x00007f3b1c003a60 (object 0x000000071a2b3c40, a java.lang.Object),
//!   which is held by "Thread-0"
//!
//! Java stack information for the threads listed above:
//! ===================================================
//! (stacks, repeated from the dump)
//!
//! Found 1 deadlock.
//! ```

use super::lines::{parse_class, parse_hex, text, trim};
use crate::jvm::model::{DeadlockLink, JavaDeadlock, JavaLockKind, JavaThread, JvmThreadDump, LockAction};
use crate::jvm::name::JavaName;

/// Parses one section starting at its `Found one Java-level deadlock` line;
/// returns it and how many lines it used.
pub(super) fn parse_section(lines: &[&[u8]]) -> (JavaDeadlock, usize) {
    let mut links: Vec<DeadlockLink> = Vec::new();
    let mut in_stacks = false;
    for (n, line) in lines.iter().enumerate().skip(1) {
        let trimmed = trim(line);
        if trimmed.starts_with(b"Found one Java-level deadlock") {
            return (JavaDeadlock { links }, n);
        }
        if trimmed.starts_with(b"Found ") && trimmed.windows(8).any(|w| w == b"deadlock") {
            return (JavaDeadlock { links }, n + 1);
        }
        if trimmed.starts_with(b"Java stack information") {
            in_stacks = true;
        }
        if in_stacks {
            continue;
        }
        if line.first() == Some(&b'"') && trimmed.ends_with(b"\":") && trimmed.len() >= 3 {
            links.push(DeadlockLink {
                thread_name: JavaName::from_bytes(trimmed[1..trimmed.len() - 2].to_vec()),
                thread: None,
                kind: JavaLockKind::Monitor,
                address: None,
                class: None,
                held_by_name: None,
                held_by: None,
            });
            continue;
        }
        let Some(link) = links.last_mut() else { continue };
        let s = text(trimmed);
        if let Some(rest) = s.strip_prefix("waiting for ownable synchronizer ") {
            link.kind = JavaLockKind::Synchronizer;
            link.address = rest.split([',', ' ']).next().and_then(parse_hex);
            link.class = parse_class(rest);
        } else if let Some(rest) = s.strip_prefix("waiting to lock monitor ") {
            // `0x7f3b1c003a60 (object 0x71a2b3c40, a java.lang.Object),`: the
            // object's address is the one the stacks print.
            link.kind = JavaLockKind::Monitor;
            if let Some(object) = rest.split_once("(object ").map(|(_, o)| o) {
                link.address = object.split([',', ' ', ')']).next().and_then(parse_hex);
                link.class =
                    object.split_once(", a ").map(|(_, c)| c.trim_end_matches([')', ',']).to_owned());
            }
        }
        const HELD_BY: &[u8] = b"which is held by ";
        if let Some(at) = trimmed.windows(HELD_BY.len()).position(|w| w == HELD_BY) {
            // The name's bytes come from the line itself, not from the lossy text.
            let holder = trim(&trimmed[at + HELD_BY.len()..]);
            if holder.len() >= 2 && holder.starts_with(b"\"") && holder.ends_with(b"\"") {
                link.held_by_name = Some(JavaName::from_bytes(holder[1..holder.len() - 1].to_vec()));
            }
        }
    }
    (JavaDeadlock { links }, lines.len())
}

/// Resolves each link's names to thread indices. A name shared by several
/// threads resolves to the one whose lock lines fit the link.
pub(super) fn resolve(dump: &mut JvmThreadDump) {
    let threads = &dump.threads;
    for link in dump.deadlocks.iter_mut().flat_map(|d| &mut d.links) {
        link.thread = pick(threads, &link.thread_name, |t| {
            link.address.is_some() && t.waiting_for().and_then(|w| w.lock.address) == link.address
        });
        if let Some(name) = &link.held_by_name {
            link.held_by = pick(threads, name, |t| link.address.is_some_and(|a| holds(t, a)));
        }
    }
}

fn pick(threads: &[JavaThread], name: &JavaName, fits: impl Fn(&JavaThread) -> bool) -> Option<usize> {
    let mut first = None;
    for (i, t) in threads.iter().enumerate().filter(|(_, t)| &t.name == name) {
        if fits(t) {
            return Some(i);
        }
        first = first.or(Some(i));
    }
    first
}

/// True when `t`'s dump says it holds the lock at `address`.
fn holds(t: &JavaThread, address: u64) -> bool {
    t.owned_synchronizers.iter().any(|l| l.address == Some(address))
        || t.frames
            .iter()
            .flat_map(|f| &f.locks)
            .any(|l| l.action == LockAction::Locked && l.lock.address == Some(address))
}
