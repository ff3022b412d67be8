//! Fuzz target: no RDATA text of any type makes `parse_rdata` (the one reader zone files
//! and the REST API share) panic, and data it accepts and validation passes prints in
//! presentation format that reads back to the same data.

#![no_main]

use gslb_model::model::{DomainName, FieldErrors, RecordType};
use gslb_model::zonefile::parse_rdata;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let types: Vec<RecordType> = RecordType::ALL
        .into_iter()
        .filter(|rtype| *rtype != RecordType::SOA)
        .chain([RecordType::Unknown(65280)])
        .collect();
    let rtype = types[usize::from(selector) % types.len()];
    let origin = DomainName::parse_absolute("fuzz.example.").expect("a valid origin");
    let Ok(rdata) = parse_rdata(rtype, text, &origin) else {
        return;
    };
    let mut errors = FieldErrors::default();
    rdata.validate("rdata", &mut errors);
    if !errors.is_empty() {
        return;
    }
    let printed = rdata.to_string();
    let again = parse_rdata(rtype, &printed, &origin)
        .unwrap_or_else(|error| panic!("{rtype} {printed:?} does not read back: {error}"));
    assert_eq!(again, rdata, "{rtype} {printed:?} does not round-trip");
});
