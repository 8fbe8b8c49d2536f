//! Owning the terminal, and giving it back on every way out: a guard whose
//! `Drop` restores it, a panic hook that restores it before the panic is
//! printed, and stderr redirected into the log while the UI owns the screen
//! (a stray write would otherwise tear it).

use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use parking_lot::Mutex;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{self, BufRead, BufReader, Stdout};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::ThreadId;

/// The terminal type the UI draws on.
pub type Tui = Terminal<CrosstermBackend<Stdout>>;

static ACTIVE: AtomicBool = AtomicBool::new(false);
static UI_THREAD: OnceLock<ThreadId> = OnceLock::new();
/// The real stderr while ours goes to the log.
static SAVED_STDERR: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// Restores the terminal when dropped.
pub struct TerminalGuard(());

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Raw mode, the alternate screen, mouse capture, hidden cursor; and a
/// panic hook that undoes them if the UI thread panics.
///
/// # Errors
///
/// If the terminal refuses any of it (what was done is undone).
pub fn enter() -> io::Result<(Tui, TerminalGuard)> {
    install_panic_hook();
    let guard = TerminalGuard(());
    ACTIVE.store(true, Ordering::SeqCst);
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture, Hide)?;
    let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    Ok((terminal, guard))
}

/// Puts the terminal back as it was and stderr where it was. Safe to call
/// more than once, and from the panic hook.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        // The alternate screen is cleared before it is left: tmux (3.3)
        // carries rows of an alternate screen that grew taller into the
        // main screen and its scrollback; blank ones leave no trace.
        let _ =
            execute!(io::stdout(), DisableMouseCapture, Clear(ClearType::All), LeaveAlternateScreen, Show);
        let _ = disable_raw_mode();
    }
    restore_stderr();
}

fn install_panic_hook() {
    let _ = UI_THREAD.set(std::thread::current().id());
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Only the UI thread's panic ends the UI; a worker's is the
            // workload's business (the excepthook reports it).
            if UI_THREAD.get() == Some(&std::thread::current().id()) {
                restore();
            }
            previous(info);
        }));
    });
}

/// Sends what is written to stderr (fd 2) to `line` one line at a time,
/// from a thread named `ts-stderr`, until [`restore`].
///
/// # Errors
///
/// If the pipe cannot be made; stderr is then left alone.
pub fn capture_stderr(line: impl Fn(String) + Send + 'static) -> io::Result<()> {
    let (read, write) = rustix::pipe::pipe()?;
    let saved = rustix::io::dup(io::stderr().as_fd())?;
    rustix::stdio::dup2_stderr(&write)?;
    drop(write);
    *SAVED_STDERR.lock() = Some(saved);
    std::thread::Builder::new().name("ts-stderr".into()).spawn(move || {
        crate::inspect::mark_inspector_thread();
        let reader = BufReader::new(std::fs::File::from(read));
        for text in reader.lines().map_while(Result::ok) {
            line(text);
        }
    })?;
    Ok(())
}

fn restore_stderr() {
    // try_lock: the panic hook must never wait.
    if let Some(mut saved) = SAVED_STDERR.try_lock()
        && let Some(fd) = saved.take()
    {
        let _ = rustix::stdio::dup2_stderr(&fd);
    }
}
