//! `Endpoint`: one thing an answer can point at — an address (the VIP of a region's L4 load
//! balancer) or a CNAME target — with its weight and administrative state.
//!
//! Checks and observed health attach to endpoints by id (issue "health"); this file only holds
//! what an operator declares.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::model::ident::{prefix, validate_id};
use crate::model::name::DomainName;
use crate::model::validation::FieldErrors;

/// The largest weight an endpoint may carry.
pub const MAX_WEIGHT: u32 = 1_000_000;

/// One endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Stable id, a slug (`eu-west-1-vip`).
    pub id: String,
    /// The region it lives in; must exist.
    pub region: String,
    /// What an answer carries when this endpoint is chosen.
    pub target: EndpointTarget,
    /// Relative share within a weighted choice; 0 keeps it as a standby that is only used when
    /// nothing weighted is available.
    pub weight: u32,
    /// What the operator wants, independent of health.
    pub admin: AdminState,
    /// Free-form labels for selection and reporting (`tier=gold`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// What an answer carries for an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum EndpointTarget {
    /// An IPv4 or IPv6 address, answered as A or AAAA.
    Address(IpAddr),
    /// A name answered as CNAME (e.g. a cloud load balancer's own name).
    Cname(DomainName),
}

/// The operator's intent for an endpoint or region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminState {
    /// Serve when healthy.
    Enabled,
    /// Never serve, whatever health says.
    Disabled,
}

impl Endpoint {
    /// Checks the endpoint on its own, reporting under `path`; whether its region exists is
    /// checked against the state by the command validation.
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        let prefix = prefix(path);
        validate_id(&format!("{prefix}id"), &self.id, errors);
        validate_id(&format!("{prefix}region"), &self.region, errors);
        if self.weight > MAX_WEIGHT {
            errors.push(
                format!("{prefix}weight"),
                format!("must be ≤ {MAX_WEIGHT}, got {}", self.weight),
            );
        }
        match &self.target {
            EndpointTarget::Address(address) => {
                if address.is_unspecified() || address.is_multicast() {
                    errors.push(
                        format!("{prefix}target.value"),
                        format!("must be a unicast address, got {address}"),
                    );
                }
            }
            EndpointTarget::Cname(name) => {
                if name.is_root() {
                    errors.push(
                        format!("{prefix}target.value"),
                        "a CNAME target cannot be the root",
                    );
                }
            }
        }
        for (key, value) in &self.labels {
            if key.is_empty() || key.len() > 63 {
                errors.push(
                    format!("{prefix}labels.{key}"),
                    format!("label keys are 1-63 characters, got {key:?}"),
                );
            }
            if value.len() > 255 {
                errors.push(
                    format!("{prefix}labels.{key}"),
                    format!(
                        "label values are at most 255 characters, got {}",
                        value.len()
                    ),
                );
            }
        }
    }
}
