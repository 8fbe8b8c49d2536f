//! Parsers for single lines and fields of a thread dump.

use std::time::Duration;

use crate::jvm::model::{FrameLock, JavaFrame, JavaState, LockAction, LockRef, StateReason, ThreadState};

/// `line` without leading and trailing ASCII whitespace.
pub(super) fn trim(line: &[u8]) -> &[u8] {
    line.trim_ascii()
}

/// Bytes as text (lossy: everything but names is ASCII in practice).
pub(super) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes.trim_ascii()).into_owned()
}

/// `0x7f02bc017ed0` → the number.
pub(super) fn parse_hex(s: &str) -> Option<u64> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    u64::from_str_radix(digits, 16).ok()
}

/// A `nid=`: hex with `0x` (JDK ≤ 18) or decimal (JDK 19+).
pub(super) fn parse_nid(s: &str) -> Option<u32> {
    match parse_hex(s) {
        Some(n) => u32::try_from(n).ok(),
        None => s.parse().ok(),
    }
}

/// `38.45ms`, `0.56s`, `12us`, `7ns` → a duration.
pub(super) fn parse_duration(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = s.split_at(split);
    let value: f64 = number.parse().ok()?;
    let scale = match unit {
        "s" => 1.0,
        "ms" => 1e-3,
        "us" => 1e-6,
        "ns" => 1e-9,
        _ => return None,
    };
    Duration::try_from_secs_f64(value * scale).ok()
}

/// `WAITING (parking)` (after `java.lang.Thread.State:`).
pub(super) fn parse_state(s: &str) -> JavaState {
    let (word, reason) = match s.split_once('(') {
        Some((word, rest)) => (word.trim(), Some(rest.trim_end().trim_end_matches(')').trim())),
        None => (s.trim(), None),
    };
    let state = match word {
        "NEW" => ThreadState::New,
        "RUNNABLE" => ThreadState::Runnable,
        "BLOCKED" => ThreadState::Blocked,
        "WAITING" => ThreadState::Waiting,
        "TIMED_WAITING" => ThreadState::TimedWaiting,
        "TERMINATED" => ThreadState::Terminated,
        other => ThreadState::Other(other.to_owned()),
    };
    let reason = reason.map(|r| match r {
        "on object monitor" => StateReason::OnObjectMonitor,
        "parking" => StateReason::Parking,
        "sleeping" => StateReason::Sleeping,
        other => StateReason::Other(other.to_owned()),
    });
    JavaState { state, reason }
}

/// `pkg.Class.method(java.base@17.0.15/File.java:276)` (after `at `).
pub(super) fn parse_frame(s: &str) -> JavaFrame {
    let (method, location) = match s.rfind('(') {
        Some(open) if s.ends_with(')') => (&s[..open], &s[open + 1..s.len() - 1]),
        _ => (s, ""),
    };
    let (module, source) = match location.rfind('/') {
        Some(slash) => {
            let module = location[..slash].trim_end_matches('/');
            ((!module.is_empty()).then(|| module.to_owned()), &location[slash + 1..])
        }
        None => (None, location),
    };
    let native = source == "Native Method";
    let (file, line) = if native || source == "Unknown Source" || source.is_empty() {
        (None, None)
    } else {
        match source.rsplit_once(':') {
            Some((file, line)) => match line.parse() {
                Ok(n) => (Some(file.to_owned()), Some(n)),
                Err(_) => (Some(source.to_owned()), None),
            },
            None => (Some(source.to_owned()), None),
        }
    };
    JavaFrame { method: method.trim().to_owned(), module, file, line, native, locks: Vec::new() }
}

/// `locked <0x…> (a java.lang.Object)` (after `- `).
pub(super) fn parse_frame_lock(s: &str) -> Option<FrameLock> {
    let open = s.find('<')?;
    let action = match s[..open].trim() {
        "locked" => LockAction::Locked,
        "waiting to lock" => LockAction::WaitingToLock,
        "waiting on" => LockAction::WaitingOn,
        "waiting to re-lock in wait()" => LockAction::WaitingToRelock,
        "parking to wait for" => LockAction::ParkingToWaitFor,
        "eliminated" => LockAction::Eliminated,
        _ => return None,
    };
    Some(FrameLock { action, lock: parse_lock_ref(&s[open..])? })
}

/// `<0x000000069ec1c090> (a java.lang.Object)`; the address is None for
/// `<no object reference available>` and the like.
pub(super) fn parse_lock_ref(s: &str) -> Option<LockRef> {
    let inner = s.strip_prefix('<')?;
    let close = inner.find('>')?;
    let address = parse_hex(inner[..close].trim());
    let class = parse_class(&inner[close + 1..]);
    if address.is_none() && class.is_none() && !inner[..close].contains(' ') {
        // `- None` and other words in angle brackets are not locks.
        return None;
    }
    Some(LockRef { address, class })
}

/// `(a java.lang.Object)` → `java.lang.Object`.
pub(super) fn parse_class(s: &str) -> Option<String> {
    let start = s.find("(a ")? + 3;
    let rest = &s[start..];
    let end = rest.rfind(')').unwrap_or(rest.len());
    let class = rest[..end].trim();
    (!class.is_empty()).then(|| class.to_owned())
}
