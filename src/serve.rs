//! `gslb serve`: run one node with the roles its config names. Today that is the DNS role
//! serving the zone files the config lists; the control plane will replace the files.
//!
//! Start-up is all-or-nothing: every zone file must load, every listener must bind, or the
//! node refuses to start and says why. SIGTERM or SIGINT shut it down gracefully; SIGHUP
//! reloads the zone files (all-or-nothing too: a broken file keeps the previous zones).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Context;
use gslb_dns::net::spawn_listeners;
use gslb_dns::{compile_plan, Responder};
use gslb_store::zonefile::parse_zone;
use gslb_store::State;
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

use crate::config::{ConfigError, ConfigProblem, NodeConfig};

/// Loads every zone file of `config` into one `State` (version 1), reporting every problem
/// of every file.
pub fn load_state(config: &NodeConfig) -> Result<State, ConfigError> {
    let mut problems = Vec::new();
    let mut zones = BTreeMap::new();
    let config_file = config.path.display().to_string();
    for (index, source) in config.zones.iter().enumerate() {
        let file_name = source.file.display().to_string();
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
        match parse_zone(
            &text,
            &file_name,
            source.origin.as_ref(),
            source.default_ttl,
        ) {
            Ok(zone) => {
                if zones.contains_key(&zone.apex) {
                    problems.push(ConfigProblem {
                        file: config_file.clone(),
                        line: source.line,
                        field: format!("zones[{index}]"),
                        message: format!("zone {} is loaded twice", zone.apex),
                    });
                } else {
                    zones.insert(zone.apex.clone(), zone);
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

/// Re-reads the config and its zone files and swaps in the new answer plan; on any error
/// keeps serving the old one and logs every problem. Listener and CHAOS settings need a
/// restart.
async fn reload(config: &NodeConfig, version: u64, responder: &Arc<Responder>) {
    let path = config.path.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        let fresh = crate::config::load(&path)?;
        let mut state = load_state(&fresh)?;
        state.version = version;
        let plan = compile_plan(&state);
        Ok::<_, ConfigError>((fresh, state.zones.len(), plan))
    })
    .await;
    match loaded {
        Ok(Ok((fresh, zones, plan))) => {
            if fresh.listeners != config.listeners || fresh.responder != config.responder {
                tracing::warn!("listener and chaos changes take effect after a restart");
            }
            let names = plan.name_count();
            responder.install_plan(Arc::new(plan));
            tracing::info!(version, zones, names, "reloaded zone files");
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
    runtime.block_on(serve(config, state))
}

async fn serve(config: NodeConfig, state: State) -> anyhow::Result<()> {
    let zone_count = state.zones.len();
    let plan = compile_plan(&state);
    tracing::info!(
        zones = zone_count,
        names = plan.name_count(),
        "compiled answer plan from zone files"
    );
    let responder = Arc::new(Responder::new(plan, config.responder.clone()));
    let shutdown = CancellationToken::new();
    let listeners = spawn_listeners(&config.listeners, responder.clone(), shutdown.clone())?;
    let stats = listeners.stats();
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut hangup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    let mut version = state.version;
    let signal = loop {
        tokio::select! {
            _ = terminate.recv() => break "SIGTERM",
            _ = tokio::signal::ctrl_c() => break "SIGINT",
            _ = hangup.recv() => {
                version += 1;
                reload(&config, version, &responder).await;
            }
        }
    };
    tracing::info!("{signal} received, shutting down");
    shutdown.cancel();
    let left = listeners.wait().await;
    let count = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    tracing::info!(
        udp_received = count(&stats.udp_received),
        udp_replied = count(&stats.udp_replied),
        udp_dropped = count(&stats.udp_dropped),
        tcp_accepted = count(&stats.tcp_accepted),
        tcp_refused = count(&stats.tcp_refused),
        tcp_queries = count(&stats.tcp_queries),
        proxy_untrusted_dropped = count(&stats.proxy_untrusted_dropped),
        tcp_connections_cut = left,
        "stopped"
    );
    Ok(())
}
