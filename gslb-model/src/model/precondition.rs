//! Preconditions checked inside `apply`: "this resource is still as I read it" (`If-Match`)
//! or "it does not exist yet" (`If-None-Match: *`, and every create), so a conditional write
//! can never overwrite a change that committed between the read and the write, whichever API
//! node each went through.
//!
//! A resource is named by `ResourceRef`; its state is summed up by `digest_of` (SHA-256 of
//! its JSON), which is the same on every node and every build, as `apply` must be.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::name::DomainName;
use crate::model::record::RecordType;
use crate::model::state::State;

/// One resource of the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ResourceRef {
    /// A zone by apex.
    Zone {
        /// Its apex.
        apex: DomainName,
    },
    /// A static record set.
    RecordSet {
        /// The zone's apex.
        zone: DomainName,
        /// Owner name.
        name: DomainName,
        /// Type.
        #[serde(rename = "type")]
        rtype: RecordType,
    },
    /// A GSLB record.
    GslbRecord {
        /// Owner name.
        name: DomainName,
        /// Type.
        #[serde(rename = "type")]
        rtype: RecordType,
    },
    /// A region by id.
    Region {
        /// Its id.
        id: String,
    },
    /// An endpoint by id.
    Endpoint {
        /// Its id.
        id: String,
    },
    /// A check by id.
    Check {
        /// Its id.
        id: String,
    },
    /// An override by id.
    Override {
        /// Its id.
        id: String,
    },
    /// An API token by id.
    Token {
        /// Its id.
        id: String,
    },
    /// A client network by its canonical CIDR text.
    Network {
        /// Its CIDR (`198.51.100.0/24`).
        cidr: String,
    },
}

/// What the writer saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "digest")]
pub enum Expected {
    /// The resource did not exist.
    Absent,
    /// The resource existed with this digest.
    Digest(String),
}

/// SHA-256 (hex) of a value's JSON.
pub fn digest_of<T: Serialize>(value: &T) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl ResourceRef {
    /// The digest of the resource in `state`, `None` when it does not exist.
    pub fn current(&self, state: &State) -> Option<String> {
        match self {
            ResourceRef::Zone { apex } => state.zones.get(apex).map(digest_of),
            ResourceRef::RecordSet { zone, name, rtype } => state
                .zones
                .get(zone)
                .and_then(|zone| zone.rrset(name, *rtype))
                .map(digest_of),
            ResourceRef::GslbRecord { name, rtype } => {
                state.gslb_record(name, *rtype).map(digest_of)
            }
            ResourceRef::Region { id } => state.regions.get(id).map(digest_of),
            ResourceRef::Endpoint { id } => state.endpoints.get(id).map(digest_of),
            ResourceRef::Check { id } => state.checks.get(id).map(digest_of),
            ResourceRef::Override { id } => state.overrides.get(id).map(digest_of),
            ResourceRef::Token { id } => state.tokens.get(id).map(digest_of),
            ResourceRef::Network { cidr } => state.networks.get(cidr).map(digest_of),
        }
    }

    /// What a writer reading `state` now expects.
    pub fn expected_in(&self, state: &State) -> Expected {
        match self.current(state) {
            Some(digest) => Expected::Digest(digest),
            None => Expected::Absent,
        }
    }
}

impl std::fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResourceRef::Zone { apex } => write!(f, "zone {apex}"),
            ResourceRef::RecordSet { zone, name, rtype } => {
                write!(f, "record set {name} {rtype} in {zone}")
            }
            ResourceRef::GslbRecord { name, rtype } => write!(f, "gslb record {name} {rtype}"),
            ResourceRef::Region { id } => write!(f, "region {id}"),
            ResourceRef::Endpoint { id } => write!(f, "endpoint {id}"),
            ResourceRef::Check { id } => write!(f, "check {id}"),
            ResourceRef::Override { id } => write!(f, "override {id}"),
            ResourceRef::Token { id } => write!(f, "token {id}"),
            ResourceRef::Network { cidr } => write!(f, "network {cidr}"),
        }
    }
}
