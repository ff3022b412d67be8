//! `snapshot_codec` is exact over states built the way a cluster builds them (commands
//! through `apply`): zones with a record of every type and random hosts, GSLB records,
//! regions, endpoints, audit, an import still staged (with a chunk waiting for its turn), a
//! second zone. `decode(encode(s)) == s`, both serialize to the same JSON, and the plain
//! JSON older snapshots are decodes to the same state. Damaged bytes are
//! errors, not panics.

use std::sync::Arc;

use gslb_model::command::apply;
use gslb_model::model::{
    Actor, AdminState, Endpoint, EndpointTarget, GslbRecord, Location, PolicyNode, Region, State,
    UnknownAs, WhenAllDown,
};
use gslb_model::snapshot_codec::{decode, encode, is_compact};
use gslb_model::zonefile::parse_zone;
use gslb_model::{Command, DomainName, RData, RecordSet, RecordType, StampedCommand};
use proptest::prelude::*;

fn name(text: &str) -> DomainName {
    DomainName::parse_absolute(text).unwrap()
}

/// A zone with one set of every type the model holds (the SOA in its own field).
const EVERY_TYPE: &str = "$ORIGIN snap.test.
$TTL 300
@ SOA ns1 hostmaster 7 3600 600 86400 60
@ NS ns1
@ NS ns.elsewhere.example.
@ MX 10 mail
@ TXT \"v=spf1 -all\" \"\\000\\255\"
@ CAA 0 issue \"letsencrypt.org\"
@ SPF \"v=spf1 -all\"
@ URI 10 1 \"https://snap.test/\"
ns1 A 192.0.2.53
ns1 AAAA 2001:db8::53
mail A 192.0.2.25
www CNAME ns1
_sip._udp SRV 0 5 5060 ns1
_sip._udp NAPTR 100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp
1 PTR ns1
mb MB ns1
mg MG ns1
mr MR ns1
ssh SSHFP 1 1 123456789abcdef67890123456789abcdef67890
_443._tcp TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
_smime SMIMEA 3 1 1 ab
h HINFO \"x86_64\" \"linux\"
sub NS ns.sub
ns.sub A 192.0.2.153
sub DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
@ CDS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
@ DNSKEY 257 3 13 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QA==
@ CDNSKEY 257 3 13 AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QA==
d DNAME elsewhere.example.
loc LOC 52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m
rp RP admin.snap.test. h
cert CERT 1 12345 8 AQIDBAUGBwg=
pgp OPENPGPKEY AQIDBAUGBwg=
eui EUI48 00-00-5e-00-53-2a
eui EUI64 00-00-5e-ef-10-00-00-2a
svc SVCB 1 . alpn=h2 port=8443
svc HTTPS 1 . alpn=h2,h3
x TYPE65280 \\# 3 0a0b0c
";

/// Random hosts: a label, a type among those the compact form writes itself or through
/// JSON, and a value.
fn hosts() -> impl Strategy<Value = Vec<(String, u8, u32)>> {
    proptest::collection::vec(("[a-z0-9-]{1,20}", 0u8..5, any::<u32>()), 0..40)
}

fn host_set(apex: &DomainName, (label, kind, value): &(String, u8, u32)) -> RecordSet {
    let owner = apex.prepend_label(format!("r-{label}").as_bytes()).unwrap();
    let rdata = match kind {
        0 => RData::A((*value).into()),
        1 => RData::AAAA((u128::from(*value) << 64 | 1).into()),
        2 => RData::PTR(apex.prepend_label(format!("t{value}").as_bytes()).unwrap()),
        3 => RData::TXT(vec![value.to_be_bytes().to_vec(), b"\"\\".to_vec()]),
        _ => RData::MX {
            preference: *value as u16,
            exchange: name("mail.snap.test."),
        },
    };
    RecordSet {
        name: owner,
        rtype: rdata.record_type(),
        ttl: value % 86_400,
        rdata: vec![rdata],
    }
}

fn stamped(command: Command, at: u64) -> StampedCommand {
    StampedCommand {
        at,
        actor: Actor::new("prop"),
        command,
    }
}

/// Applies `commands` from an empty state at indexes 1, 2, ...; each must be accepted.
fn build(commands: Vec<Command>) -> State {
    let mut state = State::default();
    for (index, command) in commands.into_iter().enumerate() {
        let index = index as u64 + 1;
        let shown = command.to_string();
        apply(&mut state, &stamped(command, 1_000 * index), index)
            .unwrap_or_else(|error| panic!("{shown}: {error:?}"));
        state.version = index;
    }
    state
}

fn state_of(zone_hosts: &[(String, u8, u32)], staged_hosts: &[(String, u8, u32)]) -> State {
    let apex = name("snap.test.");
    let mut zone = parse_zone(EVERY_TYPE, "snap.zone", None, None).unwrap();
    let mut types: Vec<RecordType> = zone.rrsets.iter().map(|set| set.rtype).collect();
    types.sort();
    types.dedup();
    assert_eq!(
        types.len(),
        RecordType::ALL.len(),
        "every type but SOA, plus an unknown one"
    );
    for host in zone_hosts {
        zone.rrsets.put(host_set(&apex, host));
    }
    let mut second = parse_zone(
        "$ORIGIN other.example.\n@ 60 SOA ns hm 1 2 3 4 5\n@ 60 NS ns\nns 60 A 192.0.2.1\n",
        "other.zone",
        None,
        None,
    )
    .unwrap();
    second.default_ttl = 77;
    let staged_apex = name("staged.test.");
    let mut staged: Vec<RecordSet> = vec![RecordSet {
        name: staged_apex.clone(),
        rtype: RecordType::NS,
        ttl: 60,
        rdata: vec![RData::NS(name("ns.elsewhere.example."))],
    }];
    staged.extend(staged_hosts.iter().map(|host| host_set(&staged_apex, host)));
    staged.sort_by(|a, b| (&a.name, a.rtype).cmp(&(&b.name, b.rtype)));
    staged.dedup_by(|a, b| a.name == b.name && a.rtype == b.rtype);
    let waiting = vec![host_set(&staged_apex, &("zz-late".to_string(), 0, 7))];
    let region = Region {
        id: "eu-west".to_string(),
        location: Location {
            lat_micro: 50_110_000,
            lon_micro: 8_680_000,
            country: "DE".to_string(),
            continent: "EU".to_string(),
        },
        capacity: Some(4),
        min_healthy: None,
    };
    let endpoint = Endpoint {
        id: "web-1".to_string(),
        region: "eu-west".to_string(),
        target: EndpointTarget::Address("192.0.2.10".parse().unwrap()),
        weight: 10,
        admin: AdminState::Enabled,
        labels: Default::default(),
    };
    let record = GslbRecord {
        latency_margin: Default::default(),
        name: name("app.snap.test."),
        rtype: RecordType::A,
        ttl: 30,
        failover_ttl: None,
        policy: PolicyNode::Failover(vec![PolicyNode::Region("eu-west".to_string())]),
        max_answers: 1,
        when_all_down: WhenAllDown::FailOpen,
        unknown_as: UnknownAs::Down,
        split_brain_guard: false,
    };
    build(vec![
        Command::PutRegion { region },
        Command::PutEndpoint { endpoint },
        Command::PutZone { zone },
        Command::PutZone { zone: second },
        Command::PutRecordSet {
            zone: apex.clone(),
            rrset: host_set(&apex, &("edited".to_string(), 0, 1)),
        },
        Command::PutGslbRecord { record },
        Command::StageZoneRecords {
            import_id: "imp-1".to_string(),
            apex: staged_apex.clone(),
            chunk: 0,
            total_chunks: Some(3),
            rrsets: Arc::new(staged),
        },
        Command::StageZoneRecords {
            import_id: "imp-1".to_string(),
            apex: staged_apex,
            chunk: 2,
            total_chunks: Some(3),
            rrsets: Arc::new(waiting),
        },
    ])
}

fn assert_exact(state: &State) {
    let compact = encode(state).unwrap();
    assert!(is_compact(&compact));
    let decoded = decode(&compact).unwrap();
    assert_eq!(&decoded, state);
    assert_eq!(
        serde_json::to_string(&decoded).unwrap(),
        serde_json::to_string(state).unwrap()
    );
    // The plain JSON every older snapshot is reads as the same state.
    let json = serde_json::to_vec(state).unwrap();
    assert_eq!(&decode(&json).unwrap(), state);
    if !state.zones.is_empty() {
        assert!(
            compact.len() < json.len(),
            "{} ≥ {}",
            compact.len(),
            json.len()
        );
    }
}

#[test]
fn a_state_with_every_kind_of_content_round_trips() {
    let state = state_of(
        &[("a".to_string(), 0, 1), ("b".to_string(), 3, 2)],
        &[("c".to_string(), 2, 3)],
    );
    assert_eq!(state.zones.len(), 2);
    assert!(!state.gslb_records.is_empty());
    assert!(!state.audit.is_empty());
    let staged = &state.staged_imports["imp-1"];
    assert!(!staged.sets.is_empty() && !staged.waiting.is_empty());
    assert_exact(&state);
    assert_exact(&State::default());
}

proptest! {
    #[test]
    fn decode_of_encode_is_the_state(zone_hosts in hosts(), staged_hosts in hosts()) {
        assert_exact(&state_of(&zone_hosts, &staged_hosts));
    }
}

/// Every cut, and every flipped byte, of a compact snapshot is an error or (a flip inside a
/// JSON string or an address) another state, never a panic.
#[test]
fn damaged_snapshots_are_errors_not_panics() {
    let state = state_of(&[("a".to_string(), 1, 9)], &[]);
    let compact = encode(&state).unwrap();
    for cut in 0..compact.len() {
        assert!(decode(&compact[..cut]).is_err(), "cut at {cut}");
    }
    let mut flipped = compact.clone();
    for at in 0..flipped.len() {
        flipped[at] ^= 0xff;
        let _ = decode(&flipped);
        flipped[at] ^= 0xff;
    }
    assert!(decode(b"").is_err());
    assert!(decode(b"GSLBSNAP").is_err());
}
