//! Round trips of every kind an apply file holds, black-box: what `gslbctl get KIND -o
//! yaml|json` prints against one real `gslb serve` node is fed unchanged to `gslbctl apply
//! -f` and `gslbctl create -f` against fresh nodes, and a second `get` there prints the same
//! text. The kinds are `gslb_api::apply::Kind::ALL`, matched exhaustively, so a kind added
//! to apply without a round trip here does not compile; overrides (not an apply kind) go
//! through `create -f`. Durations and times entered as text (`5s`, `1m30s`, RFC 3339) read
//! back as the milliseconds `get` prints.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::cluster::{leader_of, wait_until, ClusterNode, Kind as NodeKind, TOKEN};
use common::TempDir;
use gslb_api::apply::Kind;

const GSLBCTL: &str = env!("CARGO_BIN_EXE_gslbctl");

/// How long a fresh node may take to lead its own cluster on a loaded machine.
const CONVERGE: Duration = Duration::from_secs(60);

/// The zone every zoned kind lives in.
const ZONE: &str = "rt.test.";

/// The source state: several items of every kind, every check kind and every policy node,
/// the optional fields set on some and left out on others.
const SEED: &str = r#"
networks:
  - {cidr: 198.51.100.0/24, country: DE, continent: EU, subdivision: DE-BY, asn: 64500}
  - {cidr: "2001:db8:100::/48", lat: 40.7, lon: -74.0, rtt_ms: {eu-1: 90, us-1: 12}}
  - {cidr: 203.0.113.0/24, rtt_ms: {ap-1: 30}}
regions:
  - id: eu-1
    location: {lat: 50.11, lon: 8.68, country: DE, continent: EU}
    capacity: 8
    min_healthy: 2
  - id: us-1
    location: {lat: 39.04, lon: -77.49, country: US, continent: NA}
  - id: ap-1
    location: {lat: 1.35, lon: 103.82, country: SG, continent: AS}
endpoints:
  - {id: web-eu, region: eu-1, address: 192.0.2.10, weight: 10, labels: {team: web}}
  - {id: web-eu-2, region: eu-1, address: 192.0.2.11, weight: 0}
  - {id: web-us, region: us-1, address: 192.0.2.20, enabled: false}
  - {id: web-us-6, region: us-1, address: "2001:db8::20"}
  - {id: web-ap, region: ap-1, address: 192.0.2.30}
  - {id: cdn-ap, region: ap-1, cname: edge.cdn.example.}
checks:
  - id: web-eu-tcp
    endpoint: web-eu
    kind: {type: tcp, port: 443, send: "PING\r\n", expect: PONG}
    interval_ms: 5s
    timeout_ms: 1000
    rise: 1
    fall: 2
    vantages: [eu-1, us-1]
    quorum: 1
  - id: web-eu-http
    endpoint: web-eu-2
    kind:
      type: http
      port: 8080
      path: /healthz?deep=1
      host: www.rt.test
      headers: {X-Probe: gslb}
      status: [{from: 200, to: 204}]
      body_contains: ok
      expect_headers: {content-type: text/plain}
  - id: web-us-https
    endpoint: web-us
    target: 192.0.2.21
    kind: {type: https, body_regex: "^up", skip_verify: true}
  - id: web-us-dns
    endpoint: web-us-6
    kind: {type: dns, port: 5353, name: probe.rt.test., qtype: AAAA, expect_answer: false}
  - id: eu-replication
    region: eu-1
    target: 192.0.2.12
    kind:
      type: replication
      port: 9000
      path: /status
      conditions: ["/replication/lag_seconds < 5"]
      lease_ms: 1m30s
  - id: ap-kube
    region: ap-1
    target: 192.0.2.30
    kind: {type: kube-local, nodes: [192.0.2.31, 192.0.2.32], port: 30080, min_nodes: 2}
  - id: ap-external
    endpoint: web-ap
    kind: {type: external, ttl_ms: 10m}
zones:
  - apex: rt.test.
    soa: {mname: ns1.rt.test., rname: hostmaster.rt.test., serial: 2026120701}
    default_ttl: 600
    serial_policy: dateserial
    records:
      - {name: "@", type: NS, data: [ns1.rt.test., ns2.rt.test.]}
      - {name: ns1, type: A, data: [192.0.2.53]}
      - {name: ns2, type: AAAA, ttl: 3600, data: ["2001:db8::53"]}
      - {name: "@", type: MX, data: [10 mail.rt.test.]}
      - {name: "@", type: TXT, data: ["\"v=spf1 -all\""]}
      - {name: _sip._tcp, type: SRV, data: [10 60 5060 sip.rt.test.]}
      - {name: alias, type: CNAME, data: [www.rt.test.]}
    transfer: {allow: [192.0.2.0/24], notify: ["192.0.2.54:5300"], omit_gslb: [geo]}
records:
  - {zone: rt.test., name: mail, type: A, data: [192.0.2.25, 192.0.2.26]}
  - {zone: rt.test., name: "@", type: CAA, ttl: 86400, data: ["0 issue \"letsencrypt.org\""]}
gslb_records:
  - zone: rt.test.
    name: www
    type: A
    ttl: 30
    failover_ttl: 10
    policy: {failover: [{region: eu-1}, {endpoints: [web-us]}]}
    max_answers: 2
    when_all_down: fail_closed
    split_brain_guard: true
  - zone: rt.test.
    name: weighted
    type: A
    ttl: 60
    policy: {weighted: [{weight: 3, node: {region: eu-1}}, {weight: 1, node: {region: us-1}}]}
  - zone: rt.test.
    name: sticky
    type: A
    ttl: 60
    policy: {consistent: [{weight: 1, node: {endpoints: [web-eu]}}, {weight: 1, node: {endpoints: [web-ap]}}]}
    unknown_as: up
  - zone: rt.test.
    name: geo
    type: A
    ttl: 60
    policy:
      geo:
        rules:
          - match: [{continent: EU}, {country: CH}, {subdivision: DE-BY}]
            node: {region: eu-1}
          - match: [{cidr: 198.51.100.0/24}, {asn: 64500}]
            node: {endpoints: [web-ap]}
        default: {region: us-1}
    when_all_down: {fallback: down.rt.test.}
  - zone: rt.test.
    name: fast
    type: A
    ttl: 20
    policy: {latency: [{region: eu-1}, {region: us-1}, {region: ap-1}]}
    latency_margin: {percent: 30, micros: 5000}
  - zone: rt.test.
    name: near
    type: A
    ttl: 60
    policy: {proximity: [{node: {region: eu-1}, bias_percent: 80}, {node: {region: ap-1}}]}
  - zone: rt.test.
    name: big
    type: A
    ttl: 60
    policy: {capacity: [{region: eu-1}, {region: us-1}]}
  - zone: rt.test.
    name: v6
    type: AAAA
    ttl: 60
    policy: {endpoints: [web-us-6]}
  - zone: rt.test.
    name: edge
    type: CNAME
    ttl: 300
    policy: {endpoints: [cdn-ap]}
"#;

/// Overrides (not an apply kind: `create -f` takes them), one with an RFC 3339 expiry.
const OVERRIDES: &str = r#"
- {id: drain-ap, region: ap-1, action: drain, reason: maintenance, expires_at: "2100-01-01T00:00:00Z"}
- {id: pin-web-us, endpoint: web-us, action: force_up, reason: "vendor says so"}
"#;

/// The `get` that lists every item of `kind` in the seed.
fn get_args(kind: Kind) -> Vec<&'static str> {
    match kind {
        Kind::Networks => vec!["get", "networks"],
        Kind::Regions => vec!["get", "regions"],
        Kind::Endpoints => vec!["get", "endpoints"],
        Kind::Checks => vec!["get", "checks"],
        Kind::Zones => vec!["get", "zone", ZONE],
        Kind::Records => vec!["get", "records", "--zone", ZONE],
        Kind::GslbRecords => vec!["get", "gslb-records", "--zone", ZONE],
    }
}

/// The `create` that takes what `get_args(kind)` printed.
fn create_args(kind: Kind) -> Vec<&'static str> {
    match kind {
        Kind::Networks => vec!["create", "networks"],
        Kind::Regions => vec!["create", "regions"],
        Kind::Endpoints => vec!["create", "endpoints"],
        Kind::Checks => vec!["create", "checks"],
        Kind::Zones => vec!["create", "zones"],
        Kind::Records => vec!["create", "records", "--zone", ZONE],
        Kind::GslbRecords => vec!["create", "gslb-records", "--zone", ZONE],
    }
}

/// The `apply` flags that take what `get_args(kind)` printed (record sets and GSLB records
/// are printed without their zone).
fn apply_flags(kind: Kind) -> Vec<&'static str> {
    match kind {
        Kind::Records | Kind::GslbRecords => vec!["--zone", ZONE],
        Kind::Networks | Kind::Regions | Kind::Endpoints | Kind::Checks | Kind::Zones => {
            vec![]
        }
    }
}

/// Runs gslbctl against `node` with the admin token; panics unless it succeeds.
fn ctl(node: &ClusterNode, args: &[&str]) -> String {
    let api = format!("http://{}", node.http);
    let output = Command::new(GSLBCTL)
        .env_remove("GSLB_TOKEN")
        .env_remove("GSLB_API")
        .args([
            "--api",
            &api,
            "--token",
            TOKEN,
            "--no-wait",
            "--timeout",
            "60s",
        ])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "gslbctl {} failed against {}:\n{stdout}{stderr}",
        args.join(" "),
        node.name
    );
    stdout
}

/// Runs gslbctl against `node` expecting it to fail; returns its stderr.
fn ctl_fails(node: &ClusterNode, args: &[&str]) -> String {
    let api = format!("http://{}", node.http);
    let output = Command::new(GSLBCTL)
        .env_remove("GSLB_TOKEN")
        .env_remove("GSLB_API")
        .args(["--api", &api, "--token", TOKEN, "--no-wait"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!("$ gslbctl {}\n{stderr}", args.join(" "));
    assert!(
        !output.status.success(),
        "gslbctl {} succeeded",
        args.join(" ")
    );
    stderr
}

/// `get_args(kind)` printed as `format` (`yaml` or `json`).
fn get(node: &ClusterNode, kind: Kind, format: &str) -> String {
    let mut args = vec!["-o", format];
    args.extend(get_args(kind));
    ctl(node, &args)
}

/// A bootstrap voter of its own one-node cluster, leading it.
fn fresh_node(root: &TempDir, id: u64) -> ClusterNode {
    let node = ClusterNode::start_with(root, id, NodeKind::Bootstrap, &[], false);
    wait_until(CONVERGE, "a fresh node to lead its cluster", || {
        leader_of(&node) == Some(id)
    });
    node
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// What does this test do: seeds a node with every kind, then for YAML and JSON feeds each
/// kind's `get` output (in dependency order) unchanged to `apply -f` on one fresh node and
/// `create -f` on another, and requires the same `get` output there; applying every file
/// again changes nothing; one file of all the YAML outputs as `---` documents builds a
/// third fresh node in a single apply; and faults in a file of several documents are named
/// by document and item.
#[test]
fn every_kind_round_trips_through_get_apply_and_create() {
    let root = TempDir::new("round-trip");
    let source = fresh_node(&root, 1);
    let seed = write(&root.0, "seed.yaml", SEED);
    ctl(&source, &["apply", "-f", seed.to_str().unwrap()]);

    eprintln!("-- phase: durations entered as text read as milliseconds");
    let checks: serde_json::Value =
        serde_json::from_str(&get(&source, Kind::Checks, "json")).unwrap();
    let by_id = |id: &str| {
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|check| check["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_id("web-eu-tcp")["interval_ms"], 5000);
    assert_eq!(by_id("eu-replication")["kind"]["lease_ms"], 90_000);
    assert_eq!(by_id("ap-external")["kind"]["ttl_ms"], 600_000);

    eprintln!("-- phase: an override's expiry entered as an RFC 3339 time");
    let overrides = write(&root.0, "overrides.yaml", OVERRIDES);
    ctl(
        &source,
        &["create", "overrides", "-f", overrides.to_str().unwrap()],
    );
    let printed: serde_json::Value =
        serde_json::from_str(&ctl(&source, &["-o", "json", "get", "overrides"])).unwrap();
    assert_eq!(printed[0]["expires_at"], 4_102_444_800_000_u64, "{printed}");

    let mut all_yaml = Vec::new();
    let mut next_id = 2;
    for format in ["yaml", "json"] {
        eprintln!("-- phase: every kind as {format}, applied and created on fresh nodes");
        let applied = fresh_node(&root, next_id);
        let created = fresh_node(&root, next_id + 1);
        next_id += 2;
        let mut files = Vec::new();
        for kind in Kind::put_order() {
            let printed = get(&source, kind, format);
            assert!(
                printed.contains(ZONE) || printed.contains("id") || printed.contains("cidr"),
                "{kind:?} printed nothing to round-trip:\n{printed}"
            );
            if format == "yaml" {
                all_yaml.push(printed.clone());
            }
            let file = write(&root.0, &format!("{kind:?}.{format}"), &printed);
            let file = file.to_str().unwrap().to_string();

            let mut apply = vec!["apply", "-f", &file];
            apply.extend(apply_flags(kind));
            ctl(&applied, &apply);
            assert_eq!(
                get(&applied, kind, format),
                printed,
                "{kind:?} as {format} did not survive get | apply -f | get"
            );

            let mut create = create_args(kind);
            create.extend(["-f", &file]);
            ctl(&created, &create);
            assert_eq!(
                get(&created, kind, format),
                printed,
                "{kind:?} as {format} did not survive get | create -f | get"
            );
            files.push((kind, file));
        }
        eprintln!("-- phase: overrides as {format} through get | create -f | get");
        let printed = ctl(&source, &["-o", format, "get", "overrides"]);
        let file = write(&root.0, &format!("overrides.{format}"), &printed);
        ctl(
            &created,
            &["create", "overrides", "-f", file.to_str().unwrap()],
        );
        assert_eq!(
            ctl(&created, &["-o", format, "get", "overrides"]),
            printed,
            "overrides as {format} did not survive get | create -f | get"
        );

        eprintln!("-- phase: applying every {format} file again changes nothing");
        for (kind, file) in &files {
            let mut apply = vec!["apply", "-f", file.as_str()];
            apply.extend(apply_flags(*kind));
            let diff = ctl(&applied, &apply);
            assert!(
                diff.contains("no changes"),
                "{kind:?} as {format} applied twice changed something:\n{diff}"
            );
        }
    }

    eprintln!("-- phase: one file of every kind's YAML, as --- documents, in one apply");
    let whole = fresh_node(&root, next_id);
    let file = write(&root.0, "all.yaml", &all_yaml.join("---\n"));
    let diff = ctl(
        &whole,
        &["apply", "-f", file.to_str().unwrap(), "--zone", ZONE],
    );
    assert!(diff.contains("applied"), "{diff}");
    for kind in Kind::ALL {
        assert_eq!(
            get(&whole, kind, "yaml"),
            get(&source, kind, "yaml"),
            "{kind:?} differs after the one-file apply"
        );
    }

    eprintln!("-- phase: faults are named by their place in the user's file");
    let before = get(&whole, Kind::Endpoints, "json");
    let file = write(
        &root.0,
        "bad.yaml",
        "regions:\n  - id: eu-2\n    location: {lat: 95, lon: 8, country: DE, continent: EU}\n\
         ---\n\
         - {id: web-ok, region: eu-1, address: 192.0.2.40}\n\
         - {id: web-heavy, region: eu-1, address: 192.0.2.41, weight: 5000000}\n\
         - {id: web-slow, region: eu-1, address: 192.0.2.42}\n\
         ---\n\
         - id: web-slow-tcp\n  endpoint: web-slow\n  interval_ms: soon\n  kind: {type: tcp, port: 80}\n",
    );
    let file = file.to_str().unwrap();
    let stderr = ctl_fails(&whole, &["apply", "-f", file]);
    assert!(
        stderr.contains("document 3 item 1 (check web-slow-tcp): interval_ms"),
        "a fault read on the client names document and item:\n{stderr}"
    );
    let fixed = std::fs::read_to_string(file)
        .unwrap()
        .replace("interval_ms: soon", "interval_ms: 1m");
    std::fs::write(file, fixed).unwrap();
    let stderr = ctl_fails(&whole, &["apply", "-f", file]);
    assert!(
        stderr.contains("document 1 regions[0].location.lat"),
        "a fault the server finds names the document:\n{stderr}"
    );
    assert!(
        !stderr.contains("  regions[0]"),
        "no path of the merged document:\n{stderr}"
    );
    let fixed = std::fs::read_to_string(file)
        .unwrap()
        .replace("lat: 95", "lat: 50");
    std::fs::write(file, fixed).unwrap();
    let stderr = ctl_fails(&whole, &["apply", "-f", file]);
    assert!(
        stderr.contains("document 2 item 2 (endpoint web-heavy): weight"),
        "a fault the server finds names document and item:\n{stderr}"
    );
    assert_eq!(
        get(&whole, Kind::Endpoints, "json"),
        before,
        "nothing written"
    );
}
