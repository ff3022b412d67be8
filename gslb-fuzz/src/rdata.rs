//! Target `rdata`: no RDATA text of any type makes `parse_rdata` (the one reader zone files
//! and the REST API share) panic, and data it accepts and validation passes prints in
//! presentation format that reads back to the same data. The first byte picks the type.

use gslb_model::model::{DomainName, FieldErrors, RecordType};
use gslb_model::zonefile::parse_rdata;

use crate::{selected, split_selected, Outcome};

/// The types the first byte selects from: every structured type but SOA (which has no
/// RDATA-only reader), and one unknown type in RFC 3597 generic form.
pub fn types() -> Vec<RecordType> {
    RecordType::ALL
        .into_iter()
        .filter(|rtype| *rtype != RecordType::SOA)
        .chain([RecordType::Unknown(65280)])
        .collect()
}

/// The input that asks for `rtype` with `text` (the seeds are written this way).
pub fn input(rtype: RecordType, text: &str) -> Vec<u8> {
    let selector = types()
        .iter()
        .position(|candidate| *candidate == rtype)
        .unwrap_or_else(|| panic!("{rtype} is not a type of this target"));
    selected(selector, text)
}

/// Reads `data` (selector byte, then text); `Accepted` when it reads and validates (and
/// round-tripped).
pub fn run(data: &[u8]) -> Outcome {
    let Some((selector, text)) = split_selected(data) else {
        return Outcome::Refused;
    };
    let types = types();
    let rtype = types[usize::from(selector) % types.len()];
    let origin = DomainName::parse_absolute("fuzz.example.").expect("a valid origin");
    let Ok(rdata) = parse_rdata(rtype, text, &origin) else {
        return Outcome::Refused;
    };
    let mut errors = FieldErrors::default();
    rdata.validate("rdata", &mut errors);
    if !errors.is_empty() {
        return Outcome::Refused;
    }
    let printed = rdata.to_string();
    let again = parse_rdata(rtype, &printed, &origin)
        .unwrap_or_else(|error| panic!("{rtype} {printed:?} does not read back: {error}"));
    assert_eq!(again, rdata, "{rtype} {printed:?} does not round-trip");
    Outcome::Accepted
}
