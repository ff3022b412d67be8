//! The client side of Raft RPC over HTTP (reqwest): one `HttpNetwork` per node, one
//! `HttpConnection` per peer, JSON bodies, the cluster secret as a bearer token.
//!
//! Errors map to what openraft needs to pace itself: a refused or unroutable connection is
//! `Unreachable` (openraft backs off with `backoff()`), anything else on the way is `Network`,
//! and an error the peer's Raft returned is `RemoteError`.

use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::raft::node::ClusterSecret;
use crate::raft::{NodeId, TypeConfig};

/// Route of append-entries RPC.
pub const APPEND_PATH: &str = "/raft/append";
/// Route of vote RPC.
pub const VOTE_PATH: &str = "/raft/vote";
/// Route of snapshot-chunk RPC.
pub const SNAPSHOT_PATH: &str = "/raft/snapshot";
/// Route where followers forward client writes to the leader.
pub const FORWARD_WRITE_PATH: &str = "/raft/forward";
/// Route where followers forward membership changes to the leader.
pub const FORWARD_MEMBERSHIP_PATH: &str = "/raft/forward/membership";

/// Why an RPC failed below Raft.
#[derive(Debug, thiserror::Error)]
pub enum RpcFailure {
    /// The HTTP exchange failed.
    #[error("rpc to node {target} at {addr}{path}: {source}")]
    Http {
        /// Peer id.
        target: NodeId,
        /// Peer address.
        addr: String,
        /// Route.
        path: &'static str,
        /// What reqwest said.
        #[source]
        source: reqwest::Error,
    },
    /// The peer answered with an unexpected HTTP status (401: the secrets differ).
    #[error("rpc to node {target} at {addr}{path}: http status {status}")]
    Status {
        /// Peer id.
        target: NodeId,
        /// Peer address.
        addr: String,
        /// Route.
        path: &'static str,
        /// The status.
        status: u16,
    },
}

/// The HTTP client shared by every connection of one node.
#[derive(Clone)]
pub struct HttpClient {
    /// Pooled connections to every peer.
    client: reqwest::Client,
    /// Presented on every request.
    secret: ClusterSecret,
}

impl HttpClient {
    /// A client presenting `secret`.
    pub fn new(secret: ClusterSecret) -> HttpClient {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .expect("a plain-HTTP reqwest client always builds");
        HttpClient { client, secret }
    }

    /// POSTs `body` as JSON to `http://{addr}{path}` and decodes the JSON reply.
    pub async fn post<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        target: NodeId,
        addr: &str,
        path: &'static str,
        body: &Req,
        timeout: Duration,
    ) -> Result<Resp, RpcFailure> {
        let http = |source| RpcFailure::Http {
            target,
            addr: addr.to_string(),
            path,
            source,
        };
        let response = self
            .client
            .post(format!("http://{addr}{path}"))
            .bearer_auth(self.secret.expose())
            .timeout(timeout)
            .json(body)
            .send()
            .await
            .map_err(http)?;
        if !response.status().is_success() {
            return Err(RpcFailure::Status {
                target,
                addr: addr.to_string(),
                path,
                status: response.status().as_u16(),
            });
        }
        response.json().await.map_err(http)
    }
}

/// openraft's network factory: hands out one connection per peer.
#[derive(Clone)]
pub struct HttpNetwork {
    /// The shared client.
    client: HttpClient,
}

impl HttpNetwork {
    /// A network presenting `secret` to peers.
    pub fn new(client: HttpClient) -> HttpNetwork {
        HttpNetwork { client }
    }
}

impl RaftNetworkFactory<TypeConfig> for HttpNetwork {
    type Network = HttpConnection;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> HttpConnection {
        HttpConnection {
            client: self.client.clone(),
            target,
            addr: node.addr.clone(),
        }
    }
}

/// The connection to one peer.
pub struct HttpConnection {
    /// The shared client.
    client: HttpClient,
    /// Peer id.
    target: NodeId,
    /// Peer `host:port`.
    addr: String,
}

impl HttpConnection {
    async fn call<Req, Resp, Err>(
        &self,
        path: &'static str,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, Err>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        Err: std::error::Error + DeserializeOwned,
    {
        let reply: Result<Result<Resp, Err>, RpcFailure> = self
            .client
            .post(self.target, &self.addr, path, request, option.hard_ttl())
            .await;
        match reply {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(remote)) => Err(RPCError::RemoteError(RemoteError::new(self.target, remote))),
            Err(failure) => {
                let unreachable =
                    matches!(&failure, RpcFailure::Http { source, .. } if source.is_connect());
                if unreachable {
                    Err(RPCError::Unreachable(Unreachable::new(&failure)))
                } else {
                    Err(RPCError::Network(NetworkError::new(&failure)))
                }
            }
        }
    }
}

impl RaftNetwork<TypeConfig> for HttpConnection {
    async fn append_entries(
        &mut self,
        request: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call(APPEND_PATH, &request, &option).await
    }

    async fn install_snapshot(
        &mut self,
        request: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call(SNAPSHOT_PATH, &request, &option).await
    }

    async fn vote(
        &mut self,
        request: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call(VOTE_PATH, &request, &option).await
    }

    fn backoff(&self) -> Backoff {
        // A peer that refused a connection is retried after 250 ms, then ever more slowly up
        // to 5 s, so a dead region does not cost the leader a connect attempt per heartbeat.
        Backoff::new(
            (0u32..).map(|attempt| Duration::from_millis((250u64 << attempt.min(5)).min(5000))),
        )
    }
}
