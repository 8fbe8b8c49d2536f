//! Telling whether a process looks like a JVM from what anyone may read of
//! it, for when its maps — the one sure sign, `libjvm.so` — may not be
//! read (another user's process; root refused by a security module or a
//! user namespace).

use std::path::{Path, PathBuf};

/// What makes a process look like a JVM when its maps cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JvmSign {
    /// Its program (`/proc/PID/exe`, else its `argv[0]`) is named `java`.
    JavaProgram,
    /// Its main thread is named `java`, the launcher's name.
    JavaName,
    /// It has threads HotSpot names (`VM Thread`, `Reference Handl`, …),
    /// as a JVM started by another launcher does.
    HotSpotThreads,
}

impl std::fmt::Display for JvmSign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::JavaProgram => "its program is java",
            Self::JavaName => "its main thread is named java",
            Self::HotSpotThreads => "it has threads named as HotSpot names its own (\"VM Thread\")",
        })
    }
}

/// HotSpot's own threads, as the kernel keeps their names (15 bytes). Each
/// is started by every HotSpot JVM; none is a name another program is
/// likely to give.
const HOTSPOT_THREADS: &[&str] = &["VM Thread", "Reference Handl", "VM Periodic Tas"];

/// HotSpot starts its own threads right after the launcher's few, so they
/// are among the first; a process with 10,000 threads is not read whole.
const THREADS_LOOKED_AT: usize = 64;

/// What any user may read of a process, whatever the ptrace check says
/// (`exe` is the exception: it may be `None` for want of access).
#[derive(Debug, Default)]
pub(super) struct Visible {
    /// Where `/proc/PID/exe` points, when it may be read.
    pub exe: Option<PathBuf>,
    /// `/proc/PID/comm`, without its newline.
    pub comm: String,
    /// `/proc/PID/cmdline`, NUL-separated.
    pub cmdline: Vec<u8>,
    /// The names of its first threads (`/proc/PID/task/TID/comm`).
    pub thread_names: Vec<String>,
}

impl Visible {
    /// Reads what may be read of process `pid`; what may not stays empty.
    pub(super) fn read(pid: u32) -> Self {
        let dir = PathBuf::from(format!("/proc/{pid}"));
        let name = |path: &Path| std::fs::read_to_string(path).map(|s| s.trim_end().to_owned()).ok();
        let thread_names = std::fs::read_dir(dir.join("task"))
            .into_iter()
            .flatten()
            .take(THREADS_LOOKED_AT)
            .filter_map(|entry| name(&entry.ok()?.path().join("comm")))
            .collect();
        Self {
            exe: std::fs::read_link(dir.join("exe")).ok(),
            comm: name(&dir.join("comm")).unwrap_or_default(),
            cmdline: std::fs::read(dir.join("cmdline")).unwrap_or_default(),
            thread_names,
        }
    }

    /// The first sign that this is a JVM, if any.
    pub(super) fn jvm_sign(&self) -> Option<JvmSign> {
        let argv0 = self.cmdline.split(|&b| b == 0).next().unwrap_or_default();
        let program = match &self.exe {
            Some(exe) => exe.file_name().is_some_and(|n| n == "java"),
            None => argv0.rsplit(|&b| b == b'/').next() == Some(b"java"),
        };
        if program {
            Some(JvmSign::JavaProgram)
        } else if self.comm == "java" {
            Some(JvmSign::JavaName)
        } else if self.thread_names.iter().any(|n| HOTSPOT_THREADS.contains(&n.as_str())) {
            Some(JvmSign::HotSpotThreads)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visible(exe: Option<&str>, comm: &str, argv: &[&str], threads: &[&str]) -> Visible {
        Visible {
            exe: exe.map(PathBuf::from),
            comm: comm.to_owned(),
            cmdline: argv.iter().flat_map(|a| a.bytes().chain([0])).collect(),
            thread_names: threads.iter().map(|&t| t.to_owned()).collect(),
        }
    }

    #[test]
    fn a_plainly_native_process_shows_no_sign() {
        // pid 1 of a container, its exe and maps refused even to root.
        let init = visible(None, "process_api", &["/process_api", "--firecracker-init"], &["process_api"]);
        assert_eq!(init.jvm_sign(), None);
        // A program merely passed "java" as an argument is not one.
        let grep = visible(Some("/usr/bin/grep"), "grep", &["grep", "java"], &["grep"]);
        assert_eq!(grep.jvm_sign(), None);
        assert_eq!(Visible::default().jvm_sign(), None);
    }

    #[test]
    fn the_launcher_its_name_or_hotspots_threads_are_signs() {
        let exe = visible(Some("/usr/lib/jvm/java-17/bin/java"), "java", &[], &[]);
        assert_eq!(exe.jvm_sign(), Some(JvmSign::JavaProgram));
        let argv0 = visible(None, "main", &["/opt/jdk/bin/java", "-jar", "app.jar"], &[]);
        assert_eq!(argv0.jvm_sign(), Some(JvmSign::JavaProgram));
        let renamed = visible(None, "java", &["app"], &[]);
        assert_eq!(renamed.jvm_sign(), Some(JvmSign::JavaName));
        // A native launcher that creates the JVM itself (JNI).
        let embedded = visible(None, "idea", &["/opt/idea/bin/idea"], &["idea", "GC Thread#0", "VM Thread"]);
        assert_eq!(embedded.jvm_sign(), Some(JvmSign::HotSpotThreads));
        assert!(JvmSign::HotSpotThreads.to_string().contains("VM Thread"));
    }

    #[test]
    fn this_process_is_read_and_shows_no_sign() {
        let me = Visible::read(std::process::id());
        assert!(me.exe.is_some() && !me.comm.is_empty() && !me.thread_names.is_empty(), "{me:?}");
        assert_eq!(me.jvm_sign(), None);
    }
}
