//! `spawn_plan_follower`: keeps a `Responder`'s plan in step with the replicated state and
//! with the passing of time.
//!
//! On every new `State` version the follower compiles a fresh `AnswerPlan` on the blocking
//! pool (compiling a large zone takes long enough to stall an async worker) and installs it
//! with one atomic swap, so a query in flight sees the old plan or the new one, never a mix.
//! Versions that arrive while a compile runs are coalesced: the next compile takes the newest
//! state. The responder's client locator takes the state's network table (`/v1/networks`)
//! just before the plan of the same version goes in, rebuilt only when the table changed.
//!
//! Health in a plan is derived as of an instant the `HealthClock` gives, so a state with GSLB
//! records is also re-derived every `HEALTH_REFRESH` even when no new version arrives, and
//! recompiled when that changes anything (a prober went silent and its votes went stale).
//! The clock of a Raft node is the time it last heard from a leader, not the wall clock: a
//! DNS node cut off from the control plane cannot receive votes, so their going stale on its
//! own clock would be an artifact of the cut, and it keeps the health it last knew (static
//! stability, DESIGN "Beyond the anchors" 1). Leases are different: `evaluate` checks them per
//! query against the wall clock and caps the TTL at the lease left, so a guarded region still
//! leaves a cut-off node when its lease runs out.
//!
//! Given the plans a `spawn_staged_preparer` compiles ahead (`spawn_plan_follower_with`), the
//! compile of a staged import's commit takes the zone's plan from there (`crate::prepare`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use gslb_model::clock::unix_millis;
use gslb_model::State;
use tokio::sync::watch;

use crate::plan::{compile_plan_from_with, compile_plan_prepared};
use crate::prepare::PreparedZones;
use crate::responder::Responder;
use crate::transfer::catalog::catalog_zone;

/// How often health is re-derived for a state with GSLB records when nothing else changes.
pub const HEALTH_REFRESH: Duration = Duration::from_secs(1);

/// How long a Raft node may go without hearing from a leader before its health clock stops at
/// the last contact (a few heartbeats and an election's worth): shorter gaps are ordinary
/// elections and keep the wall clock.
pub const CONTACT_GRACE_MS: u64 = 2_000;

/// The instant (unix millis) health is derived as of: when votes stop counting as fresh.
pub type HealthClock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The wall clock, for nodes without a control plane to lose (and for tests).
pub fn wall_clock() -> HealthClock {
    Arc::new(unix_millis)
}

/// A clock for a Raft node: the wall clock while a leader was heard from within `grace_ms`,
/// else the time of that last contact (`contact_age` gives milliseconds since it, `None` when
/// never, which uses the wall clock).
pub fn contact_clock(
    contact_age: impl Fn() -> Option<u64> + Send + Sync + 'static,
    grace_ms: u64,
) -> HealthClock {
    Arc::new(move || contact_instant(unix_millis(), contact_age(), grace_ms))
}

/// What a contact clock reads at wall time `now` when the last leader contact was
/// `contact_age` ms ago (`None`: never): `now` within `grace_ms`, else the contact's instant.
pub fn contact_instant(now: u64, contact_age: Option<u64>, grace_ms: u64) -> u64 {
    match contact_age {
        Some(age) if age > grace_ms => now.saturating_sub(age),
        _ => now,
    }
}

/// Starts a task that compiles and installs a plan for the current state now, for every
/// later version, and every `HEALTH_REFRESH` while the state has GSLB records, with health
/// derived as of `clock`; it ends when the state channel closes.
pub fn spawn_plan_follower(
    watch: watch::Receiver<Arc<State>>,
    responder: Arc<Responder>,
    clock: HealthClock,
) -> tokio::task::JoinHandle<()> {
    spawn_plan_follower_with(watch, responder, clock, None)
}

/// `spawn_plan_follower`, taking the plans of staged imports' zones from `prepared` (filled
/// by `spawn_staged_preparer` on the same state channel) when their commit arrives.
pub fn spawn_plan_follower_with(
    mut watch: watch::Receiver<Arc<State>>,
    responder: Arc<Responder>,
    clock: HealthClock,
    prepared: Option<Arc<PreparedZones>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let prepared = prepared.as_ref();
        let mut first = true;
        let mut refresh_due = false;
        // The state the installed plan was compiled from: the next version compiles only the
        // names it changed (`compile_plan_since`).
        let mut installed: Option<Arc<State>> = None;
        loop {
            let state = watch.borrow_and_update().clone();
            if first || state.version != responder.plan_version() {
                first = false;
                if install(
                    &responder,
                    installed.take(),
                    state.clone(),
                    clock(),
                    prepared,
                )
                .await
                {
                    installed = Some(state.clone());
                }
            } else if refresh_due
                && refresh(
                    &responder,
                    installed.take(),
                    state.clone(),
                    clock(),
                    prepared,
                )
                .await
            {
                installed = Some(state.clone());
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
/// went stale): deriving health is cheap, compiling every zone is not. True when the plan
/// installed is `state`'s.
async fn refresh(
    responder: &Arc<Responder>,
    installed: Option<Arc<State>>,
    state: Arc<State>,
    now: u64,
    prepared: Option<&Arc<PreparedZones>>,
) -> bool {
    let plan = responder.plan();
    let vantage = responder.options().vantage.clone();
    let current = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            plan.gslb_inputs_current(&state, now, vantage.as_deref())
        })
        .await
    };
    if matches!(current, Ok(true)) {
        installed.is_some()
    } else {
        install(responder, installed, state, now, prepared).await
    }
}

/// A plan install logged at info although it patched the previous plan: a compile this long
/// is a big change (an import's commit, a zone replaced), worth a line with the memory.
const NOTEWORTHY_COMPILE: Duration = Duration::from_millis(100);

/// Compiles `state` with health as of `now` on the blocking pool and installs the plan; on
/// failure keeps the previous plan (the next version or refresh retries) and returns false.
/// With `installed`, the state the current plan was compiled from, only the names changed
/// since are compiled (`compile_plan_since`). The time from here to the swap is the plan
/// swap time (`DnsMetrics::observe_plan_swap`, logged at debug); the time since the leader
/// stamped the state's newest write, the plan lag (`DnsMetrics::observe_plan_lag`). A zone
/// `prepared` holds a plan of (a staged import's commit) is taken from there.
async fn install(
    responder: &Arc<Responder>,
    installed: Option<Arc<State>>,
    state: Arc<State>,
    now: u64,
    prepared: Option<&Arc<PreparedZones>>,
) -> bool {
    let version = state.version;
    // The leader's stamp of the newest write in this state (`gslb_dns_plan_lag_seconds`).
    let stamped = state.last_at;
    let vantage = responder.options().vantage.clone();
    let started = Instant::now();
    if responder.locator().follow_networks(&state.networks) {
        tracing::info!(
            version,
            networks = state.networks.len(),
            "client network table changed"
        );
    }
    let previous = responder.plan();
    let metrics = responder.metrics().clone();
    let catalog_name = responder.options().catalog_zone.clone();
    let compiled_state = state.clone();
    let prepared_zones = prepared.cloned();
    let compiled = tokio::task::spawn_blocking(move || {
        let state = compiled_state;
        let catalog = catalog_name.map(|apex| catalog_zone(&state, &apex));
        let (vantage, catalog) = (vantage.as_deref(), catalog.as_ref());
        let mut plan = match &installed {
            Some(installed) => compile_plan_prepared(
                &previous,
                installed,
                &state,
                now,
                vantage,
                catalog,
                prepared_zones
                    .as_deref()
                    .map(|prepared| prepared as &dyn crate::plan::PreparedPlans),
            ),
            None => compile_plan_from_with(&previous, &state, now, vantage, catalog),
        };
        plan.attach_counters(&metrics);
        // The state compiled from before is handed back, to be dropped after the swap: for a
        // big zone freeing it takes longer than the incremental compile.
        (plan, installed)
    })
    .await;
    match compiled {
        Ok((plan, before)) => {
            let names = plan.name_count();
            let gslb_records = plan.gslb().len();
            let replaces = responder.plan_version();
            if let Some(prepared) = prepared {
                prepared.forget_unstaged(&state);
            }
            responder.install_state(state);
            responder.install_plan(Arc::new(plan));
            let swap = started.elapsed();
            responder.metrics().observe_plan_swap(swap);
            let patched = before.is_some();
            if let Some(before) = before {
                tokio::task::spawn_blocking(move || drop(before));
            }
            tracing::debug!(
                version,
                swap_ms = swap.as_secs_f64() * 1000.0,
                "plan swapped"
            );
            // A refresh of the same version is routine; log it quietly.
            if replaces == version {
                tracing::trace!(version, gslb_records, "refreshed answer plan health");
            } else {
                // A state no leader stamped (zone files) has no lag to tell.
                if stamped > 0 {
                    let lag = unix_millis().saturating_sub(stamped);
                    responder
                        .metrics()
                        .observe_plan_lag(Duration::from_millis(lag));
                }
                // The first plan and any compile long enough to matter are news; a small
                // edit patched in (a hundred a second under load) is not, and reading the
                // memory figures for each would cost more than the patch.
                let elapsed = started.elapsed();
                if !patched || elapsed >= NOTEWORTHY_COMPILE {
                    tracing::info!(
                        version,
                        names,
                        gslb_records,
                        elapsed_ms = elapsed.as_millis() as u64,
                        memory = %crate::memory::ResidentMemory::read(),
                        "installed answer plan"
                    );
                } else {
                    tracing::debug!(
                        version,
                        names,
                        elapsed_ms = elapsed.as_millis() as u64,
                        "installed answer plan"
                    );
                }
            }
            true
        }
        Err(error) => {
            tracing::error!(version, %error, "answer plan compile failed");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contact clock is the wall clock while a leader was heard from lately (or never),
    /// and the time of the last contact after the grace.
    #[test]
    fn the_contact_clock_stops_at_the_last_contact() {
        let within = contact_clock(|| Some(500), 2_000)();
        let wall = unix_millis();
        assert!(wall.abs_diff(within) < 1_000);
        let never = contact_clock(|| None, 2_000)();
        assert!(unix_millis().abs_diff(never) < 1_000);
        let cut = contact_clock(|| Some(60_000), 2_000)();
        let expected = unix_millis() - 60_000;
        assert!(expected.abs_diff(cut) < 1_000, "{cut} vs {expected}");
    }
}
