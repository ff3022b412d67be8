//! Black-box test of the leader's automatic DNSSEC key rollovers, validated end to end and
//! offline on loopback: a `gslb serve` node signs `csk.test.` (one combined key) and
//! `split.test.` (KSK + ZSK) online; a test root signed with ldns and served by NSD
//! delegates both with their DS records; a validating Unbound trusting only that root
//! resolves through both. With a short key lifetime the leader rolls every key by itself:
//! the CSK and the KSK by double-DS through CDS (publish, the new DS seen at the parent,
//! activate, remove), the ZSK by pre-publication (publish, activate, remove). The test plays
//! the parent: whenever a zone's CDS set changes it re-signs the root with that DS set,
//! as a parent following RFC 7344 would. Unbound validates every answer at every step.
//!
//! The waits are short because the zones' policy says validators cache nothing longer than
//! 2 s (`--max-cache-ttl 2s`), and this Unbound is told so (`cache-max-ttl: 2`); every
//! other rule of the schedule is the production one.
//!
//! The lab (`common::dnssec_lab`) serves on port 53 of 127.19.54.x: the test needs root and
//! skips itself without.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::cluster::{api_get, wait_until, ClusterNode, Kind};
use common::dnssec_lab::{
    ctl, ctl_json, delv, dnsviz, dnsviz_grok, grok_problems, grok_statuses, is_root, parent_ds,
    path, sock, start_nsd, start_unbound, Daemon, LabAddrs, Root,
};
use common::{dig, TempDir};

/// The lab's addresses.
const LAB: LabAddrs = LabAddrs {
    root: "127.19.54.1",
    gslb: "127.19.54.2",
    unbound: "127.19.54.3",
};
/// Long enough for a start, a write or a resolution on a loaded 2-core machine.
const SETTLE: Duration = Duration::from_secs(60);
/// The whole run of rollovers, bounded.
const ROLLOVERS: Duration = Duration::from_secs(360);
/// The zones' rollover policy: short lifetimes, waits of 2 s TTL + 1 s propagation, and
/// the root's NSD as the parent agent.
const POLICY: [&str; 10] = [
    "--lifetime",
    "45s",
    "--propagation-delay",
    "1s",
    "--parent-ds-ttl",
    "2s",
    "--max-cache-ttl",
    "2s",
    "--parent-agent",
    "127.19.54.1:53",
];

/// A zone with records of several TTLs (the largest, capped, is what `remove` waits for).
fn zone(apex: &str) -> String {
    format!(
        "$ORIGIN {apex}
$TTL 300
@        3600 IN SOA   ns1 hostmaster 2026120701 3600 600 86400 60
@        3600 IN NS    ns1
ns1           IN A     {gslb}
www           IN A     192.0.2.10
www           IN TXT   \"rolled online\"
*.wild        IN A     192.0.2.50
",
        gslb = LAB.gslb
    )
}

/// What does this test do: starts gslb on 127.19.54.2:53 with `csk.test.` (CSK) and
/// `split.test.` (`--split`: KSK + ZSK) signed, delegates both from a signed test root
/// served by NSD, and checks Unbound validates them. Then it sets a 45 s lifetime on both
/// (keys made earlier, so rollovers start soon) with the root's NSD as parent agent, and
/// until both zones have gone through their rollovers (CSK: 4 steps; split: ZSK 3 + KSK 4),
/// bounded by 6 minutes: re-signs the root whenever a zone's CDS set changes, and asks
/// Unbound for an A, a wildcard, a TXT, an NXDOMAIN and the DNSKEY set of each zone, each
/// of which must come back with AD. Last it checks that every step is in the audit log as
/// `system:dnssec`, that `/metrics` counts the steps and `dnssec status` shows the next
/// scheduled rollover. Then it turns the lifetimes off, lets the rollovers in progress
/// finish (still validating), runs dnsviz on both zones (no error or warning, everything
/// SECURE; skipped without dnsviz), and `delv` through Unbound says "fully validated".
#[test]
fn automatic_rollovers_keep_validating() {
    if !is_root() {
        eprintln!("skipped: binding port 53 on loopback needs root");
        return;
    }
    let dir = TempDir::new("dnssec-rollover");
    eprintln!("-- phase: start gslb on {}:53", LAB.gslb);
    let mut node = ClusterNode::prepare(&dir, 1, Kind::Bootstrap, &[]);
    node.dns = Some(sock(LAB.gslb));
    node.dns_extra = "[dns.rrl]\nrate = 0\n".to_string();
    node.spawn_until_http();
    let api = format!("http://{}", node.http);

    eprintln!("-- phase: two zones, one CSK-signed, one KSK+ZSK-signed");
    for apex in ["csk.test.", "split.test."] {
        let file = dir.write(&format!("{apex}zone"), &zone(apex));
        ctl(&api, &["zone", "import", path(&file), "--zone", apex]);
    }
    ctl(&api, &["dnssec", "enable", "csk.test."]);
    let split = ctl_json(&api, &["dnssec", "enable", "split.test.", "--split"]);
    let roles: Vec<&str> = split["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["ksk", "zsk"], "{split}");

    eprintln!("-- phase: a signed root delegating both, NSD, a validating Unbound");
    let root = Root::new(&dir, LAB, 2);
    let mut parent = Parent::default();
    for apex in ["csk.test.", "split.test."] {
        parent.held.insert(apex.to_string(), parent_ds(&api, apex));
    }
    parent.serial = 1;
    parent.publish(&root, &dir);
    let nsd = start_nsd(&dir, LAB);
    wait_until(SETTLE, "NSD answers the signed root", || {
        dig(sock(LAB.root), &["+dnssec", ".", "SOA"])
            .text
            .contains("status: NOERROR")
    });
    let _unbound = start_unbound(
        &dir,
        LAB,
        "  cache-max-ttl: 2\n  cache-max-negative-ttl: 2\n",
    );
    wait_until(SETTLE, "Unbound validates both zones", || {
        ["www.csk.test", "www.split.test"].iter().all(|name| {
            let reply = dig(sock(LAB.unbound), &["+dnssec", name, "A"]);
            reply.status() == "NOERROR" && reply.has_flag("ad")
        })
    });

    eprintln!("-- phase: a 45 s lifetime; the leader rolls every key while Unbound validates");
    ctl(
        &api,
        &[&["dnssec", "enable", "csk.test."][..], &POLICY].concat(),
    );
    ctl(
        &api,
        &[
            &[
                "dnssec",
                "enable",
                "split.test.",
                "--split",
                "--zsk-lifetime",
                "45s",
            ][..],
            &POLICY,
        ]
        .concat(),
    );
    let started = Instant::now();
    let mut probes = 0u32;
    let mut seen_steps: Vec<String> = Vec::new();
    loop {
        assert!(
            started.elapsed() < ROLLOVERS,
            "rollovers unfinished after {ROLLOVERS:?}; steps seen: {seen_steps:?}; {}",
            metric_lines(&node)
        );
        parent.follow_cds(&root, &dir, &nsd);
        for apex in ["csk.test.", "split.test."] {
            probes += validate_all(apex);
            let status = ctl_json(&api, &["dnssec", "status", apex]);
            if let Some(step) = status["rollover"]["last_step"].as_str() {
                let seen = format!("{apex} {} {step}", status["rollover"]["kind"]);
                if !seen_steps.contains(&seen) {
                    eprintln!("   step: {seen}");
                    seen_steps.push(seen);
                }
            }
        }
        if steps_taken(&node, "csk.test.") >= 4 && steps_taken(&node, "split.test.") >= 7 {
            break;
        }
        // Paces the loop: each round already waits on a dozen replies.
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "-- rollovers done in {:?}; {probes} validated answers",
        started.elapsed()
    );

    eprintln!("-- phase: the audit log, /metrics and status tell the story");
    let audit = ctl(&api, &["get", "audit"]);
    for step in [
        "dnssec_rollover csk.test. publish",
        "dnssec_rollover csk.test. ds_seen",
        "dnssec_rollover csk.test. activate",
        "dnssec_rollover csk.test. remove",
        "dnssec_rollover split.test. publish",
        "dnssec_rollover split.test. ds_seen",
        "dnssec_rollover split.test. activate",
        "dnssec_rollover split.test. remove",
    ] {
        assert!(
            audit
                .lines()
                .any(|line| line.contains(step) && line.contains("system:dnssec")),
            "{step} by system:dnssec not in the audit log:\n{audit}"
        );
    }
    let metrics = metric_lines(&node);
    assert!(
        metrics.contains("gslb_dnssec_next_rollover_step_timestamp_seconds{"),
        "{metrics}"
    );
    let split = ctl_json(&api, &["dnssec", "status", "split.test."]);
    let keys = split["keys"].as_array().unwrap();
    assert!(
        keys.iter().any(|key| key["role"] == "ksk") && keys.iter().any(|key| key["role"] == "zsk"),
        "still split: {split}"
    );
    assert!(
        split["next_step"]["step"].is_string(),
        "a next step is scheduled: {split}"
    );
    let status = ctl(&api, &["dnssec", "status", "csk.test."]);
    assert!(status.contains("next rollover: "), "{status}");

    eprintln!("-- phase: lifetimes off; the rollovers in progress finish, validated");
    ctl(
        &api,
        &["dnssec", "enable", "csk.test.", "--lifetime", "off"],
    );
    ctl(
        &api,
        &[
            "dnssec",
            "enable",
            "split.test.",
            "--split",
            "--lifetime",
            "off",
            "--zsk-lifetime",
            "off",
        ],
    );
    let settled = Instant::now();
    loop {
        parent.follow_cds(&root, &dir, &nsd);
        let rolling: Vec<&str> = ["csk.test.", "split.test."]
            .into_iter()
            .filter(|apex| {
                validate_all(apex);
                !ctl_json(&api, &["dnssec", "status", apex])["rollover"].is_null()
            })
            .collect();
        if rolling.is_empty() {
            break;
        }
        assert!(
            settled.elapsed() < ROLLOVERS,
            "rollovers of {rolling:?} unfinished"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = ctl_json(&api, &["dnssec", "status", "csk.test."]);
    assert!(
        status["next_step"].is_null(),
        "on demand only now: {status}"
    );

    if let Some(dnsviz) = dnsviz() {
        eprintln!("-- phase: dnsviz finds both zones clean after their rollovers");
        let report = dnsviz_grok(
            &dnsviz,
            &dir,
            &root,
            LAB,
            &["csk.test.", "split.test."],
            &[
                "csk.test.",
                "www.csk.test.",
                "nope.csk.test.",
                "split.test.",
                "www.split.test.",
                "nope.split.test.",
            ],
        );
        let problems = grok_problems(&report);
        assert!(problems.is_empty(), "dnsviz: {}", problems.join("\n"));
        let statuses = grok_statuses(&report);
        assert!(
            statuses
                .iter()
                .all(|status| status == "SECURE" || status == "VALID"),
            "dnsviz: {statuses:?}"
        );
    } else {
        eprintln!("-- no dnsviz (DNSVIZ_VENV): its check after the rollovers is skipped");
    }

    eprintln!("-- phase: delv through Unbound, the test root as its only anchor");
    let anchors = dir.write(
        "anchors.conf",
        &format!(
            "trust-anchors {{ \".\" static-key {}; }};\n",
            root.trust_anchor
        ),
    );
    for name in ["www.csk.test", "www.split.test"] {
        let text = delv(&[
            "-a",
            path(&anchors),
            &format!("@{}", LAB.unbound),
            name,
            "A",
        ]);
        assert!(text.contains("fully validated"), "delv {name}:\n{text}");
    }
}

/// The test's parent: the DS set it holds per zone, and the root's serial.
#[derive(Default)]
struct Parent {
    /// DS records (presentation format) per zone.
    held: BTreeMap<String, Vec<String>>,
    /// The root's serial.
    serial: u32,
}

impl Parent {
    /// Signs the root with the DS sets held.
    fn publish(&self, root: &Root, dir: &TempDir) {
        let delegations: Vec<(&str, Vec<String>)> = self
            .held
            .iter()
            .map(|(apex, ds)| (apex.as_str(), ds.clone()))
            .collect();
        root.sign(dir, self.serial, &delegations);
    }

    /// Reads each zone's CDS set from gslb; when one differs from the DS set held, takes
    /// it, re-signs the root, reloads NSD and waits until it serves the new set.
    fn follow_cds(&mut self, root: &Root, dir: &TempDir, nsd: &Daemon) {
        let mut changed = Vec::new();
        for (apex, held) in &mut self.held {
            let cds = cds_as_ds(apex);
            if !cds.is_empty() && ds_rdata(&cds) != ds_rdata(held) {
                *held = cds;
                changed.push(apex.clone());
            }
        }
        if changed.is_empty() {
            return;
        }
        self.serial += 1;
        self.publish(root, dir);
        nsd.hangup();
        for apex in changed {
            let wanted = ds_rdata(&self.held[&apex]);
            eprintln!("   parent: {apex} DS now {wanted:?}");
            wait_until(SETTLE, "NSD serves the new DS set", || {
                let reply = dig(sock(LAB.root), &["+norec", &apex, "DS"]);
                let served: Vec<String> = reply
                    .records("ANSWER")
                    .into_iter()
                    .filter(|fields| fields.get(3).map(String::as_str) == Some("DS"))
                    .map(|fields| fields[4..].concat().to_ascii_uppercase())
                    .collect();
                sorted(served) == wanted
            });
        }
    }
}

/// `apex`'s CDS records at gslb, as DS records in presentation format.
fn cds_as_ds(apex: &str) -> Vec<String> {
    dig(sock(LAB.gslb), &["+norec", apex, "CDS"])
        .records("ANSWER")
        .into_iter()
        .filter(|fields| fields.get(3).map(String::as_str) == Some("CDS"))
        .map(|fields| format!("{apex} IN DS {}", fields[4..].join(" ")))
        .collect()
}

/// The RDATA of DS records, whitespace removed and upper case, sorted.
fn ds_rdata(ds: &[String]) -> Vec<String> {
    sorted(
        ds.iter()
            .map(|line| {
                let after = line.split(" IN DS ").nth(1).unwrap_or(line);
                after
                    .split_whitespace()
                    .collect::<String>()
                    .to_ascii_uppercase()
            })
            .collect(),
    )
}

/// `items` sorted.
fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

/// Asks Unbound for an A, a wildcard, a TXT, an NXDOMAIN and the DNSKEY set of `apex`;
/// panics unless each is validated (AD); returns how many were asked.
fn validate_all(apex: &str) -> u32 {
    let questions = [
        (format!("www.{apex}"), "A"),
        (format!("x.wild.{apex}"), "A"),
        (format!("www.{apex}"), "TXT"),
        (format!("nope.{apex}"), "A"),
        (apex.to_string(), "DNSKEY"),
    ];
    for (name, rtype) in &questions {
        let reply = dig(sock(LAB.unbound), &["+dnssec", name, rtype]);
        assert!(
            ["NOERROR", "NXDOMAIN"].contains(&reply.status()) && reply.has_flag("ad"),
            "{name} {rtype} not validated during the rollover:\n{}",
            reply.text
        );
    }
    questions.len() as u32
}

/// The `gslb_dnssec_*` lines of the node's `/metrics`.
fn metric_lines(node: &ClusterNode) -> String {
    let (_, body) = api_get(node.http, "/metrics").unwrap_or_default();
    body.lines()
        .filter(|line| line.starts_with("gslb_dnssec_"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `gslb_dnssec_rollover_steps_total{zone="APEX"}` from the node's `/metrics`.
fn steps_taken(node: &ClusterNode, apex: &str) -> u64 {
    let series = format!("gslb_dnssec_rollover_steps_total{{zone=\"{apex}\"}} ");
    metric_lines(node)
        .lines()
        .find_map(|line| line.strip_prefix(&series)?.trim().parse().ok())
        .unwrap_or(0)
}
