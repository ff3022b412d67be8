//! Black-box DNS conformance: the real `gslb serve` on port 0, queried with `dig`, `kdig`
//! and raw packets. Test names cite the RFC section whose behaviour they check.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{
    closed_by_peer, codes, framed, kdig, query_packet, read_framed, reply_header, send_all,
    tcp_connect, udp_exchange, Server,
};
use ppp::v2;

/// How long a test waits to conclude that no reply is coming.
const SILENCE: Duration = Duration::from_millis(700);

/// A plain query gets AA=1, the client's RD copied, RA=0, and the answer.
#[test]
fn rfc1035_4_1_1_aa_set_rd_copied_ra_clear() {
    let server = Server::start();
    let reply = server.dig(&["www.example.test", "A", "+rec"]);
    assert_eq!(reply.status(), "NOERROR");
    assert!(reply.has_flag("aa") && reply.has_flag("rd") && !reply.has_flag("ra"));
    let answers = reply.records("ANSWER");
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0][3..], ["A", "192.0.2.10"]);

    let reply = server.dig(&["www.example.test", "A", "+norec"]);
    assert!(reply.has_flag("aa") && !reply.has_flag("rd") && !reply.has_flag("ra"));
}

/// The ID and the question come back exactly as sent, including the client's mixed case
/// (DNS 0x20), and kdig agrees.
#[test]
fn rfc1035_4_1_1_id_and_question_echoed_with_0x20_case() {
    let server = Server::start();
    let reply = server.dig(&["wWw.ExAmPlE.tEsT", "A"]);
    assert_eq!(reply.status(), "NOERROR");
    assert!(
        reply.section("QUESTION")[0].starts_with(";wWw.ExAmPlE.tEsT."),
        "{:?}",
        reply.section("QUESTION")
    );
    let packet = query_packet(0xbeef, 0x0100, "WwW.example.TEST", codes::A, codes::IN);
    let raw = udp_exchange(server.address, &packet, Duration::from_secs(2)).expect("a reply");
    assert_eq!(reply_header(&raw).id, 0xbeef);
    assert_eq!(
        &raw[12..packet.len()],
        &packet[12..],
        "question echoed byte for byte"
    );

    let reply = kdig(server.address, &["www.example.test", "A"]);
    assert_eq!(reply.status(), "NOERROR");
}

/// A name that does not exist: NXDOMAIN, AA, and the SOA in the authority section with
/// TTL min(SOA TTL 3600, MINIMUM 60) = 60.
#[test]
fn rfc2308_nxdomain_has_soa_with_min_ttl() {
    let server = Server::start();
    let reply = server.dig(&["nope.example.test", "A"]);
    assert_eq!(reply.status(), "NXDOMAIN");
    assert!(reply.has_flag("aa"));
    assert!(reply.records("ANSWER").is_empty());
    let authority = reply.records("AUTHORITY");
    assert_eq!(authority.len(), 1, "{authority:?}");
    assert_eq!(authority[0][0], "example.test.");
    assert_eq!(authority[0][1], "60");
    assert_eq!(authority[0][3], "SOA");
}

/// A name that exists without the type asked: NOERROR, no answer, SOA with the negative TTL.
#[test]
fn rfc2308_nodata_has_soa_with_min_ttl() {
    let server = Server::start();
    let reply = server.dig(&["www.example.test", "MX"]);
    assert_eq!(reply.status(), "NOERROR");
    assert!(reply.records("ANSWER").is_empty());
    let authority = reply.records("AUTHORITY");
    assert_eq!(authority[0][1], "60");
    assert_eq!(authority[0][3], "SOA");
}

/// EDNS version 1 is answered BADVERS with an OPT of version 0.
#[test]
fn rfc6891_6_1_3_badvers() {
    let server = Server::start();
    let reply = server.dig(&["www.example.test", "A", "+edns=1", "+noednsnegotiation"]);
    assert_eq!(reply.status(), "BADVERS");
    let edns = reply.edns_line().expect("an OPT in the reply");
    assert!(edns.contains("version: 0"), "{edns}");
}

/// The reply has an OPT only when the query had one; its payload is min(client, 1232); the
/// DO bit is copied.
#[test]
fn rfc6891_opt_only_when_asked_payload_clamped_do_copied() {
    let server = Server::start();
    let reply = server.dig(&["www.example.test", "A", "+noedns"]);
    assert_eq!(reply.status(), "NOERROR");
    assert_eq!(reply.edns_line(), None);

    let reply = server.dig(&["www.example.test", "A", "+bufsize=4096"]);
    let edns = reply.edns_line().expect("an OPT");
    assert!(edns.contains("udp: 1232"), "{edns}");

    let reply = server.dig(&["www.example.test", "A", "+bufsize=1000", "+dnssec"]);
    let edns = reply.edns_line().expect("an OPT");
    assert!(edns.contains("udp: 1000"), "{edns}");
    assert!(edns.contains("flags: do"), "{edns}");
}

/// ANY is answered with one RRset of the name (RFC 8482 §4.2), not everything.
#[test]
fn rfc8482_any_returns_one_rrset() {
    let server = Server::start();
    let reply = server.dig(&["www.example.test", "ANY"]);
    assert_eq!(reply.status(), "NOERROR");
    let answers = reply.records("ANSWER");
    assert!(!answers.is_empty());
    let first_type = &answers[0][3];
    assert!(
        answers.iter().all(|record| &record[3] == first_type),
        "one RRset only: {answers:?}"
    );
}

/// An ECS option is echoed with the same source prefix and scope 0 (static answers do not
/// depend on the client).
#[test]
fn rfc7871_ecs_echo_scope_zero() {
    let server = Server::start();
    let reply = server.dig(&["www.example.test", "A", "+subnet=198.51.100.0/24"]);
    assert_eq!(reply.status(), "NOERROR");
    assert!(
        reply.text.contains("CLIENT-SUBNET: 198.51.100.0/24/0"),
        "{}",
        reply.text
    );
}

/// A name under `*.wild` is synthesised from the wildcard with the query's owner name;
/// the wildcard does not cover names that exist.
#[test]
fn rfc4592_wildcard() {
    let server = Server::start();
    let reply = server.dig(&["deep.er.wild.example.test", "A"]);
    assert_eq!(reply.status(), "NOERROR");
    let answers = reply.records("ANSWER");
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0][0], "deep.er.wild.example.test.");
    assert_eq!(answers[0][4], "192.0.2.50");
    let reply = server.dig(&["wild.example.test", "A"]);
    assert_ne!(
        reply.records("ANSWER").len(),
        1,
        "the parent of a wildcard is no match"
    );
}

/// A CNAME is returned, and followed inside the zone.
#[test]
fn rfc1034_4_3_2_cname_followed_in_zone() {
    let server = Server::start();
    let reply = server.dig(&["alias.example.test", "A"]);
    assert_eq!(reply.status(), "NOERROR");
    let answers = reply.records("ANSWER");
    assert_eq!(answers[0][3], "CNAME");
    assert!(answers
        .iter()
        .any(|record| record[3] == "A" && record[4] == "192.0.2.10"));
}

/// Below a delegation: a referral, AA=0, the NS set in authority and its glue in additional.
#[test]
fn rfc1034_4_3_2_referral_with_glue_aa_clear() {
    let server = Server::start();
    let reply = server.dig(&["host.sub.example.test", "A", "+norec"]);
    assert_eq!(reply.status(), "NOERROR");
    assert!(!reply.has_flag("aa"), "a referral is not authoritative");
    assert!(reply.records("ANSWER").is_empty());
    let authority = reply.records("AUTHORITY");
    assert_eq!(authority[0][0], "sub.example.test.");
    assert_eq!(authority[0][3], "NS");
    let additional = reply.records("ADDITIONAL");
    assert!(
        additional
            .iter()
            .any(|record| record[0] == "ns.sub.example.test." && record[4] == "192.0.2.53"),
        "glue: {additional:?}"
    );
}

/// Names outside every zone we serve are REFUSED, without AA.
#[test]
fn rfc1035_4_1_1_refused_outside_our_zones() {
    let server = Server::start();
    let reply = server.dig(&["www.example.org", "A"]);
    assert_eq!(reply.status(), "REFUSED");
    assert!(!reply.has_flag("aa"));
}

/// An opcode other than QUERY (here STATUS, 2) gets NOTIMP with the ID kept.
#[test]
fn rfc1035_4_1_1_notimp_for_unknown_opcode() {
    let server = Server::start();
    let packet = query_packet(0x0a0b, 2 << 11, "www.example.test", codes::A, codes::IN);
    let reply = udp_exchange(server.address, &packet, Duration::from_secs(2)).expect("a reply");
    let header = reply_header(&reply);
    assert_eq!(header.id, 0x0a0b);
    assert!(header.response);
    assert_eq!(header.opcode, 2);
    assert_eq!(header.rcode, codes::NOTIMP);
}

/// Garbage with a readable header gets FORMERR with its ID, and the server keeps answering.
#[test]
fn rfc1035_4_1_1_formerr_for_garbage_then_still_answers() {
    let server = Server::start();
    let mut garbage = vec![0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
    garbage.extend_from_slice(&[0x3f, b'a', b'b']); // a label longer than the packet
    let reply = udp_exchange(server.address, &garbage, Duration::from_secs(2)).expect("a reply");
    let header = reply_header(&reply);
    assert_eq!(header.id, 0x1234);
    assert_eq!(header.rcode, codes::FORMERR);
    // Shorter than a header: silence, and still alive.
    assert_eq!(udp_exchange(server.address, &[1, 2, 3], SILENCE), None);
    let reply = server.dig(&["www.example.test", "A"]);
    assert_eq!(reply.status(), "NOERROR");
}

/// A packet with QR=1 (a response) is never answered; queries after it are.
#[test]
fn rfc1035_4_1_1_qr_set_is_ignored() {
    let server = Server::start();
    let packet = query_packet(0x5555, 0x8000, "www.example.test", codes::A, codes::IN);
    assert_eq!(udp_exchange(server.address, &packet, SILENCE), None);
    let packet = query_packet(0x5556, 0x0000, "www.example.test", codes::A, codes::IN);
    let reply = udp_exchange(server.address, &packet, Duration::from_secs(2)).expect("a reply");
    assert_eq!(reply_header(&reply).rcode, codes::NOERROR);
}

/// A TXT set too big for UDP comes back with TC=1 and no records; over TCP it comes whole.
#[test]
fn rfc1035_4_2_1_tc_over_udp_then_full_over_tcp() {
    let server = Server::start();
    let reply = server.dig(&["big.example.test", "TXT", "+ignore", "+bufsize=1232"]);
    assert!(reply.has_flag("tc"), "{}", reply.text);
    assert!(reply.records("ANSWER").is_empty());
    let reply = server.dig(&["big.example.test", "TXT", "+tcp"]);
    assert_eq!(reply.status(), "NOERROR");
    assert!(!reply.has_flag("tc"));
    assert_eq!(reply.records("ANSWER").len(), 1);
    assert!(reply.text.contains("MSG SIZE  rcvd: 2"), "over 2000 octets");
}

/// CHAOS TXT `version.bind` and `id.server` (RFC 4892) answer the configured identity.
#[test]
fn rfc4892_chaos_version_and_id() {
    let server = Server::start();
    let reply = server.dig(&["version.bind", "TXT", "CH", "+short"]);
    assert!(reply.text.contains("\"gslb "), "{}", reply.text);
    let reply = server.dig(&["id.server", "TXT", "CH", "+short"]);
    assert!(reply.text.contains("\"test-node\""), "{}", reply.text);
}

/// Queries pipelined on one connection (several in one write, a length prefix split
/// across writes) are all answered, in order (RFC 7766 §6.2.1.1).
#[test]
fn rfc7766_6_2_1_1_tcp_pipelining() {
    let server = Server::start();
    let mut stream = tcp_connect(server.address);
    let mut bytes = Vec::new();
    for id in 1..=4u16 {
        bytes.extend(framed(&query_packet(
            id,
            0,
            "www.example.test",
            codes::A,
            codes::IN,
        )));
    }
    let split = bytes.len() - 40; // inside the last query
    send_all(&mut stream, &bytes[..split]);
    for byte in &bytes[split..split + 1] {
        send_all(&mut stream, &[*byte]);
    }
    send_all(&mut stream, &bytes[split + 1..]);
    for id in 1..=4u16 {
        let reply = read_framed(&mut stream).expect("a reply per query");
        let header = reply_header(&reply);
        assert_eq!(header.id, id, "in order");
        assert_eq!(header.answers, 1);
    }
    let reply = kdig(server.address, &["+tcp", "www.example.test", "A"]);
    assert_eq!(reply.status(), "NOERROR");
}

/// A connection that sends nothing is closed after the idle timeout (RFC 7766 §6.2.3).
#[test]
fn rfc7766_6_2_3_idle_timeout_closes() {
    let server = Server::start_with("", "[dns.tcp]\nidle_timeout = \"400ms\"\n");
    let mut stream = tcp_connect(server.address);
    send_all(
        &mut stream,
        &framed(&query_packet(7, 0, "www.example.test", codes::A, codes::IN)),
    );
    assert!(read_framed(&mut stream).is_some());
    let started = Instant::now();
    assert!(closed_by_peer(&mut stream), "closed when idle");
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// After `max_queries_per_connection` answers the server closes the connection.
#[test]
fn rfc7766_6_2_3_max_queries_per_connection() {
    let server = Server::start_with("", "[dns.tcp]\nmax_queries_per_connection = 3\n");
    let mut stream = tcp_connect(server.address);
    let mut bytes = Vec::new();
    for id in 1..=5u16 {
        bytes.extend(framed(&query_packet(
            id,
            0,
            "www.example.test",
            codes::A,
            codes::IN,
        )));
    }
    send_all(&mut stream, &bytes);
    for id in 1..=3u16 {
        let reply = read_framed(&mut stream).expect("three answers");
        assert_eq!(reply_header(&reply).id, id);
    }
    assert!(closed_by_peer(&mut stream), "closed after the third");
}

/// When `max_connections` are open, the connection idle the longest is closed to admit a
/// new one (RFC 7766 §6.2.3), and the new one is served.
#[test]
fn rfc7766_6_2_3_max_connections() {
    let server = Server::start_with("", "[dns.tcp]\nmax_connections = 1\n");
    let mut first = tcp_connect(server.address);
    send_all(
        &mut first,
        &framed(&query_packet(1, 0, "www.example.test", codes::A, codes::IN)),
    );
    assert!(read_framed(&mut first).is_some());
    let mut second = tcp_connect(server.address);
    send_all(
        &mut second,
        &framed(&query_packet(2, 0, "www.example.test", codes::A, codes::IN)),
    );
    let reply = read_framed(&mut second).expect("the new connection is served");
    assert_eq!(reply_header(&reply).id, 2);
    assert!(closed_by_peer(&mut first), "the idle one was closed for it");
}

fn proxy_server(trusted: &str) -> Server {
    Server::start_with(
        "",
        &format!("[dns.proxy]\nlisten = [\"127.0.0.1:0\"]\ntrusted = [\"{trusted}\"]\n"),
    )
}

fn proxy_header(source: SocketAddr, destination: SocketAddr, protocol: v2::Protocol) -> Vec<u8> {
    v2::Builder::with_addresses(
        v2::Version::Two | v2::Command::Proxy,
        protocol,
        (source, destination),
    )
    .build()
    .unwrap()
}

/// From a trusted balancer, PROXY v2 queries over UDP and TCP are answered (to the
/// balancer); a datagram without a header is dropped.
#[test]
fn proxy_v2_from_trusted_source_is_answered() {
    let server = proxy_server("127.0.0.0/8");
    let proxy = server.proxy_address.unwrap();
    let client: SocketAddr = "198.51.100.7:5300".parse().unwrap();
    let query = query_packet(0x7001, 0, "www.example.test", codes::A, codes::IN);

    let mut datagram = proxy_header(client, proxy, v2::Protocol::Datagram);
    datagram.extend_from_slice(&query);
    let reply = udp_exchange(proxy, &datagram, Duration::from_secs(2)).expect("a reply");
    let header = reply_header(&reply);
    assert_eq!((header.id, header.rcode, header.answers), (0x7001, 0, 1));

    let mut stream = tcp_connect(proxy);
    let mut bytes = proxy_header(client, proxy, v2::Protocol::Stream);
    bytes.extend(framed(&query));
    send_all(&mut stream, &bytes);
    let reply = read_framed(&mut stream).expect("a tcp reply");
    assert_eq!(reply_header(&reply).id, 0x7001);

    assert_eq!(
        udp_exchange(proxy, &query, SILENCE),
        None,
        "no header: dropped"
    );
}

/// From a peer outside the trusted CIDRs, PROXY v2 datagrams are dropped and connections
/// closed; the plain listener still answers that peer.
#[test]
fn proxy_v2_from_untrusted_source_is_dropped() {
    let server = proxy_server("192.0.2.0/24");
    let proxy = server.proxy_address.unwrap();
    let client: SocketAddr = "198.51.100.7:5300".parse().unwrap();
    let query = query_packet(0x7002, 0, "www.example.test", codes::A, codes::IN);

    let mut datagram = proxy_header(client, proxy, v2::Protocol::Datagram);
    datagram.extend_from_slice(&query);
    assert_eq!(udp_exchange(proxy, &datagram, SILENCE), None);

    let mut stream = tcp_connect(proxy);
    let mut bytes = proxy_header(client, proxy, v2::Protocol::Stream);
    bytes.extend(framed(&query));
    let _ = std::io::Write::write_all(&mut stream, &bytes);
    assert!(closed_by_peer(&mut stream));

    let reply = udp_exchange(server.address, &query, Duration::from_secs(2)).expect("plain");
    assert_eq!(reply_header(&reply).id, 0x7002);
}

/// A query with two questions is malformed for us: FORMERR with the ID kept.
#[test]
fn rfc1035_4_1_2_qdcount_two_is_formerr() {
    let server = Server::start();
    let mut packet = query_packet(0x2222, 0, "www.example.test", codes::A, codes::IN);
    let question = packet[12..].to_vec();
    packet[5] = 2; // QDCOUNT = 2
    packet.extend_from_slice(&question);
    let reply = udp_exchange(server.address, &packet, Duration::from_secs(2)).expect("a reply");
    let header = reply_header(&reply);
    assert_eq!(header.id, 0x2222);
    assert_eq!(header.rcode, codes::FORMERR);
}

/// Without EDNS a UDP reply stays within 512 octets: the big TXT comes back truncated.
#[test]
fn rfc1035_4_2_1_without_edns_udp_replies_fit_512() {
    let server = Server::start();
    let reply = server.dig(&["big.example.test", "TXT", "+noedns", "+ignore"]);
    assert!(reply.has_flag("tc"), "{}", reply.text);
    let size_line = reply
        .text
        .lines()
        .find(|line| line.contains("MSG SIZE  rcvd:"))
        .unwrap();
    let size: usize = size_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(size <= 512, "{size_line}");
}

/// Zone transfers are not offered yet: AXFR over TCP is REFUSED.
#[test]
fn rfc5936_axfr_refused() {
    let server = Server::start();
    let reply = server.dig(&["example.test", "AXFR", "+tcp"]);
    assert!(
        reply.text.contains("Transfer failed") || reply.text.contains("REFUSED"),
        "{}",
        reply.text
    );
}

/// An IPv6 client subnet is echoed with its source prefix and scope 0; source /0 too.
#[test]
fn rfc7871_ecs_ipv6_and_zero_source_prefix() {
    let server = Server::start();
    let reply = server.dig(&["www.example.test", "A", "+subnet=2001:db8:1200::/40"]);
    assert_eq!(reply.status(), "NOERROR");
    assert!(
        reply.text.contains("CLIENT-SUBNET: 2001:db8:1200::/40/0"),
        "{}",
        reply.text
    );
    let reply = server.dig(&["www.example.test", "A", "+subnet=0.0.0.0/0"]);
    assert_eq!(reply.status(), "NOERROR");
    assert!(
        reply.text.contains("CLIENT-SUBNET: 0.0.0.0/0/0"),
        "{}",
        reply.text
    );
}

/// An EDNS payload below 512 is read as 512 (RFC 6891 §6.2.5).
#[test]
fn rfc6891_6_2_5_payload_below_512_is_512() {
    let server = Server::start();
    let reply = server.dig(&["www.example.test", "A", "+bufsize=100"]);
    assert_eq!(reply.status(), "NOERROR");
    let edns = reply.edns_line().expect("an OPT");
    assert!(edns.contains("udp: 512"), "{edns}");
}

/// CHAOS names that are not configured, and classes we do not serve, are REFUSED.
#[test]
fn chaos_unconfigured_and_unknown_class_refused() {
    let server = Server::start();
    assert_eq!(
        server.dig(&["hostname.bind", "TXT", "CH"]).status(),
        "REFUSED"
    );
    assert_eq!(
        server.dig(&["www.example.test", "A", "HS"]).status(),
        "REFUSED"
    );
}

/// IPv4 and IPv6 listeners side by side each answer over UDP and TCP.
#[test]
fn dual_stack_listeners_answer_on_both() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        return; // no IPv6 on this host
    }
    let dir = common::TempDir::new("dual-stack");
    dir.write("example.test.zone", &common::example_zone());
    let config = dir.write(
        "node.toml",
        "[dns]\nlisten = [\"127.0.0.1:0\", \"[::1]:0\"]\nudp_workers = 1\n\
         [[zones]]\nfile = \"example.test.zone\"\norigin = \"example.test.\"\n",
    );
    let server = Server::spawn(dir, &config);
    let line = server
        .log
        .wait_for("listening on udp [::1]:", Duration::from_secs(10))
        .expect("an IPv6 listener");
    let v6 = common::listening_address(&line, "udp").unwrap();
    for address in [server.address, v6] {
        for transport in ["+notcp", "+tcp"] {
            let reply = common::dig(address, &["www.example.test", "AAAA", transport]);
            assert_eq!(reply.status(), "NOERROR", "{address} {transport}");
            assert_eq!(reply.records("ANSWER")[0][4], "2001:db8::10");
        }
    }
}
