//! [`AgentClient`]: asking a program's agent, over its socket, who it is
//! and what its threads do (docs/agent-protocol.md). Everything it gets
//! back is the other program's text, unsanitized: whoever shows it
//! sanitizes (the inspector's agent source does).

use super::protocol::{AgentInfo, AgentSnapshot, PROTOCOL, Reply, Request, RequestKind};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the client waits for an answer (docs/agent-protocol.md).
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest reply the client reads: a snapshot of 10,000 threads with
/// stacks is a few megabytes; anything past this is not an agent's.
pub const MAX_REPLY_BYTES: u64 = 64 << 20;

/// Why an agent could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No socket for the pid where the client looks.
    #[error("no agent socket for pid {pid}")]
    NoSocket {
        /// The pid.
        pid: u32,
    },
    /// The socket exists but nobody answers on it (a stale socket), or it
    /// may not be opened.
    #[error("cannot connect to {path}: {source}")]
    Connect {
        /// The socket.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The process at the other end is not the one asked about.
    #[error("the socket {path} is served by pid {served_by}, not {pid}")]
    WrongPeer {
        /// The socket.
        path: PathBuf,
        /// The pid asked about.
        pid: u32,
        /// The pid serving it.
        served_by: i32,
    },
    /// No answer in time.
    #[error("no answer within {} s", REPLY_TIMEOUT.as_secs_f64())]
    Timeout,
    /// The agent closed the connection (the program exited, or stopped it).
    #[error("the agent closed the connection")]
    Closed,
    /// Reading or writing failed.
    #[error("{0}")]
    Io(std::io::Error),
    /// What came back is not a protocol reply, or is too long.
    #[error("malformed reply: {0}")]
    Malformed(String),
    /// The agent answered with an error (a refused peer, an old protocol).
    #[error("the agent refused: {0}")]
    Refused(String),
}

/// A connection to one program's agent, after `hello`.
#[derive(Debug)]
pub struct AgentClient {
    reader: BufReader<UnixStream>,
    path: PathBuf,
    info: AgentInfo,
}

impl AgentClient {
    /// Connects to `pid`'s agent, wherever [`super::location::candidates`]
    /// finds its socket, and says hello.
    ///
    /// # Errors
    ///
    /// [`ClientError::NoSocket`] when there is no socket for it; otherwise
    /// the last socket's error.
    pub fn connect_pid(pid: u32) -> Result<Self, ClientError> {
        let mut last = ClientError::NoSocket { pid };
        for path in super::location::candidates(pid) {
            match Self::connect(&path, Some(pid)) {
                Ok(client) => return Ok(client),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Connects to the agent at `path` and says hello. With `pid`, checks
    /// that the process serving the socket is that one (`SO_PEERCRED`), so
    /// a socket left by someone else is not taken for the program's.
    ///
    /// # Errors
    ///
    /// [`ClientError`]: no connection, the wrong process, no answer in
    /// [`REPLY_TIMEOUT`], or an error reply.
    pub fn connect(path: &Path, pid: Option<u32>) -> Result<Self, ClientError> {
        let stream = UnixStream::connect(path)
            .map_err(|source| ClientError::Connect { path: path.to_owned(), source })?;
        if let Some(pid) = pid {
            let served_by = rustix::net::sockopt::socket_peercred(&stream)
                .map_err(|e| ClientError::Io(e.into()))?
                .pid
                .as_raw_nonzero()
                .get();
            if u32::try_from(served_by).ok() != Some(pid) {
                return Err(ClientError::WrongPeer { path: path.to_owned(), pid, served_by });
            }
        }
        stream.set_read_timeout(Some(REPLY_TIMEOUT)).map_err(ClientError::Io)?;
        stream.set_write_timeout(Some(REPLY_TIMEOUT)).map_err(ClientError::Io)?;
        let mut client = Self {
            reader: BufReader::new(stream),
            path: path.to_owned(),
            info: AgentInfo {
                runtime: String::new(),
                runtime_version: None,
                agent_version: String::new(),
                pid: 0,
                program: None,
            },
        };
        let reply = client.ask(RequestKind::Hello)?;
        client.info =
            reply.agent.ok_or_else(|| ClientError::Malformed("hello without \"agent\"".to_owned()))?;
        Ok(client)
    }

    /// Who answers (the `hello` reply).
    pub fn info(&self) -> &AgentInfo {
        &self.info
    }

    /// The socket it is connected to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The program's threads and primitives now.
    ///
    /// # Errors
    ///
    /// As [`AgentClient::ask`]; after an error the connection is not to
    /// be used again (connect anew).
    pub fn snapshot(&mut self) -> Result<AgentSnapshot, ClientError> {
        let reply = self.ask(RequestKind::Snapshot)?;
        reply.snapshot.ok_or_else(|| ClientError::Malformed("snapshot reply without \"snapshot\"".to_owned()))
    }

    /// Sends one request and reads its reply line.
    ///
    /// # Errors
    ///
    /// [`ClientError::Timeout`] after [`REPLY_TIMEOUT`] without a byte,
    /// [`ClientError::Closed`], [`ClientError::Malformed`],
    /// [`ClientError::Refused`] for an error reply.
    pub fn ask(&mut self, request: RequestKind) -> Result<Reply, ClientError> {
        let mut line = serde_json::to_vec(&Request { protocol: PROTOCOL, request })
            .map_err(|e| ClientError::Malformed(e.to_string()))?;
        line.push(b'\n');
        send_all(self.reader.get_ref(), &line)?;
        let reply = read_line(&mut self.reader)?;
        let reply: Reply =
            serde_json::from_slice(&reply).map_err(|e| ClientError::Malformed(e.to_string()))?;
        if reply.ok {
            Ok(reply)
        } else {
            Err(ClientError::Refused(reply.error.unwrap_or_else(|| "(no reason given)".to_owned())))
        }
    }
}

/// One reply line, at most [`MAX_REPLY_BYTES`].
fn read_line(reader: &mut BufReader<UnixStream>) -> Result<Vec<u8>, ClientError> {
    let mut line = Vec::new();
    let read = Read::by_ref(reader).take(MAX_REPLY_BYTES).read_until(b'\n', &mut line).map_err(io_error)?;
    match line.last() {
        _ if read == 0 => Err(ClientError::Closed),
        Some(b'\n') => Ok(line),
        _ if read as u64 >= MAX_REPLY_BYTES => {
            Err(ClientError::Malformed(format!("reply longer than {MAX_REPLY_BYTES} bytes")))
        }
        _ => Err(ClientError::Closed),
    }
}

/// Writes all of `bytes`, never raising SIGPIPE (a program using the
/// client may not ignore it, and an agent may be gone).
fn send_all(stream: &UnixStream, mut bytes: &[u8]) -> Result<(), ClientError> {
    while !bytes.is_empty() {
        match rustix::net::send(stream, bytes, rustix::net::SendFlags::NOSIGNAL) {
            Ok(0) => return Err(ClientError::Closed),
            Ok(n) => bytes = &bytes[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(io_error(e.into())),
        }
    }
    Ok(())
}

fn io_error(e: std::io::Error) -> ClientError {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => ClientError::Timeout,
        std::io::ErrorKind::BrokenPipe
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::UnexpectedEof => ClientError::Closed,
        _ => ClientError::Io(e),
    }
}
