//! The client side of Raft RPC over HTTP (reqwest): one `HttpNetwork` per node, one
//! `HttpConnection` per peer, JSON bodies, the cluster secret as a bearer token. `ClientTls`
//! says whether peers speak https and which CAs to trust; every HTTP client a node builds
//! (Raft, the API's node-to-node calls, the prober's reports, gslbctl) starts from it.
//!
//! Errors map to what openraft needs to pace itself: a refused or unroutable connection is
//! `Unreachable` (openraft backs off with `backoff()`), anything else on the way is `Network`,
//! and an error the peer's Raft returned is `RemoteError`.

use std::fmt;
use std::sync::Arc;
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

use crate::raft::secret::ClusterSecret;
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

/// How long a node's HTTP clients keep an idle pooled connection: half the control
/// listener's default idle timeout (60 s, `control.limits.idle_timeout`).
pub const CLIENT_POOL_IDLE: Duration = Duration::from_secs(30);

/// The most bytes of entries one append-entries call carries (at least one entry goes
/// whatever its size). openraft bounds a call by entry count only (`max_entries_per_append`)
/// and gives it one heartbeat interval to complete, the follower's fsync included, before it
/// retries the same call from scratch; with zone-import chunks of 128 KiB, a lagging peer
/// would otherwise get tens of megabytes in one call that can never finish in time.
pub const MAX_APPEND_BYTES: usize = 512 * 1024;

/// Cuts `request` to the longest prefix of its entries whose JSON fits in `budget` bytes
/// (never fewer than one entry). Returns the request and, when it was cut, the last log id
/// kept: the caller answers openraft's `Success` as `PartialSuccess` of it, which openraft
/// allows for exactly this.
fn within_append_budget(
    mut request: AppendEntriesRequest<TypeConfig>,
    budget: usize,
) -> (
    AppendEntriesRequest<TypeConfig>,
    Option<openraft::LogId<NodeId>>,
) {
    let mut used = 0usize;
    let mut keep = request.entries.len();
    for (index, entry) in request.entries.iter().enumerate() {
        let mut counter = ByteCounter(0);
        if serde_json::to_writer(&mut counter, entry).is_err() {
            break;
        }
        used = used.saturating_add(counter.0);
        if used > budget && index > 0 {
            keep = index;
            break;
        }
    }
    if keep == request.entries.len() {
        return (request, None);
    }
    request.entries.truncate(keep);
    let last = request.entries.last().map(|entry| entry.log_id);
    (request, last)
}

/// A writer that only counts the bytes it is given.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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

impl RpcFailure {
    /// Whether the request certainly never reached the peer: the connection (TCP, or the TLS
    /// handshake) could not be made, so nothing was sent. Everything else (a timeout, a reset
    /// mid-exchange, an unreadable reply) may have been acted on.
    pub fn never_sent(&self) -> bool {
        matches!(self, RpcFailure::Http { source, .. } if source.is_connect())
    }
}

/// How a node's HTTP clients reach other nodes: plain HTTP (the default), or https when the
/// cluster's listeners speak TLS, trusting either the system roots or only the configured
/// CAs. Cheap to clone.
#[derive(Clone, Default)]
pub struct ClientTls {
    /// Peers given as `host:port` are called with `https://` (every node's listener speaks
    /// TLS: `[control.tls]` is cluster-wide).
    https: bool,
    /// The CAs trusted instead of the system roots, when configured.
    ca: Option<Arc<[reqwest::Certificate]>>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("https", &self.https)
            .field("ca_certificates", &self.ca.as_ref().map(|ca| ca.len()))
            .finish()
    }
}

impl ClientTls {
    /// Plain HTTP to peers; https URLs (e.g. gslbctl's `--api`) trust the system roots.
    pub fn plain() -> ClientTls {
        ClientTls::default()
    }

    /// https to peers, trusting the CAs of `ca_pem` (one or more PEM certificates) or, when
    /// `None`, the system roots. Fails when the PEM holds no certificate or does not parse.
    pub fn https(ca_pem: Option<&[u8]>) -> Result<ClientTls, String> {
        Ok(ClientTls {
            https: true,
            ca: ca_pem.map(parse_ca).transpose()?,
        })
    }

    /// Plain HTTP to peers given as `host:port`, but https URLs trust only the CAs of
    /// `ca_pem`: gslbctl's `--ca-cert` (its `--api` URL carries its scheme).
    pub fn trusting(ca_pem: &[u8]) -> Result<ClientTls, String> {
        Ok(ClientTls {
            https: false,
            ca: Some(parse_ca(ca_pem)?),
        })
    }

    /// True when peers are called with https.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// `scheme://addr{path}`: `addr` is a peer's `host:port` (one already carrying a scheme
    /// is kept as it is).
    pub fn url(&self, addr: &str, path: &str) -> String {
        if addr.starts_with("http://") || addr.starts_with("https://") {
            return format!("{}{path}", addr.trim_end_matches('/'));
        }
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{addr}{path}")
    }

    /// A reqwest builder with this trust; installs ring as the process-wide rustls provider
    /// first (a no-op when one is installed), without which reqwest panics at `build`.
    /// Idle pooled connections are dropped after `CLIENT_POOL_IDLE`, before a server's idle
    /// timeout can close one just as a request is sent on it.
    pub fn builder(&self) -> reqwest::ClientBuilder {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let builder = reqwest::Client::builder().pool_idle_timeout(CLIENT_POOL_IDLE);
        match &self.ca {
            Some(ca) => builder.tls_certs_only(ca.iter().cloned()),
            None => builder,
        }
    }
}

/// The certificates of a PEM bundle, at least one.
fn parse_ca(pem: &[u8]) -> Result<Arc<[reqwest::Certificate]>, String> {
    let certificates = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|error| format!("not a PEM certificate bundle: {error}"))?;
    if certificates.is_empty() {
        return Err("holds no PEM certificate".to_string());
    }
    Ok(certificates.into())
}

/// The HTTP client shared by every connection of one node.
#[derive(Clone)]
pub struct HttpClient {
    /// Pooled connections to every peer.
    client: reqwest::Client,
    /// Presented on every request.
    secret: ClusterSecret,
    /// The scheme peers are called with.
    tls: ClientTls,
}

impl HttpClient {
    /// A client presenting `secret`, reaching peers as `tls` says.
    pub fn new(secret: ClusterSecret, tls: ClientTls) -> HttpClient {
        let client = tls
            .builder()
            .connect_timeout(Duration::from_secs(2))
            .build()
            .expect("a reqwest client with a crypto provider installed always builds");
        HttpClient {
            client,
            secret,
            tls,
        }
    }

    /// POSTs `body` as JSON to `http(s)://{addr}{path}` and decodes the JSON reply.
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
            .post(self.tls.url(addr, path))
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
        let (request, cut_after) = within_append_budget(request, MAX_APPEND_BYTES);
        let response = self.call(APPEND_PATH, &request, &option).await?;
        Ok(match (response, cut_after) {
            // The peer took every entry sent, which is a prefix of what openraft asked for.
            (AppendEntriesResponse::Success, Some(last_sent)) => {
                AppendEntriesResponse::PartialSuccess(Some(last_sent))
            }
            (response, _) => response,
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use gslb_model::command::StampedCommand;
    use gslb_model::model::Actor;
    use gslb_model::Command;
    use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, Vote};

    /// An entry of roughly `bytes` bytes of JSON at `index`.
    fn entry(index: u64, bytes: usize) -> Entry<TypeConfig> {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Normal(StampedCommand {
                at: 1,
                actor: Actor::new("test"),
                command: Command::RecordRefusal {
                    reason: "x".repeat(bytes),
                },
            }),
        }
    }

    fn request(sizes: &[usize]) -> AppendEntriesRequest<TypeConfig> {
        AppendEntriesRequest {
            vote: Vote::new_committed(1, 1),
            prev_log_id: None,
            leader_commit: None,
            entries: sizes
                .iter()
                .enumerate()
                .map(|(index, size)| entry(index as u64 + 1, *size))
                .collect(),
        }
    }

    #[test]
    fn a_call_is_cut_to_its_byte_budget_and_names_the_last_entry_kept() {
        let (cut, last) = within_append_budget(request(&[400, 400, 400, 400]), 1200);
        assert_eq!(cut.entries.len(), 2);
        assert_eq!(last.map(|log_id| log_id.index), Some(2));
        let (whole, last) = within_append_budget(request(&[100, 100]), 1000);
        assert_eq!(whole.entries.len(), 2);
        assert_eq!(last, None, "nothing cut, plain success");
        let (one, last) = within_append_budget(request(&[5000, 10]), 1000);
        assert_eq!(one.entries.len(), 1, "one entry goes whatever its size");
        assert_eq!(last.map(|log_id| log_id.index), Some(1));
    }
}
