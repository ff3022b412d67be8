//! The config file as written: serde structs with `deny_unknown_fields` and named default
//! functions. Checked fields keep their source span (`Sp`) so validation can name the line.

use gslb_store::raft::RaftSettings;
use serde::Deserialize;
use toml::Spanned;

/// A config value with the place it was written (an empty span for defaults).
pub(crate) type Sp<T> = Spanned<T>;

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
    /// With `[control]`: answer before the node has joined and caught up (stale answers,
    /// REFUSED before any state) instead of staying silent until then.
    #[serde(default)]
    pub serve_before_sync: bool,
    /// The name of the catalog zone (RFC 9432 version 2) listing every zone, e.g.
    /// `catalog.invalid.`; absent = no catalog zone.
    pub catalog_zone: Option<Sp<String>>,
    /// TSIG time fudge, seconds: signed requests more than this far from our clock get
    /// BADTIME (RFC 8945 §5.2.3).
    #[serde(default = "default_tsig_fudge")]
    pub tsig_fudge: Sp<u16>,
    /// How long an RFC 2136 update waits for every DNS node to apply it (INSYNC) before it
    /// is acknowledged anyway; "0s" acknowledges at commit.
    #[serde(default = "default_update_insync_timeout")]
    pub update_insync_timeout: Sp<String>,
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
fn default_tsig_fudge() -> Sp<u16> {
    unspanned(gslb_dns::slow::tsig::DEFAULT_FUDGE)
}

fn default_update_insync_timeout() -> Sp<String> {
    unspanned("10s".to_string())
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
    /// `[control.limits]`: the HTTP listener's caps and timeouts.
    #[serde(default)]
    pub limits: RawLimits,
}

/// `[control.limits]`: what bounds the control HTTP listener (`gslb_api::listener`) and
/// failed logins. Every key is optional; the defaults are `gslb_api::listener::DEFAULT_*`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// A request header must arrive within this of its first byte (default 10s).
    pub header_read_timeout: Option<Sp<String>>,
    /// A connection silent this long is closed (default 60s; above the 30 s request timeout).
    pub idle_timeout: Option<Sp<String>>,
    /// Connections at once, members' not counted (default 512).
    pub max_connections: Option<Sp<usize>>,
    /// Connections at once from one address (default 64).
    pub max_connections_per_source: Option<Sp<usize>>,
    /// Largest request body in bytes; larger ones get 413 naming the limit and the size
    /// (default 64 MiB).
    pub max_request_bytes: Option<Sp<usize>>,
    /// The older name of `max_request_bytes`, still read; setting both is an error.
    pub max_body_bytes: Option<Sp<usize>>,
    /// Most records one zone may hold; a zone write or import over it gets 413 naming the
    /// limit and the count (default 2000000).
    pub max_zone_records: Option<Sp<usize>>,
    /// Failed logins one address may make in a row before it gets 429 (default 20).
    pub auth_failure_burst: Option<Sp<u32>>,
    /// Failed logins a throttled address earns back per minute (default 30).
    pub auth_failures_per_minute: Option<Sp<u32>>,
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
    /// The storage engine's page cache in bytes (default 64 MiB on a voter, 8 MiB on a
    /// learner).
    pub store_cache_bytes: Option<Sp<u64>>,
}

impl Default for RawRaft {
    fn default() -> RawRaft {
        RawRaft {
            heartbeat: default_heartbeat(),
            election_min: default_election_min(),
            election_max: default_election_max(),
            snapshot_every: default_snapshot_every(),
            store_cache_bytes: None,
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
