//! `Decision`: what `evaluate` hands to the wire (and to explanations): the chosen endpoints,
//! the TTL, the ECS scope and how the record stood. Fixed size, no allocation.

use gslb_model::model::gslb_record::WhenAllDown;
use gslb_model::model::DomainName;

use crate::policy::compile::CompiledRecord;

/// The most answers a decision holds (the model's `MAX_ANSWERS`).
pub const MAX_ANSWERS: usize = gslb_model::model::gslb_record::MAX_ANSWERS as usize;

/// Chosen endpoints as indexes into `PolicyInputs::endpoints`, in answer order.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Answers {
    /// Endpoint indexes; `len` of them used.
    endpoints: [u32; MAX_ANSWERS],
    /// How many are used.
    len: u8,
}

impl Answers {
    /// Appends an endpoint; ignored when full or already present.
    pub fn push(&mut self, endpoint: usize) {
        if (self.len as usize) < MAX_ANSWERS && !self.contains(endpoint) {
            self.endpoints[self.len as usize] = endpoint as u32;
            self.len += 1;
        }
    }

    /// Removes every answer.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Number of answers.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when there is no answer.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `endpoint` is among them.
    pub fn contains(&self, endpoint: usize) -> bool {
        self.iter().any(|e| e == endpoint)
    }

    /// The endpoint indexes in answer order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.endpoints[..self.len as usize]
            .iter()
            .map(|&e| e as usize)
    }
}

impl std::fmt::Debug for Answers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// How the record stood when answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every choice on the path took its preferred child.
    #[default]
    Healthy,
    /// A failover took a later child, a geo match fell back to its default, a share spilled,
    /// or a latency/proximity choice skipped a better child: `failover_ttl` applies.
    Degraded,
    /// Nothing was available; `fail_open` answered every endpoint an operator did not take
    /// out (possibly none, for a guarded record whose leases all ran out).
    AllDownOpen,
    /// Nothing was available and the record is `fail_closed`: no answer (NODATA).
    AllDownClosed,
    /// Nothing was available; answer a CNAME to the record's fallback target.
    Fallback,
}

/// The result of evaluating one record for one client at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    /// Chosen endpoints (empty for `AllDownClosed` and `Fallback`).
    pub answers: Answers,
    /// TTL for the answer records.
    pub ttl: u32,
    /// ECS SCOPE PREFIX-LENGTH: the shortest prefix that decided the answer, never longer
    /// than the client's source prefix, 0 when the answer does not depend on the client.
    pub scope: u8,
    /// How the record stood.
    pub outcome: Outcome,
}

impl Decision {
    /// The CNAME target to answer with for `Outcome::Fallback`.
    pub fn fallback_target<'r>(&self, record: &'r CompiledRecord) -> Option<&'r DomainName> {
        match (&self.outcome, &record.when_all_down) {
            (Outcome::Fallback, WhenAllDown::Fallback(target)) => Some(target),
            _ => None,
        }
    }
}
