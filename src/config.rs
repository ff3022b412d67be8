//! The node config file: TOML read in two steps. First serde (`deny_unknown_fields`, named
//! default functions) gives a `RawConfig` whose checked fields keep their source span; then
//! `RawConfig::validate` turns it into a `NodeConfig`, reporting *every* bad field at once,
//! each with its line. Relative paths resolve against the config file's directory.
//!
//! ```toml
//! [log]
//! format = "text"            # text | json
//! level = "info"             # or a tracing filter such as "info,gslb_dns=debug"
//!
//! [dns]
//! listen = ["127.0.0.1:5353", "[::1]:5353"]   # UDP and TCP on each
//! udp_workers = 0            # threads (SO_REUSEPORT sockets) per address; 0 = one per core
//! max_udp_payload = 1232
//! region = "eu-west"         # the region this node runs in: latency policies use the RTTs
//!                            # its probers measured
//!
//! [dns.tcp]
//! idle_timeout = "10s"
//! max_connections = 1024     # when full, the longest-idle connection is closed
//! max_connections_per_source = 64
//! message_timeout = "2s"     # a started message must complete this fast (slowloris)
//! max_queries_per_connection = 1000
//! max_connection_time = "2m"
//!
//! [dns.rrl]                  # response rate limiting on UDP (docs/operations.md)
//! rate = 200                 # replies/s per client /24 (/56), class and name; 0 = off
//! slip = 2                   # every 2nd limited reply is sent truncated, the rest dropped
//! exempt = ["192.0.2.0/24"]  # never limited (big resolvers, monitoring)
//!
//! [dns.cookies]              # DNS Cookies (RFC 7873, RFC 9018 server cookies)
//! secret = "…32 hex digits…" # share it across an anycast group; absent = random per start
//!
//! [dns.proxy]                # PROXY v2 from load balancers, UDP and TCP
//! listen = ["127.0.0.1:5300"]
//! trusted = ["10.0.0.0/8"]
//!
//! [dns.chaos]                # CH TXT version.bind / id.server
//! enabled = true
//! id = "dns-1"
//!
//! [dns.geo]                  # where clients are, for geo/proximity GSLB policies
//! mmdb = "GeoLite2-City.mmdb" # optional MaxMind DB; must load at start
//! reload_interval = "60s"    # re-read when the file changed; a bad file keeps the last good
//!
//! [[dns.geo.networks]]       # this node's table; with /v1/networks the longest prefix wins
//!                            # (this table at an equal prefix), both win over the mmdb
//! cidr = "198.51.100.0/24"
//! country = "DE"             # any of: country, continent, subdivision, asn, lat + lon
//! continent = "EU"
//! subdivision = "DE-BY"
//! asn = 64500
//! lat = 48.1
//! lon = 11.6
//!
//! [[zones]]
//! file = "zones/example.test.zone"
//! origin = "example.test."   # optional when the file has $ORIGIN
//!
//! [control]                  # optional: a Raft replica; DNS then follows its state
//! node_id = 1
//! data_dir = "/var/lib/gslb"
//! listen = "127.0.0.1:8061"  # HTTP: Raft RPC and the REST API; port 0 picks one
//! advertise = "10.0.0.1:8061" # optional; defaults to the bound listen address
//! cluster_secret_file = "/etc/gslb/cluster-secret"   # or cluster_secret = "..."
//! api_token_file = "/etc/gslb/api-token"             # or api_token = "..."
//! stale_after = "30s"        # no leader contact this long: /readyz and metrics say stale
//! metrics_open = false       # true serves /metrics without a token
//! role = "voter"             # voter | learner (default: learner with [dns] or [prober])
//! bootstrap = { voters = { 1 = "10.0.0.1:8061", 2 = "10.0.0.2:8061", 3 = "10.0.0.3:8061" } }
//! # seeds = ["10.0.0.1:8061"] # instead of bootstrap: join an existing cluster
//!
//! [prober]                   # optional, needs [control]: run this region's health checks
//! vantage = "us-east"        # the region id this prober reports as
//! api = "http://127.0.0.1:8061"  # optional; defaults to this node's own control.listen
//! token_file = "/etc/gslb/prober-token"  # or token = "..."; a token with the prober scope
//!
//! [control.tls]             # optional: the HTTP listener speaks only TLS, peers are called
//!                            # with https (set it on every node of the cluster)
//! cert = "tls/node.crt"      # PEM chain, end entity first; relative to this file
//! key = "tls/node.key"       # PEM private key (PKCS#8, PKCS#1 or SEC1) of that certificate
//! ca = "tls/ca.crt"          # optional: the CAs peers' certificates are checked against
//!                            # (else the system roots)
//! reload_interval = "60s"    # cert and key are re-read when they change; a bad pair keeps
//!                            # the last good one
//!
//! [control.raft]
//! heartbeat = "300ms"
//! election_min = "1500ms"    # at least 3 heartbeats
//! election_max = "3000ms"
//! snapshot_every = 5000
//! ```
//!
//! With `[control]`, `[[zones]]` files are allowed only next to `control.bootstrap`: the
//! node that creates the cluster imports them once; every later change goes through the API.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use gslb_api::tls::{ServerTls, TlsFile};
use gslb_dns::client::{Code, GeoFacts, GeoIpDatabase, PrefixTable};
use gslb_dns::net::{Cidr, ListenerConfig, ProxyListenerConfig, TcpLimits, TrustedProxies};
use gslb_dns::ResponderOptions;
use gslb_model::model::gslb_record::Cidr as ClientCidr;
use gslb_model::model::ident::validate_id;
use gslb_model::{DomainName, FieldErrors};
use gslb_store::raft::{ClientTls, ClusterSecret, RaftSettings};
use serde::Deserialize;
use toml::Spanned;

/// A config value with the place it was written (an empty span for defaults).
type Sp<T> = Spanned<T>;

/// The config file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Logging; defaults to text at info.
    #[serde(default)]
    pub log: RawLog,
    /// The DNS role; absent on a pure control-plane voter.
    pub dns: Option<RawDns>,
    /// The control-plane replica (Raft voter or learner) and its HTTP server; absent = a
    /// standalone DNS node serving its zone files.
    pub control: Option<RawControl>,
    /// The prober role: runs the checks of its vantage from the node's replicated state and
    /// reports through the API; needs `[control]`.
    pub prober: Option<RawProber>,
    /// Zone files: served directly without `[control]`; with it, imported once into a fresh
    /// cluster by the bootstrap node.
    #[serde(default)]
    pub zones: Vec<RawZone>,
}

/// `[log]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    /// `text` (human) or `json` (one object per line).
    #[serde(default = "default_log_format")]
    pub format: LogFormat,
    /// A level (`info`) or a tracing filter (`info,gslb_dns=debug`).
    #[serde(default = "default_log_level")]
    pub level: Sp<String>,
}

impl Default for RawLog {
    fn default() -> RawLog {
        RawLog {
            format: default_log_format(),
            level: default_log_level(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

fn default_log_format() -> LogFormat {
    LogFormat::Text
}

fn default_log_level() -> Sp<String> {
    unspanned("info".to_string())
}

/// `[dns]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDns {
    /// Addresses served on UDP and TCP.
    #[serde(default = "default_listen")]
    pub listen: Vec<Sp<String>>,
    /// UDP threads per address; 0 = one per core.
    #[serde(default = "default_udp_workers")]
    pub udp_workers: Sp<usize>,
    /// Datagrams per recvmmsg/sendmmsg call.
    #[serde(default = "default_udp_batch")]
    pub udp_batch: Sp<usize>,
    /// SO_RCVBUF/SO_SNDBUF asked for (best effort).
    #[serde(default = "default_socket_buffer_bytes")]
    pub socket_buffer_bytes: Sp<usize>,
    /// Largest UDP reply sent and advertised.
    #[serde(default = "default_max_udp_payload")]
    pub max_udp_payload: Sp<u16>,
    /// How long shutdown lets in-flight TCP connections finish.
    #[serde(default = "default_drain_timeout")]
    pub drain_timeout: Sp<String>,
    /// `[dns.tcp]`.
    #[serde(default)]
    pub tcp: RawTcp,
    /// `[dns.proxy]`, absent = no PROXY listener.
    pub proxy: Option<RawProxy>,
    /// `[dns.rrl]`: response rate limiting on UDP (on by default).
    #[serde(default)]
    pub rrl: gslb_dns::rrl::RawRrl,
    /// `[dns.cookies]`: DNS Cookies, RFC 9018 server cookies (on by default).
    #[serde(default)]
    pub cookies: gslb_dns::cookie::RawCookies,
    /// `[dns.chaos]`.
    #[serde(default)]
    pub chaos: RawChaos,
    /// The region this node runs in (a region id): `latency` policies use the RTTs measured
    /// by its probers, and its member record names it.
    pub region: Option<Sp<String>>,
    /// `[dns.geo]`: where clients are.
    #[serde(default)]
    pub geo: RawGeo,
}

/// `[dns.geo]`: client locations for geo and proximity policies.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGeo {
    /// A MaxMind DB (City, Country, ASN or merged), relative to the config file.
    pub mmdb: Option<Sp<String>>,
    /// How often the database file is checked for a replacement.
    #[serde(default = "default_geo_reload_interval")]
    pub reload_interval: Sp<String>,
    /// `[[dns.geo.networks]]`: operator-declared locations; they win over the database.
    #[serde(default)]
    pub networks: Vec<RawGeoNetwork>,
}

impl Default for RawGeo {
    fn default() -> RawGeo {
        RawGeo {
            mmdb: None,
            reload_interval: default_geo_reload_interval(),
            networks: Vec::new(),
        }
    }
}

fn default_geo_reload_interval() -> Sp<String> {
    unspanned("60s".to_string())
}

/// `[[dns.geo.networks]]`: one client network and where it is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGeoNetwork {
    /// The network (`198.51.100.0/24`), host bits zero.
    pub cidr: Sp<String>,
    /// ISO 3166-1 alpha-2 country (`DE`).
    pub country: Option<Sp<String>>,
    /// Continent code: AF, AN, AS, EU, NA, OC or SA.
    pub continent: Option<Sp<String>>,
    /// ISO 3166-2 subdivision (`DE-BY`, or `BY` next to `country`).
    pub subdivision: Option<Sp<String>>,
    /// Autonomous system number.
    pub asn: Option<Sp<u32>>,
    /// Latitude in degrees (with `lon`).
    pub lat: Option<Sp<f64>>,
    /// Longitude in degrees (with `lat`).
    pub lon: Option<Sp<f64>>,
}

fn default_listen() -> Vec<Sp<String>> {
    vec![unspanned("127.0.0.1:5353".to_string())]
}
fn default_udp_workers() -> Sp<usize> {
    unspanned(0)
}
fn default_udp_batch() -> Sp<usize> {
    unspanned(64)
}
fn default_socket_buffer_bytes() -> Sp<usize> {
    unspanned(4 * 1024 * 1024)
}
fn default_max_udp_payload() -> Sp<u16> {
    unspanned(1232)
}
fn default_drain_timeout() -> Sp<String> {
    unspanned("5s".to_string())
}

/// `[dns.tcp]`: RFC 7766 limits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTcp {
    /// Close a connection silent for this long (e.g. `10s`, `500ms`).
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: Sp<String>,
    /// Connections at once per listener; when full the longest idle one is closed.
    #[serde(default = "default_max_connections")]
    pub max_connections: Sp<usize>,
    /// Connections at once per source address; more are closed at once.
    #[serde(default = "default_max_connections_per_source")]
    pub max_connections_per_source: Sp<usize>,
    /// A started message must be complete within this long (slowloris).
    #[serde(default = "default_message_timeout")]
    pub message_timeout: Sp<String>,
    /// Close after answering this many queries.
    #[serde(default = "default_max_queries_per_connection")]
    pub max_queries_per_connection: Sp<u32>,
    /// Close a connection this long after it opened.
    #[serde(default = "default_max_connection_time")]
    pub max_connection_time: Sp<String>,
}

impl Default for RawTcp {
    fn default() -> RawTcp {
        RawTcp {
            idle_timeout: default_idle_timeout(),
            max_connections: default_max_connections(),
            max_connections_per_source: default_max_connections_per_source(),
            message_timeout: default_message_timeout(),
            max_queries_per_connection: default_max_queries_per_connection(),
            max_connection_time: default_max_connection_time(),
        }
    }
}

fn default_idle_timeout() -> Sp<String> {
    unspanned("10s".to_string())
}
fn default_max_connections() -> Sp<usize> {
    unspanned(1024)
}
fn default_max_connections_per_source() -> Sp<usize> {
    unspanned(64)
}
fn default_message_timeout() -> Sp<String> {
    unspanned("2s".to_string())
}
fn default_max_queries_per_connection() -> Sp<u32> {
    unspanned(1000)
}
fn default_max_connection_time() -> Sp<String> {
    unspanned("2m".to_string())
}

/// `[dns.proxy]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProxy {
    /// Addresses served on UDP and TCP, every query behind a PROXY v2 header.
    pub listen: Vec<Sp<String>>,
    /// CIDRs of the balancers allowed to send PROXY headers.
    pub trusted: Vec<Sp<String>>,
}

/// `[dns.chaos]`: what CH TXT `version.bind` and `id.server` say.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChaos {
    /// False refuses every CHAOS query.
    #[serde(default = "default_chaos_enabled")]
    pub enabled: bool,
    /// The `version.bind` text; defaults to `gslb <version>`.
    #[serde(default = "default_chaos_version")]
    pub version: String,
    /// The `id.server` text; absent = refused.
    pub id: Option<String>,
}

impl Default for RawChaos {
    fn default() -> RawChaos {
        RawChaos {
            enabled: default_chaos_enabled(),
            version: default_chaos_version(),
            id: None,
        }
    }
}

fn default_chaos_enabled() -> bool {
    true
}
fn default_chaos_version() -> String {
    concat!("gslb ", env!("CARGO_PKG_VERSION")).to_string()
}

/// `[[zones]]`: one master file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawZone {
    /// The file, relative to the config file's directory.
    pub file: Sp<String>,
    /// The origin, when the file has no `$ORIGIN`.
    pub origin: Option<Sp<String>>,
    /// TTL for records without one, when the file has no `$TTL`.
    pub default_ttl: Option<u32>,
}

/// `[control]`: this node's control-plane replica and its HTTP server (Raft RPC and API).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawControl {
    /// The Raft node id, unique in the cluster and never reused for another data dir.
    pub node_id: Sp<u64>,
    /// Where the Raft log and snapshot live, relative to the config file's directory.
    pub data_dir: Sp<String>,
    /// HTTP address for Raft RPC and the API; port 0 picks a free port.
    pub listen: Sp<String>,
    /// `host:port` peers use to reach this node; defaults to the bound listen address.
    pub advertise: Option<Sp<String>>,
    /// The shared secret of Raft routes (at least 16 characters).
    pub cluster_secret: Option<Sp<String>>,
    /// A file holding the shared secret (trailing whitespace ignored).
    pub cluster_secret_file: Option<Sp<String>>,
    /// `voter` or `learner`; defaults to learner with `[dns]` (or `[prober]` on a node
    /// without `bootstrap`), voter otherwise.
    pub role: Option<Sp<String>>,
    /// Present on the one node that creates the cluster on first start.
    pub bootstrap: Option<RawBootstrap>,
    /// `host:port` of voters a joining node asks to be added through.
    #[serde(default)]
    pub seeds: Vec<Sp<String>>,
    /// The initial admin token of the REST API.
    pub api_token: Option<Sp<String>>,
    /// A file holding the initial admin token.
    pub api_token_file: Option<Sp<String>>,
    /// A node without leader contact for this long reports itself stale (and keeps serving).
    #[serde(default = "default_stale_after")]
    pub stale_after: Sp<String>,
    /// Serve `/metrics` without a token (Prometheus on a trusted network).
    #[serde(default)]
    pub metrics_open: bool,
    /// `[control.raft]`.
    #[serde(default)]
    pub raft: RawRaft,
    /// `[control.tls]`: absent = plain HTTP.
    pub tls: Option<RawTls>,
}

/// `[control.tls]`: the node's HTTP listener speaks only TLS and it calls peers with https.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM certificate chain, end entity first.
    pub cert: Sp<String>,
    /// PEM private key of that certificate.
    pub key: Sp<String>,
    /// PEM CAs peers' certificates are verified with; absent = the system roots.
    pub ca: Option<Sp<String>>,
    /// How often cert and key are checked for a change.
    #[serde(default = "default_tls_reload_interval")]
    pub reload_interval: Sp<String>,
}

fn default_tls_reload_interval() -> Sp<String> {
    unspanned("60s".to_string())
}

fn default_stale_after() -> Sp<String> {
    unspanned("30s".to_string())
}

/// `[prober]`: the health checks this node runs, as one vantage.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProber {
    /// The region id the prober reports as; it runs the checks that name it or name none.
    pub vantage: Sp<String>,
    /// Base URL of the REST API it reports to; defaults to the node's own `control.listen`.
    pub api: Option<Sp<String>>,
    /// A token with the `prober` scope.
    pub token: Option<Sp<String>>,
    /// A file holding that token (trailing whitespace ignored).
    pub token_file: Option<Sp<String>>,
}

/// `control.bootstrap`: the first voter set, created once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBootstrap {
    /// Node id → `host:port`; must include this node.
    pub voters: Sp<std::collections::BTreeMap<String, Sp<String>>>,
}

/// `[control.raft]`: Raft timing; the defaults suit voters spread over regions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRaft {
    /// Leader heartbeat period.
    #[serde(default = "default_heartbeat")]
    pub heartbeat: Sp<String>,
    /// Lower bound of the randomised election timeout (at least 3 heartbeats).
    #[serde(default = "default_election_min")]
    pub election_min: Sp<String>,
    /// Upper bound of the randomised election timeout.
    #[serde(default = "default_election_max")]
    pub election_max: Sp<String>,
    /// Take a snapshot every this many applied entries.
    #[serde(default = "default_snapshot_every")]
    pub snapshot_every: Sp<u64>,
}

impl Default for RawRaft {
    fn default() -> RawRaft {
        RawRaft {
            heartbeat: default_heartbeat(),
            election_min: default_election_min(),
            election_max: default_election_max(),
            snapshot_every: default_snapshot_every(),
        }
    }
}

fn default_heartbeat() -> Sp<String> {
    let settings = RaftSettings::default();
    unspanned(format!("{}ms", settings.heartbeat_ms))
}
fn default_election_min() -> Sp<String> {
    unspanned(format!("{}ms", RaftSettings::default().election_min_ms))
}
fn default_election_max() -> Sp<String> {
    unspanned(format!("{}ms", RaftSettings::default().election_max_ms))
}
fn default_snapshot_every() -> Sp<u64> {
    unspanned(RaftSettings::default().snapshot_every)
}

fn unspanned<T>(value: T) -> Sp<T> {
    Spanned::new(0..0, value)
}

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

/// Every problem found in a config (and its zone files), each with its place.
#[derive(Debug, Clone, Default, thiserror::Error)]
pub struct ConfigError {
    /// At least one when returned as an error.
    pub problems: Vec<ConfigProblem>,
}

/// One problem: `file:line: field: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The file at fault (the config or a zone file).
    pub file: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// The field path (`dns.listen[1]`), empty when the message says it all.
    pub field: String,
    /// What is wrong, naming the value.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.field, self.message)
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Reads and validates the config at `path`.
pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
        problems: vec![ConfigProblem {
            file: file.clone(),
            line: None,
            field: String::new(),
            message: format!("cannot read config: {error}"),
        }],
    })?;
    parse(&text, path)
}

/// Parses and validates config `text` read from `path`, reporting every unknown key and
/// every bad value at once.
pub fn parse(text: &str, path: &Path) -> Result<NodeConfig, ConfigError> {
    let mut structural = Problems::new(path, text);
    // serde stops at the first unknown key. To name them all, each one is blanked out
    // (spaces; newlines kept, so every line number stays true) and parsing is retried.
    let mut current = text.to_string();
    let mut raw = None;
    for _ in 0..MAX_UNKNOWN_KEYS {
        match toml::from_str::<RawConfig>(&current) {
            Ok(parsed) => {
                raw = Some(parsed);
                break;
            }
            Err(error) => {
                let message = error.message().trim_end().replace('\n', "; ");
                let span = error.span();
                structural.push_at(
                    span.clone().map(|span| line_of(text, span.start)),
                    "",
                    message.clone(),
                );
                let blanked = span
                    .filter(|_| message.starts_with("unknown field"))
                    .and_then(|span| entry_range(&current, span.start));
                match blanked {
                    Some(range) => blank(&mut current, range),
                    None => break,
                }
            }
        }
    }
    let Some(raw) = raw else {
        return Err(structural.into_error());
    };
    match raw.validate(text, path) {
        Ok(config) if structural.found.is_empty() => Ok(config),
        Ok(_) => Err(structural.into_error()),
        Err(semantic) => {
            let mut problems = structural.found;
            problems.extend(semantic.problems);
            problems.sort_by_key(|problem| problem.line);
            Err(ConfigError { problems })
        }
    }
}

/// Unknown keys reported in one run at most (each costs a parse).
const MAX_UNKNOWN_KEYS: usize = 32;

/// The byte range of the key/value entry (or whole table) whose key covers `offset`.
fn entry_range(text: &str, offset: usize) -> Option<Range<usize>> {
    let document = toml_edit::ImDocument::parse(text).ok()?;
    find_entry(document.as_table(), text, offset)
}

fn find_entry(table: &toml_edit::Table, text: &str, offset: usize) -> Option<Range<usize>> {
    for (name, item) in table.iter() {
        let key_span = table.key(name).and_then(|key| key.span());
        let covers = key_span
            .as_ref()
            .is_some_and(|span| span.start <= offset && offset < span.end.max(span.start + 1));
        match item {
            toml_edit::Item::Table(inner) => {
                if covers {
                    // A whole unknown table: its header line through its last entry.
                    let header = inner.span().or(key_span)?;
                    let start = text[..header.start].rfind('\n').map_or(0, |at| at + 1);
                    return Some(start..table_end(inner).max(header.end));
                }
                if let Some(range) = find_entry(inner, text, offset) {
                    return Some(range);
                }
            }
            toml_edit::Item::ArrayOfTables(array) => {
                for inner in array.iter() {
                    if let Some(range) = find_entry(inner, text, offset) {
                        return Some(range);
                    }
                }
            }
            toml_edit::Item::Value(value) if covers => {
                let key_span = key_span?;
                return Some(key_span.start..value.span()?.end);
            }
            _ => {}
        }
    }
    None
}

/// Where the last entry of `table` (or of its sub-tables) ends.
fn table_end(table: &toml_edit::Table) -> usize {
    table
        .iter()
        .filter_map(|(_, item)| match item {
            toml_edit::Item::Table(inner) => Some(table_end(inner)),
            item => item.span().map(|span| span.end),
        })
        .max()
        .unwrap_or(0)
}

/// Replaces `range` of `text` by spaces, keeping newlines.
fn blank(text: &mut String, range: Range<usize>) {
    let blanked: String = text[range.clone()]
        .chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect();
    // Multi-byte characters become one space each: pad to keep later offsets.
    let padded = format!("{blanked:<width$}", width = range.len());
    text.replace_range(range, &padded);
}

/// Collects problems against one file's text.
struct Problems<'a> {
    file: String,
    text: &'a str,
    found: Vec<ConfigProblem>,
}

impl<'a> Problems<'a> {
    fn new(path: &Path, text: &'a str) -> Problems<'a> {
        Problems {
            file: path.display().to_string(),
            text,
            found: Vec::new(),
        }
    }

    fn push(&mut self, span: Range<usize>, field: impl Into<String>, message: impl Into<String>) {
        let line = if span == (0..0) {
            None
        } else {
            Some(line_of(self.text, span.start))
        };
        self.push_at(line, field, message);
    }

    fn push_at(
        &mut self,
        line: Option<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.found.push(ConfigProblem {
            file: self.file.clone(),
            line,
            field: field.into(),
            message: message.into(),
        });
    }

    fn into_error(self) -> ConfigError {
        ConfigError {
            problems: self.found,
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count()
        + 1
}

impl RawConfig {
    /// Checks every field, reporting all problems at once; `text` is the file's content
    /// (for line numbers) and `path` its location (for messages and relative paths).
    pub fn validate(self, text: &str, path: &Path) -> Result<NodeConfig, ConfigError> {
        let mut problems = Problems::new(path, text);
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();

        let level = self.log.level.get_ref().trim().to_string();
        if let Err(reason) = check_log_filter(&level) {
            problems.push(
                self.log.level.span(),
                "log.level",
                format!("invalid level or filter {level:?}: {reason}"),
            );
        }
        let log_filter = format!("{level},hickory_server=warn,hickory_proto=warn");

        let mut listeners = ListenerConfig::default();
        let mut responder = ResponderOptions::default();
        let mut geo = GeoConfig {
            reload_interval: Duration::from_secs(60),
            ..GeoConfig::default()
        };
        let serves_dns = self.dns.is_some();
        match self.dns {
            None if self.control.is_none() && self.prober.is_none() => problems.push_at(
                None,
                "dns",
                "no role configured; add a [dns] or a [control] section",
            ),
            None => {}
            Some(dns) => {
                listeners.listen = addresses(&dns.listen, "dns.listen", &mut problems);
                if dns.listen.is_empty() {
                    problems.push_at(None, "dns.listen", "must name at least one address");
                }
                listeners.udp_workers = *dns.udp_workers.get_ref();
                if listeners.udp_workers > 1024 {
                    problems.push(
                        dns.udp_workers.span(),
                        "dns.udp_workers",
                        format!("must be ≤ 1024, got {}", listeners.udp_workers),
                    );
                }
                listeners.udp_batch = *dns.udp_batch.get_ref();
                if !(1..=1024).contains(&listeners.udp_batch) {
                    problems.push(
                        dns.udp_batch.span(),
                        "dns.udp_batch",
                        format!("must be in 1..=1024, got {}", listeners.udp_batch),
                    );
                }
                listeners.socket_buffer_bytes = *dns.socket_buffer_bytes.get_ref();
                let payload = *dns.max_udp_payload.get_ref();
                if !(512..=4096).contains(&payload) {
                    problems.push(
                        dns.max_udp_payload.span(),
                        "dns.max_udp_payload",
                        format!("must be in 512..=4096, got {payload}"),
                    );
                }
                responder.max_udp_payload = payload;
                match (dns.rrl.validate(), dns.cookies.validate()) {
                    (Ok(rrl), Ok(cookies)) => (responder.rrl, responder.cookies) = (rrl, cookies),
                    (rrl, cookies) => rrl
                        .err()
                        .into_iter()
                        .flatten()
                        .chain(cookies.err())
                        .for_each(|(field, message)| problems.push_at(None, field, message)),
                }
                listeners.drain_timeout =
                    duration(&dns.drain_timeout, "dns.drain_timeout", &mut problems);
                listeners.tcp = tcp_limits(&dns.tcp, &mut problems);
                if let Some(proxy) = &dns.proxy {
                    let listen = addresses(&proxy.listen, "dns.proxy.listen", &mut problems);
                    if proxy.listen.is_empty() {
                        problems.push_at(
                            None,
                            "dns.proxy.listen",
                            "must name at least one address",
                        );
                    }
                    let mut trusted = Vec::new();
                    for (index, entry) in proxy.trusted.iter().enumerate() {
                        match entry.get_ref().parse::<Cidr>() {
                            Ok(cidr) => trusted.push(cidr),
                            Err(error) => problems.push(
                                entry.span(),
                                format!("dns.proxy.trusted[{index}]"),
                                format!("{error} in {:?}", entry.get_ref()),
                            ),
                        }
                    }
                    for address in &listen {
                        if address.port() != 0 && listeners.listen.contains(address) {
                            problems.push_at(
                                None,
                                "dns.proxy.listen",
                                format!("{address} is also in dns.listen"),
                            );
                        }
                    }
                    listeners.proxy = Some(ProxyListenerConfig {
                        listen,
                        trusted: TrustedProxies(trusted),
                    });
                }
                responder.version_bind = dns.chaos.enabled.then(|| dns.chaos.version.clone());
                responder.id_server = dns.chaos.id.clone().filter(|_| dns.chaos.enabled);
                if let Some(region) = &dns.region {
                    let mut errors = FieldErrors::default();
                    validate_id("dns.region", region.get_ref(), &mut errors);
                    for error in errors.0 {
                        problems.push(region.span(), "dns.region", error.message);
                    }
                    responder.vantage = Some(region.get_ref().clone());
                }
                geo = geo_config(&dns.geo, &base, &mut problems);
            }
        }

        let mut zones = Vec::new();
        for (index, zone) in self.zones.iter().enumerate() {
            let field = format!("zones[{index}]");
            let file_text = zone.file.get_ref();
            if file_text.trim().is_empty() {
                problems.push(
                    zone.file.span(),
                    format!("{field}.file"),
                    "must not be empty",
                );
            }
            let origin = zone.origin.as_ref().and_then(|origin| {
                let text = origin.get_ref();
                let absolute = if text.ends_with('.') {
                    text.clone()
                } else {
                    format!("{text}.")
                };
                match DomainName::parse_absolute(&absolute) {
                    Ok(name) => Some(name),
                    Err(error) => {
                        problems.push(
                            origin.span(),
                            format!("{field}.origin"),
                            format!("invalid name {text:?}: {error}"),
                        );
                        None
                    }
                }
            });
            zones.push(ZoneSource {
                file: base.join(file_text),
                origin,
                default_ttl: zone.default_ttl,
                line: Some(line_of(text, zone.file.span().start)),
            });
        }

        let control = self.control.as_ref().and_then(|raw| {
            // A prober is a learner by default too, unless it creates the cluster.
            let learner_by_default =
                serves_dns || (self.prober.is_some() && raw.bootstrap.is_none());
            control(raw, learner_by_default, &base, &mut problems)
        });
        if let (Some(raw), Some(control)) = (&self.control, &control) {
            let http = control.listen;
            let taken = serves_dns
                && http.port() != 0
                && (listeners.listen.contains(&http)
                    || listeners
                        .proxy
                        .as_ref()
                        .is_some_and(|proxy| proxy.listen.contains(&http)));
            if taken {
                problems.push(
                    raw.listen.span(),
                    "control.listen",
                    format!("{http} is also a dns listener (tcp)"),
                );
            }
        }
        if let (Some(raw), Some(first)) = (&self.control, self.zones.first()) {
            if raw.bootstrap.is_none() {
                problems.push(
                    first.file.span(),
                    "zones",
                    "with [control], zone files are imported only by the bootstrap node \
                     (control.bootstrap); import them through the API instead",
                );
            }
        }

        let prober = self
            .prober
            .as_ref()
            .and_then(|raw| prober_settings(raw, self.control.is_some(), &base, &mut problems));

        if !problems.found.is_empty() {
            return Err(problems.into_error());
        }
        Ok(NodeConfig {
            path: path.to_path_buf(),
            log_format: self.log.format,
            log_filter,
            listeners,
            responder,
            geo,
            dns: serves_dns,
            zones,
            control,
            prober,
        })
    }
}

/// Checks `[prober]`, every problem with its line; `None` when any was found.
fn prober_settings(
    raw: &RawProber,
    has_control: bool,
    base: &Path,
    problems: &mut Problems<'_>,
) -> Option<ProberSettings> {
    let before = problems.found.len();
    if !has_control {
        problems.push(
            raw.vantage.span(),
            "prober",
            "needs a [control] section in the same config: the prober runs the checks it \
             reads from this node's replicated state",
        );
    }
    let vantage = raw.vantage.get_ref().trim().to_string();
    let mut errors = FieldErrors::default();
    validate_id("prober.vantage", &vantage, &mut errors);
    for error in errors.0 {
        problems.push(raw.vantage.span(), "prober.vantage", error.message);
    }
    let api = raw.api.as_ref().and_then(|api| {
        let text = api.get_ref().trim().trim_end_matches('/');
        let rest = text
            .strip_prefix("http://")
            .or_else(|| text.strip_prefix("https://"));
        match rest {
            Some(rest) if !rest.is_empty() && !rest.contains(char::is_whitespace) => {
                Some(text.to_string())
            }
            _ => {
                problems.push(
                    api.span(),
                    "prober.api",
                    format!(
                        "invalid url {:?} (want http://HOST:PORT or https://HOST:PORT)",
                        api.get_ref()
                    ),
                );
                None
            }
        }
    });
    let token = secret_or_file(&raw.token, &raw.token_file, "prober.token", base, problems)
        .and_then(|(token, span)| {
            if token.is_empty() || token.chars().any(char::is_whitespace) {
                problems.push(span, "prober.token", "must be non-empty without whitespace");
                None
            } else {
                Some(token)
            }
        });
    if raw.token.is_none() && raw.token_file.is_none() {
        problems.push(
            raw.vantage.span(),
            "prober.token",
            "missing; set token or token_file (a token with the prober scope)",
        );
    }
    if problems.found.len() > before {
        return None;
    }
    Some(ProberSettings {
        vantage,
        api,
        token: token?,
    })
}

/// The continent codes GeoIP databases use.
const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

/// Checks `[dns.geo]` and opens its database, every problem with its line.
fn geo_config(raw: &RawGeo, base: &Path, problems: &mut Problems<'_>) -> GeoConfig {
    let reload_interval = duration(&raw.reload_interval, "dns.geo.reload_interval", problems);
    if reload_interval.is_zero()
        && !problems
            .found
            .iter()
            .any(|problem| problem.field == "dns.geo.reload_interval")
    {
        problems.push(
            raw.reload_interval.span(),
            "dns.geo.reload_interval",
            "must be > 0",
        );
    }
    let mut networks = PrefixTable::default();
    let mut seen: Vec<ClientCidr> = Vec::new();
    for (index, network) in raw.networks.iter().enumerate() {
        let field = format!("dns.geo.networks[{index}]");
        if let Some(facts) = geo_network(network, &field, problems) {
            match network.cidr.get_ref().trim().parse::<ClientCidr>() {
                Ok(cidr) if seen.contains(&cidr) => problems.push(
                    network.cidr.span(),
                    format!("{field}.cidr"),
                    format!("{cidr} is listed twice"),
                ),
                Ok(cidr) => {
                    seen.push(cidr);
                    networks.insert(cidr, facts);
                }
                Err(error) => problems.push(
                    network.cidr.span(),
                    format!("{field}.cidr"),
                    error.to_string(),
                ),
            }
        }
    }
    let database = raw.mmdb.as_ref().and_then(|mmdb| {
        if mmdb.get_ref().trim().is_empty() {
            problems.push(mmdb.span(), "dns.geo.mmdb", "must not be empty");
            return None;
        }
        match GeoIpDatabase::open(base.join(mmdb.get_ref())) {
            Ok(database) => Some(Arc::new(database)),
            Err(error) => {
                problems.push(mmdb.span(), "dns.geo.mmdb", error.to_string());
                None
            }
        }
    });
    GeoConfig {
        networks,
        database,
        reload_interval,
    }
}

/// The facts of one `[[dns.geo.networks]]` entry; `None` after reporting a problem.
fn geo_network(raw: &RawGeoNetwork, field: &str, problems: &mut Problems<'_>) -> Option<GeoFacts> {
    let before = problems.found.len();
    let mut code = |entry: &Option<Sp<String>>, name: &str, valid: &dyn Fn(&str) -> bool| {
        let entry = entry.as_ref()?;
        let text = entry.get_ref().trim().to_ascii_uppercase();
        match Code::new(&text).filter(|_| valid(&text)) {
            Some(code) => Some(code),
            None => {
                problems.push(
                    entry.span(),
                    format!("{field}.{name}"),
                    format!("invalid {name} code {:?}", entry.get_ref()),
                );
                None
            }
        }
    };
    let letters = |text: &str, n: usize| {
        text.len() == n && text.bytes().all(|byte| byte.is_ascii_uppercase())
    };
    let country = code(&raw.country, "country", &|text| letters(text, 2));
    let continent = code(&raw.continent, "continent", &|text| {
        CONTINENTS.contains(&text)
    });
    let subdivision_text = raw.subdivision.as_ref().map(|entry| {
        let text = entry.get_ref().trim().to_ascii_uppercase();
        match (&country, text.contains('-')) {
            (Some(country), false) => format!("{country}-{text}"),
            _ => text,
        }
    });
    let subdivision = raw.subdivision.as_ref().and_then(|entry| {
        let text = subdivision_text.clone().unwrap_or_default();
        let valid = text.split_once('-').is_some_and(|(country_part, sub)| {
            letters(country_part, 2)
                && (1..=3).contains(&sub.len())
                && sub.bytes().all(|byte| byte.is_ascii_alphanumeric())
        });
        match Code::new(&text).filter(|_| valid) {
            Some(code) => Some(code),
            None => {
                problems.push(
                    entry.span(),
                    format!("{field}.subdivision"),
                    format!(
                        "invalid subdivision {:?} (want ISO 3166-2 such as \"DE-BY\", or \"BY\" \
                         beside country)",
                        entry.get_ref()
                    ),
                );
                None
            }
        }
    });
    let degrees = |entry: &Option<Sp<f64>>, name: &str, limit: f64, problems: &mut Problems<'_>| {
        let entry = entry.as_ref()?;
        let value = *entry.get_ref();
        if value.is_finite() && value.abs() <= limit {
            Some(value)
        } else {
            problems.push(
                entry.span(),
                format!("{field}.{name}"),
                format!("must be within ±{limit} degrees, got {value}"),
            );
            None
        }
    };
    let lat = degrees(&raw.lat, "lat", 90.0, problems);
    let lon = degrees(&raw.lon, "lon", 180.0, problems);
    let lat_lon = match (&raw.lat, &raw.lon) {
        (Some(_), None) | (None, Some(_)) => {
            let span = raw
                .lat
                .as_ref()
                .map(Spanned::span)
                .or(raw.lon.as_ref().map(Spanned::span))
                .unwrap_or(raw.cidr.span());
            let missing = if raw.lat.is_some() { "lon" } else { "lat" };
            problems.push(
                span,
                format!("{field}.{missing}"),
                "missing; give lat and lon together",
            );
            None
        }
        _ => lat.zip(lon),
    };
    let facts = GeoFacts {
        continent,
        country,
        subdivision,
        asn: raw.asn.as_ref().map(|asn| *asn.get_ref()),
        lat_lon,
    };
    if problems.found.len() > before {
        return None;
    }
    if facts.is_unknown() {
        problems.push(
            raw.cidr.span(),
            field.to_string(),
            "must give at least one of country, continent, subdivision, asn, lat and lon",
        );
        return None;
    }
    Some(facts)
}

/// Checks `[control]`, every problem with its line; `None` when any was found.
fn control(
    raw: &RawControl,
    learner_by_default: bool,
    base: &Path,
    problems: &mut Problems<'_>,
) -> Option<ControlConfig> {
    let before = problems.found.len();
    let node_id = *raw.node_id.get_ref();
    if node_id == 0 {
        problems.push(raw.node_id.span(), "control.node_id", "must be ≥ 1, got 0");
    }
    if raw.data_dir.get_ref().trim().is_empty() {
        problems.push(raw.data_dir.span(), "control.data_dir", "must not be empty");
    }
    let listen = match raw.listen.get_ref().parse::<SocketAddr>() {
        Ok(address) => Some(address),
        Err(_) => {
            problems.push(
                raw.listen.span(),
                "control.listen",
                format!(
                    "invalid socket address {:?} (want IP:PORT or [IPv6]:PORT)",
                    raw.listen.get_ref()
                ),
            );
            None
        }
    };
    let advertise = raw.advertise.as_ref().and_then(|advertise| {
        check_host_port(advertise, "control.advertise", problems).map(str::to_string)
    });
    if let (Some(listen), None) = (listen, &raw.advertise) {
        if listen.ip().is_unspecified() {
            problems.push(
                raw.listen.span(),
                "control.advertise",
                format!("required when control.listen is {listen} (peers cannot reach it)"),
            );
        }
    }
    let secret = secret_or_file(
        &raw.cluster_secret,
        &raw.cluster_secret_file,
        "control.cluster_secret",
        base,
        problems,
    );
    let cluster_secret = secret.and_then(|(secret, span)| match ClusterSecret::new(secret) {
        Ok(secret) => Some(secret),
        Err(error) => {
            let message = error.to_string();
            let message = message
                .strip_prefix("cluster_secret: ")
                .unwrap_or(&message)
                .to_string();
            problems.push(span, "control.cluster_secret", message);
            None
        }
    });
    if raw.cluster_secret.is_none() && raw.cluster_secret_file.is_none() {
        problems.push(
            raw.node_id.span(),
            "control.cluster_secret",
            "missing; set cluster_secret or cluster_secret_file",
        );
    }
    let api_token = if raw.api_token.is_some() || raw.api_token_file.is_some() {
        secret_or_file(
            &raw.api_token,
            &raw.api_token_file,
            "control.api_token",
            base,
            problems,
        )
        .and_then(|(token, span)| {
            if token.is_empty() || token.chars().any(char::is_whitespace) {
                problems.push(
                    span,
                    "control.api_token",
                    "must be non-empty without whitespace",
                );
                None
            } else {
                Some(token)
            }
        })
    } else {
        None
    };
    let role = match raw
        .role
        .as_ref()
        .map(|role| (role.get_ref().as_str(), role))
    {
        None if learner_by_default => ControlRole::Learner,
        None => ControlRole::Voter,
        Some(("voter", _)) => ControlRole::Voter,
        Some(("learner", _)) => ControlRole::Learner,
        Some((other, role)) => {
            problems.push(
                role.span(),
                "control.role",
                format!("must be \"voter\" or \"learner\", got {other:?}"),
            );
            ControlRole::Voter
        }
    };
    let mut seeds = Vec::new();
    for (index, seed) in raw.seeds.iter().enumerate() {
        let field = format!("control.seeds[{index}]");
        if let Some(seed_text) = check_host_port(seed, &field, problems) {
            if seeds.iter().any(|known| known == seed_text) {
                problems.push(seed.span(), field, format!("{seed_text} is listed twice"));
            }
            seeds.push(seed_text.to_string());
        }
    }
    let bootstrap = raw.bootstrap.as_ref().map(|bootstrap| {
        let span = bootstrap.voters.span();
        let mut voters = BTreeMap::new();
        for (key, address) in bootstrap.voters.get_ref() {
            let field = format!("control.bootstrap.voters.{key}");
            let id = match key.parse::<u64>() {
                Ok(id) if id > 0 => Some(id),
                _ => {
                    problems.push(
                        address.span(),
                        field.clone(),
                        format!("node id must be a number ≥ 1, got {key:?}"),
                    );
                    None
                }
            };
            let Some(address_text) = check_host_port(address, &field, problems) else {
                continue;
            };
            if id.is_some_and(|id| id != node_id) && address_text.ends_with(":0") {
                problems.push(
                    address.span(),
                    field,
                    format!("{address_text}: port 0 is allowed only in this node's own entry"),
                );
                continue;
            }
            if let Some((other, _)) = voters
                .iter()
                .find(|(_, known): &(&u64, &String)| known.as_str() == address_text)
            {
                problems.push(
                    address.span(),
                    field,
                    format!("{address_text} is listed twice (also voter {other})"),
                );
            } else if let Some(id) = id {
                voters.insert(id, address_text.to_string());
            }
        }
        if voters.is_empty() && !bootstrap.voters.get_ref().is_empty() {
            // Every entry was reported above.
        } else if !voters.contains_key(&node_id) {
            problems.push(
                span.clone(),
                "control.bootstrap.voters",
                format!("must include this node (control.node_id = {node_id})"),
            );
        } else if let (Some(own), Some(listen)) = (voters.get(&node_id), listen) {
            let expected = advertise.clone().unwrap_or_else(|| listen.to_string());
            if *own != expected {
                problems.push(
                    span.clone(),
                    format!("control.bootstrap.voters.{node_id}"),
                    format!(
                        "this node's own entry {own} differs from its advertised address {expected}"
                    ),
                );
            }
        }
        if role == ControlRole::Learner {
            problems.push(
                span,
                "control.bootstrap",
                "only a voter can bootstrap the cluster (control.role = \"learner\")",
            );
        }
        voters
    });
    if bootstrap.is_none() && seeds.is_empty() {
        problems.push(
            raw.node_id.span(),
            "control.seeds",
            "a node without control.bootstrap needs at least one seed to join through",
        );
    }
    let raft = raft_settings(&raw.raft, problems);
    let stale_after = duration(&raw.stale_after, "control.stale_after", problems);
    if stale_after.is_zero()
        && !problems
            .found
            .iter()
            .any(|problem| problem.field == "control.stale_after")
    {
        problems.push(raw.stale_after.span(), "control.stale_after", "must be > 0");
    }
    let (tls, peer_tls) = match &raw.tls {
        Some(tls) => tls_settings(tls, base, problems),
        None => (None, Some(ClientTls::plain())),
    };

    if problems.found.len() > before {
        return None;
    }
    Some(ControlConfig {
        node_id,
        data_dir: base.join(raw.data_dir.get_ref()),
        listen: listen?,
        advertise,
        cluster_secret: cluster_secret?,
        role,
        bootstrap,
        seeds,
        raft,
        api_token,
        stale_after,
        metrics_open: raw.metrics_open,
        tls,
        peer_tls: peer_tls?,
    })
}

/// Checks `[control.tls]`: loads the certificate and key (they must match) and the CAs,
/// each problem with its line and path.
fn tls_settings(
    raw: &RawTls,
    base: &Path,
    problems: &mut Problems<'_>,
) -> (Option<TlsSettings>, Option<ClientTls>) {
    let before = problems.found.len();
    let reload_interval = duration(
        &raw.reload_interval,
        "control.tls.reload_interval",
        problems,
    );
    if reload_interval.is_zero() && problems.found.len() == before {
        problems.push(
            raw.reload_interval.span(),
            "control.tls.reload_interval",
            "must be > 0",
        );
    }
    let cert_path = base.join(raw.cert.get_ref());
    let key_path = base.join(raw.key.get_ref());
    let server = match ServerTls::load(cert_path, key_path) {
        Ok(server) => Some(server),
        Err(error) => {
            let (span, field) = match error.file {
                TlsFile::Cert => (raw.cert.span(), "control.tls.cert"),
                TlsFile::Key => (raw.key.span(), "control.tls.key"),
            };
            problems.push(span, field, error.message);
            None
        }
    };
    let peer_tls = match &raw.ca {
        None => Some(ClientTls::https(None).expect("no CA file to parse")),
        Some(ca) => {
            let path = base.join(ca.get_ref());
            let parsed = std::fs::read(&path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))
                .and_then(|pem| {
                    ClientTls::https(Some(&pem))
                        .map_err(|error| format!("{}: {error}", path.display()))
                });
            match parsed {
                Ok(tls) => Some(tls),
                Err(message) => {
                    problems.push(ca.span(), "control.tls.ca", message);
                    None
                }
            }
        }
    };
    let settings = server.map(|server| TlsSettings {
        server,
        reload_interval,
    });
    (settings, peer_tls)
}

/// Checks `[control.raft]` with lines, then the store's own rules for the rest.
fn raft_settings(raw: &RawRaft, problems: &mut Problems<'_>) -> RaftSettings {
    let before = problems.found.len();
    let heartbeat = duration(&raw.heartbeat, "control.raft.heartbeat", problems);
    let election_min = duration(&raw.election_min, "control.raft.election_min", problems);
    let election_max = duration(&raw.election_max, "control.raft.election_max", problems);
    let snapshot_every = *raw.snapshot_every.get_ref();
    if problems.found.len() == before {
        if heartbeat.is_zero() {
            problems.push(
                raw.heartbeat.span(),
                "control.raft.heartbeat",
                "must be > 0",
            );
        }
        if election_min < heartbeat * 3 {
            problems.push(
                raw.election_min.span(),
                "control.raft.election_min",
                format!(
                    "must be at least 3 heartbeats ({:?}), got {election_min:?}",
                    heartbeat * 3
                ),
            );
        }
        if election_max <= election_min {
            problems.push(
                raw.election_max.span(),
                "control.raft.election_max",
                format!("must be > election_min ({election_min:?}), got {election_max:?}"),
            );
        }
    }
    if snapshot_every == 0 {
        problems.push(
            raw.snapshot_every.span(),
            "control.raft.snapshot_every",
            "must be > 0, got 0",
        );
    }
    let defaults = RaftSettings::default();
    let settings = RaftSettings {
        heartbeat_ms: heartbeat.as_millis() as u64,
        election_min_ms: election_min.as_millis() as u64,
        election_max_ms: election_max.as_millis() as u64,
        install_snapshot_timeout_ms: defaults
            .install_snapshot_timeout_ms
            .max(heartbeat.as_millis() as u64),
        snapshot_every,
        replication_lag_threshold: defaults.replication_lag_threshold.max(snapshot_every),
        ..defaults
    };
    if problems.found.len() == before {
        if let Err(error) = settings.validate() {
            for fault in error.0 .0 {
                problems.push_at(None, format!("control.raft.{}", fault.path), fault.message);
            }
        }
    }
    settings
}

/// Checks a `host:port` value (a name or an address, numeric port); returns it trimmed.
fn check_host_port<'a>(
    entry: &'a Sp<String>,
    field: &str,
    problems: &mut Problems<'_>,
) -> Option<&'a str> {
    let text = entry.get_ref().trim();
    let valid = text.parse::<SocketAddr>().is_ok()
        || text.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && !host.contains(['/', ' ', '[', ']']) && port.parse::<u16>().is_ok()
        });
    if valid {
        Some(text)
    } else {
        problems.push(
            entry.span(),
            field,
            format!("invalid address {:?} (want HOST:PORT)", entry.get_ref()),
        );
        None
    }
}

/// The value of `inline` or the content of `file` (trimmed), never both; with the span to
/// blame.
fn secret_or_file(
    inline: &Option<Sp<String>>,
    file: &Option<Sp<String>>,
    field: &str,
    base: &Path,
    problems: &mut Problems<'_>,
) -> Option<(String, Range<usize>)> {
    match (inline, file) {
        (Some(inline), Some(_)) => {
            problems.push(
                inline.span(),
                field,
                format!("set either {field} or {field}_file, not both"),
            );
            None
        }
        (Some(inline), None) => Some((inline.get_ref().clone(), inline.span())),
        (None, Some(file)) => {
            let path = base.join(file.get_ref());
            match std::fs::read_to_string(&path) {
                Ok(text) => Some((text.trim().to_string(), file.span())),
                Err(error) => {
                    problems.push(
                        file.span(),
                        format!("{field}_file"),
                        format!("cannot read {}: {error}", path.display()),
                    );
                    None
                }
            }
        }
        (None, None) => None,
    }
}

/// Accepts a level (`info`) or comma-separated `target=level` directives; tracing's own
/// parser takes any bare word as a target, which would hide a misspelt level.
fn check_log_filter(filter: &str) -> Result<(), String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    for directive in filter.split(',').map(str::trim) {
        let level = directive
            .rsplit_once('=')
            .map_or(directive, |(_, level)| level);
        if !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            return Err(format!("{level:?} is not one of {}", LEVELS.join(", ")));
        }
    }
    tracing_subscriber::EnvFilter::try_new(filter)
        .map(drop)
        .map_err(|error| error.to_string())
}

fn addresses(entries: &[Sp<String>], field: &str, problems: &mut Problems<'_>) -> Vec<SocketAddr> {
    let mut parsed = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        match entry.get_ref().parse::<SocketAddr>() {
            Ok(address) => {
                if parsed.contains(&address) {
                    problems.push(
                        entry.span(),
                        format!("{field}[{index}]"),
                        format!("{address} is listed twice"),
                    );
                }
                parsed.push(address);
            }
            Err(_) => problems.push(
                entry.span(),
                format!("{field}[{index}]"),
                format!(
                    "invalid socket address {:?} (want IP:PORT or [IPv6]:PORT)",
                    entry.get_ref()
                ),
            ),
        }
    }
    parsed
}

fn tcp_limits(raw: &RawTcp, problems: &mut Problems<'_>) -> TcpLimits {
    let limits = TcpLimits {
        idle_timeout: duration(&raw.idle_timeout, "dns.tcp.idle_timeout", problems),
        max_connections: *raw.max_connections.get_ref(),
        max_connections_per_source: *raw.max_connections_per_source.get_ref(),
        message_timeout: duration(&raw.message_timeout, "dns.tcp.message_timeout", problems),
        max_queries_per_connection: *raw.max_queries_per_connection.get_ref(),
        max_connection_time: duration(
            &raw.max_connection_time,
            "dns.tcp.max_connection_time",
            problems,
        ),
    };
    if limits.max_connections == 0 {
        problems.push(
            raw.max_connections.span(),
            "dns.tcp.max_connections",
            "must be > 0, got 0",
        );
    }
    if limits.max_connections_per_source == 0 {
        problems.push(
            raw.max_connections_per_source.span(),
            "dns.tcp.max_connections_per_source",
            "must be > 0, got 0",
        );
    }
    if limits.max_queries_per_connection == 0 {
        problems.push(
            raw.max_queries_per_connection.span(),
            "dns.tcp.max_queries_per_connection",
            "must be > 0, got 0",
        );
    }
    for (value, field, span) in [
        (
            limits.idle_timeout,
            "dns.tcp.idle_timeout",
            raw.idle_timeout.span(),
        ),
        (
            limits.max_connection_time,
            "dns.tcp.max_connection_time",
            raw.max_connection_time.span(),
        ),
        (
            limits.message_timeout,
            "dns.tcp.message_timeout",
            raw.message_timeout.span(),
        ),
    ] {
        if value.is_zero() && !problems.found.iter().any(|problem| problem.field == field) {
            problems.push(span, field, "must be > 0");
        }
    }
    limits
}

fn duration(entry: &Sp<String>, field: &str, problems: &mut Problems<'_>) -> Duration {
    match parse_duration(entry.get_ref()) {
        Some(value) => value,
        None => {
            problems.push(
                entry.span(),
                field,
                format!(
                    "invalid duration {:?} (want a number with ms, s, m or h, e.g. \"10s\")",
                    entry.get_ref()
                ),
            );
            Duration::ZERO
        }
    }
}

/// Parses `500ms`, `10s`, `2m`, `1h` (one number, one unit).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let millis = match unit.trim() {
        "ms" => number,
        "s" => number.checked_mul(1000)?,
        "m" => number.checked_mul(60_000)?,
        "h" => number.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(text: &str) -> Vec<String> {
        match parse(text, Path::new("node.toml")) {
            Ok(_) => Vec::new(),
            Err(error) => error.problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_minimal_config_takes_the_defaults() {
        let config = parse("[dns]\n", Path::new("/etc/gslb/node.toml")).unwrap();
        assert_eq!(
            config.listeners.listen,
            vec!["127.0.0.1:5353".parse().unwrap()]
        );
        assert_eq!(config.listeners.tcp, TcpLimits::default());
        assert_eq!(config.log_format, LogFormat::Text);
        assert!(config.zones.is_empty());
    }

    #[test]
    fn zone_paths_resolve_against_the_config_directory() {
        let text = "[dns]\n[[zones]]\nfile = \"z/a.zone\"\norigin = \"a.test\"\n";
        let config = parse(text, Path::new("/etc/gslb/node.toml")).unwrap();
        assert_eq!(config.zones[0].file, PathBuf::from("/etc/gslb/z/a.zone"));
        assert_eq!(
            config.zones[0].origin.as_ref().unwrap().to_string(),
            "a.test."
        );
        assert_eq!(config.zones[0].line, Some(3));
    }

    /// RRL and cookies are on by default; every bad `[dns.rrl]` / `[dns.cookies]` field is
    /// named, and an unknown key in them is refused.
    #[test]
    fn rate_limiting_and_cookies_are_on_by_default_and_checked() {
        let config = parse("[dns]\n", Path::new("node.toml")).unwrap();
        assert_eq!(config.responder.rrl.rate, gslb_dns::rrl::DEFAULT_RATE);
        assert!(config.responder.cookies.secret.is_some());
        let text = "[dns]\n[dns.rrl]\nslip = 500\nexempt = [\"10.0.0.0/33\"]\n\
                    [dns.cookies]\nsecret = \"abc\"\n";
        let problems = problems_of(text);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("dns.rrl.slip: must be ≤ 100, got 500"));
        assert!(problems[1].contains("dns.rrl.exempt[0]"));
        assert!(problems[2].contains("dns.cookies.secret: must be 32 hexadecimal digits"));
        let problems = problems_of("[dns]\n[dns.rrl]\nrate_limit = 5\n");
        assert!(
            problems[0].contains("unknown field `rate_limit`"),
            "{problems:?}"
        );
        let config = parse("[dns]\n[dns.rrl]\nrate = 0\n", Path::new("node.toml")).unwrap();
        assert_eq!(config.responder.rrl.rate, 0);
    }

    #[test]
    fn an_unknown_key_is_reported_with_its_line() {
        let problems = problems_of("[dns]\nlisten = [\"127.0.0.1:53\"]\nlissten = 1\n");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("node.toml:3: unknown field `lissten`"),
            "{problems:?}"
        );
    }

    #[test]
    fn every_unknown_key_and_bad_value_is_reported_with_its_line() {
        let text = "\
lvel = 1
[dns]
listen = [\"127.0.0.1:53\"]
udp_batch = 0
lissten = [
  \"a\",
]
[dns.tcp]
idle = \"5s\"
[dns.tpc]
x = 1
[[zones]]
file = \"a.zone\"
orign = \"a.test\"
";
        let problems = problems_of(text);
        let expected = [
            "node.toml:1: unknown field `lvel`",
            "node.toml:4: dns.udp_batch: must be in 1..=1024, got 0",
            "node.toml:5: unknown field `lissten`",
            "node.toml:9: unknown field `idle`",
            "node.toml:10: unknown field `tpc`",
            "node.toml:14: unknown field `orign`",
        ];
        for wanted in expected {
            assert!(
                problems.iter().any(|problem| problem.starts_with(wanted)),
                "missing {wanted:?} in {problems:#?}"
            );
        }
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    }

    #[test]
    fn every_bad_field_is_reported_with_its_line() {
        let text = "\
[log]
level = \"loud\"
[dns]
listen = [\"127.0.0.1:53\", \"localhost\"]
udp_batch = 0
[dns.tcp]
idle_timeout = \"10 parsecs\"
max_connections = 0
[dns.proxy]
listen = [\"127.0.0.1:5300\"]
trusted = [\"10.0.0.0/33\"]
[[zones]]
file = \"a.zone\"
origin = \"bad..name\"
";
        let problems = problems_of(text);
        let expected = [
            "node.toml:2: log.level:",
            "node.toml:4: dns.listen[1]: invalid socket address \"localhost\"",
            "node.toml:5: dns.udp_batch: must be in 1..=1024, got 0",
            "node.toml:7: dns.tcp.idle_timeout: invalid duration \"10 parsecs\"",
            "node.toml:8: dns.tcp.max_connections: must be > 0, got 0",
            "node.toml:11: dns.proxy.trusted[0]: invalid prefix length \"33\"",
            "node.toml:14: zones[0].origin: invalid name \"bad..name\"",
        ];
        for wanted in expected {
            assert!(
                problems.iter().any(|problem| problem.starts_with(wanted)),
                "missing {wanted:?} in {problems:#?}"
            );
        }
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    }

    const SECRET_LINE: &str = "cluster_secret = \"0123456789abcdef0123\"\n";

    #[test]
    fn a_bootstrap_voter_takes_the_control_defaults() {
        let text = format!(
            "[control]\nnode_id = 1\ndata_dir = \"data\"\nlisten = \"127.0.0.1:8061\"\n{SECRET_LINE}\
             bootstrap = {{ voters = {{ 1 = \"127.0.0.1:8061\", 2 = \"127.0.0.1:8062\" }} }}\n"
        );
        let config = parse(&text, Path::new("/etc/gslb/node.toml")).unwrap();
        assert!(!config.dns);
        let control = config.control.unwrap();
        assert_eq!(control.role, ControlRole::Voter);
        assert_eq!(control.data_dir, PathBuf::from("/etc/gslb/data"));
        assert_eq!(control.raft, RaftSettings::default());
        assert_eq!(control.bootstrap.unwrap().len(), 2);
        assert_eq!(control.advertise, None);
        assert_eq!(control.stale_after, Duration::from_secs(30));
        assert!(!control.metrics_open);
    }

    #[test]
    fn a_dns_node_with_control_is_a_learner_by_default() {
        let text = format!(
            "[control]\nnode_id = 4\ndata_dir = \"d\"\nlisten = \"127.0.0.1:0\"\n{SECRET_LINE}\
             seeds = [\"127.0.0.1:8061\", \"voter-2.gslb:8061\"]\n[control.raft]\n\
             heartbeat = \"100ms\"\nelection_min = \"500ms\"\nelection_max = \"1s\"\n[dns]\n"
        );
        let config = parse(&text, Path::new("node.toml")).unwrap();
        assert!(config.dns);
        let control = config.control.unwrap();
        assert_eq!(control.role, ControlRole::Learner);
        assert_eq!(control.seeds.len(), 2);
        assert_eq!(control.raft.heartbeat_ms, 100);
        assert_eq!(control.raft.election_max_ms, 1000);
    }

    #[test]
    fn every_bad_control_field_is_reported_with_its_line() {
        let text = "\
[control]
node_id = 0
data_dir = \"d\"
listen = \"0.0.0.0:8061\"
cluster_secret = \"short\"
role = \"boss\"
bootstrap = { voters = { 1 = \"a:1\", 2 = \"a:1\", x = \"b:2\", 3 = \"c:0\" } }
seeds = [\"nope\"]
[control.raft]
heartbeat = \"500ms\"
election_min = \"400ms\"
election_max = \"300ms\"
snapshot_every = 0
[[zones]]
file = \"a.zone\"
";
        let problems = problems_of(text);
        let expected = [
            "node.toml:2: control.node_id: must be ≥ 1, got 0",
            "node.toml:4: control.advertise: required when control.listen is 0.0.0.0:8061",
            "node.toml:5: control.cluster_secret: must be at least 16 characters",
            "node.toml:6: control.role: must be \"voter\" or \"learner\", got \"boss\"",
            "node.toml:7: control.bootstrap.voters.2: a:1 is listed twice (also voter 1)",
            "node.toml:7: control.bootstrap.voters.x: node id must be a number ≥ 1",
            "node.toml:7: control.bootstrap.voters.3: c:0: port 0 is allowed only in this node's own entry",
            "node.toml:7: control.bootstrap.voters: must include this node (control.node_id = 0)",
            "node.toml:8: control.seeds[0]: invalid address \"nope\"",
            "node.toml:11: control.raft.election_min: must be at least 3 heartbeats (1.5s), got 400ms",
            "node.toml:12: control.raft.election_max: must be > election_min (400ms), got 300ms",
            "node.toml:13: control.raft.snapshot_every: must be > 0, got 0",
        ];
        for wanted in expected {
            assert!(
                problems.iter().any(|problem| problem.starts_with(wanted)),
                "missing {wanted:?} in {problems:#?}"
            );
        }
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    }

    #[test]
    fn zone_files_with_control_need_the_bootstrap_node() {
        let text = format!(
            "[control]\nnode_id = 4\ndata_dir = \"d\"\nlisten = \"127.0.0.1:0\"\n{SECRET_LINE}\
             seeds = [\"127.0.0.1:8061\"]\n[dns]\n[[zones]]\nfile = \"a.zone\"\n"
        );
        let problems = problems_of(&text);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("node.toml:9: zones: with [control], zone files are imported only by the bootstrap node"),
            "{problems:?}"
        );
        let learner_bootstrap = format!(
            "[control]\nnode_id = 1\ndata_dir = \"d\"\nlisten = \"127.0.0.1:1\"\n{SECRET_LINE}\
             role = \"learner\"\nbootstrap = {{ voters = {{ 1 = \"127.0.0.1:1\" }} }}\n"
        );
        let problems = problems_of(&learner_bootstrap);
        assert!(
            problems == ["node.toml:7: control.bootstrap: only a voter can bootstrap the cluster (control.role = \"learner\")"],
            "{problems:?}"
        );
    }

    #[test]
    fn the_http_listener_may_not_take_a_dns_port() {
        let text = format!(
            "[control]\nnode_id = 4\ndata_dir = \"d\"\nlisten = \"127.0.0.1:5353\"\n{SECRET_LINE}\
             seeds = [\"127.0.0.1:8061\"]\n[dns]\nlisten = [\"127.0.0.1:5353\"]\n"
        );
        let problems = problems_of(&text);
        assert!(
            problems
                == ["node.toml:4: control.listen: 127.0.0.1:5353 is also a dns listener (tcp)"],
            "{problems:?}"
        );
    }

    #[test]
    fn a_secret_comes_from_exactly_one_place() {
        let both = "[control]\nnode_id = 1\ndata_dir = \"d\"\nlisten = \"127.0.0.1:1\"\n\
                    cluster_secret = \"0123456789abcdef0123\"\ncluster_secret_file = \"s\"\n\
                    seeds = [\"127.0.0.1:2\"]\n";
        let problems = problems_of(both);
        assert!(
            problems == ["node.toml:5: control.cluster_secret: set either control.cluster_secret or control.cluster_secret_file, not both"],
            "{problems:?}"
        );
        let none = "[control]\nnode_id = 1\ndata_dir = \"d\"\nlisten = \"127.0.0.1:1\"\nseeds = [\"127.0.0.1:2\"]\n";
        let problems = problems_of(none);
        assert!(
            problems == ["node.toml:2: control.cluster_secret: missing; set cluster_secret or cluster_secret_file"],
            "{problems:?}"
        );
    }

    #[test]
    fn every_bad_tls_field_is_reported_with_its_line_and_path() {
        let text = "[control]\nnode_id = 1\ndata_dir = \"d\"\nlisten = \"127.0.0.1:1\"\n\
                    cluster_secret = \"0123456789abcdef0123\"\nseeds = [\"127.0.0.1:2\"]\n\
                    [control.tls]\ncert = \"no-such.crt\"\nkey = \"no-such.key\"\n\
                    ca = \"no-such-ca.crt\"\nreload_interval = \"0s\"\n";
        let problems = problems_of(text);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with("node.toml:8: control.tls.cert: cannot read no-such.crt: "),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("node.toml:10: control.tls.ca: cannot read no-such-ca.crt: "),
            "{problems:?}"
        );
        assert_eq!(
            problems[2],
            "node.toml:11: control.tls.reload_interval: must be > 0"
        );
        let unknown = text.replace("ca = ", "cafile = ");
        let problems = problems_of(&unknown);
        assert!(
            problems
                .iter()
                .any(|problem| problem.starts_with("node.toml:10:") && problem.contains("cafile")),
            "{problems:?}"
        );
    }

    #[test]
    fn geo_networks_and_region_become_the_locator_table_and_vantage() {
        let text = "\
[dns]
region = \"eu-west\"
[dns.geo]
reload_interval = \"5s\"
[[dns.geo.networks]]
cidr = \"198.51.100.0/24\"
country = \"de\"
continent = \"EU\"
subdivision = \"BY\"
asn = 64500
lat = 48.1
lon = 11.6
[[dns.geo.networks]]
cidr = \"2001:db8::/32\"
asn = 64501
";
        let config = parse(text, Path::new("node.toml")).unwrap();
        assert_eq!(config.responder.vantage.as_deref(), Some("eu-west"));
        assert_eq!(config.geo.reload_interval, Duration::from_secs(5));
        assert!(config.geo.database.is_none());
        let found = config.geo.networks.lookup("198.51.100.7".parse().unwrap());
        let (_, facts) = found.entry.unwrap();
        assert_eq!(facts.country, Code::new("DE"));
        assert_eq!(facts.continent, Code::new("EU"));
        assert_eq!(facts.subdivision, Code::new("DE-BY"));
        assert_eq!(facts.asn, Some(64500));
        assert_eq!(facts.lat_lon, Some((48.1, 11.6)));
        assert_eq!(config.geo.networks.len(), 2);
    }

    #[test]
    fn every_bad_geo_field_is_reported_with_its_line() {
        let text = "\
[dns]
region = \"EU West\"
[dns.geo]
mmdb = \"missing.mmdb\"
reload_interval = \"0s\"
[[dns.geo.networks]]
cidr = \"198.51.100.1/24\"
country = \"DE\"
[[dns.geo.networks]]
cidr = \"203.0.113.0/24\"
country = \"Germany\"
continent = \"XX\"
lat = 91.0
[[dns.geo.networks]]
cidr = \"192.0.2.0/24\"
[[dns.geo.networks]]
cidr = \"192.0.2.0/24\"
asn = 1
[[dns.geo.networks]]
cidr = \"192.0.2.0/24\"
asn = 2
colour = \"red\"
";
        let problems = problems_of(text);
        let expected = [
            "node.toml:2: dns.region: must be 1-63 characters",
            "node.toml:4: dns.geo.mmdb: geoip database missing.mmdb: cannot read:",
            "node.toml:5: dns.geo.reload_interval: must be > 0",
            "node.toml:7: dns.geo.networks[0].cidr: cidr \"198.51.100.1/24\" has host bits set",
            "node.toml:11: dns.geo.networks[1].country: invalid country code \"Germany\"",
            "node.toml:12: dns.geo.networks[1].continent: invalid continent code \"XX\"",
            "node.toml:13: dns.geo.networks[1].lat: must be within ±90 degrees, got 91",
            "node.toml:13: dns.geo.networks[1].lon: missing; give lat and lon together",
            "node.toml:15: dns.geo.networks[2]: must give at least one of country",
            "node.toml:20: dns.geo.networks[4].cidr: 192.0.2.0/24 is listed twice",
            "node.toml:22: unknown field `colour`",
        ];
        for wanted in expected {
            assert!(
                problems.iter().any(|problem| problem.starts_with(wanted)),
                "missing {wanted:?} in {problems:#?}"
            );
        }
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    }

    #[test]
    fn a_prober_section_takes_its_vantage_token_and_api() {
        let text = format!(
            "[control]\nnode_id = 7\ndata_dir = \"d\"\nlisten = \"127.0.0.1:0\"\n{SECRET_LINE}\
             seeds = [\"127.0.0.1:8061\"]\n[prober]\nvantage = \"us-east\"\ntoken = \"prober-secret-1\"\n"
        );
        let config = parse(&text, Path::new("node.toml")).unwrap();
        assert_eq!(
            config.control.unwrap().role,
            ControlRole::Learner,
            "a prober node is a learner by default"
        );
        let prober = config.prober.unwrap();
        assert_eq!(prober.vantage, "us-east");
        assert_eq!(prober.api, None, "defaults to the node's own listener");
        assert_eq!(prober.token, "prober-secret-1");
        let with_api = text.replace("[prober]\n", "[prober]\napi = \"http://10.0.0.1:8061/\"\n");
        let config = parse(&with_api, Path::new("node.toml")).unwrap();
        assert_eq!(
            config.prober.unwrap().api.as_deref(),
            Some("http://10.0.0.1:8061")
        );
    }

    #[test]
    fn every_bad_prober_field_is_reported_with_its_line() {
        let text = "\
[dns]
[prober]
vantage = \"US East\"
api = \"10.0.0.1:8061\"
token = \"a\"
token_file = \"t\"
";
        let problems = problems_of(text);
        let expected = [
            "node.toml:3: prober: needs a [control] section in the same config",
            "node.toml:3: prober.vantage: must be 1-63 characters",
            "node.toml:4: prober.api: invalid url \"10.0.0.1:8061\"",
            "node.toml:5: prober.token: set either prober.token or prober.token_file, not both",
        ];
        for wanted in expected {
            assert!(
                problems.iter().any(|problem| problem.starts_with(wanted)),
                "missing {wanted:?} in {problems:#?}"
            );
        }
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
        let no_token = "[dns]\n[prober]\nvantage = \"eu\"\n";
        let problems = problems_of(no_token);
        assert!(
            problems.iter().any(|problem| problem
                .starts_with("node.toml:3: prober.token: missing; set token or token_file")),
            "{problems:?}"
        );
    }

    #[test]
    fn durations_take_one_unit() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("1d"), None);
    }
}
