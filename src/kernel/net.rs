//! The sockets of a network namespace, from `/proc/<pid>/net/{tcp,tcp6,udp,
//! udp6,unix}`, by inode: what a `socket:[inode]` descriptor is connected
//! to.
//!
//! The tables are text the kernel writes, but they describe sockets any
//! program may create (a unix socket's path is whatever it bound), so the
//! parsers take any bytes: a line that does not parse is skipped, never an
//! error and never a panic.

use serde::Serialize;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A TCP connection's state, as `/proc/net/tcp` numbers it
/// (`include/net/tcp_states.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpState {
    /// `ESTABLISHED`.
    Established,
    /// `SYN_SENT`: `connect` waits for the peer.
    SynSent,
    /// `SYN_RECV`.
    SynRecv,
    /// `FIN_WAIT1`.
    FinWait1,
    /// `FIN_WAIT2`.
    FinWait2,
    /// `TIME_WAIT`.
    TimeWait,
    /// `CLOSE`.
    Close,
    /// `CLOSE_WAIT`: the peer closed, we have not.
    CloseWait,
    /// `LAST_ACK`.
    LastAck,
    /// `LISTEN`: a server socket (`accept` waits on it).
    Listen,
    /// `CLOSING`.
    Closing,
    /// `NEW_SYN_RECV`.
    NewSynRecv,
    /// A number this module does not know.
    Unknown(u8),
}

impl TcpState {
    fn from_code(code: u8) -> TcpState {
        match code {
            1 => TcpState::Established,
            2 => TcpState::SynSent,
            3 => TcpState::SynRecv,
            4 => TcpState::FinWait1,
            5 => TcpState::FinWait2,
            6 => TcpState::TimeWait,
            7 => TcpState::Close,
            8 => TcpState::CloseWait,
            9 => TcpState::LastAck,
            10 => TcpState::Listen,
            11 => TcpState::Closing,
            12 => TcpState::NewSynRecv,
            other => TcpState::Unknown(other),
        }
    }
}

/// A unix socket's type (`SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_SEQPACKET`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnixType {
    /// `SOCK_STREAM`.
    Stream,
    /// `SOCK_DGRAM`.
    Datagram,
    /// `SOCK_SEQPACKET`.
    SeqPacket,
    /// Another number.
    Unknown(u16),
}

/// What a socket is, from the namespace's tables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum Socket {
    /// A TCP socket (IPv4 or IPv6).
    Tcp {
        /// Its own address and port.
        local: SocketAddr,
        /// The peer's (`0.0.0.0:0` or `[::]:0` when there is none).
        remote: SocketAddr,
        /// Its TCP state.
        state: TcpState,
    },
    /// A UDP socket (IPv4 or IPv6).
    Udp {
        /// Its own address and port.
        local: SocketAddr,
        /// The peer it is connected to, if any (`0.0.0.0:0` otherwise).
        remote: SocketAddr,
    },
    /// A unix-domain socket.
    Unix {
        /// The path it is bound to (`@name` for the abstract namespace),
        /// `None` when unbound (most connected ends). Untrusted text: any
        /// bytes a program bound, decoded leniently.
        path: Option<String>,
        /// Stream, datagram or seqpacket.
        socket_type: UnixType,
        /// True for a listening socket (`__SO_ACCEPTCON`).
        listening: bool,
        /// True once connected to a peer.
        connected: bool,
    },
}

/// Every socket of one network namespace by inode.
///
/// # Examples
///
/// ```
/// use threadscope::kernel::{Socket, SocketTable, TcpState};
///
/// let mut table = SocketTable::default();
/// table.add_tcp(b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
///    0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0\n");
/// let Some(Socket::Tcp { local, state, .. }) = table.get(4242) else { panic!() };
/// assert_eq!(local.to_string(), "127.0.0.1:8080");
/// assert_eq!(*state, TcpState::Listen);
/// ```
#[derive(Clone, Debug, Default)]
pub struct SocketTable {
    by_inode: HashMap<u64, Socket>,
}

impl SocketTable {
    /// The socket with this inode, if the tables list it.
    pub fn get(&self, inode: u64) -> Option<&Socket> {
        self.by_inode.get(&inode)
    }

    /// How many sockets are known.
    pub fn len(&self) -> usize {
        self.by_inode.len()
    }

    /// True when no socket is known.
    pub fn is_empty(&self) -> bool {
        self.by_inode.is_empty()
    }

    /// Adds the sockets of a `tcp` or `tcp6` table.
    pub fn add_tcp(&mut self, text: &[u8]) {
        for (inode, local, remote, state) in inet_lines(text) {
            self.by_inode.insert(inode, Socket::Tcp { local, remote, state: TcpState::from_code(state) });
        }
    }

    /// Adds the sockets of a `udp` or `udp6` table.
    pub fn add_udp(&mut self, text: &[u8]) {
        for (inode, local, remote, _) in inet_lines(text) {
            self.by_inode.insert(inode, Socket::Udp { local, remote });
        }
    }

    /// Adds the sockets of a `unix` table.
    pub fn add_unix(&mut self, text: &[u8]) {
        for line in text.split(|&b| b == b'\n').skip(1) {
            if let Some((inode, socket)) = unix_line(line) {
                self.by_inode.insert(inode, socket);
            }
        }
    }
}

/// The `(inode, local, remote, state)` of each well-formed line after the
/// header of a `tcp`/`udp` table (v4 or v6: told apart by the address's
/// length).
fn inet_lines(text: &[u8]) -> impl Iterator<Item = (u64, SocketAddr, SocketAddr, u8)> + '_ {
    text.split(|&b| b == b'\n').skip(1).filter_map(|line| {
        let mut words = line.split(u8::is_ascii_whitespace).filter(|w| !w.is_empty());
        let _slot = words.next()?;
        let local = endpoint(words.next()?)?;
        let remote = endpoint(words.next()?)?;
        let state = u8::try_from(hex(words.next()?)?).ok()?;
        let inode = decimal(words.nth(5)?)?;
        Some((inode, local, remote, state))
    })
}

/// `0100007F:1F90` (v4) or 32 hex digits and a port (v6). The kernel prints
/// each 32-bit word of the address as a host-order number, the port as a
/// plain number.
fn endpoint(word: &[u8]) -> Option<SocketAddr> {
    let colon = word.iter().position(|&b| b == b':')?;
    let (address, port) = (&word[..colon], &word[colon + 1..]);
    let port = u16::try_from(hex(port)?).ok()?;
    let ip = match address.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word32(address)?.to_ne_bytes())),
        32 => {
            let mut bytes = [0u8; 16];
            for (chunk, out) in address.chunks(8).zip(bytes.chunks_mut(4)) {
                out.copy_from_slice(&word32(chunk)?.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn word32(digits: &[u8]) -> Option<u32> {
    u32::try_from(hex(digits)?).ok()
}

/// A hex number of at most 16 digits, no sign, no prefix.
fn hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// `Num RefCount Protocol Flags Type St Inode [Path]`: the path is the rest
/// of the line (it may hold spaces).
fn unix_line(line: &[u8]) -> Option<(u64, Socket)> {
    let mut rest = line;
    let mut words = [&b""[..]; 7];
    for word in &mut words {
        let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
        rest = &rest[start..];
        let end = rest.iter().position(u8::is_ascii_whitespace).unwrap_or(rest.len());
        *word = &rest[..end];
        rest = &rest[end..];
    }
    let [_num, _refs, _protocol, flags, kind, state, inode] = words;
    let flags = hex(flags)?;
    let socket_type = match u16::try_from(hex(kind)?).ok()? {
        1 => UnixType::Stream,
        2 => UnixType::Datagram,
        5 => UnixType::SeqPacket,
        other => UnixType::Unknown(other),
    };
    let state = hex(state)?;
    let inode = decimal(inode)?;
    let path = rest.strip_prefix(b" ").unwrap_or(rest);
    let path = (!path.is_empty()).then(|| String::from_utf8_lossy(path).into_owned());
    let listening = flags & 0x0001_0000 != 0;
    Some((inode, Socket::Unix { path, socket_type, listening, connected: state == 3 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP6: &[u8] = b"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0\n";

    #[test]
    fn tcp6_loopback() {
        let mut table = SocketTable::default();
        table.add_tcp(TCP6);
        let Some(Socket::Tcp { local, remote, state }) = table.get(777) else { panic!("{table:?}") };
        assert_eq!(local.to_string(), "[::1]:22");
        assert_eq!(remote.to_string(), "[::]:0");
        assert_eq!(*state, TcpState::Listen);
    }

    #[test]
    fn udp_and_an_established_tcp() {
        let mut table = SocketTable::default();
        table.add_udp(b"hdr\n  1: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 88 2 0 0\n");
        table.add_tcp(
            b"hdr\n  2: 0100007F:A1B2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 0 0 99 1\n",
        );
        assert_eq!(
            table.get(88),
            Some(&Socket::Udp {
                local: "127.0.0.53:53".parse().unwrap(),
                remote: "0.0.0.0:0".parse().unwrap()
            })
        );
        assert!(matches!(table.get(99), Some(Socket::Tcp { state: TcpState::Established, .. })));
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn unix_paths_keep_their_spaces() {
        let mut table = SocketTable::default();
        table.add_unix(
            b"Num       RefCount Protocol Flags    Type St Inode Path\n\
              0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/my app.sock\n\
              0000000000000000: 00000003 00000000 00000000 0001 03 12346\n\
              0000000000000000: 00000002 00000000 00000000 0002 01 12347 @abstract\n",
        );
        assert_eq!(
            table.get(12345),
            Some(&Socket::Unix {
                path: Some("/run/my app.sock".into()),
                socket_type: UnixType::Stream,
                listening: true,
                connected: false
            })
        );
        assert!(matches!(table.get(12346), Some(Socket::Unix { path: None, connected: true, .. })));
        assert!(matches!(table.get(12347), Some(Socket::Unix { socket_type: UnixType::Datagram, .. })));
    }

    #[test]
    fn bad_lines_are_skipped_not_fatal() {
        let mut table = SocketTable::default();
        table.add_tcp(b"hdr\n  0: 0100007F:FFFFF 0:0 0A 0 0 0 0 0 1\n  1: zz:1 0:0 1\n\n  2: 0100007F:0050 00000000:0000 0A a b c d e 5\n");
        table.add_unix(b"hdr\n0000: 1 0 0 0001 01 notanumber /x\n0000: 1 0 0 0001\n");
        assert_eq!(table.len(), 1, "{table:?}");
        assert!(table.get(5).is_some());
    }

    #[test]
    fn serialises_with_the_protocol() {
        let socket = Socket::Tcp {
            local: "127.0.0.1:80".parse().unwrap(),
            remote: "0.0.0.0:0".parse().unwrap(),
            state: TcpState::Listen,
        };
        assert_eq!(
            serde_json::to_string(&socket).unwrap(),
            r#"{"protocol":"tcp","local":"127.0.0.1:80","remote":"0.0.0.0:0","state":"listen"}"#
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                let mut table = SocketTable::default();
                table.add_tcp(&bytes);
                table.add_udp(&bytes);
                table.add_unix(&bytes);
            }

            #[test]
            fn any_tcp_line_round_trips(a in any::<[u8; 4]>(), port in any::<u16>(), inode in any::<u64>(), st in 1u8..13) {
                let word = u32::from_ne_bytes(a);
                let text = format!("hdr\n 0: {word:08X}:{port:04X} 00000000:0000 {st:02X} 0:0 0:0 0 0 0 {inode} 1\n");
                let mut table = SocketTable::default();
                table.add_tcp(text.as_bytes());
                let expected = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), port);
                let found = matches!(table.get(inode), Some(Socket::Tcp { local, .. }) if *local == expected);
                prop_assert!(found);
            }

            #[test]
            fn any_unix_path_survives(path in "[ -~]{1,40}", inode in any::<u64>()) {
                let path = path.trim_start().to_owned();
                prop_assume!(!path.is_empty());
                let text = format!("hdr\n0000: 00000002 00000000 00000000 0001 01 {inode} {path}\n");
                let mut table = SocketTable::default();
                table.add_unix(text.as_bytes());
                let found = matches!(table.get(inode), Some(Socket::Unix { path: Some(p), .. }) if *p == path);
                prop_assert!(found);
            }
        }
    }
}
