//! Black-box tests of the master-file import and export: the fixture zone, one case per
//! error with its exact `file:line`, the export round-trip over generated zones, and no panic
//! on arbitrary or mutated text.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use gslb_model::zonefile::{export_zone, parse_zone, parse_zone_with_warnings};
use gslb_model::{DomainName, FieldErrors, RData, RecordSet, RecordType, Soa, Zone, MAX_TTL};
use proptest::prelude::*;

const FIXTURE: &str = include_str!("data/zones/example.zone");
const FIXTURE_EXPORTED: &str = include_str!("data/zones/example.exported.zone");

fn name(text: &str) -> DomainName {
    DomainName::parse_absolute(text).unwrap()
}

fn fixture() -> Zone {
    parse_zone(FIXTURE, "zones/example.zone", None, None).unwrap_or_else(|e| panic!("{e}"))
}

/// The fixture, which uses every supported feature, parses into the zone it describes.
#[test]
fn the_fixture_parses() {
    let zone = fixture();
    assert_eq!(zone.apex, name("example.com."));
    assert_eq!(zone.default_ttl, 3600);
    assert_eq!(
        zone.soa,
        Soa {
            mname: name("ns1.example.com."),
            rname: name("hostmaster.example.com."),
            serial: 2024010101,
            refresh: 7200,
            retry: 900,
            expire: 1209600,
            minimum: 300,
            ttl: 3600,
        }
    );
    let rdata = |owner: &str, rtype: RecordType| -> (u32, Vec<RData>) {
        let set = zone
            .rrset(&name(owner), rtype)
            .unwrap_or_else(|| panic!("no {owner} {rtype}"));
        (set.ttl, set.rdata.clone())
    };
    assert_eq!(
        rdata("example.com.", RecordType::NS),
        (
            3600,
            vec![
                RData::NS(name("ns1.example.com.")),
                RData::NS(name("ns2.example.net."))
            ]
        )
    );
    assert_eq!(
        rdata("example.com.", RecordType::MX).1[1],
        RData::MX {
            preference: 20,
            exchange: name("mail.backup.example.net.")
        }
    );
    assert_eq!(
        rdata("example.com.", RecordType::CAA).1[1],
        RData::CAA {
            flags: 128,
            tag: "iodef".to_string(),
            value: b"mailto:security@example.com".to_vec()
        }
    );
    assert_eq!(
        rdata("ns1.example.com.", RecordType::AAAA),
        (300, vec![RData::AAAA("2001:db8::53".parse().unwrap())])
    );
    assert_eq!(rdata("mail.example.com.", RecordType::A).0, 88200);
    assert_eq!(
        rdata("www.example.com.", RecordType::CNAME),
        (3600, vec![RData::CNAME(name("web.example.com."))])
    );
    assert_eq!(rdata("web.example.com.", RecordType::A).1.len(), 2);
    assert_eq!(
        rdata("txt.example.com.", RecordType::TXT).1,
        vec![RData::TXT(vec![
            b"quoted \"inner\" \\ and ;semicolon(paren)".to_vec(),
            b"unquoted".to_vec(),
            b"A\n".to_vec(),
            Vec::new(),
        ])]
    );
    assert_eq!(
        rdata("long.example.com.", RecordType::TXT).1,
        vec![RData::TXT(vec![
            b"first string".to_vec(),
            b"second string".to_vec()
        ])]
    );
    assert_eq!(
        rdata("_sip._tcp.example.com.", RecordType::SRV).1,
        vec![RData::SRV {
            priority: 0,
            weight: 5,
            port: 5060,
            target: name("sip.example.com.")
        }]
    );
    assert!(zone
        .rrset(&name("esc\\.dot\\032space.example.com."), RecordType::A)
        .is_some());
    assert_eq!(
        rdata("1.in-addr.example.com.", RecordType::PTR).1,
        vec![RData::PTR(name("web.example.com."))]
    );
    assert!(zone
        .rrset(&name("ns.sub.example.com."), RecordType::A)
        .is_some());
    assert_eq!(zone.rrsets.len(), 17);
}

/// The fixture exports to the checked-in text, and that text parses back to the same zone.
#[test]
fn the_fixture_exports_and_round_trips() {
    let zone = fixture();
    let exported = export_zone(&zone);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/zones/example.exported.zone"
        );
        std::fs::write(path, &exported).unwrap();
        return;
    }
    assert_eq!(
        exported, FIXTURE_EXPORTED,
        "export changed; if on purpose, rerun with UPDATE_EXPECT=1"
    );
    let again = parse_zone(&exported, "exported.zone", None, None).unwrap();
    assert_eq!(again, zone);
}

/// Parses `text` with the origin `example.com.` given and compares every problem.
fn check_errors(text: &str, expected: &[&str]) {
    let origin = name("example.com.");
    let problems: Vec<String> = match parse_zone(text, "zones/t.zone", Some(&origin), None) {
        Ok(zone) => panic!("parsed, but should not have:\n{text}\n{zone:?}"),
        Err(error) => error.problems.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(problems, expected, "problems of:\n{text}");
}

/// The head most error cases start from: lines 1-3.
const HEAD: &str = "$TTL 300\n@ SOA ns1 hostmaster 1 2 3 4 5\n  NS ns1\n";

/// Each malformed record is reported with its own line; all of them in one run.
#[test]
fn syntax_errors_are_all_reported_with_their_lines() {
    let text = format!(
        "{HEAD}\
         a A 10.0.0.300\n\
         b AAAA 2001:db8::g\n\
         c CS A 192.0.2.1\n\
         d 60 HS A 192.0.2.1\n\
         e TYPE46 \\# 1 00\n\
         f WKS \"v=spf1\"\n\
         g MX 70000 mail\n\
         h MX 10\n\
         i A 192.0.2.1 192.0.2.2\n\
         j 2147483648 A 192.0.2.1\n\
         k 1x A 192.0.2.1\n\
         l SRV 1 2 x t\n\
         m CAA 256 issue \"x\"\n\
         n CAA 0 is-sue \"x\"\n\
         o TXT \"bad \\256 escape\"\n\
         p TXT \"{}\"\n\
         q A \\# 5 c0000201\n\
         r\n\
         s 60 IN\n\
         {}.x A 192.0.2.1\n\
         a..b A 192.0.2.1\n\
         t CNAME bad..name\n\
         u \"A\" 192.0.2.1\n",
        "x".repeat(256),
        "y".repeat(64),
    );
    let long = "y".repeat(64);
    let expected = [
        "zones/t.zone:4: bad IPv4 address \"10.0.0.300\"".to_string(),
        "zones/t.zone:5: bad IPv6 address \"2001:db8::g\"".to_string(),
        "zones/t.zone:6: class CS is not supported (only IN)".to_string(),
        "zones/t.zone:7: class HS is not supported (only IN)".to_string(),
        "zones/t.zone:8: bad TYPE46 record: TYPE46 in generic form is refused: DNSSEC signature and denial records cannot be served: gslb's answers change with health, so a static signature would make validating resolvers reject them".to_string(),
        "zones/t.zone:9: record type \"WKS\" is not supported (only A, AAAA, CNAME, MX, TXT, SRV, CAA, NS, PTR, MB, MG, MR, SSHFP, TLSA, SMIMEA, HINFO, SPF, NAPTR, DS, CDS, DNSKEY, CDNSKEY, DNAME, LOC, URI, RP, CERT, OPENPGPKEY, EUI48, EUI64, SVCB, HTTPS, SOA, or TYPEnnn in RFC 3597 generic form)".to_string(),
        "zones/t.zone:10: bad MX preference \"70000\" (must be 0-65535)".to_string(),
        "zones/t.zone:11: missing exchange in the MX record".to_string(),
        "zones/t.zone:12: unexpected \"192.0.2.2\" after the A data".to_string(),
        "zones/t.zone:13: TTL 2147483648 is larger than 2147483647 (RFC 2181 §8)".to_string(),
        "zones/t.zone:14: bad TTL \"1x\"".to_string(),
        "zones/t.zone:15: bad SRV port \"x\" (must be 0-65535)".to_string(),
        "zones/t.zone:16: bad CAA flags \"256\" (must be 0-255)".to_string(),
        "zones/t.zone:17: bad CAA tag \"is-sue\" (1-255 ASCII letters and digits)".to_string(),
        "zones/t.zone:18: bad escape in \"bad \\\\256 escape\"".to_string(),
        "zones/t.zone:19: TXT text is 256 octets, and a character-string holds at most 255 (RFC 1035 §3.3): split it into several quoted strings (\"first 255\" \"rest\"), which SPF and DKIM readers join".to_string(),
        "zones/t.zone:20: bad A record: RDATA length after \\# says 5 octets, the hex holds 4".to_string(),
        "zones/t.zone:21: missing record type".to_string(),
        "zones/t.zone:22: missing record type".to_string(),
        format!("zones/t.zone:23: bad owner name: label longer than 63 octets in \"{long}.x\""),
        "zones/t.zone:24: bad owner name: empty label in \"a..b\"".to_string(),
        "zones/t.zone:25: bad CNAME target: empty label in \"bad..name\"".to_string(),
        "zones/t.zone:26: expected a record type, got the quoted string \"A\"".to_string(),
    ];
    check_errors(
        &text,
        &expected.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}

/// RFC 3597: any type in `TYPEnnn \\# len hex` form imports as opaque data and exports in the
/// same form; a structured type in generic form is decoded into its usual data; types the
/// server would have to act on, and unknown types in a non-generic form, are refused.
#[test]
fn generic_records_import_and_export() {
    let origin = name("example.com.");
    let text = format!(
        "{HEAD}\
         g TYPE65280 \\# 3 0a0B0c\n\
         g TYPE65280 \\# 0\n\
         g type731 \\# ( 2\n 0102 )\n\
         a TYPE1 \\# 4 C0000201\n\
         m MX \\# 5 000a 016d 00\n\
         s SSHFP 4 2 ( 0a0b\n 0C0D )\n\
         _443._tcp TLSA 3 1 1 AbCd\n\
         t TYPE52 \\# 5 03010100ff\n\
         _smime SMIMEA 3 0 1 ab\n\
         h HINFO \"x86\" linux\n\
         @ SPF \"v=spf1\" \" -all\"\n"
    );
    let zone = parse_zone(&text, "t.zone", Some(&origin), None).unwrap();
    let set = |owner: &str, rtype: RecordType| {
        zone.rrset(&name(owner), rtype)
            .unwrap_or_else(|| panic!("no {rtype} at {owner}"))
            .rdata
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        set("g.example.com.", RecordType::Unknown(65280)),
        ["\\# 3 0A0B0C", "\\# 0"]
    );
    assert_eq!(
        set("g.example.com.", RecordType::Unknown(731)),
        ["\\# 2 0102"]
    );
    assert_eq!(set("a.example.com.", RecordType::A), ["192.0.2.1"]);
    assert_eq!(set("m.example.com.", RecordType::MX), ["10 m."]);
    assert_eq!(set("s.example.com.", RecordType::SSHFP), ["4 2 0A0B0C0D"]);
    assert_eq!(
        set("_443._tcp.example.com.", RecordType::TLSA),
        ["3 1 1 ABCD"]
    );
    assert_eq!(set("t.example.com.", RecordType::TLSA), ["3 1 1 00FF"]);
    assert_eq!(set("_smime.example.com.", RecordType::SMIMEA), ["3 0 1 AB"]);
    assert_eq!(
        set("h.example.com.", RecordType::HINFO),
        ["\"x86\" \"linux\""]
    );
    assert_eq!(
        set("example.com.", RecordType::SPF),
        ["\"v=spf1\" \" -all\""]
    );
    let exported = export_zone(&zone);
    assert!(exported.contains("TYPE65280 \\# 3 0A0B0C\n"), "{exported}");
    assert!(exported.contains("TYPE731 \\# 2 0102\n"), "{exported}");
    let again = parse_zone(&exported, "t.zone", None, None).unwrap();
    assert_eq!(again, zone, "round trip of:\n{exported}");
    check_errors(
        &format!(
            "{HEAD}x TYPE65280 0a\n\
             y TYPE6 \\# 0\n\
             z TYPE46 \\# 0\n\
             w TYPE41 \\# 0\n\
             v TYPE252 \\# 0\n\
             u TYPE65280 \\# 1 \"0a\"\n\
             s SSHFP 4 2 xyz\n\
             t TLSA 3 1 1\n"
        ),
        &[
            "zones/t.zone:4: TYPE65280 data must be in RFC 3597 generic form (\\# <length> <hex>); the structured types are A, AAAA, CNAME, MX, TXT, SRV, CAA, NS, PTR, MB, MG, MR, SSHFP, TLSA, SMIMEA, HINFO, SPF, NAPTR, DS, CDS, DNSKEY, CDNSKEY, DNAME, LOC, URI, RP, CERT, OPENPGPKEY, EUI48, EUI64, SVCB, HTTPS, SOA",
            "zones/t.zone:5: bad SOA record: SOA in generic form is refused: SOA is held by the zone's soa field; write it in its usual form",
            "zones/t.zone:6: bad TYPE46 record: TYPE46 in generic form is refused: DNSSEC signature and denial records cannot be served: gslb's answers change with health, so a static signature would make validating resolvers reject them",
            "zones/t.zone:7: bad TYPE41 record: TYPE41 in generic form is refused: OPT is a pseudo-record of a message (RFC 6891), not zone data",
            "zones/t.zone:8: bad TYPE252 record: TYPE252 in generic form is refused: query and meta types (RFC 6895 §3.1) are not zone data",
            "zones/t.zone:9: generic TYPE65280 data cannot hold the quoted string \"0a\"",
            "zones/t.zone:10: bad SSHFP fingerprint \"xyz\" (hexadecimal octets)",
            "zones/t.zone:11: missing certificate association data in the TLSA record",
        ],
    );
}

/// Quotes and parentheses left open are reported at the line that opened them.
/// The experimental mail types of RFC 1035 (§3.3.3, §3.3.6, §3.3.8), which PowerDNS's
/// regression suite and NSD serve: a domain name each, read relative to the origin.
#[test]
fn mailbox_types_import_and_export() {
    let origin = name("example.com.");
    let text = format!(
        "{HEAD}\
         phil.mb MB pc.mb\n\
         hostmaster.mb MG phil.mb.example.com.\n\
         \x20 MG sheila.mb\n\
         philip.mb mr phil.mb\n"
    );
    let zone = parse_zone(&text, "t.zone", Some(&origin), None).unwrap();
    let data = |owner: &str, rtype: RecordType| {
        let set = zone.rrset(&name(owner), rtype).unwrap();
        set.rdata
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        data("phil.mb.example.com.", RecordType::MB),
        ["pc.mb.example.com."]
    );
    assert_eq!(
        data("hostmaster.mb.example.com.", RecordType::MG),
        ["phil.mb.example.com.", "sheila.mb.example.com."]
    );
    assert_eq!(
        data("philip.mb.example.com.", RecordType::MR),
        ["phil.mb.example.com."]
    );
    let exported = export_zone(&zone);
    assert!(
        exported
            .lines()
            .any(|line| line.starts_with("phil.mb ") && line.ends_with(" MB pc.mb")),
        "{exported}"
    );
    assert_eq!(
        parse_zone(&exported, "t.zone", Some(&origin), None).unwrap(),
        zone
    );
}

/// SVCB and HTTPS records in every form a zone file may give their SvcParams export in
/// the canonical form (known keys by name, in key order; others `keyNNNNN="..."`), which
/// reads back as the same zone.
#[test]
fn service_bindings_export_canonically() {
    let text = format!(
        "{HEAD}\
         a SVCB 5 . port=\"8004\" dohpath=/dns-query{{?dns}} tls-supported-groups=29,23 ohttp alpn=h2 no-default-alpn\n\
         b HTTPS 1 . key9=\"\\000\\029\\000\\023\" key8 key7=\"/q{{?dns}}\" key1=\"\\002h2\"\n\
         c SVCB 6 . key00997=\"quoted\" key0998=foo key65534=\"a\\\"b\\\\c\\255 d\" key11=\"\"\n\
         d SVCB \\# 13 0001 00 0008 0000 0009 0002 001d\n"
    );
    let origin = name("example.com.");
    let zone =
        parse_zone(&text, "zones/t.zone", Some(&origin), None).unwrap_or_else(|e| panic!("{e}"));
    let exported = export_zone(&zone);
    for wanted in [
        "a 300 IN SVCB 5 . alpn=h2 no-default-alpn port=8004 dohpath=\"/dns-query{?dns}\" ohttp tls-supported-groups=29,23",
        "b 300 IN HTTPS 1 . alpn=h2 dohpath=\"/q{?dns}\" ohttp tls-supported-groups=29,23",
        "c 300 IN SVCB 6 . key11 key997=\"quoted\" key998=\"foo\" key65534=\"a\\\"b\\\\c\\255 d\"",
        "d 300 IN SVCB 1 . ohttp tls-supported-groups=29",
    ] {
        assert!(exported.contains(wanted), "{wanted}\nin\n{exported}");
    }
    let again = parse_zone(&exported, "zones/t.zone", Some(&origin), None).unwrap();
    assert_eq!(again, zone);
}

/// SvcParams a zone file gets wrong, each reported with its line as Knot and BIND report
/// them: the reserved key, duplicates (also by number), `mandatory` faults, a known key in
/// `keyNNNNN` form whose value is not its wire format, and keys out of order in RFC 3597
/// wire data; character-strings over 255 octets in HINFO and NAPTR.
#[test]
fn service_binding_and_string_errors_name_their_lines() {
    let text = format!(
        "{HEAD}\
         a SVCB 1 . key65535\n\
         b SVCB 1 . port=1 key3=\"\\000\\002\"\n\
         c SVCB 1 . mandatory=mandatory\n\
         d HTTPS 1 . mandatory=port,port port=1\n\
         e HTTPS 1 . key1=\"h2\"\n\
         f SVCB \\# 16 0001 00 0003 0002 01bb 0001 0003 026832\n\
         g SVCB 1 . tls-supported-groups=x25519\n\
         h HINFO \"{long}\" \"os\"\n\
         i NAPTR 1 1 \"S\" \"{long}\" \"\" .\n\
         ok SVCB 1 . key9=\"\\000\\029\" key8 key0997=x\n",
        long = "z".repeat(300),
    );
    let expected = [
        "zones/t.zone:4: bad SVCB parameter: SvcParamKey \"key65535\" is reserved (\"Invalid key\", RFC 9460 §14.3.2)",
        "zones/t.zone:5: bad SVCB parameters: SvcParamKey port is given twice or out of order (keys must be in strictly increasing order, RFC 9460 §2.2)",
        "zones/t.zone:6: bad SVCB parameters: mandatory must not list itself (RFC 9460 §8)",
        "zones/t.zone:7: bad HTTPS parameter: mandatory lists port twice (RFC 9460 §8)",
        "zones/t.zone:8: bad HTTPS parameter: key1 is alpn, and in keyNNNNN form its value is alpn's wire format (RFC 9460 §2.1): \"h2\" is not a valid one (it must be length-prefixed protocol ids of 1-255 octets); write alpn=... to give it in presentation format",
        "zones/t.zone:9: bad SVCB record: SVCB RDATA: SvcParamKey alpn is given twice or out of order (keys must be in strictly increasing order, RFC 9460 §2.2)",
        "zones/t.zone:10: bad SVCB parameter: tls-supported-groups: each group must be a number 0-65535, got \"x25519\"",
        "zones/t.zone:11: HINFO cpu is 300 octets, and a character-string holds at most 255 (RFC 1035 §3.3)",
        "zones/t.zone:12: NAPTR services is 300 octets, and a character-string holds at most 255 (RFC 1035 §3.3)",
    ];
    check_errors(&text, &expected);
}

#[test]
fn unterminated_quotes_and_parentheses() {
    check_errors(
        &format!("{HEAD}a TXT \"open\nb A 192.0.2.1\nc MX ( 10\n mail\n"),
        &[
            "zones/t.zone:4: unterminated quoted string \"open",
            "zones/t.zone:6: unterminated parenthesis (no closing \")\" before the end of the file)",
        ],
    );
    check_errors(
        &format!("{HEAD}a TXT x )\n"),
        &["zones/t.zone:4: closing parenthesis without an opening one"],
    );
}

/// `$INCLUDE`, `$GENERATE` and unknown directives are refused by name.
#[test]
fn unsupported_directives() {
    check_errors(
        &format!("{HEAD}$INCLUDE other.zone\n$GENERATE 1-10 host$ A 192.0.2.$\n$FOO x\n$TTL\n$ORIGIN a b\n"),
        &[
            "zones/t.zone:4: $INCLUDE is not supported; inline the file",
            "zones/t.zone:5: $GENERATE is not supported; write the records out",
            "zones/t.zone:6: unknown directive \"$FOO\"",
            "zones/t.zone:7: $TTL needs a value",
            "zones/t.zone:8: unexpected \"b\" after $ORIGIN",
        ],
    );
}

/// The SOA must be there, once, at the apex.
#[test]
fn soa_missing_twice_or_not_at_the_apex() {
    check_errors(
        "$TTL 300\n@ NS ns1\n",
        &["zones/t.zone:2: no SOA record at the apex example.com."],
    );
    check_errors(
        &format!("{HEAD}@ SOA ns1 hostmaster 2 2 3 4 5\nwww SOA ns1 hostmaster 1 2 3 4 5\n"),
        &[
            "zones/t.zone:4: second SOA record (the first is on line 2)",
            "zones/t.zone:5: SOA owner www.example.com. is not the apex example.com.; the SOA must be at the apex",
        ],
    );
    check_errors(
        "$TTL 300\n@ SOA ns1 hostmaster 1 2 3 4\n NS ns1\n",
        &["zones/t.zone:2: missing minimum in the SOA record"],
    );
}

/// Zone rules from `Zone::validate` point at the first record of the set at fault.
#[test]
fn zone_rules_point_at_the_records() {
    check_errors(
        &format!(
            "{HEAD}www A 192.0.2.1\nwww CNAME web\nout.example.org. A 192.0.2.2\n\
             x A 192.0.2.3\nx A 192.0.2.4\ny 60 A 192.0.2.4\ny 70 A 192.0.2.5\n"
        ),
        &[
            "zones/t.zone:5: www.example.com. has a CNAME and other data (A, CNAME)",
            "zones/t.zone:6: out.example.org. is outside zone example.com.",
            "zones/t.zone:10: TTL 70 of y.example.com. A differs from 60 on line 9; a record set has one TTL (RFC 2181 §5.2)",
        ],
    );
    check_errors(
        "$TTL 300\n@ SOA ns1 hostmaster 1 2 3 4 5\nwww A 192.0.2.1\n",
        &["zones/t.zone:2: the apex example.com. needs an NS record set"],
    );
}

/// Without an origin argument the file must start with `$ORIGIN`.
#[test]
fn origin_is_required() {
    let problems = parse_zone("@ SOA ns1 hostmaster 1 2 3 4 5\n", "t.zone", None, None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        problems,
        "t.zone:1: no origin: pass one or begin the file with $ORIGIN"
    );
    let problems = parse_zone("", "t.zone", None, None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        problems,
        "t.zone:1: no origin: pass one or begin the file with $ORIGIN"
    );
}

/// A label: mostly plain, sometimes any bytes (dots, quotes, spaces, non-ASCII).
fn label() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-z0-9_-]{1,8}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 1..6),
    ]
}

fn apex() -> impl Strategy<Value = DomainName> {
    prop::collection::vec(label(), 1..3).prop_filter_map("name too long", |labels| {
        DomainName::from_labels(labels).ok()
    })
}

/// A name below `apex` (0-2 more labels), or an unrelated one.
fn name_near(apex: DomainName) -> impl Strategy<Value = DomainName> {
    prop_oneof![
        4 => prop::collection::vec(label(), 0..3).prop_filter_map("name too long", move |labels| {
            DomainName::from_labels(labels.iter().map(Vec::as_slice).chain(apex.labels())).ok()
        }),
        1 => apex_any(),
    ]
}

fn apex_any() -> impl Strategy<Value = DomainName> {
    prop::collection::vec(label(), 0..3).prop_filter_map("name too long", |labels| {
        DomainName::from_labels(labels).ok()
    })
}

fn rdata(apex: DomainName) -> impl Strategy<Value = RData> {
    let near = move || name_near(apex.clone());
    prop_oneof![
        any::<u32>().prop_map(|bits| RData::A(Ipv4Addr::from(bits))),
        any::<u128>().prop_map(|bits| RData::AAAA(Ipv6Addr::from(bits))),
        near().prop_map(RData::CNAME),
        (any::<u16>(), near()).prop_map(|(preference, exchange)| RData::MX {
            preference,
            exchange
        }),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..4).prop_map(RData::TXT),
        (any::<u16>(), any::<u16>(), any::<u16>(), near()).prop_map(
            |(priority, weight, port, target)| RData::SRV {
                priority,
                weight,
                port,
                target
            }
        ),
        (
            any::<u8>(),
            "[a-zA-Z0-9]{1,12}",
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(flags, tag, value)| RData::CAA { flags, tag, value }),
        near().prop_map(RData::PTR),
        (
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 1..40)
        )
            .prop_map(|(algorithm, fingerprint_type, fingerprint)| RData::SSHFP {
                algorithm,
                fingerprint_type,
                fingerprint
            }),
        (
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 1..40)
        )
            .prop_map(|(usage, selector, matching_type, data)| RData::TLSA {
                usage,
                selector,
                matching_type,
                data
            }),
        (
            (256u16..65535).prop_filter("refused in generic form", |code| {
                gslb_model::model::record::generic_refusal(*code).is_none()
                    && RecordType::from_code(*code).is_none()
            }),
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(rtype, data)| RData::Unknown { rtype, data }),
    ]
}

fn ttl() -> impl Strategy<Value = u32> {
    prop_oneof![0..=MAX_TTL, Just(MAX_TTL), 0u32..100_000]
}

/// A valid, normalized zone: an apex NS set plus any records that keep the zone valid.
fn zone() -> impl Strategy<Value = Zone> {
    apex().prop_flat_map(|apex| {
        let record = (name_near(apex.clone()), rdata(apex.clone()), ttl());
        let soa = (
            name_near(apex.clone()),
            name_near(apex.clone()),
            any::<[u32; 4]>(),
            0..=MAX_TTL,
            ttl(),
        );
        (
            Just(apex.clone()),
            soa,
            ttl(),
            prop::collection::vec(name_near(apex.clone()), 1..3),
            prop::collection::vec(record, 0..12),
        )
            .prop_map(|(apex, soa, default_ttl, apex_ns, records)| {
                let (mname, rname, [serial, refresh, retry, expire], minimum, soa_ttl) = soa;
                build_zone(
                    apex,
                    Soa {
                        mname,
                        rname,
                        serial,
                        refresh,
                        retry,
                        expire,
                        minimum,
                        ttl: soa_ttl,
                    },
                    default_ttl,
                    apex_ns,
                    records,
                )
            })
            .prop_filter("zone must be valid", |zone| {
                let mut errors = FieldErrors::default();
                zone.validate("", &mut errors);
                errors.is_empty()
            })
    })
}

fn build_zone(
    apex: DomainName,
    soa: Soa,
    default_ttl: u32,
    apex_ns: Vec<DomainName>,
    records: Vec<(DomainName, RData, u32)>,
) -> Zone {
    let mut sets: BTreeMap<(DomainName, RecordType), RecordSet> = BTreeMap::new();
    let mut ns = RecordSet {
        name: apex.clone(),
        rtype: RecordType::NS,
        ttl: default_ttl,
        rdata: Vec::new(),
    };
    for name in apex_ns {
        let rdata = RData::NS(name);
        if !ns.rdata.contains(&rdata) {
            ns.rdata.push(rdata);
        }
    }
    sets.insert((apex.clone(), RecordType::NS), ns);
    for (owner, rdata, ttl) in records {
        let rtype = rdata.record_type();
        if !owner.is_subdomain_of(&apex) {
            continue;
        }
        if rtype == RecordType::CNAME
            && (owner == apex || sets.keys().any(|(name, _)| *name == owner))
        {
            continue;
        }
        if sets.contains_key(&(owner.clone(), RecordType::CNAME)) {
            continue;
        }
        let set = sets
            .entry((owner.clone(), rtype))
            .or_insert_with(|| RecordSet {
                name: owner,
                rtype,
                ttl,
                rdata: Vec::new(),
            });
        let cname_is_full = rtype == RecordType::CNAME && !set.rdata.is_empty();
        if !cname_is_full && !set.rdata.contains(&rdata) {
            set.rdata.push(rdata);
        }
    }
    let mut zone = Zone {
        serial_policy: Default::default(),
        transfer: Default::default(),
        apex,
        soa,
        default_ttl,
        rrsets: sets.into_values().collect(),
    };
    zone.normalize();
    zone
}

/// Byte-level edits of the fixture: insert, delete or replace one byte.
fn mutations() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec((any::<usize>(), 0u8..3, any::<u8>()), 1..8)
}

fn mutate(text: &str, edits: &[(usize, u8, u8)]) -> String {
    // Bytes that matter to the grammar are more likely to find bugs than random ones.
    const INTERESTING: &[u8] = b" \t\n\r;()\"\\$@.0123456789AZaz";
    let mut bytes = text.as_bytes().to_vec();
    for &(position, kind, value) in edits {
        let position = position % (bytes.len() + 1);
        let byte = if value & 1 == 0 {
            INTERESTING[usize::from(value >> 1) % INTERESTING.len()]
        } else {
            value >> 1
        };
        match kind {
            0 => bytes.insert(position, byte),
            1 if position < bytes.len() => {
                bytes.remove(position);
            }
            _ if position < bytes.len() => bytes[position] = byte,
            _ => bytes.push(byte),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    /// Every valid zone exports to text that parses back to the same zone.
    #[test]
    fn export_round_trips(zone in zone()) {
        let text = export_zone(&zone);
        if std::env::var_os("SHOW_ZONES").is_some() {
            eprintln!("{text}");
        }
        let parsed = parse_zone(&text, "exported.zone", None, None);
        prop_assert!(parsed.is_ok(), "{}\n{text}", parsed.unwrap_err());
        prop_assert_eq!(parsed.unwrap(), zone, "{}", text);
    }

    /// Arbitrary text never panics, with or without an origin.
    #[test]
    fn arbitrary_text_does_not_panic(text in "(?s).{0,300}") {
        let origin = name("example.com.");
        let _ = parse_zone(&text, "t.zone", None, None);
        let _ = parse_zone(&text, "t.zone", Some(&origin), Some(60));
    }

    /// Text made of the grammar's own pieces never panics, and what parses round-trips.
    #[test]
    fn token_soup_does_not_panic(tokens in prop::collection::vec(
        prop_oneof![
            Just("$ORIGIN"), Just("$TTL"), Just("@"), Just("IN"), Just("SOA"), Just("NS"),
            Just("A"), Just("TXT"), Just("MX"), Just("CAA"), Just("("), Just(")"), Just("\""),
            Just("\\"), Just("\\#"), Just(";"), Just("\n"), Just(" "), Just("\t"), Just("1h"),
            Just("10"), Just("192.0.2.1"), Just("a.example.com."), Just("www"), Just("."),
        ],
        0..60,
    )) {
        let text = tokens.concat();
        let origin = name("example.com.");
        if let Ok(zone) = parse_zone(&text, "t.zone", Some(&origin), None) {
            let exported = export_zone(&zone);
            prop_assert_eq!(parse_zone(&exported, "e.zone", None, None).ok(), Some(zone));
        }
    }

    /// Mutations of the fixture never panic, and whatever still parses round-trips.
    #[test]
    fn fixture_mutations_do_not_panic(edits in mutations()) {
        let text = mutate(FIXTURE, &edits);
        if let Ok(zone) = parse_zone(&text, "t.zone", None, None) {
            let exported = export_zone(&zone);
            prop_assert_eq!(parse_zone(&exported, "e.zone", None, None).ok(), Some(zone));
        }
    }
}

/// Identical records in one set are merged, as BIND, NSD and Knot do, each repeat named in a
/// warning with its line and the line it repeats; the zone holds the record once.
#[test]
fn identical_records_are_merged_with_a_warning() {
    let text = format!(
        "{HEAD}x A 192.0.2.3\nx 300 IN A 192.0.2.3\nx A 192.0.2.4\n\
         t TXT \"a\" \"b\"\nt TXT \"a\" \"b\"\nt TXT \"a b\"\n"
    );
    let origin = DomainName::parse_absolute("example.com.").unwrap();
    let (zone, warnings) =
        parse_zone_with_warnings(&text, "zones/t.zone", Some(&origin), None).unwrap();
    let warnings: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "zones/t.zone:5: x.example.com. A 192.0.2.3 repeats line 4; merged into one record",
            "zones/t.zone:8: t.example.com. TXT \"a\" \"b\" repeats line 7; merged into one record",
        ]
    );
    let set = |name: &str| {
        zone.rrsets
            .iter()
            .find(|set| set.name.to_string() == name)
            .unwrap()
            .rdata
            .len()
    };
    assert_eq!((set("x.example.com."), set("t.example.com.")), (2, 2));
}

/// Unicode owner names and names in data become A-labels (IDNA 2008 / UTS 46), the same
/// function as every other entry point; text with no A-label form is refused with its line.
#[test]
fn unicode_names_become_a_labels() {
    let text = format!("{HEAD}bücher CNAME straße.example.net.\nmx MX 10 Mail.Bücher\n");
    let origin = DomainName::parse_absolute("example.com.").unwrap();
    let zone = parse_zone(&text, "t.zone", Some(&origin), None).unwrap();
    let exported = export_zone(&zone);
    assert!(
        // IDNA 2008 keeps ß (IDNA 2003 mapped it to "ss").
        exported.contains("xn--bcher-kva") && exported.contains("xn--strae-oqa.example.net."),
        "{exported}"
    );
    assert!(exported.contains("10 mail.xn--bcher-kva\n"), "{exported}");
    check_errors(
        &format!("{HEAD}xn--a.bü A 192.0.2.1\n"),
        &["zones/t.zone:4: bad owner name: \"xn--a.bü\" is not a valid internationalized name (IDNA 2008 / UTS 46): no A-label form"],
    );
}

/// DS lives at a delegation (or, as the parent's copy some zone files carry, at the apex);
/// nothing may lie below a DNAME, and a name holds one DNAME.
#[test]
fn ds_and_dname_placement_rules() {
    let origin = DomainName::parse_absolute("example.com.").unwrap();
    let good = format!(
        "{HEAD}@ DS 1 13 1 AB\nchild NS ns.example.net.\nchild DS 2 13 1 CD\nold DNAME new\n"
    );
    parse_zone(&good, "t.zone", Some(&origin), None).unwrap_or_else(|e| panic!("{e}"));
    check_errors(
        &format!("{HEAD}www DS 1 13 1 AB\nold DNAME new\nx.old A 192.0.2.1\nold DNAME other\n"),
        &[
            "zones/t.zone:4: www.example.com. DS: a DS belongs at a delegation (beside an NS set below the apex) or the apex, held by the parent (RFC 4035 §2.4)",
            "zones/t.zone:5: old.example.com. DNAME: a DNAME set holds exactly one record, got 2",
            "zones/t.zone:6: x.old.example.com. lies below the DNAME at old.example.com.; a DNAME's subtree holds no data (RFC 6672 §2.3)",
        ],
    );
}
