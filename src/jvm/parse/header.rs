//! A thread's header line:
//! `"name" #12 daemon [13463] prio=5 os_prio=0 cpu=0.23ms elapsed=0.50s tid=0x… nid=0x3497 waiting on condition  [0x…]`.

use super::lines::{parse_duration, parse_hex, parse_nid};
use crate::jvm::model::{JavaThread, JavaThreadKind};
use crate::jvm::name::JavaName;

/// How many lines a name may span (a name can hold newlines).
const MAX_NAME_LINES: usize = 8;

/// Parses the header starting at `lines[0]` (which starts with `"`).
/// Returns the thread and how many lines the header used, or None when
/// this is not a header.
pub(super) fn parse_header(lines: &[&[u8]]) -> Option<(JavaThread, usize)> {
    let mut joined: Vec<u8> = Vec::new();
    for (n, line) in lines.iter().take(MAX_NAME_LINES).enumerate() {
        if n > 0 {
            joined.push(b'\n');
        }
        joined.extend_from_slice(line);
        // The tail after the name never holds a quote, so the name ends at
        // the last one, whatever quotes the name holds.
        let Some(close) = joined.iter().rposition(|&b| b == b'"').filter(|&c| c > 0) else { continue };
        let tail = String::from_utf8_lossy(&joined[close + 1..]).into_owned();
        if let Some(thread) = parse_tail(&tail, &joined[1..close]) {
            return Some((thread, n + 1));
        }
        if !tail.trim().is_empty() {
            // A closing quote followed by something that is not a header.
            return None;
        }
    }
    None
}

/// The fields after the name; None unless at least one known field is there.
fn parse_tail(tail: &str, name: &[u8]) -> Option<JavaThread> {
    if !tail.starts_with(' ') {
        return None;
    }
    let mut t = JavaThread {
        name: JavaName::from_bytes(name.to_vec()),
        kind: JavaThreadKind::VmInternal,
        java_id: None,
        daemon: false,
        priority: None,
        os_priority: None,
        cpu: None,
        elapsed: None,
        vm_address: None,
        native_id: None,
        vm_status: String::new(),
        state: None,
        frames: Vec::new(),
        owned_synchronizers: Vec::new(),
    };
    let mut fields = 0;
    let mut bracket_nid = None;
    let mut status: Vec<&str> = Vec::new();
    for token in tail.split_whitespace() {
        let (key, value) = token.split_once('=').unwrap_or((token, ""));
        match key {
            "prio" => t.priority = value.parse().ok(),
            "os_prio" => t.os_priority = value.parse().ok(),
            "cpu" => t.cpu = parse_duration(value),
            "elapsed" => t.elapsed = parse_duration(value),
            "tid" => t.vm_address = parse_hex(value),
            "nid" => t.native_id = parse_nid(value),
            "allocated" | "defined_classes" => {}
            "daemon" if status.is_empty() && fields == 0 => {
                t.daemon = true;
                continue;
            }
            _ if fields == 0 && status.is_empty() => {
                if let Some(id) = token.strip_prefix('#') {
                    t.java_id = id.parse().ok();
                    t.kind = JavaThreadKind::Java;
                } else if let Some(n) = token.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                    // JDK 19+ prints the TID in brackets before prio=.
                    bracket_nid = n.parse().ok();
                } else if !token.contains('=') {
                    // A field this parser does not know is skipped; a word is not a header.
                    return None;
                }
                continue;
            }
            _ => {
                // After the fields: the VM status words, then the stack's
                // address in brackets, which says nothing here.
                if fields > 0 && !token.starts_with("[0x") {
                    status.push(token);
                }
                continue;
            }
        }
        fields += 1;
    }
    if fields == 0 {
        return None;
    }
    t.native_id = t.native_id.or(bracket_nid);
    t.vm_status = status.join(" ");
    Some(t)
}
