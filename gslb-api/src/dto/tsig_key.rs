//! TSIG keys on the wire: how one is created (`TsigKeyCreate`; the secret is returned once,
//! in `TsigKeyCreated`, with the BIND `key` block `nsupdate -k` reads) and listed
//! (`TsigKeyDto`, never the secret).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use gslb_model::model::tsig_key::TsigKey;

/// A TSIG key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TsigKeyDto {
    /// The key name as clients give it (`acme-key`).
    pub name: String,
    /// `hmac-md5`, `hmac-sha1`, `hmac-sha224`, `hmac-sha256`, `hmac-sha384` or `hmac-sha512`.
    pub algorithm: String,
    /// What it may change by RFC 2136 UPDATE, each `ZONE[:PATTERN[:TYPE,...]]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub update: Vec<String>,
    /// Zones it may transfer (AXFR/IXFR).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfer: Vec<String>,
}

/// A request to create a TSIG key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TsigKeyCreate {
    /// The key name (a domain name; `acme-key` and `acme-key.` are the same key).
    pub name: String,
    /// The HMAC algorithm (default `hmac-sha256`).
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// What it may change by UPDATE: `ZONE[:PATTERN[:TYPE,...]]`, a `*` label in PATTERN
    /// standing for one or more labels (`acme.test:_acme-challenge.*:TXT`).
    #[serde(default)]
    pub update: Vec<String>,
    /// Zones it may transfer.
    #[serde(default)]
    pub transfer: Vec<String>,
    /// The secret in base64 (at least 16 octets); a random one as long as the hash is made
    /// when absent (the normal way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn default_algorithm() -> String {
    "hmac-sha256".to_string()
}

/// A created key with its secret: shown once, never listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TsigKeyCreated {
    /// The key name.
    pub name: String,
    /// The algorithm.
    pub algorithm: String,
    /// The secret, base64.
    pub secret: String,
    /// The key as a BIND `key "NAME" { algorithm ...; secret "..."; };` block.
    pub bind: String,
    /// The state version that holds it.
    pub version: u64,
}

impl TsigKeyDto {
    /// The DTO of a model key.
    pub fn from_model(key: &TsigKey) -> TsigKeyDto {
        TsigKeyDto {
            name: key.display_name(),
            algorithm: key.algorithm.to_string(),
            update: key.update.iter().map(|grant| grant.to_spec()).collect(),
            transfer: key.transfer.iter().map(ToString::to_string).collect(),
        }
    }
}
