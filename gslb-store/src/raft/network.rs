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

use crate::raft::recent_entries::RecentEntries;
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
/// Route where followers forward client writes to the leader, several in one call
/// (`group_commit`).
pub const FORWARD_BATCH_PATH: &str = "/raft/forward/batch";
/// Route where followers forward membership changes to the leader.
pub const FORWARD_MEMBERSHIP_PATH: &str = "/raft/forward/membership";
/// Route where a restarted node asks the leader how far it has applied
/// (`NodeHandle::catch_up`); a node that does not lead answers `null`.
pub const LEADER_APPLIED_PATH: &str = "/raft/leader/applied";

/// How long a node's HTTP clients keep an idle pooled connection: half the control
/// listener's default idle timeout (60 s, `control.limits.idle_timeout`).
pub const CLIENT_POOL_IDLE: Duration = Duration::from_secs(30);

/// The most bytes of entries one append-entries call carries (at least one entry goes
/// whatever its size). openraft bounds a call by entry count only (`max_entries_per_append`)
/// and gives it one heartbeat interval to complete, the follower's fsync included, before it
/// retries the same call from scratch; with zone-import chunks of 64 KiB, a lagging peer
/// would otherwise get tens of megabytes in one call that can never finish in time.
pub const MAX_APPEND_BYTES: usize = 512 * 1024;

/// The JSON body of `request`, with as many of its entries as fit in `budget` bytes (at
/// least one), each copied from `recent` when it holds the entry's JSON (the log store
/// encoded it once, when it was appended) and encoded here otherwise. Returns the body and,
/// when entries were left out, the last log id sent: the caller answers openraft's `Success`
/// as `PartialSuccess` of it, which openraft allows for exactly this.
fn encode_within_budget(
    request: &AppendEntriesRequest<TypeConfig>,
    budget: usize,
    recent: &RecentEntries,
) -> Result<(Vec<u8>, Option<openraft::LogId<NodeId>>), serde_json::Error> {
    let mut body = Vec::with_capacity(256);
    body.extend_from_slice(b"{\"vote\":");
    serde_json::to_writer(&mut body, &request.vote)?;
    body.extend_from_slice(b",\"prev_log_id\":");
    serde_json::to_writer(&mut body, &request.prev_log_id)?;
    body.extend_from_slice(b",\"leader_commit\":");
    serde_json::to_writer(&mut body, &request.leader_commit)?;
    body.extend_from_slice(b",\"entries\":[");
    let entries_start = body.len();
    let mut sent = 0;
    for entry in &request.entries {
        let before = body.len();
        if sent > 0 {
            body.push(b',');
        }
        match recent.json_of(&entry.log_id) {
            Some(json) => body.extend_from_slice(&json),
            None => serde_json::to_writer(&mut body, entry)?,
        }
        if sent > 0 && body.len() - entries_start > budget {
            body.truncate(before);
            break;
        }
        sent += 1;
    }
    body.extend_from_slice(b"]}");
    let cut_after = (sent < request.entries.len()).then(|| request.entries[sent - 1].log_id);
    Ok((body, cut_after))
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
    /// The request could not be encoded as JSON; nothing was sent.
    #[error("rpc to node {target} {path}: cannot encode the request: {detail}")]
    Encode {
        /// Peer id.
        target: NodeId,
        /// Route.
        path: &'static str,
        /// What serde_json said.
        detail: String,
    },
}

impl RpcFailure {
    /// Whether the request certainly never reached the peer: the connection (TCP, or the TLS
    /// handshake) could not be made, so nothing was sent. Everything else (a timeout, a reset
    /// mid-exchange, an unreadable reply) may have been acted on.
    pub fn never_sent(&self) -> bool {
        match self {
            RpcFailure::Http { source, .. } => source.is_connect(),
            RpcFailure::Encode { .. } => true,
            RpcFailure::Status { .. } => false,
        }
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
        let json = serde_json::to_vec(body).map_err(|error| RpcFailure::Encode {
            target,
            path,
            detail: error.to_string(),
        })?;
        self.post_json(target, addr, path, json, timeout).await
    }

    /// POSTs `json`, a JSON body already encoded, and decodes the JSON reply.
    pub async fn post_json<Resp: DeserializeOwned>(
        &self,
        target: NodeId,
        addr: &str,
        path: &'static str,
        json: Vec<u8>,
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
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json)
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
    /// The log store's newest entries, whose JSON append calls copy.
    recent: RecentEntries,
}

impl HttpNetwork {
    /// A network calling peers with `client`, sending the JSON `recent` holds for entries.
    pub(crate) fn new(client: HttpClient, recent: RecentEntries) -> HttpNetwork {
        HttpNetwork { client, recent }
    }
}

impl RaftNetworkFactory<TypeConfig> for HttpNetwork {
    type Network = HttpConnection;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> HttpConnection {
        HttpConnection {
            client: self.client.clone(),
            target,
            addr: node.addr.clone(),
            recent: self.recent.clone(),
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
    /// The log store's newest entries, whose JSON append calls copy.
    recent: RecentEntries,
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
        let json = serde_json::to_vec(request).map_err(|error| {
            RPCError::Network(NetworkError::new(&RpcFailure::Encode {
                target: self.target,
                path,
                detail: error.to_string(),
            }))
        })?;
        self.call_json(path, json, option).await
    }

    /// `call` with the request already encoded as `json`.
    async fn call_json<Resp, Err>(
        &self,
        path: &'static str,
        json: Vec<u8>,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, Err>>
    where
        Resp: DeserializeOwned,
        Err: std::error::Error + DeserializeOwned,
    {
        let reply: Result<Result<Resp, Err>, RpcFailure> = self
            .client
            .post_json(self.target, &self.addr, path, json, option.hard_ttl())
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
        let (json, cut_after) = encode_within_budget(&request, MAX_APPEND_BYTES, &self.recent)
            .map_err(|error| {
                RPCError::Network(NetworkError::new(&RpcFailure::Encode {
                    target: self.target,
                    path: APPEND_PATH,
                    detail: error.to_string(),
                }))
            })?;
        let response = self.call_json(APPEND_PATH, json, &option).await?;
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
        let recent = RecentEntries::new(1 << 20);
        let decode = |json: &[u8]| -> AppendEntriesRequest<TypeConfig> {
            serde_json::from_slice(json).unwrap()
        };
        let (json, last) =
            encode_within_budget(&request(&[400, 400, 400, 400]), 1200, &recent).unwrap();
        assert_eq!(decode(&json).entries.len(), 2);
        assert_eq!(last.map(|log_id| log_id.index), Some(2));
        let (json, last) = encode_within_budget(&request(&[100, 100]), 1000, &recent).unwrap();
        assert_eq!(decode(&json).entries.len(), 2);
        assert_eq!(last, None, "nothing cut, plain success");
        let (json, last) = encode_within_budget(&request(&[5000, 10]), 1000, &recent).unwrap();
        assert_eq!(
            decode(&json).entries.len(),
            1,
            "one entry goes whatever its size"
        );
        assert_eq!(last.map(|log_id| log_id.index), Some(1));
    }

    /// The body built from the log store's JSON decodes as the request openraft built.
    #[test]
    fn a_body_of_stored_json_is_the_request() {
        let whole = request(&[10, 20, 30]);
        let recent = RecentEntries::new(1 << 20);
        for entry in &whole.entries[..2] {
            recent.push(entry.clone(), serde_json::to_vec(entry).unwrap().into());
        }
        let (json, last) = encode_within_budget(&whole, 1 << 20, &recent).unwrap();
        assert_eq!(last, None);
        let decoded: AppendEntriesRequest<TypeConfig> = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            serde_json::to_vec(&decoded).unwrap(),
            serde_json::to_vec(&whole).unwrap()
        );
    }
}
