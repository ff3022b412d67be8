//! `open_node` and `NodeHandle`: one control-plane replica (voter or learner), as the binary
//! and the API see it.
//!
//! A node owns its data directory (`kv/` for the Raft log, `snapshot.json` for the state
//! machine), the openraft instance and an HTTP client to its peers. It does not bind a port:
//! the caller serves `raft_router(handle)` on the node's advertised address, next to the API.
//!
//! Writes: `write` validates against the leader's state, stamps the command with the leader's
//! clock and proposes it; on a follower or learner it forwards the command to the leader over
//! `/raft/forward/batch` (one hop) and then waits briefly until the local state has caught
//! up, so a client reading from the node it wrote to sees its write. Writes arriving together
//! share one forward call and one Raft entry (`group_commit`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use openraft::error::{ChangeMembershipError, ClientWriteError, InitializeError, RaftError};
use openraft::ChangeMembers;
use openraft::{BasicNode, ServerState};
use serde::{Deserialize, Serialize};

use crate::kv::{Kv, KvError, KvOptions, DEFAULT_CACHE_BYTES};
use crate::raft::applied::{
    AppliedReport, AppliedReports, AppliedWaitBody, LeaderTable, ReportReply, APPLIED_TABLE_PATH,
    APPLIED_WAIT_PATH, MAX_APPLIED_WAIT, REPORT_TIMEOUT,
};
use crate::raft::config::{RaftSettings, SettingsError};
use crate::raft::group_commit::{ForwardedBatch, GroupQueues, GroupTarget};
use crate::raft::import_pacing::{wait_for_dns_nodes, Reached, CHUNK_SPREAD_WAIT, PREPARE_WAIT};
use crate::raft::integrity::{self, AppliedRecorder, Restorable};
use crate::raft::log_store::LogStore;
use crate::raft::network::{
    ClientTls, HttpClient, HttpNetwork, RpcFailure, FORWARD_BATCH_PATH, FORWARD_MEMBERSHIP_PATH,
    FORWARD_WRITE_PATH, LEADER_APPLIED_PATH,
};
use crate::raft::recent_entries::RecentEntries;
use crate::raft::restore::move_node_data_aside;
use crate::raft::secret::ClusterSecret;
use crate::raft::snapshot_trigger::SnapshotWanted;
use crate::raft::stages::{Stage, StageSnapshot, WriteStages};
use crate::raft::state_machine::{BuildersInFlight, SnapshotLoadError, StateMachine};
pub(crate) use crate::raft::write::ForwardedWrite;
pub use crate::raft::write::{WriteError, WriteOutcome};
use crate::raft::{NodeId, Raft};
use crate::watch::{state_channel, StatePublisher, StateWatch};
use gslb_model::clock::unix_millis;
use gslb_model::command::{self, ApplyError, CmdResult, Command, GroupedWrite, StampedCommand};
use gslb_model::memory::ResidentMemory;
use gslb_model::model::audit::Actor;
use gslb_model::model::state::{ChangeStatus, State};

/// How long a forwarded write may take end to end.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
/// The most staged zone-import chunks (`StageZoneRecords`, up to 64 KiB each, ~2,000
/// records) a leader has proposed and not yet applied. An importer keeps more in flight so
/// the next ones are ready the moment one is applied, while a small write that arrives
/// meanwhile is proposed at once and waits behind at most these, not behind every chunk the
/// importer has sent. With four, small writes waited 130-490 ms for INSYNC during a 1M
/// import on a busy machine (every learner applies the chunks ahead of the write): two keep
/// one chunk replicating while the one before it applies; with chunks halved to 64 KiB,
/// three keep the import within 10 s (8.4 s; two: 9.3–10.0 s) while a small write waits
/// behind ~1.5 of the old chunks (p99 91 ms during a 1M import, docs/perf.md).
const STAGED_CHUNKS_ADMITTED: usize = 3;
/// How long the leader keeps retrying a membership change refused only because another one
/// is still uncommitted (well inside `FORWARD_TIMEOUT`).
const MEMBERSHIP_BUSY_WAIT: Duration = Duration::from_secs(3);
/// The pause between those retries.
const MEMBERSHIP_BUSY_POLL: Duration = Duration::from_millis(20);
/// Default of `NodeOptions::commit_timeout`.
pub const DEFAULT_COMMIT_TIMEOUT: Duration = Duration::from_secs(8);
/// How often a forwarded write in flight checks that this node still hears from the leader.
const LEADER_CONTACT_CHECK: Duration = Duration::from_millis(100);
/// How long a node waits for its own state to reach a version it wrote through the leader.
const READ_YOUR_WRITE_WAIT: Duration = Duration::from_secs(5);
/// The longest each of the four steps of `NodeHandle::shutdown` may take.
const SHUTDOWN_STEP: Duration = Duration::from_secs(4);
/// The longest `NodeHandle::shutdown` takes in all (well inside a 30 s grace period).
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(16);

/// Everything needed to run one replica.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// This node's Raft id; unique in the cluster, never reused for another data directory.
    pub id: NodeId,
    /// Where the node keeps its log and snapshot; one node per directory.
    pub data_dir: PathBuf,
    /// `host:port` where peers reach this node's `raft_router` (and forwarded writes).
    pub advertise_addr: String,
    /// Name in logs and openraft's config; the same on every node.
    pub cluster_name: String,
    /// Raft timing and snapshot settings.
    pub raft: RaftSettings,
    /// Shared secret for Raft routes.
    pub cluster_secret: ClusterSecret,
    /// Storage engine cache, bytes.
    pub kv_cache_bytes: u64,
    /// When true the node reports its applied index to every voter (in memory, outside the
    /// Raft log; see `raft::reports`) on every applied version and at least every second.
    /// DNS nodes do, so change tracking waits for them (with a `Member` record, DNS role).
    pub report_applied: bool,
    /// What a reporting node reports instead of its state's version, when set: a DNS node
    /// passes the versions of the answer plans it installs, so INSYNC means its answers
    /// include the write, not just its state.
    pub report_source: Option<tokio::sync::watch::Receiver<u64>>,
    /// The newest state version whose complete staged zone imports this node has prepared
    /// for their commit (a DNS node compiles the staged zone ahead), reported beside the
    /// applied index while behind it; the leader holds a staged commit until every DNS node
    /// has prepared (bounded, `raft::import_pacing`). `None`: nothing to prepare.
    pub prepared_source: Option<tokio::sync::watch::Receiver<u64>>,
    /// How long the leader waits for a write to commit, or for a quorum to confirm a
    /// linearizable read, before answering `Unavailable` (without a quorum it never would).
    pub commit_timeout: Duration,
    /// How peers are called: plain HTTP, or https with the CAs of `[control.tls]`.
    pub peer_tls: ClientTls,
    /// What to do when the data directory is damaged (a corrupt file, or a storage that
    /// gives back less than the node had applied): when true (a learner: it holds nothing
    /// the voters lack) move the data aside into `damaged-<unix seconds>/` and start empty,
    /// to be re-synced by the leader (`NodeHandle::resynced` says so); when false (a voter)
    /// refuse to start with `NodeError::Damaged`.
    pub resync_damaged: bool,
    /// The channel the node publishes its state on, when the caller made it to follow the
    /// state before `spawn_node` returns: a DNS node compiles its answer plan from the
    /// restored snapshot while the log is still checked and re-applied (`None`: a channel of
    /// the node's own; either way `NodeHandle::state_watch` follows it).
    pub state_publisher: Option<StatePublisher>,
    /// Whether the committed pointer is flushed at every commit, before the entries apply
    /// (true, the default: a voter killed right after acknowledging a write restores it
    /// from its own log before any election). A learner sets false: the pointer becomes
    /// durable with the next log flush (the applied record always waits for one), and one
    /// fsync less stands between a commit and the DNS node's new plan (`log_store`).
    pub flush_commit_pointer: bool,
}

impl NodeOptions {
    /// Options with defaults for everything but identity, place and secret.
    pub fn new(
        id: NodeId,
        data_dir: impl Into<PathBuf>,
        advertise_addr: impl Into<String>,
        cluster_secret: ClusterSecret,
    ) -> NodeOptions {
        NodeOptions {
            id,
            data_dir: data_dir.into(),
            advertise_addr: advertise_addr.into(),
            cluster_name: "gslb".to_string(),
            raft: RaftSettings::default(),
            cluster_secret,
            kv_cache_bytes: DEFAULT_CACHE_BYTES,
            report_applied: false,
            report_source: None,
            prepared_source: None,
            commit_timeout: DEFAULT_COMMIT_TIMEOUT,
            peer_tls: ClientTls::plain(),
            resync_damaged: false,
            state_publisher: None,
            flush_commit_pointer: true,
        }
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Bad Raft settings.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The storage engine refused (locked, corrupt, I/O); the message names the directory.
    #[error(transparent)]
    Storage(#[from] KvError),
    /// The snapshot file is unreadable; the message names it.
    #[error(transparent)]
    Snapshot(#[from] SnapshotLoadError),
    /// The data directory does not hold what this node had (a voter does not start on it;
    /// see `NodeOptions::resync_damaged`); the message names the file.
    #[error(
        "data dir {data_dir}: damaged storage, refusing to start: {damage}; a voter must not \
         run on storage that may have lost acknowledged entries: if the other voters still \
         hold quorum, remove this node from the membership and add it back with an empty \
         data dir; otherwise rebuild it with `gslb restore --from BACKUP --config FILE`, or \
         with `gslb recover --config FILE --yes-i-know-quorum-is-lost` on the best surviving \
         voter (docs/operations.md, \"Backup and disaster recovery\")"
    )]
    Damaged {
        /// The node's data directory.
        data_dir: PathBuf,
        /// What is wrong, naming the file.
        damage: String,
    },
    /// openraft refused to start.
    #[error("raft node {id}: {detail}")]
    Raft {
        /// This node.
        id: NodeId,
        /// openraft's words.
        detail: String,
    },
}

/// Why a linearizable read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Only the leader serves linearizable reads.
    #[error("node is not the leader (leader: {leader:?})")]
    NotLeader {
        /// The leader it knows of, if any.
        leader: Option<NodeId>,
    },
    /// Leadership could not be confirmed with a quorum.
    #[error("linearizable read failed: {detail}")]
    Unavailable {
        /// What failed.
        detail: String,
    },
}

/// Why a membership change failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MembershipError {
    /// `initialize` on a node that already has a log or vote (bootstrap happens once).
    #[error("already initialized: {detail}")]
    AlreadyInitialized {
        /// openraft's words.
        detail: String,
    },
    /// The request is invalid or conflicts with a change in progress.
    #[error("membership change refused: {detail}")]
    Refused {
        /// openraft's words.
        detail: String,
    },
    /// No leader known, or it could not be reached.
    #[error("membership change unavailable: {detail}")]
    Unavailable {
        /// What failed.
        detail: String,
    },
}

/// Why `change_status` could not answer: the version is newer than anything this node has
/// applied (a typo, or a write through another node not yet replicated here).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("version {version} is beyond the newest known version {newest}")]
pub struct ChangeStatusError {
    /// The version asked about.
    pub version: u64,
    /// The newest version this node has applied.
    pub newest: u64,
}

/// A node's Raft role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaftState {
    /// Leads the cluster.
    Leader,
    /// Votes and follows.
    Follower,
    /// Asking for votes.
    Candidate,
    /// Replicates without voting.
    Learner,
    /// Stopped.
    Shutdown,
}

/// A node's view of itself, for `/metrics`, `/readyz` and `gslbctl cluster status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeMetrics {
    /// This node.
    pub id: NodeId,
    /// Its Raft role.
    pub state: RaftState,
    /// Current term.
    pub term: u64,
    /// The leader it knows of.
    pub leader: Option<NodeId>,
    /// The leader's `host:port` in the Raft membership (its HTTP server), when known.
    #[serde(default)]
    pub leader_addr: Option<String>,
    /// Last applied index (= the published state's version).
    pub applied_index: u64,
    /// Last index in its log.
    pub last_log_index: u64,
    /// Index of its newest snapshot.
    pub snapshot_index: Option<u64>,
    /// Index up to which its log was purged.
    pub purged_index: Option<u64>,
    /// Voter ids of the current membership.
    pub voters: Vec<NodeId>,
    /// Learner ids of the current membership.
    pub learners: Vec<NodeId>,
    /// Milliseconds since it last heard from a leader (on the leader: since a quorum last
    /// acknowledged it). `None` when never. Staleness for `/readyz` is judged on this.
    pub millis_since_leader_contact: Option<u64>,
    /// Election rounds this node saw since it started: how far its term rose (each
    /// candidacy anywhere in the cluster raises it by one). A leader that stalls past the
    /// election timeout shows here (`gslb_raft_elections_total`).
    #[serde(default)]
    pub elections: u64,
}

/// The handle to a running node. Cheap to clone; all clones drive the same node.
#[derive(Clone)]
pub struct NodeHandle {
    /// Shared internals.
    pub(crate) inner: Arc<NodeInner>,
}

/// A reference to a node that does not keep it alive: for background tasks that should end
/// with the node instead of holding its storage open.
#[derive(Clone)]
pub struct WeakNodeHandle {
    /// The node's internals, if they still exist.
    inner: Weak<NodeInner>,
}

impl WeakNodeHandle {
    /// The node, unless every `NodeHandle` of it is gone.
    pub fn upgrade(&self) -> Option<NodeHandle> {
        self.inner.upgrade().map(|inner| NodeHandle { inner })
    }
}

/// What every clone of a `NodeHandle` shares.
pub(crate) struct NodeInner {
    /// This node's id.
    pub(crate) id: NodeId,
    /// Where peers reach this node.
    pub(crate) advertise_addr: String,
    /// The openraft instance.
    pub(crate) raft: Raft,
    /// The newest applied state.
    pub(crate) state: StateWatch,
    /// The storage engine (for size metrics).
    pub(crate) kv: Kv,
    /// Client for forwarding.
    pub(crate) client: HttpClient,
    /// Secret checked on incoming Raft routes.
    pub(crate) secret: ClusterSecret,
    /// When this node last accepted an append-entries call from a leader.
    pub(crate) last_leader_contact: Mutex<Option<Instant>>,
    /// The highest commit index a leader's append-entries call carried since start: what
    /// `catch_up` waits to have applied.
    pub(crate) leader_commit_seen: AtomicU64,
    /// See `NodeOptions::commit_timeout`.
    pub(crate) commit_timeout: Duration,
    /// A leader that has not heard from a majority of voters for longer than this (the
    /// election timeout's upper bound: by then the others may have elected a new leader)
    /// refuses writes at once with `WriteError::NoQuorum` instead of proposing them.
    pub(crate) quorum_lost_after: Duration,
    /// Snapshot builders still running; shutdown waits for them.
    pub(crate) snapshot_builders: BuildersInFlight,
    /// The applied-index reporter, when enabled.
    pub(crate) reporter: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The campaign gate (`campaign`): elections only when a majority sees no leader.
    pub(crate) campaign_gate: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The lower bound of the election timeout: how recent a leader's contact must be for
    /// this node to call the leader alive when a peer asks before campaigning.
    pub(crate) election_min: Duration,
    /// Applied-index reports received from DNS nodes (on voters), and this node's own.
    pub(crate) applied_reports: AppliedReports,
    /// True when this start found damaged storage and began empty (see `resynced`).
    pub(crate) resynced: bool,
    /// Keeps `applied.json` current; written a last time at shutdown.
    pub(crate) recorder: Arc<AppliedRecorder>,
    /// The log store's newest entries: the Raft server notes the JSON of entries received.
    pub(crate) recent_entries: RecentEntries,
    /// Set by `shutdown`: a stopped core is then no fault.
    pub(crate) stopping: AtomicBool,
    /// The state machine's requests for a snapshot after big writes, until `spawn_node`
    /// hands them to `snapshot_trigger::run_snapshot_trigger`.
    pub(crate) snapshot_requests: Mutex<Option<tokio::sync::mpsc::Receiver<()>>>,
    /// The Raft term this node started in; every term since is one election round it saw
    /// (`NodeMetrics::elections`).
    pub(crate) term_at_start: u64,
    /// The group-commit queues: proposals (as leader) and forwards (to the leader).
    pub(crate) groups: GroupQueues,
    /// The leader's table of applied-index reports as a learner last fetched it, with the
    /// instant the fetch started: every waiter for INSYNC on this node shares one fetch at
    /// a time instead of asking the leader each on its own.
    pub(crate) leader_reports:
        tokio::sync::Mutex<Option<(Instant, BTreeMap<NodeId, AppliedReport>)>>,
    /// Turns of staged zone-import chunks to be proposed (`STAGED_CHUNKS_ADMITTED`).
    pub(crate) staged_chunk_turns: tokio::sync::Semaphore,
    /// Where each step of the write path is timed on this node (`stages`).
    pub(crate) stages: Arc<WriteStages>,
    /// A learner's copy of the leader's report table for its INSYNC waiters (long polls).
    pub(crate) leader_table: LeaderTable,
}

/// The body of `/raft/forward/membership`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MembershipRequest {
    /// The change.
    pub(crate) change: ForwardedMembership,
    /// True when a node already forwarded it; such a request is never forwarded again, so two
    /// nodes with stale ideas of the leader cannot bounce it between them.
    #[serde(default)]
    pub(crate) forwarded: bool,
}

/// Why the leader did not apply a membership change: only because another change is still
/// uncommitted (worth a retry a moment later), or for any other reason.
enum MembershipBusy {
    InProgress(MembershipError),
    Other(MembershipError),
}

/// A membership change forwarded to the leader.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub(crate) enum ForwardedMembership {
    /// `add_learner`.
    AddLearner {
        /// Its id.
        id: NodeId,
        /// Its `host:port`.
        addr: String,
    },
    /// `change_membership`.
    ChangeMembership {
        /// The new voter set.
        voters: BTreeSet<NodeId>,
        /// Keep removed voters as learners.
        retain: bool,
    },
    /// `remove_learner`.
    RemoveLearner {
        /// Its id.
        id: NodeId,
    },
}

/// The storage of one node, opened and checked, ready for openraft.
struct OpenedStorage {
    /// The engine (for flushes and size metrics).
    kv: Kv,
    /// openraft's log store.
    log_store: LogStore,
    /// openraft's state machine, holding the restored snapshot.
    state_machine: StateMachine,
    /// Where the state machine publishes.
    state: StateWatch,
    /// Keeps `applied.json` current.
    recorder: Arc<AppliedRecorder>,
    /// The state machine's requests for a snapshot after big writes.
    snapshot_requests: tokio::sync::mpsc::Receiver<()>,
    /// The write-path timings the log store and the state machine record into.
    stages: Arc<WriteStages>,
}

/// Why the storage could not be opened.
enum OpenFailure {
    /// The data does not hold what the node had (the text names the file).
    Damage(String),
    /// Anything else (locked, unreadable directory, bad settings).
    Other(NodeError),
}

impl From<KvError> for OpenFailure {
    fn from(error: KvError) -> Self {
        match error {
            KvError::Corrupt { .. } => OpenFailure::Damage(error.to_string()),
            other => OpenFailure::Other(NodeError::Storage(other)),
        }
    }
}

/// Opens the log store and the state machine of `options.data_dir` and checks that together they
/// give back everything the applied record says this node applied (`raft::integrity`).
fn open_storage(options: &NodeOptions) -> Result<OpenedStorage, OpenFailure> {
    let data_dir = options.data_dir.as_path();
    let kv_dir = data_dir.join("kv");
    let started = Instant::now();
    let kv = Kv::open(
        &kv_dir,
        &KvOptions {
            cache_bytes: options.kv_cache_bytes,
        },
    )?;
    let log_store = LogStore::open(kv.clone())?.with_lazy_committed(!options.flush_commit_pointer);
    let stages = log_store.stages();
    let recorded =
        integrity::read_record(data_dir).map_err(|error| OpenFailure::Damage(error.to_string()))?;
    let recorder = AppliedRecorder::spawn(data_dir, recorded, log_store.flush_handle());
    let publisher = options
        .state_publisher
        .clone()
        .unwrap_or_else(|| state_channel(State::default()).0);
    let state = publisher.subscribe();
    // The snapshot first: its state is published at once, so a DNS node that follows the
    // channel compiles its plan while the log is checked below and re-applied by openraft.
    let (snapshot_wanted, snapshot_requests) = SnapshotWanted::channel();
    let state_machine = StateMachine::open(
        data_dir,
        publisher,
        recorder.clone(),
        snapshot_wanted,
        options.raft.snapshot_after_record_sets,
        stages.clone(),
    )
    .map_err(|error| OpenFailure::Damage(error.to_string()))?;
    let checked = Instant::now();
    let (committed, log) = log_store
        .read_all_checked()
        .map_err(|detail| OpenFailure::Damage(format!("{}: {detail}", kv_dir.display())))?;
    tracing::info!(
        entries = log.len(),
        took_ms = checked.elapsed().as_millis() as u64,
        since_open_ms = started.elapsed().as_millis() as u64,
        memory = %ResidentMemory::read(),
        "start: checked the log"
    );
    let restorable = Restorable {
        snapshot: state_machine.snapshot_log_id(),
        committed,
        log,
    };
    integrity::check_restorable(&kv_dir, recorded, &restorable)
        .map_err(|error| OpenFailure::Damage(error.to_string()))?;
    Ok(OpenedStorage {
        kv,
        log_store,
        state_machine,
        state,
        recorder,
        snapshot_requests,
        stages,
    })
}

/// Opens the storage; when it is damaged, moves it aside and starts empty if `options` allow
/// (a learner), else refuses. Returns the storage and whether it was re-created.
fn open_or_discard_storage(options: &NodeOptions) -> Result<(OpenedStorage, bool), NodeError> {
    let damaged = |damage: String| NodeError::Damaged {
        data_dir: options.data_dir.clone(),
        damage,
    };
    let damage = match open_storage(options) {
        Ok(opened) => return Ok((opened, false)),
        Err(OpenFailure::Other(error)) => return Err(error),
        Err(OpenFailure::Damage(damage)) if !options.resync_damaged => return Err(damaged(damage)),
        Err(OpenFailure::Damage(damage)) => damage,
    };
    let aside = move_node_data_aside(&options.data_dir, "damaged")
        .map_err(|error| damaged(format!("{damage}; moving it aside failed: {error}")))?;
    tracing::error!(
        node = options.id,
        moved_to = %aside.as_deref().unwrap_or(Path::new("-")).display(),
        "damaged storage ({damage}); moved it aside and starting empty: this learner \
         re-syncs everything from the leader before it reports ready"
    );
    match open_storage(options) {
        Ok(opened) => Ok((opened, true)),
        Err(OpenFailure::Other(error)) => Err(error),
        Err(OpenFailure::Damage(again)) => Err(damaged(again)),
    }
}

/// Opens a node: its storage (refusing a locked directory, and a damaged one unless
/// `resync_damaged`), the state from the snapshot and the committed log, and Raft.
/// `start::spawn_node` then starts the node's tasks (the campaign gate, the reporter).
pub(crate) async fn open_node(options: NodeOptions) -> Result<NodeHandle, NodeError> {
    let config = Arc::new(options.raft.to_openraft(&options.cluster_name)?);
    std::fs::create_dir_all(&options.data_dir).map_err(|error| KvError::Io {
        path: options.data_dir.clone(),
        operation: "create directory",
        detail: error.to_string(),
    })?;
    let (storage, resynced) = open_or_discard_storage(&options)?;
    let OpenedStorage {
        kv,
        log_store,
        state_machine,
        state,
        recorder,
        snapshot_requests,
        stages,
    } = storage;
    let snapshot_builders = state_machine.builders();
    let client = HttpClient::new(options.cluster_secret.clone(), options.peer_tls.clone());
    let recent_entries = log_store.recent();
    // openraft re-applies the committed log after the snapshot before `new` returns.
    let replay_started = Instant::now();
    let raft = Raft::new(
        options.id,
        config,
        HttpNetwork::new(client.clone(), recent_entries.clone()),
        log_store,
        state_machine,
    )
    .await
    .map_err(|error| NodeError::Raft {
        id: options.id,
        detail: error.to_string(),
    })?;
    tracing::info!(
        node = options.id,
        addr = %options.advertise_addr,
        data_dir = %options.data_dir.display(),
        version = state.borrow().version,
        replay_ms = replay_started.elapsed().as_millis() as u64,
        memory = %ResidentMemory::read(),
        "raft node started"
    );
    // Re-applying a long log tail decoded and dropped every entry: give that memory back.
    let _ = tokio::task::spawn_blocking(crate::heap::release_free_memory).await;
    let term_at_start = raft.metrics().borrow().current_term;
    let handle = NodeHandle {
        inner: Arc::new_cyclic(|weak| NodeInner {
            groups: GroupQueues::start(weak, stages.clone()),
            stages,
            leader_table: LeaderTable::new(),
            leader_reports: tokio::sync::Mutex::new(None),
            term_at_start,
            id: options.id,
            advertise_addr: options.advertise_addr.clone(),
            raft,
            state,
            kv,
            client,
            secret: options.cluster_secret,
            last_leader_contact: Mutex::new(None),
            leader_commit_seen: AtomicU64::new(0),
            commit_timeout: options.commit_timeout,
            quorum_lost_after: Duration::from_millis(options.raft.election_max_ms),
            snapshot_builders,
            reporter: Mutex::new(None),
            campaign_gate: Mutex::new(None),
            election_min: Duration::from_millis(options.raft.election_min_ms),
            applied_reports: AppliedReports::new(),
            resynced,
            recorder,
            recent_entries,
            stopping: AtomicBool::new(false),
            snapshot_requests: Mutex::new(Some(snapshot_requests)),
            staged_chunk_turns: tokio::sync::Semaphore::new(STAGED_CHUNKS_ADMITTED),
        }),
    };
    Ok(handle)
}

impl NodeHandle {
    /// A handle that does not keep the node alive.
    pub fn downgrade(&self) -> WeakNodeHandle {
        WeakNodeHandle {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.inner.id
    }

    /// The newest applied state.
    pub fn state(&self) -> Arc<State> {
        self.inner.state.borrow().clone()
    }

    /// A receiver that sees every newly applied state (the DNS data plane follows it).
    pub fn state_watch(&self) -> StateWatch {
        self.inner.state.clone()
    }

    /// Waits until the local state reached `version`, up to `timeout`.
    pub async fn wait_for_version(&self, version: u64, timeout: Duration) -> Option<Arc<State>> {
        let mut watch = self.inner.state.clone();
        let reached =
            tokio::time::timeout(timeout, watch.wait_for(|state| state.version >= version)).await;
        match reached {
            Ok(Ok(state)) => Some(state.clone()),
            _ => None,
        }
    }

    /// Where the write that produced `version` stands across the DNS members of this node's
    /// state, judged from their applied-index reports (`applied_reports`). On a node that
    /// is not a voter the reports come from the leader; if it cannot be asked, only what
    /// this node knows counts, so the answer may say PENDING too long, never INSYNC too early.
    pub async fn change_status(&self, version: u64) -> Result<ChangeStatus, ChangeStatusError> {
        let state = self.state();
        if version > state.version {
            return Err(ChangeStatusError {
                version,
                newest: state.version,
            });
        }
        let reports = self.applied_reports().await;
        Ok(state.change_status_with(version, &applied_indexes(&reports)))
    }

    /// Waits until the change `version` is INSYNC as this node judges it, up to `timeout`;
    /// whether it got there. A voter judges from its own table and wakes on each report; a
    /// learner from the leader's, which one long poll at a time brings (`LeaderTable`):
    /// the leader answers once the lowest version waited for here is INSYNC there; when the
    /// only DNS node still behind is this one, its own report ends the wait. A leader
    /// that cannot be asked is asked again with a growing backoff (PENDING meanwhile, never
    /// INSYNC early). For the UPDATE acknowledgement, tests, benchmarks and orchestration.
    pub async fn wait_insync(&self, version: u64, timeout: Duration) -> bool {
        let started = Instant::now();
        let deadline = started + timeout;
        let table = &self.inner.leader_table;
        let _waiting = table.wait_for(version);
        let mut reports = self.inner.applied_reports.subscribe();
        let mut states = self.state_watch();
        let mut fetched = table.subscribe();
        loop {
            let is_voter = self.is_voter();
            let known = self.status_as_known(version, !is_voter);
            if let Some(ChangeStatus::Insync) = known {
                self.inner
                    .stages
                    .observe(Stage::InsyncWait, started.elapsed());
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // Only the leader knows the other DNS nodes' reports: a learner asks it, unless
            // the one still waited for is itself (its own report moves here first).
            let others_behind = match &known {
                Some(ChangeStatus::Pending { waiting }) => {
                    waiting.iter().any(|node| *node != self.inner.id)
                }
                _ => false,
            };
            if !is_voter && others_behind {
                if let Some(_poll) = table.try_poll() {
                    let poll = self.poll_leader_table(version, left);
                    tokio::pin!(poll);
                    loop {
                        tokio::select! {
                            () = &mut poll => break,
                            // Its own plan may be the last one waited for: done at once
                            // (the poll is dropped), not a round trip later.
                            Ok(()) = reports.changed() => {
                                if let Some(ChangeStatus::Insync) =
                                    self.status_as_known(version, true)
                                {
                                    break;
                                }
                            }
                        }
                    }
                    continue;
                }
            }
            let wake = async {
                let woken = tokio::select! {
                    changed = reports.changed() => changed.is_ok(),
                    changed = states.changed() => changed.is_ok(),
                    changed = fetched.changed() => changed.is_ok(),
                };
                if !woken {
                    // The node is shutting down: its channels closed.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            // Membership may change under us: look again at least every 200 ms.
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), wake).await;
        }
    }

    /// Where `version` stands as this node knows it (`None`: not applied here yet): every
    /// DNS member's report in this node's own table, with `with_leader_table` merged with
    /// the leader's table a long poll last brought.
    fn status_as_known(&self, version: u64, with_leader_table: bool) -> Option<ChangeStatus> {
        let state = self.state();
        if version > state.version {
            return None;
        }
        let mut table = self.inner.applied_reports.table();
        if with_leader_table {
            merge_reports(&mut table, self.inner.leader_table.latest());
        }
        Some(state.change_status_with(version, &applied_indexes(&table)))
    }

    /// One long poll of the leader's table (this node is not a voter): held by the leader
    /// until the lowest version waited for here is INSYNC there, or up to `left` (at most
    /// `MAX_APPLIED_WAIT`); the table is published to every waiter. A leader that does not
    /// know the long poll is asked for its table, then again after 20 ms; a failure waits
    /// out a growing backoff.
    async fn poll_leader_table(&self, version: u64, left: Duration) {
        let table = &self.inner.leader_table;
        let wait = left.min(MAX_APPLIED_WAIT);
        let (leader, addr) = match self.leader() {
            Some((leader, Some(addr))) if leader != self.inner.id => (leader, addr),
            // Leading by now (the next look judges as a voter), or no leader known yet.
            Some((leader, _)) if leader == self.inner.id => return,
            _ => {
                tokio::time::sleep(wait.min(table.backoff_after_failure())).await;
                return;
            }
        };
        let body = AppliedWaitBody {
            version: table.lowest_waited().unwrap_or(version),
            wait_ms: wait.as_millis() as u64,
        };
        let started = Instant::now();
        let asked: Result<BTreeMap<NodeId, AppliedReport>, RpcFailure> = self
            .inner
            .client
            .post(
                leader,
                &addr,
                APPLIED_WAIT_PATH,
                &body,
                wait + REPORT_TIMEOUT,
            )
            .await;
        self.inner
            .stages
            .observe(Stage::InsyncFetch, started.elapsed());
        match asked {
            Ok(reports) => table.publish(reports),
            // A leader from before the long poll: its table, and a pause as before.
            Err(RpcFailure::Status { status: 404, .. }) => {
                if let Some(reports) = self.leader_reports().await {
                    table.publish(reports);
                }
                tokio::time::sleep(wait.min(Duration::from_millis(20))).await;
            }
            Err(error) => {
                let pause = wait.min(table.backoff_after_failure());
                tracing::debug!(
                    node = self.inner.id,
                    leader,
                    "long poll of the leader's applied reports failed ({error}); again in \
                     {pause:?}"
                );
                tokio::time::sleep(pause).await;
            }
        }
    }

    /// What the leader answers a long poll: waits until `version` is INSYNC as this node's
    /// own table says, or `wait` passed (at most `MAX_APPLIED_WAIT`), then gives its table.
    pub(crate) async fn table_once_insync(
        &self,
        version: u64,
        wait: Duration,
    ) -> BTreeMap<NodeId, AppliedReport> {
        let deadline = Instant::now() + wait.min(MAX_APPLIED_WAIT);
        let mut reports = self.inner.applied_reports.subscribe();
        let mut states = self.state_watch();
        while !matches!(
            self.status_as_known(version, false),
            Some(ChangeStatus::Insync)
        ) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let wake = async {
                tokio::select! {
                    changed = reports.changed() => changed.is_ok(),
                    changed = states.changed() => changed.is_ok(),
                }
            };
            match tokio::time::timeout(left, wake).await {
                Ok(true) => {}
                // Timed out, or the node is stopping: answer with what there is.
                _ => break,
            }
        }
        self.local_applied_reports()
    }

    /// This node's write-path timings, per stage (`gslb_write_stage_seconds` on `/metrics`).
    pub fn write_stages(&self) -> Vec<StageSnapshot> {
        self.inner.stages.snapshot()
    }

    /// The applied-index reports this node can see: on a voter its own table (every
    /// reporting node posts to every voter); on a learner the leader's table merged with its
    /// own (falling back to its own when the leader cannot be asked). Newest index per node.
    pub async fn applied_reports(&self) -> BTreeMap<NodeId, AppliedReport> {
        let mut table = self.inner.applied_reports.table();
        if self.is_voter() {
            return table;
        }
        if let Some(remote) = self.leader_reports().await {
            merge_reports(&mut table, remote);
        }
        table
    }

    /// The leader's table of applied-index reports, fetched no earlier than this call: a
    /// fetch that started after the call is shared by every caller waiting for it, so the
    /// leader is asked once at a time however many writes wait for INSYNC here. `None` when
    /// no leader is known or it could not be asked.
    async fn leader_reports(&self) -> Option<BTreeMap<NodeId, AppliedReport>> {
        let called = Instant::now();
        let mut fetched = self.inner.leader_reports.lock().await;
        if let Some((started, table)) = fetched.as_ref() {
            if *started >= called {
                return Some(table.clone());
            }
        }
        let (leader, Some(addr)) = self.leader()? else {
            return None;
        };
        let started = Instant::now();
        let asked: Result<BTreeMap<NodeId, AppliedReport>, _> = self
            .inner
            .client
            .post(
                leader,
                &addr,
                APPLIED_TABLE_PATH,
                &(),
                FORWARD_TIMEOUT.min(Duration::from_secs(2)),
            )
            .await;
        match asked {
            Ok(table) => {
                *fetched = Some((started, table.clone()));
                Some(table)
            }
            Err(error) => {
                tracing::debug!(
                    node = self.inner.id,
                    "asking the leader for applied reports: {error}"
                );
                None
            }
        }
    }

    /// This node's own table of applied-index reports, without asking anybody.
    pub(crate) fn local_applied_reports(&self) -> BTreeMap<NodeId, AppliedReport> {
        self.inner.applied_reports.table()
    }

    /// What the leader answers a report from `reporter`: "removed" when its membership
    /// lists it neither as voter nor learner; `None` from members and from non-leaders.
    pub(crate) fn reply_to_report(&self, reporter: NodeId) -> Option<ReportReply> {
        let metrics = self.inner.raft.metrics().borrow().clone();
        if metrics.state != ServerState::Leader {
            return None;
        }
        let membership = metrics.membership_config.membership();
        let member = membership.voter_ids().any(|id| id == reporter)
            || membership.learner_ids().any(|id| id == reporter);
        (!member).then_some(ReportReply {
            removed_by: self.inner.id,
        })
    }

    /// Why this node is no longer part of the cluster, when the leader told it so (it still
    /// answers from its last state). `/readyz` says 503 with it.
    pub fn removed(&self) -> Option<String> {
        self.inner.applied_reports.removed_by().map(|leader| {
            format!(
                "removed from the cluster: leader {leader} no longer lists node {} as a member",
                self.inner.id
            )
        })
    }

    /// Records a report received from `node`.
    pub(crate) fn record_applied_report(&self, node: NodeId, index: u64, prepared: Option<u64>) {
        self.inner.applied_reports.record(node, index, prepared);
    }

    /// True when this node is a voter of its current membership.
    fn is_voter(&self) -> bool {
        self.inner
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .any(|id| id == self.inner.id)
    }

    /// The voters of the current membership with their addresses.
    pub(crate) fn voter_addrs(&self) -> BTreeSet<(NodeId, String)> {
        let metrics = self.inner.raft.metrics().borrow().clone();
        let membership = metrics.membership_config.membership();
        membership
            .voter_ids()
            .filter_map(|id| Some((id, membership.get_node(&id)?.addr.clone())))
            .collect()
    }

    /// True once this node has a log or vote: it was initialized or joined before, so it must
    /// not be initialized again. The binary calls `initialize` only when this is false.
    pub async fn is_initialized(&self) -> bool {
        self.inner.raft.is_initialized().await.unwrap_or(true)
    }

    /// Asks the cluster to add this node as a learner at its advertised address, trying each
    /// seed (`host:port` of any voter) until the leader accepts. A new node knows no leader
    /// yet, so it cannot use `add_learner` on itself. Idempotent: re-joining is harmless.
    pub async fn join_as_learner(&self, seeds: &[String]) -> Result<u64, MembershipError> {
        let request = MembershipRequest {
            change: ForwardedMembership::AddLearner {
                id: self.inner.id,
                addr: self.inner.advertise_addr.clone(),
            },
            forwarded: false,
        };
        let mut last_error = MembershipError::Unavailable {
            detail: "no seeds given".to_string(),
        };
        for seed in seeds {
            let reply: Result<Result<u64, MembershipError>, _> = self
                .inner
                .client
                .post(0, seed, FORWARD_MEMBERSHIP_PATH, &request, FORWARD_TIMEOUT)
                .await;
            match reply {
                Ok(Ok(index)) => return Ok(index),
                Ok(Err(error @ MembershipError::Refused { .. })) => return Err(error),
                Ok(Err(error)) => last_error = error,
                Err(failure) => {
                    last_error = MembershipError::Unavailable {
                        detail: failure.to_string(),
                    }
                }
            }
        }
        Err(last_error)
    }

    /// Bootstraps a new cluster with these voters (`id → host:port`). Call once, on one node,
    /// on first start only; a restarted node must never be initialized again.
    pub async fn initialize(
        &self,
        voters: BTreeMap<NodeId, String>,
    ) -> Result<(), MembershipError> {
        let nodes: BTreeMap<NodeId, BasicNode> = voters
            .into_iter()
            .map(|(id, addr)| (id, BasicNode { addr }))
            .collect();
        match self.inner.raft.initialize(nodes).await {
            Ok(()) => Ok(()),
            Err(RaftError::APIError(InitializeError::NotAllowed(error))) => {
                Err(MembershipError::AlreadyInitialized {
                    detail: error.to_string(),
                })
            }
            Err(error) => Err(MembershipError::Refused {
                detail: error.to_string(),
            }),
        }
    }

    /// Adds (or updates the address of) a learner; forwarded to the leader when needed.
    /// Returns once the change is committed, not when the learner has caught up (watch
    /// `metrics` or the learner's own state for that). Returns the membership entry's index.
    pub async fn add_learner(&self, id: NodeId, addr: String) -> Result<u64, MembershipError> {
        self.change_or_forward(ForwardedMembership::AddLearner { id, addr }, true)
            .await
    }

    /// Makes `voters` the voter set (joint consensus, then uniform). With `retain`, removed
    /// voters stay as learners. Forwarded to the leader when needed.
    pub async fn change_membership(
        &self,
        voters: BTreeSet<NodeId>,
        retain: bool,
    ) -> Result<u64, MembershipError> {
        self.change_or_forward(
            ForwardedMembership::ChangeMembership { voters, retain },
            true,
        )
        .await
    }

    /// Removes learner `id` from the membership (a voter must be demoted first, with
    /// `change_membership`); forwarded to the leader when needed. Its member record is not
    /// touched: the caller deletes it (`Command::DeleteMember`) so INSYNC stops waiting on it.
    pub async fn remove_learner(&self, id: NodeId) -> Result<u64, MembershipError> {
        self.change_or_forward(ForwardedMembership::RemoveLearner { id }, true)
            .await
    }

    /// Writes `command` on behalf of `actor`; on a non-leader, forwards it to the leader.
    /// Returns the version that contains it.
    pub async fn write(&self, command: Command, actor: Actor) -> Result<WriteOutcome, WriteError> {
        self.write_or_forward(command, actor, true).await
    }

    /// A state at least as new as every write acknowledged before the call (leader only:
    /// confirms leadership with a quorum first). Learners serve `state()` instead.
    pub async fn linearizable_read(&self) -> Result<Arc<State>, ReadError> {
        let confirmed = tokio::time::timeout(
            self.inner.commit_timeout,
            self.inner.raft.ensure_linearizable(),
        )
        .await;
        let Ok(confirmed) = confirmed else {
            return Err(ReadError::Unavailable {
                detail: format!(
                    "leadership not confirmed within {:?} (no quorum?)",
                    self.inner.commit_timeout
                ),
            });
        };
        match confirmed {
            Ok(read_log_id) => {
                let index = read_log_id.map_or(0, |log_id| log_id.index);
                self.wait_for_version(index, READ_YOUR_WRITE_WAIT)
                    .await
                    .ok_or_else(|| ReadError::Unavailable {
                        detail: format!("state did not reach version {index}"),
                    })
            }
            Err(error) => match error.forward_to_leader() {
                Some(forward) => Err(ReadError::NotLeader {
                    leader: forward.leader_id,
                }),
                None => Err(ReadError::Unavailable {
                    detail: error.to_string(),
                }),
            },
        }
    }

    /// Whether this node leads right now: one look at openraft's metrics, without
    /// copying them as `metrics` does (for loops that only act on the leader).
    pub fn is_leader(&self) -> bool {
        self.inner.raft.metrics().borrow().state == ServerState::Leader
    }

    /// A snapshot of this node's Raft metrics.
    pub fn metrics(&self) -> NodeMetrics {
        let metrics = self.inner.raft.metrics().borrow().clone();
        let membership = metrics.membership_config.membership();
        let state = match metrics.state {
            ServerState::Leader => RaftState::Leader,
            ServerState::Follower => RaftState::Follower,
            ServerState::Candidate => RaftState::Candidate,
            ServerState::Learner => RaftState::Learner,
            ServerState::Shutdown => RaftState::Shutdown,
        };
        let millis_since_leader_contact = if state == RaftState::Leader {
            metrics.millis_since_quorum_ack
        } else {
            self.inner
                .last_leader_contact
                .lock()
                .expect("leader contact lock")
                .map(|at| at.elapsed().as_millis() as u64)
        };
        NodeMetrics {
            id: self.inner.id,
            state,
            term: metrics.current_term,
            leader: metrics.current_leader,
            leader_addr: metrics
                .current_leader
                .and_then(|leader| membership.get_node(&leader))
                .map(|node| node.addr.clone()),
            applied_index: metrics.last_applied.map_or(0, |log_id| log_id.index),
            last_log_index: metrics.last_log_index.unwrap_or(0),
            snapshot_index: metrics.snapshot.map(|log_id| log_id.index),
            purged_index: metrics.purged.map(|log_id| log_id.index),
            voters: membership.voter_ids().collect(),
            learners: membership.learner_ids().collect(),
            millis_since_leader_contact,
            elections: metrics
                .current_term
                .saturating_sub(self.inner.term_at_start),
        }
    }

    /// Bytes this node's storage occupies on disk (log and metadata, not the snapshot
    /// file). Walks the data directory, so it is kept out of `metrics`, which the plan
    /// follower's health clock and the drill supervisor read many times a second.
    pub fn storage_bytes(&self) -> u64 {
        self.inner.kv.size_on_disk().unwrap_or(0)
    }

    /// Waits until `condition` holds on this node's metrics, up to `timeout`; `reason` names
    /// the wait in the error. For tests and orchestration, never on a request path.
    pub async fn wait_metrics(
        &self,
        timeout: Duration,
        reason: &str,
        condition: impl Fn(&NodeMetrics) -> bool,
    ) -> Result<NodeMetrics, String> {
        let deadline = Instant::now() + timeout;
        let mut changes = self.inner.raft.metrics();
        loop {
            let metrics = self.metrics();
            if condition(&metrics) {
                return Ok(metrics);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "node {}: timed out after {timeout:?} waiting for {reason}; last metrics {metrics:?}",
                    self.inner.id
                ));
            }
            // Metrics that do not come from openraft (storage size, leader contact) change
            // without a notification, so wake at least every 50 ms.
            let _ =
                tokio::time::timeout(left.min(Duration::from_millis(50)), changes.changed()).await;
        }
    }

    /// Waits until this node has applied everything a leader had committed when it first
    /// reached this node since start (or until it is the leader itself), up to `timeout`;
    /// the version reached. A restarted DNS node calls it before it answers, so its first
    /// answer is its peers' and not the state it had when it went down. `Err` (with the
    /// reason) when no leader came within `timeout`: the caller then serves what it has.
    ///
    /// The node also asks the leader it knows from its restored membership how far it has
    /// applied (`LEADER_APPLIED_PATH`), every 100 ms until one answers: the leader's
    /// replication to a node that was down backs off up to 5 s (`network`), so waiting for
    /// its next append alone cost a restart up to the whole `timeout`.
    pub async fn catch_up(&self, timeout: Duration) -> Result<u64, String> {
        let seen = &self.inner.leader_commit_seen;
        let reached = self.wait_metrics(timeout, "a leader's commit index applied", |metrics| {
            metrics.state == RaftState::Leader
                || (metrics.millis_since_leader_contact.is_some()
                    && metrics.applied_index >= seen.load(Ordering::SeqCst))
        });
        tokio::pin!(reached);
        let ask = async {
            loop {
                if let Some(applied) = self.ask_leader_applied().await {
                    self.note_leader_contact(Some(applied));
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::select! {
            result = &mut reached => return result.map(|metrics| metrics.applied_index),
            () = ask => {}
        }
        reached.await.map(|metrics| metrics.applied_index)
    }

    /// How far the leader this node knows has applied, if it answers as the leader.
    async fn ask_leader_applied(&self) -> Option<u64> {
        let (leader, Some(addr)) = self.leader()? else {
            return None;
        };
        if leader == self.inner.id {
            return None;
        }
        let asked: Result<Option<u64>, _> = self
            .inner
            .client
            .post(
                leader,
                &addr,
                LEADER_APPLIED_PATH,
                &(),
                Duration::from_millis(500),
            )
            .await;
        asked.ok().flatten()
    }

    /// True when this start found the data directory damaged and began empty (a learner
    /// with `resync_damaged`): until `catch_up` succeeds its state is not the cluster's, so
    /// it must not answer from it.
    pub fn resynced(&self) -> bool {
        self.inner.resynced
    }

    /// Why this node can no longer persist or replicate, if it cannot: its storage failed
    /// (`no space left on PATH ...`), or its Raft core stopped on an error. From then on it
    /// acknowledges nothing; it must be restarted (with room on its disk again).
    pub fn fault(&self) -> Option<String> {
        if let Some(error) = self.inner.kv.fault() {
            return Some(error.to_string());
        }
        let metrics = self.inner.raft.metrics();
        let metrics = metrics.borrow();
        match &metrics.running_state {
            Err(fatal) if !self.inner.stopping.load(Ordering::SeqCst) => {
                Some(format!("raft core stopped: {fatal}"))
            }
            _ => None,
        }
    }

    /// Waits until `fault` says something, and returns it. For the binary, which then
    /// reports it and exits so a supervisor restarts the node.
    pub async fn wait_fault(&self) -> String {
        let mut changes = self.inner.raft.metrics();
        loop {
            if let Some(fault) = self.fault() {
                return fault;
            }
            // A storage failure does not always change openraft's metrics: look every 200 ms.
            let _ = tokio::time::timeout(Duration::from_millis(200), changes.changed()).await;
        }
    }

    /// Waits until the file system of the node's storage has room again (a 1 MiB probe
    /// file can be written and synced), looking every 2 s.
    pub async fn wait_for_room(&self) {
        loop {
            let kv = self.inner.kv.clone();
            let room = tokio::task::spawn_blocking(move || kv.has_room_for(1024 * 1024)).await;
            if room.unwrap_or(false) {
                return;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    /// The cluster secret, to derive keys from (`ClusterSecret::key_material`).
    pub fn cluster_secret(&self) -> &ClusterSecret {
        &self.inner.secret
    }

    /// The identity of this node's cluster (derived from the cluster secret).
    pub fn cluster_id(&self) -> String {
        self.inner.secret.cluster_id()
    }

    /// A backup file's bytes: the whole state at one applied index. Unless `stale`, only
    /// the leader answers, after a linearizable read (nothing acknowledged before the call
    /// is missing); with `stale`, any node answers with its own applied state.
    pub async fn backup(&self, stale: bool) -> Result<Vec<u8>, ReadError> {
        let state = if stale {
            self.state()
        } else {
            self.linearizable_read().await?
        };
        let info = gslb_model::backup::BackupInfo {
            cluster_id: self.cluster_id(),
            created_at_ms: unix_millis(),
            node: self.inner.id,
            linearizable: !stale,
        };
        gslb_model::backup::encode(&info, &state).map_err(|error| ReadError::Unavailable {
            detail: error.to_string(),
        })
    }

    /// Takes a snapshot now (and lets openraft purge the log below it).
    pub async fn trigger_snapshot(&self) -> Result<(), String> {
        self.inner
            .raft
            .trigger()
            .snapshot()
            .await
            .map_err(|error| error.to_string())
    }

    /// Stops Raft (this node stops voting and replicating) and the reporter, waits for a
    /// snapshot build in progress, and flushes. Every step is bounded, so the whole takes at
    /// most `SHUTDOWN_BOUND` even when the storage failed (a full disk). The storage is
    /// released once every clone of the handle is dropped.
    pub async fn shutdown(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        if let Some(task) = self.inner.campaign_gate.lock().expect("gate lock").take() {
            task.abort();
        }
        if let Some(task) = self.inner.reporter.lock().expect("reporter lock").take() {
            task.abort();
        }
        let id = self.inner.id;
        match tokio::time::timeout(SHUTDOWN_STEP, self.inner.raft.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(node = id, "raft shutdown: {error}"),
            Err(_) => tracing::warn!(node = id, "raft did not stop within {SHUTDOWN_STEP:?}"),
        }
        // A snapshot build openraft started may still be writing the snapshot file; let it
        // finish so the directory is quiet when the caller reuses it.
        if !self.inner.snapshot_builders.wait_idle(SHUTDOWN_STEP).await {
            tracing::warn!(
                node = id,
                "a snapshot build did not finish within {SHUTDOWN_STEP:?}"
            );
        }
        match tokio::time::timeout(SHUTDOWN_STEP, self.inner.kv.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(node = id, "final flush: {error}"),
            Err(_) => tracing::warn!(
                node = id,
                "final flush did not end within {SHUTDOWN_STEP:?}"
            ),
        }
        if tokio::time::timeout(SHUTDOWN_STEP, self.inner.recorder.write_latest())
            .await
            .is_err()
        {
            tracing::warn!(
                node = id,
                "the applied record was not written within {SHUTDOWN_STEP:?}"
            );
        }
        tracing::info!(node = id, "raft node stopped");
    }

    /// The leader's id and address, as this node knows them.
    fn leader(&self) -> Option<(NodeId, Option<String>)> {
        let metrics = self.inner.raft.metrics().borrow().clone();
        let leader = metrics.current_leader?;
        let addr = metrics
            .membership_config
            .membership()
            .get_node(&leader)
            .map(|node| node.addr.clone());
        Some((leader, addr))
    }

    /// Proposes on this node if it leads; otherwise forwards once when `may_forward`.
    pub(crate) async fn write_or_forward(
        &self,
        command: Command,
        actor: Actor,
        may_forward: bool,
    ) -> Result<WriteOutcome, WriteError> {
        match self.leader() {
            Some((leader, _)) if leader == self.inner.id => {}
            Some((leader, addr)) => {
                if !may_forward {
                    return Err(WriteError::NotLeader {
                        leader: Some(leader),
                    });
                }
                return self.forward_write(leader, addr, command, actor).await;
            }
            None => return Err(WriteError::NoLeader),
        }
        // A leader cut off from the majority would only time out after `commit_timeout`
        // with an unknown outcome; say at once, and for certain, that nothing was written.
        let silent_ms = self.inner.raft.metrics().borrow().millis_since_quorum_ack;
        if let Some(silent_ms) = silent_ms {
            if u128::from(silent_ms) > self.inner.quorum_lost_after.as_millis() {
                return Err(WriteError::NoQuorum {
                    leader: self.inner.id,
                    silent_ms,
                });
            }
        }
        // A leader whose storage failed cannot persist anything: say so at once and exactly.
        if let Some(fault) = self.fault() {
            return Err(WriteError::Storage { detail: fault });
        }
        let state = self.state();
        command::validate(&state, &command).map_err(|errors| WriteError::Invalid { errors })?;
        if GroupedWrite::may_group(&command) {
            return self
                .inner
                .groups
                .propose(ForwardedWrite { command, actor })
                .await;
        }
        let staged = Staged::of(&command);
        let _turn = match staged {
            Staged::Chunk => Some(self.staged_chunk_turn().await?),
            Staged::Commit => {
                self.wait_until_prepared().await;
                None
            }
            Staged::No => None,
        };
        let result = self.propose(command, actor).await?;
        if staged == Staged::Chunk {
            // The turn goes back once the DNS nodes have the chunk too (bounded).
            let behind = wait_for_dns_nodes(
                &self.inner.applied_reports,
                || self.state(),
                result.version,
                Reached::Applied,
                CHUNK_SPREAD_WAIT,
            )
            .await;
            if !behind.is_empty() {
                tracing::debug!(
                    version = result.version,
                    ?behind,
                    "staged chunk: DNS nodes still behind after {CHUNK_SPREAD_WAIT:?}; next \
                     chunk admitted anyway"
                );
            }
        }
        Ok(WriteOutcome {
            version: result.version,
            changed: result.changed,
        })
    }

    /// Before a staged commit: waits (at most `PREPARE_WAIT`) until every DNS node has
    /// prepared the staging as this leader has applied it (`raft::import_pacing`).
    async fn wait_until_prepared(&self) {
        let version = self.state().version;
        let behind = wait_for_dns_nodes(
            &self.inner.applied_reports,
            || self.state(),
            version,
            Reached::Prepared,
            PREPARE_WAIT,
        )
        .await;
        if !behind.is_empty() {
            tracing::info!(
                version,
                ?behind,
                "staged commit: DNS nodes have not prepared the zone after {PREPARE_WAIT:?}; \
                 committing anyway (they compile it whole)"
            );
        }
    }

    /// A staged chunk's turn to be proposed (see `STAGED_CHUNKS_ADMITTED`), held until it is
    /// applied here and on the DNS nodes (`raft::import_pacing`); waits at most the commit
    /// timeout.
    async fn staged_chunk_turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>, WriteError> {
        let turn = tokio::time::timeout(
            self.inner.commit_timeout,
            self.inner.staged_chunk_turns.acquire(),
        )
        .await;
        match turn {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(WriteError::Unavailable {
                detail: format!(
                    "no turn for a staged chunk within {:?} (earlier chunks not applied); \
                     nothing was written",
                    self.inner.commit_timeout
                ),
            }),
        }
    }

    /// Stamps `command` and proposes it as one entry (this node leads, and it was
    /// validated), waiting until it is committed and applied here, up to `commit_timeout`.
    pub(crate) async fn propose(
        &self,
        command: Command,
        actor: Actor,
    ) -> Result<CmdResult, WriteError> {
        let stamped = StampedCommand {
            at: unix_millis(),
            actor,
            command,
        };
        let started = Instant::now();
        let proposed = tokio::time::timeout(
            self.inner.commit_timeout,
            self.inner.raft.client_write(stamped),
        )
        .await;
        self.inner.stages.observe(Stage::Commit, started.elapsed());
        let Ok(proposed) = proposed else {
            return Err(WriteError::Unavailable {
                detail: format!(
                    "not committed within {:?} (no quorum?)",
                    self.inner.commit_timeout
                ),
            });
        };
        match proposed {
            Ok(response) => match response.data {
                Ok(result) => Ok(result),
                Err(ApplyError::Rejected(errors)) => Err(WriteError::Rejected {
                    version: response.log_id.index,
                    errors,
                }),
            },
            // `ForwardToLeader` here may come after the entry was appended: openraft also
            // sends it when a leader that lost its term truncates the entry from its own log,
            // and with five voters an entry truncated on the proposer can still be committed
            // by another leader that holds it. So it is neither a certain refusal nor safe to
            // forward again (that could apply the command twice): the outcome is unknown.
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward))) => {
                Err(WriteError::Unavailable {
                    detail: format!(
                        "leadership moved (to {:?}) while the write was in flight; retry",
                        forward.leader_id
                    ),
                })
            }
            // The storage failed under this write (its entry may have reached followers, so the
            // outcome is unknown), or anything else stopped the core.
            Err(error) => Err(WriteError::Unavailable {
                detail: self.fault().unwrap_or_else(|| error.to_string()),
            }),
        }
    }

    async fn forward_write(
        &self,
        leader: NodeId,
        addr: Option<String>,
        command: Command,
        actor: Actor,
    ) -> Result<WriteOutcome, WriteError> {
        if addr.is_none() {
            return Err(WriteError::NoLeader);
        }
        // A follower cut off from its leader would wait the whole forward timeout; once it
        // has not heard from the leader for longer than the election timeout, say so.
        if let Some(silent_ms) = self.leader_silent_beyond_election_timeout() {
            return Err(WriteError::Unavailable {
                detail: format!(
                    "node {} has not heard from leader {leader} for {silent_ms} ms (longer \
                     than the election timeout, {} ms): cut off from it or it is down; \
                     nothing was forwarded, retry on another node",
                    self.inner.id,
                    self.inner.quorum_lost_after.as_millis()
                ),
            });
        }
        let reply = self
            .inner
            .groups
            .forward(ForwardedWrite { command, actor })
            .await;
        if let Ok(outcome) = &reply {
            // Read-your-writes on this node; if it is slow, the write is still done.
            let started = Instant::now();
            let _ = self
                .wait_for_version(outcome.version, READ_YOUR_WRITE_WAIT)
                .await;
            self.inner
                .stages
                .observe(Stage::ReadYourWrite, started.elapsed());
        }
        reply
    }

    /// Forwards `writes` to the leader in one call (`/raft/forward/batch`) and answers each
    /// in order; when this node leads by now, writes them here. A leader too old to know the
    /// batch route gets them one call each.
    pub(crate) async fn forward_writes(
        &self,
        writes: Vec<ForwardedWrite>,
    ) -> Vec<Result<WriteOutcome, WriteError>> {
        let count = writes.len();
        let all = |error: WriteError| vec![Err(error); count];
        let (leader, addr) = match self.leader() {
            Some((leader, _)) if leader == self.inner.id => return self.write_each(writes).await,
            Some((leader, Some(addr))) => (leader, addr),
            Some((_, None)) | None => return all(WriteError::NoLeader),
        };
        let body = ForwardedBatch { writes };
        let post =
            self.inner
                .client
                .post(leader, &addr, FORWARD_BATCH_PATH, &body, FORWARD_TIMEOUT);
        let cut_off = async {
            loop {
                tokio::time::sleep(LEADER_CONTACT_CHECK).await;
                if let Some(silent_ms) = self.leader_silent_beyond_election_timeout() {
                    return silent_ms;
                }
            }
        };
        let started = Instant::now();
        let reply: Result<Vec<Result<WriteOutcome, WriteError>>, RpcFailure> = tokio::select! {
            reply = post => reply,
            silent_ms = cut_off => {
                return all(WriteError::Unavailable {
                    detail: format!(
                        "node {} lost contact with leader {leader} while the forwarded write \
                         was in flight (nothing heard for {silent_ms} ms, longer than the \
                         election timeout, {} ms); the write may or may not have happened: \
                         retry on another node",
                        self.inner.id,
                        self.inner.quorum_lost_after.as_millis()
                    ),
                });
            }
        };
        self.inner.stages.observe(Stage::Forward, started.elapsed());
        match reply {
            Ok(answers) if answers.len() == count => answers,
            Ok(answers) => all(WriteError::Unavailable {
                detail: format!(
                    "leader {leader} answered {} of {count} forwarded writes",
                    answers.len()
                ),
            }),
            // A leader from before batched forwards: one call per write, as it knows them.
            Err(RpcFailure::Status { status: 404, .. }) => {
                let mut answers = Vec::with_capacity(count);
                for write in body.writes {
                    answers.push(self.forward_one(leader, &addr, write).await);
                }
                answers
            }
            Err(failure) => all(self.forward_failure(leader, failure)),
        }
    }

    /// Writes each of `writes` as if it came alone (not forwarding again), all at once, so
    /// those that may share an entry join this leader's next group; answers in order.
    pub(crate) async fn write_each(
        &self,
        writes: Vec<ForwardedWrite>,
    ) -> Vec<Result<WriteOutcome, WriteError>> {
        let mut answers = vec![Err(WriteError::NoLeader); writes.len()];
        let mut running = tokio::task::JoinSet::new();
        for (index, write) in writes.into_iter().enumerate() {
            let node = self.clone();
            running.spawn(async move {
                let answer = node
                    .write_or_forward(write.command, write.actor, false)
                    .await;
                (index, answer)
            });
        }
        while let Some(joined) = running.join_next().await {
            if let Ok((index, answer)) = joined {
                answers[index] = answer;
            }
        }
        answers
    }

    /// Forwards one write on `/raft/forward` (to a leader that has no batch route).
    async fn forward_one(
        &self,
        leader: NodeId,
        addr: &str,
        write: ForwardedWrite,
    ) -> Result<WriteOutcome, WriteError> {
        let reply: Result<Result<WriteOutcome, WriteError>, _> = self
            .inner
            .client
            .post(leader, addr, FORWARD_WRITE_PATH, &write, FORWARD_TIMEOUT)
            .await;
        reply.unwrap_or_else(|failure| Err(self.forward_failure(leader, failure)))
    }

    /// What a forward that failed below Raft means for its writes.
    fn forward_failure(&self, leader: NodeId, failure: RpcFailure) -> WriteError {
        if failure.never_sent() {
            // A leader that was just killed refuses connections for up to an election
            // timeout before a new one is known: nothing left this node, so the client may
            // safely retry (gslbctl retries what says "nothing was forwarded").
            WriteError::Unavailable {
                detail: format!(
                    "node {} could not reach leader {leader} ({failure}); nothing was \
                     forwarded, retry on another node",
                    self.inner.id
                ),
            }
        } else {
            WriteError::Unavailable {
                detail: failure.to_string(),
            }
        }
    }

    /// Milliseconds since this node (not leading) last heard from a leader, when that is
    /// longer than the election timeout; `None` while in contact or before any contact.
    fn leader_silent_beyond_election_timeout(&self) -> Option<u64> {
        let last = (*self
            .inner
            .last_leader_contact
            .lock()
            .expect("leader contact lock"))?;
        let silent = last.elapsed();
        (silent > self.inner.quorum_lost_after).then_some(silent.as_millis() as u64)
    }

    /// Applies a membership change on the leader, or forwards it once when `may_forward`.
    pub(crate) async fn change_or_forward(
        &self,
        change: ForwardedMembership,
        may_forward: bool,
    ) -> Result<u64, MembershipError> {
        match self.leader() {
            Some((leader, _)) if leader == self.inner.id => {}
            Some((leader, Some(addr))) if may_forward => {
                let reply: Result<Result<u64, MembershipError>, _> = self
                    .inner
                    .client
                    .post(
                        leader,
                        &addr,
                        FORWARD_MEMBERSHIP_PATH,
                        &MembershipRequest {
                            change,
                            forwarded: true,
                        },
                        FORWARD_TIMEOUT,
                    )
                    .await;
                return reply.unwrap_or_else(|failure| {
                    Err(MembershipError::Unavailable {
                        detail: failure.to_string(),
                    })
                });
            }
            Some((leader, _)) => {
                return Err(MembershipError::Unavailable {
                    detail: format!(
                        "node {} is not the leader (leader: {leader})",
                        self.inner.id
                    ),
                })
            }
            None => {
                return Err(MembershipError::Unavailable {
                    detail: "no leader known".to_string(),
                })
            }
        }
        // Joins of several nodes started together (the demo's DNS nodes and probers) meet
        // here: openraft refuses a change while the previous one is uncommitted, which
        // clears within a commit, so the leader waits its turn instead of sending the
        // joiner into its exponential backoff (that delayed a DNS node's join by seconds).
        let deadline = Instant::now() + MEMBERSHIP_BUSY_WAIT;
        loop {
            match self.apply_membership_change(change.clone()).await {
                Err(MembershipBusy::InProgress(_)) if Instant::now() < deadline => {
                    tokio::time::sleep(MEMBERSHIP_BUSY_POLL).await;
                }
                Err(MembershipBusy::InProgress(error)) | Err(MembershipBusy::Other(error)) => {
                    return Err(error)
                }
                Ok(index) => return Ok(index),
            }
        }
    }

    /// Applies `change` on this node, the leader: the log index of the change, or why not
    /// (telling apart a refusal because another change is still uncommitted).
    async fn apply_membership_change(
        &self,
        change: ForwardedMembership,
    ) -> Result<u64, MembershipBusy> {
        let result = match change {
            ForwardedMembership::AddLearner { id, addr } => {
                self.inner
                    .raft
                    .add_learner(id, BasicNode { addr }, false)
                    .await
            }
            ForwardedMembership::ChangeMembership { voters, retain } => {
                self.inner.raft.change_membership(voters, retain).await
            }
            ForwardedMembership::RemoveLearner { id } => {
                let nodes = BTreeSet::from([id]);
                self.inner
                    .raft
                    .change_membership(ChangeMembers::RemoveNodes(nodes), false)
                    .await
            }
        };
        match result {
            Ok(response) => Ok(response.log_id.index),
            Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(error))) => {
                let detail = error.to_string();
                match error {
                    ChangeMembershipError::InProgress(_) => {
                        Err(MembershipBusy::InProgress(MembershipError::Refused {
                            detail,
                        }))
                    }
                    ChangeMembershipError::EmptyMembership(_)
                    | ChangeMembershipError::LearnerNotFound(_) => {
                        Err(MembershipBusy::Other(MembershipError::Refused { detail }))
                    }
                }
            }
            Err(error) => Err(MembershipBusy::Other(MembershipError::Unavailable {
                detail: error.to_string(),
            })),
        }
    }

    /// Records that a leader just reached this node, telling its commit index if it did.
    /// The openraft instance (for the campaign gate's runtime switches).
    pub(crate) fn raft(&self) -> &Raft {
        &self.inner.raft
    }

    /// Whether the node is shutting down.
    pub(crate) fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    /// The lower bound of the election timeout.
    pub(crate) fn election_min(&self) -> Duration {
        self.inner.election_min
    }

    /// Whether this node leads, or heard from a leader within the minimum election timeout:
    /// what it answers a peer that asks before campaigning.
    pub(crate) fn leader_alive(&self) -> bool {
        if self.is_leader() {
            return true;
        }
        let last = *self
            .inner
            .last_leader_contact
            .lock()
            .expect("leader contact lock");
        last.is_some_and(|last| last.elapsed() < self.inner.election_min)
    }

    pub(crate) fn note_leader_contact(&self, leader_commit: Option<u64>) {
        if let Some(index) = leader_commit {
            self.inner
                .leader_commit_seen
                .fetch_max(index, Ordering::SeqCst);
        }
        *self
            .inner
            .last_leader_contact
            .lock()
            .expect("leader contact lock") = Some(Instant::now());
    }
}

/// Merges `remote` reports into `table`, keeping the newer index per node.
fn merge_reports(
    table: &mut BTreeMap<NodeId, AppliedReport>,
    remote: BTreeMap<NodeId, AppliedReport>,
) {
    for (node, report) in remote {
        let entry = table.entry(node).or_insert(report);
        if report.index > entry.index {
            *entry = report;
        }
    }
}

/// What a write is to a staged zone import's pacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Staged {
    /// A chunk (`StageZoneRecords`): takes a turn.
    Chunk,
    /// A commit (`CommitStagedZone`): waits for the DNS nodes to prepare.
    Commit,
    /// Anything else.
    No,
}

impl Staged {
    fn of(command: &Command) -> Staged {
        match command {
            Command::StageZoneRecords { .. } => Staged::Chunk,
            Command::CommitStagedZone { .. } => Staged::Commit,
            Command::Guarded { command, .. } => Staged::of(command),
            _ => Staged::No,
        }
    }
}

/// The index of each report.
fn applied_indexes(reports: &BTreeMap<NodeId, AppliedReport>) -> BTreeMap<NodeId, u64> {
    reports
        .iter()
        .map(|(node, report)| (*node, report.index))
        .collect()
}

/// The group-commit queues reach their node through this: a group is proposed, or a batch
/// forwarded, as the node's own writes are.
impl GroupTarget for NodeInner {
    async fn propose(
        self: Arc<Self>,
        command: Command,
        actor: Actor,
    ) -> Result<CmdResult, WriteError> {
        NodeHandle { inner: self }.propose(command, actor).await
    }

    async fn forward_writes(
        self: Arc<Self>,
        writes: Vec<ForwardedWrite>,
    ) -> Vec<Result<WriteOutcome, WriteError>> {
        NodeHandle { inner: self }.forward_writes(writes).await
    }
}
