//! `raft_router`: the axum routes through which a node receives Raft RPC and forwarded
//! writes. Every route requires `Authorization: Bearer <cluster secret>`, compared in
//! constant time; anything else gets 401, logged as a rate-limited summary (`RefusalLog`),
//! so a stranger hammering the port cannot flood the log.
//!
//! Replies are the JSON of openraft's `Result`, so the client side can tell a remote Raft
//! error from a transport failure.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, VoteRequest,
};

use crate::raft::applied::{
    AppliedReportBody, AppliedWaitBody, APPLIED_TABLE_PATH, APPLIED_WAIT_PATH, REPORT_APPLIED_PATH,
};
use crate::raft::campaign::{PrevoteReply, PREVOTE_PATH};
use crate::raft::group_commit::ForwardedBatch;
use crate::raft::network::{
    APPEND_PATH, FORWARD_BATCH_PATH, FORWARD_MEMBERSHIP_PATH, FORWARD_WRITE_PATH,
    LEADER_APPLIED_PATH, SNAPSHOT_PATH, VOTE_PATH,
};
use crate::raft::node::{ForwardedWrite, MembershipRequest, NodeHandle};
use crate::raft::recent_entries::RecentEntries;
use crate::raft::{NodeId, TypeConfig};
use crate::refusal_log::{spawn_refusal_flusher, RefusalLog};

/// Raft RPC refused for a missing or wrong cluster secret, summarised every 10 s.
static REFUSED_RPC: LazyLock<Arc<RefusalLog>> = LazyLock::new(|| {
    let log = Arc::new(RefusalLog::new(
        "raft rpc refused (missing or wrong cluster secret)",
        Duration::from_secs(10),
    ));
    spawn_refusal_flusher(&log);
    log
});

/// Largest RPC body accepted: a snapshot chunk (1 MiB by default) is JSON-encoded as an array
/// of numbers, up to ~4x its size, and appends carry up to `max_entries_per_append` entries.
const MAX_RPC_BODY: usize = 64 * 1024 * 1024;

/// The Raft routes of `node` (`/raft/append`, `/raft/vote`, `/raft/snapshot`,
/// `/raft/forward`, `/raft/forward/batch`, `/raft/forward/membership`,
/// `/raft/leader/applied`, `/raft/applied`, `/raft/applied/table`, `/raft/applied/wait`),
/// guarded by the node's cluster secret. Merge it into the node's
/// axum server next to the API.
pub fn raft_router(node: NodeHandle) -> Router {
    Router::new()
        .route(APPEND_PATH, post(append))
        .route(VOTE_PATH, post(vote))
        .route(PREVOTE_PATH, post(prevote))
        .route(SNAPSHOT_PATH, post(snapshot))
        .route(FORWARD_WRITE_PATH, post(forward_write))
        .route(FORWARD_BATCH_PATH, post(forward_batch))
        .route(FORWARD_MEMBERSHIP_PATH, post(forward_membership))
        .route(LEADER_APPLIED_PATH, post(leader_applied))
        .route(REPORT_APPLIED_PATH, post(report_applied))
        .route(APPLIED_TABLE_PATH, post(applied_table))
        .route(APPLIED_WAIT_PATH, post(applied_wait))
        .layer(middleware::from_fn_with_state(node.clone(), require_secret))
        .layer(DefaultBodyLimit::max(MAX_RPC_BODY))
        .with_state(node)
}

async fn require_secret(State(node): State<NodeHandle>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    if node.inner.secret.matches_header(presented) {
        return next.run(request).await;
    }
    let source = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    let reason = format!(
        "node {} {} ({})",
        node.id(),
        request.uri().path(),
        if presented.is_empty() {
            "no secret"
        } else {
            "wrong secret"
        }
    );
    REFUSED_RPC.record(source, &reason, Instant::now());
    (
        StatusCode::UNAUTHORIZED,
        "missing or wrong cluster secret\n",
    )
        .into_response()
}

/// An append call as it arrives: each entry kept as its JSON text until decoded.
#[derive(serde::Deserialize)]
struct AppendFrame<'a> {
    vote: openraft::Vote<NodeId>,
    prev_log_id: Option<openraft::LogId<NodeId>>,
    leader_commit: Option<openraft::LogId<NodeId>>,
    #[serde(borrow)]
    entries: Vec<&'a serde_json::value::RawValue>,
}

/// Decodes an append call, noting each entry's JSON for the log store, which then writes
/// those bytes instead of encoding the entry again (`RecentEntries`).
fn decode_append(
    body: &[u8],
    recent: &RecentEntries,
) -> Result<AppendEntriesRequest<TypeConfig>, serde_json::Error> {
    let frame: AppendFrame<'_> = serde_json::from_slice(body)?;
    let mut entries = Vec::with_capacity(frame.entries.len());
    for raw in frame.entries {
        let entry: openraft::Entry<TypeConfig> = serde_json::from_str(raw.get())?;
        recent.note_received(entry.log_id, raw.get().as_bytes().into());
        entries.push(entry);
    }
    Ok(AppendEntriesRequest {
        vote: frame.vote,
        prev_log_id: frame.prev_log_id,
        leader_commit: frame.leader_commit,
        entries,
    })
}

async fn append(State(node): State<NodeHandle>, body: axum::body::Bytes) -> Response {
    let request = match decode_append(&body, &node.inner.recent_entries) {
        Ok(request) => request,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not an append-entries request: {error}\n"),
            )
                .into_response()
        }
    };
    let leader_commit = request.leader_commit.map(|log_id| log_id.index);
    let result = node.inner.raft.append_entries(request).await;
    if matches!(
        &result,
        Ok(AppendEntriesResponse::Success
            | AppendEntriesResponse::PartialSuccess(_)
            | AppendEntriesResponse::Conflict)
    ) {
        node.note_leader_contact(leader_commit);
    }
    Json(result).into_response()
}

async fn vote(
    State(node): State<NodeHandle>,
    Json(request): Json<VoteRequest<NodeId>>,
) -> Response {
    Json(node.inner.raft.vote(request).await).into_response()
}

/// Answers a peer that asks before campaigning whether this node sees a live leader
/// (`campaign`).
async fn prevote(State(node): State<NodeHandle>) -> Response {
    Json(PrevoteReply {
        leader_alive: node.leader_alive(),
    })
    .into_response()
}

async fn snapshot(
    State(node): State<NodeHandle>,
    Json(request): Json<InstallSnapshotRequest<TypeConfig>>,
) -> Response {
    let result = node.inner.raft.install_snapshot(request).await;
    if result.is_ok() {
        node.note_leader_contact(None);
    }
    Json(result).into_response()
}

async fn forward_write(
    State(node): State<NodeHandle>,
    Json(request): Json<ForwardedWrite>,
) -> Response {
    Json(
        node.write_or_forward(request.command, request.actor, false)
            .await,
    )
    .into_response()
}

/// Writes forwarded together: each written as if forwarded alone (so those that may share
/// an entry join the leader's next group), answered in order.
async fn forward_batch(
    State(node): State<NodeHandle>,
    Json(batch): Json<ForwardedBatch>,
) -> Response {
    let answers = node.write_each(batch.writes).await;
    Json(answers).into_response()
}

async fn forward_membership(
    State(node): State<NodeHandle>,
    Json(request): Json<MembershipRequest>,
) -> Response {
    // A join request from a new node may be forwarded once to the leader; a request another
    // node already forwarded is not.
    Json(
        node.change_or_forward(request.change, !request.forwarded)
            .await,
    )
    .into_response()
}

/// A node's applied-index report (`raft::reports`): kept in memory, answered with `null`,
/// or, by the leader to a node its membership no longer lists, with a `ReportReply`.
async fn report_applied(
    State(node): State<NodeHandle>,
    Json(report): Json<AppliedReportBody>,
) -> Response {
    node.record_applied_report(report.node, report.index, report.prepared);
    Json(node.reply_to_report(report.node)).into_response()
}

/// How far this node has applied, if it leads (`null` otherwise): what a restarted node
/// must reach before it answers (`NodeHandle::catch_up`).
async fn leader_applied(State(node): State<NodeHandle>) -> Response {
    Json(node.is_leader().then(|| node.metrics().applied_index)).into_response()
}

/// Every applied-index report this node holds (a learner asks the leader for it).
async fn applied_table(State(node): State<NodeHandle>) -> Response {
    Json(node.local_applied_reports()).into_response()
}

/// The long poll of a learner waiting for INSYNC: this node's table once the version is
/// INSYNC as it judges, or when the wait asked for (at most `MAX_APPLIED_WAIT`) is over.
async fn applied_wait(
    State(node): State<NodeHandle>,
    Json(body): Json<AppliedWaitBody>,
) -> Response {
    let wait = std::time::Duration::from_millis(body.wait_ms);
    Json(node.table_once_insync(body.version, wait).await).into_response()
}
