//! Response rate limiting and DNS Cookies, black-box: the real `gslb serve` with
//! `[dns.rrl] rate = 100, slip = 2` and a fixed cookie secret, flooded from one loopback
//! address while a second network and a cookie-bearing client keep being answered.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{codes, query_packet, reply_header, Server};

const RRL: &str = "[dns.rrl]\nrate = 100\nslip = 2\n\n\
                   [dns.cookies]\nsecret = \"e5e973e5a6b2a43f48e7dc849e37bfcf\"\n";

/// A UDP socket bound to `source` (a loopback address), with a short read timeout.
fn socket_from(source: &str) -> UdpSocket {
    let socket = UdpSocket::bind(format!("{source}:0")).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    socket
}

/// `www.example.test A` with an EDNS OPT carrying COOKIE `cookie`.
fn query_with_cookie(id: u16, cookie: &[u8]) -> Vec<u8> {
    let mut packet = query_packet(id, 0x0000, "www.example.test", codes::A, codes::IN);
    packet[11] = 1; // ARCOUNT
    packet.extend_from_slice(&[0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0]);
    packet.extend_from_slice(&(4 + cookie.len() as u16).to_be_bytes());
    packet.extend_from_slice(&[0, 10]);
    packet.extend_from_slice(&(cookie.len() as u16).to_be_bytes());
    packet.extend_from_slice(cookie);
    packet
}

/// The COOKIE option data of a reply's OPT (the OPT is the last record), if any.
fn reply_cookie(reply: &[u8]) -> Option<Vec<u8>> {
    let tail = reply.len().checked_sub(4 + 24)?;
    (reply[tail..tail + 4] == [0, 10, 0, 24]).then(|| reply[tail + 4..].to_vec())
}

/// Exchanges one packet from `socket`; the reply, or `None` after the read timeout.
fn exchange(socket: &UdpSocket, to: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    socket.send_to(packet, to).unwrap();
    let mut buffer = [0u8; 4096];
    let (length, _) = socket.recv_from(&mut buffer).ok()?;
    Some(buffer[..length].to_vec())
}

/// What does this test do: 5,000 queries for one name are sent within a second from
/// 127.0.0.2; at most the rate (100 per started second) are answered, half of the rest come
/// back truncated (slip 2) and the others are dropped. Meanwhile a client in another /24
/// (127.0.1.3) and a client in the flooded /24 (127.0.0.4) that returns a valid server
/// cookie are answered every time.
#[test]
fn a_flood_from_one_network_is_limited_while_others_are_answered() {
    let server = Server::start_with("", RRL);
    let to = server.address;

    eprintln!("-- phase: the cookie client learns its server cookie");
    let cookie_client = socket_from("127.0.0.4");
    let client_cookie = [0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57];
    let first = exchange(&cookie_client, to, &query_with_cookie(1, &client_cookie))
        .expect("a reply to a client cookie");
    let full_cookie = reply_cookie(&first).expect("the reply carries a cookie");
    assert_eq!(
        full_cookie[..8],
        client_cookie,
        "the client cookie is echoed"
    );
    assert_eq!(full_cookie[8], 1, "an RFC 9018 version 1 server cookie");

    eprintln!("-- phase: 5,000 queries in one second from 127.0.0.2");
    let flood = Arc::new(socket_from("127.0.0.2"));
    let done = Arc::new(AtomicBool::new(false));
    let receiver = {
        let flood = flood.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let (mut answered, mut truncated) = (0u32, 0u32);
            let mut buffer = [0u8; 4096];
            let mut quiet_since = Instant::now();
            while !done.load(Ordering::Relaxed) || quiet_since.elapsed() < Duration::from_secs(1) {
                if let Ok((length, _)) = flood.recv_from(&mut buffer) {
                    quiet_since = Instant::now();
                    let header = reply_header(&buffer[..length]);
                    if header.truncated {
                        assert_eq!(header.answers, 0, "a slipped reply carries no answer");
                        truncated += 1;
                    } else {
                        assert_eq!(header.answers, 1, "a passed reply is the answer");
                        answered += 1;
                    }
                }
            }
            (answered, truncated)
        })
    };
    let started = Instant::now();
    let (mut other_answered, mut cookie_answered) = (0, 0);
    let other = socket_from("127.0.1.3");
    for index in 0..5000u32 {
        let packet = query_packet(
            index as u16,
            0x0000,
            "www.example.test",
            codes::A,
            codes::IN,
        );
        flood.send_to(&packet, to).unwrap();
        if index % 500 == 250 {
            let reply = exchange(&other, to, &packet).expect("127.0.1.3 is answered");
            assert_eq!(reply_header(&reply).answers, 1);
            other_answered += 1;
            let reply = exchange(&cookie_client, to, &query_with_cookie(7, &full_cookie))
                .expect("the client with a valid server cookie is answered");
            let header = reply_header(&reply);
            assert!(!header.truncated && header.answers == 1, "{header:?}");
            assert!(reply_cookie(&reply).is_some(), "a fresh cookie comes back");
            cookie_answered += 1;
        }
        // Spread the 5,000 over about 0.9 s.
        let due = Duration::from_micros(180 * u64::from(index));
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let spent = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let (answered, truncated) = receiver.join().unwrap();
    let seconds = spent.as_secs() as u32 + 2; // the started seconds the flood touched
    let dropped = 5000 - answered - truncated;
    eprintln!(
        "flood over {spent:?}: answered {answered}, truncated {truncated}, dropped {dropped}; \
         other {other_answered}, cookie {cookie_answered}"
    );
    assert!(
        spent < Duration::from_millis(1500),
        "the flood took {spent:?}"
    );
    assert!(
        (90..=100 * seconds).contains(&answered),
        "at most the rate is answered: {answered}"
    );
    let limited = 5000 - answered;
    assert!(
        truncated.abs_diff(limited / 2) <= 5,
        "every second limited reply slips: {truncated} of {limited}"
    );
    assert_eq!((other_answered, cookie_answered), (10, 10));

    eprintln!("-- phase: a limited client with only a client cookie gets BADCOOKIE or nothing");
    let newcomer = socket_from("127.0.0.5");
    let mut badcookie = 0;
    for id in 0..400u16 {
        if let Some(reply) = exchange(&newcomer, to, &query_with_cookie(id, &[9; 8])) {
            // RCODE 23 = BADCOOKIE: low bits 7 in the header, high bits 1 in the OPT.
            if reply_header(&reply).rcode == 7 {
                assert!(
                    reply_cookie(&reply).is_some(),
                    "BADCOOKIE carries a fresh cookie"
                );
                badcookie += 1;
            }
        }
        if badcookie > 0 {
            break;
        }
    }
    assert!(
        badcookie > 0,
        "past the rate, a cookie client is told BADCOOKIE"
    );
}
