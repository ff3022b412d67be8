//! Durations in the config: `500ms`, `10s`, `2m`, `1h` (one number, one unit).

use std::time::Duration;

use super::problems::Problems;
use super::raw::Sp;

/// The duration in `entry`, or zero after reporting it as `field`.
pub(crate) fn duration(entry: &Sp<String>, field: &str, problems: &mut Problems<'_>) -> Duration {
    match parse_duration(entry.get_ref()) {
        Some(value) => value,
        None => {
            problems.push(
                entry.span(),
                field,
                format!(
                    "invalid duration {:?} (want a number with ms, s, m or h, e.g. \"10s\")",
                    entry.get_ref()
                ),
            );
            Duration::ZERO
        }
    }
}

/// Parses `500ms`, `10s`, `2m`, `1h` (one number, one unit).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let millis = match unit.trim() {
        "ms" => number,
        "s" => number.checked_mul(1000)?,
        "m" => number.checked_mul(60_000)?,
        "h" => number.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(millis))
}
