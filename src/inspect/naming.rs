//! Naming: names grouped by shape (`HTTP-Worker-{n}` ×5) and the naming
//! problems a person would want to fix (truncation by the kernel, names
//! that collide once truncated, default names, duplicates, unprintable
//! bytes, a runtime's name the kernel no longer agrees with).
//!
//! Both run on the name threadscope shows: a runtime's (the library's, an
//! agent's, a JVM's) where one named the thread, else the kernel's comm.
//! Only a runtime's name says for sure whether the kernel cut it; a comm
//! that fills all 15 bytes may have been cut or may just be 15 bytes long
//! (`pthread_setname_np` refuses anything longer), so it is a hint, never
//! a finding of its own.

use super::{DisplayName, ThreadLink};
use crate::threading::{COMM_MAX_BYTES, kernel_comm};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A thread's names, as the inspector knows them.
#[derive(Debug, Clone)]
pub struct NamedThread {
    /// Which thread: findings refer to it by this, never by its name.
    pub thread: ThreadLink,
    /// The name threadscope shows.
    pub name: DisplayName,
    /// True when a runtime gave [`name`](Self::name): it is the whole
    /// name, so whether the kernel cut it is known, not guessed.
    pub full: bool,
    /// The kernel comm, if read.
    pub comm: Option<DisplayName>,
    /// The process's main thread (its TID is the pid), which carries the
    /// process's name by nature: never "unnamed".
    pub main: bool,
}

impl NamedThread {
    /// True when the name is the kernel's alone and fills all its 15
    /// bytes: it may have been longer.
    fn maybe_cut(&self) -> bool {
        !self.full && self.name.raw().len() == COMM_MAX_BYTES
    }
}

/// Names that share a shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamePattern {
    /// The shape: digit runs become `{n}`, long numbers and id-like tokens `{id}`.
    pub shape: String,
    /// How many threads have it.
    pub count: usize,
    /// A few of the names (safe form).
    pub examples: Vec<String>,
}

/// What kind of naming problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NamingFindingKind {
    /// Longer than the kernel keeps: `top` and `/proc` show it cut (known
    /// from a runtime's full name, and a comm that is its cut: a thread
    /// whose comm is another word is not cut but unnamed in the kernel).
    Truncated,
    /// Different names that are the same once cut (as their comms show).
    CollideWhenTruncated,
    /// Python's default `Thread-N` (or `Dummy-N`): says nothing.
    DefaultName,
    /// Several threads with the same name (when only the kernel names
    /// them and the name fills its 15 bytes, the message says they may
    /// differ after the cut).
    Duplicate,
    /// Control, escape, bidi or zero-width characters, or invalid UTF-8.
    Unprintable,
    /// The kernel's comm is not the runtime's name cut to 15 bytes (one
    /// was renamed without the other).
    KernelDisagrees,
    /// No longer made: earlier versions said equal 15-byte comms were cut
    /// for sure, where a name may just be 15 bytes long; those are now a
    /// [`Duplicate`](Self::Duplicate) with a hint. Kept so that older
    /// recordings still read.
    CutToSame,
    /// Threads that carry the process's own name (`python3`, `java`): the
    /// program never named them.
    Unnamed,
}

/// One naming problem and the threads behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamingFinding {
    /// What kind.
    pub kind: NamingFindingKind,
    /// In words.
    pub message: String,
    /// The threads it is about, by identity (a recording from before
    /// references held bare names: those read as [`ThreadLink::name_only`]).
    #[serde(deserialize_with = "super::links::links_or_names")]
    pub threads: Vec<ThreadLink>,
}

/// Groups names by shape, biggest groups first.
pub fn patterns(threads: &[NamedThread]) -> Vec<NamePattern> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in threads {
        // A name shown escaped (control bytes, bytes that are not UTF-8)
        // is its own shape, in its escaped form: generalising its text
        // would show what it is not.
        let shape = match std::str::from_utf8(t.name.raw()) {
            _ if t.name.has_unprintable() => t.name.shown().to_owned(),
            Ok(text) if t.maybe_cut() => cut_shape(text),
            Ok(text) => shape(text),
            Err(_) => t.name.shown().to_owned(),
        };
        groups.entry(shape).or_default().push(t.name.shown().to_owned());
    }
    let mut out: Vec<NamePattern> = groups
        .into_iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(shape, names)| NamePattern {
            shape,
            count: names.len(),
            examples: names.into_iter().take(3).collect(),
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.shape.cmp(&b.shape)));
    out
}

/// The shape of a name: `PaymentService-Processor-7` → `PaymentService-Processor-{n}`,
/// `UserSession-1037` → `UserSession-{id}`, `job-3f9a2c7e` → `job-{id}`.
/// Only a number standing alone is generalised: digits inside a word
/// (`python3`, `C2 CompilerThre`, `worker7`) are part of the word.
pub fn shape(name: &str) -> String {
    let mut out = String::new();
    for token in tokens(name) {
        let first = token.chars().next().unwrap_or(' ');
        if is_separator(first) {
            out.push_str(token);
        } else if token.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(if token.len() >= 4 { "{id}" } else { "{n}" });
        } else if is_id_like(token) {
            out.push_str("{id}");
        } else {
            out.push_str(token);
        }
    }
    out
}

/// The shape of a name the kernel may have cut at 15 bytes: a number at
/// its very end may be the start of a longer id (`UserSession-103` from
/// `UserSession-1037`), so it counts as `{id}` and groups with the rest.
fn cut_shape(name: &str) -> String {
    let tokens = tokens(name);
    match tokens.split_last() {
        Some((last, rest)) if last.chars().all(|c| c.is_ascii_digit()) => {
            let mut out = shape(&rest.concat());
            out.push_str("{id}");
            out
        }
        _ => shape(name),
    }
}

fn is_separator(c: char) -> bool {
    matches!(c, '-' | '_' | '.' | '/' | ':' | ' ' | '#' | '(' | ')' | '[' | ']' | '@')
}

/// Splits into runs of separators and runs of everything else.
fn tokens(name: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<bool> = None;
    for (i, c) in name.char_indices() {
        let sep = is_separator(c);
        if prev.is_some_and(|p| p != sep) {
            out.push(&name[start..i]);
            start = i;
        }
        prev = Some(sep);
    }
    if start < name.len() {
        out.push(&name[start..]);
    }
    out
}

/// Hex-ish tokens of 6+ characters with both digits and letters (hashes,
/// uuids' parts, request ids).
fn is_id_like(token: &str) -> bool {
    token.len() >= 6
        && token.chars().all(|c| c.is_ascii_hexdigit())
        && token.chars().any(|c| c.is_ascii_digit())
        && token.chars().any(|c| c.is_ascii_alphabetic())
}

fn is_default_name(name: &str) -> bool {
    let rest = name.strip_prefix("Thread-").or_else(|| name.strip_prefix("Dummy-"));
    rest.is_some_and(|r| {
        let digits = r.split(' ').next().unwrap_or("");
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
    })
}

/// Every naming problem among `threads` of the process called `process`.
pub fn findings(threads: &[NamedThread], process: &str) -> Vec<NamingFinding> {
    let mut out = Vec::new();
    // By the comm each name comes out as: different names that meet there.
    let mut by_comm: BTreeMap<Vec<u8>, Vec<&NamedThread>> = BTreeMap::new();
    // Per name, counted in this one pass (a search per name would be
    // quadratic in threads).
    let mut by_name: BTreeMap<&[u8], NameCount> = BTreeMap::new();
    let mut defaults = Vec::new();
    let mut truncated: Vec<(ThreadLink, String)> = Vec::new();
    let mut runtime_only = Vec::new();
    for t in threads {
        let shown = t.name.shown();
        if t.name.has_unprintable() || t.comm.as_ref().is_some_and(DisplayName::has_unprintable) {
            out.push(finding(
                NamingFindingKind::Unprintable,
                format!("{shown} has bytes that cannot be shown as they are"),
                vec![t.thread.clone()],
            ));
        }
        let counted = by_name.entry(t.name.raw()).or_default();
        counted.threads.push(t.thread.clone());
        if !t.full {
            counted.kernel_only = true;
            if !t.main {
                counted.unnamed.push(t.thread.clone());
            }
            if let Some(comm) = &t.comm {
                by_comm.entry(comm.raw().to_vec()).or_default().push(t);
            }
            continue;
        }
        let text = String::from_utf8_lossy(t.name.raw());
        if is_default_name(&text) {
            defaults.push(t.thread.clone());
        }
        let expected = kernel_comm(&text);
        // Only a name the kernel holds can be cut there, or meet another
        // one there.
        if holds_name(t.comm.as_ref(), t.name.raw(), expected) {
            if expected.len() < text.len() {
                truncated.push((t.thread.clone(), crate::display::sanitize(expected).into_owned()));
            }
            by_comm.entry(expected.as_bytes().to_vec()).or_default().push(t);
        } else if let Some(comm) = &t.comm
            // The main thread keeps the process's name in the kernel (the
            // library never renames it to "MainThread"): no disagreement.
            && !t.main
        {
            // One that kept the process's name was never named in the
            // kernel (CPython before 3.14 names no thread there, a JVM
            // leaves `main` with its launcher's `java`): its runtime alone
            // knows the name, which is worth saying once, not per thread.
            if comm.raw() == process.as_bytes() {
                runtime_only.push(t.thread.clone());
            } else {
                out.push(finding(
                    NamingFindingKind::KernelDisagrees,
                    format!("{shown} is `{comm}` in the kernel: one was renamed without the other"),
                    vec![t.thread.clone()],
                ));
            }
        }
    }
    for (comm, group) in by_comm {
        let mut names: Vec<&[u8]> = group.iter().map(|t| t.name.raw()).collect();
        names.sort_unstable();
        names.dedup();
        if names.len() > 1 {
            let comm = DisplayName::from_bytes(&comm);
            out.push(finding(
                NamingFindingKind::CollideWhenTruncated,
                format!("{} different names all show as `{comm}` in the kernel", names.len()),
                group.iter().map(|t| t.thread.clone()).collect(),
            ));
        }
    }
    if let Some((_, cut)) = truncated.first() {
        let example = &truncated[0].0.name;
        let message = format!(
            "{} name(s) are longer than the kernel's {COMM_MAX_BYTES} bytes, so top and ps show them cut (`{}` → `{cut}`)",
            truncated.len(),
            crate::display::sanitize(example),
        );
        out.push(finding(
            NamingFindingKind::Truncated,
            message,
            truncated.into_iter().map(|(link, _)| link).collect(),
        ));
    }
    if !runtime_only.is_empty() {
        let process = DisplayName::from_text(process);
        out.push(finding(
            NamingFindingKind::Unnamed,
            format!(
                "{} thread(s) are named only in their runtime: the kernel shows each as `{process}`, so top, ps and perf cannot tell them apart",
                runtime_only.len()
            ),
            runtime_only,
        ));
    }
    if !defaults.is_empty() {
        out.push(finding(
            NamingFindingKind::DefaultName,
            format!(
                "{} thread(s) have default names (Thread-N): name them after what they do",
                defaults.len()
            ),
            defaults,
        ));
    }
    for (name, NameCount { threads, kernel_only, unnamed }) in by_name {
        let name = DisplayName::from_bytes(name);
        if kernel_only && name.raw() == process.as_bytes() {
            if unnamed.is_empty() {
                continue; // only the main thread: named after the process, as it should be
            }
            out.push(finding(
                NamingFindingKind::Unnamed,
                format!(
                    "{} thread(s) are unnamed: they carry the process's name `{name}` (the program never named them)",
                    unnamed.len()
                ),
                unnamed,
            ));
        } else if threads.len() > 1 {
            // Equal comms of 15 bytes may be longer names cut alike, or
            // names picked to fit: the kernel cannot say which.
            let hint = if kernel_only && name.raw().len() == COMM_MAX_BYTES {
                format!(" ({COMM_MAX_BYTES} bytes, all the kernel keeps: they may differ after it)")
            } else {
                String::new()
            };
            out.push(finding(
                NamingFindingKind::Duplicate,
                format!("{} threads are named {name}{hint}", threads.len()),
                threads,
            ));
        }
    }
    out.sort_by(|a, b| {
        a.kind.cmp(&b.kind).then_with(|| a.threads.iter().map(order).cmp(b.threads.iter().map(order)))
    });
    out
}

/// Whether the kernel holds a runtime's `name`, as `expected` (the name cut
/// to 15 bytes at a character, as the library cuts it): its comm is that
/// cut, or the name's first 15 bytes (`prctl` cuts mid-character), or is
/// not read (a library thread not started yet, which will put it there).
/// A comm that is something else (`python3`) says the runtime never put
/// the name in the kernel, so nothing of it is cut there.
fn holds_name(comm: Option<&DisplayName>, name: &[u8], expected: &str) -> bool {
    comm.is_none_or(|comm| {
        comm.raw() == expected.as_bytes() || comm.raw() == &name[..name.len().min(COMM_MAX_BYTES)]
    })
}

/// The order findings of a kind come in: by their threads' names.
fn order(link: &ThreadLink) -> (&str, u64) {
    (&link.name, link.key)
}

/// What [`findings`] counts of one name.
#[derive(Default)]
struct NameCount {
    /// Every thread with it.
    threads: Vec<ThreadLink>,
    /// True when any of them is named by the kernel alone.
    kernel_only: bool,
    /// Those named by the kernel alone, but for the main thread.
    unnamed: Vec<ThreadLink>,
}

fn finding(kind: NamingFindingKind, message: String, threads: Vec<ThreadLink>) -> NamingFinding {
    NamingFinding { kind, message, threads }
}

#[cfg(test)]
#[path = "naming_tests.rs"]
mod tests;
