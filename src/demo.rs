//! `gslb demo`: a sample zone served by two DNS nodes running as real child processes
//! (`gslb serve --config ...` of this very binary), and `dig` lines that work as printed.
//!
//! What DESIGN.md's demo adds later (the 3-voter control plane, probers, sample regions
//! with health backends, the API and `gslbctl`) is not built yet; the demo says so.
//! Children get a parent-death signal, and Ctrl-C / SIGTERM stop every one of them.

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
    /// Address the API would listen on (not served yet: accepted and printed).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8053")]
    api: SocketAddr,
    /// Bearer token the API would require (not served yet: accepted and printed).
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Where configs, the zone file and node logs go (default: a fresh temporary directory,
    /// removed on exit).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// One running DNS node.
struct Node {
    name: String,
    child: Child,
    log: PathBuf,
    address: SocketAddr,
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

fn run_in(args: &DemoArgs, data_dir: &Path) -> anyhow::Result<()> {
    let second = if args.dns.port() == 0 {
        args.dns
    } else {
        let port = args
            .dns
            .port()
            .checked_add(1)
            .context("--dns port 65535 leaves no next port for the second node")?;
        SocketAddr::new(args.dns.ip(), port)
    };
    for address in [args.dns, second] {
        ensure_free(address)?;
    }
    let zone_file = data_dir.join("demo.gslb.test.zone");
    fs::write(&zone_file, DEMO_ZONE_FILE)
        .with_context(|| format!("cannot write {}", zone_file.display()))?;

    let executable = std::env::current_exe().context("cannot find the gslb executable")?;
    let mut nodes = Nodes(Vec::new());
    for (index, address) in [args.dns, second].into_iter().enumerate() {
        let name = format!("dns-{}", index + 1);
        let config = data_dir.join(format!("{name}.toml"));
        fs::write(&config, node_config(&name, address))
            .with_context(|| format!("cannot write {}", config.display()))?;
        let log = data_dir.join(format!("{name}.log"));
        let log_file =
            fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(&executable);
        command
            .arg("serve")
            .arg("--config")
            .arg(&config)
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
        nodes.0.push(Node {
            name,
            child,
            log,
            address,
        });
    }
    for node in &mut nodes.0 {
        node.address = wait_until_listening(node)?;
        wait_until_answering(node)?;
    }

    print_banner(args, data_dir, &nodes.0);
    wait_for_stop(&mut nodes)?;
    println!("stopping {} node(s)", nodes.0.len());
    drop(nodes);
    println!("stopped");
    Ok(())
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

/// Reads the node's log until it reports its UDP and TCP listeners; returns the bound
/// address. Fails with the log's tail if the node exits or takes too long.
fn wait_until_listening(node: &mut Node) -> anyhow::Result<SocketAddr> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let text = fs::read_to_string(&node.log).unwrap_or_default();
        let udp = listening_address(&text, "udp");
        let tcp = listening_address(&text, "tcp");
        if let (Some(udp), Some(_)) = (udp, tcp) {
            return Ok(udp);
        }
        if let Ok(Some(status)) = node.child.try_wait() {
            bail!(
                "{} exited ({status}) before listening on {}; its log:\n{}",
                node.name,
                node.address,
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

/// Sends the SOA query of the demo zone over UDP until the node answers it with NOERROR.
/// (A hand-built 12-octet header and question: the demo only checks that the node is up;
/// DNS itself is gslb-dns's business.)
fn wait_until_answering(node: &mut Node) -> anyhow::Result<()> {
    let socket = UdpSocket::bind(SocketAddr::new(node.address.ip(), 0))
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
        socket.send_to(&query, node.address)?;
        if let Ok(length) = socket.recv(&mut reply) {
            let answered = length >= 12
                && reply[..2] == query[..2]
                && reply[2] & 0x80 != 0
                && reply[3] & 0x0f == 0;
            if answered {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "{} listens on {} but does not answer {DEMO_ZONE} SOA",
                node.name,
                node.address
            );
        }
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

fn print_banner(args: &DemoArgs, data_dir: &Path, nodes: &[Node]) {
    let first = nodes[0].address;
    let second = nodes[1].address;
    let at = |address: SocketAddr| format!("@{} -p {}", address.ip(), address.port());
    println!(
        "gslb demo: zone {DEMO_ZONE} served by {} DNS nodes",
        nodes.len()
    );
    for node in nodes {
        println!(
            "  node {} pid {} udp+tcp {} log {}",
            node.name,
            node.child.id(),
            node.address,
            node.log.display()
        );
    }
    println!("  data dir {}", data_dir.display());
    println!();
    println!("try:");
    let lines = [
        (
            "a name with two addresses",
            "www.demo.gslb.test A".to_string(),
        ),
        ("its IPv6 address", "www.demo.gslb.test AAAA".to_string()),
        (
            "an alias (CNAME) of www",
            "shop.demo.gslb.test A".to_string(),
        ),
        (
            "mail, policy and CA records at the apex",
            "demo.gslb.test MX".to_string(),
        ),
        ("", "demo.gslb.test TXT".to_string()),
        ("", "demo.gslb.test CAA".to_string()),
        (
            "a service record",
            "_sip._tcp.demo.gslb.test SRV".to_string(),
        ),
        (
            "any name under apps (wildcard)",
            "anything.apps.demo.gslb.test A".to_string(),
        ),
        (
            "a delegated child zone: a referral with glue, AA clear",
            "host.sub.demo.gslb.test A".to_string(),
        ),
        ("the same over TCP", "demo.gslb.test SOA +tcp".to_string()),
        (
            "the server's identity (CHAOS)",
            "version.bind TXT CH".to_string(),
        ),
    ];
    for (what, query) in lines {
        if !what.is_empty() {
            println!("  # {what}");
        }
        println!("  dig {} {query}", at(first));
    }
    println!("  # the second node answers the same");
    println!("  dig {} www.demo.gslb.test A", at(second));
    println!();
    println!("not built yet, so not started: the 3-voter control plane, probers, sample");
    println!("regions with health backends, and the REST API / gslbctl.");
    println!(
        "  api {} and token {}: accepted, not served yet",
        args.api,
        args.token.as_deref().unwrap_or("(none)")
    );
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

fn node_config(name: &str, address: SocketAddr) -> String {
    format!(
        r#"# gslb demo node {name}
[log]
format = "text"
level = "info"

[dns]
listen = ["{address}"]
udp_workers = 1

[dns.chaos]
id = "{name}"

[[zones]]
file = "demo.gslb.test.zone"
origin = "{DEMO_ZONE}"
"#
    )
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
    fn the_demo_zone_and_node_config_are_valid() {
        let origin = gslb_store::DomainName::parse_absolute(DEMO_ZONE).unwrap();
        let zone = gslb_store::zonefile::parse_zone(DEMO_ZONE_FILE, "demo", Some(&origin), None)
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(zone.rrsets.len() > 10);
        let config = node_config("dns-1", "127.0.0.1:5353".parse().unwrap());
        crate::config::parse(&config, Path::new("/tmp/dns-1.toml")).unwrap();
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
