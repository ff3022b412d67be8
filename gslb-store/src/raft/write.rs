//! What a write is and how it ends: the write a follower forwards to the leader, its outcome
//! and the reasons it did not happen. Shared by the node and its group-commit queues.

use serde::{Deserialize, Serialize};

use crate::raft::NodeId;
use gslb_model::command::Command;
use gslb_model::model::audit::Actor;
use gslb_model::model::validation::FieldErrors;

/// A successful write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOutcome {
    /// The state version that contains the write; `GET /v1/changes/{version}` tracks it.
    pub version: u64,
    /// False when the state already was as asked (an idempotent repeat).
    pub changed: bool,
}

/// Why a write did not happen. Every variant except `Unavailable` means it certainly did not;
/// after `Unavailable` it may or may not have (commands are idempotent: retry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum WriteError {
    /// The command does not fit the current state; nothing was proposed.
    #[error("invalid command: {errors}")]
    Invalid {
        /// Every fault, by field path.
        errors: FieldErrors,
    },
    /// The command was committed but `apply` rejected it against the state it met.
    #[error("command rejected at version {version}: {errors}")]
    Rejected {
        /// The log index it consumed.
        version: u64,
        /// Every fault, by field path.
        errors: FieldErrors,
    },
    /// No leader is known right now (election in progress, or no quorum).
    #[error("no leader known; retry later")]
    NoLeader,
    /// This node leads, but has not heard from a majority of voters for `silent_ms`
    /// (partitioned away, or the others are down); nothing was proposed.
    #[error(
        "no quorum: node {leader} has not heard from a majority of voters for {silent_ms} ms; \
         nothing was written, retry on the majority side"
    )]
    NoQuorum {
        /// This node's id.
        leader: NodeId,
        /// Milliseconds since a majority last acknowledged it.
        silent_ms: u64,
    },
    /// A forwarded write reached a node that is no longer the leader.
    #[error("node is not the leader (leader: {leader:?})")]
    NotLeader {
        /// The leader it knows of, if any.
        leader: Option<NodeId>,
    },
    /// This node's storage failed (a full disk): nothing was proposed, and nothing will be
    /// until it is restarted with room again.
    #[error("{detail}; nothing was written")]
    Storage {
        /// What failed, naming the path (`no space left on PATH (...)`).
        detail: String,
    },
    /// The outcome is unknown: the leader could not be reached or did not answer in time.
    #[error("write outcome unknown: {detail}")]
    Unavailable {
        /// What failed.
        detail: String,
    },
}

/// A write forwarded to the leader.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ForwardedWrite {
    /// The command, unstamped: the leader stamps it.
    pub(crate) command: Command,
    /// Who asked.
    pub(crate) actor: Actor,
}
