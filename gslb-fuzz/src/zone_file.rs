//! Target `zone_file`: no master-file text makes `parse_zone` panic, and every zone it
//! accepts exports to text that parses back to the same zone.

use gslb_model::zonefile::{export_zone, parse_zone};

use crate::Outcome;

/// Parses `data` as a zone file; `Accepted` when it parses (and round-tripped).
pub fn run(data: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(data) else {
        return Outcome::Refused;
    };
    let Ok(zone) = parse_zone(text, "fuzz.zone", None, None) else {
        return Outcome::Refused;
    };
    let exported = export_zone(&zone);
    let again = parse_zone(&exported, "exported.zone", None, None)
        .unwrap_or_else(|error| panic!("export does not parse:\n{error}\n{exported}"));
    assert_eq!(again, zone, "export does not round-trip:\n{exported}");
    Outcome::Accepted
}
