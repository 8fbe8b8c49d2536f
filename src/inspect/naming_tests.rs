use super::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// Each test thread its own key and TID, so findings can be checked for
/// *which* threads they name.
fn link(name: &str) -> ThreadLink {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let key = NEXT.fetch_add(1, Ordering::Relaxed);
    ThreadLink { key, tid: Some(1000 + key as u32), name: name.into() }
}

/// A thread a runtime named (ours, an agent's, a JVM's), with the comm the kernel cut from it.
fn ours(name: &str) -> NamedThread {
    NamedThread {
        thread: link(name),
        name: DisplayName::from_text(name),
        full: true,
        comm: Some(DisplayName::from_text(kernel_comm(name))),
        main: false,
    }
}

/// A thread only the kernel names.
fn foreign(comm: &str) -> NamedThread {
    NamedThread {
        thread: link(comm),
        name: DisplayName::from_text(comm),
        full: false,
        comm: Some(DisplayName::from_text(comm)),
        main: false,
    }
}

/// A thread a runtime calls `name` while the kernel says `comm`.
fn runtime(name: &str, comm: &str) -> NamedThread {
    NamedThread { comm: Some(DisplayName::from_text(comm)), ..ours(name) }
}

fn kinds(found: &[NamingFinding]) -> Vec<NamingFindingKind> {
    found.iter().map(|f| f.kind).collect()
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
fn a_name_shown_escaped_is_its_own_shape_as_shown() {
    let bytes = |raw: &[u8]| NamedThread { name: DisplayName::from_bytes(raw), ..foreign("x") };
    let threads = vec![bytes(b"\xff\xfebad-1"), bytes(b"\xff\xfebad-1"), bytes(b"\\eP+q")];
    let found = patterns(&threads);
    let shapes: Vec<&str> = found.iter().map(|p| p.shape.as_str()).collect();
    assert_eq!(shapes, ["\\xff\\xfebad-1"], "escaped, not U+FFFD; a lone name makes no pattern");
}

#[test]
fn findings_cover_every_kind() {
    let threads = vec![
        ours("PaymentService-Processor-1"),
        ours("PaymentService-Processor-2"),
        ours("Thread-3"),
        ours("worker"),
        ours("worker"),
        ours("evil\u{202e}name"),
        runtime("renamed", "sneaky"),
    ];
    let found = findings(&threads, "app");
    for kind in [
        NamingFindingKind::Truncated,
        NamingFindingKind::CollideWhenTruncated,
        NamingFindingKind::DefaultName,
        NamingFindingKind::Duplicate,
        NamingFindingKind::Unprintable,
        NamingFindingKind::KernelDisagrees,
    ] {
        assert!(kinds(&found).contains(&kind), "{kind:?} missing from {found:?}");
    }
    let collision = found.iter().find(|f| f.kind == NamingFindingKind::CollideWhenTruncated).unwrap();
    assert_eq!(collision.message, "2 different names all show as `PaymentService-` in the kernel");
    assert_eq!(collision.threads, [threads[0].thread.clone(), threads[1].thread.clone()]);
}

#[test]
fn a_duplicate_names_each_of_its_threads_by_identity() {
    let threads = [ours("waiter"), ours("waiter"), ours("holder")];
    let found = findings(&threads, "app");
    assert_eq!(kinds(&found), [NamingFindingKind::Duplicate]);
    assert_eq!(found[0].message, "2 threads are named waiter");
    assert_eq!(found[0].threads, [threads[0].thread.clone(), threads[1].thread.clone()]);
    assert_ne!(found[0].threads[0].tid, found[0].threads[1].tid);
}

#[test]
fn a_clean_set_has_no_findings() {
    assert!(findings(&[ours("db-writer"), ours("http-1"), ours("http-2")], "app").is_empty());
}

#[test]
fn foreign_threads_collide_on_comm_alone() {
    let found = findings(&[foreign("tokio-worker"), foreign("tokio-worker")], "app");
    assert_eq!(kinds(&found), [NamingFindingKind::Duplicate]);
}

#[test]
fn equal_fifteen_byte_comms_are_duplicates_that_may_have_been_cut() {
    // `cv-wait-ümlaut` is 15 bytes: set with pthread_setname_np, which
    // refuses longer names, it was never cut; the kernel cannot tell.
    assert_eq!("cv-wait-ümlaut".len(), COMM_MAX_BYTES);
    let threads = [foreign("cv-wait-ümlaut"), foreign("cv-wait-ümlaut")];
    let found = findings(&threads, "cpp_mix");
    assert_eq!(kinds(&found), [NamingFindingKind::Duplicate]);
    assert_eq!(
        found[0].message,
        "2 threads are named cv-wait-ümlaut (15 bytes, all the kernel keeps: they may differ after it)"
    );
    assert_eq!(found[0].threads.len(), 2);
    // A JVM's eight PaymentService-Processor-N threads, as the kernel alone has them.
    let jvm: Vec<NamedThread> = (0..8).map(|_| foreign("PaymentService-")).collect();
    let found = findings(&jvm, "java");
    assert_eq!(kinds(&found), [NamingFindingKind::Duplicate]);
    assert!(found[0].message.starts_with("8 threads are named PaymentService- (15 bytes"), "{found:?}");
}

#[test]
fn a_runtime_name_of_fifteen_bytes_is_known_whole() {
    // Named by a runtime, 15 bytes is the whole name: no hint, no cut.
    let found = findings(&[ours("holder-exact15b"), ours("holder-exact15b")], "app");
    assert_eq!(kinds(&found), [NamingFindingKind::Duplicate]);
    assert_eq!(found[0].message, "2 threads are named holder-exact15b");
}

#[test]
fn a_main_thread_named_by_the_library_keeps_the_process_name_in_the_kernel() {
    let main = NamedThread { main: true, ..runtime("MainThread", "job_server") };
    assert!(findings(std::slice::from_ref(&main), "job_server").is_empty());
}

#[test]
fn a_main_thread_with_the_process_name_is_not_unnamed() {
    let main = NamedThread { main: true, ..foreign("sleep") };
    assert!(findings(std::slice::from_ref(&main), "sleep").is_empty());
    let other = foreign("sleep");
    let found = findings(&[main, other.clone()], "sleep");
    assert!(found[0].message.starts_with("1 thread(s) are unnamed"), "{found:?}");
    assert_eq!(found[0].threads, [other.thread], "the main thread is not among them");
}

#[test]
fn threads_with_the_process_name_are_unnamed() {
    let found = findings(&[foreign("python3"), foreign("python3"), foreign("python3")], "python3");
    assert_eq!(kinds(&found), [NamingFindingKind::Unnamed]);
    assert!(found[0].message.starts_with("3 thread(s) are unnamed: they carry the process's name `python3`"));
    assert_eq!(found[0].threads.len(), 3);
    assert!(patterns(&[foreign("python3"), foreign("python3")]).iter().all(|p| p.shape == "python3"));
}

#[test]
fn ids_cut_by_the_kernel_still_group() {
    let threads = [foreign("UserSession-103"), foreign("UserSession-104"), foreign("UserSession-1")];
    let found = patterns(&threads);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].shape.as_str(), found[0].count), ("UserSession-{id}", 2));
}

#[test]
fn threads_named_only_by_their_runtime_are_one_finding_not_a_disagreement_each() {
    // A Python program's threads, named through the agent, `python3` in the kernel.
    let threads =
        [runtime("PaymentService-ProcessorThread-1", "python3"), runtime("ledger-auditor", "python3")];
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

#[test]
fn a_jvm_main_thread_is_main_not_its_launchers_java() {
    // The launcher (TID = pid) is `java`; the JVM's `main` thread keeps
    // the launcher's comm, but the JVM names it.
    let launcher = NamedThread { main: true, ..foreign("java") };
    let threads = [launcher, runtime("main", "java"), ours("Reference Handler"), ours("Finalizer")];
    let shapes: Vec<String> = patterns(&threads).into_iter().map(|p| p.shape).collect();
    assert!(shapes.is_empty(), "no two names share a shape: {shapes:?}");
    let found = findings(&threads, "java");
    assert!(
        found.iter().all(|f| !f.message.contains("never named them")),
        "the program is not to blame for the launcher's name: {found:?}"
    );
    // Two JVM threads really called `java` still group: the name shown is what counts.
    let named_java = [runtime("java", "java"), runtime("java", "java")];
    assert_eq!(patterns(&named_java)[0].examples, ["java", "java"]);
}

#[test]
fn a_name_the_kernel_never_got_is_not_cut_there() {
    // Python 3.11 puts no name in the kernel: every comm is `python3`, so
    // top shows nothing cut, and nothing meets at `Socket-Receiver`.
    let threads =
        [runtime("Socket-Receiver-Long-Name", "python3"), runtime("Socket-Receiver-Other", "python3")];
    let found = findings(&threads, "python3");
    assert_eq!(kinds(&found), [NamingFindingKind::Unnamed], "{found:?}");
    assert!(found[0].message.starts_with("2 thread(s) are named only in their runtime"), "{found:?}");
    // Renamed in the kernel to something else: a disagreement, not a cut.
    let found = findings(&[runtime("Socket-Receiver-Long-Name", "rx")], "python3");
    assert_eq!(kinds(&found), [NamingFindingKind::KernelDisagrees], "{found:?}");
}

#[test]
fn a_name_the_kernel_holds_cut_is_truncated() {
    // The library's own threads (and Python 3.14's) put their name in the
    // kernel, cut at a character; `prctl` cuts at the 15th byte, mid-character.
    let name = "Empfänger-Thrüber";
    let raw_cut = &name.as_bytes()[..COMM_MAX_BYTES];
    assert_ne!(raw_cut, kernel_comm(name).as_bytes(), "the test needs a cut inside a character");
    let threads = [
        ours("Socket-Receiver-Long-Name"),
        NamedThread { comm: None, ..ours("Socket-Receiver-Not-Started") },
        NamedThread { comm: Some(DisplayName::from_bytes(raw_cut)), ..ours(name) },
    ];
    let found = findings(&threads, "app");
    assert_eq!(
        kinds(&found),
        // The half character left in a comm is shown escaped, as ever.
        [
            NamingFindingKind::Truncated,
            NamingFindingKind::CollideWhenTruncated,
            NamingFindingKind::Unprintable
        ],
        "{found:?}"
    );
    assert!(
        found[0].message.starts_with(
            "3 name(s) are longer than the kernel's 15 bytes, so top and ps show them cut (`Socket-Receiver-Long-Name` → `Socket-Receiver`)"
        ),
        "{}",
        found[0].message
    );
}
