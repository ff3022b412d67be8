//! `gslb serve` with a `[control]` section: one control-plane replica (voter or learner) and
//! its HTTP server, plus the DNS role answering from the replicated state.
//!
//! Start-up, in order: bind the HTTP listener (log `listening on http ADDR`), start the Raft
//! node on its data directory (it restores its last state from disk before anything else; a
//! DNS node's plan follower starts first and compiles the restored snapshot while the node
//! checks and re-applies its log, `EarlyFollower`), serve
//! the Raft routes and the REST API (`gslb_api::serve`, with `control.api_token` as the first
//! admin token), bind the DNS sockets without reading them, then take the node's place in the
//! cluster in the background:
//! - a node whose id is in `control.bootstrap.voters` and is the lowest there initializes a new
//!   cluster on first start, then imports the config's zone files once (`PutZone`; again on a
//!   restart only while the cluster holds no zone and no write but the nodes' own); the other
//!   voters of that table wait for the leader to reach them;
//! - any other node joins as a learner through `control.seeds`, retrying with backoff until a
//!   leader accepts; a `role = "voter"` joiner then asks to be made a voter;
//! - every node records itself as a `Member` (address, DNS address, `dns.region`, roles), so
//!   DNS nodes can report their applied index for change tracking.
//!
//! A DNS node answers (its listeners start, `/readyz` turns ready, `listening on udp` is
//! logged) only once it serves the state it must (`synced_version`): a fresh or re-added node
//! after its member record is written and applied here (so it has caught up past the
//! leader's commit index at its join, and every write INSYNC after that waits for it); a
//! restarted member after catching up with the leader, for at most `CATCH_UP_TIMEOUT`. Until
//! then it is silent. `dns.serve_before_sync = true` answers at once instead (stale data, or
//! REFUSED before any state). It reports the version of the answer plan it installed, so
//! INSYNC means its answers include the write.
//!
//! Static stability: the DNS role only ever reads the node's state watch. When the voters are
//! unreachable the node keeps answering from its last applied state, and a restart restores
//! that state from disk without any peer (after `CATCH_UP_TIMEOUT` without a leader).
//!
//! With `[prober]` the node also runs its vantage's health checks (`crate::prober`), planned
//! from its own replicated state and reported through the API.
//!
//! SIGTERM or SIGINT: stop the prober, the DNS listeners (in-flight TCP queries finish), stop
//! the HTTP server, then shut the Raft node down (flushes and releases the data directory).
//! A storage failure (full disk) or a stopped Raft core takes the same path and then exits
//! non-zero so a supervisor restarts the node; a DNS node first keeps answering from memory
//! until its disk has room again. A learner whose storage was found damaged at start began
//! empty (see `NodeOptions::resync_damaged`) and answers only once caught up.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gslb_api::ApiOptions;
use gslb_dns::client::ClientLocator;
use gslb_dns::net::{bind_listeners, BoundListeners, DnsListeners};
use gslb_dns::slow::attach_slow_path;
use gslb_dns::{
    contact_clock, spawn_plan_follower_with, spawn_staged_preparer, PreparedZones, Responder,
    CONTACT_GRACE_MS,
};
use gslb_model::{Actor, Command, Member, NodeRole, RaftRole, State, Zone};
use gslb_store::raft::{
    spawn_node, MembershipError, NodeHandle, NodeOptions, WeakNodeHandle, WriteError,
};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::{ControlConfig, ControlRole, NodeConfig};
use crate::dns_role::{build_responder, open_when_synced, spawn_geoip_reloader};
use crate::update_sink::RaftUpdateSink;

/// First wait between two join attempts; doubles up to `RETRY_MAX`.
const RETRY_FIRST: Duration = Duration::from_millis(200);
/// Longest wait between two attempts of a background cluster step.
const RETRY_MAX: Duration = Duration::from_secs(5);
/// How long shutdown lets open HTTP requests finish.
const HTTP_DRAIN: Duration = Duration::from_secs(5);
/// How long a restarted DNS node waits to catch up with a leader before it answers from its
/// restored state anyway (a leader reaches a member within a heartbeat or two).
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs a control-plane node until SIGTERM/SIGINT. `import` holds the config's zone files,
/// written into the cluster once by the node that creates it.
pub async fn serve(config: NodeConfig, import: State) -> anyhow::Result<()> {
    // Watched before any listener opens: a SIGTERM sent as soon as the node answers must
    // shut it down gracefully, not kill it by the default action.
    let signals = StopSignals::watch()?;
    let control = config
        .control
        .clone()
        .context("serve_control needs a [control] section")?;
    let listener = tokio::net::TcpListener::bind(control.listen)
        .await
        .with_context(|| format!("control.listen: cannot bind http {}", control.listen))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound http address")?;
    let advertise = control
        .advertise
        .clone()
        .unwrap_or_else(|| bound.to_string());
    tracing::info!(tls = control.tls.is_some(), "listening on http {bound}");

    // The responder's counters, which /metrics exports.
    let dns_metrics = config.dns.then(|| Arc::new(gslb_dns::DnsMetrics::new()));
    let responder = dns_metrics
        .as_ref()
        .map(|metrics| Arc::new(build_responder(&config).with_metrics(metrics.clone())));
    let mut options = node_options(&control, &advertise, responder.as_deref());
    // A DNS node follows the state from the moment the restored snapshot is published, so
    // its plan compiles while the node still checks and re-applies its log.
    let early = responder
        .as_ref()
        .map(|responder| EarlyFollower::spawn(responder.clone(), &mut options));
    let node = spawn_node(options)
        .await
        .with_context(|| format!("cannot start raft node {}", control.node_id))?;
    if let Some(early) = &early {
        early.node_started(&node);
    }
    if control.api_token.is_none() {
        tracing::info!("no control.api_token: the API accepts only tokens already in the state");
    }

    // Set once the DNS listeners answer, cleared on SIGTERM: what /readyz reports.
    let dns_serving = config.dns.then(|| Arc::new(AtomicBool::new(false)));
    let http_stop = CancellationToken::new();
    let api_options = api_options(&config, &control, dns_serving.clone(), dns_metrics);
    let (http, cert_reloader) = spawn_http(listener, &control, &node, api_options, &http_stop);

    // Every node watches drills; only the leader's supervisor acts.
    let drills = gslb_api::drills::supervisor::spawn_supervisor(node.clone());
    // Every node runs the DNSSEC rollover schedule; only the leader's takes steps.
    let rollovers = gslb_api::rollover::scheduler::spawn_scheduler(node.clone());

    // The DNS sockets are bound now (their addresses go into the member record) but read
    // only once the node serves the cluster's state: `open_dns`.
    let dns_stop = CancellationToken::new();
    let dns_role = match (&responder, early) {
        (Some(responder), Some(early)) => Some(DnsRole::bind(
            &config,
            &node,
            responder.clone(),
            early.follower,
            &dns_stop,
        )?),
        _ => None,
    };
    let dns_addr = dns_role.as_ref().and_then(DnsRole::addr);

    let prober = match &config.prober {
        Some(settings) => Some(crate::prober::spawn_prober_role(
            settings,
            bound,
            &advertise,
            &control.peer_tls,
            node.state_watch(),
        )?),
        None => None,
    };

    let zones: Vec<Zone> = import
        .zones
        .into_values()
        .map(std::sync::Arc::unwrap_or_clone)
        .collect();
    let region = config.responder.vantage.clone().or_else(|| {
        config
            .prober
            .as_ref()
            .map(|settings| settings.vantage.clone())
    });
    let (placed_tx, placed) = watch::channel(None);
    let restarted =
        dns_role.is_some() && registered(&node.state(), &control, &advertise, &dns_addr);
    let membership = tokio::spawn(take_place(
        node.clone(),
        control.clone(),
        Place {
            advertise,
            dns_addr,
            region,
            probes: config.prober.is_some(),
        },
        zones,
        placed_tx,
    ));
    let mut opening = dns_role.map(|role| {
        let synced = synced_version(node.clone(), placed, config.serve_before_sync, restarted);
        tokio::spawn(role.open(synced, dns_serving.clone()))
    });

    let mut dns = None;
    let fault = wait_fault_then_room(node.clone(), config.dns);
    let stopped = wait_for_stop(signals, &mut opening, &mut dns, fault).await;
    let failed = announce(&stopped);
    if let Some(serving) = &dns_serving {
        serving.store(false, Ordering::Release);
    }
    membership.abort();
    drills.abort();
    rollovers.abort();
    if let Some(prober) = prober {
        prober.shutdown().await;
    }
    dns_stop.cancel();
    if let Some(opening) = opening {
        // Still waiting to answer: it returns at once on the cancelled token.
        if let Ok(Ok(role)) = opening.await {
            dns = Some(role);
        }
    }
    if let Some(role) = dns {
        role.stop().await;
    }
    http_stop.cancel();
    if let Some(reloader) = cert_reloader {
        reloader.abort();
    }
    match tokio::time::timeout(HTTP_DRAIN, http).await {
        Ok(Ok(Ok(()))) => tracing::info!("http stopped"),
        Ok(Ok(Err(error))) => tracing::warn!("http server: {error}"),
        Ok(Err(error)) => tracing::warn!("http server task: {error}"),
        Err(_) => tracing::warn!("http requests still open after {HTTP_DRAIN:?}; cut"),
    }
    node.shutdown().await;
    if let Some(reason) = failed {
        anyhow::bail!(
            "stopped after a storage failure ({reason}); start it again once its disk has room: \
             nothing acknowledged is lost"
        );
    }
    tracing::info!("stopped");
    stopped.map(|_| ())
}

/// The Raft node's options from the config: every node reports its applied index (a DNS
/// node the plans its `responder` answers from), a learner re-syncs damaged storage.
fn node_options(
    control: &ControlConfig,
    advertise: &str,
    responder: Option<&Responder>,
) -> NodeOptions {
    let mut options = NodeOptions::new(
        control.node_id,
        control.data_dir.clone(),
        advertise.to_string(),
        control.cluster_secret.clone(),
    );
    options.raft = control.raft.clone();
    options.kv_cache_bytes = control.store_cache_bytes;
    // Every node reports its applied index, so `cluster status` shows voters' and probers'
    // contact too and a removed node hears so from the leader (INSYNC counts DNS members
    // only). A DNS node reports the plans it answers from, so INSYNC means "answered".
    options.report_applied = true;
    options.report_source = responder.map(|r| r.installed_versions());
    options.peer_tls = control.peer_tls.clone();
    // A learner holds nothing the voters lack: damaged storage is moved aside and re-synced,
    // and its committed pointer need not be flushed before each apply (`log_store`): one
    // fsync less between a commit and a DNS node's new plan.
    options.resync_damaged = control.role == ControlRole::Learner;
    options.flush_commit_pointer = control.role != ControlRole::Learner;
    options
}

/// The REST API's options from the config; `dns_serving` and `dns_metrics` are the DNS
/// role's readiness flag and counters (`None` on a node without DNS).
fn api_options(
    config: &NodeConfig,
    control: &ControlConfig,
    dns_serving: Option<Arc<AtomicBool>>,
    dns_metrics: Option<Arc<gslb_dns::DnsMetrics>>,
) -> ApiOptions {
    ApiOptions {
        dns_serving,
        dns_metrics,
        bootstrap_token: control.api_token.clone(),
        stale_after: control.stale_after,
        metrics_open: control.metrics_open,
        // `/v1/resolve` places clients as this node's DNS role would.
        locator: ClientLocator::new(config.geo.networks.clone(), config.geo.database.clone()),
        peer_tls: control.peer_tls.clone(),
        listener: control.limits.listener,
        max_request_bytes: control.limits.max_request_bytes,
        max_zone_records: control.limits.max_zone_records,
        auth_failure_burst: control.limits.auth_failure_burst,
        auth_failures_per_minute: control.limits.auth_failures_per_minute,
        ..ApiOptions::default()
    }
}

/// Logs why the node stops; the storage failure's reason, if that was it.
fn announce(stopped: &anyhow::Result<Stopped>) -> Option<String> {
    match stopped {
        Ok(Stopped::Signal(signal)) => tracing::info!("{signal} received, shutting down"),
        Ok(Stopped::Fault(reason)) => {
            tracing::info!("a storage failure, shutting down");
            return Some(reason.clone());
        }
        Err(error) => tracing::error!("shutting down: {error:#}"),
    }
    None
}

/// Why a node stops.
enum Stopped {
    /// SIGTERM or SIGINT.
    Signal(&'static str),
    /// Its storage failed (`wait_fault_then_room`): it exits non-zero for a restart.
    Fault(String),
}

/// SIGTERM and SIGHUP, watched from the moment this is made.
struct StopSignals {
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn watch() -> anyhow::Result<StopSignals> {
        Ok(StopSignals {
            terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            hangup: signal(SignalKind::hangup()).context("cannot watch SIGHUP")?,
        })
    }
}

/// Runs until SIGTERM, SIGINT or a storage `fault` (SIGHUP is only logged), taking the DNS
/// role from `opening` into `dns` when it starts answering; `Err` when it failed to.
async fn wait_for_stop(
    signals: StopSignals,
    opening: &mut Option<tokio::task::JoinHandle<anyhow::Result<DnsRole>>>,
    dns: &mut Option<DnsRole>,
    fault: impl std::future::Future<Output = String>,
) -> anyhow::Result<Stopped> {
    let StopSignals {
        mut terminate,
        mut hangup,
    } = signals;
    tokio::pin!(fault);
    loop {
        tokio::select! {
            _ = terminate.recv() => return Ok(Stopped::Signal("SIGTERM")),
            _ = tokio::signal::ctrl_c() => return Ok(Stopped::Signal("SIGINT")),
            reason = &mut fault => return Ok(Stopped::Fault(reason)),
            _ = hangup.recv() => tracing::warn!(
                "SIGHUP ignored: with [control] zones change through the API, not zone files"
            ),
            opened = async { opening.as_mut().expect("checked by the guard").await },
                if opening.is_some() => {
                *opening = None;
                match opened {
                    Ok(Ok(role)) => *dns = Some(role),
                    Ok(Err(error)) => return Err(error),
                    Err(error) => {
                        return Err(anyhow::anyhow!("the dns role task failed: {error}"))
                    }
                }
            }
        }
    }
}

/// Serves the Raft routes and the REST API on `listener` (TLS with `[control.tls]`, the
/// certificate reloaded when its files change) until `stop`.
#[allow(clippy::type_complexity)]
fn spawn_http(
    listener: tokio::net::TcpListener,
    control: &ControlConfig,
    node: &NodeHandle,
    api_options: ApiOptions,
    stop: &CancellationToken,
) -> (
    tokio::task::JoinHandle<std::io::Result<()>>,
    Option<tokio::task::JoinHandle<()>>,
) {
    let http_shutdown = stop.clone().cancelled_owned();
    match &control.tls {
        None => (
            tokio::spawn(gslb_api::serve(
                listener,
                node.clone(),
                api_options,
                http_shutdown,
            )),
            None,
        ),
        Some(tls) => {
            let server = tls.server.clone();
            let reloader = server.spawn_reloader(tls.reload_interval);
            let node = node.clone();
            let serve = async move {
                gslb_api::serve_tls(listener, &server, node, api_options, http_shutdown).await
            };
            (tokio::spawn(serve), Some(reloader))
        }
    }
}

/// The DNS role of a Raft node: its responder following the node's state, its sockets,
/// bound at start and answering from `open` on, and the GeoIP reloader.
struct DnsRole {
    /// Bound, not read yet (`None` once answering).
    bound: Option<BoundListeners>,
    /// Answering (after `open`).
    listeners: Option<DnsListeners>,
    /// Answers from the plan the follower keeps in step with the node's state.
    responder: Arc<Responder>,
    /// Compiles each state version into the responder's plan.
    follower: tokio::task::JoinHandle<()>,
    /// Re-reads the MaxMind DB, when one is configured.
    reloader: Option<tokio::task::JoinHandle<()>>,
    /// Stops the listeners and the reloader.
    stop: CancellationToken,
}

impl DnsRole {
    /// Takes the plan `follower` of `node`'s state (`EarlyFollower`) and binds every DNS
    /// socket of `config` without reading from it (a DNS address in use fails the start, as
    /// before).
    fn bind(
        config: &NodeConfig,
        node: &NodeHandle,
        responder: Arc<Responder>,
        follower: tokio::task::JoinHandle<()>,
        stop: &CancellationToken,
    ) -> anyhow::Result<DnsRole> {
        let sink = RaftUpdateSink::new(node, config.slow_path.update_insync_timeout);
        attach_slow_path(
            &responder,
            node.state_watch(),
            Some(sink),
            config.slow_path.clone(),
        );
        let bound = bind_listeners(&config.listeners)?;
        let reloader = spawn_geoip_reloader(config, stop.clone());
        Ok(DnsRole {
            bound: Some(bound),
            listeners: None,
            responder,
            follower,
            reloader,
            stop: stop.clone(),
        })
    }

    /// The first plain UDP address (what the member record advertises).
    fn addr(&self) -> Option<String> {
        let bound = self.bound.as_ref()?.bound();
        bound.udp.first().map(ToString::to_string)
    }

    /// Answers once `synced` gives the version to serve and the plan reached it (see
    /// `dns_role::open_when_synced`).
    async fn open(
        mut self,
        synced: impl std::future::Future<Output = u64>,
        serving: Option<Arc<AtomicBool>>,
    ) -> anyhow::Result<DnsRole> {
        let bound = self.bound.take().context("the dns role is open already")?;
        self.listeners = open_when_synced(
            synced,
            self.responder.clone(),
            bound,
            serving,
            self.stop.clone(),
        )
        .await?;
        Ok(self)
    }

    /// Stops answering (in-flight TCP queries finish), the follower and the reloader.
    async fn stop(self) {
        self.stop.cancel();
        if let Some(listeners) = self.listeners {
            let left = listeners.wait().await;
            tracing::info!(tcp_connections_cut = left, "dns stopped");
        }
        self.follower.abort();
        if let Some(reloader) = self.reloader {
            let _ = reloader.await;
        }
    }
}

/// The plan follower of a DNS node, started before its Raft node is open: it follows the
/// state channel the node will publish on (`NodeOptions::state_publisher`), so the restored
/// snapshot's plan compiles while the node checks and re-applies its log, and the log tail
/// then compiles as a patch (`compile_plan_since`).
struct EarlyFollower {
    /// Compiles each state version into the responder's plan.
    follower: tokio::task::JoinHandle<()>,
    /// The node once open: health is derived as of its last leader contact.
    node: Arc<std::sync::OnceLock<WeakNodeHandle>>,
}

impl EarlyFollower {
    /// Starts the follower on a state channel it sets in `options`.
    fn spawn(responder: Arc<Responder>, options: &mut NodeOptions) -> Self {
        let (publisher, watch) = gslb_store::state_channel(State::default());
        options.state_publisher = Some(publisher);
        let node: Arc<std::sync::OnceLock<WeakNodeHandle>> = Arc::default();
        let contact = node.clone();
        // Health as of the last leader contact: a node cut off keeps the health it knew
        // (before the node is open, no contact: the wall clock).
        let clock = contact_clock(
            move || {
                contact
                    .get()
                    .and_then(|weak| weak.upgrade())
                    .and_then(|node| node.metrics().millis_since_leader_contact)
            },
            CONTACT_GRACE_MS,
        );
        // A staged zone import is compiled once complete, before its commit, which the
        // leader holds until this node reports it prepared (`gslb_dns::prepare`).
        let prepared = PreparedZones::new();
        options.prepared_source = Some(prepared.versions());
        // Ends with the state channel, as the follower does.
        drop(spawn_staged_preparer(watch.clone(), prepared.clone()));
        let follower = spawn_plan_follower_with(watch, responder, clock, Some(prepared));
        EarlyFollower { follower, node }
    }

    /// Tells the health clock which node's leader contact counts.
    fn node_started(&self, node: &NodeHandle) {
        let _ = self.node.set(node.downgrade());
    }
}

/// True when `state` (restored from disk) records this node as the DNS member it is now
/// (same HTTP and DNS address): a restart, counted by INSYNC from its first answer.
fn registered(
    state: &State,
    control: &ControlConfig,
    advertise: &str,
    dns_addr: &Option<String>,
) -> bool {
    state.members.get(&control.node_id).is_some_and(|member| {
        member.addr == advertise && &member.dns_addr == dns_addr && member.serves_dns()
    })
}

/// The state version a DNS node must serve before it answers at all.
/// - `serve_before_sync`: whatever it has now (stale, or nothing yet).
/// - Restarted as a recorded member: what a leader had committed when it first reached the
///   node (`NodeHandle::catch_up`); without a leader within `CATCH_UP_TIMEOUT`, the restored
///   state (static stability: its record is in it, so INSYNC counts it).
/// - Fresh or re-added: the version that holds its member record (written once it joined,
///   so it is past the leader's commit index at the join), applied here. Until then it
///   stays silent; any write committed after the record waits for it, any write before is
///   in what it serves.
async fn synced_version(
    node: NodeHandle,
    mut placed: watch::Receiver<Option<u64>>,
    serve_before_sync: bool,
    restarted: bool,
) -> u64 {
    let restored = node.state().version;
    if node.resynced() {
        // Its damaged storage was moved aside: it has nothing of its own to answer from.
        return catch_up_after_resync(&node).await;
    }
    if serve_before_sync {
        tracing::info!(
            version = restored,
            "dns.serve_before_sync: answering at once"
        );
        return restored;
    }
    if restarted {
        // Answer like the peers from the first query, not from the state this node had
        // when it went down (DESIGN "deterministic cold start").
        return match node.catch_up(CATCH_UP_TIMEOUT).await {
            Ok(applied) => {
                tracing::info!(restored, applied, "caught up with the leader");
                applied
            }
            Err(error) => {
                tracing::warn!(
                    restored,
                    "answering from the restored state, no leader caught up with: {error}"
                );
                restored
            }
        };
    }
    tracing::info!("dns stays silent until this node has joined, caught up and registered");
    let placed = placed
        .wait_for(Option::is_some)
        .await
        .map(|version| (*version).unwrap_or(0));
    let Ok(registered_at) = placed else {
        // The membership task ended without placing the node (it logged why).
        return std::future::pending().await;
    };
    loop {
        if let Some(state) = node.wait_for_version(registered_at, RETRY_MAX).await {
            return state.version;
        }
        tracing::info!(registered_at, "waiting to apply this node's member record");
    }
}

/// What this node's member record says about it.
struct Place {
    /// Its HTTP address, as peers reach it.
    advertise: String,
    /// Its DNS address, on a DNS node.
    dns_addr: Option<String>,
    /// `dns.region`, else `prober.vantage`.
    region: Option<String>,
    /// True when it runs the prober role.
    probes: bool,
}

/// Resolves once the node can no longer persist (full disk, Raft core stopped) and should
/// exit so a supervisor restarts it. A DNS node first keeps answering from memory (its
/// state is all there) until its disk has room again, then asks to exit; `/readyz` says why
/// meanwhile.
async fn wait_fault_then_room(node: NodeHandle, answers_dns: bool) -> String {
    let reason = node.wait_fault().await;
    tracing::error!("{reason}: this node acknowledges nothing more and is not ready");
    if answers_dns {
        tracing::error!(
            version = node.state().version,
            "still answering DNS from memory; exiting for a restart once the disk has room"
        );
        node.wait_for_room().await;
    }
    reason
}

/// Waits, however long it takes, until a learner that started empty after its storage was
/// found damaged has applied what the leader had committed: it must not answer (nor report
/// ready) from an empty or partial state.
async fn catch_up_after_resync(node: &NodeHandle) -> u64 {
    loop {
        match node.catch_up(CATCH_UP_TIMEOUT).await {
            Ok(applied) if applied > 0 => {
                tracing::info!(applied, "re-synced from the leader after damaged storage");
                return applied;
            }
            Ok(_) => tokio::time::sleep(RETRY_FIRST).await,
            Err(error) => tracing::warn!("not answering yet, still re-syncing: {error}"),
        }
    }
}

/// Takes this node's place in the cluster (bootstrap, join, promote), records it as a member
/// (then tells `placed` the version that holds the record) and imports the zone files into a
/// cluster it just created. Every step retries with backoff until it succeeds, logging each
/// failure; none gives up or panics.
async fn take_place(
    node: NodeHandle,
    control: ControlConfig,
    place: Place,
    zones: Vec<Zone>,
    placed: watch::Sender<Option<u64>>,
) {
    let advertise = place.advertise.clone();
    let id = control.node_id;
    let mut created = false;
    if let Some(bootstrap) = &control.bootstrap {
        let first = bootstrap.keys().next().copied() == Some(id);
        if first && node.is_initialized().await && untouched(&node.state()) && !zones.is_empty() {
            // Stopped after creating the cluster but before its zones were in.
            tracing::info!("the cluster this node created holds no zone yet; importing them");
            created = true;
        } else if first && !node.is_initialized().await {
            let mut voters = bootstrap.clone();
            voters.insert(id, advertise.clone());
            match node.initialize(voters.clone()).await {
                Ok(()) => {
                    created = true;
                    tracing::info!(
                        voters = ?voters.keys().collect::<Vec<_>>(),
                        "initialized a new cluster"
                    );
                }
                Err(MembershipError::AlreadyInitialized { .. }) => {}
                Err(error) => tracing::error!("cannot initialize the cluster: {error}"),
            }
        } else if !first {
            tracing::info!("waiting for the bootstrap voter to reach this node");
        }
    } else {
        let known = node
            .state()
            .members
            .get(&id)
            .is_some_and(|member| member.addr == advertise);
        // A voter (e.g. the one `gslb restore` or `gslb recover` made) never joins as a
        // learner: it is in the membership already, possibly alone.
        let voter = node.metrics().voters.contains(&id);
        if !voter && (!node.is_initialized().await || !known) {
            join_as_learner(&node, &control.seeds).await;
        }
        if control.role == ControlRole::Voter {
            become_voter(&node).await;
        }
    }
    if let Some(version) = record_member(&node, &control, place).await {
        placed.send_replace(Some(version));
    }
    if created {
        import_zones(&node, zones).await;
    }
}

/// True while no zone exists and nothing but nodes wrote to the state: a cluster whose
/// bootstrap import has not happened yet.
fn untouched(state: &State) -> bool {
    state.zones.is_empty()
        && state
            .audit
            .iter()
            .all(|entry| entry.actor.who.starts_with("node:"))
}

/// Asks the seeds to add this node as a learner until one does.
async fn join_as_learner(node: &NodeHandle, seeds: &[String]) {
    let mut wait = RETRY_FIRST;
    loop {
        match node.join_as_learner(seeds).await {
            Ok(index) => {
                tracing::info!(index, "joined the cluster as a learner");
                return;
            }
            Err(error) => {
                tracing::warn!(seeds = ?seeds, "join failed, retrying in {wait:?}: {error}");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
        }
    }
}

/// Once the learner sees itself in the membership, asks the leader to add it to the voters,
/// until it is one.
async fn become_voter(node: &NodeHandle) {
    let id = node.id();
    let mut wait = RETRY_FIRST;
    loop {
        let metrics = node.metrics();
        if metrics.voters.contains(&id) {
            tracing::info!(voters = ?metrics.voters, "joined the cluster as a voter");
            return;
        }
        if metrics.learners.contains(&id) {
            let voters: BTreeSet<u64> = metrics.voters.iter().copied().chain([id]).collect();
            match node.change_membership(voters, true).await {
                Ok(index) => {
                    tracing::info!(index, "promoted to voter");
                    wait = RETRY_FIRST;
                    continue;
                }
                Err(error) => {
                    tracing::warn!("promotion to voter failed, retrying in {wait:?}: {error}")
                }
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RETRY_MAX);
    }
}

/// Writes this node's `Member` record (with `dns.region`, else `prober.vantage`, as its
/// region; `probes` adds the prober role) unless the state already holds the same one.
/// The version that holds the record; `None` when the cluster refused it (logged).
async fn record_member(node: &NodeHandle, control: &ControlConfig, place: Place) -> Option<u64> {
    let Place {
        advertise,
        dns_addr,
        region,
        probes,
    } = place;
    let mut roles = BTreeSet::from([NodeRole::Api]);
    if dns_addr.is_some() {
        roles.insert(NodeRole::Dns);
    }
    if probes {
        roles.insert(NodeRole::Prober);
    }
    let raft_role = match control.role {
        ControlRole::Voter => {
            roles.insert(NodeRole::Control);
            RaftRole::Voter
        }
        ControlRole::Learner => RaftRole::Learner,
    };
    let wanted = Member {
        id: control.node_id,
        addr: advertise.to_string(),
        dns_addr,
        region,
        raft_role,
        roles,
        applied_index: 0,
        reported_at: 0,
    };
    let same = |member: &Member| {
        member.addr == wanted.addr
            && member.dns_addr == wanted.dns_addr
            && member.region == wanted.region
            && member.raft_role == wanted.raft_role
            && member.roles == wanted.roles
    };
    let state = node.state();
    if state.members.get(&wanted.id).is_some_and(same) {
        return Some(state.version);
    }
    let command = Command::PutMember {
        member: wanted.clone(),
    };
    let version = write_until_done(node, command, "member record").await?;
    tracing::info!(addr = %wanted.addr, dns = ?wanted.dns_addr, version, "recorded this node as a member");
    Some(version)
}

/// Writes each zone of the config into the cluster this node just created.
async fn import_zones(node: &NodeHandle, zones: Vec<Zone>) {
    for zone in zones {
        let apex = zone.apex.to_string();
        let what = format!("zone {apex}");
        if write_until_done(node, Command::PutZone { zone }, &what)
            .await
            .is_some()
        {
            tracing::info!(zone = %apex, "imported zone file into the cluster");
        }
    }
}

/// Writes `command` as this node, retrying while no leader can take it; the version that
/// holds it, or `None` when the cluster refused it (logged).
async fn write_until_done(node: &NodeHandle, command: Command, what: &str) -> Option<u64> {
    let actor = Actor::new(format!("node:{}", node.id()));
    let mut wait = RETRY_FIRST;
    loop {
        match node.write(command.clone(), actor.clone()).await {
            Ok(outcome) => return Some(outcome.version),
            Err(error @ (WriteError::Invalid { .. } | WriteError::Rejected { .. })) => {
                tracing::error!("{what} refused by the cluster: {error}");
                return None;
            }
            Err(error) => {
                tracing::warn!("writing {what} failed, retrying in {wait:?}: {error}");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
        }
    }
}
