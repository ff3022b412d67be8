//! Protocol conformance of `Responder::respond`, black-box at the packet level: queries are
//! built with hickory-proto (or by hand when they must be malformed), replies are parsed with
//! hickory-proto and compared as text digests. Test names cite the RFC section they check.

mod common;

use std::sync::OnceLock;

use common::{digest, exchange, query, rtype, sample_responder, with_edns};
use gslb_dns::{Responder, Transport};
use hickory_proto::op::Message;
use hickory_proto::rr::DNSClass;

fn responder() -> &'static Responder {
    static RESPONDER: OnceLock<Responder> = OnceLock::new();
    RESPONDER.get_or_init(sample_responder)
}

/// Sends `packet` over `transport` and compares the reply's digest (see `common::digest`)
/// with `expected`, given one line per row with surrounding blanks ignored.
fn check_packet(packet: &[u8], transport: Transport, expected: &str) {
    let reply = exchange(responder(), packet, transport).expect("a reply");
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let got = digest(&reply);
    assert_eq!(got, expected.join("\n"), "\n--- got ---\n{got}\n");
}

/// `check_packet` for a hickory-built query over UDP.
fn check(message: &Message, expected: &str) {
    check_packet(&message.to_vec().unwrap(), Transport::Udp, expected);
}

fn q(qname: &str, qtype: &str) -> Message {
    query(qname, rtype(qtype))
}

const SOA: &str = "ns example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 2026112401 3600 600 864000 300";

#[test]
fn positive_answer_is_authoritative_rd_copied_ra_clear_rfc1035_4_1_1() {
    check(
        &q("www.example.com.", "A"),
        "NoError aa rd id=beef qd=1
         an www.example.com. 300 IN A 192.0.2.1
         an www.example.com. 300 IN A 192.0.2.2",
    );
    let mut no_rd = q("www.example.com.", "AAAA");
    no_rd.metadata.recursion_desired = false;
    check(
        &no_rd,
        "NoError aa id=beef qd=1
         an www.example.com. 300 IN AAAA 2001:db8::1",
    );
}

#[test]
fn question_case_is_echoed_exactly_rfc4343_section_4_1() {
    let message = q("WwW.ExAmPlE.cOm.", "A");
    let reply = exchange(responder(), &message.to_vec().unwrap(), Transport::Udp).unwrap();
    let parsed = Message::from_vec(&reply).unwrap();
    assert_eq!(parsed.queries[0].name().to_string(), "WwW.ExAmPlE.cOm.");
    assert_eq!(parsed.answers[0].name.to_string(), "WwW.ExAmPlE.cOm.");
    assert_eq!(&reply[12..12 + 17], &message.to_vec().unwrap()[12..12 + 17]);
}

#[test]
fn other_rdata_types_render_rfc1035_3_3() {
    check(
        &q("ptr.example.com.", "PTR"),
        "NoError aa rd id=beef qd=1\nan ptr.example.com. 300 IN PTR www.example.com.",
    );
    check(
        &q("caa.example.com.", "CAA"),
        "NoError aa rd id=beef qd=1\nan caa.example.com. 300 IN CAA 0 issue \"letsencrypt.org\"",
    );
    check(
        &q("host.wild.example.com.", "TXT"),
        "NoError aa rd id=beef qd=1\nan host.wild.example.com. 120 IN TXT exists",
    );
}

#[test]
fn ns_mx_srv_targets_in_zone_go_to_additional_rfc1035_section_3_3_9() {
    check(
        &q("example.com.", "MX"),
        "NoError aa rd id=beef qd=1
         an example.com. 300 IN MX 10 mail.example.com.
         ar mail.example.com. 300 IN A 192.0.2.25",
    );
    check(
        &q("srv.example.com.", "SRV"),
        "NoError aa rd id=beef qd=1
         an srv.example.com. 300 IN SRV 1 2 443 www.example.com.
         ar www.example.com. 300 IN A 192.0.2.1
         ar www.example.com. 300 IN A 192.0.2.2
         ar www.example.com. 300 IN AAAA 2001:db8::1",
    );
    // Targets outside the zone or below a delegation add nothing.
    check(
        &q("mxout.example.com.", "MX"),
        "NoError aa rd id=beef qd=1
         an mxout.example.com. 300 IN MX 5 mx.example.net.
         an mxout.example.com. 300 IN MX 10 ns.sub.example.com.",
    );
}

#[test]
fn additional_records_that_do_not_fit_are_dropped_not_truncated_rfc2181_section_9() {
    let reply = exchange(
        responder(),
        &q("mxmany.example.com.", "MX").to_vec().unwrap(),
        Transport::Udp,
    )
    .unwrap();
    let parsed = Message::from_vec(&reply).unwrap();
    assert!(!parsed.metadata.truncation, "{}", digest(&reply));
    assert!(reply.len() <= 512, "{}", reply.len());
    // The whole A sets that fit stay (RFC 9460 §4.2: "include only the Additional records
    // that fit"), in order, each with all four of its records.
    assert_eq!(parsed.answers.len(), 10);
    let kept = parsed.additionals.len();
    assert!(
        kept > 0 && kept < 40 && kept.is_multiple_of(4),
        "{}",
        digest(&reply)
    );
    for (index, record) in parsed.additionals.iter().enumerate() {
        assert_eq!(
            record.name.to_string(),
            format!("mx{}.example.com.", index / 4),
            "{}",
            digest(&reply)
        );
    }
    let reply = exchange(
        responder(),
        &q("mxmany.example.com.", "MX").to_vec().unwrap(),
        Transport::Tcp,
    )
    .unwrap();
    let parsed = Message::from_vec(&reply).unwrap();
    assert_eq!((parsed.answers.len(), parsed.additionals.len()), (10, 40));
}

#[test]
fn apex_soa_and_ns_rfc1035_4_3_2() {
    check(
        &q("example.com.", "SOA"),
        "NoError aa rd id=beef qd=1
         an example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2026112401 3600 600 864000 300",
    );
    check(
        &q("example.com.", "NS"),
        "NoError aa rd id=beef qd=1
         an example.com. 3600 IN NS ns1.example.com.
         an example.com. 3600 IN NS ns2.example.com.
         ar ns1.example.com. 300 IN A 192.0.2.101
         ar ns2.example.com. 300 IN A 192.0.2.102",
    );
}

#[test]
fn nxdomain_carries_soa_with_negative_ttl_rfc2308_section_2_1_and_5() {
    check(
        &q("nothere.example.com.", "A"),
        &format!("NXDomain aa rd id=beef qd=1\n{SOA}"),
    );
    check(
        &q("deep.nothere.example.com.", "AAAA"),
        &format!("NXDomain aa rd id=beef qd=1\n{SOA}"),
    );
}

#[test]
fn nodata_for_missing_and_unknown_types_rfc2308_section_2_2() {
    check(
        &q("www.example.com.", "MX"),
        &format!("NoError aa rd id=beef qd=1\n{SOA}"),
    );
    check(
        &q("www.example.com.", "NULL"),
        &format!("NoError aa rd id=beef qd=1\n{SOA}"),
    );
    check(
        &query(
            "www.example.com.",
            hickory_proto::rr::RecordType::Unknown(65280),
        ),
        &format!("NoError aa rd id=beef qd=1\n{SOA}"),
    );
}

#[test]
fn empty_non_terminals_are_nodata_rfc4592_section_2_2_2() {
    check(
        &q("b.c.example.com.", "A"),
        &format!("NoError aa rd id=beef qd=1\n{SOA}"),
    );
    check(
        &q("c.example.com.", "TXT"),
        &format!("NoError aa rd id=beef qd=1\n{SOA}"),
    );
    check(
        &q("a.b.c.example.com.", "A"),
        "NoError aa rd id=beef qd=1\nan a.b.c.example.com. 300 IN A 192.0.2.3",
    );
}

#[test]
fn wildcard_synthesis_owner_is_query_name_rfc4592_section_3_3_1() {
    check(
        &q("x.wild.example.com.", "A"),
        "NoError aa rd id=beef qd=1\nan x.wild.example.com. 120 IN A 192.0.2.99",
    );
    check(
        &q("a.b.wild.example.com.", "A"),
        "NoError aa rd id=beef qd=1\nan a.b.wild.example.com. 120 IN A 192.0.2.99",
    );
    check(
        &q("*.wild.example.com.", "A"),
        "NoError aa rd id=beef qd=1\nan *.wild.example.com. 120 IN A 192.0.2.99",
    );
    // Wildcard NODATA: the wildcard matches but has no TXT.
    check(
        &q("x.wild.example.com.", "TXT"),
        &format!("NoError aa rd id=beef qd=1\n{SOA}"),
    );
}

#[test]
fn wildcard_does_not_match_existing_names_rfc4592_section_2_2_1() {
    check(
        &q("host.wild.example.com.", "A"),
        &format!("NoError aa rd id=beef qd=1\n{SOA}"),
    );
    // `wild.example.com.` itself is an empty non-terminal, not matched by `*.wild`.
    check(
        &q("wild.example.com.", "A"),
        &format!("NoError aa rd id=beef qd=1\n{SOA}"),
    );
    // A sibling of the wildcard's parent has no wildcard above it.
    check(
        &q("x.nowild.example.com.", "A"),
        &format!("NXDomain aa rd id=beef qd=1\n{SOA}"),
    );
}

#[test]
fn wildcard_cname_is_followed_rfc4592_section_4_4() {
    check(
        &q("anything.wc.example.com.", "A"),
        "NoError aa rd id=beef qd=1
         an anything.wc.example.com. 120 IN CNAME www.example.com.
         an www.example.com. 300 IN A 192.0.2.1
         an www.example.com. 300 IN A 192.0.2.2",
    );
}

#[test]
fn cname_chains_are_followed_in_zone_rfc1034_section_4_3_2() {
    check(
        &q("chain1.example.com.", "A"),
        "NoError aa rd id=beef qd=1
         an chain1.example.com. 60 IN CNAME chain2.example.com.
         an chain2.example.com. 60 IN CNAME www.example.com.
         an www.example.com. 300 IN A 192.0.2.1
         an www.example.com. 300 IN A 192.0.2.2",
    );
    check(
        &q("towild.example.com.", "A"),
        "NoError aa rd id=beef qd=1
         an towild.example.com. 60 IN CNAME x.wild.example.com.
         an x.wild.example.com. 120 IN A 192.0.2.99",
    );
    check(
        &q("alias.example.com.", "CNAME"),
        "NoError aa rd id=beef qd=1\nan alias.example.com. 60 IN CNAME www.example.com.",
    );
    check(
        &q("alias.example.com.", "MX"),
        &format!(
            "NoError aa rd id=beef qd=1\nan alias.example.com. 60 IN CNAME www.example.com.\n{SOA}"
        ),
    );
}

#[test]
fn cname_leaving_the_zone_stops_with_the_cname_rfc1034_section_4_3_2() {
    check(
        &q("out.example.com.", "A"),
        "NoError aa rd id=beef qd=1\nan out.example.com. 60 IN CNAME www.example.net.",
    );
}

#[test]
fn cname_to_a_missing_name_is_nxdomain_rfc6604_section_2() {
    check(
        &q("dangling.example.com.", "A"),
        &format!("NXDomain aa rd id=beef qd=1\nan dangling.example.com. 60 IN CNAME nothere.example.com.\n{SOA}"),
    );
}

/// A loop is answered with each link once, as NSD and Knot do (RFC 1034 §3.6.2 asks for loop
/// safety; repeating the links only makes the reply bigger).
#[test]
fn cname_loops_answer_each_link_once_rfc1034_section_3_6_2() {
    check(
        &q("loop1.example.com.", "A"),
        "NoError aa rd id=beef qd=1
         an loop1.example.com. 60 IN CNAME loop2.example.com.
         an loop2.example.com. 60 IN CNAME loop1.example.com.",
    );
    check(
        &q("self.example.com.", "A"),
        "NoError aa rd id=beef qd=1
         an self.example.com. 60 IN CNAME self.example.com.",
    );
}

/// A CNAME whose target lies at or below a delegation: the CNAME, then the child's referral
/// (NS in authority, glue in additional), as NSD and Knot answer (RFC 1034 §4.3.2 step 3b
/// reached through step 3a's restart).
#[test]
fn cname_into_a_delegation_gets_the_referral_rfc1034_section_4_3_2() {
    check(
        &q("tochild.example.com.", "A"),
        "NoError aa rd id=beef qd=1
         an tochild.example.com. 60 IN CNAME www.sub.example.com.
         ns sub.example.com. 86400 IN NS ns.sub.example.com.
         ns sub.example.com. 86400 IN NS ns.elsewhere.net.
         ar ns.sub.example.com. 86400 IN A 192.0.2.53",
    );
}

/// Two MX records naming the same exchange carry its address once in additional (RFC 2181
/// §5.5 forbids duplicate RRs in a section).
#[test]
fn additional_section_has_no_duplicates_rfc2181_section_5_5() {
    check(
        &q("mxtwice.example.com.", "MX"),
        "NoError aa rd id=beef qd=1
         an mxtwice.example.com. 300 IN MX 10 www.example.com.
         an mxtwice.example.com. 300 IN MX 20 www.example.com.
         ar www.example.com. 300 IN A 192.0.2.1
         ar www.example.com. 300 IN A 192.0.2.2
         ar www.example.com. 300 IN AAAA 2001:db8::1",
    );
}

#[test]
fn delegation_gives_referral_with_glue_rfc1034_section_4_3_2_step_3b() {
    let referral = "NoError rd id=beef qd=1
         ns sub.example.com. 86400 IN NS ns.sub.example.com.
         ns sub.example.com. 86400 IN NS ns.elsewhere.net.
         ar ns.sub.example.com. 86400 IN A 192.0.2.53";
    check(&q("www.sub.example.com.", "A"), referral);
    check(&q("sub.example.com.", "A"), referral);
    check(&q("sub.example.com.", "NS"), referral);
    check(&q("ns.sub.example.com.", "A"), referral);
    check(&q("x.y.sub.example.com.", "DS"), referral);
}

#[test]
fn ds_at_the_cut_is_answered_by_the_parent_rfc4035_section_3_1_4_1() {
    check(
        &q("sub.example.com.", "DS"),
        &format!("NoError aa rd id=beef qd=1\n{SOA}"),
    );
}

#[test]
fn ds_at_a_child_apex_is_answered_from_the_parent_zone_rfc4035_section_3_1_4_1() {
    // example.com. is served here too and delegates child.example.com.: the parent side
    // answers, NODATA under the parent's SOA. Without a parent, the zone answers itself.
    check(
        &q("child.example.com.", "DS"),
        &format!("NoError aa rd id=beef qd=1\n{SOA}"),
    );
    check(
        &q("example.com.", "DS"),
        &format!("NoError aa rd id=beef qd=1\n{SOA}"),
    );
}

#[test]
fn longest_matching_zone_answers_rfc1034_section_4_3_2_step_2() {
    check(
        &q("www.child.example.com.", "A"),
        "NoError aa rd id=beef qd=1\nan www.child.example.com. 300 IN A 198.51.100.1",
    );
    check(
        &q("nothere.child.example.com.", "A"),
        "NXDomain aa rd id=beef qd=1
         ns child.example.com. 300 IN SOA ns1.child.example.com. hostmaster.child.example.com. 2026112401 3600 600 864000 300",
    );
}

#[test]
fn names_outside_our_zones_are_refused_rfc1034_section_4_3_2_step_2() {
    check(&q("www.example.net.", "A"), "Refused rd id=beef qd=1");
    check(&q("com.", "A"), "Refused rd id=beef qd=1");
    check(&q(".", "NS"), "Refused rd id=beef qd=1");
}

#[test]
fn zone_transfers_are_refused_rfc5936_section_6() {
    check(&q("example.com.", "AXFR"), "Refused rd id=beef qd=1");
    check(
        &query("example.com.", hickory_proto::rr::RecordType::IXFR),
        "Refused rd id=beef qd=1",
    );
}

#[test]
fn classes_other_than_in_ch_any_are_refused_rfc6895_section_3_2() {
    for class in [DNSClass::HS, DNSClass::NONE] {
        let mut message = q("www.example.com.", "A");
        message.queries[0].set_query_class(class);
        check(&message, "Refused rd id=beef qd=1");
    }
    let mut any = q("www.example.com.", "A");
    any.queries[0].set_query_class(DNSClass::ANY);
    check(
        &any,
        "NoError aa rd id=beef qd=1
         an www.example.com. 300 IN A 192.0.2.1
         an www.example.com. 300 IN A 192.0.2.2",
    );
}

#[test]
fn any_gets_one_rrset_like_knot_rfc8482_section_4_2() {
    check(&q("www.example.com.", "ANY"), "NoError aa rd id=beef qd=1\nan www.example.com. 300 IN A 192.0.2.1\nan www.example.com. 300 IN A 192.0.2.2");
    check(
        &q("example.com.", "ANY"),
        "NoError aa rd id=beef qd=1\nan example.com. 300 IN A 192.0.2.10",
    );
    check(
        &q("c.example.com.", "ANY"),
        &format!("NoError aa rd id=beef qd=1\n{SOA}"),
    );
}

#[test]
fn chaos_identity_is_answered_or_refused_rfc4892_section_2() {
    let chaos = |qname: &str, qtype: &str| {
        let mut message = q(qname, qtype);
        message.queries[0].set_query_class(DNSClass::CH);
        message
    };
    check(
        &chaos("version.bind.", "TXT"),
        "NoError aa rd id=beef qd=1\nan version.bind. 0 CH TXT gslb test",
    );
    check(
        &chaos("VERSION.server.", "TXT"),
        "NoError aa rd id=beef qd=1\nan VERSION.server. 0 CH TXT gslb test",
    );
    check(
        &chaos("id.server.", "TXT"),
        "NoError aa rd id=beef qd=1\nan id.server. 0 CH TXT dns-1",
    );
    check(&chaos("hostname.bind.", "TXT"), "Refused rd id=beef qd=1");
    check(&chaos("version.bind.", "A"), "Refused rd id=beef qd=1");
    check(&chaos("www.example.com.", "TXT"), "Refused rd id=beef qd=1");
}

#[test]
fn opcodes_other_than_query_get_notimp_rfc1035_section_4_1_1() {
    for opcode in [1u8, 2, 4, 5, 6, 15] {
        let mut packet = q("example.com.", "SOA").to_vec().unwrap();
        packet[2] = (packet[2] & 0x87) | (opcode << 3);
        let reply = exchange(responder(), &packet, Transport::Udp).unwrap();
        let parsed = Message::from_vec(&reply).unwrap();
        assert_eq!(
            u16::from(parsed.metadata.response_code),
            4,
            "opcode {opcode}"
        );
        assert_eq!(u8::from(parsed.metadata.op_code), opcode);
        assert_eq!(parsed.metadata.id, 0xBEEF);
        assert!(!parsed.metadata.authoritative);
        assert!(parsed.edns.is_none());
    }
    let mut with_opt = with_edns(q("example.com.", "SOA"), 4096, true, None)
        .to_vec()
        .unwrap();
    with_opt[2] = (with_opt[2] & 0x87) | (4 << 3);
    check_packet(
        &with_opt,
        Transport::Udp,
        "NotImp rd id=beef qd=1\nopt payload=1232 version=0 do=true",
    );
}

#[test]
fn responses_are_never_answered_rfc1035_section_4_1_1() {
    let mut packet = q("www.example.com.", "A").to_vec().unwrap();
    packet[2] |= 0x80;
    assert_eq!(exchange(responder(), &packet, Transport::Udp), None);
    assert_eq!(exchange(responder(), &packet[..11], Transport::Udp), None);
    assert_eq!(exchange(responder(), &[], Transport::Tcp), None);
}

#[test]
fn malformed_queries_get_formerr_rfc1035_section_4_1_1() {
    let good = q("www.example.com.", "A").to_vec().unwrap();
    let mut no_question = good[..12].to_vec();
    no_question[5] = 0;
    check_packet(&no_question, Transport::Udp, "FormErr rd id=beef qd=0");
    let mut two_questions = good.clone();
    two_questions[5] = 2;
    two_questions.extend_from_slice(&good[12..]);
    check_packet(&two_questions, Transport::Udp, "FormErr rd id=beef qd=0");
    check_packet(
        &good[..good.len() - 2],
        Transport::Udp,
        "FormErr rd id=beef qd=0",
    );
    let mut trailing = good.clone();
    trailing.push(0);
    check_packet(&trailing, Transport::Udp, "FormErr rd id=beef qd=1");
    let mut label_too_long = good[..12].to_vec();
    label_too_long.push(64);
    label_too_long.extend_from_slice(&[b'a'; 64]);
    label_too_long.extend_from_slice(&[0, 0, 1, 0, 1]);
    check_packet(&label_too_long, Transport::Udp, "FormErr rd id=beef qd=0");
    let mut pointer_loop = good[..12].to_vec();
    pointer_loop.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
    check_packet(&pointer_loop, Transport::Udp, "FormErr rd id=beef qd=0");
    let mut too_long = good[..12].to_vec();
    for _ in 0..5 {
        too_long.push(60);
        too_long.extend_from_slice(&[b'a'; 60]);
    }
    too_long.extend_from_slice(&[0, 0, 1, 0, 1]);
    check_packet(&too_long, Transport::Udp, "FormErr rd id=beef qd=0");
}

#[test]
fn two_opt_records_are_formerr_rfc6891_section_6_1_1() {
    let mut packet = with_edns(q("www.example.com.", "A"), 1232, false, None)
        .to_vec()
        .unwrap();
    let opt = packet[packet.len() - 11..].to_vec();
    packet.extend_from_slice(&opt);
    packet[11] = 2;
    check_packet(&packet, Transport::Udp, "FormErr rd id=beef qd=1");
}

#[test]
fn opt_only_when_the_query_had_one_rfc6891_section_7() {
    check(
        &q("www.example.com.", "AAAA"),
        "NoError aa rd id=beef qd=1\nan www.example.com. 300 IN AAAA 2001:db8::1",
    );
    check(
        &with_edns(q("www.example.com.", "AAAA"), 4096, false, None),
        "NoError aa rd id=beef qd=1\nan www.example.com. 300 IN AAAA 2001:db8::1\nopt payload=1232 version=0 do=false",
    );
}

#[test]
fn reply_payload_is_clamped_and_never_below_512_rfc6891_section_6_2_5() {
    for (client, ours) in [(4096, 1232), (1232, 1232), (800, 800), (100, 512), (0, 512)] {
        check(
            &with_edns(q("c.example.com.", "A"), client, false, None),
            &format!("NoError aa rd id=beef qd=1\n{SOA}\nopt payload={ours} version=0 do=false"),
        );
    }
}

#[test]
fn do_bit_is_copied_and_unknown_flags_cleared_rfc3225_section_3() {
    let mut packet = with_edns(q("www.example.com.", "AAAA"), 1232, true, None)
        .to_vec()
        .unwrap();
    let flags = packet.len() - 4;
    packet[flags] |= 0x7F; // set every Z flag bit too
    packet[flags + 1] = 0xFF;
    let reply = exchange(responder(), &packet, Transport::Udp).unwrap();
    let opt_flags = &reply[reply.len() - 4..reply.len() - 2];
    assert_eq!(opt_flags, &[0x80, 0x00]);
    assert!(digest(&reply).ends_with("opt payload=1232 version=0 do=true"));
}

#[test]
fn unknown_edns_options_are_ignored_rfc6891_section_6_1_2() {
    let mut packet = with_edns(q("www.example.com.", "AAAA"), 1232, false, None)
        .to_vec()
        .unwrap();
    let rdlength = packet.len() - 2;
    packet[rdlength + 1] = 6;
    packet.extend_from_slice(&[0xFD, 0xE9, 0, 2, 0xAB, 0xCD]);
    check_packet(
        &packet,
        Transport::Udp,
        "NoError aa rd id=beef qd=1\nan www.example.com. 300 IN AAAA 2001:db8::1\nopt payload=1232 version=0 do=false",
    );
}

#[test]
fn edns_version_above_zero_is_badvers_rfc6891_section_6_1_3() {
    let mut packet = with_edns(q("www.example.com.", "A"), 1232, false, None)
        .to_vec()
        .unwrap();
    let version = packet.len() - 5;
    packet[version] = 1;
    let reply = exchange(responder(), &packet, Transport::Udp).unwrap();
    let parsed = Message::from_vec(&reply).unwrap();
    assert_eq!(u16::from(parsed.metadata.response_code), 16);
    assert_eq!(reply[3] & 0x0F, 0);
    assert_eq!(parsed.answers.len(), 0);
    let edns = parsed.edns.unwrap();
    assert_eq!((edns.version(), edns.rcode_high()), (0, 1));
}

#[test]
fn udp_reply_over_the_limit_is_truncated_like_knot_rfc2181_section_9() {
    // 10 TXT of 100 octets: over 512 without EDNS, fits 1232.
    check(
        &q("big.example.com.", "TXT"),
        "NoError aa tc rd id=beef qd=1",
    );
    let with_opt = with_edns(q("big.example.com.", "TXT"), 1232, false, None);
    let reply = exchange(responder(), &with_opt.to_vec().unwrap(), Transport::Udp).unwrap();
    let parsed = Message::from_vec(&reply).unwrap();
    assert!(!parsed.metadata.truncation);
    assert_eq!(parsed.answers.len(), 10);
    assert!(reply.len() <= 1232);
    check(
        &with_edns(q("huge.example.com.", "TXT"), 4096, false, None),
        "NoError aa tc rd id=beef qd=1\nopt payload=1232 version=0 do=false",
    );
}

#[test]
fn tcp_replies_are_never_truncated_rfc7766_section_8() {
    let packet = q("huge.example.com.", "TXT").to_vec().unwrap();
    let reply = exchange(responder(), &packet, Transport::Tcp).unwrap();
    let parsed = Message::from_vec(&reply).unwrap();
    assert!(!parsed.metadata.truncation);
    assert_eq!(parsed.answers.len(), 40);
}

#[test]
fn client_subnet_is_echoed_with_scope_zero_rfc7871_section_7_2_1() {
    check(
        &with_edns(q("www.example.com.", "AAAA"), 1232, false, Some(("192.0.2.0".parse().unwrap(), 24))),
        "NoError aa rd id=beef qd=1\nan www.example.com. 300 IN AAAA 2001:db8::1\nopt payload=1232 version=0 do=false ecs=192.0.2.0/24/0",
    );
    check(
        &with_edns(q("nothere.example.com.", "A"), 1232, false, Some(("2001:db8:aa00::".parse().unwrap(), 40))),
        &format!("NXDomain aa rd id=beef qd=1\n{SOA}\nopt payload=1232 version=0 do=false ecs=2001:db8:aa00::/40/0"),
    );
    // The address octets come back exactly as sent.
    let packet = with_edns(
        q("www.example.com.", "A"),
        1232,
        false,
        Some(("198.51.100.128".parse().unwrap(), 25)),
    )
    .to_vec()
    .unwrap();
    let reply = exchange(responder(), &packet, Transport::Udp).unwrap();
    assert_eq!(&reply[reply.len() - 12..], &packet[packet.len() - 12..]);
}

#[test]
fn invalid_client_subnet_is_formerr_rfc7871_section_7_1_1() {
    let base = with_edns(q("www.example.com.", "A"), 1232, false, None)
        .to_vec()
        .unwrap();
    for option in [
        vec![0, 8, 0, 7, 0, 1, 24, 8, 192, 0, 2], // scope set in a query
        vec![0, 8, 0, 7, 0, 1, 23, 0, 192, 0, 3], // bits beyond the source prefix
        vec![0, 8, 0, 4, 0, 3, 0, 0],             // unknown family
        vec![0, 8, 0, 9, 0, 1, 33, 0, 1, 2, 3, 4, 5], // source prefix > 32
        vec![0, 8, 0, 8, 0, 1, 24, 0, 192, 0, 2, 0], // more address octets than needed
    ] {
        let mut packet = base.clone();
        let rdlength = packet.len() - 2;
        packet[rdlength..].copy_from_slice(&(option.len() as u16).to_be_bytes());
        packet.extend_from_slice(&option);
        check_packet(&packet, Transport::Udp, "FormErr rd id=beef qd=1");
    }
}

#[test]
fn cd_is_copied_and_ad_cleared_rfc4035_section_3_1_6() {
    let mut packet = q("www.example.com.", "AAAA").to_vec().unwrap();
    packet[3] |= 0x10 | 0x20;
    let reply = exchange(responder(), &packet, Transport::Udp).unwrap();
    assert_eq!(reply[3] & 0xF0, 0x10);
}
