//! Black-box test of the bounded control listener: a follower voter whose descriptor limit
//! is lowered (`prlimit`) is flooded with 2,000 connections from one address, half of them
//! idle and half stuck in the middle of a request header. It must stay in the cluster (the
//! term and the leader do not change) while its API keeps answering from another address,
//! and the stuck connections must be closed by the header read timeout.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::cluster::{api_get, json_number, leader_of, wait_until, ClusterNode, Kind};
use common::TempDir;

/// How long setup steps may take.
const CONVERGE: Duration = Duration::from_secs(30);

/// The flood: connections from one address, and the descriptor limit of the flooded node.
const FLOOD_CONNECTIONS: usize = 2000;
const FLOODED_NOFILE: u32 = 512;

/// The source address of the flood (the cluster and the test's API calls use 127.0.0.1).
const FLOOD_SOURCE: &str = "127.0.0.2";

/// `(term, leader)` as `/v1/cluster` on `node` reports it.
fn term_and_leader(node: SocketAddr) -> Option<(u64, u64)> {
    let (status, body) = api_get(node, "/v1/cluster")?;
    if status != 200 {
        return None;
    }
    Some((json_number(&body, "term")?, json_number(&body, "leader")?))
}

/// Opens one connection to `to` from `FLOOD_SOURCE` (all of 127.0.0.0/8 is local, so it
/// can be bound without configuring anything), or `None` when the node refused it.
fn connect_from_flood_source(
    runtime: &tokio::runtime::Runtime,
    to: SocketAddr,
) -> Option<TcpStream> {
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().ok()?;
        socket
            .bind(SocketAddr::new(FLOOD_SOURCE.parse().ok()?, 0))
            .ok()?;
        let stream = tokio::time::timeout(Duration::from_secs(1), socket.connect(to))
            .await
            .ok()?
            .ok()?;
        let stream = stream.into_std().ok()?;
        stream.set_nonblocking(false).ok()?;
        Some(stream)
    })
}

/// What does this test do: 3 voters start; the test lowers a follower's descriptor limit to
/// 512 and opens 2,000 connections to it (every other one sends half a request header),
/// holds them 15 s while checking that the follower's API answers `/healthz` and that term
/// and leader stay the same on every voter, then checks that the follower closed the
/// half-sent ones (header read timeout) and still follows the same leader.
#[test]
fn a_follower_flooded_with_idle_connections_stays_in_the_cluster() {
    let root = TempDir::new("control-flood");
    eprintln!("-- phase: start three voters");
    let first = ClusterNode::start(&root, 1, Kind::Bootstrap, &[]);
    wait_until(CONVERGE, "voter 1 to lead its new cluster", || {
        leader_of(&first) == Some(1)
    });
    let mut voters = vec![first];
    for id in [2, 3] {
        let voter = ClusterNode::start(&root, id, Kind::Voter, &[voters[0].http]);
        assert!(
            voter
                .log
                .wait_for("joined the cluster as a voter", CONVERGE)
                .is_some(),
            "voter {id} was not promoted; its log:\n{}",
            voter.log.text()
        );
        voters.push(voter);
    }
    let (term, leader) = term_and_leader(voters[0].http).expect("the cluster status");
    let follower = voters
        .iter()
        .find(|voter| voter.id != leader)
        .expect("a follower");
    eprintln!(
        "-- phase: term {term}, leader {leader}; flooding {} (pid {})",
        follower.name,
        follower.pid()
    );
    let limited = Command::new("prlimit")
        .arg(format!("--pid={}", follower.pid()))
        .arg(format!("--nofile={FLOODED_NOFILE}:{FLOODED_NOFILE}"))
        .status()
        .expect("run prlimit");
    assert!(limited.success(), "prlimit failed");
    // This process holds the flood's descriptors itself.
    let raised = Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg("--nofile=8192:8192")
        .status()
        .expect("run prlimit");
    assert!(raised.success(), "prlimit of the test failed");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the flood's connects");
    let mut flood = Vec::with_capacity(FLOOD_CONNECTIONS);
    for index in 0..FLOOD_CONNECTIONS {
        if let Some(mut stream) = connect_from_flood_source(&runtime, follower.http) {
            let half_sent = index % 2 == 1;
            if half_sent {
                let _ = stream.write_all(b"GET /v1/zones HTTP/1.1\r\nHost: flood\r\nX-Slow: ");
            }
            flood.push((stream, half_sent));
        }
    }
    eprintln!("-- phase: {} flood connections opened", flood.len());

    let until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < until {
        for voter in &voters {
            let now = term_and_leader(voter.http);
            if let Some(now) = now {
                assert_eq!(
                    now,
                    (term, leader),
                    "{} saw an election during the flood; follower log:\n{}",
                    voter.name,
                    follower.log.text()
                );
            }
        }
        let healthz = api_get(follower.http, "/healthz").map(|(status, _)| status);
        assert_eq!(healthz, Some(200), "the follower's API from 127.0.0.1");
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("-- phase: the half-sent connections were closed by the header read timeout");
    let mut still_open = 0;
    for (stream, _) in flood.iter_mut().filter(|(_, half_sent)| *half_sent) {
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut byte = [0u8; 1];
        let open = match std::io::Read::read(stream, &mut byte) {
            Ok(0) => false,
            Err(error) => matches!(
                error.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            Ok(_) => false, // an answer (408) and then the close
        };
        if open {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "half-sent connections still open after 15 s");
    drop(flood);
    eprintln!("-- phase: the flood is over");
    std::thread::sleep(Duration::from_secs(2));
    for voter in &voters {
        assert_eq!(
            term_and_leader(voter.http),
            Some((term, leader)),
            "{} after the flood",
            voter.name
        );
    }
    assert!(
        !follower.log.text().contains("Too many open files"),
        "the follower ran out of descriptors:\n{}",
        follower.log.text()
    );
}

/// `GET path` with `token` on `to`, sent from `source`; the status and the whole reply.
fn get_from(source: &str, to: SocketAddr, path: &str, token: &str) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::new(source.parse().unwrap(), 0))
            .unwrap();
        socket.connect(to).await.unwrap().into_std().unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {to}\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut stream, &mut reply).unwrap();
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, reply)
}

/// What does this test do: one node; an address guessing tokens gets 401 for its first 20
/// failures, then 429 with `Retry-After` (even for the right token: the answer tells a
/// guesser nothing), while the right token from another address is still answered.
#[test]
fn failed_logins_are_throttled_per_source() {
    let root = TempDir::new("auth-throttle");
    let node = ClusterNode::start(&root, 1, Kind::Bootstrap, &[]);
    wait_until(CONVERGE, "the node to lead", || leader_of(&node) == Some(1));
    let guesser = "127.0.0.4";
    for attempt in 0..20 {
        let (status, reply) = get_from(guesser, node.http, "/v1/zones", "guess-0123456789abcdef");
        assert_eq!(status, 401, "attempt {attempt}: {reply}");
    }
    let (status, reply) = get_from(guesser, node.http, "/v1/zones", "guess-0123456789abcdef");
    assert_eq!(status, 429, "{reply}");
    assert!(reply.to_lowercase().contains("retry-after: "), "{reply}");
    let (status, _) = get_from(guesser, node.http, "/v1/zones", common::cluster::TOKEN);
    assert_eq!(
        status, 429,
        "a throttled source waits even with the right token"
    );
    let (status, reply) = get_from("127.0.0.5", node.http, "/v1/zones", common::cluster::TOKEN);
    assert_eq!(status, 200, "another address is not throttled: {reply}");
    let log = node.log.text();
    let lines = log
        .lines()
        .filter(|line| line.contains("failed api authentication"))
        .count();
    assert!(
        lines <= 2,
        "failed logins are summarised, not logged one by one ({lines} lines):\n{log}"
    );
}
