//! Tests of the history `apply` records: health transitions with their votes and affected
//! records, overrides set and expired, and the bound on the ring.

use super::test_support::*;
use super::*;
use crate::model::check::{Check, CheckKind, CheckSubject, TcpCheck};
use crate::model::gslb_record::PolicyNode;
use crate::model::health::ObservationReport;
use crate::model::history::{Event, EventKind, EVENTS_RETAINED};
use crate::model::overrides::{Override, OverrideAction, OverrideTarget};
use crate::model::record::RecordType;
use crate::model::state::State;

const VANTAGES: [&str; 3] = ["r1", "r2", "r3"];

fn tcp_check() -> Check {
    Check {
        id: "e1-tcp".to_string(),
        subject: CheckSubject::Endpoint("e1".to_string()),
        kind: CheckKind::Tcp(TcpCheck {
            port: 80,
            send: None,
            expect: None,
        }),
        target: None,
        interval_ms: 1_000,
        timeout_ms: 500,
        rise: 1,
        fall: 1,
        vantages: Default::default(),
        quorum: None,
    }
}

/// Three regions, endpoint e1 in r1 with a tcp check, and `www.example.com. A` on region r1.
fn world() -> (State, u64) {
    let mut commands = vec![Command::PutZone { zone: zone() }];
    commands.extend(VANTAGES.map(|id| Command::PutRegion { region: region(id) }));
    commands.push(Command::PutEndpoint {
        endpoint: endpoint("e1", "r1"),
    });
    commands.push(Command::PutCheck {
        check: Box::new(tcp_check()),
    });
    commands.push(Command::PutGslbRecord {
        record: gslb(
            "www.example.com.",
            RecordType::A,
            PolicyNode::Region("r1".to_string()),
        ),
    });
    let mut state = State::default();
    let mut index = 0;
    for command in commands {
        index += 1;
        apply(&mut state, &stamped(command, 1_000), index).unwrap();
    }
    (state, index)
}

/// Every vantage reports `up` on the check at `at`, one command each.
fn vote_all(state: &mut State, index: &mut u64, up: bool, at: u64) {
    for vantage in VANTAGES {
        *index += 1;
        let command = Command::ReportObservations {
            vantage: vantage.to_string(),
            observations: vec![ObservationReport {
                check: "e1-tcp".to_string(),
                up,
                rtt_us: Some(1_500),
                error: (!up).then(|| "connection refused".to_string()),
                capacity: None,
            }],
        };
        apply(state, &stamped(command, at), *index).unwrap();
    }
}

fn find<'a>(state: &'a State, kind: EventKind, subject: &str, to: &str) -> Option<&'a Event> {
    state
        .history
        .events
        .iter()
        .rev()
        .find(|event| event.kind == kind && event.subject == subject && event.to == to)
}

#[test]
fn a_region_going_down_is_recorded_with_votes_and_records() {
    let (mut state, mut index) = world();
    assert!(state.history.events.is_empty(), "nothing voted yet");
    vote_all(&mut state, &mut index, true, 2_000);
    let up = find(&state, EventKind::Region, "r1", "up").expect("r1 went up");
    assert_eq!(up.from, "unknown");
    vote_all(&mut state, &mut index, false, 3_000);
    let down = find(&state, EventKind::Region, "r1", "down").expect("r1 went down");
    assert_eq!(down.from, "up");
    assert_eq!(down.records, vec!["www.example.com. A".to_string()]);
    assert_eq!(down.at, 3_000);
    let votes: Vec<(&str, &str)> = down
        .votes
        .iter()
        .map(|vote| (vote.vantage.as_str(), vote.vote.as_str()))
        .collect();
    // The quorum (2 of 3) was lost at the second down vote; r3 had not voted again yet.
    assert_eq!(votes, vec![("r1", "down"), ("r2", "down"), ("r3", "up")]);
    assert!(down.cause.contains("endpoints up 0 of 1"), "{}", down.cause);
    assert!(find(&state, EventKind::Endpoint, "e1", "down").is_some());
    let check = find(&state, EventKind::Check, "e1-tcp", "down").expect("check down");
    assert!(check.cause.contains("1 up, 2 down"), "{}", check.cause);
    let seqs: Vec<u64> = state.history.events.iter().map(|event| event.seq).collect();
    assert!(
        seqs.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "{seqs:?}"
    );
}

#[test]
fn history_is_the_same_on_every_replica() {
    let (mut one, mut index_one) = world();
    let (mut two, mut index_two) = world();
    vote_all(&mut one, &mut index_one, true, 2_000);
    vote_all(&mut two, &mut index_two, true, 2_000);
    vote_all(&mut one, &mut index_one, false, 3_000);
    vote_all(&mut two, &mut index_two, false, 3_000);
    assert_eq!(one.history, two.history);
}

#[test]
fn stale_votes_and_expired_overrides_are_recorded_at_the_next_apply() {
    let (mut state, mut index) = world();
    vote_all(&mut state, &mut index, true, 2_000);
    index += 1;
    let rule = Override {
        id: "drain-r1".to_string(),
        target: OverrideTarget::Region("r1".to_string()),
        action: OverrideAction::Drain,
        reason: "maintenance".to_string(),
        expires_at: Some(2_500),
        drill: None,
    };
    apply(
        &mut state,
        &stamped(Command::PutOverride { rule }, 2_100),
        index,
    )
    .unwrap();
    let set = find(&state, EventKind::Override, "drain-r1", "active").expect("set");
    assert!(
        set.cause.contains("drain region r1: maintenance"),
        "{}",
        set.cause
    );
    assert_eq!(set.records, vec!["www.example.com. A".to_string()]);
    // Much later, any command: the override has run out and every vote is stale.
    index += 1;
    let late = Command::PutRegion {
        region: region("r4"),
    };
    apply(&mut state, &stamped(late, 600_000), index).unwrap();
    let expired = find(&state, EventKind::Override, "drain-r1", "inactive").expect("expired");
    assert!(expired.cause.contains("expired"), "{}", expired.cause);
    let stale = find(&state, EventKind::Region, "r1", "unknown").expect("r1 unknown");
    assert!(
        stale.votes.iter().all(|vote| vote.vote == "stale"),
        "{stale:?}"
    );
}

#[test]
fn the_ring_keeps_the_newest_events_only() {
    let (mut state, mut index) = world();
    let flips = EVENTS_RETAINED / 2;
    for flip in 0..flips {
        vote_all(
            &mut state,
            &mut index,
            flip % 2 == 0,
            2_000 + flip as u64 * 10,
        );
    }
    let history = &state.history;
    assert_eq!(history.events.len(), EVENTS_RETAINED);
    assert!(
        history.last_seq > EVENTS_RETAINED as u64,
        "{}",
        history.last_seq
    );
    assert_eq!(history.events.back().unwrap().seq, history.last_seq);
    assert_eq!(
        history.events.front().unwrap().seq,
        history.last_seq - EVENTS_RETAINED as u64 + 1
    );
}
