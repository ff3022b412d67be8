//! A control-plane cluster of real `gslb serve` processes on loopback: voters and DNS
//! learners with `[control]` configs, HTTP and DNS on port 0 (the bound ports are read from
//! the `listening on` lines and pinned for restarts, since Raft remembers peers by address),
//! writes and cluster status through the REST API, and a minimal HTTP client for it.
//!
//! Every process is killed on `Drop`; every wait has a deadline and a reason.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{dig, listening_address, DigReply, LogLines, TempDir, GSLB, START_TIMEOUT};

/// The cluster secret every test node shares.
pub const SECRET: &str = "test-cluster-secret-0123456789";

/// The API's initial admin token on every test node.
pub const TOKEN: &str = "test-api-token-0123456789";

/// Raft timing for tests: fast elections on loopback, still several heartbeats each, and a
/// snapshot every 20 entries so restarts restore from a snapshot plus the log after it.
const RAFT_TIMING: &str = "[control.raft]\nheartbeat = \"100ms\"\nelection_min = \"500ms\"\n\
                           election_max = \"1000ms\"\nsnapshot_every = 20\n";

/// The zone the bootstrap voter imports from its config.
pub const ZONE: &str = "$ORIGIN cp.test.
$TTL 60
@    3600 IN SOA ns1 hostmaster 1 3600 600 86400 60
@    3600 IN NS  ns1
ns1       IN A   192.0.2.1
www       IN A   192.0.2.10
";

/// What a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The voter that creates the cluster and imports the zone file.
    Bootstrap,
    /// A voter that joins through seeds and asks to be promoted.
    Voter,
    /// A learner that answers DNS.
    DnsLearner,
    /// A learner without DNS (e.g. a prober node, its `[prober]` table in `extra`).
    Learner,
}

/// One `gslb serve` process of the cluster.
pub struct ClusterNode {
    /// `voter-1`, `dns-4`, ...
    pub name: String,
    /// Its Raft id.
    pub id: u64,
    /// Its role.
    pub kind: Kind,
    /// The running process, if any.
    pub child: Option<Child>,
    /// Its stderr, this run.
    pub log: LogLines,
    /// Bound HTTP address (Raft RPC, probes).
    pub http: SocketAddr,
    /// Bound DNS address, for DNS learners.
    pub dns: Option<SocketAddr>,
    /// Seeds it joins through.
    seeds: Vec<SocketAddr>,
    /// For the bootstrap voter: list the zone file in its config (takes effect at the next
    /// `spawn`).
    pub import_zone: bool,
    /// Its directory (config, data).
    dir: PathBuf,
    /// Lines appended to a DNS learner's `[dns]` table (`region = ...`, `[dns.geo]` tables).
    pub dns_extra: String,
    /// Tables appended at the end of the config (`[prober]`), kept for restarts.
    pub extra: String,
    /// The `[control.raft]` table (default `RAFT_TIMING`); a test that must not see an
    /// election on a loaded machine sets longer timeouts before `spawn`.
    pub raft_timing: String,
}

impl ClusterNode {
    /// Starts node `id` of `kind` in a subdirectory of `root` on port 0.
    pub fn start(root: &TempDir, id: u64, kind: Kind, seeds: &[SocketAddr]) -> ClusterNode {
        ClusterNode::start_with(root, id, kind, seeds, kind == Kind::Bootstrap)
    }

    /// `start`, saying whether a bootstrap voter lists the zone file.
    pub fn start_with(
        root: &TempDir,
        id: u64,
        kind: Kind,
        seeds: &[SocketAddr],
        import_zone: bool,
    ) -> ClusterNode {
        ClusterNode::start_configured(root, id, kind, seeds, import_zone, "")
    }

    /// Starts DNS learner `id` with `dns_extra` appended to its `[dns]` table (settings,
    /// then sub-tables such as `[dns.geo]`), kept for restarts.
    pub fn start_dns_learner_with(
        root: &TempDir,
        id: u64,
        seeds: &[SocketAddr],
        dns_extra: &str,
    ) -> ClusterNode {
        ClusterNode::start_configured(root, id, Kind::DnsLearner, seeds, false, dns_extra)
    }

    /// Starts learner `id` without DNS, with `extra` tables (such as `[prober]`) appended to
    /// its config, kept for restarts.
    pub fn start_learner_with(
        root: &TempDir,
        id: u64,
        seeds: &[SocketAddr],
        extra: &str,
    ) -> ClusterNode {
        let mut node = ClusterNode::configure(root, id, Kind::Learner, seeds, false, "");
        node.extra = extra.to_string();
        node.spawn();
        node
    }

    fn start_configured(
        root: &TempDir,
        id: u64,
        kind: Kind,
        seeds: &[SocketAddr],
        import_zone: bool,
        dns_extra: &str,
    ) -> ClusterNode {
        let mut node = ClusterNode::configure(root, id, kind, seeds, import_zone, dns_extra);
        node.spawn();
        node
    }

    /// Node `id` of `kind`, configured (HTTP on port 0) but not started: set `http` to a
    /// fixed port first when an offline command needs the address (`gslb restore`).
    pub fn prepare(root: &TempDir, id: u64, kind: Kind, seeds: &[SocketAddr]) -> ClusterNode {
        ClusterNode::configure(root, id, kind, seeds, false, "")
    }

    /// The node as `start_configured` describes it, not started yet.
    fn configure(
        root: &TempDir,
        id: u64,
        kind: Kind,
        seeds: &[SocketAddr],
        import_zone: bool,
        dns_extra: &str,
    ) -> ClusterNode {
        let name = match kind {
            Kind::DnsLearner => format!("dns-{id}"),
            Kind::Learner => format!("learner-{id}"),
            _ => format!("voter-{id}"),
        };
        let dir = root.0.join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        ClusterNode {
            name,
            id,
            kind,
            child: None,
            log: LogLines::default(),
            http: "127.0.0.1:0".parse().unwrap(),
            dns: (kind == Kind::DnsLearner).then(super::dns_listen_address),
            seeds: seeds.to_vec(),
            import_zone,
            dir,
            dns_extra: dns_extra.to_string(),
            extra: String::new(),
            raft_timing: RAFT_TIMING.to_string(),
        }
    }

    /// The config for the current addresses (port 0 on first start, the bound ports after).
    fn config(&self) -> String {
        let mut text = format!(
            "[log]\nlevel = \"info\"\n\n[control]\nnode_id = {}\ndata_dir = \"data\"\n\
             listen = \"{}\"\ncluster_secret = \"{SECRET}\"\napi_token = \"{TOKEN}\"\nstale_after = \"1s\"\n",
            self.id, self.http
        );
        match self.kind {
            Kind::Bootstrap => text.push_str(&format!(
                "role = \"voter\"\nbootstrap = {{ voters = {{ {} = \"{}\" }} }}\n",
                self.id, self.http
            )),
            Kind::Voter => text.push_str("role = \"voter\"\n"),
            Kind::DnsLearner | Kind::Learner => text.push_str("role = \"learner\"\n"),
        }
        if !self.seeds.is_empty() {
            let seeds: Vec<String> = self.seeds.iter().map(|s| format!("\"{s}\"")).collect();
            text.push_str(&format!("seeds = [{}]\n", seeds.join(", ")));
        }
        text.push_str(&self.raft_timing);
        if let Some(dns) = self.dns {
            text.push_str(&format!("\n[dns]\nlisten = [\"{dns}\"]\nudp_workers = 1\n"));
            text.push_str(&self.dns_extra);
            text.push('\n');
        }
        if !self.extra.is_empty() {
            text.push('\n');
            text.push_str(&self.extra);
            text.push('\n');
        }
        if self.import_zone {
            text.push_str("\n[[zones]]\nfile = \"cp.test.zone\"\norigin = \"cp.test.\"\n");
        }
        text
    }

    /// Writes `node.toml` (and the zone file it may name) for the current addresses and
    /// returns its path: what `spawn` runs, and what offline commands (`gslb restore`,
    /// `gslb recover`) read.
    pub fn write_config(&self) -> PathBuf {
        std::fs::write(self.dir.join("cp.test.zone"), ZONE).unwrap();
        let config = self.dir.join("node.toml");
        std::fs::write(&config, self.config()).unwrap();
        config
    }

    /// The node's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Starts the process with the current config and waits for its listeners.
    pub fn spawn(&mut self) {
        self.spawn_until_http();
        if self.dns.is_some() {
            let Some(line) = self.log.wait_for("listening on udp ", START_TIMEOUT) else {
                panic!(
                    "{} did not listen on udp; its log:\n{}",
                    self.name,
                    self.log.text()
                );
            };
            self.dns = Some(listening_address(&line, "udp").unwrap());
        }
        eprintln!(
            "-- {} (id {}) pid {} http {} dns {:?}",
            self.name,
            self.id,
            self.pid(),
            self.http,
            self.dns
        );
    }

    /// Starts the process with the current config and waits only for its HTTP listener (a
    /// DNS learner's DNS address is the fixed one of its config): what a script sees.
    pub fn spawn_until_http(&mut self) {
        assert!(self.child.is_none(), "{} already runs", self.name);
        let config = self.write_config();
        let mut child = Command::new(GSLB)
            .args(["serve", "--config"])
            .arg(&config)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gslb serve");
        let log = LogLines::follow(child.stderr.take().unwrap());
        self.child = Some(child);
        self.log = log;
        let Some(line) = self.log.wait_for("listening on http ", START_TIMEOUT) else {
            panic!(
                "{} did not listen on http; its log:\n{}",
                self.name,
                self.log.text()
            );
        };
        self.http = listening_address(&line, "http").unwrap();
    }

    /// The process id of the current run.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            eprintln!("-- kill -9 {} (pid {})", self.name, child.id());
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            super::send_signal(child.id(), "TERM");
            let status = super::wait_exit(&mut child, Duration::from_secs(15));
            let status = status.unwrap_or_else(|| {
                let _ = child.kill();
                panic!(
                    "{} did not exit on SIGTERM; its log:\n{}",
                    self.name,
                    self.log.text()
                )
            });
            assert!(
                status.success(),
                "{} exited {status}:\n{}",
                self.name,
                self.log.text()
            );
        }
    }

    /// Queries this node's DNS listener.
    pub fn dig(&self, args: &[&str]) -> DigReply {
        dig(self.dns.expect("a DNS learner"), args)
    }

    /// The addresses `dig NAME A` returns, sorted (empty on failure).
    pub fn addresses(&self, name: &str) -> Vec<String> {
        self.dig(&[name, "A", "+norec"]).a_addresses()
    }

    /// True once the node wrote a state-machine snapshot into its data dir.
    pub fn has_snapshot(&self) -> bool {
        self.data_dir().join("snapshot.json").exists()
    }

    /// `GET /readyz`: status and body.
    pub fn readyz(&self) -> Option<(u16, String)> {
        http(self.http, "GET", "/readyz", None, None)
    }

    /// The status of change `version` as this node's API reports it (`PENDING`, `INSYNC`).
    pub fn change_status(&self, version: u64) -> Option<String> {
        let (status, body) = api_get(self.http, &format!("/v1/changes/{version}"))?;
        if status != 200 {
            return None;
        }
        let rest = &body[body.find("\"status\":\"")? + 10..];
        Some(rest[..rest.find('"')?].to_string())
    }
}

impl Drop for ClusterNode {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Writes an A record set `name` → `address` through node `via`'s REST API (any node: a
/// follower or learner forwards to the leader). `Ok(version)` only when acknowledged.
pub fn put_a(via: SocketAddr, zone: &str, name: &str, address: &str) -> Result<u64, String> {
    let body = format!(r#"{{"name":"{name}","type":"A","ttl":60,"data":["{address}"]}}"#);
    let path = format!("/v1/zones/{zone}/records/{name}/A");
    let (status, reply) = http(via, "PUT", &path, Some(TOKEN), Some(&body))
        .ok_or_else(|| format!("no reply from {via}"))?;
    if status != 200 && status != 201 {
        return Err(format!("status {status}: {reply}"));
    }
    json_number(&reply, "version").ok_or(reply)
}

/// The number after `"key":` in a JSON text.
pub fn json_number(json: &str, key: &str) -> Option<u64> {
    let marker = format!("\"{key}\":");
    let rest = &json[json.find(&marker)? + marker.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// `GET path` on node `via` with the admin token: status and body.
pub fn api_get(via: SocketAddr, path: &str) -> Option<(u16, String)> {
    http(via, "GET", path, Some(TOKEN), None)
}

/// One HTTP/1.1 request with `Connection: close`; `None` when the server cannot be reached
/// or does not answer within 15 s.
pub fn http(
    to: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&to, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .ok()?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\n");
    if let Some(token) = bearer {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).ok()?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).ok()?;
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let status = reply.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = reply.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Polls `condition` every 100 ms until it holds; panics naming `reason` at the deadline.
pub fn wait_until(timeout: Duration, reason: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {reason}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The leader's id as `/v1/cluster` on `node` reports it.
pub fn leader_of(node: &ClusterNode) -> Option<u64> {
    let (status, body) = api_get(node.http, "/v1/cluster")?;
    if status != 200 {
        return None;
    }
    json_number(&body, "leader")
}

/// Three voters (1 bootstraps and imports the zone `cp.test.`, 2 and 3 join and are promoted)
/// and DNS learner 4 seeded with all three, waiting up to `converge` for each step; returns
/// them in id order once the learner answers the imported zone.
pub fn start_three_voters_and_a_learner(root: &TempDir, converge: Duration) -> Vec<ClusterNode> {
    eprintln!("-- phase: start 3 voters and a DNS learner");
    let first = ClusterNode::start(root, 1, Kind::Bootstrap, &[]);
    wait_until(converge, "voter 1 to lead its new cluster", || {
        leader_of(&first) == Some(1)
    });
    let mut nodes = vec![first];
    for id in [2, 3] {
        let voter = ClusterNode::start(root, id, Kind::Voter, &[nodes[0].http]);
        assert!(
            voter
                .log
                .wait_for("joined the cluster as a voter", converge)
                .is_some(),
            "voter {id} was not promoted; its log:\n{}",
            voter.log.text()
        );
        nodes.push(voter);
    }
    let seeds: Vec<SocketAddr> = nodes.iter().map(|node| node.http).collect();
    nodes.push(ClusterNode::start(root, 4, Kind::DnsLearner, &seeds));
    wait_until(converge, "the learner to answer the imported zone", || {
        nodes[3].addresses("www.cp.test") == ["192.0.2.10"]
    });
    nodes
}

/// The smallest cluster with DNS: voter 1 (bootstraps and imports `cp.test.`) and DNS
/// learner 2 seeded with it, returned once the learner answers the imported zone.
pub fn start_voter_and_learner(root: &TempDir, converge: Duration) -> (ClusterNode, ClusterNode) {
    eprintln!("-- phase: start a voter and a DNS learner");
    let voter = ClusterNode::start(root, 1, Kind::Bootstrap, &[]);
    wait_until(converge, "voter 1 to lead its new cluster", || {
        leader_of(&voter) == Some(1)
    });
    let learner = ClusterNode::start(root, 2, Kind::DnsLearner, &[voter.http]);
    wait_until(converge, "the learner to answer the imported zone", || {
        learner.addresses("www.cp.test") == ["192.0.2.10"]
    });
    (voter, learner)
}

/// Creates region `id` (at an arbitrary place in `country`/`continent`) through `via`.
pub fn put_region(via: SocketAddr, id: &str, country: &str, continent: &str) {
    let body = format!(
        r#"{{"id":"{id}","location":{{"lat":10,"lon":10,"country":"{country}","continent":"{continent}"}}}}"#
    );
    let (status, reply) = http(
        via,
        "PUT",
        &format!("/v1/regions/{id}"),
        Some(TOKEN),
        Some(&body),
    )
    .expect("an answer to the region write");
    assert!(
        status == 200 || status == 201,
        "region {id}: {status} {reply}"
    );
}
