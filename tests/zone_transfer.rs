//! Zone transfers to real secondaries, black-box: one `gslb serve` node (a one-voter control
//! plane that answers DNS, with a catalog zone) is the primary of Knot, NSD and BIND 9
//! running on loopback ports. Each secondary takes the zone by AXFR; a change through the
//! API sends NOTIFY and the secondaries catch up by IXFR, ending with the same serial and
//! the same records as gslb; Knot reads the catalog zone and picks up a new zone by itself.
//! Around that: a refused source gets REFUSED, IXFR from the current serial gets one SOA,
//! IXFR from a serial older than the history gets the whole zone, and with a TSIG key on the
//! allow list `kdig -y` transfers (checking the signature of every message) while a wrong
//! secret or an unknown key gets NOTAUTH. A second test runs Knot as a secondary that takes
//! only NOTIFY signed with its key: unsigned NOTIFY is refused, and with `--notify-key` the
//! next change reaches it.
//!
//! A secondary whose server is not installed is skipped with a message (CI installs all
//! three: `.ci/run`).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::cluster::{http, wait_until, TOKEN};
use common::{
    dig, dns_listen_address, framed, kdig, listening_address, read_framed, reply_header, send_all,
    tcp_connect, LogLines, Server, TempDir, START_TIMEOUT,
};

/// The zone the primary imports at start.
const ZONE: &str = "$ORIGIN xfr.test.
$TTL 300
@    3600 IN SOA ns1 hostmaster 100 3600 600 86400 60
@    3600 IN NS  ns1
ns1       IN A   127.0.0.1
www       IN A   192.0.2.10
mail      IN MX  10 mx.example.net.
txt       IN TXT \"v=spf1 -all\"
";

/// The zone added later (with its transfer settings in the same write), which Knot must find
/// through the catalog.
const NEW_ZONE: &str = r#"{"apex":"new.test.","soa":{"mname":"ns1","rname":"hostmaster","serial":7},
 "records":[{"name":"@","type":"NS","data":["ns1"]},{"name":"ns1","type":"A","data":["127.0.0.1"]},
            {"name":"hello","type":"TXT","data":["\"found through the catalog\""]}],
 "transfer":{"allow":["127.0.0.0/8"]}}"#;

/// How long a secondary gets to transfer, be notified and transfer again.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);

/// The `gslbctl` binary cargo built for these tests.
const GSLBCTL: &str = env!("CARGO_BIN_EXE_gslbctl");

/// A gslb node with `[control]` and `[dns]`: the primary.
struct Primary {
    server: Server,
    api: SocketAddr,
}

impl Primary {
    fn start() -> Primary {
        let dir = TempDir::new("xfr-primary");
        dir.write("xfr.test.zone", ZONE);
        let listen = dns_listen_address();
        let config = format!(
            "[log]\nlevel = \"info\"\n\n[control]\nnode_id = 1\ndata_dir = \"data\"\n\
             listen = \"127.0.0.1:0\"\ncluster_secret = \"{}\"\napi_token = \"{TOKEN}\"\n\
             role = \"voter\"\nbootstrap = {{ voters = {{ 1 = \"127.0.0.1:0\" }} }}\n\n\
             [dns]\nlisten = [\"{listen}\"]\nudp_workers = 1\ncatalog_zone = \"catalog.invalid.\"\n\n\
             [dns.rrl]\nrate = 0\n\n\
             [[zones]]\nfile = \"xfr.test.zone\"\norigin = \"xfr.test.\"\n",
            common::cluster::SECRET
        );
        let path = dir.write("node.toml", &config);
        let server = Server::spawn(dir, &path);
        let line = server
            .log
            .wait_for("listening on http ", START_TIMEOUT)
            .expect("the API listens");
        let api = listening_address(&line, "http").expect("an http address");
        server
            .log
            .wait_for("answering from the replicated state", START_TIMEOUT)
            .expect("the node answers");
        wait_until(SYNC_TIMEOUT, "the zone is served", || {
            serial_of(server.address, "xfr.test.").is_some()
        });
        Primary { server, api }
    }

    fn gslbctl(&self, args: &[&str]) -> String {
        let output = Command::new(GSLBCTL)
            .args(["--api", &format!("http://{}", self.api), "--token", TOKEN])
            .args(args)
            .output()
            .expect("run gslbctl");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "gslbctl {args:?} failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        text
    }

    /// Creates TSIG key `name` (hmac-sha256) and returns its base64 secret.
    fn create_key(&self, name: &str) -> String {
        let created = self.gslbctl(&["tsig", "create", name, "-o", "json"]);
        created
            .split("\"secret\":")
            .nth(1)
            .and_then(|rest| rest.split('"').nth(1))
            .unwrap_or_else(|| panic!("a secret in {created}"))
            .to_string()
    }

    fn metric(&self, series: &str) -> u64 {
        let (_, body) = http(self.api, "GET", "/metrics", Some(TOKEN), None).expect("metrics");
        body.lines()
            .find(|line| line.starts_with(series))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    }
}

/// The SOA serial `address` answers for `zone`, if it answers authoritatively.
fn serial_of(address: SocketAddr, zone: &str) -> Option<u32> {
    let reply = kdig(address, &[zone, "SOA", "+short"]);
    reply
        .text
        .split_whitespace()
        .nth(2)
        .and_then(|serial| serial.parse().ok())
}

/// The zone as `address` transfers it: one line per record, sorted, SOA once.
fn axfr_lines(address: SocketAddr, zone: &str) -> Vec<String> {
    axfr_lines_of(&kdig(address, &[zone, "AXFR", "+noall", "+answer"]).text)
}

/// The records of a `kdig` transfer listing, one normalized line each, sorted, SOA once
/// (TSIG records left out).
fn axfr_lines_of(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .filter(|line| !line.starts_with(';') && !line.trim().is_empty())
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| line.split(' ').nth(3) != Some("TSIG"))
        .collect();
    lines.sort();
    lines.dedup();
    lines
}

/// The whitespace-separated fields of a record line (owner, TTL, class, type, data...).
fn fields(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// One secondary server process, killed on drop.
struct Secondary {
    name: &'static str,
    child: Child,
    address: SocketAddr,
    log: LogLines,
    _dir: TempDir,
}

impl Drop for Secondary {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- {} log ---\n{}", self.name, self.log.text());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn installed(program: &str) -> bool {
    ["/usr/sbin/", "/usr/bin/"]
        .iter()
        .any(|dir| Path::new(&format!("{dir}{program}")).exists())
}

fn spawn(
    name: &'static str,
    dir: TempDir,
    address: SocketAddr,
    program: &str,
    args: &[&str],
) -> Secondary {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(&dir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("start {program}: {error}"));
    let log = LogLines::follow(child.stderr.take().unwrap());
    Secondary {
        name,
        child,
        address,
        log,
        _dir: dir,
    }
}

/// Knot as a secondary of `xfr.test.`. Without `key_secret`: also of the catalog (whose
/// members it serves from the primary too), taking NOTIFY and transfers from loopback
/// unsigned. With the secret of key `xfr-key`: it transfers with that key and takes NOTIFY
/// only when signed with it (an `acl` with the key and no address).
fn start_knot(primary: SocketAddr, key_secret: Option<&str>) -> Option<Secondary> {
    if !installed("knotd") {
        eprintln!("knotd not installed; Knot skipped");
        return None;
    }
    let dir = TempDir::new("xfr-knot");
    let address = dns_listen_address();
    let d = dir.0.display();
    let (ip, port) = (primary.ip(), primary.port());
    let tail = match key_secret {
        None => format!(
            "remote:\n  - id: primary\n    address: {ip}@{port}\n\
             acl:\n  - id: from_primary\n    address: 127.0.0.0/8\n    action: [notify, transfer]\n\
             template:\n  - id: default\n    storage: \"{d}\"\n    zonefile-sync: -1\n    journal-content: changes\n\
             \x20 - id: member\n    storage: \"{d}\"\n    master: primary\n    acl: from_primary\n    zonefile-sync: -1\n\
             zone:\n  - domain: xfr.test.\n    master: primary\n    acl: from_primary\n\
             \x20 - domain: catalog.invalid.\n    master: primary\n    acl: from_primary\n    catalog-role: interpret\n    catalog-template: member\n"
        ),
        Some(secret) => format!(
            "key:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: {secret}\n\
             remote:\n  - id: primary\n    address: {ip}@{port}\n    key: xfr-key\n\
             acl:\n  - id: signed_notify\n    key: xfr-key\n    action: notify\n\
             template:\n  - id: default\n    storage: \"{d}\"\n    zonefile-sync: -1\n    journal-content: changes\n\
             zone:\n  - domain: xfr.test.\n    master: primary\n    acl: signed_notify\n"
        ),
    };
    let config = format!(
        "server:\n  rundir: \"{d}\"\n  listen: {}@{}\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n\
         log:\n  - target: stderr\n    any: info\n\
         database:\n  storage: \"{d}\"\n{tail}",
        address.ip(),
        address.port(),
    );
    let path = dir.write("knot.conf", &config);
    let path = path.display().to_string();
    Some(spawn("knot", dir, address, "knotd", &["-c", &path]))
}

/// NSD as a secondary of `xfr.test.`.
fn start_nsd(primary: SocketAddr) -> Option<Secondary> {
    if !installed("nsd") {
        eprintln!("nsd not installed; NSD skipped");
        return None;
    }
    let dir = TempDir::new("xfr-nsd");
    let address = dns_listen_address();
    let d = dir.0.display();
    let config = format!(
        "server:\n  ip-address: {}@{}\n  server-count: 1\n  username: \"\"\n  chroot: \"\"\n\
         \x20 zonesdir: \"{d}\"\n  database: \"\"\n  pidfile: \"{d}/nsd.pid\"\n  xfrdfile: \"{d}/xfrd.state\"\n\
         \x20 zonelistfile: \"{d}/zone.list\"\n  xfrdir: \"{d}\"\n  verbosity: 2\n  logfile: \"{d}/nsd.log\"\n\
         remote-control:\n  control-enable: no\n\
         zone:\n  name: xfr.test.\n  zonefile: \"{d}/xfr.test.zone\"\n  request-xfr: {}@{} NOKEY\n\
         \x20 allow-notify: 127.0.0.0/8 NOKEY\n  provide-xfr: 127.0.0.0/8 NOKEY\n",
        address.ip(),
        address.port(),
        primary.ip(),
        primary.port()
    );
    let path = dir.write("nsd.conf", &config);
    let path = path.display().to_string();
    Some(spawn("nsd", dir, address, "nsd", &["-d", "-c", &path]))
}

/// BIND 9 as a secondary of `xfr.test.`.
fn start_bind(primary: SocketAddr) -> Option<Secondary> {
    if !installed("named") {
        eprintln!("named not installed; BIND skipped");
        return None;
    }
    let dir = TempDir::new("xfr-bind");
    let address = dns_listen_address();
    let d = dir.0.display();
    let config = format!(
        "options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n\
         \x20 listen-on port {} {{ {}; }};\n  listen-on-v6 {{ none; }};\n  recursion no;\n\
         \x20 dnssec-validation no;\n  allow-transfer {{ 127.0.0.0/8; }};\n  notify no;\n}};\n\
         controls {{ }};\n\
         zone \"xfr.test\" {{\n  type secondary;\n  primaries {{ {} port {}; }};\n  file \"xfr.test.db\";\n\
         \x20 allow-notify {{ 127.0.0.0/8; }};\n}};\n",
        address.port(),
        address.ip(),
        primary.ip(),
        primary.port()
    );
    let path = dir.write("named.conf", &config);
    let path = path.display().to_string();
    Some(spawn("bind", dir, address, "named", &["-g", "-c", &path]))
}

/// The RCODE of a hand-made AXFR/IXFR request for `zone` over TCP.
fn transfer_rcode(address: SocketAddr, zone: &str, qtype: u16) -> u8 {
    let mut stream = tcp_connect(address);
    send_all(
        &mut stream,
        &framed(&common::query_packet(0x4242, 0, zone, qtype, 1)),
    );
    let reply = read_framed(&mut stream).expect("a reply");
    reply_header(&reply).rcode
}

#[test]
fn secondaries_follow_the_primary_by_axfr_notify_and_ixfr() {
    eprintln!("== phase: start the primary and allow loopback to transfer");
    let primary = Primary::start();
    let dns = primary.server.address;
    let before = serial_of(dns, "xfr.test.").unwrap();

    // Nothing is allowed yet: refused, the answer path keeps serving.
    assert_eq!(
        transfer_rcode(dns, "xfr.test.", 252),
        5,
        "AXFR refused by default"
    );

    let knot = start_knot(dns, None);
    let nsd = start_nsd(dns);
    let bind = start_bind(dns);
    let secondaries: Vec<&Secondary> = [&knot, &nsd, &bind].into_iter().flatten().collect();
    let mut args = vec!["zone", "transfer", "xfr.test.", "--allow", "127.0.0.0/8"];
    let targets: Vec<String> = secondaries.iter().map(|s| s.address.to_string()).collect();
    for target in &targets {
        args.extend(["--notify", target]);
    }
    primary.gslbctl(&args);
    let shown = primary.gslbctl(&["zone", "transfer", "xfr.test.", "-o", "json"]);
    assert!(shown.contains("127.0.0.0/8"), "{shown}");

    eprintln!("== phase: every secondary takes the zone by AXFR");
    for secondary in &secondaries {
        wait_until(
            SYNC_TIMEOUT,
            &format!("{} serves xfr.test.", secondary.name),
            || serial_of(secondary.address, "xfr.test.") == Some(before),
        );
    }

    eprintln!("== phase: a change through the API → NOTIFY → IXFR");
    let incremental_before = primary.metric("gslb_dns_transfers_total{kind=\"incremental\"}");
    let (status, body) = http(
        primary.api,
        "PUT",
        "/v1/zones/xfr.test./records/www/A",
        Some(TOKEN),
        Some(r#"{"name":"www","type":"A","ttl":300,"data":["192.0.2.11","192.0.2.12"]}"#),
    )
    .expect("the API answers");
    assert_eq!(status, 200, "{body}");
    let after = serial_of(dns, "xfr.test.").unwrap();
    assert_ne!(after, before, "the serial moved");
    for secondary in &secondaries {
        wait_until(
            SYNC_TIMEOUT,
            &format!("{} is notified and catches up", secondary.name),
            || serial_of(secondary.address, "xfr.test.") == Some(after),
        );
    }
    let expected = axfr_lines(dns, "xfr.test.");
    assert!(
        expected.iter().any(|line| line.contains("192.0.2.12")),
        "{expected:?}"
    );
    for secondary in &secondaries {
        assert_eq!(
            axfr_lines(secondary.address, "xfr.test."),
            expected,
            "{} holds what gslb serves",
            secondary.name
        );
        let answer = dig(secondary.address, &["www.xfr.test.", "A", "+short"]);
        let mut addresses: Vec<&str> = answer.text.lines().collect();
        addresses.sort();
        assert_eq!(
            addresses,
            ["192.0.2.11", "192.0.2.12"],
            "{}",
            secondary.name
        );
    }
    assert!(
        primary.metric("gslb_dns_transfers_total{kind=\"incremental\"}") > incremental_before,
        "the secondaries caught up by IXFR"
    );
    wait_until(SYNC_TIMEOUT, "every NOTIFY is acknowledged", || {
        primary.metric("gslb_dns_notify_total{result=\"acknowledged\"}") >= secondaries.len() as u64
    });

    if let Some(knot) = &knot {
        eprintln!("== phase: a new zone reaches Knot through the catalog zone");
        let (status, body) = http(
            primary.api,
            "POST",
            "/v1/zones",
            Some(TOKEN),
            Some(NEW_ZONE),
        )
        .expect("the API answers");
        assert_eq!(status, 201, "{body}");
        wait_until(
            SYNC_TIMEOUT,
            "Knot serves new.test. from the catalog",
            || serial_of(knot.address, "new.test.") == Some(7),
        );
        let hello = kdig(knot.address, &["hello.new.test.", "TXT", "+short"]);
        assert!(
            hello.text.contains("found through the catalog"),
            "{}",
            hello.text
        );
    }

    eprintln!("== phase: IXFR from the current serial, from before the history, refused");
    let current = dig(
        dns,
        &["xfr.test.", &format!("IXFR={after}"), "+noall", "+answer"],
    );
    let records: Vec<&str> = current
        .text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.is_empty())
        .collect();
    assert_eq!(records.len(), 1, "one SOA: {records:?}");
    assert!(records[0].contains("SOA"), "{records:?}");

    let ancient = dig(dns, &["xfr.test.", "IXFR=1", "+noall", "+answer"]);
    let records: Vec<&str> = ancient
        .text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.is_empty())
        .collect();
    assert!(records.len() >= 6, "the whole zone: {records:?}");
    assert!(
        fields(records[1])[3] == "NS",
        "AXFR form (SOA, then the zone): {records:?}"
    );

    let incremental = dig(
        dns,
        &["xfr.test.", &format!("IXFR={before}"), "+noall", "+answer"],
    );
    let records: Vec<&str> = incremental
        .text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.is_empty())
        .collect();
    assert!(
        fields(records[1])[3] == "SOA" && fields(records[1])[6] == before.to_string(),
        "difference sequence: {records:?}"
    );

    eprintln!("== phase: TSIG: a key on the allow list, every message signed");
    let secret = primary.create_key("xfr-key");
    primary.gslbctl(&["zone", "transfer", "xfr.test.", "--allow", "key:xfr-key"]);
    assert_eq!(
        transfer_rcode(dns, "xfr.test.", 252),
        5,
        "unsigned: refused"
    );
    let key = format!("hmac-sha256:xfr-key:{secret}");
    // kdig checks the TSIG of every message it receives and fails the transfer otherwise.
    let signed = kdig(dns, &["-y", &key, "xfr.test.", "AXFR"]);
    assert!(
        !signed.text.contains(";; ERROR") && !signed.text.contains(";; WARNING"),
        "{}",
        signed.text
    );
    assert_eq!(
        axfr_lines_of(&signed.text),
        expected,
        "the signed transfer carries the zone"
    );
    // A wrong secret and an unknown key: refused (NOTAUTH with BADSIG / BADKEY, which kdig
    // reports on stderr and drops), nothing transferred.
    let refused_before = primary.metric("gslb_dns_transfers_total{kind=\"refused\"}");
    let wrong = format!("hmac-sha256:xfr-key:{}", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY");
    let unknown = format!("hmac-sha256:nokey:{secret}");
    for key in [&wrong, &unknown] {
        let refused = kdig(dns, &["-y", key, "xfr.test.", "AXFR"]);
        assert!(axfr_lines_of(&refused.text).is_empty(), "{}", refused.text);
    }
    assert_eq!(
        primary.metric("gslb_dns_transfers_total{kind=\"refused\"}"),
        refused_before + 2
    );

    primary.gslbctl(&["zone", "transfer", "xfr.test.", "--allow", "192.0.2.0/24"]);
    assert_eq!(
        transfer_rcode(dns, "xfr.test.", 252),
        5,
        "AXFR from a refused source"
    );
    assert_eq!(
        transfer_rcode(dns, "xfr.test.", 251),
        5,
        "IXFR from a refused source"
    );
    assert_eq!(
        transfer_rcode(dns, "nowhere.test.", 252),
        9,
        "NOTAUTH outside our zones"
    );
    assert_eq!(serial_of(dns, "xfr.test."), Some(after), "still serving");
}

/// Knot that accepts only NOTIFY signed with its key: an unsigned NOTIFY is refused and
/// Knot stays at the old serial (its refresh timer is an hour away); with `--notify-key`
/// the next change is announced signed, Knot's signed answer verifies (the NOTIFY counts as
/// acknowledged, none unverified) and Knot follows by IXFR with the same key.
#[test]
fn a_secondary_that_wants_signed_notify_follows_with_notify_key() {
    eprintln!("== phase: the primary, a key that may transfer, Knot wanting signed NOTIFY");
    let primary = Primary::start();
    let dns = primary.server.address;
    let secret = primary.create_key("xfr-key");
    let Some(knot) = start_knot(dns, Some(&secret)) else {
        return;
    };
    let target = knot.address.to_string();
    let transfer = ["zone", "transfer", "xfr.test.", "--allow", "key:xfr-key"];
    primary.gslbctl(&[&transfer[..], &["--notify", &target]].concat());
    let first = serial_of(dns, "xfr.test.").unwrap();
    wait_until(
        SYNC_TIMEOUT,
        "Knot transfers xfr.test. with the key",
        || serial_of(knot.address, "xfr.test.") == Some(first),
    );

    eprintln!("== phase: a change announced unsigned is refused");
    let put = |address: &str| {
        let before = serial_of(dns, "xfr.test.");
        let body = format!(r#"{{"name":"www","type":"A","ttl":300,"data":["{address}"]}}"#);
        let (status, reply) = http(
            primary.api,
            "PUT",
            "/v1/zones/xfr.test./records/www/A",
            Some(TOKEN),
            Some(&body),
        )
        .expect("the API answers");
        assert!(status == 200 || status == 201, "{status} {reply}");
        wait_until(SYNC_TIMEOUT, "the primary serves the new serial", || {
            serial_of(dns, "xfr.test.") != before
        });
        serial_of(dns, "xfr.test.").expect("a serial")
    };
    put("192.0.2.11");
    // Knot answers an unsigned NOTIFY NOTAUTH (and logs nothing at info).
    primary
        .server
        .log
        .wait_for("notify refused by the secondary", SYNC_TIMEOUT)
        .expect("Knot refuses the unsigned NOTIFY");
    assert_eq!(serial_of(knot.address, "xfr.test."), Some(first));

    eprintln!("== phase: with --notify-key the next change reaches Knot");
    let shown = primary.gslbctl(
        &[
            &transfer[..],
            &["--notify", &target, "--notify-key", "xfr-key"],
        ]
        .concat(),
    );
    assert!(shown.contains("written"), "{shown}");
    let settings = primary.gslbctl(&["zone", "transfer", "xfr.test."]);
    assert!(settings.contains("notify_key xfr-key"), "{settings}");
    let acknowledged = r#"gslb_dns_notify_total{result="acknowledged"}"#;
    let unverified = r#"gslb_dns_notify_total{result="unverified"}"#;
    let acknowledged_before = primary.metric(acknowledged);
    let signed = put("192.0.2.12");
    wait_until(SYNC_TIMEOUT, "Knot follows the signed NOTIFY", || {
        serial_of(knot.address, "xfr.test.") == Some(signed)
    });
    // Knot signs its answer with the key over our MAC (RFC 8945 §5.3.2), which gslb checks
    // before it counts the NOTIFY acknowledged.
    wait_until(SYNC_TIMEOUT, "the signed NOTIFY is acknowledged", || {
        primary.metric(acknowledged) > acknowledged_before
    });
    assert_eq!(
        primary.metric(unverified),
        0,
        "Knot's signed answer verifies"
    );
    let www = kdig(knot.address, &["www.xfr.test.", "A", "+short"]);
    assert_eq!(www.text.trim(), "192.0.2.12");

    eprintln!("== phase: a key that does not exist is refused");
    let output = Command::new(GSLBCTL)
        .args([
            "--api",
            &format!("http://{}", primary.api),
            "--token",
            TOKEN,
        ])
        .args(["zone", "transfer", "xfr.test.", "--notify", &target])
        .args(["--notify-key", "no-such-key"])
        .output()
        .expect("run gslbctl");
    assert!(!output.status.success());
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(errors.contains("no tsig key no-such-key"), "{errors}");
}
