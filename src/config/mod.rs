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
//! max_connections = 1024
//! max_queries_per_connection = 1000
//! max_connection_time = "2m"
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

//!
//! Layout, one job per file:
//! - `raw`: the serde structs as written (`deny_unknown_fields`, named default functions).
//! - `node`: the validated types the roles read (`NodeConfig` and its sections).
//! - `problems`: `ConfigError` / `ConfigProblem` and the collector that turns spans into lines.
//! - `spans`: finding and blanking one TOML entry, so parsing goes on past a bad one.
//! - `validate`: `RawConfig::validate`, one file per section.
//! - `duration`: the duration parser (`500ms`, `10s`, `2m`, `1h`).

mod duration;
mod node;
mod problems;
mod raw;
mod spans;
mod validate;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use node::{ControlConfig, ControlRole, NodeConfig, ProberSettings};
pub use problems::{ConfigError, ConfigProblem};
pub use raw::{LogFormat, RawConfig};

use problems::{line_of, Problems};
use spans::{blank, entry_range};

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

/// The fewest characters an admin token or a cluster secret may have: the cluster
/// secret's own rule, applied to every credential that grants admin or Raft access.
pub const MIN_SECRET_LEN: usize = gslb_store::raft::ClusterSecret::MIN_LEN;

/// Unknown keys reported in one run at most (each costs a parse).
const MAX_UNKNOWN_KEYS: usize = 32;
