//! Black-box tests of the real `gslbctl` binary against an in-process node (one Raft voter
//! serving `gslb_api::serve` on 127.0.0.1 port 0): zone import and export, `apply` with
//! `--dry-run` and `--prune`, output formats, errors that name the field, auth, `resolve`
//! and `health`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use gslb_api::ApiOptions;
use gslb_store::raft::{spawn_node, ClusterSecret, NodeHandle, NodeOptions, RaftSettings};
use serde_json::Value;

const GSLBCTL: &str = env!("CARGO_BIN_EXE_gslbctl");
const TOKEN: &str = "bootstrap-admin-token-0123456789";

/// A running one-voter node with the API.
struct Node {
    url: String,
    handle: NodeHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Node {
    async fn start(dir: &Path) -> Node {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let mut options = NodeOptions::new(
            1,
            dir,
            &addr,
            ClusterSecret::new("test-cluster-secret-0123456789").unwrap(),
        );
        options.raft = RaftSettings {
            heartbeat_ms: 100,
            election_min_ms: 400,
            election_max_ms: 800,
            ..RaftSettings::default()
        };
        options.kv_cache_bytes = 8 * 1024 * 1024;
        let handle = spawn_node(options).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let api = ApiOptions {
            bootstrap_token: Some(TOKEN.to_string()),
            ..ApiOptions::default()
        };
        tokio::spawn(gslb_api::serve(listener, handle.clone(), api, async move {
            let _ = stopped.await;
        }));
        handle
            .initialize(BTreeMap::from([(1, addr.clone())]))
            .await
            .unwrap();
        handle
            .wait_metrics(Duration::from_secs(30), "a leader", |m| {
                m.leader == Some(1) && m.applied_index > 0
            })
            .await
            .unwrap();
        Node {
            url: format!("http://{addr}"),
            handle,
            stop: Some(stop),
        }
    }

    /// Runs gslbctl with the node's URL and token; returns (success, stdout, stderr).
    async fn ctl(&self, args: &[&str]) -> (bool, String, String) {
        self.ctl_as(Some(TOKEN), args).await
    }

    async fn ctl_as(&self, token: Option<&str>, args: &[&str]) -> (bool, String, String) {
        let mut command = tokio::process::Command::new(GSLBCTL);
        command.env_remove("GSLB_TOKEN").arg("--api").arg(&self.url);
        if let Some(token) = token {
            command.arg("--token").arg(token);
        }
        let output = command.args(args).output().await.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        eprintln!("$ gslbctl {}\n{stdout}{stderr}", args.join(" "));
        (output.status.success(), stdout, stderr)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.handle.shutdown().await;
    }
}

const ZONE: &str = "$ORIGIN example.test.\n$TTL 300\n\
@ 3600 IN SOA ns1 hostmaster 7 7200 900 1209600 300\n\
@ IN NS ns1\n\
ns1 IN A 192.0.2.53\n\
www IN A 192.0.2.10\n";

const APPLY: &str = "\
regions:
  - id: eu-1
    location: {lat: 50.11, lon: 8.68, country: DE, continent: EU}
    capacity: 8
  - id: us-1
    location: {lat: 39.04, lon: -77.49, country: US, continent: NA}
endpoints:
  - id: web-eu
    region: eu-1
    address: 192.0.2.10
    weight: 10
  - id: web-us
    region: us-1
    address: 2001:db8::10
checks:
  - id: web-eu-tcp
    endpoint: web-eu
    kind: {type: tcp, port: 443}
gslb_records:
  - zone: example.test.
    name: app
    type: A
    ttl: 30
    policy:
      failover:
        - region: eu-1
        - endpoints: [web-eu]
records:
  - zone: example.test.
    name: api
    type: AAAA
    data: ['2001:db8::1']
";

/// What does this test do: imports a zone file with `gslbctl zone import` (waiting for
/// INSYNC), reads it back with `get` in table, JSON and YAML, and exports it; then
/// `apply --dry-run` prints the diff without changing anything, `apply` changes the state in
/// one version, a second apply has no changes, `--prune` removes what the file dropped, a
/// bad file fails naming the field, and a missing token is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gslbctl_imports_applies_and_reports_errors() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(&dir.path().join("node")).await;
    let zone_file = dir.path().join("example.test.zone");
    std::fs::write(&zone_file, ZONE).unwrap();

    eprintln!("phase: zone import and read back");
    let (ok, stdout, stderr) = node
        .ctl(&["zone", "import", zone_file.to_str().unwrap()])
        .await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("zone example.test. imported"), "{stdout}");
    assert!(stderr.contains("INSYNC on all DNS nodes after"), "{stderr}");
    let (ok, stdout, _) = node.ctl(&["get", "zones"]).await;
    assert!(ok);
    assert!(
        stdout.contains("APEX") && stdout.contains("example.test."),
        "{stdout}"
    );
    let (ok, stdout, _) = node
        .ctl(&["get", "zone", "example.test.", "-o", "json"])
        .await;
    assert!(ok);
    let zone: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(zone["soa"]["serial"], 7);
    let (ok, stdout, _) = node
        .ctl(&["get", "records", "--zone", "example.test.", "-o", "yaml"])
        .await;
    assert!(ok);
    assert!(stdout.contains("name: www.example.test."), "{stdout}");
    let (ok, stdout, _) = node.ctl(&["zone", "export", "example.test."]).await;
    assert!(ok);
    assert!(stdout.contains("192.0.2.10"), "{stdout}");

    eprintln!("phase: apply --dry-run changes nothing");
    let apply_file = dir.path().join("apply.yaml");
    std::fs::write(&apply_file, APPLY).unwrap();
    let version = node.handle.state().version;
    let (ok, stdout, _) = node
        .ctl(&["apply", "-f", apply_file.to_str().unwrap(), "--dry-run"])
        .await;
    assert!(ok);
    for wanted in [
        "+ region eu-1",
        "+ region us-1",
        "+ endpoint web-eu",
        "+ check web-eu-tcp",
        "+ gslb record app.example.test. A in example.test.",
        "+ record api.example.test. AAAA in example.test.",
    ] {
        assert!(stdout.contains(wanted), "missing {wanted:?} in {stdout}");
    }
    assert_eq!(node.handle.state().version, version);

    eprintln!("phase: apply, then apply again");
    let (ok, stdout, stderr) = node
        .ctl(&["apply", "-f", apply_file.to_str().unwrap()])
        .await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("applied 7 changes"), "{stdout}");
    let state = node.handle.state();
    assert_eq!(state.version, version + 1, "one atomic entry");
    assert_eq!(state.regions.len(), 2);
    assert_eq!(state.endpoints["web-us"].weight, 1);
    assert_eq!(state.checks["web-eu-tcp"].interval_ms, 10_000);
    assert_eq!(state.all_gslb_records().count(), 1);
    let apex = gslb_model::DomainName::parse_absolute("example.test.").unwrap();
    assert_eq!(
        state.zones[&apex].soa.serial, 8,
        "the apply changed the zone's records: its serial moved once, from 7"
    );
    let (ok, stdout, _) = node
        .ctl(&["apply", "-f", apply_file.to_str().unwrap()])
        .await;
    assert!(ok);
    assert!(stdout.contains("no changes"), "{stdout}");

    eprintln!("phase: prune");
    let pruned = APPLY
        .replace("    capacity: 8\n", "    capacity: 16\n")
        .replace(
            "  - id: web-us\n    region: us-1\n    address: 2001:db8::10\n",
            "",
        );
    std::fs::write(&apply_file, &pruned).unwrap();
    let (ok, _, stderr) = node
        .ctl(&["apply", "-f", apply_file.to_str().unwrap(), "--prune"])
        .await;
    assert!(!ok, "--prune without a scope must be refused");
    assert!(
        stderr.contains("scope: missing; prune deletes only what the document's scope owns"),
        "{stderr}"
    );
    let pruned = format!("scope: {{zones: [example.test.], id_prefixes: [web-]}}\n{pruned}");
    std::fs::write(&apply_file, &pruned).unwrap();
    let (ok, stdout, stderr) = node
        .ctl(&["apply", "-f", apply_file.to_str().unwrap(), "--prune"])
        .await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("~ region eu-1"), "{stdout}");
    assert!(stdout.contains("capacity: 8 -> 16"), "{stdout}");
    assert!(stdout.contains("- endpoint web-us"), "{stdout}");
    assert!(
        stdout.contains("- record www.example.test. A in example.test."),
        "{stdout}"
    );
    let state = node.handle.state();
    assert!(!state.endpoints.contains_key("web-us"));
    assert_eq!(state.regions["eu-1"].capacity, Some(16));

    eprintln!("phase: errors name the field and change nothing");
    let version = node.handle.state().version;
    std::fs::write(
        &apply_file,
        "endpoints:\n  - id: web-eu\n    region: eu-1\n    address: 192.0.2.10\n    weight: 5000000\n",
    )
    .unwrap();
    let (ok, _, stderr) = node
        .ctl(&["apply", "-f", apply_file.to_str().unwrap()])
        .await;
    assert!(!ok);
    assert!(stderr.contains("endpoints[0].weight"), "{stderr}");
    std::fs::write(&apply_file, "regions:\n  - id: eu-9\n    colour: blue\n").unwrap();
    let (ok, _, stderr) = node
        .ctl(&["apply", "-f", apply_file.to_str().unwrap()])
        .await;
    assert!(!ok);
    assert!(stderr.contains("colour"), "{stderr}");
    let (ok, _, stderr) = node.ctl(&["delete", "region", "eu-1", "--no-wait"]).await;
    assert!(!ok, "eu-1 still has an endpoint");
    assert!(stderr.contains("409 conflict"), "{stderr}");
    assert_eq!(node.handle.state().version, version);

    eprintln!("phase: auth");
    let (ok, _, stderr) = node.ctl_as(None, &["get", "zones"]).await;
    assert!(!ok);
    assert!(stderr.contains("401 unauthorized"), "{stderr}");
    let (ok, stdout, _) = node
        .ctl(&["token", "create", "reader", "--scope", "read"])
        .await;
    assert!(ok);
    let secret = stdout.lines().nth(1).unwrap().trim().to_string();
    let (ok, _, _) = node.ctl_as(Some(&secret), &["get", "regions"]).await;
    assert!(ok);
    let (ok, _, stderr) = node
        .ctl_as(Some(&secret), &["delete", "zone", "example.test."])
        .await;
    assert!(!ok);
    assert!(stderr.contains("403 forbidden"), "{stderr}");

    let (ok, stdout, _) = node.ctl(&["cluster", "status", "-o", "yaml"]).await;
    assert!(ok);
    assert!(stdout.contains("role: leader"), "{stdout}");
    let (ok, stdout, _) = node
        .ctl(&[
            "resolve",
            "api.example.test.",
            "--type",
            "AAAA",
            "--explain",
        ])
        .await;
    assert!(ok);
    assert!(
        stdout.contains("NOERROR") && stdout.contains("2001:db8::1"),
        "{stdout}"
    );
    assert!(stdout.contains("zone example.test. answers"), "{stdout}");
    let (ok, stdout, _) = node
        .ctl(&["get", "gslb-records", "--zone", "example.test."])
        .await;
    assert!(ok);
    assert!(
        stdout.contains("app.example.test.") && stdout.contains("failover"),
        "{stdout}"
    );
    let (ok, stdout, _) = node
        .ctl(&["resolve", "app.example.test.", "--explain"])
        .await;
    assert!(ok);
    assert!(stdout.contains("is a GSLB record"), "{stdout}");
    assert!(stdout.contains("policy answered"), "{stdout}");
    let (ok, stdout, _) = node.ctl(&["health"]).await;
    assert!(ok);
    assert!(
        stdout.contains("REGIONS") && stdout.contains("eu-1"),
        "{stdout}"
    );
    let (ok, stdout, _) = node.ctl(&["get", "audit"]).await;
    assert!(ok);
    assert!(stdout.contains("batch(7)"), "{stdout}");
    node.stop().await;
}

/// What does this test do: `gslbctl completion bash` prints a script that bash sources
/// and that registers completion for gslbctl, naming the subcommands (drill among them);
/// zsh and fish scripts are produced too.
#[test]
fn completion_scripts_load_in_their_shell() {
    let output = std::process::Command::new(GSLBCTL)
        .args(["completion", "bash"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let script = String::from_utf8(output.stdout).unwrap();
    for word in ["drill", "zone", "apply", "resolve"] {
        assert!(script.contains(word), "{word} missing from the bash script");
    }
    let sourced = std::process::Command::new("bash")
        .args([
            "-c",
            &format!("source <({GSLBCTL} completion bash) && complete -p gslbctl"),
        ])
        .output()
        .unwrap();
    let registered = String::from_utf8_lossy(&sourced.stdout);
    assert!(
        sourced.status.success() && registered.contains("_gslbctl gslbctl"),
        "{registered}{}",
        String::from_utf8_lossy(&sourced.stderr)
    );
    for shell in ["zsh", "fish"] {
        let output = std::process::Command::new(GSLBCTL)
            .args(["completion", shell])
            .output()
            .unwrap();
        assert!(
            output.status.success() && output.stdout.len() > 1000,
            "{shell}"
        );
    }
}

/// What does this test do: `gslbctl create networks -f` writes client networks, `get
/// networks` lists them (table and JSON, one by CIDR in any spelling), `apply -f` with a
/// `networks:` section diffs and changes them in one version and `--prune` removes the
/// undeclared, a file listing a CIDR twice or holding a bad one fails naming it, and `delete
/// network` removes one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gslbctl_manages_the_network_table() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path()).await;
    let file = dir.path().join("nets.yaml");
    std::fs::write(
        &file,
        "- {cidr: 198.51.100.0/24, country: DE, continent: EU, subdivision: DE-BY, asn: 64500}\n\
         - {cidr: '2001:db8::/32', country: US, lat: 39.04, lon: -77.49}\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let (ok, stdout, stderr) = node
        .ctl(&["create", "networks", "-f", path, "--no-wait"])
        .await;
    assert!(ok, "{stdout}{stderr}");
    let (ok, table, _) = node.ctl(&["get", "networks"]).await;
    assert!(ok);
    assert!(
        table.contains("CIDR") && table.contains("198.51.100.0/24"),
        "{table}"
    );
    assert!(
        table.contains("DE-BY") && table.contains("64500"),
        "{table}"
    );
    let (ok, json, _) = node
        .ctl(&["get", "network", "2001:DB8::/32", "-o", "json"])
        .await;
    assert!(ok, "{json}");
    let one: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(one[0]["cidr"], "2001:db8::/32", "{json}");
    assert_eq!(one[0]["lon"], -77.49);

    let apply = dir.path().join("apply.yaml");
    std::fs::write(
        &apply,
        "scope: {networks: [0.0.0.0/0, '::/0']}\n\
         networks:\n  - {cidr: 198.51.100.0/24, country: AT, continent: EU}\n  \
         - {cidr: 203.0.113.0/24, country: NL}\n",
    )
    .unwrap();
    let apply_path = apply.to_str().unwrap();
    let (ok, diff, _) = node
        .ctl(&["apply", "-f", apply_path, "--dry-run", "--prune"])
        .await;
    assert!(ok, "{diff}");
    assert!(diff.contains("~ network 198.51.100.0/24"), "{diff}");
    assert!(diff.contains("+ network 203.0.113.0/24"), "{diff}");
    assert!(diff.contains("- network 2001:db8::/32"), "{diff}");
    let before = node.handle.state().version;
    let (ok, out, err) = node
        .ctl(&["apply", "-f", apply_path, "--prune", "--no-wait"])
        .await;
    assert!(ok, "{out}{err}");
    let state = node.handle.state();
    assert_eq!(state.version, before + 1, "one atomic change");
    let keys: Vec<&str> = state.networks.keys().map(String::as_str).collect();
    assert_eq!(keys, ["198.51.100.0/24", "203.0.113.0/24"]);
    assert_eq!(
        state.networks["198.51.100.0/24"].country.as_deref(),
        Some("AT")
    );

    std::fs::write(
        &apply,
        "networks:\n  - {cidr: 203.0.113.0/24, country: NL}\n  - {cidr: 203.0.113.0/24, country: BE}\n",
    )
    .unwrap();
    let (ok, _, err) = node.ctl(&["apply", "-f", apply_path]).await;
    assert!(!ok);
    assert!(err.contains("203.0.113.0/24 is listed twice"), "{err}");
    std::fs::write(&file, "- {cidr: 203.0.113.1/24, country: NL}\n").unwrap();
    let (ok, _, err) = node.ctl(&["create", "networks", "-f", path]).await;
    assert!(!ok);
    assert!(err.contains("cidr") && err.contains("host bits"), "{err}");

    let (ok, out, err) = node
        .ctl(&["delete", "network", "203.0.113.0/24", "--no-wait"])
        .await;
    assert!(ok, "{out}{err}");
    let keys: Vec<String> = node.handle.state().networks.keys().cloned().collect();
    assert_eq!(keys, ["198.51.100.0/24"]);
    node.stop().await;
}

/// Runs gslbctl with exactly `args` and `env` (no `--api` added); returns (success, stdout,
/// stderr).
async fn gslbctl(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = tokio::process::Command::new(GSLBCTL);
    command.env_remove("GSLB_TOKEN").env_remove("GSLB_API");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.args(args).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!("$ gslbctl {}\n{stdout}{stderr}", args.join(" "));
    (output.status.success(), stdout, stderr)
}

/// An `http://127.0.0.1:port` nothing listens on (bound, then closed).
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// What does this test do: `--api` listing a dead address before the live node reads, and
/// applies a file (waiting for INSYNC), through the live one; `GSLB_API` takes the same
/// list; with only dead addresses the error says the connection failed, within `--timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gslbctl_moves_past_a_dead_api_address() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path()).await;
    let dead = dead_url();
    let both = format!("{dead},{}", node.url);

    eprintln!("phase: --api DEAD,LIVE");
    let (ok, stdout, stderr) =
        gslbctl(&["--api", &both, "--token", TOKEN, "get", "zones"], &[]).await;
    assert!(ok, "{stdout}{stderr}");
    let file = dir.path().join("regions.yaml");
    std::fs::write(
        &file,
        "regions:\n  - id: eu-1\n    location: {lat: 50.11, lon: 8.68, country: DE, continent: EU}\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let (ok, stdout, stderr) = gslbctl(
        &["--api", &both, "--token", TOKEN, "apply", "-f", file],
        &[],
    )
    .await;
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("+ region eu-1"), "{stdout}");
    assert!(stdout.contains("applied 1 changes"), "{stdout}");
    assert!(stderr.contains("INSYNC on all DNS nodes"), "{stderr}");
    assert!(node.handle.state().regions.contains_key("eu-1"));

    eprintln!("phase: GSLB_API=DEAD,LIVE");
    let (ok, stdout, stderr) = gslbctl(
        &["get", "regions"],
        &[("GSLB_API", &both), ("GSLB_TOKEN", TOKEN)],
    )
    .await;
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("eu-1"), "{stdout}");

    eprintln!("phase: only dead addresses");
    let started = std::time::Instant::now();
    let (ok, _, stderr) = gslbctl(
        &[
            "--api",
            &dead,
            "--token",
            TOKEN,
            "--timeout",
            "1s",
            "get",
            "zones",
        ],
        &[],
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("cannot connect to"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "bounded by --timeout"
    );
    node.stop().await;
}

/// A stand-in API for `POST /v1/tokens`: refuses the first `refusals` requests with 503 and
/// `message`, then creates; records every body it got.
#[derive(Clone, Default)]
struct FakeTokens {
    refusals: usize,
    message: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

impl FakeTokens {
    /// Serves on 127.0.0.1 port 0; returns its URL.
    async fn serve(self) -> String {
        use axum::http::StatusCode;
        use axum::response::IntoResponse;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().route(
            "/v1/tokens",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let fake = self.clone();
                async move {
                    let seen = {
                        let mut bodies = fake.bodies.lock().unwrap();
                        bodies.push(body.clone());
                        bodies.len()
                    };
                    if seen <= fake.refusals {
                        let refusal = serde_json::json!({"code": "unavailable",
                            "message": fake.message, "fields": []});
                        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(refusal))
                            .into_response();
                    }
                    let created = serde_json::json!({
                        "token": {"id": body["id"], "scopes": body["scopes"]},
                        "secret": "fake-secret-0123456789abcdef",
                        "version": 7
                    });
                    (StatusCode::CREATED, axum::Json(created)).into_response()
                }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        url
    }
}

/// What does this test do: `token create --vantage REGION` sends `"vantage"` in the body; a
/// write refused with "no leader" (known not applied) is sent again with backoff and
/// succeeds, while one whose outcome is unknown is sent exactly once and its error shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gslbctl_retries_only_writes_known_not_applied() {
    let create = [
        "token",
        "create",
        "probe-eu",
        "--scope",
        "observe",
        "--vantage",
        "eu-1",
        "--no-wait",
    ];

    eprintln!("phase: two 'no leader' refusals, then created");
    let fake = FakeTokens {
        refusals: 2,
        message: "no leader known; retry later".to_string(),
        ..FakeTokens::default()
    };
    let bodies = fake.bodies.clone();
    let url = fake.serve().await;
    let args: Vec<&str> = ["--api", url.as_str(), "--token", TOKEN, "--timeout", "20s"]
        .into_iter()
        .chain(create)
        .collect();
    let (ok, stdout, stderr) = gslbctl(&args, &[]).await;
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("fake-secret-0123456789abcdef"), "{stdout}");
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 3, "sent again after each refusal: {bodies:?}");
    assert_eq!(bodies[2]["vantage"], "eu-1");
    assert_eq!(bodies[2]["id"], "probe-eu");
    assert_eq!(bodies[2]["scopes"], serde_json::json!(["prober"]));

    eprintln!("phase: outcome unknown is never sent twice");
    let fake = FakeTokens {
        refusals: 1,
        message: "write outcome unknown: the leader did not answer in time".to_string(),
        ..FakeTokens::default()
    };
    let bodies = fake.bodies.clone();
    let url = fake.serve().await;
    let args: Vec<&str> = ["--api", url.as_str(), "--token", TOKEN, "--timeout", "20s"]
        .into_iter()
        .chain(create)
        .collect();
    let (ok, _, stderr) = gslbctl(&args, &[]).await;
    assert!(!ok);
    assert!(stderr.contains("outcome unknown"), "{stderr}");
    assert_eq!(bodies.lock().unwrap().len(), 1, "not retried blindly");
}
