//! Endpoints on the wire: `EndpointDto`, with the target as either `address` or `cname`.

use std::collections::BTreeMap;

use gslb_model::model::{AdminState, DomainName, Endpoint, EndpointTarget, FieldErrors};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One endpoint: what an answer carries when it is chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointDto {
    /// Stable id, a slug.
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]{0,62}$")]
    pub id: String,
    /// The region it lives in; must exist.
    #[schema(pattern = r"^[a-z0-9][a-z0-9._-]{0,62}$")]
    pub region: String,
    /// An IPv4 or IPv6 address (answered as A/AAAA); exactly one of `address` and `cname`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// An absolute name (answered as CNAME); exactly one of `address` and `cname`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    /// Relative share in weighted choices, 0-1000000 (default 1; 0 = standby).
    #[serde(default = "default_weight")]
    #[schema(maximum = 1_000_000)]
    pub weight: u32,
    /// False keeps it out of every answer whatever its health (default true).
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// Free-form labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

fn default_weight() -> u32 {
    1
}
fn default_enabled() -> bool {
    true
}

impl EndpointDto {
    /// Converts to the model; target faults are reported here, the rest by the store.
    pub fn to_model(&self, path: &str) -> Result<Endpoint, FieldErrors> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        let mut errors = FieldErrors::default();
        let target = match (&self.address, &self.cname) {
            (Some(address), None) => match address.parse() {
                Ok(address) => Some(EndpointTarget::Address(address)),
                Err(_) => {
                    errors.push(
                        format!("{prefix}address"),
                        format!("must be an IPv4 or IPv6 address, got {address:?}"),
                    );
                    None
                }
            },
            (None, Some(cname)) => match DomainName::parse_absolute(cname) {
                Ok(name) => Some(EndpointTarget::Cname(name)),
                Err(error) => {
                    errors.push(format!("{prefix}cname"), error.to_string());
                    None
                }
            },
            (Some(_), Some(_)) => {
                errors.push(
                    format!("{prefix}cname"),
                    "give either address or cname, not both",
                );
                None
            }
            (None, None) => {
                errors.push(format!("{prefix}address"), "give an address or a cname");
                None
            }
        };
        let Some(target) = target else {
            return Err(errors);
        };
        Ok(Endpoint {
            id: self.id.clone(),
            region: self.region.clone(),
            target,
            weight: self.weight,
            admin: if self.enabled {
                AdminState::Enabled
            } else {
                AdminState::Disabled
            },
            labels: self.labels.clone(),
        })
    }

    /// The DTO of a model endpoint.
    pub fn from_model(endpoint: &Endpoint) -> EndpointDto {
        let (address, cname) = match &endpoint.target {
            EndpointTarget::Address(address) => (Some(address.to_string()), None),
            EndpointTarget::Cname(name) => (None, Some(name.to_string())),
        };
        EndpointDto {
            id: endpoint.id.clone(),
            region: endpoint.region.clone(),
            address,
            cname,
            weight: endpoint.weight,
            enabled: endpoint.admin == AdminState::Enabled,
            labels: endpoint.labels.clone(),
        }
    }
}
