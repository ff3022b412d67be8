//! Running one attempt of a check: `execute` dispatches on the kind and returns an
//! `Attempt` — success or failure with a clear reason, the RTT, and (kube-local) the live
//! capacity. It never hangs (every attempt is bounded by the check's `timeout_ms`) and never
//! reads more than `MAX_BODY_BYTES` of anything.
//!
//! - `tcp`: connect, optional send/expect.
//! - `http`: `http` and `https` (via `tls`: rustls on ring + hyper; SNI, custom CA,
//!   skip-verify), `replication` (JSON conditions) and `kube-local` (per node,
//!   `localEndpoints`).
//! - `dns`: one UDP query built with hickory-proto.

mod dns;
mod http;
mod tcp;
mod tls;

use std::time::{Duration, Instant};

use crate::probe::Probe;
use gslb_model::model::CheckKind;

pub use http::{http_client, HttpClient};

/// The most bytes read from any reply (a body, a TCP banner).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Whether the check passed.
    pub ok: bool,
    /// Round-trip time in microseconds (connect for tcp, response headers for http, the
    /// reply for dns), when the target answered at all.
    pub rtt_us: Option<u32>,
    /// Why it failed; `None` when it passed.
    pub error: Option<String>,
    /// Live capacity found (`kube-local`: nodes with local endpoints).
    pub capacity: Option<u32>,
}

impl Attempt {
    /// A pass with an RTT.
    pub fn pass(rtt: Duration) -> Attempt {
        Attempt {
            ok: true,
            rtt_us: Some(micros(rtt)),
            error: None,
            capacity: None,
        }
    }

    /// A failure with its reason and, if the target answered, the RTT.
    pub fn fail(reason: impl Into<String>, rtt: Option<Duration>) -> Attempt {
        Attempt {
            ok: false,
            rtt_us: rtt.map(micros),
            error: Some(reason.into()),
            capacity: None,
        }
    }
}

/// A duration in whole microseconds, saturating.
pub(crate) fn micros(duration: Duration) -> u32 {
    u32::try_from(duration.as_micros()).unwrap_or(u32::MAX)
}

/// Runs one attempt of `probe`, bounded by its `timeout_ms`.
pub async fn execute(probe: &Probe, client: &HttpClient) -> Attempt {
    if let Some(drill) = &probe.drill {
        if drill.applies_at(gslb_model::clock::unix_millis()) {
            return Attempt::fail(drill.error(), None);
        }
    }
    let timeout = Duration::from_millis(probe.check.timeout_ms);
    let started = Instant::now();
    let attempt = tokio::time::timeout(timeout, run(probe, client, timeout)).await;
    match attempt {
        Ok(attempt) => attempt,
        Err(_) => Attempt::fail(
            format!(
                "timed out after {} ms ({} ms elapsed)",
                probe.check.timeout_ms,
                started.elapsed().as_millis()
            ),
            None,
        ),
    }
}

/// Dispatches on the kind.
async fn run(probe: &Probe, client: &HttpClient, timeout: Duration) -> Attempt {
    let address = probe.address;
    match (&probe.check.kind, address) {
        (CheckKind::Tcp(tcp), Some(address)) => tcp::run(address, tcp).await,
        (CheckKind::Http(params), Some(address)) => {
            http::run_http(client, address, params, timeout, false).await
        }
        (CheckKind::Https(params), Some(address)) => {
            http::run_http(client, address, params, timeout, true).await
        }
        (CheckKind::Dns(params), Some(address)) => dns::run(address, params).await,
        (CheckKind::Replication(params), Some(address)) => {
            http::run_replication(client, address, params, timeout).await
        }
        (CheckKind::KubeLocal(params), _) => http::run_kube_local(client, params, timeout).await,
        (CheckKind::External(_), _) => {
            Attempt::fail("external checks are pushed, not probed", None)
        }
        (kind, None) => Attempt::fail(format!("no address to run the {} check", kind.name()), None),
    }
}
