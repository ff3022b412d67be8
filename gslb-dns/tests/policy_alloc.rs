//! Proves `policy::evaluate` allocates nothing: a counting global allocator wraps the system
//! one, and thousands of evaluations of every policy kind (spill, all-down, GeoIP-located
//! clients, latency tables) must not allocate on the measuring thread.
//!
//! This file holds a single test so no other test thread allocates while counting; the
//! counting allocator (`gslb_testkit`) counts only the measuring thread.

mod policy_fixture;

use std::net::IpAddr;

use gslb_dns::client::{ClientLocator, Code, GeoFacts, PrefixTable};
use gslb_dns::policy::{evaluate, hash::mix64};
use gslb_testkit::{CountingAllocator, Scope};
use policy_fixture::*;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator::new();

/// Every policy kind, healthy and degraded, located and not, evaluates without allocating.
#[test]
fn evaluate_allocates_nothing() {
    let mut inputs = world();
    inputs.region_mut("eu").unwrap().reported_capacity = Some(8);
    inputs.region_mut("us").unwrap().reported_capacity = Some(2);
    inputs.region_mut("ap").unwrap().declared_capacity = Some(4);
    inputs.region_mut("us").unwrap().vantage_rtt_us = Some(30_000);
    inputs.set_latency_table([(
        "192.0.2.0/24".parse().unwrap(),
        vec![("ap".to_string(), 5_000)],
    )]);
    let policies = [
        r#"{"failover":[{"region":"eu"},{"region":"us"},{"region":"ap"}]}"#,
        r#"{"consistent":[{"weight":3,"node":{"region":"eu"}},{"weight":1,"node":{"region":"us"}},{"weight":1,"node":{"region":"ap"}}]}"#,
        r#"{"weighted":[{"weight":3,"node":{"region":"eu"}},{"weight":1,"node":{"endpoints":["us-1","us-2","ap-1"]}}]}"#,
        r#"{"geo":{"rules":[{"match":[{"continent":"EU"},{"cidr":"198.51.100.0/25"}],"node":{"region":"eu"}}],"default":{"capacity":[{"region":"us"},{"region":"ap"}]}}}"#,
        r#"{"latency":[{"region":"eu"},{"region":"us"},{"region":"ap"}]}"#,
        r#"{"proximity":[{"node":{"region":"eu"}},{"node":{"region":"us"},"bias_percent":50}]}"#,
    ];
    let records: Vec<_> = policies
        .iter()
        .map(|policy| {
            compile(
                policy,
                r#""max_answers":1,"split_brain_guard":true,"failover_ttl":5"#,
                &inputs,
            )
        })
        .collect();
    let locator = ClientLocator::new(
        PrefixTable::new([(
            "192.0.2.0/24".parse().unwrap(),
            GeoFacts {
                continent: Code::new("EU"),
                lat_lon: Some((48.1, 11.6)),
                ..GeoFacts::default()
            },
        )]),
        None,
    );
    let transport: IpAddr = "203.0.113.9".parse().unwrap();
    let clients = [
        locator.facts(transport, Some(("192.0.2.0".parse().unwrap(), 24))),
        locator.facts(transport, None),
        locator.facts(transport, Some(("2001:db8::".parse().unwrap(), 56))),
    ];
    let mut degraded = inputs.clone();
    set_region(&mut degraded, "eu", down());
    let mut dead = inputs.clone();
    for id in ["eu", "us", "ap"] {
        set_region(&mut dead, id, down());
    }
    let worlds = [&inputs, &degraded, &dead];

    let (answered, allocations) = GLOBAL.count(Scope::ThisThread, || {
        let mut answered = 0usize;
        for round in 0..2_000u64 {
            for record in &records {
                for client in &clients {
                    for world in worlds {
                        let decision = evaluate(record, world, client, NOW, mix64(round));
                        answered += decision.answers.len();
                    }
                }
            }
        }
        answered
    });
    assert!(answered > 0);
    assert_eq!(allocations, 0, "evaluate allocated");
}
