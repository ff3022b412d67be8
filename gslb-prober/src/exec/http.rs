//! HTTP-based checks: `http` over one shared `reqwest` client and `https` over `tls` (status,
//! headers, body substring or regex, Host header and SNI, a custom CA or no verification, a
//! check address apart from the answered one),
//! `replication` (a JSON document on which `JsonCondition`s must hold) and `kube-local`
//! (kube-proxy's `healthCheckNodePort` on every node, counting nodes with
//! `localEndpoints ≥ 1`).
//!
//! Bodies are read in chunks up to `MAX_BODY_BYTES` and no further, so an endless body costs
//! 64 KiB and a clear failure, never a stuck prober.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gslb_model::model::check::{HttpCheck, JsonCondition, KubeLocalCheck, ReplicationCheck};
use reqwest::header::HOST;

use super::tcp::contains;
use super::tls::{self, Fetched};
use super::{micros, Attempt, MAX_BODY_BYTES};

/// The most distinct TLS setups cached; past it the cache starts over.
const MAX_TLS_CONFIGS: usize = 1024;

/// The clients every check of a prober shares: one reqwest client for plain HTTP, and one
/// rustls configuration per distinct (CA, skip_verify) of `https` checks, built on first
/// use. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpClient {
    /// For `http`, `replication` and `kube-local`.
    plain: reqwest::Client,
    /// For `https`, by (ca_pem, skip_verify).
    tls: Arc<Mutex<TlsConfigs>>,
}

/// TLS configurations by (ca_pem, skip_verify).
type TlsConfigs = BTreeMap<(Option<String>, bool), Arc<rustls::ClientConfig>>;

/// Builds the prober's clients. Plain HTTP: no proxies from the environment, no redirects
/// followed, no pooled connections (each attempt opens its own, so a dead listener is seen
/// at once).
pub fn http_client() -> Result<HttpClient, reqwest::Error> {
    // reqwest has rustls without a provider (gslb-store's https peers) and panics at
    // `build` unless one is installed; a no-op when the binary installed ring's already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plain = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .user_agent(concat!("gslb-prober/", env!("CARGO_PKG_VERSION")))
        .build()?;
    Ok(HttpClient {
        plain,
        tls: Arc::new(Mutex::new(BTreeMap::new())),
    })
}

impl HttpClient {
    /// The TLS configuration for a CA and verification choice, built once.
    fn tls_config(
        &self,
        ca_pem: Option<&str>,
        skip_verify: bool,
    ) -> Result<Arc<rustls::ClientConfig>, String> {
        let key = (ca_pem.map(str::to_string), skip_verify);
        let mut configs = self
            .tls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(config) = configs.get(&key) {
            return Ok(config.clone());
        }
        let config = tls::client_config(ca_pem, skip_verify)?;
        if configs.len() >= MAX_TLS_CONFIGS {
            configs.clear();
        }
        configs.insert(key, config.clone());
        Ok(config)
    }
}

/// A request error with its causes, lowercase as reqwest writes them.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "connect failed".to_string()
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Reads at most `MAX_BODY_BYTES`; the flag says whether the body went on beyond them.
async fn read_bounded(response: &mut reqwest::Response) -> Result<(Vec<u8>, bool), String> {
    let mut body = Vec::new();
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|error| format!("read body: {}", describe(&error)))?;
        let Some(chunk) = chunk else {
            return Ok((body, false));
        };
        let room = MAX_BODY_BYTES - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
}

/// Sends a GET to `peer` + `path` with an optional Host header; returns the response and the
/// time to its headers.
async fn get(
    client: &HttpClient,
    peer: SocketAddr,
    path: &str,
    host: Option<&str>,
    headers: &[(&String, &String)],
    timeout: Duration,
) -> Result<(reqwest::Response, Duration), String> {
    let mut request = client
        .plain
        .get(format!("http://{peer}{path}"))
        .timeout(timeout);
    if let Some(host) = host {
        request = request.header(HOST, host);
    }
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let started = Instant::now();
    let response = request.send().await.map_err(|error| {
        if error.is_timeout() {
            format!(
                "GET {peer}{path}: timed out after {} ms",
                timeout.as_millis()
            )
        } else {
            format!("GET {peer}{path}: {}", describe(&error))
        }
    })?;
    Ok((response, started.elapsed()))
}

/// Fetches for the `http` check (plain) or the `https` one (`tls`): SNI and certificate
/// name are `host` (else the address), connecting to `address` whatever `host` resolves to.
async fn fetch_http(
    client: &HttpClient,
    peer: SocketAddr,
    params: &HttpCheck,
    timeout: Duration,
    tls: bool,
) -> Result<Fetched, (String, Option<Duration>)> {
    let headers: Vec<_> = params.headers.iter().collect();
    let read_body = params.body_contains.is_some() || params.body_regex.is_some();
    if tls {
        let config = client
            .tls_config(params.ca_pem.as_deref(), params.skip_verify)
            .map_err(|error| (error, None))?;
        let address = peer.ip().to_string();
        let name = params.host.as_deref().unwrap_or(&address);
        // The Host header carries the port unless it is the default.
        let host = match peer.port() {
            443 => name.to_string(),
            port => format!("{name}:{port}"),
        };
        let path = &params.path;
        return tls::fetch(
            config, peer, name, &host, path, &headers, read_body, timeout,
        )
        .await;
    }
    let host = params.host.as_deref();
    let (mut response, rtt) = get(client, peer, &params.path, host, &headers, timeout)
        .await
        .map_err(|error| (error, None))?;
    let body = if read_body {
        Some(
            read_bounded(&mut response)
                .await
                .map_err(|error| (error, Some(rtt)))?,
        )
    } else {
        None
    };
    Ok(Fetched {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body,
        rtt,
    })
}

/// The `http` and `https` checks.
pub(super) async fn run_http(
    client: &HttpClient,
    address: IpAddr,
    params: &HttpCheck,
    timeout: Duration,
    tls: bool,
) -> Attempt {
    let default_port = if tls { 443 } else { 80 };
    let peer = SocketAddr::new(address, params.port.unwrap_or(default_port));
    let fetched = match fetch_http(client, peer, params, timeout, tls).await {
        Ok(fetched) => fetched,
        Err((error, rtt)) => return Attempt::fail(error, rtt),
    };
    let rtt = fetched.rtt;
    let status = fetched.status;
    if !params.accepts(status) {
        let wanted = if params.status.is_empty() {
            "200-399".to_string()
        } else {
            params
                .status
                .iter()
                .map(|range| format!("{}-{}", range.from, range.to))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Attempt::fail(format!("status {status}, expected {wanted}"), Some(rtt));
    }
    for (name, wanted) in &params.expect_headers {
        let found = fetched
            .headers
            .get(name.as_str())
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        if found.as_deref() != Some(wanted.as_str()) {
            return Attempt::fail(
                format!("header {name}: expected {wanted:?}, got {found:?}"),
                Some(rtt),
            );
        }
    }
    let Some((body, truncated)) = fetched.body else {
        return Attempt::pass(rtt);
    };
    let scope = if truncated {
        format!("the first {MAX_BODY_BYTES} bytes of the body")
    } else {
        "the body".to_string()
    };
    if let Some(text) = &params.body_contains {
        if !contains(&body, text.as_bytes()) {
            return Attempt::fail(format!("{text:?} not found in {scope}"), Some(rtt));
        }
    }
    if let Some(pattern) = &params.body_regex {
        let regex = match regex_lite::Regex::new(pattern) {
            Ok(regex) => regex,
            Err(error) => {
                return Attempt::fail(
                    format!("body_regex {pattern:?} does not parse: {error}"),
                    Some(rtt),
                )
            }
        };
        if !regex.is_match(&String::from_utf8_lossy(&body)) {
            return Attempt::fail(format!("{scope} does not match {pattern:?}"), Some(rtt));
        }
    }
    Attempt::pass(rtt)
}

/// Fetches a JSON document: a 2xx status and a complete body within `MAX_BODY_BYTES`.
async fn fetch_json(
    client: &HttpClient,
    peer: SocketAddr,
    path: &str,
    host: Option<&str>,
    timeout: Duration,
) -> Result<(reqwest::StatusCode, serde_json::Value, Duration), (String, Option<Duration>)> {
    let (mut response, rtt) = get(client, peer, path, host, &[], timeout)
        .await
        .map_err(|error| (error, None))?;
    let status = response.status();
    let (body, truncated) = read_bounded(&mut response)
        .await
        .map_err(|error| (error, Some(rtt)))?;
    if truncated {
        return Err((
            format!("status {status}: body exceeds {MAX_BODY_BYTES} bytes"),
            Some(rtt),
        ));
    }
    let document = serde_json::from_slice(&body).map_err(|error| {
        (
            format!("status {}: body is not json ({error})", status.as_u16()),
            Some(rtt),
        )
    })?;
    Ok((status, document, rtt))
}

/// The `replication` check: every condition must hold on the region's status document.
pub(super) async fn run_replication(
    client: &HttpClient,
    address: IpAddr,
    params: &ReplicationCheck,
    timeout: Duration,
) -> Attempt {
    let peer = SocketAddr::new(address, params.port);
    let (status, document, rtt) =
        match fetch_json(client, peer, &params.path, params.host.as_deref(), timeout).await {
            Ok(fetched) => fetched,
            Err((error, rtt)) => return Attempt::fail(error, rtt),
        };
    if !status.is_success() {
        return Attempt::fail(
            format!("status {}, expected 2xx", status.as_u16()),
            Some(rtt),
        );
    }
    for text in &params.conditions {
        let condition = match JsonCondition::parse(text) {
            Ok(condition) => condition,
            Err(error) => return Attempt::fail(format!("condition {text:?}: {error}"), Some(rtt)),
        };
        match condition.evaluate(&document) {
            Ok(true) => {}
            Ok(false) => {
                let found = document
                    .pointer(&condition.pointer)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                return Attempt::fail(
                    format!("{condition} does not hold (found {found})"),
                    Some(rtt),
                );
            }
            Err(error) => return Attempt::fail(error, Some(rtt)),
        }
    }
    Attempt::pass(rtt)
}

/// One node's answer: its local endpoints and the RTT, or why it does not count.
async fn probe_node(
    client: HttpClient,
    peer: SocketAddr,
    path: String,
    timeout: Duration,
) -> Result<(u64, Duration), String> {
    let (status, document, rtt) = fetch_json(&client, peer, &path, None, timeout)
        .await
        .map_err(|(error, _)| error)?;
    let local = document
        .get("localEndpoints")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| format!("status {}: no localEndpoints number", status.as_u16()))?;
    if status != reqwest::StatusCode::OK || local == 0 {
        return Err(format!(
            "status {}, localEndpoints {local}",
            status.as_u16()
        ));
    }
    Ok((local, rtt))
}

/// The `kube-local` check: counts the nodes that answer 200 with `localEndpoints ≥ 1`; that
/// count is the capacity, and the check passes with at least `min_nodes` of them.
pub(super) async fn run_kube_local(
    client: &HttpClient,
    params: &KubeLocalCheck,
    timeout: Duration,
) -> Attempt {
    // Each node gets four fifths of the attempt's time, so that one hanging node is
    // reported as such and the others still count, before the attempt itself times out.
    let node_timeout = timeout * 4 / 5;
    let mut nodes = tokio::task::JoinSet::new();
    for (index, node) in params.nodes.iter().enumerate() {
        let peer = SocketAddr::new(*node, params.port);
        let future = probe_node(client.clone(), peer, params.path.clone(), node_timeout);
        nodes.spawn(async move {
            let result = match tokio::time::timeout(node_timeout, future).await {
                Ok(result) => result,
                Err(_) => Err(format!("timed out after {} ms", node_timeout.as_millis())),
            };
            (index, peer, result)
        });
    }
    let mut results = Vec::with_capacity(params.nodes.len());
    while let Some(joined) = nodes.join_next().await {
        match joined {
            Ok(result) => results.push(result),
            Err(error) => return Attempt::fail(format!("node probe task failed: {error}"), None),
        }
    }
    results.sort_by_key(|(index, _, _)| *index);
    let mut live = 0u32;
    let mut best_rtt: Option<Duration> = None;
    let mut failures = Vec::new();
    for (_, peer, result) in &results {
        match result {
            Ok((_, rtt)) => {
                live += 1;
                best_rtt = Some(best_rtt.map_or(*rtt, |best| best.min(*rtt)));
            }
            Err(error) => failures.push(format!("{peer}: {error}")),
        }
    }
    let attempt = if live >= params.min_nodes {
        Attempt::pass(best_rtt.unwrap_or_default())
    } else {
        Attempt::fail(
            format!(
                "{live} of {} nodes have local endpoints, need {}; {}",
                params.nodes.len(),
                params.min_nodes,
                failures.join("; ")
            ),
            best_rtt,
        )
    };
    Attempt {
        capacity: Some(live),
        rtt_us: best_rtt.map(micros),
        ..attempt
    }
}
