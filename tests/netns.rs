//! Black-box tests of the health path in Linux network namespaces: three regions (eu, us,
//! ap), each a namespace holding a real backend (`gslb demo-backend`: `/healthz`, a
//! replication status whose database link to the other regions' backends is real TCP, and
//! three kube-proxy-like `healthCheckNodePort` nodes) and a prober (`gslb serve` with
//! `[prober]`); a control-plane voter in a "core" namespace; two DNS nodes (Raft learners),
//! each in a namespace of its own; and a client namespace that runs `dig` and `curl`. All are
//! joined by veth pairs to one bridge and addressed in 198.18.0.0/15 only; links are cut with
//! nft drop rules. Each test asserts one promise of DESIGN.md "Health" / "Beyond the
//! anchors" end to end, through the real processes:
//!
//! a. a killed backend leaves DNS on every DNS node within interval × fall + 1 s (measured,
//!    printed, asserted with a margin) and comes back after rise;
//! b. one prober cut off by nft drains nothing, and cannot keep a dead endpoint in either;
//! c. the inter-region database link cut: the minority's replication fails and it leaves DNS
//!    while the majority stays; a guarded region's lease runs out on a DNS node also cut off
//!    from the control plane, which keeps answering everything else;
//! d. kube-local: a region whose nodes all report `localEndpoints: 0` leaves, and its
//!    capacity follows the number of ready nodes;
//! e. a DNS node restarted in the middle answers exactly like its peer from its first query.
//!
//! The tests need root, `ip netns`, `nft`, `dig` and `curl`; without them they fail saying so,
//! unless `GSLB_SKIP_NETNS=1` is set. They take turns (one lab at a time, so the timing
//! assertions do not compete for CPU); every wait has a deadline and a reason, and every
//! process, namespace, veth and nft table is removed on `Drop`, also when a test panics.

mod common;

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::cluster::{json_number, SECRET, TOKEN, ZONE};
use common::netns::{
    client_dig, client_dig_with, client_http, require_root_and_netns, Cut, Lab, Proc,
};
use common::TempDir;
use gslb_model::clock::unix_millis;
use serde_json::{json, Value};

/// One lab at a time: the detection-time assertions should not compete with another lab's
/// nine processes for the CPU.
static ONE_LAB_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How long setup steps (start, join, first verdicts) may take.
const CONVERGE: Duration = Duration::from_secs(45);

/// Check timing: an attempt every second, 500 ms each, up after 2 successes, down after 2
/// failures.
const INTERVAL_MS: u64 = 1000;
const TIMEOUT_MS: u64 = 500;
const RISE: u64 = 2;
const FALL: u64 = 2;

/// What the issue promises: a dead backend leaves DNS within interval × fall + 1 s.
const DETECTION_BOUND: Duration = Duration::from_millis(INTERVAL_MS * FALL + 1000);
/// ... and comes back after rise, within interval × rise + 1 s.
const RECOVERY_BOUND: Duration = Duration::from_millis(INTERVAL_MS * RISE + 1000);
/// Slack on top of those bounds for a loaded CI machine (2 cores shared by nine processes
/// and `dig` per poll); the measured times are printed, so a creeping delay shows.
const MARGIN: Duration = Duration::from_millis(1500);

/// How long a replication confirmation keeps a guarded region answerable (the lease).
/// Probers write a digest every 10 s, so a lease must outlast one digest interval.
const LEASE_MS: u64 = 12_000;

/// The secret of a prober's token (scope `prober`): each region's prober has its own, tied to
/// its vantage, since an observe token speaks for one vantage only.
fn prober_token(vantage: &str) -> String {
    format!("netns-prober-token-0123456789-{vantage}")
}

/// The port every node's HTTP server (Raft RPC, API) listens on: each has its own address.
const HTTP_PORT: u16 = 8080;
/// The port of each region's backend and its simulated nodes.
const BACKEND_PORT: u16 = 8000;

/// The regions in order: id and the third octet of their addresses (198.18.N.x).
const REGIONS: [(&str, u8); 3] = [("eu", 1), ("us", 2), ("ap", 3)];

/// The control-plane voter's address (core namespace).
const VOTER_IP: &str = "198.18.0.1";
/// The DNS nodes' addresses, each in its own namespace.
const DNS_IPS: [&str; 2] = ["198.18.0.11", "198.18.0.12"];
/// The client namespace's address (dig, curl).
const CLIENT_IP: &str = "198.18.0.100";

/// The prober node of region `octet`: 198.18.N.1 (its namespace's primary address).
fn prober_ip(octet: u8) -> String {
    format!("198.18.{octet}.1")
}

/// The backend of region `octet` (the endpoint's answered address): 198.18.N.10.
fn backend_ip(octet: u8) -> String {
    format!("198.18.{octet}.10")
}

/// Simulated node `node` (1-based) of region `octet`: 198.18.N.(10 + node).
fn kube_node_ip(octet: u8, node: u8) -> String {
    format!("198.18.{octet}.{}", 10 + node)
}

/// Every backend and simulated node address of every region (what a prober probes).
fn every_backend_address() -> Vec<String> {
    REGIONS
        .iter()
        .flat_map(|(_, octet)| (0..=3).map(move |node| format!("198.18.{octet}.{}", 10 + node)))
        .collect()
}

/// What a DNS node said: the RCODE and the A addresses, sorted; `None` when it did not
/// answer within a second.
type Answer = Option<(String, Vec<String>)>;

/// The lab with its processes. Fields drop in order: processes first, the lab (namespaces,
/// veths, bridge, nft tables) last.
struct World {
    /// The control-plane voter (core namespace).
    _voter: Proc,
    /// The DNS learners, in `DNS_IPS` order.
    dns: Vec<Proc>,
    /// The prober nodes, in `REGIONS` order.
    probers: Vec<Proc>,
    /// The backends, in `REGIONS` order.
    backends: Vec<Proc>,
    /// The namespaces of the DNS nodes, in `DNS_IPS` order.
    dns_ns: Vec<String>,
    /// The namespaces of the regions, in `REGIONS` order.
    region_ns: Vec<String>,
    /// The client namespace.
    client_ns: String,
    /// Configs and data directories.
    root: TempDir,
    /// The namespaces; dropped last.
    _lab: Lab,
}

impl World {
    /// Builds the lab, starts every process, writes the model and waits until every DNS
    /// node answers every region for `all` and `db`.
    fn start(label: &str) -> World {
        let started = Instant::now();
        let root = TempDir::new(label);
        let mut lab = Lab::new();
        eprintln!("-- phase: namespaces {}* on one bridge", lab.tag);
        let core = lab.member("core", &[VOTER_IP]);
        let dns_ns: Vec<String> = DNS_IPS
            .iter()
            .enumerate()
            .map(|(index, ip)| lab.member(&format!("dns{}", index + 1), &[ip]).ns)
            .collect();
        let client_ns = lab.member("client", &[CLIENT_IP]).ns;
        let region_ns: Vec<String> = REGIONS
            .iter()
            .map(|(region, octet)| {
                let mut addresses = vec![prober_ip(*octet), backend_ip(*octet)];
                addresses.extend((1..=3).map(|node| kube_node_ip(*octet, node)));
                let addresses: Vec<&str> = addresses.iter().map(String::as_str).collect();
                lab.member(region, &addresses).ns
            })
            .collect();

        eprintln!("-- phase: backends, one per region, peers of each other's database");
        let backends: Vec<Proc> = REGIONS
            .iter()
            .zip(&region_ns)
            .map(|((region, octet), ns)| {
                Proc::spawn(
                    &format!("backend-{region}"),
                    ns,
                    &backend_args(region, *octet),
                )
            })
            .collect();
        for backend in &backends {
            backend.expect_log("listening on http", CONVERGE, "the backend starts");
        }

        eprintln!("-- phase: the voter creates the cluster");
        let voter = spawn_node(&root, "voter", &core.ns, 1, VOTER_IP, None, None);
        voter.expect_log("listening on http", CONVERGE, "the voter starts");
        let mut world = World {
            _voter: voter,
            dns: Vec::new(),
            probers: Vec::new(),
            backends,
            dns_ns,
            region_ns,
            client_ns,
            root,
            _lab: lab,
        };
        world.wait_until(CONVERGE, "the voter leads and imported cp.test.", |world| {
            world
                .api(voter_api(), "GET", "/v1/cluster", None)
                .and_then(|(_, body)| json_number(&body, "leader"))
                == Some(1)
                && world
                    .api(voter_api(), "GET", "/v1/zones/cp.test.", None)
                    .is_some_and(|(status, _)| status == 200)
        });

        eprintln!("-- phase: the probers' tokens, regions, endpoints, checks and records");
        for (region, _) in REGIONS {
            world.write(
                "POST",
                "/v1/tokens",
                &json!({"id": format!("prober-{region}"), "scopes": ["prober"],
                        "vantage": region, "secret": prober_token(region)}),
            );
        }
        world.write("POST", "/v1/changes", &model_batch());

        eprintln!("-- phase: two DNS nodes and a prober per region join");
        for (index, ip) in DNS_IPS.iter().enumerate() {
            let name = format!("dns-{}", index + 1);
            let ns = world.dns_ns[index].clone();
            let node = spawn_node(
                &world.root,
                &name,
                &ns,
                2 + index as u64,
                ip,
                Some(ip),
                None,
            );
            world.dns.push(node);
        }
        for (index, (region, octet)) in REGIONS.iter().enumerate() {
            let ns = world.region_ns[index].clone();
            let ip = prober_ip(*octet);
            let name = format!("prober-{region}");
            let node = spawn_node(
                &world.root,
                &name,
                &ns,
                10 + index as u64,
                &ip,
                None,
                Some(region),
            );
            world.probers.push(node);
        }
        for node in world.dns.iter().chain(&world.probers) {
            node.expect_log("listening on http", CONVERGE, "the node starts");
        }
        for prober in &world.probers {
            prober.expect_log("probes=9", CONVERGE, "the prober plans the 9 checks");
        }

        eprintln!("-- phase: every region up, by the probers' votes, on every DNS node");
        let everyone = all_backends();
        world.wait_until(
            CONVERGE,
            "every DNS node answers all three regions",
            |world| {
                (0..DNS_IPS.len()).all(|node| {
                    world.addresses(node, "all.cp.test") == Some(everyone.clone())
                        && world.addresses(node, "db.cp.test") == Some(everyone.clone())
                })
            },
        );
        eprintln!("-- lab ready in {} ms", started.elapsed().as_millis());
        world
    }

    /// An API request from the client namespace with the admin token.
    fn api(
        &self,
        to: SocketAddr,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Option<(u16, String)> {
        let body = body.map(Value::to_string);
        client_http(
            &self.client_ns,
            to,
            method,
            path,
            Some(TOKEN),
            body.as_deref(),
        )
    }

    /// A write through the voter's API; panics unless acknowledged.
    fn write(&self, method: &str, path: &str, body: &Value) {
        let reply = self.api(voter_api(), method, path, Some(body));
        assert!(
            matches!(reply, Some((200 | 201, _))),
            "{method} {path}: {reply:?}\nbody: {body}"
        );
    }

    /// `GET /v1/health` on `via`.
    fn health(&self, via: SocketAddr) -> Value {
        match self.api(via, "GET", "/v1/health", None) {
            Some((200, body)) => serde_json::from_str(&body).unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// A control request to region `index`'s backend (`/demo/nodes`, `/demo/replication`).
    fn control_backend(&self, index: usize, path: &str, body: &Value) {
        let to: SocketAddr = format!("{}:{BACKEND_PORT}", backend_ip(REGIONS[index].1))
            .parse()
            .unwrap();
        let reply = client_http(
            &self.client_ns,
            to,
            "POST",
            path,
            None,
            Some(&body.to_string()),
        );
        assert!(
            matches!(reply, Some((200, _))),
            "POST {to}{path}: {reply:?}"
        );
    }

    /// What DNS node `node` answers for `name` (A).
    fn answer(&self, node: usize, name: &str) -> Answer {
        self.answer_with(node, name, &[])
    }

    /// `answer` with more dig options (`+tcp`).
    fn answer_with(&self, node: usize, name: &str, options: &[&str]) -> Answer {
        let reply = client_dig_with(&self.client_ns, dns_address(node), name, options);
        if !reply.text.contains("status: ") {
            return None;
        }
        Some((reply.status().to_string(), reply.a_addresses()))
    }

    /// The addresses DNS node `node` answers for `name`; `None` when it did not answer.
    fn addresses(&self, node: usize, name: &str) -> Option<Vec<String>> {
        self.answer(node, name).map(|(_, addresses)| addresses)
    }

    /// Polls `condition` every 100 ms until it holds; panics naming `reason` (and the
    /// voter's health view) at the deadline.
    fn wait_until(
        &self,
        timeout: Duration,
        reason: &str,
        mut condition: impl FnMut(&World) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        while !condition(self) {
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting until {reason}; health at the voter: {}",
                    self.health(voter_api())
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// From `since`, polls every DNS node (round robin, as fast as dig goes) until `holds`
    /// is true of its answer for `name`; the time each took. Panics after `limit` naming
    /// `what`.
    fn time_on_every_node(
        &self,
        since: Instant,
        name: &str,
        limit: Duration,
        what: &str,
        holds: impl Fn(&[String]) -> bool,
    ) -> Vec<Duration> {
        let mut taken: Vec<Option<Duration>> = vec![None; DNS_IPS.len()];
        while taken.iter().any(Option::is_none) {
            for (node, slot) in taken.iter_mut().enumerate() {
                if slot.is_some() {
                    continue;
                }
                let answer = self.addresses(node, name);
                if answer.as_deref().is_some_and(&holds) {
                    *slot = Some(since.elapsed());
                    continue;
                }
                if since.elapsed() > limit {
                    panic!(
                        "dns-{}: {what} not seen within {limit:?}: {name} answers {answer:?}; \
                         health there: {}",
                        node + 1,
                        self.health(dns_api(node))
                    );
                }
            }
        }
        taken.into_iter().flatten().collect()
    }

    /// Asserts that for `duration` every DNS node keeps answering `expected` for each of
    /// `names`, polling all the while.
    fn holds_for(&self, duration: Duration, names: &[&str], expected: &[String], why: &str) {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            for node in 0..DNS_IPS.len() {
                for name in names {
                    let answer = self.addresses(node, name);
                    assert_eq!(
                        answer.as_deref(),
                        Some(expected),
                        "dns-{} {name}: {why}; health: {}",
                        node + 1,
                        self.health(dns_api(node))
                    );
                }
            }
        }
    }

    /// The votes (up, down) behind check or endpoint `id` in `section` of `via`'s health.
    fn votes(&self, via: SocketAddr, section: &str, id: &str) -> Option<(u64, u64)> {
        let health = self.health(via);
        let entry = health[section]
            .as_array()?
            .iter()
            .find(|entry| entry["id"] == id)?
            .clone();
        Some((
            entry["votes"]["up"].as_u64()?,
            entry["votes"]["down"].as_u64()?,
        ))
    }

    /// Region `id` in `via`'s health view.
    fn region_health(&self, via: SocketAddr, id: &str) -> Value {
        let health = self.health(via);
        health["regions"]
            .as_array()
            .and_then(|regions| regions.iter().find(|region| region["id"] == id).cloned())
            .unwrap_or(Value::Null)
    }
}

/// The voter's API.
fn voter_api() -> SocketAddr {
    format!("{VOTER_IP}:{HTTP_PORT}").parse().unwrap()
}

/// DNS node `node`'s DNS listener.
fn dns_address(node: usize) -> SocketAddr {
    format!("{}:53", DNS_IPS[node]).parse().unwrap()
}

/// DNS node `node`'s API (it derives health from its own replica and clock).
fn dns_api(node: usize) -> SocketAddr {
    format!("{}:{HTTP_PORT}", DNS_IPS[node]).parse().unwrap()
}

/// Every region's endpoint address, sorted: what `all` answers when all are up.
fn all_backends() -> Vec<String> {
    let mut all: Vec<String> = REGIONS
        .iter()
        .map(|(_, octet)| backend_ip(*octet))
        .collect();
    all.sort();
    all
}

/// Every region's endpoint address but region `index`'s, sorted.
fn all_backends_but(index: usize) -> Vec<String> {
    let gone = backend_ip(REGIONS[index].1);
    all_backends()
        .into_iter()
        .filter(|ip| *ip != gone)
        .collect()
}

/// `gslb demo-backend` arguments for region `region`: its address, three nodes, and the
/// other regions' backends as its database peers.
fn backend_args(region: &str, octet: u8) -> Vec<String> {
    let peers: Vec<String> = REGIONS
        .iter()
        .filter(|(_, other)| *other != octet)
        .map(|(_, other)| format!("{}:{BACKEND_PORT}", backend_ip(*other)))
        .collect();
    vec![
        "demo-backend".to_string(),
        "--listen".to_string(),
        format!("{}:{BACKEND_PORT}", backend_ip(octet)),
        "--region".to_string(),
        region.to_string(),
        "--nodes".to_string(),
        "3".to_string(),
        "--peers".to_string(),
        peers.join(","),
    ]
}

/// Writes the config of a `gslb serve` node and starts it in `ns`: a voter that bootstraps
/// the cluster and imports `cp.test.` (id 1), or a learner joining through the voter, with
/// DNS on `dns_ip:53` and/or a prober for `vantage`.
fn spawn_node(
    root: &TempDir,
    name: &str,
    ns: &str,
    id: u64,
    ip: &str,
    dns_ip: Option<&str>,
    vantage: Option<&str>,
) -> Proc {
    let dir = root.0.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let listen = format!("{ip}:{HTTP_PORT}");
    let mut config = format!(
        "[log]\nlevel = \"info\"\n\n[control]\nnode_id = {id}\ndata_dir = \"data\"\n\
         listen = \"{listen}\"\ncluster_secret = \"{SECRET}\"\napi_token = \"{TOKEN}\"\n\
         stale_after = \"1s\"\n"
    );
    if id == 1 {
        config.push_str(&format!(
            "role = \"voter\"\nbootstrap = {{ voters = {{ 1 = \"{listen}\" }} }}\n"
        ));
    } else {
        config.push_str(&format!(
            "role = \"learner\"\nseeds = [\"{VOTER_IP}:{HTTP_PORT}\"]\n"
        ));
    }
    config.push_str(
        "[control.raft]\nheartbeat = \"100ms\"\nelection_min = \"500ms\"\n\
         election_max = \"1000ms\"\nsnapshot_every = 50\n",
    );
    if let Some(dns_ip) = dns_ip {
        config.push_str(&format!(
            "\n[dns]\nlisten = [\"{dns_ip}:53\"]\nudp_workers = 1\n"
        ));
    }
    if let Some(vantage) = vantage {
        config.push_str(&format!(
            "\n[prober]\nvantage = \"{vantage}\"\ntoken = \"{}\"\n",
            prober_token(vantage)
        ));
    }
    if id == 1 {
        std::fs::write(dir.join("cp.test.zone"), ZONE).unwrap();
        config.push_str("\n[[zones]]\nfile = \"cp.test.zone\"\norigin = \"cp.test.\"\n");
    }
    let path = dir.join("node.toml");
    std::fs::write(&path, config).unwrap();
    let args = vec![
        "serve".to_string(),
        "--config".to_string(),
        path.display().to_string(),
    ];
    Proc::spawn(name, ns, &args)
}

/// The model as one batch: per region a region, an endpoint answering the backend's address
/// with an `http` check, a `replication` check (the lease) and a `kube-local` check of its
/// three nodes; the records `all` (every up endpoint) and `db` (the same, guarded by leases),
/// both failing closed and counting unknown as down.
fn model_batch() -> Value {
    let timing = |check: Value| {
        let mut check = check;
        let fields = check.as_object_mut().unwrap();
        fields.insert("interval_ms".into(), json!(INTERVAL_MS));
        fields.insert("timeout_ms".into(), json!(TIMEOUT_MS));
        fields.insert("rise".into(), json!(RISE));
        fields.insert("fall".into(), json!(FALL));
        check
    };
    let mut changes = Vec::new();
    for (region, octet) in REGIONS {
        let backend = backend_ip(octet);
        let nodes: Vec<String> = (1..=3).map(|node| kube_node_ip(octet, node)).collect();
        changes.push(json!({"op": "put_region", "region": {"id": region,
            "location": {"lat": 0, "lon": 0, "country": "DE", "continent": "EU"}}}));
        changes.push(json!({"op": "put_endpoint", "endpoint": {
            "id": format!("{region}-1"), "region": region, "address": backend}}));
        for check in [
            json!({"id": format!("{region}-http"), "endpoint": format!("{region}-1"),
                   "kind": {"type": "http", "port": BACKEND_PORT, "path": "/healthz"}}),
            json!({"id": format!("{region}-replication"), "region": region, "target": backend,
                   "kind": {"type": "replication", "port": BACKEND_PORT, "path": "/replication",
                            "lease_ms": LEASE_MS,
                            "conditions": ["/replication/in_quorum == true",
                                           "/replication/lag_seconds < 5"]}}),
            json!({"id": format!("{region}-nodes"), "region": region,
                   "kind": {"type": "kube-local", "nodes": nodes, "port": BACKEND_PORT,
                            "path": "/healthz", "min_nodes": 1}}),
        ] {
            changes.push(json!({"op": "put_check", "check": timing(check)}));
        }
    }
    let endpoints: Vec<String> = REGIONS
        .iter()
        .map(|(region, _)| format!("{region}-1"))
        .collect();
    for (name, guarded) in [("all", false), ("db", true)] {
        changes.push(
            json!({"op": "put_gslb_record", "zone": "cp.test.", "record": {
            "name": name, "type": "A", "ttl": 30, "max_answers": 3,
            "when_all_down": "fail_closed", "unknown_as": "down",
            "split_brain_guard": guarded, "policy": {"endpoints": endpoints}}}),
        );
    }
    json!({ "changes": changes })
}

/// Takes the lab lock (a test that panicked while holding it poisoned nothing shared).
fn lab_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Prints the per-node times of `what` and asserts each is within `bound` + `MARGIN`.
fn report_and_check(what: &str, times: &[Duration], bound: Duration) {
    let shown: Vec<String> = times
        .iter()
        .enumerate()
        .map(|(node, time)| format!("dns-{} {} ms", node + 1, time.as_millis()))
        .collect();
    eprintln!(
        "-- measured: {what}: {} (bound {} ms + margin {} ms)",
        shown.join(", "),
        bound.as_millis(),
        MARGIN.as_millis()
    );
    for (node, time) in times.iter().enumerate() {
        assert!(
            *time <= bound + MARGIN,
            "dns-{}: {what} took {time:?}, want at most {bound:?} + {MARGIN:?}",
            node + 1
        );
    }
}

/// What does this test do: kills us's backend process (SIGKILL: connections refused) and
/// measures, on each DNS node, how long until `all` and `db` stop answering us: at most
/// interval × fall + 1 s (plus a margin for a loaded machine), printed. Restarts the backend
/// and measures how long until us is answered again: at most interval × rise + 1 s (plus
/// margin). The other regions stay in throughout.
#[test]
fn a_killed_backend_leaves_dns_within_interval_times_fall_and_returns_after_rise() {
    if !require_root_and_netns() {
        return;
    }
    let _turn = lab_turn();
    let mut world = World::start("netns-kill");
    let survivors = all_backends_but(1);

    eprintln!("-- phase: kill us's backend");
    let killed = world.backends[1].kill();
    let left = world.time_on_every_node(
        killed,
        "all.cp.test",
        CONVERGE,
        "us leaving all",
        |answer| answer == survivors.as_slice(),
    );
    report_and_check("backend killed -> gone from all", &left, DETECTION_BOUND);
    // The region usually goes first (its replication and kube-local checks die with the
    // process); the endpoint's own http check follows within the same bound.
    let left_by = (killed + DETECTION_BOUND + MARGIN).saturating_duration_since(Instant::now());
    world.wait_until(left_by, "a quorum of vantages sees us-1 down", |world| {
        world
            .votes(voter_api(), "endpoints", "us-1")
            .is_some_and(|(up, down)| down >= 2 && up <= 1)
    });
    for node in 0..DNS_IPS.len() {
        assert_eq!(
            world.addresses(node, "db.cp.test"),
            Some(survivors.clone()),
            "dns-{}: db without us (its replication status is unreachable too)",
            node + 1
        );
    }

    eprintln!("-- phase: restart us's backend");
    world.backends[1].start();
    world.backends[1].expect_log("listening on http", CONVERGE, "the backend restarts");
    let restarted = Instant::now();
    let everyone = all_backends();
    let back = world.time_on_every_node(
        restarted,
        "all.cp.test",
        CONVERGE,
        "us back in all",
        |answer| answer == everyone.as_slice(),
    );
    report_and_check("backend back -> in all again", &back, RECOVERY_BOUND);
    world.time_on_every_node(
        restarted,
        "db.cp.test",
        CONVERGE,
        "us back in db",
        |answer| answer == everyone.as_slice(),
    );
}

/// What does this test do: cuts eu's prober off from every backend with nft (its votes turn
/// down on every check), waits until the store counts those down votes, and asserts for
/// several detection periods that no DNS node drains anything. Heals it; then cuts the same
/// prober off from the control plane instead, so its last vote (up) stays fresh in the store
/// while it can report nothing, kills ap's backend, and asserts ap still leaves `all` on
/// every DNS node within the detection bound: one vantage's stale "up" cannot keep a dead
/// endpoint in. Once healed, the prober delivers its held-back vote by itself.
#[test]
fn one_cut_off_prober_drains_nothing_and_keeps_nothing_in() {
    if !require_root_and_netns() {
        return;
    }
    let _turn = lab_turn();
    let mut world = World::start("netns-prober-cut");
    let everyone = all_backends();
    let eu_ns = world.region_ns[0].clone();

    eprintln!("-- phase: eu's prober cannot reach any backend");
    let backends = every_backend_address().join(", ");
    let own_region: Vec<String> = (0..=3)
        .map(|node| format!("198.18.1.{}", 10 + node))
        .collect();
    let cut = Cut::new(
        &eu_ns,
        "eu's prober -> every backend",
        &[
            // Other regions: the prober connects from its primary address.
            format!("ip saddr {} ip daddr {{ {backends} }} drop", prober_ip(1)),
            // Its own region's backend is local: over lo, from the backend's own address.
            format!(
                "oifname \"lo\" ip daddr {{ {} }} drop",
                own_region.join(", ")
            ),
        ],
        &[],
    );
    world.wait_until(
        CONVERGE,
        "the store counts eu's down votes on every check",
        |world| {
            REGIONS.iter().all(|(region, _)| {
                [
                    format!("{region}-http"),
                    format!("{region}-replication"),
                    format!("{region}-nodes"),
                ]
                .iter()
                .all(|check| world.votes(voter_api(), "checks", check) == Some((2, 1)))
            })
        },
    );
    eprintln!("-- phase: nothing drains while one vantage says everything is down");
    world.holds_for(
        DETECTION_BOUND + MARGIN,
        &["all.cp.test", "db.cp.test"],
        &everyone,
        "one vantage's down votes drained a region",
    );
    drop(cut);
    world.wait_until(CONVERGE, "eu's prober votes up again", |world| {
        world.votes(voter_api(), "endpoints", "ap-1") == Some((3, 0))
    });

    eprintln!("-- phase: eu's prober cut off from the control plane, its up votes frozen");
    let cut = Cut::new(
        &eu_ns,
        "eu's prober <-> the control plane",
        &[format!(
            "ip saddr {} ip daddr 198.18.0.0/24 drop",
            prober_ip(1)
        )],
        &[format!(
            "ip saddr 198.18.0.0/24 ip daddr {} drop",
            prober_ip(1)
        )],
    );
    let killed = world.backends[2].kill();
    let survivors = all_backends_but(2);
    let left = world.time_on_every_node(
        killed,
        "all.cp.test",
        CONVERGE,
        "ap leaving all",
        |answer| answer == survivors.as_slice(),
    );
    report_and_check(
        "backend killed, one prober frozen -> gone from all",
        &left,
        DETECTION_BOUND,
    );
    // The region usually goes first (its deep checks die with the backend); the endpoint's
    // own votes follow: eu's frozen up vote still counts, and is outvoted.
    let outvoted_by = (killed + DETECTION_BOUND + MARGIN).saturating_duration_since(Instant::now());
    world.wait_until(
        outvoted_by,
        "ap-1 down with eu's frozen up vote outvoted (1 up, 2 down)",
        |world| world.votes(voter_api(), "endpoints", "ap-1") == Some((1, 2)),
    );
    world.holds_for(
        Duration::from_secs(2),
        &["all.cp.test"],
        &survivors,
        "eu's frozen up vote brought ap back",
    );

    eprintln!("-- phase: heal eu's link; its prober resumes reporting by itself");
    drop(cut);
    let healed = Instant::now();
    world.wait_until(
        Duration::from_secs(35),
        "eu's buffered down vote on ap-1 arrives after its backoff (at most 30 s)",
        |world| world.votes(voter_api(), "endpoints", "ap-1") == Some((0, 3)),
    );
    // A short cut usually leaves the send in flight (dropped packets are retransmitted, the
    // send times out only after 10 s); a longer one backs off. Either way it resumes alone.
    eprintln!(
        "-- measured: eu's prober reported again {} ms after its link healed",
        healed.elapsed().as_millis()
    );
}

/// What does this test do: cuts the database link between ap's backend and the other two
/// (nft in ap's namespace, on the backends' own addresses only: the probers still reach
/// every backend). ap's replication status loses its quorum by itself, a quorum of probers
/// confirms it, and ap leaves `all` and `db` on every DNS node while eu and us stay. Then
/// dns-2 is cut off from everything but the client: it keeps answering `all` from its last
/// state, and `db` until the leases it last saw run out — never past them — then answers
/// nothing for `db` (fail closed), with TTLs that never exceed the lease left, while dns-1
/// keeps answering eu and us for `db`.
#[test]
fn a_database_link_cut_takes_the_minority_out_and_leases_run_out_offline() {
    if !require_root_and_netns() {
        return;
    }
    let _turn = lab_turn();
    let world = World::start("netns-db-link");
    let ap_ns = world.region_ns[2].clone();
    let majority = all_backends_but(2);

    eprintln!("-- phase: cut ap's database link to eu and us");
    let peers = format!("{{ {}, {} }}", backend_ip(1), backend_ip(2));
    let _db_link = Cut::new(
        &ap_ns,
        "the database link ap <-> eu, us",
        &[format!("ip saddr {} ip daddr {peers} drop", backend_ip(3))],
        &[format!("ip saddr {peers} ip daddr {} drop", backend_ip(3))],
    );
    let cut_at = Instant::now();
    let left =
        world.time_on_every_node(cut_at, "db.cp.test", CONVERGE, "ap leaving db", |answer| {
            answer == majority.as_slice()
        });
    report_and_check(
        "database link cut -> minority gone from db",
        &left,
        // The backend notices within PEER_FRESH (1 s) + a probe, then the checks fall.
        DETECTION_BOUND + Duration::from_millis(1500),
    );
    world.time_on_every_node(
        cut_at,
        "all.cp.test",
        CONVERGE,
        "ap leaving all",
        |answer| answer == majority.as_slice(),
    );
    world.wait_until(
        DETECTION_BOUND + MARGIN,
        "every vantage sees ap's replication out of quorum",
        |world| world.votes(voter_api(), "checks", "ap-replication") == Some((0, 3)),
    );
    for region in ["eu", "us"] {
        assert_eq!(
            world.votes(voter_api(), "checks", &format!("{region}-replication")),
            Some((3, 0)),
            "{region} keeps its quorum with one peer of two"
        );
    }
    world.holds_for(
        Duration::from_secs(2),
        &["all.cp.test", "db.cp.test"],
        &majority,
        "the majority stays while the minority is out",
    );

    eprintln!("-- phase: dns-2 cut off from everything but the client");
    let _isolated = Cut::new(
        &world.dns_ns[1],
        "dns-2 <-> everything but the client",
        &[format!("oifname \"eth0\" ip daddr != {CLIENT_IP} drop")],
        &[format!("iifname \"eth0\" ip saddr != {CLIENT_IP} drop")],
    );
    let isolated_at = unix_millis();
    // The leases dns-2 holds, per answered address: it hears of no renewal from now on.
    let leases: Vec<(String, u64)> = [("eu", 1), ("us", 2)]
        .iter()
        .map(|(region, octet)| {
            let expiry = world.region_health(dns_api(1), region)["lease_expires_at"]
                .as_u64()
                .unwrap_or_else(|| panic!("dns-2 knows {region}'s lease"));
            eprintln!(
                "-- dns-2's lease of {region} runs out in {} ms",
                expiry.saturating_sub(isolated_at)
            );
            (backend_ip(*octet), expiry)
        })
        .collect();
    let expiry_of = |address: &str| {
        leases
            .iter()
            .find(|(ip, _)| ip == address)
            .map(|(_, expiry)| *expiry)
            .unwrap_or_else(|| panic!("dns-2 answered db with {address}, which has no lease"))
    };
    let last_expiry = leases.iter().map(|(_, expiry)| *expiry).max().unwrap();
    let deadline = Instant::now() + Duration::from_millis(LEASE_MS + 5000);
    let mut answered_last: Vec<(String, u64)> = Vec::new();
    let emptied_at = loop {
        // The answer left dns-2 somewhere between `sent` and `now`: only an answer to a query
        // sent after the expiry proves a late answer, however slow dig is on a loaded machine.
        let sent = unix_millis();
        let reply = client_dig(&world.client_ns, dns_address(1), "db.cp.test");
        let now = unix_millis();
        assert!(
            reply.text.contains("status: "),
            "dns-2 answers while cut off:\n{}",
            reply.text
        );
        let records = reply.records("ANSWER");
        for fields in &records {
            let (ttl, address) = (fields[1].parse::<u64>().unwrap(), fields[4].clone());
            let expiry = expiry_of(&address);
            assert!(
                sent < expiry + 200,
                "dns-2 answered {address} to a query sent {} ms after its lease ran out",
                sent - expiry
            );
            let left_s = expiry.saturating_sub(sent) / 1000 + 1;
            assert!(
                ttl <= left_s,
                "dns-2 answered {address} with TTL {ttl} s, more than the {left_s} s of lease left"
            );
            match answered_last.iter_mut().find(|(ip, _)| *ip == address) {
                Some(entry) => entry.1 = now,
                None => answered_last.push((address, now)),
            }
        }
        if records.is_empty() {
            assert_eq!(reply.status(), "NOERROR", "fail closed is NODATA");
            break sent;
        }
        assert!(
            Instant::now() < deadline,
            "dns-2 still answers db {records:?} long after its leases ran out"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    for (address, expiry) in &leases {
        let last = answered_last
            .iter()
            .find(|(ip, _)| ip == address)
            .map_or(0, |(_, at)| *at);
        eprintln!(
            "-- measured: cut-off dns-2 answered {address} in db until {} ms after the cut; \
             its lease ran out {} ms after the cut",
            last.saturating_sub(isolated_at),
            expiry.saturating_sub(isolated_at)
        );
        // Static stability: it kept answering while the lease held (polls are 50 ms apart
        // plus a dig, and the node re-derives health every second).
        assert!(
            last + 1500 >= *expiry,
            "dns-2 stopped answering {address} {} ms before its lease ran out",
            expiry.saturating_sub(last)
        );
    }
    assert!(
        emptied_at <= last_expiry + 1500,
        "dns-2 answered db {} ms past the last lease",
        emptied_at.saturating_sub(last_expiry)
    );
    let ready = world.api(dns_api(1), "GET", "/readyz", None);
    let ready: Value = ready
        .as_ref()
        .and_then(|(_, body)| serde_json::from_str(body).ok())
        .unwrap_or(Value::Null);
    assert!(
        ready["ready"] == true && ready["stale"] == true,
        "cut-off dns-2 says in /readyz that it serves, stale: {ready}"
    );
    assert_eq!(
        world.addresses(1, "all.cp.test"),
        Some(majority.clone()),
        "dns-2 keeps answering the unguarded record from its last state"
    );
    assert_eq!(
        world.addresses(0, "db.cp.test"),
        Some(majority.clone()),
        "dns-1, still connected, keeps answering db: the probers renew the leases"
    );
}

/// What does this test do: eu's backend reports 3, then 0, then 2 ready nodes (its
/// kube-proxy-like `healthCheckNodePort`s answer `localEndpoints` 1 or 0). At 0 the
/// `kube-local` check fails, and eu leaves `all` on every DNS node within the detection
/// bound (measured); eu's capacity, as every DNS node derives it, follows: 3, 0, then 2
/// when eu comes back.
#[test]
fn kube_local_nodes_without_endpoints_take_the_region_out_and_set_its_capacity() {
    if !require_root_and_netns() {
        return;
    }
    let _turn = lab_turn();
    let world = World::start("netns-kube-local");
    let capacity_everywhere = |world: &World, expected: u64| {
        (0..DNS_IPS.len()).all(|node| {
            world.region_health(dns_api(node), "eu")["capacity"].as_u64() == Some(expected)
        })
    };
    world.wait_until(CONVERGE, "eu's capacity is 3 on every DNS node", |world| {
        capacity_everywhere(world, 3)
    });

    eprintln!("-- phase: no node of eu has local endpoints");
    world.control_backend(0, "/demo/nodes", &json!({"ready": 0}));
    let changed = Instant::now();
    let without_eu = all_backends_but(0);
    let left = world.time_on_every_node(
        changed,
        "all.cp.test",
        CONVERGE,
        "eu leaving all",
        |answer| answer == without_eu.as_slice(),
    );
    report_and_check(
        "no local endpoints -> gone from all",
        &left,
        DETECTION_BOUND,
    );
    world.wait_until(
        CONVERGE,
        "eu's capacity is 0 and its region down",
        |world| {
            capacity_everywhere(world, 0)
                && world.region_health(voter_api(), "eu")["status"] == "down"
        },
    );

    eprintln!("-- phase: two of eu's three nodes ready again");
    world.control_backend(0, "/demo/nodes", &json!({"ready": 2}));
    let changed = Instant::now();
    let everyone = all_backends();
    let back = world.time_on_every_node(
        changed,
        "all.cp.test",
        CONVERGE,
        "eu back in all",
        |answer| answer == everyone.as_slice(),
    );
    report_and_check(
        "local endpoints again -> back in all",
        &back,
        RECOVERY_BOUND,
    );
    world.wait_until(CONVERGE, "eu's capacity is 2 on every DNS node", |world| {
        capacity_everywhere(world, 2)
    });
}

/// The names the cold-start test compares: the guarded and unguarded GSLB records, a static
/// name and a name that does not exist.
const COMPARED: [&str; 4] = [
    "all.cp.test",
    "db.cp.test",
    "www.cp.test",
    "nothere.cp.test",
];

/// What does this test do: puts the lab in a state that is not the default (us's backend
/// killed and out of DNS, ap with one ready node), kills dns-2 with SIGKILL, and while it is
/// down takes eu out too (none of its nodes has local endpoints) until dns-1 answers ap
/// alone. Then starts dns-2 again, polling it from the moment it starts: its very first
/// answer, and then its answer to every compared name (RCODE and addresses), equal dns-1's —
/// not the state it had when it went down: health is part of the replicated state and a
/// restarted node catches up before it answers, so it is neither "all down", nor "all up",
/// nor out of date.
#[test]
fn a_restarted_dns_node_answers_like_its_peer_from_its_first_query() {
    if !require_root_and_netns() {
        return;
    }
    let _turn = lab_turn();
    let mut world = World::start("netns-cold-start");

    eprintln!("-- phase: a state that is not the default: us down, ap at one node");
    world.backends[1].kill();
    world.control_backend(2, "/demo/nodes", &json!({"ready": 1}));
    let before = all_backends_but(1);
    world.wait_until(CONVERGE, "us is out of all on both DNS nodes", |world| {
        (0..DNS_IPS.len()).all(|node| world.addresses(node, "all.cp.test") == Some(before.clone()))
    });

    eprintln!("-- phase: kill -9 dns-2; eu leaves while it is down");
    world.dns[1].kill();
    world.control_backend(0, "/demo/nodes", &json!({"ready": 0}));
    let after = vec![backend_ip(3)];
    world.wait_until(CONVERGE, "dns-1 answers ap alone", |world| {
        world.addresses(0, "all.cp.test") == Some(after.clone())
    });

    eprintln!("-- phase: start dns-2 again and ask it from the first moment");
    world.dns[1].start();
    let started = Instant::now();
    let first = loop {
        // Over TCP: a port not listening yet resets at once, so the first answer is timed
        // to within one poll.
        if let Some(answer) = world.answer_with(1, COMPARED[0], &["+tcp"]) {
            break answer;
        }
        assert!(
            started.elapsed() < CONVERGE,
            "the restarted dns-2 never answered; its log:\n{}",
            world.dns[1].text()
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    eprintln!(
        "-- measured: restarted dns-2 answered its first query {} ms after start: {first:?}",
        started.elapsed().as_millis()
    );
    assert_eq!(
        first,
        ("NOERROR".to_string(), after.clone()),
        "dns-2's very first answer for {} is not its peer's (the state it had when it went \
         down answered {before:?})",
        COMPARED[0]
    );
    for name in COMPARED {
        let restarted = world.answer(1, name);
        let peer = world.answer(0, name);
        eprintln!("-- {name}: dns-2 {restarted:?}, dns-1 {peer:?}");
        assert!(restarted.is_some(), "dns-2 answers {name}");
        assert_eq!(restarted, peer, "dns-2 and dns-1 disagree on {name}");
    }
}
