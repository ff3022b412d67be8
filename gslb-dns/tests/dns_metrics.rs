//! The responder's counters count what they should: replies by transport, RCODE and query
//! type (REFUSED outside our zones, FORMERR for garbage, NOTIMP, BADVERS, silence for a
//! response), and per GSLB record the decision each evaluation took (normal, failover,
//! fail_open, fail_closed, fallback), the overrides and missing leases that took part, and
//! the regions answered; per-record counters survive a recompiled plan, leave with a deleted
//! record, and per-thread shards add up.

mod common;

use std::sync::Arc;

use common::{exchange, query, rtype, sample_responder, sample_state, with_edns};
use gslb_dns::metrics::{DnsSnapshot, QTYPE_NAMES, RCODE_NAMES};
use gslb_dns::{compile_plan, DnsMetrics, Responder, ResponderOptions, Transport};
use gslb_model::{GslbRecord, Override, State};
use hickory_proto::op::{Message, OpCode};

/// Every reply counted on one transport.
fn replies_on(snapshot: &DnsSnapshot, transport: &str) -> u64 {
    RCODE_NAMES
        .iter()
        .map(|rcode| snapshot.replies(transport, rcode))
        .sum()
}

/// Asserts every (transport, RCODE) count: `expected` lists the non-zero ones.
fn check_replies(snapshot: &DnsSnapshot, expected: &[(&str, &str, u64)]) {
    for transport in ["udp", "tcp"] {
        for rcode in RCODE_NAMES {
            let want = expected
                .iter()
                .find(|(t, r, _)| *t == transport && *r == rcode)
                .map_or(0, |(_, _, count)| *count);
            assert_eq!(
                snapshot.replies(transport, rcode),
                want,
                "{transport} {rcode} in {snapshot:#?}"
            );
        }
    }
}

/// Replies are counted by transport and RCODE, and by query type; silence apart.
#[test]
fn replies_are_counted_by_transport_rcode_and_type() {
    let responder = sample_responder();
    let packet = |name: &str, qtype: &str| query(name, rtype(qtype)).to_vec().unwrap();
    let udp = Transport::Udp;
    let tcp = Transport::Tcp;

    for _ in 0..3 {
        assert!(exchange(&responder, &packet("www.example.com.", "A"), udp).is_some());
    }
    assert!(exchange(&responder, &packet("www.example.com.", "AAAA"), tcp).is_some());
    assert!(exchange(&responder, &packet("nothere.example.com.", "A"), tcp).is_some());
    assert!(exchange(&responder, &packet("example.com.", "SOA"), udp).is_some());
    // Outside our zones.
    assert!(exchange(&responder, &packet("www.example.net.", "MX"), udp).is_some());
    // Zone transfers are refused too.
    assert!(exchange(&responder, &packet("example.com.", "AXFR"), tcp).is_some());
    // Garbage: a header that promises a question, then a cut label.
    let garbage = [
        0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'w', b'w',
    ];
    assert!(exchange(&responder, &garbage, udp).is_some());
    // A readable question with trailing junk is FORMERR too, with its type known.
    let mut trailing = packet("www.example.com.", "TXT");
    trailing.push(0);
    assert!(exchange(&responder, &trailing, udp).is_some());
    // OPCODE STATUS.
    let mut status = query("www.example.com.", rtype("A"));
    status.metadata.op_code = OpCode::Status;
    assert!(exchange(&responder, &status.to_vec().unwrap(), udp).is_some());
    // EDNS version 1.
    let mut future = with_edns(query("www.example.com.", rtype("A")), 1232, false, None);
    future.edns.as_mut().unwrap().set_version(1);
    assert!(exchange(&responder, &future.to_vec().unwrap(), tcp).is_some());
    // A response and a runt get no reply.
    let mut response = Message::from_vec(&packet("www.example.com.", "A")).unwrap();
    response.metadata.message_type = hickory_proto::op::MessageType::Response;
    assert!(exchange(&responder, &response.to_vec().unwrap(), udp).is_none());
    assert!(exchange(&responder, &[0u8; 5], tcp).is_none());

    let snapshot = responder.metrics().snapshot();
    check_replies(
        &snapshot,
        &[
            ("udp", "NOERROR", 4),
            ("udp", "REFUSED", 1),
            ("udp", "FORMERR", 2),
            ("udp", "NOTIMP", 1),
            ("tcp", "NOERROR", 1),
            ("tcp", "NXDOMAIN", 1),
            ("tcp", "REFUSED", 1),
            ("tcp", "BADVERS", 1),
        ],
    );
    let expected_types = [
        ("A", 6),
        ("AAAA", 1),
        ("SOA", 1),
        ("MX", 1),
        ("AXFR", 1),
        ("TXT", 1),
        ("none", 1),
    ];
    for qtype in QTYPE_NAMES {
        let want = expected_types
            .iter()
            .find(|(name, _)| *name == qtype)
            .map_or(0, |(_, count)| *count);
        assert_eq!(snapshot.qtype(qtype), want, "qtype {qtype}");
    }
    let by_type: u64 = snapshot.qtypes.iter().map(|(_, count)| count).sum();
    assert_eq!(
        by_type,
        replies_on(&snapshot, "udp") + replies_on(&snapshot, "tcp")
    );
    assert_eq!(snapshot.ignored, vec![("udp", 1), ("tcp", 1)]);
    assert!(snapshot.records.is_empty(), "no gslb record in the sample");
}

/// The sample state plus regions eu, us and ap (endpoint 2 of us disabled, ap drained by an
/// override) and one GSLB record per decision, all reading unknown health as up.
fn gslb_state(version: u64) -> State {
    let mut state = sample_state(version);
    common::add_regions(&mut state, &["eu", "us", "ap"]);
    let drain: Override = serde_json::from_str(
        r#"{"id":"drain-ap","target":{"kind":"region","id":"ap"},"action":"drain",
            "reason":"maintenance"}"#,
    )
    .unwrap();
    state.overrides.insert(drain.id.clone(), drain);
    for json in [
        r#"{"name":"normal.example.com.","type":"A","ttl":30,
            "policy":{"failover":[{"region":"eu"},{"region":"us"}]}}"#,
        r#"{"name":"both.example.com.","type":"A","ttl":30,"max_answers":4,
            "policy":{"endpoints":["eu-1","eu-2","us-1"]}}"#,
        r#"{"name":"failover.example.com.","type":"A","ttl":30,
            "policy":{"failover":[{"endpoints":["us-2"]},{"region":"us"}]}}"#,
        r#"{"name":"open.example.com.","type":"A","ttl":30,
            "policy":{"endpoints":["us-2"]},"when_all_down":"fail_open"}"#,
        r#"{"name":"closed.example.com.","type":"A","ttl":30,
            "policy":{"endpoints":["us-2"]},"when_all_down":"fail_closed"}"#,
        r#"{"name":"fallback.example.com.","type":"A","ttl":30,
            "policy":{"endpoints":["us-2"]},"when_all_down":{"fallback":"www.example.com."}}"#,
        r#"{"name":"drained.example.com.","type":"A","ttl":30,
            "policy":{"failover":[{"region":"ap"},{"region":"eu"}]}}"#,
        r#"{"name":"guarded.example.com.","type":"A","ttl":30,"split_brain_guard":true,
            "policy":{"region":"eu"},"when_all_down":"fail_closed"}"#,
    ] {
        let mut record: GslbRecord = serde_json::from_str(json).unwrap();
        record.unknown_as = gslb_model::UnknownAs::Up;
        state.insert_gslb_record(record);
    }
    state
}

/// Asks `name` A `times` times over UDP.
fn ask(responder: &Responder, name: &str, times: usize) {
    let packet = query(name, rtype("A")).to_vec().unwrap();
    for _ in 0..times {
        assert!(exchange(responder, &packet, Transport::Udp).is_some());
    }
}

/// Asserts one record's decisions: the named ones as given, every other 0.
fn check_decisions(snapshot: &DnsSnapshot, name: &str, expected: &[(&str, u64)]) {
    let record = snapshot
        .record(name, "A")
        .unwrap_or_else(|| panic!("no counters for {name} in {snapshot:#?}"));
    for decision in gslb_dns::metrics::DECISION_NAMES {
        let want = expected
            .iter()
            .find(|(d, _)| *d == decision)
            .map_or(0, |(_, count)| *count);
        assert_eq!(record.decision(decision), want, "{name} {decision}");
    }
}

/// Each GSLB record's evaluations are counted under the decision the policy took, with the
/// causes and regions behind them.
#[test]
fn gslb_decisions_are_counted_per_record() {
    let responder = Responder::new(compile_plan(&gslb_state(8)), ResponderOptions::default());
    ask(&responder, "normal.example.com.", 3);
    ask(&responder, "both.example.com.", 2);
    ask(&responder, "failover.example.com.", 2);
    ask(&responder, "open.example.com.", 1);
    ask(&responder, "closed.example.com.", 4);
    ask(&responder, "fallback.example.com.", 1);
    ask(&responder, "drained.example.com.", 5);
    ask(&responder, "guarded.example.com.", 2);

    let snapshot = responder.metrics().snapshot();
    assert_eq!(snapshot.records.len(), 8, "{snapshot:#?}");
    check_decisions(&snapshot, "normal.example.com.", &[("normal", 3)]);
    check_decisions(&snapshot, "both.example.com.", &[("normal", 2)]);
    check_decisions(&snapshot, "failover.example.com.", &[("failover", 2)]);
    check_decisions(&snapshot, "open.example.com.", &[("fail_open", 1)]);
    check_decisions(&snapshot, "closed.example.com.", &[("fail_closed", 4)]);
    check_decisions(&snapshot, "fallback.example.com.", &[("fallback", 1)]);
    check_decisions(&snapshot, "drained.example.com.", &[("failover", 5)]);
    check_decisions(&snapshot, "guarded.example.com.", &[("fail_closed", 2)]);

    // Causes: the drain on ap, the lease the guarded region never had; nothing elsewhere.
    let causes = |name: &str| snapshot.record(name, "A").unwrap().causes;
    assert_eq!(causes("drained.example.com."), [5, 0, 0]);
    assert_eq!(causes("guarded.example.com."), [0, 0, 2]);
    for name in ["normal", "both", "failover", "open", "closed", "fallback"] {
        assert_eq!(causes(&format!("{name}.example.com.")), [0, 0, 0], "{name}");
    }

    // Regions answered: eu by normal (3), both (2) and drained (5); us by both (2, once per
    // answer though it holds two eu endpoints) and failover (2); ap never.
    assert_eq!(snapshot.region("eu"), 10);
    assert_eq!(snapshot.region("us"), 4);
    assert_eq!(snapshot.region("ap"), 0);

    // The query side saw them too: 20 A queries, closed and guarded answered NODATA.
    assert_eq!(snapshot.qtype("A"), 20);
    assert_eq!(snapshot.replies("udp", "NOERROR"), 20);
}

/// A recompiled plan keeps counting into the same per-record counters; a record deleted
/// from the state leaves the snapshot once no plan holds it.
#[test]
fn record_counters_survive_recompiles() {
    let responder = Responder::new(compile_plan(&gslb_state(8)), ResponderOptions::default());
    ask(&responder, "normal.example.com.", 3);
    ask(&responder, "closed.example.com.", 1);

    let mut next = gslb_state(9);
    next.gslb_records
        .remove(&common::name("closed.example.com."));
    responder.install_plan(Arc::new(compile_plan(&next)));
    assert_eq!(responder.plan_version(), 9);
    ask(&responder, "normal.example.com.", 2);

    let snapshot = responder.metrics().snapshot();
    check_decisions(&snapshot, "normal.example.com.", &[("normal", 5)]);
    assert!(
        snapshot.record("closed.example.com.", "A").is_none(),
        "a deleted record still reported: {snapshot:#?}"
    );
    assert_eq!(snapshot.region("eu"), 5);

    // A shared metrics set (the node's /metrics) sees the responder built with it.
    let shared = Arc::new(DnsMetrics::new());
    let responder = Responder::new(compile_plan(&gslb_state(8)), ResponderOptions::default())
        .with_metrics(shared.clone());
    ask(&responder, "failover.example.com.", 2);
    let snapshot = shared.snapshot();
    check_decisions(&snapshot, "failover.example.com.", &[("failover", 2)]);
    assert_eq!(snapshot.replies("udp", "NOERROR"), 2);
}

/// Threads answer on their own shards; a snapshot adds them all up.
#[test]
fn shards_add_up_across_threads() {
    let responder = Arc::new(Responder::new(
        compile_plan(&gslb_state(8)),
        ResponderOptions::default(),
    ));
    assert!(responder.metrics().shard_count().is_power_of_two());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let responder = responder.clone();
            std::thread::spawn(move || {
                ask(&responder, "normal.example.com.", 250);
                ask(&responder, "www.example.com.", 250);
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let snapshot = responder.metrics().snapshot();
    assert_eq!(snapshot.replies("udp", "NOERROR"), 2000);
    assert_eq!(snapshot.qtype("A"), 2000);
    check_decisions(&snapshot, "normal.example.com.", &[("normal", 1000)]);
    assert_eq!(snapshot.region("eu"), 1000);
}
