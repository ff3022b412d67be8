//! Property tests of the policy engine: weighted shares hold over many client subnets,
//! consistent hashing moves only a lost child's clients, failover never skips an up child,
//! `fail_closed` never answers a down endpoint, and a geo answer's ECS scope is correct
//! (every address inside it gets the same answer).

mod policy_fixture;

use std::net::{IpAddr, Ipv4Addr};

use gslb_dns::client::{ClientLocator, Code, GeoFacts, PrefixTable};
use gslb_dns::policy::{evaluate, HealthInput, HealthStatus, PolicyInputs};
use gslb_model::ip::mask;
use policy_fixture::*;
use proptest::prelude::*;

/// The six IPv4 endpoints of the fixture world.
const V4: [&str; 6] = ["eu-1", "eu-2", "us-1", "us-2", "ap-1", "ap-2"];

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Client `n` of a pseudo-random spread of /24s.
fn subnet_client(seed: u64, n: u64) -> gslb_dns::client::ClientFacts {
    let bits = gslb_dns::policy::hash::hash_words(&[seed, n]) as u32;
    client(&Ipv4Addr::from(bits).to_string())
}

proptest! {
    #![proptest_config(config(64))]

    /// Consistent weighted shares over 4000 client subnets stay within 4 standard deviations
    /// (plus 1 %) of weight / total.
    #[test]
    fn consistent_shares_follow_weights(weights in proptest::collection::vec(1u32..20, 2..=4), seed in any::<u64>()) {
        let inputs = world();
        let children: Vec<String> = weights.iter().zip(V4).map(|(w, e)| {
            format!(r#"{{"weight":{w},"node":{{"endpoints":["{e}"]}}}}"#)
        }).collect();
        let record = compile(&format!(r#"{{"consistent":[{}]}}"#, children.join(",")), "", &inputs);
        let n = 4000u64;
        let mut counts = vec![0u64; weights.len()];
        for i in 0..n {
            let decision = evaluate(&record, &inputs, &subnet_client(seed, i), NOW, 0);
            prop_assert_eq!(decision.scope, 24);
            let id = answers(&decision, &inputs)[0];
            counts[V4.iter().position(|e| *e == id).unwrap()] += 1;
        }
        let total: u32 = weights.iter().sum();
        for (count, weight) in counts.iter().zip(&weights) {
            let p = f64::from(*weight) / f64::from(total);
            let got = *count as f64 / n as f64;
            let bound = 4.0 * (p * (1.0 - p) / n as f64).sqrt() + 0.01;
            prop_assert!((got - p).abs() <= bound, "share {} for weight {} of {}", got, weight, total);
        }
    }

    /// Random weighted shares hold too, and never depend on the client (scope 0).
    #[test]
    fn random_shares_follow_weights(weights in proptest::collection::vec(1u32..20, 2..=4)) {
        let inputs = world();
        let children: Vec<String> = weights.iter().zip(V4).map(|(w, e)| {
            format!(r#"{{"weight":{w},"node":{{"endpoints":["{e}"]}}}}"#)
        }).collect();
        let record = compile(&format!(r#"{{"weighted":[{}]}}"#, children.join(",")), "", &inputs);
        let n = 4000u64;
        let mut counts = vec![0u64; weights.len()];
        let who = client("192.0.2.1");
        for entropy in 0..n {
            let decision = evaluate(&record, &inputs, &who, NOW, gslb_dns::policy::hash::mix64(entropy));
            prop_assert_eq!(decision.scope, 0);
            let id = answers(&decision, &inputs)[0];
            counts[V4.iter().position(|e| *e == id).unwrap()] += 1;
        }
        let total: u32 = weights.iter().sum();
        for (count, weight) in counts.iter().zip(&weights) {
            let p = f64::from(*weight) / f64::from(total);
            let got = *count as f64 / n as f64;
            prop_assert!((got - p).abs() <= 4.0 * (p * (1.0 - p) / n as f64).sqrt() + 0.01);
        }
    }

    /// Losing a child of a consistent node moves only the clients it had; everyone else
    /// keeps their answer.
    #[test]
    fn consistent_hashing_moves_only_the_lost_share(
        weights in proptest::collection::vec(1u32..10, 2..=6),
        lost in 0usize..6,
        seed in any::<u64>(),
    ) {
        let lost = lost % weights.len();
        let mut inputs = world();
        let children: Vec<String> = weights.iter().zip(V4).map(|(w, e)| {
            format!(r#"{{"weight":{w},"node":{{"endpoints":["{e}"]}}}}"#)
        }).collect();
        let record = compile(&format!(r#"{{"consistent":[{}]}}"#, children.join(",")), "", &inputs);
        let clients: Vec<_> = (0..500).map(|i| subnet_client(seed, i)).collect();
        let before: Vec<String> = clients.iter()
            .map(|c| answers(&evaluate(&record, &inputs, c, NOW, 0), &inputs)[0].to_string())
            .collect();
        set_endpoint(&mut inputs, V4[lost], down());
        for (c, was) in clients.iter().zip(&before) {
            let now = answers(&evaluate(&record, &inputs, c, NOW, 0), &inputs)[0].to_string();
            if was != V4[lost] {
                prop_assert_eq!(&now, was);
            } else {
                prop_assert_ne!(&now, was);
            }
        }
    }

    /// Failover answers the first region that is up, whatever the others are.
    #[test]
    fn failover_never_skips_an_up_child(health in proptest::collection::vec(0u8..3, 3)) {
        let mut inputs = world();
        let ids = ["eu", "us", "ap"];
        for (id, h) in ids.iter().zip(&health) {
            set_region(&mut inputs, id, health_of(*h));
        }
        let record = compile(r#"{"failover":[{"region":"eu"},{"region":"us"},{"region":"ap"}]}"#, "", &inputs);
        let decision = evaluate(&record, &inputs, &client("192.0.2.1"), NOW, 0);
        if let Some(first_up) = health.iter().position(|h| *h == 0) {
            prop_assert_eq!(region_of(&decision, &inputs), ids[first_up]);
        }
    }

    /// Whatever the tree and the health, a fail_closed record never answers an endpoint that
    /// is down (or unknown, for a record reading unknown as down), nor one in a down region.
    #[test]
    fn fail_closed_never_answers_a_down_endpoint(
        tree in policy_tree(),
        endpoint_health in proptest::collection::vec(0u8..3, 9),
        region_health in proptest::collection::vec(0u8..3, 3),
        unknown_up in any::<bool>(),
        entropy in any::<u64>(),
        addr in any::<u32>(),
    ) {
        let mut inputs = world();
        for (endpoint, h) in inputs.endpoints.iter_mut().zip(&endpoint_health) {
            endpoint.health = health_of(*h);
        }
        for (region, h) in inputs.regions.iter_mut().zip(&region_health) {
            region.health = health_of(*h);
        }
        let extra = format!(
            r#""when_all_down":"fail_closed","max_answers":3,"unknown_as":"{}""#,
            if unknown_up { "up" } else { "down" }
        );
        let record = compile(&tree, &extra, &inputs);
        let who = client(&Ipv4Addr::from(addr).to_string());
        let decision = evaluate(&record, &inputs, &who, NOW, entropy);
        let ok = |status: HealthStatus| status == HealthStatus::Up || (unknown_up && status == HealthStatus::Unknown);
        for endpoint in decision.answers.iter() {
            let e = &inputs.endpoints[endpoint];
            prop_assert!(ok(e.health.status), "{} is {:?} in {}", e.id, e.health.status, tree);
            prop_assert!(ok(inputs.regions[e.region].health.status), "{} region down in {}", e.id, tree);
        }
    }

    /// A geo record answered with ECS gives the matching region, and every address inside
    /// the scope it claims (same source prefix) gets that same answer.
    #[test]
    fn geo_scope_covers_only_addresses_with_the_same_answer(
        base in prop_oneof![Just(0xc000_0200u32), Just(0xc633_6400u32), Just(0xcb00_7100u32), Just(0x0a00_0000u32), any::<u32>()],
        low in any::<u32>(),
        low_bits in 0u32..24,
        source in 8u8..=32,
        others in proptest::collection::vec(any::<u32>(), 16),
    ) {
        let addr = Ipv4Addr::from(base ^ (low & ((1u32 << low_bits) - 1)));
        let inputs = world();
        let record = compile(GEO, "", &inputs);
        let locator = locator();
        let transport: IpAddr = "127.0.0.1".parse().unwrap();
        let facts = locator.facts(transport, Some((IpAddr::V4(addr), source)));
        let decision = evaluate(&record, &inputs, &facts, NOW, 0);
        let region = region_of(&decision, &inputs);
        prop_assert_eq!(region, expected_region(facts.addr), "client {}/{}", addr, source);
        prop_assert!(decision.scope <= source);
        let scope = u32::from(decision.scope);
        for other in others {
            let host_mask = if scope == 0 { u32::MAX } else { u32::MAX >> scope };
            let other = Ipv4Addr::from((u32::from(addr) & !host_mask) | (other & host_mask));
            let other_facts = locator.facts(transport, Some((IpAddr::V4(other), source)));
            let other_decision = evaluate(&record, &inputs, &other_facts, NOW, 0);
            prop_assert_eq!(
                region_of(&other_decision, &inputs), region,
                "{}/{} got scope {} but {} differs", addr, source, scope, other
            );
        }
    }
}

/// 0 up, 1 down, 2 unknown.
fn health_of(code: u8) -> HealthInput {
    match code {
        0 => up(),
        1 => down(),
        _ => HealthInput {
            status: HealthStatus::Unknown,
            ..HealthInput::default()
        },
    }
}

/// Random policy trees over the fixture world, as JSON.
fn policy_tree() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        proptest::sample::subsequence(V4.to_vec(), 1..=3).prop_map(|ids| format!(
            r#"{{"endpoints":[{}]}}"#,
            ids.iter()
                .map(|i| format!("\"{i}\""))
                .collect::<Vec<_>>()
                .join(",")
        )),
        proptest::sample::select(vec!["eu", "us", "ap"])
            .prop_map(|r| format!(r#"{{"region":"{r}"}}"#)),
    ];
    leaf.prop_recursive(3, 24, 3, |inner| {
        let children = proptest::collection::vec(inner.clone(), 1..=3);
        prop_oneof![
            children.clone().prop_map(|c| format!(r#"{{"failover":[{}]}}"#, c.join(","))),
            children.clone().prop_map(|c| format!(r#"{{"latency":[{}]}}"#, c.join(","))),
            children.clone().prop_map(|c| format!(r#"{{"capacity":[{}]}}"#, c.join(","))),
            (children.clone(), any::<bool>()).prop_map(|(c, consistent)| {
                let kind = if consistent { "consistent" } else { "weighted" };
                let c: Vec<String> = c.iter().enumerate()
                    .map(|(i, n)| format!(r#"{{"weight":{},"node":{n}}}"#, i + 1)).collect();
                format!(r#"{{"{kind}":[{}]}}"#, c.join(","))
            }),
            children.clone().prop_map(|c| {
                let c: Vec<String> = c.iter().map(|n| format!(r#"{{"node":{n}}}"#)).collect();
                format!(r#"{{"proximity":[{}]}}"#, c.join(","))
            }),
            (inner.clone(), inner).prop_map(|(a, b)| format!(
                r#"{{"geo":{{"rules":[{{"match":[{{"cidr":"128.0.0.0/1"}},{{"continent":"EU"}}],"node":{a}}}],"default":{b}}}}}"#
            )),
        ]
    })
}

const GEO: &str = r#"{"geo":{"rules":[
    {"match":[{"cidr":"198.51.100.128/25"}],"node":{"region":"ap"}},
    {"match":[{"continent":"EU"}],"node":{"region":"eu"}},
    {"match":[{"country":"US"},{"cidr":"10.0.0.0/9"}],"node":{"region":"us"}}],
  "default":{"region":"ap"}}}"#;

/// 192.0.2.0/24 and 192.0.3.0/25 in Europe, 198.51.100.0/24 in the US, 203.0.113.0/24 in
/// Singapore, 10.1.0.0/16 in Europe.
fn locator() -> ClientLocator {
    let place = |continent, country| GeoFacts {
        continent: Code::new(continent),
        country: Code::new(country),
        ..GeoFacts::default()
    };
    ClientLocator::new(
        PrefixTable::new([
            ("192.0.2.0/24".parse().unwrap(), place("EU", "DE")),
            ("192.0.3.0/25".parse().unwrap(), place("EU", "FR")),
            ("198.51.100.0/24".parse().unwrap(), place("NA", "US")),
            ("203.0.113.0/24".parse().unwrap(), place("AS", "SG")),
            ("10.1.0.0/16".parse().unwrap(), place("EU", "DE")),
        ]),
        None,
    )
}

/// What GEO should answer for a (masked) client address, computed independently.
fn expected_region(addr: IpAddr) -> &'static str {
    let IpAddr::V4(v4) = addr else { return "ap" };
    let bits = u32::from(v4);
    let inside = |net: u32, len: u32| bits & !(u32::MAX >> len) == net;
    if inside(0xc633_6480, 25) {
        "ap"
    } else if inside(0xc000_0200, 24) || inside(0xc000_0300, 25) || inside(0x0a01_0000, 16) {
        "eu"
    } else if inside(0xc633_6400, 24) || inside(0x0a00_0000, 9) {
        "us"
    } else {
        "ap"
    }
}

#[test]
fn masking_helper_matches_the_model() {
    let addr: IpAddr = "10.1.2.3".parse().unwrap();
    assert_eq!(mask(addr, 16), "10.1.0.0".parse::<IpAddr>().unwrap());
    let _unused: Option<PolicyInputs> = None;
}
