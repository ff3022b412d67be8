//! GSLB-scale measurement: a `State` with 100,000 GSLB records (weighted and failover trees
//! over 3 regions × 2 endpoints, health reported by one vantage), timing `compile_plan_at`
//! for the whole state and after a single health flip (one endpoint reported down): a full
//! compile, and `compile_plan_from`, which a DNS node uses and which re-derives only the
//! health when nothing else changed.
//!
//! Run: `cargo run --release -p gslb-dns --example gslb_scale [N_RECORDS]`.

use std::time::Instant;

use gslb_dns::plan::{compile_plan_at, compile_plan_from};
use gslb_model::command::{apply, StampedCommand};
use gslb_model::{Actor, Command, DomainName, RData, RecordSet, RecordType, Soa, State, Zone};

fn state_with(records: usize) -> State {
    let mut state = State::default();
    let mut index = 0;
    let mut run = |state: &mut State, command: serde_json::Value| {
        index += 1;
        let command: Command = serde_json::from_value(command).expect("a valid command");
        let stamped = StampedCommand {
            at: 1_000,
            actor: Actor::new("bench"),
            command,
        };
        apply(state, &stamped, index).expect("applies");
    };
    let name = |text: &str| DomainName::parse_absolute(text).expect("valid name");
    let zone = Zone {
        serial_policy: Default::default(),
        transfer: Default::default(),
        apex: name("scale.example."),
        soa: Soa {
            mname: name("ns1.scale.example."),
            rname: name("hostmaster.scale.example."),
            serial: 1,
            refresh: 3600,
            retry: 600,
            expire: 86400,
            minimum: 60,
            ttl: 3600,
        },
        default_ttl: 300,
        rrsets: vec![RecordSet {
            name: name("scale.example."),
            rtype: RecordType::NS,
            ttl: 3600,
            rdata: vec![RData::NS(name("ns1.scale.example."))],
        }]
        .into(),
    };
    run(
        &mut state,
        serde_json::json!({"op": "put_zone", "zone": zone}),
    );
    let mut commands = Vec::new();
    for (region, country, continent) in [("eu", "DE", "EU"), ("us", "US", "NA"), ("ap", "SG", "AS")]
    {
        commands.push(
            serde_json::json!({"op": "put_region", "region": {"id": region,
            "location": {"lat_micro": 0, "lon_micro": 0, "country": country,
                         "continent": continent}}}),
        );
        for n in 1..=2 {
            let id = format!("{region}-{n}");
            commands.push(
                serde_json::json!({"op": "put_endpoint", "endpoint": {"id": id,
                "region": region, "weight": 1, "admin": "enabled",
                "target": {"kind": "address", "value": format!("192.0.2.{}", commands.len())}}}),
            );
            commands.push(
                serde_json::json!({"op": "put_check", "check": {"id": format!("{id}-ext"),
                "subject": {"kind": "endpoint", "id": id},
                "kind": {"type": "external", "ttl_ms": 3_600_000},
                "vantages": ["monitor"], "quorum": 1}}),
            );
        }
    }
    for index in 0..records {
        let policy = if index % 2 == 0 {
            serde_json::json!({"weighted": [{"weight": 3, "node": {"region": "eu"}},
                                            {"weight": 1, "node": {"region": "us"}}]})
        } else {
            serde_json::json!({"failover": [{"region": "us"}, {"region": "ap"}]})
        };
        commands.push(serde_json::json!({"op": "put_gslb_record", "record": {
            "name": format!("r{index}.scale.example."), "type": "A", "ttl": 30,
            "policy": policy}}));
    }
    run(
        &mut state,
        serde_json::json!({"op": "batch", "commands": commands}),
    );
    state
}

fn report(state: &mut State, version: u64, down: &[&str]) {
    let observations: Vec<serde_json::Value> = state
        .checks
        .keys()
        .map(|check| serde_json::json!({"check": check, "up": !down.contains(&check.as_str())}))
        .collect();
    let command: Command = serde_json::from_value(serde_json::json!({
        "op": "report_observations", "vantage": "monitor", "observations": observations}))
    .expect("a valid report");
    let stamped = StampedCommand {
        at: 2_000,
        actor: Actor::new("bench"),
        command,
    };
    apply(state, &stamped, version).expect("applies");
}

fn main() {
    let records: usize = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(100_000);
    let started = Instant::now();
    let mut state = state_with(records);
    println!(
        "state with {records} gslb records built in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    report(&mut state, 3, &[]);
    let started = Instant::now();
    let plan = compile_plan_at(&state, 3_000, None);
    let full = started.elapsed();
    println!(
        "compile_plan_at, all records: {:.3} s ({} gslb names)",
        full.as_secs_f64(),
        plan.gslb().len()
    );
    report(&mut state, 4, &["eu-1-ext"]);
    let started = Instant::now();
    let recompiled = compile_plan_at(&state, 3_000, None);
    let flip = started.elapsed();
    println!(
        "compile_plan_at after one health flip (everything again): {:.3} s",
        flip.as_secs_f64()
    );
    let started = Instant::now();
    let rederived = compile_plan_from(&plan, &state, 3_000, None);
    let incremental = started.elapsed();
    println!(
        "compile_plan_from after one health flip (health only): {:.4} s",
        incremental.as_secs_f64()
    );
    let down = |plan: &gslb_dns::AnswerPlan| {
        plan.gslb()
            .inputs()
            .endpoints
            .iter()
            .find(|endpoint| endpoint.id == "eu-1")
            .map(|endpoint| endpoint.health.status)
    };
    assert_eq!(
        down(&rederived),
        down(&recompiled),
        "same health either way"
    );
    assert_eq!(rederived.gslb().len(), recompiled.gslb().len());
    println!("both see eu-1 as {:?}", down(&rederived));
}
