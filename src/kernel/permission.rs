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
        }
    }
}

/// What could not be read about process `pid` for want of ptrace access,
/// and how to get it.
///
/// # Examples
///
/// ```
/// use threadscope::kernel::{MissingPermission, PtraceRead, Remedy};
///
/// let missing = MissingPermission {
///     pid: 4242,
///     denied: vec![PtraceRead::Syscalls],
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
    /// Ways to get access, the most common first.
    pub remedies: Vec<Remedy>,
}

impl MissingPermission {
    /// The report for `pid` given what was refused, with the remedies that
    /// apply on this machine (its Yama `ptrace_scope`, the process's owner).
    pub fn new(pid: u32, mut denied: Vec<PtraceRead>) -> MissingPermission {
        denied.sort();
        denied.dedup();
        let owner = std::fs::metadata(format!("/proc/{pid}")).ok().map(|m| m.uid());
        let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
            .ok()
            .and_then(|text| text.trim().parse().ok());
        MissingPermission { pid, denied, remedies: remedies(owner, current_uid(), scope) }
    }
}

fn current_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// Which remedies apply: `owner` of the process, our `uid`, Yama's scope
/// (`None` without Yama).
fn remedies(owner: Option<u32>, uid: Option<u32>, scope: Option<u32>) -> Vec<Remedy> {
    let mut out = vec![Remedy::Root, Remedy::CapSysPtrace];
    if scope == Some(3) {
        // Scope 3 forbids ptrace to everyone until reboot: nothing helps.
        return Vec::new();
    }
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
        if self.remedies.is_empty() {
            return f.write_str(" (kernel.yama.ptrace_scope is 3: no process may be traced until a reboot)");
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
        assert!(remedies(None, None, Some(3)).is_empty());
    }

    #[test]
    fn said_once_in_words() {
        let missing = MissingPermission {
            pid: 7,
            denied: vec![PtraceRead::Syscalls, PtraceRead::Memory],
            remedies: vec![Remedy::PtraceScopeZero { current: 1 }, Remedy::RunAsChild],
        };
        let text = missing.to_string();
        assert!(text.starts_with("cannot read the system calls and the memory of process 7"), "{text}");
        assert!(text.contains("kernel.yama.ptrace_scope=0; it is 1"), "{text}");
        assert!(text.ends_with("(threadscope exec -- PROGRAM ARGS…)"), "{text}");
        let json = serde_json::to_value(&missing).unwrap();
        assert_eq!(json["remedies"][1]["how"], "run_as_child");
        let stuck = MissingPermission { remedies: vec![], ..missing };
        assert!(stuck.to_string().contains("ptrace_scope is 3"));
    }

    #[test]
    fn new_dedups_what_was_denied() {
        let missing = MissingPermission::new(
            std::process::id(),
            vec![PtraceRead::Memory, PtraceRead::Syscalls, PtraceRead::Memory],
        );
        assert_eq!(missing.denied, vec![PtraceRead::Syscalls, PtraceRead::Memory]);
        assert_eq!(missing.remedies[0], Remedy::Root);
    }
}
