//! Checks on the wire: `CheckDto` with its subject as `endpoint` or `region` and its kind
//! tagged by `type` (`tcp`, `http`, `https`, `dns`, `replication`, `kube-local`,
//! `external`), converted by hand to the model's `Check`. Defaults match the model's.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use gslb_model::model::check::{
    Check, CheckKind, CheckSubject, DnsCheck, ExternalCheck, HttpCheck, KubeLocalCheck,
    ReplicationCheck, StatusRange, TcpCheck,
};
use gslb_model::model::{DomainName, FieldErrors};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::record::RecordTypeDto;
use crate::dto::time::{duration_ms, DurationMs};

/// One health check of an endpoint (or, for deep checks, a region).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckDto {
    /// Stable id, a slug.
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]{0,62}$")]
    pub id: String,
    /// The endpoint it checks (exactly one of `endpoint` and `region`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The region it checks deeply (replication, kube-local).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// What to do.
    pub kind: CheckKindDto,
    /// The address to probe; defaults to the endpoint's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Milliseconds between attempts (default 10000), or a duration (`30s`).
    #[serde(default = "default_interval_ms", deserialize_with = "duration_ms")]
    #[schema(value_type = DurationMs)]
    pub interval_ms: u64,
    /// Milliseconds one attempt may take (default 2000), or a duration (`2s`).
    #[serde(default = "default_timeout_ms", deserialize_with = "duration_ms")]
    #[schema(value_type = DurationMs)]
    pub timeout_ms: u64,
    /// Successes in a row to turn up (default 2).
    #[serde(default = "default_rise")]
    pub rise: u32,
    /// Failures in a row to turn down (default 3).
    #[serde(default = "default_fall")]
    pub fall: u32,
    /// The vantages (regions) that run it; empty = every region.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vantages: Vec<String>,
    /// Up votes needed; default a majority of the fresh ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<u16>,
}

fn default_interval_ms() -> u64 {
    10_000
}
fn default_timeout_ms() -> u64 {
    2_000
}
fn default_rise() -> u32 {
    2
}
fn default_fall() -> u32 {
    3
}
fn default_path() -> String {
    "/".to_string()
}
fn default_dns_port() -> u16 {
    53
}
fn default_true() -> bool {
    true
}
fn default_lease_ms() -> u64 {
    30_000
}
fn default_kube_path() -> String {
    "/healthz".to_string()
}
fn default_min_nodes() -> u32 {
    1
}
fn default_qtype() -> RecordTypeDto {
    RecordTypeDto::A
}

/// The kind of a check and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum CheckKindDto {
    /// Connect (and optionally exchange text).
    Tcp(TcpDto),
    /// An HTTP request.
    Http(HttpDto),
    /// An HTTPS request.
    Https(HttpDto),
    /// A DNS query.
    Dns(DnsDto),
    /// The region's replication status document (split-brain guard, leases).
    Replication(ReplicationDto),
    /// kube-proxy's healthCheckNodePort on each node of the region's pool.
    KubeLocal(KubeLocalDto),
    /// Observations pushed by an external reporter.
    External(ExternalDto),
}

/// `tcp` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpDto {
    /// Port.
    pub port: u16,
    /// Text to send once connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// Text the reply must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
}

/// An inclusive range of accepted HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRangeDto {
    /// Lowest.
    pub from: u16,
    /// Highest.
    pub to: u16,
}

/// `http` / `https` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpDto {
    /// Port (default 80 / 443).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Path and query (default `/`).
    #[serde(default = "default_path")]
    pub path: String,
    /// Host header and SNI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Extra request headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Accepted statuses (default 200-399).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<StatusRangeDto>,
    /// Text the body must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// A regular expression the body must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_regex: Option<String>,
    /// Response headers that must have these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expect_headers: BTreeMap<String, String>,
    /// PEM of the CA to trust (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// Accept any certificate (https, labs only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_verify: bool,
}

/// `dns` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsDto {
    /// Port (default 53).
    #[serde(default = "default_dns_port")]
    pub port: u16,
    /// The absolute name to ask for.
    pub name: String,
    /// The query type (default A). Named `qtype`, not `type`: `type` is the check kind's
    /// tag (`{type: dns, qtype: AAAA}`), so a `type` here could never be read back.
    #[serde(default = "default_qtype")]
    pub qtype: RecordTypeDto,
    /// Require an answer record (default true).
    #[serde(default = "default_true")]
    pub expect_answer: bool,
}

/// `replication` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicationDto {
    /// Port of the status document.
    pub port: u16,
    /// Its path (default `/`).
    #[serde(default = "default_path")]
    pub path: String,
    /// Host header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Conditions such as `/replication/lag_seconds < 5`; all must hold.
    pub conditions: Vec<String>,
    /// Lease length per renewal, milliseconds (default 30000), or a duration (`30s`).
    #[serde(default = "default_lease_ms", deserialize_with = "duration_ms")]
    #[schema(value_type = DurationMs)]
    pub lease_ms: u64,
}

/// `kube-local` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KubeLocalDto {
    /// Node addresses of the region's L4 pool.
    pub nodes: Vec<String>,
    /// The Service's healthCheckNodePort.
    pub port: u16,
    /// Path (default `/healthz`).
    #[serde(default = "default_kube_path")]
    pub path: String,
    /// Nodes with local endpoints needed (default 1).
    #[serde(default = "default_min_nodes")]
    pub min_nodes: u32,
}

/// `external` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalDto {
    /// How long a pushed observation counts, milliseconds, or a duration (`5m`).
    #[serde(deserialize_with = "duration_ms")]
    #[schema(value_type = DurationMs)]
    pub ttl_ms: u64,
}

fn http_to_model(http: &HttpDto) -> HttpCheck {
    HttpCheck {
        port: http.port,
        path: http.path.clone(),
        host: http.host.clone(),
        headers: http.headers.clone(),
        status: http
            .status
            .iter()
            .map(|range| StatusRange {
                from: range.from,
                to: range.to,
            })
            .collect(),
        body_contains: http.body_contains.clone(),
        body_regex: http.body_regex.clone(),
        expect_headers: http.expect_headers.clone(),
        ca_pem: http.ca_pem.clone(),
        skip_verify: http.skip_verify,
    }
}

fn http_from_model(http: &HttpCheck) -> HttpDto {
    HttpDto {
        port: http.port,
        path: http.path.clone(),
        host: http.host.clone(),
        headers: http.headers.clone(),
        status: http
            .status
            .iter()
            .map(|range| StatusRangeDto {
                from: range.from,
                to: range.to,
            })
            .collect(),
        body_contains: http.body_contains.clone(),
        body_regex: http.body_regex.clone(),
        expect_headers: http.expect_headers.clone(),
        ca_pem: http.ca_pem.clone(),
        skip_verify: http.skip_verify,
    }
}

fn parse_ip(path: String, text: &str, errors: &mut FieldErrors) -> Option<IpAddr> {
    match text.parse() {
        Ok(address) => Some(address),
        Err(_) => {
            errors.push(
                path,
                format!("must be an IPv4 or IPv6 address, got {text:?}"),
            );
            None
        }
    }
}

impl CheckDto {
    /// Converts to the model; shapes and addresses are checked here, the rest (ids exist,
    /// ranges) by the store.
    pub fn to_model(&self, path: &str) -> Result<Check, FieldErrors> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        let mut errors = FieldErrors::default();
        let subject = match (&self.endpoint, &self.region) {
            (Some(endpoint), None) => Some(CheckSubject::Endpoint(endpoint.clone())),
            (None, Some(region)) => Some(CheckSubject::Region(region.clone())),
            _ => {
                errors.push(
                    format!("{prefix}endpoint"),
                    "give exactly one of endpoint and region",
                );
                None
            }
        };
        let target = self
            .target
            .as_deref()
            .and_then(|text| parse_ip(format!("{prefix}target"), text, &mut errors));
        let kind = match &self.kind {
            CheckKindDto::Tcp(tcp) => Some(CheckKind::Tcp(TcpCheck {
                port: tcp.port,
                send: tcp.send.clone(),
                expect: tcp.expect.clone(),
            })),
            CheckKindDto::Http(http) => Some(CheckKind::Http(http_to_model(http))),
            CheckKindDto::Https(http) => Some(CheckKind::Https(http_to_model(http))),
            CheckKindDto::Dns(dns) => match DomainName::parse_absolute(&dns.name) {
                Ok(name) => Some(CheckKind::Dns(DnsCheck {
                    port: dns.port,
                    name,
                    qtype: dns.qtype.to_model(),
                    expect_answer: dns.expect_answer,
                })),
                Err(error) => {
                    errors.push(format!("{prefix}kind.name"), error.to_string());
                    None
                }
            },
            CheckKindDto::Replication(replication) => {
                Some(CheckKind::Replication(ReplicationCheck {
                    port: replication.port,
                    path: replication.path.clone(),
                    host: replication.host.clone(),
                    conditions: replication.conditions.clone(),
                    lease_ms: replication.lease_ms,
                }))
            }
            CheckKindDto::KubeLocal(kube) => {
                let nodes: Vec<IpAddr> = kube
                    .nodes
                    .iter()
                    .enumerate()
                    .filter_map(|(index, text)| {
                        parse_ip(format!("{prefix}kind.nodes[{index}]"), text, &mut errors)
                    })
                    .collect();
                Some(CheckKind::KubeLocal(KubeLocalCheck {
                    nodes,
                    port: kube.port,
                    path: kube.path.clone(),
                    min_nodes: kube.min_nodes,
                }))
            }
            CheckKindDto::External(external) => Some(CheckKind::External(ExternalCheck {
                ttl_ms: external.ttl_ms,
            })),
        };
        let (Some(subject), Some(kind)) = (subject, kind) else {
            return Err(errors);
        };
        errors.into_result()?;
        Ok(Check {
            id: self.id.clone(),
            subject,
            kind,
            target,
            interval_ms: self.interval_ms,
            timeout_ms: self.timeout_ms,
            rise: self.rise,
            fall: self.fall,
            vantages: self.vantages.iter().cloned().collect::<BTreeSet<_>>(),
            quorum: self.quorum,
        })
    }

    /// The DTO of a model check.
    pub fn from_model(check: &Check) -> CheckDto {
        let (endpoint, region) = match &check.subject {
            CheckSubject::Endpoint(id) => (Some(id.clone()), None),
            CheckSubject::Region(id) => (None, Some(id.clone())),
        };
        let kind = match &check.kind {
            CheckKind::Tcp(tcp) => CheckKindDto::Tcp(TcpDto {
                port: tcp.port,
                send: tcp.send.clone(),
                expect: tcp.expect.clone(),
            }),
            CheckKind::Http(http) => CheckKindDto::Http(http_from_model(http)),
            CheckKind::Https(http) => CheckKindDto::Https(http_from_model(http)),
            CheckKind::Dns(dns) => CheckKindDto::Dns(DnsDto {
                port: dns.port,
                name: dns.name.to_string(),
                qtype: RecordTypeDto::from_model(dns.qtype).unwrap_or(RecordTypeDto::A),
                expect_answer: dns.expect_answer,
            }),
            CheckKind::Replication(replication) => CheckKindDto::Replication(ReplicationDto {
                port: replication.port,
                path: replication.path.clone(),
                host: replication.host.clone(),
                conditions: replication.conditions.clone(),
                lease_ms: replication.lease_ms,
            }),
            CheckKind::KubeLocal(kube) => CheckKindDto::KubeLocal(KubeLocalDto {
                nodes: kube.nodes.iter().map(ToString::to_string).collect(),
                port: kube.port,
                path: kube.path.clone(),
                min_nodes: kube.min_nodes,
            }),
            CheckKind::External(external) => CheckKindDto::External(ExternalDto {
                ttl_ms: external.ttl_ms,
            }),
        };
        CheckDto {
            id: check.id.clone(),
            endpoint,
            region,
            kind,
            target: check.target.map(|address| address.to_string()),
            interval_ms: check.interval_ms,
            timeout_ms: check.timeout_ms,
            rise: check.rise,
            fall: check.fall,
            vantages: check.vantages.iter().cloned().collect(),
            quorum: check.quorum,
        }
    }
}
