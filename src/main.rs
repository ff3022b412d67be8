//! `gslb`: parse the command line and the node config, start the roles, shut down cleanly.
//!
//! Code map:
//! - `config`: the node config file (TOML) and its validation, every error with its line.
//! - `serve`: `gslb serve`, one node; the DNS role over zone files without `[control]`.
//! - `control`: `gslb serve` with `[control]`: a Raft voter or learner, its HTTP server, and
//!   the DNS role following the replicated state.
//! - `prober`: the `[prober]` role, `gslb-prober` wired to the node's state and the API.
//! - `demo`: `gslb demo`, a local multi-process setup with sample regions and zone;
//!   `demo::backend` is `gslb demo-backend` (hidden), one sample region's HTTP backend.
//! - `restore`: `gslb restore` (a one-voter cluster from a backup) and `gslb recover` (the
//!   same from a survivor's own data when quorum is lost for good).
//! - `process`: the few process-control syscalls (parent-death signal, SIGTERM to children).
//! - `logging`: text or JSON logs on stderr.
//! - `externaldns`: `gslb externaldns-webhook`, the flags of the ExternalDNS webhook provider
//!   (`gslb_api::externaldns`).
//!
//! Invariant: no DNS logic lives here; answering is `gslb-dns`, the model is `gslb-store`.
//! Errors are printed once, here, and the process exits with status 1 (2 for usage errors).

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod control;
mod demo;
mod dns_role;
mod externaldns;
mod logging;
mod prober;
mod process;
mod restore;
mod serve;
mod update_sink;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A global server load balancer that is an authoritative DNS server.
#[derive(Debug, Parser)]
#[command(name = "gslb", version, about, long_about = None)]
struct Cli {
    /// What to run.
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one node with the roles its config names: DNS over zone files, or with
    /// `[control]` a Raft voter or learner serving Raft RPC and the REST API over HTTP, its
    /// DNS role (if any) answering from the replicated state.
    ///
    /// Logs `listening on udp ADDR` / `tcp ADDR` / `http ADDR` once bound (port 0 picks a
    /// free port); SIGTERM or SIGINT stop accepting, let in-flight TCP queries finish, stop
    /// the HTTP server and the Raft node, and exit 0; SIGHUP reloads the zone files of a
    /// node without `[control]` (a broken one keeps the previous zones).
    Serve {
        /// The node config (TOML); relative paths in it resolve against its directory.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Validate a node config and the zone files it names.
    ///
    /// Reports every error with its file and line and exits 1, or prints "config ok" and
    /// exits 0.
    CheckConfig {
        /// The node config (TOML).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Rebuild a one-node cluster from a backup (`gslbctl cluster snapshot --file FILE`) in
    /// the data dir of NODE.toml; `gslb serve --config NODE.toml` then starts it as the only
    /// voter, holding the backup's state (less the old cluster's member records), and other
    /// nodes join through seeds.
    ///
    /// Refuses a corrupt or truncated file (sha256, length, parse), a backup of another
    /// cluster (its cluster id must match the one NODE.toml's cluster_secret implies) and a
    /// data dir that already holds node data (unless --force, which moves it aside).
    Restore(restore::RestoreArgs),
    /// Disaster recovery when a majority of voters is lost for good: make this stopped node
    /// the only voter, keeping its whole state (its log included); its learners stay.
    /// The lost voters must never come back with their data.
    Recover(restore::RecoverArgs),
    /// Start a local demo: 3 control-plane voters, 2 DNS nodes, and per sample region
    /// (us-east, eu-west, ap-south) a prober and an HTTP backend (health, replication status,
    /// kube-proxy style nodes); a sample zone with GSLB records `www`, `api` and `db`, and
    /// `dig` / `curl` / `gslbctl` lines to try, including cutting a region's replication.
    ///
    /// Everything runs as child processes on loopback; a child that exits is reported with
    /// the command that restarts it while the others keep running; Ctrl-C stops everything
    /// it started, and the children also stop if the demo is killed.
    Demo(demo::DemoArgs),
    /// The ExternalDNS webhook provider: run it as a sidecar of ExternalDNS
    /// (`--provider=webhook`); it manages gslb records through the API at --api.
    ///
    /// Plain endpoints become record sets; endpoints with a setIdentifier and the
    /// annotations `external-dns.alpha.kubernetes.io/webhook-gslb-region` (required),
    /// `-gslb-weight`, `-gslb-policy` (weighted|consistent|failover|latency|proximity|capacity),
    /// `-gslb-priority`, `-gslb-bias`, `-gslb-when-all-down`, `-gslb-unknown-as` become one
    /// GSLB record over regions; ownership TXT records are ordinary TXT. Each change set is
    /// one atomic write, answered 204 once INSYNC on every DNS node; an endpoint gslb cannot
    /// represent is refused (422) by name (docs/coming-from.md). Logs `listening on webhook ADDR` and `listening on health ADDR`.
    ExternaldnsWebhook(externaldns::WebhookArgs),
    /// One sample region's backend for `gslb demo` (health, replication status, simulated
    /// kube-proxy nodes and their controls); started by the demo.
    #[command(hide = true)]
    DemoBackend(demo::backend::BackendArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before any HTTP client exists: should feature unification build reqwest with
    // `rustls-no-provider` (it did once, through gslb-prober), the Raft client would panic
    // without a process-wide provider. Ignored when one is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match cli.command {
        Command::Serve { config } => run_serve(config),
        Command::CheckConfig { file } => check_config(file),
        Command::Restore(args) => {
            load_config(&args.config).and_then(|config| restore::restore(args, config))
        }
        Command::Recover(args) => {
            load_config(&args.config).and_then(|config| restore::recover(args, config))
        }
        Command::Demo(args) => demo::run(args),
        Command::DemoBackend(args) => demo::backend::run(args),
        Command::ExternaldnsWebhook(args) => externaldns::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn run_serve(path: PathBuf) -> anyhow::Result<()> {
    let config = config::load(&path).map_err(refused)?;
    logging::init(config.log_format, &config.log_filter);
    let state = serve::load_state(&config).map_err(refused)?;
    tracing::info!(config = %path.display(), zones = state.zones.len(), "starting node");
    serve::run(config, state)
}

/// Loads a node config for an offline command (restore, recover), logging to stderr.
fn load_config(path: &std::path::Path) -> anyhow::Result<config::NodeConfig> {
    let config = config::load(path).map_err(refused)?;
    logging::init(config.log_format, &config.log_filter);
    Ok(config)
}

fn check_config(path: PathBuf) -> anyhow::Result<()> {
    let config = config::load(&path).map_err(refused)?;
    let state = serve::load_state(&config).map_err(refused)?;
    let record_sets: usize = state.zones.values().map(|zone| zone.rrsets.len()).sum();
    let zones = state.zones.len();
    match &config.control {
        None => println!("config ok: {zones} zone(s), {record_sets} record set(s)"),
        Some(control) => {
            let role = match control.role {
                config::ControlRole::Voter => "voter",
                config::ControlRole::Learner => "learner",
            };
            let place = match &control.bootstrap {
                Some(voters) => format!("bootstrap voters {:?}", voters.keys().collect::<Vec<_>>()),
                None => format!("joins through {} seed(s)", control.seeds.len()),
            };
            let dns = if config.dns { ", dns" } else { "" };
            let prober = config
                .prober
                .as_ref()
                .map(|prober| format!(", prober {}", prober.vantage))
                .unwrap_or_default();
            println!(
                "config ok: node {} {role}{dns}{prober}, {place}; {zones} zone(s) to import, \
                 {record_sets} record set(s)",
                control.node_id
            );
        }
    }
    Ok(())
}

/// Wraps config problems (one per line) into the error printed at the top.
fn refused(error: config::ConfigError) -> anyhow::Error {
    let count = error.problems.len();
    anyhow::anyhow!(
        "{count} problem(s) in the config\n{}",
        error
            .problems
            .iter()
            .map(|problem| format!("  {problem}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}
