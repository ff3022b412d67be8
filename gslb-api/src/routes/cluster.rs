//! `/v1/cluster`: this node's Raft status and the recorded members (read), adding learners
//! and changing the voter set (admin).

use std::collections::BTreeSet;

use axum::extract::State;
use axum::Json;
use gslb_store::model::FieldErrors;
use gslb_store::raft::MembershipError;

use crate::auth::Caller;
use crate::dto::{
    AddLearnerRequest, ChangeVotersRequest, ClusterStatus, MemberDto, MembershipResult,
    NodeStatusDto,
};
use crate::error::ApiError;
use crate::extract::JsonBody;
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

/// The answering node's Raft view and the members the state records.
#[utoipa::path(get, path = "/v1/cluster", tag = "cluster",
    responses((status = 200, description = "cluster status", body = ClusterStatus)))]
pub async fn get_cluster(State(context): State<ApiContext>) -> Json<ClusterStatus> {
    let metrics = context.node.metrics();
    let state = context.node.state();
    Json(ClusterStatus {
        node: NodeStatusDto::from_metrics(&metrics, context.stale_after_ms()),
        version: state.version,
        members: state.members.values().map(MemberDto::from_model).collect(),
    })
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
    tracing::info!(who = %actor.who, from = ?actor.from, voters = ?body.voters, "change voters");
    let voters: BTreeSet<u64> = body.voters.into_iter().collect();
    let index = context
        .node
        .change_membership(voters, body.retain)
        .await
        .map_err(membership_error)?;
    Ok(Json(MembershipResult { index }))
}
