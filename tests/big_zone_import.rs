//! Big zone imports through the real control plane: three voters and two DNS learners as
//! `gslb serve` processes, `gslbctl zone import` of a 20,000-record zone (staged through
//! Raft in bounded chunks and switched in by one commit), every sampled name answered by
//! both DNS nodes, no election while it ran; an import cut off mid-way leaves the old zone
//! whole and no staging behind; a zone over `max_zone_records` gets a 413 naming the limit.
//!
//! Correctness only: how long an import takes is `benches/big_zone_import.sh`'s business.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use common::cluster::{api_get, leader_of, wait_until, ClusterNode, Kind, TOKEN};
use common::TempDir;

const GSLBCTL: &str = env!("CARGO_BIN_EXE_gslbctl");

/// Records in the imported zone: big enough to need several staged chunks of 64 KiB,
/// small enough for a debug build.
const N_HOSTS: usize = 20_000;

/// The per-zone record limit the voters run with: above `N_HOSTS` and its SOA and NS.
const MAX_ZONE_RECORDS: usize = 25_000;

/// Raft timing with room for a loaded machine (2 cores shared by many builds, a debug
/// build): openraft gives each append call one heartbeat interval, the follower's fsync
/// included, so the interval is long; an election here means a heartbeat waited seconds,
/// which is the fault under test, not noise.
const PATIENT_RAFT: &str = "[control.raft]\nheartbeat = \"1000ms\"\nelection_min = \"5000ms\"\n\
                            election_max = \"10000ms\"\nsnapshot_every = 50\n";

/// Generous bound on each wait: debug build, loaded machine.
const CONVERGE: Duration = Duration::from_secs(120);

/// `big.test.` with `n` hosts `h0 … h{n-1}`, host `k` at `10.<octet>.<k / 256 % 256>.<k % 256>`.
fn big_zone(n: usize, octet: u8) -> String {
    let mut text = String::with_capacity(n * 28 + 200);
    text.push_str(
        "$ORIGIN big.test.\n$TTL 300\n\
         @ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 60\n@ 3600 IN NS ns1\n\
         ns1 IN A 192.0.2.53\n",
    );
    for k in 0..n {
        text.push_str(&format!(
            "h{k} IN A 10.{octet}.{}.{}\n",
            k / 256 % 256,
            k % 256
        ));
    }
    text
}

/// The address host `k` has in `big_zone(_, octet)`.
fn host_address(k: usize, octet: u8) -> String {
    format!("10.{octet}.{}.{}", k / 256 % 256, k % 256)
}

/// The value of an unlabelled metric in node `via`'s `/metrics`.
fn metric(via: SocketAddr, name: &str) -> Option<u64> {
    let (status, body) = api_get(via, "/metrics")?;
    if status != 200 {
        return None;
    }
    body.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map(|value| value as u64)
}

/// Election rounds each voter has seen since it started.
fn elections(voters: &[ClusterNode]) -> Vec<u64> {
    voters
        .iter()
        .map(|voter| metric(voter.http, "gslb_raft_elections_total").expect("elections metric"))
        .collect()
}

/// Three voters with the record limit and patient timing, and DNS learners 4 and 5, all
/// answering the bootstrap zone.
fn start_cluster(root: &TempDir) -> (Vec<ClusterNode>, Vec<ClusterNode>) {
    eprintln!("-- phase: start 3 voters and 2 DNS learners");
    let limits = format!("[control.limits]\nmax_zone_records = {MAX_ZONE_RECORDS}\n");
    let mut first = ClusterNode::prepare(root, 1, Kind::Bootstrap, &[]);
    first.import_zone = true;
    first.raft_timing = PATIENT_RAFT.to_string();
    first.extra = limits.clone();
    first.spawn();
    wait_until(CONVERGE, "voter 1 to lead its new cluster", || {
        leader_of(&first) == Some(1)
    });
    let mut voters = vec![first];
    for id in [2, 3] {
        let mut voter = ClusterNode::prepare(root, id, Kind::Voter, &[voters[0].http]);
        voter.raft_timing = PATIENT_RAFT.to_string();
        voter.extra = limits.clone();
        voter.spawn();
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
    let seeds: Vec<SocketAddr> = voters.iter().map(|node| node.http).collect();
    let mut dns_nodes = Vec::new();
    for id in [4, 5] {
        let mut learner = ClusterNode::prepare(root, id, Kind::DnsLearner, &seeds);
        learner.raft_timing = PATIENT_RAFT.to_string();
        learner.spawn();
        dns_nodes.push(learner);
    }
    for node in &dns_nodes {
        wait_until(
            CONVERGE,
            "each DNS learner to answer the bootstrap zone",
            || node.addresses("www.cp.test") == ["192.0.2.10"],
        );
    }
    (voters, dns_nodes)
}

/// Hosts to ask for: both ends and a spread between.
fn sampled_hosts() -> Vec<usize> {
    let mut hosts: Vec<usize> = (0..N_HOSTS).step_by(N_HOSTS / 20).collect();
    hosts.extend([1, 255, 256, N_HOSTS / 2 + 7, N_HOSTS - 2, N_HOSTS - 1]);
    hosts
}

/// Asserts every sampled host answers `octet`'s address on every DNS node.
fn assert_zone_served(dns_nodes: &[ClusterNode], octet: u8) {
    for node in dns_nodes {
        for k in sampled_hosts() {
            let name = format!("h{k}.big.test");
            assert_eq!(
                node.addresses(&name),
                [host_address(k, octet)],
                "{} answers {name}",
                node.name
            );
        }
    }
}

/// The lines of `node`'s log about imports, for the test's own log.
fn import_lines(node: &ClusterNode) -> String {
    node.log
        .text()
        .lines()
        .filter(|line| {
            line.contains("import")
                || line.contains("election")
                || line.contains("WARN")
                || line.contains("ERROR")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `gslbctl zone import` of `file` through `node`; its output, asserting success.
fn gslbctl_import(node: &ClusterNode, file: &std::path::Path) -> String {
    let output = Command::new(GSLBCTL)
        .args(["--api", &format!("http://{}", node.http), "--token", TOKEN])
        .args(["zone", "import"])
        .arg(file)
        .args(["--zone", "big.test.", "--timeout", "300s"])
        .output()
        .expect("run gslbctl");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "gslbctl zone import failed: {stdout}\n{stderr}\n{}",
        import_lines(node)
    );
    eprintln!("{}", import_lines(node));
    stdout
}

/// What does this test do: imports a 20,000-record zone with `gslbctl zone import` through a
/// three-voter cluster; both DNS learners answer every sampled name, no voter saw an
/// election while it ran, and no staging area is left. Then an import of a changed zone is
/// cut off (the client's connection closed) once its staging began: the old zone answers
/// everywhere and the staging area is aborted. Last, a zone over the node's
/// `max_zone_records` gets 413 naming the limit and the count.
#[test]
fn a_big_import_is_whole_or_nothing_without_an_election() {
    let root = TempDir::new("big-zone-import");
    let (voters, dns_nodes) = start_cluster(&root);
    let leader = leader_of(&voters[0]).expect("a leader");
    let leader_node = voters
        .iter()
        .find(|voter| voter.id == leader)
        .expect("the leader is a voter");
    let via = leader_node.http;

    eprintln!("-- phase: import {N_HOSTS} records");
    let file = root.write("big.test.zone", &big_zone(N_HOSTS, 1));
    let before = elections(&voters);
    let output = std::panic::catch_unwind(|| gslbctl_import(leader_node, &file));
    let output = output.unwrap_or_else(|panic| {
        for voter in &voters {
            eprintln!("== {}:\n{}", voter.name, import_lines(voter));
        }
        std::panic::resume_unwind(panic)
    });
    eprintln!("gslbctl: {output}");
    let after = elections(&voters);
    assert_eq!(
        before, after,
        "election rounds per voter before and after the import"
    );
    assert_zone_served(&dns_nodes, 1);
    for voter in &voters {
        wait_until(CONVERGE, "no staging area left on any voter", || {
            metric(voter.http, "gslb_zone_imports_staged") == Some(0)
        });
    }

    eprintln!("-- phase: an import cut off after its staging began");
    let changed = big_zone(N_HOSTS, 2);
    let mut stream = TcpStream::connect(via).expect("connect to the API");
    let head = format!(
        "PUT /v1/zones/big.test./zonefile HTTP/1.1\r\nHost: {via}\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Type: text/dns\r\n\
         Content-Length: {}\r\n\r\n",
        changed.len()
    );
    let staging_lines_before = leader_node.log.text().matches("import: staging").count();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(changed.as_bytes()).unwrap();
    wait_until(CONVERGE, "the cut-off import to begin staging", || {
        leader_node.log.text().matches("import: staging").count() > staging_lines_before
    });
    drop(stream);
    for voter in &voters {
        wait_until(
            CONVERGE,
            "the cut-off import's staging to be aborted",
            || metric(voter.http, "gslb_zone_imports_staged") == Some(0),
        );
    }
    assert!(
        leader_node
            .log
            .wait_for("cut off before its commit; aborting", CONVERGE)
            .is_some(),
        "the leader's log says the import was cut off:\n{}",
        leader_node.log.text()
    );
    assert_zone_served(&dns_nodes, 1);

    eprintln!("-- phase: a zone over max_zone_records");
    let too_big = big_zone(MAX_ZONE_RECORDS, 3);
    let (status, body) = http_text(via, "/v1/zones/big.test./zonefile", &too_big);
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("\"path\":\"control.limits.max_zone_records\""),
        "{body}"
    );
    let n_records = MAX_ZONE_RECORDS + 2; // the hosts, ns1's address and the apex NS
    assert!(
        body.contains(&format!(
            "has {n_records} records, over the limit of {MAX_ZONE_RECORDS}"
        )),
        "the count seen and the limit: {body}"
    );
    assert_zone_served(&dns_nodes[..1], 1);
}

/// `PUT path` with a `text/dns` body and the admin token: status and body.
fn http_text(to: SocketAddr, path: &str, body: &str) -> (u16, String) {
    use std::io::Read;
    let mut stream = TcpStream::connect(to).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let request = format!(
        "PUT {path} HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Type: text/dns\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}
