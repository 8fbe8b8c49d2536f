//! What happens when a thread's target panics: Python's `threading.excepthook`.
//!
//! Panics in threads the library runs are captured (message and location)
//! instead of going through Rust's default "thread 'x' panicked" printer,
//! and handed to the excepthook, whose default prints
//! `Exception in thread NAME:` to stderr, as Python does.

use super::handle::Thread;
use crate::threading::registry::Outcome;
use parking_lot::RwLock;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::io::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Once};

/// What the excepthook receives: Python's `ExceptHookArgs`.
#[derive(Clone, Debug)]
pub struct ExceptHookArgs {
    /// The thread whose target panicked (None when it is not known).
    pub thread: Option<Thread>,
    /// The panic message (Python: the exception value).
    pub message: String,
    /// `file:line:column` of the panic (Python: the traceback).
    pub location: Option<String>,
}

/// A settable excepthook.
pub type ExceptHook = Arc<dyn Fn(&ExceptHookArgs) + Send + Sync>;

static HOOK: RwLock<Option<ExceptHook>> = RwLock::new(None);

/// Replaces the excepthook for every thread: Python's `threading.excepthook = f`.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{Thread, set_excepthook, reset_excepthook};
/// use std::sync::{Arc, Mutex};
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// set_excepthook(move |args| log.lock().unwrap().push(args.message.clone()));
/// let t = Thread::spawn(|| panic!("boom")).unwrap();
/// t.join().unwrap();
/// reset_excepthook();
/// assert_eq!(*seen.lock().unwrap(), ["boom"]);
/// ```
pub fn set_excepthook(hook: impl Fn(&ExceptHookArgs) + Send + Sync + 'static) {
    *HOOK.write() = Some(Arc::new(hook));
}

/// Restores the default hook: `threading.excepthook = threading.__excepthook__`.
pub fn reset_excepthook() {
    *HOOK.write() = None;
}

/// The hook in force now.
pub fn excepthook() -> ExceptHook {
    HOOK.read().clone().unwrap_or_else(|| Arc::new(default_excepthook))
}

/// The default hook (Python's `threading.__excepthook__`): writes
/// [`format_exception`] to stderr.
pub fn default_excepthook(args: &ExceptHookArgs) {
    let _ = std::io::stderr().lock().write_all(format_exception(args).as_bytes());
}

/// The text the default hook prints:
///
/// ```text
/// Exception in thread worker-1:
/// panicked at src/main.rs:10:5:
/// boom
/// ```
///
/// With no thread, the header names the caller's ident, as Python does.
pub fn format_exception(args: &ExceptHookArgs) -> String {
    let who = match &args.thread {
        Some(thread) => thread.name(),
        None => super::current::get_ident().to_string(),
    };
    let mut out = format!("Exception in thread {who}:\n");
    push_traceback(&mut out, &args.message, args.location.as_deref());
    out
}

/// Appends a panic's "traceback" (location line, then message) to `out`.
pub(crate) fn push_traceback(out: &mut String, message: &str, location: Option<&str>) {
    match location {
        Some(location) => {
            let _ = writeln!(out, "panicked at {location}:");
        }
        None => out.push_str("panicked:\n"),
    }
    out.push_str(message);
    out.push('\n');
}

/// Payload of [`exit`]: ends a thread silently, like Python's `SystemExit`.
#[derive(Debug)]
pub(crate) struct SystemExit;

/// Ends the calling thread silently: Python's `_thread.exit()` /
/// `raise SystemExit`. Its outcome is [`Outcome::Exited`] and the
/// excepthook is not called.
///
/// # Panics
///
/// Unwinds the calling thread. In a thread the library did not start, the
/// unwind is like any panic's (without the panic message).
pub fn exit() -> ! {
    panic::resume_unwind(Box::new(SystemExit))
}

thread_local! {
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<(String, Option<String>)>> = const { RefCell::new(None) };
}

/// A panic payload that carries where it was raised, for code that raises
/// on behalf of something else: the scenario interpreter's `panic` step is
/// raised at its line in the scenario file, not at the interpreter's.
#[derive(Debug, Clone)]
pub struct RaisedAt {
    /// The message (Python: the exception).
    pub message: String,
    /// Where it was raised, in the user's terms (`my-demo.toml:12:5`).
    pub location: String,
}

/// Panics (Python: raises) with `message`, reported as raised at
/// `location` by the excepthook, a pool's future and a thread's outcome.
pub fn raise_at(message: impl Into<String>, location: impl Into<String>) -> ! {
    panic::panic_any(RaisedAt { message: message.into(), location: location.into() })
}

/// Installs (once) a panic hook that, on threads running under
/// [`catch`], records the panic instead of printing it.
fn install_capture() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CAPTURING.try_with(Cell::get).unwrap_or(false) {
                let message = payload_message(info.payload());
                let location = match info.payload().downcast_ref::<RaisedAt>() {
                    Some(raised) => Some(raised.location.clone()),
                    None => info.location().map(|l| l.to_string()),
                };
                let _ = LAST_PANIC.try_with(|p| *p.borrow_mut() = Some((message, location)));
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(raised) = payload.downcast_ref::<RaisedAt>() {
        raised.message.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

/// How a captured call ended.
pub(crate) enum Caught<T> {
    Returned(T),
    Exited,
    Panicked { message: String, location: Option<String> },
}

/// Runs `f`, capturing a panic's message and location instead of printing it.
pub(crate) fn catch<T>(f: impl FnOnce() -> T) -> Caught<T> {
    install_capture();
    let was = CAPTURING.replace(true);
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CAPTURING.set(was);
    match result {
        Ok(value) => Caught::Returned(value),
        Err(payload) if payload.is::<SystemExit>() => Caught::Exited,
        Err(payload) => {
            let (message, location) = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| (payload_message(payload.as_ref()), None));
            Caught::Panicked { message, location }
        }
    }
}

/// Runs a thread's target and reports a panic to the excepthook, while the
/// thread still counts as alive (as in Python). Returns the outcome.
pub(crate) fn run_target(thread: &Thread, target: impl FnOnce()) -> Outcome {
    match catch(target) {
        Caught::Returned(()) => Outcome::Returned,
        Caught::Exited => Outcome::Exited,
        Caught::Panicked { message, location } => {
            let args = ExceptHookArgs { thread: Some(thread.clone()), message, location };
            call_hook(&args);
            Outcome::Panicked { message: args.message, location: args.location }
        }
    }
}

/// Calls the excepthook; if the hook itself panics, reports that the way
/// Python does: "Exception in threading.excepthook:" then the hook's error.
fn call_hook(args: &ExceptHookArgs) {
    let hook = excepthook();
    if let Caught::Panicked { message, location } = catch(|| hook(args)) {
        let mut out = String::from("Exception in threading.excepthook:\n");
        push_traceback(&mut out, &message, location.as_deref());
        let _ = std::io::stderr().lock().write_all(out.as_bytes());
    }
}

/// For `start_new_thread`: Python's unraisable-hook report, or silence for
/// an exit.
pub(crate) fn run_unraisable(target_name: &str, target: impl FnOnce()) {
    if let Caught::Panicked { message, location } = catch(target) {
        let mut out = format!("Exception ignored in thread started by: {target_name}\n");
        push_traceback(&mut out, &message, location.as_deref());
        let _ = std::io::stderr().lock().write_all(out.as_bytes());
    }
}
