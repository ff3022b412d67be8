//! The IXFR history is written by `apply`: every committed command that moves a zone's
//! serial appends one difference (the SOA before and after, the static records removed and
//! added), a batch appends one for all its changes, transfer settings move nothing, and
//! adding or removing a zone moves `State::zones_changed` (the catalog zone's serial).

use gslb_model::command::apply;
use gslb_model::model::zone_history::diffs_since;
use gslb_model::model::{Actor, DomainName, RData, RecordSet, RecordType, State, ZoneTransfer};
use gslb_model::zonefile::parse_zone;
use gslb_model::{Command, StampedCommand};

const AT: u64 = 1_796_637_600_000;

const ZONE: &str = "$ORIGIN history.test.
$TTL 300
@ IN SOA ns1 hostmaster 10 3600 600 864000 300
@ IN NS ns1
ns1 IN A 192.0.2.53
www IN A 192.0.2.1
";

fn name(text: &str) -> DomainName {
    DomainName::parse_absolute(text).unwrap()
}

fn apex() -> DomainName {
    name("history.test.")
}

fn www(addresses: &[&str]) -> Command {
    Command::PutRecordSet {
        zone: apex(),
        rrset: RecordSet {
            name: name("www.history.test."),
            rtype: RecordType::A,
            ttl: 300,
            rdata: addresses
                .iter()
                .map(|a| RData::A(a.parse().unwrap()))
                .collect(),
        },
    }
}

fn run(state: &mut State, command: Command) {
    let log_index = state.version + 1;
    let stamped = StampedCommand {
        at: AT + log_index,
        actor: Actor::new("test"),
        command,
    };
    apply(state, &stamped, log_index).expect("the command applies");
}

fn serial(state: &State) -> u32 {
    state.zones[&apex()].soa.serial
}

#[test]
fn each_serial_move_leaves_one_difference() {
    let mut state = State::default();
    let zone = parse_zone(ZONE, "history.test.zone", None, None).unwrap();
    run(&mut state, Command::PutZone { zone: zone.clone() });
    assert_eq!(
        state.zones_changed, 1,
        "a new zone moves the catalog serial"
    );
    assert!(state.zone_history.get(&apex()).is_none_or(|h| h.is_empty()));

    run(&mut state, www(&["192.0.2.1", "192.0.2.2"]));
    run(
        &mut state,
        Command::Batch {
            commands: vec![
                www(&["192.0.2.3"]),
                Command::DeleteRecordSet {
                    zone: apex(),
                    name: name("ns1.history.test."),
                    rtype: RecordType::A,
                },
            ],
        },
    );
    assert_eq!(serial(&state), 12);
    let history = &state.zone_history[&apex()];
    assert_eq!(history.len(), 2);
    assert_eq!((history[0].from.serial, history[0].to.serial), (10, 11));
    assert!(history[0].removed.is_empty());
    assert_eq!(history[0].added[0].rdata.len(), 1, "only the new address");
    assert_eq!((history[1].from.serial, history[1].to.serial), (11, 12));
    assert_eq!(
        history[1].removed.len(),
        2,
        "www's two addresses and ns1's glue"
    );
    assert_eq!(history[1].added.len(), 1);
    assert_eq!(diffs_since(history, 10, 12).unwrap().len(), 2);
    assert_eq!(diffs_since(history, 11, 12).unwrap().len(), 1);

    // Transfer settings are no content change: no serial move, no difference.
    run(
        &mut state,
        Command::PutZoneTransfer {
            zone: apex(),
            transfer: ZoneTransfer {
                allow: vec!["127.0.0.0/8".parse().unwrap()],
                ..Default::default()
            },
        },
    );
    assert_eq!(serial(&state), 12);
    assert_eq!(state.zone_history[&apex()].len(), 2);

    // A whole zone written again differs by what actually changed.
    let mut again = zone;
    again.transfer = state.zones[&apex()].transfer.clone();
    run(&mut state, Command::PutZone { zone: again });
    let last = state.zone_history[&apex()].back().unwrap().clone();
    assert_eq!((last.from.serial, last.to.serial), (12, 13));
    assert_eq!(last.removed.len(), 1, "{last:?}");
    assert_eq!(last.added.len(), 2, "{last:?}");

    let version = state.version;
    run(&mut state, Command::DeleteZone { apex: apex() });
    assert_eq!(state.zones_changed, version + 1);
    assert!(
        state.zone_history.is_empty(),
        "a deleted zone's history goes with it"
    );
}

#[test]
fn transfer_settings_are_checked() {
    let mut state = State::default();
    let zone = parse_zone(ZONE, "history.test.zone", None, None).unwrap();
    run(&mut state, Command::PutZone { zone });
    let bad = Command::PutZoneTransfer {
        zone: apex(),
        transfer: ZoneTransfer {
            notify: vec!["127.0.0.1:0".parse().unwrap()],
            omit_gslb: vec![name("www.elsewhere.test.")],
            ..Default::default()
        },
    };
    let errors = gslb_model::command::validate(&state, &bad)
        .unwrap_err()
        .to_string();
    assert!(errors.contains("transfer.notify[0]: port 0"), "{errors}");
    assert!(errors.contains("transfer.omit_gslb[0]"), "{errors}");
    let missing = Command::PutZoneTransfer {
        zone: name("nowhere.test."),
        transfer: ZoneTransfer::default(),
    };
    assert!(gslb_model::command::validate(&state, &missing).is_err());
}

#[test]
fn a_large_zone_rewritten_whole_differs_by_what_changed() {
    let mut state = State::default();
    let mut zone = parse_zone(ZONE, "history.test.zone", None, None).unwrap();
    for n in 0..20_000u32 {
        zone.rrsets.push(RecordSet {
            name: name(&format!("host-{n}.history.test.")),
            rtype: RecordType::A,
            ttl: 300,
            rdata: vec![RData::A(std::net::Ipv4Addr::from(n))],
        });
    }
    zone.normalize();
    run(&mut state, Command::PutZone { zone: zone.clone() });
    let index = zone
        .rrsets
        .position(&name("host-7.history.test."), RecordType::A)
        .unwrap();
    zone.rrsets.get_mut(index).unwrap().rdata = vec![RData::A("192.0.2.7".parse().unwrap())];
    run(&mut state, Command::PutZone { zone });
    let last = state.zone_history[&apex()].back().unwrap();
    assert_eq!((last.removed.len(), last.added.len()), (1, 1), "{last:?}");
}
