//! Scenario tests of `policy::evaluate`: each policy kind, health verdicts (quorum, unknown,
//! overrides, leases), `when_all_down`, TTL and ECS scope, and the explanation produced by
//! the same evaluator.

mod policy_fixture;

use gslb_dns::client::{ClientFacts, ClientLocator, Code, GeoFacts, PrefixTable};
use gslb_dns::policy::{evaluate, evaluate_explained, HealthStatus, Outcome, OverrideInput};
use gslb_model::model::OverrideAction;
use policy_fixture::*;

const FAILOVER: &str = r#"{"failover":[{"region":"eu"},{"region":"us"},{"region":"ap"}]}"#;

/// A failover record takes the first healthy region and says it is degraded when it had to
/// skip one, lowering the TTL to `failover_ttl`.
#[test]
fn failover_takes_the_first_available_child() {
    let mut inputs = world();
    let record = compile(FAILOVER, r#""failover_ttl":5,"max_answers":2"#, &inputs);
    let decision = evaluate(&record, &inputs, &client("192.0.2.1"), NOW, 7);
    assert_eq!(answers(&decision, &inputs), ["eu-1", "eu-2"]);
    assert_eq!(decision.outcome, Outcome::Healthy);
    assert_eq!((decision.ttl, decision.scope), (60, 0));

    set_region(&mut inputs, "eu", down());
    let decision = evaluate(&record, &inputs, &client("192.0.2.1"), NOW, 7);
    assert_eq!(region_of(&decision, &inputs), "us");
    assert_eq!(decision.outcome, Outcome::Degraded);
    assert_eq!(decision.ttl, 5);

    // One endpoint down in us: the other still answers.
    set_endpoint(&mut inputs, "us-1", down());
    let decision = evaluate(&record, &inputs, &client("192.0.2.1"), NOW, 7);
    assert_eq!(answers(&decision, &inputs), ["us-2"]);
}

/// `unknown` is what the record says: down by default, up when asked.
#[test]
fn unknown_health_reads_as_the_record_says() {
    let mut inputs = world();
    set_region(&mut inputs, "eu", Default::default());
    let as_down = compile(FAILOVER, "", &inputs);
    let as_up = compile(FAILOVER, r#""unknown_as":"up""#, &inputs);
    let who = client("192.0.2.1");
    assert_eq!(
        region_of(&evaluate(&as_down, &inputs, &who, NOW, 0), &inputs),
        "us"
    );
    assert_eq!(
        region_of(&evaluate(&as_up, &inputs, &who, NOW, 0), &inputs),
        "eu"
    );
}

/// Inputs say whether answers can depend on the time (the DNS path skips reading the clock
/// when they cannot): only an override (it lapses) or a health lease (it runs out) makes
/// them, and evaluation without either gives the same answer at any time.
#[test]
fn only_overrides_and_leases_make_answers_read_the_clock() {
    // The fixture's regions hold leases; without them nothing is timed.
    let unleased = || {
        let mut inputs = world();
        for region in &mut inputs.regions {
            region.lease_expires_at = None;
        }
        inputs
    };
    let inputs = unleased();
    assert!(!inputs.read_the_clock());
    let record = compile(FAILOVER, "", &inputs);
    let who = client("192.0.2.1");
    assert_eq!(
        evaluate(&record, &inputs, &who, 0, 0),
        evaluate(&record, &inputs, &who, NOW, 0)
    );

    let mut drained = unleased();
    drained.region_mut("eu").unwrap().admin_override = Some(OverrideInput {
        id: "drill-1".into(),
        action: OverrideAction::Drain,
        reason: "drill".into(),
        expires_at: Some(NOW + 1),
    });
    assert!(drained.read_the_clock());
    let mut endpoint_override = unleased();
    endpoint_override.endpoints[0].admin_override =
        drained.region_mut("eu").unwrap().admin_override.clone();
    assert!(endpoint_override.read_the_clock());
    let mut leased = unleased();
    leased.region_mut("us").unwrap().lease_expires_at = Some(NOW);
    assert!(leased.read_the_clock());
}

/// Overrides beat health until they expire; admin-disabled endpoints never answer.
#[test]
fn overrides_win_until_they_expire() {
    let mut inputs = world();
    inputs.region_mut("eu").unwrap().admin_override = Some(OverrideInput {
        id: "drill-1".into(),
        action: OverrideAction::Drain,
        reason: "drill".into(),
        expires_at: Some(NOW + 1),
    });
    let record = compile(FAILOVER, "", &inputs);
    let who = client("192.0.2.1");
    assert_eq!(
        region_of(&evaluate(&record, &inputs, &who, NOW, 0), &inputs),
        "us"
    );
    assert_eq!(
        region_of(&evaluate(&record, &inputs, &who, NOW + 1, 0), &inputs),
        "eu"
    );

    set_region(&mut inputs, "us", down());
    inputs.region_mut("us").unwrap().admin_override = Some(OverrideInput {
        id: "ops".into(),
        action: OverrideAction::ForceUp,
        reason: "probe bug".into(),
        expires_at: None,
    });
    assert_eq!(
        region_of(&evaluate(&record, &inputs, &who, NOW, 0), &inputs),
        "us"
    );

    inputs.endpoint_mut("us-1").unwrap().admin = gslb_model::model::AdminState::Disabled;
    let decision = evaluate(&record, &inputs, &who, NOW, 0);
    assert_eq!(answers(&decision, &inputs), ["us-2"]);
}

/// Guarded records serve a region only inside its lease and never hand out a TTL longer
/// than the lease left; unguarded records ignore leases.
#[test]
fn split_brain_guard_fences_by_lease() {
    let mut inputs = world();
    inputs.region_mut("eu").unwrap().lease_expires_at = Some(NOW + 12_500);
    let guarded = compile(FAILOVER, r#""split_brain_guard":true"#, &inputs);
    let plain = compile(FAILOVER, "", &inputs);
    let who = client("192.0.2.1");
    let decision = evaluate(&guarded, &inputs, &who, NOW, 0);
    assert_eq!((region_of(&decision, &inputs), decision.ttl), ("eu", 12));
    // Cut off from the control plane, the lease runs out: eu leaves, us (lease 1 h) serves.
    let later = NOW + 13_000;
    let decision = evaluate(&guarded, &inputs, &who, later, 0);
    assert_eq!(region_of(&decision, &inputs), "us");
    assert_eq!(decision.ttl, 60);
    assert_eq!(
        region_of(&evaluate(&plain, &inputs, &who, later, 0), &inputs),
        "eu"
    );
    // No region has a lease: fail_open must not hand out fenced regions either.
    for region in &mut inputs.regions {
        region.lease_expires_at = None;
    }
    let decision = evaluate(&guarded, &inputs, &who, NOW, 0);
    assert_eq!(decision.outcome, Outcome::AllDownOpen);
    assert!(decision.answers.is_empty());
}

/// `when_all_down`: fail_open answers everything not taken out by an operator, fail_closed
/// answers nothing, fallback names its target.
#[test]
fn when_all_down_decides_when_nothing_is_available() {
    let mut inputs = world();
    for id in ["eu", "us", "ap"] {
        set_region(&mut inputs, id, down());
    }
    inputs.endpoint_mut("eu-1").unwrap().admin_override = Some(OverrideInput {
        id: "o".into(),
        action: OverrideAction::ForceDown,
        reason: "bad disk".into(),
        expires_at: None,
    });
    let who = client("192.0.2.1");
    let open = compile(FAILOVER, r#""max_answers":3,"failover_ttl":10"#, &inputs);
    let decision = evaluate(&open, &inputs, &who, NOW, 0);
    assert_eq!(decision.outcome, Outcome::AllDownOpen);
    assert_eq!(answers(&decision, &inputs), ["eu-2", "us-1", "us-2"]);
    assert_eq!(decision.ttl, 10);

    let closed = compile(FAILOVER, r#""when_all_down":"fail_closed""#, &inputs);
    let decision = evaluate(&closed, &inputs, &who, NOW, 0);
    assert_eq!(decision.outcome, Outcome::AllDownClosed);
    assert!(decision.answers.is_empty());

    let fallback = compile(
        FAILOVER,
        r#""when_all_down":{"fallback":"sorry.svc.example."}"#,
        &inputs,
    );
    let decision = evaluate(&fallback, &inputs, &who, NOW, 0);
    assert_eq!(decision.outcome, Outcome::Fallback);
    assert_eq!(
        decision.fallback_target(&fallback),
        Some(&name("sorry.svc.example."))
    );
}

/// A locator with three table entries: 192.0.2.0/24 in Bavaria, 198.51.100.0/24 in the US,
/// 203.0.113.0/24 in Singapore.
fn locator() -> ClientLocator {
    let place = |continent, country, subdivision: Option<&str>, lat, lon| GeoFacts {
        continent: Code::new(continent),
        country: Code::new(country),
        subdivision: subdivision.and_then(Code::new),
        asn: Some(64_500),
        lat_lon: Some((lat, lon)),
    };
    ClientLocator::new(
        PrefixTable::new([
            (
                "192.0.2.0/24".parse().unwrap(),
                place("EU", "DE", Some("DE-BY"), 48.1, 11.6),
            ),
            (
                "198.51.100.0/24".parse().unwrap(),
                place("NA", "US", None, 37.8, -122.4),
            ),
            (
                "203.0.113.0/24".parse().unwrap(),
                place("AS", "SG", None, 1.3, 103.8),
            ),
        ]),
        None,
    )
}

const GEO: &str = r#"{"geo":{"rules":[
    {"match":[{"cidr":"198.51.100.128/25"}],"node":{"region":"ap"}},
    {"match":[{"continent":"EU"}],"node":{"region":"eu"}},
    {"match":[{"country":"US"}],"node":{"region":"us"}}],
  "default":{"region":"ap"}}}"#;

/// Geo picks by location and CIDR; unknown clients take the default; the ECS scope is the
/// prefix that decided, never longer than the source.
#[test]
fn geo_answers_by_location_with_the_deciding_scope() {
    let mut inputs = world();
    let record = compile(GEO, "", &inputs);
    let locator = locator();
    let ask = |inputs: &gslb_dns::policy::PolicyInputs, addr: &str, source: u8| {
        let facts = locator.facts(
            "127.0.0.1".parse().unwrap(),
            Some((addr.parse().unwrap(), source)),
        );
        let decision = evaluate(&record, inputs, &facts, NOW, 0);
        (region_of(&decision, inputs).to_string(), decision.scope)
    };
    assert_eq!(ask(&inputs, "192.0.2.9", 24), ("eu".into(), 24));
    // With only /20 of the client known, 192.0.0.0 is outside the Bavarian /24: default.
    assert_eq!(ask(&inputs, "192.0.2.9", 20), ("ap".into(), 20));
    // The /25 CIDR rule splits the US /24: the lower half needs /25 to tell it apart.
    assert_eq!(ask(&inputs, "198.51.100.7", 32), ("us".into(), 25));
    assert_eq!(ask(&inputs, "198.51.100.200", 32), ("ap".into(), 25));
    // Unknown location: default, with a scope that stays clear of every table network.
    let (region, scope) = ask(&inputs, "100.64.0.1", 32);
    assert_eq!(region, "ap");
    assert!(scope <= 8, "scope {scope}");
    // The matched branch is down: default, degraded.
    set_region(&mut inputs, "eu", down());
    assert_eq!(ask(&inputs, "192.0.2.9", 24), ("ap".into(), 24));
}

/// Proximity takes the nearest healthy region, scaled by bias; latency takes the lowest RTT
/// from the vantage, or from the client table when it covers the client.
#[test]
fn proximity_and_latency_rank_children() {
    let mut inputs = world();
    let locator = locator();
    let munich = locator.facts("192.0.2.1".parse().unwrap(), None);
    let singapore = locator.facts("203.0.113.1".parse().unwrap(), None);
    let near = compile(
        r#"{"proximity":[{"node":{"region":"eu"}},{"node":{"region":"us"}},{"node":{"region":"ap"}}]}"#,
        "",
        &inputs,
    );
    assert_eq!(
        region_of(&evaluate(&near, &inputs, &munich, NOW, 0), &inputs),
        "eu"
    );
    assert_eq!(
        region_of(&evaluate(&near, &inputs, &singapore, NOW, 0), &inputs),
        "ap"
    );
    let biased = compile(
        r#"{"proximity":[{"node":{"region":"eu"},"bias_percent":10000},{"node":{"region":"us"}}]}"#,
        "",
        &inputs,
    );
    assert_eq!(
        region_of(&evaluate(&biased, &inputs, &munich, NOW, 0), &inputs),
        "us"
    );
    set_region(&mut inputs, "eu", down());
    assert_eq!(
        region_of(&evaluate(&near, &inputs, &munich, NOW, 0), &inputs),
        "us"
    );
    set_region(&mut inputs, "eu", up());

    let fastest = compile(
        r#"{"latency":[{"region":"eu"},{"region":"us"},{"region":"ap"}]}"#,
        "",
        &inputs,
    );
    inputs.region_mut("eu").unwrap().vantage_rtt_us = Some(80_000);
    inputs.region_mut("us").unwrap().vantage_rtt_us = Some(20_000);
    let decision = evaluate(&fastest, &inputs, &munich, NOW, 0);
    assert_eq!((region_of(&decision, &inputs), decision.scope), ("us", 0));
    inputs.set_latency_table([(
        "192.0.2.0/24".parse().unwrap(),
        vec![("eu".to_string(), 5_000), ("us".to_string(), 90_000)],
    )]);
    let decision = evaluate(&fastest, &inputs, &munich, NOW, 0);
    assert_eq!((region_of(&decision, &inputs), decision.scope), ("eu", 24));
}

/// Latency choices do not flap: RTT samples jittering ±15 % around two close regions (eu
/// listed first, us 5 % faster on average) are smoothed as `apply` keeps them and compared
/// with the record's margin, so the answer never switches; with no margin and raw samples the
/// same series switches many times. A real change (us three times faster) moves traffic, once.
#[test]
fn latency_choices_hold_under_jitter_and_follow_real_changes() {
    use gslb_model::model::health::smooth_rtt;
    let mut inputs = world();
    let munich = client("192.0.2.1");
    let policy = r#"{"latency":[{"region":"eu"},{"region":"us"}]}"#;
    let margined = compile(policy, "", &inputs);
    let bare = compile(
        policy,
        r#""latency_margin":{"percent":0,"micros":0}"#,
        &inputs,
    );
    // A fixed pseudo-random series (a linear congruential generator), so the test is exact.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut jitter = |base: u32| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let offset = (seed >> 33) % 31; // 0..=30 → -15 %..=+15 %
        (u64::from(base) * (85 + offset) / 100) as u32
    };
    let (mut smoothed_eu, mut smoothed_us) = (20_000u32, 19_000u32);
    let (mut last_margined, mut last_bare) = (String::new(), String::new());
    let (mut switches_margined, mut switches_bare) = (0, 0);
    for round in 0..300 {
        let us_base = if round < 200 { 19_000 } else { 6_000 };
        let (sample_eu, sample_us) = (jitter(20_000), jitter(us_base));
        smoothed_eu = smooth_rtt(smoothed_eu, sample_eu);
        smoothed_us = smooth_rtt(smoothed_us, sample_us);

        inputs.region_mut("eu").unwrap().vantage_rtt_us = Some(smoothed_eu);
        inputs.region_mut("us").unwrap().vantage_rtt_us = Some(smoothed_us);
        let region = region_of(&evaluate(&margined, &inputs, &munich, NOW, 0), &inputs);
        if round < 200 {
            assert_eq!(region, "eu", "round {round}: noise moved traffic");
        }
        if !last_margined.is_empty() && region != last_margined {
            switches_margined += 1;
        }
        last_margined = region.to_string();

        inputs.region_mut("eu").unwrap().vantage_rtt_us = Some(sample_eu);
        inputs.region_mut("us").unwrap().vantage_rtt_us = Some(sample_us);
        let region = region_of(&evaluate(&bare, &inputs, &munich, NOW, 0), &inputs);
        if !last_bare.is_empty() && region != last_bare {
            switches_bare += 1;
        }
        last_bare = region.to_string();
    }
    assert_eq!(last_margined, "us", "a real change moves traffic");
    assert_eq!(switches_margined, 1, "one switch: the real change");
    assert!(
        switches_bare > 20,
        "without smoothing and margin the same series flaps ({switches_bare} switches)"
    );
}

/// Capacity shares follow healthy capacity: 8 nodes against 2 gets about 80 %.
#[test]
fn capacity_shares_follow_healthy_capacity() {
    let mut inputs = world();
    inputs.region_mut("eu").unwrap().reported_capacity = Some(8);
    inputs.region_mut("us").unwrap().reported_capacity = Some(2);
    let record = compile(
        r#"{"capacity":[{"region":"eu"},{"region":"us"}]}"#,
        "",
        &inputs,
    );
    let who = client("192.0.2.1");
    let n = 10_000u64;
    let eu = (0..n)
        .filter(|&entropy| {
            region_of(&evaluate(&record, &inputs, &who, NOW, entropy), &inputs) == "eu"
        })
        .count() as f64
        / n as f64;
    assert!((0.77..0.83).contains(&eu), "eu share {eu}");
    assert_eq!(evaluate(&record, &inputs, &who, NOW, 1).scope, 0);
}

/// When a weighted child fails, its share spills by spare capacity: a survivor with room
/// takes most of it.
#[test]
fn spill_goes_to_spare_capacity() {
    let mut inputs = world();
    // Equal weights; us has 9 nodes, ap only 1: ap has no spare room at all.
    inputs.region_mut("eu").unwrap().declared_capacity = Some(10);
    inputs.region_mut("us").unwrap().reported_capacity = Some(9);
    inputs.region_mut("ap").unwrap().reported_capacity = Some(1);
    let record = compile(
        r#"{"weighted":[{"weight":1,"node":{"region":"eu"}},{"weight":1,"node":{"region":"us"}},{"weight":1,"node":{"region":"ap"}}]}"#,
        "",
        &inputs,
    );
    set_region(&mut inputs, "eu", down());
    let who = client("192.0.2.1");
    let n = 12_000u64;
    let mut us = 0;
    for entropy in 0..n {
        if region_of(&evaluate(&record, &inputs, &who, NOW, entropy), &inputs) == "us" {
            us += 1;
        }
    }
    let us = us as f64 / n as f64;
    // us keeps its 1/3 and takes all of eu's 1/3 (ap has no spare): ~2/3.
    assert!((0.63..0.70).contains(&us), "us share {us}");
}

/// The explanation comes from the same evaluator: same decision, path, votes, lease.
#[test]
fn explanations_show_path_health_and_scope() {
    let mut inputs = world();
    set_region(&mut inputs, "eu", down());
    let record = compile(
        FAILOVER,
        r#""split_brain_guard":true,"failover_ttl":20"#,
        &inputs,
    );
    let who: ClientFacts = client("192.0.2.1");
    let plain = evaluate(&record, &inputs, &who, NOW, 3);
    let (decision, explanation) = evaluate_explained(&record, &inputs, &who, NOW, 3);
    assert_eq!(plain, decision);
    let steps: Vec<String> = explanation
        .steps
        .iter()
        .map(|step| format!("{}: {}", step.path, step.message))
        .collect();
    assert!(
        steps.contains(&"policy.failover: children 0..1 unavailable, took child 1".to_string()),
        "{steps:#?}"
    );
    let eu1 = explanation
        .health
        .iter()
        .find(|line| line.endpoint == "eu-1")
        .unwrap();
    assert!(!eu1.usable);
    assert_eq!(eu1.region_health, HealthStatus::Down);
    assert_eq!(eu1.region_votes.down, 3);
    assert_eq!(eu1.reason, "region deep checks down by quorum");
    assert_eq!(eu1.lease_left_ms, Some(3_600_000));
    assert_eq!(explanation.answers[0].target, "10.1.0.1");
    assert_eq!(explanation.ttl, 20);
    let json = serde_json::to_value(&explanation).unwrap();
    assert_eq!(json["outcome"], "degraded");
    assert_eq!(json["client"]["origin"], "transport");
}

/// Compilation rejects what validation would (unknown ids, wrong types), with paths.
#[test]
fn compile_names_unknown_ids_and_wrong_types() {
    let inputs = world();
    let record = record(
        r#"{"weighted":[{"weight":1,"node":{"region":"mars"}},{"weight":1,"node":{"endpoints":["eu-v6"]}}]}"#,
        "",
    );
    let errors = gslb_dns::policy::CompiledRecord::compile(&record, &inputs).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "policy.weighted[0].node.region: unknown region \"mars\"; \
         policy.weighted[1].node.endpoints[0]: endpoint \"eu-v6\" cannot answer A"
    );
}

/// Inputs built from a `State` and a derived `HealthView` carry verdicts, votes, leases,
/// capacity, the vantage's RTT and overrides into evaluation.
#[test]
fn inputs_follow_the_state_and_its_health_view() {
    use gslb_model::model::health::{EndpointHealth, RegionHealth};
    use gslb_model::model::{HealthView, Override, OverrideTarget, RegionLease, State};

    let (regions, endpoints) = model();
    let mut state = State {
        regions,
        endpoints,
        ..State::default()
    };
    state.overrides.insert(
        "keep-ap-out".into(),
        Override {
            id: "keep-ap-out".into(),
            target: OverrideTarget::Region("ap".into()),
            action: OverrideAction::Drain,
            reason: "maintenance".into(),
            expires_at: None,
            drill: None,
        },
    );
    let mut view = HealthView {
        at: NOW,
        ..HealthView::default()
    };
    for (id, status) in [
        ("eu", HealthStatus::Down),
        ("us", HealthStatus::Up),
        ("ap", HealthStatus::Up),
    ] {
        let mut health = RegionHealth {
            status,
            capacity: Some(4),
            lease: Some(RegionLease {
                expires_at: NOW + 9_000,
                renewed_at: NOW,
            }),
            ..RegionHealth::default()
        };
        health.rtt_us.insert("eu".into(), 1_000);
        view.regions.insert(id.into(), health);
    }
    for id in state.endpoints.keys() {
        view.endpoints.insert(
            id.clone(),
            EndpointHealth {
                status: HealthStatus::Up,
                ..EndpointHealth::default()
            },
        );
    }
    let inputs = gslb_dns::policy::PolicyInputs::from_state(&state, &view, Some("eu")).unwrap();
    let us = &inputs.regions[inputs.region_index("us").unwrap()];
    assert_eq!(
        (us.reported_capacity, us.lease_expires_at, us.vantage_rtt_us),
        (Some(4), Some(NOW + 9_000), Some(1_000))
    );
    let record = compile(FAILOVER, r#""split_brain_guard":true"#, &inputs);
    let decision = evaluate(&record, &inputs, &client("192.0.2.1"), NOW, 0);
    assert_eq!((region_of(&decision, &inputs), decision.ttl), ("us", 9));
    // us down too: ap is healthy but drained, so nothing is available; fail_open hands out
    // the down regions but never the drained one.
    let mut inputs = inputs;
    set_region(&mut inputs, "us", down());
    let record = compile(
        FAILOVER,
        r#""split_brain_guard":true,"max_answers":8"#,
        &inputs,
    );
    let decision = evaluate(&record, &inputs, &client("192.0.2.1"), NOW, 0);
    assert_eq!(decision.outcome, Outcome::AllDownOpen);
    assert_eq!(
        answers(&decision, &inputs),
        ["eu-1", "eu-2", "us-1", "us-2"]
    );
}

/// Consistent hashing keys IPv6 clients on /56 and IPv4 on /24; the scope says so, clamped
/// to what the resolver sent.
#[test]
fn consistent_scope_is_the_hashed_prefix() {
    let inputs = world();
    let record = compile(
        r#"{"consistent":[{"weight":1,"node":{"region":"eu"}},{"weight":1,"node":{"region":"us"}}]}"#,
        "",
        &inputs,
    );
    let locator = ClientLocator::default();
    let transport = "127.0.0.1".parse().unwrap();
    let scope = |addr: &str, source: u8| {
        let facts = locator.facts(transport, Some((addr.parse().unwrap(), source)));
        evaluate(&record, &inputs, &facts, NOW, 0).scope
    };
    assert_eq!(scope("2001:db8:1:200::", 56), 56);
    assert_eq!(scope("2001:db8:1::", 48), 48);
    assert_eq!(scope("2001:db8:1:200::1", 64), 56);
    assert_eq!(scope("192.0.2.0", 24), 24);
    assert_eq!(scope("192.0.2.7", 32), 24);
    assert_eq!(scope("192.0.0.0", 16), 16);
    // Every /64 inside one /56 lands on the same region.
    let region = |addr: &str| {
        let facts = locator.facts(transport, Some((addr.parse().unwrap(), 64)));
        region_of(&evaluate(&record, &inputs, &facts, NOW, 0), &inputs).to_string()
    };
    let first = region("2001:db8:1:200::");
    for n in 1..=255u32 {
        assert_eq!(region(&format!("2001:db8:1:2{n:02x}::")), first);
    }
}
