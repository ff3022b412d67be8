//! Incremental compile against a whole compile: random zones over a tiny label alphabet (so
//! wildcards, empty non-terminals, delegations and in-zone NS/MX targets collide often) take
//! a run of random edits; after each, the plan `compile_plan_since` brings forward from the
//! previous one must answer every name of the universe, for every query type, byte for byte
//! as `compile_plan` of the same state. The names to compile come from the zone's edit log
//! (`RecordSets::names_changed_since`) or, for a zone rebuilt afresh, from a walk over both
//! versions; the edits cover A/AAAA, wildcards, empty non-terminals, delegations and glue,
//! CNAME, DNAME, MX targets, removals and SOA serial moves, one version at a time or several
//! coalesced, made by hand or through the model's `apply` as a Raft node makes them. Fixed
//! cases check that a one-name edit really is compiled as a patch.

mod common;

use common::{exchange, names_below, query, rtype, set};
use gslb_dns::{
    compile_plan, compile_plan_prepared, compile_plan_since, AnswerPlan, PreparedZones, Responder,
    ResponderOptions, Transport,
};
use gslb_model::command::{self, StampedCommand};
use gslb_model::{Actor, Command, DomainName, RData, RecordSet, RecordSets, RecordType, State};
use proptest::prelude::*;

const LABELS: [&str; 4] = ["a", "b", "*", "ns1"];

const QTYPES: [&str; 11] = [
    "A", "AAAA", "MX", "CNAME", "NS", "SOA", "ANY", "DS", "SRV", "NAPTR", "HTTPS",
];

fn apex() -> DomainName {
    DomainName::parse_absolute("z.test.").unwrap()
}

/// Every name of up to three labels below the apex.
fn universe() -> Vec<DomainName> {
    names_below(&apex(), &LABELS, 3)
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
    /// A DNAME at the name to another name of the universe.
    PutDname(usize, usize),
    /// An AAAA at the name.
    PutAaaa(usize),
    /// An SRV at the name naming another name.
    PutSrv(usize, usize),
    /// A NAPTR at the name with flag "S" (true: its additional records are the target's SRV
    /// and their targets' addresses) or "A" (the target's addresses).
    PutNaptr(usize, usize, bool),
    /// An HTTPS at the name: AliasMode to the other name (whose HTTPS chain additional
    /// records follow), or ServiceMode to it or, when both are the name, to ".".
    PutHttps(usize, usize, bool),
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
        1 => (1usize..85, 0usize..85).prop_map(|(n, t)| Edit::PutDname(n, t)),
        1 => (0usize..85).prop_map(Edit::PutAaaa),
        1 => (0usize..85, 0usize..85).prop_map(|(n, t)| Edit::PutSrv(n, t)),
        1 => (0usize..85, 0usize..85, any::<bool>()).prop_map(|(n, t, s)| Edit::PutNaptr(n, t, s)),
        2 => (0usize..85, 0usize..85, any::<bool>()).prop_map(|(n, t, a)| Edit::PutHttps(n, t, a)),
        3 => (1usize..85).prop_map(Edit::Remove),
        1 => Just(Edit::BumpSerial),
    ]
}

/// The set `edit` puts, if it puts one.
fn set_of(edit: &Edit, names: &[DomainName], version: u64) -> Option<RecordSet> {
    let owner = |n: &usize| names[*n].to_string();
    Some(match edit {
        Edit::PutA(n, count) => {
            let rdata = (0..*count)
                .map(|i| RData::A([192, 0, 2, i + version as u8].into()))
                .collect();
            set(&owner(n), 60, rdata)
        }
        Edit::PutMx(n, target) => set(
            &owner(n),
            60,
            vec![RData::MX {
                preference: 10,
                exchange: names[*target].clone(),
            }],
        ),
        Edit::PutCname(n, target) => set(&owner(n), 60, vec![RData::CNAME(names[*target].clone())]),
        Edit::PutNs(n) => set(
            &owner(n),
            60,
            vec![RData::NS(names[(*n + 1) % names.len()].clone())],
        ),
        Edit::PutDname(n, target) => set(&owner(n), 60, vec![RData::DNAME(names[*target].clone())]),
        Edit::PutAaaa(n) => set(
            &owner(n),
            60,
            vec![RData::AAAA(
                [0x2001, 0xdb8, 0, 0, 0, 0, 0, version as u16].into(),
            )],
        ),
        Edit::PutSrv(n, target) => set(
            &owner(n),
            60,
            vec![RData::SRV {
                priority: 0,
                weight: 0,
                port: 443,
                target: names[*target].clone(),
            }],
        ),
        Edit::PutNaptr(n, target, srv) => set(
            &owner(n),
            60,
            vec![RData::NAPTR {
                order: 1,
                preference: 1,
                flags: if *srv { b"S".to_vec() } else { b"A".to_vec() },
                services: b"x".to_vec(),
                regexp: Vec::new(),
                replacement: names[*target].clone(),
            }],
        ),
        Edit::PutHttps(n, target, alias) => set(
            &owner(n),
            60,
            vec![RData::HTTPS(gslb_model::SvcbData {
                priority: u16::from(!alias),
                target: if n == target && !alias {
                    DomainName::root()
                } else {
                    names[*target].clone()
                },
                params: Vec::new(),
            })],
        ),
        Edit::Remove(_) | Edit::BumpSerial => return None,
    })
}

/// `state` with `edit` applied by hand (sets kept unique per name and type, and sorted), as
/// version `version`; with `afresh` the zone's sets are rebuilt as a new value, whose edit
/// log cannot reach back (as a zone parsed again from its file), so the change is found by
/// the walk.
fn apply(state: &State, edit: &Edit, names: &[DomainName], version: u64, afresh: bool) -> State {
    let mut next = state.clone();
    next.version = version;
    let zone = std::sync::Arc::make_mut(next.zones.get_mut(&apex()).unwrap());
    if let Some(set) = set_of(edit, names, version) {
        zone.rrsets.put(set);
    }
    match edit {
        Edit::Remove(n) => zone.rrsets.retain(|old| old.name != names[*n]),
        Edit::BumpSerial => zone.soa.serial += 1,
        _ => {}
    }
    zone.normalize();
    if afresh {
        zone.rrsets = zone.rrsets.iter().cloned().collect::<RecordSets>();
    }
    next
}

/// `state` with `edit` made through the model's `apply` as the command a client would send
/// (a removal deletes every set at the name in one batch); the state unchanged when the
/// model refuses it (a CNAME beside data, data below a delegation, ...).
fn apply_command(state: &State, edit: &Edit, names: &[DomainName], version: u64) -> State {
    let zone = apex();
    let write = match edit {
        Edit::Remove(n) => Command::Batch {
            commands: state.zones[&zone]
                .rrsets
                .iter()
                .filter(|set| set.name == names[*n])
                .filter(|set| !(set.name == zone && set.rtype == RecordType::NS))
                .map(|set| Command::DeleteRecordSet {
                    zone: zone.clone(),
                    name: set.name.clone(),
                    rtype: set.rtype,
                })
                .collect(),
        },
        // The serial moves on every write the model applies.
        Edit::BumpSerial => return state.clone(),
        put => Command::PutRecordSet {
            zone: zone.clone(),
            rrset: set_of(put, names, version).expect("a put"),
        },
    };
    let stamped = StampedCommand {
        at: version,
        actor: Actor::new("incremental_compile"),
        command: write,
    };
    let mut next = state.clone();
    match command::apply(&mut next, &stamped, version) {
        Ok(_) => next,
        Err(_) => state.clone(),
    }
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

/// One step of a run: an edit, whether the zone is rebuilt afresh after it (the walk instead
/// of the log), and whether the plan is brought forward now or only with the next step (a
/// node that coalesces versions).
type Step = (Edit, bool, bool);

fn step() -> impl Strategy<Value = Step> {
    (
        edit(),
        proptest::bool::weighted(0.2),
        proptest::bool::weighted(0.7),
    )
}

/// Runs `steps` on the zone of `picks`, each state made from the one before by `make` (the
/// state, the step, its version), the plan brought forward when the step says so (always
/// after the last) and checked against a whole compile of the same state. With `logged`, the
/// zone's edit log must reach back to the state the plan was compiled from.
fn run_steps(
    picks: &[(usize, u8)],
    steps: &[Step],
    logged: bool,
    make: impl Fn(&State, &Step, u64) -> State,
) {
    let names = universe();
    let mut compiled = initial_state(picks, &names);
    let mut plan = compile_plan(&compiled);
    let mut state = compiled.clone();
    for (index, step) in steps.iter().enumerate() {
        state = make(&state, step, index as u64 + 2);
        if !step.2 && index + 1 < steps.len() {
            continue;
        }
        if logged {
            let (before, after) = (&compiled.zones[&apex()], &state.zones[&apex()]);
            assert!(after.rrsets.names_changed_since(&before.rrsets).is_some());
        }
        let incremental = compile_plan_since(&plan, &compiled, &state, state.last_at, None, None);
        let whole = compile_plan(&state);
        assert_eq!(
            incremental.name_count(),
            whole.name_count(),
            "after {:?}",
            step.0
        );
        same_answers(&incremental, &whole, &names);
        plan = incremental;
        compiled = state.clone();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// After every edit (or run of coalesced edits) the plan brought forward answers as a
    /// whole compile, whether the changed names came from the edit log or a walk.
    #[test]
    fn incremental_answers_match_a_whole_compile(
        picks in proptest::collection::vec((0usize..85, 1u8..3), 1..16),
        steps in proptest::collection::vec(step(), 1..10),
    ) {
        let names = universe();
        run_steps(&picks, &steps, false, |state, (edit, afresh, _), version| {
            apply(state, edit, &names, version, *afresh)
        });
    }

    /// The same through the model's `apply` (`PutRecordSet`, `DeleteRecordSet` in a batch,
    /// the serial moved by the model): the edit log always reaches back to the state the plan
    /// was compiled from, and the plan brought forward answers as a whole compile.
    #[test]
    fn model_writes_are_compiled_from_the_edit_log(
        picks in proptest::collection::vec((0usize..85, 1u8..3), 1..16),
        steps in proptest::collection::vec(step(), 1..10),
    ) {
        let names = universe();
        run_steps(&picks, &steps, true, |state, (edit, _, _), version| {
            apply_command(state, edit, &names, version)
        });
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
        .position(
            &DomainName::parse_absolute("h7.big.test.").unwrap(),
            RecordType::A,
        )
        .unwrap();
    zone.rrsets.get_mut(h7).unwrap().rdata = vec![RData::A([203, 0, 113, 7].into())];
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
        let next = apply(&state, &edit, &names, 2, false);
        let incremental = compile_plan_since(&plan, &state, &next, 0, None, None);
        same_answers(&incremental, &compile_plan(&next), &names);
    }
}

/// Additional records copied along chains (an HTTPS alias chain to a ServiceMode "." set,
/// a NAPTR "S" to an SRV to its target) follow a change at any link: each edit brought
/// forward answers as a whole compile.
#[test]
fn edits_along_additional_chains_answer_as_a_whole_compile() {
    let https = |priority: u16, target: &str| {
        RData::HTTPS(gslb_model::SvcbData {
            priority,
            target: DomainName::parse_absolute(target).unwrap(),
            params: Vec::new(),
        })
    };
    let address = |last: u8| RData::A([192, 0, 2, last].into());
    let srv = |target: &str| RData::SRV {
        priority: 0,
        weight: 0,
        port: 5060,
        target: DomainName::parse_absolute(target).unwrap(),
    };
    let mut zone = common::zone(
        "c.test.",
        vec![
            set("a.c.test.", 60, vec![https(0, "b.c.test.")]),
            set("b.c.test.", 60, vec![https(0, "p.c.test.")]),
            set("p.c.test.", 60, vec![https(1, ".")]),
            set("p.c.test.", 60, vec![address(1)]),
            set(
                "n.c.test.",
                60,
                vec![RData::NAPTR {
                    order: 1,
                    preference: 1,
                    flags: b"S".to_vec(),
                    services: b"SIP+D2U".to_vec(),
                    regexp: Vec::new(),
                    replacement: DomainName::parse_absolute("_sip._udp.c.test.").unwrap(),
                }],
            ),
            set("_sip._udp.c.test.", 60, vec![srv("t.c.test.")]),
            set("t.c.test.", 60, vec![address(2)]),
            set("u.c.test.", 60, vec![address(3)]),
        ],
    );
    zone.normalize();
    let mut state = State {
        version: 1,
        ..State::default()
    };
    state
        .zones
        .insert(zone.apex.clone(), std::sync::Arc::new(zone));
    let checked: Vec<DomainName> = ["a", "b", "p", "n", "_sip._udp", "t", "u"]
        .iter()
        .map(|label| DomainName::parse_absolute(&format!("{label}.c.test.")).unwrap())
        .collect();
    let edits: Vec<RecordSet> = vec![
        set("p.c.test.", 60, vec![address(9)]),
        set("t.c.test.", 60, vec![address(8)]),
        set("b.c.test.", 60, vec![https(1, "u.c.test.")]),
        set("_sip._udp.c.test.", 60, vec![srv("u.c.test.")]),
        set("u.c.test.", 60, vec![address(7)]),
    ];
    let mut plan = compile_plan(&state);
    for (index, edit) in edits.into_iter().enumerate() {
        let mut next = state.clone();
        next.version = index as u64 + 2;
        let zone = std::sync::Arc::make_mut(next.zones.values_mut().next().unwrap());
        zone.rrsets.put(edit.clone());
        zone.soa.serial += 1;
        zone.normalize();
        let brought = compile_plan_since(&plan, &state, &next, 0, None, None);
        same_answers(&brought, &compile_plan(&next), &checked);
        plan = brought;
        state = next;
    }
}

/// Applies `command` to `state` as the next log entry, as a Raft node does.
fn apply_next(state: &mut State, command: Command) {
    let index = state.version + 1;
    let stamped = StampedCommand {
        at: 10_000,
        actor: Actor::new("incremental_compile"),
        command,
    };
    command::apply(state, &stamped, index).expect("the staged import applies");
}

/// Record sets of a zone `big.test.` of 3,000 names, a wildcard and glue, in the chunks an
/// import would stage them in, and the header its commit carries (serial 99).
fn staged_import_parts() -> (Vec<Vec<RecordSet>>, gslb_model::Zone) {
    let mut sets: Vec<RecordSet> = (0..3000u32)
        .map(|i| {
            set(
                &format!("h{i}.big.test."),
                60,
                vec![RData::A(i.to_be_bytes().into())],
            )
        })
        .collect();
    sets.push(set(
        "*.w.big.test.",
        60,
        vec![RData::A([192, 0, 2, 9].into())],
    ));
    sets.push(set(
        "ns1.big.test.",
        60,
        vec![RData::A([192, 0, 2, 53].into())],
    ));
    let full = common::zone("big.test.", sets);
    let mut header = full.clone();
    header.rrsets = RecordSets::new();
    header.soa.serial = 99;
    let all: Vec<RecordSet> = full.rrsets.iter().cloned().collect();
    let chunks = all.chunks(1100).map(|chunk| chunk.to_vec()).collect();
    (chunks, header)
}

/// The state with import `imp-prepared` of `staged_import_parts` staged in full (over a
/// `big.test.` of other names when `replacing`), and the state after its commit.
fn staged_then_committed(replacing: bool) -> (State, State) {
    let (chunks, header) = staged_import_parts();
    let mut state = State {
        version: 1,
        ..State::default()
    };
    if replacing {
        let old = common::zone(
            "big.test.",
            vec![set(
                "old.big.test.",
                60,
                vec![RData::A([198, 51, 100, 1].into())],
            )],
        );
        state
            .zones
            .insert(header.apex.clone(), std::sync::Arc::new(old));
    }
    for (number, chunk) in chunks.iter().enumerate() {
        apply_next(
            &mut state,
            Command::StageZoneRecords {
                import_id: "imp-prepared".to_string(),
                apex: header.apex.clone(),
                chunk: number as u64,
                total_chunks: Some(chunks.len() as u64),
                rrsets: std::sync::Arc::new(chunk.clone()),
            },
        );
    }
    let staged = state.clone();
    assert!(staged.staged_imports["imp-prepared"].is_complete());
    apply_next(
        &mut state,
        Command::CommitStagedZone {
            import_id: "imp-prepared".to_string(),
            chunks: chunks.len() as u64,
            zone: header,
        },
    );
    (staged, state)
}

/// A staged import's zone compiled while staged (`PreparedZones::prepare`, what a DNS node
/// does once every chunk is in) is what the commit's plan is made of: the prepared table with
/// the commit's header patched in at the apex, answering byte for byte as a whole compile of
/// the committed state, both for a new zone and for one replacing a zone of other names
/// (where the plan without it is compiled whole).
#[test]
fn a_staged_zone_prepared_before_its_commit_answers_as_a_whole_compile() {
    let checked: Vec<DomainName> = [
        "big.test.",
        "h0.big.test.",
        "h2999.big.test.",
        "x.w.big.test.",
        "ns1.big.test.",
        "nope.big.test.",
        "old.big.test.",
    ]
    .iter()
    .map(|text| DomainName::parse_absolute(text).unwrap())
    .collect();
    for replacing in [false, true] {
        let (staged, committed) = staged_then_committed(replacing);
        let prepared = PreparedZones::new();
        let apex = DomainName::parse_absolute("big.test.").unwrap();
        let current = staged.zones.get(&apex).map(|zone| &**zone);
        prepared.prepare(
            "imp-prepared",
            &staged.staged_imports["imp-prepared"],
            current,
        );
        assert!(prepared.holds("imp-prepared"));
        let before = compile_plan(&staged);
        let plan = compile_plan_prepared(
            &before,
            &staged,
            &committed,
            0,
            None,
            None,
            Some(&*prepared),
        );
        assert_eq!(
            plan.patched_zones(),
            1,
            "the prepared table, patched at the apex"
        );
        let whole = compile_plan(&committed);
        assert_eq!(plan.name_count(), whole.name_count());
        same_answers(&plan, &whole, &checked);
        let unprepared = compile_plan_since(&before, &staged, &committed, 0, None, None);
        assert_eq!(unprepared.patched_zones(), 0, "compiled whole without it");
    }
}

/// Polls `done` every 5 ms, failing with `why` after 10 s.
async fn wait_until(why: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {why}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// The preparer and the plan follower on one state channel, as a DNS node runs them: the
/// complete staging is prepared and its version published, and the commit's plan is the
/// prepared one patched (not a whole compile); once installed, the prepared plan is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_follower_installs_the_prepared_plan_at_the_commit() {
    let (staged, committed) = staged_then_committed(true);
    let (publisher, watch) = tokio::sync::watch::channel(std::sync::Arc::new(staged.clone()));
    let responder = std::sync::Arc::new(Responder::new(
        AnswerPlan::empty(),
        ResponderOptions::default(),
    ));
    let prepared = PreparedZones::new();
    let versions = prepared.versions();
    let preparer = gslb_dns::spawn_staged_preparer(watch.clone(), prepared.clone());
    let follower = gslb_dns::spawn_plan_follower_with(
        watch,
        responder.clone(),
        gslb_dns::wall_clock(),
        Some(prepared.clone()),
    );
    wait_until("the staging prepared", || {
        *versions.borrow() >= staged.version && prepared.holds("imp-prepared")
    })
    .await;
    wait_until("the staged state's plan", || {
        responder.plan_version() == staged.version
    })
    .await;

    publisher
        .send(std::sync::Arc::new(committed.clone()))
        .unwrap();
    wait_until("the commit's plan", || {
        responder.plan_version() == committed.version
    })
    .await;
    let plan = responder.plan();
    assert_eq!(plan.patched_zones(), 1, "the prepared plan, patched");
    assert_eq!(plan.name_count(), compile_plan(&committed).name_count());
    assert!(!prepared.holds("imp-prepared"), "dropped once installed");
    drop(publisher);
    for task in [preparer, follower] {
        tokio::time::timeout(std::time::Duration::from_secs(10), task)
            .await
            .expect("both end with the state channel")
            .unwrap();
    }
}
