//! Waits in words, pthread mutex owners and deadlocks of a program that
//! never heard of threadscope: the test re-runs its own binary as a child
//! that calls glibc's pthread functions directly, then reads it from
//! outside with `kernel::WaitReader`, and checks everything by TID.
//!
//! The child makes: an ABBA deadlock (ab-a holds A and wants B, ab-b holds
//! B and wants A) with a third thread queued behind A; a holder that sleeps
//! while another waits; a PI mutex holder and waiter; a std::sync::Mutex
//! holder and two waiters (a lock that records no owner); a pipe reader; a
//! sleeper; a thread in accept on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};
use threadscope::kernel::{
    FdTarget, FutexOp, IoDirection, KernelWait, LockOwner, MutexProtocol, OwnerUnknown, ProcessWaits,
    Sampler, Socket, TcpState, WaitReader,
};

mod common;
mod foreign_support;
use foreign_support::{CHILD_ENV, LONG, PATIENCE, Target};

/// The child's entry: a test that does nothing unless the environment
/// says this process is the child.
#[test]
fn child_entry() {
    if std::env::var_os(CHILD_ENV).is_some() {
        foreign_support::child();
    }
}

/// Samples until `settled` holds of the waits, for at most `PATIENCE`.
fn waits_once(target: &Target, settled: impl Fn(&ProcessWaits) -> bool) -> ProcessWaits {
    let pid = target.child.id();
    let mut sampler = Sampler::new(pid).unwrap();
    let mut reader = WaitReader::new(pid);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let waits = reader.read(&sampler.sample().unwrap());
        if settled(&waits) {
            return waits;
        }
        assert!(Instant::now() < deadline, "the child's threads never settled: {waits:#?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_of(waits: &ProcessWaits, tid: u32) -> Option<&KernelWait> {
    waits.thread(tid).and_then(|field| field.value())
}

fn in_futex(waits: &ProcessWaits, tid: u32) -> bool {
    wait_of(waits, tid).and_then(KernelWait::futex_wait).is_some()
}

/// Every role is asleep in the call the test expects of it.
fn settled(target: &Target) -> impl Fn(&ProcessWaits) -> bool + '_ {
    move |waits| {
        let futex = ["ab-a", "ab-b", "late-a", "waiter", "pi-waiter", "std-waiter"];
        let sleeping = ["holder", "pi-holder", "std-holder", "sleeper"];
        futex.iter().all(|role| in_futex(waits, target.tid(role)))
            && sleeping
                .iter()
                .all(|role| matches!(wait_of(waits, target.tid(role)), Some(KernelWait::Sleep { .. })))
            && matches!(wait_of(waits, target.tid("pipe-reader")), Some(KernelWait::Io { .. }))
            && matches!(wait_of(waits, target.tid("acceptor")), Some(KernelWait::Io { .. }))
    }
}

#[test]
fn a_foreign_programs_waits_owners_and_deadlock_by_tid() {
    let target = Target::start(std::env::current_exe().unwrap());
    let waits = waits_once(&target, settled(&target));
    let t = |role| target.tid(role);
    assert_eq!(waits.missing_permission, None, "our own child may be read");

    // The ABBA deadlock, with the late waiter queued behind A.
    let a = waits.lock(target.mutex("a")).expect("threads wait on A");
    assert_eq!(a.owner.tid(), Some(t("ab-a")), "{a:?}");
    assert_eq!(a.waiters, sorted([t("ab-b"), t("late-a")]));
    let b = waits.lock(target.mutex("b")).expect("a thread waits on B");
    assert_eq!(b.owner.tid(), Some(t("ab-b")), "{b:?}");
    assert_eq!(b.waiters, vec![t("ab-a")]);
    assert_eq!(waits.deadlocks.len(), 1, "{:#?}", waits.deadlocks);
    let cycle = &waits.deadlocks[0];
    let (first, second) = if t("ab-a") < t("ab-b") { ("ab-a", "ab-b") } else { ("ab-b", "ab-a") };
    assert_eq!(cycle.threads, vec![t(first), t(second)]);
    let wanted = |role| if role == "ab-a" { target.mutex("b") } else { target.mutex("a") };
    assert_eq!(cycle.locks, vec![wanted(first), wanted(second)]);
    assert!(!cycle.threads.contains(&t("late-a")));
    assert!(matches!(
        wait_of(&waits, t("late-a")),
        Some(KernelWait::Futex { op: FutexOp::Wait, private: true, expected: 2, .. })
    ));

    // A holder asleep while another waits.
    let held = waits.lock(target.mutex("held")).unwrap();
    assert_eq!((held.owner.tid(), held.waiters.clone()), (Some(t("holder")), vec![t("waiter")]));
    let Some(KernelWait::Sleep { length, .. }) = wait_of(&waits, t("holder")) else { unreachable!() };
    assert_eq!(*length, Some(LONG), "std::thread::sleep asks for the whole hour");

    // The PI mutex: the owner from the futex word, the waiter in LOCK_PI.
    let pi = waits.lock(target.mutex("pi")).unwrap();
    assert!(pi.pi);
    assert!(
        matches!(pi.owner, LockOwner::Known { tid, kind: Some(kind) } if tid == t("pi-holder") && kind.protocol == MutexProtocol::Inherit),
        "{pi:?}"
    );
    assert_eq!(pi.waiters, vec![t("pi-waiter")]);
    let pi_op = wait_of(&waits, t("pi-waiter")).and_then(KernelWait::futex_wait).unwrap().1;
    assert!(pi_op.is_pi_lock(), "{pi_op:?}");

    // std's Mutex keeps no owner: said, not guessed.
    let std_lock = waits.locks.iter().find(|lock| lock.waiters.contains(&t("std-waiter"))).unwrap();
    assert!(matches!(std_lock.owner, LockOwner::Unknown(OwnerUnknown::NotRecorded { .. })), "{std_lock:?}");
    assert_eq!(
        LockOwner::Unknown(OwnerUnknown::NotRecorded { detail: "" }).tid(),
        None,
        "and no edge comes of it"
    );
    assert!(waits.deadlocks.iter().all(|c| !c.threads.contains(&t("std-waiter"))));

    // A pipe read, a sleep, an accept on 127.0.0.1.
    let Some(KernelWait::Io { direction: IoDirection::Read, target: pipe, .. }) =
        wait_of(&waits, t("pipe-reader"))
    else {
        panic!("{:?}", waits.thread(t("pipe-reader")))
    };
    assert!(matches!(pipe.value(), Some(FdTarget::Pipe { inode }) if *inode > 0), "{pipe:?}");
    assert!(
        matches!(wait_of(&waits, t("sleeper")), Some(KernelWait::Sleep { length: Some(l), .. }) if *l == LONG)
    );
    let Some(KernelWait::Io { direction: IoDirection::Accept, target: socket, .. }) =
        wait_of(&waits, t("acceptor"))
    else {
        panic!("{:?}", waits.thread(t("acceptor")))
    };
    let Some(FdTarget::Socket { socket: Some(Socket::Tcp { local, state, .. }), .. }) = socket.value() else {
        panic!("{socket:?}")
    };
    assert_eq!(local.to_string(), format!("127.0.0.1:{}", target.port));
    assert_eq!(*state, TcpState::Listen);

    // And the whole of it serialises, kinds tagged.
    let json = serde_json::to_value(&waits).unwrap();
    assert_eq!(json["deadlocks"][0]["threads"][0], t(first));
}

fn sorted<const N: usize>(mut tids: [u32; N]) -> Vec<u32> {
    tids.sort_unstable();
    tids.to_vec()
}

#[test]
fn without_permission_it_says_once_what_is_missing_and_how_to_get_it() {
    let parent = std::process::id().to_string();
    common::run_child_as_nobody("child_reads_its_parents_waits", ("THREADSCOPE_WAITS_PARENT", &parent));
}

/// Run as user nobody by the test above, against this (root's) process.
#[test]
#[ignore = "run as another user by without_permission_it_says_once_what_is_missing_and_how_to_get_it"]
fn child_reads_its_parents_waits() {
    use threadscope::kernel::{Field, PtraceRead, Reason, Remedy};
    let Ok(parent) = std::env::var("THREADSCOPE_WAITS_PARENT") else { return };
    let parent: u32 = parent.parse().unwrap();
    if rustix::process::getuid().is_root() {
        return println!("skipped: still root, cannot test another user's process");
    }
    let waits = WaitReader::new(parent).read(&Sampler::new(parent).unwrap().sample().unwrap());
    let main = waits.thread(parent).unwrap();
    // `wchan` is hidden from another user too ("0"), so nothing is shown.
    assert!(matches!(
        main,
        Field::Unavailable(Reason::Denied) | Field::Available(KernelWait::InKernel { .. })
    ));
    let missing = waits.missing_permission.expect("the refusal is reported");
    assert_eq!(missing.pid, parent);
    assert_eq!(missing.denied, vec![PtraceRead::Syscalls]);
    assert_eq!(&missing.remedies[..3], &[Remedy::Root, Remedy::CapSysPtrace, Remedy::SameUser { uid: 0 }]);
    let text = missing.to_string();
    assert!(text.starts_with(&format!("cannot read the system calls of process {parent}")), "{text}");
}

/// As root without `CAP_SYS_PTRACE` (a container's default), reading this
/// test process, which holds every capability: refused, and the note asks
/// for the capability, not for root.
#[test]
fn as_root_without_cap_sys_ptrace_it_asks_for_the_capability_not_for_root() {
    if !rustix::process::geteuid().is_root() {
        return eprintln!("skipped: not root");
    }
    let output = std::process::Command::new("setpriv")
        .args(["--bounding-set=-sys_ptrace", "--inh-caps=-sys_ptrace"])
        .arg(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_reads_its_parents_waits_without_the_capability"])
        .args(["--nocapture", "--test-threads=1"])
        .env("THREADSCOPE_WAITS_PARENT", std::process::id().to_string())
        .output();
    let Ok(output) = output else { return eprintln!("skipped: cannot run setpriv") };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if stdout.contains("skipped:") {
        return eprintln!("{stdout}");
    }
    assert!(output.status.success() && stdout.contains("1 passed"), "{stdout}");
}

#[test]
#[ignore = "run without CAP_SYS_PTRACE by as_root_without_cap_sys_ptrace_it_asks_for_the_capability_not_for_root"]
fn child_reads_its_parents_waits_without_the_capability() {
    use threadscope::kernel::{Obstacle, Remedy};
    let Ok(parent) = std::env::var("THREADSCOPE_WAITS_PARENT") else { return };
    let parent: u32 = parent.parse().unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let cap_eff = status.lines().find_map(|l| l.strip_prefix("CapEff:")).unwrap().trim();
    if u64::from_str_radix(cap_eff, 16).unwrap() & (1 << 19) != 0 {
        return println!("skipped: CAP_SYS_PTRACE was not dropped");
    }
    let waits = WaitReader::new(parent).read(&Sampler::new(parent).unwrap().sample().unwrap());
    let Some(missing) = waits.missing_permission else {
        return println!("skipped: root without CAP_SYS_PTRACE may read its parent here");
    };
    assert_eq!(missing.obstacle, Obstacle::RootWithoutCapSysPtrace, "{missing:?}");
    assert_eq!(missing.remedies[0], Remedy::StartWithCapSysPtrace, "{missing:?}");
    let text = missing.to_string();
    assert!(text.contains("runs as root but without CAP_SYS_PTRACE"), "{text}");
    assert!(!text.contains("run threadscope as root"), "{text}");
}
