//! `gslb demo-backend` (hidden): one sample region's backend for `gslb demo` and the network
//! namespace tests, an HTTP server that stands in for the region's service, its database's
//! replication status and its Kubernetes nodes.
//!
//! On `--listen ADDR` (port 0 picks one, call it P) it serves:
//! - `GET /healthz`: 200 `ok` (what the `http` check of the region's endpoint asks);
//! - `GET /replication`: `{"replication": {"in_quorum": true, "lag_seconds": 0.4}}` (what the
//!   `replication` check's conditions read);
//! - `POST /demo/replication` with `{"in_quorum": false}` (and `true` to heal; an optional
//!   `lag_seconds` sets the lag), `POST /demo/nodes` with `{"ready": N}`, `GET /demo`: the
//!   controls a demo user drives with `curl`.
//!
//! Each of its `--nodes N` simulated nodes answers like kube-proxy's `healthCheckNodePort`
//! on its own loopback address and the same port P: node `i` (1-based) listens on the
//! listen address plus `i` in the last octet (`127.0.0.1:P` → `127.0.0.2:P`, …), because a
//! `kube-local` check probes one port on a list of node addresses. A ready node answers any
//! path with 200 `{"localEndpoints": 1}`, the others with 503 `{"localEndpoints": 0}`; the
//! first `ready` nodes are the ready ones.
//!
//! With `--peers ADDR:PORT,…` the region's database is one member of a replicated set whose
//! other members are those backends: every `PEER_PROBE_INTERVAL` it asks each peer's
//! `/healthz` from its own address (the "database link"), and reports `in_quorum: true` only
//! while it reaches a majority of the set (itself included) within `PEER_FRESH`. Cut the
//! link between regions and the minority's replication status fails by itself, the way a
//! real database's would; `POST /demo/replication` can still force it out.
//!
//! Bounded: loopback addresses or the benchmarking network 198.18.0.0/15 (RFC 2544, what the
//! namespace tests use) only, at most `MAX_NODES` nodes and `MAX_PEERS` peers, request
//! bodies of at most `MAX_BODY` bytes, peer replies of at most `MAX_PEER_REPLY` bytes. It logs `listening on http ADDR` once every listener is bound, and
//! exits 0 on SIGTERM or SIGINT (the demo gives its children a parent-death SIGTERM).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};

/// The most simulated nodes one backend runs.
pub const MAX_NODES: u32 = 32;

/// The largest request body the control endpoints read, in bytes.
const MAX_BODY: usize = 4096;

/// How many fresh ports to try when a node address is taken on the picked one.
const BIND_ATTEMPTS: usize = 20;

/// The replication lag reported while nothing set another.
const DEFAULT_LAG_SECONDS: f64 = 0.4;

/// The most replication peers one backend follows.
pub const MAX_PEERS: usize = 8;

/// How often the database link to each peer is tried.
const PEER_PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// How long one try of the database link may take.
const PEER_PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// A peer counts as reachable while its last good answer is at most this old.
const PEER_FRESH: Duration = Duration::from_millis(1000);

/// The most bytes read of a peer's answer (its status line is all that matters).
const MAX_PEER_REPLY: usize = 256;

/// `gslb demo-backend` flags.
#[derive(Debug, clap::Args)]
pub struct BackendArgs {
    /// The address of the backend, on loopback or in 198.18.0.0/15 (port 0 picks one); node
    /// `i` listens on this address plus `i` in the last octet, same port.
    #[arg(long, value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// The region it stands for (shown in its answers and log).
    #[arg(long, value_name = "REGION")]
    region: String,
    /// Simulated Kubernetes nodes (all ready at start).
    #[arg(long, value_name = "N", default_value_t = 3)]
    nodes: u32,
    /// The other members of the region's replicated database (their backends' addresses):
    /// the replication status is in quorum only while a majority of them and this one can
    /// reach each other. None: a database of one, always in quorum unless told otherwise.
    #[arg(long, value_name = "ADDR:PORT", value_delimiter = ',')]
    peers: Vec<SocketAddr>,
}

/// What a demo user can change.
#[derive(Debug, Clone, Copy)]
struct Status {
    /// Whether the region's database is in quorum as far as the operator says (`POST
    /// /demo/replication`); the reported status also needs the peers (`peers_in_quorum`).
    in_quorum: bool,
    /// The replication lag reported, in seconds.
    lag_seconds: f64,
    /// How many nodes (the first ones) have local endpoints.
    ready: u32,
}

/// The state the handlers share.
struct Shared {
    /// The region id, for answers and logs.
    region: String,
    /// The number of simulated nodes.
    nodes: u32,
    /// The status; a plain mutex: held for a copy or an assignment, never across an await.
    status: Mutex<Status>,
    /// The other database members, in `--peers` order.
    peers: Vec<SocketAddr>,
    /// When each peer last answered over the database link (same order as `peers`).
    peer_seen: Mutex<Vec<Option<Instant>>>,
}

type Backend = Arc<Shared>;

impl Shared {
    fn status(&self) -> Status {
        *self
            .status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update(&self, change: impl FnOnce(&mut Status)) -> Status {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut status);
        *status
    }

    /// How many peers answered over the database link within `PEER_FRESH` of `now`.
    fn peers_reachable(&self, now: Instant) -> usize {
        self.peer_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .flatten()
            .filter(|seen| now.saturating_duration_since(**seen) <= PEER_FRESH)
            .count()
    }

    /// Whether this member and the peers it reaches are a majority of the database.
    fn peers_in_quorum(&self, now: Instant) -> bool {
        has_majority(self.peers_reachable(now), self.peers.len())
    }

    /// The replication status as the `replication` check reads it.
    fn replication(&self, status: Status) -> serde_json::Value {
        let now = Instant::now();
        json!({
            "in_quorum": status.in_quorum && self.peers_in_quorum(now),
            "lag_seconds": status.lag_seconds,
            "members": self.peers.len() + 1,
            "members_reachable": self.peers_reachable(now) + 1,
        })
    }

    fn describe(&self, status: Status) -> serde_json::Value {
        json!({
            "region": self.region,
            "replication": self.replication(status),
            "nodes": self.nodes,
            "ready": status.ready,
        })
    }
}

/// Whether this member plus `reachable` of its `peers` peers make a strict majority.
fn has_majority(reachable: usize, peers: usize) -> bool {
    2 * (reachable + 1) > peers + 1
}

/// Whether `ip` is one a backend may listen on: loopback, or the benchmarking network
/// 198.18.0.0/15 (RFC 2544) the namespace tests give their regions.
fn allowed_listen_ip(ip: Ipv4Addr) -> bool {
    let octets = ip.octets();
    ip.is_loopback() || (octets[0] == 198 && octets[1] & 0xfe == 18)
}

/// Runs the backend until SIGTERM or SIGINT.
pub fn run(args: BackendArgs) -> anyhow::Result<()> {
    let IpAddr::V4(ip) = args.listen.ip() else {
        bail!("--listen {}: must be an IPv4 address", args.listen);
    };
    if !allowed_listen_ip(ip) {
        bail!(
            "--listen {}: must be a loopback address or in 198.18.0.0/15",
            args.listen
        );
    }
    if args.peers.len() > MAX_PEERS {
        bail!(
            "--peers: at most {MAX_PEERS} peers, got {}",
            args.peers.len()
        );
    }
    if let Some(own) = args.peers.iter().find(|peer| peer.ip() == args.listen.ip()) {
        bail!("--peers: {own} is this backend's own address");
    }
    if args.nodes == 0 || args.nodes > MAX_NODES {
        bail!("--nodes {}: must be within 1..={MAX_NODES}", args.nodes);
    }
    if u32::from(ip.octets()[3]) + args.nodes > 255 {
        bail!(
            "--listen {}: no room for {} node addresses after it",
            args.listen,
            args.nodes
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args, ip))
}

async fn serve(args: BackendArgs, ip: Ipv4Addr) -> anyhow::Result<()> {
    let (main, nodes) = bind_all(args.listen, ip, args.nodes).await?;
    let backend: Backend = Arc::new(Shared {
        region: args.region.clone(),
        nodes: args.nodes,
        status: Mutex::new(Status {
            in_quorum: true,
            lag_seconds: DEFAULT_LAG_SECONDS,
            ready: args.nodes,
        }),
        peers: args.peers.clone(),
        peer_seen: Mutex::new(vec![None; args.peers.len()]),
    });
    let address = main.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/replication", get(replication))
        .route("/demo", get(demo_status))
        .route("/demo/replication", post(set_replication))
        .route("/demo/nodes", post(set_nodes))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(backend.clone());
    servers.spawn(serve_until(main, app, stop_rx.clone()));
    for index in 0..backend.peers.len() {
        servers.spawn(follow_peer(
            backend.clone(),
            index,
            address.ip(),
            stop_rx.clone(),
        ));
    }
    for (index, listener) in nodes.into_iter().enumerate() {
        let node = u32::try_from(index).unwrap_or(u32::MAX).saturating_add(1);
        eprintln!(
            "region {} node {node} serves healthCheckNodePort on {}",
            args.region,
            listener.local_addr()?
        );
        let app = Router::new()
            .fallback(move |State(backend): State<Backend>| node_health(backend, node))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(backend.clone());
        servers.spawn(serve_until(listener, app, stop_rx.clone()));
    }
    eprintln!(
        "region {} backend with {} node(s): listening on http {address}",
        args.region, args.nodes
    );

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot watch SIGTERM")?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
        Some(ended) = servers.join_next() => {
            let _ = stop_tx.send(true);
            match ended {
                Ok(Ok(())) => bail!("a listener stopped on its own"),
                Ok(Err(error)) => return Err(error).context("a listener failed"),
                Err(error) => bail!("a listener task failed: {error}"),
            }
        }
    }
    let _ = stop_tx.send(true);
    while servers.join_next().await.is_some() {}
    eprintln!("region {} backend stopped", args.region);
    Ok(())
}

/// Binds the backend's address and every node's address on the same port; with port 0,
/// tries fresh ports until all of them are free.
async fn bind_all(
    listen: SocketAddr,
    ip: Ipv4Addr,
    nodes: u32,
) -> anyhow::Result<(TcpListener, Vec<TcpListener>)> {
    let mut last_error = None;
    for _ in 0..BIND_ATTEMPTS {
        let main = TcpListener::bind(listen)
            .await
            .with_context(|| format!("tcp {listen} is in use (or not bindable)"))?;
        let port = main.local_addr()?.port();
        let mut node_listeners = Vec::new();
        for node in 1..=nodes {
            let octets = ip.octets();
            // Checked in `run`: the last octet plus `nodes` stays within 255.
            let last = u8::try_from(u32::from(octets[3]) + node).unwrap_or(u8::MAX);
            let address = SocketAddr::from(([octets[0], octets[1], octets[2], last], port));
            match TcpListener::bind(address).await {
                Ok(listener) => node_listeners.push(listener),
                Err(error) => {
                    last_error = Some(format!("tcp {address}: {error}"));
                    break;
                }
            }
        }
        if node_listeners.len() == nodes as usize {
            return Ok((main, node_listeners));
        }
        if listen.port() != 0 {
            break;
        }
    }
    bail!(
        "cannot bind the simulated nodes: {} is in use (or not bindable)",
        last_error.unwrap_or_default()
    )
}

/// Serves `app` on `listener` until `stop` turns true.
async fn serve_until(
    listener: TcpListener,
    app: Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|stop| *stop).await;
        })
        .await
        .context("http server failed")
}

/// Tries the database link to peer `index` every `PEER_PROBE_INTERVAL` from `source` (this
/// backend's own address, so a firewall rule on that pair of addresses cuts exactly this
/// link) until `stop`, recording when it last answered.
async fn follow_peer(
    backend: Backend,
    index: usize,
    source: IpAddr,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let peer = backend.peers[index];
    let mut reachable = false;
    loop {
        let answered = tokio::time::timeout(PEER_PROBE_TIMEOUT, peer_answers(source, peer))
            .await
            .unwrap_or(false);
        if answered {
            let mut seen = backend
                .peer_seen
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            seen[index] = Some(Instant::now());
        }
        if answered != reachable {
            eprintln!(
                "region {}: database link to {peer} {}",
                backend.region,
                if answered { "up" } else { "down" }
            );
            reachable = answered;
        }
        tokio::select! {
            _ = tokio::time::sleep(PEER_PROBE_INTERVAL) => {}
            _ = stop.wait_for(|stop| *stop) => return Ok(()),
        }
    }
}

/// One try of the database link: `GET /healthz` on `peer` from `source`, true on a 200.
async fn peer_answers(source: IpAddr, peer: SocketAddr) -> bool {
    let Ok(socket) = TcpSocket::new_v4() else {
        return false;
    };
    if socket.bind(SocketAddr::new(source, 0)).is_err() {
        return false;
    }
    let Ok(mut stream) = socket.connect(peer).await else {
        return false;
    };
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {peer}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut reply = [0u8; MAX_PEER_REPLY];
    let mut length = 0;
    while length < reply.len() {
        match stream.read(&mut reply[length..]).await {
            Ok(0) | Err(_) => break,
            Ok(read) => length += read,
        }
        if reply[..length].contains(&b'\n') {
            break;
        }
    }
    reply[..length].starts_with(b"HTTP/1.1 200") || reply[..length].starts_with(b"HTTP/1.0 200")
}

async fn replication(State(backend): State<Backend>) -> Json<serde_json::Value> {
    let status = backend.status();
    Json(json!({ "replication": backend.replication(status) }))
}

async fn demo_status(State(backend): State<Backend>) -> Json<serde_json::Value> {
    Json(backend.describe(backend.status()))
}

/// `POST /demo/replication`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplicationChange {
    in_quorum: bool,
    #[serde(default)]
    lag_seconds: Option<f64>,
}

async fn set_replication(State(backend): State<Backend>, body: Bytes) -> Response {
    let change: ReplicationChange = match parse(&body) {
        Ok(change) => change,
        Err(message) => return refuse(message),
    };
    if let Some(lag) = change.lag_seconds {
        if !lag.is_finite() || lag < 0.0 {
            return refuse(format!("lag_seconds: must be a number >= 0, got {lag}"));
        }
    }
    let status = backend.update(|status| {
        status.in_quorum = change.in_quorum;
        if let Some(lag) = change.lag_seconds {
            status.lag_seconds = lag;
        }
    });
    eprintln!(
        "region {}: replication in_quorum {} lag_seconds {}",
        backend.region, status.in_quorum, status.lag_seconds
    );
    Json(backend.describe(status)).into_response()
}

/// `POST /demo/nodes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodesChange {
    ready: u32,
}

async fn set_nodes(State(backend): State<Backend>, body: Bytes) -> Response {
    let change: NodesChange = match parse(&body) {
        Ok(change) => change,
        Err(message) => return refuse(message),
    };
    if change.ready > backend.nodes {
        return refuse(format!(
            "ready: must be within 0..={}, got {}",
            backend.nodes, change.ready
        ));
    }
    let status = backend.update(|status| status.ready = change.ready);
    eprintln!(
        "region {}: {} of {} node(s) ready",
        backend.region, status.ready, backend.nodes
    );
    Json(backend.describe(status)).into_response()
}

/// What kube-proxy's `healthCheckNodePort` answers on node `node` (1-based).
async fn node_health(backend: Backend, node: u32) -> Response {
    let ready = node <= backend.status().ready;
    let (status, local) = if ready {
        (StatusCode::OK, 1)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, 0)
    };
    (
        status,
        Json(json!({
            "service": { "namespace": "demo", "name": backend.region },
            "localEndpoints": local,
        })),
    )
        .into_response()
}

/// A control body as JSON, whatever its content type (so a bare `curl -d` works).
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|error| format!("body: {error}"))
}

fn refuse(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "code": "invalid", "message": message })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database of three is in quorum with one peer reachable, not with none; one of one
    /// always is; four members need two peers.
    #[test]
    fn a_majority_counts_this_member_too() {
        for (reachable, peers, expected) in [
            (0, 0, true),
            (0, 2, false),
            (1, 2, true),
            (2, 2, true),
            (1, 3, false),
            (2, 3, true),
        ] {
            assert_eq!(
                has_majority(reachable, peers),
                expected,
                "{reachable} of {peers} peers"
            );
        }
    }

    /// Loopback and 198.18.0.0/15 are allowed; the neighbours of that network and public
    /// addresses are not.
    #[test]
    fn backends_listen_on_loopback_or_the_benchmarking_network_only() {
        for (ip, expected) in [
            ("127.0.0.1", true),
            ("127.3.4.5", true),
            ("198.18.0.1", true),
            ("198.19.255.254", true),
            ("198.17.255.255", false),
            ("198.20.0.1", false),
            ("192.0.2.1", false),
            ("0.0.0.0", false),
        ] {
            let ip: Ipv4Addr = ip.parse().unwrap();
            assert_eq!(allowed_listen_ip(ip), expected, "{ip}");
        }
    }
}
