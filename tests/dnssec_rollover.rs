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
//! A second test replaces whole key sets the same way, on demand: an algorithm rollover
//! (ECDSA P-256 to Ed25519) of a CSK zone and of a KSK + ZSK zone, and a CSK zone split
//! into KSK + ZSK and combined back, each through `presign`, `publish`, `ds_seen`,
//! `unpublish`, `remove` (RFC 6781 §4.1.4) with Unbound validating throughout.
//!
//! The labs (`common::dnssec_lab`) serve on port 53 of 127.19.54.x and 127.19.58.x: the
//! tests need root and skip themselves without.

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

/// A zone with records of several TTLs (the largest, capped, is what `remove` waits for),
/// its name server at `gslb`.
fn zone(apex: &str, gslb: &str) -> String {
    format!(
        "$ORIGIN {apex}
$TTL 300
@        3600 IN SOA   ns1 hostmaster 2026120701 3600 600 86400 60
@        3600 IN NS    ns1
ns1           IN A     {gslb}
www           IN A     192.0.2.10
www           IN TXT   \"rolled online\"
*.wild        IN A     192.0.2.50
"
    )
}

/// What does this test do: starts gslb on 127.19.54.2:53 with `csk.test.` (CSK) and
/// `split.test.` (`--split`: KSK + ZSK) signed, delegates both from a signed test root
/// served by NSD, and checks Unbound validates them. Then it sets a 45 s lifetime on both
/// (keys made earlier, so rollovers start soon) with the root's NSD as parent agent, and
/// until both zones have gone through their rollovers (CSK: 4 steps; split: ZSK 3 + KSK 4,
/// both due together, so they must have run at once), bounded by 6 minutes: re-signs the root whenever a zone's CDS set changes, and asks
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
        let file = dir.write(&format!("{apex}zone"), &zone(apex, LAB.gslb));
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
    let (root, mut parent, nsd, _unbound) =
        signed_parent_and_resolver(&dir, &api, LAB, &["csk.test.", "split.test."]);

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
    let mut side_by_side = false;
    loop {
        assert!(
            started.elapsed() < ROLLOVERS,
            "rollovers unfinished after {ROLLOVERS:?}; steps seen: {seen_steps:?}; {}",
            metric_lines(&node)
        );
        parent.follow_cds(&root, &dir, &nsd);
        for apex in ["csk.test.", "split.test."] {
            probes += validate_all(LAB, apex);
            let status = ctl_json(&api, &["dnssec", "status", apex]);
            for rollover in [&status["rollover"], &status["rollover_beside"]] {
                if let Some(step) = rollover["last_step"].as_str() {
                    let seen = format!("{apex} {} {step}", rollover["kind"]);
                    if !seen_steps.contains(&seen) {
                        eprintln!("   step: {seen}");
                        seen_steps.push(seen);
                    }
                }
            }
            side_by_side |= status["rollover_beside"].is_object();
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
    assert!(
        side_by_side,
        "split.test.'s KSK and ZSK, due together, never rolled at once: {seen_steps:?}"
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
                validate_all(LAB, apex);
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

    clean_after_rollovers(&dir, &root, LAB, &["csk.test.", "split.test."]);
}

/// The key-set test's lab addresses.
const KEY_SET_LAB: LabAddrs = LabAddrs {
    root: "127.19.58.1",
    gslb: "127.19.58.2",
    unbound: "127.19.58.3",
};

/// The key-set test's zones: rolled to Ed25519 (CSK), rolled to Ed25519 (KSK + ZSK),
/// split and combined back.
const KEY_SET_ZONES: [&str; 3] = ["alg.test.", "algsplit.test.", "conv.test."];

/// What does this test do: starts gslb on 127.19.58.2:53 with `alg.test.` and `conv.test.`
/// signed with an ECDSA CSK and `algsplit.test.` with an ECDSA KSK + ZSK, delegated from a
/// signed root (NSD) that follows CDS, a validating Unbound in front; the zones' policy has
/// no lifetime, short waits and the root as parent agent. Then `gslbctl dnssec rollover
/// --algorithm ed25519` on the first two and `--split` on the third: right after, gslb
/// signs `www` with the new keys while its DNSKEY RRset still has only the old ones (the
/// `presign`). Until the leader has finished all three by itself (bounded), it follows CDS
/// as the parent and asks Unbound for an A, a wildcard, a TXT, an NXDOMAIN and the DNSKEY
/// set of each zone, every one validated (AD). Then `--csk` combines `conv.test.` back,
/// validated the same way. Last: the keys are Ed25519 (CSK; KSK + ZSK) and a CSK, every
/// step is in the audit log (`presign` by the operator, the rest by `system:dnssec`),
/// `/metrics` counted 5 steps a rollover, dnsviz finds the zones clean (skipped without
/// dnsviz) and `delv` through Unbound says "fully validated".
#[test]
fn key_set_rollovers_keep_validating() {
    if !is_root() {
        eprintln!("skipped: binding port 53 on loopback needs root");
        return;
    }
    let lab = KEY_SET_LAB;
    let dir = TempDir::new("dnssec-key-set");
    eprintln!("-- phase: start gslb on {}:53", lab.gslb);
    let mut node = ClusterNode::prepare(&dir, 1, Kind::Bootstrap, &[]);
    node.dns = Some(sock(lab.gslb));
    node.dns_extra = "[dns.rrl]\nrate = 0\n".to_string();
    node.spawn_until_http();
    let api = format!("http://{}", node.http);

    eprintln!("-- phase: three zones signed with ECDSA P-256, on-demand rollovers");
    // The first test's waits, with this lab's root as the parent agent.
    let parent_agent = format!("{}:53", lab.root);
    let waits = [
        &POLICY[2..8],
        &["--parent-agent", parent_agent.as_str()][..],
    ]
    .concat();
    for apex in KEY_SET_ZONES {
        let file = dir.write(&format!("{apex}zone"), &zone(apex, lab.gslb));
        ctl(&api, &["zone", "import", path(&file), "--zone", apex]);
        let split: &[&str] = if apex == "algsplit.test." {
            &["--split"]
        } else {
            &[]
        };
        ctl(
            &api,
            &[&["dnssec", "enable", apex][..], split, &waits].concat(),
        );
    }

    eprintln!("-- phase: a signed root delegating the three, NSD, a validating Unbound");
    let (root, mut parent, nsd, _unbound) =
        signed_parent_and_resolver(&dir, &api, lab, &KEY_SET_ZONES);

    eprintln!("-- phase: Ed25519 for alg.test. and algsplit.test., KSK + ZSK for conv.test.");
    let algorithm: &[&str] = &["--algorithm", "ed25519"];
    for (apex, how, kind) in [
        ("alg.test.", algorithm, "algorithm"),
        ("algsplit.test.", algorithm, "algorithm"),
        ("conv.test.", &["--split"][..], "split"),
    ] {
        let status = ctl_json(&api, &[&["dnssec", "rollover", apex][..], how].concat());
        assert_eq!(status["rollover"]["kind"], kind, "{status}");
        assert_eq!(status["rollover"]["last_step"], "presign", "{status}");
        let unpublished: Vec<u64> = status["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|key| key["state"] == "unpublished")
            .map(|key| key["tag"].as_u64().unwrap())
            .collect();
        assert!(!unpublished.is_empty(), "{status}");
        // Signed by the new keys, which the DNSKEY RRset does not have yet.
        let signers = rrsig_key_tags(lab, &format!("www.{apex}"), "A");
        let dnskey_signers = rrsig_key_tags(lab, apex, "DNSKEY");
        let dnskey = dig(sock(lab.gslb), &["+norec", apex, "DNSKEY"]).text;
        for key in status["keys"].as_array().unwrap() {
            let tag = key["tag"].as_u64().unwrap();
            if !unpublished.contains(&tag) {
                continue;
            }
            // A ZSK signs data, a KSK the DNSKEY RRset, a CSK both.
            let role = key["role"].as_str().unwrap();
            if role != "ksk" {
                assert!(signers.contains(&tag), "www.{apex} not signed by {tag}");
            }
            if role != "zsk" {
                assert!(
                    dnskey_signers.contains(&tag),
                    "{apex} DNSKEY not signed by {tag}"
                );
            }
            assert!(
                !status["dnskey"]
                    .as_array()
                    .unwrap()
                    .contains(&key["dnskey"]),
                "{tag} published early: {status}"
            );
        }
        assert_eq!(
            dnskey.matches("\tDNSKEY\t").count(),
            status["dnskey"].as_array().unwrap().len(),
            "{dnskey}"
        );
    }
    let mut seen_steps = Vec::new();
    follow_until_done(&api, &root, &dir, &nsd, &mut parent, &mut seen_steps);

    eprintln!("-- phase: conv.test. combined back into one CSK");
    let status = ctl_json(&api, &["dnssec", "rollover", "conv.test.", "--csk"]);
    assert_eq!(status["rollover"]["kind"], "combine", "{status}");
    follow_until_done(&api, &root, &dir, &nsd, &mut parent, &mut seen_steps);

    eprintln!("-- phase: the keys, the audit log and /metrics tell the story");
    let layout = |apex: &str| -> Vec<(String, String, String)> {
        ctl_json(&api, &["dnssec", "status", apex])["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| {
                let field = |name: &str| key[name].as_str().unwrap().to_string();
                (field("role"), field("algorithm"), field("state"))
            })
            .collect()
    };
    let owned = |items: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
        items
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect()
    };
    assert_eq!(layout("alg.test."), owned(&[("csk", "ed25519", "active")]));
    assert_eq!(
        layout("algsplit.test."),
        owned(&[("ksk", "ed25519", "active"), ("zsk", "ed25519", "active")])
    );
    assert_eq!(
        layout("conv.test."),
        owned(&[("csk", "ecdsap256sha256", "active")])
    );
    let audit = ctl(&api, &["get", "audit"]);
    for apex in KEY_SET_ZONES {
        let presign = format!("dnssec_rollover {apex} presign");
        assert!(
            audit
                .lines()
                .any(|line| line.contains(&presign) && !line.contains("system:dnssec")),
            "{presign} by the operator not in the audit log:\n{audit}"
        );
        for step in ["publish", "ds_seen", "unpublish", "remove"] {
            let step = format!("dnssec_rollover {apex} {step}");
            assert!(
                audit
                    .lines()
                    .any(|line| line.contains(&step) && line.contains("system:dnssec")),
                "{step} by system:dnssec not in the audit log:\n{audit}"
            );
        }
    }
    for (apex, steps) in [("alg.test.", 5), ("algsplit.test.", 5), ("conv.test.", 10)] {
        assert_eq!(steps_taken(&node, apex), steps, "{}", metric_lines(&node));
    }

    clean_after_rollovers(&dir, &root, lab, &KEY_SET_ZONES);
}

/// After the rollovers: dnsviz finds each of `zones` clean (no error or warning, every
/// status SECURE or VALID; skipped without dnsviz), and `delv` through the lab's Unbound,
/// the test root its only anchor, says `www` of each is "fully validated".
fn clean_after_rollovers(dir: &TempDir, root: &Root, lab: LabAddrs, zones: &[&str]) {
    if let Some(dnsviz) = dnsviz() {
        eprintln!("-- phase: dnsviz finds the zones clean after their rollovers");
        let names: Vec<String> = zones
            .iter()
            .flat_map(|apex| {
                [
                    apex.to_string(),
                    format!("www.{apex}"),
                    format!("nope.{apex}"),
                ]
            })
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let report = dnsviz_grok(&dnsviz, dir, root, lab, zones, &names);
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
    for apex in zones {
        let name = format!("www.{apex}");
        let text = delv(&[
            "-a",
            path(&anchors),
            &format!("@{}", lab.unbound),
            &name,
            "A",
        ]);
        assert!(text.contains("fully validated"), "delv {name}:\n{text}");
    }
}

/// Until no zone of the key-set test has a rollover in progress (bounded): plays the
/// parent (follows CDS), has Unbound validate every kind of answer of each zone, and notes
/// each step seen in `seen`.
fn follow_until_done(
    api: &str,
    root: &Root,
    dir: &TempDir,
    nsd: &Daemon,
    parent: &mut Parent,
    seen: &mut Vec<String>,
) {
    let started = Instant::now();
    let mut probes = 0u32;
    loop {
        parent.follow_cds(root, dir, nsd);
        let mut rolling = Vec::new();
        for apex in KEY_SET_ZONES {
            probes += validate_all(parent.lab, apex);
            let status = ctl_json(api, &["dnssec", "status", apex]);
            if let Some(step) = status["rollover"]["last_step"].as_str() {
                rolling.push(apex);
                let step = format!("{apex} {} {step}", status["rollover"]["kind"]);
                if !seen.contains(&step) {
                    eprintln!("   step: {step}");
                    seen.push(step);
                }
            }
        }
        if rolling.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < ROLLOVERS,
            "rollovers of {rolling:?} unfinished after {ROLLOVERS:?}; steps seen: {seen:?}"
        );
        // Paces the loop: each round already waits on a dozen replies.
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "-- rollovers done in {:?}; {probes} validated answers",
        started.elapsed()
    );
}

/// The key tags of the RRSIGs gslb answers for `name`/`rtype`.
fn rrsig_key_tags(lab: LabAddrs, name: &str, rtype: &str) -> Vec<u64> {
    dig(sock(lab.gslb), &["+norec", "+dnssec", name, rtype])
        .records("ANSWER")
        .into_iter()
        .filter(|fields| fields.get(3).map(String::as_str) == Some("RRSIG"))
        .filter_map(|fields| fields.get(10)?.parse().ok())
        .collect()
}

/// The lab around gslb: a test root signed with the DS each of `zones` has now, served by
/// NSD, and Unbound validating from the root's key, its caches short (2 s) so each rollover
/// step is seen soon; returns once Unbound validates `www.` of every zone.
fn signed_parent_and_resolver(
    dir: &TempDir,
    api: &str,
    lab: LabAddrs,
    zones: &[&str],
) -> (Root, Parent, Daemon, Daemon) {
    let root = Root::new(dir, lab, 2);
    let mut parent = Parent::new(lab);
    for apex in zones {
        parent.held.insert(apex.to_string(), parent_ds(api, apex));
    }
    parent.serial = 1;
    parent.publish(&root, dir);
    let nsd = start_nsd(dir, lab);
    wait_until(SETTLE, "NSD answers the signed root", || {
        dig(sock(lab.root), &["+dnssec", ".", "SOA"])
            .text
            .contains("status: NOERROR")
    });
    let unbound = start_unbound(
        dir,
        lab,
        "  cache-max-ttl: 2\n  cache-max-negative-ttl: 2\n",
    );
    wait_until(SETTLE, "Unbound validates every zone", || {
        zones.iter().all(|apex| {
            let name = format!("www.{}", apex.trim_end_matches('.'));
            let reply = dig(sock(lab.unbound), &["+dnssec", &name, "A"]);
            reply.status() == "NOERROR" && reply.has_flag("ad")
        })
    });
    (root, parent, nsd, unbound)
}

/// The test's parent: the DS set it holds per zone, and the root's serial.
struct Parent {
    /// The lab it serves in.
    lab: LabAddrs,
    /// DS records (presentation format) per zone.
    held: BTreeMap<String, Vec<String>>,
    /// The root's serial.
    serial: u32,
}

impl Parent {
    /// A parent holding nothing yet.
    fn new(lab: LabAddrs) -> Parent {
        Parent {
            lab,
            held: BTreeMap::new(),
            serial: 0,
        }
    }

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
            let cds = cds_as_ds(self.lab, apex);
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
                let reply = dig(sock(self.lab.root), &["+norec", &apex, "DS"]);
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
fn cds_as_ds(lab: LabAddrs, apex: &str) -> Vec<String> {
    dig(sock(lab.gslb), &["+norec", apex, "CDS"])
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

/// Asks the lab's Unbound for an A, a wildcard, a TXT, an NXDOMAIN and the DNSKEY set of
/// `apex`; panics unless each is validated (AD); returns how many were asked.
fn validate_all(lab: LabAddrs, apex: &str) -> u32 {
    let questions = [
        (format!("www.{apex}"), "A"),
        (format!("x.wild.{apex}"), "A"),
        (format!("www.{apex}"), "TXT"),
        (format!("nope.{apex}"), "A"),
        (apex.to_string(), "DNSKEY"),
    ];
    for (name, rtype) in &questions {
        let reply = dig(sock(lab.unbound), &["+dnssec", name, rtype]);
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
