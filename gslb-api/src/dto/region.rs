//! Regions on the wire: `RegionDto` with its location in degrees (the model keeps integer
//! micro-degrees, so the value survives JSON round trips bit for bit).

use gslb_model::model::{FieldErrors, Location, Region};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionDto {
    /// Stable id, a slug (`eu-west-1`).
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]{0,62}$")]
    pub id: String,
    /// Where it is.
    pub location: LocationDto,
    /// Declared capacity (> 0), e.g. nodes behind its load balancer; omit when checks report it.
    #[schema(minimum = 1)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// Enabled endpoints that must be up for the region to be up (≥ 1; default 1).
    #[schema(minimum = 1)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_healthy: Option<u32>,
}

/// A point on the globe with its country and continent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationDto {
    /// Latitude in degrees, -90..90 (kept to 6 decimals).
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: f64,
    /// Longitude in degrees, -180..180 (kept to 6 decimals).
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: f64,
    /// ISO 3166-1 alpha-2 country code, upper case (`DE`).
    #[schema(pattern = r"^[A-Z]{2}$")]
    pub country: String,
    /// Continent code: AF, AN, AS, EU, NA, OC or SA.
    #[schema(pattern = r"^(AF|AN|AS|EU|NA|OC|SA)$")]
    pub continent: String,
}

/// Degrees to micro-degrees, refusing what is out of `limit`.
fn micro(path: &str, value: f64, limit: f64, errors: &mut FieldErrors) -> i32 {
    if !value.is_finite() || value.abs() > limit {
        errors.push(
            path,
            format!("must be within ±{limit} degrees, got {value}"),
        );
        return 0;
    }
    (value * 1e6).round() as i32
}

impl RegionDto {
    /// Converts to the model; range faults are reported here, the rest by the store.
    pub fn to_model(&self, path: &str) -> Result<Region, FieldErrors> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        let mut errors = FieldErrors::default();
        let lat_micro = micro(
            &format!("{prefix}location.lat"),
            self.location.lat,
            90.0,
            &mut errors,
        );
        let lon_micro = micro(
            &format!("{prefix}location.lon"),
            self.location.lon,
            180.0,
            &mut errors,
        );
        errors.into_result()?;
        Ok(Region {
            id: self.id.clone(),
            location: Location {
                lat_micro,
                lon_micro,
                country: self.location.country.clone(),
                continent: self.location.continent.clone(),
            },
            capacity: self.capacity,
            min_healthy: self.min_healthy,
        })
    }

    /// The DTO of a model region.
    pub fn from_model(region: &Region) -> RegionDto {
        RegionDto {
            id: region.id.clone(),
            location: LocationDto {
                lat: region.location.lat_degrees(),
                lon: region.location.lon_degrees(),
                country: region.location.country.clone(),
                continent: region.location.continent.clone(),
            },
            capacity: region.capacity,
            min_healthy: region.min_healthy,
        }
    }
}
