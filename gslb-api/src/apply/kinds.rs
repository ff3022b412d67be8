//! The resource kinds an apply document declares: one `ResourceKind` each (its key, the
//! declared items normalized as the server stores them, what exists now in the document's
//! scope, how to put and delete one), and the dependency table the put and delete orders
//! are derived from.

use std::collections::{BTreeMap, BTreeSet};

use gslb_model::model::serial::serial_is_newer;
use gslb_model::model::{DomainName, FieldErrors, RecordType, State};
use serde::Serialize;

use super::{
    reconcile, ApplyDocument, Declared, PruneScope, Reconciled, ZonedGslbRecord, ZonedRecord,
};
use crate::dto::zone::parse_apex;
use crate::dto::{
    ChangeDto, CheckDto, EndpointDto, GslbRecordDto, NetworkDto, RecordSetDto, RecordTypeDto,
    RegionDto, ZoneDto,
};

/// A kind of resource in an apply document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Client networks (CIDR → location).
    Networks,
    /// Regions.
    Regions,
    /// Endpoints, each in a region.
    Endpoints,
    /// Health checks of an endpoint or a region.
    Checks,
    /// Whole zones.
    Zones,
    /// Record sets of a zone.
    Records,
    /// GSLB records: in a zone, answering from endpoints and regions.
    GslbRecords,
}

impl Kind {
    /// Every kind, in declaration order (ties of the dependency order keep it).
    pub const ALL: [Kind; 7] = [
        Kind::Networks,
        Kind::Regions,
        Kind::Endpoints,
        Kind::Checks,
        Kind::Zones,
        Kind::Records,
        Kind::GslbRecords,
    ];

    /// The kinds an item of this kind may refer to: they must exist before it is put, and
    /// may be deleted only after it is.
    pub fn depends_on(self) -> &'static [Kind] {
        match self {
            Kind::Regions | Kind::Zones => &[],
            // A network's `rtt_ms` names regions.
            Kind::Networks => &[Kind::Regions],
            Kind::Endpoints => &[Kind::Regions],
            Kind::Checks => &[Kind::Endpoints, Kind::Regions],
            Kind::Records => &[Kind::Zones],
            Kind::GslbRecords => &[Kind::Zones, Kind::Endpoints, Kind::Regions],
        }
    }

    /// Every kind after all the kinds it depends on (a depth-first topological order).
    pub fn put_order() -> Vec<Kind> {
        fn visit(kind: Kind, order: &mut Vec<Kind>) {
            if order.contains(&kind) {
                return;
            }
            for dependency in kind.depends_on() {
                visit(*dependency, order);
            }
            order.push(kind);
        }
        let mut order = Vec::with_capacity(Kind::ALL.len());
        for kind in Kind::ALL {
            visit(kind, &mut order);
        }
        order
    }

    /// Every kind before all the kinds it depends on: dependents are deleted first.
    pub fn delete_order() -> Vec<Kind> {
        let mut order = Kind::put_order();
        order.reverse();
        order
    }

    /// Reconciles this kind's section of `document` against `state`.
    pub(crate) fn reconcile(
        self,
        document: &ApplyDocument,
        state: &State,
        prune: bool,
        scope: &PruneScope,
        errors: &mut FieldErrors,
    ) -> Reconciled {
        match self {
            Kind::Networks => run::<Networks>(document, state, prune, scope, errors),
            Kind::Regions => run::<Regions>(document, state, prune, scope, errors),
            Kind::Endpoints => run::<Endpoints>(document, state, prune, scope, errors),
            Kind::Checks => run::<Checks>(document, state, prune, scope, errors),
            Kind::Zones => run::<Zones>(document, state, prune, scope, errors),
            Kind::Records => run::<Records>(document, state, prune, scope, errors),
            Kind::GslbRecords => run::<GslbRecords>(document, state, prune, scope, errors),
        }
    }
}

/// What the generic reconcile needs to know about one kind.
pub(crate) trait ResourceKind {
    /// The item as the API shows it; what is compared and diffed.
    type Dto: Serialize + PartialEq;
    /// The noun the diff and errors use (`region`, `gslb record`).
    const NOUN: &'static str;
    /// The declared items, normalized as the server would store them, with their document
    /// paths; faults go to `errors` under those paths.
    fn declared(
        document: &ApplyDocument,
        state: &State,
        errors: &mut FieldErrors,
    ) -> Vec<Declared<Self::Dto>>;
    /// The existing items declared items are compared with and `prune` may delete.
    fn current(document: &ApplyDocument, state: &State, scope: &PruneScope) -> Vec<Self::Dto>;
    /// True when `scope` owns `item`: `prune` deletes it unless the document declares it.
    fn owned(document: &ApplyDocument, scope: &PruneScope, item: &Self::Dto) -> bool;
    /// The item's key, unique within the kind.
    fn key(item: &Self::Dto) -> String;
    /// The change that creates or replaces `item`.
    fn put(item: Self::Dto) -> ChangeDto;
    /// The change that deletes `item`; `None` when `prune` must keep it.
    fn delete(item: &Self::Dto) -> Option<ChangeDto>;
}

/// Reconciles kind `K`: keys both sides, then the generic `reconcile`.
fn run<K: ResourceKind>(
    document: &ApplyDocument,
    state: &State,
    prune: bool,
    scope: &PruneScope,
    errors: &mut FieldErrors,
) -> Reconciled {
    let declared = K::declared(document, state, errors);
    let current: BTreeMap<String, (K::Dto, Option<ChangeDto>)> = K::current(document, state, scope)
        .into_iter()
        .map(|item| {
            let delete = if K::owned(document, scope, &item) {
                K::delete(&item)
            } else {
                None
            };
            (K::key(&item), (item, delete))
        })
        .collect();
    reconcile(K::NOUN, declared, current, prune, K::put, errors)
}

/// Converts each item of a top-level section (`regions`, ...) with `normalize(item, path)`.
fn declare_each<T, D>(
    section: &str,
    items: &[T],
    errors: &mut FieldErrors,
    key: impl Fn(&D) -> String,
    normalize: impl Fn(&T, &str) -> Result<D, FieldErrors>,
) -> Vec<Declared<D>> {
    let mut declared = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let path = format!("{section}[{index}]");
        match normalize(item, &path) {
            Ok(dto) => declared.push(Declared {
                key: key(&dto),
                path,
                dto,
            }),
            Err(found) => errors.0.extend(found.0),
        }
    }
    declared
}

/// Client networks, keyed by canonical CIDR.
struct Networks;

impl ResourceKind for Networks {
    type Dto = NetworkDto;
    const NOUN: &'static str = "network";

    fn declared(
        document: &ApplyDocument,
        _state: &State,
        errors: &mut FieldErrors,
    ) -> Vec<Declared<NetworkDto>> {
        declare_each(
            "networks",
            &document.networks,
            errors,
            Self::key,
            |n, path| n.to_model(path).map(|model| NetworkDto::from_model(&model)),
        )
    }

    fn current(_document: &ApplyDocument, state: &State, _scope: &PruneScope) -> Vec<NetworkDto> {
        state
            .networks
            .values()
            .map(NetworkDto::from_model)
            .collect()
    }

    fn owned(_document: &ApplyDocument, scope: &PruneScope, item: &NetworkDto) -> bool {
        scope.owns_network(&item.cidr)
    }

    fn key(item: &NetworkDto) -> String {
        item.cidr.clone()
    }

    fn put(network: NetworkDto) -> ChangeDto {
        ChangeDto::PutNetwork { network }
    }

    fn delete(item: &NetworkDto) -> Option<ChangeDto> {
        Some(ChangeDto::DeleteNetwork {
            cidr: item.cidr.clone(),
        })
    }
}

/// Regions, keyed by id.
struct Regions;

impl ResourceKind for Regions {
    type Dto = RegionDto;
    const NOUN: &'static str = "region";

    fn declared(
        document: &ApplyDocument,
        _state: &State,
        errors: &mut FieldErrors,
    ) -> Vec<Declared<RegionDto>> {
        declare_each(
            "regions",
            &document.regions,
            errors,
            Self::key,
            |r, path| r.to_model(path).map(|model| RegionDto::from_model(&model)),
        )
    }

    fn current(_document: &ApplyDocument, state: &State, _scope: &PruneScope) -> Vec<RegionDto> {
        state.regions.values().map(RegionDto::from_model).collect()
    }

    fn owned(_document: &ApplyDocument, scope: &PruneScope, item: &RegionDto) -> bool {
        scope.owns_id(&item.id)
    }

    fn key(item: &RegionDto) -> String {
        item.id.clone()
    }

    fn put(region: RegionDto) -> ChangeDto {
        ChangeDto::PutRegion { region }
    }

    fn delete(item: &RegionDto) -> Option<ChangeDto> {
        Some(ChangeDto::DeleteRegion {
            id: item.id.clone(),
        })
    }
}

/// Endpoints, keyed by id.
struct Endpoints;

impl ResourceKind for Endpoints {
    type Dto = EndpointDto;
    const NOUN: &'static str = "endpoint";

    fn declared(
        document: &ApplyDocument,
        _state: &State,
        errors: &mut FieldErrors,
    ) -> Vec<Declared<EndpointDto>> {
        declare_each(
            "endpoints",
            &document.endpoints,
            errors,
            Self::key,
            |e, path| {
                e.to_model(path)
                    .map(|model| EndpointDto::from_model(&model))
            },
        )
    }

    fn current(_document: &ApplyDocument, state: &State, _scope: &PruneScope) -> Vec<EndpointDto> {
        state
            .endpoints
            .values()
            .map(EndpointDto::from_model)
            .collect()
    }

    fn owned(_document: &ApplyDocument, scope: &PruneScope, item: &EndpointDto) -> bool {
        scope.owns_id(&item.id)
    }

    fn key(item: &EndpointDto) -> String {
        item.id.clone()
    }

    fn put(endpoint: EndpointDto) -> ChangeDto {
        ChangeDto::PutEndpoint { endpoint }
    }

    fn delete(item: &EndpointDto) -> Option<ChangeDto> {
        Some(ChangeDto::DeleteEndpoint {
            id: item.id.clone(),
        })
    }
}

/// Health checks, keyed by id.
struct Checks;

impl ResourceKind for Checks {
    type Dto = CheckDto;
    const NOUN: &'static str = "check";

    fn declared(
        document: &ApplyDocument,
        _state: &State,
        errors: &mut FieldErrors,
    ) -> Vec<Declared<CheckDto>> {
        declare_each("checks", &document.checks, errors, Self::key, |c, path| {
            c.to_model(path).map(|model| CheckDto::from_model(&model))
        })
    }

    fn current(_document: &ApplyDocument, state: &State, _scope: &PruneScope) -> Vec<CheckDto> {
        state.checks.values().map(CheckDto::from_model).collect()
    }

    fn owned(_document: &ApplyDocument, scope: &PruneScope, item: &CheckDto) -> bool {
        scope.owns_id(&item.id)
    }

    fn key(item: &CheckDto) -> String {
        item.id.clone()
    }

    fn put(check: CheckDto) -> ChangeDto {
        ChangeDto::PutCheck {
            check: Box::new(check),
        }
    }

    fn delete(item: &CheckDto) -> Option<ChangeDto> {
        Some(ChangeDto::DeleteCheck {
            id: item.id.clone(),
        })
    }
}

/// The apexes the `zones` section declares whole (unparseable ones left out: `Zones`
/// reports them).
fn whole_zones(document: &ApplyDocument) -> BTreeSet<DomainName> {
    document
        .zones
        .iter()
        .filter_map(|zone| parse_apex(&zone.apex).ok())
        .collect()
}

/// Whole zones, keyed by apex; `records` entries of a declared zone are folded into it.
struct Zones;

impl Zones {
    /// Zone `index` of the document with the `records` entries of its apex folded in (an
    /// entry replaces the zone's own set of that name and type), normalized.
    fn fold(document: &ApplyDocument, index: usize, errors: &mut FieldErrors) -> Option<ZoneDto> {
        let path = format!("zones[{index}]");
        let mut model = match document.zones[index].to_model(&path) {
            Ok(model) => model,
            Err(found) => {
                errors.0.extend(found.0);
                return None;
            }
        };
        let mut seen: BTreeMap<(DomainName, RecordType), String> = BTreeMap::new();
        for (position, set) in model.rrsets.iter().enumerate() {
            let here = format!("{path}.records[{position}]");
            if let Some(first) = seen.insert((set.name.clone(), set.rtype), here.clone()) {
                errors.push(
                    here,
                    format!("record {} is listed twice (first at {first})", set.name),
                );
            }
        }
        let own: BTreeSet<(DomainName, RecordType)> = seen.keys().cloned().collect();
        for (entry_index, entry) in document.records.iter().enumerate() {
            if parse_apex(&entry.zone).ok().as_ref() != Some(&model.apex) {
                continue;
            }
            let here = format!("records[{entry_index}]");
            let Some(set) = entry
                .record()
                .to_model(&model.apex, model.default_ttl, &here, errors)
            else {
                continue;
            };
            let key = (set.name.clone(), set.rtype);
            if !own.contains(&key) {
                if let Some(first) = seen.get(&key) {
                    errors.push(
                        here,
                        format!("record {} is listed twice (first at {first})", set.name),
                    );
                    continue;
                }
            }
            seen.insert(key.clone(), here);
            model
                .rrsets
                .retain(|existing| !(existing.name == set.name && existing.rtype == set.rtype));
            model.rrsets.push(set);
        }
        model.normalize();
        Some(ZoneDto::from_model(&model))
    }
}

impl ResourceKind for Zones {
    type Dto = ZoneDto;
    const NOUN: &'static str = "zone";

    /// The SOA serial is the server's to move (on every change, by the zone's serial
    /// policy): a declared serial that is not newer than the current one (RFC 1982) is taken
    /// as the current one, so it neither shows in the diff nor makes a repeat apply write.
    fn declared(
        document: &ApplyDocument,
        state: &State,
        errors: &mut FieldErrors,
    ) -> Vec<Declared<ZoneDto>> {
        (0..document.zones.len())
            .filter_map(|index| {
                Zones::fold(document, index, errors).map(|mut dto| {
                    let current = parse_apex(&dto.apex)
                        .ok()
                        .and_then(|apex| state.zones.get(&apex));
                    if let Some(current) = current {
                        if !serial_is_newer(dto.soa.serial, current.soa.serial) {
                            dto.soa.serial = current.soa.serial;
                        }
                    }
                    Declared {
                        key: Self::key(&dto),
                        path: format!("zones[{index}]"),
                        dto,
                    }
                })
            })
            .collect()
    }

    fn current(_document: &ApplyDocument, state: &State, _scope: &PruneScope) -> Vec<ZoneDto> {
        state
            .zones
            .values()
            .map(|zone| ZoneDto::from_model(zone))
            .collect()
    }

    /// An owned zone that `records` or `gslb_records` name is kept: the document wants it.
    fn owned(document: &ApplyDocument, scope: &PruneScope, item: &ZoneDto) -> bool {
        let named = document
            .records
            .iter()
            .map(|record| &record.zone)
            .chain(document.gslb_records.iter().map(|record| &record.zone))
            .any(|zone| parse_apex(zone).ok() == parse_apex(&item.apex).ok());
        scope.owns_zone(&item.apex) && !named
    }

    fn key(item: &ZoneDto) -> String {
        item.apex.clone()
    }

    fn put(zone: ZoneDto) -> ChangeDto {
        ChangeDto::PutZone { zone }
    }

    fn delete(item: &ZoneDto) -> Option<ChangeDto> {
        Some(ChangeDto::DeleteZone {
            zone: item.apex.clone(),
        })
    }
}

/// Record sets of zones the document does not declare whole, keyed by name, type and zone.
struct Records;

impl Records {
    /// The apexes `records` names or the scope owns, outside the zones declared whole.
    fn zones_named(document: &ApplyDocument, scope: &PruneScope) -> BTreeSet<DomainName> {
        let whole = whole_zones(document);
        document
            .records
            .iter()
            .filter_map(|record| parse_apex(&record.zone).ok())
            .chain(scope.zones.iter().cloned())
            .filter(|apex| !whole.contains(apex))
            .collect()
    }
}

impl ResourceKind for Records {
    type Dto = ZonedRecord;
    const NOUN: &'static str = "record";

    fn declared(
        document: &ApplyDocument,
        state: &State,
        errors: &mut FieldErrors,
    ) -> Vec<Declared<ZonedRecord>> {
        let whole = whole_zones(document);
        let mut declared = Vec::new();
        for (index, entry) in document.records.iter().enumerate() {
            let path = format!("records[{index}]");
            let apex = match parse_apex(&entry.zone) {
                Ok(apex) if whole.contains(&apex) => continue,
                Ok(apex) => apex,
                Err(message) => {
                    errors.push(format!("{path}.zone"), message);
                    continue;
                }
            };
            let Some(zone) = state.zones.get(&apex) else {
                errors.push(
                    format!("{path}.zone"),
                    format!("no zone {apex}: declare it under zones or create it first"),
                );
                continue;
            };
            let normalized = entry
                .record()
                .to_model(&apex, zone.default_ttl, &path, errors)
                .and_then(|set| RecordSetDto::from_model(&set));
            if let Some(set) = normalized {
                let dto = zoned_record(&apex, set);
                declared.push(Declared {
                    key: Self::key(&dto),
                    path,
                    dto,
                });
            }
        }
        declared
    }

    fn current(document: &ApplyDocument, state: &State, scope: &PruneScope) -> Vec<ZonedRecord> {
        Records::zones_named(document, scope)
            .iter()
            .filter_map(|apex| state.zones.get(apex))
            .flat_map(|zone| {
                zone.rrsets
                    .iter()
                    .filter_map(RecordSetDto::from_model)
                    .map(|set| zoned_record(&zone.apex, set))
            })
            .collect()
    }

    fn owned(_document: &ApplyDocument, scope: &PruneScope, item: &ZonedRecord) -> bool {
        scope.owns_zone(&item.zone)
    }

    fn key(item: &ZonedRecord) -> String {
        format!("{} {} in {}", item.name, item.rtype, item.zone)
    }

    fn put(item: ZonedRecord) -> ChangeDto {
        let record = item.record();
        ChangeDto::PutRecord {
            zone: item.zone,
            record,
        }
    }

    /// Keeps the apex NS set: a zone cannot lose its name servers to a prune.
    fn delete(item: &ZonedRecord) -> Option<ChangeDto> {
        let apex_ns = item.name == item.zone && item.rtype == RecordTypeDto::NS;
        (!apex_ns).then(|| ChangeDto::DeleteRecord {
            zone: item.zone.clone(),
            name: item.name.clone(),
            rtype: item.rtype,
        })
    }
}

/// A record set of the zone `apex` as the document spells it.
fn zoned_record(apex: &DomainName, set: RecordSetDto) -> ZonedRecord {
    ZonedRecord {
        zone: apex.to_string(),
        name: set.name,
        rtype: set.rtype,
        ttl: set.ttl,
        data: set.data,
    }
}

/// GSLB records, keyed by name, type and zone; the scope is the zones `gslb_records` names.
struct GslbRecords;

impl ResourceKind for GslbRecords {
    type Dto = ZonedGslbRecord;
    const NOUN: &'static str = "gslb record";

    fn declared(
        document: &ApplyDocument,
        _state: &State,
        errors: &mut FieldErrors,
    ) -> Vec<Declared<ZonedGslbRecord>> {
        let mut declared = Vec::new();
        for (index, entry) in document.gslb_records.iter().enumerate() {
            let path = format!("gslb_records[{index}]");
            let apex = match parse_apex(&entry.zone) {
                Ok(apex) => apex,
                Err(message) => {
                    errors.push(format!("{path}.zone"), message);
                    continue;
                }
            };
            let model = match entry.record.to_model(&apex, &path) {
                Ok(model) => model,
                Err(found) => {
                    errors.0.extend(found.0);
                    continue;
                }
            };
            let Some(record) = GslbRecordDto::from_model(&model) else {
                errors.push(format!("{path}.type"), "must be A, AAAA or CNAME");
                continue;
            };
            let dto = ZonedGslbRecord {
                zone: apex.to_string(),
                record,
            };
            declared.push(Declared {
                key: Self::key(&dto),
                path,
                dto,
            });
        }
        declared
    }

    fn current(
        document: &ApplyDocument,
        state: &State,
        scope: &PruneScope,
    ) -> Vec<ZonedGslbRecord> {
        let named: BTreeSet<DomainName> = document
            .gslb_records
            .iter()
            .filter_map(|record| parse_apex(&record.zone).ok())
            .chain(scope.zones.iter().cloned())
            .collect();
        named
            .iter()
            .flat_map(|apex| {
                state
                    .gslb_records_in_zone(apex)
                    .filter_map(GslbRecordDto::from_model)
                    .map(|record| ZonedGslbRecord {
                        zone: apex.to_string(),
                        record,
                    })
            })
            .collect()
    }

    fn owned(_document: &ApplyDocument, scope: &PruneScope, item: &ZonedGslbRecord) -> bool {
        scope.owns_zone(&item.zone)
    }

    fn key(item: &ZonedGslbRecord) -> String {
        format!(
            "{} {} in {}",
            item.record.name, item.record.rtype, item.zone
        )
    }

    fn put(item: ZonedGslbRecord) -> ChangeDto {
        ChangeDto::PutGslbRecord {
            zone: item.zone,
            record: Box::new(item.record),
        }
    }

    fn delete(item: &ZonedGslbRecord) -> Option<ChangeDto> {
        Some(ChangeDto::DeleteGslbRecord {
            zone: item.zone.clone(),
            name: item.record.name.clone(),
            rtype: item.record.rtype,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind is put after everything it depends on and deleted before it.
    #[test]
    fn orders_follow_the_dependencies() {
        let put = Kind::put_order();
        let delete = Kind::delete_order();
        assert_eq!(put.len(), Kind::ALL.len());
        let position = |order: &[Kind], kind: Kind| order.iter().position(|k| *k == kind);
        for kind in Kind::ALL {
            for dependency in kind.depends_on() {
                assert!(
                    position(&put, *dependency) < position(&put, kind),
                    "{dependency:?} must be put before {kind:?}: {put:?}"
                );
                assert!(
                    position(&delete, kind) < position(&delete, *dependency),
                    "{kind:?} must be deleted before {dependency:?}: {delete:?}"
                );
            }
        }
    }
}
