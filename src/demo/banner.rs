//! The banner printed once the demo runs: its processes, the sample regions and the
//! `dig`, `curl` and `gslbctl` lines to try.

use std::net::SocketAddr;
use std::path::Path;

use super::children::{Node, Role};
use super::plan::Plan;
use super::sample::{backend_of, kube_nodes, REGIONS};
use super::{DemoArgs, DEMO_ZONE, MIN_READY_NODES, NODES_PER_REGION, WITH_PROBERS};

/// What every printed command line needs: the DNS nodes (`@IP -p PORT`), the API and its
/// token, and the gslbctl to run.
struct Targets {
    /// `@IP -p PORT` of the first DNS node.
    first: String,
    /// `@IP -p PORT` of the second DNS node.
    second: String,
    /// `http://` URL of the API.
    api: String,
    /// The admin token.
    token: String,
    /// The gslbctl built next to this binary, when there is one (`cargo run -- demo`).
    gslbctl: String,
}

pub(super) fn print_banner(args: &DemoArgs, data_dir: &Path, plan: &Plan, nodes: &[Node]) {
    let dns: Vec<SocketAddr> = nodes.iter().filter_map(|node| node.address).collect();
    let voter = nodes
        .iter()
        .find(|node| node.role == Role::Voter)
        .map_or(args.api, |node| node.http);
    let at = |address: SocketAddr| format!("@{} -p {}", address.ip(), address.port());
    let targets = Targets {
        first: dns.first().map_or_else(String::new, |address| at(*address)),
        second: dns.get(1).map_or_else(String::new, |address| at(*address)),
        api: format!("http://{voter}"),
        token: plan.token.clone(),
        gslbctl: std::env::current_exe()
            .ok()
            .map(|exe| exe.with_file_name("gslbctl"))
            .filter(|path| path.exists())
            .map_or_else(|| "gslbctl".to_string(), |path| path.display().to_string()),
    };
    print_processes(data_dir, plan, nodes, &targets);
    print_regions();
    say!("try:");
    print_dns_tries(&targets);
    say!();
    print_api_tries(&targets);
    print_failure_tries(&targets, nodes);
    if args.api.port() != 0 && voter != args.api {
        say!(
            "  (--api {} not used: the resumed cluster keeps its ports)",
            args.api
        );
    }
    say!();
    say!("press Ctrl-C to stop");
}

/// What runs: one line per child with its pid, addresses and log.
fn print_processes(data_dir: &Path, plan: &Plan, nodes: &[Node], targets: &Targets) {
    let Targets { api, token, .. } = targets;
    let n_dns = nodes.iter().filter(|node| node.role == Role::Dns).count();
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
        n_dns
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
}

/// The sample regions and the client networks placed there.
fn print_regions() {
    say!("regions (endpoint address, clients placed there by the network table, `gslbctl get networks`):");
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
}

/// `dig` lines for the GSLB records and the static records of the sample zone.
fn print_dns_tries(targets: &Targets) {
    let Targets { first, second, .. } = targets;
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
    say!("  dig {} www.demo.gslb.test A", second);
}

/// Changing the zone through the API, and gslbctl.
fn print_api_tries(targets: &Targets) {
    let Targets {
        first,
        second,
        api,
        token,
        gslbctl,
    } = targets;
    say!("  # change the zone through the API (any node forwards to the leader) ...");
    say!(
        "  curl -sS -X PUT -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \
         -d '{{\"name\":\"new\",\"type\":\"A\",\"data\":[\"192.0.2.99\"]}}' \
         {api}/v1/zones/{DEMO_ZONE}/records/new/A"
    );
    say!("  # ... and both DNS nodes answer it");
    say!("  dig {first} new.demo.gslb.test A");
    say!("  dig {} new.demo.gslb.test A", second);
    let resolve = format!("{gslbctl} resolve");
    say!("  # the same with gslbctl: status, health with every vote, and why www answers");
    say!("  # a client what it does (the API places clients by the same replicated network");
    say!("  # table as the DNS nodes, so resolve --client answers what dig +subnet= gets)");
    say!("  export GSLB_API={api} GSLB_TOKEN={token}");
    say!("  {gslbctl} cluster status");
    say!("  {gslbctl} health");
    say!(
        "  {resolve} www.demo.gslb.test --client {} --explain",
        REGIONS[0].client
    );
    say!("  {gslbctl} zone export {DEMO_ZONE}");
    say!();
}

/// Failures to cause: cut a region's replication, lose capacity, run a drill.
fn print_failure_tries(targets: &Targets, nodes: &[Node]) {
    let Targets { first, gslbctl, .. } = targets;
    let resolve = format!("{gslbctl} resolve");
    let backend = |region: &str| {
        backend_of(nodes, region).map_or_else(String::new, |node| format!("http://{}", node.http))
    };
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
}
