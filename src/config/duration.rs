//! Durations in the config, read by the one parser in `gslb_model::duration`: `500ms`,
//! `10s`, `2m`, `1h`, `1h30m`, or plain seconds.

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

/// Parses a duration as `gslb_model::duration` does: `500ms`, `10s`, `2m`, `1h`, `2d`,
/// `1w`, combinations like `1h30m`, or plain seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    gslb_model::duration::parse_duration(text).ok()
}
