//! `/proc/<pid>/maps`: where each module and each stack is.

/// One line of `/proc/<pid>/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Readable.
    pub read: bool,
    /// Executable.
    pub execute: bool,
    /// Offset in the file.
    pub offset: u64,
    /// The file's inode (0 for anonymous memory).
    pub inode: u64,
    /// The path or pseudo-name (`[stack]`, `[vdso]`), empty for anonymous memory.
    pub path: String,
}

impl Mapping {
    /// True for a mapping of a file that was deleted (or replaced) after
    /// it was mapped: its contents on disk are not what runs.
    pub fn deleted(&self) -> bool {
        self.path.ends_with(" (deleted)")
    }

    /// True for a mapping of a file (not `[stack]`, `[vdso]` or anonymous).
    pub fn is_file(&self) -> bool {
        self.path.starts_with('/') && self.inode != 0
    }
}

/// Parses the text of `/proc/<pid>/maps`; lines that do not parse are skipped.
///
/// # Examples
///
/// ```
/// let maps = threadscope::stacks::parse_maps(
///     "55d0c0a00000-55d0c0a21000 r-xp 00002000 fd:01 1234 /usr/bin/my program\n\
///      7ffd1b2c0000-7ffd1b2e1000 rw-p 00000000 00:00 0 [stack]\n",
/// );
/// assert_eq!(maps.len(), 2);
/// assert!(maps[0].execute && maps[0].is_file());
/// assert_eq!((maps[0].offset, maps[0].inode), (0x2000, 1234));
/// assert_eq!(maps[0].path, "/usr/bin/my program");
/// assert_eq!(maps[1].path, "[stack]");
/// ```
pub fn parse_maps(text: &str) -> Vec<Mapping> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Mapping> {
    let mut rest = line;
    let mut field = || {
        let trimmed = rest.trim_start();
        let end = trimmed.find(' ').unwrap_or(trimmed.len());
        let (word, tail) = trimmed.split_at(end);
        rest = tail;
        word
    };
    let range = field();
    let perms = field();
    let offset = field();
    let _device = field();
    let inode = field();
    let path = rest.trim_start().to_owned();
    let (start, end) = range.split_once('-')?;
    let start = u64::from_str_radix(start, 16).ok()?;
    let end = u64::from_str_radix(end, 16).ok()?;
    let perms = perms.as_bytes();
    if end <= start || perms.len() < 3 {
        return None;
    }
    Some(Mapping {
        start,
        end,
        read: perms[0] == b'r',
        execute: perms[2] == b'x',
        offset: u64::from_str_radix(offset, 16).ok()?,
        inode: inode.parse().ok()?,
        path,
    })
}

/// The mapping that holds `address`, in `maps` sorted by start (as the
/// kernel lists them).
#[cfg_attr(not(feature = "stacks"), allow(dead_code))]
pub(crate) fn containing(maps: &[Mapping], address: u64) -> Option<&Mapping> {
    let i = maps.partition_point(|m| m.start <= address);
    maps[..i].last().filter(|m| address < m.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_and_odd_lines() {
        let maps = parse_maps(
            "7f0000000000-7f0000001000 ---p 00000000 00:00 0 \n\
             garbage\n\
             7f0000002000-7f0000001000 r--p 00000000 00:00 0\n\
             7f0000003000-7f0000004000 r-xp 00000000 fd:01 99 /tmp/x (deleted)\n",
        );
        assert_eq!(maps.len(), 2, "{maps:?}");
        assert!(!maps[0].read && maps[0].path.is_empty() && !maps[0].is_file());
        assert!(maps[1].deleted());
        assert_eq!(containing(&maps, 0x7f0000003fff).map(|m| m.inode), Some(99));
        assert_eq!(containing(&maps, 0x7f0000004000), None);
        assert_eq!(containing(&maps, 0x7f0000002000), None);
        assert_eq!(containing(&maps, 0x10), None);
    }
}
