//! Outside validators on a signed gslb zone, offline on loopback: `dnsviz probe` + `grok`
//! (PyPI, in the venv `.ci/run` makes: `DNSVIZ_VENV`) and `zonemaster-cli` (Debian) with its
//! DNSSEC test cases, both on `example.test.` as gslb serves it, delegated from a test root
//! signed with ldns and served by NSD (`common::dnssec_lab`).
//!
//! The lab serves on port 53 of 127.19.55.x: the test needs root and skips itself without;
//! it also skips itself when the tools are missing, saying so (`.ci/run` installs them).

mod common;

use common::dnssec_lab::{
    dnsviz, dnsviz_grok, grok_problems, grok_statuses, is_root, run, LabAddrs, SignedLab,
};
use common::TempDir;

/// The lab's addresses (no resolver: both tools ask the authoritative servers).
const LAB: LabAddrs = LabAddrs {
    root: "127.19.55.1",
    gslb: "127.19.55.2",
    unbound: "127.19.55.3",
};

/// The names dnsviz analyses: the apex, a static name, a wildcard expansion, a GSLB answer
/// and a name that does not exist (its denial is checked as well as the random names dnsviz
/// makes up on its own).
const NAMES: [&str; 5] = [
    "example.test.",
    "www.example.test.",
    "x.wild.example.test.",
    "app.example.test.",
    "nope.example.test.",
];

/// What does this test do: serves the signed `example.test.` from gslb under a signed
/// root, runs `dnsviz probe -A` on five names through the root and gslb, then `dnsviz grok`
/// with the root's key as the only trusted key, and requires no error and no warning
/// anywhere in grok's report, every RRset, delegation and denial `SECURE` and every
/// signature `VALID`.
#[test]
fn dnsviz_finds_no_errors_or_warnings() {
    let Some(dnsviz) = dnsviz() else {
        eprintln!("skipped: no dnsviz (set DNSVIZ_VENV, or run .ci/run)");
        return;
    };
    if !is_root() {
        eprintln!("skipped: binding port 53 on loopback needs root");
        return;
    }
    let dir = TempDir::new("dnssec-dnsviz");
    let lab = SignedLab::start(&dir, LAB, 3600);
    let report = dnsviz_grok(&dnsviz, &dir, &lab.root, LAB, &["example.test"], &NAMES);
    let problems = grok_problems(&report);
    assert!(
        problems.is_empty(),
        "dnsviz grok found {} errors/warnings:\n{}",
        problems.len(),
        problems.join("\n")
    );
    for name in NAMES {
        let status = &report[name]["status"];
        assert_eq!(status, "NOERROR", "{name}: {}", report[name]);
    }
    let statuses = grok_statuses(&report);
    assert!(
        statuses.contains(&"SECURE".to_string())
            && statuses
                .iter()
                .all(|status| status == "SECURE" || status == "VALID"),
        "every RRset, delegation and denial SECURE, every signature VALID: {statuses:?}"
    );
}

/// The second lab, for Zonemaster.
const ZONEMASTER_LAB: LabAddrs = LabAddrs {
    root: "127.19.56.1",
    gslb: "127.19.56.2",
    unbound: "127.19.56.3",
};

/// What does this test do: serves the signed `example.test.` from gslb under a signed
/// root and runs `zonemaster-cli --test dnssec` with a hints file naming the test root (so
/// it works offline). Every DNSSEC test case of the engine must start and end (DNSSEC01-11
/// and 13-18; 12 is not in the engine), no message may be at NOTICE or above, and the
/// passing verdicts must be there: DS and DNSKEY present (07), DNSSEC answers to DNSKEY
/// queries (06), signature durations (04), algorithm 13 (05), NSEC denial (10), CDS and
/// CDNSKEY published (15). Not applicable here, by design: DNSSEC03 (NSEC3 iterations:
/// gslb denies with NSEC, compact denial; Zonemaster says NO_NSEC3PARAM at DEBUG). Then,
/// as a control that the harness sees a fault, the same run with a DS that matches no key
/// (`--ds`) must report an ERROR.
#[test]
fn zonemaster_dnssec_test_cases_pass() {
    if !run("sh", &["-c", "command -v zonemaster-cli"])
        .status
        .success()
    {
        eprintln!("skipped: no zonemaster-cli (Debian package; .ci/run installs it)");
        return;
    }
    if !is_root() {
        eprintln!("skipped: binding port 53 on loopback needs root");
        return;
    }
    let dir = TempDir::new("dnssec-zonemaster");
    let _lab = SignedLab::start(&dir, ZONEMASTER_LAB, 3600);
    let hints = dir.write(
        "zonemaster.hints",
        &format!(
            ". 3600000 NS ns.root-servers.test.\nns.root-servers.test. 3600000 A {}\n",
            ZONEMASTER_LAB.root
        ),
    );
    let hints = hints.to_str().unwrap();
    let messages = zonemaster(hints, &[]);
    let log = messages.join("\n");
    for case in (1..=18).filter(|case| *case != 12) {
        for tag in ["TEST_CASE_START", "TEST_CASE_END"] {
            let wanted = format!("{tag} testcase=dnssec{case:02}");
            assert!(
                messages.iter().any(|line| line.contains(&wanted)),
                "{wanted} missing:\n{log}"
            );
        }
    }
    let bad: Vec<&String> = messages
        .iter()
        .filter(|line| {
            ["NOTICE", "WARNING", "ERROR", "CRITICAL"]
                .iter()
                .any(|level| line.split_whitespace().nth(1) == Some(*level))
        })
        .collect();
    assert!(bad.is_empty(), "Zonemaster complains: {bad:#?}");
    for verdict in [
        "DNSSEC07 DNSKEY_AND_DS",
        "DNSSEC06 EXTRA_PROCESSING_OK",
        "DNSSEC04 DURATION_OK",
        "DNSSEC05 ALGORITHM_OK",
        "DNSSEC10 DS10_HAS_NSEC",
        "DNSSEC15 DS15_HAS_CDS_AND_CDNSKEY",
    ] {
        let (case, tag) = verdict.split_once(' ').unwrap();
        assert!(
            messages.iter().any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.get(2) == Some(&case) && fields.get(3) == Some(&tag)
            }),
            "{verdict} missing:\n{log}"
        );
    }

    let control = zonemaster(
        hints,
        &[
            "--ds",
            "12345,13,2,0000000000000000000000000000000000000000000000000000000000000000",
        ],
    );
    assert!(
        control
            .iter()
            .any(|line| line.split_whitespace().nth(1) == Some("ERROR")),
        "a DS matching no key must be an ERROR:\n{}",
        control.join("\n")
    );
}

/// The message lines (`SECONDS LEVEL TESTCASE TAG ARGS`, single-spaced) of `zonemaster-cli` run on
/// `example.test` with the DNSSEC test cases at DEBUG, with `hints` and `extra` arguments.
fn zonemaster(hints: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--hints",
        hints,
        "--no-ipv6",
        "--test",
        "dnssec",
        "--level",
        "DEBUG",
        "--raw",
        "--show-testcase",
        "--no-progress",
    ];
    args.extend_from_slice(extra);
    args.push("example.test");
    let output = run("zonemaster-cli", &args);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|seconds| seconds.parse::<f64>().is_ok())
        })
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}
