//! The answer plan: `compile_plan(&State) -> AnswerPlan`, an immutable, query-ready image of
//! every zone, rebuilt on each new `State` version and swapped in whole.
//!
//! - `zone`: `ZonePlan`, one zone's name table and pre-rendered RRsets, and its lookup
//!   (exact, wildcard, referral, NXDOMAIN).
//! - `answer`: writes the reply sections for one question from a `ZonePlan`.
//! - `render`: model data → wire RRs, once per plan.
//! - `index`: the arena-keyed hash table both levels use.
//!
//! Invariant: an `AnswerPlan` is never mutated after `compile_plan` returns; looking anything
//! up in it neither locks nor allocates.

mod answer;
mod index;
mod render;
mod zone;

pub(crate) use answer::{write_answer, Sections};
pub use zone::ZonePlan;

use gslb_store::State;

use crate::plan::index::NameIndex;
use crate::wire::QueryName;

/// Every zone of one `State` version, compiled for answering.
#[derive(Clone, Default)]
pub struct AnswerPlan {
    /// The `State::version` this plan was compiled from.
    version: u64,
    /// The zones; `index` maps apex wire form → position.
    zones: Vec<ZonePlan>,
    /// Apex (lower-cased wire form) → zone.
    index: NameIndex,
    /// Fewest labels of any apex: shorter suffixes of a query name need no lookup.
    min_apex_labels: usize,
    /// Most labels of any apex: longer suffixes need no lookup.
    max_apex_labels: usize,
}

impl std::fmt::Debug for AnswerPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerPlan")
            .field("version", &self.version)
            .field("zones", &self.zones)
            .finish()
    }
}

/// Compiles every zone of `state` into an `AnswerPlan`. Pure: the same state gives the same
/// plan; never fails (data the model would reject is skipped, see `ZonePlan::compile`).
pub fn compile_plan(state: &State) -> AnswerPlan {
    let mut plan = AnswerPlan {
        version: state.version,
        zones: Vec::with_capacity(state.zones.len()),
        index: NameIndex::with_capacity(state.zones.len()),
        min_apex_labels: usize::MAX,
        max_apex_labels: 0,
    };
    for zone in state.zones.values() {
        if zone.apex.is_root() {
            continue;
        }
        let compiled = ZonePlan::compile(zone);
        let position = plan.zones.len() as u32;
        plan.min_apex_labels = plan.min_apex_labels.min(compiled.apex_labels());
        plan.max_apex_labels = plan.max_apex_labels.max(compiled.apex_labels());
        plan.zones.push(compiled);
        let AnswerPlan { zones, index, .. } = &mut plan;
        index.insert(zones[position as usize].apex(), position, |z| {
            zones[z as usize].apex()
        });
    }
    plan
}

impl AnswerPlan {
    /// A plan with no zones (every query is REFUSED), at version 0.
    pub fn empty() -> AnswerPlan {
        AnswerPlan::default()
    }

    /// The `State::version` this plan answers for.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Number of zones.
    pub fn zone_count(&self) -> usize {
        self.zones.len()
    }

    /// Number of names over all zones, empty non-terminals included.
    pub fn name_count(&self) -> usize {
        self.zones.iter().map(ZonePlan::name_count).sum()
    }

    /// Approximate heap use in octets.
    pub fn heap_bytes(&self) -> usize {
        self.zones.iter().map(ZonePlan::heap_bytes).sum::<usize>() + self.index.heap_bytes()
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
