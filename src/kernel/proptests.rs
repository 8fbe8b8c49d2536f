//! Property tests: whatever bytes a `/proc` file holds, its parser neither
//! panics nor fails in a way that costs more than its own figures, and real
//! layouts with hostile comms read back exactly.
//!
//! 256 cases a property by default; `PROPTEST_CASES=100000 cargo test
//! kernel::proptests` for a longer soak.

use super::details::parse_wchan;
use super::field::{Field, Reason};
use super::schedstat::{Schedstat, parse_schedstat};
use super::stat::parse_stat;
use super::status::{parse_cpu_list, parse_status, parse_tgid};
use super::syscall::Syscall;
use super::tasks::parse_tid;
use proptest::collection::vec;
use proptest::prelude::*;

/// A `stat` line as the kernel writes it, with `comm` between the
/// parentheses and the figures the parser takes set to these values.
fn stat_line(comm: &[u8], utime: u64, nice: i64, starttime: u64, processor: u32) -> Vec<u8> {
    let mut line = b"4242 (".to_vec();
    line.extend_from_slice(comm);
    line.extend_from_slice(
        format!(
            ") S 1 1 1 0 -1 4194560 10 0 0 0 {utime} 56 0 0 20 {nice} 3 0 {starttime} 0 0 \
             18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 {processor} 50 1 0 0 0 0 0 0 0 0 0 0 0\n"
        )
        .as_bytes(),
    );
    line
}

/// A `status` file of this process's calling thread, as the kernel wrote it.
fn own_status() -> Vec<u8> {
    std::fs::read("/proc/thread-self/status").unwrap()
}

/// Up to `max` edits to `bytes`: a byte replaced, inserted or removed.
fn mutated(bytes: Vec<u8>, max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec((0u8..3, any::<prop::sample::Index>(), any::<u8>()), 0..=max).prop_map(move |edits| {
        let mut bytes = bytes.clone();
        for (kind, at, byte) in edits {
            let at = at.index(bytes.len() + 1);
            match kind {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if at < bytes.len() => drop(bytes.remove(at)),
                _ => {}
            }
        }
        bytes
    })
}

/// Comm bytes: any but NUL, the length the kernel allows a thread (15).
fn comm() -> impl Strategy<Value = Vec<u8>> {
    vec(1u8..=255, 0..=15)
}

proptest! {
    #[test]
    fn no_bytes_panic_any_parser(bytes in vec(any::<u8>(), 0..512)) {
        let _ = parse_stat(&bytes);
        let _ = parse_status(&bytes);
        let _ = parse_tgid(&bytes);
        let _ = parse_schedstat(&bytes);
        let _ = Syscall::parse(&bytes);
        let _ = parse_wchan(&bytes);
        let _ = parse_tid(&bytes);
        let _ = parse_cpu_list(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn a_stat_line_with_any_comm_reads_back_exactly(
        comm in comm(),
        utime in any::<u64>(),
        nice in any::<i64>(),
        starttime in any::<u64>(),
        processor in any::<u32>(),
    ) {
        // `) (`, `)` then fake fields, newlines, spaces, invalid UTF-8: all
        // are comms a program can set.
        let line = stat_line(&comm, utime, nice, starttime, processor);
        let stat = parse_stat(&line).unwrap();
        prop_assert_eq!(stat.comm.as_bytes(), &comm[..]);
        prop_assert_eq!((stat.state, stat.utime, stat.nice), (b'S', utime, nice));
        prop_assert_eq!((stat.starttime, stat.processor), (starttime, processor));
    }

    #[test]
    fn a_mutated_stat_line_never_panics(line in mutated(stat_line(b"a) (b\nc", 1, -2, 3, 4), 8)) {
        if let Ok(stat) = parse_stat(&line) {
            prop_assert!(stat.comm.as_bytes().len() <= 63);
        }
    }

    #[test]
    fn a_name_line_of_any_bytes_costs_no_figure(name in vec(any::<u8>().prop_filter("one line", |&b| b != b'\n'), 0..64)) {
        // The kernel escapes '\n' in `status`'s Name:, nothing else.
        let real = own_status();
        let rest = &real[real.iter().position(|&b| b == b'\n').unwrap()..];
        let mut text = b"Name:\t".to_vec();
        text.extend_from_slice(&name);
        text.extend_from_slice(rest);
        let lines = parse_status(&text);
        prop_assert_eq!(&lines, &parse_status(&real));
        prop_assert!(lines.voluntary_ctxt_switches.is_available());
        prop_assert!(lines.cpus_allowed_list.is_available());
        prop_assert_eq!(parse_tgid(&text), parse_tgid(&real));
    }

    #[test]
    fn a_garbled_status_line_costs_at_most_its_own_figure(
        line in any::<prop::sample::Index>(),
        garbage in vec(any::<u8>().prop_filter("one line", |&b| b != b'\n'), 0..64),
    ) {
        let real = own_status();
        let clean = parse_status(&real);
        let mut lines: Vec<&[u8]> = real.split(|&b| b == b'\n').collect();
        let at = line.index(lines.len());
        let hit = lines[at].split(|&b| b == b':').next().unwrap_or_default().to_vec();
        lines[at] = &garbage;
        let garbled = parse_status(&lines.join(&b'\n'));
        let kept = |key: &[u8]| hit != key;
        if kept(b"voluntary_ctxt_switches") {
            prop_assert_eq!(&garbled.voluntary_ctxt_switches, &clean.voluntary_ctxt_switches);
        }
        if kept(b"nonvoluntary_ctxt_switches") {
            prop_assert_eq!(&garbled.nonvoluntary_ctxt_switches, &clean.nonvoluntary_ctxt_switches);
        }
        if kept(b"Cpus_allowed_list") {
            prop_assert_eq!(&garbled.cpus_allowed_list, &clean.cpus_allowed_list);
        }
    }

    #[test]
    fn a_mutated_status_gives_figures_or_malformed(text in mutated(own_status(), 16)) {
        let lines = parse_status(&text);
        for reason in [lines.voluntary_ctxt_switches.reason(), lines.nonvoluntary_ctxt_switches.reason()] {
            prop_assert!(matches!(reason, None | Some(Reason::Malformed)));
        }
        if let Field::Available(ranges) = &lines.cpus_allowed_list {
            prop_assert!(ranges.iter().all(|(first, last)| first <= last));
        }
    }

    #[test]
    fn schedstat_reads_back(on_cpu in any::<u64>(), waiting in any::<u64>(), slices in any::<u64>()) {
        let line = format!("{on_cpu} {waiting} {slices}\n");
        let expected = Schedstat { on_cpu_ns: on_cpu, waiting_ns: waiting, timeslices: slices };
        prop_assert_eq!(parse_schedstat(line.as_bytes()), Ok(expected));
    }

    #[test]
    fn syscall_lines_read_back(number in 0i64..1024, args in any::<[u64; 6]>(), sp in any::<u64>(), pc in any::<u64>()) {
        let hex: Vec<String> = args.iter().chain([&sp, &pc]).map(|v| format!("{v:#x}")).collect();
        let line = format!("{number} {}\n", hex.join(" "));
        prop_assert_eq!(Syscall::parse(line.as_bytes()), Some(Syscall::InSyscall { number, args }));
        let off = format!("-1 {sp:#x} {pc:#x}\n");
        let not_in = Syscall::NotInSyscall { stack_pointer: sp, program_counter: pc };
        prop_assert_eq!(Syscall::parse(off.as_bytes()), Some(not_in));
    }

    #[test]
    fn a_wchan_given_out_is_a_symbol(bytes in vec(any::<u8>(), 0..64)) {
        match parse_wchan(&bytes) {
            Field::Available(Some(name)) => prop_assert!(name.bytes().all(|b| b.is_ascii_graphic()), "{name:?}"),
            Field::Available(None) => {}
            Field::Unavailable(reason) => prop_assert_eq!(reason, Reason::Malformed),
        }
    }

    #[test]
    fn cpu_lists_read_back(ranges in vec((0u32..8192, 0u32..64), 0..8)) {
        let ranges: Vec<(u32, u32)> = ranges.into_iter().map(|(first, extra)| (first, first + extra)).collect();
        let text: Vec<String> =
            ranges.iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
        prop_assert_eq!(parse_cpu_list(&text.join(",")), Ok(ranges));
    }
}
