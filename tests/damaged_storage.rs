//! Black-box tests of damaged storage: the case (4 KiB of random bytes written into a
//! stopped node's `kv/db`) at several seeded offsets. A DNS node must come back answering
//! every acknowledged write from its first answer (re-synced from the leader when its data
//! was damaged); a voter must either refuse with an error naming the file and pointing at
//! `gslb restore` / `gslb recover`, or come back with every write.

mod common;

use std::path::Path;
use std::time::Duration;

use common::cluster::{api_get, put_a, wait_until, ClusterNode, Kind};
use common::TempDir;

/// How long a cluster may take to converge after a start.
const CONVERGE: Duration = Duration::from_secs(30);
/// Rounds of damage per test.
const ROUNDS: u64 = 4;

/// What does this test do: a voter and a DNS node; each round writes ten names, stops the
/// DNS node, writes 4 KiB of random bytes at a seeded offset of its `kv/db`, writes ten more
/// names while it is down, stops the voter too, and starts the DNS node while no leader
/// exists (the voter comes back 6 s later). The moment it listens it answers every name it
/// had applied before the stop: undamaged, from its restored state (static stability);
/// damaged, only after waiting for the leader and re-syncing, never from what is left. Once
/// the voter is back it answers every acknowledged name.
#[test]
fn a_dns_node_with_a_damaged_db_answers_every_acknowledged_write() {
    let root = TempDir::new("damaged-dns");
    let mut voter = ClusterNode::start(&root, 1, Kind::Bootstrap, &[]);
    wait_zone(&voter);
    let mut learner = ClusterNode::start(&root, 2, Kind::DnsLearner, &[voter.http]);
    let mut acknowledged = Vec::new();
    for round in 0..ROUNDS {
        for index in 0..10 {
            let name = format!("r{round}-up-{index}");
            put_a(voter.http, "cp.test.", &name, "192.0.2.40").unwrap();
            acknowledged.push(name);
        }
        let last = acknowledged.last().unwrap().clone();
        wait_until(
            CONVERGE,
            "the DNS node to answer the round's writes",
            || !learner.addresses(&format!("{last}.cp.test.")).is_empty(),
        );
        // What the DNS node had applied when it stopped: what it must answer, leader or not.
        let applied_before_stop = acknowledged.clone();
        learner.stop();
        let damage = corrupt(&learner.data_dir().join("kv").join("db"), round);
        eprintln!("phase: round {round}: {damage}");
        for index in 0..10 {
            let name = format!("r{round}-down-{index}");
            put_a(voter.http, "cp.test.", &name, "192.0.2.41").unwrap();
            acknowledged.push(name);
        }
        voter.stop();
        // Checked the moment it listens, before the voter is necessarily back.
        let missing: Vec<&String> = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_secs(6));
                voter.spawn();
            });
            learner.spawn();
            applied_before_stop
                .iter()
                .filter(|name| learner.addresses(&format!("{name}.cp.test.")).is_empty())
                .collect()
        });
        assert!(
            missing.is_empty(),
            "round {round} ({damage}): answering without {missing:?}; log:\n{}",
            learner.log.text()
        );
        let resynced = learner.log.text().contains("damaged storage");
        eprintln!("round {round}: every write it had answered (re-synced: {resynced})");
        wait_until(CONVERGE, "the voter to lead again", || {
            put_a(voter.http, "cp.test.", "probe", "192.0.2.42").is_ok()
        });
        for name in &acknowledged {
            let fqdn = format!("{name}.cp.test.");
            wait_until(CONVERGE, &format!("the DNS node to answer {fqdn}"), || {
                !learner.addresses(&fqdn).is_empty()
            });
        }
    }
}

/// What does this test do: a single voter acknowledges names; each round stops it, writes
/// 4 KiB of random bytes at a seeded offset of its `kv/db`, and starts it: it exits non-zero
/// with an error naming the data dir and `gslb restore` / `gslb recover`, or it comes back
/// ready holding every acknowledged name. A refusing round restores the undamaged copy.
#[test]
fn a_voter_with_a_damaged_db_refuses_or_keeps_every_write() {
    let root = TempDir::new("damaged-voter");
    let mut voter = ClusterNode::start(&root, 1, Kind::Bootstrap, &[]);
    wait_zone(&voter);
    let mut acknowledged = Vec::new();
    let (mut refused, mut intact) = (0, 0);
    for round in 0..ROUNDS {
        for index in 0..10 {
            let name = format!("v{round}-{index}");
            put_a(voter.http, "cp.test.", &name, "192.0.2.50").unwrap();
            acknowledged.push(name);
        }
        voter.stop();
        let db = voter.data_dir().join("kv").join("db");
        let pristine = std::fs::read(&db).unwrap();
        let damage = corrupt(&db, 100 + round);
        eprintln!("phase: round {round}: {damage}");
        voter.spawn();
        let child = voter.child.as_mut().unwrap();
        if let Some(status) = common::wait_exit(child, Duration::from_secs(5)) {
            let log = voter.log.text();
            assert!(!status.success(), "round {round}: exited {status}:\n{log}");
            assert!(
                log.contains("gslb restore") && log.contains("gslb recover"),
                "round {round} ({damage}): exited {status}, the error does not point at restore/recover:\n{log}"
            );
            assert!(
                log.contains(&voter.data_dir().display().to_string()),
                "round {round} ({damage}): the error names no file:\n{log}"
            );
            voter.child = None;
            refused += 1;
            std::fs::write(&db, pristine).unwrap();
            voter.spawn();
        } else {
            intact += 1;
        }
        wait_until(CONVERGE, "the voter to be ready", || {
            voter
                .readyz()
                .is_some_and(|(status, body)| status == 200 && body.contains("\"ready\":true"))
        });
        for name in &acknowledged {
            let path = format!("/v1/zones/cp.test./records/{name}/A");
            let reply = api_get(voter.http, &path);
            assert!(
                reply.as_ref().is_some_and(|(status, _)| *status == 200),
                "round {round} ({damage}): ready without {name}: {reply:?}"
            );
        }
    }
    eprintln!("voter rounds: {refused} refused, {intact} intact");
    voter.stop();
}

/// Waits until the bootstrap voter imported its zone file.
fn wait_zone(voter: &ClusterNode) {
    wait_until(CONVERGE, "the zone file to be imported", || {
        api_get(voter.http, "/v1/zones/cp.test.").is_some_and(|(status, _)| status == 200)
    });
}

/// Writes 4 KiB of seeded random bytes at a seeded offset of `file`; says what it did.
fn corrupt(file: &Path, seed: u64) -> String {
    let mut state = (seed + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut bytes = std::fs::read(file).unwrap();
    let offset = (next() % bytes.len() as u64) as usize;
    let count = 4096.min(bytes.len() - offset);
    for byte in &mut bytes[offset..offset + count] {
        *byte = next() as u8;
    }
    std::fs::write(file, &bytes).unwrap();
    format!(
        "{count} random bytes at offset {offset} of {} ({} bytes)",
        file.display(),
        bytes.len()
    )
}
