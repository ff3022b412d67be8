//! Record types end to end inside the DNS crate: a zone file is imported with the model's
//! `parse_zone`, compiled into a plan, queried through `Responder::respond`, and each answer
//! is parsed back with hickory-proto (an independent implementation) and compared with the
//! presentation text it should have.

mod common;

use common::{context, query};
use gslb_dns::{compile_plan, Responder, ResponderOptions, Transport};
use gslb_model::zonefile::parse_zone;
use gslb_model::{DomainName, State};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData as HickoryData, RecordType as HickoryType};

/// Imports `text` as zone `example.org.` and returns a responder serving only it.
fn serve(text: &str) -> Responder {
    let apex = DomainName::parse_absolute("example.org.").unwrap();
    let zone = parse_zone(text, "t.zone", Some(&apex), None).unwrap_or_else(|e| panic!("{e}"));
    let mut state = State::default();
    state
        .zones
        .insert(zone.apex.clone(), std::sync::Arc::new(zone));
    Responder::new(compile_plan(&state), ResponderOptions::default())
}

/// Asks `responder` for `qname`/`qtype` over UDP and returns the rcode and the answers in
/// RFC 3597 form (`TYPEnnn \# len HEX`) for opaque data, hickory's own text otherwise.
fn ask(responder: &Responder, qname: &str, qtype: u16) -> (ResponseCode, Vec<String>) {
    let packet = query(qname, HickoryType::from(qtype)).to_vec().unwrap();
    let mut out = Vec::new();
    assert!(responder.respond(&packet, &context(Transport::Udp), &mut out));
    let reply = Message::from_vec(&out).expect("the reply parses");
    let answers = reply
        .answers
        .iter()
        .map(|record| {
            let text = match &record.data {
                HickoryData::Unknown { rdata, .. } => {
                    let data = &rdata.anything;
                    format!("\\# {} {}", data.len(), hex_upper(data))
                }
                other => other.to_string(),
            };
            let rtype = match record.record_type() {
                HickoryType::Unknown(code) => format!("TYPE{code}"),
                known => known.to_string(),
            };
            format!("{} {} {rtype} {text}", record.name, record.ttl)
        })
        .collect();
    (reply.metadata.response_code, answers)
}

fn hex_upper(data: &[u8]) -> String {
    data.iter().map(|byte| format!("{byte:02X}")).collect()
}

const HEAD: &str = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 864000 300\n  NS ns1\n";

/// RFC 3597 §3, §5: records of any type given in generic form are answered with their octets
/// as given, an empty RDATA included; a known type in generic form is answered as that type;
/// other types at the name get NODATA.
#[test]
fn generic_records_are_answered_as_given_rfc3597() {
    let responder = serve(&format!(
        "{HEAD}g TYPE65280 \\# 3 0a0B0c\n\
         e TYPE65280 \\# 0\n\
         g TYPE731 \\# 2 0102\n\
         a TYPE1 \\# 4 C0000201\n"
    ));
    let (rcode, answers) = ask(&responder, "g.example.org.", 65280);
    assert_eq!(rcode, ResponseCode::NoError);
    assert_eq!(answers, ["g.example.org. 300 TYPE65280 \\# 3 0A0B0C"]);
    assert_eq!(
        ask(&responder, "g.example.org.", 731).1,
        ["g.example.org. 300 TYPE731 \\# 2 0102"]
    );
    assert_eq!(
        ask(&responder, "a.example.org.", 1).1,
        ["a.example.org. 300 A 192.0.2.1"]
    );
    let (rcode, answers) = ask(&responder, "g.example.org.", 1);
    assert_eq!((rcode, answers.len()), (ResponseCode::NoError, 0), "NODATA");
    let (rcode, answers) = ask(&responder, "g.example.org.", 65281);
    assert_eq!((rcode, answers.len()), (ResponseCode::NoError, 0), "NODATA");

    // hickory-proto refuses empty RDATA outside UPDATE (InvalidEmptyRecord), though RFC 3597
    // allows it; read that answer by hand: one RR, type 65280, class IN, TTL 300, RDLENGTH 0.
    let packet = query("e.example.org.", HickoryType::from(65280))
        .to_vec()
        .unwrap();
    let mut reply = Vec::new();
    assert!(responder.respond(&packet, &context(Transport::Udp), &mut reply));
    assert_eq!(&reply[6..12], [0, 1, 0, 0, 0, 0], "ANCOUNT 1, nothing else");
    let tail = &reply[reply.len() - 10..];
    assert_eq!(tail, [0xff, 0x00, 0, 1, 0, 0, 1, 44, 0, 0], "{reply:02x?}");
}

/// SSHFP (RFC 4255 §3.2), TLSA (RFC 6698 §2.2), SMIMEA (RFC 8162), HINFO and SPF from their
/// presentation format, hex split by blanks and parentheses included, answered with the
/// same data.
#[test]
fn typed_records_are_answered_as_imported() {
    let responder = serve(&format!(
        "{HEAD}s SSHFP 4 2 0a0b0c0d\n\
         _443._tcp TLSA 3 1 1 ( AbCd\n ef01 )\n\
         _smime SMIMEA 3 0 1 ab\n\
         h HINFO \"x86\" linux\n\
         @ SPF \"v=spf1 -all\"\n"
    ));
    // hickory-proto prints hex in lower case (we, like dig, in upper case; RFC 4255 §3.2 and
    // RFC 6698 §2.2 leave the case free).
    assert_eq!(
        ask(&responder, "s.example.org.", 44).1,
        ["s.example.org. 300 SSHFP 4 2 0a0b0c0d"]
    );
    assert_eq!(
        ask(&responder, "_443._tcp.example.org.", 52).1,
        ["_443._tcp.example.org. 300 TLSA 3 1 1 abcdef01"]
    );
    assert_eq!(
        ask(&responder, "_smime.example.org.", 53).1,
        ["_smime.example.org. 300 SMIMEA 3 0 1 ab"]
    );
    assert_eq!(
        ask(&responder, "h.example.org.", 13).1,
        // hickory-proto prints HINFO's character-strings unquoted.
        ["h.example.org. 300 HINFO x86 linux"]
    );
    assert_eq!(
        ask(&responder, "example.org.", 99).1,
        // hickory-proto has no SPF type: one character-string, length 11, "v=spf1 -all".
        ["example.org. 300 TYPE99 \\# 12 0B763D73706631202D616C6C"]
    );
}

/// Asks over UDP and returns the rcode, the AA flag and each section as `name ttl TYPE data`.
fn sections(
    responder: &Responder,
    qname: &str,
    qtype: u16,
) -> (ResponseCode, bool, [Vec<String>; 3]) {
    let packet = query(qname, HickoryType::from(qtype)).to_vec().unwrap();
    let mut out = Vec::new();
    assert!(responder.respond(&packet, &context(Transport::Udp), &mut out));
    let reply = Message::from_vec(&out).expect("the reply parses");
    let show = |records: &[hickory_proto::rr::Record]| -> Vec<String> {
        records
            .iter()
            .map(|record| {
                format!(
                    "{} {} {} {}",
                    record.name,
                    record.ttl,
                    record.record_type(),
                    record.data
                )
            })
            .collect()
    };
    (
        reply.metadata.response_code,
        reply.metadata.authoritative,
        [
            show(&reply.answers),
            show(&reply.authorities),
            show(&reply.additionals),
        ],
    )
}

/// RFC 6672 §3.2: a name below a DNAME gets the DNAME, a CNAME synthesized with the DNAME's
/// TTL, and the target followed inside the zone; the DNAME's own name answers normally;
/// a substituted name over 255 octets is YXDOMAIN with the DNAME alone (§2.2).
#[test]
fn dname_synthesis_rfc6672() {
    let long = "a".repeat(60);
    let responder = serve(&format!(
        "{HEAD}old 600 DNAME new\n\
         new 60 A 192.0.2.7\n\
         x.new 60 A 192.0.2.8\n\
         away 600 DNAME example.net.\n\
         deep 600 DNAME {long}.{long}.{long}.example.net.\n"
    ));
    let (rcode, aa, [answers, _, _]) = sections(&responder, "x.old.example.org.", 1);
    assert_eq!((rcode, aa), (ResponseCode::NoError, true));
    assert_eq!(
        answers,
        [
            // hickory-proto shows DNAME data as base64 of its wire name: 3new7example3org0.
            "old.example.org. 600 DNAME A25ldwdleGFtcGxlA29yZwA=",
            "x.old.example.org. 600 CNAME x.new.example.org.",
            "x.new.example.org. 60 A 192.0.2.8",
        ]
    );
    let (rcode, _, [answers, authority, _]) = sections(&responder, "y.old.example.org.", 1);
    assert_eq!(
        rcode,
        ResponseCode::NXDomain,
        "the substituted name is missing"
    );
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(authority[0].contains(" SOA "), "{authority:?}");
    let (_, _, [answers, _, _]) = sections(&responder, "a.b.away.example.org.", 28);
    assert_eq!(
        answers,
        [
            "away.example.org. 600 DNAME B2V4YW1wbGUDbmV0AA==",
            "a.b.away.example.org. 600 CNAME a.b.example.net.",
        ]
    );
    let (rcode, _, [answers, _, _]) = sections(&responder, "old.example.org.", 39);
    assert_eq!(rcode, ResponseCode::NoError);
    assert_eq!(
        answers,
        ["old.example.org. 600 DNAME A25ldwdleGFtcGxlA29yZwA="]
    );
    let (rcode, _, [answers, _, _]) = sections(&responder, "old.example.org.", 1);
    assert_eq!((rcode, answers.len()), (ResponseCode::NoError, 0), "NODATA");
    let qname = format!("{long}.{long}.deep.example.org.");
    let (rcode, _, [answers, _, _]) = sections(&responder, &qname, 1);
    assert_eq!(rcode, ResponseCode::YXDomain);
    assert_eq!(answers.len(), 1, "the DNAME alone: {answers:?}");
}

/// RFC 4035 §3.1.4.1: DS at a delegation is the parent's data, answered with AA; other types
/// there are a referral; a delegation without DS answers DS with NODATA.
#[test]
fn ds_at_a_delegation_is_answered_by_the_parent_rfc4035() {
    let responder = serve(&format!(
        "{HEAD}child NS ns.child\n\
         child DS 60485 13 1 ( 2BB183AF5F22588179A53B0A98631FAD1A292118 )\n\
         ns.child A 192.0.2.53\n\
         other NS ns.elsewhere.net.\n"
    ));
    let (rcode, aa, [answers, authority, _]) = sections(&responder, "child.example.org.", 43);
    assert_eq!((rcode, aa), (ResponseCode::NoError, true));
    assert_eq!(
        answers,
        // hickory-proto without its DNSSEC feature shows DS data as base64 of the wire octets:
        // EC45 (60485) 0D (13) 01 (SHA-1) 2BB183AF...
        ["child.example.org. 300 DS 7EUNASuxg69fIliBeaU7CphjH60aKSEY"]
    );
    assert!(authority.is_empty(), "{authority:?}");
    let (_, aa, [answers, authority, additional]) =
        sections(&responder, "www.child.example.org.", 1);
    assert!(!aa && answers.is_empty());
    assert_eq!(
        authority,
        ["child.example.org. 300 NS ns.child.example.org."]
    );
    assert_eq!(additional, ["ns.child.example.org. 300 A 192.0.2.53"]);
    let (rcode, aa, [answers, authority, _]) = sections(&responder, "other.example.org.", 43);
    assert_eq!((rcode, aa, answers.len()), (ResponseCode::NoError, true, 0));
    assert!(authority[0].contains(" SOA "), "{authority:?}");
}

/// RFC 9460 §4: SVCB and HTTPS answers carry in additional what a client resolves next:
/// in ServiceMode the TargetName's A/AAAA (the owner's for TargetName "."), in AliasMode
/// the TargetName's set of the same type followed along the chain inside the zone, and its
/// A/AAAA; AliasMode to "." means no service and adds nothing. Each RRset goes in once, and
/// a chain that loops ends. SvcParams go out in wire form (RFC 9460 Appendix D).
#[test]
fn svcb_and_https_additional_processing_rfc9460() {
    let responder = serve(&format!(
        "{HEAD}@ HTTPS 1 svc alpn=h2,h3 port=8443 ipv4hint=192.0.2.9\n\
         svc A 192.0.2.9\n\
         svc AAAA 2001:db8::9\n\
         _s SVCB 0 svc\n\
         self HTTPS 1 . alpn=h2 ohttp\n\
         self A 192.0.2.10\n\
         none HTTPS 0 .\n\
         none A 192.0.2.11\n\
         alias1 HTTPS 0 alias2\n\
         alias2 HTTPS 0 pool\n\
         pool HTTPS 1 . alpn=h2\n\
         pool HTTPS 2 svc alpn=h3\n\
         pool HTTPS 3 svc alpn=h2\n\
         pool A 192.0.2.20\n\
         loop1 HTTPS 0 loop2\n\
         loop2 HTTPS 0 loop1\n\
         loop2 A 192.0.2.30\n\
         away HTTPS 0 svc.example.net.\n\
         *.w HTTPS 1 .\n\
         *.w AAAA 2001:db8::77\n\
         c CNAME self\n"
    ));
    let (_, _, [answers, _, additional]) = sections(&responder, "example.org.", 65);
    assert_eq!(answers.len(), 1);
    assert!(
        answers[0].contains("alpn=h2,h3") && answers[0].contains("port=8443"),
        "{answers:?}"
    );
    assert_eq!(
        additional,
        [
            "svc.example.org. 300 A 192.0.2.9",
            "svc.example.org. 300 AAAA 2001:db8::9"
        ]
    );
    // AliasMode in SVCB: the target's (absent) SVCB set, then its addresses.
    let (_, _, [_, _, additional]) = sections(&responder, "_s.example.org.", 64);
    assert_eq!(additional.len(), 2, "{additional:?}");
    // ServiceMode with TargetName ".": the owner's own addresses (RFC 9460 §2.5.2).
    let (_, _, [_, _, additional]) = sections(&responder, "self.example.org.", 65);
    assert_eq!(additional, ["self.example.org. 300 A 192.0.2.10"]);
    let (_, _, [_, _, additional]) = sections(&responder, "none.example.org.", 65);
    assert!(additional.is_empty(), "{additional:?}");
    // The chain alias1 → alias2 → pool, then pool's ServiceMode targets: itself and svc
    // (named twice, added once).
    let (_, _, [answers, _, additional]) = sections(&responder, "alias1.example.org.", 65);
    assert_eq!(
        answers,
        ["alias1.example.org. 300 HTTPS 0 alias2.example.org."]
    );
    assert_eq!(
        additional,
        [
            "alias2.example.org. 300 HTTPS 0 pool.example.org.",
            // hickory prints an alpn list with a trailing comma.
            "pool.example.org. 300 HTTPS 1 . alpn=h2,",
            "pool.example.org. 300 HTTPS 2 svc.example.org. alpn=h3,",
            "pool.example.org. 300 HTTPS 3 svc.example.org. alpn=h2,",
            "pool.example.org. 300 A 192.0.2.20",
            "svc.example.org. 300 A 192.0.2.9",
            "svc.example.org. 300 AAAA 2001:db8::9",
        ]
    );
    // A loop ends where it started: loop2's set and addresses once, loop1's set (the
    // answer) not again.
    let (_, _, [_, _, additional]) = sections(&responder, "loop1.example.org.", 65);
    assert_eq!(
        additional,
        [
            "loop2.example.org. 300 HTTPS 0 loop1.example.org.",
            "loop2.example.org. 300 A 192.0.2.30",
        ]
    );
    // Targets outside the zone add nothing.
    let (_, _, [_, _, additional]) = sections(&responder, "away.example.org.", 65);
    assert!(additional.is_empty(), "{additional:?}");
    // "." under a wildcard names the query name, and at the end of a CNAME the CNAME's
    // target: the owner written is the one the answer has.
    let (_, _, [answers, _, additional]) = sections(&responder, "x.w.example.org.", 65);
    assert_eq!(answers, ["x.w.example.org. 300 HTTPS 1 ."]);
    assert_eq!(additional, ["x.w.example.org. 300 AAAA 2001:db8::77"]);
    let (_, _, [answers, _, additional]) = sections(&responder, "c.example.org.", 65);
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!(additional, ["self.example.org. 300 A 192.0.2.10"]);
}

/// RFC 3403 §4.1 (and RFC 2915's "Additional Information Processing"): a NAPTR with flag
/// "S" brings the replacement's SRV set and the SRV targets' A/AAAA, flag "A" the
/// replacement's A/AAAA, any other flag nothing; each RRset once.
#[test]
fn naptr_additional_processing_by_flag_rfc3403() {
    let responder = serve(&format!(
        "{HEAD}svc A 192.0.2.9\n\
         svc AAAA 2001:db8::9\n\
         n NAPTR 100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.svc\n\
         n NAPTR 100 20 \"s\" \"SIP+D2T\" \"\" _sip._tcp.svc\n\
         n NAPTR 100 30 \"A\" \"SIP+D2X\" \"\" svc\n\
         u NAPTR 100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .\n\
         p NAPTR 100 10 \"\" \"\" \"\" n\n\
         _sip._udp.svc SRV 0 0 5060 svc\n\
         _sip._tcp.svc SRV 0 0 5060 svc\n"
    ));
    let (_, _, [answers, _, additional]) = sections(&responder, "n.example.org.", 35);
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert_eq!(
        additional,
        [
            "_sip._udp.svc.example.org. 300 SRV 0 0 5060 svc.example.org.",
            "svc.example.org. 300 A 192.0.2.9",
            "svc.example.org. 300 AAAA 2001:db8::9",
            "_sip._tcp.svc.example.org. 300 SRV 0 0 5060 svc.example.org.",
        ]
    );
    for name in ["u.example.org.", "p.example.org."] {
        let (_, _, [answers, _, additional]) = sections(&responder, name, 35);
        assert_eq!(answers.len(), 1, "{answers:?}");
        assert!(additional.is_empty(), "{name}: {additional:?}");
    }
}
