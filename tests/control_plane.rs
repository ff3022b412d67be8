//! Black-box tests of the control plane wired into `gslb serve`: three voters and two DNS
//! learners as real processes on loopback. A write reaches both learners' DNS answers; no
//! acknowledged write is lost when the leader is killed; learners keep answering, even across
//! a restart, while every voter is down; and a whole cluster restarted recovers its state.

mod common;

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::cluster::{api_get, leader_of, put_a, wait_until, ClusterNode, Kind};
use common::TempDir;

/// How long a change may take to show in every learner's answers.
const CONVERGE: Duration = Duration::from_secs(20);

/// Three voters (one bootstraps and imports the zone file, two join and are promoted) and two
/// DNS learners, each started once the previous ones are up.
struct Cluster {
    voters: Vec<ClusterNode>,
    learners: Vec<ClusterNode>,
}

impl Cluster {
    fn start(root: &TempDir) -> Cluster {
        eprintln!("-- phase: start the voters");
        let first = ClusterNode::start(root, 1, Kind::Bootstrap, &[]);
        wait_until(CONVERGE, "voter 1 to lead its new cluster", || {
            leader_of(&first) == Some(1)
        });
        let mut voters = vec![first];
        for id in [2, 3] {
            let voter = ClusterNode::start(root, id, Kind::Voter, &[voters[0].http]);
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
        eprintln!("-- phase: start the DNS learners");
        let seeds: Vec<_> = voters.iter().map(|voter| voter.http).collect();
        let learners: Vec<ClusterNode> = [4, 5]
            .into_iter()
            .map(|id| ClusterNode::start(root, id, Kind::DnsLearner, &seeds))
            .collect();
        let cluster = Cluster { voters, learners };
        cluster.wait_answers("www.cp.test", "192.0.2.10");
        cluster
    }

    /// Waits until every running learner answers `name` A with exactly `address`.
    fn wait_answers(&self, name: &str, address: &str) {
        for learner in self.learners.iter().filter(|node| node.child.is_some()) {
            wait_until(
                CONVERGE,
                &format!("{} to answer {name} A {address}", learner.name),
                || learner.addresses(name) == [address],
            );
        }
    }

    /// The HTTP addresses of the running nodes, learners first.
    fn running(&self) -> Vec<SocketAddr> {
        self.learners
            .iter()
            .chain(&self.voters)
            .filter(|node| node.child.is_some())
            .map(|node| node.http)
            .collect()
    }

    /// Writes until acknowledged through the API of the running nodes.
    fn put_until_acknowledged(&self, name: &str, address: &str) -> u64 {
        put_until_acknowledged(&self.running(), name, address)
    }

    /// Waits until every running voter's API holds `name` A `address` in its local state.
    fn wait_voters_hold(&self, name: &str, address: &str) {
        for voter in self.voters.iter().filter(|node| node.child.is_some()) {
            let path = format!("/v1/zones/cp.test./records/{name}/A");
            wait_until(
                CONVERGE,
                &format!("{} to hold {name} A {address}", voter.name),
                || {
                    api_get(voter.http, &path)
                        .is_some_and(|(status, body)| status == 200 && body.contains(address))
                },
            );
        }
    }

    fn all(&mut self) -> impl Iterator<Item = &mut ClusterNode> {
        self.voters.iter_mut().chain(self.learners.iter_mut())
    }
}

/// True when `node` answers `name` A with exactly `address` within three queries (one lost
/// datagram or a dig timeout on a loaded CI machine is not a wrong answer).
fn answers_soon(node: &ClusterNode, name: &str, address: &str) -> bool {
    (0..3).any(|_| node.addresses(name) == [address])
}

/// Writes until acknowledged through the API (a write whose outcome is unknown is repeated:
/// writes are idempotent), through each of `vias` in turn.
fn put_until_acknowledged(vias: &[SocketAddr], name: &str, address: &str) -> u64 {
    let deadline = Instant::now() + CONVERGE;
    let mut last = String::new();
    let mut vias = vias.iter().cycle();
    while Instant::now() < deadline {
        match put_a(*vias.next().unwrap(), "cp.test.", name, address) {
            Ok(version) => return version,
            Err(error) => last = error,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("write of {name} not acknowledged within {CONVERGE:?}; last error: {last}");
}

/// A write shows in both learners' DNS answers; with every voter killed the
/// learners keep answering (ready, and stale in `/readyz`), a learner restarted meanwhile answers its last state, and once
/// the voters are back a new write goes through again.
#[test]
fn learners_answer_writes_and_outlive_the_voters() {
    let root = TempDir::new("cp-static");
    let mut cluster = Cluster::start(&root);

    eprintln!("-- phase: write through a learner's API");
    let version = put_a(
        cluster.learners[0].http,
        "cp.test.",
        "new.cp.test.",
        "192.0.2.77",
    )
    .expect("the write is acknowledged");
    cluster.wait_answers("new.cp.test", "192.0.2.77");
    wait_until(
        CONVERGE,
        "the change to be INSYNC on every DNS node",
        || cluster.voters[0].change_status(version).as_deref() == Some("INSYNC"),
    );

    eprintln!("-- phase: kill -9 every voter");
    for voter in &mut cluster.voters {
        voter.kill();
    }
    // Longer than an election timeout: the learners notice no leader, and must not care.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        for learner in &cluster.learners {
            for (name, address) in [("new.cp.test", "192.0.2.77"), ("www.cp.test", "192.0.2.10")] {
                assert!(
                    answers_soon(learner, name, address),
                    "{} stopped answering {name} A {address}",
                    learner.name
                );
            }
        }
    }

    // ... and say so in /readyz, still ready (stale_after is 1 s in these configs).
    for learner in &cluster.learners {
        wait_until(
            CONVERGE,
            &format!("{} to report stale", learner.name),
            || {
                learner
                    .readyz()
                    .is_some_and(|(status, body)| status == 200 && body.contains("\"stale\":true"))
            },
        );
    }

    eprintln!("-- phase: restart a learner while the voters are down");
    cluster.learners[1].kill();
    cluster.learners[1].spawn();
    assert_eq!(cluster.learners[1].addresses("new.cp.test"), ["192.0.2.77"]);
    assert_eq!(cluster.learners[1].addresses("www.cp.test"), ["192.0.2.10"]);

    eprintln!("-- phase: restart the voters; writes go through again");
    for voter in &mut cluster.voters {
        voter.spawn();
    }
    cluster.put_until_acknowledged("after.cp.test.", "192.0.2.88");
    cluster.wait_answers("after.cp.test", "192.0.2.88");
    cluster.wait_answers("new.cp.test", "192.0.2.77");
}

/// A stream of writes while the leader is killed with SIGKILL: every acknowledged write is in
/// both learners' answers and every voter's state afterwards, and still is after every
/// process was stopped and started again (the whole cluster recovers its state from disk).
#[test]
fn killing_the_leader_loses_no_acknowledged_write() {
    let root = TempDir::new("cp-leader");
    let mut cluster = Cluster::start(&root);
    let leader = leader_of(&cluster.voters[0]).expect("a leader");
    eprintln!("-- phase: stream writes, kill -9 the leader (voter {leader}) midway");
    // The writer runs on its own thread so the kill lands while writes are in flight.
    let vias = cluster.running();
    let (acked_tx, acked_rx) = mpsc::channel();
    let writer = std::thread::spawn(move || {
        for index in 0..30u32 {
            let name = format!("w{index}.cp.test.");
            let address = format!("192.0.2.{}", 100 + index);
            put_until_acknowledged(&vias, &name, &address);
            if acked_tx.send((name, address)).is_err() {
                return;
            }
        }
    });
    let mut acknowledged = Vec::new();
    for _ in 0..10 {
        acknowledged.push(
            acked_rx
                .recv_timeout(CONVERGE)
                .expect("ten writes acknowledged"),
        );
    }
    cluster.voters[(leader - 1) as usize].kill();
    acknowledged.extend(acked_rx.iter());
    writer.join().expect("the writer finishes");
    assert_eq!(acknowledged.len(), 30);

    eprintln!("-- phase: every acknowledged write is answered by both learners");
    for (name, address) in &acknowledged {
        cluster.wait_answers(name.trim_end_matches('.'), address);
        cluster.wait_voters_hold(name, address);
    }

    // 30 writes and the membership entries pass `snapshot_every = 20`: the restart below
    // restores every surviving node from a snapshot plus the log after it.
    for node in cluster.all().filter(|node| node.child.is_some()) {
        let name = node.name.clone();
        wait_until(CONVERGE, &format!("{name} to take a snapshot"), || {
            node.has_snapshot()
        });
    }

    eprintln!("-- phase: stop and restart every process");
    for node in cluster.all() {
        node.stop();
    }
    for node in cluster.all() {
        node.spawn();
    }
    for (name, address) in &acknowledged {
        cluster.wait_answers(name.trim_end_matches('.'), address);
        cluster.wait_voters_hold(name, address);
    }
    cluster.put_until_acknowledged("again.cp.test.", "192.0.2.99");
    cluster.wait_answers("again.cp.test", "192.0.2.99");
}

/// A bootstrap voter restarted with a zone file added to its config imports it while the
/// cluster it created is still untouched (no zone, no user write), e.g. after stopping
/// between creating the cluster and importing; a DNS learner then answers it.
#[test]
fn an_untouched_cluster_imports_zone_files_on_restart() {
    let root = TempDir::new("cp-late-import");
    let mut voter = ClusterNode::start_with(&root, 1, Kind::Bootstrap, &[], false);
    wait_until(CONVERGE, "voter 1 to lead its new cluster", || {
        leader_of(&voter) == Some(1)
    });
    let learner = ClusterNode::start(&root, 2, Kind::DnsLearner, &[voter.http]);
    assert!(
        learner
            .log
            .wait_for("recorded this node as a member", CONVERGE)
            .is_some(),
        "learner joined; its log:\n{}",
        learner.log.text()
    );
    assert_eq!(learner.dig(&["www.cp.test", "A"]).status(), "REFUSED");

    eprintln!("-- phase: restart the voter with a zone file in its config");
    voter.stop();
    voter.import_zone = true;
    voter.spawn();
    wait_until(CONVERGE, "the learner to answer the imported zone", || {
        learner.addresses("www.cp.test") == ["192.0.2.10"]
    });
}

/// What does this test do: a DNS node gone for good keeps every change `PENDING` until an
/// operator removes it. `gslbctl cluster remove 5` takes learner 5 out of the membership and
/// forgets its member record; the pending change then turns `INSYNC` on the remaining DNS
/// node, and `/v1/cluster` no longer lists node 5. Removing a voter is refused with a reason,
/// and so is removing the live node 4 without `--force`; `cluster status` shows each
/// member's last contact.
#[test]
fn removing_a_dead_dns_node_lets_changes_go_insync() {
    let root = TempDir::new("cp-remove");
    let voter = ClusterNode::start(&root, 1, Kind::Bootstrap, &[]);
    wait_until(CONVERGE, "voter 1 to lead its new cluster", || {
        leader_of(&voter) == Some(1)
    });
    let mut learners: Vec<ClusterNode> = [4, 5]
        .into_iter()
        .map(|id| ClusterNode::start(&root, id, Kind::DnsLearner, &[voter.http]))
        .collect();
    for learner in &learners {
        wait_until(CONVERGE, &format!("{} to answer", learner.name), || {
            learner.addresses("www.cp.test") == ["192.0.2.10"]
        });
    }

    wait_until(CONVERGE, "both DNS nodes to be recorded as members", || {
        api_get(voter.http, "/v1/cluster")
            .is_some_and(|(_, body)| body.contains("\"id\":4,") && body.contains("\"id\":5,"))
    });

    eprintln!("-- phase: learner 5 dies; a write stays PENDING");
    learners[1].kill();
    let version =
        put_a(voter.http, "cp.test.", "gone.cp.test.", "192.0.2.55").expect("acknowledged");
    wait_until(CONVERGE, "learner 4 to answer the write", || {
        learners[0].addresses("gone.cp.test") == ["192.0.2.55"]
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        voter.change_status(version).as_deref(),
        Some("PENDING"),
        "node 5 never applied it"
    );

    let gslbctl = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_gslbctl"))
            .args(["--api", &format!("http://{}", voter.http)])
            .args(["--token", common::cluster::TOKEN])
            .args(args)
            .output()
            .expect("gslbctl runs");
        (
            output.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    };
    eprintln!("-- phase: a voter cannot be removed this way");
    let (ok, output) = gslbctl(&["cluster", "remove", "1"]);
    assert!(!ok && output.contains("is a voter"), "{output}");

    eprintln!("-- phase: a live DNS node is refused without --force, naming why");
    let (ok, output) = gslbctl(&["cluster", "remove", "4"]);
    assert!(
        !ok && output.contains("node 4 is reachable") && output.contains("--force"),
        "{output}"
    );
    eprintln!("-- phase: cluster status shows last contact; node 5 goes unreachable");
    wait_until(CONVERGE, "node 5 to be shown unreachable", || {
        let (ok, output) = gslbctl(&["cluster", "status"]);
        ok && output.contains("LAST CONTACT")
            && output
                .lines()
                .any(|line| line.starts_with('5') && line.contains("UNREACHABLE"))
            && output.lines().any(|line| {
                line.starts_with('4') && line.contains("s ago") && !line.contains("UNREACHABLE")
            })
    });

    eprintln!("-- phase: gslbctl cluster remove 5");
    let (ok, output) = gslbctl(&["cluster", "remove", "5"]);
    assert!(ok, "{output}");
    wait_until(CONVERGE, "the pending change to turn INSYNC", || {
        voter.change_status(version).as_deref() == Some("INSYNC")
    });
    let (status, body) = api_get(voter.http, "/v1/cluster").expect("/v1/cluster");
    assert_eq!(status, 200, "{body}");
    let cluster: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ids = |key: &str| -> Vec<u64> {
        cluster[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_u64().or_else(|| item["id"].as_u64()))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(!ids("members").contains(&5), "{body}");
    assert!(ids("members").contains(&4), "{body}");
    let learners: Vec<u64> = cluster["node"]["learners"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|id| id.as_u64())
        .collect();
    assert_eq!(learners, [4], "node 5 left the Raft membership: {body}");
    let (ok, output) = gslbctl(&["cluster", "remove", "5"]);
    assert!(
        !ok && output.contains("no learner 5"),
        "removed once: {output}"
    );
}
