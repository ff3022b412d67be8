//! The control plane's Raft wiring: the only modules that name openraft.
//!
//! Code map:
//! - `config`: `RaftSettings`, our WAN-safe defaults, validated with field names, turned into
//!   openraft's `Config`.
//! - `log_store`: the Raft log, vote and committed pointer on `kv` (sled), flushed before any
//!   acknowledgement.
//! - `state_machine`: applies `StampedCommand`s with `command::apply`, publishes every new
//!   `Arc<State>` on the watch channel, and keeps the newest snapshot as a file.
//! - `snapshot_trigger`: a snapshot after big writes (a zone import), which the entry count
//!   of `snapshot_every` does not see, so restarts do not re-apply them.
//! - `log_trim`: after each snapshot, the log kept below it bounded by bytes as well as
//!   entries, so an import's chunks do not outlive the snapshot that holds them.
//! - `network`: the HTTP client side of Raft RPC (reqwest), plus write forwarding.
//! - `write`: a write forwarded to the leader, its outcome and why one did not happen.
//! - `group_commit`: writes arriving together share one forward call to the leader and one
//!   Raft entry (`Command::Group`), each still answered with its own outcome.
//! - `secret`: `ClusterSecret`, the shared secret `network` presents and `server` checks.
//! - `server`: `raft_router`, the axum routes that receive RPC, guarded by the cluster secret.
//! - `node`: `NodeHandle`, the one entry point the binary and the API use (opened by
//!   `open_node`); `start`: `spawn_node`, which opens a node and starts its tasks: the
//!   campaign gate (`campaign`, pre-vote) and the reporter (`reports`).
//! - `applied` and `reports`: DNS nodes' applied-index reports, posted to every voter by the
//!   reporter task (`reports`) and kept in memory (`applied`, not in the log); change tracking
//!   (`NodeHandle::change_status`) reads them.
//! - `stages`: `WriteStages`, one latency histogram per step of the write path (forward,
//!   group wait, commit, fsyncs, apply, reports, INSYNC), exported on `/metrics`.
//! - `integrity`: the applied record (`applied.json`, checksummed) and the start-up check
//!   that the storage still gives back everything the node applied; a damaged learner's data
//!   is moved aside and re-synced, a damaged voter refuses to start.
//! - `restore`: offline rewriting of a stopped node's data directory: a one-voter cluster from
//!   a backup (`gslb restore`) or from a survivor's own state (`gslb recover`).
//!
//! Persistence design: the log (and vote, committed pointer, last purged id) lives in sled;
//! the state machine lives in memory and is persisted as a snapshot file (`snapshot.json`,
//! written tmp + fsync + rename) every `snapshot_every` entries. On start the node loads the
//! snapshot (checksummed) and openraft re-applies the log from the snapshot up to the saved `committed`
//! pointer (flushed at each commit on a voter; on a learner with
//! `NodeOptions::flush_commit_pointer` false durable with the next flush of the log, which the
//! applied recorder forces before it records an index), so a restarted learner serves at least
//! what it recorded as applied, even while no leader is reachable. Logs are purged only below the snapshot (minus
//! `logs_kept_after_snapshot` entries, at most `logs_kept_after_snapshot_bytes` of them:
//! `log_trim`), so disk stays bounded.
//!
//! Running a node (what the `gslb` binary does; the API shares the axum server):
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use gslb_store::raft::{raft_router, spawn_node, ClusterSecret, NodeOptions};
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8053").await?;
//! let secret = ClusterSecret::new("a-long-shared-cluster-secret")?;
//! let node = spawn_node(NodeOptions::new(1, "/var/lib/gslb", "10.0.0.1:8053", secret)).await?;
//! let app = raft_router(node.clone()); // .merge(api_router) in the binary
//! tokio::spawn(async move { axum::serve(listener, app).await });
//! // Voter, first start of the bootstrap node only:
//! if !node.is_initialized().await {
//!     let voters = [(1, "10.0.0.1:8053"), (2, "10.0.0.2:8053"), (3, "10.0.0.3:8053")];
//!     node.initialize(voters.map(|(id, addr)| (id, addr.to_string())).into()).await?;
//! }
//! // A learner (DNS node) instead joins through any voters:
//! // node.join_as_learner(&["10.0.0.1:8053".to_string()]).await?;
//! let dns_view = node.state_watch(); // follow Arc<State> versions
//! # drop(dns_view);
//! node.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Invariant: no openraft or sled type appears in `NodeHandle`'s public signatures.
//! Invariant: nothing is acknowledged to a peer or a client before it is flushed to disk.

// openraft's `StorageError` is large (224 bytes) and every storage trait returns it; boxing
// it in our helpers would only add conversions at each call.
#![allow(clippy::result_large_err)]

pub mod applied;
pub mod campaign;
pub mod config;
mod group_commit;
pub mod import_pacing;
pub mod integrity;
pub mod log_store;
mod log_trim;
pub mod network;
pub mod node;
mod recent_entries;
pub mod reports;
pub mod restore;
pub mod secret;
pub mod server;
mod snapshot_trigger;
pub mod stages;
pub mod start;
pub mod state_machine;
mod write;

use std::io::Cursor;

use gslb_model::command::{ApplyError, CmdResult, StampedCommand};

openraft::declare_raft_types!(
    /// The openraft type configuration: our log payload is `StampedCommand`, each applied
    /// entry answers `Result<CmdResult, ApplyError>`, nodes are `u64` with an HTTP address.
    pub TypeConfig:
        D = StampedCommand,
        R = Result<CmdResult, ApplyError>,
        NodeId = u64,
        Node = openraft::BasicNode,
        SnapshotData = Cursor<Vec<u8>>,
);

/// A Raft node id.
pub type NodeId = u64;

/// The openraft instance.
pub(crate) type Raft = openraft::Raft<TypeConfig>;

pub use applied::AppliedReport;
pub use config::{RaftSettings, SettingsError};
pub use integrity::{DamageError, APPLIED_FILE};
pub use network::ClientTls;
pub use node::{
    ChangeStatusError, MembershipError, NodeError, NodeHandle, NodeMetrics, NodeOptions, RaftState,
    ReadError, WeakNodeHandle, WriteError, WriteOutcome, DEFAULT_COMMIT_TIMEOUT,
};
pub use restore::{
    has_node_data, move_node_data_aside, read_survivor, write_single_voter, RestoreError,
    SingleVoter, SurvivorState,
};
pub use secret::{ClusterSecret, SecretError};
pub use server::raft_router;
pub use stages::{Stage, StageSnapshot};
pub use start::spawn_node;
