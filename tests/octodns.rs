//! End-to-end test of the octoDNS provider `octodns-gslb` (integrations/octodns) with
//! octoDNS from PyPI against a real cluster (a voter and a DNS learner): a YAML config with
//! static and dynamic records is synced with `octodns-sync --doit`, the answers are checked
//! with dig (a subnet rule through ECS), a second sync plans no changes, and a record
//! removed from the YAML leaves DNS while a changed pool value replaces the old one. The provider's own unit tests (pytest) run here too.
//!
//! Needs python3 and either `OCTODNS_VENV` (a venv with octodns, requests and pytest, as
//! `.ci/run` prepares) or PyPI to fill `$HOME/.cache/gslb-octodns`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use common::cluster::{put_region, start_voter_and_learner, ClusterNode, TOKEN};
use common::{output_text, python_venv, TempDir};

/// How long a change may take to reach every node.
const CONVERGE: Duration = Duration::from_secs(30);

/// What the venv needs.
const PACKAGES: [&str; 3] = ["octodns", "requests", "pytest"];

/// The records of `cp.test.` the YAML declares (the zone's own `www` and `ns1` included:
/// octoDNS owns the whole zone); `{app}` is replaced by the `app` record or nothing.
const ZONE_YAML: &str = "---
ns1:
  type: A
  value: 192.0.2.1
www:
  type: A
  value: 192.0.2.10
{app}mail:
  type: MX
  values:
    - exchange: ns1.cp.test.
      preference: 10
txt:
  type: TXT
  values:
    - v=spf1 -all
    - some\\; text
shop:
  type: A
  ttl: 30
  values:
    - 192.0.2.99
  octodns:
    healthcheck:
      host: shop.cp.test
      path: /ready
      port: 8080
      protocol: HTTP
  dynamic:
    pools:
      eu:
        fallback: us
        values:
          - value: 192.0.2.60
            weight: 2
          - value: 192.0.2.62
            status: down
      us:
        values:
          - value: {us}
            status: up
    rules:
      - subnets:
          - 198.51.100.0/24
        pool: eu
      - pool: us
";

const APP_YAML: &str = "app:
  type: A
  ttl: 60
  values:
    - 192.0.2.50
    - 192.0.2.51
";

/// The venv's directory (`OCTODNS_VENV` or `$HOME/.cache/gslb-octodns`).
fn venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        python_venv(
            "OCTODNS_VENV",
            "gslb-octodns",
            &["octodns-sync", "pytest"],
            &PACKAGES,
        )
    })
    .clone()
}

/// The provider's source, put on `PYTHONPATH` (the venv stays free of it).
fn provider_source() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("integrations/octodns")
}

/// Writes the octoDNS config for `voter` into `dir`: the first version (with the `app`
/// record, pool `us` at 192.0.2.61) or the second (no `app`, pool `us` at 192.0.2.63).
fn write_config(dir: &Path, voter: &ClusterNode, first: bool) -> PathBuf {
    std::fs::create_dir_all(dir.join("zones")).unwrap();
    let zone = ZONE_YAML
        .replace("{app}", if first { APP_YAML } else { "" })
        .replace("{us}", if first { "192.0.2.61" } else { "192.0.2.63" });
    std::fs::write(dir.join("zones/cp.test.yaml"), zone).unwrap();
    let config = format!(
        "manager:
  max_workers: 1
providers:
  config:
    class: octodns.provider.yaml.YamlProvider
    directory: {zones}
    default_ttl: 300
    enforce_order: false
  gslb:
    class: octodns_gslb.GslbProvider
    api: http://{api}
    token: env/GSLB_TOKEN
zones:
  cp.test.:
    sources:
      - config
    targets:
      - gslb
",
        zones = dir.join("zones").display(),
        api = voter.http
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).unwrap();
    path
}

fn sync(config: &Path, doit: bool) -> Output {
    let mut command = Command::new(venv().join("bin/octodns-sync"));
    command
        .arg("--config-file")
        .arg(config)
        .env("PYTHONPATH", provider_source())
        .env("GSLB_TOKEN", TOKEN)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    if doit {
        command.arg("--doit");
    }
    command.output().expect("run octodns-sync")
}

/// The provider's pytest suite passes.
#[test]
fn provider_unit_tests_pass() {
    let output = Command::new(venv().join("bin/pytest"))
        .args(["-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(provider_source())
        .env("PYTHONPATH", provider_source())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run pytest");
    assert!(output.status.success(), "{}", output_text(&output));
}

/// octodns-sync writes static and dynamic records that DNS answers, a second sync plans
/// nothing, and a removal leaves DNS.
#[test]
fn octodns_sync_drives_dns_and_is_idempotent() {
    let root = TempDir::new("octodns");
    let (voter, learner) = start_voter_and_learner(&root, CONVERGE);
    put_region(voter.http, "eu", "DE", "EU");
    put_region(voter.http, "us", "US", "NA");
    let config = write_config(&root.0, &voter, true);

    eprintln!("-- phase: the first sync writes every record");
    let first = sync(&config, true);
    assert!(first.status.success(), "{}", output_text(&first));
    assert_eq!(
        learner.addresses("app.cp.test"),
        ["192.0.2.50", "192.0.2.51"]
    );
    let mx = learner.dig(&["mail.cp.test", "MX", "+short"]);
    assert_eq!(mx.text.trim(), "10 ns1.cp.test.");
    let txt = learner.dig(&["txt.cp.test", "TXT", "+short"]);
    assert!(txt.text.contains("\"some; text\""), "{}", txt.text);
    // The catch-all rule: pool us.
    assert_eq!(learner.addresses("shop.cp.test"), ["192.0.2.61"]);
    // A client in the subnet rule (through ECS): pool eu, whose only enabled value answers.
    let eu = learner.dig(&["shop.cp.test", "A", "+norec", "+subnet=198.51.100.7/32"]);
    assert_eq!(eu.a_addresses(), ["192.0.2.60"], "{}", eu.text);
    let (_, checks) = common::cluster::api_get(voter.http, "/v1/checks").unwrap();
    assert!(checks.contains("\"path\":\"/ready\""), "{checks}");

    eprintln!("-- phase: a second sync plans no changes");
    let again = sync(&config, false);
    assert!(again.status.success(), "{}", output_text(&again));
    let plan = format!(
        "{}{}",
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        plan.contains("No changes were planned"),
        "{}",
        output_text(&again)
    );

    eprintln!("-- phase: a record removed from the YAML leaves DNS, a changed pool value moves");
    let config = write_config(&root.0, &voter, false);
    let removal = sync(&config, true);
    assert!(removal.status.success(), "{}", output_text(&removal));
    let gone = learner.dig(&["app.cp.test", "A"]);
    assert_eq!(gone.status(), "NXDOMAIN", "{}", gone.text);
    assert_eq!(learner.addresses("shop.cp.test"), ["192.0.2.63"]);
    let (_, endpoints) = common::cluster::api_get(voter.http, "/v1/endpoints?limit=1000").unwrap();
    assert!(
        !endpoints.contains("192.0.2.61"),
        "stale endpoint left: {endpoints}"
    );
    let after = sync(&config, false);
    let plan = format!(
        "{}{}",
        String::from_utf8_lossy(&after.stdout),
        String::from_utf8_lossy(&after.stderr)
    );
    assert!(
        plan.contains("No changes were planned"),
        "{}",
        output_text(&after)
    );
}
