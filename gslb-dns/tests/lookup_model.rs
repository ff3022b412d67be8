//! Model check of name resolution: random zones over a tiny label alphabet (so wildcards,
//! empty non-terminals and delegations collide often) are compiled and every name of the
//! universe is queried; the reply must match a direct reading of RFC 1034 §4.3.2 and
//! RFC 4592 over the zone's data, written here as plainly as possible.

mod common;

use common::{exchange, names_below, query, rtype, set};
use gslb_dns::{compile_plan, Responder, ResponderOptions, Transport};
use gslb_model::{DomainName, RData, RecordType, State};
use hickory_proto::op::Message;
use proptest::prelude::*;

const LABELS: [&str; 4] = ["a", "b", "*", "c"];

/// What the reply should be.
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    /// NOERROR, AA, this many A records.
    Answer(usize),
    /// NOERROR, AA, no answer, SOA in authority.
    NoData,
    /// NXDOMAIN, AA, SOA in authority.
    NxDomain,
    /// NOERROR, no AA, NS in authority.
    Referral,
}

fn apex() -> DomainName {
    DomainName::parse_absolute("z.test.").unwrap()
}

/// Every name of up to three labels below the apex.
fn universe() -> Vec<DomainName> {
    names_below(&apex(), &LABELS, 3)
}

/// The answer RFC 1034 §4.3.2 and RFC 4592 give for `qname` A in a zone whose A sets are
/// `a_sets` (name, count) and whose delegations are `cuts`.
fn expected(qname: &DomainName, a_sets: &[(DomainName, usize)], cuts: &[DomainName]) -> Expected {
    let owners: Vec<&DomainName> = a_sets.iter().map(|(n, _)| n).chain(cuts.iter()).collect();
    let exists = |name: &DomainName| owners.iter().any(|owner| owner.is_subdomain_of(name));
    if cuts.iter().any(|cut| qname.is_subdomain_of(cut)) {
        return Expected::Referral;
    }
    let a_count = |name: &DomainName| {
        a_sets
            .iter()
            .find(|(owner, _)| owner == name)
            .map(|(_, count)| *count)
    };
    if exists(qname) || *qname == apex() {
        return a_count(qname).map_or(Expected::NoData, Expected::Answer);
    }
    let mut encloser = qname.parent().unwrap();
    while !(exists(&encloser) || encloser == apex()) {
        encloser = encloser.parent().unwrap();
    }
    if cuts.iter().any(|cut| encloser.is_subdomain_of(cut)) {
        return Expected::Referral;
    }
    let wildcard = encloser.prepend_label(b"*").unwrap();
    if exists(&wildcard) {
        a_count(&wildcard).map_or(Expected::NoData, Expected::Answer)
    } else {
        Expected::NxDomain
    }
}

fn observed(reply: &[u8]) -> Expected {
    let message = Message::from_vec(reply).unwrap();
    let rcode = u16::from(message.metadata.response_code);
    let aa = message.metadata.authoritative;
    let soa = message
        .authorities
        .iter()
        .any(|r| r.record_type() == rtype("SOA"));
    let ns = message
        .authorities
        .iter()
        .any(|r| r.record_type() == rtype("NS"));
    match (rcode, aa, message.answers.len()) {
        (0, true, 0) if soa => Expected::NoData,
        (0, true, n) if n > 0 => Expected::Answer(n),
        (3, true, 0) if soa => Expected::NxDomain,
        (0, false, 0) if ns => Expected::Referral,
        _ => panic!("unexpected reply {message:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Every name of the universe resolves as the plain reading of the RFCs says.
    #[test]
    fn resolution_matches_the_rfc_model(
        picks in proptest::collection::vec((0usize..85, 1usize..4), 1..12),
        cut_picks in proptest::collection::vec(0usize..85, 0..2),
    ) {
        let names = universe();
        let cuts: Vec<DomainName> = cut_picks
            .iter()
            .map(|&i| names[i].clone())
            .filter(|name| *name != apex() && !name.is_wildcard())
            .collect();
        let mut a_sets: Vec<(DomainName, usize)> = Vec::new();
        for (index, count) in picks {
            let name = names[index].clone();
            // The model keeps data below cuts out (the store refuses it, except glue).
            if cuts.iter().any(|cut| name.is_subdomain_of(cut)) || a_sets.iter().any(|(n, _)| *n == name) {
                continue;
            }
            a_sets.push((name, count));
        }
        let mut rrsets: Vec<_> = a_sets
            .iter()
            .map(|(name, count)| {
                let rdata = (0..*count).map(|i| RData::A([192, 0, 2, i as u8].into())).collect();
                set(&name.to_string(), 60, rdata)
            })
            .collect();
        for cut in &cuts {
            rrsets.push(set(&cut.to_string(), 60, vec![RData::NS(DomainName::parse_absolute("ns.elsewhere.").unwrap())]));
        }
        let zone = common::zone("z.test.", rrsets);
        prop_assume!(zone.rrsets.iter().filter(|s| s.rtype == RecordType::NS).count() == cuts.len() + 1);
        let mut state = State::default();
        state.zones.insert(zone.apex.clone(), std::sync::Arc::new(zone));
        let responder = Responder::new(compile_plan(&state), ResponderOptions::default());
        for qname in &names {
            let packet = query(&qname.to_string(), rtype("A")).to_vec().unwrap();
            let reply = exchange(&responder, &packet, Transport::Tcp).unwrap();
            prop_assert_eq!(observed(&reply), expected(qname, &a_sets, &cuts), "query {}", qname);
        }
    }
}
