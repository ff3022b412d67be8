//! `Check`: how the probers look at one endpoint or region — the kind with its parameters,
//! where to connect, how often, the rise/fall thresholds and which vantages run it — and
//! `JsonCondition`, the `JSON-pointer op literal` rule that replication checks evaluate.
//!
//! This file holds what an operator declares and its write-time validation (a check that
//! cannot work is refused with the field at fault). Running a check is `gslb-prober`'s job;
//! deciding what the votes of several vantages mean is `model::health`.
//!
//! JSON shape (the kind is internally tagged by `type`):
//!
//! ```json
//! { "id": "eu-db-replication", "subject": { "kind": "region", "id": "eu" },
//!   "target": "192.0.2.10", "interval_ms": 1000, "timeout_ms": 500, "rise": 2, "fall": 3,
//!   "kind": { "type": "replication", "port": 8080, "path": "/status",
//!             "conditions": [ "/replication/in_quorum == true",
//!                             "/replication/lag_seconds < 5" ] } }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::model::endpoint::{Endpoint, EndpointTarget};
use crate::model::ident::{prefix, validate_id};
use crate::model::name::DomainName;
use crate::model::record::RecordType;
use crate::model::region::Region;
use crate::model::validation::FieldErrors;

/// The shortest interval a check may run at, in milliseconds.
pub const MIN_INTERVAL_MS: u64 = 100;
/// The longest interval a check may run at, in milliseconds (one hour).
pub const MAX_INTERVAL_MS: u64 = 3_600_000;
/// The largest rise or fall threshold.
pub const MAX_THRESHOLD: u32 = 100;
/// The most bytes a TCP check may send or expect, and the longest body substring or regex.
pub const MAX_PATTERN_LEN: usize = 1024;
/// The most nodes one kube-local check may probe.
pub const MAX_KUBE_NODES: usize = 1024;
/// The most JSON conditions one replication check may hold.
pub const MAX_CONDITIONS: usize = 32;

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Stable id, a slug; observations name the check by it.
    pub id: String,
    /// What the check judges: an endpoint, or a region as a whole (deep checks such as
    /// `replication` and `kube-local`).
    pub subject: CheckSubject,
    /// The kind and its parameters.
    pub kind: CheckKind,
    /// The address to connect to; defaults to the endpoint's answered address. Required for
    /// region checks (other than `kube-local` and `external`) and for CNAME endpoints, and
    /// the way to probe a different address than the one DNS answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<IpAddr>,
    /// How often each vantage runs the check, in milliseconds.
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    /// How long one attempt may take, in milliseconds; must be below `interval_ms` so attempts
    /// never overlap.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Consecutive successes a vantage needs before it reports a down check up.
    #[serde(default = "default_rise")]
    pub rise: u32,
    /// Consecutive failures a vantage needs before it reports an up check down.
    #[serde(default = "default_fall")]
    pub fall: u32,
    /// The vantages (region ids) that run it; empty means every region. For `external` checks
    /// these are the names of the parties allowed to push observations.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub vantages: BTreeSet<String>,
    /// Fresh vantages that must agree for a verdict; `None` is a majority of the fresh ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<u16>,
}

/// The default for `interval_ms`.
fn default_interval_ms() -> u64 {
    10_000
}

/// The default for `timeout_ms`.
fn default_timeout_ms() -> u64 {
    2_000
}

/// The default for `rise`.
fn default_rise() -> u32 {
    2
}

/// The default for `fall`.
fn default_fall() -> u32 {
    3
}

/// What a check judges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum CheckSubject {
    /// An endpoint by id.
    Endpoint(String),
    /// A region by id (a deep check: it decides the region's health as a whole).
    Region(String),
}

impl CheckSubject {
    /// The id of the endpoint or region.
    pub fn id(&self) -> &str {
        match self {
            CheckSubject::Endpoint(id) | CheckSubject::Region(id) => id,
        }
    }
}

/// The kind of a check, with its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum CheckKind {
    /// A TCP connect, optionally sending bytes and expecting a reply to contain others.
    Tcp(TcpCheck),
    /// An HTTP request judged by status, body and headers.
    Http(HttpCheck),
    /// An HTTPS request (SNI from `host`), judged like `http`.
    Https(HttpCheck),
    /// A DNS query sent to the endpoint, which must answer.
    Dns(DnsCheck),
    /// The region's health endpoint returns JSON on which conditions must hold: the
    /// split-brain guard. Confirmed by a quorum, it renews the region's health lease.
    Replication(ReplicationCheck),
    /// kube-proxy's `healthCheckNodePort` on every node of the region's L4 pool; nodes that
    /// answer 200 with `localEndpoints ≥ 1` make the region's live capacity.
    KubeLocal(KubeLocalCheck),
    /// Nobody probes: observations are pushed through the API and lapse after `ttl_ms`.
    External(ExternalCheck),
}

impl CheckKind {
    /// The kind's name as it appears in JSON (`kube-local`).
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Tcp(_) => "tcp",
            CheckKind::Http(_) => "http",
            CheckKind::Https(_) => "https",
            CheckKind::Dns(_) => "dns",
            CheckKind::Replication(_) => "replication",
            CheckKind::KubeLocal(_) => "kube-local",
            CheckKind::External(_) => "external",
        }
    }

    /// Whether the kind needs a target address (the endpoint's or `Check::target`).
    pub fn needs_target(&self) -> bool {
        !matches!(self, CheckKind::KubeLocal(_) | CheckKind::External(_))
    }
}

/// Parameters of a `tcp` check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpCheck {
    /// The port to connect to.
    pub port: u16,
    /// Bytes (UTF-8 text) to send once connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// Text the reply must contain (read up to the prober's body limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
}

/// An inclusive range of HTTP status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRange {
    /// The lowest accepted status.
    pub from: u16,
    /// The highest accepted status.
    pub to: u16,
}

impl StatusRange {
    /// Whether `status` lies in the range.
    pub fn contains(&self, status: u16) -> bool {
        (self.from..=self.to).contains(&status)
    }
}

/// Parameters of an `http` or `https` check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// The port; `None` is 80 for http and 443 for https.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Path and query, starting with `/`.
    #[serde(default = "default_path")]
    pub path: String,
    /// Host header (and SNI for https); `None` uses the target address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Extra request headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Accepted statuses; empty means 200-399.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<StatusRange>,
    /// Text the body (its first bytes, up to the prober's limit) must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// A regular expression (regex-lite syntax) the body must match. Only its size is
    /// checked at write time; the prober reports a pattern that does not parse as a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_regex: Option<String>,
    /// Response headers that must be present with exactly these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expect_headers: BTreeMap<String, String>,
    /// PEM of the CA that signs the endpoint's certificate (https); `None` uses the
    /// platform's roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// Accept any certificate (https). For lab setups only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_verify: bool,
}

/// The default HTTP path.
fn default_path() -> String {
    "/".to_string()
}

impl HttpCheck {
    /// Whether `status` is accepted (200-399 when no range is given).
    pub fn accepts(&self, status: u16) -> bool {
        if self.status.is_empty() {
            (200..=399).contains(&status)
        } else {
            self.status.iter().any(|range| range.contains(status))
        }
    }
}

/// Parameters of a `dns` check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsCheck {
    /// The port the endpoint serves DNS on.
    #[serde(default = "default_dns_port")]
    pub port: u16,
    /// The name to ask for.
    pub name: DomainName,
    /// The type to ask for.
    #[serde(default = "default_qtype", rename = "type")]
    pub qtype: RecordType,
    /// When true (the default) the reply must be NOERROR with at least one answer record;
    /// when false any NOERROR or NXDOMAIN reply passes.
    #[serde(default = "default_true")]
    pub expect_answer: bool,
}

/// The default DNS port.
fn default_dns_port() -> u16 {
    53
}

/// The default DNS query type.
fn default_qtype() -> RecordType {
    RecordType::A
}

/// `true`, for serde defaults.
fn default_true() -> bool {
    true
}

/// Parameters of a `replication` check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicationCheck {
    /// The port of the region's health endpoint.
    pub port: u16,
    /// The path of the JSON status document.
    #[serde(default = "default_path")]
    pub path: String,
    /// Host header; `None` uses the target address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Conditions, each `JSON-pointer op literal` (`/replication/lag_seconds < 5`); all must
    /// hold.
    pub conditions: Vec<String>,
    /// How long a renewal of the region's health lease lasts, in milliseconds.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
}

/// The default lease length: three RTT digests, so one lost digest does not drop a region.
fn default_lease_ms() -> u64 {
    30_000
}

/// Parameters of a `kube-local` check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeLocalCheck {
    /// The nodes of the region's L4 pool.
    pub nodes: Vec<IpAddr>,
    /// The Service's `healthCheckNodePort`.
    pub port: u16,
    /// The path kube-proxy serves (any path works with kube-proxy; `/healthz` by convention).
    #[serde(default = "default_kube_path")]
    pub path: String,
    /// Nodes with local endpoints needed for the check to pass.
    #[serde(default = "default_min_nodes")]
    pub min_nodes: u32,
}

/// The default kube-proxy health path.
fn default_kube_path() -> String {
    "/healthz".to_string()
}

/// The default number of nodes with local endpoints needed.
fn default_min_nodes() -> u32 {
    1
}

/// Parameters of an `external` check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalCheck {
    /// How long a pushed observation counts, in milliseconds.
    pub ttl_ms: u64,
}

impl Check {
    /// The vantages expected to vote on this check: `vantages`, or every region when empty
    /// (for `external` checks with no list: whoever reported, decided by the caller).
    pub fn expected_vantages<'a>(
        &'a self,
        regions: impl Iterator<Item = &'a String>,
    ) -> Vec<&'a str> {
        if self.vantages.is_empty() {
            regions.map(String::as_str).collect()
        } else {
            self.vantages.iter().map(String::as_str).collect()
        }
    }

    /// Checks the check on its own and against the state's `regions` and `endpoints`
    /// (subject, vantages and the target exist), reporting under `path`.
    pub fn validate(
        &self,
        path: &str,
        regions: &BTreeMap<String, Region>,
        endpoints: &BTreeMap<String, Endpoint>,
        errors: &mut FieldErrors,
    ) {
        let prefix = prefix(path);
        validate_id(&format!("{prefix}id"), &self.id, errors);
        let subject_path = format!("{prefix}subject.id");
        let mut subject_address = None;
        match &self.subject {
            CheckSubject::Endpoint(id) => match endpoints.get(id) {
                Some(endpoint) => {
                    if let EndpointTarget::Address(address) = endpoint.target {
                        subject_address = Some(address);
                    }
                }
                None => errors.push(subject_path, format!("no endpoint {id:?}")),
            },
            CheckSubject::Region(id) => {
                if !regions.contains_key(id) {
                    errors.push(subject_path, format!("no region {id:?}"));
                }
            }
        }
        if self.kind.needs_target() && self.target.is_none() && subject_address.is_none() {
            let why = match self.subject {
                CheckSubject::Region(_) => "a region check",
                CheckSubject::Endpoint(_) => "an endpoint without an address",
            };
            errors.push(
                format!("{prefix}target"),
                format!("required for {why} of kind {}", self.kind.name()),
            );
        }
        if let Some(target) = self.target {
            if target.is_unspecified() || target.is_multicast() {
                errors.push(
                    format!("{prefix}target"),
                    format!("must be a unicast address, got {target}"),
                );
            }
        }
        if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&self.interval_ms) {
            errors.push(
                format!("{prefix}interval_ms"),
                format!(
                    "must be within {MIN_INTERVAL_MS}..={MAX_INTERVAL_MS}, got {}",
                    self.interval_ms
                ),
            );
        }
        if self.timeout_ms == 0 {
            errors.push(format!("{prefix}timeout_ms"), "must be > 0, got 0");
        } else if self.timeout_ms >= self.interval_ms {
            errors.push(
                format!("{prefix}timeout_ms"),
                format!(
                    "must be below interval_ms ({}), got {}",
                    self.interval_ms, self.timeout_ms
                ),
            );
        }
        for (field, value) in [("rise", self.rise), ("fall", self.fall)] {
            if !(1..=MAX_THRESHOLD).contains(&value) {
                errors.push(
                    format!("{prefix}{field}"),
                    format!("must be within 1..={MAX_THRESHOLD}, got {value}"),
                );
            }
        }
        let external = matches!(self.kind, CheckKind::External(_));
        for (index, vantage) in self.vantages.iter().enumerate() {
            let vantage_path = format!("{prefix}vantages[{index}]");
            let before = errors.0.len();
            validate_id(&vantage_path, vantage, errors);
            if errors.0.len() == before && !external && !regions.contains_key(vantage) {
                errors.push(vantage_path, format!("no region {vantage:?}"));
            }
        }
        if let Some(quorum) = self.quorum {
            let most = if self.vantages.is_empty() {
                regions.len().max(1)
            } else {
                self.vantages.len()
            };
            if quorum == 0 || usize::from(quorum) > most {
                errors.push(
                    format!("{prefix}quorum"),
                    format!("must be within 1..={most} (the vantages that run it), got {quorum}"),
                );
            }
        }
        self.kind.validate(&format!("{prefix}kind"), errors);
        if matches!(
            self.kind,
            CheckKind::Replication(_) | CheckKind::KubeLocal(_)
        ) && !matches!(self.subject, CheckSubject::Region(_))
        {
            errors.push(
                format!("{prefix}subject.kind"),
                format!(
                    "a {} check judges a region, got an endpoint",
                    self.kind.name()
                ),
            );
        }
    }
}

impl CheckKind {
    /// Checks the kind's parameters, reporting under `path` (e.g. `check.kind`).
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        let prefix = prefix(path);
        let port = |port: u16, errors: &mut FieldErrors| {
            if port == 0 {
                errors.push(format!("{prefix}port"), "must be 1-65535, got 0");
            }
        };
        match self {
            CheckKind::Tcp(tcp) => {
                port(tcp.port, errors);
                for (field, value) in [("send", &tcp.send), ("expect", &tcp.expect)] {
                    if let Some(text) = value {
                        check_pattern(&format!("{prefix}{field}"), text, errors);
                    }
                }
            }
            CheckKind::Http(http) | CheckKind::Https(http) => {
                if http.port == Some(0) {
                    errors.push(format!("{prefix}port"), "must be 1-65535, got 0");
                }
                check_http_path(&format!("{prefix}path"), &http.path, errors);
                if let Some(host) = &http.host {
                    check_host(&format!("{prefix}host"), host, errors);
                }
                for (name, value) in http.headers.iter().chain(&http.expect_headers) {
                    check_header(&prefix, name, value, errors);
                }
                for (index, range) in http.status.iter().enumerate() {
                    let ok = (100..=599).contains(&range.from)
                        && (100..=599).contains(&range.to)
                        && range.from <= range.to;
                    if !ok {
                        errors.push(
                            format!("{prefix}status[{index}]"),
                            format!(
                                "must be a range within 100-599 with from ≤ to, got {}-{}",
                                range.from, range.to
                            ),
                        );
                    }
                }
                if let Some(text) = &http.body_contains {
                    check_pattern(&format!("{prefix}body_contains"), text, errors);
                }
                if let Some(pattern) = &http.body_regex {
                    // Only the size is checked here: the store carries no regex engine. The
                    // prober compiles the pattern and fails the check with the parse error.
                    check_pattern(&format!("{prefix}body_regex"), pattern, errors);
                }
                if let Some(pem) = &http.ca_pem {
                    if !pem.contains("-----BEGIN CERTIFICATE-----") {
                        errors.push(
                            format!("{prefix}ca_pem"),
                            "must hold at least one PEM certificate (-----BEGIN CERTIFICATE-----)",
                        );
                    }
                }
                if matches!(self, CheckKind::Http(_)) && (http.ca_pem.is_some() || http.skip_verify)
                {
                    errors.push(
                        format!("{prefix}type"),
                        "ca_pem and skip_verify need type https, got http",
                    );
                }
            }
            CheckKind::Dns(dns) => {
                port(dns.port, errors);
                let supported = [
                    RecordType::A,
                    RecordType::AAAA,
                    RecordType::CNAME,
                    RecordType::MX,
                    RecordType::TXT,
                    RecordType::NS,
                    RecordType::SOA,
                    RecordType::SRV,
                ];
                if !supported.contains(&dns.qtype) {
                    // The API names the query type `qtype` (`type` is the kind's tag there).
                    errors.push(
                        format!("{prefix}qtype"),
                        format!("must be a query type a probe can ask, got {}", dns.qtype),
                    );
                }
            }
            CheckKind::Replication(replication) => {
                port(replication.port, errors);
                check_http_path(&format!("{prefix}path"), &replication.path, errors);
                if let Some(host) = &replication.host {
                    check_host(&format!("{prefix}host"), host, errors);
                }
                if replication.conditions.is_empty() {
                    errors.push(
                        format!("{prefix}conditions"),
                        "must hold at least one condition such as \"/replication/in_quorum == true\"",
                    );
                }
                if replication.conditions.len() > MAX_CONDITIONS {
                    errors.push(
                        format!("{prefix}conditions"),
                        format!(
                            "must hold at most {MAX_CONDITIONS} conditions, got {}",
                            replication.conditions.len()
                        ),
                    );
                }
                for (index, text) in replication.conditions.iter().enumerate() {
                    if let Err(message) = JsonCondition::parse(text) {
                        errors.push(format!("{prefix}conditions[{index}]"), message);
                    }
                }
                if !(1_000..=86_400_000).contains(&replication.lease_ms) {
                    errors.push(
                        format!("{prefix}lease_ms"),
                        format!(
                            "must be within 1000..=86400000, got {}",
                            replication.lease_ms
                        ),
                    );
                }
            }
            CheckKind::KubeLocal(kube) => {
                port(kube.port, errors);
                check_http_path(&format!("{prefix}path"), &kube.path, errors);
                if kube.nodes.is_empty() || kube.nodes.len() > MAX_KUBE_NODES {
                    errors.push(
                        format!("{prefix}nodes"),
                        format!(
                            "must list 1-{MAX_KUBE_NODES} node addresses, got {}",
                            kube.nodes.len()
                        ),
                    );
                }
                let mut seen = BTreeSet::new();
                for (index, node) in kube.nodes.iter().enumerate() {
                    if node.is_unspecified() || node.is_multicast() {
                        errors.push(
                            format!("{prefix}nodes[{index}]"),
                            format!("must be a unicast address, got {node}"),
                        );
                    } else if !seen.insert(node) {
                        errors.push(
                            format!("{prefix}nodes[{index}]"),
                            format!("lists {node} twice"),
                        );
                    }
                }
                if kube.min_nodes == 0 || kube.min_nodes as usize > kube.nodes.len().max(1) {
                    errors.push(
                        format!("{prefix}min_nodes"),
                        format!(
                            "must be within 1..={} (the nodes listed), got {}",
                            kube.nodes.len().max(1),
                            kube.min_nodes
                        ),
                    );
                }
            }
            CheckKind::External(external) => {
                if !(1_000..=86_400_000).contains(&external.ttl_ms) {
                    errors.push(
                        format!("{prefix}ttl_ms"),
                        format!("must be within 1000..=86400000, got {}", external.ttl_ms),
                    );
                }
            }
        }
    }
}

/// Reports a send/expect/body pattern that is empty or too long.
fn check_pattern(path: &str, text: &str, errors: &mut FieldErrors) {
    if text.is_empty() || text.len() > MAX_PATTERN_LEN {
        errors.push(
            path,
            format!(
                "must be 1-{MAX_PATTERN_LEN} bytes (omit it instead of empty), got {}",
                text.len()
            ),
        );
    }
}

/// Reports an HTTP path that does not start with `/` or holds spaces or control characters.
fn check_http_path(path: &str, value: &str, errors: &mut FieldErrors) {
    let ok = value.starts_with('/')
        && value.len() <= 2048
        && value.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        errors.push(
            path,
            format!("must start with '/' and hold no spaces or control characters, got {value:?}"),
        );
    }
}

/// Reports a Host value that is not a plausible host name (optionally with a port).
fn check_host(path: &str, value: &str, errors: &mut FieldErrors) {
    let ok = !value.is_empty()
        && value.len() <= 255
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
    if !ok {
        errors.push(path, format!("must be a host name, got {value:?}"));
    }
}

/// Reports a header whose name is not an HTTP token or whose value holds control characters.
fn check_header(prefix: &str, name: &str, value: &str, errors: &mut FieldErrors) {
    let name_ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !name_ok {
        errors.push(
            format!("{prefix}headers.{name}"),
            format!("must be an HTTP header name, got {name:?}"),
        );
    }
    if value.len() > 4096 || value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        errors.push(
            format!("{prefix}headers.{name}"),
            "values are at most 4096 bytes without control characters",
        );
    }
}

/// A comparison in a JSON condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CompareOp {
    /// The operator for its symbol.
    pub fn parse(symbol: &str) -> Option<CompareOp> {
        Some(match symbol {
            "==" => CompareOp::Eq,
            "!=" => CompareOp::Ne,
            "<" => CompareOp::Lt,
            "<=" => CompareOp::Le,
            ">" => CompareOp::Gt,
            ">=" => CompareOp::Ge,
            _ => return None,
        })
    }

    /// The symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// A parsed `JSON-pointer op literal` condition, e.g. `/replication/lag_seconds < 5`.
///
/// The pointer is RFC 6901 (`/a/b/0`, `~1` for `/`, `~0` for `~`; the empty pointer is the
/// whole document) and may not contain spaces. The literal is JSON: `true`, `false`, `null`,
/// a number or a double-quoted string. `==` and `!=` compare any values (numbers by value, so
/// `5 == 5.0`); the ordering operators need numbers on both sides.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonCondition {
    /// The JSON pointer.
    pub pointer: String,
    /// The comparison.
    pub op: CompareOp,
    /// The literal to compare with.
    pub value: serde_json::Value,
}

impl JsonCondition {
    /// Parses `text`; the error is a lowercase message naming what is wrong.
    pub fn parse(text: &str) -> Result<JsonCondition, String> {
        let trimmed = text.trim();
        let mut parts = trimmed.splitn(3, char::is_whitespace);
        let (Some(pointer), Some(op), Some(literal)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!(
                "must be \"<json-pointer> <op> <literal>\" such as \"/replication/lag_seconds < 5\", got {text:?}"
            ));
        };
        let literal = literal.trim();
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            return Err(format!(
                "the json pointer must start with '/', got {pointer:?}"
            ));
        }
        if pointer.contains('~')
            && pointer
                .split('~')
                .skip(1)
                .any(|rest| !(rest.starts_with('0') || rest.starts_with('1')))
        {
            return Err(format!(
                "the json pointer may use '~' only as ~0 or ~1, got {pointer:?}"
            ));
        }
        let Some(op) = CompareOp::parse(op) else {
            return Err(format!(
                "the operator must be one of ==, !=, <, <=, >, >=, got {op:?}"
            ));
        };
        let value: serde_json::Value = serde_json::from_str(literal).map_err(|_| {
            format!(
                "the literal must be JSON (true, false, null, a number or a \"string\"), got {literal:?}"
            )
        })?;
        if value.is_array() || value.is_object() {
            return Err(format!("the literal must be a scalar, got {literal:?}"));
        }
        if !matches!(op, CompareOp::Eq | CompareOp::Ne) && !value.is_number() {
            return Err(format!("{} needs a number, got {literal:?}", op.symbol()));
        }
        Ok(JsonCondition {
            pointer: pointer.to_string(),
            op,
            value,
        })
    }

    /// Whether the condition holds on `document`; `Err` says why it cannot be decided (the
    /// pointer finds nothing, or an ordering meets a non-number), which a check counts as a
    /// failure with that reason.
    pub fn evaluate(&self, document: &serde_json::Value) -> Result<bool, String> {
        let Some(found) = document.pointer(&self.pointer) else {
            return Err(format!("{}: not found in the document", self.pointer));
        };
        let numbers = (found.as_f64(), self.value.as_f64());
        Ok(match self.op {
            CompareOp::Eq | CompareOp::Ne => {
                let equal = match numbers {
                    (Some(left), Some(right)) => left == right,
                    _ => found == &self.value,
                };
                equal == (self.op == CompareOp::Eq)
            }
            ordering => {
                let (Some(left), Some(right)) = numbers else {
                    return Err(format!(
                        "{}: {} needs a number, found {found}",
                        self.pointer,
                        ordering.symbol()
                    ));
                };
                match ordering {
                    CompareOp::Lt => left < right,
                    CompareOp::Le => left <= right,
                    CompareOp::Gt => left > right,
                    _ => left >= right,
                }
            }
        })
    }
}

impl fmt::Display for JsonCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.pointer, self.op.symbol(), self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::endpoint::AdminState;
    use crate::model::region::Location;
    use crate::model::state::State;
    use serde_json::json;

    fn state() -> State {
        let mut state = State::default();
        for id in ["eu", "us", "ap"] {
            state.regions.insert(
                id.to_string(),
                Region {
                    id: id.to_string(),
                    location: Location {
                        lat_micro: 0,
                        lon_micro: 0,
                        country: "DE".to_string(),
                        continent: "EU".to_string(),
                    },
                    capacity: None,
                    min_healthy: None,
                },
            );
        }
        state.endpoints.insert(
            "web-1".to_string(),
            Endpoint {
                id: "web-1".to_string(),
                region: "eu".to_string(),
                target: EndpointTarget::Address("192.0.2.1".parse().unwrap()),
                weight: 1,
                admin: AdminState::Enabled,
                labels: Default::default(),
            },
        );
        state
    }

    fn http_check() -> Check {
        serde_json::from_value(json!({
            "id": "web-1-http",
            "subject": {"kind": "endpoint", "id": "web-1"},
            "kind": {"type": "http", "path": "/healthz", "status": [{"from": 200, "to": 204}]},
            "interval_ms": 1000, "timeout_ms": 500
        }))
        .unwrap()
    }

    /// Validates `check` and returns the messages.
    fn check(check: &Check) -> Vec<String> {
        let mut errors = FieldErrors::default();
        let state = state();
        check.validate("check", &state.regions, &state.endpoints, &mut errors);
        errors.0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_good_check_passes_and_defaults_apply() {
        let http = http_check();
        assert_eq!(check(&http), Vec::<String>::new());
        assert_eq!((http.rise, http.fall), (2, 3));
        let CheckKind::Http(params) = &http.kind else {
            panic!("http")
        };
        assert!(params.accepts(204) && !params.accepts(301));
        let json = serde_json::to_string(&http).unwrap();
        assert_eq!(serde_json::from_str::<Check>(&json).unwrap(), http);
    }

    #[test]
    fn checks_that_cannot_work_are_named_by_field() {
        let mut bad = http_check();
        bad.timeout_ms = 1000;
        bad.rise = 0;
        bad.fall = 0;
        bad.subject = CheckSubject::Endpoint("nope".to_string());
        bad.vantages = ["mars".to_string()].into();
        assert_eq!(
            check(&bad),
            [
                "check.subject.id: no endpoint \"nope\"",
                "check.target: required for an endpoint without an address of kind http",
                "check.timeout_ms: must be below interval_ms (1000), got 1000",
                "check.rise: must be within 1..=100, got 0",
                "check.fall: must be within 1..=100, got 0",
                "check.vantages[0]: no region \"mars\"",
            ]
        );
    }

    #[test]
    fn replication_conditions_are_parsed_at_write_time() {
        let replication: Check = serde_json::from_value(json!({
            "id": "eu-repl", "subject": {"kind": "region", "id": "eu"},
            "target": "192.0.2.9", "interval_ms": 1000, "timeout_ms": 500,
            "kind": {"type": "replication", "port": 8080, "path": "/status",
                     "conditions": ["/replication/in_quorum == true",
                                    "/replication/lag_seconds << 5",
                                    "replication/x == 1",
                                    "/a < \"x\"",
                                    "/a =="]}
        }))
        .unwrap();
        assert_eq!(
            check(&replication),
            [
                "check.kind.conditions[1]: the operator must be one of ==, !=, <, <=, >, >=, got \"<<\"",
                "check.kind.conditions[2]: the json pointer must start with '/', got \"replication/x\"",
                "check.kind.conditions[3]: < needs a number, got \"\\\"x\\\"\"",
                "check.kind.conditions[4]: must be \"<json-pointer> <op> <literal>\" such as \"/replication/lag_seconds < 5\", got \"/a ==\"",
            ]
        );
    }

    #[test]
    fn region_checks_need_a_target_and_kube_local_nodes() {
        let kube: Check = serde_json::from_value(json!({
            "id": "eu-kube", "subject": {"kind": "endpoint", "id": "web-1"},
            "kind": {"type": "kube-local", "nodes": [], "port": 31000}
        }))
        .unwrap();
        assert_eq!(
            check(&kube),
            [
                "check.kind.nodes: must list 1-1024 node addresses, got 0",
                "check.subject.kind: a kube-local check judges a region, got an endpoint",
            ]
        );
        let tcp: Check = serde_json::from_value(json!({
            "id": "eu-tcp", "subject": {"kind": "region", "id": "eu"},
            "kind": {"type": "tcp", "port": 0}
        }))
        .unwrap();
        assert_eq!(
            check(&tcp),
            [
                "check.target: required for a region check of kind tcp",
                "check.kind.port: must be 1-65535, got 0",
            ]
        );
    }

    #[test]
    fn unknown_fields_and_http_only_tls_options_are_refused() {
        let mut http = http_check();
        if let CheckKind::Http(params) = &mut http.kind {
            params.skip_verify = true;
        }
        assert_eq!(
            check(&http),
            ["check.kind.type: ca_pem and skip_verify need type https, got http"]
        );
        let mut dns = http_check();
        dns.kind = CheckKind::Dns(DnsCheck {
            port: 53,
            name: DomainName::parse_absolute("probe.example.").unwrap(),
            qtype: RecordType::CAA,
            expect_answer: true,
        });
        assert_eq!(
            check(&dns),
            ["check.kind.qtype: must be a query type a probe can ask, got CAA"]
        );
        let unknown = serde_json::from_value::<Check>(json!({
            "id": "x", "subject": {"kind": "endpoint", "id": "web-1"},
            "kind": {"type": "tcp", "port": 1, "colour": "red"}
        }));
        assert!(unknown.is_err());
    }

    #[test]
    fn conditions_evaluate_on_documents() {
        let document =
            json!({"replication": {"in_quorum": true, "lag_seconds": 2, "role": "primary"}});
        let holds = |text: &str| JsonCondition::parse(text).unwrap().evaluate(&document);
        assert_eq!(holds("/replication/in_quorum == true"), Ok(true));
        assert_eq!(holds("/replication/lag_seconds < 5"), Ok(true));
        assert_eq!(holds("/replication/lag_seconds >= 2.0"), Ok(true));
        assert_eq!(holds("/replication/lag_seconds == 2.0"), Ok(true));
        assert_eq!(holds("/replication/role != \"replica\""), Ok(true));
        assert_eq!(holds("/replication/in_quorum == false"), Ok(false));
        assert_eq!(
            holds("/replication/missing == 1"),
            Err("/replication/missing: not found in the document".to_string())
        );
        assert_eq!(
            holds("/replication/role > 1"),
            Err("/replication/role: > needs a number, found \"primary\"".to_string())
        );
    }
}
