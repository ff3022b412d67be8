//! `/v1/cluster`: this node's Raft status and the recorded members (read), adding and
//! removing learners and changing the voter set (admin), and the backup snapshot of the whole
//! state (admin).

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gslb_model::model::FieldErrors;
use gslb_model::Command;
use gslb_store::raft::{MembershipError, ReadError};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::dto::cluster::BackupFile;
use crate::dto::{
    AddLearnerRequest, ChangeVotersRequest, ClusterStatus, MemberDto, MembershipResult,
    NodeStatusDto,
};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{number_text, JsonBody};
use crate::ApiContext;

fn field_errors(path: &str, message: String) -> FieldErrors {
    let mut fields = FieldErrors::default();
    fields.push(path, message);
    fields
}

fn membership_error(error: MembershipError) -> ApiError {
    match error {
        MembershipError::Unavailable { .. } => ApiError::Unavailable(error.to_string()),
        other => ApiError::conflict(other.to_string()),
    }
}

/// The answering node's Raft view and the members the state records, with the applied
/// index each last reported.
#[utoipa::path(get, path = "/v1/cluster", tag = "cluster",
    responses((status = 200, description = "cluster status", body = ClusterStatus)))]
pub async fn get_cluster(State(context): State<ApiContext>) -> Json<ClusterStatus> {
    let metrics = context.node.metrics();
    let state = context.node.state();
    // A member's applied index is what it last reported (in memory on the voters, not in
    // the state), or what an older log recorded in the member, whichever is higher.
    let reports = context.node.applied_reports().await;
    let now = gslb_model::clock::unix_millis();
    let members = state
        .members
        .values()
        .map(|member| {
            let mut dto = MemberDto::from_model(member);
            if let Some(report) = reports.get(&member.id) {
                dto.applied_index = dto.applied_index.max(report.index);
                let ago = now.saturating_sub(report.at_ms);
                dto.last_contact_ms = Some(ago);
                dto.reachable = ago <= reachable_within_ms(&context);
            }
            dto
        })
        .collect();
    Json(ClusterStatus {
        node: NodeStatusDto::from_metrics(&metrics, context.stale_after_ms()),
        version: state.version,
        members,
    })
}

/// The media type of a backup file (a JSON header line, then the JSON state).
pub const SNAPSHOT_MEDIA_TYPE: &str = "application/vnd.gslb.backup";

/// `?stale=`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SnapshotQuery {
    /// Serve this node's own applied state without confirming leadership (any node answers,
    /// even without a quorum; the file says `"linearizable": false`). Default false: only
    /// the leader answers, after a linearizable read.
    #[serde(default)]
    pub stale: bool,
}

/// A consistent backup of the whole replicated state at one applied index: a header line
/// (`format`, `version`, `cluster_id`, `applied_index`, `created_at_ms`, `node`,
/// `linearizable`, `payload_bytes`, `payload_sha256`), a newline, then the state's JSON.
/// `gslb restore --from FILE` rebuilds a cluster from it. Without `stale=true` only the
/// leader answers (409 names the leader otherwise).
#[utoipa::path(get, path = "/v1/cluster/snapshot", tag = "cluster", params(SnapshotQuery),
    responses((status = 200, description = "the backup file", content_type = "application/vnd.gslb.backup", body = BackupFile),
              (status = 409, description = "not the leader (the message names it): ask it, or pass stale=true", body = ErrorBody),
              (status = 503, description = "leadership not confirmed by a quorum", body = ErrorBody)))]
pub async fn get_snapshot(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    Query(query): Query<SnapshotQuery>,
) -> Result<Response, ApiError> {
    let bytes = context
        .node
        .backup(query.stale)
        .await
        .map_err(|error| match error {
            ReadError::NotLeader { leader } => {
                let metrics = context.node.metrics();
                let leader = match (leader, metrics.leader_addr) {
                    (Some(id), Some(addr)) => format!("node {id} at {addr}"),
                    (Some(id), None) => format!("node {id}"),
                    (None, _) => "not known".to_string(),
                };
                ApiError::conflict(format!(
                    "node {} is not the leader (the leader is {leader}): ask the leader for a \
                     linearizable snapshot, or pass stale=true for this node's state",
                    context.node.id()
                ))
            }
            ReadError::Unavailable { detail } => ApiError::Unavailable(detail),
        })?;
    tracing::info!(who = %actor.who, from = ?actor.from, bytes = bytes.len(), stale = query.stale, "backup snapshot served");
    let filename = format!(
        "attachment; filename=\"gslb-{}-{}.backup\"",
        context.node.id(),
        context.node.state().version
    );
    Ok((
        [
            (CONTENT_TYPE, SNAPSHOT_MEDIA_TYPE.to_string()),
            (CONTENT_DISPOSITION, filename),
        ],
        bytes,
    )
        .into_response())
}

/// Adds (or re-addresses) a learner; returns once the membership entry is committed.
#[utoipa::path(post, path = "/v1/cluster/learners", tag = "cluster", request_body = AddLearnerRequest,
    responses((status = 200, description = "committed", body = MembershipResult)))]
pub async fn add_learner(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<AddLearnerRequest>,
) -> Result<Json<MembershipResult>, ApiError> {
    if !body.addr.contains(':') {
        return Err(ApiError::field(
            "addr",
            format!("must be host:port, got {:?}", body.addr),
        ));
    }
    // Two node ids at one address would make a node replicate to itself (openraft asserts
    // on an append from its own term), so an address already held by another member is
    // refused; so is turning a voter into a learner.
    let state = context.node.state();
    if let Some(holder) = state
        .members
        .values()
        .find(|member| member.addr == body.addr && member.id != body.id)
    {
        return Err(ApiError::Conflict {
            message: format!("address {} belongs to node {}", body.addr, holder.id),
            fields: field_errors("addr", format!("already used by node {}", holder.id)),
        });
    }
    if context.node.metrics().voters.contains(&body.id) {
        return Err(ApiError::Conflict {
            message: format!("node {} is a voter; change voters instead", body.id),
            fields: field_errors("id", format!("node {} is a voter", body.id)),
        });
    }
    tracing::info!(who = %actor.who, from = ?actor.from, learner = body.id, addr = %body.addr, "add learner");
    let index = context
        .node
        .add_learner(body.id, body.addr)
        .await
        .map_err(membership_error)?;
    Ok(Json(MembershipResult { index }))
}

/// How recent a member's applied-index report must be for it to count as reachable: the
/// API's `stale_after`, but never under 3 s, three of the reporters' ~1 s keepalives, so a
/// live node never looks gone between two reports.
fn reachable_within_ms(context: &ApiContext) -> u64 {
    context.stale_after_ms().max(3_000)
}

/// `DELETE /v1/cluster/learners/{id}` options.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RemoveQuery {
    /// Remove it even though it reported recently (it is alive and will notice).
    #[serde(default)]
    pub force: bool,
}

/// Removes a learner (a DNS node, or a node never promoted) from the membership and deletes
/// its member record, so `INSYNC` stops waiting for it; 409 for a voter (demote it with
/// `PUT /v1/cluster/voters` first) and for a node that reported within `stale_after` (it is
/// alive: stop it first, or `force=true`), 404 when the id is neither a learner nor a member.
#[utoipa::path(delete, path = "/v1/cluster/learners/{id}", tag = "cluster",
    params(("id" = u64, Path, description = "the learner's node id"), RemoveQuery),
    responses((status = 200, description = "removed", body = MembershipResult),
              (status = 404, description = "no such learner", body = ErrorBody),
              (status = 409, description = "a voter, or reachable without force", body = ErrorBody)))]
pub async fn remove_learner(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Query(query): Query<RemoveQuery>,
) -> Result<Json<MembershipResult>, ApiError> {
    let id = number_text("id", &id)?;
    let metrics = context.node.metrics();
    // A voter first: every node reports its applied index now, so a live voter would
    // otherwise be refused as merely reachable.
    if metrics.voters.contains(&id) {
        return Err(ApiError::Conflict {
            message: format!("node {id} is a voter; demote it with PUT /v1/cluster/voters first"),
            fields: field_errors("id", format!("node {id} is a voter")),
        });
    }
    if !query.force {
        let reports = context.node.applied_reports().await;
        if let Some(report) = reports.get(&id) {
            let ago = gslb_model::clock::unix_millis().saturating_sub(report.at_ms);
            if ago <= reachable_within_ms(&context) {
                return Err(ApiError::Conflict {
                    message: format!(
                        "node {id} is reachable: it reported applied index {} {ago} ms ago; \
                         stop it first, or pass force=true (gslbctl cluster remove --force)",
                        report.index
                    ),
                    fields: field_errors("id", format!("node {id} is reachable")),
                });
            }
        }
    }
    let is_learner = metrics.learners.contains(&id);
    let is_member = context.node.state().members.contains_key(&id);
    if !is_learner && !is_member {
        return Err(ApiError::NotFound(format!("no learner {id}")));
    }
    tracing::info!(who = %actor.who, from = ?actor.from, learner = id, "remove learner");
    let mut index = 0;
    if is_learner {
        index = context
            .node
            .remove_learner(id)
            .await
            .map_err(membership_error)?;
    }
    if is_member {
        let outcome = context
            .write(Command::DeleteMember { id }, actor, true, "")
            .await?;
        index = index.max(outcome.version);
    }
    Ok(Json(MembershipResult { index }))
}

/// Makes the given nodes the voters (joint consensus, then uniform).
#[utoipa::path(put, path = "/v1/cluster/voters", tag = "cluster", request_body = ChangeVotersRequest,
    responses((status = 200, description = "committed", body = MembershipResult)))]
pub async fn change_voters(
    State(context): State<ApiContext>,
    Caller(actor): Caller,
    JsonBody(body): JsonBody<ChangeVotersRequest>,
) -> Result<Json<MembershipResult>, ApiError> {
    if body.voters.is_empty() {
        return Err(ApiError::field("voters", "must name at least one voter"));
    }
    check_new_voters_ready(&context, &body.voters).await?;
    tracing::info!(who = %actor.who, from = ?actor.from, voters = ?body.voters, "change voters");
    let voters: BTreeSet<u64> = body.voters.into_iter().collect();
    let index = context
        .node
        .change_membership(voters, body.retain)
        .await
        .map_err(membership_error)?;
    Ok(Json(MembershipResult { index }))
}

/// How far behind this node a new voter may be, in log entries.
const MAX_NEW_VOTER_LAG: u64 = 1000;

/// Refuses to make a node a voter unless it is a learner, has a member record, and answers
/// `/readyz` caught up: an unreachable or lagging voter would leave the joint configuration
/// without a quorum and every write stuck (schemathesis bricked a cluster with
/// `{"voters": [0]}` after adding learner 0 at a junk address).
async fn check_new_voters_ready(context: &ApiContext, voters: &[u64]) -> Result<(), ApiError> {
    let metrics = context.node.metrics();
    let state = context.node.state();
    for id in voters.iter().filter(|id| !metrics.voters.contains(id)) {
        let refuse = |message: String| ApiError::Conflict {
            fields: field_errors("voters", message.clone()),
            message,
        };
        if !metrics.learners.contains(id) {
            return Err(refuse(format!(
                "node {id} is not a learner; add it with POST /v1/cluster/learners first"
            )));
        }
        let Some(member) = state.members.get(id) else {
            return Err(refuse(format!(
                "node {id} has no member record, so its readiness cannot be checked"
            )));
        };
        let peers = &context.options.peer_tls;
        let url = peers.url(&member.addr, "/readyz");
        let ready = async {
            let response = peers
                .builder()
                .timeout(std::time::Duration::from_secs(2))
                .build()
                .map_err(|error| error.to_string())?
                .get(&url)
                .send()
                .await
                .map_err(|error| error.to_string())?;
            response
                .json::<crate::dto::ReadyDto>()
                .await
                .map_err(|error| error.to_string())
        }
        .await;
        match ready {
            Ok(ready)
                if ready.ready
                    && ready.applied_index + MAX_NEW_VOTER_LAG >= metrics.applied_index => {}
            Ok(ready) => {
                return Err(refuse(format!(
                    "node {id} is not caught up (applied {} of {})",
                    ready.applied_index, metrics.applied_index
                )))
            }
            Err(error) => {
                return Err(refuse(format!(
                    "node {id} at {url} is unreachable: {error}"
                )))
            }
        }
    }
    Ok(())
}
