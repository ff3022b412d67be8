//! Explanations: the `Tracer` the evaluator reports to, `NoTrace` for the DNS path (every
//! call inlines to nothing, so answering pays nothing), and `Explainer`, which records the
//! policy path, the health inputs with vote counts, overrides and leases into an
//! `Explanation` for `/v1/resolve`, `gslbctl resolve --explain` and `drill plan`.
//!
//! Both paths run the same evaluator (`policy::eval`), so an explanation cannot disagree with
//! the answer it explains.

use gslb_model::model::{EndpointTarget, OverrideAction};
use serde::Serialize;

use crate::client::{ClientFacts, ClientOrigin, GeoSource};
use crate::policy::compile::CompiledRecord;
use crate::policy::decision::{Decision, Outcome};
use crate::policy::inputs::{HealthStatus, PolicyInputs, Votes};

/// The node index evaluation uses for record-level notes (TTL, scope, `when_all_down`).
pub const RECORD: usize = usize::MAX;

/// Why an endpoint can or cannot be answered right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Endpoint and region are healthy.
    Healthy,
    /// Endpoint or region health is unknown and the record reads unknown as up.
    UnknownAsUp,
    /// Endpoint or region health is unknown and the record reads unknown as down.
    UnknownAsDown,
    /// The endpoint is reported down.
    EndpointDown,
    /// The region's deep checks are reported down.
    RegionDown,
    /// The endpoint's admin state is disabled.
    AdminDisabled,
    /// An override on the endpoint decided.
    EndpointOverride(OverrideAction),
    /// An override on the region decided.
    RegionOverride(OverrideAction),
    /// Guarded record, and the region's lease ran out at this leader time (unix millis).
    LeaseExpired(u64),
    /// Guarded record, and the region never got a lease.
    NoLease,
}

/// The evaluator's judgement of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Whether it may be answered.
    pub usable: bool,
    /// Why.
    pub reason: Reason,
}

/// What the evaluator reports while it decides. Implemented by `NoTrace` (the DNS path) and
/// `Explainer`; the evaluator is generic over it, so `NoTrace` costs nothing.
pub trait Tracer {
    /// A step at node `node` (an index into the compiled tree, or `RECORD`). The message is
    /// built only if the tracer wants it.
    fn note(&mut self, node: usize, message: impl FnOnce() -> String);
    /// The evaluator judged endpoint `endpoint`.
    fn endpoint(&mut self, endpoint: usize, verdict: Verdict);
}

/// The tracer of the DNS path: records nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTrace;

impl Tracer for NoTrace {
    #[inline(always)]
    fn note(&mut self, _node: usize, _message: impl FnOnce() -> String) {}
    #[inline(always)]
    fn endpoint(&mut self, _endpoint: usize, _verdict: Verdict) {}
}

/// One step of the policy path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The node's field path (`policy.failover[1].geo`), or `record`.
    pub path: String,
    /// What happened there.
    pub message: String,
}

/// The health inputs behind one endpoint's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthLine {
    /// Endpoint id.
    pub endpoint: String,
    /// Its region id.
    pub region: String,
    /// Whether it could be answered.
    pub usable: bool,
    /// Why, in words.
    pub reason: String,
    /// Endpoint health as derived by the quorum rule.
    pub endpoint_health: HealthStatus,
    /// The endpoint's votes.
    pub endpoint_votes: Votes,
    /// Region (deep check) health.
    pub region_health: HealthStatus,
    /// The region's votes.
    pub region_votes: Votes,
    /// An override in force on the endpoint: `action (id): reason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_override: Option<String>,
    /// An override in force on the region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_override: Option<String>,
    /// Milliseconds of region lease left (negative: expired that long ago); `None` when the
    /// region has no lease.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_left_ms: Option<i64>,
}

/// One answer, rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerLine {
    /// Endpoint id.
    pub endpoint: String,
    /// Region id.
    pub region: String,
    /// The address or CNAME target as text.
    pub target: String,
}

/// The client as the evaluator saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientLine {
    /// The address decisions were made on (masked to the source prefix).
    pub address: String,
    /// ECS SOURCE PREFIX-LENGTH, or the full width.
    pub source_prefix: u8,
    /// ECS or transport.
    pub origin: ClientOrigin,
    /// Continent code, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continent: Option<String>,
    /// Country code, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Subdivision code, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subdivision: Option<String>,
    /// AS number, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// Latitude and longitude, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat_lon: Option<(f64, f64)>,
    /// Prefix within which the location facts are the same.
    pub geo_prefix: u8,
    /// Where the location came from.
    pub geo_source: GeoSource,
}

/// A whole explanation of one decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// Record name.
    pub record: String,
    /// Record type.
    #[serde(rename = "type")]
    pub rtype: String,
    /// Evaluation time (leader-clock unix millis as the node saw it).
    pub now_ms: u64,
    /// The client.
    pub client: ClientLine,
    /// The policy path, in evaluation order.
    pub steps: Vec<Step>,
    /// Every endpoint the evaluator judged, once each, in the order it did.
    pub health: Vec<HealthLine>,
    /// The answers.
    pub answers: Vec<AnswerLine>,
    /// The TTL given.
    pub ttl: u32,
    /// The ECS scope given.
    pub scope: u8,
    /// How the record stood.
    pub outcome: Outcome,
}

/// The tracer behind `evaluate_explained`.
#[derive(Debug)]
pub struct Explainer<'a> {
    /// For node paths.
    record: &'a CompiledRecord,
    /// For rendering endpoints.
    inputs: &'a PolicyInputs,
    /// Evaluation time, for lease and override rendering.
    now_ms: u64,
    /// Steps so far.
    steps: Vec<Step>,
    /// Health lines so far.
    health: Vec<HealthLine>,
    /// Endpoints already judged (indexes), to report each once.
    seen: Vec<usize>,
}

impl<'a> Explainer<'a> {
    /// An empty explainer for one evaluation.
    pub fn new(record: &'a CompiledRecord, inputs: &'a PolicyInputs, now_ms: u64) -> Self {
        Explainer {
            record,
            inputs,
            now_ms,
            steps: Vec::new(),
            health: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// The explanation of `decision` for `client`.
    pub fn finish(self, client: &ClientFacts, decision: &Decision) -> Explanation {
        let answers = decision
            .answers
            .iter()
            .filter_map(|index| {
                let endpoint = self.inputs.endpoints.get(index)?;
                Some(AnswerLine {
                    endpoint: endpoint.id.clone(),
                    region: self.inputs.regions[endpoint.region].id.clone(),
                    target: match &endpoint.target {
                        EndpointTarget::Address(address) => address.to_string(),
                        EndpointTarget::Cname(name) => name.to_string(),
                    },
                })
            })
            .collect();
        let code = |code: Option<crate::client::Code>| code.map(|c| c.as_str().to_string());
        Explanation {
            record: self.record.name.to_string(),
            rtype: self.record.rtype.to_string(),
            now_ms: self.now_ms,
            client: ClientLine {
                address: client.addr.to_string(),
                source_prefix: client.source_prefix,
                origin: client.origin,
                continent: code(client.geo.continent),
                country: code(client.geo.country),
                subdivision: code(client.geo.subdivision),
                asn: client.geo.asn,
                lat_lon: client.geo.lat_lon,
                geo_prefix: client.geo_prefix,
                geo_source: client.geo_source,
            },
            steps: self.steps,
            health: self.health,
            answers,
            ttl: decision.ttl,
            scope: decision.scope,
            outcome: decision.outcome,
        }
    }
}

impl Tracer for Explainer<'_> {
    fn note(&mut self, node: usize, message: impl FnOnce() -> String) {
        let path = if node == RECORD {
            "record".to_string()
        } else {
            self.record.node_path(node).to_string()
        };
        self.steps.push(Step {
            path,
            message: message(),
        });
    }

    fn endpoint(&mut self, endpoint_index: usize, verdict: Verdict) {
        if self.seen.contains(&endpoint_index) {
            return;
        }
        self.seen.push(endpoint_index);
        let Some(endpoint) = self.inputs.endpoints.get(endpoint_index) else {
            return;
        };
        let region = &self.inputs.regions[endpoint.region];
        let render = |o: &crate::policy::inputs::OverrideInput| {
            o.is_active(self.now_ms)
                .then(|| format!("{} ({}): {}", action_word(o.action), o.id, o.reason))
        };
        self.health.push(HealthLine {
            endpoint: endpoint.id.clone(),
            region: region.id.clone(),
            usable: verdict.usable,
            reason: describe(verdict.reason),
            endpoint_health: endpoint.health.status,
            endpoint_votes: endpoint.health.votes,
            region_health: region.health.status,
            region_votes: region.health.votes,
            endpoint_override: endpoint.admin_override.as_ref().and_then(render),
            region_override: region.admin_override.as_ref().and_then(render),
            lease_left_ms: region
                .lease_expires_at
                .map(|expiry| expiry as i64 - self.now_ms as i64),
        });
    }
}

/// `drain`, `force_down`, `force_up`.
pub fn action_word(action: OverrideAction) -> &'static str {
    match action {
        OverrideAction::Drain => "drain",
        OverrideAction::ForceDown => "force_down",
        OverrideAction::ForceUp => "force_up",
    }
}

/// A reason in words.
pub fn describe(reason: Reason) -> String {
    match reason {
        Reason::Healthy => "healthy".to_string(),
        Reason::UnknownAsUp => "health unknown, record reads unknown as up".to_string(),
        Reason::UnknownAsDown => "health unknown, record reads unknown as down".to_string(),
        Reason::EndpointDown => "endpoint down by quorum".to_string(),
        Reason::RegionDown => "region deep checks down by quorum".to_string(),
        Reason::AdminDisabled => "endpoint disabled by its admin state".to_string(),
        Reason::EndpointOverride(action) => format!("endpoint override {}", action_word(action)),
        Reason::RegionOverride(action) => format!("region override {}", action_word(action)),
        Reason::LeaseExpired(at) => format!("split-brain guard: region lease expired at {at}"),
        Reason::NoLease => "split-brain guard: region has no lease".to_string(),
    }
}
