//! `spawn_plan_follower`: keeps a `Responder`'s plan in step with the replicated state and
//! with the passing of time.
//!
//! On every new `State` version the follower compiles a fresh `AnswerPlan` on the blocking
//! pool (compiling a large zone takes long enough to stall an async worker) and installs it
//! with one atomic swap, so a query in flight sees the old plan or the new one, never a mix.
//! Versions that arrive while a compile runs are coalesced: the next compile takes the newest
//! state.
//!
//! Health in a plan is derived at its compile instant, so a state with GSLB records is also
//! re-derived every `HEALTH_REFRESH` even when no new version arrives, and recompiled when
//! that changes anything: a DNS node cut off from the control plane sees prober votes go
//! stale on its own clock (DESIGN "the data plane outlives the control plane"). Leases need no recompile: `evaluate` checks them per
//! query against the query's clock, and caps the TTL at the lease left.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gslb_store::{State, StateWatch};

use crate::plan::compile_plan_at;
use crate::responder::Responder;

/// How often health is re-derived for a state with GSLB records when nothing else changes.
pub const HEALTH_REFRESH: Duration = Duration::from_secs(1);

/// Starts a task that compiles and installs a plan for the current state now, for every
/// later version, and every `HEALTH_REFRESH` while the state has GSLB records; it ends when
/// the state channel closes.
pub fn spawn_plan_follower(
    mut watch: StateWatch,
    responder: Arc<Responder>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut first = true;
        let mut refresh_due = false;
        loop {
            let state = watch.borrow_and_update().clone();
            if first || state.version != responder.plan_version() {
                first = false;
                install(&responder, state.clone()).await;
            } else if refresh_due {
                refresh(&responder, state.clone()).await;
            }
            let refresh = !state.gslb_records.is_empty();
            refresh_due = false;
            tokio::select! {
                changed = watch.changed() => {
                    if changed.is_err() {
                        tracing::debug!("state channel closed, plan follower stops");
                        return;
                    }
                }
                _ = tokio::time::sleep(HEALTH_REFRESH), if refresh => refresh_due = true,
            }
        }
    })
}

/// Recompiles `state` only when its health, derived now, differs from the plan's (a vote
/// went stale): deriving health is cheap, compiling every zone is not.
async fn refresh(responder: &Arc<Responder>, state: Arc<State>) {
    let plan = responder.plan();
    let vantage = responder.options().vantage.clone();
    let now = unix_millis();
    let current = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            plan.gslb_inputs_current(&state, now, vantage.as_deref())
        })
        .await
    };
    if !matches!(current, Ok(true)) {
        install(responder, state).await;
    }
}

/// Compiles `state` at the current time on the blocking pool and installs the plan; on
/// failure keeps the previous plan (the next version or refresh retries).
async fn install(responder: &Arc<Responder>, state: Arc<State>) {
    let version = state.version;
    let vantage = responder.options().vantage.clone();
    let started = Instant::now();
    let compiled = tokio::task::spawn_blocking(move || {
        compile_plan_at(&state, unix_millis(), vantage.as_deref())
    })
    .await;
    match compiled {
        Ok(plan) => {
            let names = plan.name_count();
            let gslb_records = plan.gslb().len();
            let replaces = responder.plan_version();
            responder.install_plan(Arc::new(plan));
            // A refresh of the same version is routine; log it quietly.
            if replaces == version {
                tracing::trace!(version, gslb_records, "refreshed answer plan health");
            } else {
                tracing::info!(
                    version,
                    names,
                    gslb_records,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "installed answer plan"
                );
            }
        }
        Err(error) => {
            tracing::error!(version, %error, "answer plan compile failed");
        }
    }
}

/// The wall clock in unix millis (0 before 1970, which no real clock reports).
fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}
