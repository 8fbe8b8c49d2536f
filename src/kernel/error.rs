//! What can go wrong when sampling, and how `/proc` errors map onto it.

use std::io;

/// Why a [`Sampler`](super::Sampler) could not be made or could not sample.
///
/// Threads that end while they are read are not errors (they are left out
/// of the sample), and neither is the process exiting (the sample says
/// [`exited`](super::KernelSample::exited)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SamplerError {
    /// No process has this pid (or `/proc` hides it from us).
    #[error("no process with pid {0}")]
    NoSuchProcess(u32),
    /// The process exists but its threads may not be read by this user.
    #[error(
        "permission denied: cannot read the threads of process {0} \
         (it belongs to another user; run as that user or as root)"
    )]
    PermissionDenied(u32),
    /// The pid given is a thread of another process, not a process.
    #[error("{tid} is a thread of process {pid}, not a process: sample pid {pid} instead")]
    NotAProcess {
        /// The id that was given.
        tid: u32,
        /// The process that thread belongs to.
        pid: u32,
    },
    /// Reading `/proc` failed in a way that says nothing about the process
    /// (out of file descriptors, an I/O error).
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// A `/proc` file did not have the layout this kernel module expects.
    #[error("unexpected contents in {path}: {what}")]
    Parse {
        /// The file.
        path: String,
        /// What was wrong with it.
        what: &'static str,
    },
    /// sysinfo could not set up its view of the system.
    #[error("cannot read system figures: {0}")]
    System(#[source] sysinfo::Error),
}

/// How a failed read of one thread's file is to be taken.
#[derive(Debug)]
pub(crate) enum ReadFailure {
    /// The thread (or the process) no longer exists.
    Gone,
    /// The kernel will not show this file to us.
    Denied,
    /// Anything else: a real error.
    Other(io::Error),
}

/// Sorts an error from opening or reading a `/proc` file. ENOENT and ESRCH
/// mean the task ended (ESRCH is what a kept-open file gives once its
/// thread is reaped, even if the TID was reused since).
pub(crate) fn classify(err: io::Error) -> ReadFailure {
    if err.raw_os_error() == Some(libc::ESRCH) {
        return ReadFailure::Gone;
    }
    match err.kind() {
        io::ErrorKind::NotFound => ReadFailure::Gone,
        io::ErrorKind::PermissionDenied => ReadFailure::Denied,
        _ => ReadFailure::Other(err),
    }
}

/// The error for a failure to read process `pid` as a whole at `path`.
pub(crate) fn process_error(pid: u32, path: impl Into<String>, err: io::Error) -> SamplerError {
    match classify(err) {
        ReadFailure::Gone => SamplerError::NoSuchProcess(pid),
        ReadFailure::Denied => SamplerError::PermissionDenied(pid),
        ReadFailure::Other(source) => SamplerError::Io { path: path.into(), source },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_process_is_named_by_pid() {
        let err = process_error(4242, "/proc/4242/task", io::Error::from(io::ErrorKind::NotFound));
        assert!(matches!(err, SamplerError::NoSuchProcess(4242)));
        assert_eq!(err.to_string(), "no process with pid 4242");
        let esrch = process_error(7, "/proc/7/task", io::Error::from_raw_os_error(libc::ESRCH));
        assert!(matches!(esrch, SamplerError::NoSuchProcess(7)));
    }

    #[test]
    fn eacces_and_eperm_are_permission_denied() {
        for errno in [libc::EACCES, libc::EPERM] {
            let err = process_error(1, "/proc/1/task", io::Error::from_raw_os_error(errno));
            assert!(matches!(err, SamplerError::PermissionDenied(1)), "errno {errno}: {err:?}");
        }
        let err = process_error(1, "/proc/1/task", io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(
            err.to_string(),
            "permission denied: cannot read the threads of process 1 \
             (it belongs to another user; run as that user or as root)"
        );
    }

    #[test]
    fn other_errors_keep_the_path_and_cause() {
        let err = process_error(9, "/proc/9/task", io::Error::from_raw_os_error(libc::EMFILE));
        assert!(matches!(err, SamplerError::Io { .. }));
        assert!(err.to_string().starts_with("cannot read /proc/9/task: "), "{err}");
    }

    #[test]
    fn a_thread_given_as_a_process_says_which_process() {
        let err = SamplerError::NotAProcess { tid: 12, pid: 10 };
        assert_eq!(err.to_string(), "12 is a thread of process 10, not a process: sample pid 10 instead");
    }

    #[test]
    fn esrch_and_enoent_mean_gone() {
        assert!(matches!(classify(io::Error::from_raw_os_error(libc::ESRCH)), ReadFailure::Gone));
        assert!(matches!(classify(io::Error::from_raw_os_error(libc::ENOENT)), ReadFailure::Gone));
        assert!(matches!(classify(io::Error::from_raw_os_error(libc::EACCES)), ReadFailure::Denied));
        assert!(matches!(classify(io::Error::from_raw_os_error(libc::EIO)), ReadFailure::Other(_)));
    }
}
