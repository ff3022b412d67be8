//! `Member`: one node of the deployment as the operators and change tracking see it — its
//! addresses, region, Raft role and the roles it runs, and the last index it reported applied.
//!
//! Raft's own membership (who votes) lives in openraft's log; this record is the descriptive
//! side, written by the node when it joins and updated by `ReportApplied`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::ident::{prefix, validate_id};
use crate::model::validation::FieldErrors;

/// One node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// The Raft node id.
    pub id: u64,
    /// `host:port` of the node's HTTP server (Raft RPC and, when it runs the API role, the API).
    pub addr: String,
    /// `host:port` of the node's DNS listener, when it serves DNS (drills query it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_addr: Option<String>,
    /// The region it runs in, when known; probers use it as their vantage name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Voter or learner, as last declared (Raft's membership is the authority).
    pub raft_role: RaftRole,
    /// What the node runs.
    pub roles: BTreeSet<NodeRole>,
    /// The highest log index the node reported as applied; change tracking compares it with a
    /// write's version.
    #[serde(default)]
    pub applied_index: u64,
    /// Leader time (unix millis) of its last report.
    #[serde(default)]
    pub reported_at: u64,
}

/// A node's place in Raft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaftRole {
    /// Votes and can lead.
    Voter,
    /// Replicates without voting (every DNS node).
    Learner,
}

/// A role a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// Serves DNS; change tracking waits for these.
    Dns,
    /// Serves the REST API.
    Api,
    /// Runs health checks from its region.
    Prober,
    /// Holds a control-plane replica (voter).
    Control,
}

impl Member {
    /// Serves DNS: change tracking (INSYNC) waits for this node's applied index.
    pub fn serves_dns(&self) -> bool {
        self.roles.contains(&NodeRole::Dns)
    }

    /// Checks the record on its own, reporting under `path`.
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        let prefix = prefix(path);
        if self.addr.is_empty() || !self.addr.contains(':') {
            errors.push(
                format!("{prefix}addr"),
                format!("must be host:port, got {:?}", self.addr),
            );
        }
        if let Some(dns_addr) = &self.dns_addr {
            if dns_addr.parse::<std::net::SocketAddr>().is_err() {
                errors.push(
                    format!("{prefix}dns_addr"),
                    format!("must be ip:port, got {dns_addr:?}"),
                );
            }
        }
        if let Some(region) = &self.region {
            validate_id(&format!("{prefix}region"), region, errors);
        }
    }
}
