//! In-process control-plane tests: real nodes over real HTTP on loopback, each with its own
//! data directory, driven only through `NodeHandle` and `raft_router`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use gslb_model::model::{Actor, ChangeStatus, Member, NodeRole, RaftRole, State};
use gslb_model::Command;
use gslb_store::raft::{spawn_node, MembershipError, WriteError};
use gslb_testkit::cluster::*;

fn member(id: u64, addr: &str) -> Member {
    Member {
        id,
        addr: addr.to_string(),
        dns_addr: None,
        region: None,
        raft_role: RaftRole::Learner,
        roles: BTreeSet::from([NodeRole::Dns]),
        applied_index: 0,
        reported_at: 0,
    }
}

/// What does this test do: three voters and two learners form a cluster; writes through a
/// voter, a follower and a learner (forwarded) all land on every node with the same version,
/// and change tracking turns INSYNC once both learners report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_voters_and_two_learners_replicate() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let settings = fast_settings();
    let nodes = start_cluster(root.path(), 3, 2, &settings).await;

    tracing::info!("phase: register learners as DNS members");
    for node in &nodes[3..] {
        write(
            &nodes[0].handle,
            Command::PutMember {
                member: member(node.id, &node.addr),
            },
        )
        .await;
    }

    tracing::info!("phase: write through every kind of node");
    let mut last = 0;
    for (index, node) in nodes.iter().enumerate() {
        let outcome = write(&node.handle, put_region(&format!("region-{index}"))).await;
        assert!(
            outcome.version > last,
            "versions grow: {outcome:?} after {last}"
        );
        last = outcome.version;
    }

    tracing::info!("phase: every node converges on the same state");
    for node in &nodes {
        let state = wait_state(&node.handle, "the last write", |s| {
            s.regions.len() == 5 && s.version >= last
        })
        .await;
        assert_eq!(state.regions.len(), 5);
        assert!(state.zones.is_empty());
    }

    for node in &nodes[1..] {
        let metrics = node
            .handle
            .wait_metrics(WAIT, "a heartbeat", |m| {
                m.millis_since_leader_contact.is_some_and(|ms| ms < 5000)
            })
            .await
            .unwrap();
        assert_eq!(metrics.voters, vec![1, 2, 3]);
        assert_eq!(metrics.learners, vec![4, 5]);
    }

    tracing::info!("phase: learners report; the change becomes INSYNC");
    // These learners run without the reporter task; report by hand the way it does.
    for node in &nodes[3..] {
        let applied = node.handle.state().version;
        write(
            &node.handle,
            Command::ReportApplied {
                node: node.id,
                index: applied,
            },
        )
        .await;
    }
    let state = wait_state(&nodes[0].handle, "both learners' reports", |s| {
        s.change_status(last) == ChangeStatus::Insync
    })
    .await;
    assert!(matches!(
        state.change_status(state.version + 1),
        ChangeStatus::Pending { .. }
    ));

    tracing::info!("phase: states are identical once quiet");
    let version = nodes[0].handle.state().version;
    let states: Vec<Arc<State>> = futures_all(&nodes, version).await;
    for state in &states[1..] {
        assert_eq!(states[0].as_ref(), state.as_ref(), "replicas differ");
    }
    for node in nodes {
        node.stop().await;
    }
}

async fn futures_all(nodes: &[TestNode], version: u64) -> Vec<Arc<State>> {
    let mut states = Vec::new();
    for node in nodes {
        states.push(wait_state(&node.handle, "quiet version", |s| s.version >= version).await);
    }
    states
}

/// Starts node `id` (under `root`) reporting its applied index, joins it as a learner through
/// `seeds` (retried: a follower may not know the leader yet, as the binary retries) and writes
/// its DNS member record through `via`, so INSYNC waits for it.
async fn join_dns_learner(
    id: u64,
    root: &std::path::Path,
    settings: &gslb_store::raft::RaftSettings,
    seeds: &[String],
    via: &gslb_store::raft::NodeHandle,
) -> TestNode {
    let learner = TestNode::start_reporting(id, &root.join(format!("node-{id}")), settings).await;
    wait_ok(WAIT, "the learner to join", || {
        learner.handle.join_as_learner(seeds)
    })
    .await;
    write(
        via,
        Command::PutMember {
            member: member(id, &learner.addr),
        },
    )
    .await;
    learner
}

/// What does this test do: a learner started with applied-index reporting joins through a
/// seed list, and change tracking follows writes without anybody reporting by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reporting_learner_makes_changes_insync() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let settings = fast_settings();
    let voters = start_cluster(root.path(), 3, 0, &settings).await;
    let refs: Vec<&TestNode> = voters.iter().collect();
    let leader = wait_leader(&refs).await;
    let follower = voters.iter().find(|node| node.id != leader).unwrap();
    // A new node knows no leader: it joins through seeds (a dead address, then a follower,
    // which forwards the request to the leader once).
    let seeds = vec!["127.0.0.1:1".to_string(), follower.addr.clone()];
    let learner = join_dns_learner(9, root.path(), &settings, &seeds, &voters[0].handle).await;
    let outcome = write(&voters[0].handle, put_region("eu-west")).await;
    // Reports live in memory on the voters, not in the log: every voter (not only the
    // leader) learns the learner's applied index, and the learner itself answers from the
    // leader's table.
    for voter in &voters {
        assert!(
            voter.handle.wait_insync(outcome.version, WAIT).await,
            "node {}: version {} never INSYNC",
            voter.id,
            outcome.version
        );
        let reports = voter.handle.applied_reports().await;
        assert!(reports[&9].index >= outcome.version, "{reports:?}");
    }
    assert_eq!(
        learner.handle.change_status(outcome.version).await.unwrap(),
        ChangeStatus::Insync
    );
    // No report goes through Raft: the state records none.
    let state = voters[0].handle.state();
    assert_eq!(state.members[&9].applied_index, 0);
    assert_eq!(
        state.change_status(outcome.version),
        ChangeStatus::Pending { waiting: vec![9] }
    );

    // A DNS member that stops reporting holds the next change PENDING, named in `waiting`,
    // on the voters and on any node that asks them.
    learner.stop().await;
    let next = write(&voters[0].handle, put_region("eu-east")).await;
    for voter in &voters {
        voter
            .handle
            .wait_for_version(next.version, WAIT)
            .await
            .expect("every voter applies the write");
        assert_eq!(
            voter.handle.change_status(next.version).await.unwrap(),
            ChangeStatus::Pending { waiting: vec![9] }
        );
    }
    assert!(
        !voters[1]
            .handle
            .wait_insync(next.version, Duration::from_millis(500))
            .await
    );
    let beyond = voters[0]
        .handle
        .change_status(next.version + 1000)
        .await
        .unwrap_err();
    assert_eq!(beyond.version, next.version + 1000);
    for node in voters {
        node.stop().await;
    }
}

/// The number of long polls of the leader's report table `node` made so far.
fn insync_fetches(node: &gslb_store::raft::NodeHandle) -> u64 {
    node.write_stages()
        .iter()
        .find(|stage| stage.stage == gslb_store::raft::Stage::InsyncFetch)
        .map_or(0, |stage| stage.latency.count)
}

/// What does this test do: two reporting learners are the DNS members; a write through one
/// of them is INSYNC there (`wait_insync`, the UPDATE acknowledgement's wait) only once both
/// have applied it, and the wait holds one long poll of the leader at a time instead of
/// polling: with the other learner stopped, a 1.5 s wait ends PENDING (never INSYNC early)
/// after at most a few polls (20 ms polling would have made ~75), and with every voter
/// stopped it ends PENDING too, asking with a backoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_waits_for_insync_with_one_long_poll() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let settings = fast_settings();
    let voters = start_cluster(root.path(), 3, 0, &settings).await;
    let refs: Vec<&TestNode> = voters.iter().collect();
    let leader = wait_leader(&refs).await;
    let seed = voters
        .iter()
        .find(|node| node.id == leader)
        .unwrap()
        .addr
        .clone();
    let mut learners = Vec::new();
    for id in [9, 10] {
        let seeds = [seed.clone()];
        learners
            .push(join_dns_learner(id, root.path(), &settings, &seeds, &voters[0].handle).await);
    }
    let other = learners.pop().unwrap();
    let learner = learners.pop().unwrap();

    tracing::info!("phase: a write through a learner, INSYNC once both learners have it");
    let outcome = write(&learner.handle, put_region("eu-west")).await;
    assert!(learner.handle.wait_insync(outcome.version, WAIT).await);
    for node in [&learner, &other] {
        assert!(
            node.handle.state().version >= outcome.version,
            "INSYNC before node {} applied {}",
            node.id,
            outcome.version
        );
    }

    tracing::info!("phase: the other learner stops; the next write stays PENDING");
    other.stop().await;
    let next = write(&learner.handle, put_region("eu-east")).await;
    let before = insync_fetches(&learner.handle);
    assert!(
        !learner
            .handle
            .wait_insync(next.version, Duration::from_millis(1500))
            .await,
        "INSYNC without the stopped learner"
    );
    let polls = insync_fetches(&learner.handle) - before;
    assert!((1..=4).contains(&polls), "{polls} polls in 1.5 s");

    tracing::info!("phase: every voter stops; the wait ends PENDING, backing off");
    for voter in voters {
        voter.stop().await;
    }
    let before = insync_fetches(&learner.handle);
    assert!(
        !learner
            .handle
            .wait_insync(next.version, Duration::from_millis(1500))
            .await
    );
    let polls = insync_fetches(&learner.handle) - before;
    assert!(polls <= 8, "{polls} polls of a dead leader in 1.5 s");
    learner.stop().await;
}

/// What does this test do: the leader is stopped in the middle of a stream of writes; every
/// write that was acknowledged is present exactly once on every surviving node, and the
/// survivors agree on the whole state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_killed_during_writes_loses_no_acknowledged_write() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let settings = fast_settings();
    let mut nodes = start_cluster(root.path(), 3, 1, &settings).await;
    let refs: Vec<&TestNode> = nodes.iter().collect();
    let leader = wait_leader(&refs).await;

    tracing::info!("phase: stream writes from a client that tries every node");
    let handles: Vec<_> = nodes.iter().map(|node| node.handle.clone()).collect();
    // (id, version, whether an earlier attempt of it ended with an unknown outcome)
    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<(String, u64, bool)>();
    let writer = tokio::spawn(async move {
        let mut next_node = 0usize;
        for index in 0..200u32 {
            let id = format!("r-{index}");
            // A few rounds over the nodes; a write that is never acknowledged is fine.
            let mut uncertain = false;
            for _ in 0..handles.len() * 3 {
                let via = &handles[next_node % handles.len()];
                match via.write(put_region(&id), Actor::new("stream")).await {
                    Ok(outcome) => {
                        let _ = ack_tx.send((id.clone(), outcome.version, uncertain));
                        break;
                    }
                    Err(WriteError::Invalid { errors } | WriteError::Rejected { errors, .. }) => {
                        panic!("write {id} refused: {errors}")
                    }
                    Err(error) => {
                        uncertain |= matches!(error, WriteError::Unavailable { .. });
                        next_node += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }
    });

    let mut acknowledged = Vec::new();
    while acknowledged.len() < 40 {
        acknowledged.push(ack_rx.recv().await.expect("writer stopped early"));
    }
    tracing::info!(leader, "phase: stop the leader mid-stream");
    let position = nodes.iter().position(|node| node.id == leader).unwrap();
    let stopped = nodes.remove(position);
    stopped.stop().await;

    writer.await.unwrap();
    while let Ok(ack) = ack_rx.try_recv() {
        acknowledged.push(ack);
    }
    assert!(
        acknowledged.len() > 100,
        "too few writes acknowledged: {}",
        acknowledged.len()
    );

    tracing::info!("phase: survivors hold every acknowledged write");
    let highest = acknowledged
        .iter()
        .map(|(_, version, _)| *version)
        .max()
        .unwrap();
    for node in &nodes {
        wait_state(&node.handle, "the highest acknowledged version", |s| {
            s.version >= highest
        })
        .await;
    }
    // Let the survivors settle on one final version, then compare.
    let refs: Vec<&TestNode> = nodes.iter().collect();
    let new_leader = wait_leader(&refs).await;
    let final_version = nodes
        .iter()
        .find(|node| node.id == new_leader)
        .unwrap()
        .handle
        .linearizable_read()
        .await
        .unwrap()
        .version;
    let mut finals = Vec::new();
    for node in &nodes {
        finals.push(
            wait_state(&node.handle, "the final version", |s| {
                s.version >= final_version
            })
            .await,
        );
    }
    for state in &finals {
        for (id, version, _) in &acknowledged {
            assert!(
                state.regions.contains_key(id),
                "acknowledged {id}@{version} missing"
            );
        }
        let audited: Vec<&str> = state
            .audit
            .iter()
            .map(|entry| entry.summary.as_str())
            .collect();
        // Exactly once in the log: only a write retried after an unknown outcome may
        // legitimately have been applied twice (harmlessly: puts are idempotent).
        for (id, _, uncertain) in &acknowledged {
            let applied = audited
                .iter()
                .filter(|summary| **summary == format!("put_region {id}"))
                .count();
            if *uncertain {
                assert!(applied >= 1, "{id} has no audit entry");
            } else {
                assert_eq!(applied, 1, "{id} applied {applied} times");
            }
        }
        assert_eq!(state.as_ref(), finals[0].as_ref(), "survivors disagree");
    }
    for node in nodes {
        node.stop().await;
    }
}

/// What does this test do: with every voter down, a learner restarted from its data
/// directory serves at least the state it served before (snapshot + committed log replay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_restarted_while_voters_are_down_keeps_its_state() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let settings = gslb_store::raft::RaftSettings {
        snapshot_every: 20,
        logs_kept_after_snapshot: 5,
        replication_lag_threshold: 20,
        ..fast_settings()
    };
    let mut nodes = start_cluster(root.path(), 3, 1, &settings).await;
    let mut last = 0;
    for index in 0..55 {
        last = write(&nodes[0].handle, put_region(&format!("r-{index}")))
            .await
            .version;
    }
    let learner = nodes.pop().unwrap();
    let before = wait_state(&learner.handle, "all writes", |s| s.version >= last).await;

    tracing::info!("phase: stop every voter, then the learner");
    for voter in nodes {
        voter.stop().await;
    }
    let stopped = learner.stop().await;

    tracing::info!("phase: restart the learner alone");
    let learner = stopped.restart().await;
    let after = learner.handle.state();
    assert!(
        after.version >= before.version,
        "restarted at {} < {}",
        after.version,
        before.version
    );
    assert_eq!(after.regions, before.regions);
    // It serves, and says it has not heard from a leader since it started (for /readyz).
    assert_eq!(learner.handle.metrics().millis_since_leader_contact, None);
    learner.stop().await;
}

/// What does this test do: a learner stopped while writes go on, then restarted, reaches
/// through `catch_up` a version at least that of every write acknowledged while it was down
/// (what a restarted DNS node waits for before it answers); with every voter down,
/// `catch_up` gives up after its timeout, naming what it waited for, and the learner keeps
/// serving its restored state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_learner_catches_up_with_the_leader_or_gives_up() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let mut nodes = start_cluster(root.path(), 3, 1, &fast_settings()).await;
    let first = write(&nodes[0].handle, put_region("before")).await.version;
    let learner = nodes.pop().unwrap();
    wait_state(&learner.handle, "the first write", |s| s.version >= first).await;

    tracing::info!("phase: writes while the learner is down");
    let stopped = learner.stop().await;
    let mut last = first;
    for index in 0..5 {
        last = write(&nodes[0].handle, put_region(&format!("while-down-{index}")))
            .await
            .version;
    }
    let learner = stopped.restart().await;
    let caught_up = learner
        .handle
        .catch_up(Duration::from_secs(10))
        .await
        .expect("a leader reaches the restarted learner");
    assert!(caught_up >= last, "caught up to {caught_up}, want {last}");
    assert!(learner.handle.state().version >= last);
    assert!(learner.handle.state().regions.contains_key("while-down-4"));

    tracing::info!("phase: every voter down; catch_up gives up");
    let stopped = learner.stop().await;
    for voter in nodes {
        voter.stop().await;
    }
    let learner = stopped.restart().await;
    let started = std::time::Instant::now();
    let error = learner
        .handle
        .catch_up(Duration::from_millis(500))
        .await
        .expect_err("no leader to catch up with");
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert!(error.contains("a leader's commit index applied"), "{error}");
    assert!(learner.handle.state().version >= last, "keeps its state");
    learner.stop().await;
}

/// What does this test do: with a small snapshot threshold the leader purges its log; a
/// learner added afterwards can only catch up by installing a snapshot, and ends equal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_learner_catches_up_by_snapshot() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let settings = gslb_store::raft::RaftSettings {
        snapshot_every: 10,
        logs_kept_after_snapshot: 0,
        replication_lag_threshold: 10,
        snapshot_chunk_bytes: 1024,
        ..fast_settings()
    };
    let nodes = start_cluster(root.path(), 3, 0, &settings).await;
    let mut last = 0;
    for index in 0..60 {
        last = write(&nodes[0].handle, put_region(&format!("r-{index}")))
            .await
            .version;
    }
    nodes[0]
        .handle
        .wait_metrics(WAIT, "the leader to purge its log", |m| {
            m.purged_index.is_some_and(|p| p > 10)
        })
        .await
        .unwrap();

    tracing::info!("phase: add a learner after the purge");
    let learner = TestNode::start(7, &root.path().join("node-7"), &settings).await;
    nodes[0]
        .handle
        .add_learner(7, learner.addr.clone())
        .await
        .unwrap();
    let state = wait_state(&learner.handle, "catching up", |s| s.version >= last).await;
    // The state is published as soon as the snapshot is installed; openraft's metrics follow.
    learner
        .handle
        .wait_metrics(WAIT, "the installed snapshot in metrics", |m| {
            m.snapshot_index.is_some_and(|index| index > 10)
        })
        .await
        .unwrap();
    let leader_state = nodes[0].handle.state();
    assert_eq!(state.regions, leader_state.regions);
    learner.stop().await;
    for node in nodes {
        node.stop().await;
    }
}

/// What does this test do: Raft routes refuse requests without the cluster secret (401), and
/// a command that does not fit the state is refused with its field named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_rpc_is_refused_and_bad_writes_name_the_field() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let nodes = start_cluster(root.path(), 1, 0, &fast_settings()).await;
    let client = reqwest::Client::new();
    for path in [
        "/raft/vote",
        "/raft/append",
        "/raft/snapshot",
        "/raft/forward",
        "/raft/applied",
        "/raft/applied/table",
    ] {
        let url = format!("http://{}{path}", nodes[0].addr);
        let response = client.post(&url).body("{}").send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{path} without a secret");
        let response = client
            .post(&url)
            .bearer_auth("not-the-secret-at-all")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            401,
            "{path} with a wrong secret"
        );
    }

    let mut bad = gslb_testkit::cluster::region("eu-west");
    bad.location.country = "germany".to_string();
    let error = nodes[0]
        .handle
        .write(Command::PutRegion { region: bad }, Actor::new("test"))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("region.location.country: must be an ISO 3166-1 alpha-2 code"),
        "{text}"
    );
    for node in nodes {
        node.stop().await;
    }
}

/// What does this test do: a second node on a data directory already in use is refused with
/// an error naming the directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_open_of_a_data_dir_is_refused() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("node-1");
    let first = TestNode::start(1, &dir, &fast_settings()).await;
    let error = start_error(spawn_node(options(1, &dir, "127.0.0.1:1", &fast_settings())).await);
    assert!(error.contains("already in use"), "{error}");
    assert!(error.contains(&dir.display().to_string()), "{error}");
    first.stop().await;
}

/// What does this test do: a damaged storage directory or snapshot file stops the node at
/// start with an error naming the path, never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_data_dir_is_refused_naming_the_path() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let settings = gslb_store::raft::RaftSettings {
        snapshot_every: 5,
        ..fast_settings()
    };
    let nodes = start_cluster(root.path(), 1, 0, &settings).await;
    for index in 0..12 {
        write(&nodes[0].handle, put_region(&format!("r-{index}"))).await;
    }
    nodes[0]
        .handle
        .wait_metrics(WAIT, "a snapshot", |m| m.snapshot_index.is_some())
        .await
        .unwrap();
    let dir = nodes[0].dir.clone();
    for node in nodes {
        node.stop().await;
    }

    tracing::info!("phase: a junk snapshot file");
    let snapshot = dir.join("snapshot.json");
    let good_snapshot = std::fs::read(&snapshot).unwrap();
    std::fs::write(&snapshot, b"{\"not\": \"a snapshot\"}").unwrap();
    let error = wait_for_error(&dir, &settings).await;
    assert!(error.contains(&snapshot.display().to_string()), "{error}");
    std::fs::write(&snapshot, good_snapshot).unwrap();

    tracing::info!("phase: a junk storage engine file");
    let db_file = dir.join("kv").join("db");
    let length = std::fs::metadata(&db_file).unwrap().len() as usize;
    std::fs::write(&db_file, vec![0x5Au8; length]).unwrap();
    let error = wait_for_error(&dir, &settings).await;
    assert!(
        error.contains(&dir.join("kv").display().to_string()),
        "{error}"
    );
    assert!(error.contains("corrupt"), "{error}");
}

/// Starts a node on `dir` expecting a refusal other than "in use" (the previous incarnation
/// may still hold the lock for a moment).
async fn wait_for_error(
    dir: &std::path::Path,
    settings: &gslb_store::raft::RaftSettings,
) -> String {
    wait_ok(
        WAIT,
        "the previous node to release its directory",
        || async {
            let result = spawn_node(options(1, dir, "127.0.0.1:1", settings)).await;
            let error = match result {
                Ok(node) => {
                    node.shutdown().await;
                    panic!("a damaged directory was accepted")
                }
                Err(error) => error.to_string(),
            };
            if error.contains("already in use") {
                Err(error)
            } else {
                Ok(error)
            }
        },
    )
    .await
}

/// What does this test do: every voter is stopped and started again from its data directory
/// (never initialized twice: a second `initialize` is refused); the cluster elects a leader
/// on its own, keeps every write, and takes new ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_cluster_restart_keeps_state_and_takes_writes() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let nodes = start_cluster(root.path(), 3, 0, &fast_settings()).await;
    let mut last = 0;
    for index in 0..10 {
        last = write(&nodes[index % 3].handle, put_region(&format!("r-{index}")))
            .await
            .version;
    }
    for node in &nodes {
        wait_state(&node.handle, "all writes", |s| s.version >= last).await;
    }

    tracing::info!("phase: stop and restart every voter");
    let mut stopped = Vec::new();
    for node in nodes {
        stopped.push(node.stop().await);
    }
    let mut nodes = Vec::new();
    for node in stopped {
        nodes.push(node.restart().await);
    }
    let voters = nodes
        .iter()
        .map(|node| (node.id, node.addr.clone()))
        .collect();
    let error = nodes[0].handle.initialize(voters).await.unwrap_err();
    assert!(
        matches!(error, MembershipError::AlreadyInitialized { .. }),
        "{error}"
    );
    let refs: Vec<&TestNode> = nodes.iter().collect();
    wait_leader(&refs).await;
    let outcome = write(&nodes[1].handle, put_region("after-restart")).await;
    assert!(outcome.version > last);
    for node in &nodes {
        let state = wait_state(&node.handle, "the new write", |s| {
            s.version >= outcome.version
        })
        .await;
        assert_eq!(state.regions.len(), 11);
    }
    for node in nodes {
        node.stop().await;
    }
}

/// What does this test do: when two of three voters are down the leader cannot commit; a
/// write answers `Unavailable` within the commit timeout instead of hanging, and once the
/// quorum's last acknowledgement is older than the election timeout, `NoQuorum` at once; a
/// learner keeps serving its last state while its leader-contact age grows (static stability).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_quorum_writes_fail_fast_and_learners_keep_serving() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let mut nodes = start_cluster(root.path(), 3, 1, &fast_settings()).await;
    let last = write(&nodes[0].handle, put_region("eu-west")).await.version;
    let learner = nodes.pop().unwrap();
    wait_state(&learner.handle, "the write", |s| s.version >= last).await;

    tracing::info!("phase: stop two voters");
    let refs: Vec<&TestNode> = nodes.iter().collect();
    let leader = wait_leader(&refs).await;
    let mut survivor = None;
    for node in nodes {
        if node.id == leader {
            survivor = Some(node);
        } else {
            node.stop().await;
        }
    }
    let survivor = survivor.unwrap();
    let started = std::time::Instant::now();
    let error = survivor
        .handle
        .write(put_region("us-east"), Actor::new("test"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            WriteError::Unavailable { .. } | WriteError::NoLeader | WriteError::NoQuorum { .. }
        ),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the write hung"
    );

    // The leader itself sees that no quorum acknowledges it any more.
    survivor
        .handle
        .wait_metrics(WAIT, "the quorum acknowledgement to age", |m| {
            m.millis_since_leader_contact.is_some_and(|ms| ms > 1000)
        })
        .await
        .unwrap();
    // Past the election timeout it refuses at once, and for certain: nothing proposed.
    let started = std::time::Instant::now();
    let error = survivor
        .handle
        .write(put_region("ap-south"), Actor::new("test"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, WriteError::NoQuorum { .. }),
        "a leader without quorum must say so: {error}"
    );
    assert!(error.to_string().contains("no quorum"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the refusal took {:?}",
        started.elapsed()
    );

    tracing::info!("phase: stop the last voter; the learner serves on, and says how stale");
    // A quorum-less leader still heartbeats, so learners only notice once it is gone.
    survivor.stop().await;
    let metrics = learner
        .handle
        .wait_metrics(WAIT, "leader contact to age", |m| {
            m.millis_since_leader_contact.is_some_and(|ms| ms > 1000)
        })
        .await
        .unwrap();
    assert!(metrics.applied_index >= last);
    assert!(learner.handle.state().regions.contains_key("eu-west"));
    learner.stop().await;
}

/// What does this test do: a learner is promoted to voter and a voter removed, asked through
/// a non-leader (forwarded); every node ends with the new voter set and writes still commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_changes_through_any_node() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let nodes = start_cluster(root.path(), 3, 1, &fast_settings()).await;
    let refs: Vec<&TestNode> = nodes.iter().collect();
    let leader = wait_leader(&refs).await;
    let via = nodes
        .iter()
        .find(|node| node.id != leader && node.id != 4)
        .unwrap();
    let removed = nodes
        .iter()
        .find(|node| node.id != leader && node.id != via.id && node.id != 4)
        .unwrap()
        .id;
    let voters: BTreeSet<u64> = [leader, via.id, 4].into();
    via.handle
        .change_membership(voters.clone(), false)
        .await
        .unwrap();
    for node in &nodes {
        if node.id == removed {
            continue;
        }
        node.handle
            .wait_metrics(WAIT, "the new voter set", |m| {
                m.voters.iter().copied().collect::<BTreeSet<_>>() == voters && m.learners.is_empty()
            })
            .await
            .unwrap();
    }
    let outcome = write(&nodes[3].handle, put_region("after-change")).await;
    wait_state(&nodes[3].handle, "the write", |s| {
        s.version >= outcome.version
    })
    .await;
    for node in nodes {
        node.stop().await;
    }
}

/// What does this test do: 300 writes sent at once through a learner all succeed and share
/// Raft entries (group commit: far fewer versions than writes); of two concurrent creates of
/// the same region (If-None-Match) exactly one lands and the other is rejected on its own
/// with its precondition, while the writes grouped with it land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_through_a_learner_share_entries_and_each_gets_its_answer() {
    use gslb_model::model::precondition::{Expected, ResourceRef};
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let settings = fast_settings();
    let nodes = start_cluster(root.path(), 3, 1, &settings).await;
    let learner = nodes[3].handle.clone();
    // Through the learner once, so it knows the leader.
    let first = write(&learner, put_region("warm-up")).await;

    const WRITES: usize = 300;
    const CONTESTED: usize = 10;
    let create = |id: String| Command::Guarded {
        resource: ResourceRef::Region { id: id.clone() },
        expected: Expected::Absent,
        command: Box::new(put_region(&id)),
    };
    let mut running = tokio::task::JoinSet::new();
    for index in 0..WRITES {
        let learner = learner.clone();
        running.spawn(async move {
            let outcome = learner
                .write(put_region(&format!("r-{index}")), Actor::new("test"))
                .await;
            (format!("r-{index}"), outcome)
        });
    }
    for index in 0..CONTESTED * 2 {
        let learner = learner.clone();
        let command = create(format!("c-{}", index / 2));
        running.spawn(async move {
            let outcome = learner.write(command, Actor::new("test")).await;
            (format!("c-{}", index / 2), outcome)
        });
    }
    let mut versions = BTreeSet::new();
    let mut contested_won = BTreeSet::new();
    let mut contested_lost = 0;
    while let Some(joined) = running.join_next().await {
        let (id, outcome) = joined.unwrap();
        match outcome {
            Ok(outcome) => {
                assert!(outcome.version > first.version);
                assert!(outcome.changed, "{id} is new");
                versions.insert(outcome.version);
                if id.starts_with("c-") {
                    assert!(contested_won.insert(id.clone()), "{id} created twice");
                }
            }
            Err(WriteError::Rejected { errors, .. } | WriteError::Invalid { errors })
                if id.starts_with("c-") =>
            {
                assert!(
                    errors.to_string().contains("precondition"),
                    "{id}: {errors}"
                );
                contested_lost += 1;
            }
            Err(error) => panic!("write of {id} failed: {error}"),
        }
    }
    assert_eq!(contested_won.len(), CONTESTED);
    assert_eq!(contested_lost, CONTESTED);
    assert!(
        versions.len() < WRITES / 2,
        "{} entries for {} writes: not grouped",
        versions.len(),
        WRITES + CONTESTED
    );
    let state = wait_state(&learner, "every write", |s| {
        s.regions.len() == 1 + WRITES + CONTESTED
    })
    .await;
    let audited = state
        .audit
        .iter()
        .filter(|entry| entry.version > first.version)
        .count();
    assert_eq!(audited, WRITES + CONTESTED, "each write audited on its own");
    for node in nodes {
        node.stop().await;
    }
}
