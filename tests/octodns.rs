//! End-to-end test of the octoDNS provider `octodns-gslb` (integrations/octodns) with
//! octoDNS from PyPI against a real cluster (a voter and a DNS learner): a YAML config with
//! static and dynamic records is synced with `octodns-sync --doit`, the answers are checked
//! with dig (a subnet rule through ECS), a second sync plans no changes, and a record
//! removed from the YAML leaves DNS while a changed pool value replaces the old one. The provider's own unit tests (pytest) run here too.
//!
//! octoDNS's standard DNS provider, `octodns_bind.Rfc2136Provider` (PyPI `octodns-bind`),
//! manages the static records of the same zone without our provider: it reads the zone by
//! AXFR and writes it by RFC 2136 UPDATE, both signed with a key from `gslbctl tsig
//! create`, sent to the DNS learner.
//!
//! Needs python3 and either `OCTODNS_VENV` (a venv with octodns, octodns-bind, requests and
//! pytest, as `.ci/run` prepares) or PyPI to fill `$HOME/.cache/gslb-octodns`.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use common::cluster::{put_region, start_voter_and_learner, ClusterNode, TOKEN};
use common::{output_text, python_venv, TempDir};

/// How long a change may take to reach every node.
const CONVERGE: Duration = Duration::from_secs(30);

/// What the venv needs.
const PACKAGES: [&str; 4] = ["octodns", "octodns-bind", "requests", "pytest"];

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
        let venv = python_venv(
            "OCTODNS_VENV",
            "gslb-octodns",
            &["octodns-sync", "pytest"],
            &PACKAGES,
        );
        // octodns-bind brings no command of its own: a venv made before it was needed
        // passes the check above without it.
        let imports = Command::new(venv.join("bin/python"))
            .args(["-c", "import octodns_bind"])
            .output()
            .expect("run the venv's python");
        if !imports.status.success() {
            let installed = Command::new(venv.join("bin/pip"))
                .args(["install", "-q", "octodns-bind"])
                .output()
                .expect("run the venv's pip");
            assert!(
                installed.status.success(),
                "cannot install octodns-bind (run .ci/run or set OCTODNS_VENV): {}",
                output_text(&installed)
            );
        }
        venv
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
    let zone = ZONE_YAML
        .replace("{app}", if first { APP_YAML } else { "" })
        .replace("{us}", if first { "192.0.2.61" } else { "192.0.2.63" });
    let target = format!(
        "class: octodns_gslb.GslbProvider
    api: http://{api}
    token: env/GSLB_TOKEN",
        api = voter.http
    );
    write_octodns_config(dir, &zone, &target)
}

/// Writes `zones/cp.test.yaml` (`zone_yaml`) and `config.yaml` syncing it from the YAML
/// files to the provider `gslb` (`target`: its settings, indented as under `gslb:`) into
/// `dir`; the config's path.
fn write_octodns_config(dir: &Path, zone_yaml: &str, target: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("zones")).unwrap();
    std::fs::write(dir.join("zones/cp.test.yaml"), zone_yaml).unwrap();
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
    {target}
zones:
  cp.test.:
    sources:
      - config
    targets:
      - gslb
",
        zones = dir.join("zones").display(),
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
    assert!(
        plan_text(&again).contains("No changes were planned"),
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
    assert!(
        plan_text(&after).contains("No changes were planned"),
        "{}",
        output_text(&after)
    );
}

/// The static records of `cp.test.` that `Rfc2136Provider` owns (the zone's own `ns1`,
/// `www` and apex NS included: records missing from the YAML would be deleted);
/// `{records}` is replaced by the records the test changes.
const RFC2136_ZONE_YAML: &str = "---
'':
  type: NS
  ttl: 3600
  value: ns1.cp.test.
ns1:
  type: A
  ttl: 60
  value: 192.0.2.1
www:
  type: A
  ttl: 60
  value: 192.0.2.10
mail:
  type: MX
  ttl: 300
  value:
    exchange: ns1.cp.test.
    preference: 10
{records}";

/// The first version's changing records: `api` with two addresses, a TXT `note`.
const RFC2136_FIRST: &str = "api:
  type: A
  ttl: 120
  values:
    - 192.0.2.20
    - 192.0.2.21
note:
  type: TXT
  value: managed by octodns
";

/// The second version: `api` changed to one other address, `note` deleted, an SRV
/// record created.
const RFC2136_SECOND: &str = "api:
  type: A
  ttl: 120
  value: 192.0.2.22
_sip._tcp:
  type: SRV
  value:
    port: 5060
    priority: 10
    target: www.cp.test.
    weight: 20
";

/// Writes into `dir` an octoDNS config whose target is `octodns_bind.Rfc2136Provider`
/// pointed at the DNS node `dns` with TSIG key `octodns` (`secret`), and the zone's YAML
/// with `records`.
fn write_rfc2136_config(dir: &Path, dns: SocketAddr, secret: &str, records: &str) -> PathBuf {
    let target = format!(
        "class: octodns_bind.Rfc2136Provider
    host: {ip}
    port: {port}
    key_name: octodns
    key_secret: {secret}
    key_algorithm: hmac-sha256",
        ip = dns.ip(),
        port = dns.port(),
    );
    write_octodns_config(
        dir,
        &RFC2136_ZONE_YAML.replace("{records}", records),
        &target,
    )
}

/// What `octodns-sync` printed, stdout and stderr (the plan goes to either, by version).
fn plan_text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `octodns_bind.Rfc2136Provider` manages static records of a gslb zone with a TSIG key
/// from `gslbctl tsig create`: it reads the zone by AXFR and creates, replaces and deletes
/// records by RFC 2136 UPDATE sent to a DNS learner; each change answers on that node as
/// soon as the sync returns, and a second sync (the zone read back by AXFR) plans nothing.
#[test]
fn octodns_bind_manages_static_records_through_rfc2136_and_axfr() {
    let root = TempDir::new("octodns-bind");
    let (voter, learner) = start_voter_and_learner(&root, CONVERGE);
    let dns = learner.dns.expect("the learner's DNS address");

    eprintln!("-- phase: a key that may update and transfer cp.test");
    let created = Command::new(env!("CARGO_BIN_EXE_gslbctl"))
        .args(["--api", &format!("http://{}", voter.http), "--token", TOKEN])
        .args(["tsig", "create", "octodns", "--update", "cp.test"])
        .args(["--transfer", "cp.test", "-o", "json"])
        .output()
        .expect("run gslbctl");
    assert!(created.status.success(), "{}", output_text(&created));
    let created = String::from_utf8_lossy(&created.stdout).into_owned();
    let secret = created
        .split("\"secret\":")
        .nth(1)
        .and_then(|rest| rest.split('"').nth(1))
        .unwrap_or_else(|| panic!("a secret in {created}"))
        .to_string();

    eprintln!("-- phase: the first sync creates records by UPDATE");
    let config = write_rfc2136_config(&root.0, dns, &secret, RFC2136_FIRST);
    let first = sync(&config, true);
    assert!(first.status.success(), "{}", output_text(&first));
    assert_eq!(
        learner.addresses("api.cp.test"),
        ["192.0.2.20", "192.0.2.21"]
    );
    let mx = learner.dig(&["mail.cp.test", "MX", "+short"]);
    assert_eq!(mx.text.trim(), "10 ns1.cp.test.");
    let note = learner.dig(&["note.cp.test", "TXT", "+short"]);
    assert_eq!(note.text.trim(), "\"managed by octodns\"");

    eprintln!("-- phase: read back by AXFR, a second sync plans no changes");
    let again = sync(&config, false);
    assert!(again.status.success(), "{}", output_text(&again));
    assert!(
        plan_text(&again).contains("No changes were planned"),
        "{}",
        output_text(&again)
    );

    eprintln!("-- phase: a changed, a deleted and a new record");
    let config = write_rfc2136_config(&root.0, dns, &secret, RFC2136_SECOND);
    let change = sync(&config, true);
    assert!(change.status.success(), "{}", output_text(&change));
    assert_eq!(learner.addresses("api.cp.test"), ["192.0.2.22"]);
    let gone = learner.dig(&["note.cp.test", "TXT"]);
    assert_eq!(gone.status(), "NXDOMAIN", "{}", gone.text);
    let srv = learner.dig(&["_sip._tcp.cp.test", "SRV", "+short"]);
    assert_eq!(srv.text.trim(), "10 20 5060 www.cp.test.");
    let after = sync(&config, false);
    assert!(after.status.success(), "{}", output_text(&after));
    assert!(
        plan_text(&after).contains("No changes were planned"),
        "{}",
        output_text(&after)
    );

    eprintln!("-- phase: every update is in the audit log with its key");
    let (_, audit) = common::cluster::api_get(voter.http, "/v1/audit").expect("the audit log");
    assert!(audit.contains("tsig:octodns"), "{audit}");
}
