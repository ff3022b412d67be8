//! Builders shared by the command tests: a region, an endpoint, a zone, GSLB records, drills,
//! networks, and `run`, which applies commands in order from an empty state.

use super::*;
use crate::model::endpoint::{AdminState, EndpointTarget};
use crate::model::gslb_record::PolicyNode;
use crate::model::record::RData;
use crate::model::region::Location;
use crate::model::zone::Soa;

use crate::model::audit::Actor;
use crate::model::drill::{Drill, DrillMode, DrillStatus};
use crate::model::endpoint::Endpoint;
use crate::model::gslb_record::{GslbRecord, WhenAllDown};
use crate::model::name::DomainName;
use crate::model::network::Network;
use crate::model::record::{RecordSet, RecordType};
use crate::model::region::Region;
use crate::model::state::State;
use crate::model::zone::Zone;

pub(super) fn name(text: &str) -> DomainName {
    DomainName::parse_absolute(text).unwrap()
}

pub(super) fn region(id: &str) -> Region {
    Region {
        id: id.to_string(),
        location: Location {
            lat_micro: 52_520_000,
            lon_micro: 13_405_000,
            country: "DE".to_string(),
            continent: "EU".to_string(),
        },
        capacity: None,
        min_healthy: None,
    }
}

pub(super) fn endpoint(id: &str, region: &str) -> Endpoint {
    Endpoint {
        id: id.to_string(),
        region: region.to_string(),
        target: EndpointTarget::Address("192.0.2.10".parse().unwrap()),
        weight: 10,
        admin: AdminState::Enabled,
        labels: Default::default(),
    }
}

pub(super) fn zone() -> Zone {
    Zone {
        serial_policy: Default::default(),
        transfer: Default::default(),
        apex: name("example.com."),
        soa: Soa {
            mname: name("ns1.example.com."),
            rname: name("hostmaster.example.com."),
            serial: 1,
            refresh: 3600,
            retry: 600,
            expire: 86400,
            minimum: 300,
            ttl: 3600,
        },
        default_ttl: 300,
        rrsets: vec![RecordSet {
            name: name("example.com."),
            rtype: RecordType::NS,
            ttl: 300,
            rdata: vec![RData::NS(name("ns1.example.com."))],
        }]
        .into(),
    }
}

pub(super) fn stamped(command: Command, at: u64) -> StampedCommand {
    StampedCommand {
        at,
        actor: Actor::new("alice"),
        command,
    }
}

/// Applies `commands` in order from an empty state at indexes 1, 2, ...
pub(super) fn run(commands: Vec<Command>) -> (State, Vec<Result<CmdResult, ApplyError>>) {
    let mut state = State::default();
    let results = commands
        .into_iter()
        .enumerate()
        .map(|(index, command)| {
            let index = index as u64 + 1;
            let result = apply(&mut state, &stamped(command, 1000 * index), index);
            state.version = index;
            result
        })
        .collect();
    (state, results)
}

pub(super) fn messages(result: &Result<CmdResult, ApplyError>) -> Vec<String> {
    match result {
        Err(ApplyError::Rejected(errors)) => errors.0.iter().map(|e| e.to_string()).collect(),
        Ok(_) => Vec::new(),
    }
}

pub(super) fn gslb(owner: &str, rtype: RecordType, policy: PolicyNode) -> GslbRecord {
    GslbRecord {
        latency_margin: Default::default(),
        name: name(owner),
        rtype,
        ttl: 30,
        failover_ttl: None,
        policy,
        max_answers: 1,
        when_all_down: WhenAllDown::FailOpen,
        unknown_as: crate::model::UnknownAs::Down,
        split_brain_guard: false,
    }
}

pub(super) fn put_gslb(record: GslbRecord) -> Command {
    Command::PutGslbRecord { record }
}

/// Region `eu-1`, endpoint `web-1` in it, zone `example.com.`.
pub(super) fn gslb_base() -> Vec<Command> {
    vec![
        Command::PutRegion {
            region: region("eu-1"),
        },
        Command::PutEndpoint {
            endpoint: endpoint("web-1", "eu-1"),
        },
        Command::PutZone { zone: zone() },
    ]
}

pub(super) fn drill(id: &str, region: &str, mode: DrillMode, started_at: u64) -> Drill {
    Drill {
        id: id.to_string(),
        region: region.to_string(),
        mode,
        started_at,
        planned_end: started_at + 60_000,
        status: DrillStatus::Running,
        started_by: "alice".to_string(),
        max_load_percent: None,
        records: Vec::new(),
        survivors: Default::default(),
        measured_nodes: Default::default(),
        ended_at: None,
        end_reason: None,
        convergence_ms: Default::default(),
        restore_ms: Default::default(),
        answers: Vec::new(),
        guards: Vec::new(),
        timeline: Vec::new(),
    }
}

pub(super) fn drill_for_next() -> Drill {
    drill("d2", "eu", DrillMode::Fail, 11_000)
}

pub(super) fn network(cidr: &str, country: &str) -> Network {
    Network {
        cidr: cidr.parse().unwrap(),
        continent: Some("EU".into()),
        country: Some(country.into()),
        subdivision: None,
        asn: None,
        lat_micro: None,
        lon_micro: None,
        rtt_ms: Default::default(),
    }
}
