//! `ApiMetrics`: the Prometheus registry of the API role — requests by route and status and
//! their latency,
//! and, sampled at scrape time, the node's Raft role, term, applied index, state version and
//! staleness. Rendered in OpenMetrics text by `/metrics`.

use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use gslb_store::raft::{NodeMetrics, RaftState};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::dto::cluster::{is_stale, role_name};
use crate::ApiContext;

/// Labels of one API request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method.
    pub method: String,
    /// The route template (`/v1/zones/{zone}`), `unmatched` for unknown paths, so label
    /// cardinality stays bounded.
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// Labels of the latency histogram (no status, to keep the series few).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// HTTP method.
    pub method: String,
    /// The route template.
    pub route: String,
}

/// Labels of the role gauge.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RoleLabels {
    /// `leader`, `follower`, `candidate`, `learner`, `shutdown`.
    pub role: String,
}

/// Every metric the API exports.
#[derive(Debug)]
pub struct ApiMetrics {
    /// The registry; a mutex because encoding needs `&Registry` while gauges are refreshed.
    registry: Mutex<Registry>,
    /// `gslb_api_requests_total`.
    requests: Family<RequestLabels, Counter>,
    /// `gslb_api_request_duration_seconds`, by method and route.
    durations: Family<RouteLabels, Histogram>,
    /// `gslb_raft_role`: 1 for the current role.
    role: Family<RoleLabels, Gauge>,
    /// `gslb_raft_term`.
    term: Gauge,
    /// `gslb_raft_applied_index`.
    applied_index: Gauge,
    /// `gslb_raft_last_log_index`.
    last_log_index: Gauge,
    /// `gslb_raft_leader_contact_age_milliseconds` (-1 when never).
    leader_contact_ms: Gauge,
    /// `gslb_state_version`.
    state_version: Gauge,
    /// `gslb_state_stale`: 1 when no leader was heard from within `stale_after`.
    stale: Gauge,
    /// `gslb_storage_bytes`.
    storage_bytes: Gauge,
}

impl Default for ApiMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiMetrics {
    /// A registry with every metric registered.
    pub fn new() -> ApiMetrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "gslb_api_requests",
            "API requests by method, route and status",
            requests.clone(),
        );
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 1 ms .. ~16 s: reads answer in microseconds, writes wait for a commit.
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        registry.register(
            "gslb_api_request_duration_seconds",
            "API request latency by method and route",
            durations.clone(),
        );
        let role = Family::<RoleLabels, Gauge>::default();
        registry.register(
            "gslb_raft_role",
            "1 for this node's Raft role",
            role.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let term = gauge(&mut registry, "gslb_raft_term", "current Raft term");
        let applied_index = gauge(
            &mut registry,
            "gslb_raft_applied_index",
            "last applied log index",
        );
        let last_log_index = gauge(&mut registry, "gslb_raft_last_log_index", "last log index");
        let leader_contact_ms = gauge(
            &mut registry,
            "gslb_raft_leader_contact_age_milliseconds",
            "milliseconds since a leader was last heard from (-1: never)",
        );
        let state_version = gauge(
            &mut registry,
            "gslb_state_version",
            "version of the served state",
        );
        let stale = gauge(
            &mut registry,
            "gslb_state_stale",
            "1 when no leader was heard from within stale_after; the node keeps serving",
        );
        let storage_bytes = gauge(
            &mut registry,
            "gslb_storage_bytes",
            "bytes of Raft storage on disk",
        );
        ApiMetrics {
            registry: Mutex::new(registry),
            requests,
            durations,
            role,
            term,
            applied_index,
            last_log_index,
            leader_contact_ms,
            state_version,
            stale,
            storage_bytes,
        }
    }

    /// Counts one request and records how long it took.
    pub fn count_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.durations
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
    }

    /// Refreshes the node gauges and renders everything as OpenMetrics text.
    pub fn render(&self, node: &NodeMetrics, version: u64, stale_after_ms: u64) -> String {
        for state in [
            RaftState::Leader,
            RaftState::Follower,
            RaftState::Candidate,
            RaftState::Learner,
            RaftState::Shutdown,
        ] {
            self.role
                .get_or_create(&RoleLabels {
                    role: role_name(state).to_string(),
                })
                .set(i64::from(state == node.state));
        }
        let clamp = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.term.set(clamp(node.term));
        self.applied_index.set(clamp(node.applied_index));
        self.last_log_index.set(clamp(node.last_log_index));
        self.leader_contact_ms
            .set(node.millis_since_leader_contact.map_or(-1, clamp));
        self.state_version.set(clamp(version));
        self.stale.set(i64::from(is_stale(node, stale_after_ms)));
        self.storage_bytes.set(clamp(node.storage_bytes));
        let mut text = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(error) = encode(&mut text, &registry) {
            tracing::warn!("metrics encoding failed: {error}");
        }
        text
    }
}

/// The middleware counting every request by its route template.
pub async fn count_requests(
    State(context): State<ApiContext>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    context.metrics.count_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
