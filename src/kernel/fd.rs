//! What a file descriptor of another process is: `/proc/<pid>/fd/<n>`
//! (a link whose text names the file, pipe, socket or anonymous inode),
//! with sockets looked up in the namespace's tables ([`SocketTable`]).

use super::error::{ReadFailure, classify};
use super::field::{Field, Reason};
use super::net::{Socket, SocketTable};
use serde::Serialize;
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;

/// What a descriptor refers to.
///
/// # Examples
///
/// ```
/// use threadscope::kernel::FdTarget;
/// assert_eq!(FdTarget::parse_link(b"pipe:[4711]"), FdTarget::Pipe { inode: 4711 });
/// assert_eq!(FdTarget::parse_link(b"anon_inode:[eventfd]"), FdTarget::AnonInode { what: "eventfd".into() });
/// assert_eq!(FdTarget::parse_link(b"/var/log/app.log"), FdTarget::File { path: "/var/log/app.log".into() });
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FdTarget {
    /// One end of a pipe; both ends share the inode.
    Pipe {
        /// The pipe's inode.
        inode: u64,
    },
    /// A socket.
    Socket {
        /// The socket's inode.
        inode: u64,
        /// What the namespace's tcp/udp/unix tables say about it; `None`
        /// for a socket they do not list (netlink, packet, another
        /// namespace's) or when they could not be read.
        socket: Option<Socket>,
    },
    /// A file, device or directory, by path (`(deleted)` kept as the kernel
    /// writes it). Untrusted text, decoded leniently.
    File {
        /// The path.
        path: String,
    },
    /// An anonymous inode: `eventfd`, `eventpoll` (an epoll instance),
    /// `timerfd`, `signalfd`, `inotify`, `[pidfd]`, …
    AnonInode {
        /// The kind the kernel names.
        what: String,
    },
    /// A link of another shape (`net:[…]`, `mnt:[…]`, …), as written.
    Other {
        /// The link's text.
        link: String,
    },
}

impl FdTarget {
    /// Classifies the text of a `/proc/<pid>/fd/<n>` link. Total: any bytes
    /// give some target.
    pub fn parse_link(link: &[u8]) -> FdTarget {
        let text = || String::from_utf8_lossy(link).into_owned();
        if link.first() == Some(&b'/') {
            return FdTarget::File { path: text() };
        }
        if let Some(inode) = bracketed_number(link, b"pipe:") {
            return FdTarget::Pipe { inode };
        }
        if let Some(inode) = bracketed_number(link, b"socket:") {
            return FdTarget::Socket { inode, socket: None };
        }
        if let Some(rest) = link.strip_prefix(b"anon_inode:") {
            let what = rest.strip_prefix(b"[").and_then(|r| r.strip_suffix(b"]")).unwrap_or(rest);
            return FdTarget::AnonInode { what: String::from_utf8_lossy(what).into_owned() };
        }
        FdTarget::Other { link: text() }
    }

    /// True for an epoll instance.
    pub fn is_epoll(&self) -> bool {
        matches!(self, FdTarget::AnonInode { what } if what == "eventpoll")
    }
}

/// `prefix[<decimal>]`.
fn bracketed_number(link: &[u8], prefix: &[u8]) -> Option<u64> {
    let digits = link.strip_prefix(prefix)?.strip_prefix(b"[")?.strip_suffix(b"]")?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The descriptors an epoll instance watches, from its
/// `/proc/<pid>/fdinfo/<epfd>` (`tfd: <n> events: …` lines). Lines of
/// another shape are skipped.
pub fn parse_epoll_fdinfo(text: &[u8]) -> Vec<i32> {
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let rest = line.strip_prefix(b"tfd:")?;
            let digits = rest.split(u8::is_ascii_whitespace).find(|w| !w.is_empty())?;
            std::str::from_utf8(digits).ok()?.parse().ok()
        })
        .collect()
}

/// Descriptions of one process's descriptors, made during one sample:
/// each descriptor is looked up once, and the socket tables are read once,
/// the first time a socket needs them.
pub(crate) struct FdResolver {
    pid: u32,
    seen: HashMap<i32, Field<FdTarget>>,
    sockets: Option<SocketTable>,
    denied: bool,
}

impl FdResolver {
    pub(crate) fn new(pid: u32) -> FdResolver {
        FdResolver { pid, seen: HashMap::new(), sockets: None, denied: false }
    }

    /// True once a descriptor link was refused (no ptrace read access).
    pub(crate) fn was_denied(&self) -> bool {
        self.denied
    }

    /// What descriptor `fd` is: [`Gone`](Reason::Gone) when it is closed
    /// (or the process ended), [`Denied`](Reason::Denied) without access.
    pub(crate) fn describe(&mut self, fd: i32) -> Field<FdTarget> {
        if let Some(known) = self.seen.get(&fd) {
            return known.clone();
        }
        let target = self.read_link(fd);
        self.seen.insert(fd, target.clone());
        target
    }

    fn read_link(&mut self, fd: i32) -> Field<FdTarget> {
        if fd < 0 {
            return Field::Unavailable(Reason::Gone);
        }
        let link = match std::fs::read_link(format!("/proc/{}/fd/{fd}", self.pid)) {
            Ok(link) => link,
            Err(err) => return Field::Unavailable(self.reason(err)),
        };
        let mut target = FdTarget::parse_link(link.as_os_str().as_bytes());
        if let FdTarget::Socket { inode, socket } = &mut target {
            *socket = self.sockets().get(*inode).cloned();
        }
        Field::Available(target)
    }

    /// The descriptors epoll instance `epfd` watches.
    pub(crate) fn epoll_watched(&mut self, epfd: i32) -> Field<Vec<i32>> {
        match std::fs::read(format!("/proc/{}/fdinfo/{epfd}", self.pid)) {
            Ok(text) => Field::Available(parse_epoll_fdinfo(&text)),
            Err(err) => Field::Unavailable(self.reason(err)),
        }
    }

    fn reason(&mut self, err: std::io::Error) -> Reason {
        match classify(err) {
            ReadFailure::Denied => {
                self.denied = true;
                Reason::Denied
            }
            // A closed descriptor, an ended process, or an error that says
            // nothing about the descriptor: there is nothing to show.
            ReadFailure::Gone | ReadFailure::Other(_) => Reason::Gone,
        }
    }

    fn sockets(&mut self) -> &SocketTable {
        let pid = self.pid;
        self.sockets.get_or_insert_with(|| {
            let mut table = SocketTable::default();
            let read = |name: &str| std::fs::read(format!("/proc/{pid}/net/{name}")).unwrap_or_default();
            table.add_tcp(&read("tcp"));
            table.add_tcp(&read("tcp6"));
            table.add_udp(&read("udp"));
            table.add_udp(&read("udp6"));
            table.add_unix(&read("unix"));
            table
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_shapes() {
        assert_eq!(FdTarget::parse_link(b"socket:[99]"), FdTarget::Socket { inode: 99, socket: None });
        assert_eq!(
            FdTarget::parse_link(b"anon_inode:inotify"),
            FdTarget::AnonInode { what: "inotify".into() }
        );
        assert!(FdTarget::parse_link(b"anon_inode:[eventpoll]").is_epoll());
        assert_eq!(FdTarget::parse_link(b"pipe:[]"), FdTarget::Other { link: "pipe:[]".into() });
        assert_eq!(
            FdTarget::parse_link(b"pipe:[99999999999999999999999]").clone(),
            FdTarget::Other { link: "pipe:[99999999999999999999999]".into() }
        );
        assert_eq!(
            FdTarget::parse_link(b"net:[4026531840]"),
            FdTarget::Other { link: "net:[4026531840]".into() }
        );
        assert_eq!(
            FdTarget::parse_link(b"/tmp/x\xff (deleted)"),
            FdTarget::File { path: "/tmp/x\u{fffd} (deleted)".into() }
        );
    }

    #[test]
    fn epoll_fdinfo() {
        let text = b"pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\ntfd:        5 events:       19 data:                5  pos:0 ino:3f4 sdev:d\n\
                     tfd:       12 events:       19 data:                c  pos:0 ino:3f5 sdev:d\ntfd: x\n";
        assert_eq!(parse_epoll_fdinfo(text), vec![5, 12]);
    }

    #[test]
    fn our_own_pipe_and_a_closed_fd() {
        let (reader, _writer) = rustix::pipe::pipe().unwrap();
        use std::os::fd::AsRawFd;
        let mut fds = FdResolver::new(std::process::id());
        let Field::Available(FdTarget::Pipe { inode }) = fds.describe(reader.as_raw_fd()) else { panic!() };
        assert!(inode > 0);
        assert_eq!(fds.describe(1_000_000), Field::Unavailable(Reason::Gone));
        assert_eq!(fds.describe(-1), Field::Unavailable(Reason::Gone));
        assert!(!fds.was_denied());
    }

    #[test]
    fn serialises_with_a_kind() {
        assert_eq!(
            serde_json::to_string(&FdTarget::Pipe { inode: 3 }).unwrap(),
            r#"{"kind":"pipe","inode":3}"#
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_link_is_classified(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
                let _ = FdTarget::parse_link(&bytes);
                let _ = parse_epoll_fdinfo(&bytes);
            }

            #[test]
            fn pipes_and_sockets_keep_their_inode(inode in any::<u64>()) {
                prop_assert_eq!(FdTarget::parse_link(format!("pipe:[{inode}]").as_bytes()), FdTarget::Pipe { inode });
                prop_assert_eq!(
                    FdTarget::parse_link(format!("socket:[{inode}]").as_bytes()),
                    FdTarget::Socket { inode, socket: None }
                );
            }
        }
    }
}
