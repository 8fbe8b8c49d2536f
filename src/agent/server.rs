//! The agent's one thread: a `poll` loop over the listening socket and
//! its connections, all non-blocking, so no client — one that sends half a
//! line and waits, one that never reads its reply, a hundred at once — can
//! hold up another or the program. Each connection is checked
//! (`SO_PEERCRED`) before anything it sends is read.

use super::handler::answer;
use super::protocol::{AgentInfo, MAX_REQUEST_BYTES, Reply};
use crate::threading::Registry;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use std::io::{ErrorKind, Read};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Connections served at once; one more gets an error reply and is closed
/// (each holds at most one reply, so this bounds the agent's memory).
pub(crate) const MAX_CONNECTIONS: usize = 16;
/// How often the loop wakes with nothing to do, to close idle connections
/// and see a stop request.
const TICK: Timespec = Timespec { tv_sec: 0, tv_nsec: 250_000_000 };

/// What the loop serves and how.
pub(crate) struct Served {
    pub(crate) listener: UnixListener,
    pub(crate) registry: Registry,
    pub(crate) info: AgentInfo,
    pub(crate) idle: Duration,
    pub(crate) stop: Arc<AtomicBool>,
}

/// One client.
struct Connection {
    stream: UnixStream,
    /// Bytes read and not yet answered (at most one request and a bit).
    input: Vec<u8>,
    /// The reply being written, and how much of it is out.
    output: Vec<u8>,
    written: usize,
    /// Close once `output` is out (a refused peer, an oversized line).
    closing: bool,
    /// The client has sent all it will: answer what is complete, then close.
    eof: bool,
    /// Refused: after the reply, our side is shut and whatever the client
    /// still sends is read and dropped until it closes, so that it reads
    /// the reply instead of a reset connection.
    draining: bool,
    last_active: Instant,
}

impl Connection {
    fn new(stream: UnixStream, now: Instant) -> Self {
        Self {
            stream,
            input: Vec::new(),
            output: Vec::new(),
            written: 0,
            closing: false,
            eof: false,
            draining: false,
            last_active: now,
        }
    }

    fn reply(&mut self, reply: &Reply) {
        // A reply of our own types always serialises; the fallback only
        // keeps a line on the wire if that ever changes.
        self.output = serde_json::to_vec(reply).unwrap_or_else(|_| br#"{"protocol":1,"ok":false}"#.to_vec());
        self.output.push(b'\n');
        self.written = 0;
    }

    /// Refuses the whole connection (a peer that may not ask, one too
    /// many): the reply, then nothing but draining.
    fn turn_away(&mut self, why: String) {
        self.reply(&Reply::error(why));
        self.draining = true;
        self.input.clear();
    }

    fn refuse(&mut self, why: String) {
        self.reply(&Reply::error(why));
        self.closing = true;
        self.input.clear();
    }

    fn writing(&self) -> bool {
        self.written < self.output.len()
    }

    /// A complete request is waiting to be answered.
    fn pending(&self) -> bool {
        !self.writing() && !self.closing && !self.draining && self.input.contains(&b'\n')
    }
}

/// Serves until `stop` is set; returns only then (or if polling itself
/// fails, which would be a bug, said on stderr).
pub(crate) fn serve(served: Served) {
    let mut connections: Vec<Connection> = Vec::new();
    let me = super::location::euid();
    while !served.stop.load(Ordering::Relaxed) {
        // Requests already read (pipelined) are answered without waiting.
        let timeout = if connections.iter().any(Connection::pending) { Timespec::default() } else { TICK };
        let ready = {
            let mut fds = Vec::with_capacity(connections.len() + 1);
            fds.push(PollFd::new(&served.listener, PollFlags::IN));
            for c in &connections {
                let want = if c.writing() { PollFlags::OUT } else { PollFlags::IN };
                fds.push(PollFd::new(&c.stream, want));
            }
            match poll(&mut fds, Some(&timeout)) {
                Ok(_) => fds.iter().map(PollFd::revents).collect::<Vec<_>>(),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    eprintln!("threadscope agent: poll failed ({e}); the agent stops");
                    return;
                }
            }
        };
        let now = Instant::now();
        if !ready[0].is_empty() {
            accept_all(&served.listener, &mut connections, me, now);
        }
        for (c, events) in connections.iter_mut().zip(&ready[1..]) {
            if events.intersects(PollFlags::ERR | PollFlags::NVAL) {
                c.closing = true;
                c.output.clear();
                c.written = 0;
            }
            // A hang-up comes with whatever is left to read: read it, so
            // a client that sends and then shuts its side still gets its reply.
            // Nothing more is read while a complete request waits: a client
            // that sends faster than it is answered holds one request's
            // worth of memory here, not all it sent.
            let room = !c.writing() && !c.closing && !c.eof && !c.input.contains(&b'\n');
            if events.intersects(PollFlags::IN | PollFlags::HUP) && room {
                read_some(c, now);
                if c.draining {
                    c.input.clear();
                }
            }
            answer_pending(c, &served);
            if c.eof && !c.writing() && (c.draining || !c.input.contains(&b'\n')) {
                c.closing = true;
            }
            if events.contains(PollFlags::OUT) || c.writing() {
                write_some(c, now);
            }
        }
        connections.retain(|c| {
            let done = c.closing && !c.writing();
            let idle = now.saturating_duration_since(c.last_active) > served.idle;
            !done && !idle
        });
    }
}

/// Takes every waiting connection; checks each peer before reading a byte.
fn accept_all(listener: &UnixListener, connections: &mut Vec<Connection>, me: u32, now: Instant) {
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // A client that gave up before we took it, or out of fds: try later.
            Err(_) => return,
        };
        if stream.set_nonblocking(true).is_err() {
            continue;
        }
        let mut connection = Connection::new(stream, now);
        if let Some(why) = refusal(&connection.stream, me) {
            connection.turn_away(why);
        } else if connections.len() >= MAX_CONNECTIONS {
            connection
                .turn_away(format!("too many connections (this agent serves {MAX_CONNECTIONS} at once)"));
        }
        write_some(&mut connection, now);
        // Turned-away connections linger only while there is room for them.
        if connections.len() < 2 * MAX_CONNECTIONS {
            connections.push(connection);
        }
    }
}

/// Why `stream`'s peer may not ask anything, if it may not: only the
/// program's own user, or root.
fn refusal(stream: &UnixStream, me: u32) -> Option<String> {
    match rustix::net::sockopt::socket_peercred(stream) {
        Ok(peer) if peer.uid.as_raw() == me || peer.uid.is_root() => None,
        Ok(peer) => Some(format!("peer uid {} is not the program's uid {me}", peer.uid.as_raw())),
        Err(e) => Some(format!("cannot read the peer's credentials: {e}")),
    }
}

fn read_some(c: &mut Connection, now: Instant) {
    let mut buf = [0u8; MAX_REQUEST_BYTES];
    match c.stream.read(&mut buf) {
        // Closed by the client: what is complete is answered, half a line dropped.
        Ok(0) => c.eof = true,
        Ok(n) => {
            c.input.extend_from_slice(&buf[..n]);
            c.last_active = now;
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
        Err(_) => {
            c.closing = true;
            c.input.clear();
        }
    }
}

/// Answers the next complete request, when no reply is on its way; refuses
/// a line longer than the protocol allows without reading the rest.
fn answer_pending(c: &mut Connection, served: &Served) {
    if c.writing() || c.closing || c.draining {
        return;
    }
    match c.input.iter().position(|&b| b == b'\n') {
        Some(end) if end < MAX_REQUEST_BYTES => {
            let line: Vec<u8> = c.input.drain(..=end).collect();
            let reply = answer(&line, &served.info, || {
                super::convert::agent_snapshot(&served.registry.snapshot(), SystemTime::now())
            });
            c.reply(&reply);
        }
        Some(_) => c.refuse(too_long()),
        None if c.input.len() >= MAX_REQUEST_BYTES => c.refuse(too_long()),
        None => {}
    }
}

fn too_long() -> String {
    format!("request longer than {MAX_REQUEST_BYTES} bytes; the connection is closed")
}

fn write_some(c: &mut Connection, now: Instant) {
    while c.writing() {
        // Never SIGPIPE: a client that went away must not end the program.
        match rustix::net::send(&c.stream, &c.output[c.written..], rustix::net::SendFlags::NOSIGNAL) {
            Ok(0) => break,
            Ok(n) => {
                c.written += n;
                c.last_active = now;
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(rustix::io::Errno::AGAIN) => return,
            Err(_) => {
                // The client went away mid-reply.
                c.output.clear();
                c.written = 0;
                c.closing = true;
                return;
            }
        }
    }
    if !c.writing() {
        if c.draining && !c.output.is_empty() {
            // The reply is out: the client reads it, then the end.
            let _ = c.stream.shutdown(std::net::Shutdown::Write);
        }
        c.output = Vec::new();
        c.written = 0;
    }
}
