//! A child's exit status in words: `exited with status 3`, `killed by
//! SIGTERM`.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// How the child ended, in words.
pub fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    match status.signal() {
        Some(signal) => {
            let core = if status.core_dumped() { " (core dumped)" } else { "" };
            format!("killed by {}{core}", signal_name(signal))
        }
        None => "ended (status unknown)".to_owned(),
    }
}

/// The common signals by name; others by number.
fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_words() {
        assert_eq!(describe(ExitStatus::from_raw(3 << 8)), "exited with status 3");
        assert_eq!(describe(ExitStatus::from_raw(0)), "exited with status 0");
        assert_eq!(describe(ExitStatus::from_raw(libc::SIGTERM)), "killed by SIGTERM");
        assert_eq!(describe(ExitStatus::from_raw(libc::SIGSEGV | 0x80)), "killed by SIGSEGV (core dumped)");
        assert_eq!(describe(ExitStatus::from_raw(40)), "killed by signal 40");
    }
}
