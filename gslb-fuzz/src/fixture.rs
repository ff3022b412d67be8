//! What the DNS targets answer from: fixed `example.com.` zones written as master files (so
//! they follow the zone model without naming its fields), and the record sets and SOAs the
//! IXFR history needs.

use gslb_model::zonefile::parse_zone;
use gslb_model::{DomainName, RData, RecordSet, Soa, State, Zone};

/// The zone every DNS target answers for: every kind of name the answer path treats apart
/// (positive, CNAME chain and loop, wildcard, a delegation with glue), at serial 3.
pub const EXAMPLE_ZONE: &str = "\
$ORIGIN example.com.
$TTL 300
@        3600 SOA ns1 hostmaster 3 3600 600 86400 300
@        NS    ns1
ns1      A     192.0.2.1
www      A     192.0.2.2
www      A     192.0.2.3
alias    CNAME www
loop     CNAME loop
*.wild   A     192.0.2.4
sub      NS    ns.sub
ns.sub   A     192.0.2.5
";

/// `EXAMPLE_ZONE` parsed, with a TXT set of four 200-byte strings at `a.b.c` (an empty
/// non-terminal above it, an answer near the UDP limit) and `extra` master-file lines.
pub fn example_zone(extra: &str) -> Zone {
    let long = format!("\"{}\" ", "x".repeat(200)).repeat(4);
    let text = format!("{EXAMPLE_ZONE}a.b.c TXT {long}\n{extra}");
    parse_zone(&text, "fuzz-fixture.zone", None, None)
        .unwrap_or_else(|error| panic!("the fixture zone parses: {error}"))
}

/// A state holding `zone`.
pub(crate) fn state_with(zone: Zone) -> State {
    let mut state = State::default();
    state
        .zones
        .insert(zone.apex.clone(), std::sync::Arc::new(zone));
    state
}

/// An absolute name the fixture spells correctly.
pub(crate) fn name(text: &str) -> DomainName {
    DomainName::parse_absolute(text).expect("valid name")
}

/// A record set at `owner` holding `rdata` (all of one type), TTL 300.
pub(crate) fn set(owner: &str, rdata: Vec<RData>) -> RecordSet {
    RecordSet {
        name: name(owner),
        rtype: rdata[0].record_type(),
        ttl: 300,
        rdata,
    }
}

/// The SOA of `example.com.` at `serial`, as `EXAMPLE_ZONE` writes it.
pub(crate) fn soa(serial: u32) -> Soa {
    Soa {
        mname: name("ns1.example.com."),
        rname: name("hostmaster.example.com."),
        serial,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: 300,
        ttl: 3600,
    }
}

/// An `A` record data `192.0.2.<last>`.
pub(crate) fn a(last: u8) -> RData {
    RData::A(std::net::Ipv4Addr::new(192, 0, 2, last))
}
