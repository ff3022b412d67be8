//! Offline surgery on a stopped node's data directory: rebuilding a one-voter cluster from a
//! state (`gslb restore`), and reading a survivor's whole state when quorum is lost for good
//! (`gslb recover`).
//!
//! How a one-voter cluster is written: only a state-machine snapshot file, whose metadata
//! says "applied up to index N, membership = this node as the only voter (plus the learners
//! asked for)", and, when a term must be carried on, a vote in a fresh `kv`. On start,
//! openraft finds no log below the snapshot, purges up to N ("clean the hole",
//! `StorageHelper::get_initial_state`), sees itself as the only voter, and elects itself at
//! the next term. New writes continue at N + 1, so versions stay monotonic across a restore.
//!
//! Nothing is deleted: node data already in the directory is moved into a subdirectory
//! `<label>-<unix seconds>/` first.
//!
//! Invariant: these functions run only on a directory no node holds (sled's lock refuses a
//! running node's `kv`, and the callers say so).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use openraft::storage::RaftLogStorage;
use openraft::{
    BasicNode, CommittedLeaderId, EntryPayload, LogId, Membership, RaftLogReader, SnapshotMeta,
    StoredMembership, Vote,
};

use crate::kv::{Kv, KvOptions, DEFAULT_CACHE_BYTES};
use crate::raft::integrity::APPLIED_FILE;
use crate::raft::log_store::LogStore;
use crate::raft::state_machine::{load_snapshot, write_atomically, SNAPSHOT_FILE};
use crate::raft::NodeId;
use gslb_model::command;
use gslb_model::model::state::State;

/// The names in a data directory that hold node data (the rest is ignored and kept).
const NODE_DATA: [&str; 5] = [
    "kv",
    SNAPSHOT_FILE,
    "snapshot.json.tmp",
    APPLIED_FILE,
    "applied.json.tmp",
];

/// Why a data directory could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct RestoreError {
    /// The data directory.
    pub path: PathBuf,
    /// What went wrong, naming the directory or file.
    pub detail: String,
}

/// A stopped node's state, rebuilt from its snapshot and every entry in its log.
#[derive(Debug, Clone)]
pub struct SurvivorState {
    /// The state after applying every entry the log holds (`version` = `last_index`).
    pub state: State,
    /// The index of the last entry in the log (or of the snapshot when the log is empty).
    pub last_index: u64,
    /// The index the node knew to be committed (entries after it may or may not have been
    /// acknowledged to a client; they are kept).
    pub committed_index: u64,
    /// The voters of the newest membership in the log, id → address.
    pub voters: BTreeMap<NodeId, String>,
    /// The learners of that membership, id → address.
    pub learners: BTreeMap<NodeId, String>,
    /// The highest term the node had seen (its vote, or its last entry's).
    pub term: u64,
    /// The last entry's leader (term, node), to keep its log id.
    last_leader: (u64, NodeId),
}

/// What the new single-voter data directory holds.
#[derive(Debug, Clone)]
pub struct SingleVoter {
    /// This node.
    pub id: NodeId,
    /// Its advertised `host:port` (the address peers will use).
    pub addr: String,
    /// Learners kept in the membership (id → address), replicated to as before.
    pub learners: BTreeMap<NodeId, String>,
}

/// True when `data_dir` holds node data (`kv/` or a snapshot file).
pub fn has_node_data(data_dir: &Path) -> bool {
    NODE_DATA.iter().any(|name| data_dir.join(name).exists())
}

/// Moves the node data of `data_dir` into `data_dir/<label>-<unix seconds>/` and returns that
/// directory, or `None` when there was nothing to move.
pub fn move_node_data_aside(data_dir: &Path, label: &str) -> Result<Option<PathBuf>, RestoreError> {
    if !has_node_data(data_dir) {
        return Ok(None);
    }
    let fail = |detail: String| RestoreError {
        path: data_dir.to_path_buf(),
        detail: format!("data dir {}: {detail}", data_dir.display()),
    };
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let aside = data_dir.join(format!("{label}-{seconds}"));
    std::fs::create_dir_all(&aside)
        .map_err(|error| fail(format!("cannot create {}: {error}", aside.display())))?;
    for name in NODE_DATA {
        let from = data_dir.join(name);
        if from.exists() {
            std::fs::rename(&from, aside.join(name))
                .map_err(|error| fail(format!("cannot move {name} aside: {error}")))?;
        }
    }
    Ok(Some(aside))
}

/// Writes a data directory in which the node starts as the only voter of a cluster holding
/// `state` at `state.version`. The directory must hold no node data (see
/// `move_node_data_aside`). `survivor` carries over the log id and term of a recovered node.
pub async fn write_single_voter(
    data_dir: &Path,
    node: &SingleVoter,
    state: &State,
    survivor: Option<&SurvivorState>,
) -> Result<(), RestoreError> {
    let fail = |detail: String| RestoreError {
        path: data_dir.to_path_buf(),
        detail: format!("data dir {}: {detail}", data_dir.display()),
    };
    // Storage errors name their directory already.
    let as_is = |detail: String| RestoreError {
        path: data_dir.to_path_buf(),
        detail,
    };
    if has_node_data(data_dir) {
        return Err(fail(
            "holds node data already; move it aside first".to_string(),
        ));
    }
    std::fs::create_dir_all(data_dir).map_err(|error| fail(format!("cannot create: {error}")))?;
    // A restored cluster starts at term 0 (the node elects itself at term 1); a recovered one
    // keeps its last entry's id, so learners that hold the same entries match it.
    let (leader_term, leader_node) = survivor.map_or((0, node.id), |survivor| survivor.last_leader);
    let log_id = LogId::new(
        CommittedLeaderId::new(leader_term, leader_node),
        state.version,
    );
    let mut nodes: BTreeMap<NodeId, BasicNode> = node
        .learners
        .iter()
        .filter(|(id, _)| **id != node.id)
        .map(|(id, addr)| (*id, BasicNode { addr: addr.clone() }))
        .collect();
    nodes.insert(
        node.id,
        BasicNode {
            addr: node.addr.clone(),
        },
    );
    let membership = Membership::new(vec![BTreeSet::from([node.id])], nodes);
    let meta = SnapshotMeta {
        last_log_id: Some(log_id),
        last_membership: StoredMembership::new(Some(log_id), membership),
        snapshot_id: format!("restored-{}-{}", node.id, state.version),
    };
    let meta_json = serde_json::to_vec(&meta)
        .map_err(|error| fail(format!("cannot encode the snapshot metadata: {error}")))?;
    let data = gslb_model::snapshot_codec::encode(state)
        .map_err(|error| fail(format!("cannot encode the state: {error}")))?;
    write_atomically(&data_dir.join(SNAPSHOT_FILE), &meta_json, &data)
        .map_err(|error| fail(format!("cannot write {SNAPSHOT_FILE}: {error}")))?;
    if let Some(survivor) = survivor {
        // Never vote below a term this node already took part in: its log holds entries of
        // that term, and a leader's new entries must not carry a lower one.
        let kv = Kv::open(
            &data_dir.join("kv"),
            &KvOptions {
                cache_bytes: DEFAULT_CACHE_BYTES,
            },
        )
        .map_err(|error| as_is(error.to_string()))?;
        let mut log_store = LogStore::open(kv).map_err(|error| as_is(error.to_string()))?;
        log_store
            .save_vote(&Vote::new(survivor.term, node.id))
            .await
            .map_err(|error| fail(format!("cannot save the vote: {error}")))?;
    }
    Ok(())
}

/// Reads a stopped node's state: its snapshot, then every entry of its log after it,
/// committed or not (a lost quorum may have committed entries this node never heard were
/// committed; keeping them loses nothing that was acknowledged, as etcd's
/// `--force-new-cluster` does).
pub async fn read_survivor(data_dir: &Path) -> Result<SurvivorState, RestoreError> {
    let fail = |detail: String| RestoreError {
        path: data_dir.to_path_buf(),
        detail: format!("data dir {}: {detail}", data_dir.display()),
    };
    // Storage errors name their directory already.
    let as_is = |detail: String| RestoreError {
        path: data_dir.to_path_buf(),
        detail,
    };
    let kv_dir = data_dir.join("kv");
    if !kv_dir.is_dir() {
        return Err(fail(format!(
            "no node data here ({} is missing): nothing to recover",
            kv_dir.display()
        )));
    }
    let kv = Kv::open(
        &kv_dir,
        &KvOptions {
            cache_bytes: DEFAULT_CACHE_BYTES,
        },
    )
    .map_err(|error| as_is(format!("{error} (stop the node before recovering it)")))?;
    let mut log_store = LogStore::open(kv).map_err(|error| as_is(error.to_string()))?;
    let storage = |error: openraft::StorageError<NodeId>| fail(error.to_string());
    let loaded =
        load_snapshot(&data_dir.join(SNAPSHOT_FILE)).map_err(|error| as_is(error.to_string()))?;
    let (mut state, mut last_log_id, mut membership) = match loaded {
        Some((snapshot, state)) => (
            state,
            snapshot.meta.last_log_id,
            snapshot.meta.last_membership.membership().clone(),
        ),
        None => (State::default(), None, Membership::default()),
    };
    let vote = log_store
        .read_vote()
        .await
        .map_err(storage)?
        .unwrap_or_default();
    let committed = log_store.read_committed().await.map_err(storage)?;
    let log_state = log_store.get_log_state().await.map_err(storage)?;
    let after_snapshot = last_log_id.map_or(0, |log_id| log_id.index + 1);
    if let Some(purged) = log_state.last_purged_log_id {
        if purged.index + 1 > after_snapshot {
            return Err(fail(format!(
                "the log is purged up to {} but the snapshot ends at {}: entries in between are missing",
                purged.index,
                after_snapshot.saturating_sub(1)
            )));
        }
    }
    let entries = log_store
        .try_get_log_entries(after_snapshot..)
        .await
        .map_err(storage)?;
    for entry in entries {
        let index = entry.log_id.index;
        match &entry.payload {
            EntryPayload::Blank => {}
            EntryPayload::Normal(stamped) => {
                // As the state machine does: a rejected command consumes its index only.
                let _ = command::apply(&mut state, stamped, index);
            }
            EntryPayload::Membership(changed) => membership = changed.clone(),
        }
        state.version = index;
        last_log_id = Some(entry.log_id);
    }
    let addr_of = |id: &NodeId| {
        membership
            .get_node(id)
            .map_or_else(String::new, |node| node.addr.clone())
    };
    let voters = membership
        .voter_ids()
        .map(|id| (id, addr_of(&id)))
        .collect();
    let learners = membership
        .learner_ids()
        .map(|id| (id, addr_of(&id)))
        .collect();
    let last_leader = last_log_id.map_or((0, 0), |log_id| {
        (log_id.leader_id.term, log_id.leader_id.node_id)
    });
    Ok(SurvivorState {
        last_index: last_log_id.map_or(0, |log_id| log_id.index),
        committed_index: committed.map_or(0, |log_id| log_id.index),
        voters,
        learners,
        term: vote.leader_id().term.max(last_leader.0),
        last_leader,
        state,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::raft::{spawn_node, ClusterSecret, NodeOptions, RaftState};
    use gslb_model::command::Command;
    use gslb_model::model::audit::Actor;
    use gslb_model::model::{Member, NodeRole, RaftRole};

    fn member(id: NodeId) -> Member {
        Member {
            id,
            addr: format!("127.0.0.1:{}", 9000 + id),
            dns_addr: None,
            region: None,
            raft_role: RaftRole::Learner,
            roles: BTreeSet::from([NodeRole::Api]),
            applied_index: 0,
            reported_at: 0,
        }
    }

    /// Reads a stopped node's data, retrying while the previous opener releases the lock.
    async fn read_when_released(dir: &Path) -> SurvivorState {
        let mut last = None;
        for _ in 0..50 {
            match read_survivor(dir).await {
                Ok(survivor) => return survivor,
                Err(error) => last = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("data dir never readable: {last:?}");
    }

    /// What does this test do: writes a one-voter data dir holding a state at index 41,
    /// starts a node on it and checks it elects itself, serves that state and writes after
    /// it; then reads the stopped node back with `read_survivor` (snapshot plus log) and
    /// recovers it into a fresh directory, where it leads again with the write kept.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_written_single_voter_leads_and_its_survivor_state_is_complete() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("node-1");
        let mut state = State {
            version: 41,
            ..State::default()
        };
        state.members.insert(7, member(7));
        assert!(!has_node_data(&dir));
        let voter = SingleVoter {
            id: 1,
            addr: "127.0.0.1:1".to_string(),
            learners: BTreeMap::new(),
        };
        write_single_voter(&dir, &voter, &state, None)
            .await
            .unwrap();
        assert!(has_node_data(&dir));
        let refused = write_single_voter(&dir, &voter, &state, None).await;
        assert!(refused.is_err(), "an occupied data dir must be refused");

        let secret = ClusterSecret::new("0123456789abcdef").unwrap();
        let start = |dir: PathBuf| {
            let secret = secret.clone();
            async move {
                let node = spawn_node(NodeOptions::new(1, dir, "127.0.0.1:1", secret))
                    .await
                    .unwrap();
                node.wait_metrics(Duration::from_secs(20), "to lead alone", |metrics| {
                    metrics.state == RaftState::Leader
                })
                .await
                .unwrap();
                node
            }
        };
        let node = start(dir.clone()).await;
        assert_eq!(node.metrics().voters, vec![1]);
        assert!(node.state().members.contains_key(&7));
        let written = node
            .write(Command::PutMember { member: member(8) }, Actor::new("test"))
            .await
            .unwrap();
        assert!(written.version > 41, "version {} after 41", written.version);
        node.shutdown().await;
        drop(node);

        let survivor = read_when_released(&dir).await;
        assert!(survivor.last_index >= written.version);
        assert_eq!(survivor.state.version, survivor.last_index);
        assert!(survivor.state.members.contains_key(&7) && survivor.state.members.contains_key(&8));
        assert_eq!(survivor.voters.keys().copied().collect::<Vec<_>>(), vec![1]);
        assert!(survivor.term >= 1);

        let aside = move_node_data_aside(&dir, "pre-recover").unwrap().unwrap();
        assert!(aside.join("kv").is_dir() && !has_node_data(&dir));
        write_single_voter(&dir, &voter, &survivor.state, Some(&survivor))
            .await
            .unwrap();
        // The vote written for the survivor's term is released with the process in
        // production; here, wait for the flusher task to let go of it.
        let node = {
            let mut started = None;
            for _ in 0..50 {
                let options = NodeOptions::new(1, dir.clone(), "127.0.0.1:1", secret.clone());
                match spawn_node(options).await {
                    Ok(node) => {
                        started = Some(node);
                        break;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
            started.expect("the recovered data dir opens")
        };
        node.wait_metrics(Duration::from_secs(20), "to lead again", |metrics| {
            metrics.state == RaftState::Leader
        })
        .await
        .unwrap();
        assert!(node.state().members.contains_key(&8));
        assert!(node.metrics().term > survivor.term);
        node.shutdown().await;
    }
}
