//! Durations ("250ms", "1.5s") and sizes ("64KiB") as scenario files write them.

use std::time::Duration;

/// Parses `"500us"`, `"250ms"`, `"1.5s"`, `"2m"`. A bare number is an error:
/// the unit is what makes a file readable. Anything past Python's
/// `TIMEOUT_MAX` (about 292 years) is refused, so that no caller's
/// `Instant + duration` can overflow.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 =
        number.parse().map_err(|_| format!("bad duration `{text}` (write e.g. \"250ms\" or \"1.5s\")"))?;
    let scale = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "" => return Err(format!("duration `{text}` needs a unit: ns, us, ms, s or m")),
        other => return Err(format!("unknown duration unit `{other}` in `{text}` (use ns, us, ms, s or m)")),
    };
    let seconds = value * scale;
    if !(0.0..=crate::threading::TIMEOUT_MAX).contains(&seconds) {
        return Err(format!(
            "duration `{text}` is out of range (at most {} s)",
            crate::threading::TIMEOUT_MAX
        ));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("duration `{text}` is out of range"))
}

/// Parses `"64KiB"`, `"1MiB"`, `"32768"` (bytes).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: usize = number.parse().map_err(|_| format!("bad size `{text}` (write e.g. \"64KiB\")"))?;
    let scale = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" | "k" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        other => return Err(format!("unknown size unit `{other}` in `{text}` (use KiB or MiB)")),
    };
    value.checked_mul(scale).ok_or_else(|| format!("size `{text}` is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("10us"), Ok(Duration::from_micros(10)));
        assert!(parse_duration("10").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("10 parsecs").unwrap_err().contains("unknown duration unit"));
        assert!(parse_duration("fast").unwrap_err().contains("bad duration"));
        let huge = parse_duration("18000000000000000000s").unwrap_err();
        assert!(huge.contains("out of range"), "{huge}");
        assert!(parse_duration("9223372036s").is_ok(), "TIMEOUT_MAX itself is fine");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("32768"), Ok(32768));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("99999999999999999999MiB").is_err());
    }
}
