//! The DNS role's parts that `gslb serve` uses with and without `[control]`: the responder
//! built from the config, waiting until it answers from a given state version, the GeoIP
//! reloader, and `open_when_synced`, which starts answering (and notifying secondaries) on listeners bound earlier only
//! once the node serves the state it must (`serve.rs` after the zone files, `control.rs`
//! after joining, catching up and registering).
//!
//! Both `serve.rs` and `control.rs` use this module and it uses neither, so the two do not
//! import each other's helpers.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use gslb_dns::client::geoip::run_geoip_reloader;
use gslb_dns::client::ClientLocator;
use gslb_dns::net::{BoundListeners, DnsListeners};
use gslb_dns::{AnswerPlan, Responder};
use tokio_util::sync::CancellationToken;

use crate::config::NodeConfig;
use gslb_dns::dnssec::KeyEncryptionKey;

/// How long a plan may take to compile and install before the node gives up on it.
pub const PLAN_TIMEOUT: Duration = Duration::from_secs(120);
/// A plan whose name count moved by at least this many names since the heap was last
/// trimmed (a big zone imported, loaded or deleted) is followed by a trim.
const TRIM_AFTER_NAMES_MOVED: usize = 100_000;

/// The DNS role's responder: an empty plan (the follower installs the first one), the
/// config's answering options (`vantage` = `dns.region`) and its client locator (the
/// `[[dns.geo.networks]]` table, then the MaxMind DB).
pub fn build_responder(config: &NodeConfig) -> Responder {
    let geo = &config.geo;
    if let Some(database) = &geo.database {
        tracing::info!(
            mmdb = %database.path().display(),
            database_type = database.database_type().as_deref().unwrap_or("unknown"),
            "geoip database loaded"
        );
    }
    if !geo.networks.is_empty() {
        tracing::info!(
            networks = geo.networks.len(),
            "client location table loaded"
        );
    }
    let locator = ClientLocator::new(geo.networks.clone(), geo.database.clone());
    let responder =
        Responder::new(AnswerPlan::empty(), config.responder.clone()).with_locator(locator);
    // Signed zones' private keys are sealed with a key derived from the cluster secret:
    // every node with `[control]` can open them, a DNS node without it cannot sign.
    match &config.control {
        Some(control) => responder.with_key_encryption_key(KeyEncryptionKey::derive(
            control.cluster_secret.key_material(),
        )),
        None => responder,
    }
}

/// Starts the GeoIP reloader when `[dns.geo]` names a database: it re-reads the file every
/// `reload_interval` when it changed, and keeps the last good one (logged at warn) when the
/// new file is missing or corrupt, until `shutdown`.
pub fn spawn_geoip_reloader(
    config: &NodeConfig,
    shutdown: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    let database = config.geo.database.clone()?;
    Some(tokio::spawn(run_geoip_reloader(
        database,
        config.geo.reload_interval,
        shutdown,
    )))
}

/// Waits until the responder answers from the plan of `version` (or a later one); false
/// after `timeout` (a compile that failed leaves the previous plan in place).
pub async fn wait_for_plan(responder: &Responder, version: u64, timeout: Duration) -> bool {
    let mut installed = responder.installed_versions();
    let reached = tokio::time::timeout(timeout, installed.wait_for(|plan| *plan >= version));
    let reached = matches!(reached.await, Ok(Ok(_)));
    reached
}

/// Answers on `bound` once `synced` says which state version the node must serve and the
/// responder's plan has reached it; then sets `serving` (what `/readyz` reports). Until then
/// the sockets are bound but unread: clients meet silence, never an answer from an older
/// state. `Ok(None)` when `stop` is cancelled first.
pub async fn open_when_synced(
    synced: impl Future<Output = u64>,
    responder: Arc<Responder>,
    bound: BoundListeners,
    serving: Option<Arc<AtomicBool>>,
    stop: CancellationToken,
) -> anyhow::Result<Option<DnsListeners>> {
    let version = tokio::select! {
        version = synced => version,
        _ = stop.cancelled() => return Ok(None),
    };
    let installed = tokio::select! {
        installed = wait_for_plan(&responder, version, PLAN_TIMEOUT) => installed,
        _ = stop.cancelled() => return Ok(None),
    };
    if !installed {
        anyhow::bail!("the answer plan of version {version} was not ready within {PLAN_TIMEOUT:?}");
    }
    tracing::info!(version, "answering from the replicated state");
    spawn_heap_trimmer(Arc::downgrade(&responder), stop.clone());
    // NOTIFY goes out from this node's DNS address, which secondaries know as a primary.
    let source = bound.bound().udp.first().map(|address| address.ip());
    gslb_dns::notify::spawn_notifier(responder.clone(), source, stop.clone());
    let listeners = bound.spawn(responder, stop)?;
    if let Some(serving) = serving {
        serving.store(true, Ordering::Release);
    }
    Ok(Some(listeners))
}

/// Gives the allocator's free memory back once the node answers and after every plan whose
/// name count moved by `TRIM_AFTER_NAMES_MOVED` or more since: compiling a big zone frees its
/// scratch (sorted names, the index being built) and glibc keeps those pages otherwise (a
/// DNS learner restarted with the 1M-record zone: 290 MiB resident before a trim, 281 after).
/// Ends with `stop` or when the responder is gone.
fn spawn_heap_trimmer(responder: Weak<Responder>, stop: CancellationToken) {
    tokio::spawn(async move {
        let Some(mut installed) = responder.upgrade().map(|r| r.installed_versions()) else {
            return;
        };
        let mut trimmed_at: Option<usize> = None;
        loop {
            let Some(names) = responder.upgrade().map(|r| r.plan().name_count()) else {
                return;
            };
            if trimmed_at.is_none_or(|at| at.abs_diff(names) >= TRIM_AFTER_NAMES_MOVED) {
                trimmed_at = Some(names);
                let _ = tokio::task::spawn_blocking(gslb_store::heap::release_free_memory).await;
            }
            tokio::select! {
                changed = installed.changed() => if changed.is_err() { return },
                _ = stop.cancelled() => return,
            }
        }
    });
}
