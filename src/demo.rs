//! `gslb demo`: a 3-voter control plane and two DNS nodes (Raft learners) running as real
//! child processes (`gslb serve --config ...` of this very binary) on loopback. The first
//! voter creates the cluster and writes the sample zone through it (`PutZone`); the demo waits
//! until both DNS nodes answer it, then prints `dig`, `curl` and `gslbctl` lines that work as
//! printed, with the API's address and token.
//!
//! What DESIGN.md's demo adds later (probers, sample regions with health backends, GSLB
//! records) is not built yet; the demo says so. Children get a parent-death signal, and
//! Ctrl-C / SIGTERM stop every one of them. A `--data-dir` of an earlier run resumes that
//! cluster from disk (same ports, since Raft knows voters by address).

use std::fs;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::process;

/// The sample zone's apex.
const DEMO_ZONE: &str = "demo.gslb.test.";

/// How long nodes get to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a node gets to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

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

/// What a demo node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A control-plane voter (Raft RPC and API on `http`).
    Voter,
    /// A DNS node: a Raft learner answering DNS.
    Dns,
}

/// One running node.
struct Node {
    name: String,
    role: Role,
    child: Child,
    log: PathBuf,
    /// DNS address (UDP and TCP), for DNS nodes.
    address: Option<SocketAddr>,
    /// HTTP address: Raft RPC and the API.
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
    }
}

/// Runs the demo until Ctrl-C or SIGTERM.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
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
    /// True when an earlier run's cluster is resumed.
    resumed: bool,
}

fn run_in(args: &DemoArgs, data_dir: &Path) -> anyhow::Result<()> {
    let plan = plan(args, data_dir)?;
    let executable = std::env::current_exe().context("cannot find the gslb executable")?;
    let mut nodes = Nodes(Vec::new());
    for (name, role, config_text) in &plan.nodes {
        let config = data_dir.join(format!("{name}.toml"));
        fs::write(&config, config_text)
            .with_context(|| format!("cannot write {}", config.display()))?;
        let log = data_dir.join(format!("{name}.log"));
        let log_file =
            fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(&executable);
        command
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        // Own process group: a terminal's Ctrl-C reaches only the demo, which then stops
        // the nodes itself (and reports no node as "exited on its own").
        command.process_group(0);
        process::die_with_parent(&mut command);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let mut node = Node {
            name: name.clone(),
            role: *role,
            child,
            log,
            address: None,
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        wait_until_listening(&mut node)?;
        nodes.0.push(node);
    }
    for node in nodes.0.iter_mut().filter(|node| node.role == Role::Dns) {
        wait_until_answering(node)?;
    }

    print_banner(args, data_dir, &plan, &nodes.0);
    wait_for_stop(&mut nodes)?;
    println!("stopping {} node(s)", nodes.0.len());
    drop(nodes);
    println!("stopped");
    Ok(())
}

/// Decides every node's config: the saved ones of an earlier run in `data_dir`, or fresh
/// ones on the asked and free ports.
fn plan(args: &DemoArgs, data_dir: &Path) -> anyhow::Result<Plan> {
    let token_file = data_dir.join("api-token");
    let saved: Vec<(String, Role)> = NODE_NAMES
        .iter()
        .map(|(name, role)| (name.to_string(), *role))
        .collect();
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
    for (index, address) in [args.dns, second_dns].into_iter().enumerate() {
        let id = index + 4;
        let name = format!("dns-{}", index + 1);
        let text = format!(
            "# gslb demo node {name}: a DNS node (Raft learner)\n{}\
             role = \"learner\"\nseeds = [{seeds}]\n{RAFT_TIMING}\n\
             [dns]\nlisten = [\"{address}\"]\nudp_workers = 1\n\n[dns.chaos]\nid = \"{name}\"\n",
            control_section(&name, id, loopback, &secret)
        );
        nodes.push((name, Role::Dns, text));
    }
    Ok(Plan {
        nodes,
        token,
        resumed: false,
    })
}

/// The nodes of the demo, in start order.
const NODE_NAMES: [(&str, Role); 5] = [
    ("voter-1", Role::Voter),
    ("voter-2", Role::Voter),
    ("voter-3", Role::Voter),
    ("dns-1", Role::Dns),
    ("dns-2", Role::Dns),
];

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

/// Reads the node's log until it reports its HTTP listener (and, on a DNS node, its UDP and
/// TCP listeners); records the bound addresses. Fails with the log's tail if the node exits
/// or takes too long.
fn wait_until_listening(node: &mut Node) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let text = fs::read_to_string(&node.log).unwrap_or_default();
        let http = listening_address(&text, "http");
        let udp = listening_address(&text, "udp");
        let tcp = listening_address(&text, "tcp");
        match (node.role, http, udp, tcp) {
            (Role::Voter, Some(http), _, _) => {
                node.http = http;
                return Ok(());
            }
            (Role::Dns, Some(http), Some(udp), Some(_)) => {
                node.http = http;
                node.address = Some(udp);
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

/// Sends the SOA query of the demo zone over UDP until the node answers it with NOERROR,
/// i.e. until the zone written through the control plane has reached it. (A hand-built
/// 12-octet header and question: the demo only checks that the node is up; DNS itself is
/// gslb-dns's business.)
fn wait_until_answering(node: &mut Node) -> anyhow::Result<()> {
    let address = node.address.context("not a DNS node")?;
    let socket = UdpSocket::bind(SocketAddr::new(address.ip(), 0))
        .context("cannot open a udp socket to probe the nodes")?;
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut query = vec![0x47, 0x53, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in DEMO_ZONE.trim_end_matches('.').split('.') {
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, 0, 6, 0, 1]); // root label, SOA, IN
    let deadline = Instant::now() + START_TIMEOUT;
    let mut reply = [0u8; 1500];
    loop {
        socket.send_to(&query, address)?;
        if let Ok(length) = socket.recv(&mut reply) {
            let answered = length >= 12
                && reply[..2] == query[..2]
                && reply[2] & 0x80 != 0
                && reply[3] & 0x0f == 0;
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
                "{} listens on {address} but does not answer {DEMO_ZONE} SOA within \
                 {START_TIMEOUT:?}; its log:\n{}",
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
    let api = format!("http://{}", nodes[0].http);
    let token = &plan.token;
    let at = |address: SocketAddr| format!("@{} -p {}", address.ip(), address.port());
    if plan.resumed {
        println!(
            "gslb demo: resumed the cluster of an earlier run in {} (its ports; --dns, --api \
             and --token apply to a fresh data dir only)",
            data_dir.display()
        );
    }
    println!(
        "gslb demo: a 3-voter control plane and {} DNS nodes (Raft learners) on loopback; \
         zone {DEMO_ZONE} written through the control plane",
        dns.len()
    );
    for node in nodes {
        match node.address {
            Some(address) => println!(
                "  node {} pid {} dns udp+tcp {address} http {} log {}",
                node.name,
                node.child.id(),
                node.http,
                node.log.display()
            ),
            None => println!(
                "  node {} pid {} api+raft http {} log {}",
                node.name,
                node.child.id(),
                node.http,
                node.log.display()
            ),
        }
    }
    println!("  data dir {}", data_dir.display());
    println!("  api {api}  token {token}");
    println!();
    println!("try:");
    let lines = [
        ("a name with two addresses", "www.demo.gslb.test A"),
        ("its IPv6 address", "www.demo.gslb.test AAAA"),
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
            println!("  # {what}");
        }
        println!("  dig {} {query}", at(dns[0]));
    }
    println!("  # the second DNS node answers the same");
    println!("  dig {} www.demo.gslb.test A", at(dns[1]));
    println!();
    println!("  # change the zone through the API (any node forwards to the leader) ...");
    println!(
        "  curl -sS -X PUT -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \
         -d '{{\"name\":\"new\",\"type\":\"A\",\"data\":[\"192.0.2.99\"]}}' \
         {api}/v1/zones/{DEMO_ZONE}/records/new/A"
    );
    println!("  # ... and both DNS nodes answer it");
    println!("  dig {} new.demo.gslb.test A", at(dns[0]));
    println!("  dig {} new.demo.gslb.test A", at(dns[1]));
    // The gslbctl built next to this binary, when there is one (`cargo run -- demo`).
    let gslbctl = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name("gslbctl"))
        .filter(|path| path.exists())
        .map_or_else(|| "gslbctl".to_string(), |path| path.display().to_string());
    println!("  # the same with gslbctl");
    println!("  export GSLB_API={api} GSLB_TOKEN={token}");
    println!("  {gslbctl} cluster status");
    println!("  {gslbctl} zone export {DEMO_ZONE}");
    println!();
    println!("not built yet, so not started: probers, sample regions with health backends");
    println!("(health, replication status, healthCheckNodePort), and GSLB records answered by");
    println!("policy; the zone is static records only.");
    if args.api.port() != 0 && nodes[0].http != args.api {
        println!(
            "  (--api {} not used: the resumed cluster keeps its ports)",
            args.api
        );
    }
    println!();
    println!("press Ctrl-C to stop");
}

/// Blocks until SIGINT/SIGTERM, or fails when a node exits on its own.
fn wait_for_stop(nodes: &mut Nodes) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("cannot watch SIGTERM")?;
        let mut check = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                biased;
                _ = terminate.recv() => return Ok(()),
                _ = tokio::signal::ctrl_c() => return Ok(()),
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
    })
}

/// Touches every record type the answer path serves today.
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
www              IN A    192.0.2.10
www              IN A    192.0.2.11
www              IN AAAA 2001:db8::10
api              IN A    192.0.2.20
db               IN A    192.0.2.30
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
        let origin = gslb_store::DomainName::parse_absolute(DEMO_ZONE).unwrap();
        let zone = gslb_store::zonefile::parse_zone(DEMO_ZONE_FILE, "demo", Some(&origin), None)
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
        assert_eq!(plan.nodes.len(), 5);
        for (name, _, text) in &plan.nodes {
            let path = dir.join(format!("{name}.toml"));
            if let Err(error) = crate::config::parse(text, &path) {
                panic!("{name}: {error}\n{text}");
            }
        }
        let _ = fs::remove_dir_all(&dir);
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
