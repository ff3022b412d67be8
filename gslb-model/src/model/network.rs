//! `Network`: one entry of the replicated client-network table, a CIDR and where the clients
//! inside it are (continent, country, subdivision, ASN, coordinates), and how far they are
//! from each region (`rtt_ms`: the client-network latency table `latency` policies prefer
//! to the probers' RTTs, as operators measure it with RUM or resolver-side probes).
//!
//! An entry with only `rtt_ms` places nobody: the location lookup skips it, so it never
//! hides a MaxMind answer for its network.
//!
//! DNS nodes and `/v1/resolve` locate a client by this table together with their own
//! `[[dns.geo.networks]]` config table (the longest prefix wins across both; at an equal
//! prefix the node's config entry wins) and only then by their GeoIP database. The table is
//! keyed by the network's canonical text (`198.51.100.0/24`, `2001:db8::/32`), so each network
//! appears once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ip::Cidr;
use crate::model::region::CONTINENTS;
use crate::model::validation::FieldErrors;

/// One client network and where its clients are. At least one fact must be given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// The network, host bits zero; its canonical text is the table key.
    pub cidr: Cidr,
    /// Continent code as GeoIP databases use it: `AF`, `AN`, `AS`, `EU`, `NA`, `OC`, `SA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continent: Option<String>,
    /// ISO 3166-1 alpha-2 country code, upper case (`DE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// ISO 3166-2 subdivision, upper case with its country (`DE-BY`); geo rules match it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdivision: Option<String>,
    /// Autonomous system number the network belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// Latitude in millionths of a degree (with `lon_micro`), for proximity policies.
    /// Integers keep the value exact through the Raft log's JSON, as `Location` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat_micro: Option<i32>,
    /// Longitude in millionths of a degree (with `lat_micro`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon_micro: Option<i32>,
    /// Round-trip time from this network to regions, milliseconds, by region id: `latency`
    /// policies order regions by it for clients inside the network (else by the answering
    /// node's probe RTTs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rtt_ms: BTreeMap<String, u32>,
}

/// The largest RTT an entry may give, milliseconds.
pub const MAX_RTT_MS: u32 = 60_000;

impl Network {
    /// The table key: the network's canonical text.
    pub fn key(&self) -> String {
        self.cidr.to_string()
    }

    /// Whether it says anything about where its clients are (else it only carries RTTs).
    pub fn has_location(&self) -> bool {
        self.continent.is_some()
            || self.country.is_some()
            || self.subdivision.is_some()
            || self.asn.is_some()
            || self.lat_micro.is_some()
    }

    /// Latitude and longitude in degrees, when both are given.
    pub fn lat_lon_degrees(&self) -> Option<(f64, f64)> {
        let lat = self.lat_micro?;
        let lon = self.lon_micro?;
        Some((f64::from(lat) / 1e6, f64::from(lon) / 1e6))
    }

    /// Checks the entry on its own, reporting under `path` (`""` for the top level): codes,
    /// ranges, coordinates given together, at least one fact, no IPv4-mapped IPv6 network
    /// (it would be a second key for an IPv4 network).
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        let prefix = crate::model::ident::prefix(path);
        if let std::net::IpAddr::V6(v6) = self.cidr.addr() {
            if v6.to_ipv4_mapped().is_some() && self.cidr.prefix() >= 96 {
                errors.push(
                    format!("{prefix}cidr"),
                    format!("{} is an IPv4-mapped network; write it as IPv4", self.cidr),
                );
            }
        }
        if let Some(continent) = &self.continent {
            if !CONTINENTS.contains(&continent.as_str()) {
                errors.push(
                    format!("{prefix}continent"),
                    format!(
                        "must be one of {}, got {continent:?}",
                        CONTINENTS.join(", ")
                    ),
                );
            }
        }
        if let Some(country) = &self.country {
            if !is_upper_letters(country, 2) {
                errors.push(
                    format!("{prefix}country"),
                    format!("must be an ISO 3166-1 alpha-2 code in upper case, got {country:?}"),
                );
            }
        }
        if let Some(subdivision) = &self.subdivision {
            let well_formed = subdivision.split_once('-').is_some_and(|(country, sub)| {
                is_upper_letters(country, 2)
                    && (1..=3).contains(&sub.len())
                    && sub
                        .bytes()
                        .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
            });
            if !well_formed {
                errors.push(
                    format!("{prefix}subdivision"),
                    format!(
                        "must be an ISO 3166-2 code in upper case such as \"DE-BY\", got \
                         {subdivision:?}"
                    ),
                );
            } else if let Some(country) = &self.country {
                if !subdivision.starts_with(&format!("{country}-")) {
                    errors.push(
                        format!("{prefix}subdivision"),
                        format!("{subdivision:?} is not in country {country:?}"),
                    );
                }
            }
        }
        if let Some(lat) = self.lat_micro {
            if !(-90_000_000..=90_000_000).contains(&lat) {
                errors.push(
                    format!("{prefix}lat_micro"),
                    format!("must be within ±90 degrees, got {lat}"),
                );
            }
        }
        if let Some(lon) = self.lon_micro {
            if !(-180_000_000..=180_000_000).contains(&lon) {
                errors.push(
                    format!("{prefix}lon_micro"),
                    format!("must be within ±180 degrees, got {lon}"),
                );
            }
        }
        match (self.lat_micro, self.lon_micro) {
            (Some(_), None) => errors.push(
                format!("{prefix}lon_micro"),
                "missing; give latitude and longitude together",
            ),
            (None, Some(_)) => errors.push(
                format!("{prefix}lat_micro"),
                "missing; give latitude and longitude together",
            ),
            _ => {}
        }
        for (region, rtt) in &self.rtt_ms {
            if *rtt > MAX_RTT_MS {
                errors.push(
                    format!("{prefix}rtt_ms.{region}"),
                    format!("must be at most {MAX_RTT_MS} ms, got {rtt}"),
                );
            }
        }
        if !self.has_location() && self.lon_micro.is_none() && self.rtt_ms.is_empty() {
            errors.push(
                format!("{prefix}cidr"),
                "must give at least one of continent, country, subdivision, asn, lat and lon, \
                 or rtt_ms",
            );
        }
    }
}

/// True when `text` is exactly `n` ASCII upper-case letters.
fn is_upper_letters(text: &str, n: usize) -> bool {
    text.len() == n && text.bytes().all(|byte| byte.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network() -> Network {
        Network {
            cidr: "198.51.100.0/24".parse().unwrap(),
            continent: Some("EU".into()),
            country: Some("DE".into()),
            subdivision: Some("DE-BY".into()),
            asn: Some(64_500),
            lat_micro: Some(48_137_000),
            lon_micro: Some(11_575_000),
            rtt_ms: BTreeMap::new(),
        }
    }

    /// Validates `network` and returns the faults as `path: message` lines.
    fn check(network: &Network) -> Vec<String> {
        let mut errors = FieldErrors::default();
        network.validate("network", &mut errors);
        errors
            .0
            .iter()
            .map(|error| format!("{}: {}", error.path, error.message))
            .collect()
    }

    #[test]
    fn a_full_entry_is_valid_and_keyed_by_its_canonical_text() {
        assert!(check(&network()).is_empty());
        assert_eq!(network().key(), "198.51.100.0/24");
        let v6 = Network {
            cidr: "2001:DB8::/32".parse().unwrap(),
            ..network()
        };
        assert_eq!(v6.key(), "2001:db8::/32");
        assert_eq!(network().lat_lon_degrees(), Some((48.137, 11.575)));
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = Network {
            cidr: "::ffff:198.51.100.0/120".parse().unwrap(),
            continent: Some("XX".into()),
            country: Some("Germany".into()),
            subdivision: Some("BY".into()),
            asn: None,
            lat_micro: Some(91_000_000),
            lon_micro: None,
            rtt_ms: Default::default(),
        };
        let faults = check(&bad);
        for field in [
            "network.cidr: ::ffff:198.51.100.0/120 is an IPv4-mapped network",
            "network.continent: must be one of AF, AN, AS, EU, NA, OC, SA, got \"XX\"",
            "network.country: must be an ISO 3166-1 alpha-2 code",
            "network.subdivision: must be an ISO 3166-2 code",
            "network.lat_micro: must be within ±90 degrees, got 91000000",
            "network.lon_micro: missing; give latitude and longitude together",
        ] {
            assert!(
                faults.iter().any(|fault| fault.starts_with(field)),
                "{field} not in {faults:#?}"
            );
        }
        let elsewhere = Network {
            subdivision: Some("FR-IDF".into()),
            ..network()
        };
        assert_eq!(
            check(&elsewhere),
            ["network.subdivision: \"FR-IDF\" is not in country \"DE\""]
        );
        let empty = Network {
            cidr: "10.0.0.0/8".parse().unwrap(),
            continent: None,
            country: None,
            subdivision: None,
            asn: None,
            lat_micro: None,
            lon_micro: None,
            rtt_ms: Default::default(),
        };
        assert_eq!(
            check(&empty),
            [
                "network.cidr: must give at least one of continent, country, subdivision, asn, \
              lat and lon, or rtt_ms"
            ]
        );
        let latency_only = Network {
            rtt_ms: [("eu".to_string(), 12), ("us".to_string(), 60_001)].into(),
            ..empty.clone()
        };
        assert_eq!(
            check(&latency_only),
            ["network.rtt_ms.us: must be at most 60000 ms, got 60001"],
            "RTTs alone are a fact; each is bounded"
        );
        assert!(!latency_only.has_location());
        let far = Network {
            lon_micro: Some(-180_000_001),
            ..network()
        };
        assert_eq!(
            check(&far),
            ["network.lon_micro: must be within ±180 degrees, got -180000001"]
        );
    }

    #[test]
    fn bad_cidrs_never_become_networks() {
        let parse = |json: &str| {
            serde_json::from_str::<Network>(json)
                .unwrap_err()
                .to_string()
        };
        assert!(parse(r#"{"cidr":"198.51.100.1/24","country":"DE"}"#).contains("host bits set"));
        assert!(parse(r#"{"cidr":"198.51.100.0/33","country":"DE"}"#).contains("bad prefix"));
        assert!(parse(r#"{"cidr":"nonsense","country":"DE"}"#).contains("no '/prefix'"));
    }
}
