//! gslb-api: the REST API of the control plane (axum), its auth, OpenAPI document, metrics,
//! change tracking and audit, and `client`, the library `gslbctl` is built on.
//!
//! Entry points:
//! - `api_router(node, options)`: every API route of one node; merge it with
//!   `gslb_store::raft::raft_router(node)` on the node's HTTP server.
//! - `serve(listener, node, options, shutdown)`: exactly that, with client addresses for the
//!   audit log and graceful shutdown; what `gslb serve` runs for the API role.
//!   `serve_tls(listener, tls, ...)`: the same speaking only TLS (`[control.tls]`).
//! - `client::Client`: typed calls of every route, and waiting for `INSYNC`.
//!
//! Routes (scope needed; `admin` ⊇ everything, `write` ⊇ `read`):
//! - `GET /healthz`, `GET /readyz`, `GET /ui` (the web console's page and assets; no
//!   token); `GET /openapi.json` (no token); `GET /metrics` (read, or none when open).
//! - `/v1/zones` GET, POST; `/v1/zones/{zone}` GET, PUT, DELETE;
//!   `/v1/zones/{zone}/zonefile` GET (export), PUT (import, `text/dns` or `{"text"}`);
//!   `/v1/zones/{zone}/transfer` GET, PUT (AXFR/IXFR allow list, NOTIFY targets).
//! - `/v1/zones/{zone}/records` GET, POST; `/v1/zones/{zone}/records/{name}/{type}` GET,
//!   PUT, DELETE; the same under `/v1/zones/{zone}/gslb-records` for policy-answered names.
//! - `/v1/regions`, `/v1/endpoints`, `/v1/checks`, `/v1/overrides` GET, POST, and
//!   `/{id}` GET, PUT, DELETE; `/v1/drills`, `/v1/drills/{id}` GET.
//! - `/v1/networks` GET, POST, and `/v1/networks/{cidr}` GET, PUT, DELETE (the replicated
//!   client-network table; the CIDR's `/` percent-encoded: `198.51.100.0%2F24`).
//! - `/v1/zones/{zone}/dnssec` GET (status: keys, DNSKEY, DS), POST (enable), DELETE
//!   (disable); `/v1/zones/{zone}/dnssec/rollover` POST (next rollover step).
//! - `/v1/tokens` GET, POST, `/v1/tokens/{id}` GET, DELETE (admin).
//! - `/v1/zones/{zone}/unsigned-update-sources` GET, PUT: networks a zone takes unsigned
//!   RFC 2136 updates from.
//! - `/v1/tsig-keys` GET, POST, `/v1/tsig-keys/{name}` GET, DELETE (admin; the secret only
//!   in the POST's answer).
//! - `/v1/cluster` GET; `/v1/cluster/learners` POST, `/v1/cluster/learners/{id}` DELETE,
//!   `/v1/cluster/voters` PUT,
//!   `/v1/cluster/snapshot` GET (a backup file; admin).
//! - `/v1/apply` POST (server-side apply of a declarative document, `?dry_run&prune`;
//!   the diff per kind, one Raft entry); `/v1/apply/schema` GET (its JSON Schema);
//! - `/v1/changes` POST (atomic batch, one Raft entry); `/v1/changes/{version}` GET
//!   (`PENDING` / `INSYNC`); `/v1/audit` GET.
//! - `/v1/health` GET; `/v1/observations` POST (prober); `/v1/resolve` GET.
//! - `/v1/events` GET (the history of derived transitions, `?since=&record=&after=&limit=`).
//!
//! Every resource answers with an `ETag`; PUT and DELETE honour `If-Match` (412 on a stale
//! one) and `If-None-Match: *`; PUT is idempotent (`changed: false` on a repeat); lists take
//! `?limit=&after=` and answer `{items, next}`; every write answers `{version, changed}`.
//!
//! Code map:
//! - `dto`: the JSON types, apart from the model, converted by hand.
//! - `apply`: server-side apply, one generic reconcile over resource kinds.
//! - `routes`: one file per resource; `routes::mod` has the write path every route shares.
//! - `zone_import`: whole-zone writes of any size: the body streamed under
//!   `max_request_bytes`, parse and validation off the runtime, `max_zone_records`, and big
//!   zones staged through Raft in bounded chunks switched in by one commit.
//! - `auth`: bearer tokens (sha256, constant-time), scopes by method and path, `Caller`.
//! - `throttle`: failed authentications throttled per source (429 with `Retry-After`).
//! - `extract`: JSON bodies with field paths, ETags and preconditions, pagination.
//! - `error`: `ApiError` and the one error body `{code, message, fields}`.
//! - `metrics`: the Prometheus registry; `health_transitions`: status changes counted as they
//!   happen, not sampled at scrape.
//! - `client`: the HTTP client library.
//! - `externaldns`: the ExternalDNS webhook provider (`gslb externaldns-webhook`), a client
//!   of this API.
//! - `console`: the web console at `/ui` (embedded HTML/JS/CSS over the REST API).
//! - `tls`: the server's certificate (PEM files, reloaded when they change) and the TLS
//!   listener with bounded handshakes.
//! - `listener`: the limits of the control listener (connection caps overall and per source,
//!   header read and idle timeouts), for plain and TLS alike.
//!
//! `If-Match` is checked twice: against this node's state before the write is proposed (a
//! quick 412), and inside `apply` (`Command::Guarded`), so a write committed in between
//! through any node is detected too.
//!
//! Invariant: the API holds no state of its own; every read is the node's `Arc<State>`, every
//! write one `Command` through `NodeHandle::write` (one Raft entry, audited by `apply`).
//! Invariant: nothing answers without a token except `/healthz`, `/readyz`, `/openapi.json`,
//! the console's static files under `/ui` (no data) and, when configured open, `/metrics`.
//! Invariant: every error response is JSON `{code, message, fields}`.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod apply;
pub mod auth;
pub mod client;
pub mod console;
pub mod drills;
pub mod dto;
pub mod error;
pub mod externaldns;
pub mod extract;
pub mod health_transitions;
pub mod listener;
pub mod metrics;
pub mod parameter_formats;
pub mod rollover;
pub mod routes;
pub mod strict_json;
pub mod throttle;
pub mod tls;
pub mod zone_import;

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use axum::Router;
use gslb_dns::client::ClientLocator;
use gslb_store::raft::{raft_router, ClientTls, NodeHandle};
use gslb_store::refusal_log::{spawn_refusal_flusher, RefusalLog};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr, ResponseBuilder, Schema};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use gslb_model::model;

use crate::error::{code_for, ApiError, ErrorBody, FieldErrorBody};
use crate::listener::{BoundedListener, PeerSources};
use crate::metrics::ApiMetrics;
use crate::routes::{
    apply as apply_routes, changes, checks, cluster, dnssec, drills as drill_routes, endpoints,
    events, gslb_records, health, networks, ops, overrides, records, regions, resolve, tokens,
    tsig_keys, update_sources, zones,
};

/// Default of `ApiOptions::max_request_bytes`: 64 MiB, room for a zone file of two million
/// short records (a million `hN A` lines are 27 MB).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

/// Default of `ApiOptions::max_zone_records`.
pub const DEFAULT_MAX_ZONE_RECORDS: usize = 2_000_000;

/// How the API of one node behaves.
#[derive(Clone)]
pub struct ApiOptions {
    /// A token from the node's config or command line that is accepted with `admin` scope
    /// besides the tokens in the replicated state; how the first real tokens get created.
    /// Never stored; only its hash is kept in memory.
    pub bootstrap_token: Option<String>,
    /// Serve `/metrics` without a token (for Prometheus scrapers on a trusted network).
    pub metrics_open: bool,
    /// Largest request body, bytes (`control.limits.max_request_bytes`); larger ones get 413
    /// naming the limit and the size, before anything is parsed. A zone import's body is
    /// counted as it streams in, never buffered past this.
    pub max_request_bytes: usize,
    /// Most records (RDATA entries) one zone may hold (`control.limits.max_zone_records`);
    /// a zone write or import over it gets 413 naming the limit and the count.
    pub max_zone_records: usize,
    /// Longest a request may take, reading a slow client's body included; then 408.
    pub request_timeout: Duration,
    /// A node that has not heard from a leader for this long reports itself stale
    /// (`/readyz`, `/metrics`, `gslbctl cluster status`) and keeps serving.
    pub stale_after: Duration,
    /// How long a write waits for this node to apply it before answering (read-your-writes
    /// on a follower or learner).
    pub write_wait: Duration,
    /// The longest drill `POST /v1/drills` accepts.
    pub max_drill: Duration,
    /// On a DNS node: true while its DNS listeners answer from a caught-up plan. `/readyz`
    /// says ready only then, so a load balancer neither sends queries to a restarted node
    /// that is still catching up (its listeners are not bound yet) nor keeps sending to one
    /// that is shutting down. `None` on nodes without the DNS role.
    pub dns_serving: Option<Arc<AtomicBool>>,
    /// On a DNS node: its responder's counters, exported by `/metrics` (`gslb_dns_*`).
    pub dns_metrics: Option<Arc<gslb_dns::DnsMetrics>>,
    /// How `/v1/resolve` places a client: this node's `[dns.geo]` table and MaxMind DB (empty
    /// on nodes without them); the replicated network table joins it per request.
    pub locator: ClientLocator,
    /// How this node calls other nodes' HTTP (the readiness check of a new voter): plain,
    /// or https trusting `[control.tls].ca`.
    pub peer_tls: ClientTls,
    /// The control listener's connection caps and timeouts (`serve`, `serve_tls`).
    pub listener: listener::ListenerLimits,
    /// Failed authentications a source may make in a row before it gets 429.
    pub auth_failure_burst: u32,
    /// Failed authentications a throttled source earns back per minute.
    pub auth_failures_per_minute: u32,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            bootstrap_token: None,
            metrics_open: false,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_zone_records: DEFAULT_MAX_ZONE_RECORDS,
            request_timeout: Duration::from_secs(30),
            stale_after: Duration::from_secs(30),
            write_wait: Duration::from_secs(5),
            max_drill: Duration::from_secs(24 * 3600),
            dns_serving: None,
            dns_metrics: None,
            locator: ClientLocator::default(),
            peer_tls: ClientTls::plain(),
            listener: listener::ListenerLimits::default(),
            auth_failure_burst: 20,
            auth_failures_per_minute: 30,
        }
    }
}

impl fmt::Debug for ApiOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiOptions")
            .field(
                "bootstrap_token",
                &self.bootstrap_token.as_ref().map(|_| "<redacted>"),
            )
            .field("metrics_open", &self.metrics_open)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("max_zone_records", &self.max_zone_records)
            .field("request_timeout", &self.request_timeout)
            .field("stale_after", &self.stale_after)
            .field("write_wait", &self.write_wait)
            .field("max_drill", &self.max_drill)
            .field("dns_serving", &self.dns_serving)
            .field("dns_metrics", &self.dns_metrics.is_some())
            .field("locator", &self.locator)
            .field("peer_tls", &self.peer_tls)
            .field("listener", &self.listener)
            .field("auth_failure_burst", &self.auth_failure_burst)
            .field("auth_failures_per_minute", &self.auth_failures_per_minute)
            .finish()
    }
}

/// What every handler shares: the node, the options and the metrics. Cheap to clone.
#[derive(Clone)]
pub struct ApiContext {
    /// The node whose state the API serves and through which it writes.
    pub node: NodeHandle,
    /// The options.
    pub options: Arc<ApiOptions>,
    /// Hash of `options.bootstrap_token`.
    pub(crate) bootstrap_hash: Option<Arc<str>>,
    /// The Prometheus registry.
    pub metrics: Arc<ApiMetrics>,
    /// The rendered OpenAPI document (set once the router is built).
    pub(crate) openapi_json: Arc<OnceLock<String>>,
    /// Failed authentications per source.
    pub(crate) auth_throttle: Arc<throttle::AuthThrottle>,
    /// Failed authentications, logged as summaries.
    pub(crate) auth_refusals: Arc<RefusalLog>,
    /// Observation reports refused for their vantage, audited at most once per token a
    /// minute (the 403 answers every one).
    pub(crate) vantage_refusals: Arc<health::VantageRefusals>,
}

impl ApiContext {
    /// The instant (unix millis) this node derives health at, as its DNS answers do: the wall
    /// clock, or the last leader contact once none was heard for `CONTACT_GRACE_MS` (a node
    /// cut off from the control plane keeps the health it last knew; see `gslb_dns::follow`).
    /// Leases are not judged by it: they run out on the wall clock.
    pub fn health_now(&self) -> u64 {
        health_now(&self.node)
    }

    /// `options.stale_after` in milliseconds.
    pub fn stale_after_ms(&self) -> u64 {
        u64::try_from(self.options.stale_after.as_millis()).unwrap_or(u64::MAX)
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gslb API",
        description = "Global server load balancer control plane: zones, records, regions, \
                       endpoints, tokens, cluster, audit and change tracking. Every error \
                       answers `{code, message, fields}`; writes return the version to poll \
                       at `/v1/changes/{version}`.",
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(ErrorBody, FieldErrorBody)),
)]
struct ApiDoc;

/// Adds the bearer security scheme.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route with its documentation, before state and layers.
fn documented_routes() -> (
    OpenApiRouter<ApiContext>,
    OpenApiRouter<ApiContext>,
    OpenApiRouter<ApiContext>,
) {
    let protected = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(zones::list_zones, zones::create_zone))
        .routes(routes!(
            zones::get_zone,
            zones::put_zone,
            zones::delete_zone
        ))
        .routes(routes!(zones::get_zonefile, zones::put_zonefile))
        .routes(routes!(zones::get_transfer, zones::put_transfer))
        .routes(routes!(
            update_sources::get_update_sources,
            update_sources::put_update_sources
        ))
        .routes(routes!(records::list_records, records::create_record))
        .routes(routes!(
            records::get_record,
            records::put_record,
            records::delete_record
        ))
        .routes(routes!(
            gslb_records::list_gslb_records,
            gslb_records::create_gslb_record
        ))
        .routes(routes!(
            gslb_records::get_gslb_record,
            gslb_records::put_gslb_record,
            gslb_records::delete_gslb_record
        ))
        .routes(routes!(regions::list_regions, regions::create_region))
        .routes(routes!(
            regions::get_region,
            regions::put_region,
            regions::delete_region
        ))
        .routes(routes!(
            endpoints::list_endpoints,
            endpoints::create_endpoint
        ))
        .routes(routes!(
            endpoints::get_endpoint,
            endpoints::put_endpoint,
            endpoints::delete_endpoint
        ))
        .routes(routes!(checks::list_checks, checks::create_check))
        .routes(routes!(
            checks::get_check,
            checks::put_check,
            checks::delete_check
        ))
        .routes(routes!(networks::list_networks, networks::create_network))
        .routes(routes!(
            networks::get_network,
            networks::put_network,
            networks::delete_network
        ))
        .routes(routes!(
            dnssec::get_dnssec,
            dnssec::enable_dnssec,
            dnssec::disable_dnssec
        ))
        .routes(routes!(dnssec::rollover_dnssec))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::get_token, tokens::delete_token))
        .routes(routes!(
            tsig_keys::list_tsig_keys,
            tsig_keys::create_tsig_key
        ))
        .routes(routes!(tsig_keys::get_tsig_key, tsig_keys::delete_tsig_key))
        .routes(routes!(cluster::get_cluster))
        .routes(routes!(cluster::add_learner))
        .routes(routes!(cluster::remove_learner))
        .routes(routes!(cluster::change_voters))
        .routes(routes!(cluster::get_snapshot))
        .routes(routes!(changes::post_changes))
        .routes(routes!(apply_routes::post_apply))
        .routes(routes!(apply_routes::get_apply_schema))
        .routes(routes!(changes::get_change))
        .routes(routes!(changes::list_audit))
        .routes(routes!(
            overrides::list_overrides,
            overrides::create_override
        ))
        .routes(routes!(
            overrides::get_override,
            overrides::put_override,
            overrides::delete_override
        ))
        .routes(routes!(drill_routes::list_drills, drill_routes::start))
        .routes(routes!(drill_routes::plan))
        .routes(routes!(drill_routes::get_drill))
        .routes(routes!(drill_routes::abort))
        .routes(routes!(drill_routes::report))
        .routes(routes!(resolve::resolve))
        .routes(routes!(health::get_health))
        .routes(routes!(health::post_observations))
        .routes(routes!(events::list_events));
    let open = OpenApiRouter::new()
        .routes(routes!(ops::openapi))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz));
    let metrics = OpenApiRouter::new().routes(routes!(ops::metrics));
    (protected, open, metrics)
}

/// The OpenAPI document of every route (what `/openapi.json` serves).
pub fn openapi() -> OpenApiDoc {
    let (protected, open, metrics) = documented_routes();
    let (_, mut doc) = protected.merge(open).merge(metrics).split_for_parts();
    complete_document(&mut doc);
    doc
}

/// What utoipa's derived document lacks: the error answers, satisfiable tagged variants,
/// the formats of path and query parameters and the bounds of unsigned integers.
fn complete_document(doc: &mut OpenApiDoc) {
    add_error_responses(doc);
    relax_tagged_variants(doc);
    parameter_formats::document_parameter_formats(doc);
    parameter_formats::bound_unsigned_integers(doc);
    merge_flattened_schemas(doc);
}

/// `apply::merge_flattened` over the document's schemas (a `#[serde(flatten)]` struct is
/// otherwise unsatisfiable).
fn merge_flattened_schemas(doc: &mut OpenApiDoc) {
    let Ok(mut value) = serde_json::to_value(&*doc) else {
        return;
    };
    if let Some(schemas) = value["components"]["schemas"].as_object_mut() {
        apply::merge_flattened(schemas, "#/components/schemas/");
    }
    if let Ok(merged) = serde_json::from_value(value) {
        *doc = merged;
    }
}

/// Schemas of the parameter structs inside the `type`-tagged `CheckKindDto`. They refuse
/// unknown fields (serde strips the tag first), but the documented `additionalProperties:
/// false` would forbid the `type` property the variant's `allOf` adds, making the schema
/// unsatisfiable; so the document leaves it open (found by schemathesis).
const TAGGED_VARIANT_SCHEMAS: [&str; 6] = [
    "TcpDto",
    "HttpDto",
    "DnsDto",
    "ReplicationDto",
    "KubeLocalDto",
    "ExternalDto",
];

/// Makes the documented schemas satisfiable where utoipa's output is not.
fn relax_tagged_variants(doc: &mut OpenApiDoc) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for name in TAGGED_VARIANT_SCHEMAS {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
            object.additional_properties = None;
        }
    }
}

/// Documents the error answers every operation can give, with the `ErrorBody` schema.
fn add_error_responses(doc: &mut OpenApiDoc) {
    let error_response = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let open = path == "/healthz" || path == "/readyz" || path == "/openapi.json";
        let operations = [
            (&mut item.get, false),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.delete, true),
            (&mut item.patch, true),
        ];
        for (operation, writes) in operations {
            let Some(operation) = operation.as_mut() else {
                continue;
            };
            let mut codes: Vec<(&str, &str)> = vec![
                ("400", "malformed request or parameter"),
                ("408", "the request took too long"),
                ("500", "internal error"),
            ];
            if !open {
                codes.push(("401", "missing or unknown token"));
                codes.push(("403", "the token lacks the scope"));
                codes.push((
                    "429",
                    "too many failed authentications from this address; retry after \
                     Retry-After",
                ));
            }
            if path.contains('{') {
                codes.push(("404", "no such resource"));
            }
            if writes {
                codes.extend([
                    ("409", "conflicts with the current state"),
                    ("412", "an If-Match / If-None-Match precondition failed"),
                    ("413", "the body is too large"),
                    ("415", "unsupported media type"),
                    ("422", "invalid fields, each named by its path"),
                    ("503", "no leader; retry (writes are idempotent)"),
                ]);
            }
            for (code, description) in codes {
                operation
                    .responses
                    .responses
                    .entry(code.to_string())
                    .or_insert_with(|| error_response(description));
            }
        }
    }
}

/// Every API route of `node`: `/v1/...`, `/openapi.json`, `/metrics`, `/healthz`, `/readyz`,
/// with auth, body limits, timeouts, request metrics and JSON errors. Merge it with
/// `raft_router(node)` (or use `serve`) and serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so the audit log records client
/// addresses.
pub fn api_router(node: NodeHandle, options: ApiOptions) -> Router {
    let bootstrap_hash = options
        .bootstrap_token
        .as_deref()
        .map(|token| Arc::from(auth::hash_secret(token).as_str()));
    let metrics = ApiMetrics::new();
    if let Some(dns) = &options.dns_metrics {
        metrics.register_dns(dns.clone());
    }
    metrics.register_write_stages(node.downgrade());
    let auth_refusals = Arc::new(RefusalLog::new(
        "failed api authentication",
        Duration::from_secs(10),
    ));
    spawn_refusal_flusher(&auth_refusals);
    let context = ApiContext {
        node,
        auth_throttle: Arc::new(throttle::AuthThrottle::new(
            options.auth_failure_burst,
            options.auth_failures_per_minute,
        )),
        options: Arc::new(options),
        bootstrap_hash,
        metrics: Arc::new(metrics),
        openapi_json: Arc::new(OnceLock::new()),
        auth_refusals,
        vantage_refusals: Arc::default(),
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::spawn(health_transitions::follow_transitions(
            context.node.downgrade(),
            Arc::downgrade(context.metrics.transitions()),
        ));
        tokio::spawn(events::log_events(context.node.downgrade()));
    }
    let auth_layer = middleware::from_fn_with_state(context.clone(), auth::require_token);
    let (protected, open, metrics) = documented_routes();
    let metrics = if context.options.metrics_open {
        metrics
    } else {
        metrics.route_layer(auth_layer.clone())
    };
    let (router, mut doc) = protected
        .route_layer(auth_layer)
        .merge(open)
        .merge(metrics)
        .split_for_parts();
    complete_document(&mut doc);
    let json = doc
        .to_json()
        .unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"));
    let _ = context.openapi_json.set(json);
    router
        .merge(console::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            context.clone(),
            request_timeout,
        ))
        .layer(DefaultBodyLimit::max(context.options.max_request_bytes))
        .layer(middleware::from_fn_with_state(context.clone(), body_limit))
        .layer(middleware::from_fn_with_state(
            context.clone(),
            metrics::count_requests,
        ))
        .layer(middleware::from_fn(json_errors))
        .with_state(context)
}

/// Serves `node`'s Raft RPC and API on `listener` until `shutdown` resolves, then stops
/// accepting and lets requests in flight finish. Client addresses reach the audit log.
pub async fn serve(
    listener: tokio::net::TcpListener,
    node: NodeHandle,
    options: ApiOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = options.listener;
    let peers = spawn_peer_sources(&node);
    let secret = node.cluster_secret().clone();
    let app = raft_router(node.clone()).merge(api_router(node, options));
    let listener = BoundedListener::new(listener, limits, peers)
        .with_member_secret(secret)
        .tap_io(|_| {});
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// The source addresses of `node`'s cluster members, kept up to date from the replicated
/// member records (addresses that are not IP literals are resolved once per change).
fn spawn_peer_sources(node: &NodeHandle) -> PeerSources {
    let peers: PeerSources = Arc::default();
    if tokio::runtime::Handle::try_current().is_err() {
        return peers;
    }
    let mut states = node.state_watch();
    let weak = Arc::downgrade(&peers);
    tokio::spawn(async move {
        let mut known: Vec<String> = Vec::new();
        loop {
            let addresses: Vec<String> = {
                let state = states.borrow_and_update().clone();
                state.members.values().map(|m| m.addr.clone()).collect()
            };
            if addresses != known {
                let mut ips = HashSet::new();
                for address in &addresses {
                    if let Ok(found) = tokio::net::lookup_host(address.as_str()).await {
                        ips.extend(found.map(|socket| socket.ip()));
                    }
                }
                let Some(peers) = weak.upgrade() else { return };
                peers.store(Arc::new(ips));
                known = addresses;
            }
            if states.changed().await.is_err() {
                return;
            }
        }
    });
    peers
}

/// `ApiContext::health_now` for `node`.
pub(crate) fn health_now(node: &NodeHandle) -> u64 {
    gslb_dns::contact_instant(
        gslb_model::clock::unix_millis(),
        node.metrics().millis_since_leader_contact,
        gslb_dns::CONTACT_GRACE_MS,
    )
}

/// `serve`, speaking only TLS with `tls`'s certificate: handshakes are bounded by
/// `tls::HANDSHAKE_TIMEOUT` and run apart from the accept loop; on `shutdown` the listener
/// stops accepting (handshakes in progress are dropped) and requests in flight finish.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: &tls::ServerTls,
    node: NodeHandle,
    options: ApiOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = options.listener;
    let peers = spawn_peer_sources(&node);
    let secret = node.cluster_secret().clone();
    let app = raft_router(node.clone()).merge(api_router(node, options));
    // `tap_io` adds nothing but lets axum's `ConnectInfo<SocketAddr>` (the audit log's
    // client address) apply to a listener other than `TcpListener`.
    let listener = tls::TlsListener::new(listener, tls)?;
    let listener = BoundedListener::new(listener, limits, peers)
        .with_member_secret(secret)
        .tap_io(|_| {});
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Unknown paths: JSON 404.
async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound(format!(
        "no route {} {}",
        request.method(),
        request.uri().path()
    ))
}

/// Bounds a request's whole life (a slow client's body included) by `request_timeout`; a
/// zone-file import only while its body arrives.
async fn request_timeout(
    State(context): State<ApiContext>,
    request: Request,
    next: Next,
) -> Response {
    let limit = context.options.request_timeout;
    if zone_import::is_zone_file_import(request.method(), request.uri().path()) {
        // A zone import bounds its body read by `request_timeout` itself; the import after
        // it (staging a big zone through Raft) is bounded by each write's commit timeout,
        // and is aborted, not half-applied, if the client goes away.
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            ApiError::Timeout(format!("request not completed within {limit:?}")).into_response()
        }
    }
}

/// Answers 413 naming the limit (`control.limits.max_request_bytes`) and the size seen: at
/// once for a declared `Content-Length` over it, and in place of the extractor's own 413 for
/// a streamed body that grew past it. A 413 that already names its limit passes unchanged.
async fn body_limit(State(context): State<ApiContext>, request: Request, next: Next) -> Response {
    let limit = context.options.max_request_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if let Some(declared) = declared.filter(|&size| size > limit as u64) {
        return request_too_large(limit, &format!("{declared} bytes")).into_response();
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response.extensions().get::<error::LimitNamed>().is_none()
    {
        return request_too_large(limit, &format!("more than {limit} bytes")).into_response();
    }
    response
}

/// The 413 of a request body over `limit` bytes; `seen` says how big it was.
pub(crate) fn request_too_large(limit: usize, seen: &str) -> ApiError {
    ApiError::OverLimit {
        limit: "control.limits.max_request_bytes".to_string(),
        message: format!(
            "request body of {seen} is over the limit of {limit} bytes \
             (control.limits.max_request_bytes)"
        ),
    }
}

/// Turns any error response that is not JSON (axum's own 405, 413, query rejections) into
/// the JSON error body.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let body = ErrorBody {
        code: code_for(status).to_string(),
        message,
        fields: Vec::new(),
    };
    let mut response = Response::from_parts(
        parts,
        Body::from(serde_json::to_vec(&body).unwrap_or_default()),
    );
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response.headers_mut().remove(header::CONTENT_LENGTH);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        tracing::debug!("method not allowed");
    }
    response
}
