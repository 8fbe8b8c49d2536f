//! Recognising a HotSpot JVM from `/proc/PID` and learning what attaching
//! to it needs: its user, its namespace pid, its temp directory, its flags.

use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{Access, access};

use super::error::JvmError;
use super::signs::{JvmSign, Visible};

/// A HotSpot JVM found in `/proc`, with everything attaching needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JvmTarget {
    /// The process id as we see it.
    pub pid: u32,
    /// The pid the JVM sees itself as (the last `NSpid` entry: differs in a
    /// container). The attach files are named after it.
    pub ns_pid: u32,
    /// The JVM's effective uid.
    pub uid: u32,
    /// The JVM's effective gid.
    pub gid: u32,
    /// The process's start time (clock ticks after boot): with the pid, the
    /// process's identity, checked before every signal so a reused pid is
    /// never signalled.
    pub start_time: u64,
    /// The mapped `libjvm.so`.
    pub libjvm: PathBuf,
    /// Where the JVM keeps `.java_pid<NSPID>`: its own `/tmp`, reached
    /// through `/proc/PID/root/tmp` (so a container's `/tmp` works), or our
    /// `/tmp` when that is not writable to us.
    pub tmp_dir: PathBuf,
    /// `-Xrs` / `-XX:+ReduceSignalUsage` on its command line or in
    /// `JAVA_TOOL_OPTIONS`/`_JAVA_OPTIONS`/`JDK_JAVA_OPTIONS`.
    pub reduced_signals: bool,
    /// `-XX:+DisableAttachMechanism`, found the same way.
    pub attach_disabled: bool,
}

impl JvmTarget {
    /// Recognises process `pid` as a HotSpot JVM we may attach to.
    ///
    /// Reads `/proc/PID/{status,maps,stat,cmdline,environ}` (and, when the
    /// maps may not be read, `exe`, `comm` and its threads' `comm`); writes
    /// nothing and sends nothing.
    ///
    /// # Errors
    ///
    /// [`JvmError::NoSuchProcess`], [`JvmError::DifferentUser`] (we are
    /// neither its user nor root), [`JvmError::NotAJvm`] (no `libjvm.so`
    /// mapped). When its maps may not be read: [`JvmError::NoSignOfJvm`]
    /// if nothing else anyone may read (its program, its name, its
    /// threads' names) looks like a JVM, else [`JvmError::Undetermined`]
    /// (or `DifferentUser` with the [`JvmSign`](super::JvmSign)).
    /// [`JvmError::Io`] for other `/proc` failures. A JVM that disabled
    /// attach is still detected: [`crate::jvm::thread_dump`] says so.
    ///
    /// # Examples
    ///
    /// ```
    /// use threadscope::jvm::{JvmError, JvmTarget};
    /// // This test binary is not a JVM.
    /// let err = JvmTarget::detect(std::process::id()).unwrap_err();
    /// assert!(matches!(err, JvmError::NotAJvm { .. }));
    /// ```
    pub fn detect(pid: u32) -> Result<Self, JvmError> {
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        let status = read_proc(pid, &proc_dir.join("status"), "reading status")?;
        let facts = StatusFacts::parse(&status);
        let (uid, gid) = (facts.euid.unwrap_or(u32::MAX), facts.egid.unwrap_or(u32::MAX));
        let our_uid = rustix::process::geteuid().as_raw();
        let different_user = our_uid != 0 && our_uid != uid;
        let libjvm = match read_proc(pid, &proc_dir.join("maps"), "reading maps") {
            Ok(maps) => find_libjvm(&maps).ok_or(JvmError::NotAJvm { pid })?,
            // Another user's maps (or, as root, a security module's or a
            // user namespace's refusal): tell from what anyone may read.
            Err(JvmError::Io { source, .. }) => {
                let sign = Visible::read(pid).jvm_sign();
                return Err(unreadable_maps(pid, source, sign, different_user.then_some((uid, our_uid))));
            }
            Err(e) => return Err(e),
        };
        if different_user {
            return Err(JvmError::DifferentUser { pid, sign: None, target_uid: uid, our_uid });
        }
        let stat = read_proc(pid, &proc_dir.join("stat"), "reading stat")?;
        let start_time = parse_start_time(&stat)
            .ok_or_else(|| JvmError::Protocol { pid, detail: "unreadable /proc/PID/stat".into() })?;
        let cmdline = std::fs::read(proc_dir.join("cmdline")).unwrap_or_default();
        let environ = std::fs::read(proc_dir.join("environ")).unwrap_or_default();
        let flags = VmFlags::scan(&cmdline, &environ);
        let root_tmp = proc_dir.join("root/tmp");
        let tmp_dir =
            if access(&root_tmp, Access::WRITE_OK).is_ok() { root_tmp } else { PathBuf::from("/tmp") };
        Ok(JvmTarget {
            pid,
            ns_pid: facts.ns_pid.unwrap_or(pid),
            uid,
            gid,
            start_time,
            libjvm,
            tmp_dir,
            reduced_signals: flags.reduced_signals,
            attach_disabled: flags.attach_disabled,
        })
    }

    /// The Attach Listener's socket, `<tmp>/.java_pid<NSPID>`.
    pub fn socket_path(&self) -> PathBuf {
        self.tmp_dir.join(format!(".java_pid{}", self.ns_pid))
    }

    /// Where the trigger file goes, in the order the JDK tries: the JVM's
    /// working directory, then its temp directory.
    pub fn attach_file_paths(&self) -> [PathBuf; 2] {
        let name = format!(".attach_pid{}", self.ns_pid);
        [PathBuf::from(format!("/proc/{}/cwd", self.pid)).join(&name), self.tmp_dir.join(name)]
    }

    /// True while the process is still this JVM: the same start time, not a zombie.
    pub fn is_alive(&self) -> bool {
        std::fs::read(format!("/proc/{}/stat", self.pid))
            .ok()
            .is_some_and(|stat| parse_start_time(&stat) == Some(self.start_time) && !is_dead(&stat))
    }

    /// Whether the JVM catches SIGQUIT now (`SigCgt` has it, `SigIgn` does not).
    ///
    /// # Errors
    ///
    /// [`JvmError::Exited`]-like errors when the process is gone.
    pub fn catches_sigquit(&self) -> Result<bool, JvmError> {
        let status = read_proc(self.pid, Path::new(&format!("/proc/{}/status", self.pid)), "reading status")?;
        let facts = StatusFacts::parse(&status);
        let bit = 1u64 << (libc::SIGQUIT - 1);
        Ok(facts.sig_caught.is_some_and(|m| m & bit != 0) && facts.sig_ignored.is_none_or(|m| m & bit == 0))
    }
}

fn read_proc(pid: u32, path: &Path, context: &'static str) -> Result<Vec<u8>, JvmError> {
    std::fs::read(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => JvmError::NoSuchProcess { pid },
        _ if source.raw_os_error() == Some(libc::ESRCH) => JvmError::NoSuchProcess { pid },
        _ => JvmError::Io { pid, context, source },
    })
}

/// Why process `pid`, whose maps could not be read (`source`), is not
/// attached to: `sign` is what anyone may read that makes it look like a
/// JVM; `other_user` its uid and ours, when we are neither it nor root.
fn unreadable_maps(
    pid: u32,
    source: io::Error,
    sign: Option<JvmSign>,
    other_user: Option<(u32, u32)>,
) -> JvmError {
    match (sign, other_user) {
        (None, _) => JvmError::NoSignOfJvm { pid, source },
        (Some(sign), Some((target_uid, our_uid))) => {
            JvmError::DifferentUser { pid, sign: Some(sign), target_uid, our_uid }
        }
        (Some(sign), None) => JvmError::Undetermined { pid, sign, source },
    }
}

/// The fields of `/proc/PID/status` attaching needs.
#[derive(Default)]
struct StatusFacts {
    euid: Option<u32>,
    egid: Option<u32>,
    ns_pid: Option<u32>,
    sig_caught: Option<u64>,
    sig_ignored: Option<u64>,
}

impl StatusFacts {
    fn parse(status: &[u8]) -> Self {
        let mut facts = StatusFacts::default();
        for line in String::from_utf8_lossy(status).lines() {
            let Some((key, value)) = line.split_once(':') else { continue };
            let mut words = value.split_whitespace();
            match key {
                "Uid" => facts.euid = words.nth(1).and_then(|w| w.parse().ok()),
                "Gid" => facts.egid = words.nth(1).and_then(|w| w.parse().ok()),
                "NSpid" => facts.ns_pid = words.next_back().and_then(|w| w.parse().ok()),
                "SigCgt" => facts.sig_caught = words.next().and_then(|w| u64::from_str_radix(w, 16).ok()),
                "SigIgn" => facts.sig_ignored = words.next().and_then(|w| u64::from_str_radix(w, 16).ok()),
                _ => {}
            }
        }
        facts
    }
}

/// The `libjvm.so` path among the mappings, if any.
fn find_libjvm(maps: &[u8]) -> Option<PathBuf> {
    String::from_utf8_lossy(maps).lines().find_map(|line| {
        let path = line.split_whitespace().nth(5)?;
        (path.ends_with("/libjvm.so") || path == "libjvm.so").then(|| PathBuf::from(path))
    })
}

/// Field 22 of `/proc/PID/stat` (after the `(comm)`, which may hold spaces).
pub(super) fn parse_start_time(stat: &[u8]) -> Option<u64> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// True for a zombie or dead task (state `Z` or `X`).
fn is_dead(stat: &[u8]) -> bool {
    let state = stat.iter().rposition(|&b| b == b')').and_then(|c| stat.get(c + 2));
    matches!(state, Some(b'Z' | b'X' | b'x'))
}

/// The attach-related JVM flags found in the arguments and environment.
#[derive(Debug, Default, PartialEq, Eq)]
struct VmFlags {
    reduced_signals: bool,
    attach_disabled: bool,
}

/// Launcher options whose value is the next argument.
const OPTIONS_WITH_VALUE: &[&str] = &[
    "-cp",
    "-classpath",
    "--class-path",
    "-p",
    "--module-path",
    "--upgrade-module-path",
    "--add-modules",
    "--limit-modules",
    "--add-reads",
    "--add-exports",
    "--add-opens",
    "--patch-module",
    "--source",
    "--enable-native-access",
];

impl VmFlags {
    /// Applies options in the JVM's order: `JAVA_TOOL_OPTIONS`, then
    /// `JDK_JAVA_OPTIONS` (the launcher puts them before the command
    /// line's), then the command line up to the main class, then
    /// `_JAVA_OPTIONS`; the last setting of a flag wins. Argument files
    /// (`@file`) and `-XX:Flags=` files are not read.
    fn scan(cmdline: &[u8], environ: &[u8]) -> Self {
        let env = |name: &str| -> Vec<String> {
            environ
                .split(|&b| b == 0)
                .filter_map(|kv| kv.strip_prefix(name.as_bytes())?.strip_prefix(b"="))
                .flat_map(|v| {
                    String::from_utf8_lossy(v).split_whitespace().map(str::to_owned).collect::<Vec<_>>()
                })
                .collect()
        };
        let mut flags = VmFlags::default();
        for arg in env("JAVA_TOOL_OPTIONS").iter().chain(&env("JDK_JAVA_OPTIONS")) {
            flags.apply(arg);
        }
        let args: Vec<String> =
            cmdline.split(|&b| b == 0).skip(1).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if !arg.starts_with('-') || matches!(arg.as_str(), "-jar" | "-m" | "--module") {
                break;
            }
            if OPTIONS_WITH_VALUE.contains(&arg.as_str()) {
                args.next();
                continue;
            }
            flags.apply(arg);
        }
        for arg in env("_JAVA_OPTIONS") {
            flags.apply(&arg);
        }
        flags
    }

    fn apply(&mut self, arg: &str) {
        let bool_flag = |name: &str| -> Option<bool> {
            let rest = arg.strip_prefix("-XX:")?;
            match rest.strip_suffix(name)? {
                "+" => Some(true),
                "-" => Some(false),
                _ => None,
            }
        };
        if arg == "-Xrs" {
            self.reduced_signals = true;
        } else if let Some(on) = bool_flag("ReduceSignalUsage") {
            self.reduced_signals = on;
        } else if let Some(on) = bool_flag("DisableAttachMechanism") {
            self.attach_disabled = on;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields() {
        let status = b"Name:\tjava\nUid:\t1000\t1001\t1001\t1001\nGid:\t50\t51\t51\t51\nNSpid:\t4242\t7\n\
SigIgn:\t0000000000000002\nSigCgt:\t0000000101005ccd\n";
        let f = StatusFacts::parse(status);
        assert_eq!((f.euid, f.egid, f.ns_pid), (Some(1001), Some(51), Some(7)));
        assert_eq!(f.sig_caught.map(|m| m & (1 << 2) != 0), Some(true));
    }

    #[test]
    fn start_time_after_a_comm_with_spaces_and_parens() {
        let stat = b"42 (a) b (c) S 1 42 42 0 -1 4194304 100 0 0 0 1 2 0 0 20 0 3 0 98765 1000 10";
        assert_eq!(parse_start_time(stat), Some(98765));
        assert!(!is_dead(stat));
        assert!(is_dead(b"42 (java) Z 1 42"));
    }

    #[test]
    fn libjvm_in_maps() {
        let maps = b"7f00-7f01 r-xp 00000000 08:01 123 /usr/lib/jvm/java-17/lib/server/libjvm.so\n";
        assert_eq!(find_libjvm(maps), Some(PathBuf::from("/usr/lib/jvm/java-17/lib/server/libjvm.so")));
        assert_eq!(find_libjvm(b"7f00-7f01 r-xp 00000000 08:01 123 /usr/lib/libjvm.so.bak\n"), None);
    }

    #[test]
    fn unreadable_maps_call_it_a_jvm_only_with_a_sign() {
        let denied = || io::Error::from_raw_os_error(libc::EACCES);
        // pid 1 of a container, refused even to root, named process_api.
        let err = unreadable_maps(1, denied(), None, None);
        assert!(matches!(err, JvmError::NoSignOfJvm { pid: 1, .. }), "{err:?}");
        assert!(!err.to_string().contains("JVM 1"), "{err}");
        let err = unreadable_maps(1, denied(), None, Some((1000, 1001)));
        assert!(matches!(err, JvmError::NoSignOfJvm { .. }), "another user's native process: {err:?}");
        let err = unreadable_maps(7, denied(), Some(JvmSign::JavaName), None);
        assert_eq!(
            err.to_string(),
            "cannot tell whether process 7 is a JVM: its main thread is named java, \
             but its maps cannot be read (Permission denied (os error 13))"
        );
        let err = unreadable_maps(7, denied(), Some(JvmSign::JavaProgram), Some((1000, 1001)));
        assert_eq!(
            err.to_string(),
            "process 7, which looks like a JVM (its program is java), runs as uid 1000, we are uid 1001: \
             only its user or root may attach"
        );
        assert!(err.is_permanent());
        let seen = JvmError::DifferentUser { pid: 7, sign: None, target_uid: 1000, our_uid: 1001 };
        assert!(seen.to_string().starts_with("JVM 7 runs as uid 1000"), "{seen}");
    }

    fn scan(args: &[&str], env: &str) -> VmFlags {
        let cmdline: Vec<u8> = args.iter().flat_map(|a| a.bytes().chain([0])).collect();
        VmFlags::scan(&cmdline, env.as_bytes())
    }

    #[test]
    fn flags_before_the_main_class_count_the_last_wins() {
        assert!(scan(&["java", "-Xrs", "Main"], "").reduced_signals);
        assert!(scan(&["java", "-XX:+DisableAttachMechanism", "-cp", "x", "Main"], "").attach_disabled);
        assert!(
            !scan(&["java", "-XX:+DisableAttachMechanism", "-XX:-DisableAttachMechanism", "M"], "")
                .attach_disabled
        );
        // After the main class (or -jar FILE) an argument is the program's.
        assert_eq!(scan(&["java", "Main", "-Xrs"], ""), VmFlags::default());
        assert_eq!(scan(&["java", "-jar", "app.jar", "-XX:+DisableAttachMechanism"], ""), VmFlags::default());
        // -cp's value is not the main class.
        assert!(scan(&["java", "-cp", "lib", "-Xrs", "Main"], "").reduced_signals);
    }

    #[test]
    fn flags_from_the_environment() {
        assert!(
            scan(&["java", "Main"], "A=b\0JAVA_TOOL_OPTIONS=-Xmx1g -XX:+ReduceSignalUsage\0").reduced_signals
        );
        let later =
            "JAVA_TOOL_OPTIONS=-XX:+DisableAttachMechanism\0_JAVA_OPTIONS=-XX:-DisableAttachMechanism\0";
        assert!(!scan(&["java", "Main"], later).attach_disabled);
    }
}
