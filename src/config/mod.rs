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
//! serve_before_sync = false  # with [control]: true answers at once from whatever state the
//!                            # node has (stale, or none); false (default) stays silent until
//!                            # it joined, caught up and is counted by INSYNC
//! tsig_fudge = 300           # seconds a TSIG-signed request's time may be off (RFC 8945)
//! update_insync_timeout = "10s"  # an RFC 2136 update is acknowledged once every DNS node
//!                            # has it, or after this long (committed anyway); "0s": at commit
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
//! # [control.limits]         # optional table (after the keys of [control]); defaults:
//! # header_read_timeout = "10s"     # a request header must arrive within this
//! # idle_timeout = "60s"            # a silent connection is closed (> 30 s request timeout)
//! # max_connections = 512           # at once, connections from cluster members not counted
//! # max_connections_per_source = 64 # at once from one address
//! # max_request_bytes = 67108864    # larger bodies get 413 naming the limit and the size
//! #                                 # (older name: max_body_bytes)
//! # max_zone_records = 2000000      # records in one zone; more gets 413 naming the limit
//! # auth_failure_burst = 20         # failed logins in a row from one address, then 429
//! # auth_failures_per_minute = 30   # ... and this many a minute after that
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
//! store_cache_bytes = 67108864  # the storage engine's page cache; default 64 MiB on a
//!                               # voter, 8 MiB on a learner; at least 1 MiB
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
use spans::{blank, entry_range, placeholder_for, substitute, value_path};

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
    parse(&text, path).map_err(|mut error| {
        // Zone files are read only once the config is valid; name the missing ones now
        // too, so one run reports every problem.
        error.problems.extend(missing_zone_files(&text, path));
        error.problems.sort_by_key(|problem| problem.line);
        error
    })
}

/// Every `[[zones]].file` of `text` that cannot be opened, read straight from the TOML so
/// that it works on a config that did not validate.
fn missing_zone_files(text: &str, path: &Path) -> Vec<ConfigProblem> {
    let Ok(document) = toml_edit::ImDocument::parse(text) else {
        return Vec::new();
    };
    let Some(zones) = document
        .get("zones")
        .and_then(toml_edit::Item::as_array_of_tables)
    else {
        return Vec::new();
    };
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut problems = Vec::new();
    for (index, zone) in zones.iter().enumerate() {
        let Some(file) = zone.get("file").and_then(toml_edit::Item::as_value) else {
            continue;
        };
        let Some(name) = file.as_str().filter(|name| !name.trim().is_empty()) else {
            continue;
        };
        let resolved = base.join(name);
        if let Err(error) = std::fs::File::open(&resolved) {
            problems.push(ConfigProblem {
                file: path.display().to_string(),
                line: file.span().map(|span| line_of(text, span.start)),
                field: format!("zones[{index}].file"),
                message: format!("cannot read {}: {error}", resolved.display()),
            });
        }
    }
    problems
}

/// Parses and validates config `text` read from `path`, reporting every unknown key and
/// every bad value at once.
pub fn parse(text: &str, path: &Path) -> Result<NodeConfig, ConfigError> {
    let mut structural = Problems::new(path, text);
    // serde stops at the first unknown key or wrong type. To name them all, each unknown
    // key is blanked out (spaces; newlines kept, so every line number stays true), each
    // wrong-typed value is replaced by a stand-in of the right type, and parsing is retried.
    let mut current = text.to_string();
    let mut raw = None;
    // Fields whose value was a stand-in: what validation says of them is not the user's.
    let mut stand_ins: Vec<String> = Vec::new();
    for _ in 0..MAX_UNKNOWN_KEYS {
        match toml::from_str::<RawConfig>(&current) {
            Ok(parsed) => {
                raw = Some(parsed);
                break;
            }
            Err(error) => {
                let message = error.message().trim_end().replace('\n', "; ");
                let span = error.span();
                // Lines from `current`: it keeps every newline of `text`, while a stand-in
                // may have moved the byte offsets after it.
                let line = span.clone().map(|span| line_of(&current, span.start));
                if message.starts_with("unknown field") {
                    structural.push_at(line, "", message.clone());
                    match span.and_then(|span| entry_range(&current, span.start)) {
                        Some(range) => blank(&mut current, range),
                        None => break,
                    }
                    continue;
                }
                let field = span
                    .clone()
                    .and_then(|span| value_path(&current, span.start))
                    .unwrap_or_default();
                if stand_ins.contains(&field) {
                    // The stand-in did not fit either: the problem is already reported.
                    break;
                }
                structural.push_at(line, field.clone(), message.clone());
                let replaced =
                    span.zip(placeholder_for(&message))
                        .is_some_and(|(span, placeholder)| {
                            substitute(&mut current, span, &placeholder)
                        });
                if !replaced || field.is_empty() {
                    break;
                }
                stand_ins.push(field);
            }
        }
    }
    let Some(raw) = raw else {
        return Err(structural.into_error());
    };
    match raw.validate(&current, path) {
        Ok(config) if structural.found.is_empty() => Ok(config),
        Ok(_) => Err(structural.into_error()),
        Err(semantic) => {
            let mut problems = structural.found;
            problems.extend(semantic.problems.into_iter().filter(|problem| {
                !stand_ins.iter().any(|field| {
                    problem.field == *field
                        || problem.field.starts_with(&format!("{field}["))
                        || problem.field.starts_with(&format!("{field}."))
                })
            }));
            problems.sort_by_key(|problem| problem.line);
            Err(ConfigError { problems })
        }
    }
}

/// The fewest characters an admin token or a cluster secret may have: the cluster
/// secret's own rule, applied to every credential that grants admin or Raft access.
pub const MIN_SECRET_LEN: usize = gslb_store::raft::ClusterSecret::MIN_LEN;

/// Unknown keys and wrong types reported in one run at most (each costs a parse).
const MAX_UNKNOWN_KEYS: usize = 32;
