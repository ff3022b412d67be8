//! Fuzz target: no master-file text makes `parse_zone` panic, and every zone it accepts
//! exports to text that parses back to the same zone.

#![no_main]

use gslb_model::zonefile::{export_zone, parse_zone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(zone) = parse_zone(text, "fuzz.zone", None, None) {
        let exported = export_zone(&zone);
        let again = parse_zone(&exported, "exported.zone", None, None)
            .unwrap_or_else(|error| panic!("export does not parse:\n{error}\n{exported}"));
        assert_eq!(again, zone, "export does not round-trip:\n{exported}");
    }
});
