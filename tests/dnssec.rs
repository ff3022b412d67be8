//! Black-box DNSSEC validation, end to end and offline on loopback: a `gslb serve` node
//! (control plane and DNS in one process) signs `example.test.` online; a root zone signed in
//! the test with `ldns-keygen`/`ldns-signzone` (served by NSD) delegates to it with the DS
//! that `gslbctl dnssec status -o json` prints; Unbound, with the test root's DS as its only
//! trust anchor, resolves through both and must set the AD bit; `delv` through Unbound must
//! say "fully validated".
//!
//! Resolvers and glue carry no port, so every server listens on port 53 of its own
//! 127.19.53.x address: the test needs root (CAP_NET_BIND_SERVICE) and skips itself without.
//! Tools: unbound, nsd, ldnsutils, bind9-dnsutils (`.ci/run` installs them).

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::cluster::{wait_until, ClusterNode, Kind, TOKEN};
use common::{dig, DigReply, TempDir};

const GSLBCTL: &str = env!("CARGO_BIN_EXE_gslbctl");
/// The signed test root (NSD).
const ROOT_ADDR: &str = "127.19.53.1";
/// The gslb node: `ns1.example.test.`.
const GSLB_ADDR: &str = "127.19.53.2";
/// The validating resolver.
const UNBOUND_ADDR: &str = "127.19.53.3";
/// Long enough for a start, a write or a resolution on a loaded 2-core machine.
const SETTLE: Duration = Duration::from_secs(60);

const ZONE: &str = "$ORIGIN example.test.
$TTL 300
@        3600 IN SOA   ns1 hostmaster 2026120701 3600 600 86400 60
@        3600 IN NS    ns1
ns1           IN A     127.19.53.2
@             IN MX    10 mail
mail          IN A     192.0.2.25
www           IN A     192.0.2.10
www           IN AAAA  2001:db8::10
www           IN TXT   \"signed online\"
alias         IN CNAME www
*.wild        IN A     192.0.2.50
a.deep.ent    IN A     192.0.2.60
";

/// Two regions; `app` answers eu-1 while it is available, else us-1. TTL 1, so Unbound asks
/// again right after a failover.
const GSLB: &str = "\
regions:
  - id: eu-1
    location: {lat: 50.11, lon: 8.68, country: DE, continent: EU}
  - id: us-1
    location: {lat: 39.04, lon: -77.49, country: US, continent: NA}
endpoints:
  - id: web-eu
    region: eu-1
    address: 192.0.2.101
  - id: web-us
    region: us-1
    address: 192.0.2.201
gslb_records:
  - zone: example.test.
    name: app
    type: A
    ttl: 1
    unknown_as: up
    policy:
      failover:
        - region: eu-1
        - region: us-1
";

/// What does this test do: starts gslb on 127.19.53.2:53, imports `example.test.` with a
/// GSLB record, enables DNSSEC with `gslbctl dnssec enable`, signs a root that delegates to
/// it with the DS from `gslbctl dnssec status -o json`, serves it with NSD, and resolves
/// through a validating Unbound: A, AAAA, TXT, a CNAME chain, a wildcard, NXDOMAIN, NODATA,
/// an empty non-terminal and the GSLB answer all come back with AD; `delv` through Unbound
/// says "fully validated"; then a drain moves `app` to us-1 and the new answer validates too;
/// `/readyz` reports no DNSSEC problem. Last, a CSK rollover: step one publishes and signs
/// with a second key (DNSKEY and CDS sets of two, answers still validated by Unbound, which
/// cached the old DNSKEY set), step two is refused before the DNSKEY TTL unless forced, and
/// after it the new key alone validates the zone (`delv` with it as the zone's anchor).
#[test]
fn signed_zone_validates_through_a_signed_root() {
    if !is_root() {
        eprintln!("skipped: binding port 53 on loopback needs root");
        return;
    }
    let dir = TempDir::new("dnssec");
    eprintln!("-- phase: start gslb on {GSLB_ADDR}:53");
    let mut node = ClusterNode::prepare(&dir, 1, Kind::Bootstrap, &[]);
    node.dns = Some(format!("{GSLB_ADDR}:53").parse().unwrap());
    node.dns_extra = "[dns.rrl]\nrate = 0\n".to_string();
    node.spawn_until_http();
    let api = format!("http://{}", node.http);

    eprintln!("-- phase: the zone, its GSLB record, and signing");
    let zone_file = dir.write("example.test.zone", ZONE);
    ctl(
        &api,
        &[
            "zone",
            "import",
            path(&zone_file),
            "--zone",
            "example.test.",
        ],
    );
    let gslb = dir.write("gslb.yaml", GSLB);
    ctl(&api, &["apply", "-f", path(&gslb)]);
    let enabled = ctl(&api, &["dnssec", "enable", "example.test."]);
    assert!(enabled.contains("IN DS "), "{enabled}");
    let status: serde_json::Value = serde_json::from_str(&ctl(
        &api,
        &["-o", "json", "dnssec", "status", "example.test."],
    ))
    .unwrap();
    assert_eq!(status["signed"], true, "{status}");
    let ds: Vec<String> = status["ds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ds| ds.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ds.len(), 2, "one DS per digest type: {status}");
    assert!(
        ds[0].contains(" 13 2 ") && ds[1].contains(" 13 4 "),
        "{ds:?}"
    );
    assert!(status["dnskey"][0]
        .as_str()
        .unwrap()
        .contains("DNSKEY 257 3 13 "));
    assert!(
        !status.to_string().contains("sealed"),
        "no private key material in the API: {status}"
    );

    eprintln!("-- phase: sign a root delegating to gslb, serve it with NSD");
    let root_key = sign_root(&dir, &ds[0]);
    let _nsd = start_nsd(&dir);
    wait_until(SETTLE, "NSD answers the signed root", || {
        dig(sock(ROOT_ADDR), &["+dnssec", ".", "SOA"])
            .text
            .contains("status: NOERROR")
    });

    eprintln!("-- phase: a validating Unbound trusting only the test root");
    let _unbound = start_unbound(&dir);
    let resolver = sock(UNBOUND_ADDR);
    wait_until(SETTLE, "Unbound validates the root's SOA", || {
        let reply = dig(resolver, &["+dnssec", ".", "SOA"]);
        reply.text.contains(";; flags:") && reply.has_flag("ad")
    });

    eprintln!("-- phase: every kind of answer validates (AD set)");
    let secure = |args: &[&str]| -> DigReply {
        let mut query = vec!["+dnssec"];
        query.extend_from_slice(args);
        let reply = dig(resolver, &query);
        assert!(
            reply.has_flag("ad"),
            "{args:?}: no AD bit, validation failed:\n{}",
            reply.text
        );
        reply
    };
    assert_eq!(
        secure(&["www.example.test", "A"]).a_addresses(),
        ["192.0.2.10"]
    );
    assert!(secure(&["www.example.test", "AAAA"])
        .text
        .contains("2001:db8::10"));
    assert!(secure(&["www.example.test", "TXT"])
        .text
        .contains("signed online"));
    assert_eq!(
        secure(&["alias.example.test", "A"]).a_addresses(),
        ["192.0.2.10"]
    );
    assert_eq!(
        secure(&["x.wild.example.test", "A"]).a_addresses(),
        ["192.0.2.50"]
    );
    assert_eq!(
        secure(&["app.example.test", "A"]).a_addresses(),
        ["192.0.2.101"]
    );
    let nxdomain = secure(&["nope.example.test", "A"]);
    assert!(
        nxdomain.a_addresses().is_empty() && ["NXDOMAIN", "NOERROR"].contains(&nxdomain.status()),
        "{}",
        nxdomain.text
    );
    let nodata = secure(&["www.example.test", "MX"]);
    assert_eq!(
        (nodata.status(), nodata.section("ANSWER").len()),
        ("NOERROR", 0)
    );
    let ent = secure(&["deep.ent.example.test", "A"]);
    assert_eq!((ent.status(), ent.section("ANSWER").len()), ("NOERROR", 0));
    secure(&["example.test", "DNSKEY"]);

    eprintln!("-- phase: delv through Unbound, the test root as its only anchor");
    let anchors = dir.write(
        "anchors.conf",
        &format!("trust-anchors {{ \".\" static-key {root_key}; }};\n"),
    );
    for (name, rtype) in [
        ("www.example.test", "A"),
        ("x.wild.example.test", "A"),
        ("app.example.test", "A"),
        ("nope.example.test", "A"),
    ] {
        let text = delv(&[
            "-a",
            path(&anchors),
            &format!("@{UNBOUND_ADDR}"),
            name,
            rtype,
        ]);
        assert!(
            text.contains("fully validated"),
            "delv {name} {rtype}:\n{text}"
        );
    }

    eprintln!("-- phase: a failover while signed keeps validating");
    let drain = dir.write(
        "drain.json",
        r#"{"id": "eu-1-down", "region": "eu-1", "action": "drain",
            "reason": "dnssec failover test", "expires_at": 4102444800000}"#,
    );
    ctl(&api, &["create", "overrides", "-f", path(&drain)]);
    wait_until(SETTLE, "app.example.test moves to us-1, validated", || {
        secure(&["app.example.test", "A"]).a_addresses() == ["192.0.2.201"]
    });
    let (code, ready) = node.readyz().expect("/readyz answers");
    assert_eq!(code, 200, "{ready}");
    assert!(!ready.contains("dnssec_problems"), "{ready}");

    eprintln!("-- phase: rollover step 1: a second key signs too, its DS is published as CDS");
    let rolling: serde_json::Value = serde_json::from_str(&ctl(
        &api,
        &["-o", "json", "dnssec", "rollover", "example.test."],
    ))
    .unwrap();
    assert_eq!(rolling["keys"].as_array().unwrap().len(), 2, "{rolling}");
    assert_eq!(rolling["ds"].as_array().unwrap().len(), 4, "{rolling}");
    let gslb = sock(GSLB_ADDR);
    let keys = dig(gslb, &["+dnssec", "+norec", "example.test", "DNSKEY"]);
    assert_eq!(
        keys.records("ANSWER").len(),
        4,
        "2 DNSKEY + 2 RRSIG:\n{}",
        keys.text
    );
    let cds = dig(gslb, &["+dnssec", "+norec", "example.test", "CDS"]);
    assert_eq!(
        cds.records("ANSWER").len(),
        4,
        "2 CDS + 2 RRSIG:\n{}",
        cds.text
    );
    secure(&["www.example.test", "A"]);
    secure(&["app.example.test", "A"]);

    eprintln!("-- phase: rollover step 2 waits for the DNSKEY TTL unless forced");
    let early = Command::new(GSLBCTL)
        .args([
            "--api",
            &api,
            "--token",
            TOKEN,
            "dnssec",
            "rollover",
            "example.test.",
        ])
        .output()
        .unwrap();
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("try again later"),
        "{early:?}"
    );
    let done: serde_json::Value = serde_json::from_str(&ctl(
        &api,
        &[
            "-o",
            "json",
            "dnssec",
            "rollover",
            "--force",
            "example.test.",
        ],
    ))
    .unwrap();
    let keys = done["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{done}");
    assert_eq!(
        keys[0]["tag"], rolling["keys"][1]["tag"],
        "the new key stays: {done}"
    );
    let new_key = done["dnskey"][0].as_str().unwrap();
    let fields: Vec<&str> = new_key.split_whitespace().collect();
    let zone_anchors = dir.write(
        "zone-anchors.conf",
        &format!(
            "trust-anchors {{ \"example.test.\" static-key {} {} {} \"{}\"; }};\n",
            fields[4], fields[5], fields[6], fields[7]
        ),
    );
    let text = delv(&[
        "-a",
        path(&zone_anchors),
        "+root=example.test",
        &format!("@{GSLB_ADDR}"),
        "www.example.test",
        "A",
    ]);
    assert!(
        text.contains("fully validated"),
        "after the rollover:\n{text}"
    );
}

/// True when the test runs as root.
fn is_root() -> bool {
    run("id", &["-u"]).stdout.starts_with(b"0")
}

/// `addr:53`.
fn sock(addr: &str) -> std::net::SocketAddr {
    format!("{addr}:53").parse().unwrap()
}

/// A path as text.
fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs a program to completion.
fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{program}: {error}"))
}

/// What `delv ARGS` printed, stderr (where it says "fully validated") then stdout.
fn delv(args: &[&str]) -> String {
    let output = run("delv", args);
    String::from_utf8_lossy(&output.stderr).to_string() + &String::from_utf8_lossy(&output.stdout)
}

/// Runs `gslbctl` against `api` with the admin token; panics unless it succeeds.
fn ctl(api: &str, args: &[&str]) -> String {
    let output = Command::new(GSLBCTL)
        .args(["--api", api, "--token", TOKEN, "--timeout", "60s"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "gslbctl {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Writes and signs the test root (delegating `example.test.` with `ds`) in `dir`; returns
/// the root key as `FLAGS 3 ALG "BASE64"` for a trust anchor.
fn sign_root(dir: &TempDir, ds: &str) -> String {
    let root_zone = format!(
        ".                     86400 IN SOA ns.root-servers.test. hostmaster.root-servers.test. 2026120701 1800 900 604800 86400
.                     86400 IN NS  ns.root-servers.test.
ns.root-servers.test. 86400 IN A   {ROOT_ADDR}
example.test.         3600  IN NS  ns1.example.test.
ns1.example.test.     3600  IN A   {GSLB_ADDR}
{}
",
        ds.replacen(" IN DS ", " 3600 IN DS ", 1)
    );
    dir.write("root.zone", &root_zone);
    let keygen = Command::new("ldns-keygen")
        .args(["-a", "ECDSAP256SHA256", "-k", "."])
        .current_dir(&dir.0)
        .output()
        .expect("ldns-keygen (ldnsutils)");
    let base = String::from_utf8_lossy(&keygen.stdout).trim().to_string();
    assert!(base.starts_with("K.+013+"), "ldns-keygen: {keygen:?}");
    let signed = Command::new("ldns-signzone")
        .args(["-o", ".", "root.zone", &base])
        .current_dir(&dir.0)
        .output()
        .expect("ldns-signzone (ldnsutils)");
    assert!(signed.status.success(), "ldns-signzone: {signed:?}");
    let ds_line = std::fs::read_to_string(dir.0.join(format!("{base}.ds"))).unwrap();
    std::fs::write(dir.0.join("root.ds"), ds_line).unwrap();
    let key = std::fs::read_to_string(dir.0.join(format!("{base}.key"))).unwrap();
    // ldns writes `;{id = ... (ksk), size = ...}` after the key: not part of it.
    let key = key.split(';').next().unwrap();
    let fields: Vec<&str> = key.split_whitespace().collect();
    let at = fields.iter().position(|field| *field == "DNSKEY").unwrap();
    format!(
        "{} {} {} \"{}\"",
        fields[at + 1],
        fields[at + 2],
        fields[at + 3],
        fields[at + 4..].join("")
    )
}

/// A child process killed on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// NSD serving the signed root on `ROOT_ADDR`:53 in the foreground.
fn start_nsd(dir: &TempDir) -> Daemon {
    let base = dir.0.display();
    let config = dir.write(
        "nsd.conf",
        &format!(
            "server:
  ip-address: {ROOT_ADDR}
  port: 53
  server-count: 1
  zonesdir: \"{base}\"
  pidfile: \"{base}/nsd.pid\"
  database: \"\"
  username: \"\"
  chroot: \"\"
  zonelistfile: \"{base}/zone.list\"
  xfrdfile: \"{base}/xfrd.state\"
  xfrdir: \"{base}\"
  logfile: \"{base}/nsd.log\"
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: \".\"
  zonefile: \"root.zone.signed\"
"
        ),
    );
    Daemon(
        Command::new("nsd")
            .args(["-d", "-c", path(&config)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nsd"),
    )
}

/// Unbound on `UNBOUND_ADDR`:53, validating with the test root's DS as trust anchor and the
/// NSD root as its only root server.
fn start_unbound(dir: &TempDir) -> Daemon {
    let base = dir.0.display();
    dir.write(
        "root.hints",
        &format!(
            ". 3600000 NS ns.root-servers.test.\nns.root-servers.test. 3600000 A {ROOT_ADDR}\n"
        ),
    );
    let config = dir.write(
        "unbound.conf",
        &format!(
            "server:
  interface: {UNBOUND_ADDR}
  port: 53
  outgoing-interface: {UNBOUND_ADDR}
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  do-ip6: no
  username: \"\"
  chroot: \"\"
  directory: \"{base}\"
  pidfile: \"\"
  use-syslog: no
  logfile: \"{base}/unbound.log\"
  verbosity: 1
  val-log-level: 2
  num-threads: 1
  root-hints: \"{base}/root.hints\"
  trust-anchor-file: \"{base}/root.ds\"
  trust-anchor-signaling: no
  root-key-sentinel: no
  module-config: \"validator iterator\"
  local-zone: \"test.\" nodefault
  qname-minimisation: no
  harden-dnssec-stripped: yes
remote-control:
  control-enable: no
"
        ),
    );
    Daemon(
        Command::new("unbound")
            .args(["-d", "-c", path(&config)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unbound"),
    )
}
