//! What can go wrong asking a JVM for its threads.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::signs::JvmSign;

/// The step of the attach handshake an error or timeout happened in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachStep {
    /// Waiting for the JVM to start its Attach Listener (the socket to appear).
    StartListener,
    /// Connecting to `.java_pid<PID>`.
    Connect,
    /// Sending the request.
    Request,
    /// Reading the status line.
    Status,
    /// Reading the reply.
    Reply,
}

impl std::fmt::Display for AttachStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::StartListener => "waiting for the JVM's Attach Listener to start",
            Self::Connect => "connecting to the attach socket",
            Self::Request => "sending the request",
            Self::Status => "waiting for the JVM's answer",
            Self::Reply => "reading the thread dump",
        })
    }
}

/// An error from detecting, attaching to or asking a JVM.
#[derive(Debug, thiserror::Error)]
pub enum JvmError {
    /// No such process (or it ended before we looked).
    #[error("process {pid} does not exist")]
    NoSuchProcess {
        /// The process.
        pid: u32,
    },
    /// The process has no `libjvm.so` mapped.
    #[error("process {pid} is not a HotSpot JVM (no libjvm.so in its maps)")]
    NotAJvm {
        /// The process.
        pid: u32,
    },
    /// The JVM runs as another user; only that user or root may attach.
    #[error(
        "{} runs as uid {target_uid}, we are uid {our_uid}: only its user or root may attach",
        who(*pid, *sign)
    )]
    DifferentUser {
        /// The process.
        pid: u32,
        /// `None` when its maps show `libjvm.so`; else what makes it look
        /// like a JVM (its maps may not be read by another user).
        sign: Option<JvmSign>,
        /// The JVM's effective uid.
        target_uid: u32,
        /// Our effective uid.
        our_uid: u32,
    },
    /// Its maps (where `libjvm.so` would show) may not be read, and it
    /// looks like a JVM: whether it is one cannot be told.
    #[error("cannot tell whether process {pid} is a JVM: {sign}, but its maps cannot be read ({source})")]
    Undetermined {
        /// The process.
        pid: u32,
        /// What makes it look like one.
        sign: JvmSign,
        /// Why the maps could not be read.
        #[source]
        source: io::Error,
    },
    /// Its maps may not be read, and nothing else that may be (its
    /// program, its name, its threads' names) looks like a JVM: taken as
    /// not one, and not mentioned.
    #[error("process {pid} shows no sign of a JVM (its maps cannot be read: {source})")]
    NoSignOfJvm {
        /// The process.
        pid: u32,
        /// Why the maps could not be read.
        #[source]
        source: io::Error,
    },
    /// `-XX:+DisableAttachMechanism`: the JVM refuses attach.
    #[error("JVM {pid} runs with -XX:+DisableAttachMechanism: it does not accept attach")]
    AttachDisabled {
        /// The process.
        pid: u32,
    },
    /// `-Xrs` / `-XX:+ReduceSignalUsage` and no attach socket: SIGQUIT
    /// would not start the listener, it would kill the JVM.
    #[error("JVM {pid} runs with -Xrs and has no attach socket: SIGQUIT would kill it, so it is not sent")]
    ReducedSignals {
        /// The process.
        pid: u32,
    },
    /// SIGQUIT is not caught (per `SigCgt` in `/proc/PID/status`), so it
    /// is not sent: it would end the process.
    #[error("process {pid} does not catch SIGQUIT (yet): not sending it, it would kill the process")]
    SigquitNotCaught {
        /// The process.
        pid: u32,
    },
    /// A step took longer than allowed.
    #[error("JVM {pid}: timed out after {after:?} {step}")]
    Timeout {
        /// The process.
        pid: u32,
        /// Which step.
        step: AttachStep,
        /// The limit that ran out.
        after: Duration,
    },
    /// The attach socket exists but nobody listens (a stale socket, or a
    /// JVM with the same pid in another namespace).
    #[error("JVM {pid}: connection refused on {}", path.display())]
    ConnectionRefused {
        /// The process.
        pid: u32,
        /// The socket.
        path: PathBuf,
    },
    /// The socket, or the process listening on it, is not the JVM's.
    #[error("JVM {pid}: attach socket {} not trusted: {reason}", path.display())]
    UntrustedSocket {
        /// The process.
        pid: u32,
        /// The socket.
        path: PathBuf,
        /// What did not match.
        reason: String,
    },
    /// The JVM ended while we talked to it.
    #[error("JVM {pid} exited {step}")]
    Exited {
        /// The process.
        pid: u32,
        /// Where we were.
        step: AttachStep,
    },
    /// The JVM closed the connection without an answer.
    #[error("JVM {pid} closed the connection {step}")]
    ConnectionClosed {
        /// The process.
        pid: u32,
        /// Where we were.
        step: AttachStep,
    },
    /// The JVM answered with a non-zero status.
    #[error("JVM {pid} refused the command (status {code}): {message}")]
    CommandFailed {
        /// The process.
        pid: u32,
        /// The status code (101: protocol version not supported).
        code: i32,
        /// The JVM's message, if any.
        message: String,
    },
    /// The reply was not what the protocol says.
    #[error("JVM {pid}: unexpected reply: {detail}")]
    Protocol {
        /// The process.
        pid: u32,
        /// What was wrong.
        detail: String,
    },
    /// The reply exceeded the size limit.
    #[error("JVM {pid}: the reply is larger than {limit} bytes")]
    ReplyTooLarge {
        /// The process.
        pid: u32,
        /// The limit.
        limit: usize,
    },
    /// A [`JvmView`](crate::jvm::JvmView) stopped by an earlier permanent error.
    #[error("not asking JVM {pid} again: {reason}")]
    Stopped {
        /// The process.
        pid: u32,
        /// The earlier error, as text.
        reason: String,
    },
    /// Any other system error.
    #[error("JVM {pid}: {context}: {source}")]
    Io {
        /// The process.
        pid: u32,
        /// What we were doing.
        context: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}

impl JvmError {
    /// True when retrying later cannot help (the process is gone, is not a
    /// JVM, or refuses attach): a poller stops asking.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Self::NoSuchProcess { .. }
                | Self::NotAJvm { .. }
                | Self::NoSignOfJvm { .. }
                | Self::Undetermined { .. }
                | Self::DifferentUser { .. }
                | Self::AttachDisabled { .. }
                | Self::ReducedSignals { .. }
                | Self::Exited { .. }
                | Self::Stopped { .. }
        )
    }
}

/// `JVM 4242`, or `process 4242 (its main thread is named java)` when only
/// a sign says it is one.
fn who(pid: u32, sign: Option<JvmSign>) -> String {
    match sign {
        None => format!("JVM {pid}"),
        Some(sign) => format!("process {pid}, which looks like a JVM ({sign}),"),
    }
}
