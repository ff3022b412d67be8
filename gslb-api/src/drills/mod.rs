//! Failover drills: plan what taking a region out would do, run it with guards that abort
//! by themselves, measure how fast every DNS node converged out and back, and report.
//!
//! - `plan`: `plan_drill` (pure, the DNS evaluator over client groups), answer rows and
//!   region loads for the phases and the `max_load` guard.
//! - `query`: one DNS query with an optional ECS option to a DNS node, and the addresses
//!   and CNAME targets it answered.
//! - `supervisor`: the leader's task: convergence out and back per DNS node, answers per
//!   phase, guards, expiry. It acts only from replicated state, so a new leader carries on.
//! - `report`: a drill as Markdown.

pub mod plan;
pub mod query;
pub mod report;
pub mod supervisor;

pub use plan::{plan_drill, DrillPlan, PlanError};
