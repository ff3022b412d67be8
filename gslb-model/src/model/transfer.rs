//! Zone transfers as replicated data: who may AXFR/IXFR a zone and which secondaries get
//! NOTIFY (`ZoneTransfer`, part of a `Zone`). The differences IXFR answers from are in
//! `zone_history`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ip::Cidr;
use crate::model::name::DomainName;
use crate::model::validation::FieldErrors;

/// Most entries in one zone's allow or notify list.
pub const MAX_TRANSFER_PEERS: usize = 64;

/// A zone's transfer settings (`gslbctl zone transfer`). Empty: nobody may transfer the
/// zone and nobody is notified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneTransfer {
    /// Who may AXFR/IXFR the zone: a TSIG key by name, or a source network.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<TransferPeer>,
    /// Secondaries sent a NOTIFY (RFC 1996) on every serial change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<SocketAddr>,
    /// GSLB names left out of transfers (by default a transfer carries each GSLB name as the
    /// answer a client of unknown location gets at that moment).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub omit_gslb: Vec<DomainName>,
    /// The TSIG key (name, lower case, no final dot) NOTIFY messages to this zone's
    /// secondaries are signed with, for secondaries that accept only signed NOTIFY (Knot's
    /// `acl` with a `key`, BIND's `allow-notify { key k; }`); `None`: unsigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_key: Option<String>,
}

impl ZoneTransfer {
    /// True when nothing is configured.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty()
            && self.notify.is_empty()
            && self.omit_gslb.is_empty()
            && self.notify_key.is_none()
    }

    /// Whether a request from `source`, signed with the verified key `key` (if any, its name
    /// without the trailing dot), may transfer the zone.
    pub fn allows(&self, source: IpAddr, key: Option<&str>) -> bool {
        self.allow.iter().any(|peer| match peer {
            TransferPeer::Network(network) => network.contains(source),
            TransferPeer::Key(name) => key.is_some_and(|key| key.eq_ignore_ascii_case(name)),
        })
    }

    /// Checks list sizes, duplicates and that omitted names lie in the zone at `apex`.
    pub fn validate(&self, apex: &DomainName, path: &str, errors: &mut FieldErrors) {
        for (field, len) in [("allow", self.allow.len()), ("notify", self.notify.len())] {
            if len > MAX_TRANSFER_PEERS {
                errors.push(
                    format!("{path}{field}"),
                    format!("at most {MAX_TRANSFER_PEERS} entries, got {len}"),
                );
            }
        }
        for (index, peer) in self.allow.iter().enumerate() {
            if self.allow[..index].contains(peer) {
                errors.push(
                    format!("{path}allow[{index}]"),
                    format!("{peer} is listed twice"),
                );
            }
        }
        for (index, target) in self.notify.iter().enumerate() {
            if self.notify[..index].contains(target) {
                errors.push(
                    format!("{path}notify[{index}]"),
                    format!("{target} is listed twice"),
                );
            }
            if target.port() == 0 {
                errors.push(
                    format!("{path}notify[{index}]"),
                    "port 0 cannot be notified",
                );
            }
        }
        for (index, name) in self.omit_gslb.iter().enumerate() {
            if !name.is_subdomain_of(apex) {
                errors.push(
                    format!("{path}omit_gslb[{index}]"),
                    format!("{name} is outside zone {apex}"),
                );
            }
        }
    }
}

/// One entry of a zone's allow list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferPeer {
    /// Requests signed with this TSIG key (verified) may transfer; written `key:NAME`.
    Key(String),
    /// Requests from this source network may transfer; written as a CIDR or an address.
    Network(Cidr),
}

impl fmt::Display for TransferPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferPeer::Key(name) => write!(f, "key:{name}"),
            TransferPeer::Network(network) => write!(f, "{network}"),
        }
    }
}

impl FromStr for TransferPeer {
    type Err = String;

    /// `key:NAME`, `ADDR/LEN` or a bare address (a host).
    fn from_str(text: &str) -> Result<TransferPeer, String> {
        if let Some(name) = text.strip_prefix("key:") {
            return parse_key_name(name)
                .map(TransferPeer::Key)
                .map_err(|error| format!("{text:?}: {error}"));
        }
        Cidr::parse_host_or_network(text)
            .map(TransferPeer::Network)
            .map_err(|error| format!("{text:?} is neither key:NAME nor a network: {error}"))
    }
}

impl Serialize for TransferPeer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TransferPeer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TransferPeer, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A TSIG key's name as transfer settings keep it: lower case, without the final dot.
///
/// Not `tsig_key::parse_key_name` (a `DomainName`, every label rule checked) on purpose: an
/// allow entry may name a key not created yet (it allows nothing until then), so it only has
/// to compare with verified keys' names (`allows`); and this also reads the replicated state
/// back (`TransferPeer`'s `Deserialize`), where a stricter rule than earlier versions applied
/// could refuse to load what they stored.
pub fn parse_key_name(text: &str) -> Result<String, String> {
    let name = text.trim_end_matches('.');
    if name.is_empty() || name.len() > 253 {
        return Err(format!("key name {text:?} must be 1 to 253 characters"));
    }
    Ok(name.to_ascii_lowercase())
}

/// Parses a NOTIFY target, `ADDR` (port 53) or `ADDR:PORT` (`[V6]:PORT` for IPv6).
pub fn parse_notify_target(text: &str) -> Result<SocketAddr, String> {
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(address);
    }
    text.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("{text:?} is not ADDR or ADDR:PORT"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_parse_and_print_both_ways() {
        for text in ["key:xfr-key", "192.0.2.0/24", "2001:db8::/32"] {
            let peer: TransferPeer = text.parse().unwrap();
            assert_eq!(peer.to_string(), text);
        }
        assert_eq!(
            "127.0.0.1".parse::<TransferPeer>().unwrap().to_string(),
            "127.0.0.1/32"
        );
        assert!("key:".parse::<TransferPeer>().is_err());
        assert!("192.0.2.1/24".parse::<TransferPeer>().is_err());
        assert_eq!(
            parse_notify_target("127.0.0.1").unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_notify_target("[::1]:5300").unwrap(),
            "[::1]:5300".parse().unwrap()
        );
    }

    #[test]
    fn a_key_entry_allows_only_that_verified_key() {
        let transfer = ZoneTransfer {
            allow: vec!["key:sec".parse().unwrap(), "10.0.0.0/8".parse().unwrap()],
            ..Default::default()
        };
        let outside: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(transfer.allows("10.1.2.3".parse().unwrap(), None));
        assert!(!transfer.allows(outside, None));
        assert!(transfer.allows(outside, Some("SEC")));
        assert!(!transfer.allows(outside, Some("other")));
    }
}
