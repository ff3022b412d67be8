//! `spawn_plan_follower`: keeps a `Responder`'s plan in step with the replicated state.
//!
//! On every new `State` version the follower compiles a fresh `AnswerPlan` on the blocking
//! pool (compiling a large zone takes long enough to stall an async worker) and installs it
//! with one atomic swap, so a query in flight sees the old plan or the new one, never a mix.
//! Versions that arrive while a compile runs are coalesced: the next compile takes the newest
//! state.

use std::sync::Arc;
use std::time::Instant;

use gslb_store::StateWatch;

use crate::plan::compile_plan;
use crate::responder::Responder;

/// Starts a task that compiles and installs a plan for the current state now and for every
/// later version; it ends when the state channel closes.
pub fn spawn_plan_follower(
    mut watch: StateWatch,
    responder: Arc<Responder>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let state = watch.borrow_and_update().clone();
            if first || state.version != responder.plan_version() {
                first = false;
                let version = state.version;
                let started = Instant::now();
                match tokio::task::spawn_blocking(move || compile_plan(&state)).await {
                    Ok(plan) => {
                        let names = plan.name_count();
                        responder.install_plan(Arc::new(plan));
                        tracing::info!(
                            version,
                            names,
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "installed answer plan"
                        );
                    }
                    Err(error) => {
                        // Keep answering from the previous plan; the next version retries.
                        tracing::error!(version, %error, "answer plan compile failed");
                    }
                }
            }
            if watch.changed().await.is_err() {
                tracing::debug!("state channel closed, plan follower stops");
                return;
            }
        }
    })
}
