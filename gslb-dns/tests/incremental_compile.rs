//! Incremental compile against a whole compile: random zones over a tiny label alphabet (so
//! wildcards, empty non-terminals, delegations and in-zone NS/MX targets collide often) take
//! a run of random edits; after each, the plan `compile_plan_since` brings forward from the
//! previous one must answer every name of the universe, for every query type, byte for byte
//! as `compile_plan` of the same state. A fixed case checks that a one-name edit really is
//! compiled as a patch.

mod common;

use common::{exchange, query, rtype, set};
use gslb_dns::{
    compile_plan, compile_plan_since, AnswerPlan, Responder, ResponderOptions, Transport,
};
use gslb_model::{DomainName, RData, RecordSet, RecordType, State};
use proptest::prelude::*;

const LABELS: [&str; 4] = ["a", "b", "*", "ns1"];

const QTYPES: [&str; 8] = ["A", "AAAA", "MX", "CNAME", "NS", "SOA", "ANY", "DS"];

fn apex() -> DomainName {
    DomainName::parse_absolute("z.test.").unwrap()
}

/// Every name of up to three labels below the apex.
fn universe() -> Vec<DomainName> {
    let mut names = vec![apex()];
    let mut frontier = vec![apex()];
    for _ in 0..3 {
        let mut next = Vec::new();
        for name in &frontier {
            for label in LABELS {
                next.push(name.prepend_label(label.as_bytes()).unwrap());
            }
        }
        names.extend(next.iter().cloned());
        frontier = next;
    }
    names
}

/// One change to the zone: the set of one type at one name replaced or removed, or the SOA
/// serial moved.
#[derive(Debug, Clone)]
enum Edit {
    /// `count` A records at the name.
    PutA(usize, u8),
    /// An MX at the name naming another name of the universe.
    PutMx(usize, usize),
    /// A CNAME at the name to another name of the universe.
    PutCname(usize, usize),
    /// A delegation at the name.
    PutNs(usize),
    /// Every set at the name removed.
    Remove(usize),
    /// The SOA serial moved on.
    BumpSerial,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (0usize..85, 1u8..4).prop_map(|(n, c)| Edit::PutA(n, c)),
        1 => (0usize..85, 0usize..85).prop_map(|(n, t)| Edit::PutMx(n, t)),
        1 => (0usize..85, 0usize..85).prop_map(|(n, t)| Edit::PutCname(n, t)),
        1 => (1usize..85).prop_map(Edit::PutNs),
        3 => (1usize..85).prop_map(Edit::Remove),
        1 => Just(Edit::BumpSerial),
    ]
}

/// `state` with `edit` applied (sets kept unique per name and type, and sorted), as version
/// `version`.
fn apply(state: &State, edit: &Edit, names: &[DomainName], version: u64) -> State {
    let mut next = state.clone();
    next.version = version;
    let zone = std::sync::Arc::make_mut(next.zones.get_mut(&apex()).unwrap());
    let mut put = |set: RecordSet| {
        zone.rrsets
            .retain(|old| !(old.name == set.name && old.rtype == set.rtype));
        zone.rrsets.push(set);
    };
    match edit {
        Edit::PutA(n, count) => {
            let rdata = (0..*count)
                .map(|i| RData::A([192, 0, 2, i + version as u8].into()))
                .collect();
            put(set(&names[*n].to_string(), 60, rdata));
        }
        Edit::PutMx(n, target) => put(set(
            &names[*n].to_string(),
            60,
            vec![RData::MX {
                preference: 10,
                exchange: names[*target].clone(),
            }],
        )),
        Edit::PutCname(n, target) => put(set(
            &names[*n].to_string(),
            60,
            vec![RData::CNAME(names[*target].clone())],
        )),
        Edit::PutNs(n) => put(set(
            &names[*n].to_string(),
            60,
            vec![RData::NS(names[(*n + 1) % names.len()].clone())],
        )),
        Edit::Remove(n) => zone.rrsets.retain(|old| old.name != names[*n]),
        Edit::BumpSerial => zone.soa.serial += 1,
    }
    zone.normalize();
    next
}

/// Asserts `incremental` answers every name and type as `whole` does, byte for byte.
fn same_answers(incremental: &AnswerPlan, whole: &AnswerPlan, names: &[DomainName]) {
    let incremental = Responder::new(incremental.clone(), ResponderOptions::default());
    let whole = Responder::new(whole.clone(), ResponderOptions::default());
    for name in names
        .iter()
        .chain([&DomainName::parse_absolute("x.ns1.b.a.z.test.").unwrap()])
    {
        for qtype in QTYPES {
            let packet = query(&name.to_string(), rtype(qtype)).to_vec().unwrap();
            assert_eq!(
                exchange(&incremental, &packet, Transport::Tcp),
                exchange(&whole, &packet, Transport::Tcp),
                "{name} {qtype}"
            );
        }
    }
}

fn initial_state(picks: &[(usize, u8)], names: &[DomainName]) -> State {
    let rrsets: Vec<RecordSet> = picks
        .iter()
        .map(|&(n, count)| {
            let rdata = (0..count)
                .map(|i| RData::A([198, 51, 100, i].into()))
                .collect();
            set(&names[n].to_string(), 60, rdata)
        })
        .collect();
    let mut zone = common::zone("z.test.", Vec::new());
    for set in rrsets {
        zone.rrsets
            .retain(|old| !(old.name == set.name && old.rtype == set.rtype));
        zone.rrsets.push(set);
    }
    zone.normalize();
    let mut state = State {
        version: 1,
        ..State::default()
    };
    state
        .zones
        .insert(zone.apex.clone(), std::sync::Arc::new(zone));
    state
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// After every edit the plan brought forward answers as a whole compile.
    #[test]
    fn incremental_answers_match_a_whole_compile(
        picks in proptest::collection::vec((0usize..85, 1u8..3), 1..16),
        edits in proptest::collection::vec(edit(), 1..10),
    ) {
        let names = universe();
        let mut state = initial_state(&picks, &names);
        let mut plan = compile_plan(&state);
        for (step, edit) in edits.iter().enumerate() {
            let next = apply(&state, edit, &names, step as u64 + 2);
            let incremental = compile_plan_since(&plan, &state, &next, next.last_at, None, None);
            let whole = compile_plan(&next);
            prop_assert_eq!(incremental.name_count(), whole.name_count(), "after {:?}", edit);
            same_answers(&incremental, &whole, &names);
            plan = incremental;
            state = next;
        }
    }
}

/// One A set changed in a zone of a few thousand names is compiled as a patch of that name
/// (not the zone), answers as a whole compile, and a later edit extends the same patch.
#[test]
fn a_one_name_edit_is_compiled_as_a_patch() {
    let mut zone = common::zone("big.test.", Vec::new());
    for i in 0..4000u32 {
        zone.rrsets.push(set(
            &format!("h{i}.big.test."),
            60,
            vec![RData::A(i.to_be_bytes().into())],
        ));
    }
    zone.normalize();
    let mut state = State {
        version: 1,
        ..State::default()
    };
    state
        .zones
        .insert(zone.apex.clone(), std::sync::Arc::new(zone));
    let plan = compile_plan(&state);

    let mut next = state.clone();
    next.version = 2;
    let zone = std::sync::Arc::make_mut(next.zones.values_mut().next().unwrap());
    let h7 = zone
        .rrsets
        .iter_mut()
        .find(|set| set.name.to_string() == "h7.big.test." && set.rtype == RecordType::A)
        .unwrap();
    h7.rdata = vec![RData::A([203, 0, 113, 7].into())];
    zone.soa.serial += 1;
    let patched = compile_plan_since(&plan, &state, &next, 0, None, None);
    assert_eq!(patched.patched_zones(), 1);
    assert_eq!(patched.name_count(), plan.name_count());
    let checked: Vec<DomainName> = [
        "h7.big.test.",
        "h8.big.test.",
        "big.test.",
        "nope.big.test.",
    ]
    .iter()
    .map(|text| DomainName::parse_absolute(text).unwrap())
    .collect();
    same_answers(&patched, &compile_plan(&next), &checked);

    // A new name and a removed one go into the same patch.
    let mut third = next.clone();
    third.version = 3;
    let zone = std::sync::Arc::make_mut(third.zones.values_mut().next().unwrap());
    zone.rrsets
        .retain(|set| set.name.to_string() != "h9.big.test.");
    zone.rrsets.push(set(
        "new.deep.big.test.",
        60,
        vec![RData::A([192, 0, 2, 1].into())],
    ));
    zone.normalize();
    let again = compile_plan_since(&patched, &next, &third, 0, None, None);
    assert_eq!(again.patched_zones(), 1);
    let whole = compile_plan(&third);
    assert_eq!(again.name_count(), whole.name_count());
    let checked: Vec<DomainName> = [
        "h7.big.test.",
        "h9.big.test.",
        "new.deep.big.test.",
        "deep.big.test.",
        "big.test.",
    ]
    .iter()
    .map(|text| DomainName::parse_absolute(text).unwrap())
    .collect();
    same_answers(&again, &whole, &checked);
}

/// A delegation added above names that exist makes them referrals: a change that reaches
/// beyond the edited name is compiled whole, never patched.
#[test]
fn a_new_delegation_over_existing_names_is_compiled_whole() {
    let names = universe();
    let position = |text: &str| {
        names
            .iter()
            .position(|name| name.to_string() == text)
            .unwrap()
    };
    let state = initial_state(
        &[(position("a.b.z.test."), 1), (position("b.z.test."), 1)],
        &names,
    );
    let plan = compile_plan(&state);
    for edit in [
        Edit::PutNs(position("b.z.test.")),
        Edit::PutNs(position("a.a.z.test.")),
    ] {
        let next = apply(&state, &edit, &names, 2);
        let incremental = compile_plan_since(&plan, &state, &next, 0, None, None);
        same_answers(&incremental, &compile_plan(&next), &names);
    }
}
