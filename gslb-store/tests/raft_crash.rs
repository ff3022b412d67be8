//! Crash durability: a node process killed with SIGKILL in the middle of a write stream
//! comes back from its data directory with every write it acknowledged.
//!
//! The test binary runs itself as the child (`crash_child`, ignored unless the parent sets
//! `GSLB_STORE_CRASH_CHILD_DIR`), so the kill is a real process kill, not a graceful stop.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command as Process, Stdio};

use gslb_model::model::Actor;
use gslb_store::raft::spawn_node;
use gslb_testkit::cluster::*;

const CHILD_DIR_VAR: &str = "GSLB_STORE_CRASH_CHILD_DIR";

/// What does this test do: a single-voter node in a child process acknowledges writes and
/// prints each acknowledgement; the parent kills it with SIGKILL mid-stream, reopens the data
/// directory in-process, and finds every acknowledged write in the restored state (before
/// any election: from the snapshot plus the committed log alone) and after it leads again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("node-1");
    let mut child = Process::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_VAR, &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();

    tracing::info!("phase: collect acknowledgements, then kill the child");
    let acknowledged = tokio::task::spawn_blocking(move || {
        let mut acknowledged = BTreeMap::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("ACK ") {
                let (id, version) = rest.split_once(' ').unwrap();
                acknowledged.insert(id.to_string(), version.parse::<u64>().unwrap());
                if acknowledged.len() >= 300 {
                    break;
                }
            }
        }
        acknowledged
    })
    .await
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        acknowledged.len() >= 300,
        "the child acknowledged only {}",
        acknowledged.len()
    );

    tracing::info!("phase: reopen the directory");
    let settings = crash_settings();
    let node = wait_ok(WAIT, "the killed node's directory to reopen", || {
        spawn_node(options(1, &dir, "127.0.0.1:1", &settings))
    })
    .await;
    let restored = node.state();
    eprintln!(
        "acknowledged up to version {}, restored at version {}",
        acknowledged.values().max().unwrap(),
        restored.version
    );
    for (id, version) in &acknowledged {
        assert!(
            restored.regions.contains_key(id),
            "acknowledged {id}@{version} lost (restored version {})",
            restored.version
        );
    }
    node.wait_metrics(WAIT, "leadership again", |m| m.leader == Some(1))
        .await
        .unwrap();
    let outcome = write(&node, put_region("after-crash")).await;
    assert!(outcome.version > *acknowledged.values().max().unwrap());
    node.shutdown().await;
}

fn crash_settings() -> gslb_store::raft::RaftSettings {
    gslb_store::raft::RaftSettings {
        // Snapshots and purges happen during the stream, so the kill can land in any step.
        snapshot_every: 50,
        logs_kept_after_snapshot: 10,
        replication_lag_threshold: 50,
        ..fast_settings()
    }
}

/// The child half of `acknowledged_writes_survive_sigkill`; does nothing when run on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by acknowledged_writes_survive_sigkill as a child process"]
async fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR_VAR) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let settings = crash_settings();
    let node = single_voter(&dir, &settings).await;
    let mut stdout = std::io::stdout();
    for index in 0u64.. {
        let id = format!("r-{index}");
        let outcome = node
            .handle
            .write(put_region(&id), Actor::new("crash"))
            .await
            .unwrap();
        writeln!(stdout, "ACK {id} {}", outcome.version).unwrap();
        stdout.flush().unwrap();
        // Bounded, in case the parent died without killing us.
        if index > 100_000 {
            break;
        }
    }
}
