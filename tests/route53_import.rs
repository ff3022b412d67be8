//! Black-box tests of `gslbctl import route53` against a real cluster (a voter and a DNS
//! learner), with fixtures in the JSON shapes `aws route53 list-resource-record-sets` and
//! `list-health-checks` print: the dry run prints apply's diff and writes nothing, the
//! import serves every routing policy over DNS (checked with dig), a second import has no
//! changes, and a file with unsupported features is refused with every record named.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use common::cluster::{put_region, start_voter_and_learner, ClusterNode, TOKEN};
use common::{output_text, TempDir};

const GSLBCTL: &str = env!("CARGO_BIN_EXE_gslbctl");

/// How long a change may take to reach every node.
const CONVERGE: Duration = Duration::from_secs(30);

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/route53/{name}"))
}

fn import(voter: &ClusterNode, file: &str, extra: &[&str]) -> Output {
    Command::new(GSLBCTL)
        .args(["--api", &format!("http://{}", voter.http), "--token", TOKEN])
        .args(["import", "route53", "--zone", "example.com"])
        .arg(fixture(file))
        .arg("--health-checks")
        .arg(fixture("health-checks.json"))
        .args(["--default-region", "home"])
        .args(extra)
        .output()
        .expect("run gslbctl")
}

/// The documented record shapes import in one apply and answer over DNS as Route 53 would.
#[test]
fn route53_zone_imports_and_answers() {
    let root = TempDir::new("route53");
    let (voter, learner) = start_voter_and_learner(&root, CONVERGE);
    put_region(voter.http, "home", "US", "NA");

    eprintln!("-- phase: the dry run prints the diff and writes nothing");
    let dry = import(&voter, "records.json", &["--dry-run"]);
    assert!(dry.status.success(), "{}", output_text(&dry));
    let diff = String::from_utf8_lossy(&dry.stdout);
    for line in [
        "+ zone example.com.",
        "+ region us-east-1",
        "+ gslb record www.example.com. A",
        "+ gslb record geo.example.com. A",
        "+ check r53-",
    ] {
        assert!(
            diff.contains(line),
            "{line:?} missing from the diff:\n{diff}"
        );
    }
    let nothing = learner.dig(&["mail.example.com", "A"]);
    assert_eq!(nothing.status(), "REFUSED", "{}", nothing.text);

    eprintln!("-- phase: the import writes it all and waits for INSYNC");
    let done = import(&voter, "records.json", &[]);
    assert!(done.status.success(), "{}", output_text(&done));
    assert!(
        String::from_utf8_lossy(&done.stderr).contains("INSYNC on all DNS nodes"),
        "{}",
        output_text(&done)
    );
    assert_eq!(learner.addresses("mail.example.com"), ["192.0.2.25"]);
    let wildcard = learner.dig(&["anything.example.com", "CNAME", "+short"]);
    assert_eq!(wildcard.text.trim(), "www.example.com.");
    let mx = learner.dig(&["example.com", "MX", "+short"]);
    assert_eq!(mx.text.trim(), "10 mail.example.com.");
    // Routed names: records without a reported health check count as up, as in Route 53.
    let one_of = |name: &str, choices: &[&str]| {
        let answer = learner.addresses(name);
        assert_eq!(answer.len(), 1, "{name}: {answer:?}");
        assert!(choices.contains(&answer[0].as_str()), "{name}: {answer:?}");
    };
    one_of("www.example.com", &["192.0.2.10", "192.0.2.11"]);
    one_of("example.com", &["192.0.2.10", "192.0.2.11"]);
    assert_eq!(learner.addresses("api.example.com"), ["192.0.2.20"]);
    // A loopback client has no location: the geolocation default (`*`) answers.
    assert_eq!(learner.addresses("geo.example.com"), ["192.0.2.43"]);
    assert_eq!(
        learner.addresses("multi.example.com"),
        ["192.0.2.60", "192.0.2.61"]
    );
    one_of("lat.example.com", &["192.0.2.30", "192.0.2.31"]);
    one_of("near.example.com", &["192.0.2.50", "192.0.2.51"]);

    eprintln!("-- phase: a second import changes nothing");
    let again = import(&voter, "records.json", &["--dry-run"]);
    assert!(again.status.success(), "{}", output_text(&again));
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), "no changes");

    eprintln!("-- phase: unsupported features are refused, every record named");
    let refused = import(&voter, "unsupported.json", &["--dry-run"]);
    assert_eq!(refused.status.code(), Some(1), "{}", output_text(&refused));
    let listed = String::from_utf8_lossy(&refused.stdout);
    for name in [
        "elb.example.com. A",
        "cidr.example.com. A [office]",
        "calc.example.com. A [one]",
        "coords.example.com. A [here]",
        "nodefault.example.com. A",
        "txt.example.com. TXT [a]",
    ] {
        assert!(
            listed.contains(&format!("refused: {name}")),
            "{name} not listed:\n{}",
            output_text(&refused)
        );
    }
    // Nothing of the refused file was written (ok.example.com only matches the wildcard).
    let ok = learner.addresses("ok.example.com");
    assert!(!ok.contains(&"192.0.2.1".to_string()), "{ok:?}");
}
