//! The prober role of a node with `[prober]`: wiring only. The checks, rise/fall, batching
//! and backoff are `gslb-prober`; this file connects them to the node:
//! - `ApiSink`: an `ObservationSink` over the REST API client (`POST /v1/observations` with
//!   the `[prober]` token);
//! - `spawn_prober_role`: starts `spawn_prober` with `plan_probes` of the node's replicated
//!   state for `prober.vantage`, and re-plans on every new state version;
//! - `ProberRole::shutdown`: stops both, with the node's other roles on SIGTERM.
//!
//! Invariant: the prober only reads the node's state watch; it never writes the store but
//! through the API, like any other prober.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use gslb_api::client::{Client, ClientError};
use gslb_prober::model::ObservationReport;
use gslb_prober::{
    http_client, plan_probes, spawn_prober, ObservationSink, Probe, ProberConfig, ProberHandle,
    SinkError,
};
use gslb_store::raft::ClientTls;
use gslb_store::StateWatch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::ProberSettings;

/// Why the prober role could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProberError {
    /// `prober.api` (or the node's own address) is not a usable base URL.
    #[error("prober.api: {0}")]
    Api(#[from] ClientError),
    /// The HTTP client the checks run on could not be built.
    #[error("prober: cannot build the http client of checks: {0}")]
    Checks(String),
}

/// Reports a vantage's batches through the REST API.
#[derive(Debug, Clone)]
pub struct ApiSink {
    /// The API client, holding the `prober`-scoped token.
    client: Client,
}

impl ApiSink {
    /// A sink reporting through `client`.
    pub fn new(client: Client) -> ApiSink {
        ApiSink { client }
    }
}

impl ObservationSink for ApiSink {
    async fn send(
        &self,
        vantage: &str,
        observations: &[ObservationReport],
    ) -> Result<(), SinkError> {
        self.client
            .report_observations(vantage, observations)
            .await
            .map(drop)
            .map_err(sink_error)
    }
}

/// A client error as the outbox sees it: a 4xx refusal cannot succeed on retry (a deleted
/// check, a token without the scope) except 408 and 429; everything else (5xx, no leader,
/// connection refused, timeouts, an unreadable answer) is retried with backoff.
fn sink_error(error: ClientError) -> SinkError {
    match error.status() {
        Some(408 | 429) => SinkError::Unavailable(error.to_string()),
        Some(status) if (400..500).contains(&status) => SinkError::Rejected(error.to_string()),
        _ => SinkError::Unavailable(error.to_string()),
    }
}

/// A running prober role.
#[derive(Debug)]
pub struct ProberRole {
    /// Stops the follower, which then stops the prober.
    stop: CancellationToken,
    /// The task that re-plans on every state version and owns the `ProberHandle`.
    follower: JoinHandle<()>,
}

impl ProberRole {
    /// Stops re-planning and the prober (attempts in flight are abandoned).
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.follower.await;
    }
}

/// Starts the prober of `settings.vantage` on the checks of `state`, reporting to
/// `settings.api` or else to this node's own HTTP server at `own_http` (over https, when
/// `tls` says the listener speaks it, at `advertise`: the name its certificate is for).
pub fn spawn_prober_role(
    settings: &ProberSettings,
    own_http: SocketAddr,
    advertise: &str,
    tls: &ClientTls,
    mut state: StateWatch,
) -> Result<ProberRole, ProberError> {
    let api = settings.api.clone().unwrap_or_else(|| {
        if tls.is_https() {
            tls.url(advertise, "")
        } else {
            format!("http://{}", reachable(own_http))
        }
    });
    let client = Client::with_tls(&api, Some(settings.token.clone()), tls)?;
    let checks_client = http_client().map_err(|error| ProberError::Checks(error.to_string()))?;
    let vantage = settings.vantage.clone();
    let probes = plan_probes(&state.borrow_and_update(), &vantage);
    tracing::info!(vantage = %vantage, api = %api, probes = probes.len(), "prober started");
    let handle = spawn_prober(
        ProberConfig::new(vantage.clone()),
        probes.clone(),
        Arc::new(ApiSink::new(client)),
        checks_client,
    );
    let stop = CancellationToken::new();
    let follower = tokio::spawn(follow(state, vantage, probes, handle, stop.clone()));
    Ok(ProberRole { stop, follower })
}

/// Re-plans the probes on every new state version until `stop`, then stops the prober.
async fn follow(
    mut state: StateWatch,
    vantage: String,
    mut current: Vec<Probe>,
    handle: ProberHandle,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            changed = state.changed() => {
                if changed.is_err() {
                    break;
                }
                let (version, probes) = {
                    let latest = state.borrow_and_update();
                    (latest.version, plan_probes(&latest, &vantage))
                };
                if probes != current {
                    tracing::info!(version, probes = probes.len(), "probe set changed");
                    handle.set_probes(probes.clone());
                    current = probes;
                }
            }
        }
    }
    handle.shutdown().await;
    tracing::info!("prober stopped");
}

/// `address` with an unspecified IP (`0.0.0.0`, `::`) replaced by loopback, so the node
/// can call itself.
fn reachable(address: SocketAddr) -> SocketAddr {
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, address.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gslb_api::error::ErrorBody;

    fn api_error(status: u16) -> ClientError {
        ClientError::Api {
            status,
            body: ErrorBody {
                code: "code".to_string(),
                message: "message".to_string(),
                fields: Vec::new(),
            },
        }
    }

    /// Refusals are dropped, outages retried: 4xx but 408/429 reject, the rest is
    /// unavailable.
    #[test]
    fn client_errors_become_rejections_or_outages() {
        let rejected = |error| matches!(sink_error(error), SinkError::Rejected(_));
        for status in [400, 401, 403, 404, 422] {
            assert!(rejected(api_error(status)), "{status}");
        }
        for status in [408, 429, 500, 503] {
            assert!(!rejected(api_error(status)), "{status}");
        }
        let refused = ClientError::Transport {
            url: "http://127.0.0.1:1/v1/observations".to_string(),
            detail: "connection refused".to_string(),
        };
        assert!(!rejected(refused));
    }

    #[test]
    fn an_unspecified_listener_is_called_on_loopback() {
        let any: SocketAddr = "0.0.0.0:8061".parse().unwrap();
        assert_eq!(reachable(any), "127.0.0.1:8061".parse().unwrap());
        let any6: SocketAddr = "[::]:8061".parse().unwrap();
        assert_eq!(reachable(any6), "[::1]:8061".parse().unwrap());
        let own: SocketAddr = "10.0.0.1:8061".parse().unwrap();
        assert_eq!(reachable(own), own);
    }
}
