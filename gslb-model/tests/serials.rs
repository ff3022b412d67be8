//! SOA serials move with the zone's content: every committed command that changes a zone's
//! record sets, SOA or GSLB records moves its serial once, by the zone's policy; a command
//! that changes nothing, or changes something else, leaves it; a serial written explicitly is
//! kept when it moves forward (RFC 1982).

use gslb_model::command::apply;
use gslb_model::model::{
    Actor, DomainName, RData, RecordSet, RecordType, SerialPolicy, State, Zone,
};
use gslb_model::zonefile::parse_zone;
use gslb_model::{Command, StampedCommand};

/// 2026-12-07T10:00:00Z, the leader's stamp on every command here.
const AT: u64 = 1_796_637_600_000;

const ZONE: &str = "$ORIGIN serial.test.
$TTL 300
@ IN SOA ns1 hostmaster 2026120701 3600 600 864000 300
@ IN NS ns1
ns1 IN A 192.0.2.53
www IN A 192.0.2.1
";

fn zone(serial_policy: SerialPolicy) -> Zone {
    let mut zone = parse_zone(ZONE, "serial.test.zone", None, None).unwrap();
    zone.serial_policy = serial_policy;
    zone
}

fn name(text: &str) -> DomainName {
    DomainName::parse_absolute(text).unwrap()
}

fn apex() -> DomainName {
    name("serial.test.")
}

fn put_www(address: &str) -> Command {
    Command::PutRecordSet {
        zone: apex(),
        rrset: RecordSet {
            name: name("www.serial.test."),
            rtype: RecordType::A,
            ttl: 300,
            rdata: vec![RData::A(address.parse().unwrap())],
        },
    }
}

/// Applies `command` as the next log entry and returns the zone's serial afterwards.
fn run(state: &mut State, command: Command) -> u32 {
    let log_index = state.version + 1;
    let stamped = StampedCommand {
        at: AT + log_index,
        actor: Actor::new("test"),
        command,
    };
    apply(state, &stamped, log_index).expect("the command applies");
    state.zones[&apex()].soa.serial
}

#[test]
fn every_content_change_moves_the_serial_once() {
    let mut state = State::default();
    let created = run(
        &mut state,
        Command::PutZone {
            zone: zone(SerialPolicy::Increment),
        },
    );
    assert_eq!(
        created, 2026120701,
        "a new zone keeps the serial it was given"
    );

    assert_eq!(run(&mut state, put_www("192.0.2.2")), 2026120702);
    assert_eq!(
        run(&mut state, put_www("192.0.2.2")),
        2026120702,
        "a write that changes nothing leaves the serial"
    );
    let batch = Command::Batch {
        commands: vec![
            put_www("192.0.2.3"),
            Command::DeleteRecordSet {
                zone: apex(),
                name: name("www.serial.test."),
                rtype: RecordType::A,
            },
            put_www("192.0.2.4"),
        ],
    };
    assert_eq!(
        run(&mut state, batch),
        2026120703,
        "one step per committed command"
    );
    assert_eq!(
        run(
            &mut state,
            Command::DeleteRecordSet {
                zone: apex(),
                name: name("www.serial.test."),
                rtype: RecordType::A,
            }
        ),
        2026120704
    );
}

#[test]
fn an_explicit_serial_is_kept_only_when_it_moves_forward() {
    let mut state = State::default();
    run(
        &mut state,
        Command::PutZone {
            zone: zone(SerialPolicy::Increment),
        },
    );
    // Re-imported with new content but the old serial: the serial still moves.
    let mut same_serial = zone(SerialPolicy::Increment);
    same_serial.rrsets.get_mut(2).unwrap().rdata = vec![RData::A("192.0.2.9".parse().unwrap())];
    assert_eq!(
        run(&mut state, Command::PutZone { zone: same_serial }),
        2026120702
    );
    // An import that numbers its own serials ahead is honoured.
    let mut ahead = zone(SerialPolicy::Increment);
    ahead.soa.serial = 2026120900;
    assert_eq!(
        run(&mut state, Command::PutZone { zone: ahead }),
        2026120900
    );
    // One that goes back is not: the serial moves forward from where it was.
    let mut behind = zone(SerialPolicy::Increment);
    behind.soa.serial = 5;
    assert_eq!(
        run(&mut state, Command::PutZone { zone: behind }),
        2026120901
    );
}

#[test]
fn the_zone_policy_decides_the_step() {
    let mut state = State::default();
    let mut dated = zone(SerialPolicy::Dateserial);
    dated.soa.serial = 1;
    run(&mut state, Command::PutZone { zone: dated });
    assert_eq!(run(&mut state, put_www("192.0.2.2")), 2026120700);
    assert_eq!(run(&mut state, put_www("192.0.2.3")), 2026120701);

    let mut state = State::default();
    let mut unix = zone(SerialPolicy::Unixtime);
    unix.soa.serial = 1;
    run(&mut state, Command::PutZone { zone: unix });
    assert_eq!(run(&mut state, put_www("192.0.2.2")), 1_796_637_600);
}

#[test]
fn other_writes_leave_the_serial() {
    let mut state = State::default();
    run(
        &mut state,
        Command::PutZone {
            zone: zone(SerialPolicy::Increment),
        },
    );
    let region = Command::PutRegion {
        region: serde_json::from_str(
            r#"{"id":"eu-west","location":{"lat_micro":0,"lon_micro":0,"country":"FR","continent":"EU"}}"#,
        )
        .unwrap(),
    };
    assert_eq!(run(&mut state, region), 2026120701);
}

#[test]
fn a_state_without_policies_loads_with_increment() {
    let mut state = State::default();
    run(
        &mut state,
        Command::PutZone {
            zone: zone(SerialPolicy::Increment),
        },
    );
    let json = serde_json::to_string(&state).unwrap();
    assert!(
        !json.contains("serial_policy"),
        "the default policy is not written, so older readers and digests see the same zone"
    );
    let back: State = serde_json::from_str(&json).unwrap();
    assert_eq!(back.zones[&apex()].serial_policy, SerialPolicy::Increment);
}
