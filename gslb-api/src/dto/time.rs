//! Times as people enter them: a duration field (`interval_ms`, `lease_ms`, ...) takes
//! milliseconds or a duration text such as `30s` or `1h30m`; a point in time (`expires_at`)
//! takes unix milliseconds or an RFC 3339 timestamp (`2026-12-24T18:00:00Z`). Both print as
//! the number, as before, so what `get` shows reads back unchanged.
//!
//! The text forms are exactly what the OpenAPI document's patterns say (`DurationMs`,
//! `TimestampMs`): a text the pattern refuses is refused here too.

use std::borrow::Cow;

use serde::de::{self, Deserializer, Visitor};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// The duration texts taken: one or more parts of up to 9 digits and a unit.
pub const DURATION_PATTERN: &str = "^([0-9]{1,9}(ms|s|m|h|d))+$";

/// RFC 3339 date-times (the `format: date-time` of JSON Schema).
pub const TIMESTAMP_PATTERN: &str =
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$";

/// Milliseconds of a duration text (`1h30m` → 5400000), `None` unless it has the form
/// `DURATION_PATTERN` describes or when it overflows (the model's API-duration parser, which
/// the `text_fields` fuzz target drives).
pub use gslb_model::duration::parse_api_duration_ms as parse_duration_ms;

/// Unix milliseconds of an RFC 3339 timestamp; `None` when it is not one or lies before
/// 1970.
pub fn parse_timestamp_ms(text: &str) -> Option<u64> {
    if !text.contains(['T', 't']) || text.contains(' ') {
        return None;
    }
    let instant = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    u64::try_from(instant.timestamp_millis()).ok()
}

/// Reads a duration field: milliseconds or a duration text.
pub fn duration_ms<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    deserializer.deserialize_any(MillisOrText {
        expecting: "milliseconds or a duration such as 30s or 1h30m",
        parse: parse_duration_ms,
    })
}

/// Reads an optional point in time: unix milliseconds or an RFC 3339 timestamp.
pub fn timestamp_ms<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    deserializer.deserialize_any(OptionalMillisOrText(MillisOrText {
        expecting: "unix milliseconds or an RFC 3339 time such as 2026-12-24T18:00:00Z",
        parse: parse_timestamp_ms,
    }))
}

/// A number of milliseconds, or a text `parse` turns into one.
struct MillisOrText {
    expecting: &'static str,
    parse: fn(&str) -> Option<u64>,
}

impl Visitor<'_> for MillisOrText {
    type Value = u64;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str(self.expecting)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
        Ok(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
        u64::try_from(value).map_err(|_| E::invalid_value(de::Unexpected::Signed(value), &self))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<u64, E> {
        (self.parse)(text).ok_or_else(|| E::invalid_value(de::Unexpected::Str(text), &self))
    }
}

/// `MillisOrText`, or null for none.
struct OptionalMillisOrText(MillisOrText);

impl<'de> Visitor<'de> for OptionalMillisOrText {
    type Value = Option<u64>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        self.0.expecting(formatter)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<u64>, D::Error> {
        deserializer.deserialize_any(self.0).map(Some)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Option<u64>, E> {
        self.0.visit_u64(value).map(Some)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Option<u64>, E> {
        self.0.visit_i64(value).map(Some)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Option<u64>, E> {
        self.0.visit_str(text).map(Some)
    }
}

/// The OpenAPI schema of a duration field: milliseconds, or a duration text.
pub struct DurationMs;

impl PartialSchema for DurationMs {
    fn schema() -> RefOr<Schema> {
        millis_or_text(
            "Milliseconds.",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(DURATION_PATTERN))
                .description(Some(
                    "A duration: parts of a number and a unit (ms, s, m, h, d), e.g. 30s, 1h30m.",
                )),
            [serde_json::json!(10000), serde_json::json!("1m30s")],
        )
    }
}

impl ToSchema for DurationMs {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("DurationMs")
    }
}

/// The OpenAPI schema of a point in time: unix milliseconds, or an RFC 3339 timestamp.
pub struct TimestampMs;

impl PartialSchema for TimestampMs {
    fn schema() -> RefOr<Schema> {
        millis_or_text(
            "Unix milliseconds.",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .pattern(Some(TIMESTAMP_PATTERN))
                .description(Some("An RFC 3339 time, e.g. 2026-12-24T18:00:00Z.")),
            [
                serde_json::json!(1_798_135_200_000_u64),
                serde_json::json!("2026-12-24T18:00:00Z"),
            ],
        )
    }
}

impl ToSchema for TimestampMs {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TimestampMs")
    }
}

/// One of an unsigned integer of milliseconds (`millis` says of what) and `text`.
fn millis_or_text(
    millis: &str,
    text: ObjectBuilder,
    examples: [serde_json::Value; 2],
) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::UInt64)))
                .minimum(Some(0))
                .description(Some(millis)),
        )
        .item(text)
        .examples(examples)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Times {
        #[serde(deserialize_with = "duration_ms")]
        interval_ms: u64,
        #[serde(default, deserialize_with = "timestamp_ms")]
        expires_at: Option<u64>,
    }

    fn read(json: &str) -> Result<(u64, Option<u64>), String> {
        serde_json::from_str::<Times>(json)
            .map(|times| (times.interval_ms, times.expires_at))
            .map_err(|error| error.to_string())
    }

    /// Numbers stay milliseconds; texts are humane; what the patterns refuse is refused.
    #[test]
    fn durations_and_times_read_as_people_write_them() {
        assert_eq!(read(r#"{"interval_ms": 30000}"#), Ok((30_000, None)));
        assert_eq!(read(r#"{"interval_ms": "30s"}"#), Ok((30_000, None)));
        assert_eq!(read(r#"{"interval_ms": "1h30m"}"#), Ok((5_400_000, None)));
        assert_eq!(read(r#"{"interval_ms": "250ms"}"#), Ok((250, None)));
        assert_eq!(
            read(r#"{"interval_ms": 1, "expires_at": "2026-12-24T18:00:00Z"}"#),
            Ok((1, Some(1_798_135_200_000)))
        );
        assert_eq!(
            read(r#"{"interval_ms": 1, "expires_at": "2026-12-24T19:00:00+01:00"}"#),
            Ok((1, Some(1_798_135_200_000)))
        );
        assert_eq!(
            read(r#"{"interval_ms": 1, "expires_at": 1798135200000}"#),
            Ok((1, Some(1_798_135_200_000)))
        );
        assert_eq!(
            read(r#"{"interval_ms": 1, "expires_at": null}"#),
            Ok((1, None))
        );
        for bad in [
            r#""soon""#,
            r#""30""#,
            r#""1h 30m""#,
            r#""-5s""#,
            "-5",
            r#""1.5h""#,
        ] {
            let error = read(&format!(r#"{{"interval_ms": {bad}}}"#)).unwrap_err();
            assert!(error.contains("1h30m"), "{bad}: {error}");
        }
        for bad in [
            r#""tomorrow""#,
            r#""2026-12-24""#,
            r#""1960-01-01T00:00:00Z""#,
        ] {
            let error = read(&format!(r#"{{"interval_ms": 1, "expires_at": {bad}}}"#)).unwrap_err();
            assert!(error.contains("RFC 3339"), "{bad}: {error}");
        }
    }

    /// The parser and the documented pattern agree on which texts are durations.
    #[test]
    fn the_duration_pattern_is_the_parser() {
        let pattern = regex_lite::Regex::new(DURATION_PATTERN).unwrap();
        for text in [
            "1s",
            "30m",
            "1h30m",
            "5ms",
            "2d12h",
            "",
            "1",
            "h",
            "1x",
            "1H",
            "1234567890s",
            "1ms2",
        ] {
            assert_eq!(
                pattern.is_match(text),
                parse_duration_ms(text).is_some(),
                "{text:?}"
            );
        }
    }
}
