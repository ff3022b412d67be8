//! `export_zone`: a `Zone` → RFC 1035 master-file text that `parse_zone` reads back as the
//! same zone.
//!
//! The output starts with `$ORIGIN` and `$TTL`, then the SOA (spread over lines in
//! parentheses, each timer commented), then the apex NS set, then the other record sets in the zone's order. Names are
//! written relative to the apex (`@` for the apex itself) with escapes where a label needs
//! them; record data is printed by `RData::relative_to` (TXT strings and CAA values always
//! quoted, escaping `"`, `\` and bytes outside printable ASCII as `\DDD`). Every record carries its TTL and class, so nothing depends on
//! defaults; a record with the owner of the record before it starts with blank space instead.

use std::fmt::Write;

use crate::model::{RecordSet, RecordType, Zone};

/// Owners longer than this are not padded to line up the columns after them.
const MAX_OWNER_COLUMN: usize = 32;

/// Renders `zone` as a master file; `parse_zone` on the result gives back `zone` when it is
/// valid and normalized.
pub fn export_zone(zone: &Zone) -> String {
    let apex = &zone.apex;
    let owner_width = zone
        .rrsets
        .iter()
        .map(|set| set.name.relative_to(apex).len())
        .filter(|width| *width <= MAX_OWNER_COLUMN)
        .max()
        .unwrap_or(1)
        .max(1);
    let mut out = String::new();
    let soa = &zone.soa;
    // `write!` into a String cannot fail.
    let _ = writeln!(out, "$ORIGIN {apex}");
    let _ = writeln!(out, "$TTL {}", zone.default_ttl);
    let _ = writeln!(
        out,
        "{:<owner_width$} {} IN SOA {} {} (",
        "@",
        soa.ttl,
        soa.mname.relative_to(apex),
        soa.rname.relative_to(apex)
    );
    let indent = " ".repeat(owner_width + 1);
    for (value, comment) in [
        (soa.serial, "serial"),
        (soa.refresh, "refresh"),
        (soa.retry, "retry"),
        (soa.expire, "expire"),
        (soa.minimum, "minimum"),
    ] {
        let _ = writeln!(out, "{indent}    {value:<10} ; {comment}");
    }
    let _ = writeln!(out, "{indent})");

    // The apex NS set goes right after the SOA, as people expect to read it.
    let is_apex_ns = |set: &&RecordSet| set.name == *apex && set.rtype == RecordType::NS;
    let apex_ns = zone.rrsets.iter().filter(is_apex_ns);
    let others = zone.rrsets.iter().filter(|set| !is_apex_ns(set));
    let mut previous_owner = Some(apex);
    for set in apex_ns.chain(others) {
        for rdata in &set.rdata {
            let owner = if previous_owner == Some(&set.name) {
                String::new()
            } else {
                set.name.relative_to(apex)
            };
            previous_owner = Some(&set.name);
            let _ = writeln!(
                out,
                "{owner:<owner_width$} {} IN {} {}",
                set.ttl,
                set.rtype,
                rdata.relative_to(apex)
            );
        }
    }
    out
}
