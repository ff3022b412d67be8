//! The cluster on the wire: this node's Raft view (`NodeStatusDto`), the members the state
//! knows (`MemberDto`), membership requests, and `/readyz`'s `ReadyDto`.

use gslb_model::model::{Member, NodeRole, RaftRole};
use gslb_store::raft::{NodeMetrics, RaftState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /v1/cluster`: the answering node's view and the members the state records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClusterStatus {
    /// The node that answered.
    pub node: NodeStatusDto,
    /// The state version it serves.
    pub version: u64,
    /// Members as the replicated state records them (DNS nodes report applied indexes).
    pub members: Vec<MemberDto>,
}

/// One node's Raft view of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeStatusDto {
    /// Raft id.
    pub id: u64,
    /// `leader`, `follower`, `candidate`, `learner` or `shutdown`.
    pub role: String,
    /// Current term.
    pub term: u64,
    /// The leader it knows of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<u64>,
    /// The leader's `host:port` (its HTTP server: Raft RPC and API), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_addr: Option<String>,
    /// Last applied log index (= state version).
    pub applied_index: u64,
    /// Last log index.
    pub last_log_index: u64,
    /// Index of its newest snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_index: Option<u64>,
    /// Voter ids.
    pub voters: Vec<u64>,
    /// Learner ids.
    pub learners: Vec<u64>,
    /// Milliseconds since it last heard from a leader (leader: since a quorum acknowledged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub millis_since_leader_contact: Option<u64>,
    /// True when that is longer than the configured `stale_after` (or never happened).
    pub stale: bool,
}

impl NodeStatusDto {
    /// The DTO of a node's metrics; `stale_after_ms` decides `stale`.
    pub fn from_metrics(metrics: &NodeMetrics, stale_after_ms: u64) -> NodeStatusDto {
        NodeStatusDto {
            id: metrics.id,
            role: role_name(metrics.state).to_string(),
            term: metrics.term,
            leader: metrics.leader,
            leader_addr: metrics.leader_addr.clone(),
            applied_index: metrics.applied_index,
            last_log_index: metrics.last_log_index,
            snapshot_index: metrics.snapshot_index,
            voters: metrics.voters.clone(),
            learners: metrics.learners.clone(),
            millis_since_leader_contact: metrics.millis_since_leader_contact,
            stale: is_stale(metrics, stale_after_ms),
        }
    }
}

/// True when the node has not heard from a leader within `stale_after_ms`.
pub fn is_stale(metrics: &NodeMetrics, stale_after_ms: u64) -> bool {
    metrics
        .millis_since_leader_contact
        .is_none_or(|millis| millis > stale_after_ms)
}

/// The lowercase name of a Raft role.
pub fn role_name(state: RaftState) -> &'static str {
    match state {
        RaftState::Leader => "leader",
        RaftState::Follower => "follower",
        RaftState::Candidate => "candidate",
        RaftState::Learner => "learner",
        RaftState::Shutdown => "shutdown",
    }
}

/// A member as the state records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberDto {
    /// Raft id.
    pub id: u64,
    /// `host:port` of its HTTP server.
    pub addr: String,
    /// `host:port` of its DNS listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_addr: Option<String>,
    /// Its region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `voter` or `learner`.
    pub raft_role: String,
    /// What it runs: `dns`, `api`, `prober`, `control`.
    pub roles: Vec<String>,
    /// The highest index it reported applied.
    pub applied_index: u64,
    /// Milliseconds since the answering node last heard its applied-index report (voters
    /// hear them; a learner asks its leader); absent when none was heard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_contact_ms: Option<u64>,
    /// Whether that report is recent (within the API's `stale_after`, at least 3 s): the
    /// node is alive.
    #[serde(default)]
    pub reachable: bool,
}

impl MemberDto {
    /// The DTO of a model member.
    pub fn from_model(member: &Member) -> MemberDto {
        MemberDto {
            id: member.id,
            addr: member.addr.clone(),
            dns_addr: member.dns_addr.clone(),
            region: member.region.clone(),
            raft_role: match member.raft_role {
                RaftRole::Voter => "voter",
                RaftRole::Learner => "learner",
            }
            .to_string(),
            roles: member
                .roles
                .iter()
                .map(|role| {
                    match role {
                        NodeRole::Dns => "dns",
                        NodeRole::Api => "api",
                        NodeRole::Prober => "prober",
                        NodeRole::Control => "control",
                    }
                    .to_string()
                })
                .collect(),
            applied_index: member.applied_index,
            last_contact_ms: None,
            reachable: false,
        }
    }
}

/// `POST /v1/cluster/learners`: add (or re-address) a learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLearnerRequest {
    /// Its Raft id.
    pub id: u64,
    /// `host:port` where its Raft routes answer.
    pub addr: String,
}

/// `PUT /v1/cluster/voters`: make these the voters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeVotersRequest {
    /// The new voter set; each must already be a member (add it as a learner first).
    #[schema(min_items = 1)]
    pub voters: Vec<u64>,
    /// Keep removed voters as learners (default true).
    #[serde(default = "default_retain")]
    pub retain: bool,
}

fn default_retain() -> bool {
    true
}

/// A committed membership change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MembershipResult {
    /// The log index of the membership entry.
    pub index: u64,
}

/// `/readyz`: whether this node has state to serve, and whether it is stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReadyDto {
    /// True once the node has applied anything (it can serve a state) and, on a DNS node,
    /// answers DNS.
    pub ready: bool,
    /// On a DNS node: whether its DNS listeners answer from a caught-up plan (false while
    /// it catches up after a start and from SIGTERM on). Absent on other nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_serving: Option<bool>,
    /// True when no leader was heard from within `stale_after` (it keeps serving).
    pub stale: bool,
    /// Its applied index.
    pub applied_index: u64,
    /// The state version it serves.
    pub version: u64,
    /// Its Raft role.
    pub role: String,
    /// Milliseconds since it last heard from a leader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub millis_since_leader_contact: Option<u64>,
    /// Why the node is not ready when it cannot persist or replicate any more (its storage
    /// failed, e.g. `no space left on PATH`, or its Raft core stopped): it will exit so a
    /// supervisor restarts it. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// On a DNS node: signed zones whose keys this node cannot open (another cluster
    /// secret, damaged data). Their DO=1 queries get SERVFAIL; the node is not ready.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dnssec_problems: Vec<String>,
}

/// A backup file as `GET /v1/cluster/snapshot` sends it: a JSON header line, a newline, then
/// the state's JSON (see `gslb_model::backup`). Documentation only: the route sends bytes.
#[derive(Debug, Clone, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct BackupFile(pub Vec<u8>);
