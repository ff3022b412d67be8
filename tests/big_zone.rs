//! A big zone file on a DNS node (`gslb serve` with `[[zones]] file`): 200,000 generated
//! names load, and every one of them answers with its own address (asked over TCP, a
//! thousand queries per connection, so response rate limiting does not apply), besides a
//! wildcard, a delegation with glue and NXDOMAIN asked with dig and kdig. Then one record is
//! edited and the file reloaded (SIGHUP): the edited name answers its new address, its
//! neighbours their old ones, and the names removed or added by the edit follow.
//! Correctness only: timings are in `benches/big_zone.sh`.

mod common;

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{
    dig, framed, kdig, query_packet, read_framed, reply_header, tcp_connect, Server, TempDir,
};

const NAMES: u32 = 200_000;

/// Queries answered per TCP connection before the server closes it (`[dns.tcp]`).
const PER_CONNECTION: u32 = 1000;

fn address(i: u32) -> [u8; 4] {
    [10, (i >> 16) as u8, (i >> 8) as u8, i as u8]
}

fn dotted(octets: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", octets[0], octets[1], octets[2], octets[3])
}

/// The zone: SOA, apex NS with its address, `h0`..`h{NAMES-1}` A, a wildcard, a delegation
/// with glue; `edited` gives `h{index}` another address, drops `h1` and adds `fresh`.
fn zone_text(serial: u32, edited: Option<(u32, [u8; 4])>) -> String {
    let mut text = format!(
        "$ORIGIN big.test.\n$TTL 3600\n@ IN SOA ns1 hostmaster {serial} 7200 900 1209600 300\n\
         @ IN NS ns1\nns1 IN A 127.0.0.1\n*.wild IN A 192.0.2.42\n\
         sub IN NS ns.sub\nns.sub IN A 192.0.2.53\n"
    );
    for i in 0..NAMES {
        let octets = match edited {
            Some((index, octets)) if index == i => octets,
            Some(_) if i == 1 => continue,
            _ => address(i),
        };
        writeln!(text, "h{i} IN A {}", dotted(octets)).unwrap();
    }
    if edited.is_some() {
        text.push_str("fresh IN A 192.0.2.99\n");
    }
    text
}

/// Asks `h{i}. A` for every `i` in `range` over TCP, pipelined a connection's worth at a
/// time; returns the names whose reply was not NOERROR, AA, one A record of `expected(i)`.
fn wrong_answers(
    server: SocketAddr,
    range: std::ops::Range<u32>,
    expected: impl Fn(u32) -> [u8; 4],
) -> Vec<String> {
    let mut wrong = Vec::new();
    let ids: Vec<u32> = range.collect();
    for chunk in ids.chunks(PER_CONNECTION as usize) {
        let mut stream = tcp_connect(server);
        let mut batch = Vec::new();
        for (n, &i) in chunk.iter().enumerate() {
            let packet = query_packet(n as u16, 0x0100, &format!("h{i}.big.test."), 1, 1);
            batch.extend_from_slice(&framed(&packet));
        }
        stream.write_all(&batch).unwrap();
        for (n, &i) in chunk.iter().enumerate() {
            let Some(reply) = read_framed(&mut stream) else {
                wrong.push(format!("h{i}: no reply"));
                continue;
            };
            let header = reply_header(&reply);
            let rdata = &reply[reply.len() - 4..];
            if header.id != n as u16
                || header.rcode != 0
                || !header.authoritative
                || header.answers != 1
                || rdata != expected(i)
            {
                wrong.push(format!("h{i}: {header:?} ending {rdata:?}"));
            }
        }
    }
    wrong
}

#[test]
fn every_name_of_a_big_zone_file_answers_and_a_reload_changes_only_what_changed() {
    let dir = TempDir::new("big-zone");
    dir.write("big.test.zone", &zone_text(1, None));
    let listen = common::dns_listen_address();
    let config = dir.write(
        "node.toml",
        &format!(
            "[log]\nlevel = \"info\"\n\n[dns]\nlisten = [\"{listen}\"]\nudp_workers = 1\n\n\
             [dns.tcp]\nmax_queries_per_connection = {PER_CONNECTION}\n\n\
             [[zones]]\nfile = \"big.test.zone\"\norigin = \"big.test.\"\n"
        ),
    );
    let server = Server::spawn(dir, &config);
    let wrong = wrong_answers(server.address, 0..NAMES, address);
    assert!(
        wrong.is_empty(),
        "{} wrong, first: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );

    // Real clients on the first and last names, a wildcard, a delegation and a miss.
    let first = dig(server.address, &["h0.big.test.", "A"]);
    assert_eq!(first.a_addresses(), ["10.0.0.0"]);
    let last = kdig(server.address, &[&format!("h{}.big.test.", NAMES - 1), "A"]);
    assert_eq!(last.a_addresses(), [dotted(address(NAMES - 1))]);
    let wild = dig(server.address, &["anything.wild.big.test.", "A"]);
    assert_eq!(wild.a_addresses(), ["192.0.2.42"]);
    let referral = dig(server.address, &["www.sub.big.test.", "A"]);
    assert_eq!(referral.status(), "NOERROR");
    assert!(!referral.has_flag("aa"));
    assert!(referral
        .section("AUTHORITY")
        .iter()
        .any(|line| line.contains("ns.sub.big.test.")));
    assert!(referral
        .section("ADDITIONAL")
        .iter()
        .any(|line| line.contains("192.0.2.53")));
    let missing = dig(server.address, &[&format!("h{NAMES}.big.test."), "A"]);
    assert_eq!(missing.status(), "NXDOMAIN");

    // One record edited, one removed, one added; SIGHUP reloads.
    let edited = NAMES / 2;
    std::fs::write(
        server.dir.0.join("big.test.zone"),
        zone_text(2, Some((edited, [203, 0, 113, 7]))),
    )
    .unwrap();
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(120);
    while dig(server.address, &[&format!("h{edited}.big.test."), "A"]).a_addresses()
        != ["203.0.113.7"]
    {
        assert!(
            Instant::now() < deadline,
            "the reload was not answered within 120 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let around = edited - 500..edited + 500;
    let wrong = wrong_answers(server.address, around, |i| {
        if i == edited {
            [203, 0, 113, 7]
        } else {
            address(i)
        }
    });
    assert!(wrong.is_empty(), "after the reload: {wrong:?}");
    assert_eq!(
        dig(server.address, &["h1.big.test.", "A"]).status(),
        "NXDOMAIN"
    );
    assert_eq!(
        dig(server.address, &["fresh.big.test.", "A"]).a_addresses(),
        ["192.0.2.99"]
    );
    let soa = dig(server.address, &["big.test.", "SOA"]);
    assert!(
        soa.section("ANSWER")
            .iter()
            .any(|line| line.contains(" 2 7200 ")),
        "{soa:?}"
    );
}
