//! The validated config of one node: what `RawConfig::validate` returns and the roles read.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gslb_api::tls::ServerTls;
use gslb_dns::client::{GeoFacts, GeoIpDatabase, PrefixTable};
use gslb_dns::net::ListenerConfig;
use gslb_dns::ResponderOptions;
use gslb_model::DomainName;
use gslb_store::raft::{ClientTls, ClusterSecret, RaftSettings};

use super::raw::LogFormat;

/// The validated config of one node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The file it came from (for messages).
    pub path: PathBuf,
    /// Log format.
    pub log_format: LogFormat,
    /// A tracing filter directive.
    pub log_filter: String,
    /// Listener settings for the DNS role.
    pub listeners: ListenerConfig,
    /// Answering settings for the DNS role (`vantage` is `dns.region`).
    pub responder: ResponderOptions,
    /// Client locations for the DNS role (`[dns.geo]`).
    pub geo: GeoConfig,
    /// True when `[dns]` is present: the node answers DNS.
    pub dns: bool,
    /// `dns.serve_before_sync`: with `[control]`, open the DNS listeners before the node has
    /// joined, caught up and registered (false: only after).
    pub serve_before_sync: bool,
    /// The slow path's settings (`dns.tsig_fudge`, `dns.update_insync_timeout`).
    pub slow_path: gslb_dns::slow::SlowPathSettings,
    /// Zone files, paths resolved: served directly without `control`, imported once by the
    /// bootstrap node with it.
    pub zones: Vec<ZoneSource>,
    /// The control-plane replica, when `[control]` is present.
    pub control: Option<ControlConfig>,
    /// The prober role, when `[prober]` is present (always with `control`).
    pub prober: Option<ProberSettings>,
}

/// The validated `[prober]` section.
#[derive(Debug, Clone)]
pub struct ProberSettings {
    /// The vantage (region id) it reports as.
    pub vantage: String,
    /// The API base URL (`http://host:port`); `None` = the node's own bound HTTP address.
    pub api: Option<String>,
    /// The bearer token with the `prober` scope.
    pub token: String,
}

/// The validated `[control]` section.
#[derive(Debug, Clone)]
pub struct ControlConfig {
    /// The Raft node id (≥ 1).
    pub node_id: u64,
    /// Where the log and snapshot live, resolved.
    pub data_dir: PathBuf,
    /// HTTP listen address (Raft RPC and API); port 0 picks one.
    pub listen: SocketAddr,
    /// `host:port` peers reach; `None` = the bound listen address.
    pub advertise: Option<String>,
    /// Secret of the Raft routes.
    pub cluster_secret: ClusterSecret,
    /// Voter or learner.
    pub role: ControlRole,
    /// The first voter set (id → `host:port`), on the bootstrap node only. This node's own
    /// entry stands for its advertised address.
    pub bootstrap: Option<BTreeMap<u64, String>>,
    /// Voters a joining node asks through.
    pub seeds: Vec<String>,
    /// Raft timing, validated.
    pub raft: RaftSettings,
    /// The storage engine's page cache, bytes (`[control.raft] store_cache_bytes`, else the
    /// role's default).
    pub store_cache_bytes: u64,
    /// The REST API's initial admin token.
    pub api_token: Option<String>,
    /// How long without leader contact before `/readyz` and metrics say stale.
    pub stale_after: Duration,
    /// `/metrics` without a token.
    pub metrics_open: bool,
    /// The HTTP listener's TLS, when `[control.tls]` is present (certificate loaded).
    pub tls: Option<TlsSettings>,
    /// How this node calls peers' (and its own) HTTP: plain, or https with `[control.tls].ca`.
    pub peer_tls: ClientTls,
    /// `[control.limits]`, validated.
    pub limits: ControlLimits,
}

/// The validated `[control.limits]`.
#[derive(Debug, Clone, Copy)]
pub struct ControlLimits {
    /// Caps and timeouts of the listener.
    pub listener: gslb_api::listener::ListenerLimits,
    /// Largest request body, bytes (`max_request_bytes`).
    pub max_request_bytes: usize,
    /// Most records in one zone.
    pub max_zone_records: usize,
    /// Failed logins in a row before 429.
    pub auth_failure_burst: u32,
    /// Failed logins earned back per minute.
    pub auth_failures_per_minute: u32,
}

/// The validated `[control.tls]` section.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// The certificate and key, loaded and checked against each other.
    pub server: ServerTls,
    /// How often the files are checked for a change.
    pub reload_interval: Duration,
}

/// The validated `[dns.geo]` section, its database already opened.
#[derive(Debug, Clone, Default)]
pub struct GeoConfig {
    /// The operator's CIDR → location table.
    pub networks: PrefixTable<GeoFacts>,
    /// The MaxMind DB, opened during validation so a missing or corrupt file refuses the
    /// config with its line.
    pub database: Option<Arc<GeoIpDatabase>>,
    /// How often the database file is checked for a replacement.
    pub reload_interval: Duration,
}

impl GeoConfig {
    /// True when the settings a running node cannot change differ (the database path, the
    /// table or the interval).
    pub fn differs_from(&self, other: &GeoConfig) -> bool {
        let path = |geo: &GeoConfig| geo.database.as_ref().map(|db| db.path().to_path_buf());
        self.networks != other.networks
            || path(self) != path(other)
            || self.reload_interval != other.reload_interval
    }
}

/// A control-plane node's place in Raft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlRole {
    /// Votes and can lead.
    Voter,
    /// Replicates without voting (every DNS node).
    Learner,
}

/// One zone file to load.
#[derive(Debug, Clone)]
pub struct ZoneSource {
    /// Resolved path.
    pub file: PathBuf,
    /// The origin given in the config.
    pub origin: Option<DomainName>,
    /// The default TTL given in the config.
    pub default_ttl: Option<u32>,
    /// Where the entry is in the config file, for messages.
    pub line: Option<usize>,
}
