//! Parsing the three lines threadscope takes from a task's `status` file.
//!
//! `procfs::process::Status::from_buf_read` builds a map of all ~57 lines
//! and costs about 12 µs a file, four times the read itself; threadscope
//! needs three lines, found here by prefix in well under a microsecond. The
//! tests check the result against procfs's parser on the same text.

/// What a `status` file says about scheduling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StatusLines {
    pub(crate) voluntary_ctxt_switches: u64,
    pub(crate) nonvoluntary_ctxt_switches: u64,
    pub(crate) cpus_allowed_list: Vec<(u32, u32)>,
}

/// Parses a `status` file. Every line is `Key:\tvalue`.
pub(crate) fn parse_status(text: &[u8]) -> Result<StatusLines, &'static str> {
    let mut voluntary = None;
    let mut nonvoluntary = None;
    let mut cpus = None;
    for line in text.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let value = std::str::from_utf8(&line[colon + 1..]).map_err(|_| "a value is not text")?.trim();
        match &line[..colon] {
            b"voluntary_ctxt_switches" => voluntary = Some(value.parse().map_err(|_| "bad switch count")?),
            b"nonvoluntary_ctxt_switches" => {
                nonvoluntary = Some(value.parse().map_err(|_| "bad switch count")?);
            }
            b"Cpus_allowed_list" => cpus = Some(parse_cpu_list(value)?),
            _ => {}
        }
    }
    Ok(StatusLines {
        voluntary_ctxt_switches: voluntary.ok_or("no voluntary_ctxt_switches line")?,
        nonvoluntary_ctxt_switches: nonvoluntary.ok_or("no nonvoluntary_ctxt_switches line")?,
        cpus_allowed_list: cpus.ok_or("no Cpus_allowed_list line")?,
    })
}

/// Parses a kernel CPU list (`0-3,8,10-11`) into inclusive ranges.
pub(crate) fn parse_cpu_list(list: &str) -> Result<Vec<(u32, u32)>, &'static str> {
    let bad = |_| "bad CPU list";
    list.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('-') {
            Some((first, last)) => Ok((first.parse().map_err(bad)?, last.parse().map_err(bad)?)),
            None => {
                let cpu = part.parse().map_err(bad)?;
                Ok((cpu, cpu))
            }
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
        let lines = parse_status(STATUS.as_bytes()).unwrap();
        assert_eq!(lines.voluntary_ctxt_switches, 157);
        assert_eq!(lines.nonvoluntary_ctxt_switches, 4);
        assert_eq!(lines.cpus_allowed_list, vec![(0, 1)]);
    }

    #[test]
    fn agrees_with_procfs() {
        let ours = parse_status(STATUS.as_bytes()).unwrap();
        let theirs = procfs::process::Status::from_buf_read(STATUS.as_bytes()).unwrap();
        assert_eq!(Some(ours.voluntary_ctxt_switches), theirs.voluntary_ctxt_switches);
        assert_eq!(Some(ours.nonvoluntary_ctxt_switches), theirs.nonvoluntary_ctxt_switches);
        assert_eq!(Some(ours.cpus_allowed_list), theirs.cpus_allowed_list);
    }

    #[test]
    fn agrees_with_procfs_on_this_process() {
        let text = std::fs::read("/proc/thread-self/status").unwrap();
        let ours = parse_status(&text).unwrap();
        let theirs = procfs::process::Status::from_buf_read(&text[..]).unwrap();
        assert_eq!(Some(ours.cpus_allowed_list), theirs.cpus_allowed_list);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,8,10-11").unwrap(), vec![(0, 3), (8, 8), (10, 11)]);
        assert_eq!(parse_cpu_list("5").unwrap(), vec![(5, 5)]);
        assert_eq!(parse_cpu_list("").unwrap(), vec![]);
        assert!(parse_cpu_list("0-x").is_err());
    }

    #[test]
    fn a_status_without_the_lines_is_refused() {
        assert!(parse_status(b"Name:\tx\nState:\tS (sleeping)\n").is_err());
        assert!(parse_status(b"voluntary_ctxt_switches:\tmany\n").is_err());
    }
}
