//! One way to write a duration for a person, on every screen and in the
//! text dump: `80 us`, `250 ms`, `1.5 s`, `2m05s`, `1h02m`.

use std::time::Duration;

/// `d` for a person: microseconds below a millisecond, milliseconds below
/// a second, tenths of a second below a minute, then minutes and hours.
///
/// # Examples
///
/// ```
/// use threadscope::display::human;
/// use std::time::Duration;
/// assert_eq!(human(Duration::from_millis(1500)), "1.5 s");
/// assert_eq!(human(Duration::from_millis(250)), "250 ms");
/// ```
pub fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if d < Duration::from_millis(1) && !d.is_zero() {
        format!("{} us", d.as_micros())
    } else if secs < 1.0 {
        format!("{} ms", d.as_millis())
    } else if secs < 60.0 {
        format!("{secs:.1} s")
    } else if secs < 3600.0 {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    } else if secs < 100.0 * 3600.0 {
        format!("{}h{:02}m", d.as_secs() / 3600, d.as_secs() / 60 % 60)
    } else {
        // A server's threads live for weeks: "1000h00m" would not fit AGE.
        format!("{}d{:02}h", d.as_secs() / 86_400, d.as_secs() / 3600 % 24)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_reads_naturally() {
        let cases = [
            (Duration::ZERO, "0 ms"),
            (Duration::from_micros(80), "80 us"),
            (Duration::from_millis(250), "250 ms"),
            (Duration::from_millis(1500), "1.5 s"),
            (Duration::from_secs(2), "2.0 s"),
            (Duration::from_secs(125), "2m05s"),
            (Duration::from_secs(3720), "1h02m"),
            (Duration::from_secs(99 * 3600 + 59 * 60), "99h59m"),
            (Duration::from_secs(100 * 3600), "4d04h"),
            (Duration::from_secs(1000 * 3600), "41d16h"),
        ];
        for (d, text) in cases {
            assert_eq!(human(d), text, "{d:?}");
        }
    }
}
