//! `gslb demo`: a 3-voter control plane, two DNS nodes (Raft learners) and, per sample region
//! (us-east, eu-west, ap-south), a prober node (a learner with `[prober]`) and a backend
//! (`gslb demo-backend`: `/healthz`, a replication status and simulated kube-proxy nodes),
//! all real child processes of this very binary on loopback. The first voter creates the
//! cluster and imports the sample zone; the demo then writes the regions, endpoints, checks
//! and GSLB records (`www` geo + latency with failover, `api` weighted 95/5, `db` guarded by
//! replication leases, fail closed) through the REST API in one batch, waits until both DNS
//! nodes serve it, and prints `dig`, `curl` and `gslbctl` lines that work as printed.
//!
//! Children get a parent-death signal, and Ctrl-C / SIGTERM stop every one of them; so do a
//! panic (a hook signals them before unwinding, the `Nodes` guard reaps them) and any early
//! return. Printing never panics: with stdout closed (`gslb demo | head -3`) the demo says so
//! once on stderr and keeps running quietly until stopped, as a server whose log reader went
//! away would.
//!
//! A `--data-dir` of an earlier run resumes that cluster from disk (same ports, since Raft
//! knows voters by address); the backends take fresh ports, and the batch rewrites the
//! checks that point at them.

use std::fmt;
use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::json;

use crate::process;

/// Prints one line of the demo's output on stdout, never panicking (see [`say`]).
macro_rules! say {
    () => {
        say(format_args!(""))
    };
    ($($arg:tt)*) => {
        say(format_args!($($arg)*))
    };
}

/// Set once stdout refused a line: the rest of the output is dropped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `line` to stdout. `println!` panics when the reader has gone (EPIPE, as after
/// `gslb demo | head -3`); here the first failure is reported once on stderr and later lines
/// are dropped, while the cluster keeps running until Ctrl-C or SIGTERM: the printed lines
/// are a guide to the demo, not its purpose.
fn say(line: fmt::Arguments<'_>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        // stderr may be closed too: ignore that as well.
        let _ = writeln!(
            std::io::stderr(),
            "gslb demo: stdout is closed; still running quietly (Ctrl-C or SIGTERM stops it)"
        );
    }
}

/// Pids of the running children, for the panic hook. Only touched when a child starts,
/// when `Nodes` has reaped them all, and by the hook.
static CHILD_PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Makes any panic SIGTERM every child first, then report as before. With unwinding the
/// `Nodes` guard then waits for them (and kills the slow ones); should the binary ever be
/// built with `panic = "abort"`, the guard would not run, and this is what stops them.
fn install_panic_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // try_lock: the panic may have come from inside the lock.
            if let Ok(pids) = CHILD_PIDS.try_lock() {
                for pid in pids.iter() {
                    process::terminate(*pid);
                }
            }
            previous(info);
        }));
    });
}

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

/// One sample region: where it is, the address its endpoint answers with, and the client
/// network the DNS nodes' `[dns.geo]` table places there (what `dig +subnet=` stands for).
struct SampleRegion {
    id: &'static str,
    lat: f64,
    lon: f64,
    country: &'static str,
    continent: &'static str,
    /// The endpoint's answered address: just data, nobody connects to it.
    address: &'static str,
    /// A client network located in the region.
    clients: &'static str,
    /// One client of `clients`, for `gslbctl resolve --client`.
    client: &'static str,
}

/// The three sample regions, in the order backends and probers start.
const REGIONS: [SampleRegion; 3] = [
    SampleRegion {
        id: "us-east",
        lat: 39.0,
        lon: -77.5,
        country: "US",
        continent: "NA",
        address: "192.0.2.10",
        clients: "203.0.113.0/24",
        client: "203.0.113.7",
    },
    SampleRegion {
        id: "eu-west",
        lat: 53.3,
        lon: -6.3,
        country: "IE",
        continent: "EU",
        address: "192.0.2.20",
        clients: "198.51.100.0/24",
        client: "198.51.100.7",
    },
    SampleRegion {
        id: "ap-south",
        lat: 19.1,
        lon: 72.9,
        country: "IN",
        continent: "AS",
        address: "192.0.2.30",
        clients: "100.64.0.0/24",
        client: "100.64.0.7",
    },
];

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
    /// The API's admin token (default: a random one, printed).
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Where configs, Raft data, the zone file and node logs go (default: a fresh temporary
    /// directory, removed on exit). A directory of an earlier run resumes its cluster.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// What a demo child runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A control-plane voter (Raft RPC and API on `http`).
    Voter,
    /// A DNS node: a Raft learner answering DNS.
    Dns,
    /// A region's prober: a Raft learner with `[prober]`.
    Prober,
    /// A region's backend (`gslb demo-backend`), not a cluster node.
    Backend,
}

/// One running child.
struct Node {
    name: String,
    role: Role,
    child: Child,
    log: PathBuf,
    /// DNS address (UDP and TCP), for DNS nodes.
    address: Option<SocketAddr>,
    /// HTTP address: Raft RPC and the API, or a backend's HTTP server.
    http: SocketAddr,
}

/// Stops every child on drop, whatever path leaves `run`.
struct Nodes(Vec<Node>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for node in &self.0 {
            process::terminate(node.child.id());
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        for node in &mut self.0 {
            loop {
                match node.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        let _ = node.child.kill();
                        let _ = node.child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        // Reaped: their pids may be reused now.
        if let Ok(mut pids) = CHILD_PIDS.lock() {
            pids.clear();
        }
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

/// The configs of one demo cluster, kept in the data dir so a later run with the same
/// `--data-dir` resumes it (voters must keep their addresses: Raft knows them by address).
struct Plan {
    /// (name, role, config text).
    nodes: Vec<(String, Role, String)>,
    /// The API's admin token.
    token: String,
    /// Each prober's own observe token, (vantage, secret), to create on a fresh cluster:
    /// a prober speaks only for its vantage and never holds the admin token.
    prober_tokens: Vec<(String, String)>,
    /// True when an earlier run's cluster is resumed.
    resumed: bool,
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
    for (name, role, config_text) in &plan.nodes {
        let config = data_dir.join(format!("{name}.toml"));
        fs::write(&config, config_text)
            .with_context(|| format!("cannot write {}", config.display()))?;
        let mut command = Command::new(&executable);
        command.arg("serve").arg("--config").arg(&config);
        nodes.0.push(spawn_child(command, name, *role, data_dir)?);
    }
    for node in &mut nodes.0 {
        wait_until_listening(node)?;
    }
    for node in nodes.0.iter_mut().filter(|node| node.role == Role::Dns) {
        wait_until_answering(node, DEMO_ZONE, 6, 0)?;
    }
    let api = format!("http://{}", nodes.0[REGIONS.len()].http);
    runtime.block_on(write_sample(&api, &plan, &nodes.0))?;
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
    runtime.block_on(wait_for_stop(signals, &mut nodes))?;
    say!("stopping {} child process(es)", nodes.0.len());
    drop(nodes);
    say!("stopped");
    Ok(())
}

/// Starts `command` with its stderr in `NAME.log` in `data_dir`, in its own process group
/// (a terminal's Ctrl-C reaches only the demo, which then stops the children itself) and
/// with a parent-death signal.
fn spawn_child(
    mut command: Command,
    name: &str,
    role: Role,
    data_dir: &Path,
) -> anyhow::Result<Node> {
    let log = data_dir.join(format!("{name}.log"));
    let log_file =
        fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    command
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file);
    command.process_group(0);
    process::die_with_parent(&mut command);
    let child = command
        .spawn()
        .with_context(|| format!("cannot start {name}"))?;
    if let Ok(mut pids) = CHILD_PIDS.lock() {
        pids.push(child.id());
    }
    Ok(Node {
        name: name.to_string(),
        role,
        child,
        log,
        address: None,
        http: SocketAddr::from(([127, 0, 0, 1], 0)),
    })
}

/// The backend of `region` among `nodes`.
fn backend_of<'a>(nodes: &'a [Node], region: &str) -> Option<&'a Node> {
    let name = format!("backend-{region}");
    nodes
        .iter()
        .find(|node| node.role == Role::Backend && node.name == name)
}

/// The loopback addresses of a backend's simulated nodes (see `demo_backend`): its own
/// address plus 1..=N in the last octet.
fn kube_nodes(backend: SocketAddr) -> Vec<String> {
    let IpAddr::V4(ip) = backend.ip() else {
        return Vec::new();
    };
    let octets = ip.octets();
    (1..=NODES_PER_REGION)
        .filter_map(|node| {
            let last = u8::try_from(u32::from(octets[3]) + node).ok()?;
            Some(Ipv4Addr::new(octets[0], octets[1], octets[2], last).to_string())
        })
        .collect()
}

/// The regions, endpoints, checks and GSLB records of the demo as one batch (`POST
/// /v1/changes`), pointing the checks at the running backends.
fn sample_batch(nodes: &[Node]) -> anyhow::Result<gslb_api::dto::BatchRequest> {
    let mut changes = Vec::new();
    for region in &REGIONS {
        let backend = backend_of(nodes, region.id)
            .with_context(|| format!("no backend for region {}", region.id))?
            .http;
        let id = region.id;
        let target = backend.ip().to_string();
        let port = backend.port();
        changes.push(json!({"op": "put_region", "region": {
            "id": id,
            "location": {"lat": region.lat, "lon": region.lon,
                         "country": region.country, "continent": region.continent}}}));
        changes.push(json!({"op": "put_endpoint", "endpoint": {
            "id": format!("{id}-1"), "region": id, "address": region.address}}));
        let timing = json!({"interval_ms": 1000, "timeout_ms": 500, "rise": 1, "fall": 2});
        let mut checks = vec![
            json!({"id": format!("{id}-http"), "endpoint": format!("{id}-1"), "target": target,
                   "kind": {"type": "http", "port": port, "path": "/healthz"}}),
            json!({"id": format!("{id}-replication"), "region": id, "target": target,
                   "kind": {"type": "replication", "port": port, "path": "/replication",
                            "conditions": ["/replication/in_quorum == true",
                                           "/replication/lag_seconds < 5"]}}),
            json!({"id": format!("{id}-nodes"), "region": id,
                   "kind": {"type": "kube-local", "nodes": kube_nodes(backend), "port": port,
                            "path": "/healthz", "min_nodes": MIN_READY_NODES}}),
        ];
        for check in &mut checks {
            if let (Some(check), Some(timing)) = (check.as_object_mut(), timing.as_object()) {
                check.extend(timing.clone());
            }
            changes.push(json!({"op": "put_check", "check": check}));
        }
    }
    let region = |id: &str| json!({"region": id});
    let records = [
        json!({"name": "www", "type": "A", "ttl": 30, "failover_ttl": 5, "unknown_as": "up",
               "policy": {"geo": {
                   "rules": [
                       {"match": [{"continent": "NA"}],
                        "node": {"failover": [region("us-east"), region("eu-west")]}},
                       {"match": [{"continent": "EU"}],
                        "node": {"failover": [region("eu-west"), region("us-east")]}},
                       {"match": [{"continent": "AS"}],
                        "node": {"failover": [region("ap-south"), region("eu-west")]}}],
                   "default": {"latency": [region("us-east"), region("eu-west"),
                                           region("ap-south")]}}}}),
        json!({"name": "api", "type": "A", "ttl": 30, "failover_ttl": 5, "unknown_as": "up",
               "policy": {"weighted": [{"weight": 95, "node": region("us-east")},
                                       {"weight": 5, "node": region("ap-south")}]}}),
        json!({"name": "db", "type": "A", "ttl": 10, "max_answers": 3,
               "split_brain_guard": true, "when_all_down": "fail_closed",
               "policy": {"endpoints": ["us-east-1", "eu-west-1", "ap-south-1"]}}),
    ];
    for record in records {
        changes.push(json!({"op": "put_gslb_record", "zone": DEMO_ZONE, "record": record}));
    }
    serde_json::from_value(json!({ "changes": changes }))
        .context("the demo's sample batch does not fit the API's shapes")
}

/// Writes the sample regions, endpoints, checks and GSLB records through the API (one
/// atomic batch, idempotent on a resumed cluster, where it repoints the checks at this
/// run's backends) and waits until every DNS node serves it.
async fn write_sample(api: &str, plan: &Plan, nodes: &[Node]) -> anyhow::Result<()> {
    let batch = sample_batch(nodes)?;
    let client = gslb_api::client::Client::new(api, Some(plan.token.clone()))
        .with_context(|| format!("cannot build a client of {api}"))?;
    let deadline = Instant::now() + START_TIMEOUT;
    for (vantage, secret) in &plan.prober_tokens {
        create_prober_token(&client, vantage, secret, deadline).await?;
    }
    let written = loop {
        match client.batch(&batch).await {
            Ok(written) => break written,
            // Refusals are the demo's bug; transport trouble may be an election in progress.
            Err(error @ gslb_api::client::ClientError::Api { .. }) => {
                return Err(error).context("the API refused the demo's sample batch")
            }
            Err(error) if Instant::now() >= deadline => {
                return Err(error).context("cannot write the demo's sample batch")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    client
        .wait_insync(written.version, START_TIMEOUT)
        .await
        .context("the sample batch did not reach every DNS node")?;
    Ok(())
}

/// Creates the observe token of the prober of `vantage` (already there on a resumed
/// cluster: kept).
async fn create_prober_token(
    client: &gslb_api::client::Client,
    vantage: &str,
    secret: &str,
    deadline: Instant,
) -> anyhow::Result<()> {
    let request = gslb_api::dto::TokenCreate {
        id: format!("prober-{vantage}"),
        scopes: vec![gslb_api::dto::ScopeDto::Prober],
        expires_at: None,
        vantage: Some(vantage.to_string()),
        secret: Some(secret.to_string()),
    };
    loop {
        match client.create_token(&request).await {
            Ok(_) => return Ok(()),
            Err(error) if error.status() == Some(409) => return Ok(()),
            Err(error @ gslb_api::client::ClientError::Api { .. }) => {
                return Err(error).context("the API refused a prober's token")
            }
            Err(error) if Instant::now() >= deadline => {
                return Err(error).context("cannot create a prober's token")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Decides every node's config: the saved ones of an earlier run in `data_dir`, or fresh
/// ones on the asked and free ports.
fn plan(args: &DemoArgs, data_dir: &Path) -> anyhow::Result<Plan> {
    let token_file = data_dir.join("api-token");
    let saved = node_names();
    if saved
        .iter()
        .all(|(name, _)| data_dir.join(format!("{name}.toml")).exists())
        && token_file.exists()
    {
        let mut nodes = Vec::new();
        for (name, role) in saved {
            let path = data_dir.join(format!("{name}.toml"));
            let text = fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            nodes.push((name, role, text));
        }
        let token = fs::read_to_string(&token_file)
            .with_context(|| format!("cannot read {}", token_file.display()))?
            .trim()
            .to_string();
        return Ok(Plan {
            nodes,
            token,
            prober_tokens: Vec::new(),
            resumed: true,
        });
    }

    let second_dns = if args.dns.port() == 0 {
        args.dns
    } else {
        let port = args
            .dns
            .port()
            .checked_add(1)
            .context("--dns port 65535 leaves no next port for the second node")?;
        SocketAddr::new(args.dns.ip(), port)
    };
    for address in [args.dns, second_dns] {
        ensure_free(address)?;
    }
    let api = if args.api.port() == 0 {
        free_port(args.api)?
    } else {
        TcpListener::bind(args.api).with_context(|| {
            format!(
                "tcp {} is in use (or not bindable); pick another with --api",
                args.api
            )
        })?;
        args.api
    };
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let voters = [api, free_port(loopback)?, free_port(loopback)?];
    let zone_file = data_dir.join("demo.gslb.test.zone");
    fs::write(&zone_file, DEMO_ZONE_FILE)
        .with_context(|| format!("cannot write {}", zone_file.display()))?;
    let token = match &args.token {
        Some(token) => token.clone(),
        None => random_hex(16)?,
    };
    fs::write(&token_file, format!("{token}\n"))
        .with_context(|| format!("cannot write {}", token_file.display()))?;
    let secret = random_hex(24)?;
    let bootstrap = voters
        .iter()
        .enumerate()
        .map(|(index, address)| format!("{} = \"{address}\"", index + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let seeds = voters
        .iter()
        .map(|address| format!("\"{address}\""))
        .collect::<Vec<_>>()
        .join(", ");
    // Learners keep their HTTP port too: the leader replicates to the address they joined
    // with, so a resumed learner on a fresh port would never catch up.
    let mut nodes = Vec::new();
    for (index, address) in voters.iter().enumerate() {
        let id = index + 1;
        let name = format!("voter-{id}");
        let zones = if id == 1 {
            format!("\n[[zones]]\nfile = \"demo.gslb.test.zone\"\norigin = \"{DEMO_ZONE}\"\n")
        } else {
            String::new()
        };
        let text = format!(
            "# gslb demo node {name}: a control-plane voter\n{}\
             role = \"voter\"\nbootstrap = {{ voters = {{ {bootstrap} }} }}\n{RAFT_TIMING}{zones}",
            control_section(&name, id, *address, &secret)
        );
        nodes.push((name, Role::Voter, text));
    }
    let geo: String = REGIONS
        .iter()
        .map(|region| {
            format!(
                "\n[[dns.geo.networks]]\ncidr = \"{}\"\ncountry = \"{}\"\ncontinent = \"{}\"\n\
                 lat = {:.1}\nlon = {:.1}\n",
                region.clients, region.country, region.continent, region.lat, region.lon
            )
        })
        .collect();
    for (index, address) in [args.dns, second_dns].into_iter().enumerate() {
        let id = index + 4;
        let name = format!("dns-{}", index + 1);
        let text = format!(
            "# gslb demo node {name}: a DNS node (Raft learner) in region {}\n{}\
             role = \"learner\"\nseeds = [{seeds}]\n{RAFT_TIMING}\n\
             [dns]\nlisten = [\"{address}\"]\nudp_workers = 1\nregion = \"{}\"\n\n\
             [dns.chaos]\nid = \"{name}\"\n\n[dns.geo]\nreload_interval = \"60s\"\n{geo}",
            REGIONS[index].id,
            control_section(&name, id, free_port(loopback)?, &secret),
            REGIONS[index].id,
        );
        nodes.push((name, Role::Dns, text));
    }
    let mut prober_tokens = Vec::new();
    if WITH_PROBERS {
        for (index, region) in REGIONS.iter().enumerate() {
            let id = index + 6;
            let name = format!("prober-{}", region.id);
            let token = format!("gslb_{}", random_hex(24)?);
            prober_tokens.push((region.id.to_string(), token.clone()));
            let text = format!(
                "# gslb demo node {name}: the prober of region {} (a Raft learner)\n{}\
                 role = \"learner\"\nseeds = [{seeds}]\n{RAFT_TIMING}\n\
                 [prober]\nvantage = \"{}\"\napi = \"http://{api}\"\ntoken = \"{token}\"\n",
                region.id,
                control_section(&name, id, free_port(loopback)?, &secret),
                region.id,
            );
            nodes.push((name, Role::Prober, text));
        }
    }
    Ok(Plan {
        nodes,
        token,
        prober_tokens,
        resumed: false,
    })
}

/// The cluster nodes of the demo, in start order.
fn node_names() -> Vec<(String, Role)> {
    let mut names: Vec<(String, Role)> = vec![
        ("voter-1".to_string(), Role::Voter),
        ("voter-2".to_string(), Role::Voter),
        ("voter-3".to_string(), Role::Voter),
        ("dns-1".to_string(), Role::Dns),
        ("dns-2".to_string(), Role::Dns),
    ];
    if WITH_PROBERS {
        names.extend(
            REGIONS
                .iter()
                .map(|region| (format!("prober-{}", region.id), Role::Prober)),
        );
    }
    names
}

/// Loopback timing: quick elections, still several heartbeats each.
const RAFT_TIMING: &str =
    "\n[control.raft]\nheartbeat = \"100ms\"\nelection_min = \"500ms\"\nelection_max = \"1000ms\"\n";

fn control_section(name: &str, id: usize, listen: SocketAddr, secret: &str) -> String {
    format!(
        "[log]\nformat = \"text\"\nlevel = \"info\"\n\n[control]\nnode_id = {id}\n\
         data_dir = \"{name}.data\"\nlisten = \"{listen}\"\ncluster_secret = \"{secret}\"\n\
         api_token_file = \"api-token\"\n"
    )
}

/// A free TCP port on `address`'s IP (bound and released: the node binds it a moment later).
fn free_port(address: SocketAddr) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(address)
        .with_context(|| format!("cannot bind tcp {address} to pick a free port"))?;
    Ok(listener.local_addr()?)
}

/// `bytes` random bytes from the kernel, as hex.
fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buffer = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut buffer))
        .context("cannot read /dev/urandom")?;
    Ok(buffer.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Refuses early, naming the address, when a port is taken (UDP or TCP).
fn ensure_free(address: SocketAddr) -> anyhow::Result<()> {
    if address.port() == 0 {
        return Ok(());
    }
    UdpSocket::bind(address).with_context(|| {
        format!("udp {address} is in use (or not bindable); pick another with --dns")
    })?;
    TcpListener::bind(address).with_context(|| {
        format!("tcp {address} is in use (or not bindable); pick another with --dns")
    })?;
    Ok(())
}

fn fresh_temp_dir() -> anyhow::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("gslb-demo-{}-{nanos}", std::process::id()));
    fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Reads the child's log until it reports its HTTP listener (and, on a DNS node, its UDP and
/// TCP listeners); records the bound addresses. Fails with the log's tail if the child exits
/// or takes too long.
fn wait_until_listening(node: &mut Node) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let text = fs::read_to_string(&node.log).unwrap_or_default();
        let http = listening_address(&text, "http");
        let udp = listening_address(&text, "udp");
        let tcp = listening_address(&text, "tcp");
        match (node.role, http, udp, tcp) {
            (Role::Dns, Some(http), Some(udp), Some(_)) => {
                node.http = http;
                node.address = Some(udp);
                return Ok(());
            }
            (Role::Voter | Role::Prober | Role::Backend, Some(http), _, _) => {
                node.http = http;
                return Ok(());
            }
            _ => {}
        }
        if let Ok(Some(status)) = node.child.try_wait() {
            bail!(
                "{} exited ({status}) before listening; its log:\n{}",
                node.name,
                tail(&text)
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "{} did not listen within {START_TIMEOUT:?}; its log:\n{}",
                node.name,
                tail(&text)
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Sends a query for `name` (absolute) of type `qtype` (IN) over UDP until the node answers
/// it with NOERROR and at least `min_answers` answer records: the zone, or a GSLB record's
/// healthy answers, have reached it. (A hand-built 12-octet header and
/// question: the demo only checks that the node is up; DNS itself is gslb-dns's business.)
fn wait_until_answering(
    node: &mut Node,
    name: &str,
    qtype: u8,
    min_answers: u16,
) -> anyhow::Result<()> {
    let address = node.address.context("not a DNS node")?;
    let socket = UdpSocket::bind(SocketAddr::new(address.ip(), 0))
        .context("cannot open a udp socket to probe the nodes")?;
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut query = vec![0x47, 0x53, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.trim_end_matches('.').split('.') {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, qtype, 0, 1]); // root label, type, IN
    let deadline = Instant::now() + START_TIMEOUT;
    let mut reply = [0u8; 1500];
    loop {
        socket.send_to(&query, address)?;
        if let Ok(length) = socket.recv(&mut reply) {
            let answered = length >= 12
                && reply[..2] == query[..2]
                && reply[2] & 0x80 != 0
                && reply[3] & 0x0f == 0
                && u16::from_be_bytes([reply[6], reply[7]]) >= min_answers;
            if answered {
                return Ok(());
            }
        }
        if let Ok(Some(status)) = node.child.try_wait() {
            let text = fs::read_to_string(&node.log).unwrap_or_default();
            bail!("{} exited ({status}); its log:\n{}", node.name, tail(&text));
        }
        if Instant::now() >= deadline {
            let text = fs::read_to_string(&node.log).unwrap_or_default();
            bail!(
                "{} listens on {address} but does not answer {name} (type {qtype}) with \
                 NOERROR and {min_answers} answer(s) within {START_TIMEOUT:?}; its log:\n{}",
                node.name,
                tail(&text)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The address from a `listening on <kind> ADDR` log line.
fn listening_address(log: &str, kind: &str) -> Option<SocketAddr> {
    let marker = format!("listening on {kind} ");
    log.lines().find_map(|line| {
        let rest = &line[line.find(&marker)? + marker.len()..];
        // Text logs end the address at a space, JSON logs at the closing quote.
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '"')
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    })
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn print_banner(args: &DemoArgs, data_dir: &Path, plan: &Plan, nodes: &[Node]) {
    let dns: Vec<SocketAddr> = nodes.iter().filter_map(|node| node.address).collect();
    let voter = nodes
        .iter()
        .find(|node| node.role == Role::Voter)
        .map_or(args.api, |node| node.http);
    let api = format!("http://{voter}");
    let token = &plan.token;
    let at = |address: SocketAddr| format!("@{} -p {}", address.ip(), address.port());
    let backend = |region: &str| {
        backend_of(nodes, region).map_or_else(String::new, |node| format!("http://{}", node.http))
    };
    if plan.resumed {
        say!(
            "gslb demo: resumed the cluster of an earlier run in {} (its ports; --dns, --api \
             and --token apply to a fresh data dir only)",
            data_dir.display()
        );
    }
    let probers = if WITH_PROBERS {
        ", a prober per region"
    } else {
        ""
    };
    say!(
        "gslb demo: a 3-voter control plane and {} DNS nodes (Raft learners){probers} on \
         loopback; zone {DEMO_ZONE} with GSLB records www, api and db written through the \
         control plane",
        dns.len()
    );
    for node in nodes {
        let pid = node.child.id();
        let log = node.log.display();
        match (node.role, node.address) {
            (Role::Dns, Some(address)) => say!(
                "  node {} pid {pid} dns udp+tcp {address} http {} log {log}",
                node.name,
                node.http
            ),
            (Role::Backend, _) => {
                let port = node.http.port();
                let kube = kube_nodes(node.http)
                    .iter()
                    .map(|ip| format!("{ip}:{port}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                say!(
                    "  {} pid {pid} http {} (healthz, replication) nodes {kube} log {log}",
                    node.name,
                    node.http
                );
            }
            (Role::Prober, _) => say!(
                "  node {} pid {pid} prober http {} log {log}",
                node.name,
                node.http
            ),
            _ => say!(
                "  node {} pid {pid} api+raft http {} log {log}",
                node.name,
                node.http
            ),
        }
    }
    say!("  data dir {}", data_dir.display());
    say!("  api {api}  token {token}");
    say!();
    say!("regions (endpoint address, clients placed there by [dns.geo]):");
    for region in &REGIONS {
        say!(
            "  {:<9} {}  {} {}  clients {}",
            region.id,
            region.address,
            region.country,
            region.continent,
            region.clients
        );
    }
    say!();
    say!("try:");
    let first = at(dns[0]);
    say!("  # www: geo by continent with failover inside (ECS +subnet= says where the");
    say!("  # client is), the lowest RTT from this DNS node's prober for anyone else");
    for region in &REGIONS {
        say!(
            "  dig {first} www.demo.gslb.test A +subnet={}",
            region.clients
        );
    }
    say!("  dig {first} www.demo.gslb.test A");
    say!("  # api: weighted, 95% primary (us-east) and 5% disaster recovery (ap-south)");
    say!("  dig {first} api.demo.gslb.test A");
    say!("  # db: every region whose replication a quorum of probers confirmed (a lease);");
    say!("  # split_brain_guard, and fail_closed: no answer rather than a split region");
    say!("  dig {first} db.demo.gslb.test A");
    let lines = [
        (
            "static records beside them: an IPv6 address",
            "www.demo.gslb.test AAAA",
        ),
        ("an alias (CNAME) of www", "shop.demo.gslb.test A"),
        (
            "mail, policy and CA records at the apex",
            "demo.gslb.test MX",
        ),
        ("", "demo.gslb.test TXT"),
        ("", "demo.gslb.test CAA"),
        ("a service record", "_sip._tcp.demo.gslb.test SRV"),
        (
            "any name under apps (wildcard)",
            "anything.apps.demo.gslb.test A",
        ),
        (
            "a delegated child zone: a referral with glue, AA clear",
            "host.sub.demo.gslb.test A",
        ),
        ("the same over TCP", "demo.gslb.test SOA +tcp"),
        ("the server's identity (CHAOS)", "version.bind TXT CH"),
    ];
    for (what, query) in lines {
        if !what.is_empty() {
            say!("  # {what}");
        }
        say!("  dig {first} {query}");
    }
    say!("  # the second DNS node answers the same");
    say!("  dig {} www.demo.gslb.test A", at(dns[1]));
    say!();
    say!("  # change the zone through the API (any node forwards to the leader) ...");
    say!(
        "  curl -sS -X PUT -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \
         -d '{{\"name\":\"new\",\"type\":\"A\",\"data\":[\"192.0.2.99\"]}}' \
         {api}/v1/zones/{DEMO_ZONE}/records/new/A"
    );
    say!("  # ... and both DNS nodes answer it");
    say!("  dig {first} new.demo.gslb.test A");
    say!("  dig {} new.demo.gslb.test A", at(dns[1]));
    // The gslbctl built next to this binary, when there is one (`cargo run -- demo`).
    let gslbctl = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name("gslbctl"))
        .filter(|path| path.exists())
        .map_or_else(|| "gslbctl".to_string(), |path| path.display().to_string());
    let resolve = format!("{gslbctl} resolve");
    say!("  # the same with gslbctl: status, health with every vote, and why www answers");
    say!("  # a client what it does (the API places clients by /v1/networks and its own");
    say!("  # [dns.geo]; the demo's table is the DNS nodes' [dns.geo], so resolve shows the");
    say!("  # branch for clients of unknown location unless you `gslbctl create networks`)");
    say!("  export GSLB_API={api} GSLB_TOKEN={token}");
    say!("  {gslbctl} cluster status");
    say!("  {gslbctl} health");
    say!(
        "  {resolve} www.demo.gslb.test --client {} --explain",
        REGIONS[0].client
    );
    say!("  {gslbctl} zone export {DEMO_ZONE}");
    say!();
    if WITH_PROBERS {
        let eu = backend("eu-west");
        let ap = backend("ap-south");
        say!("  # cut eu-west's replication: its probers' check fails within ~2 s, the region");
        say!("  # goes down, and db stops answering 192.0.2.20 (EU clients of www move on)");
        say!("  curl -sS -X POST {eu}/demo/replication -d '{{\"in_quorum\": false}}'");
        say!("  dig {first} db.demo.gslb.test A");
        say!(
            "  dig {first} www.demo.gslb.test A +subnet={}",
            REGIONS[1].clients
        );
        say!("  {resolve} db.demo.gslb.test --explain");
        say!("  # heal it: the next confirmation renews its lease and db answers it again");
        say!("  curl -sS -X POST {eu}/demo/replication -d '{{\"in_quorum\": true}}'");
        say!();
        say!(
            "  # lose capacity: leave ap-south {} ready node(s) of {NODES_PER_REGION} (its \
             kube-local check needs {MIN_READY_NODES}),",
            MIN_READY_NODES - 1
        );
        say!("  # watch its clients fail over to eu-west, then bring the nodes back");
        say!(
            "  curl -sS -X POST {ap}/demo/nodes -d '{{\"ready\": {}}}'",
            MIN_READY_NODES - 1
        );
        say!("  {gslbctl} health");
        say!(
            "  dig {first} www.demo.gslb.test A +subnet={}",
            REGIONS[2].clients
        );
        say!("  curl -sS -X POST {ap}/demo/nodes -d '{{\"ready\": {NODES_PER_REGION}}}'");
        say!();
        say!("  # a failover drill: preview where eu-west's clients go and each survivor's");
        say!("  # load, then fail eu-west for 10 s through the probers; it ends by itself,");
        say!("  # and the report gives each DNS node's convergence out and back");
        say!("  {gslbctl} drill plan --region eu-west --mode fail");
        say!("  {gslbctl} drill start --region eu-west --mode fail --for 10s");
        say!("  {gslbctl} drill status");
    } else {
        say!("not built yet, so not started: probers. Nothing probes the backends, so");
        say!("health stays unknown: www and api answer as if up (unknown_as up), and db,");
        say!("guarded by replication leases only probers renew, answers nothing.");
    }
    if args.api.port() != 0 && voter != args.api {
        say!(
            "  (--api {} not used: the resumed cluster keeps its ports)",
            args.api
        );
    }
    say!();
    say!("press Ctrl-C to stop");
}

/// SIGINT and SIGTERM, watched from the moment this is made (needs a runtime context).
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn watch() -> anyhow::Result<StopSignals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
        })
    }
}

/// Blocks until SIGINT/SIGTERM, or fails when a child exits on its own.
async fn wait_for_stop(mut signals: StopSignals, nodes: &mut Nodes) -> anyhow::Result<()> {
    let mut check = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            biased;
            _ = signals.terminate.recv() => return Ok(()),
            _ = signals.interrupt.recv() => return Ok(()),
            _ = check.tick() => {
                for node in &mut nodes.0 {
                    if let Ok(Some(status)) = node.child.try_wait() {
                        let log = fs::read_to_string(&node.log).unwrap_or_default();
                        bail!("{} exited ({status}); its log:\n{}", node.name, tail(&log));
                    }
                }
            }
        }
    }
}

/// Touches every record type the answer path serves today; `www`, `api` and `db` are GSLB
/// records the demo writes through the API (a name has one answer per type, so they have
/// no static A sets here).
const DEMO_ZONE_FILE: &str = r#"; gslb demo zone
$ORIGIN demo.gslb.test.
$TTL 300
@           3600 IN SOA  ns1 hostmaster 2026112401 3600 600 86400 60
@           3600 IN NS   ns1
@           3600 IN NS   ns2
ns1              IN A    127.0.0.1
ns2              IN A    127.0.0.2
@                IN MX   10 mail
mail             IN A    192.0.2.25
@                IN TXT  "v=spf1 mx -all"
@                IN CAA  0 issue "letsencrypt.org"
www              IN AAAA 2001:db8::10
shop             IN CNAME www
_sip._tcp        IN SRV  10 60 5060 sip
sip              IN A    192.0.2.40
*.apps           IN A    192.0.2.50
sub              IN NS   ns1.sub
ns1.sub          IN A    192.0.2.53
"#;

#[cfg(test)]
mod tests {
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
            token: Some("t0k3n".to_string()),
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
