//! A small world for policy tests: three regions (eu in Frankfurt, us in New York, ap in
//! Singapore), each with two IPv4 endpoints and one IPv6 endpoint, all healthy with leases
//! far in the future; and helpers to compile records and read decisions.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::IpAddr;

use gslb_dns::client::{ClientFacts, ClientOrigin};
use gslb_dns::policy::{CompiledRecord, Decision, HealthInput, HealthStatus, PolicyInputs, Votes};
use gslb_model::model::{
    AdminState, DomainName, Endpoint, EndpointTarget, GslbRecord, Location, Region,
};

/// "Now" in every test, leader-clock unix millis.
pub const NOW: u64 = 1_800_000_000_000;

/// The regions: id, lat, lon, country, continent, declared capacity.
pub const REGIONS: [(&str, f64, f64, &str, &str); 3] = [
    ("eu", 50.11, 8.68, "DE", "EU"),
    ("us", 40.71, -74.01, "US", "NA"),
    ("ap", 1.35, 103.82, "SG", "AS"),
];

/// The model maps of the world.
pub fn model() -> (BTreeMap<String, Region>, BTreeMap<String, Endpoint>) {
    let mut regions = BTreeMap::new();
    let mut endpoints = BTreeMap::new();
    for (index, (id, lat, lon, country, continent)) in REGIONS.iter().enumerate() {
        regions.insert(
            id.to_string(),
            Region {
                id: id.to_string(),
                location: Location {
                    lat_micro: (lat * 1e6) as i32,
                    lon_micro: (lon * 1e6) as i32,
                    country: country.to_string(),
                    continent: continent.to_string(),
                },
                capacity: None,
                min_healthy: None,
            },
        );
        for n in 1..=2u8 {
            let endpoint_id = format!("{id}-{n}");
            endpoints.insert(
                endpoint_id.clone(),
                endpoint(&endpoint_id, id, &format!("10.{index}.0.{n}")),
            );
        }
        let v6 = format!("{id}-v6");
        endpoints.insert(
            v6.clone(),
            endpoint(&v6, id, &format!("2001:db8:{index}::1")),
        );
    }
    (regions, endpoints)
}

/// One enabled endpoint of weight 1.
pub fn endpoint(id: &str, region: &str, address: &str) -> Endpoint {
    Endpoint {
        id: id.to_string(),
        region: region.to_string(),
        target: EndpointTarget::Address(address.parse().unwrap()),
        weight: 1,
        admin: AdminState::Enabled,
        labels: BTreeMap::new(),
    }
}

/// The world as policy inputs, everything healthy with a lease an hour long.
pub fn world() -> PolicyInputs {
    let (regions, endpoints) = model();
    let mut inputs = PolicyInputs::from_model(&regions, &endpoints, &BTreeMap::new()).unwrap();
    for region in &mut inputs.regions {
        region.health = up();
        region.lease_expires_at = Some(NOW + 3_600_000);
    }
    for endpoint in &mut inputs.endpoints {
        endpoint.health = up();
    }
    inputs
}

/// Healthy by 3 of 3 votes.
pub fn up() -> HealthInput {
    HealthInput {
        status: HealthStatus::Up,
        votes: Votes {
            up: 3,
            down: 0,
            stale: 0,
            total: 3,
            quorum: 2,
        },
        since: Some(NOW - 60_000),
    }
}

/// Down by 3 of 3 votes.
pub fn down() -> HealthInput {
    HealthInput {
        status: HealthStatus::Down,
        votes: Votes {
            up: 0,
            down: 3,
            stale: 0,
            total: 3,
            quorum: 2,
        },
        since: Some(NOW - 60_000),
    }
}

/// Sets a region's deep-check health.
pub fn set_region(inputs: &mut PolicyInputs, id: &str, health: HealthInput) {
    inputs.region_mut(id).unwrap().health = health;
}

/// Sets an endpoint's health.
pub fn set_endpoint(inputs: &mut PolicyInputs, id: &str, health: HealthInput) {
    inputs.endpoint_mut(id).unwrap().health = health;
}

/// Parses a record; `policy` is the JSON of the policy tree, `extra` more top-level fields.
pub fn record(policy: &str, extra: &str) -> GslbRecord {
    let json = format!(
        r#"{{"name":"www.svc.example.","type":"A","ttl":60,"policy":{policy}{}{extra}}}"#,
        if extra.is_empty() { "" } else { "," }
    );
    serde_json::from_str(&json).unwrap_or_else(|error| panic!("{json}: {error}"))
}

/// Compiles a record against `inputs`.
pub fn compile(policy: &str, extra: &str, inputs: &PolicyInputs) -> CompiledRecord {
    CompiledRecord::compile(&record(policy, extra), inputs).unwrap()
}

/// A client known only by its transport address.
pub fn client(addr: &str) -> ClientFacts {
    let addr: IpAddr = addr.parse().unwrap();
    ClientFacts::bare(addr, 128, ClientOrigin::Transport)
}

/// The answered endpoint ids.
pub fn answers<'a>(decision: &Decision, inputs: &'a PolicyInputs) -> Vec<&'a str> {
    decision
        .answers
        .iter()
        .map(|e| inputs.endpoints[e].id.as_str())
        .collect()
}

/// The region of the first answer, or "-" for none.
pub fn region_of<'a>(decision: &Decision, inputs: &'a PolicyInputs) -> &'a str {
    decision.answers.iter().next().map_or("-", |e| {
        inputs.regions[inputs.endpoints[e].region].id.as_str()
    })
}

/// A domain name.
pub fn name(text: &str) -> DomainName {
    DomainName::parse_absolute(text).unwrap()
}
