//! Naming: names grouped by shape (`HTTP-Worker-{n}` ×5) and the naming
//! problems a person would want to fix (truncation by the kernel, names
//! that collide once truncated, default names, duplicates, unprintable
//! bytes, a library name the kernel no longer agrees with).

use super::DisplayName;
use crate::threading::{COMM_MAX_BYTES, kernel_comm};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A thread's names, as the inspector knows them.
#[derive(Debug, Clone)]
pub struct NamedThread {
    /// The library's name, if the thread is ours.
    pub library: Option<DisplayName>,
    /// The kernel comm, if read.
    pub comm: Option<DisplayName>,
    /// The process's main thread (its TID is the pid), which carries the
    /// process's name by nature: never "unnamed".
    pub main: bool,
}

impl NamedThread {
    /// The best name: the library's, else the kernel's.
    pub fn name(&self) -> Option<&DisplayName> {
        self.library.as_ref().or(self.comm.as_ref())
    }

    /// True when the best name is the kernel's and fills all its 15
    /// bytes: it may have been longer.
    fn maybe_cut(&self) -> bool {
        self.library.is_none() && self.comm.as_ref().is_some_and(|c| c.raw().len() == COMM_MAX_BYTES)
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
    /// Longer than the kernel keeps: `top` and `/proc` show it cut.
    Truncated,
    /// Different names that are the same once cut.
    CollideWhenTruncated,
    /// Python's default `Thread-N` (or `Dummy-N`): says nothing.
    DefaultName,
    /// Several threads with the same name.
    Duplicate,
    /// Control, escape, bidi or zero-width characters, or invalid UTF-8.
    Unprintable,
    /// The kernel's comm is not the library name cut to 15 bytes (renamed
    /// behind the library's back).
    KernelDisagrees,
    /// Threads only the kernel names, whose names are exactly 15 bytes and
    /// equal: cut to the same prefix, they probably differ after it.
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
    /// The names of the threads it is about (safe form).
    pub threads: Vec<String>,
}

/// Groups names by shape, biggest groups first.
pub fn patterns(threads: &[NamedThread]) -> Vec<NamePattern> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in threads {
        let Some(name) = t.name() else { continue };
        let text = String::from_utf8_lossy(name.raw()).into_owned();
        let shape = if t.maybe_cut() { cut_shape(&text) } else { shape(&text) };
        groups
            .entry(crate::display::sanitize(&shape).into_owned())
            .or_default()
            .push(name.shown().to_owned());
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
    let mut by_comm: BTreeMap<Vec<u8>, Vec<String>> = BTreeMap::new();
    // Per name: how many carry it, whether any is named by the kernel
    // alone, and how many of those are not the main thread — counted in
    // this one pass (a search per name would be quadratic in threads).
    let mut by_name: BTreeMap<Vec<u8>, NameCount> = BTreeMap::new();
    let mut defaults = Vec::new();
    let mut truncated: Vec<(String, String)> = Vec::new();
    let mut runtime_only: Vec<String> = Vec::new();
    for t in threads {
        let Some(name) = t.name() else { continue };
        let shown = name.shown().to_owned();
        if name.has_unprintable() || t.comm.as_ref().is_some_and(DisplayName::has_unprintable) {
            out.push(finding(
                NamingFindingKind::Unprintable,
                format!("{shown} has bytes that cannot be shown as they are"),
                vec![shown.clone()],
            ));
        }
        let counted = by_name.entry(name.raw().to_vec()).or_default();
        counted.count += 1;
        if t.library.is_none() {
            counted.kernel_only = true;
            counted.unnamed += usize::from(!t.main);
        }
        if let Some(library) = &t.library {
            let text = String::from_utf8_lossy(library.raw());
            let expected = kernel_comm(&text);
            if expected.len() < text.len() {
                truncated.push((shown.clone(), crate::display::sanitize(expected).into_owned()));
            }
            // The main thread keeps the process's name in the kernel (the
            // library never renames it to "MainThread"): no disagreement.
            // One that kept the process's name was never named in the
            // kernel (CPython before 3.14 names no thread there): its runtime
            // alone knows the name, which is worth saying once, not per thread.
            if let Some(comm) = &t.comm
                && comm.raw() == process.as_bytes()
                && comm.raw() != expected.as_bytes()
                && !t.main
            {
                runtime_only.push(shown.clone());
            } else if let Some(comm) = &t.comm
                && comm.raw() != expected.as_bytes()
                && !t.main
            {
                out.push(finding(
                    NamingFindingKind::KernelDisagrees,
                    format!("{shown} is `{comm}` in the kernel: renamed without the library"),
                    vec![shown.clone()],
                ));
            }
            if is_default_name(&text) {
                defaults.push(shown.clone());
            }
            by_comm.entry(expected.as_bytes().to_vec()).or_default().push(shown);
        } else if let Some(comm) = &t.comm {
            by_comm.entry(comm.raw().to_vec()).or_default().push(shown);
        }
    }
    for (comm, mut names) in by_comm {
        names.sort();
        names.dedup();
        if names.len() > 1 {
            let comm = DisplayName::from_bytes(&comm);
            out.push(finding(
                NamingFindingKind::CollideWhenTruncated,
                format!("{} different names all show as `{comm}` in the kernel", names.len()),
                names,
            ));
        }
    }
    if let Some((example, cut)) = truncated.first().cloned() {
        let names: Vec<String> = truncated.into_iter().map(|(name, _)| name).collect();
        out.push(finding(
            NamingFindingKind::Truncated,
            format!(
                "{} name(s) are longer than the kernel's {COMM_MAX_BYTES} bytes, so top and ps show them cut (`{example}` → `{cut}`)",
                names.len()
            ),
            names,
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
    for (name, NameCount { count, kernel_only, unnamed }) in by_name {
        let name = DisplayName::from_bytes(&name);
        if kernel_only && name.raw() == process.as_bytes() {
            if unnamed == 0 {
                continue; // only the main thread: named after the process, as it should be
            }
            let count = unnamed;
            out.push(finding(
                NamingFindingKind::Unnamed,
                format!(
                    "{count} thread(s) are unnamed: they carry the process's name `{name}` (the program never named them)"
                ),
                vec![name.shown().to_owned()],
            ));
        } else if count > 1 && kernel_only && name.raw().len() == COMM_MAX_BYTES {
            out.push(finding(
                NamingFindingKind::CutToSame,
                format!(
                    "{count} threads' names are cut to the same {COMM_MAX_BYTES} bytes by the kernel: `{name}` (they probably differ after byte {COMM_MAX_BYTES})"
                ),
                vec![name.shown().to_owned()],
            ));
        } else if count > 1 {
            out.push(finding(
                NamingFindingKind::Duplicate,
                format!("{count} threads are named {name}"),
                vec![name.shown().to_owned()],
            ));
        }
    }
    out.sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.threads.cmp(&b.threads)));
    out
}

/// What [`findings`] counts of one name.
#[derive(Default)]
struct NameCount {
    count: usize,
    kernel_only: bool,
    unnamed: usize,
}

fn finding(kind: NamingFindingKind, message: String, threads: Vec<String>) -> NamingFinding {
    NamingFinding { kind, message, threads }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(name: &str) -> NamedThread {
        NamedThread {
            library: Some(DisplayName::from_text(name)),
            comm: Some(DisplayName::from_text(kernel_comm(name))),
            main: false,
        }
    }

    #[test]
    fn shapes_generalise_numbers_and_ids() {
        assert_eq!(shape("PaymentService-Processor-7"), "PaymentService-Processor-{n}");
        assert_eq!(shape("HTTP-Worker-12"), "HTTP-Worker-{n}");
        assert_eq!(shape("UserSession-1037"), "UserSession-{id}");
        assert_eq!(shape("job-3f9a2c7e"), "job-{id}");
        assert_eq!(shape("ThreadPoolExecutor-0_3"), "ThreadPoolExecutor-{n}_{n}");
        assert_eq!(shape("worker7"), "worker7", "digits inside a word belong to it");
        assert_eq!(shape("python3"), "python3");
        assert_eq!(shape("C2 CompilerThre"), "C2 CompilerThre");
        assert_eq!(shape("Thread-3 (fetch)"), "Thread-{n} (fetch)");
        assert_eq!(shape("deadbeef-cafe"), "deadbeef-cafe", "letters only: not an id");
    }

    #[test]
    fn patterns_count_groups_biggest_first() {
        let mut threads: Vec<NamedThread> =
            (1..=8).map(|i| ours(&format!("PaymentService-Processor-{i}"))).collect();
        threads.extend((1..=5).map(|i| ours(&format!("HTTP-Worker-{i}"))));
        threads.extend([1000, 1037, 1074].map(|i| ours(&format!("UserSession-{i}"))));
        threads.push(ours("MainThread"));
        let found = patterns(&threads);
        let summary: Vec<(&str, usize)> = found.iter().map(|p| (p.shape.as_str(), p.count)).collect();
        assert_eq!(
            summary,
            [("PaymentService-Processor-{n}", 8), ("HTTP-Worker-{n}", 5), ("UserSession-{id}", 3)]
        );
        assert_eq!(found[1].examples, ["HTTP-Worker-1", "HTTP-Worker-2", "HTTP-Worker-3"]);
    }

    #[test]
    fn findings_cover_every_kind() {
        let mut threads = vec![
            ours("PaymentService-Processor-1"),
            ours("PaymentService-Processor-2"),
            ours("Thread-3"),
            ours("worker"),
            ours("worker"),
            ours("evil\u{202e}name"),
        ];
        threads.push(NamedThread {
            library: Some(DisplayName::from_text("renamed")),
            comm: Some(DisplayName::from_text("sneaky")),
            main: false,
        });
        let kinds: Vec<NamingFindingKind> = findings(&threads, "app").iter().map(|f| f.kind).collect();
        for kind in [
            NamingFindingKind::Truncated,
            NamingFindingKind::CollideWhenTruncated,
            NamingFindingKind::DefaultName,
            NamingFindingKind::Duplicate,
            NamingFindingKind::Unprintable,
            NamingFindingKind::KernelDisagrees,
        ] {
            assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
        }
        let collision = findings(&threads, "app")
            .into_iter()
            .find(|f| f.kind == NamingFindingKind::CollideWhenTruncated)
            .unwrap_or_else(|| unreachable!());
        assert_eq!(collision.message, "2 different names all show as `PaymentService-` in the kernel");
    }

    #[test]
    fn a_clean_set_has_no_findings() {
        assert!(findings(&[ours("db-writer"), ours("http-1"), ours("http-2")], "app").is_empty());
    }

    #[test]
    fn foreign_threads_collide_on_comm_alone() {
        let foreign =
            |comm: &str| NamedThread { library: None, comm: Some(DisplayName::from_text(comm)), main: false };
        let found = findings(&[foreign("tokio-worker"), foreign("tokio-worker")], "app");
        assert_eq!(found.iter().map(|f| f.kind).collect::<Vec<_>>(), [NamingFindingKind::Duplicate]);
    }

    fn foreign(comm: &str) -> NamedThread {
        NamedThread { library: None, comm: Some(DisplayName::from_text(comm)), main: false }
    }

    #[test]
    fn fifteen_equal_bytes_are_a_cut_not_a_duplicate() {
        // A JVM's eight PaymentService-Processor-N threads, as the kernel has them.
        let threads: Vec<NamedThread> = (0..8).map(|_| foreign("PaymentService-")).collect();
        let found = findings(&threads, "java");
        assert_eq!(found.iter().map(|f| f.kind).collect::<Vec<_>>(), [NamingFindingKind::CutToSame]);
        assert_eq!(
            found[0].message,
            "8 threads' names are cut to the same 15 bytes by the kernel: `PaymentService-` (they probably differ after byte 15)"
        );
    }

    #[test]
    fn a_main_thread_named_by_the_library_keeps_the_process_name_in_the_kernel() {
        let main = NamedThread {
            library: Some(DisplayName::from_text("MainThread")),
            main: true,
            ..foreign("job_server")
        };
        assert!(findings(std::slice::from_ref(&main), "job_server").is_empty());
    }

    #[test]
    fn a_main_thread_with_the_process_name_is_not_unnamed() {
        let main = NamedThread { main: true, ..foreign("sleep") };
        assert!(findings(std::slice::from_ref(&main), "sleep").is_empty());
        let found = findings(&[main, foreign("sleep")], "sleep");
        assert!(found[0].message.starts_with("1 thread(s) are unnamed"), "{found:?}");
    }

    #[test]
    fn threads_with_the_process_name_are_unnamed() {
        let found = findings(&[foreign("python3"), foreign("python3"), foreign("python3")], "python3");
        assert_eq!(found.iter().map(|f| f.kind).collect::<Vec<_>>(), [NamingFindingKind::Unnamed]);
        assert!(
            found[0].message.starts_with("3 thread(s) are unnamed: they carry the process's name `python3`")
        );
        assert!(patterns(&[foreign("python3"), foreign("python3")]).iter().all(|p| p.shape == "python3"));
    }

    #[test]
    fn ids_cut_by_the_kernel_still_group() {
        let threads = [foreign("UserSession-103"), foreign("UserSession-104"), foreign("UserSession-1")];
        let found = patterns(&threads);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].shape.as_str(), found[0].count), ("UserSession-{id}", 2));
    }
}

#[cfg(test)]
mod runtime_named {
    use super::*;

    #[test]
    fn threads_named_only_by_their_runtime_are_one_finding_not_a_disagreement_each() {
        // A Python program's threads, named through the agent, `python3` in the kernel.
        let python = |name: &str| NamedThread {
            library: Some(DisplayName::from_text(name)),
            comm: Some(DisplayName::from_text("python3")),
            main: false,
        };
        let threads = [python("PaymentService-ProcessorThread-1"), python("ledger-auditor")];
        let found = findings(&threads, "python3");
        assert!(found.iter().all(|f| f.kind != NamingFindingKind::KernelDisagrees), "{found:?}");
        let unnamed = found.iter().find(|f| f.kind == NamingFindingKind::Unnamed).unwrap();
        assert!(
            unnamed.message.starts_with("2 thread(s) are named only in their runtime"),
            "{}",
            unnamed.message
        );
        assert_eq!(unnamed.threads.len(), 2);
    }
}
