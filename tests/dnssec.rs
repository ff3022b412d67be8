//! Black-box DNSSEC validation, end to end and offline on loopback: a `gslb serve` node
//! (control plane and DNS in one process) signs `example.test.` online; a root zone signed in
//! the test with `ldns-keygen`/`ldns-signzone` (served by NSD) delegates to it with the DS
//! that `gslbctl dnssec status -o json` prints; Unbound, with the test root's DS as its only
//! trust anchor, resolves through both and must set the AD bit; `delv` through Unbound must
//! say "fully validated"; `unbound-host -v`, iterating from the test root on its own, must say
//! "(secure)".
//!
//! The lab (`common::dnssec_lab`) serves on port 53 of 127.19.53.x: the test needs root and
//! skips itself without.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::cluster::{http as http_call, wait_until, ClusterNode, Kind, SECRET};
use common::dnssec_lab::{
    ctl, ctl_json, ctl_output, delv, is_root, parent_ds, path, run, sock, start_unbound, Daemon,
    LabAddrs, SignedLab,
};
use common::{dig, listening_address, DigReply, LogLines, TempDir, GSLB};

/// The lab's addresses.
const LAB: LabAddrs = LabAddrs {
    root: "127.19.53.1",
    gslb: "127.19.53.2",
    unbound: "127.19.53.3",
};
/// The gslb node: `ns1.example.test.`.
const GSLB_ADDR: &str = LAB.gslb;
/// The validating resolver.
const UNBOUND_ADDR: &str = LAB.unbound;
/// Long enough for a start, a write or a resolution on a loaded 2-core machine.
const SETTLE: Duration = Duration::from_secs(60);

/// What does this test do: starts gslb on 127.19.53.2:53, imports `example.test.` with a
/// GSLB record, enables DNSSEC with `gslbctl dnssec enable`, signs a root that delegates to
/// it with the DS from `gslbctl dnssec status -o json`, serves it with NSD, and resolves
/// through a validating Unbound: A, AAAA, TXT, a CNAME chain, a wildcard, NXDOMAIN, NODATA,
/// an empty non-terminal and the GSLB answer all come back with AD; `delv` through Unbound
/// says "fully validated"; then a drain moves `app` to us-1 and the new answer validates too;
/// `/readyz` reports no DNSSEC problem. Last, a CSK rollover by hand: `publish` adds a second
/// key (DNSKEY and CDS sets of two, answers still validated by Unbound, which cached the old
/// DNSKEY set), the operator confirms the DS (`ds_seen`), `activate` is refused before the
/// DNSKEY TTL unless forced and then validates, and after `remove` the new key alone
/// validates the zone (`delv` with it as the zone's anchor).
#[test]
fn signed_zone_validates_through_a_signed_root() {
    if !is_root() {
        eprintln!("skipped: binding port 53 on loopback needs root");
        return;
    }
    let dir = TempDir::new("dnssec");
    eprintln!(
        "-- phase: gslb on {GSLB_ADDR}:53 signs example.test.; a signed root delegates to it"
    );
    let lab = SignedLab::start(&dir, LAB, 3600);
    let (api, root) = (&lab.api, &lab.root);
    let enabled = &lab.enabled;
    assert!(enabled.contains("IN DS "), "{enabled}");
    let status = ctl_json(api, &["dnssec", "status", "example.test."]);
    assert_eq!(status["signed"], true, "{status}");
    let ds = parent_ds(api, "example.test.");
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

    let root_key = root.trust_anchor.clone();

    eprintln!("-- phase: a validating Unbound trusting only the test root");
    let _unbound = start_unbound(&dir, LAB, "");
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

    eprintln!(
        "-- phase: unbound-host -v, iterating from the test root itself, its DS the only anchor"
    );
    let base = dir.0.display();
    let host_conf = dir.write(
        "unbound-host.conf",
        &format!(
            "server:\n  do-not-query-localhost: no\n  do-ip6: no\n  chroot: \"\"\n\
             \x20 directory: \"{base}\"\n  root-hints: \"{base}/root.hints\"\n\
             \x20 trust-anchor-file: \"{base}/root.ds\"\n  local-zone: \"test.\" nodefault\n\
             \x20 qname-minimisation: no\n"
        ),
    );
    for (name, rtype, outcome) in [
        ("www.example.test", "A", "has address"),
        ("x.wild.example.test", "A", "has address"),
        ("app.example.test", "A", "has address"),
        // Compact denial (RFC 9824): a name that does not exist is answered NODATA.
        ("nope.example.test", "A", "has no address"),
        ("www.example.test", "MX", "has no mail handler record"),
    ] {
        let output = run(
            "unbound-host",
            &["-C", path(&host_conf), "-v", "-t", rtype, name],
        );
        let text = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(
            text.contains(outcome)
                && text.contains("(secure)")
                && !text.contains("insecure")
                && !text.contains("BOGUS"),
            "unbound-host -v -t {rtype} {name}:\n{text}"
        );
    }

    eprintln!("-- phase: a failover while signed keeps validating");
    let drain = dir.write(
        "drain.json",
        r#"{"id": "eu-1-down", "region": "eu-1", "action": "drain",
            "reason": "dnssec failover test", "expires_at": 4102444800000}"#,
    );
    ctl(api, &["create", "overrides", "-f", path(&drain)]);
    wait_until(SETTLE, "app.example.test moves to us-1, validated", || {
        secure(&["app.example.test", "A"]).a_addresses() == ["192.0.2.201"]
    });
    let (code, ready) = lab.node.readyz().expect("/readyz answers");
    assert_eq!(code, 200, "{ready}");
    assert!(!ready.contains("dnssec_problems"), "{ready}");

    eprintln!("-- phase: rollover publish: a second key joins the DNSKEY set, its DS the CDS set");
    let rolling = ctl_json(api, &["dnssec", "rollover", "example.test."]);
    assert_eq!(rolling["keys"].as_array().unwrap().len(), 2, "{rolling}");
    assert_eq!(rolling["keys"][1]["state"], "published", "{rolling}");
    assert_eq!(rolling["ds"].as_array().unwrap().len(), 4, "{rolling}");
    assert_eq!(rolling["next_step"]["awaiting_parent"], true, "{rolling}");
    let gslb = sock(GSLB_ADDR);
    let keys = dig(gslb, &["+dnssec", "+norec", "example.test", "DNSKEY"]);
    assert_eq!(
        keys.records("ANSWER").len(),
        4,
        "2 DNSKEY + an RRSIG by each entry point:\n{}",
        keys.text
    );
    let cds = dig(gslb, &["+dnssec", "+norec", "example.test", "CDS"]);
    let cds_records = cds
        .records("ANSWER")
        .into_iter()
        .filter(|fields| fields.get(3).map(String::as_str) == Some("CDS"))
        .count();
    assert_eq!(cds_records, 2, "2 CDS:\n{}", cds.text);
    secure(&["www.example.test", "A"]);
    secure(&["app.example.test", "A"]);

    eprintln!(
        "-- phase: the operator confirms the DS; activation waits for the DNSKEY TTL unless forced"
    );
    let seen = ctl_json(api, &["dnssec", "rollover", "example.test."]);
    assert_eq!(seen["rollover"]["last_step"], "ds_seen", "{seen}");
    let early = ctl_output(api, &["dnssec", "rollover", "example.test."]);
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("try again later"),
        "{early:?}"
    );
    let active: serde_json::Value =
        ctl_json(api, &["dnssec", "rollover", "--force", "example.test."]);
    assert_eq!(active["keys"][0]["state"], "retired", "{active}");
    assert_eq!(active["keys"][1]["state"], "active", "{active}");
    // The old key is still in the DNSKEY set and the parent still holds only its DS: the
    // chain goes DS(old) -> DNSKEY set signed by old -> new key -> answers signed by new.
    secure(&["www.example.test", "A"]);
    let done: serde_json::Value =
        ctl_json(api, &["dnssec", "rollover", "--force", "example.test."]);
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

/// The lab of the unopenable-key test (only its gslb address is used).
const SEALED_LAB: LabAddrs = LabAddrs {
    root: "127.19.57.1",
    gslb: "127.19.57.2",
    unbound: "127.19.57.3",
};

/// What does this test do: signs `example.test.` on a one-node cluster, takes a backup with
/// `gslbctl cluster snapshot`, and restores it (`gslb restore --allow-other-cluster`) into a
/// node whose `cluster_secret` differs, so the zone's sealed key cannot be opened there.
/// That node must log `DNSSEC signing stopped for this zone` naming the zone, answer
/// `/readyz` with 503 and `dnssec_problems` naming it, answer DO=1 queries for the zone with
/// SERVFAIL (never unsigned data under a parent DS: bogus to every validator, RFC 4035
/// §5.5) and DO=0 queries as before.
#[test]
fn a_key_sealed_under_another_secret_stops_signing_on_that_node() {
    if !is_root() {
        eprintln!("skipped: binding port 53 on loopback needs root");
        return;
    }
    let dir = TempDir::new("dnssec-sealed");
    eprintln!("-- phase: a signed zone, backed up");
    let lab = SignedLab::start(&dir, SEALED_LAB, 3600);
    let backup = dir.0.join("gslb.backup");
    ctl(
        &lab.api,
        &["cluster", "snapshot", "--file", backup.to_str().unwrap()],
    );
    let mut original = lab.node;
    original.stop();

    eprintln!("-- phase: restored into a node with another cluster secret");
    let other_dir = TempDir::new("dnssec-sealed-other");
    let mut other = ClusterNode::prepare(&other_dir, 1, Kind::Bootstrap, &[]);
    other.dns = Some(sock(SEALED_LAB.gslb));
    // `gslb restore` needs the node's address before it runs: the lab's own, port 8080.
    other.http = format!("{}:8080", SEALED_LAB.gslb).parse().unwrap();
    let config = other.write_config();
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(SECRET, "another-cluster-secret-987654");
    std::fs::write(&config, text).unwrap();
    let restored = run(
        GSLB,
        &[
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--config",
            path(&config),
            "--allow-other-cluster",
        ],
    );
    assert!(restored.status.success(), "gslb restore: {restored:?}");
    let mut child = Command::new(GSLB)
        .args(["serve", "--config", path(&config)])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = LogLines::follow(child.stderr.take().unwrap());
    let _serving = Daemon(child);
    let http = log
        .wait_for("listening on http ", SETTLE)
        .and_then(|line| listening_address(&line, "http"))
        .unwrap_or_else(|| panic!("no http listener:\n{}", log.text()));

    let stopped = log
        .wait_for("DNSSEC signing stopped for this zone", SETTLE)
        .unwrap_or_else(|| panic!("no error logged:\n{}", log.text()));
    assert!(stopped.contains("example.test."), "{stopped}");
    wait_until(
        SETTLE,
        "/readyz names the zone whose key does not open",
        || {
            http_call(http, "GET", "/readyz", None, None).is_some_and(|(code, body)| {
                code == 503 && body.contains("dnssec_problems") && body.contains("example.test.")
            })
        },
    );
    let gslb = sock(SEALED_LAB.gslb);
    wait_until(SETTLE, "DO=0 answers as before", || {
        dig(gslb, &["+norec", "www.example.test", "A"]).a_addresses() == ["192.0.2.10"]
    });
    let signed = dig(gslb, &["+dnssec", "+norec", "www.example.test", "A"]);
    assert_eq!(signed.status(), "SERVFAIL", "{}", signed.text);
}
