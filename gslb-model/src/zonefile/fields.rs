//! What the zone-file parser and the RDATA reader share: a problem with its line, the list
//! of supported types for messages, and TTL durations in whole seconds. A leaf, so that
//! `parser` (which calls `rdata`) and `rdata` do not import each other.

use crate::model::RecordType;

/// A problem: its 1-based line and its message.
pub(crate) type Problem = (usize, String);

/// The types a zone file may hold, for error messages.
pub(crate) fn supported_types() -> String {
    RecordType::ALL
        .iter()
        .map(|rtype| rtype.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a duration field was refused.
pub(crate) enum DurationError {
    /// Not a duration, or not whole seconds.
    Malformed,
    /// Above the field's maximum.
    TooLarge,
}

/// Whole seconds, at most `max`, in any form `duration::parse_duration` reads (seconds or
/// BIND's units, `1w2d3h4m5s`); sub-second values are malformed in a zone file.
pub(crate) fn parse_duration(text: &str, max: u64) -> Result<u64, DurationError> {
    match crate::duration::parse_duration(text) {
        Ok(duration) if duration.subsec_nanos() != 0 => Err(DurationError::Malformed),
        Ok(duration) if duration.as_secs() > max => Err(DurationError::TooLarge),
        Ok(duration) => Ok(duration.as_secs()),
        Err(crate::duration::DurationError::TooLarge(_)) => Err(DurationError::TooLarge),
        Err(_) => Err(DurationError::Malformed),
    }
}
