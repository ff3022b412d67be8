//! Black-box compatibility tests: a data directory and a backup file written by the binary
//! of commit 2400044 (the last one before the pure domain moved into `gslb-model`) still load
//! in the current binary. The fixtures and how they were made are described in
//! `tests/fixtures/compat/README.md`; a change to the Raft log, snapshot or backup format that
//! old nodes cannot read fails here.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::cluster::{api_get, wait_until, ClusterNode, Kind};
use common::{TempDir, GSLB};

/// How long a node may take to replay its log and answer.
const CONVERGE: Duration = Duration::from_secs(30);

/// The fixture directory.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compat")
}

/// A concrete free port on loopback for a node whose address must be known before it runs.
fn free_http_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A one-voter node (id 1, the tests' secret and token, a DNS listener) in `root`, not
/// started yet.
fn voter_with_dns(root: &TempDir) -> ClusterNode {
    let mut node = ClusterNode::prepare(root, 1, Kind::Bootstrap, &[]);
    node.http = free_http_address();
    node.dns = Some(common::dns_listen_address());
    node
}

/// Waits until `node` answers what the old binary answered for the fixture's data, through
/// DNS and the API.
fn assert_serves_the_old_data(node: &ClusterNode) {
    wait_until(
        CONVERGE,
        "the zone from the old data to be answered",
        || node.addresses("www.compat.test") == ["192.0.2.10"],
    );
    assert_eq!(node.addresses("mx1.compat.test"), ["192.0.2.25"]);
    assert_eq!(
        node.addresses("late.compat.test"),
        ["192.0.2.77"],
        "the write after the old snapshot"
    );
    assert_eq!(
        node.addresses("app.compat.test"),
        ["198.51.100.20"],
        "the GSLB record (failover over the old region and endpoint)"
    );
    let mx = node.dig(&["mail.compat.test", "MX", "+norec"]);
    assert_eq!(mx.status(), "NOERROR");
    assert!(
        mx.records("ANSWER")
            .iter()
            .any(|record| record.ends_with(&["10".to_string(), "mx1.compat.test.".to_string()])),
        "MX answer: {:?}",
        mx.records("ANSWER")
    );
    let txt = node.dig(&["txt.compat.test", "TXT", "+norec"]);
    assert!(
        txt.section("ANSWER")
            .iter()
            .any(|line| line.contains(r#""hello \"old\" world""#)),
        "TXT answer: {:?}",
        txt.section("ANSWER")
    );
    let v6 = node.dig(&["v6.compat.test", "AAAA", "+norec"]);
    assert!(
        v6.section("ANSWER")
            .iter()
            .any(|line| line.contains("2001:db8::6")),
        "AAAA answer: {:?}",
        v6.section("ANSWER")
    );
    for (path, wanted) in [
        ("/v1/regions", "eu-1"),
        ("/v1/endpoints", "web-eu"),
        ("/v1/zones/compat.test./records", "mx1.compat.test."),
        ("/v1/networks", "203.0.113.0/24"),
    ] {
        let (status, body) = api_get(node.http, path).expect("the API answers");
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains(wanted), "{path} lacks {wanted}: {body}");
    }
}

/// What does this test do: unpacks the data directory the old binary left behind (Raft log,
/// vote, a snapshot at index 5 and one entry after it), starts the current binary on it as the same
/// one-voter node on a new port, and checks that it answers every record, the GSLB record and
/// the API resources the old node held.
#[test]
fn an_old_data_dir_loads_and_answers() {
    let root = TempDir::new("compat-data-dir");
    let mut node = voter_with_dns(&root);
    node.write_config();
    eprintln!("-- phase: unpack the old data dir");
    let archive = fixtures().join("data-2400044.tar.gz");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(node.data_dir().parent().unwrap())
        .status()
        .expect("run tar");
    assert!(status.success(), "tar -xzf {} failed", archive.display());
    assert!(node.data_dir().is_dir(), "the archive holds data/");

    eprintln!("-- phase: the current binary serves it");
    node.spawn();
    assert_serves_the_old_data(&node);
}

/// What does this test do: `gslb restore` of the backup file the old binary wrote (through
/// `gslbctl cluster snapshot`) into a fresh data dir succeeds, and the restored node answers
/// everything the old cluster held.
#[test]
fn an_old_backup_restores_and_answers() {
    let root = TempDir::new("compat-restore");
    let mut node = voter_with_dns(&root);
    let config = node.write_config();
    eprintln!("-- phase: restore the old backup");
    let backup = fixtures().join("2400044.backup");
    let output = Command::new(GSLB)
        .args(["restore", "--from"])
        .arg(&backup)
        .arg("--config")
        .arg(&config)
        .env_remove("RUST_LOG")
        .output()
        .expect("run gslb restore");
    assert!(
        output.status.success(),
        "gslb restore of the old backup failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    eprintln!("-- phase: the restored node serves it");
    node.spawn();
    assert_serves_the_old_data(&node);
}
