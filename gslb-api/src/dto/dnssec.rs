//! DNSSEC on the wire: how signing is enabled (`DnssecEnable`) and what a zone's signing
//! looks like (`DnssecStatusDto`: its keys with their DNSKEY and DS records in presentation
//! format, what the parent should hold, and the rollover in progress). Private keys never
//! appear here.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use gslb_dns::dnssec::{dnskey_presentation, ds_presentation, DigestType, DNSKEY_TTL};
use gslb_model::model::{DnssecKey, DomainName, KeyState, ZoneKeys};

/// `POST /v1/zones/{zone}/dnssec`: start signing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnssecEnable {
    /// `ecdsap256sha256` (algorithm 13, the default) or `ed25519` (15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
}

/// `POST /v1/zones/{zone}/dnssec/rollover`: the next rollover step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnssecRollover {
    /// Finish a rollover before the DNSKEY TTL has passed since it started (resolvers
    /// that cached the old DNSKEY set may fail to validate until it expires).
    #[serde(default)]
    pub force: bool,
}

/// One key of a signed zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DnssecKeyDto {
    /// Key tag.
    pub tag: u16,
    /// Algorithm name (`ecdsap256sha256`, `ed25519`).
    pub algorithm: String,
    /// Algorithm number (13, 15).
    pub algorithm_number: u8,
    /// DNSKEY flags (257: CSK/KSK, 256: ZSK).
    pub flags: u16,
    /// `csk`, `ksk` or `zsk`.
    pub role: String,
    /// `published`, `active` or `retired`.
    pub state: String,
    /// Leader time (unix millis) it was generated.
    pub created_at: u64,
    /// Its DNSKEY record in presentation format.
    pub dnskey: String,
    /// Its DS records (SHA-256, SHA-384) in presentation format, for a secure entry point.
    pub ds: Vec<String>,
}

/// A zone's signing status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DnssecStatusDto {
    /// The zone's apex.
    pub zone: String,
    /// True when the zone is signed.
    pub signed: bool,
    /// Its keys, oldest first.
    pub keys: Vec<DnssecKeyDto>,
    /// The DNSKEY RRset in presentation format.
    pub dnskey: Vec<String>,
    /// The DS records the parent should hold (both digest types of every entry-point key
    /// not retired), in presentation format; the zone also publishes them as CDS.
    pub ds: Vec<String>,
    /// Leader time (unix millis) signing was enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_at: Option<u64>,
    /// Leader time (unix millis) of the last rollover step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rollover_at: Option<u64>,
    /// What the next rollover step is, in words.
    pub next_rollover: String,
    /// The state version this status was read at (after a write: the version it produced,
    /// or later), for waiting until every DNS node serves it.
    pub version: u64,
}

impl DnssecStatusDto {
    /// The status of `zone` with `keys` (`None`: unsigned).
    pub fn from_model(zone: &DomainName, keys: Option<&ZoneKeys>, version: u64) -> DnssecStatusDto {
        let Some(keys) = keys else {
            return DnssecStatusDto {
                zone: zone.to_string(),
                signed: false,
                keys: Vec::new(),
                dnskey: Vec::new(),
                ds: Vec::new(),
                enabled_at: None,
                last_rollover_at: None,
                next_rollover: "none: the zone is not signed".to_string(),
                version,
            };
        };
        let dtos: Vec<DnssecKeyDto> = keys
            .keys
            .iter()
            .map(|key| key_dto(zone, keys, key))
            .collect();
        let ds = keys
            .keys
            .iter()
            .filter(|key| key.is_entry_point() && key.state != KeyState::Retired)
            .flat_map(|key| ds_records(zone, key))
            .collect();
        let next_rollover = if keys.keys.len() > 1 {
            format!(
                "in progress: put the DS of key {} at the parent, wait its TTL, then \
                 `gslbctl dnssec rollover {zone}` again to remove the old key",
                keys.keys.last().map_or(0, |key| key.tag)
            )
        } else {
            format!("on demand: `gslbctl dnssec rollover {zone}` starts a CSK double-DS rollover")
        };
        DnssecStatusDto {
            zone: zone.to_string(),
            signed: true,
            dnskey: dtos.iter().map(|key| key.dnskey.clone()).collect(),
            keys: dtos,
            ds,
            enabled_at: Some(keys.enabled_at),
            last_rollover_at: keys.last_rollover_at,
            next_rollover,
            version,
        }
    }
}

/// The DS records (SHA-256 then SHA-384) of `key`.
fn ds_records(zone: &DomainName, key: &DnssecKey) -> Vec<String> {
    [DigestType::Sha256, DigestType::Sha384]
        .into_iter()
        .map(|digest| ds_presentation(zone, key, digest))
        .collect()
}

/// One key's DTO.
fn key_dto(zone: &DomainName, keys: &ZoneKeys, key: &DnssecKey) -> DnssecKeyDto {
    let has_zsk = keys.keys.iter().any(|other| !other.is_entry_point());
    let role = match (key.is_entry_point(), has_zsk) {
        (false, _) => "zsk",
        (true, true) => "ksk",
        (true, false) => "csk",
    };
    DnssecKeyDto {
        tag: key.tag,
        algorithm: key.algorithm.name().to_string(),
        algorithm_number: key.algorithm.number(),
        flags: key.flags,
        role: role.to_string(),
        state: match key.state {
            KeyState::Published => "published",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
        }
        .to_string(),
        created_at: key.created_at,
        dnskey: dnskey_presentation(zone, key, DNSKEY_TTL),
        ds: if key.is_entry_point() {
            ds_records(zone, key)
        } else {
            Vec::new()
        },
    }
}
