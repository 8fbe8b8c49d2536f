//! Parsing a task's `stat` line.
//!
//! This is the one file read for every thread on every refresh, so it is
//! parsed here rather than with `procfs::process::Stat::from_read`: that
//! parser decodes all 52 fields, allocates and validates UTF-8, and costs
//! about 0.8 µs a line — as much as the `pread` that fetched it. This one
//! takes the nine fields threadscope needs in about 0.15 µs, keeps the comm
//! as raw bytes, and is checked against procfs's parser in the tests below.

use std::fmt;

/// The figures taken from one `stat` line, owned (the comm is copied into
/// a fixed array) so that a line can be kept and reused while its thread
/// has not run: see `tasks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StatLine {
    pub(crate) comm: Comm,
    pub(crate) state: u8,
    pub(crate) utime: u64,
    pub(crate) stime: u64,
    pub(crate) priority: i64,
    pub(crate) nice: i64,
    /// Threads in the whole process when the line was made.
    pub(crate) num_threads: u64,
    pub(crate) starttime: u64,
    /// Resident pages of the whole process (threads share one memory).
    pub(crate) rss_pages: u64,
    pub(crate) processor: u32,
}

/// A comm as raw bytes, as `stat` gives it: at most 63 bytes, any byte
/// but NUL, not necessarily UTF-8. Held in place, not on the heap: every
/// thread's is copied out of every sample. Reads as a byte slice; in JSON
/// an array of bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Comm {
    len: u8,
    bytes: [u8; COMM_MAX],
}

impl Comm {
    /// `raw` as a comm; an error if it is longer than any the kernel prints.
    pub fn new(raw: &[u8]) -> Result<Comm, &'static str> {
        let mut bytes = [0; COMM_MAX];
        bytes.get_mut(..raw.len()).ok_or("a comm longer than 63 bytes")?.copy_from_slice(raw);
        // At most COMM_MAX, so it fits.
        Ok(Comm { len: raw.len() as u8, bytes })
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The bytes (as [`Self::as_bytes`], the name a `Vec<u8>` has for it).
    pub fn as_slice(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::ops::Deref for Comm {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq<[u8]> for Comm {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialEq<&[u8]> for Comm {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_bytes() == *other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Comm {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_bytes() == other.as_slice()
    }
}

impl serde::Serialize for Comm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.as_bytes())
    }
}

impl fmt::Debug for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_bytes().escape_ascii().to_string())
    }
}

/// The longest comm the kernel prints: `tcomm[64]` in `proc_task_name`,
/// less its NUL.
const COMM_MAX: usize = 63;
/// Bytes after the '(' within which the closing ')' must lie.
const COMM_WINDOW: usize = 128;

// Positions of the fields after the comm, counted from the state (field 3
// in proc(5)): utime is field 14, so index 11.
const UTIME: usize = 11;
const STIME: usize = 12;
const PRIORITY: usize = 15;
const NICE: usize = 16;
const NUM_THREADS: usize = 17;
const STARTTIME: usize = 19;
const RSS: usize = 21;
const PROCESSOR: usize = 36;

/// Parses a `stat` line. The comm runs from the first `(` to the *last*
/// `)`, since a comm may itself contain parentheses, spaces or any byte but
/// NUL; nothing after it contains a `)`.
pub(crate) fn parse_stat(line: &[u8]) -> Result<StatLine, &'static str> {
    let open = line.iter().position(|&b| b == b'(').ok_or("no '(' before the comm")?;
    // The kernel prints at most 63 bytes of comm (`tcomm[64]` in
    // `proc_task_name`), so the last ')' is near the '(': looking only
    // there halves the parse time of a 300-byte line.
    let near = &line[open..line.len().min(open + COMM_WINDOW)];
    let close = open + near.iter().rposition(|&b| b == b')').ok_or("no ')' after the comm")?;
    let comm = Comm::new(&line[open + 1..close])?;
    let rest = line.get(close + 2..).ok_or("nothing after the comm")?;
    let mut fields = rest.split(|&b| b == b' ' || b == b'\n');
    let state = match fields.next() {
        Some([state]) => *state,
        _ => return Err("the state is not one letter"),
    };
    let mut parsed = StatLine {
        comm,
        state,
        utime: 0,
        stime: 0,
        priority: 0,
        nice: 0,
        num_threads: 0,
        starttime: 0,
        rss_pages: 0,
        processor: 0,
    };
    let mut seen_processor = false;
    for (index, field) in (1..).zip(fields) {
        match index {
            UTIME => parsed.utime = unsigned(field)?,
            STIME => parsed.stime = unsigned(field)?,
            PRIORITY => parsed.priority = signed(field)?,
            NICE => parsed.nice = signed(field)?,
            NUM_THREADS => parsed.num_threads = unsigned(field)?,
            STARTTIME => parsed.starttime = unsigned(field)?,
            RSS => parsed.rss_pages = unsigned(field)?,
            PROCESSOR => {
                parsed.processor = u32::try_from(unsigned(field)?).map_err(|_| "processor out of range")?;
                seen_processor = true;
                break;
            }
            _ => {}
        }
    }
    if seen_processor { Ok(parsed) } else { Err("the line ends before the processor field") }
}

/// A decimal number of ASCII digits (no sign, no spaces).
pub(super) fn unsigned(digits: &[u8]) -> Result<u64, &'static str> {
    if digits.is_empty() {
        return Err("an empty number");
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return Err("a number with a non-digit");
        }
        acc.checked_mul(10).and_then(|v| v.checked_add(u64::from(digit))).ok_or("a number out of range")
    })
}

fn signed(text: &[u8]) -> Result<i64, &'static str> {
    match text.split_first() {
        Some((b'-', digits)) => {
            let magnitude = unsigned(digits)?;
            0i64.checked_sub_unsigned(magnitude).ok_or("a number out of range")
        }
        _ => i64::try_from(unsigned(text)?).map_err(|_| "a number out of range"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use procfs::FromRead;

    /// A real line from a sleeping thread (pid 18476, `sleep`).
    const SLEEP: &[u8] = b"18476 (sleep) S 18474 18474 1515 0 -1 4194304 130 0 1 0 3 5 0 0 20 0 1 0 288397 \
        2990080 410 18446744073709551615 94110474006528 94110474024457 140736134679664 0 0 0 0 6 0 1 0 0 \
        17 1 0 0 0 0 0 94110474038544 94110474039808 94110646050816 140736134687464 140736134687473 \
        140736134687473 140736134688745 0\n";

    fn with_comm(comm: &[u8]) -> Vec<u8> {
        let mut line = b"321 (".to_vec();
        line.extend_from_slice(comm);
        line.extend_from_slice(
            b") R 1 1 1 0 -1 4194560 10 0 0 0 1234 56 0 0 -51 -20 3 0 987654 0 0 18446744073709551615 \
              0 0 0 0 0 0 0 0 0 0 0 0 17 1 50 1 0 0 0 0 0 0 0 0 0 0 0\n",
        );
        line
    }

    #[test]
    fn a_comm_reads_and_serialises_as_the_bytes_it_holds() {
        let raw = b"w\xff\x1b[2J-0";
        let comm = Comm::new(raw).unwrap();
        assert_eq!((comm.as_bytes(), &*comm), (&raw[..], &raw[..]));
        assert!(comm == raw[..] && comm == raw);
        assert_eq!(serde_json::to_string(&comm).unwrap(), serde_json::to_string(&raw.to_vec()).unwrap());
        assert!(Comm::new(&[b'x'; COMM_MAX]).is_ok() && Comm::new(&[b'x'; COMM_MAX + 1]).is_err());
    }

    #[test]
    fn a_plain_line() {
        let stat = parse_stat(SLEEP).unwrap();
        assert_eq!(stat.comm.as_bytes(), b"sleep");
        assert_eq!(stat.state, b'S');
        assert_eq!((stat.utime, stat.stime), (3, 5));
        assert_eq!((stat.priority, stat.nice), (20, 0));
        assert_eq!((stat.num_threads, stat.starttime, stat.rss_pages), (1, 288397, 410));
        assert_eq!(stat.processor, 1);
    }

    #[test]
    fn a_comm_with_spaces_and_parentheses() {
        let line = with_comm(b"my (weird) name");
        let stat = parse_stat(&line).unwrap();
        assert_eq!(stat.comm.as_bytes(), b"my (weird) name");
        assert_eq!(stat.state, b'R');
        assert_eq!((stat.utime, stat.stime, stat.priority, stat.nice), (1234, 56, -51, -20));
        assert_eq!((stat.num_threads, stat.starttime, stat.processor), (3, 987654, 1));
    }

    #[test]
    fn a_comm_that_ends_in_half_a_character_keeps_its_bytes() {
        // "ünïcödé-wx" plus the first byte of "ö": what a 15-byte cut that
        // ignored character boundaries would leave.
        let comm = b"\xc3\xbcn\xc3\xafc\xc3\xb6d\xc3\xa9-w\xc3";
        let line = with_comm(comm);
        assert_eq!(parse_stat(&line).unwrap().comm.as_bytes(), comm);
    }

    #[test]
    fn a_comm_with_a_closing_parenthesis_and_fake_fields() {
        let line = with_comm(b") S 1 2 3 (");
        assert_eq!(parse_stat(&line).unwrap().comm.as_bytes(), b") S 1 2 3 (");
        assert_eq!(parse_stat(&line).unwrap().state, b'R');
    }

    #[test]
    fn agrees_with_procfs() {
        for line in [SLEEP.to_vec(), with_comm(b"my (weird) name"), with_comm(b"a b")] {
            let ours = parse_stat(&line).unwrap();
            let theirs = procfs::process::Stat::from_read(&line[..]).unwrap();
            assert_eq!(ours.comm.as_bytes(), theirs.comm.as_bytes());
            assert_eq!(char::from(ours.state), theirs.state);
            assert_eq!((ours.utime, ours.stime), (theirs.utime, theirs.stime));
            assert_eq!((ours.priority, ours.nice), (theirs.priority, theirs.nice));
            assert_eq!(ours.starttime, theirs.starttime);
            assert_eq!(ours.num_threads as i64, theirs.num_threads);
            assert_eq!(ours.rss_pages, theirs.rss);
            assert_eq!(Some(ours.processor as i32), theirs.processor);
        }
    }

    #[test]
    fn agrees_with_procfs_on_our_own_threads() {
        for entry in std::fs::read_dir("/proc/self/task").unwrap() {
            let Ok(line) = std::fs::read(entry.unwrap().path().join("stat")) else { continue };
            let ours = parse_stat(&line).unwrap();
            let theirs = procfs::process::Stat::from_read(&line[..]).unwrap();
            assert_eq!((ours.starttime, Some(ours.processor as i32)), (theirs.starttime, theirs.processor));
        }
    }

    #[test]
    fn malformed_lines_are_refused() {
        assert!(parse_stat(b"").is_err());
        assert!(parse_stat(b"12 (x").is_err());
        assert!(parse_stat(b"12 (x) S 1 2 3\n").is_err(), "too short");
        assert!(parse_stat(b"12 (x) SS 1").is_err());
        assert!(parse_stat(&with_comm(&[b'x'; 64])).is_err(), "no comm is that long");
        assert!(parse_stat(&with_comm(&[b'x'; 63])).is_ok());
        let mut bad = with_comm(b"x");
        let at = bad.windows(4).position(|w| w == b"1234").unwrap();
        bad[at] = b'z';
        assert!(parse_stat(&bad).is_err());
    }
}
