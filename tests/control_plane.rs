//! Black-box tests of the control plane wired into `gslb serve`: three voters and two DNS
//! learners as real processes on loopback. A write reaches both learners' DNS answers; no
//! acknowledged write is lost when the leader is killed; learners keep answering, even across
//! a restart, while every voter is down; and a whole cluster restarted recovers its state.

mod common;

use std::time::{Duration, Instant};

use common::cluster::{leader_of, put_a, wait_until, ClusterNode, Kind};
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

    /// Writes until acknowledged through the API (a write whose outcome is unknown is
    /// repeated: writes are idempotent), through each running node in turn.
    fn put_until_acknowledged(&self, name: &str, address: &str) -> u64 {
        let deadline = Instant::now() + CONVERGE;
        let mut last = String::new();
        let mut vias = self
            .learners
            .iter()
            .chain(&self.voters)
            .filter(|node| node.child.is_some())
            .map(|node| node.http)
            .cycle();
        while Instant::now() < deadline {
            match put_a(vias.next().unwrap(), "cp.test.", name, address) {
                Ok(version) => return version,
                Err(error) => last = error,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("write of {name} not acknowledged within {CONVERGE:?}; last error: {last}");
    }

    fn all(&mut self) -> impl Iterator<Item = &mut ClusterNode> {
        self.voters.iter_mut().chain(self.learners.iter_mut())
    }
}

/// A write shows in both learners' DNS answers; with every voter killed the
/// learners keep answering, a learner restarted meanwhile answers its last state, and once
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
            assert_eq!(
                learner.addresses("new.cp.test"),
                ["192.0.2.77"],
                "{}",
                learner.name
            );
            assert_eq!(
                learner.addresses("www.cp.test"),
                ["192.0.2.10"],
                "{}",
                learner.name
            );
        }
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
/// both learners' answers afterwards, and still is after every process was stopped and started
/// again (the whole cluster recovers its state from disk).
#[test]
fn killing_the_leader_loses_no_acknowledged_write() {
    let root = TempDir::new("cp-leader");
    let mut cluster = Cluster::start(&root);
    let leader = leader_of(&cluster.voters[0]).expect("a leader");
    eprintln!("-- phase: stream writes, kill -9 the leader (voter {leader}) midway");
    let mut acknowledged = Vec::new();
    for index in 0..30u32 {
        if index == 10 {
            cluster.voters[(leader - 1) as usize].kill();
        }
        let name = format!("w{index}.cp.test.");
        let address = format!("192.0.2.{}", 100 + index);
        cluster.put_until_acknowledged(&name, &address);
        acknowledged.push((name, address));
    }

    eprintln!("-- phase: every acknowledged write is answered by both learners");
    for (name, address) in &acknowledged {
        cluster.wait_answers(name.trim_end_matches('.'), address);
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
    }
    cluster.put_until_acknowledged("again.cp.test.", "192.0.2.99");
    cluster.wait_answers("again.cp.test", "192.0.2.99");
}
