//! `gslb demo`: a 3-voter control plane, two DNS nodes (Raft learners) and, per sample region
//! (us-east, eu-west, ap-south), a prober node (a learner with `[prober]`) and a backend
//! (`gslb demo-backend`: `/healthz`, a replication status and simulated kube-proxy nodes),
//! all real child processes of this very binary on loopback. The first voter creates the
//! cluster and imports the sample zone; the demo then writes the regions, endpoints, checks
//! and GSLB records (`www` geo + latency with failover, `api` weighted 95/5, `db` guarded by
//! replication leases, fail closed) through the REST API in one batch, waits until both DNS
//! nodes serve it, and prints `dig`, `curl` and `gslbctl` lines that work as printed.
//!
//! A child that exits on its own (a killed voter, a stopped DNS node) is reported with the
//! command that restarts it, and the others keep running: surviving that is what the
//! cluster is for. Children get a parent-death signal, and Ctrl-C / SIGTERM stop every one
//! of them; so do a
//! panic (a hook signals them before unwinding, the `Nodes` guard reaps them) and any early
//! return. Printing never panics: with stdout closed (`gslb demo | head -3`) the demo says so
//! once on stderr and keeps running quietly until stopped, as a server whose log reader went
//! away would.
//!
//! A `--data-dir` of an earlier run resumes that cluster from disk (same ports, since Raft
//! knows voters by address); the backends take fresh ports, and the batch rewrites the
//! checks that point at them.
//!
//! Layout:
//! - `children`: starting, watching and stopping the child processes.
//! - `plan`: every node's config, fresh or resumed from the data dir.
//! - `sample`: the sample regions, zone and the batch written through the API.
//! - `banner`: what is printed once everything runs.
//! - `output`: `say!`, printing that survives a closed stdout.
//! - `backend`: `gslb demo-backend`, one sample region's HTTP backend.

#[macro_use]
mod output;
pub mod backend;
mod banner;
mod children;
mod plan;
mod sample;

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;

use banner::print_banner;
use children::{
    install_panic_hook, spawn_child, wait_for_stop, wait_until_answering, wait_until_listening,
    Nodes, Role, StopSignals,
};
use plan::{fresh_temp_dir, plan};
use sample::{write_sample, REGIONS};

/// The sample zone's apex.
const DEMO_ZONE: &str = "demo.gslb.test.";

/// How long nodes get to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a node gets to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the demo starts a prober per region (`[prober]` in a learner's config).
const WITH_PROBERS: bool = true;

/// Simulated Kubernetes nodes per region backend.
const NODES_PER_REGION: u32 = 3;

/// Nodes with local endpoints a region needs (its `kube-local` check's `min_nodes`).
const MIN_READY_NODES: u32 = 2;

/// `gslb demo` flags.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// UDP+TCP address of the first DNS node; the second takes the next port (port 0 picks
    /// free ports for both).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:5353")]
    dns: SocketAddr,
    /// HTTP address of the first voter: the REST API (and Raft RPC); port 0 picks one.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8053")]
    api: SocketAddr,
    /// The API's admin token, at least 16 characters without whitespace (default: a random
    /// one, printed).
    #[arg(long, value_name = "TOKEN", value_parser = admin_token)]
    token: Option<String>,
    /// Where configs, Raft data, the zone file and node logs go (default: a fresh temporary
    /// directory, removed on exit). A directory of an earlier run resumes its cluster.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// Checks `--token`: the same strength rule as `control.api_token` in a node config.
fn admin_token(token: &str) -> Result<String, String> {
    let length = token.chars().count();
    if token.chars().any(char::is_whitespace) {
        Err("must not contain whitespace".to_string())
    } else if length < crate::config::MIN_SECRET_LEN {
        Err(format!(
            "must be at least {} characters, got {length}",
            crate::config::MIN_SECRET_LEN
        ))
    } else {
        Ok(token.to_string())
    }
}

/// Runs the demo until Ctrl-C or SIGTERM.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    install_panic_hook();
    let (data_dir, remove_after) = match &args.data_dir {
        Some(dir) => (dir.clone(), false),
        None => (fresh_temp_dir()?, true),
    };
    fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    let result = run_in(&args, &data_dir);
    if remove_after {
        let _ = fs::remove_dir_all(&data_dir);
    }
    result
}

fn run_in(args: &DemoArgs, data_dir: &Path) -> anyhow::Result<()> {
    let plan = plan(args, data_dir)?;
    let executable = std::env::current_exe().context("cannot find the gslb executable")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut nodes = Nodes(Vec::new());
    // Everything starts at once; the waits below follow. Backends first: they are quick,
    // and their ports go into the checks.
    for region in &REGIONS {
        let name = format!("backend-{}", region.id);
        let mut command = Command::new(&executable);
        command
            .arg("demo-backend")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--region")
            .arg(region.id)
            .arg("--nodes")
            .arg(NODES_PER_REGION.to_string());
        nodes
            .0
            .push(spawn_child(command, &name, Role::Backend, data_dir)?);
    }
    // The `--dns` node starts last, once every other DNS node serves: a DNS node opens its
    // listeners only after it has joined and registered, so a script that waits for the
    // `--dns` address to answer then finds every DNS node serving and counted by INSYNC.
    // Started together, the second node could still be joining when the first answered.
    let first_dns = plan
        .nodes
        .iter()
        .position(|(_, role, _)| *role == Role::Dns);
    let start = |(name, role, config_text): &(String, Role, String)| {
        let config = data_dir.join(format!("{name}.toml"));
        plan::write_private(&config, config_text)?;
        let mut command = Command::new(&executable);
        command.arg("serve").arg("--config").arg(&config);
        spawn_child(command, name, *role, data_dir)
    };
    for (index, node) in plan.nodes.iter().enumerate() {
        if Some(index) != first_dns {
            nodes.0.push(start(node)?);
        }
    }
    for node in &mut nodes.0 {
        wait_until_listening(node)?;
    }
    if let Some(index) = first_dns {
        // Back in plan order (after the backends), so the nodes read as the configs do.
        let at = REGIONS.len() + index;
        nodes.0.insert(at, start(&plan.nodes[index])?);
        wait_until_listening(&mut nodes.0[at])?;
    }
    for node in nodes.0.iter_mut().filter(|node| node.role == Role::Dns) {
        wait_until_answering(node, DEMO_ZONE, 6, 0)?;
    }
    let api = format!("http://{}", nodes.0[REGIONS.len()].http);
    runtime.block_on(write_sample(
        &api,
        &plan.token,
        &plan.prober_tokens,
        &nodes.0,
    ))?;
    if WITH_PROBERS {
        // `db` answers a region once the probers confirmed its replication (a lease): wait
        // for all of them, so the first `dig` shows the whole picture.
        let regions = REGIONS.len() as u16;
        for node in nodes.0.iter_mut().filter(|node| node.role == Role::Dns) {
            wait_until_answering(node, &format!("db.{DEMO_ZONE}"), 1, regions)?;
        }
    }

    // Watch the signals before the banner says "press Ctrl-C": a SIGTERM sent as soon as
    // the banner (or, with stdout closed, the stderr notice) appears must stop the demo
    // cleanly, not kill it by the default action.
    let signals = {
        let _context = runtime.enter();
        StopSignals::watch()?
    };
    print_banner(args, data_dir, &plan, &nodes.0);
    runtime.block_on(wait_for_stop(signals, &mut nodes));
    let running = nodes.0.iter().filter(|node| !node.exited).count();
    say!("stopping {running} child process(es)");
    drop(nodes);
    say!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::children::listening_address;
    use super::plan::node_names;
    use super::sample::{kube_nodes, DEMO_ZONE_FILE};
    use super::*;

    #[test]
    fn the_demo_zone_and_node_configs_are_valid() {
        let origin = gslb_model::DomainName::parse_absolute(DEMO_ZONE).unwrap();
        let zone = gslb_model::zonefile::parse_zone(DEMO_ZONE_FILE, "demo", Some(&origin), None)
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(zone.rrsets.len() > 10);
        let dir = std::env::temp_dir().join(format!("gslb-demo-unit-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let args = DemoArgs {
            dns: "127.0.0.1:0".parse().unwrap(),
            api: "127.0.0.1:0".parse().unwrap(),
            token: Some("demo-unit-token-0123".to_string()),
            data_dir: None,
        };
        let plan = plan(&args, &dir).unwrap();
        assert_eq!(plan.nodes.len(), node_names().len());
        for (name, _, text) in &plan.nodes {
            let path = dir.join(format!("{name}.toml"));
            if let Err(error) = crate::config::parse(text, &path) {
                panic!("{name}: {error}\n{text}");
            }
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn kube_nodes_follow_the_backend_address() {
        assert_eq!(
            kube_nodes("127.0.0.1:4000".parse().unwrap()),
            ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        );
    }

    #[test]
    fn listening_lines_give_the_address() {
        let log = "2026-11-24T17:00:00Z  INFO gslb_dns::net: listening on udp 127.0.0.1:40000\n\
                   2026-11-24T17:00:00Z  INFO gslb_dns::net: listening on tcp 127.0.0.1:40000\n";
        assert_eq!(
            listening_address(log, "udp"),
            Some("127.0.0.1:40000".parse().unwrap())
        );
        assert_eq!(listening_address(log, "proxy-udp"), None);
        let json = r#"{"level":"INFO","fields":{"message":"listening on tcp [::1]:53"}}"#;
        assert_eq!(
            listening_address(json, "tcp"),
            Some("[::1]:53".parse().unwrap())
        );
    }
}
