//! What a thread's `/proc/<pid>/task/<tid>/syscall` says it is doing.

use serde::Serialize;

/// The system call a thread is in, as `/proc/.../syscall` reports it.
///
/// Threads sleeping in `futex` on the same [`futex_address`](Self::futex_address)
/// wait on the same lock (or condition, or event): that is how blocking
/// is seen from outside the library.
///
/// # Examples
///
/// ```
/// use threadscope::kernel::Syscall;
///
/// let line = format!("{} 0x55d0c0a0 0x80 0x2 0x0 0x0 0x0 0x7ffc10 0x7f3a21\n", libc::SYS_futex);
/// let call = Syscall::parse(line.as_bytes()).unwrap();
/// assert_eq!(call.futex_address(), Some(0x55d0c0a0));
/// assert_eq!(Syscall::parse(b"running\n"), Some(Syscall::Running));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Syscall {
    /// On a CPU: the kernel cannot say which call, if any.
    Running,
    /// Off the CPU but not in a system call (preempted or stopped in user
    /// space).
    NotInSyscall {
        /// User stack pointer.
        stack_pointer: u64,
        /// User program counter.
        program_counter: u64,
    },
    /// Inside system call `number` (this architecture's numbering, e.g.
    /// `libc::SYS_futex`), called with `args`.
    InSyscall {
        /// The system call number.
        number: i64,
        /// Its six argument registers (unused ones hold whatever was there).
        args: [u64; 6],
    },
}

impl Syscall {
    /// Parses the one line of a `syscall` file. `None` if it is not one of
    /// the kernel's three shapes.
    pub fn parse(line: &[u8]) -> Option<Syscall> {
        let line = std::str::from_utf8(line).ok()?.trim_end();
        if line == "running" {
            return Some(Syscall::Running);
        }
        let mut words = line.split(' ');
        let number: i64 = words.next()?.parse().ok()?;
        let mut hex = words.map(|word| u64::from_str_radix(word.strip_prefix("0x")?, 16).ok());
        let mut next = || hex.next().flatten();
        if number < 0 {
            let (stack_pointer, program_counter) = (next()?, next()?);
            return Some(Syscall::NotInSyscall { stack_pointer, program_counter });
        }
        let mut args = [0u64; 6];
        for arg in &mut args {
            *arg = next()?;
        }
        // The stack pointer and program counter follow; they must be there.
        next()?;
        next()?;
        Some(Syscall::InSyscall { number, args })
    }

    /// The system call number, when the thread is in one.
    pub fn number(&self) -> Option<i64> {
        match self {
            Syscall::InSyscall { number, .. } => Some(*number),
            _ => None,
        }
    }

    /// True when the thread is in `futex` (a lock, condition or event wait
    /// — or a wake, which is brief).
    pub fn is_futex(&self) -> bool {
        self.number() == Some(libc::SYS_futex)
    }

    /// The futex word's address (the first argument) when the thread is in
    /// `futex`. Threads of one process with the same address wait on the
    /// same thing.
    pub fn futex_address(&self) -> Option<u64> {
        match self {
            Syscall::InSyscall { number, args } if *number == libc::SYS_futex => Some(args[0]),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_futex_wait() {
        // A thread parked in parking_lot: futex(addr, FUTEX_WAIT_PRIVATE, 2, NULL).
        let line = format!(
            "{} 0x7f1c2e7fd9f0 0x80 0x2 0x0 0x0 0x7f1c2e7fd9f0 0x7f1c2e7fd8a8 0x7f1c2f09aa3d\n",
            libc::SYS_futex
        );
        let call = Syscall::parse(line.as_bytes()).unwrap();
        assert!(call.is_futex());
        assert_eq!(call.futex_address(), Some(0x7f1c2e7fd9f0));
        assert_eq!(call.number(), Some(libc::SYS_futex));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn futex_is_202_on_x86_64() {
        let line = b"202 0x55f0a3c1e2a8 0x189 0x0 0x0 0x0 0xffffffff 0x7ffd5e0e4d40 0x7f9b8e0a17c2\n";
        assert_eq!(Syscall::parse(line).unwrap().futex_address(), Some(0x55f0a3c1e2a8));
    }

    #[test]
    fn running() {
        assert_eq!(Syscall::parse(b"running\n"), Some(Syscall::Running));
        assert_eq!(Syscall::Running.futex_address(), None);
    }

    #[test]
    fn another_call_has_no_futex_address() {
        let line = format!("{} 0x0 0x0 0x7ffc 0x7ffd 0x0 0x0 0x7ffc10 0x7f3a21\n", libc::SYS_clock_nanosleep);
        let call = Syscall::parse(line.as_bytes()).unwrap();
        assert_eq!(call.number(), Some(libc::SYS_clock_nanosleep));
        assert_eq!(call.futex_address(), None);
        assert!(!call.is_futex());
    }

    #[test]
    fn not_in_a_syscall() {
        assert_eq!(
            Syscall::parse(b"-1 0x7ffd9a5c9948 0x7f024927b2ad\n"),
            Some(Syscall::NotInSyscall { stack_pointer: 0x7ffd9a5c9948, program_counter: 0x7f024927b2ad })
        );
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(Syscall::parse(b""), None);
        assert_eq!(Syscall::parse(b"202 0x1 0x2\n"), None, "too few arguments");
        assert_eq!(Syscall::parse(b"202 1 2 3 4 5 6 7 8\n"), None, "arguments without 0x");
        assert_eq!(Syscall::parse(b"sleeping\n"), None);
    }

    #[test]
    fn serialises_with_a_kind() {
        let json = serde_json::to_string(&Syscall::Running).unwrap();
        assert_eq!(json, r#"{"kind":"running"}"#);
    }
}
