//! A process-wide monotonic epoch, so times fit in a `u64` atomic, and the
//! coarse hold clock that lets a lock's fast path stamp when a hold began
//! without reading a clock.
//!
//! Reading `Instant::now()` costs about 20 ns here, more than a whole
//! uncontended acquire and release (~12 ns). So the fast path copies a
//! number instead: [`coarse_now`], which a ticker thread advances every
//! [`HOLD_CLOCK_PERIOD`] once [`start_hold_clock`] has run (the inspector
//! and running scenarios start it). A hold's age is then true to within
//! that period. Without the ticker the stamp is 0 and a hold's age counts
//! from the first snapshot that sees it, as an "at least".

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// How often the hold clock ticks: a hold's age is known within this.
pub const HOLD_CLOCK_PERIOD: Duration = Duration::from_millis(10);

/// Nanoseconds since the epoch as of the last tick; 0 while no ticker runs.
static COARSE_NANOS: AtomicU64 = AtomicU64::new(0);
/// The ticker's TID, 0 until it runs.
static TICKER_TID: AtomicU32 = AtomicU32::new(0);
static TICKER: OnceLock<()> = OnceLock::new();

fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds from the epoch to `at` (0 if `at` is earlier).
pub(crate) fn nanos_at(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch()).as_nanos()).unwrap_or(u64::MAX)
}

/// The instant `nanos` after the epoch.
pub(crate) fn instant_at(nanos: u64) -> Instant {
    epoch() + Duration::from_nanos(nanos)
}

/// The hold clock: nanoseconds since the epoch as of its last tick (at most
/// [`HOLD_CLOCK_PERIOD`] ago), or 0 when it is not running. One relaxed
/// load of a line that changes 100 times a second.
#[inline]
pub(crate) fn coarse_now() -> u64 {
    COARSE_NANOS.load(Ordering::Relaxed)
}

/// Starts the hold clock, once per process (later calls do nothing), so
/// that every hold's age is true to within [`HOLD_CLOCK_PERIOD`], fast-path
/// holds included. Its thread, `ts-hold-clock`, is threadscope's own; the
/// inspector marks it so ([`hold_clock_tid`]).
pub fn start_hold_clock() {
    TICKER.get_or_init(|| {
        // The first tick happens before this returns, so a hold taken
        // right after is stamped.
        tick();
        let started = std::thread::Builder::new().name("ts-hold-clock".into()).spawn(|| {
            TICKER_TID.store(crate::sys::gettid(), Ordering::Relaxed);
            loop {
                std::thread::sleep(HOLD_CLOCK_PERIOD);
                tick();
            }
        });
        if started.is_err() {
            // No thread, no clock: holds fall back to "at least since seen".
            COARSE_NANOS.store(0, Ordering::Relaxed);
        }
    });
}

/// Advances the hold clock to now. Never 0 (which means "no clock") nor
/// 1 (bit 0 is the records' own flag): right after the epoch it reads 2 ns.
fn tick() {
    COARSE_NANOS.store(nanos_at(Instant::now()).max(2), Ordering::Relaxed);
}

/// The hold clock's TID, once its thread runs.
pub fn hold_clock_tid() -> Option<u32> {
    Some(TICKER_TID.load(Ordering::Relaxed)).filter(|&tid| tid != 0)
}
