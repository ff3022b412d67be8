//! Proves the UDP listener adds no allocation per query: the real listeners of gslb-dns
//! with a real `Responder` (whose own path gslb-dns proves allocation-free) answer a warm-up
//! round, then thousands of queries, sent one by one and in bursts that fill a `recvmmsg`
//! batch, while a counting global allocator watches the whole process.
//!
//! This file holds a single test so that no other test allocates while counting; the client
//! side uses only std sockets and stack buffers, which do not allocate either.

mod common;

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use common::{codes, example_zone, query_packet};
use gslb_dns::net::{spawn_listeners, ListenerConfig};
use gslb_dns::{compile_plan, Responder, ResponderOptions};
use gslb_model::zonefile::parse_zone;
use gslb_model::State;
use gslb_testkit::{CountingAllocator, Scope};
use tokio_util::sync::CancellationToken;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator::new();

/// Queries of several kinds, each answered.
fn packets() -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    for (index, (name, qtype)) in [
        ("www.example.test", codes::A),
        ("WwW.ExAmPlE.TeSt", codes::A),
        ("nope.example.test", codes::A),
        ("x.wild.example.test", codes::A),
        ("alias.example.test", codes::A),
        ("host.sub.example.test", codes::A),
        ("www.example.org", codes::A),
        ("big.example.test", codes::TXT),
    ]
    .into_iter()
    .enumerate()
    {
        packets.push(query_packet(
            index as u16 + 1,
            0x0100,
            name,
            qtype,
            codes::IN,
        ));
    }
    packets
}

/// Sends `burst` queries, then reads `burst` replies; returns how many came back.
fn exchange(
    client: &UdpSocket,
    to: std::net::SocketAddr,
    packets: &[Vec<u8>],
    burst: usize,
) -> usize {
    let mut reply = [0u8; 4096];
    let mut answered = 0;
    for chunk in packets.chunks(burst) {
        for packet in chunk {
            client.send_to(packet, to).unwrap();
        }
        for _ in chunk {
            if client.recv_from(&mut reply).is_ok() {
                answered += 1;
            }
        }
    }
    answered
}

/// After a warm-up, the listener path (recvmmsg, respond, sendmmsg) allocates nothing.
#[test]
fn the_udp_listener_does_not_allocate_once_warm() {
    let zone = parse_zone(&example_zone(), "example.test.zone", None, None)
        .unwrap_or_else(|error| panic!("{error}"));
    let mut state = State {
        version: 1,
        ..State::default()
    };
    state
        .zones
        .insert(zone.apex.clone(), std::sync::Arc::new(zone));
    let responder = Arc::new(Responder::new(
        compile_plan(&state),
        ResponderOptions::default(),
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // A worker thread allocates its name when it first runs; on a loaded machine that can
    // happen long after `build`, inside the counted window. Run a task on it now.
    runtime.block_on(async { tokio::spawn(async {}).await.unwrap() });
    let shutdown = CancellationToken::new();
    let config = ListenerConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        udp_workers: 1,
        ..ListenerConfig::default()
    };
    let listeners = {
        let _guard = runtime.enter();
        spawn_listeners(&config, responder, shutdown.clone()).unwrap()
    };
    let server = listeners.bound().udp[0];
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let packets = packets();
    let mut many = Vec::new();
    for _ in 0..8 {
        many.extend(packets.iter().cloned());
    }

    assert_eq!(exchange(&client, server, &packets, 1), packets.len());
    assert_eq!(exchange(&client, server, &many, many.len()), many.len());

    // `count` first checks that the allocator sees a probe allocation, so a zero means
    // something; the listener runs on other threads, so the whole process counts.
    let (answered, allocations) = GLOBAL.count(Scope::Process, || {
        let mut answered = 0;
        for _ in 0..100 {
            answered += exchange(&client, server, &packets, 1);
            answered += exchange(&client, server, &many, many.len());
        }
        answered
    });
    assert_eq!(answered, 100 * (packets.len() + many.len()));
    assert_eq!(
        allocations, 0,
        "{allocations} allocations over {answered} queries"
    );

    shutdown.cancel();
    runtime.block_on(listeners.wait());
}
