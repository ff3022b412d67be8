//! `Region`: a place that serves traffic (one per data centre / cloud region), with where it is
//! and how much it can take.
//!
//! Health of a region (deep checks, leases) is derived elsewhere and plugs in by region id;
//! nothing here says whether a region is up.

use serde::{Deserialize, Serialize};

use crate::model::ident::validate_id;
use crate::model::validation::FieldErrors;

/// One region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Stable id, a slug (`eu-west-1`); endpoints and policies refer to it.
    pub id: String,
    /// Where the region is, for proximity and geo policies and for `drill plan` maps.
    pub location: Location,
    /// Declared capacity in arbitrary units (e.g. nodes behind the L4 LB); `None` when only
    /// checks report it. Spill on failure is proportional to spare capacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// Enabled endpoints that must be up for the region to be up (default 1): a region of
    /// eight endpoints that can only carry its load with five says `5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_healthy: Option<u32>,
}

/// A point on the globe with its country and continent.
///
/// Coordinates are integer micro-degrees so the value is exact through JSON round trips (the
/// Raft log and snapshots must reproduce `State` bit for bit on every node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Latitude in millionths of a degree, -90_000_000..=90_000_000.
    pub lat_micro: i32,
    /// Longitude in millionths of a degree, -180_000_000..=180_000_000.
    pub lon_micro: i32,
    /// ISO 3166-1 alpha-2 country code, upper case (`DE`).
    pub country: String,
    /// Continent code as GeoIP databases use it: `AF`, `AN`, `AS`, `EU`, `NA`, `OC`, `SA`.
    pub continent: String,
}

/// The continent codes GeoIP databases use.
pub const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

impl Location {
    /// Latitude in degrees.
    pub fn lat_degrees(&self) -> f64 {
        f64::from(self.lat_micro) / 1e6
    }

    /// Longitude in degrees.
    pub fn lon_degrees(&self) -> f64 {
        f64::from(self.lon_micro) / 1e6
    }

    /// Checks ranges and codes, reporting under `path` (e.g. `location`).
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        if !(-90_000_000..=90_000_000).contains(&self.lat_micro) {
            errors.push(
                format!("{path}.lat_micro"),
                format!("must be within ±90 degrees, got {}", self.lat_micro),
            );
        }
        if !(-180_000_000..=180_000_000).contains(&self.lon_micro) {
            errors.push(
                format!("{path}.lon_micro"),
                format!("must be within ±180 degrees, got {}", self.lon_micro),
            );
        }
        if self.country.len() != 2 || !self.country.bytes().all(|b| b.is_ascii_uppercase()) {
            errors.push(
                format!("{path}.country"),
                format!(
                    "must be an ISO 3166-1 alpha-2 code in upper case, got {:?}",
                    self.country
                ),
            );
        }
        if !CONTINENTS.contains(&self.continent.as_str()) {
            errors.push(
                format!("{path}.continent"),
                format!(
                    "must be one of {}, got {:?}",
                    CONTINENTS.join(", "),
                    self.continent
                ),
            );
        }
    }
}

impl Region {
    /// Checks the region on its own, reporting under `path` (`""` for the top level).
    pub fn validate(&self, path: &str, errors: &mut FieldErrors) {
        let prefix = crate::model::ident::prefix(path);
        validate_id(&format!("{prefix}id"), &self.id, errors);
        self.location.validate(&format!("{prefix}location"), errors);
        if self.capacity == Some(0) {
            errors.push(
                format!("{prefix}capacity"),
                "must be > 0 when given, got 0 (omit it instead)",
            );
        }
        if self.min_healthy == Some(0) {
            errors.push(
                format!("{prefix}min_healthy"),
                "must be at least 1 when given, got 0 (omit it for the default of 1)",
            );
        }
    }
}
