//! Listener tests with a fake handler that echoes the query and the client it was told
//! about: framing, pipelining, limits, PROXY v2 trust, shutdown. The DNS itself is tested in
//! the responder and in the black-box tests of the root package.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ppp::v2;
use tokio_util::sync::CancellationToken;

use super::*;

/// Replies `query|client`; stays silent for the query `silent`.
struct Echo;

impl QueryHandler for Echo {
    type Batch = ();

    fn begin_batch(&self) {}

    fn respond_in(
        &self,
        _batch: &mut (),
        query: &[u8],
        context: &QueryContext,
        out: &mut Vec<u8>,
    ) -> bool {
        if query == b"silent" {
            return false;
        }
        if query == b"panic" {
            panic!("the test handler panics on request");
        }
        out.extend_from_slice(query);
        out.push(b'|');
        let _ = write!(out, "{}", context.client);
        true
    }
}

fn config() -> ListenerConfig {
    ListenerConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        udp_workers: 2,
        ..ListenerConfig::default()
    }
}

struct Running {
    runtime: tokio::runtime::Runtime,
    listeners: Option<DnsListeners>,
    shutdown: CancellationToken,
}

impl Running {
    fn start(config: ListenerConfig) -> Running {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let shutdown = CancellationToken::new();
        let listeners = {
            let _guard = runtime.enter();
            spawn_listeners(&config, Arc::new(Echo), shutdown.clone()).unwrap()
        };
        Running {
            runtime,
            listeners: Some(listeners),
            shutdown,
        }
    }

    fn bound(&self) -> &BoundAddresses {
        self.listeners.as_ref().unwrap().bound()
    }

    fn stats(&self) -> Arc<ListenerStats> {
        self.listeners.as_ref().unwrap().stats()
    }

    /// Cancels and waits; returns how long the drain took.
    fn stop(&mut self) -> Duration {
        let started = Instant::now();
        self.shutdown.cancel();
        let listeners = self.listeners.take().unwrap();
        self.runtime.block_on(listeners.wait());
        started.elapsed()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.listeners.is_some() {
            self.stop();
        }
    }
}

fn udp_exchange(to: SocketAddr, payload: &[u8]) -> Option<Vec<u8>> {
    let bind: SocketAddr = if to.is_ipv4() {
        "127.0.0.1:0".parse().unwrap()
    } else {
        "[::1]:0".parse().unwrap()
    };
    let socket = UdpSocket::bind(bind).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    socket.send_to(payload, to).unwrap();
    let mut buffer = [0u8; 2048];
    let (length, from) = socket.recv_from(&mut buffer).ok()?;
    assert_eq!(from, to, "the reply comes from the address queried");
    Some(buffer[..length].to_vec())
}

fn tcp_connect(to: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(to).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

fn framed(message: &[u8]) -> Vec<u8> {
    let mut bytes = (message.len() as u16).to_be_bytes().to_vec();
    bytes.extend_from_slice(message);
    bytes
}

fn read_framed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut prefix = [0u8; 2];
    stream.read_exact(&mut prefix).ok()?;
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut message).ok()?;
    Some(message)
}

/// True when the server closed the stream (EOF or reset) before the read timeout.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => error.kind() == std::io::ErrorKind::ConnectionReset,
    }
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

/// Port 0 gives UDP and TCP the same port; replies carry the socket peer as client.
#[test]
fn udp_and_tcp_share_the_port_and_answer_with_the_socket_peer() {
    let running = Running::start(config());
    let udp = running.bound().udp[0];
    let tcp = running.bound().tcp[0];
    assert_eq!(udp, tcp);
    assert_ne!(udp.port(), 0);
    for round in 0..20u8 {
        let reply = udp_exchange(udp, &[b'q', round]).expect("udp reply");
        assert!(reply.starts_with(&[b'q', round, b'|']));
        assert!(String::from_utf8_lossy(&reply[3..]).starts_with("127.0.0.1:"));
    }
    assert_eq!(udp_exchange(udp, b"silent"), None);
    assert!(running.stats().udp_replied.load(Ordering::Relaxed) >= 20);
}

/// An IPv6 address is served like an IPv4 one.
#[test]
fn ipv6_loopback_is_served() {
    if UdpSocket::bind("[::1]:0").is_err() {
        return; // no IPv6 on this host
    }
    let running = Running::start(ListenerConfig {
        listen: vec!["[::1]:0".parse().unwrap()],
        ..config()
    });
    let reply = udp_exchange(running.bound().udp[0], b"six").expect("udp reply");
    assert!(String::from_utf8_lossy(&reply).starts_with("six|[::1]:"));
}

/// Five queries in one write and then byte by byte (split prefixes) come back in order.
#[test]
fn tcp_pipelined_queries_with_split_prefixes_are_answered_in_order() {
    let running = Running::start(config());
    let mut stream = tcp_connect(running.bound().tcp[0]);
    let mut bytes = Vec::new();
    for index in 0..5u8 {
        bytes.extend(framed(&[b'p', index]));
    }
    // One write with three and a half queries, then the rest a byte at a time.
    let (first, rest) = bytes.split_at(13);
    stream.write_all(first).unwrap();
    for byte in rest {
        stream.write_all(&[*byte]).unwrap();
        stream.flush().unwrap();
    }
    for index in 0..5u8 {
        let reply = read_framed(&mut stream).expect("a reply per query");
        assert!(reply.starts_with(&[b'p', index, b'|']), "{reply:?}");
    }
}

/// The third query on a two-query connection is not answered; the server closes.
#[test]
fn tcp_closes_after_max_queries_per_connection() {
    let mut config = config();
    config.tcp.max_queries_per_connection = 2;
    let running = Running::start(config);
    let mut stream = tcp_connect(running.bound().tcp[0]);
    let mut bytes = framed(b"a");
    bytes.extend(framed(b"b"));
    bytes.extend(framed(b"c"));
    stream.write_all(&bytes).unwrap();
    assert!(read_framed(&mut stream).unwrap().starts_with(b"a|"));
    assert!(read_framed(&mut stream).unwrap().starts_with(b"b|"));
    assert!(
        closed_by_server(&mut stream),
        "closed after the second answer"
    );
}

/// A connection that sends nothing after its answer is closed after the idle timeout.
#[test]
fn tcp_idle_timeout_closes_a_silent_connection() {
    let mut config = config();
    config.tcp.idle_timeout = Duration::from_millis(300);
    let running = Running::start(config);
    let mut stream = tcp_connect(running.bound().tcp[0]);
    stream.write_all(&framed(b"x")).unwrap();
    assert!(read_framed(&mut stream).is_some());
    let started = Instant::now();
    assert!(closed_by_server(&mut stream));
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// A connection from `source` (a loopback address) to `to`.
fn tcp_connect_from(source: &str, to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let source: SocketAddr = format!("{source}:0").parse().unwrap();
    socket.bind(&source.into()).unwrap();
    socket.connect(&to.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

/// When `max_connections` are open, a new connection is admitted and the one idle the
/// longest is closed to make room (RFC 7766 §6.2.3).
#[test]
fn a_full_listener_closes_its_longest_idle_connection() {
    let mut config = config();
    config.tcp.max_connections = 2;
    let running = Running::start(config);
    let address = running.bound().tcp[0];
    let mut first = tcp_connect(address);
    first.write_all(&framed(b"one")).unwrap();
    assert!(read_framed(&mut first).is_some(), "the first is served");
    std::thread::sleep(Duration::from_millis(20));
    let mut second = tcp_connect(address);
    second.write_all(&framed(b"two")).unwrap();
    assert!(read_framed(&mut second).is_some(), "the second is served");
    let mut third = tcp_connect(address);
    third.write_all(&framed(b"three")).unwrap();
    assert!(read_framed(&mut third).is_some(), "the third is served");
    assert!(closed_by_server(&mut first), "the longest idle was closed");
    second.write_all(&framed(b"again")).unwrap();
    assert!(read_framed(&mut second).is_some(), "the other stays open");
    assert_eq!(running.stats().tcp_evicted.load(Ordering::Relaxed), 1);
}

/// One source address holds at most `max_connections_per_source`; others are unaffected.
#[test]
fn a_source_over_its_cap_is_closed_at_once() {
    let mut config = config();
    config.tcp.max_connections_per_source = 2;
    let running = Running::start(config);
    let address = running.bound().tcp[0];
    let mut held: Vec<TcpStream> = (0..2)
        .map(|_| tcp_connect_from("127.0.0.2", address))
        .collect();
    for stream in &mut held {
        stream.write_all(&framed(b"q")).unwrap();
        assert!(read_framed(stream).is_some());
    }
    let mut over = tcp_connect_from("127.0.0.2", address);
    let _ = over.write_all(&framed(b"over"));
    assert!(
        closed_by_server(&mut over),
        "the third from 127.0.0.2 is closed"
    );
    let mut other = tcp_connect_from("127.0.0.3", address);
    other.write_all(&framed(b"other")).unwrap();
    assert!(read_framed(&mut other).is_some(), "127.0.0.3 is served");
    assert_eq!(running.stats().tcp_refused.load(Ordering::Relaxed), 1);
}

/// 1,024 idle connections from 127.0.0.2 do not stop a query from 127.0.0.3 being
/// answered within a second: with the default limits (the per-source cap refuses most of
/// them), and with the per-source cap lifted (the full listener closes the longest idle).
#[test]
fn idle_connections_from_one_address_do_not_shut_out_another() {
    for per_source in [TcpLimits::default().max_connections_per_source, 1024] {
        let mut config = config();
        config.tcp.max_connections_per_source = per_source;
        let running = Running::start(config);
        let address = running.bound().tcp[0];
        let idle: Vec<TcpStream> = (0..1024)
            .map(|_| tcp_connect_from("127.0.0.2", address))
            .collect();
        // Wait until the server took them all in (accepted, refused or evicted).
        let deadline = Instant::now() + Duration::from_secs(20);
        let stats = running.stats();
        while stats.tcp_accepted.load(Ordering::Relaxed) + stats.tcp_refused.load(Ordering::Relaxed)
            < 1024
        {
            assert!(
                Instant::now() < deadline,
                "the server accepts the idle connections"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let started = Instant::now();
        let mut other = tcp_connect_from("127.0.0.3", address);
        other.write_all(&framed(b"hello")).unwrap();
        let reply = read_framed(&mut other).expect("127.0.0.3 is answered");
        assert!(reply.starts_with(b"hello|127.0.0.3:"));
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "answered after {took:?} (per source {per_source})"
        );
        drop(idle);
    }
}

/// A sender that starts a message and then trickles (or stops) is closed after
/// `message_timeout`, though each octet comes well within the idle timeout.
#[test]
fn a_sender_stuck_mid_message_is_closed_after_the_deadline() {
    let mut config = config();
    config.tcp.message_timeout = Duration::from_millis(400);
    let running = Running::start(config);
    let mut stream = tcp_connect(running.bound().tcp[0]);
    let started = Instant::now();
    stream.write_all(&[0, 10, b'a']).unwrap();
    let mut closed = false;
    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(150));
        if stream.write_all(b"b").is_err() {
            closed = true;
            break;
        }
    }
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    assert!(
        closed || closed_by_server(&mut stream),
        "the slow sender is closed"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "closed after {:?}",
        started.elapsed()
    );
    assert_eq!(running.stats().tcp_slow_closed.load(Ordering::Relaxed), 1);
}

fn proxy_config(trusted: &str) -> ListenerConfig {
    ListenerConfig {
        proxy: Some(ProxyListenerConfig {
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            trusted: TrustedProxies(vec![trusted.parse().unwrap()]),
        }),
        ..config()
    }
}

/// A trusted balancer's PROXY v2 source becomes the client (UDP and TCP); LOCAL means the peer.
#[test]
fn proxy_v2_from_a_trusted_peer_carries_the_client() {
    let running = Running::start(proxy_config("127.0.0.0/8"));
    let udp = running.bound().proxy_udp[0];
    let tcp = running.bound().proxy_tcp[0];
    let client: SocketAddr = "198.51.100.7:5300".parse().unwrap();

    let mut datagram = proxy_header(client, udp, v2::Protocol::Datagram);
    datagram.extend_from_slice(b"hello");
    let reply = udp_exchange(udp, &datagram).expect("udp reply to the balancer");
    assert_eq!(reply, b"hello|198.51.100.7:5300");

    let mut stream = tcp_connect(tcp);
    let mut bytes = proxy_header(client, tcp, v2::Protocol::Stream);
    bytes.extend(framed(b"one"));
    bytes.extend(framed(b"two"));
    stream.write_all(&bytes).unwrap();
    assert_eq!(read_framed(&mut stream).unwrap(), b"one|198.51.100.7:5300");
    assert_eq!(read_framed(&mut stream).unwrap(), b"two|198.51.100.7:5300");

    // LOCAL (a balancer's health check) answers for the socket peer.
    let local = v2::Builder::with_addresses(
        v2::Version::Two | v2::Command::Local,
        v2::Protocol::Datagram,
        v2::Addresses::Unspecified,
    )
    .build()
    .unwrap();
    let mut datagram = local;
    datagram.extend_from_slice(b"hc");
    let reply = udp_exchange(udp, &datagram).expect("udp reply");
    assert!(String::from_utf8_lossy(&reply).starts_with("hc|127.0.0.1:"));

    // No header at all: dropped.
    assert_eq!(udp_exchange(udp, b"bare"), None);
}

/// PROXY v2 from an untrusted peer is dropped (UDP) or closed (TCP), and counted.
#[test]
fn proxy_v2_from_an_untrusted_peer_is_dropped_and_counted() {
    let running = Running::start(proxy_config("192.0.2.0/24"));
    let udp = running.bound().proxy_udp[0];
    let tcp = running.bound().proxy_tcp[0];
    let client: SocketAddr = "198.51.100.7:5300".parse().unwrap();
    let mut datagram = proxy_header(client, udp, v2::Protocol::Datagram);
    datagram.extend_from_slice(b"hello");
    assert_eq!(udp_exchange(udp, &datagram), None);

    let mut stream = tcp_connect(tcp);
    let mut bytes = proxy_header(client, tcp, v2::Protocol::Stream);
    bytes.extend(framed(b"one"));
    let _ = stream.write_all(&bytes);
    assert!(closed_by_server(&mut stream));
    assert_eq!(
        running
            .stats()
            .proxy_untrusted_dropped
            .load(Ordering::Relaxed),
        2
    );
    // The plain listener is unaffected.
    assert!(udp_exchange(running.bound().udp[0], b"plain").is_some());
}

/// Shutdown closes idle connections, stops accepting and returns well within a second or two.
#[test]
fn shutdown_closes_idle_connections_and_stops_workers_promptly() {
    let mut running = Running::start(config());
    let tcp = running.bound().tcp[0];
    let mut idle = tcp_connect(tcp);
    idle.write_all(&framed(b"x")).unwrap();
    assert!(read_framed(&mut idle).is_some());
    let took = running.stop();
    assert!(took < Duration::from_secs(2), "drain took {took:?}");
    assert!(closed_by_server(&mut idle));
    assert!(TcpStream::connect(tcp).is_err(), "no longer accepting");
}

/// A handler panic loses its batch; the worker answers the next datagram.
#[test]
fn a_panicking_handler_costs_a_batch_not_the_worker() {
    let running = Running::start(ListenerConfig {
        udp_workers: 1,
        ..config()
    });
    let udp = running.bound().udp[0];
    assert_eq!(udp_exchange(udp, b"panic"), None);
    assert!(
        udp_exchange(udp, b"after").is_some(),
        "the worker still answers"
    );
    assert_eq!(running.stats().handler_panics.load(Ordering::Relaxed), 1);
}

/// A socket on 0.0.0.0 answers 127.0.0.2 from 127.0.0.2, not the route's source.
#[test]
fn a_wildcard_socket_replies_from_the_address_the_client_asked() {
    let running = Running::start(ListenerConfig {
        listen: vec!["0.0.0.0:0".parse().unwrap()],
        udp_workers: 1,
        ..config()
    });
    let port = running.bound().udp[0].port();
    for destination in ["127.0.0.1", "127.0.0.2"] {
        let to: SocketAddr = format!("{destination}:{port}").parse().unwrap();
        // udp_exchange asserts the reply's source is the address queried.
        assert!(udp_exchange(to, b"where").is_some(), "{to}");
    }
}

/// A socket on [::] answers with packet info handed back to the kernel.
#[test]
fn an_ipv6_wildcard_socket_answers_with_packet_info() {
    if UdpSocket::bind("[::1]:0").is_err() {
        return; // no IPv6 on this host
    }
    let running = Running::start(ListenerConfig {
        listen: vec!["[::]:0".parse().unwrap()],
        udp_workers: 1,
        ..config()
    });
    let port = running.bound().udp[0].port();
    let to: SocketAddr = format!("[::1]:{port}").parse().unwrap();
    assert!(udp_exchange(to, b"six").is_some());
}

/// A client that pipelines without reading cannot hold its connection past the write deadline.
#[test]
fn a_client_that_never_reads_is_cut_off() {
    let mut config = config();
    config.tcp.idle_timeout = Duration::from_millis(300);
    config.tcp.max_queries_per_connection = u32::MAX;
    let running = Running::start(config);
    let mut stream = tcp_connect(running.bound().tcp[0]);
    stream
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // Pipeline big queries without reading until the server stops taking them.
    let query = framed(&[b'q'; 4000]);
    let started = Instant::now();
    let mut blocked = false;
    while started.elapsed() < Duration::from_secs(10) {
        if stream.write_all(&query).is_err() {
            blocked = true;
            break;
        }
    }
    assert!(blocked, "the server's send buffer never filled");
    // Without reading a byte, wait for the server to give up on the connection.
    let stats = running.stats();
    let deadline = Instant::now() + Duration::from_secs(10);
    while stats.tcp_open.load(Ordering::Relaxed) != 0 {
        assert!(
            Instant::now() < deadline,
            "the server still holds the connection"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(running.stats().tcp_accepted.load(Ordering::Relaxed), 1);
}

/// Stopping does not wait for the receive timeout: a worker blocked in `recvmmsg` with no
/// timeout at all is woken by `wake_for_stop` on a duplicate of its socket.
#[test]
fn a_blocked_receive_is_woken_for_the_stop() {
    let socket = udp::bind_udp("127.0.0.1:0".parse().unwrap(), 0).unwrap();
    socket.set_read_timeout(None).unwrap();
    let waker = socket.try_clone().unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let mut batch = sys::Batch::new(4, 512, 512);
        let result = batch.receive(&socket);
        done.send(()).unwrap();
        result
    });
    // The worker is blocked (nothing was sent); it must still be after a while.
    assert!(finished.recv_timeout(Duration::from_millis(200)).is_err());
    udp::wake_for_stop(&waker);
    finished
        .recv_timeout(Duration::from_secs(5))
        .expect("the blocked receive returned after the wake");
    worker
        .join()
        .unwrap()
        .expect("a receive side shut down is an end, not an error");
}

/// What a client receives from a running listener carries DF and IPv4 ID 0: the reply was
/// sent as an atomic datagram that is never fragmented (`IP_PMTUDISC_PROBE`), not under the
/// default mode, which sets DF but hashes a fresh ID per reply. Read with a raw socket,
/// which sees the IP header; needs root (CAP_NET_RAW), as CI runs.
#[test]
fn replies_leave_with_dont_fragment_and_no_ip_id() {
    let running = Running::start(config());
    let server = running.bound().udp[0];
    let raw = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::UDP))
        .expect("a raw socket to read IP headers: this test needs root (CAP_NET_RAW)");
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client_port = client.local_addr().unwrap().port();
    client.send_to(b"q", server).unwrap();
    let mut packet = [0u8; 2048];
    loop {
        let length = (&raw)
            .read(&mut packet)
            .expect("the reply reached the raw socket");
        let header = usize::from(packet[0] & 0x0F) * 4;
        if length < header + 8 {
            continue;
        }
        let udp = &packet[header..length];
        let source = u16::from_be_bytes([udp[0], udp[1]]);
        let destination = u16::from_be_bytes([udp[2], udp[3]]);
        if source != server.port() || destination != client_port {
            continue;
        }
        assert_eq!(packet[6] & 0x40, 0x40, "DF set");
        assert_eq!(
            u16::from_be_bytes([packet[6], packet[7]]) & 0x3FFF,
            0,
            "not a fragment"
        );
        assert_eq!(u16::from_be_bytes([packet[4], packet[5]]), 0, "IP ID 0");
        break;
    }
}
