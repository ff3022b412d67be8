//! Compiling a big zone while it is still staged, so its commit swaps in a plan built
//! earlier (`spawn_staged_preparer`, `PreparedZones`).
//!
//! A zone import through the control plane stages its record sets chunk by chunk
//! (`State::staged_imports`) and switches them in with one small commit. Compiling a
//! million-name zone takes a few hundred milliseconds; done when the commit arrives, it
//! would hold every later write's plan (and INSYNC) behind it. So once a staging is
//! complete (every chunk in, `StagedImport::is_complete`), this task compiles it on a thread
//! of lower priority (`gslb_model::background`) into a `ZonePlan`, beside the plan follower, which keeps installing plans
//! for other writes meanwhile. It publishes the newest state version whose complete
//! stagings are all prepared (`PreparedZones::versions`): the node reports it, and the
//! leader holds the commit until every DNS node has prepared (bounded; `gslb_store`'s
//! `raft::import_pacing`).
//!
//! At the commit the follower's compile finds the prepared plan for the zone whose record
//! sets are the very same persistent vector as the staged ones (`RecordSets::
//! shares_storage_with`, a pointer comparison) and brings it to the committed zone as a
//! patch (`ZonePlan::patched`: the real SOA and header, compiled for the apex only).
//! Anything else (other sets, GSLB names in the zone) compiles as before, so the answers
//! are always those of a whole compile. Plans of stagings the installed state no longer
//! holds (committed, aborted, expired) are dropped once that state's plan is installed.
//!
//! Invariant: a prepared plan is used only for record sets that share storage with the ones
//! it was compiled from; nothing here changes what a DNS node answers.

use std::sync::Arc;

use arc_swap::ArcSwap;
use gslb_model::model::{Soa, StagedImport};
use gslb_model::{State, Zone};
use tokio::sync::watch;

use crate::plan::{PreparedPlans, ZonePlan};

/// One staging compiled ahead of its commit.
struct PreparedZone {
    /// The staging area it was compiled from.
    import_id: String,
    /// The zone compiled: the staged sets under a stand-in header.
    zone: Zone,
    /// Its plan.
    plan: ZonePlan,
}

/// The plans of complete stagings, and the newest state version they cover.
pub struct PreparedZones {
    /// Plans not yet dropped (swapped whole: the preparer writes, the follower reads).
    zones: ArcSwap<Vec<Arc<PreparedZone>>>,
    /// The newest state version whose complete stagings are all prepared.
    versions: watch::Sender<u64>,
}

impl PreparedZones {
    /// An empty store, covering version 0.
    pub fn new() -> Arc<PreparedZones> {
        Arc::new(PreparedZones {
            zones: ArcSwap::from_pointee(Vec::new()),
            versions: watch::channel(0).0,
        })
    }

    /// The newest state version whose complete stagings are all prepared (for
    /// `NodeOptions::prepared_source`).
    pub fn versions(&self) -> watch::Receiver<u64> {
        self.versions.subscribe()
    }

    /// True when a plan of staging `import_id` is held.
    pub fn holds(&self, import_id: &str) -> bool {
        self.zones
            .load()
            .iter()
            .any(|zone| zone.import_id == import_id)
    }

    /// Compiles staging `import_id` (complete) into a plan and keeps it, unless one of the
    /// same sets is held already; `current` is the zone the commit will replace, if any
    /// (its header stands in for the commit's). Runs for as long as a whole compile.
    pub fn prepare(&self, import_id: &str, staged: &StagedImport, current: Option<&Zone>) {
        if self.zones.load().iter().any(|zone| {
            zone.import_id == import_id && zone.zone.rrsets.shares_storage_with(&staged.sets)
        }) {
            return;
        }
        let zone = staged_zone(staged, current);
        let plan = ZonePlan::compile_with(&zone, &[]);
        let prepared = Arc::new(PreparedZone {
            import_id: import_id.to_string(),
            zone,
            plan,
        });
        self.zones.rcu(|zones| {
            let mut zones: Vec<Arc<PreparedZone>> = zones
                .iter()
                .filter(|zone| zone.import_id != import_id)
                .cloned()
                .collect();
            zones.push(prepared.clone());
            zones
        });
    }

    /// Drops the plans of stagings `state` (just installed) no longer holds.
    pub(crate) fn forget_unstaged(&self, state: &State) {
        if self.zones.load().is_empty() {
            return;
        }
        self.zones.rcu(|zones| {
            zones
                .iter()
                .filter(|zone| state.staged_imports.contains_key(&zone.import_id))
                .cloned()
                .collect::<Vec<_>>()
        });
    }
}

impl PreparedPlans for PreparedZones {
    fn prepared_for(&self, zone: &Zone) -> Option<(Zone, ZonePlan)> {
        let zones = self.zones.load();
        let prepared = zones.iter().find(|prepared| {
            prepared.zone.apex == zone.apex
                && prepared.zone.rrsets.shares_storage_with(&zone.rrsets)
        })?;
        Some((prepared.zone.clone(), prepared.plan.clone()))
    }
}

/// The zone a complete staging will become, under the header of `current` (the zone it
/// replaces) or a stand-in SOA: the commit's own header differs at the apex only, which the
/// patch at the commit compiles again.
fn staged_zone(staged: &StagedImport, current: Option<&Zone>) -> Zone {
    let soa = current.map(|zone| zone.soa.clone()).unwrap_or_else(|| Soa {
        mname: staged.apex.clone(),
        rname: staged.apex.clone(),
        serial: 0,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: 60,
        ttl: 3600,
    });
    Zone {
        apex: staged.apex.clone(),
        soa,
        default_ttl: current.map_or(300, |zone| zone.default_ttl),
        rrsets: staged.sets.clone(),
        serial_policy: Default::default(),
        transfer: Default::default(),
    }
}

/// Starts the task that prepares every complete staging of each new state on the blocking
/// pool (one at a time, the newest state each time) and publishes the version covered; it
/// ends when the state channel closes.
pub fn spawn_staged_preparer(
    mut watch: watch::Receiver<Arc<State>>,
    prepared: Arc<PreparedZones>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let state = watch.borrow_and_update().clone();
            let version = state.version;
            let complete = state
                .staged_imports
                .iter()
                .any(|(id, staged)| staged.is_complete() && !prepared.holds(id));
            if complete {
                let (store, state) = (prepared.clone(), state.clone());
                let started = std::time::Instant::now();
                // At a lower priority: nothing but the commit waits for it, and the small
                // writes the nodes handle meanwhile must not.
                let done = tokio::task::spawn_blocking(move || {
                    gslb_model::background::at_low_priority("prepare-staged", move || {
                        for (id, staged) in &state.staged_imports {
                            if staged.is_complete() {
                                let current = state.zones.get(&staged.apex).map(|z| &**z);
                                store.prepare(id, staged, current);
                            }
                        }
                    })
                })
                .await;
                match done {
                    Ok(()) => tracing::info!(
                        version,
                        took_ms = started.elapsed().as_millis() as u64,
                        "prepared the plan of a complete staged import"
                    ),
                    Err(error) => tracing::error!(version, %error, "staged import compile failed"),
                }
            }
            prepared.versions.send_replace(version);
            if watch.changed().await.is_err() {
                return;
            }
        }
    })
}
