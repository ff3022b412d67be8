//! Black-box tests of a full disk: a node's data directory on a small tmpfs that a filler file
//! fills up. A write that cannot be persisted fails at once with 503 `no space left on PATH`;
//! `/readyz` says why; a voter exits non-zero on its own; a DNS node keeps answering from
//! memory and stops within the grace period on SIGTERM; after space is freed and a restart,
//! no acknowledged write is lost.
//!
//! Mounting needs root (CI runs as root); without it each test prints why and returns.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::cluster::{api_get, put_a, wait_until, ClusterNode, Kind};
use common::TempDir;

/// How long a cluster may take to converge after a start.
const CONVERGE: Duration = Duration::from_secs(30);
/// The longest one write may take to fail once the disk is full ("at once").
const FAIL_FAST: Duration = Duration::from_secs(5);
/// The shutdown grace period a supervisor gives (Kubernetes' default).
const GRACE: Duration = Duration::from_secs(30);

/// What does this test do: a single voter on a 16 MiB tmpfs acknowledges writes, then a
/// filler file takes every free byte. Writes go on until one fails: it fails within 5 s
/// with 503 naming `no space left on` and the data path; `/readyz` answers 503 with that
/// reason; the voter exits by itself with a non-zero status. With the filler removed it
/// starts again and holds every write it acknowledged.
#[test]
fn a_full_disk_fails_writes_at_once_and_the_voter_exits() {
    let root = TempDir::new("disk-full-voter");
    let mut voter = ClusterNode::prepare(&root, 1, Kind::Bootstrap, &[]);
    let Some(tmpfs) = Tmpfs::mount(&voter.data_dir(), "16m") else {
        return;
    };
    voter.import_zone = true;
    voter.spawn();
    wait_ready(&voter);
    wait_until(CONVERGE, "the zone file to be imported", || {
        api_get(voter.http, "/v1/zones/cp.test.").is_some_and(|(status, _)| status == 200)
    });

    eprintln!("phase: writes on a disk with room");
    let mut acknowledged = Vec::new();
    for index in 0..20 {
        let name = format!("before-{index}");
        put_a(voter.http, "cp.test.", &name, "192.0.2.20").unwrap();
        acknowledged.push(name);
    }

    eprintln!("phase: fill the disk, write until a write fails");
    tmpfs.fill();
    let mut failure = None;
    for index in 0..200 {
        let name = format!("full-{index}");
        let started = Instant::now();
        match put_a(voter.http, "cp.test.", &name, "192.0.2.21") {
            Ok(_) => acknowledged.push(name),
            Err(error) => {
                failure = Some((error, started.elapsed()));
                break;
            }
        }
    }
    let (error, took) = failure.expect("200 writes on a full disk were all acknowledged");
    eprintln!("first failed write after {took:?}: {error}");
    assert!(took < FAIL_FAST, "the failing write took {took:?}: {error}");
    assert!(error.starts_with("status 503"), "{error}");
    assert!(error.contains("no space left on"), "{error}");
    assert!(error.contains(&tmpfs.path.display().to_string()), "{error}");

    eprintln!("phase: /readyz says why, and the voter exits by itself");
    // The next write is refused at once too (unless the process is already gone).
    if let Some((status, body)) = voter.readyz() {
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("\"ready\":false"), "{body}");
        assert!(body.contains("no space left on"), "{body}");
    }
    let child = voter.child.as_mut().unwrap();
    let status = common::wait_exit(child, GRACE)
        .unwrap_or_else(|| panic!("the voter kept running:\n{}", voter.log.text()));
    assert!(!status.success(), "the voter exited {status}");
    voter.child = None;

    eprintln!("phase: free the space, restart, every acknowledged write is there");
    tmpfs.free();
    voter.spawn();
    wait_ready(&voter);
    for name in &acknowledged {
        let path = format!("/v1/zones/cp.test./records/{name}/A");
        let reply = api_get(voter.http, &path);
        assert!(
            reply.as_ref().is_some_and(|(status, _)| *status == 200),
            "acknowledged {name} lost after the restart: {reply:?}"
        );
    }
    put_a(voter.http, "cp.test.", "after", "192.0.2.22").expect("writes work again");
    voter.stop();
}

/// What does this test do: a voter on an ordinary disk and a DNS learner whose data
/// directory is a full tmpfs. Writes through the voter are acknowledged; the learner cannot
/// persist them: its `/readyz` answers 503 with `no space left on`, and it keeps answering
/// DNS from memory (the names it had). SIGTERM stops it within the grace period. With the
/// filler removed and a restart, it answers every acknowledged name.
#[test]
fn a_dns_node_on_a_full_disk_keeps_answering_and_stops_on_sigterm() {
    let root = TempDir::new("disk-full-dns");
    let voter = ClusterNode::start(&root, 1, Kind::Bootstrap, &[]);
    wait_ready(&voter);
    let mut learner = ClusterNode::prepare(&root, 2, Kind::DnsLearner, &[voter.http]);
    let Some(tmpfs) = Tmpfs::mount(&learner.data_dir(), "16m") else {
        return;
    };
    learner.spawn();
    wait_ready(&learner);
    put_a(voter.http, "cp.test.", "early", "192.0.2.30").unwrap();
    wait_until(CONVERGE, "the learner to answer early.cp.test.", || {
        learner.addresses("early.cp.test.") == ["192.0.2.30"]
    });

    eprintln!("phase: fill the learner's disk; the voter goes on acknowledging");
    tmpfs.fill();
    let mut acknowledged = vec!["early".to_string()];
    for index in 0..40 {
        let name = format!("late-{index}");
        put_a(voter.http, "cp.test.", &name, "192.0.2.31").unwrap();
        acknowledged.push(name);
    }
    wait_until(CONVERGE, "the learner's /readyz to say no space", || {
        learner
            .readyz()
            .is_some_and(|(status, body)| status == 503 && body.contains("no space left on"))
    });
    assert_eq!(
        learner.addresses("early.cp.test."),
        ["192.0.2.30"],
        "the learner stopped answering from memory"
    );

    eprintln!("phase: SIGTERM completes within the grace period");
    let child = learner.child.as_mut().unwrap();
    let started = Instant::now();
    common::send_signal(child.id(), "TERM");
    let status = common::wait_exit(child, GRACE)
        .unwrap_or_else(|| panic!("SIGTERM hung:\n{}", learner.log.text()));
    eprintln!("stopped in {:?} with {status}", started.elapsed());
    learner.child = None;

    eprintln!("phase: free the space, restart, every acknowledged name answers");
    tmpfs.free();
    learner.spawn();
    wait_ready(&learner);
    for name in &acknowledged {
        let fqdn = format!("{name}.cp.test.");
        wait_until(CONVERGE, &format!("the learner to answer {fqdn}"), || {
            !learner.addresses(&fqdn).is_empty()
        });
    }
    learner.stop();
}

/// Waits until `/readyz` on `node` says ready.
fn wait_ready(node: &ClusterNode) {
    wait_until(CONVERGE, &format!("{} to be ready", node.name), || {
        node.readyz()
            .is_some_and(|(status, body)| status == 200 && body.contains("\"ready\":true"))
    });
}

/// A tmpfs mounted on a directory for the length of a test; unmounted on drop.
struct Tmpfs {
    /// Where it is mounted.
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` on `path` (created if needed); `None`, with the reason
    /// printed, when this process may not mount (not root).
    fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        let uid = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        std::fs::create_dir_all(path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .expect("run mount");
        assert!(
            mounted.success(),
            "mount tmpfs on {} failed",
            path.display()
        );
        Some(Tmpfs {
            path: path.to_path_buf(),
        })
    }

    /// The filler file that takes the free space.
    fn filler(&self) -> PathBuf {
        self.path.join("filler")
    }

    /// Writes the filler until the file system is full (bounded by the mount's size).
    fn fill(&self) {
        let mut file = std::fs::File::create(self.filler()).unwrap();
        let chunk = vec![0xa5u8; 64 * 1024];
        for _ in 0..1024 {
            if file
                .write_all(&chunk)
                .and_then(|()| file.sync_all())
                .is_err()
            {
                break;
            }
        }
        // The last partial chunk: take what is left byte-exact.
        let small = [0x5au8; 512];
        for _ in 0..256 {
            if file
                .write_all(&small)
                .and_then(|()| file.sync_all())
                .is_err()
            {
                return;
            }
        }
    }

    /// Removes the filler.
    fn free(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}
