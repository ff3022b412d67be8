//! Client networks on the wire: `NetworkDto`, one entry of the replicated CIDR → location
//! table with its coordinates in degrees (the model keeps integer micro-degrees, so the
//! value survives JSON round trips bit for bit).

use std::collections::BTreeMap;

use gslb_model::ip::Cidr;
use gslb_model::model::{FieldErrors, Network};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One client network, where its clients are, and how far from each region; give at least
/// one fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkDto {
    /// The network in CIDR notation, host bits zero (`198.51.100.0/24`, `2001:db8::/32`).
    /// It is the id: `/v1/networks/198.51.100.0%2F24` (the `/` percent-encoded).
    pub cidr: String,
    /// Continent code: AF, AN, AS, EU, NA, OC or SA.
    #[schema(pattern = r"^(AF|AN|AS|EU|NA|OC|SA)$")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continent: Option<String>,
    /// ISO 3166-1 alpha-2 country code, upper case (`DE`).
    #[schema(pattern = r"^[A-Z]{2}$")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// ISO 3166-2 subdivision with its country, upper case (`DE-BY`).
    #[schema(pattern = r"^[A-Z]{2}-[A-Z0-9]{1,3}$")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdivision: Option<String>,
    /// Autonomous system number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// Latitude in degrees, -90..90 (kept to 6 decimals; with `lon`).
    #[schema(minimum = -90.0, maximum = 90.0)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Longitude in degrees, -180..180 (kept to 6 decimals; with `lat`).
    #[schema(minimum = -180.0, maximum = 180.0)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// Round-trip time from this network to regions in milliseconds (0..=60000), by region
    /// id: `latency` policies order regions by it for clients inside the network. An entry
    /// with only RTTs places nobody (geo lookups pass over it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rtt_ms: BTreeMap<String, u32>,
}

/// Degrees to micro-degrees, refusing what is out of `limit`.
fn micro(path: &str, value: Option<f64>, limit: f64, errors: &mut FieldErrors) -> Option<i32> {
    let value = value?;
    if !value.is_finite() || value.abs() > limit {
        errors.push(
            path,
            format!("must be within ±{limit} degrees, got {value}"),
        );
        return None;
    }
    Some((value * 1e6).round() as i32)
}

/// The canonical text of a CIDR given by a user, or the reason it is not one.
pub fn parse_cidr(text: &str) -> Result<Cidr, String> {
    text.trim()
        .parse::<Cidr>()
        .map_err(|error| error.to_string())
}

impl NetworkDto {
    /// Converts to the model; the CIDR and coordinate ranges are checked here, the codes by
    /// the store (which names the same fields).
    pub fn to_model(&self, path: &str) -> Result<Network, FieldErrors> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        let mut errors = FieldErrors::default();
        let lat_micro = micro(&format!("{prefix}lat"), self.lat, 90.0, &mut errors);
        let lon_micro = micro(&format!("{prefix}lon"), self.lon, 180.0, &mut errors);
        match (self.lat, self.lon) {
            (Some(_), None) => {
                errors.push(format!("{prefix}lon"), "missing; give lat and lon together")
            }
            (None, Some(_)) => {
                errors.push(format!("{prefix}lat"), "missing; give lat and lon together")
            }
            _ => {}
        }
        let cidr = match parse_cidr(&self.cidr) {
            Ok(cidr) => cidr,
            Err(message) => {
                errors.push(format!("{prefix}cidr"), message);
                return Err(errors);
            }
        };
        errors.into_result()?;
        Ok(Network {
            cidr,
            continent: self.continent.clone(),
            country: self.country.clone(),
            subdivision: self.subdivision.clone(),
            asn: self.asn,
            lat_micro,
            lon_micro,
            rtt_ms: self.rtt_ms.clone(),
        })
    }

    /// The DTO of a model entry.
    pub fn from_model(network: &Network) -> NetworkDto {
        let (lat, lon) = network.lat_lon_degrees().unzip();
        NetworkDto {
            cidr: network.cidr.to_string(),
            continent: network.continent.clone(),
            country: network.country.clone(),
            subdivision: network.subdivision.clone(),
            asn: network.asn,
            lat,
            lon,
            rtt_ms: network.rtt_ms.clone(),
        }
    }
}
