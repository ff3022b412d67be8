//! GSLB records answered end to end: a `State` built by applying real commands (regions,
//! endpoints, checks, prober reports from three vantages, a zone, GSLB records), compiled
//! into a plan, queried through `Responder::respond` with hickory-built packets. Covers
//! failover, weighted, geo by CIDR with ECS scope, fail_closed, fallback, NODATA beside a
//! GSLB name, health flips through new plans, lease expiry as time passes, stale votes on a
//! node cut off from the control plane, and agreement with `evaluate_explained`.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use common::{context, query, rtype, set, with_edns, zone};
use gslb_dns::plan::{compile_plan_at, compile_plan_from};
use gslb_dns::policy::evaluate_explained;
use gslb_dns::{Responder, ResponderOptions, Transport};
use gslb_model::command::apply;
use gslb_model::model::health::ObservationReport;
use gslb_model::{
    Actor, AdminState, Check, Command, Endpoint, EndpointTarget, GslbRecord, Location, RData,
    Region, StampedCommand, State,
};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::RData as HickoryRData;

/// Leader time of the first prober reports (unix millis).
const T0: u64 = 1_800_000_000_000;

/// How long a replication confirmation keeps region `eu`'s lease.
const LEASE_MS: u64 = 10_000;

/// A state grown by applying commands, as a replica would.
struct World {
    state: State,
}

impl World {
    fn apply(&mut self, command: Command, at: u64) {
        let index = self.state.version + 1;
        let stamped = StampedCommand {
            at,
            actor: Actor::new("test"),
            command,
        };
        apply(&mut self.state, &stamped, index)
            .unwrap_or_else(|error| panic!("command {index} rejected: {error}"));
    }

    /// Every vantage reports every check at `at`; `down` lists the checks reported down.
    fn report(&mut self, at: u64, down: &[&str]) {
        let checks: Vec<String> = self.state.checks.keys().cloned().collect();
        for vantage in ["eu", "us", "ap"] {
            let observations = checks
                .iter()
                .map(|check| ObservationReport {
                    check: check.clone(),
                    up: !down.contains(&check.as_str()),
                    rtt_us: Some(1_000),
                    error: None,
                    capacity: None,
                })
                .collect();
            self.apply(
                Command::ReportObservations {
                    vantage: vantage.to_string(),
                    observations,
                },
                at,
            );
        }
    }
}

fn region(id: &str, country: &str, continent: &str) -> Region {
    Region {
        id: id.to_string(),
        location: Location {
            lat_micro: 0,
            lon_micro: 0,
            country: country.to_string(),
            continent: continent.to_string(),
        },
        capacity: None,
        min_healthy: None,
    }
}

fn endpoint(id: &str, region: &str, address: &str) -> Endpoint {
    Endpoint {
        id: id.to_string(),
        region: region.to_string(),
        target: EndpointTarget::Address(address.parse().unwrap()),
        weight: 1,
        admin: AdminState::Enabled,
        labels: BTreeMap::new(),
    }
}

fn check(json: &str) -> Box<Check> {
    Box::new(serde_json::from_str(json).unwrap_or_else(|error| panic!("{json}: {error}")))
}

fn record(json: &str) -> GslbRecord {
    serde_json::from_str(json).unwrap_or_else(|error| panic!("{json}: {error}"))
}

/// Three regions (eu, us, ap) with endpoints and a tcp check each, a replication check with
/// a lease on eu, the zone `svc.example.` and one GSLB record per behaviour; every vantage
/// has reported everything up at `T0`.
fn world() -> World {
    let mut world = World {
        state: State::default(),
    };
    for (id, country, continent) in [("eu", "DE", "EU"), ("us", "US", "NA"), ("ap", "SG", "AS")] {
        world.apply(
            Command::PutRegion {
                region: region(id, country, continent),
            },
            T0 - 10_000,
        );
    }
    for (id, region, address) in [
        ("eu-1", "eu", "10.0.0.1"),
        ("eu-2", "eu", "10.0.0.2"),
        ("us-1", "us", "10.1.0.1"),
        ("us-2", "us", "10.1.0.2"),
        ("ap-1", "ap", "10.2.0.1"),
        ("us-v6", "us", "2001:db8:1::1"),
    ] {
        world.apply(
            Command::PutEndpoint {
                endpoint: endpoint(id, region, address),
            },
            T0 - 10_000,
        );
        world.apply(
            Command::PutCheck {
                check: check(&format!(
                    r#"{{"id":"{id}-tcp","subject":{{"kind":"endpoint","id":"{id}"}},
                        "interval_ms":1000,"timeout_ms":500,"kind":{{"type":"tcp","port":80}}}}"#
                )),
            },
            T0 - 10_000,
        );
    }
    world.apply(
        Command::PutCheck {
            check: check(&format!(
                r#"{{"id":"eu-replication","subject":{{"kind":"region","id":"eu"}},"target":"10.0.0.9",
                    "interval_ms":1000,"timeout_ms":500,"kind":{{"type":"replication","port":8080,
                    "conditions":["/replication/in_quorum == true"],"lease_ms":{LEASE_MS}}}}}"#
            )),
        },
        T0 - 10_000,
    );
    world.apply(
        Command::PutZone {
            zone: zone(
                "svc.example.",
                vec![set(
                    "static.svc.example.",
                    600,
                    vec![RData::A("192.0.2.99".parse().unwrap())],
                )],
            ),
        },
        T0 - 10_000,
    );
    for json in [
        r#"{"name":"failover.svc.example.","type":"A","ttl":30,"failover_ttl":5,"max_answers":2,
            "policy":{"failover":[{"region":"eu"},{"region":"us"}]}}"#,
        r#"{"name":"weighted.svc.example.","type":"A","ttl":30,
            "policy":{"weighted":[{"weight":3,"node":{"region":"eu"}},
                                  {"weight":1,"node":{"region":"us"}}]}}"#,
        r#"{"name":"sticky.svc.example.","type":"A","ttl":30,
            "policy":{"consistent":[{"weight":1,"node":{"endpoints":["eu-1"]}},
                                    {"weight":1,"node":{"endpoints":["us-1"]}},
                                    {"weight":1,"node":{"endpoints":["ap-1"]}}]}}"#,
        r#"{"name":"geo.svc.example.","type":"A","ttl":30,
            "policy":{"geo":{"rules":[{"match":[{"cidr":"192.0.2.0/24"}],"node":{"region":"ap"}},
                                      {"match":[{"cidr":"198.51.100.0/24"}],"node":{"region":"us"}}],
                             "default":{"region":"eu"}}}}"#,
        r#"{"name":"closed.svc.example.","type":"A","ttl":30,
            "policy":{"endpoints":["us-1"]},"when_all_down":"fail_closed"}"#,
        r#"{"name":"fallback.svc.example.","type":"A","ttl":30,
            "policy":{"endpoints":["us-2"]},"when_all_down":{"fallback":"static.svc.example."}}"#,
        r#"{"name":"guarded.svc.example.","type":"A","ttl":300,"max_answers":2,
            "policy":{"region":"eu"},"when_all_down":"fail_closed","split_brain_guard":true}"#,
        r#"{"name":"v6.svc.example.","type":"AAAA","ttl":30,"policy":{"region":"us"}}"#,
    ] {
        world.apply(
            Command::PutGslbRecord {
                record: record(json),
            },
            T0 - 10_000,
        );
    }
    world.report(T0, &[]);
    world
}

/// A responder over `state` compiled at `now`, its manual clock set to `now`.
fn responder_at(state: &State, now: u64) -> (Responder, Arc<AtomicU64>) {
    let clock = Arc::new(AtomicU64::new(now));
    let responder = Responder::new(
        compile_plan_at(state, now, None),
        ResponderOptions::default(),
    )
    .with_manual_clock(clock.clone());
    (responder, clock)
}

/// What a reply says, reduced to what these tests look at.
#[derive(Debug)]
struct Reply {
    rcode: ResponseCode,
    /// A/AAAA addresses and CNAME targets of the answer section, in order.
    answers: Vec<String>,
    /// TTL of each answer record.
    ttls: Vec<u32>,
    /// Number of SOA records in authority.
    soa: usize,
    /// The ECS scope echoed, if an ECS option came back.
    scope: Option<u8>,
}

/// Asks `name`/`qtype` with query ID `id`, optionally with ECS `subnet`.
fn ask(
    responder: &Responder,
    name: &str,
    qtype: &str,
    id: u16,
    subnet: Option<(&str, u8)>,
) -> Reply {
    let mut message = query(name, rtype(qtype));
    message.metadata.id = id;
    let message = with_edns(
        message,
        1232,
        false,
        subnet.map(|(addr, prefix)| (addr.parse::<IpAddr>().unwrap(), prefix)),
    );
    let mut out = Vec::new();
    assert!(responder.respond(
        &message.to_vec().unwrap(),
        &context(Transport::Udp),
        &mut out
    ));
    let reply = Message::from_vec(&out).expect("reply parses");
    assert_eq!(reply.metadata.id, id);
    let answers = reply
        .answers
        .iter()
        .map(|record| match &record.data {
            HickoryRData::A(a) => a.to_string(),
            HickoryRData::AAAA(aaaa) => aaaa.to_string(),
            HickoryRData::CNAME(cname) => format!("cname {}", cname.0),
            other => format!("{other:?}"),
        })
        .collect();
    let scope = reply
        .edns
        .as_ref()
        .and_then(|edns| match edns.option(EdnsCode::Subnet) {
            Some(EdnsOption::Subnet(subnet)) => Some(subnet.scope_prefix()),
            _ => None,
        });
    Reply {
        rcode: reply.metadata.response_code,
        ttls: reply.answers.iter().map(|record| record.ttl).collect(),
        answers,
        soa: reply
            .authorities
            .iter()
            .filter(|record| record.record_type() == rtype("SOA"))
            .count(),
        scope,
    }
}

fn sorted(mut answers: Vec<String>) -> Vec<String> {
    answers.sort();
    answers
}

/// What does this test do: with everything healthy, each policy answers what it should —
/// failover both eu addresses (TTL 30, scope 0), weighted a 3:1 mix of eu and us, geo by
/// the ECS subnet with the deciding prefix as scope, AAAA from v6 endpoints — and the
/// static logic around GSLB names holds (NODATA with SOA for another type, NXDOMAIN beside).
#[test]
fn healthy_records_answer_by_policy() {
    let world = world();
    let now = T0 + 500;
    let (responder, _clock) = responder_at(&world.state, now);

    let failover = ask(
        &responder,
        "failover.svc.example.",
        "A",
        1,
        Some(("192.0.2.0", 24)),
    );
    assert_eq!(failover.rcode, ResponseCode::NoError);
    assert_eq!(sorted(failover.answers), ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(failover.ttls, [30, 30]);
    assert_eq!(
        failover.scope,
        Some(0),
        "failover does not depend on the client"
    );

    let mut eu = 0;
    let mut us = 0;
    for id in 0..400u16 {
        let reply = ask(&responder, "WEIGHTED.svc.example.", "A", id, None);
        assert_eq!(reply.answers.len(), 1, "{reply:?}");
        if reply.answers[0].starts_with("10.0.") {
            eu += 1;
        } else {
            assert!(reply.answers[0].starts_with("10.1."), "{reply:?}");
            us += 1;
        }
    }
    assert!(eu > 2 * us && us > 40, "3:1 by weight, got eu {eu} us {us}");

    let ap = ask(
        &responder,
        "geo.svc.example.",
        "A",
        9,
        Some(("192.0.2.77", 32)),
    );
    assert_eq!(ap.answers, ["10.2.0.1"]);
    assert_eq!(ap.scope, Some(24), "the /24 rule decided");
    let us_geo = ask(
        &responder,
        "geo.svc.example.",
        "A",
        9,
        Some(("198.51.100.0", 24)),
    );
    assert_eq!(us_geo.answers.len(), 1);
    assert!(us_geo.answers[0].starts_with("10.1.0."), "{us_geo:?}");
    assert_eq!(us_geo.scope, Some(24));
    let default = ask(&responder, "geo.svc.example.", "A", 9, None);
    assert_eq!(default.answers.len(), 1);
    assert!(default.answers[0].starts_with("10.0.0."), "{default:?}");

    let v6 = ask(&responder, "v6.svc.example.", "AAAA", 3, None);
    assert_eq!(v6.answers, ["2001:db8:1::1"]);

    let nodata = ask(&responder, "failover.svc.example.", "AAAA", 4, None);
    assert_eq!(
        (nodata.rcode, nodata.answers.len(), nodata.soa),
        (ResponseCode::NoError, 0, 1)
    );
    let nxdomain = ask(&responder, "nothere.svc.example.", "A", 5, None);
    assert_eq!((nxdomain.rcode, nxdomain.soa), (ResponseCode::NXDomain, 1));
}

/// What does this test do: probers report endpoints down, each report makes a new state and
/// plan, and the answers follow — failover moves to us with the lower failover TTL, then
/// with us down too a fail_closed record answers NODATA with the SOA and a record with a
/// fallback answers a CNAME to its static target, followed inside the zone.
#[test]
fn health_flips_change_the_answers() {
    let mut world = world();
    world.report(T0 + 1_000, &["eu-1-tcp", "eu-2-tcp"]);
    let (responder, _clock) = responder_at(&world.state, T0 + 1_500);
    let failover = ask(&responder, "failover.svc.example.", "A", 1, None);
    assert_eq!(sorted(failover.answers), ["10.1.0.1", "10.1.0.2"]);
    assert_eq!(failover.ttls, [5, 5], "degraded answers use failover_ttl");
    let closed = ask(&responder, "closed.svc.example.", "A", 2, None);
    assert_eq!(closed.answers, ["10.1.0.1"]);

    world.report(
        T0 + 2_000,
        &["eu-1-tcp", "eu-2-tcp", "us-1-tcp", "us-2-tcp"],
    );
    let (responder, _clock) = responder_at(&world.state, T0 + 2_500);
    let closed = ask(&responder, "closed.svc.example.", "A", 3, None);
    assert_eq!(
        (closed.rcode, closed.answers.len(), closed.soa),
        (ResponseCode::NoError, 0, 1),
        "fail_closed with nothing healthy is NODATA"
    );
    let fallback = ask(&responder, "fallback.svc.example.", "A", 4, None);
    assert_eq!(
        fallback.answers,
        ["cname static.svc.example.", "192.0.2.99"],
        "{fallback:?}"
    );
    assert_eq!(fallback.ttls[1], 600, "the static target keeps its own TTL");
    // The fallback stands in for the record's own type only: the name holds no CNAME.
    let fallback_cname = ask(&responder, "fallback.svc.example.", "CNAME", 5, None);
    assert_eq!((fallback_cname.answers.len(), fallback_cname.soa), (0, 1));

    world.report(T0 + 3_000, &[]);
    let (responder, _clock) = responder_at(&world.state, T0 + 3_500);
    let failover = ask(&responder, "failover.svc.example.", "A", 6, None);
    assert_eq!(sorted(failover.answers), ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(failover.ttls, [30, 30]);
}

/// What does this test do: a plan re-derived for new health only (`compile_plan_from`, what
/// DNS nodes do on every report) shares the compiled zones and records yet answers exactly
/// like a full compile, through a flip down and back; a structural change (a new GSLB record)
/// is never re-derived but compiled in full, so the new name answers.
#[test]
fn health_only_plans_answer_like_full_compiles() {
    let mut world = world();
    let mut plan = compile_plan_at(&world.state, T0 + 500, None);
    for (at, down) in [
        (T0 + 1_000, &["eu-1-tcp", "eu-2-tcp"][..]),
        (
            T0 + 2_000,
            &["eu-1-tcp", "eu-2-tcp", "us-1-tcp", "us-2-tcp"][..],
        ),
        (T0 + 3_000, &[][..]),
    ] {
        world.report(at, down);
        let rederived = plan
            .rederive(&world.state, at + 500, None)
            .expect("only health moved: re-derived, not compiled");
        let full = compile_plan_at(&world.state, at + 500, None);
        let clock = Arc::new(AtomicU64::new(at + 500));
        let fast = Responder::new(rederived.clone(), ResponderOptions::default())
            .with_manual_clock(clock.clone());
        let slow = Responder::new(full, ResponderOptions::default()).with_manual_clock(clock);
        for (id, name) in [
            "failover.svc.example.",
            "closed.svc.example.",
            "fallback.svc.example.",
            "guarded.svc.example.",
            "static.svc.example.",
        ]
        .into_iter()
        .enumerate()
        {
            let a = ask(&fast, name, "A", id as u16, None);
            let b = ask(&slow, name, "A", id as u16, None);
            assert_eq!(
                (a.rcode, sorted(a.answers), a.ttls, a.soa),
                (b.rcode, sorted(b.answers), b.ttls, b.soa),
                "{name} at {at}"
            );
        }
        plan = rederived;
    }

    world.apply(
        Command::PutGslbRecord {
            record: record(
                r#"{"name":"new.svc.example.","type":"A","ttl":30,"policy":{"region":"us"}}"#,
            ),
        },
        T0 + 4_000,
    );
    assert!(
        plan.rederive(&world.state, T0 + 4_500, None).is_none(),
        "a new record needs a full compile"
    );
    let next = compile_plan_from(&plan, &world.state, T0 + 4_500, None);
    let responder = Responder::new(next, ResponderOptions::default());
    let fresh = ask(&responder, "new.svc.example.", "A", 9, None);
    assert!(
        matches!(fresh.answers.as_slice(), [one] if one.starts_with("10.1.0.")),
        "one of us's endpoints: {fresh:?}"
    );
}

/// What does this test do: a guarded record answers region eu only while eu's lease (renewed
/// by the replication reports at T0, LEASE_MS long) is valid, with a TTL that never exceeds
/// the lease left; as the responder's clock passes the expiry — same plan, no new state, as
/// on a node cut off from the control plane — eu leaves the answer (NODATA, fail_closed).
/// Votes going stale is the other half: a plan compiled long after the last report treats
/// health as unknown, which this record reads as down.
#[test]
fn leases_run_out_and_votes_go_stale_with_time() {
    let world = world();
    let (responder, clock) = responder_at(&world.state, T0 + 500);
    let guarded = ask(&responder, "guarded.svc.example.", "A", 1, None);
    assert_eq!(sorted(guarded.answers.clone()), ["10.0.0.1", "10.0.0.2"]);
    let lease_left_s = ((T0 + LEASE_MS) - (T0 + 500)) / 1000;
    assert!(
        guarded
            .ttls
            .iter()
            .all(|&ttl| ttl > 0 && u64::from(ttl) <= lease_left_s + 1),
        "ttl capped by the lease left ({lease_left_s} s): {guarded:?}"
    );

    clock.store(T0 + LEASE_MS - 1_500, std::sync::atomic::Ordering::Relaxed);
    let late = ask(&responder, "guarded.svc.example.", "A", 2, None);
    assert_eq!(late.answers.len(), 2);
    assert!(late.ttls.iter().all(|&ttl| ttl <= 2), "{late:?}");

    clock.store(T0 + LEASE_MS + 1, std::sync::atomic::Ordering::Relaxed);
    let expired = ask(&responder, "guarded.svc.example.", "A", 3, None);
    assert_eq!(
        (expired.rcode, expired.answers.len(), expired.soa),
        (ResponseCode::NoError, 0, 1),
        "the lease ran out: {expired:?}"
    );
    let unguarded = ask(&responder, "failover.svc.example.", "A", 4, None);
    assert_eq!(unguarded.answers.len(), 2, "unguarded records keep serving");

    let (stale, _clock) = responder_at(&world.state, T0 + 60_000);
    let closed = ask(&stale, "closed.svc.example.", "A", 5, None);
    assert_eq!(
        closed.answers.len(),
        0,
        "stale votes are unknown, read as down"
    );
}

/// What does this test do: for a battery of clients (ECS v4 and v6 subnets, /0, none) and
/// the records whose choice does not depend on entropy, the DNS answer and
/// `evaluate_explained` over the very plan's compiled record and inputs pick the same
/// endpoints and the same scope.
#[test]
fn explanations_agree_with_dns_answers() {
    let world = world();
    let now = T0 + 500;
    let (responder, _clock) = responder_at(&world.state, now);
    let plan = responder.plan();
    let clients: [Option<(&str, u8)>; 7] = [
        None,
        Some(("192.0.2.0", 24)),
        Some(("192.0.2.128", 25)),
        Some(("198.51.100.0", 24)),
        Some(("203.0.113.0", 24)),
        Some(("2001:db8:42::", 56)),
        Some(("0.0.0.0", 0)),
    ];
    for name in [
        "geo.svc.example.",
        "sticky.svc.example.",
        "failover.svc.example.",
        "guarded.svc.example.",
    ] {
        let compiled = plan
            .gslb()
            .record(&common::name(name), gslb_model::RecordType::A)
            .unwrap_or_else(|| panic!("{name} is in the plan"));
        for (index, client) in clients.iter().enumerate() {
            let reply = ask(&responder, name, "A", index as u16, *client);
            let transport = context(Transport::Udp).client.ip();
            let ecs = client.map(|(addr, prefix)| (addr.parse::<IpAddr>().unwrap(), prefix));
            let facts = responder.locator().facts(transport, ecs);
            let entropy = gslb_dns::responder::query_entropy(index as u16);
            let (decision, explanation) =
                evaluate_explained(compiled, plan.gslb().inputs(), &facts, now, entropy);
            let explained: Vec<String> = decision
                .answers
                .iter()
                .map(
                    |endpoint| match &plan.gslb().inputs().endpoints[endpoint].target {
                        EndpointTarget::Address(address) => address.to_string(),
                        EndpointTarget::Cname(target) => format!("cname {target}"),
                    },
                )
                .collect();
            assert_eq!(
                sorted(reply.answers.clone()),
                sorted(explained),
                "{name} for {client:?}: {explanation:?}"
            );
            if client.is_some() {
                assert_eq!(reply.scope, Some(decision.scope), "{name} for {client:?}");
            }
            assert_eq!(
                reply.ttls.first().copied().unwrap_or(decision.ttl),
                decision.ttl
            );
        }
    }
}

/// What does this test do: the plan follower, with no new state version, recompiles on its
/// timer, so a node that stops hearing prober reports sees their votes go stale on its own
/// clock and a fail_closed record stops answering.
#[tokio::test]
async fn the_follower_lets_votes_go_stale_without_new_versions() {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut world = world();
    // Reported 29.5 s ago: fresh for another half second (3 × the 10 s report interval).
    world.report(wall - 29_500, &[]);
    let (_publisher, watch) = tokio::sync::watch::channel(Arc::new(world.state.clone()));
    let responder = Arc::new(Responder::new(
        gslb_dns::AnswerPlan::empty(),
        ResponderOptions::default(),
    ));
    let follower = gslb_dns::spawn_plan_follower(watch, responder.clone(), gslb_dns::wall_clock());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut saw_answer = false;
    loop {
        let closed = ask(&responder, "closed.svc.example.", "A", 1, None);
        if closed.answers.len() == 1 {
            saw_answer = true;
        }
        if saw_answer && closed.rcode == ResponseCode::NoError && closed.answers.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waiting for the follower to let votes go stale: {closed:?} (answered once: {saw_answer})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    follower.abort();
}
