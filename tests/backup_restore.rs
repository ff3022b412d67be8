//! Black-box tests of backup, restore and disaster recovery with real processes: a backup
//! taken with `gslbctl cluster snapshot` from a 3-voter cluster is restored by `gslb restore`
//! into a fresh data dir after the whole cluster is gone, and serves every record (API and
//! DNS through a learner that joins it) and new writes; corrupt, truncated and foreign
//! backups and an occupied data dir are refused with clear errors; and `gslb recover` turns
//! the survivor of a lost quorum into a one-voter cluster whose DNS learner keeps following.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::cluster::{
    api_get, json_number, leader_of, put_a, start_three_voters_and_a_learner, wait_until,
    ClusterNode, Kind, SECRET, TOKEN,
};
use common::{TempDir, GSLB};

const GSLBCTL: &str = env!("CARGO_BIN_EXE_gslbctl");

/// How long a change may take to reach every node.
const CONVERGE: Duration = Duration::from_secs(20);

/// The records written before the backup: name → address.
const RECORDS: [(&str, &str); 4] = [
    ("alpha", "198.51.100.1"),
    ("bravo", "198.51.100.2"),
    ("charlie", "198.51.100.3"),
    ("delta", "198.51.100.4"),
];

/// Writes `name` A `address` through `via` until acknowledged.
fn put(via: SocketAddr, name: &str, address: &str) -> u64 {
    let mut last = String::new();
    for _ in 0..50 {
        match put_a(via, "cp.test.", name, address) {
            Ok(version) => return version,
            Err(error) => last = error,
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("writing {name} through {via} never succeeded: {last}");
}

/// True when `via`'s API holds `name` A `address`.
fn api_holds(via: SocketAddr, name: &str, address: &str) -> bool {
    api_get(via, &format!("/v1/zones/cp.test./records/{name}/A"))
        .is_some_and(|(status, body)| status == 200 && body.contains(address))
}

/// Runs a binary and returns its output, echoing it for the test log.
fn run(program: &str, args: &[&str]) -> Output {
    let output = Command::new(program)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run a binary");
    eprintln!(
        "-- {program} {args:?}: {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `gslb restore --from backup --config config` plus `extra`, expected to fail with a
/// message containing `expect`.
fn restore_refused(backup: &Path, config: &Path, extra: &[&str], expect: &str) {
    let mut args = vec![
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = run(GSLB, &args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "restore should have failed");
    assert!(
        stderr.contains(expect),
        "restore's error should say {expect:?}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "restore panicked: {stderr}");
}

/// A concrete free port on loopback for a node whose address must be known before it runs.
fn free_http_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// What does this test do: writes four records through different nodes of a 3-voter cluster,
/// downloads a backup with `gslbctl cluster snapshot --file` through a follower (it asks the
/// leader), kills the whole cluster, and checks that `gslb restore` refuses a corrupt, a
/// truncated and another cluster's backup (exit ≠ 0, a message naming the fault) unless
/// `--allow-other-cluster`; restores into a fresh data dir, refuses a second restore there
/// without `--force` and with it moves the old data aside; starts the
/// restored node and checks every record through its API and through the DNS answers of a
/// new learner that joins it; a new voter joins through seeds and is promoted; and a new
/// record written through that voter reaches the learner's answers.
#[test]
fn a_backup_restores_into_a_new_cluster() {
    let root = TempDir::new("backup-restore");
    let mut nodes = start_three_voters_and_a_learner(&root, CONVERGE);
    eprintln!("-- phase: write records through every voter");
    let mut newest = 0;
    for (index, (name, address)) in RECORDS.iter().enumerate() {
        newest = newest.max(put(nodes[index % 3].http, name, address));
    }

    eprintln!("-- phase: take the backup through a follower");
    let leader = leader_of(&nodes[0]).expect("a leader");
    let follower = nodes.iter().take(3).find(|node| node.id != leader).unwrap();
    let backup = root.0.join("cluster.backup");
    let output = run(
        GSLBCTL,
        &[
            "--api",
            &format!("http://{}", follower.http),
            "--token",
            TOKEN,
            "cluster",
            "snapshot",
            "--file",
            backup.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "gslbctl cluster snapshot failed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("applied index"), "{stdout}");
    let bytes = std::fs::read(&backup).unwrap();
    let header = String::from_utf8_lossy(&bytes[..bytes.iter().position(|&b| b == b'\n').unwrap()])
        .into_owned();
    let applied = json_number(&header, "applied_index").expect("applied_index in the header");
    assert!(
        applied >= newest,
        "backup at {applied} misses version {newest}"
    );
    assert!(header.contains("\"linearizable\":true"), "{header}");
    assert!(
        !header.contains(SECRET),
        "the backup must not carry the secret"
    );

    eprintln!("-- phase: the whole cluster is lost");
    for node in &mut nodes {
        node.kill();
    }

    let fresh = TempDir::new("backup-restored");
    let mut restored = ClusterNode::prepare(&fresh, 1, Kind::Bootstrap, &[]);
    restored.http = free_http_address();
    let config = restored.write_config();

    eprintln!("-- phase: bad backups are refused");
    let mut corrupt = bytes.clone();
    let middle = bytes.len() - 20;
    corrupt[middle] ^= 0x20;
    let corrupt_path = root.write("corrupt.backup", "");
    std::fs::write(&corrupt_path, &corrupt).unwrap();
    restore_refused(&corrupt_path, &config, &[], "checksum mismatch");
    let truncated_path = root.write("truncated.backup", "");
    std::fs::write(&truncated_path, &bytes[..bytes.len() - 7]).unwrap();
    restore_refused(&truncated_path, &config, &[], "truncated");
    let not_a_backup = root.write("zone.backup", "$ORIGIN cp.test.\n");
    restore_refused(&not_a_backup, &config, &[], "not a gslb backup");
    let other_config = fresh.write(
        "other.toml",
        &std::fs::read_to_string(&config)
            .unwrap()
            .replace(SECRET, "another-cluster-secret-987654"),
    );
    restore_refused(&backup, &other_config, &[], "comes from cluster");
    assert!(
        !restored.data_dir().join("snapshot.json").exists(),
        "a refused restore must not write anything"
    );

    eprintln!("-- phase: restore into the fresh data dir");
    let output = run(
        GSLB,
        &[
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "restore failed");
    restore_refused(&backup, &config, &[], "already holds node data");
    let output = run(
        GSLB,
        &[
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--force",
        ],
    );
    assert!(output.status.success(), "restore --force failed");
    let moved = std::fs::read_dir(restored.data_dir())
        .unwrap()
        .filter_map(Result::ok)
        .any(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("pre-restore-")
        });
    assert!(
        moved,
        "--force must move the previous data aside, not delete it"
    );
    let output = run(
        GSLB,
        &[
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--config",
            other_config.to_str().unwrap(),
            "--allow-other-cluster",
        ],
    );
    assert!(
        output.status.success(),
        "restore --allow-other-cluster failed"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("WARNING: adopting"));

    eprintln!("-- phase: the restored node serves every record");
    restored.spawn();
    wait_until(CONVERGE, "the restored node to lead", || {
        leader_of(&restored) == Some(1)
    });
    for (name, address) in RECORDS {
        assert!(api_holds(restored.http, name, address), "{name} missing");
    }
    assert!(api_holds(restored.http, "www", "192.0.2.10"));
    let (_, cluster) = api_get(restored.http, "/v1/cluster").unwrap();
    assert!(cluster.contains("\"voters\":[1]"), "{cluster}");

    eprintln!("-- phase: a DNS learner joins the restored cluster");
    let learner = ClusterNode::start(&fresh, 4, Kind::DnsLearner, &[restored.http]);
    for (name, address) in RECORDS {
        let fqdn = format!("{name}.cp.test");
        wait_until(CONVERGE, &format!("the learner to answer {fqdn}"), || {
            learner.addresses(&fqdn) == [address]
        });
    }

    eprintln!("-- phase: a voter joins the restored cluster through seeds");
    let voter = ClusterNode::start(&fresh, 2, Kind::Voter, &[restored.http]);
    assert!(
        voter
            .log
            .wait_for("joined the cluster as a voter", CONVERGE)
            .is_some(),
        "voter 2 was not promoted; its log:\n{}",
        voter.log.text()
    );
    let (_, cluster) = api_get(restored.http, "/v1/cluster").unwrap();
    assert!(cluster.contains("\"voters\":[1,2]"), "{cluster}");

    eprintln!("-- phase: new writes work and continue the versions");
    let version = put(voter.http, "echo", "198.51.100.5");
    assert!(
        version > applied,
        "version {version} after a backup at {applied}"
    );
    wait_until(CONVERGE, "the learner to answer the new record", || {
        learner.addresses("echo.cp.test") == ["198.51.100.5"]
    });
}

/// What does this test do: on a 3-voter cluster with a DNS learner, kills voters 2 and 3 for
/// good and checks that writes now fail (no quorum); stops voter 1, checks `gslb recover`
/// refuses to act without `--yes-i-know-quorum-is-lost`, then recovers it with the flag;
/// restarts it and checks it is the only voter, still holds the records, takes new writes,
/// and that the learner (never restarted) answers them; a replacement voter then joins
/// through seeds, is promoted, and a write through it reaches the learner.
#[test]
fn the_survivor_of_a_lost_quorum_is_recovered() {
    let root = TempDir::new("recover");
    let mut nodes = start_three_voters_and_a_learner(&root, CONVERGE);
    put(nodes[0].http, "alpha", "198.51.100.1");
    wait_until(CONVERGE, "the learner to answer alpha", || {
        nodes[3].addresses("alpha.cp.test") == ["198.51.100.1"]
    });

    eprintln!("-- phase: voters 2 and 3 are lost for good");
    nodes[1].kill();
    nodes[2].kill();
    assert!(
        put_a(nodes[0].http, "cp.test.", "lost", "198.51.100.9").is_err(),
        "a write without quorum must fail"
    );

    eprintln!("-- phase: recover voter 1");
    nodes[0].stop();
    let config = nodes[0].write_config();
    let config = config.to_str().unwrap();
    let output = run(GSLB, &["recover", "--config", config]);
    assert!(!output.status.success(), "recover without confirmation");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--yes-i-know-quorum-is-lost") && stderr.contains("ONLY voter"),
        "{stderr}"
    );
    let output = run(
        GSLB,
        &["recover", "--config", config, "--yes-i-know-quorum-is-lost"],
    );
    assert!(output.status.success(), "recover failed");

    eprintln!("-- phase: the survivor leads alone and takes writes");
    nodes[0].spawn();
    wait_until(CONVERGE, "the survivor to lead", || {
        leader_of(&nodes[0]) == Some(1)
    });
    let (_, cluster) = api_get(nodes[0].http, "/v1/cluster").unwrap();
    assert!(cluster.contains("\"voters\":[1]"), "{cluster}");
    assert!(api_holds(nodes[0].http, "alpha", "198.51.100.1"));
    put(nodes[0].http, "bravo", "198.51.100.2");
    wait_until(
        CONVERGE,
        "the learner to follow the recovered voter",
        || nodes[3].addresses("bravo.cp.test") == ["198.51.100.2"],
    );
    assert_eq!(nodes[3].addresses("alpha.cp.test"), ["198.51.100.1"]);

    eprintln!("-- phase: a replacement voter joins the recovered cluster");
    let replacement = ClusterNode::start(&root, 6, Kind::Voter, &[nodes[0].http]);
    assert!(
        replacement
            .log
            .wait_for("joined the cluster as a voter", CONVERGE)
            .is_some(),
        "voter 6 was not promoted; its log:\n{}",
        replacement.log.text()
    );
    put(replacement.http, "charlie", "198.51.100.3");
    wait_until(
        CONVERGE,
        "the learner to answer a write through voter 6",
        || nodes[3].addresses("charlie.cp.test") == ["198.51.100.3"],
    );
}
