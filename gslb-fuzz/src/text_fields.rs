//! Target `text_fields`: no text makes the small parsers of user input panic (the first byte
//! picks one): durations (config, flags, TTLs, and the API's stricter `30s`/`1h30m`), CIDRs
//! (host bits zero; a bare address as a host), domain names (absolute and relative, Unicode
//! to A-labels), TSIG key names and UPDATE grants and secrets, NOTIFY targets and JSON check
//! conditions. What prints reads back the same.

use gslb_model::duration::{parse_api_duration_ms, parse_duration};
use gslb_model::ip::Cidr;
use gslb_model::model::check::JsonCondition;
use gslb_model::model::transfer::parse_notify_target;
use gslb_model::model::tsig_key::{decode_base64, parse_key_name, UpdateGrant};
use gslb_model::DomainName;

use crate::{selected, split_selected, Outcome};

/// The parsers, in selector order (the first byte modulo their count picks one).
pub const FIELDS: [&str; 10] = [
    "duration",
    "api_duration",
    "cidr",
    "host_or_network",
    "absolute_name",
    "relative_name",
    "key_name",
    "update_grant",
    "notify_target",
    "tsig_secret",
];

/// One more, past `FIELDS`: JSON conditions (selector `FIELDS.len()`).
pub const JSON_CONDITION: &str = "json_condition";

/// The input that asks for the parser `field` (a `FIELDS` entry or `JSON_CONDITION`) with
/// `text` (the seeds are written this way).
pub fn input(field: &str, text: &str) -> Vec<u8> {
    let selector = FIELDS
        .iter()
        .chain([&JSON_CONDITION])
        .position(|name| *name == field)
        .unwrap_or_else(|| panic!("{field} is not a field of this target"));
    selected(selector, text)
}

/// Parses `data` (selector byte, then text); `Accepted` when the picked parser accepts it
/// (and what it prints, where it prints, read back the same).
pub fn run(data: &[u8]) -> Outcome {
    let Some((selector, text)) = split_selected(data) else {
        return Outcome::Refused;
    };
    let accepted = match usize::from(selector) % (FIELDS.len() + 1) {
        0 => parse_duration(text).is_ok(),
        1 => parse_api_duration_ms(text).is_some(),
        2 => text.parse::<Cidr>().map(round_trips).is_ok(),
        3 => Cidr::parse_host_or_network(text).map(round_trips).is_ok(),
        4 => DomainName::parse_absolute(text)
            .map(name_round_trips)
            .is_ok(),
        5 => {
            let origin = DomainName::parse_absolute("fuzz.example.").expect("a valid origin");
            DomainName::parse_relative_to(text, &origin)
                .map(name_round_trips)
                .is_ok()
        }
        6 => parse_key_name(text).map(name_round_trips).is_ok(),
        7 => UpdateGrant::parse_spec(text).is_ok(),
        8 => parse_notify_target(text).is_ok(),
        9 => decode_base64(text).is_ok(),
        _ => JsonCondition::parse(text)
            .map(|condition| {
                let printed = condition.to_string();
                let again = JsonCondition::parse(&printed)
                    .unwrap_or_else(|error| panic!("{printed:?} does not read back: {error}"));
                assert_eq!(again, condition, "{printed:?} does not round-trip");
            })
            .is_ok(),
    };
    Outcome::from_accepted(accepted)
}

fn round_trips(cidr: Cidr) {
    let printed = cidr.to_string();
    let again: Cidr = printed
        .parse()
        .unwrap_or_else(|error| panic!("{printed:?} does not read back: {error}"));
    assert_eq!(again, cidr, "{printed:?} does not round-trip");
}

fn name_round_trips(name: DomainName) {
    let printed = name.to_string();
    let again = DomainName::parse_absolute(&printed)
        .unwrap_or_else(|error| panic!("{printed:?} does not read back: {error}"));
    assert_eq!(again, name, "{printed:?} does not round-trip");
}
