//! Zone transfers from `Responder::transfer`, in process: the messages an AXFR or IXFR
//! request gets for a state built by hand, parsed back with hickory-proto. Covers the
//! allow list (REFUSED, NOTAUTH for a signed request and for a zone not ours), the AXFR
//! sequence (SOA, every record, SOA), GSLB names as the answer a client of unknown location
//! gets (and left out when the zone says so), IXFR from the history, from the current
//! serial and from before the history, a large zone streamed in messages that each fit,
//! and the catalog zone.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::{add_regions, name, sample_state, set, zone};
use gslb_dns::{compile_plan, QueryContext, Responder, ResponderOptions, Transport};
use gslb_model::model::zone_history::ZoneDiff;
use gslb_model::{GslbRecord, PolicyNode, RData, RecordType, State, UnknownAs, ZoneTransfer};
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{Name, RData as WireData, Record, RecordType as WireType};

const APEX: &str = "example.com.";

fn allowing(state: &mut State, apex: &str, allow: &[&str]) {
    let zone = Arc::make_mut(state.zones.get_mut(&name(apex)).unwrap());
    zone.transfer = ZoneTransfer {
        allow: allow.iter().map(|peer| peer.parse().unwrap()).collect(),
        ..Default::default()
    };
}

fn responder_over(state: State, options: ResponderOptions) -> Responder {
    let responder = Responder::new(compile_plan(&state), options);
    responder.install_state(Arc::new(state));
    responder
}

fn from(address: &str) -> QueryContext {
    QueryContext {
        client: SocketAddr::new(address.parse().unwrap(), 40000),
        transport: Transport::Tcp,
    }
}

fn request(apex: &str, qtype: WireType, serial: Option<u32>) -> Vec<u8> {
    let mut message = Message::query();
    let zone = Name::from_ascii(apex).unwrap();
    message.add_query(Query::query(zone.clone(), qtype));
    if let Some(serial) = serial {
        let soa = SOA::new(zone.clone(), zone.clone(), serial, 0, 0, 0, 0);
        message
            .authorities
            .push(Record::from_rdata(zone, 0, WireData::SOA(soa)));
    }
    message.to_vec().unwrap()
}

/// Every message of the transfer, parsed.
fn transfer(responder: &Responder, query: &[u8], context: &QueryContext) -> Vec<Message> {
    let mut transfer = responder.transfer(query, context);
    let mut messages = Vec::new();
    while let Some(bytes) = transfer.next_message() {
        assert!(bytes.len() <= 65535, "a message fits its TCP frame");
        messages.push(Message::from_vec(&bytes).expect("a message hickory reads"));
        assert!(messages.len() < 10_000, "the transfer ends");
    }
    messages
}

fn records(messages: &[Message]) -> Vec<Record> {
    messages.iter().flat_map(|m| m.answers.clone()).collect()
}

fn serial_of(record: &Record) -> Option<u32> {
    match &record.data {
        WireData::SOA(soa) => Some(soa.serial),
        _ => None,
    }
}

fn rcode(messages: &[Message]) -> ResponseCode {
    assert_eq!(messages.len(), 1, "an error is one message");
    messages[0].metadata.response_code
}

/// The sample state with a GSLB name `app.example.com.` answered by region `eu`.
fn state_with_gslb() -> State {
    let mut state = sample_state(7);
    add_regions(&mut state, &["eu"]);
    state.insert_gslb_record(GslbRecord {
        name: name("app.example.com."),
        rtype: RecordType::A,
        ttl: 30,
        failover_ttl: None,
        policy: PolicyNode::Endpoints(vec!["eu-1".to_string()]),
        max_answers: 1,
        when_all_down: Default::default(),
        unknown_as: UnknownAs::Up,
        split_brain_guard: false,
        latency_margin: Default::default(),
    });
    state
}

#[test]
fn only_allowed_sources_may_transfer() {
    let mut state = sample_state(7);
    allowing(&mut state, APEX, &["192.0.2.0/24", "key:xfr"]);
    let responder = responder_over(state, ResponderOptions::default());
    let axfr = request(APEX, WireType::AXFR, None);
    assert_eq!(
        rcode(&transfer(&responder, &axfr, &from("198.51.100.1"))),
        ResponseCode::Refused
    );
    assert_eq!(
        rcode(&transfer(
            &responder,
            &request("nowhere.test.", WireType::AXFR, None),
            &from("192.0.2.1")
        )),
        ResponseCode::NotAuth
    );
    let granted = transfer(&responder, &axfr, &from("192.0.2.1"));
    assert_eq!(granted[0].metadata.response_code, ResponseCode::NoError);
    assert!(granted[0].metadata.authoritative);
    let snapshot = responder.metrics().snapshot();
    let count = |kind: &str| {
        snapshot
            .transfers
            .iter()
            .find(|(k, _)| *k == kind)
            .unwrap()
            .1
    };
    assert_eq!((count("refused"), count("full")), (2, 1));
}

#[test]
fn axfr_sends_soa_every_record_gslb_answers_and_soa() {
    let mut state = state_with_gslb();
    allowing(&mut state, APEX, &["127.0.0.0/8"]);
    let zone = state.zones[&name(APEX)].clone();
    let responder = responder_over(state.clone(), ResponderOptions::default());
    let all = records(&transfer(
        &responder,
        &request(APEX, WireType::AXFR, None),
        &from("127.0.0.1"),
    ));
    assert_eq!(serial_of(&all[0]), Some(zone.soa.serial));
    assert_eq!(serial_of(all.last().unwrap()), Some(zone.soa.serial));
    let static_records: usize = zone.rrsets.iter().map(|set| set.rdata.len()).sum();
    let app: Vec<&Record> = all
        .iter()
        .filter(|r| r.name == Name::from_ascii("app.example.com.").unwrap())
        .collect();
    assert_eq!(all.len(), static_records + 2 + app.len());
    assert_eq!(
        app.len(),
        1,
        "the GSLB name as an unlocated client's answer: {all:?}"
    );
    assert_eq!(app[0].record_type(), WireType::A);
    assert!(matches!(&app[0].data, WireData::A(a) if a.0.to_string() == "10.0.0.1"));

    // Left out when the zone says so.
    Arc::make_mut(state.zones.get_mut(&name(APEX)).unwrap())
        .transfer
        .omit_gslb
        .push(name("app.example.com."));
    let responder = responder_over(state, ResponderOptions::default());
    let all = records(&transfer(
        &responder,
        &request(APEX, WireType::AXFR, None),
        &from("127.0.0.1"),
    ));
    assert_eq!(all.len(), static_records + 2);
}

#[test]
fn ixfr_answers_from_the_history_or_in_full_or_with_one_soa() {
    let mut state = sample_state(7);
    allowing(&mut state, APEX, &["127.0.0.0/8"]);
    let apex = name(APEX);
    let current = state.zones[&apex].soa.clone();
    let mut older = current.clone();
    older.serial -= 1;
    state.zone_history.insert(
        apex.clone(),
        vec![ZoneDiff {
            from: older.clone(),
            to: current.clone(),
            removed: vec![set(
                "gone.example.com.",
                300,
                vec![RData::A("192.0.2.99".parse().unwrap())],
            )],
            added: vec![],
        }]
        .into_iter()
        .collect(),
    );
    let responder = responder_over(state, ResponderOptions::default());
    let local = from("127.0.0.1");

    let same = records(&transfer(
        &responder,
        &request(APEX, WireType::IXFR, Some(current.serial)),
        &local,
    ));
    assert_eq!(same.len(), 1, "one SOA for a current secondary");

    let diff = records(&transfer(
        &responder,
        &request(APEX, WireType::IXFR, Some(older.serial)),
        &local,
    ));
    let serials: Vec<Option<u32>> = diff.iter().map(serial_of).collect();
    assert_eq!(
        serials,
        vec![
            Some(current.serial),
            Some(older.serial),
            None,
            Some(current.serial),
            Some(current.serial)
        ],
        "new SOA, old SOA, removed, new SOA, added (none), new SOA"
    );

    let ancient = records(&transfer(
        &responder,
        &request(APEX, WireType::IXFR, Some(1)),
        &local,
    ));
    assert!(ancient.len() > 5);
    assert_ne!(
        ancient[1].record_type(),
        WireType::SOA,
        "AXFR form: SOA, then the zone's records"
    );
}

#[test]
fn a_large_zone_streams_in_messages_that_fit() {
    let mut state = State::default();
    let rrsets = (0..20_000)
        .map(|n| {
            set(
                &format!("host-{n}.big.test."),
                300,
                vec![RData::A(std::net::Ipv4Addr::from(n as u32))],
            )
        })
        .collect();
    let big = zone("big.test.", rrsets);
    state.zones.insert(big.apex.clone(), Arc::new(big));
    allowing(&mut state, "big.test.", &["127.0.0.0/8"]);
    let responder = responder_over(state, ResponderOptions::default());
    let messages = transfer(
        &responder,
        &request("big.test.", WireType::AXFR, None),
        &from("127.0.0.1"),
    );
    assert!(messages.len() > 5, "{} messages", messages.len());
    let all = records(&messages);
    assert_eq!(all.len(), 20_000 + 2 + 2);
    // Owners are compressed against the one before and the apex, message by message: read
    // back by hickory, every record is the zone's, owner and data.
    let mut got: Vec<String> = all
        .iter()
        .filter(|record| record.record_type() == WireType::A)
        .map(|record| format!("{} {}", record.name, record.data))
        .collect();
    got.sort();
    let mut expected: Vec<String> = (0..20_000u32)
        .map(|n| format!("host-{n}.big.test. {}", std::net::Ipv4Addr::from(n)))
        .collect();
    expected.sort();
    assert_eq!(got.len(), expected.len());
    assert!(
        got == expected,
        "the records read back differ from the zone's"
    );
}

#[test]
fn the_catalog_transfers_to_whoever_may_transfer_a_zone() {
    let mut state = sample_state(7);
    allowing(&mut state, APEX, &["127.0.0.0/8"]);
    let options = ResponderOptions {
        catalog_zone: Some(name("catalog.invalid.")),
        ..ResponderOptions::default()
    };
    let responder = responder_over(state.clone(), options);
    let catalog = request("catalog.invalid.", WireType::AXFR, None);
    assert_eq!(
        rcode(&transfer(&responder, &catalog, &from("198.51.100.1"))),
        ResponseCode::Refused
    );
    let all = records(&transfer(&responder, &catalog, &from("127.0.0.1")));
    let members: Vec<String> = all
        .iter()
        .filter_map(|r| match &r.data {
            WireData::PTR(target) => Some(target.0.to_ascii()),
            _ => None,
        })
        .collect();
    assert_eq!(members.len(), state.zones.len(), "{members:?}");
    assert!(all
        .iter()
        .any(|r| matches!(&r.data, WireData::TXT(txt) if txt.to_string() == "2")));
}
