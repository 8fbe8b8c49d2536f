//! What threadscope may not read about another process, and how the user
//! can let it: said once per process, as data the UI prints.

use serde::Serialize;
use std::os::unix::fs::MetadataExt;

/// A kind of read that needs ptrace access to the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PtraceRead {
    /// `/proc/<pid>/task/<tid>/syscall`: what each thread waits in.
    Syscalls,
    /// `/proc/<pid>/fd/<n>`: what each descriptor is.
    Descriptors,
    /// The process's memory (`process_vm_readv`): lock owners, sleep
    /// lengths, polled descriptors.
    Memory,
    /// Stopping a thread for a moment (`PTRACE_SEIZE`) to copy its
    /// registers and stack: native stacks.
    Stacks,
}

/// One way to get the access that is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Remedy {
    /// Run threadscope as root.
    Root,
    /// Give threadscope `CAP_SYS_PTRACE`.
    CapSysPtrace,
    /// Run threadscope as the process's owner (uid).
    SameUser {
        /// The process's owner.
        uid: u32,
    },
    /// As the same user, set `kernel.yama.ptrace_scope` to 0 (it is
    /// `current`).
    PtraceScopeZero {
        /// The current value.
        current: u32,
    },
    /// Start the program as threadscope's child (`threadscope exec --`),
    /// which Yama's scope 1 allows.
    RunAsChild,
    /// Already root: have whatever starts threadscope (a container
    /// runtime, a service manager) give it `CAP_SYS_PTRACE`.
    StartWithCapSysPtrace,
}

/// Where threadscope stands when it is refused, as far as it can tell:
/// what picks the words, so that "run as root" is said only to a user who
/// is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Obstacle {
    /// Neither root nor `CAP_SYS_PTRACE`: the usual case, which the
    /// remedies lift.
    Unprivileged,
    /// Root, but without `CAP_SYS_PTRACE` in effect (a container started
    /// without it): root alone may not read a process holding capabilities
    /// threadscope lacks, nor pass Yama.
    RootWithoutCapSysPtrace,
    /// Yama's `kernel.yama.ptrace_scope` is 3: no process may be traced
    /// until a reboot, whoever asks.
    YamaNoAttach,
    /// Root or `CAP_SYS_PTRACE`, but the process is in another user
    /// namespace than threadscope's (not its own, initial one), which
    /// they may not reach.
    OtherUserNamespace,
    /// `CAP_SYS_PTRACE` in effect, Yama allows it, and still refused: a
    /// security module (SELinux, AppArmor, Landlock) or a sandbox.
    RefusedAnyway {
        /// Whether threadscope runs as root (else it has the capability).
        root: bool,
    },
}

/// What decides the advice, read once per report (see [`Standing::read`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Standing {
    /// threadscope's effective uid.
    euid: u32,
    /// `CAP_SYS_PTRACE` in threadscope's effective set (`CapEff`).
    cap_sys_ptrace: bool,
    /// Yama's `ptrace_scope`; `None` without Yama.
    yama_scope: Option<u32>,
    /// The process's owner.
    owner: Option<u32>,
    /// threadscope is in a user namespace of its own and the process is
    /// not in it.
    other_user_ns: bool,
}

/// `CAP_SYS_PTRACE`'s bit in the capability sets of `/proc/PID/status`.
const CAP_SYS_PTRACE_BIT: u32 = 19;
/// The uid map of the initial user namespace, as read from inside it.
const INITIAL_UID_MAP: [&str; 3] = ["0", "0", "4294967295"];

impl Standing {
    /// Reads where threadscope stands towards process `pid`; a file that
    /// cannot be read counts as the common case (no capability, no Yama,
    /// the same namespace).
    fn read(pid: u32) -> Standing {
        let read = |path: String| std::fs::read_to_string(path).ok();
        let our_map = read("/proc/self/uid_map".to_owned());
        let their_map = read(format!("/proc/{pid}/uid_map"));
        Standing {
            euid: rustix::process::geteuid().as_raw(),
            cap_sys_ptrace: read("/proc/self/status".to_owned())
                .and_then(|status| effective_caps(&status))
                .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE_BIT) != 0),
            yama_scope: read("/proc/sys/kernel/yama/ptrace_scope".to_owned())
                .and_then(|text| text.trim().parse().ok()),
            owner: std::fs::metadata(format!("/proc/{pid}")).ok().map(|m| m.uid()),
            other_user_ns: match (&our_map, &their_map) {
                (Some(ours), Some(theirs)) => other_user_namespace(ours, theirs),
                _ => false,
            },
        }
    }

    /// What stands in the way, and the remedies that would lift it.
    fn assess(self) -> (Obstacle, Vec<Remedy>) {
        let root = self.euid == 0;
        if self.yama_scope == Some(3) {
            (Obstacle::YamaNoAttach, Vec::new())
        } else if self.other_user_ns && (root || self.cap_sys_ptrace) {
            (Obstacle::OtherUserNamespace, Vec::new())
        } else if self.cap_sys_ptrace {
            (Obstacle::RefusedAnyway { root }, Vec::new())
        } else if root {
            // A child of threadscope holds no capability it lacks; Yama's
            // scope 2 wants the capability whatever the relation.
            let child = (self.yama_scope != Some(2)).then_some(Remedy::RunAsChild);
            (
                Obstacle::RootWithoutCapSysPtrace,
                [Remedy::StartWithCapSysPtrace].into_iter().chain(child).collect(),
            )
        } else {
            (Obstacle::Unprivileged, remedies(self.owner, Some(self.euid), self.yama_scope))
        }
    }
}

/// `CapEff` of a `/proc/PID/status`.
fn effective_caps(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix("CapEff:"))?;
    u64::from_str_radix(line.trim(), 16).ok()
}

/// Whether, by the `uid_map`s threadscope reads of itself and of the
/// process, threadscope is in a user namespace of its own and the process
/// is in another. From the initial namespace every process is reachable.
fn other_user_namespace(ours: &str, theirs: &str) -> bool {
    let words = |map: &str| map.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    words(ours) != INITIAL_UID_MAP && words(ours) != words(theirs)
}

impl std::fmt::Display for Remedy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Remedy::Root => f.write_str("run threadscope as root"),
            Remedy::CapSysPtrace => {
                f.write_str("give threadscope CAP_SYS_PTRACE (sudo setcap cap_sys_ptrace=ep \"$(command -v threadscope)\")")
            }
            Remedy::SameUser { uid } => write!(f, "run threadscope as the process's user (uid {uid})"),
            Remedy::PtraceScopeZero { current } => write!(
                f,
                "as the same user, set kernel.yama.ptrace_scope to 0 (sudo sysctl kernel.yama.ptrace_scope=0; it is {current})"
            ),
            Remedy::RunAsChild => f.write_str("start the program under threadscope (threadscope exec -- PROGRAM ARGS…)"),
            Remedy::StartWithCapSysPtrace => f.write_str(
                "start threadscope with CAP_SYS_PTRACE (in a container: docker run --cap-add SYS_PTRACE, \
                 or SYS_PTRACE in its securityContext's capabilities)",
            ),
        }
    }
}

/// What could not be read about process `pid` for want of ptrace access,
/// and how to get it.
///
/// # Examples
///
/// ```
/// use threadscope::kernel::{MissingPermission, Obstacle, PtraceRead, Remedy};
///
/// let missing = MissingPermission {
///     pid: 4242,
///     denied: vec![PtraceRead::Syscalls],
///     obstacle: Obstacle::Unprivileged,
///     remedies: vec![Remedy::Root, Remedy::CapSysPtrace],
/// };
/// assert_eq!(
///     missing.to_string(),
///     "cannot read the system calls of process 4242, so its waits and lock owners are not shown: \
///      run threadscope as root, or give threadscope CAP_SYS_PTRACE \
///      (sudo setcap cap_sys_ptrace=ep \"$(command -v threadscope)\")"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissingPermission {
    /// The process.
    pub pid: u32,
    /// What was refused, each once.
    pub denied: Vec<PtraceRead>,
    /// Where threadscope stands, which picks the words.
    pub obstacle: Obstacle,
    /// Ways to get access, the most common first; none when nothing
    /// threadscope's user can do would help.
    pub remedies: Vec<Remedy>,
}

impl MissingPermission {
    /// The report for `pid` given what was refused, with the remedies that
    /// apply here: threadscope's effective uid and `CAP_SYS_PTRACE`, Yama's
    /// `ptrace_scope`, the process's owner and user namespace.
    pub fn new(pid: u32, mut denied: Vec<PtraceRead>) -> MissingPermission {
        denied.sort();
        denied.dedup();
        let (obstacle, remedies) = Standing::read(pid).assess();
        MissingPermission { pid, denied, obstacle, remedies }
    }
}

/// Which remedies apply to a user neither root nor holding
/// `CAP_SYS_PTRACE`: `owner` of the process, our `uid`, Yama's scope
/// (`None` without Yama; 3 is [`Obstacle::YamaNoAttach`]).
fn remedies(owner: Option<u32>, uid: Option<u32>, scope: Option<u32>) -> Vec<Remedy> {
    let mut out = vec![Remedy::Root, Remedy::CapSysPtrace];
    if scope == Some(2) {
        return out;
    }
    match (owner, uid) {
        (Some(owner), Some(uid)) if owner != uid => out.push(Remedy::SameUser { uid: owner }),
        _ => {}
    }
    if let Some(current) = scope.filter(|&s| s == 1) {
        out.push(Remedy::PtraceScopeZero { current });
        out.push(Remedy::RunAsChild);
    }
    out
}

impl std::fmt::Display for MissingPermission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what: Vec<&str> = self
            .denied
            .iter()
            .filter_map(|read| match read {
                PtraceRead::Syscalls => Some("the system calls"),
                PtraceRead::Descriptors => Some("the file descriptors"),
                PtraceRead::Memory => Some("the memory"),
                PtraceRead::Stacks => None,
            })
            .collect();
        if what.is_empty() {
            write!(
                f,
                "cannot stop the threads of process {} to copy their stacks (ptrace), so native stacks are not shown",
                self.pid
            )?;
        } else {
            write!(
                f,
                "cannot read {} of process {}, so its waits and lock owners are not shown",
                what.join(" and "),
                self.pid
            )?;
        }
        match self.obstacle {
            Obstacle::Unprivileged => {}
            Obstacle::YamaNoAttach => {
                f.write_str(" (kernel.yama.ptrace_scope is 3: no process may be traced until a reboot)")?
            }
            Obstacle::RootWithoutCapSysPtrace => {
                f.write_str(": threadscope runs as root but without CAP_SYS_PTRACE, which reading it needs")?
            }
            Obstacle::OtherUserNamespace => write!(
                f,
                ": process {} is in another user namespace than threadscope, where threadscope's root and \
                 CAP_SYS_PTRACE do not count; run threadscope in the process's user namespace or above it \
                 (for a container's process, on the host)",
                self.pid
            )?,
            Obstacle::RefusedAnyway { root } => write!(
                f,
                ": threadscope already {} and is still refused, so a security module (SELinux, AppArmor, \
                 Landlock) or a sandbox forbids it; run threadscope where that policy allows it",
                if root { "runs as root with CAP_SYS_PTRACE" } else { "has CAP_SYS_PTRACE" }
            )?,
        }
        if self.remedies.is_empty() {
            return Ok(());
        }
        let how: Vec<String> = self.remedies.iter().map(Remedy::to_string).collect();
        write!(f, ": {}", how.join(", or "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remedies_follow_yama_and_the_owner() {
        assert_eq!(remedies(Some(1000), Some(1000), None), vec![Remedy::Root, Remedy::CapSysPtrace]);
        assert_eq!(
            remedies(Some(1000), Some(1000), Some(1)),
            vec![
                Remedy::Root,
                Remedy::CapSysPtrace,
                Remedy::PtraceScopeZero { current: 1 },
                Remedy::RunAsChild
            ]
        );
        assert_eq!(
            remedies(Some(0), Some(1000), Some(0)),
            vec![Remedy::Root, Remedy::CapSysPtrace, Remedy::SameUser { uid: 0 }]
        );
        assert_eq!(remedies(Some(1000), Some(1000), Some(2)), vec![Remedy::Root, Remedy::CapSysPtrace]);
    }

    fn user(euid: u32) -> Standing {
        Standing { euid, owner: Some(0), ..Standing::default() }
    }

    #[test]
    fn run_as_root_is_said_only_to_who_is_not() {
        let (obstacle, how) = Standing { yama_scope: Some(1), ..user(1000) }.assess();
        assert_eq!(obstacle, Obstacle::Unprivileged);
        assert_eq!(how[..3], [Remedy::Root, Remedy::CapSysPtrace, Remedy::SameUser { uid: 0 }]);
        // Root without the capability (a container's default): have it given.
        let (obstacle, how) = user(0).assess();
        assert_eq!(obstacle, Obstacle::RootWithoutCapSysPtrace);
        assert_eq!(how, vec![Remedy::StartWithCapSysPtrace, Remedy::RunAsChild]);
        let (_, how) = Standing { yama_scope: Some(2), ..user(0) }.assess();
        assert_eq!(how, vec![Remedy::StartWithCapSysPtrace], "scope 2 wants the capability, child or not");
        // Root with it, and refused: nothing it could run as would help.
        let privileged = Standing { cap_sys_ptrace: true, ..user(0) };
        assert_eq!(privileged.assess(), (Obstacle::RefusedAnyway { root: true }, vec![]));
        let capable = Standing { cap_sys_ptrace: true, yama_scope: Some(2), ..user(1000) };
        assert_eq!(capable.assess(), (Obstacle::RefusedAnyway { root: false }, vec![]));
        let nested = Standing { other_user_ns: true, ..privileged };
        assert_eq!(nested.assess(), (Obstacle::OtherUserNamespace, vec![]));
        // Another namespace matters only to what root or the capability would give.
        assert_eq!(Standing { other_user_ns: true, ..user(1000) }.assess().0, Obstacle::Unprivileged);
        for standing in [user(1000), privileged, nested] {
            let stuck = Standing { yama_scope: Some(3), ..standing }.assess();
            assert_eq!(stuck, (Obstacle::YamaNoAttach, vec![]), "{standing:?}");
        }
    }

    #[test]
    fn capabilities_and_namespaces_from_proc_text() {
        let status = "Name:\tthreadscope\nCapPrm:\t000001fffeffffff\nCapEff:\t000001fffeffffff\n";
        let caps = effective_caps(status).unwrap();
        assert!(caps & (1 << CAP_SYS_PTRACE_BIT) != 0);
        let docker = effective_caps("CapEff:\t00000000a80425fb\n").unwrap();
        assert_eq!(docker & (1 << CAP_SYS_PTRACE_BIT), 0, "docker's default set lacks it");
        assert_eq!(effective_caps("Name:\tx\n"), None);
        let initial = "         0          0 4294967295\n";
        assert!(!other_user_namespace(initial, "         0     100000      65536\n"));
        let ours = "         0     100000      65536\n";
        assert!(!other_user_namespace(ours, ours));
        assert!(other_user_namespace(ours, "         0     200000      65536\n"));
    }

    #[test]
    fn each_standing_in_words() {
        let missing = |obstacle, remedies| {
            MissingPermission { pid: 1, denied: vec![PtraceRead::Syscalls], obstacle, remedies }.to_string()
        };
        let root = missing(
            Obstacle::RootWithoutCapSysPtrace,
            vec![Remedy::StartWithCapSysPtrace, Remedy::RunAsChild],
        );
        assert!(!root.contains("run threadscope as root"), "{root}");
        assert!(
            root.contains(
                "runs as root but without CAP_SYS_PTRACE, which reading it needs: start threadscope \
             with CAP_SYS_PTRACE (in a container: docker run --cap-add SYS_PTRACE"
            ),
            "{root}"
        );
        let refused = missing(Obstacle::RefusedAnyway { root: true }, vec![]);
        assert_eq!(
            refused,
            "cannot read the system calls of process 1, so its waits and lock owners are not shown: \
             threadscope already runs as root with CAP_SYS_PTRACE and is still refused, so a security module \
             (SELinux, AppArmor, Landlock) or a sandbox forbids it; run threadscope where that policy allows it"
        );
        assert!(
            missing(Obstacle::RefusedAnyway { root: false }, vec![]).contains("already has CAP_SYS_PTRACE")
        );
        let nested = missing(Obstacle::OtherUserNamespace, vec![]);
        assert!(nested.contains("process 1 is in another user namespace than threadscope"), "{nested}");
        assert!(!nested.contains("as root,") && !nested.ends_with(": "), "{nested}");
        let json = serde_json::to_value(MissingPermission {
            pid: 1,
            denied: vec![],
            obstacle: Obstacle::RefusedAnyway { root: true },
            remedies: vec![],
        })
        .unwrap();
        assert_eq!(
            (json["obstacle"]["kind"].as_str(), json["obstacle"]["root"].as_bool()),
            (Some("refused_anyway"), Some(true))
        );
    }

    #[test]
    fn said_once_in_words() {
        let missing = MissingPermission {
            pid: 7,
            denied: vec![PtraceRead::Syscalls, PtraceRead::Memory],
            obstacle: Obstacle::Unprivileged,
            remedies: vec![Remedy::PtraceScopeZero { current: 1 }, Remedy::RunAsChild],
        };
        let text = missing.to_string();
        assert!(text.starts_with("cannot read the system calls and the memory of process 7"), "{text}");
        assert!(text.contains("kernel.yama.ptrace_scope=0; it is 1"), "{text}");
        assert!(text.ends_with("(threadscope exec -- PROGRAM ARGS…)"), "{text}");
        let json = serde_json::to_value(&missing).unwrap();
        assert_eq!(json["remedies"][1]["how"], "run_as_child");
        let stuck = MissingPermission { obstacle: Obstacle::YamaNoAttach, remedies: vec![], ..missing };
        assert!(stuck.to_string().ends_with("ptrace_scope is 3: no process may be traced until a reboot)"));
    }

    #[test]
    fn new_dedups_what_was_denied() {
        let missing = MissingPermission::new(
            std::process::id(),
            vec![PtraceRead::Memory, PtraceRead::Syscalls, PtraceRead::Memory],
        );
        assert_eq!(missing.denied, vec![PtraceRead::Syscalls, PtraceRead::Memory]);
        // Whoever runs this: "run as root" only to who is not root.
        if rustix::process::geteuid().is_root() {
            assert!(!missing.remedies.contains(&Remedy::Root), "{missing:?}");
            assert_ne!(missing.obstacle, Obstacle::Unprivileged, "{missing:?}");
        }
    }
}
