//! The policy engine: which endpoints a GSLB record answers for one client, now.
//!
//! Pure core: `(CompiledRecord, PolicyInputs, ClientFacts, now, entropy) → Decision`. The DNS
//! path calls `evaluate_into` (`evaluate` plus the causes it counts); `/v1/resolve`,
//! `gslbctl resolve --explain` and `drill plan` call `evaluate_explained`, which runs the
//! very same evaluator with a recording tracer, so an explanation can never disagree with
//! an answer.
//!
//! - `inputs`: `PolicyInputs` — regions, endpoints, health with votes, leases, overrides,
//!   latency; built once per plan version (`from_model` maps the store's model).
//! - `compile`: `CompiledRecord::compile(&GslbRecord, &PolicyInputs)` — ids to indexes.
//! - `eval`: the evaluator (health verdicts, every policy kind, spill, ECS scope, TTL).
//! - `decision`: `Decision`, `Answers`, `Outcome`.
//! - `causes`: `Causes`, the overrides and lapsed leases that took part in a decision
//!   (`evaluate_into`, what the DNS path counts in its metrics).
//! - `explain`: `Tracer`, `NoTrace`, `Explainer`, `Explanation`.
//! - `hash`, `distance`: rendezvous hashing and great-circle distance.
//!
//! Invariants: evaluation reads no clock and no global state, does no I/O and allocates
//! nothing on the `NoTrace` path; the same inputs give the same decision on every node.
//!
//! Wiring (plan compiler and responder):
//! 1. per `State` version: `view = derive_health(..)`, `inputs = PolicyInputs::from_state(&state,
//!    &view, Some(my_region))`, then `CompiledRecord::compile(&record, &inputs)` per GSLB record
//!    (pre-render each endpoint's RR by its index in `inputs.endpoints`);
//! 2. per query: `facts = locator.facts(ctx.client.ip(), ecs.map(|s| (s.addr(),
//!    s.source_prefix)))`, `decision = evaluate(&compiled, &inputs, &facts, now_ms, rand)`;
//! 3. answer `decision.answers` (endpoint indexes) with `decision.ttl`; echo ECS with
//!    `decision.scope`; `Outcome::AllDownClosed` (or `AllDownOpen` with no answer) is NODATA,
//!    `Outcome::Fallback` is a CNAME to `decision.fallback_target(&compiled)`. A cached answer
//!    is valid for the client's address masked to `decision.scope` until the plan changes or
//!    the TTL-capping lease runs out.

pub mod causes;
pub mod compile;
pub mod decision;
pub mod distance;
pub mod eval;
pub mod explain;
pub mod hash;
pub mod inputs;

pub use causes::{Cause, CauseTracer, Causes};
pub use compile::CompiledRecord;
pub use decision::{Answers, Decision, Outcome, MAX_ANSWERS};
pub use explain::{Explainer, Explanation, NoTrace, Tracer};
pub use inputs::{
    EndpointInput, HealthInput, HealthStatus, InputError, LatencyTable, OverrideInput,
    PolicyInputs, RegionInput, Votes,
};

use gslb_model::model::{FieldErrors, GslbRecord};

use crate::client::ClientFacts;

/// Evaluates `record` for `client` at `now_ms` (leader-clock unix millis). `entropy` feeds
/// random choices (`weighted`, `capacity`, endpoint subsets): pass a fresh random value per
/// query; consistent choices ignore it. The DNS path: no allocation, no explanation.
#[inline]
pub fn evaluate(
    record: &CompiledRecord,
    inputs: &PolicyInputs,
    client: &ClientFacts,
    now_ms: u64,
    entropy: u64,
) -> Decision {
    eval::run(record, inputs, client, now_ms, entropy, &mut NoTrace)
}

/// `evaluate` for the DNS path: writes the decision into `out` (read there in place, see
/// `eval::run_into`) and returns which overrides and lapsed leases took part (`Causes`),
/// which the DNS path counts. Same evaluator, same decision; no allocation.
#[inline]
pub fn evaluate_into(
    record: &CompiledRecord,
    inputs: &PolicyInputs,
    client: &ClientFacts,
    now_ms: u64,
    entropy: u64,
    out: &mut Decision,
) -> Causes {
    let mut tracer = CauseTracer::default();
    eval::run_into(record, inputs, client, now_ms, entropy, &mut tracer, out);
    tracer.causes
}

/// `evaluate`, plus an `Explanation` of the path taken, the health inputs with their votes,
/// overrides, leases, TTL and scope. Same evaluator, same decision for the same arguments.
pub fn evaluate_explained(
    record: &CompiledRecord,
    inputs: &PolicyInputs,
    client: &ClientFacts,
    now_ms: u64,
    entropy: u64,
) -> (Decision, Explanation) {
    let mut explainer = Explainer::new(record, inputs, now_ms);
    let decision = eval::run(record, inputs, client, now_ms, entropy, &mut explainer);
    let explanation = explainer.finish(client, &decision);
    (decision, explanation)
}

/// Compiles and explains in one step, for `/v1/resolve` and `drill plan`, which see a record
/// once: the same compile and evaluator the DNS path uses.
pub fn explain_record(
    record: &GslbRecord,
    inputs: &PolicyInputs,
    client: &ClientFacts,
    now_ms: u64,
    entropy: u64,
) -> Result<(Decision, Explanation), FieldErrors> {
    let compiled = CompiledRecord::compile(record, inputs)?;
    Ok(evaluate_explained(
        &compiled, inputs, client, now_ms, entropy,
    ))
}
