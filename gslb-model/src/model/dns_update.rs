//! `DnsUpdate`: one RFC 2136 UPDATE as the model holds it — the zone, who sent it (a TSIG
//! key or an unsigned source), its prerequisites (§2.4) and its changes (§2.5) — and the
//! pure steps `apply` takes with it: `authorize` (the key's grants, or the zone's unsigned
//! sources), `check_prerequisites` and `updated_zone` (§3.2–3.4), each refusing with the
//! RCODE RFC 2136 names (`UpdateRcode`).
//!
//! The DNS node runs the same steps against its replica to answer early; `apply` runs them
//! again against the state the committed entry meets, so prerequisites hold atomically with
//! the change. A refusal reaches the DNS node as a `FieldErrors` entry whose path is
//! `update.<rcode>` (`UpdateRcode::of_errors` reads it back).
//!
//! Decisions where RFC 2136 leaves a choice or this model differs:
//! - names that are GSLB records cannot be changed or added to by UPDATE: REFUSED;
//! - a CNAME beside other data (or other data beside a CNAME) is REFUSED, not silently
//!   ignored as §3.4.2.2 allows, so a client learns its change did not happen;
//! - the SOA is changed only by an added SOA with a newer serial (§3.4.2.2); deleting it,
//!   or the apex NS set as a whole, is ignored (§3.4.2.3–4); adding a record to an existing
//!   set gives the whole set the new TTL (one TTL per set, RFC 2181 §5.2);
//! - a resulting zone `Zone::validate` refuses is REFUSED with its message.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::ip::Cidr;
use crate::model::name::DomainName;
use crate::model::record::{RData, RecordSet, RecordType};
use crate::model::serial::serial_is_newer;
use crate::model::state::State;
use crate::model::validation::FieldErrors;
use crate::model::zone::{Soa, Zone};

/// One UPDATE message, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsUpdate {
    /// The zone section's name: the apex of the zone to change.
    pub zone: DomainName,
    /// The TSIG key that signed the request (verified by the DNS node); `None`: unsigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<DomainName>,
    /// The client's address, which an unsigned update is authorized by.
    pub client: IpAddr,
    /// The prerequisite section, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<Prerequisite>,
    /// The update section, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<UpdateChange>,
}

/// One prerequisite (RFC 2136 §2.4). Value-dependent ones of the same name and type are
/// gathered into one `RrsetEquals`, as §3.2.3 compares whole sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Prerequisite {
    /// §2.4.1: an RRset of this name and type exists (else NXRRSET).
    RrsetExists {
        /// Owner name.
        name: DomainName,
        /// Type.
        #[serde(rename = "type")]
        rtype: RecordType,
    },
    /// §2.4.2: the RRset of this name and type is exactly these records (else NXRRSET).
    RrsetEquals {
        /// Owner name.
        name: DomainName,
        /// Type.
        #[serde(rename = "type")]
        rtype: RecordType,
        /// The records, in any order.
        rdata: Vec<RData>,
    },
    /// §2.4.3: no RRset of this name and type exists (else YXRRSET).
    RrsetAbsent {
        /// Owner name.
        name: DomainName,
        /// Type.
        #[serde(rename = "type")]
        rtype: RecordType,
    },
    /// §2.4.4: the name owns at least one record (else NXDOMAIN).
    NameInUse {
        /// Owner name.
        name: DomainName,
    },
    /// §2.4.5: the name owns no record (else YXDOMAIN).
    NameNotInUse {
        /// Owner name.
        name: DomainName,
    },
}

/// One change of the update section (RFC 2136 §2.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UpdateChange {
    /// §2.5.1: add these records (a set of one name, type and TTL).
    Add {
        /// The records to add.
        rrset: RecordSet,
    },
    /// §2.5.2: delete the RRset of this name and type.
    DeleteRrset {
        /// Owner name.
        name: DomainName,
        /// Type.
        #[serde(rename = "type")]
        rtype: RecordType,
    },
    /// §2.5.3: delete every RRset of this name.
    DeleteName {
        /// Owner name.
        name: DomainName,
    },
    /// §2.5.4: delete this one record.
    DeleteRecord {
        /// Owner name.
        name: DomainName,
        /// Its data (the type is the data's).
        rdata: RData,
    },
}

impl UpdateChange {
    /// The owner name the change touches.
    pub fn name(&self) -> &DomainName {
        match self {
            UpdateChange::Add { rrset } => &rrset.name,
            UpdateChange::DeleteRrset { name, .. }
            | UpdateChange::DeleteName { name }
            | UpdateChange::DeleteRecord { name, .. } => name,
        }
    }

    /// The type the change touches; `None` for every type (`DeleteName`).
    pub fn rtype(&self) -> Option<RecordType> {
        match self {
            UpdateChange::Add { rrset } => Some(rrset.rtype),
            UpdateChange::DeleteRrset { rtype, .. } => Some(*rtype),
            UpdateChange::DeleteName { .. } => None,
            UpdateChange::DeleteRecord { rdata, .. } => Some(rdata.record_type()),
        }
    }
}

impl Prerequisite {
    /// The owner name the prerequisite is about.
    pub fn name(&self) -> &DomainName {
        match self {
            Prerequisite::RrsetExists { name, .. }
            | Prerequisite::RrsetEquals { name, .. }
            | Prerequisite::RrsetAbsent { name, .. }
            | Prerequisite::NameInUse { name }
            | Prerequisite::NameNotInUse { name } => name,
        }
    }
}

/// The RCODEs an update can be refused with (RFC 1035 §4.1.1, RFC 2136 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpdateRcode {
    /// 1: the message is malformed.
    FormErr,
    /// 2: the server could not process it.
    ServFail,
    /// 3: a name that should exist does not.
    NxDomain,
    /// 4: the operation is not supported.
    NotImp,
    /// 5: policy forbids it.
    Refused,
    /// 6: a name that should not exist does.
    YxDomain,
    /// 7: an RRset that should not exist does.
    YxRrset,
    /// 8: an RRset that should exist does not.
    NxRrset,
    /// 9: the server is not authoritative for the zone (or the request is not authorized).
    NotAuth,
    /// 10: a name is outside the zone.
    NotZone,
}

impl UpdateRcode {
    /// The RCODE value.
    pub fn code(self) -> u8 {
        match self {
            UpdateRcode::FormErr => 1,
            UpdateRcode::ServFail => 2,
            UpdateRcode::NxDomain => 3,
            UpdateRcode::NotImp => 4,
            UpdateRcode::Refused => 5,
            UpdateRcode::YxDomain => 6,
            UpdateRcode::YxRrset => 7,
            UpdateRcode::NxRrset => 8,
            UpdateRcode::NotAuth => 9,
            UpdateRcode::NotZone => 10,
        }
    }

    /// The mnemonic, lower-case (`nxrrset`): the last part of a refusal's field path.
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateRcode::FormErr => "formerr",
            UpdateRcode::ServFail => "servfail",
            UpdateRcode::NxDomain => "nxdomain",
            UpdateRcode::NotImp => "notimp",
            UpdateRcode::Refused => "refused",
            UpdateRcode::YxDomain => "yxdomain",
            UpdateRcode::YxRrset => "yxrrset",
            UpdateRcode::NxRrset => "nxrrset",
            UpdateRcode::NotAuth => "notauth",
            UpdateRcode::NotZone => "notzone",
        }
    }

    /// The RCODE of the first update refusal in `errors` (a path ending `update.<rcode>`),
    /// if there is one.
    pub fn of_errors(errors: &FieldErrors) -> Option<UpdateRcode> {
        const ALL: [UpdateRcode; 10] = [
            UpdateRcode::FormErr,
            UpdateRcode::ServFail,
            UpdateRcode::NxDomain,
            UpdateRcode::NotImp,
            UpdateRcode::Refused,
            UpdateRcode::YxDomain,
            UpdateRcode::YxRrset,
            UpdateRcode::NxRrset,
            UpdateRcode::NotAuth,
            UpdateRcode::NotZone,
        ];
        errors.0.iter().find_map(|error| {
            let (_, last) = error.path.rsplit_once("update.")?;
            ALL.into_iter().find(|rcode| rcode.as_str() == last)
        })
    }
}

/// Why an update was refused: the RCODE and a sentence for the log and the audit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", rcode.as_str())]
pub struct UpdateRefusal {
    /// The RCODE to answer.
    pub rcode: UpdateRcode,
    /// What was wrong, naming the record.
    pub reason: String,
}

impl UpdateRefusal {
    fn new(rcode: UpdateRcode, reason: impl Into<String>) -> UpdateRefusal {
        UpdateRefusal {
            rcode,
            reason: reason.into(),
        }
    }

    /// Records the refusal in `errors` under `path.update.<rcode>`.
    pub fn push_to(&self, path: &str, errors: &mut FieldErrors) {
        let field = if path.is_empty() {
            format!("update.{}", self.rcode.as_str())
        } else {
            format!("{path}.update.{}", self.rcode.as_str())
        };
        errors.push(field, self.reason.clone());
    }
}

/// Every step of an update against `state`: the zone, authorization, prerequisites, then
/// the zone as the changes leave it (equal to the current one when they change nothing).
pub fn evaluate_update(state: &State, update: &DnsUpdate) -> Result<Zone, UpdateRefusal> {
    let Some(zone) = state.zones.get(&update.zone) else {
        return Err(UpdateRefusal::new(
            UpdateRcode::NotAuth,
            format!("not authoritative for zone {}", update.zone),
        ));
    };
    check_names_in_zone(zone, update)?;
    authorize(state, zone, update)?;
    check_prerequisites(state, zone, &update.prerequisites)?;
    updated_zone(state, zone, &update.changes)
}

/// Every name in the prerequisite and update sections must lie in the zone (§3.2.1, §3.4.1.3).
fn check_names_in_zone(zone: &Zone, update: &DnsUpdate) -> Result<(), UpdateRefusal> {
    let outside = update
        .prerequisites
        .iter()
        .map(Prerequisite::name)
        .chain(update.changes.iter().map(UpdateChange::name))
        .find(|name| !name.is_subdomain_of(&zone.apex));
    match outside {
        Some(name) => Err(UpdateRefusal::new(
            UpdateRcode::NotZone,
            format!("{name} is outside zone {}", zone.apex),
        )),
        None => Ok(()),
    }
}

/// §3.3: a signed update may change only what its key's grants allow; an unsigned one only
/// in a zone that allows its client's network explicitly.
pub fn authorize(state: &State, zone: &Zone, update: &DnsUpdate) -> Result<(), UpdateRefusal> {
    let Some(key_name) = &update.key else {
        let allowed = state
            .unsigned_update_sources
            .get(&zone.apex)
            .is_some_and(|sources| sources.iter().any(|cidr| cidr.contains(update.client)));
        return if allowed {
            Ok(())
        } else {
            Err(UpdateRefusal::new(
                UpdateRcode::Refused,
                format!(
                    "unsigned update from {} refused: zone {} allows no unsigned updates from it",
                    update.client, zone.apex
                ),
            ))
        };
    };
    let Some(key) = state.tsig_keys.get(key_name) else {
        return Err(UpdateRefusal::new(
            UpdateRcode::NotAuth,
            format!("no tsig key {key_name}"),
        ));
    };
    for change in &update.changes {
        let name = change.name();
        let types: Vec<RecordType> = match change.rtype() {
            Some(rtype) => vec![rtype],
            None => types_at(state, zone, name),
        };
        if let Some(rtype) = types.iter().find(|rtype| !key.may_update(name, **rtype)) {
            return Err(UpdateRefusal::new(
                UpdateRcode::Refused,
                format!("key {key_name} may not change {name} {rtype}"),
            ));
        }
        if change.rtype().is_none() && !key.may_update_zone(&zone.apex) {
            return Err(UpdateRefusal::new(
                UpdateRcode::Refused,
                format!("key {key_name} may not change zone {}", zone.apex),
            ));
        }
    }
    Ok(())
}

/// The types that own records at `name`: static sets, the SOA at the apex, GSLB records.
fn types_at(state: &State, zone: &Zone, name: &DomainName) -> Vec<RecordType> {
    let mut types: Vec<RecordType> = zone
        .rrsets
        .sets_of_name(name)
        .map(|set| set.rtype)
        .collect();
    if name == &zone.apex {
        types.push(RecordType::SOA);
    }
    if let Some(records) = state.gslb_records.get(name) {
        types.extend(records.keys().copied());
    }
    types
}

/// §3.2: every prerequisite against the zone as it is; the first that fails decides.
pub fn check_prerequisites(
    state: &State,
    zone: &Zone,
    prerequisites: &[Prerequisite],
) -> Result<(), UpdateRefusal> {
    for prerequisite in prerequisites {
        match prerequisite {
            Prerequisite::RrsetExists { name, rtype } => {
                if !types_at(state, zone, name).contains(rtype) {
                    return Err(UpdateRefusal::new(
                        UpdateRcode::NxRrset,
                        format!("prerequisite failed: no {name} {rtype} set"),
                    ));
                }
            }
            Prerequisite::RrsetEquals { name, rtype, rdata } => {
                let current: Vec<RData> = if *rtype == RecordType::SOA {
                    Vec::new()
                } else {
                    zone.rrset(name, *rtype)
                        .map(|set| set.rdata.clone())
                        .unwrap_or_default()
                };
                if !same_records(&current, rdata) {
                    return Err(UpdateRefusal::new(
                        UpdateRcode::NxRrset,
                        format!("prerequisite failed: {name} {rtype} is not the set given"),
                    ));
                }
            }
            Prerequisite::RrsetAbsent { name, rtype } => {
                if types_at(state, zone, name).contains(rtype) {
                    return Err(UpdateRefusal::new(
                        UpdateRcode::YxRrset,
                        format!("prerequisite failed: {name} {rtype} exists"),
                    ));
                }
            }
            Prerequisite::NameInUse { name } => {
                if types_at(state, zone, name).is_empty() {
                    return Err(UpdateRefusal::new(
                        UpdateRcode::NxDomain,
                        format!("prerequisite failed: {name} owns no records"),
                    ));
                }
            }
            Prerequisite::NameNotInUse { name } => {
                if !types_at(state, zone, name).is_empty() {
                    return Err(UpdateRefusal::new(
                        UpdateRcode::YxDomain,
                        format!("prerequisite failed: {name} owns records"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Two record lists hold the same records, whatever the order and repeats (§3.2.3).
fn same_records(a: &[RData], b: &[RData]) -> bool {
    a.iter().all(|record| b.contains(record)) && b.iter().all(|record| a.contains(record))
}

/// §3.4.2: the zone after every change, in order. Refuses changes at GSLB names, CNAMEs
/// beside other data, and any result `Zone::validate` refuses.
pub fn updated_zone(
    state: &State,
    zone: &Zone,
    changes: &[UpdateChange],
) -> Result<Zone, UpdateRefusal> {
    let mut next = zone.clone();
    for change in changes {
        let name = change.name();
        if state.gslb_records.contains_key(name) {
            return Err(UpdateRefusal::new(
                UpdateRcode::Refused,
                format!("{name} is a GSLB record; change it through the API"),
            ));
        }
        match change {
            UpdateChange::Add { rrset } => add_records(&mut next, rrset)?,
            UpdateChange::DeleteRrset { name, rtype } => {
                let protected =
                    *rtype == RecordType::SOA || (name == &next.apex && *rtype == RecordType::NS);
                if !protected {
                    next.rrsets.take(name, *rtype);
                }
            }
            UpdateChange::DeleteName { name } => {
                let doomed: Vec<RecordType> = next
                    .rrsets
                    .sets_of_name(name)
                    .map(|set| set.rtype)
                    .filter(|rtype| name != &next.apex || *rtype != RecordType::NS)
                    .collect();
                for rtype in doomed {
                    next.rrsets.take(name, rtype);
                }
            }
            UpdateChange::DeleteRecord { name, rdata } => {
                let rtype = rdata.record_type();
                if rtype == RecordType::SOA {
                    continue;
                }
                let apex = next.apex.clone();
                if let Some(index) = next.rrsets.position(name, rtype) {
                    let emptied = {
                        let mut set = next.rrsets.get_mut(index).expect("just found");
                        let last_apex_ns =
                            name == &apex && rtype == RecordType::NS && set.rdata.len() == 1;
                        if !last_apex_ns {
                            set.rdata.retain(|existing| existing != rdata);
                        }
                        set.rdata.is_empty()
                    };
                    if emptied {
                        next.rrsets.remove(index);
                    }
                }
            }
        }
    }
    next.normalize();
    if stays_valid_around(&next, changes.iter().map(UpdateChange::name)) {
        return Ok(next);
    }
    let mut errors = FieldErrors::default();
    next.validate("", &mut errors);
    if let Some(error) = errors.0.first() {
        return Err(UpdateRefusal::new(
            UpdateRcode::Refused,
            format!("the zone would not be servable: {}", error.message),
        ));
    }
    Ok(next)
}

/// Whether `zone` (its stored version was valid) is shown valid by the sets around the
/// `changed` names alone (`Zone::related_sets`): the cost of an update stays local to the
/// names it touches, as a `PutRecordSet`'s does. False means "not shown" (a change at the
/// apex, or a conflict): the caller then validates the whole zone for its exact message.
fn stays_valid_around<'a>(zone: &Zone, changed: impl Iterator<Item = &'a DomainName>) -> bool {
    let mut names: Vec<&DomainName> = changed.collect();
    names.sort();
    names.dedup();
    if names.iter().any(|name| **name == zone.apex) {
        return false;
    }
    let mut local = zone.empty_like();
    for name in names {
        for set in zone.related_sets(name) {
            local.rrsets.put(set.clone());
        }
    }
    let mut errors = FieldErrors::default();
    local.validate("", &mut errors);
    errors.is_empty()
}

/// §3.4.2.2: adds the records of `rrset` to `zone` (an SOA replaces the zone's SOA when its
/// serial is newer).
fn add_records(zone: &mut Zone, rrset: &RecordSet) -> Result<(), UpdateRefusal> {
    let name = &rrset.name;
    if rrset.rtype == RecordType::SOA {
        if name != &zone.apex {
            return Err(UpdateRefusal::new(
                UpdateRcode::Refused,
                format!("an SOA belongs at the apex {}, not at {name}", zone.apex),
            ));
        }
        if let Some(RData::Unknown { data, .. }) = rrset.rdata.first() {
            if let Some(soa) = soa_from_wire(data, rrset.ttl) {
                if serial_is_newer(soa.serial, zone.soa.serial) {
                    zone.soa = soa;
                }
            }
        }
        return Ok(());
    }
    let others_at_name = |zone: &Zone, wanted: bool| {
        zone.rrsets
            .sets_of_name(name)
            .any(|set| (set.rtype == RecordType::CNAME) == wanted)
    };
    if rrset.rtype == RecordType::CNAME && others_at_name(zone, false) {
        return Err(UpdateRefusal::new(
            UpdateRcode::Refused,
            format!("{name} has other data; a CNAME cannot join it"),
        ));
    }
    if rrset.rtype != RecordType::CNAME && others_at_name(zone, true) {
        return Err(UpdateRefusal::new(
            UpdateRcode::Refused,
            format!("{name} is a CNAME; {} data cannot join it", rrset.rtype),
        ));
    }
    let Some(index) = zone.rrsets.position(name, rrset.rtype) else {
        // In canonical place: a sorted zone stays sorted (O(log n)).
        zone.rrsets.put(rrset.clone());
        return Ok(());
    };
    let mut set = zone.rrsets.get_mut(index).expect("just found");
    if rrset.rtype == RecordType::CNAME {
        set.rdata = rrset.rdata.clone();
        set.ttl = rrset.ttl;
    } else {
        set.ttl = rrset.ttl;
        for rdata in &rrset.rdata {
            if !set.rdata.contains(rdata) {
                set.rdata.push(rdata.clone());
            }
        }
    }
    Ok(())
}

/// Reads SOA RDATA (uncompressed names) as the update carried it.
fn soa_from_wire(data: &[u8], ttl: u32) -> Option<Soa> {
    fn name_at(data: &[u8], pos: &mut usize) -> Option<DomainName> {
        let mut labels: Vec<&[u8]> = Vec::new();
        loop {
            let len = *data.get(*pos)? as usize;
            *pos += 1;
            if len == 0 {
                break;
            }
            if len > 63 {
                return None;
            }
            labels.push(data.get(*pos..*pos + len)?);
            *pos += len;
        }
        DomainName::from_labels(labels).ok()
    }
    let mut pos = 0;
    let mname = name_at(data, &mut pos)?;
    let rname = name_at(data, &mut pos)?;
    let numbers = data.get(pos..pos + 20)?;
    if pos + 20 != data.len() {
        return None;
    }
    let word = |index: usize| {
        u32::from_be_bytes(
            numbers[index * 4..index * 4 + 4]
                .try_into()
                .expect("4 octets"),
        )
    };
    Some(Soa {
        mname,
        rname,
        serial: word(0),
        refresh: word(1),
        retry: word(2),
        expire: word(3),
        minimum: word(4),
        ttl,
    })
}

/// The unsigned sources a zone allows, checked: every entry a network in canonical form.
pub fn validate_unsigned_sources(path: &str, sources: &[Cidr], errors: &mut FieldErrors) {
    let mut seen = std::collections::BTreeSet::new();
    for (index, cidr) in sources.iter().enumerate() {
        if !seen.insert(cidr) {
            errors.push(
                format!("{path}[{index}]"),
                format!("{cidr} is listed twice"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tsig_key::{TsigAlgorithm, TsigKey, UpdateGrant};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn name(text: &str) -> DomainName {
        DomainName::parse_absolute(text).unwrap()
    }

    fn txt(text: &str) -> RData {
        RData::TXT(vec![text.as_bytes().to_vec()])
    }

    fn state() -> State {
        let apex = name("acme.test.");
        let zone = Zone {
            apex: apex.clone(),
            soa: Soa {
                mname: name("ns1.acme.test."),
                rname: name("hostmaster.acme.test."),
                serial: 1,
                refresh: 3600,
                retry: 600,
                expire: 86400,
                minimum: 60,
                ttl: 60,
            },
            default_ttl: 300,
            rrsets: vec![
                RecordSet {
                    name: apex.clone(),
                    rtype: RecordType::NS,
                    ttl: 300,
                    rdata: vec![RData::NS(name("ns1.acme.test."))],
                },
                RecordSet {
                    name: name("www.acme.test."),
                    rtype: RecordType::A,
                    ttl: 300,
                    rdata: vec![RData::A([192, 0, 2, 1].into())],
                },
            ]
            .into(),
            serial_policy: Default::default(),
            transfer: Default::default(),
        };
        let key = TsigKey {
            name: name("acme-key."),
            algorithm: TsigAlgorithm::HmacSha256,
            secret: vec![7; 32],
            update: vec![UpdateGrant::parse_spec("acme.test:_acme-challenge.*:TXT").unwrap()],
            transfer: vec![],
        };
        State {
            zones: BTreeMap::from([(apex, Arc::new(zone))]),
            tsig_keys: BTreeMap::from([(key.name.clone(), key)]),
            ..State::default()
        }
    }

    fn update(prerequisites: Vec<Prerequisite>, changes: Vec<UpdateChange>) -> DnsUpdate {
        DnsUpdate {
            zone: name("acme.test."),
            key: Some(name("acme-key.")),
            client: "127.0.0.1".parse().unwrap(),
            prerequisites,
            changes,
        }
    }

    fn add_txt(owner: &str, text: &str) -> UpdateChange {
        UpdateChange::Add {
            rrset: RecordSet {
                name: name(owner),
                rtype: RecordType::TXT,
                ttl: 60,
                rdata: vec![txt(text)],
            },
        }
    }

    fn refusal(result: Result<Zone, UpdateRefusal>) -> UpdateRcode {
        result.expect_err("refused").rcode
    }

    #[test]
    fn a_granted_add_and_delete_change_the_zone() {
        let state = state();
        let owner = "_acme-challenge.www.acme.test.";
        let added =
            evaluate_update(&state, &update(vec![], vec![add_txt(owner, "token")])).unwrap();
        assert_eq!(
            added.rrset(&name(owner), RecordType::TXT).unwrap().rdata,
            vec![txt("token")]
        );
        let mut next = state.clone();
        next.zones.insert(added.apex.clone(), Arc::new(added));
        let deleted = evaluate_update(
            &next,
            &update(
                vec![],
                vec![UpdateChange::DeleteRecord {
                    name: name(owner),
                    rdata: txt("token"),
                }],
            ),
        )
        .unwrap();
        assert!(deleted.rrset(&name(owner), RecordType::TXT).is_none());
    }

    #[test]
    fn policy_and_zone_refusals_carry_their_rcodes() {
        let state = state();
        assert_eq!(
            refusal(evaluate_update(
                &state,
                &update(vec![], vec![add_txt("www.acme.test.", "x")])
            )),
            UpdateRcode::Refused
        );
        let mut unsigned = update(vec![], vec![add_txt("_acme-challenge.x.acme.test.", "x")]);
        unsigned.key = None;
        assert_eq!(
            refusal(evaluate_update(&state, &unsigned)),
            UpdateRcode::Refused
        );
        let mut allowed = state.clone();
        allowed
            .unsigned_update_sources
            .insert(name("acme.test."), vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(evaluate_update(&allowed, &unsigned).is_ok());
        let mut unknown_key = unsigned.clone();
        unknown_key.key = Some(name("other."));
        assert_eq!(
            refusal(evaluate_update(&state, &unknown_key)),
            UpdateRcode::NotAuth
        );
        let mut other_zone = update(vec![], vec![]);
        other_zone.zone = name("other.test.");
        assert_eq!(
            refusal(evaluate_update(&state, &other_zone)),
            UpdateRcode::NotAuth
        );
        assert_eq!(
            refusal(evaluate_update(
                &state,
                &update(vec![], vec![add_txt("x.other.test.", "x")])
            )),
            UpdateRcode::NotZone
        );
    }

    #[test]
    fn each_prerequisite_fails_with_its_rcode() {
        let state = state();
        let www = name("www.acme.test.");
        let nowhere = name("nowhere.acme.test.");
        for (prerequisite, wanted) in [
            (
                Prerequisite::RrsetExists {
                    name: nowhere.clone(),
                    rtype: RecordType::A,
                },
                UpdateRcode::NxRrset,
            ),
            (
                Prerequisite::RrsetEquals {
                    name: www.clone(),
                    rtype: RecordType::A,
                    rdata: vec![RData::A([192, 0, 2, 9].into())],
                },
                UpdateRcode::NxRrset,
            ),
            (
                Prerequisite::RrsetAbsent {
                    name: www.clone(),
                    rtype: RecordType::A,
                },
                UpdateRcode::YxRrset,
            ),
            (
                Prerequisite::NameInUse {
                    name: nowhere.clone(),
                },
                UpdateRcode::NxDomain,
            ),
            (
                Prerequisite::NameNotInUse { name: www.clone() },
                UpdateRcode::YxDomain,
            ),
        ] {
            assert_eq!(
                refusal(evaluate_update(
                    &state,
                    &update(vec![prerequisite.clone()], vec![])
                )),
                wanted,
                "{prerequisite:?}"
            );
        }
        let holds = vec![
            Prerequisite::RrsetExists {
                name: www.clone(),
                rtype: RecordType::A,
            },
            Prerequisite::RrsetEquals {
                name: www.clone(),
                rtype: RecordType::A,
                rdata: vec![RData::A([192, 0, 2, 1].into())],
            },
            Prerequisite::NameInUse { name: www },
            Prerequisite::NameNotInUse { name: nowhere },
        ];
        assert!(evaluate_update(&state, &update(holds, vec![])).is_ok());
    }

    #[test]
    fn apex_ns_and_soa_survive_deletes_and_cname_conflicts_are_refused() {
        let mut state = state();
        state
            .tsig_keys
            .values_mut()
            .for_each(|key| key.update = vec![UpdateGrant::parse_spec("acme.test").unwrap()]);
        let apex = name("acme.test.");
        let zone = evaluate_update(
            &state,
            &update(
                vec![],
                vec![
                    UpdateChange::DeleteName { name: apex.clone() },
                    UpdateChange::DeleteRrset {
                        name: apex.clone(),
                        rtype: RecordType::NS,
                    },
                    UpdateChange::DeleteRecord {
                        name: apex.clone(),
                        rdata: RData::NS(name("ns1.acme.test.")),
                    },
                ],
            ),
        )
        .unwrap();
        assert_eq!(zone.apex_ns().count(), 1);
        let cname = UpdateChange::Add {
            rrset: RecordSet {
                name: name("www.acme.test."),
                rtype: RecordType::CNAME,
                ttl: 60,
                rdata: vec![RData::CNAME(name("elsewhere.test."))],
            },
        };
        assert_eq!(
            refusal(evaluate_update(&state, &update(vec![], vec![cname]))),
            UpdateRcode::Refused
        );
        let errors = {
            let mut errors = FieldErrors::default();
            UpdateRefusal::new(UpdateRcode::YxRrset, "x").push_to("", &mut errors);
            errors
        };
        assert_eq!(UpdateRcode::of_errors(&errors), Some(UpdateRcode::YxRrset));
    }
}
