//! Parsing the three lines threadscope takes from a task's `status` file.
//!
//! `procfs::process::Status::from_buf_read` builds a map of all ~57 lines
//! and costs about 12 µs a file, four times the read itself; threadscope
//! needs three lines, found here by prefix in well under a microsecond. The
//! tests check the result against procfs's parser on the same text.

use super::field::{Field, Reason};
use super::stat::unsigned;

/// What a `status` file says about scheduling. Each figure stands alone:
/// a line missing or garbled leaves that one [`Malformed`](Reason::Malformed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StatusLines {
    pub(crate) voluntary_ctxt_switches: Field<u64>,
    pub(crate) nonvoluntary_ctxt_switches: Field<u64>,
    pub(crate) cpus_allowed_list: Field<Vec<(u32, u32)>>,
}

/// Parses a `status` file. Every line is `Key:\tvalue`. Only the values
/// wanted are decoded: the `Name:` line holds the comm, which may be any
/// bytes (a name cut mid-character, a hostile `\x9b`), and must not spoil
/// the figures beside it.
pub(crate) fn parse_status(text: &[u8]) -> StatusLines {
    let mut voluntary = None;
    let mut nonvoluntary = None;
    let mut cpus = None;
    for (key, value) in lines(text) {
        match key {
            b"voluntary_ctxt_switches" => voluntary = Some(number(value)),
            b"nonvoluntary_ctxt_switches" => nonvoluntary = Some(number(value)),
            b"Cpus_allowed_list" => cpus = Some(text_of(value).and_then(|v| parse_cpu_list(v).ok())),
            _ => {}
        }
    }
    StatusLines {
        voluntary_ctxt_switches: field(voluntary),
        nonvoluntary_ctxt_switches: field(nonvoluntary),
        cpus_allowed_list: field(cpus),
    }
}

/// A value read, or [`Malformed`](Reason::Malformed) when its line was
/// missing (`None`) or did not parse (`Some(None)`).
fn field<T>(value: Option<Option<T>>) -> Field<T> {
    value.flatten().map_or(Field::Unavailable(Reason::Malformed), Field::Available)
}

/// The `Tgid:` of a `status` file: the process a task belongs to.
pub(crate) fn parse_tgid(text: &[u8]) -> Option<u32> {
    lines(text).find(|(key, _)| *key == b"Tgid").and_then(|(_, value)| text_of(value)?.parse().ok())
}

/// The `(key, value)` pairs of a `status` file, split at each line's
/// first colon.
fn lines(text: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    text.split(|&b| b == b'\n').filter_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        Some((&line[..colon], &line[colon + 1..]))
    })
}

fn text_of(value: &[u8]) -> Option<&str> {
    std::str::from_utf8(value).ok().map(str::trim)
}

/// A count: decimal digits only (`str::parse` would take a `+`).
fn number(value: &[u8]) -> Option<u64> {
    unsigned(text_of(value)?.as_bytes()).ok()
}

/// Parses a kernel CPU list (`0-3,8,10-11`) into inclusive ranges, each
/// first ≤ last.
pub(crate) fn parse_cpu_list(list: &str) -> Result<Vec<(u32, u32)>, &'static str> {
    let cpu = |text: &str| u32::try_from(unsigned(text.as_bytes())?).map_err(|_| "a CPU out of range");
    list.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (first, last) = match part.split_once('-') {
                Some((first, last)) => (cpu(first)?, cpu(last)?),
                None => (cpu(part)?, cpu(part)?),
            };
            if first <= last { Ok((first, last)) } else { Err("a CPU range that runs backwards") }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use procfs::FromBufRead;

    /// A real `status` file of a thread on a 2-core machine.
    const STATUS: &str = "Name:\tcat\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t21498\nNgid:\t0\nPid:\t21498\n\
PPid:\t21496\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t256\nGroups:\t \nNStgid:\t21498\n\
NSpid:\t21498\nNSpgid:\t21496\nNSsid:\t1515\nKthread:\t0\nVmPeak:\t    3060 kB\nVmSize:\t    3060 kB\n\
VmLck:\t       0 kB\nVmPin:\t       0 kB\nVmHWM:\t    1764 kB\nVmRSS:\t    1764 kB\nRssAnon:\t     112 kB\n\
RssFile:\t    1652 kB\nRssShmem:\t       0 kB\nVmData:\t     360 kB\nVmStk:\t     132 kB\nVmExe:\t      20 kB\n\
VmLib:\t    1528 kB\nVmPTE:\t      44 kB\nVmSwap:\t       0 kB\nHugetlbPages:\t       0 kB\nCoreDumping:\t0\n\
THP_enabled:\t1\nuntag_mask:\t0xffffffffffffffff\nThreads:\t1\nSigQ:\t2/96364\nSigPnd:\t0000000000000000\n\
ShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n\
CapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\nCapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\n\
CapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n\
Speculation_Store_Bypass:\tvulnerable\nSpeculationIndirectBranch:\talways enabled\nCpus_allowed:\t3\n\
Cpus_allowed_list:\t0-1\nMems_allowed:\t00000000,00000001\nMems_allowed_list:\t0\n\
voluntary_ctxt_switches:\t157\nnonvoluntary_ctxt_switches:\t4\n";

    #[test]
    fn a_status_file() {
        let lines = parse_status(STATUS.as_bytes());
        assert_eq!(lines.voluntary_ctxt_switches, Field::Available(157));
        assert_eq!(lines.nonvoluntary_ctxt_switches, Field::Available(4));
        assert_eq!(lines.cpus_allowed_list, Field::Available(vec![(0, 1)]));
        assert_eq!(parse_tgid(STATUS.as_bytes()), Some(21498));
    }

    #[test]
    fn agrees_with_procfs() {
        let ours = parse_status(STATUS.as_bytes());
        let theirs = procfs::process::Status::from_buf_read(STATUS.as_bytes()).unwrap();
        assert_eq!(ours.voluntary_ctxt_switches.value().copied(), theirs.voluntary_ctxt_switches);
        assert_eq!(ours.nonvoluntary_ctxt_switches.value().copied(), theirs.nonvoluntary_ctxt_switches);
        assert_eq!(ours.cpus_allowed_list.value().cloned(), theirs.cpus_allowed_list);
        assert_eq!(parse_tgid(STATUS.as_bytes()).map(i32::try_from), Some(Ok(theirs.tgid)));
    }

    #[test]
    fn agrees_with_procfs_on_this_process() {
        let text = std::fs::read("/proc/thread-self/status").unwrap();
        let ours = parse_status(&text);
        let theirs = procfs::process::Status::from_buf_read(&text[..]).unwrap();
        assert_eq!(ours.cpus_allowed_list.value().cloned(), theirs.cpus_allowed_list);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,8,10-11").unwrap(), vec![(0, 3), (8, 8), (10, 11)]);
        assert_eq!(parse_cpu_list("5").unwrap(), vec![(5, 5)]);
        assert_eq!(parse_cpu_list("").unwrap(), vec![]);
        assert!(parse_cpu_list("0-x").is_err());
        assert!(parse_cpu_list("3-1").is_err(), "backwards");
        assert!(parse_cpu_list("+1").is_err());
        assert!(parse_cpu_list("4294967296").is_err());
    }

    #[test]
    fn a_missing_or_garbled_line_leaves_only_its_figure_out() {
        let malformed = Field::Unavailable(Reason::Malformed);
        let none = parse_status(b"Name:\tx\nState:\tS (sleeping)\n");
        assert_eq!(none.voluntary_ctxt_switches, malformed);
        assert_eq!(none.cpus_allowed_list, Field::Unavailable(Reason::Malformed));
        let one = parse_status(b"voluntary_ctxt_switches:\tmany\nnonvoluntary_ctxt_switches:\t3\n");
        assert_eq!(one.voluntary_ctxt_switches, malformed);
        assert_eq!(one.nonvoluntary_ctxt_switches, Field::Available(3));
        assert_eq!(parse_status(b"voluntary_ctxt_switches:\t+1\n").voluntary_ctxt_switches, malformed);
        let huge = parse_status(b"voluntary_ctxt_switches:\t18446744073709551616\n");
        assert_eq!(huge.voluntary_ctxt_switches, malformed);
        assert_eq!(parse_tgid(b"Name:\tx\n"), None);
    }

    /// The bug: a comm that is not UTF-8 (the kernel cut `Überprüfung-日本語`
    /// at 15 bytes, mid-character; or a `\x9b`) made the whole file
    /// unreadable, and with it the sample.
    #[test]
    fn a_name_that_is_not_text_spoils_nothing() {
        for name in [&b"\xc3\x9cberpr\xc3\xbcfung-\xe6"[..], b"bad\x9bbyte", b"esc\x1b[2J", b"\xff\xfe"] {
            let mut text = b"Name:\t".to_vec();
            text.extend_from_slice(name);
            text.extend_from_slice(STATUS.split_once('\n').unwrap().1.as_bytes());
            let lines = parse_status(&text);
            assert_eq!(lines, parse_status(STATUS.as_bytes()), "{}", name.escape_ascii());
            assert_eq!(parse_tgid(&text), Some(21498));
        }
    }
}
