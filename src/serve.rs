//! `gslb serve`: run one node with the roles its config names. Without `[control]` that is
//! the DNS role serving the zone files the config lists (this file); with it, `control` runs
//! a Raft replica and the DNS role follows the replicated state.
//!
//! Start-up is all-or-nothing: every zone file must load, every listener must bind, or the
//! node refuses to start and says why. SIGTERM or SIGINT shut it down gracefully; SIGHUP
//! reloads the zone files (all-or-nothing too: a broken file keeps the previous zones).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use anyhow::Context;
use gslb_dns::memory::ResidentMemory;
use gslb_dns::net::spawn_listeners;
use gslb_dns::slow::attach_slow_path;
use gslb_dns::{spawn_plan_follower, Responder};
use gslb_model::zonefile::parse_zone;
use gslb_model::State;
use gslb_store::{state_channel, StatePublisher};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

use crate::config::{ConfigError, ConfigProblem, NodeConfig};
use crate::dns_role::{build_responder, spawn_geoip_reloader, wait_for_plan, PLAN_TIMEOUT};

/// When this node began loading its zones: the first answer's log line says how long after.
fn load_started() -> Instant {
    static STARTED: OnceLock<Instant> = OnceLock::new();
    *STARTED.get_or_init(Instant::now)
}

/// Loads every zone file of `config` into one `State` (version 1), reporting every problem
/// of every file. Logs each file's read and parse with their time and the resident memory
/// after them (peak included), the start-up phases `docs/perf.md` tabulates.
pub fn load_state(config: &NodeConfig) -> Result<State, ConfigError> {
    load_started();
    let mut problems = Vec::new();
    let mut zones = BTreeMap::new();
    let config_file = config.path.display().to_string();
    for (index, source) in config.zones.iter().enumerate() {
        let file_name = source.file.display().to_string();
        let read_started = Instant::now();
        let text = match std::fs::read_to_string(&source.file) {
            Ok(text) => text,
            Err(error) => {
                problems.push(ConfigProblem {
                    file: config_file.clone(),
                    line: source.line,
                    field: format!("zones[{index}].file"),
                    message: format!("cannot read {file_name}: {error}"),
                });
                continue;
            }
        };
        tracing::info!(
            file = %file_name,
            bytes = text.len(),
            elapsed_ms = read_started.elapsed().as_millis() as u64,
            memory = %ResidentMemory::read(),
            "read zone file"
        );
        let parse_started = Instant::now();
        let parsed = parse_zone(
            &text,
            &file_name,
            source.origin.as_ref(),
            source.default_ttl,
        );
        // The text is not needed past the parse: give its memory back before the plan.
        drop(text);
        match parsed {
            Ok(zone) => {
                tracing::info!(
                    zone = %zone.apex,
                    record_sets = zone.rrsets.len(),
                    elapsed_ms = parse_started.elapsed().as_millis() as u64,
                    memory = %ResidentMemory::read(),
                    "parsed zone file"
                );
                if zones.contains_key(&zone.apex) {
                    problems.push(ConfigProblem {
                        file: config_file.clone(),
                        line: source.line,
                        field: format!("zones[{index}]"),
                        message: format!("zone {} is loaded twice", zone.apex),
                    });
                } else {
                    zones.insert(zone.apex.clone(), std::sync::Arc::new(zone));
                }
            }
            Err(error) => {
                problems.extend(error.problems.into_iter().map(|problem| ConfigProblem {
                    file: problem.file_name,
                    line: Some(problem.line),
                    field: String::new(),
                    message: problem.message,
                }))
            }
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError { problems });
    }
    Ok(State {
        version: 1,
        zones,
        ..State::default()
    })
}

/// Re-reads the config and its zone files and publishes the new state (the plan follower
/// compiles and swaps it in); on any error keeps serving the old one and logs every problem.
/// Listener and CHAOS settings need a restart.
async fn reload(
    config: &NodeConfig,
    version: u64,
    publisher: &StatePublisher,
    responder: &Responder,
) {
    let path = config.path.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        let fresh = crate::config::load(&path)?;
        let state = load_state(&fresh)?;
        Ok::<_, ConfigError>((fresh, state))
    })
    .await;
    match loaded {
        Ok(Ok((fresh, mut state))) => {
            if fresh.listeners != config.listeners
                || fresh.responder != config.responder
                || fresh.geo.differs_from(&config.geo)
            {
                tracing::warn!(
                    "listener, chaos, region and geo changes take effect after a restart"
                );
            }
            state.version = version;
            let zones = state.zones.len();
            publisher.send_replace(Arc::new(state));
            if wait_for_plan(responder, version, PLAN_TIMEOUT).await {
                tracing::info!(version, zones, "reloaded zone files");
            } else {
                tracing::error!(
                    version,
                    "reload not installed within {PLAN_TIMEOUT:?}; still serving the previous zones"
                );
            }
        }
        Ok(Err(error)) => {
            for problem in &error.problems {
                tracing::error!("reload refused, still serving the previous zones: {problem}");
            }
        }
        Err(error) => tracing::error!("reload failed: {error}"),
    }
}

/// Runs the node until SIGTERM/SIGINT, then shuts down gracefully; SIGHUP reloads the
/// zone files.
pub fn run(config: NodeConfig, state: State) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("gslb-rt")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    if config.control.is_some() {
        runtime.block_on(crate::control::serve(config, state))
    } else {
        runtime.block_on(serve(config, state))
    }
}

async fn serve(config: NodeConfig, state: State) -> anyhow::Result<()> {
    // The same path the control plane will feed: a state channel, and the plan follower
    // that compiles each version and swaps it into the responder. Listeners start only
    // once the first plan is in, so no query meets an empty plan.
    // Watched before any listener opens: a SIGTERM sent as soon as the node answers must
    // shut it down gracefully, not kill it by the default action.
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut hangup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    let version = state.version;
    let (publisher, watch) = state_channel(state);
    let responder = Arc::new(build_responder(&config));
    // Zone files are the truth here: TSIG-signed queries are checked (no keys: BADKEY),
    // updates are REFUSED.
    attach_slow_path(&responder, watch.clone(), None, config.slow_path.clone());
    let follower = spawn_plan_follower(watch, responder.clone(), gslb_dns::wall_clock());
    if !wait_for_plan(&responder, version, PLAN_TIMEOUT).await {
        anyhow::bail!("the answer plan was not ready within {PLAN_TIMEOUT:?}");
    }
    let shutdown = CancellationToken::new();
    let reloader = spawn_geoip_reloader(&config, shutdown.clone());
    let listeners = spawn_listeners(&config.listeners, responder.clone(), shutdown.clone())?;
    tracing::info!(
        since_start_ms = load_started().elapsed().as_millis() as u64,
        memory = %ResidentMemory::read(),
        "answering"
    );
    let stats = listeners.stats();
    let mut version = version;
    let signal = loop {
        tokio::select! {
            _ = terminate.recv() => break "SIGTERM",
            _ = tokio::signal::ctrl_c() => break "SIGINT",
            _ = hangup.recv() => {
                version += 1;
                reload(&config, version, &publisher, &responder).await;
            }
        }
    };
    tracing::info!("{signal} received, shutting down");
    shutdown.cancel();
    let left = listeners.wait().await;
    if let Some(reloader) = reloader {
        let _ = reloader.await;
    }
    drop(publisher);
    let _ = follower.await;
    let count = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    tracing::info!(
        udp_received = count(&stats.udp_received),
        udp_replied = count(&stats.udp_replied),
        udp_dropped = count(&stats.udp_dropped),
        tcp_accepted = count(&stats.tcp_accepted),
        tcp_refused = count(&stats.tcp_refused),
        tcp_evicted = count(&stats.tcp_evicted),
        tcp_slow_closed = count(&stats.tcp_slow_closed),
        tcp_queries = count(&stats.tcp_queries),
        proxy_untrusted_dropped = count(&stats.proxy_untrusted_dropped),
        tcp_connections_cut = left,
        "stopped"
    );
    Ok(())
}
