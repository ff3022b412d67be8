//! GSLB records in the plan: `GslbTable`, compiled once per plan (policy inputs with health
//! folded in, one `CompiledRecord` per record, one pre-rendered RR per endpoint), and
//! `Dynamic`, which evaluates a record for one query and copies the chosen RRs out.
//!
//! A GSLB record's name is an ordinary node of its zone's name table, carrying a
//! `SetRole::Gslb` entry of the record's type whose `start` is the record's index here. So
//! NXDOMAIN, NODATA (another type at a GSLB name), wildcards and delegations stay exactly the
//! static logic; only the RRs of the answer are chosen per query.
//!
//! Per query: client facts (ECS source if present, else the transport address) are taken
//! once, lazily, the first time a GSLB entry is met, and located only when a record reads
//! location (geo rules on places, proximity); `policy::evaluate` picks endpoint
//! indexes, TTL and ECS scope; each chosen endpoint's RR is copied with the decision's TTL
//! patched in. `AllDownClosed` (or an empty answer) writes nothing: the caller answers NODATA
//! with the SOA. `Fallback` writes a CNAME to the record's fallback target, which the caller
//! follows inside the zone like a static CNAME.
//!
//! Each evaluation is counted in the `GslbCounters` the responder attached to the table
//! (decision, causes, regions answered), on the query thread's shard.
//!
//! Invariant: `Dynamic::write` allocates nothing once `out` has grown (evaluation does not,
//! the facts are `Copy`, RRs are copied from the table's arena).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use gslb_model::model::endpoint::EndpointTarget;
use gslb_model::model::gslb_record::WhenAllDown;
use gslb_model::{DomainName, RData, RecordType, State};

use crate::client::{ClientFacts, ClientLocator, PinnedNetworks};
use crate::clock::coarse_unix_millis;
use crate::metrics::{DnsMetrics, GslbCounters};
use crate::plan::render;
use crate::policy::{evaluate_into, CompiledRecord, Decision, Outcome, PolicyInputs};
use crate::wire::types;

/// One pre-rendered RR in `GslbTable::data` (owner = question-name placeholder, TTL 0).
#[derive(Debug, Clone, Copy, Default)]
struct Rendered {
    /// TYPE code (A, AAAA or CNAME); 0 when nothing was rendered.
    rtype: u16,
    /// Start in `GslbTable::data`.
    start: u32,
    /// Length in octets.
    len: u32,
}

/// One compiled GSLB record.
#[derive(Debug, Clone)]
struct GslbEntry {
    /// The record, ids resolved to indexes of `GslbTable::inputs`.
    record: CompiledRecord,
    /// The CNAME to the fallback target, for `Outcome::Fallback`.
    fallback: Rendered,
}

/// Every GSLB record of one plan, with the inputs they are evaluated against.
///
/// The compiled part is shared (`Arc`): a plan re-derived for new health only
/// (`with_inputs`) reuses it, since compiled records refer to regions and endpoints by index
/// and those do not move while only health changes.
#[derive(Debug, Clone, Default)]
pub struct GslbTable {
    /// Regions, endpoints, health, leases and overrides as of the plan's compile.
    inputs: PolicyInputs,
    /// `inputs.read_the_clock()`: when false, answers skip reading the clock.
    reads_clock: bool,
    /// Records, endpoint RRs and their bytes.
    compiled: Arc<Compiled>,
    /// Where evaluations are counted: attached by the responder's metrics before the plan
    /// is installed, kept by `with_inputs` (records and regions keep their indexes there).
    counters: Option<Arc<GslbCounters>>,
}

/// The part of a `GslbTable` that depends on records, regions and endpoints, not health.
#[derive(Debug, Default)]
struct Compiled {
    /// The records; a zone's `SetRole::Gslb` entry holds an index into this.
    records: Vec<GslbEntry>,
    /// Per endpoint index of `inputs`: its RR.
    endpoints: Vec<Rendered>,
    /// Rendered RRs.
    data: Vec<u8>,
}

/// Where one compiled record lives: its zone's apex, name and type, and its table index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GslbName {
    /// Owner name.
    pub(crate) name: DomainName,
    /// A, AAAA or CNAME.
    pub(crate) rtype: RecordType,
    /// Index into `GslbTable::records`.
    pub(crate) index: u32,
}

impl GslbTable {
    /// Compiles every GSLB record of `state` with health derived at `now_ms` and RTTs from
    /// `vantage`. Returns the table and, per zone apex, the names to add to that zone.
    /// Records that do not compile (the store refuses them, so only hand-built states have
    /// them) are skipped with a warning.
    pub(crate) fn compile(
        state: &State,
        now_ms: u64,
        vantage: Option<&str>,
    ) -> (GslbTable, BTreeMap<DomainName, Vec<GslbName>>) {
        let mut by_zone: BTreeMap<DomainName, Vec<GslbName>> = BTreeMap::new();
        if state.gslb_records.is_empty() {
            return (GslbTable::default(), by_zone);
        }
        let view = state.health_view(now_ms);
        let inputs = match PolicyInputs::from_state(state, &view, vantage) {
            Ok(inputs) => inputs,
            Err(error) => {
                tracing::warn!(%error, "policy inputs do not build; gslb records are not served");
                return (GslbTable::default(), by_zone);
            }
        };
        let mut table = Compiled {
            endpoints: Vec::with_capacity(inputs.endpoints.len()),
            records: Vec::new(),
            data: Vec::new(),
        };
        for endpoint in 0..inputs.endpoints.len() {
            let rdata = match &inputs.endpoints[endpoint].target {
                EndpointTarget::Address(IpAddr::V4(address)) => RData::A(*address),
                EndpointTarget::Address(IpAddr::V6(address)) => RData::AAAA(*address),
                EndpointTarget::Cname(target) => RData::CNAME(target.clone()),
            };
            let rendered = table.render(&rdata);
            table.endpoints.push(rendered);
        }
        for record in state.all_gslb_records() {
            let Some(zone) = state.zone_for(&record.name) else {
                continue;
            };
            let compiled = match CompiledRecord::compile(record, &inputs) {
                Ok(compiled) => compiled,
                Err(errors) => {
                    tracing::warn!(record = %record.name, %errors, "gslb record skipped");
                    continue;
                }
            };
            let fallback = match &record.when_all_down {
                WhenAllDown::Fallback(target) => table.render(&RData::CNAME(target.clone())),
                _ => Rendered::default(),
            };
            let index = table.records.len() as u32;
            table.records.push(GslbEntry {
                record: compiled,
                fallback,
            });
            by_zone
                .entry(zone.apex.clone())
                .or_default()
                .push(GslbName {
                    name: record.name.clone(),
                    rtype: record.rtype,
                    index,
                });
        }
        table.data.shrink_to_fit();
        let table = GslbTable {
            reads_clock: inputs.read_the_clock(),
            inputs,
            compiled: Arc::new(table),
            counters: None,
        };
        (table, by_zone)
    }

    /// This table's compiled records evaluated against `inputs` instead: valid only when
    /// `inputs` has the same regions and endpoints in the same order (health, leases, RTTs
    /// and capacity may differ), which `same_targets` checks.
    pub(crate) fn with_inputs(&self, inputs: PolicyInputs) -> Option<GslbTable> {
        if !same_targets(&self.inputs, &inputs) {
            return None;
        }
        Some(GslbTable {
            reads_clock: inputs.read_the_clock(),
            inputs,
            compiled: Arc::clone(&self.compiled),
            counters: self.counters.clone(),
        })
    }

    /// Takes this table's counters from `metrics` (the same ones earlier plans had for the
    /// same records and regions), unless it already counts there.
    pub(crate) fn attach_counters(&mut self, metrics: &DnsMetrics) {
        if self.is_empty() || self.counters_attached(metrics) {
            return;
        }
        let records = self
            .compiled
            .records
            .iter()
            .map(|entry| (&entry.record.name, entry.record.rtype));
        let regions = self.inputs.regions.iter().map(|region| region.id.as_str());
        self.counters = Some(Arc::new(metrics.gslb_counters(records, regions)));
    }

    /// Whether this table counts into `metrics` (trivially so without records).
    pub(crate) fn counters_attached(&self, metrics: &DnsMetrics) -> bool {
        self.is_empty()
            || self
                .counters
                .as_ref()
                .is_some_and(|counters| counters.belong_to(metrics))
    }

    /// The policy inputs the records are evaluated against.
    pub fn inputs(&self) -> &PolicyInputs {
        &self.inputs
    }

    /// Number of compiled records.
    pub fn len(&self) -> usize {
        self.compiled.records.len()
    }

    /// True when the plan has no GSLB record.
    pub fn is_empty(&self) -> bool {
        self.compiled.records.is_empty()
    }

    /// The compiled record for `name` and `rtype`, for explaining an answer with the very
    /// inputs DNS uses.
    pub fn record(&self, name: &DomainName, rtype: RecordType) -> Option<&CompiledRecord> {
        self.compiled
            .records
            .iter()
            .map(|entry| &entry.record)
            .find(|record| &record.name == name && record.rtype == rtype)
    }

    /// Approximate heap use in octets.
    pub fn heap_bytes(&self) -> usize {
        self.compiled.data.capacity()
            + self.compiled.endpoints.capacity() * std::mem::size_of::<Rendered>()
            + self.compiled.records.capacity() * std::mem::size_of::<GslbEntry>()
    }

    fn bytes(&self, rendered: &Rendered) -> &[u8] {
        let data = &self.compiled.data;
        &data[rendered.start as usize..(rendered.start + rendered.len) as usize]
    }
}

impl Compiled {
    /// Renders one RR with TTL 0 (patched per answer).
    fn render(&mut self, rdata: &RData) -> Rendered {
        let start = self.data.len();
        let rtype = rdata.record_type().code();
        if !render::write_record(&mut self.data, rtype, 0, rdata) {
            return Rendered::default();
        }
        Rendered {
            rtype,
            start: start as u32,
            len: (self.data.len() - start) as u32,
        }
    }
}

/// True when two inputs list the same regions and endpoints (ids and targets) in the same
/// order, so indexes compiled against one are valid in the other.
fn same_targets(old: &PolicyInputs, new: &PolicyInputs) -> bool {
    old.regions.len() == new.regions.len()
        && old.endpoints.len() == new.endpoints.len()
        && old
            .regions
            .iter()
            .zip(&new.regions)
            .all(|(a, b)| a.id == b.id)
        && old
            .endpoints
            .iter()
            .zip(&new.endpoints)
            .all(|(a, b)| a.id == b.id && a.region == b.region && a.target == b.target)
}

/// What one query knows for evaluating GSLB records, and what they decided.
pub(crate) struct Dynamic<'a> {
    /// The plan's records and inputs.
    table: &'a GslbTable,
    /// Locates the client.
    locator: &'a ClientLocator,
    /// The transport (or trusted proxy) source address.
    transport: IpAddr,
    /// The ECS address and SOURCE PREFIX-LENGTH, when the query had the option.
    ecs: Option<(IpAddr, u8)>,
    /// The network table and clock reading shared with the rest of the batch.
    shared: &'a mut BatchFacts,
    /// Feeds random choices.
    entropy: u64,
    /// The client, once a record needed it.
    facts: Option<ClientFacts>,
    /// Whether `facts` has been located (only records that read location need it).
    located: bool,
    /// The metrics shard of the answering thread.
    shard: usize,
    /// The ECS scope to return: the longest scope of the decisions made (0 without any).
    pub(crate) scope: u8,
}

/// What the queries of one received batch share for GSLB answers: the replicated network
/// table and the clock, each read at most once per batch (the batch is answered within
/// microseconds; a coarse clock reading is good for milliseconds anyway).
#[derive(Debug, Default)]
pub struct BatchFacts {
    /// The replicated network table, loaded by the batch's first located client.
    networks: PinnedNetworks,
    /// Unix millis: read by the batch's first GSLB answer from the system's coarse
    /// real-time clock (a vDSO read of the last tick, no TSC read; a few milliseconds of
    /// resolution is plenty for leases and staleness counted in seconds), unless a manual
    /// clock set it when the batch began.
    now_ms: Option<u64>,
}

impl BatchFacts {
    /// Facts for a batch answered at `now_ms` (a manual clock), or at the system clock's
    /// time when `None`.
    pub(crate) fn at(now_ms: Option<u64>) -> BatchFacts {
        BatchFacts {
            networks: PinnedNetworks::default(),
            now_ms,
        }
    }
}

/// What `Dynamic::write` put into the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    /// Number of RRs.
    pub(crate) count: u16,
    /// Their TYPE (CNAME for a fallback, whatever the record's type).
    pub(crate) rtype: u16,
}

impl<'a> Dynamic<'a> {
    /// Context for one query.
    pub(crate) fn new(
        table: &'a GslbTable,
        locator: &'a ClientLocator,
        transport: IpAddr,
        ecs: Option<(IpAddr, u8)>,
        shared: &'a mut BatchFacts,
        entropy: u64,
        shard: usize,
    ) -> Dynamic<'a> {
        Dynamic {
            table,
            locator,
            transport,
            ecs,
            shared,
            entropy,
            facts: None,
            located: false,
            shard,
            scope: 0,
        }
    }

    /// True once a GSLB record was evaluated for this query: the answer then depends on the
    /// client and the moment, not only on the question (what signed-reply caching keys on).
    pub(crate) fn chose_per_query(&self) -> bool {
        self.facts.is_some()
    }

    /// Evaluates record `index` and appends the chosen RRs, owners pointing at `owner`, with
    /// the decision's TTL. `None` when there is nothing to answer (NODATA).
    pub(crate) fn write(&mut self, index: u32, owner: usize, out: &mut Vec<u8>) -> Option<Written> {
        let table = self.table;
        let entry = table.compiled.records.get(index as usize)?;
        // Without overrides or leases nothing reads the time: skip the clock (a cold vDSO
        // page after every wake-up). Evaluation then never looks at `now_ms`.
        let now_ms = if table.reads_clock {
            *self.shared.now_ms.get_or_insert_with(coarse_unix_millis)
        } else {
            0
        };
        let (transport, ecs) = (self.transport, self.ecs);
        let facts = self
            .facts
            .get_or_insert_with(|| ClientFacts::unlocated(transport, ecs));
        if entry.record.uses_location && !self.located {
            self.locator.locate_pinned(&mut self.shared.networks, facts);
            self.located = true;
        }
        // The facts and the decision are read where they were written: copied whole right
        // after being written field by field, they cost a store-forwarding stall each.
        let mut decision = Decision::default();
        let causes = evaluate_into(
            &entry.record,
            &table.inputs,
            facts,
            now_ms,
            self.entropy,
            &mut decision,
        );
        if let Some(counters) = &table.counters {
            counters.count(index, &decision, causes, &table.inputs, self.shard);
        }
        self.scope = self.scope.max(decision.scope);
        if decision.outcome == Outcome::Fallback {
            if entry.fallback.rtype == 0 {
                return None;
            }
            copy_rr(out, table.bytes(&entry.fallback), owner, decision.ttl);
            return Some(Written {
                count: 1,
                rtype: types::CNAME,
            });
        }
        let wanted = entry.record.rtype.code();
        let mut count = 0u16;
        for endpoint in decision.answers.iter() {
            let Some(rendered) = table.compiled.endpoints.get(endpoint) else {
                continue;
            };
            if rendered.rtype != wanted {
                continue;
            }
            copy_rr(out, table.bytes(rendered), owner, decision.ttl);
            count += 1;
        }
        (count > 0).then_some(Written {
            count,
            rtype: wanted,
        })
    }
}

/// Appends one pre-rendered RR with its owner pointing at `owner` and TTL `ttl`.
fn copy_rr(out: &mut Vec<u8>, rr: &[u8], owner: usize, ttl: u32) {
    let start = out.len();
    out.extend_from_slice(rr);
    out[start..start + 2].copy_from_slice(&(0xC000 | owner as u16).to_be_bytes());
    out[start + 6..start + 10].copy_from_slice(&ttl.to_be_bytes());
}
