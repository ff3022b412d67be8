//! The monitoring kit in `deploy/` works with what gslb really exports: the alert rules in
//! `deploy/prometheus/` pass `promtool check rules` and their unit tests (`promtool test
//! rules`), the Grafana dashboard in `deploy/grafana/` is a valid dashboard, and every metric
//! either of them names is one a running voter or DNS learner exposes on `/metrics`; and
//! every metric the code registers or a node exports is listed in `docs/operations.md`.
//!
//! promtool comes from Debian's `prometheus` package, which `.ci/run` installs.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::cluster::{api_get, http, leader_of, wait_until, ClusterNode, Kind, TOKEN};
use common::TempDir;

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path)
}

/// Runs promtool with `args` in `dir` and returns its output; fails the test when promtool is
/// missing (CI installs it) or says no.
fn promtool(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|error| {
            panic!("promtool could not run ({error}): install Debian's prometheus package")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

/// Every `gslb_*` metric family an expression names, with the suffixes Prometheus adds to
/// counters and histograms (`_total`, `_bucket`, `_sum`, `_count`) taken off.
fn families_named_in(expression: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expression.as_bytes();
    let mut start = 0;
    while let Some(found) = expression[start..].find("gslb_") {
        let begin = start + found;
        let preceded_by_word =
            begin > 0 && (bytes[begin - 1].is_ascii_alphanumeric() || bytes[begin - 1] == b'_');
        let mut end = begin;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        if !preceded_by_word {
            let name = &expression[begin..end];
            let family = ["_total", "_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(name);
            names.insert(family.to_string());
        }
        start = end;
    }
    names
}

/// The families a node's `/metrics` declares (`# TYPE name kind` lines).
fn exported_families(node: &ClusterNode) -> BTreeSet<String> {
    let (status, body) = api_get(node.http, "/metrics").expect("a reply from /metrics");
    assert_eq!(status, 200, "/metrics: {body}");
    body.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Every `expr` of the rule file (alerting and recording rules).
fn rule_expressions(text: &str) -> Vec<String> {
    let rules: serde_json::Value = serde_norway::from_str(text).expect("the rule file is YAML");
    rules["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|group| group["rules"].as_array().expect("rules").iter())
        .map(|rule| {
            assert!(
                rule["alert"].is_string() || rule["record"].is_string(),
                "a rule without a name: {rule}"
            );
            rule["expr"]
                .as_str()
                .expect("every rule has an expr")
                .to_string()
        })
        .collect()
}

/// Every target expression of the dashboard, after checking the dashboard's shape: a title,
/// a uid, unique panel ids, each panel placed on the grid and reading the Prometheus data
/// source variable.
fn dashboard_expressions(text: &str) -> Vec<String> {
    let dashboard: serde_json::Value =
        serde_json::from_str(text).expect("the dashboard is valid JSON");
    assert!(dashboard["title"].is_string() && dashboard["uid"].is_string());
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(!panels.is_empty());
    let mut ids = BTreeSet::new();
    let mut expressions = Vec::new();
    for panel in panels {
        let title = panel["title"].as_str().expect("every panel has a title");
        assert!(
            ids.insert(panel["id"].as_u64().expect("a numeric id")),
            "two panels share an id ({title})"
        );
        for key in ["x", "y", "w", "h"] {
            assert!(panel["gridPos"][key].is_u64(), "{title}: gridPos.{key}");
        }
        assert_eq!(panel["datasource"]["type"], "prometheus", "{title}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title} queries nothing");
        for target in targets {
            expressions.push(target["expr"].as_str().expect("an expr").to_string());
        }
    }
    expressions
}

/// What does this test do: runs promtool over the alert rules and their unit tests, checks
/// the Grafana dashboard's shape, then starts a voter and a DNS learner and checks that every
/// metric the rules and the dashboard name is exported by one of them.
#[test]
fn alert_rules_and_dashboard_use_only_exported_metrics() {
    eprintln!("-- phase: promtool checks and unit-tests the rules");
    let rules_dir = deploy("prometheus");
    let checked = promtool(&rules_dir, &["check", "rules", "gslb-alerts.yml"]);
    assert!(checked.contains("SUCCESS"), "{checked}");
    let tested = promtool(&rules_dir, &["test", "rules", "gslb-alerts.test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");

    eprintln!("-- phase: read the rules and the dashboard");
    let rules = std::fs::read_to_string(rules_dir.join("gslb-alerts.yml")).unwrap();
    let dashboard = std::fs::read_to_string(deploy("grafana/gslb-dashboard.json")).unwrap();
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    for expression in rule_expressions(&rules)
        .iter()
        .chain(dashboard_expressions(&dashboard).iter())
    {
        wanted.extend(families_named_in(expression));
    }
    assert!(
        wanted.len() >= 10,
        "only {} metrics named; is the walk broken? {wanted:?}",
        wanted.len()
    );

    eprintln!("-- phase: a voter and a DNS learner export their families");
    let root = TempDir::new("gslb-monitoring");
    let voter = ClusterNode::start(&root, 1, Kind::Bootstrap, &[]);
    wait_until(Duration::from_secs(20), "voter 1 to lead", || {
        leader_of(&voter) == Some(1)
    });
    let learner = ClusterNode::start(&root, 2, Kind::DnsLearner, &[voter.http]);
    wait_until(
        Duration::from_secs(20),
        "the learner to serve /metrics with DNS families",
        || {
            api_get(learner.http, "/metrics")
                .is_some_and(|(status, body)| status == 200 && body.contains("gslb_dns_queries"))
        },
    );

    eprintln!("-- phase: a region with a replication check and one report make health series");
    // Families without series are not declared on /metrics, so give health something to
    // say: a region, an endpoint with an external check, a replication check (the lease),
    // and one report from vantage `eu` with an RTT.
    for (path, body) in [
        (
            "/v1/regions",
            r#"{"id":"eu","location":{"lat":50,"lon":8,"country":"DE","continent":"EU"}}"#,
        ),
        (
            "/v1/endpoints",
            r#"{"id":"eu-1","region":"eu","address":"192.0.2.1"}"#,
        ),
        (
            "/v1/checks",
            r#"{"id":"eu-1-ext","endpoint":"eu-1","kind":{"type":"external","ttl_ms":600000},
                "vantages":["eu"],"quorum":1}"#,
        ),
        (
            "/v1/checks",
            r#"{"id":"eu-replication","region":"eu","target":"192.0.2.1",
                "kind":{"type":"replication","port":8080,"path":"/replication","lease_ms":60000,
                        "conditions":["/replication/in_quorum == true"]},
                "vantages":["eu"],"quorum":1}"#,
        ),
        (
            "/v1/observations",
            r#"{"vantage":"eu","observations":[
                {"check":"eu-1-ext","up":true,"rtt_us":1500},
                {"check":"eu-replication","up":true,"rtt_us":2500}]}"#,
        ),
    ] {
        let (status, reply) = http(voter.http, "POST", path, Some(TOKEN), Some(body))
            .unwrap_or_else(|| panic!("POST {path}: no reply"));
        assert!(
            status == 200 || status == 201,
            "POST {path}: {status} {reply}"
        );
    }
    wait_until(
        Duration::from_secs(20),
        "the voter to export the region's lease",
        || {
            api_get(voter.http, "/metrics").is_some_and(|(_, body)| {
                body.contains("gslb_region_lease_remaining_seconds{")
                    && body.contains("gslb_region_transitions")
            })
        },
    );
    let mut exported = exported_families(&voter);
    exported.extend(exported_families(&learner));
    let missing: Vec<&String> = wanted.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "deploy/ names metrics no node exports: {missing:?}\nexported: {exported:?}"
    );
    let documented = documented_families();
    let undocumented: Vec<&String> = exported.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "docs/operations.md does not list these exported metrics: {undocumented:?}"
    );
}

/// The `gslb_*` families `docs/operations.md` names.
fn documented_families() -> BTreeSet<String> {
    let operations = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/operations.md");
    families_named_in(&std::fs::read_to_string(operations).unwrap())
}

/// Every `"gslb_..."` string literal in the Rust files under `dir` that register metrics
/// (`registry.register(`) or render them by hand (`# TYPE`).
fn registered_families(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            registered_families(&path, found);
            continue;
        }
        if path.extension().is_none_or(|extension| extension != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains("registry.register(") && !text.contains("# TYPE") {
            continue;
        }
        for (index, _) in text.match_indices("\"gslb_") {
            let rest = &text[index + 1..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if rest[end..].starts_with('"') {
                found.insert(rest[..end].to_string());
            }
        }
    }
}

/// What does this test do: collects every metric family name the code registers (string
/// literals in the files that register metrics, across every crate: voter, DNS node and
/// prober alike, families without series included) and fails naming each one
/// `docs/operations.md` does not list.
#[test]
fn every_registered_metric_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut registered = BTreeSet::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() && (name == "src" || name.starts_with("gslb-")) {
            let sources = if name == "src" {
                path
            } else {
                path.join("src")
            };
            if sources.is_dir() {
                registered_families(&sources, &mut registered);
            }
        }
    }
    for family in ["gslb_dns_queries", "gslb_region_status", "gslb_raft_role"] {
        assert!(
            registered.contains(family),
            "the walk missed {family}; is it broken? {registered:?}"
        );
    }
    let documented = documented_families();
    let undocumented: Vec<&String> = registered.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "docs/operations.md does not list these metrics the code registers: {undocumented:?}"
    );
}

#[test]
fn metric_names_are_read_from_expressions() {
    assert_eq!(
        families_named_in(
            "sum by (le) (rate(gslb_probe_rtt_seconds_bucket[5m])) / gslb_state_version \
             + rate(gslb_dns_queries_total[1m]) + not_gslb_x"
        ),
        [
            "gslb_dns_queries",
            "gslb_probe_rtt_seconds",
            "gslb_state_version"
        ]
        .into_iter()
        .map(str::to_string)
        .collect()
    );
}
