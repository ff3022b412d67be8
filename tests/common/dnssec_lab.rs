//! A DNSSEC lab on loopback for the black-box DNSSEC tests: a root zone signed in the test
//! with `ldns-keygen`/`ldns-signzone` and served by NSD, delegating test zones to a gslb
//! node with the DS records `gslbctl dnssec status` prints (re-signed when they change, as
//! a parent following CDS would), and a validating Unbound trusting only that root.
//!
//! Resolvers and glue carry no port, so every server listens on port 53 of its own
//! 127.x address: the lab needs root (CAP_NET_BIND_SERVICE); `is_root` lets a test skip
//! itself without. Tools: unbound, nsd, ldnsutils, bind9-dnsutils (`.ci/run` installs them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::cluster::{wait_until, ClusterNode, Kind, TOKEN};
use super::{dig, TempDir};

/// The `gslbctl` binary cargo built for these tests.
pub const GSLBCTL: &str = env!("CARGO_BIN_EXE_gslbctl");

/// The lab's three addresses (each served on port 53).
#[derive(Debug, Clone, Copy)]
pub struct LabAddrs {
    /// The signed test root (NSD).
    pub root: &'static str,
    /// The gslb node, `ns1.` of every delegated zone.
    pub gslb: &'static str,
    /// The validating resolver (Unbound).
    pub unbound: &'static str,
}

/// True when the test runs as root.
pub fn is_root() -> bool {
    run("id", &["-u"]).stdout.starts_with(b"0")
}

/// `addr:53`.
pub fn sock(addr: &str) -> std::net::SocketAddr {
    format!("{addr}:53").parse().unwrap()
}

/// A path as text.
pub fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs a program to completion.
pub fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{program}: {error}"))
}

/// What `delv ARGS` printed, stderr (where it says "fully validated") then stdout.
pub fn delv(args: &[&str]) -> String {
    let output = run("delv", args);
    String::from_utf8_lossy(&output.stderr).to_string() + &String::from_utf8_lossy(&output.stdout)
}

/// Runs `gslbctl` against `api` with the admin token.
pub fn ctl_output(api: &str, args: &[&str]) -> Output {
    Command::new(GSLBCTL)
        .args(["--api", api, "--token", TOKEN, "--timeout", "60s"])
        .args(args)
        .output()
        .unwrap()
}

/// Runs `gslbctl` against `api` with the admin token; panics unless it succeeds.
pub fn ctl(api: &str, args: &[&str]) -> String {
    let output = ctl_output(api, args);
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "gslbctl {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `gslbctl -o json ARGS` against `api`, parsed.
pub fn ctl_json(api: &str, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["-o", "json"];
    full.extend_from_slice(args);
    serde_json::from_str(&ctl(api, &full)).unwrap()
}

/// The DS records `gslbctl dnssec status ZONE -o json` says the parent should hold.
pub fn parent_ds(api: &str, zone: &str) -> Vec<String> {
    ctl_json(api, &["dnssec", "status", zone])["ds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ds| ds.as_str().unwrap().to_string())
        .collect()
}

/// `example.test.`: every kind of answer a validator checks (`NS1` is replaced by the gslb
/// address).
pub const EXAMPLE_ZONE: &str = "$ORIGIN example.test.
$TTL 300
@        3600 IN SOA   ns1 hostmaster 2026120701 3600 600 86400 60
@        3600 IN NS    ns1
ns1           IN A     NS1
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
pub const EXAMPLE_GSLB: &str = "\
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

/// gslb serving `example.test.` (with a GSLB record) signed with one CSK, and NSD serving
/// a signed root that delegates it with the DS `gslbctl dnssec status` prints.
pub struct SignedLab {
    /// The gslb node (control plane and DNS on the lab's gslb address).
    pub node: ClusterNode,
    /// Its API URL.
    pub api: String,
    /// What `gslbctl dnssec enable example.test.` printed.
    pub enabled: String,
    /// The test root.
    pub root: Root,
    /// NSD serving it.
    pub nsd: Daemon,
}

impl SignedLab {
    /// Starts gslb and the root in `dir` on `addrs`; the root serves DS with `ds_ttl`.
    pub fn start(dir: &TempDir, addrs: LabAddrs, ds_ttl: u32) -> SignedLab {
        let settle = Duration::from_secs(60);
        let mut node = ClusterNode::prepare(dir, 1, Kind::Bootstrap, &[]);
        node.dns = Some(sock(addrs.gslb));
        node.dns_extra = "[dns.rrl]\nrate = 0\n".to_string();
        node.spawn_until_http();
        let api = format!("http://{}", node.http);
        let zone_file = dir.write(
            "example.test.zone",
            &EXAMPLE_ZONE.replace("NS1", addrs.gslb),
        );
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
        let gslb = dir.write("gslb.yaml", EXAMPLE_GSLB);
        ctl(&api, &["apply", "-f", path(&gslb)]);
        let enabled = ctl(&api, &["dnssec", "enable", "example.test."]);
        let root = Root::new(dir, addrs, ds_ttl);
        let ds = parent_ds(&api, "example.test.");
        root.sign(dir, 1, &[("example.test.", vec![ds[0].clone()])]);
        let nsd = start_nsd(dir, addrs);
        wait_until(settle, "NSD answers the signed root", || {
            dig(sock(addrs.root), &["+dnssec", ".", "SOA"])
                .text
                .contains("status: NOERROR")
        });
        SignedLab {
            node,
            api,
            enabled,
            root,
            nsd,
        }
    }
}

/// The test root: its key (made once) and how it is signed.
pub struct Root {
    /// The lab's addresses.
    addrs: LabAddrs,
    /// ldns's name for the key files (`K.+013+NNNNN`).
    key_base: String,
    /// The root key as `FLAGS 3 ALG "BASE64"`, for a trust anchor.
    pub trust_anchor: String,
    /// The TTL of the DS records it serves.
    ds_ttl: u32,
}

impl Root {
    /// Makes the root's key in `dir` (and `root.ds`, Unbound's trust anchor); DS records
    /// will be served with `ds_ttl`.
    pub fn new(dir: &TempDir, addrs: LabAddrs, ds_ttl: u32) -> Root {
        let keygen = Command::new("ldns-keygen")
            .args(["-a", "ECDSAP256SHA256", "-k", "."])
            .current_dir(&dir.0)
            .output()
            .expect("ldns-keygen (ldnsutils)");
        let key_base = String::from_utf8_lossy(&keygen.stdout).trim().to_string();
        assert!(key_base.starts_with("K.+013+"), "ldns-keygen: {keygen:?}");
        let ds_line = std::fs::read_to_string(dir.0.join(format!("{key_base}.ds"))).unwrap();
        std::fs::write(dir.0.join("root.ds"), ds_line).unwrap();
        let key = std::fs::read_to_string(dir.0.join(format!("{key_base}.key"))).unwrap();
        // ldns writes `;{id = ... (ksk), size = ...}` after the key: not part of it.
        let key = key.split(';').next().unwrap();
        let fields: Vec<&str> = key.split_whitespace().collect();
        let at = fields.iter().position(|field| *field == "DNSKEY").unwrap();
        let trust_anchor = format!(
            "{} {} {} \"{}\"",
            fields[at + 1],
            fields[at + 2],
            fields[at + 3],
            fields[at + 4..].join("")
        );
        Root {
            addrs,
            key_base,
            trust_anchor,
            ds_ttl,
        }
    }

    /// The root's DNSKEY record in zone-file form (a trusted-keys file for dnsviz).
    pub fn key_file(&self, dir: &TempDir) -> PathBuf {
        dir.0.join(format!("{}.key", self.key_base))
    }

    /// Writes and signs `root.zone.signed` in `dir`, delegating each zone of `delegations`
    /// to the gslb node with its DS records (presentation format, as `gslbctl` prints them).
    pub fn sign(&self, dir: &TempDir, serial: u32, delegations: &[(&str, Vec<String>)]) {
        let LabAddrs { root, gslb, .. } = self.addrs;
        let mut zone = format!(
            ".                     86400 IN SOA ns.root-servers.test. hostmaster.root-servers.test. {serial} 1800 900 604800 86400
.                     86400 IN NS  ns.root-servers.test.
ns.root-servers.test. 86400 IN A   {root}
"
        );
        for (apex, ds) in delegations {
            zone.push_str(&format!(
                "{apex} 3600 IN NS ns1.{apex}\nns1.{apex} 3600 IN A {gslb}\n"
            ));
            for ds in ds {
                zone.push_str(&ds.replacen(" IN DS ", &format!(" {} IN DS ", self.ds_ttl), 1));
                zone.push('\n');
            }
        }
        dir.write("root.zone", &zone);
        // Inception an hour back, as real signers do: validators allow for clock skew.
        let inception = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - 3600;
        let signed = Command::new("ldns-signzone")
            .args([
                "-i",
                &inception.to_string(),
                "-o",
                ".",
                "root.zone",
                &self.key_base,
            ])
            .current_dir(&dir.0)
            .output()
            .expect("ldns-signzone (ldnsutils)");
        assert!(signed.status.success(), "ldns-signzone: {signed:?}");
    }
}

/// A child process killed on drop.
pub struct Daemon(pub Child);

impl Daemon {
    /// Sends SIGHUP (NSD reloads its zones).
    pub fn hangup(&self) {
        run("kill", &["-HUP", &self.0.id().to_string()]);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// NSD serving the signed root (`root.zone.signed` in `dir`) on the root address, in the
/// foreground.
pub fn start_nsd(dir: &TempDir, addrs: LabAddrs) -> Daemon {
    let base = dir.0.display();
    let root = addrs.root;
    let config = dir.write(
        "nsd.conf",
        &format!(
            "server:
  ip-address: {root}
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

/// Unbound on the resolver address, validating with the test root's DS (`root.ds`) as its
/// trust anchor and NSD as its only root server; `extra` is added to its `server:` clause.
pub fn start_unbound(dir: &TempDir, addrs: LabAddrs, extra: &str) -> Daemon {
    let base = dir.0.display();
    let LabAddrs { root, unbound, .. } = addrs;
    dir.write(
        "root.hints",
        &format!(". 3600000 NS ns.root-servers.test.\nns.root-servers.test. 3600000 A {root}\n"),
    );
    let config = dir.write(
        "unbound.conf",
        &format!(
            "server:
  interface: {unbound}
  port: 53
  outgoing-interface: {unbound}
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
{extra}remote-control:
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

/// The dnsviz program: `$DNSVIZ_VENV/bin/dnsviz`, else `dnsviz` on the PATH.
pub fn dnsviz() -> Option<PathBuf> {
    let from_venv = std::env::var_os("DNSVIZ_VENV")
        .map(|venv| PathBuf::from(venv).join("bin").join("dnsviz"))
        .filter(|program| program.exists());
    from_venv.or_else(|| {
        run("sh", &["-c", "command -v dnsviz"])
            .status
            .success()
            .then(|| PathBuf::from("dnsviz"))
    })
}

/// `dnsviz probe -A` of `names` through the lab's root and its gslb node (authoritative for
/// `zones`), then `dnsviz grok` with the root's key as the only trusted key: grok's report.
pub fn dnsviz_grok(
    dnsviz: &Path,
    dir: &TempDir,
    root: &Root,
    addrs: LabAddrs,
    zones: &[&str],
    names: &[&str],
) -> serde_json::Value {
    let probe = dir.0.join("probe.json");
    let mut args = vec![
        "probe".to_string(),
        "-A".into(),
        "-4".into(),
        "-a".into(),
        ".".into(),
        "-x".into(),
        format!(".:ns.root-servers.test={}", addrs.root),
    ];
    for zone in zones {
        let zone = zone.trim_end_matches('.');
        args.extend(["-x".into(), format!("{zone}:ns1.{zone}={}", addrs.gslb)]);
    }
    args.extend(["-o".into(), probe.display().to_string()]);
    args.extend(names.iter().map(|name| name.to_string()));
    let probed = Command::new(dnsviz).args(&args).output().unwrap();
    assert!(probed.status.success(), "dnsviz probe: {probed:?}");
    let grok = dir.0.join("grok.json");
    let grokked = Command::new(dnsviz)
        .arg("grok")
        .args(["-P", "-l", "info", "-t"])
        .arg(root.key_file(dir))
        .arg("-r")
        .arg(&probe)
        .arg("-o")
        .arg(&grok)
        .output()
        .unwrap();
    assert!(grokked.status.success(), "dnsviz grok: {grokked:?}");
    serde_json::from_str(&std::fs::read_to_string(&grok).unwrap()).unwrap()
}

/// Every entry of an `errors` or `warnings` list in grok's report, with where it is.
pub fn grok_problems(report: &serde_json::Value) -> Vec<String> {
    fn walk(value: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    let here = format!("{at}/{key}");
                    if key == "errors" || key == "warnings" {
                        if let Some(list) = inner.as_array() {
                            out.extend(list.iter().map(|entry| format!("{here}: {entry}")));
                        }
                    }
                    walk(inner, &here, out);
                }
            }
            serde_json::Value::Array(list) => {
                for (index, inner) in list.iter().enumerate() {
                    walk(inner, &format!("{at}[{index}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(report, "", &mut out);
    out
}

/// Every `status` value of grok's report below the names (RRsets, delegations and denials:
/// `SECURE` when good; signatures: `VALID`).
pub fn grok_statuses(report: &serde_json::Value) -> Vec<String> {
    fn walk(value: &serde_json::Value, depth: usize, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    match (key.as_str(), inner.as_str()) {
                        ("status", Some(status)) if depth > 1 => out.push(status.to_string()),
                        _ => walk(inner, depth + 1, out),
                    }
                }
            }
            serde_json::Value::Array(list) => {
                for inner in list {
                    walk(inner, depth + 1, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(report, 0, &mut out);
    out
}
