//! SOA serials that move: the per-zone policy (`SerialPolicy`) and the pure step
//! `next_serial` that `apply` takes once for every committed change to a zone's content, so
//! secondaries (AXFR/IXFR, NOTIFY) and resolvers see a new serial for every new content, and
//! every DNS node computes the same serial for the same state version.
//!
//! Serials compare with RFC 1982 arithmetic (`serial_is_newer`): a step always moves the serial
//! forward in that sense, wrapping through 2^32 as the RFC allows.

use serde::{Deserialize, Serialize};

/// How a zone's serial moves on each committed change (the names BIND's `serial-update-method`
/// and Knot's `serial-policy` use).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SerialPolicy {
    /// One more than the serial before (RFC 1982 addition, wrapping).
    #[default]
    Increment,
    /// The change's time in seconds since the Unix epoch, or one more than the serial before
    /// when that is not newer (two changes in one second, or a serial already ahead).
    Unixtime,
    /// `YYYYMMDDnn` of the change's UTC date: `YYYYMMDD00` on a new day, else one more than
    /// the serial before (so 100 changes a day fit before the serial runs ahead of the date).
    Dateserial,
}

impl SerialPolicy {
    /// The policy's name as written in the API and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            SerialPolicy::Increment => "increment",
            SerialPolicy::Unixtime => "unixtime",
            SerialPolicy::Dateserial => "dateserial",
        }
    }
}

/// Whether `candidate` is newer than `current` in RFC 1982 serial arithmetic (SERIAL_BITS 32).
/// Two serials exactly 2^31 apart are incomparable; neither is newer.
pub fn serial_is_newer(candidate: u32, current: u32) -> bool {
    let distance = candidate.wrapping_sub(current);
    distance != 0 && distance < 1 << 31
}

/// The serial after `current` for a change committed at `at_millis` (Unix milliseconds, the
/// leader's stamp) under `policy`. Always newer than `current` (RFC 1982).
pub fn next_serial(current: u32, policy: SerialPolicy, at_millis: u64) -> u32 {
    let incremented = current.wrapping_add(1);
    let candidate = match policy {
        SerialPolicy::Increment => return incremented,
        SerialPolicy::Unixtime => (at_millis / 1000).min(u64::from(u32::MAX)) as u32,
        SerialPolicy::Dateserial => date_serial_base(at_millis),
    };
    if serial_is_newer(candidate, current) {
        candidate
    } else {
        incremented
    }
}

/// The serial a zone written with an explicit `given` serial ends with: `given` when it moves
/// the serial forward (an operator's or a zone file's own numbering is honoured), else the
/// policy's next serial after `current`.
pub fn serial_after_explicit(
    current: u32,
    given: u32,
    policy: SerialPolicy,
    at_millis: u64,
) -> u32 {
    if serial_is_newer(given, current) {
        given
    } else {
        next_serial(current, policy, at_millis)
    }
}

/// `YYYYMMDD00` for the UTC day of `at_millis`.
fn date_serial_base(at_millis: u64) -> u32 {
    let (year, month, day) = civil_from_days((at_millis / 86_400_000) as i64);
    let value = (year as u64 * 10_000 + u64::from(month) * 100 + u64::from(day)) * 100;
    value.min(u64::from(u32::MAX)) as u32
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-07T10:00:00Z.
    const AT: u64 = 1_796_637_600_000;

    #[test]
    fn rfc1982_comparison_wraps_and_leaves_the_midpoint_undefined() {
        assert!(serial_is_newer(2, 1));
        assert!(!serial_is_newer(1, 2));
        assert!(!serial_is_newer(7, 7));
        assert!(serial_is_newer(0, u32::MAX), "wrapping forward is newer");
        assert!(serial_is_newer(5, u32::MAX - 5));
        assert!(!serial_is_newer(1 << 31, 0), "2^31 apart: incomparable");
        assert!(!serial_is_newer(0, 1 << 31));
    }

    #[test]
    fn dates_are_computed_in_utc() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(date_serial_base(AT), 2_026_120_700);
        assert_eq!(date_serial_base(AT - 10 * 3_600_000 - 1), 2_026_120_600);
    }

    #[test]
    fn each_policy_moves_forward() {
        assert_eq!(next_serial(41, SerialPolicy::Increment, AT), 42);
        assert_eq!(next_serial(u32::MAX, SerialPolicy::Increment, AT), 0);

        assert_eq!(next_serial(1, SerialPolicy::Unixtime, AT), 1_796_637_600);
        // A second change in the same second, or a serial already ahead: one more.
        assert_eq!(
            next_serial(1_796_637_600, SerialPolicy::Unixtime, AT),
            1_796_637_601
        );

        assert_eq!(next_serial(1, SerialPolicy::Dateserial, AT), 2_026_120_700);
        assert_eq!(
            next_serial(2_026_120_700, SerialPolicy::Dateserial, AT),
            2_026_120_701
        );
        assert_eq!(
            next_serial(2_026_120_699, SerialPolicy::Dateserial, AT),
            2_026_120_700
        );
        for policy in [
            SerialPolicy::Increment,
            SerialPolicy::Unixtime,
            SerialPolicy::Dateserial,
        ] {
            for current in [0, 1, 2_026_120_799, u32::MAX, 1 << 31, 3_000_000_000] {
                let next = next_serial(current, policy, AT);
                assert!(
                    serial_is_newer(next, current),
                    "{policy:?} {current} → {next}"
                );
            }
        }
    }

    #[test]
    fn an_explicit_serial_is_honoured_only_when_it_moves_forward() {
        assert_eq!(
            serial_after_explicit(10, 2_026_120_701, SerialPolicy::Increment, AT),
            2_026_120_701
        );
        assert_eq!(
            serial_after_explicit(10, 10, SerialPolicy::Increment, AT),
            11
        );
        assert_eq!(
            serial_after_explicit(10, 3, SerialPolicy::Increment, AT),
            11
        );
    }
}
