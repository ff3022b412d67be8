//! Durations as people write them, one parser for the node config, `gslbctl` flags and zone
//! file TTLs: a bare number of seconds (`30`, `0.5`), or one or more parts of a number and a
//! unit (`500ms`, `30s`, `5m`, `1h`, `2d`, `1w`, `1h30m`, `1.5h`; units in either case, as
//! BIND writes `1W2D`).
//!
//! Each caller keeps its own limits and wording on top: zone files want whole seconds below a
//! maximum, the config and `gslbctl` name the field or flag in their messages.

use std::time::Duration;

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing but whitespace.
    #[error("duration is empty")]
    Empty,
    /// A part does not start with a number (`soon`, `-5s`, `h`).
    #[error("duration {text:?}: expected a number at {rest:?}")]
    Number {
        /// The whole text.
        text: String,
        /// Where the number was expected.
        rest: String,
    },
    /// A number without a unit after an earlier part (`1h30`; BIND refuses it too).
    #[error("duration {0:?}: every part needs a unit (ms, s, m, h, d or w)")]
    MissingUnit(String),
    /// A unit that is none of ms, s, m, h, d, w.
    #[error("duration {text:?}: unknown unit {unit:?}")]
    UnknownUnit {
        /// The whole text.
        text: String,
        /// The unit as written.
        unit: String,
    },
    /// More seconds than a `u64` holds.
    #[error("duration {0:?} is too large")]
    TooLarge(String),
}

/// Milliseconds of a duration as the REST API takes it (`30s`, `1h30m`, `500ms` → 500): one or
/// more parts of a whole number of up to 9 digits and a unit of ms, s, m, h or d, and nothing
/// else (no spaces, fractions, weeks or bare numbers: a bare number in the API is already
/// milliseconds). `None` otherwise or on overflow. Stricter than [`parse_duration`] because it
/// must accept exactly what the OpenAPI document's pattern for these fields says.
pub fn parse_api_duration_ms(text: &str) -> Option<u64> {
    let mut rest = text;
    let mut total: u64 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 || digits > 9 {
            return None;
        }
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit_ms, unit_len) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            match rest.chars().next()? {
                's' => (1_000, 1),
                'm' => (60_000, 1),
                'h' => (3_600_000, 1),
                'd' => (86_400_000, 1),
                _ => return None,
            }
        };
        rest = &rest[unit_len..];
        total = total.checked_add(number.checked_mul(unit_ms)?)?;
    }
    Some(total)
}

/// Parses a duration (see the module doc for the accepted forms).
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DurationError::Empty);
    }
    let too_large = || DurationError::TooLarge(trimmed.to_string());
    if let Some(nanos) = parse_number(trimmed, NANOS_PER_SECOND) {
        return nanos.and_then(to_duration).ok_or_else(too_large);
    }
    let mut total: u128 = 0;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if number.is_empty() || parse_number(number, 1).is_none() {
            return Err(DurationError::Number {
                text: trimmed.to_string(),
                rest: rest.to_string(),
            });
        }
        if unit.is_empty() {
            return Err(DurationError::MissingUnit(trimmed.to_string()));
        }
        let unit_nanos = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
            text: trimmed.to_string(),
            unit: unit.to_string(),
        })?;
        let nanos = parse_number(number, unit_nanos)
            .flatten()
            .ok_or_else(too_large)?;
        total = total.checked_add(nanos).ok_or_else(too_large)?;
        rest = after.trim_start();
    }
    to_duration(total).ok_or_else(too_large)
}

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// Nanoseconds in one `unit` (case-insensitive), `None` for an unknown unit.
fn unit_nanos(unit: &str) -> Option<u128> {
    let seconds = match unit.to_ascii_lowercase().as_str() {
        "ms" => return Some(NANOS_PER_SECOND / 1000),
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    Some(seconds * NANOS_PER_SECOND)
}

/// `number` (`12` or `1.25`) times `scale`: `None` when it is not such a number,
/// `Some(None)` when the product overflows. Fraction digits past the 18th are ignored.
fn parse_number(number: &str, scale: u128) -> Option<Option<u128>> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let whole_value = whole.bytes().try_fold(0u128, |value, digit| {
        value.checked_mul(10)?.checked_add(u128::from(digit - b'0'))
    });
    let fraction = &fraction[..fraction.len().min(18)];
    let fraction_value = fraction
        .bytes()
        .fold(0u128, |value, digit| value * 10 + u128::from(digit - b'0'));
    let fraction_nanos = fraction_value * scale / 10u128.pow(fraction.len() as u32);
    Some(
        whole_value
            .and_then(|value| value.checked_mul(scale))
            .and_then(|value| value.checked_add(fraction_nanos)),
    )
}

/// `nanos` as a `Duration`, `None` past `u64::MAX` seconds.
fn to_duration(nanos: u128) -> Option<Duration> {
    let seconds = u64::try_from(nanos / NANOS_PER_SECOND).ok()?;
    Some(Duration::new(seconds, (nanos % NANOS_PER_SECOND) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `text` and prints the result as millis or the error.
    fn check(text: &str, expected: &str) {
        let shown = match parse_duration(text) {
            Ok(duration) => format!("{}ms", duration.as_millis()),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(shown, expected, "parse_duration({text:?})");
    }

    #[test]
    fn every_form_any_caller_accepted_parses() {
        // The node config: one number and one unit.
        check("500ms", "500ms");
        check("10s", "10000ms");
        check("2m", "120000ms");
        check("1h", "3600000ms");
        check(" 10 s ", "10000ms");
        // gslbctl: plain and fractional seconds.
        check("5", "5000ms");
        check("0.5", "500ms");
        check("1.5m", "90000ms");
        // Zone files: BIND units in either case, combined.
        check("2d", "172800000ms");
        check("1w", "604800000ms");
        check("1h30m", "5400000ms");
        check("1W2D3H4M5S", "788645000ms");
        check("0", "0ms");
        check("007", "7000ms");
    }

    #[test]
    fn malformed_durations_name_the_problem() {
        check("", "error: duration is empty");
        check(
            "soon",
            "error: duration \"soon\": expected a number at \"soon\"",
        );
        check("s", "error: duration \"s\": expected a number at \"s\"");
        check(
            "-5s",
            "error: duration \"-5s\": expected a number at \"-5s\"",
        );
        check(
            "1.2.3s",
            "error: duration \"1.2.3s\": expected a number at \"1.2.3s\"",
        );
        check(
            "1h30",
            "error: duration \"1h30\": every part needs a unit (ms, s, m, h, d or w)",
        );
        check("3y", "error: duration \"3y\": unknown unit \"y\"");
        check(
            "99999999999999999999999999999999999999999w",
            "error: duration \"99999999999999999999999999999999999999999w\" is too large",
        );
        check(
            "18446744073709551616",
            "error: duration \"18446744073709551616\" is too large",
        );
    }
}
