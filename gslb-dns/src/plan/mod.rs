//! The answer plan: `compile_plan(&State) -> AnswerPlan`, an immutable, query-ready image of
//! every zone, rebuilt on each new `State` version and swapped in whole.
//!
//! - `zone`: `ZonePlan`, one zone's lookup (exact, wildcard, referral, NXDOMAIN) over its
//!   name table, or over a patch of changed names on a shared base table.
//! - `table`: `ZoneTable`, a name table and its pre-rendered RRsets in one arena.
//! - `incremental`: `ZonePlan::patched`, the compile of only the names a new state changed
//!   (`compile_plan_since`).
//! - `answer`: writes the reply sections for one question from a `ZonePlan`.
//! - `render`: model data → wire RRs, once per plan.
//! - `index`: the arena-keyed hash table both levels use.
//! - `gslb`: `GslbTable`, the GSLB records compiled with the health of the compile instant,
//!   and `Dynamic`, which evaluates one per query (`policy::evaluate`) and copies its RRs.
//!
//! Health in a plan is as of its compile (`compile_plan_at`'s `now_ms`): votes go stale and
//! health is re-derived only when a plan is compiled, so the follower recompiles on a timer
//! too. Leases and override expiry are checked per query against the query's clock.
//!
//! Invariant: an `AnswerPlan` is never mutated once installed (before, the responder's
//! metrics attach their GSLB counters to it); looking anything up in it neither locks nor
//! allocates.

mod answer;
mod gslb;
mod incremental;
mod index;
mod render;
mod table;
mod zone;

pub(crate) use answer::{additionals_that_fit, write_answer, Sections};
pub use gslb::BatchFacts;
pub(crate) use gslb::Dynamic;
pub(crate) use gslb::GslbName;
pub use gslb::GslbTable;
pub(crate) use render::write_rdata;
pub(crate) use zone::Lookup;
pub use zone::ZonePlan;

use std::sync::Arc;

use gslb_model::{State, Zone};

use crate::dnssec::{Keyring, SigningTable};
use crate::metrics::DnsMetrics;
use crate::plan::index::NameIndex;
use crate::wire::QueryName;

/// Every zone of one `State` version, compiled for answering.
#[derive(Clone, Default)]
pub struct AnswerPlan {
    /// The `State::version` this plan was compiled from.
    version: u64,
    /// The zones; `index` maps apex wire form → position. Shared with plans re-derived for
    /// new health only (`rederive`).
    zones: Arc<Vec<ZonePlan>>,
    /// Apex (lower-cased wire form) → zone.
    index: Arc<NameIndex>,
    /// `State::last_change` of the state compiled: while it stays, only health, leases and
    /// reports moved, and the compiled zones and records stay valid.
    last_change: u64,
    /// Fewest labels of any apex: shorter suffixes of a query name need no lookup.
    min_apex_labels: usize,
    /// Most labels of any apex: longer suffixes need no lookup.
    max_apex_labels: usize,
    /// The GSLB records and the policy inputs they are evaluated against.
    gslb: GslbTable,
    /// The instant (unix millis) health was derived for.
    compiled_at: u64,
    /// The signed zones: keys sealed as compiled, opened once installed (`open_keys`).
    signing: Arc<SigningTable>,
}

impl std::fmt::Debug for AnswerPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerPlan")
            .field("version", &self.version)
            .field("zones", &self.zones)
            .field("gslb_records", &self.gslb.len())
            .field("compiled_at", &self.compiled_at)
            .finish()
    }
}

/// Compiles every zone of `state` into an `AnswerPlan`, deriving health as of the state's
/// own last command time (`State::last_at`) and measuring latency from no vantage. Pure:
/// the same state gives the same plan; never fails (data the model would reject is skipped,
/// see `ZonePlan::compile`). Serving nodes use `compile_plan_at` with their clock.
pub fn compile_plan(state: &State) -> AnswerPlan {
    compile_plan_at(state, state.last_at, None)
}

/// Compiles `state` with health derived at `now_ms` (unix millis: votes older than their
/// freshness window no longer count) and prober RTTs taken from `vantage` (this node's
/// region id) for `latency` policies.
pub fn compile_plan_at(state: &State, now_ms: u64, vantage: Option<&str>) -> AnswerPlan {
    compile_plan_with(state, now_ms, vantage, None)
}

/// `compile_plan_at` with one more zone not in the state (the catalog zone a node derives
/// from it); a zone of the state with the same apex wins.
pub fn compile_plan_with(
    state: &State,
    now_ms: u64,
    vantage: Option<&str>,
    extra: Option<&Zone>,
) -> AnswerPlan {
    assemble(state, now_ms, vantage, extra, |zone, records| {
        ZonePlan::compile_with(zone, records)
    })
}

/// The plan of `state` (and `extra`), each zone compiled by `compile_zone` from the zone and
/// its GSLB names.
fn assemble(
    state: &State,
    now_ms: u64,
    vantage: Option<&str>,
    extra: Option<&Zone>,
    mut compile_zone: impl FnMut(&Zone, &[GslbName]) -> ZonePlan,
) -> AnswerPlan {
    let (gslb, mut gslb_by_zone) = GslbTable::compile(state, now_ms, vantage);
    let mut zones: Vec<ZonePlan> = Vec::with_capacity(state.zones.len() + 1);
    let mut index = NameIndex::with_capacity(state.zones.len() + 1);
    let (mut min_apex_labels, mut max_apex_labels) = (usize::MAX, 0);
    let extra = extra.filter(|zone| !state.zones.contains_key(&zone.apex));
    for zone in state.zones.values().map(|zone| &**zone).chain(extra) {
        if zone.apex.is_root() {
            continue;
        }
        let records = gslb_by_zone.remove(&zone.apex).unwrap_or_default();
        let compiled = compile_zone(zone, &records);
        let position = zones.len() as u32;
        min_apex_labels = min_apex_labels.min(compiled.apex_labels());
        max_apex_labels = max_apex_labels.max(compiled.apex_labels());
        zones.push(compiled);
        index.insert(zones[position as usize].apex(), position, |z| {
            zones[z as usize].apex()
        });
    }
    AnswerPlan {
        version: state.version,
        zones: Arc::new(zones),
        index: Arc::new(index),
        last_change: state.last_change,
        min_apex_labels,
        max_apex_labels,
        gslb,
        compiled_at: now_ms,
        signing: Arc::new(SigningTable::sealed(state)),
    }
}

/// `compile_plan_from`, and when more than health moved, compiling only the names that
/// changed since `previous_state` (the state `previous` was compiled from): each zone of
/// `state` that `previous` has is patched (`ZonePlan::patched`) and compiled whole only when
/// the change reaches beyond its names. Answers are byte for byte those of
/// `compile_plan_at(state, ..)`.
pub fn compile_plan_since(
    previous: &AnswerPlan,
    previous_state: &State,
    state: &State,
    now_ms: u64,
    vantage: Option<&str>,
    extra: Option<&Zone>,
) -> AnswerPlan {
    compile_plan_prepared(
        previous,
        previous_state,
        state,
        now_ms,
        vantage,
        extra,
        None,
    )
}

/// Zone plans compiled ahead of the state that serves them (a staged import's, compiled
/// before its commit: `crate::prepare` implements this).
pub trait PreparedPlans {
    /// The plan compiled from `zone`'s very record sets (shared storage, not equal content),
    /// with the zone it was compiled from (whose header may differ from `zone`'s).
    fn prepared_for(&self, zone: &Zone) -> Option<(Zone, ZonePlan)>;
}

/// `compile_plan_since`, taking a zone's plan from `prepared` when it holds one compiled from
/// the zone's very record sets (a staged import's commit), patched to the zone's header.
/// Answers are byte for byte those of `compile_plan_at(state, ..)`.
pub fn compile_plan_prepared(
    previous: &AnswerPlan,
    previous_state: &State,
    state: &State,
    now_ms: u64,
    vantage: Option<&str>,
    extra: Option<&Zone>,
    prepared: Option<&dyn PreparedPlans>,
) -> AnswerPlan {
    if let Some(plan) = previous.rederive(state, now_ms, vantage) {
        return plan;
    }
    if previous_state.version != previous.version {
        return compile_plan_with(state, now_ms, vantage, extra);
    }
    assemble(state, now_ms, vantage, extra, |zone, records| {
        let ahead = prepared.and_then(|prepared| prepared.prepared_for(zone));
        if let Some(plan) = ahead.and_then(|(from, plan)| plan.patched(&from, zone, records)) {
            return plan;
        }
        let before = previous_state.zones.get(&zone.apex);
        let compiled = before.and_then(|before| {
            let apex = zone.apex.as_wire();
            let position = previous
                .index
                .find(apex, |z| previous.zones[z as usize].apex())?;
            previous.zones[position as usize].patched(before, zone, records)
        });
        compiled.unwrap_or_else(|| ZonePlan::compile_with(zone, records))
    })
}

/// `compile_plan_at`, reusing `previous` when only health moved since it was compiled (the
/// same `State::last_change`: reports, leases, applied indexes): then the zones and compiled
/// GSLB records are shared and only the policy inputs are derived again, which costs
/// O(regions + endpoints + checks) instead of a compile of every zone and record.
pub fn compile_plan_from(
    previous: &AnswerPlan,
    state: &State,
    now_ms: u64,
    vantage: Option<&str>,
) -> AnswerPlan {
    compile_plan_from_with(previous, state, now_ms, vantage, None)
}

/// `compile_plan_from` with one more zone not in the state (see `compile_plan_with`); the
/// extra zone must depend only on what moves `State::last_change` (the catalog does).
pub fn compile_plan_from_with(
    previous: &AnswerPlan,
    state: &State,
    now_ms: u64,
    vantage: Option<&str>,
    extra: Option<&Zone>,
) -> AnswerPlan {
    previous
        .rederive(state, now_ms, vantage)
        .unwrap_or_else(|| compile_plan_with(state, now_ms, vantage, extra))
}

impl AnswerPlan {
    /// A plan with no zones (every query is REFUSED), at version 0.
    pub fn empty() -> AnswerPlan {
        AnswerPlan::default()
    }

    /// This plan for `state` with health derived at `now_ms`, sharing everything compiled,
    /// when nothing but health moved since (see `compile_plan_from`); `None` otherwise.
    pub fn rederive(
        &self,
        state: &State,
        now_ms: u64,
        vantage: Option<&str>,
    ) -> Option<AnswerPlan> {
        // `last_change` 0 means a state not built by the control plane (zone files), whose
        // every version may differ anywhere.
        let unchanged = self.last_change != 0 && state.last_change == self.last_change;
        if !unchanged || state.version < self.version {
            return None;
        }
        let gslb = if state.gslb_records.is_empty() {
            if !self.gslb.is_empty() {
                return None;
            }
            self.gslb.clone()
        } else {
            let view = state.health_view(now_ms);
            let inputs = crate::policy::PolicyInputs::from_state(state, &view, vantage).ok()?;
            self.gslb.with_inputs(inputs)?
        };
        Some(AnswerPlan {
            version: state.version,
            zones: Arc::clone(&self.zones),
            index: Arc::clone(&self.index),
            last_change: self.last_change,
            min_apex_labels: self.min_apex_labels,
            max_apex_labels: self.max_apex_labels,
            gslb,
            compiled_at: now_ms,
            signing: Arc::clone(&self.signing),
        })
    }

    /// The `State::version` this plan answers for.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// What identifies this plan's zones and keys (all but health): `State::last_change`
    /// of a state the control plane built, which health reports and leases leave alone,
    /// else (zone files) the version. Caches of what depends on zones and keys only (signed
    /// replies) stay warm across the plans every health change makes.
    pub(crate) fn content_id(&self) -> (u64, u64) {
        if self.last_change != 0 {
            (self.last_change, 0)
        } else {
            (0, self.version)
        }
    }

    /// Number of zones.
    pub fn zone_count(&self) -> usize {
        self.zones.len()
    }

    /// Number of zones answered through a patch of changed names over a shared base table
    /// (after `compile_plan_since`); 0 after a whole compile.
    pub fn patched_zones(&self) -> usize {
        self.zones
            .iter()
            .filter(|zone| zone.patch.is_some())
            .count()
    }

    /// Number of names over all zones, empty non-terminals included.
    pub fn name_count(&self) -> usize {
        self.zones.iter().map(ZonePlan::name_count).sum()
    }

    /// Approximate heap use in octets.
    pub fn heap_bytes(&self) -> usize {
        self.zones.iter().map(ZonePlan::heap_bytes).sum::<usize>()
            + self.index.heap_bytes()
            + self.gslb.heap_bytes()
    }

    /// The GSLB records and the inputs (health included) DNS evaluates them against.
    pub fn gslb(&self) -> &GslbTable {
        &self.gslb
    }

    /// The instant (unix millis) this plan's health was derived for.
    pub fn compiled_at(&self) -> u64 {
        self.compiled_at
    }

    /// Gives the GSLB records and regions their counters from `metrics` (the same ones a
    /// previous plan had for the same record or region). Cheap when already done. The plan
    /// reaches into the metrics, never the other way round, so `metrics` does not know plans.
    pub fn attach_counters(&mut self, metrics: &DnsMetrics) {
        self.gslb.attach_counters(metrics);
    }

    /// The signed zones.
    pub fn signing(&self) -> &SigningTable {
        &self.signing
    }

    /// True when the zone of `apex` is signed. Zone transfers of a signed zone are refused:
    /// its signatures are made per answer and never stored, so a secondary would serve the
    /// zone unsigned under the parent's DS (bogus to every validator).
    pub fn is_signed(&self, apex: &gslb_model::DomainName) -> bool {
        self.signing.is_signed(apex)
    }

    /// True when this plan has sealed keys still to open (`open_keys`).
    pub fn keys_unopened(&self) -> bool {
        self.signing.needs_opening()
    }

    /// Opens the signed zones' keys with `keyring` (before the plan is installed).
    pub fn open_keys(&mut self, keyring: &Keyring) {
        self.signing = Arc::new(keyring.open(&self.signing));
    }

    /// Whether this plan's GSLB records count into `metrics`.
    pub fn counters_attached(&self, metrics: &DnsMetrics) -> bool {
        self.gslb.counters_attached(metrics)
    }

    /// True when compiling `state` at `now_ms` from `vantage` would give the GSLB records
    /// exactly the inputs this plan holds (same version, and no vote went stale or fresh
    /// since): a timed refresh can then skip the full compile.
    pub fn gslb_inputs_current(&self, state: &State, now_ms: u64, vantage: Option<&str>) -> bool {
        if state.version != self.version {
            return false;
        }
        if state.gslb_records.is_empty() {
            return self.gslb.is_empty();
        }
        let view = state.health_view(now_ms);
        match crate::policy::PolicyInputs::from_state(state, &view, vantage) {
            Ok(inputs) => inputs == *self.gslb.inputs(),
            Err(_) => false,
        }
    }

    /// The zone with the longest apex that `name` is in or below.
    pub(crate) fn find_zone(&self, name: &QueryName) -> Option<&ZonePlan> {
        self.find_zone_above(name, 0)
    }

    /// The zone with the longest apex that `name` minus its first `skip` labels is in or
    /// below (`skip = 1` finds the parent zone of an apex, for DS).
    pub(crate) fn find_zone_above(&self, name: &QueryName, skip: usize) -> Option<&ZonePlan> {
        if self.zones.is_empty() || name.label_count() < self.min_apex_labels + skip {
            return None;
        }
        let first_skip = name
            .label_count()
            .saturating_sub(self.max_apex_labels)
            .max(skip);
        let last_skip = name.label_count() - self.min_apex_labels;
        for skip in first_skip..=last_skip {
            let suffix = name.suffix(skip);
            if let Some(zone) = self.index.find(suffix, |z| self.zones[z as usize].apex()) {
                return Some(&self.zones[zone as usize]);
            }
        }
        None
    }
}
