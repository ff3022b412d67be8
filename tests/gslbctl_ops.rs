//! Black-box tests of what operators see through the real `gslbctl` binary: `zone export`
//! with the zone's GSLB records as a commented block that `zone import` ignores; and how
//! gslbctl behaves when things around it go wrong: its output pipe closes early (`| head -1`), the node is frozen (`--timeout` bounds
//! connecting and reading), `--api` names something that is not a gslb API (a web server's
//! 404, a server that does not speak HTTP), a token is missing (a hint at `--token` and
//! `GSLB_TOKEN`), and `--help` documents the exit statuses.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gslb_api::ApiOptions;
use gslb_store::raft::{spawn_node, ClusterSecret, NodeHandle, NodeOptions, RaftSettings};

const GSLBCTL: &str = env!("CARGO_BIN_EXE_gslbctl");
const TOKEN: &str = "bootstrap-admin-token-0123456789";

/// A running one-voter node with the API, in this process.
struct Node {
    url: String,
    handle: NodeHandle,
    _dir: TempDir,
}

/// A directory removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Node {
    async fn start(label: &str) -> Node {
        let dir = std::env::temp_dir().join(format!(
            "gslbctl-ops-{label}-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let mut options = NodeOptions::new(
            1,
            &dir,
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
        let api = ApiOptions {
            bootstrap_token: Some(TOKEN.to_string()),
            ..ApiOptions::default()
        };
        tokio::spawn(gslb_api::serve(
            listener,
            handle.clone(),
            api,
            std::future::pending(),
        ));
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
            _dir: TempDir(dir),
        }
    }
}

/// Runs gslbctl against `api` with `args`; returns (exit code, stdout, stderr, how long).
fn ctl(api: &str, token: Option<&str>, args: &[&str]) -> (Option<i32>, String, String, Duration) {
    let mut command = Command::new(GSLBCTL);
    command
        .env_remove("GSLB_TOKEN")
        .env_remove("GSLB_API")
        .arg("--api")
        .arg(api);
    if let Some(token) = token {
        command.arg("--token").arg(token);
    }
    let started = Instant::now();
    let output = command.args(args).output().unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!("$ gslbctl {} ({took:?})\n{stdout}{stderr}", args.join(" "));
    (output.status.code(), stdout, stderr, took)
}

/// Runs gslbctl with its stdout a pipe whose reading end is already closed, as when
/// `| head -1` has read its line and gone; returns (exit code, stderr).
fn ctl_into_closed_pipe(api: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(GSLBCTL)
        .env_remove("GSLB_TOKEN")
        .arg("--api")
        .arg(api)
        .arg("--token")
        .arg(TOKEN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    eprintln!(
        "$ gslbctl {} | (closed): {status}\n{stderr}",
        args.join(" ")
    );
    (status.code(), stderr)
}

/// Serves every connection on a thread with `answer` (written, then the connection is
/// closed) and returns the base URL.
fn fake_server(answer: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(32) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = stream.read(&mut request);
            let _ = stream.write_all(answer);
        }
    });
    url
}

/// What does this test do: `gslbctl get zones` and `gslbctl health` whose reader has gone
/// exit 0 without a panic or a word on stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_gslbctl_quietly() {
    let node = Node::start("pipe").await;
    let zone =
        "$ORIGIN pipe.test.\n$TTL 300\n@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n\
                @ IN NS ns1\nns1 IN A 192.0.2.53\n";
    let file = node._dir.0.join("pipe.test.zone");
    std::fs::write(&file, zone).unwrap();
    let url = node.url.clone();
    let file_arg = file.display().to_string();
    let (code, _, stderr, _) = tokio::task::spawn_blocking(move || {
        ctl(
            &url,
            Some(TOKEN),
            &["--no-wait", "zone", "import", &file_arg],
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{stderr}");

    for args in [
        &["get", "zones"][..],
        &["health"][..],
        &["get", "zones", "-o", "json"][..],
    ] {
        let url = node.url.clone();
        let (code, stderr) = tokio::task::spawn_blocking(move || ctl_into_closed_pipe(&url, args))
            .await
            .unwrap();
        assert_eq!(
            code,
            Some(0),
            "gslbctl {args:?} into a closed pipe: {stderr}"
        );
        assert!(
            !stderr.contains("panicked"),
            "gslbctl {args:?} panicked: {stderr}"
        );
        assert!(
            stderr.trim().is_empty(),
            "gslbctl {args:?} complained: {stderr}"
        );
    }
    node.handle.shutdown().await;
}

/// What does this test do: against a node that accepts connections but never answers,
/// `--timeout 1s` ends the call in about a second, naming the URL and the limit.
#[test]
fn timeout_bounds_a_frozen_node() {
    // Accepted by the kernel (backlog), never read or answered.
    let frozen = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", frozen.local_addr().unwrap());
    let (code, _, stderr, took) = ctl(&url, Some(TOKEN), &["--timeout", "1s", "get", "zones"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        took < Duration::from_secs(8),
        "took {took:?} despite --timeout 1s"
    );
    assert!(stderr.contains("no answer from"), "{stderr}");
    assert!(stderr.contains("within 1"), "{stderr}");
    assert!(stderr.contains("--timeout"), "{stderr}");
    drop(frozen);
}

/// What does this test do: a web server's 404 and a server that does not speak HTTP are
/// named as not a gslb API, with a hint at --api, instead of `error:  (404 404)`.
#[test]
fn a_non_gslb_endpoint_is_named() {
    let web = fake_server(
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 22\r\n\
          Connection: close\r\n\r\n<html>not here</html>\n",
    );
    let (code, _, stderr, _) = ctl(&web, Some(TOKEN), &["--timeout", "5s", "get", "zones"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is not a gslb API"), "{stderr}");
    assert!(stderr.contains("404"), "{stderr}");
    assert!(!stderr.contains("(404 404)"), "{stderr}");
    assert!(stderr.contains("hint: --api"), "{stderr}");

    let ssh = fake_server(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
    let (code, _, stderr, _) = ctl(&ssh, Some(TOKEN), &["--timeout", "5s", "get", "zones"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("does not speak HTTP"), "{stderr}");
    assert!(stderr.contains("hint: --api"), "{stderr}");
}

/// What does this test do: a call without a token is refused with 401 and a hint at
/// `--token` and `GSLB_TOKEN`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_hints_at_the_token() {
    let node = Node::start("auth").await;
    let url = node.url.clone();
    let (code, _, stderr, _) =
        tokio::task::spawn_blocking(move || ctl(&url, None, &["get", "zones"]))
            .await
            .unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("401"), "{stderr}");
    assert!(
        stderr.contains("--token") && stderr.contains("GSLB_TOKEN"),
        "{stderr}"
    );
    node.handle.shutdown().await;
}

/// What does this test do: `--help` lists the exit statuses, and a bad command line exits
/// with the status it documents for that (2).
#[test]
fn help_documents_exit_statuses() {
    let (code, stdout, _, _) = ctl("http://127.0.0.1:9", None, &["--help"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("Exit status:"), "{stdout}");
    for line in ["0  success", "1  the command failed", "2  bad command line"] {
        assert!(stdout.contains(line), "--help lacks {line:?}:\n{stdout}");
    }
    let (code, _, stderr, _) = ctl("http://127.0.0.1:9", None, &["get", "--no-such-flag"]);
    assert_eq!(code, Some(2), "{stderr}");
}

const ZONE: &str = "$ORIGIN export.test.\n$TTL 300\n\
@ 3600 IN SOA ns1 hostmaster 7 7200 900 1209600 300\n\
@ IN NS ns1\n\
ns1 IN A 192.0.2.53\n\
static IN A 192.0.2.10\n";

const GSLB: &str = "\
regions:
  - id: eu-1
    location: {lat: 50.11, lon: 8.68, country: DE, continent: EU}
endpoints:
  - id: web-eu
    region: eu-1
    address: 192.0.2.20
gslb_records:
  - zone: export.test.
    name: www
    type: A
    ttl: 30
    policy:
      failover:
        - region: eu-1
";

/// What does this test do: a zone with a GSLB record exports its static records and a
/// commented `; gslb A www {...}` block; importing that export changes nothing (the static
/// part round-trips, the GSLB record stays), and the block's JSON is what
/// `create gslb-records` reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_export_keeps_gslb_records_as_a_comment_block() {
    let node = Node::start("export").await;
    let dir = node._dir.0.clone();
    let url = node.url.clone();
    tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            let (code, stdout, stderr, _) = ctl(&url, Some(TOKEN), args);
            assert_eq!(code, Some(0), "gslbctl {args:?}: {stderr}");
            stdout
        };
        let zone_file = dir.join("export.test.zone");
        std::fs::write(&zone_file, ZONE).unwrap();
        run(&["--no-wait", "zone", "import", zone_file.to_str().unwrap()]);
        let gslb_file = dir.join("gslb.yaml");
        std::fs::write(&gslb_file, GSLB).unwrap();
        run(&["--no-wait", "apply", "-f", gslb_file.to_str().unwrap()]);

        // phase: export shows both parts
        let exported = run(&["zone", "export", "export.test."]);
        assert!(exported.contains("static"), "{exported}");
        let gslb_lines: Vec<&str> = exported
            .lines()
            .filter(|line| line.starts_with("; gslb "))
            .collect();
        assert_eq!(gslb_lines.len(), 1, "{exported}");
        assert!(
            gslb_lines[0].starts_with("; gslb A www {"),
            "{}",
            gslb_lines[0]
        );
        assert!(gslb_lines[0].contains("eu-1"), "{}", gslb_lines[0]);

        // phase: import of the export changes nothing and keeps the GSLB record
        let exported_file = dir.join("exported.zone");
        std::fs::write(&exported_file, &exported).unwrap();
        let imported = run(&[
            "--no-wait",
            "zone",
            "import",
            exported_file.to_str().unwrap(),
        ]);
        assert!(imported.contains("(unchanged)"), "{imported}");
        let again = run(&["zone", "export", "export.test."]);
        assert_eq!(again, exported, "export -> import -> export differs");
        let records = run(&[
            "get",
            "gslb-records",
            "--zone",
            "export.test.",
            "-o",
            "json",
        ]);
        assert!(records.contains("www.export.test."), "{records}");

        // phase: the block's JSON is what create gslb-records reads
        run(&[
            "--no-wait",
            "delete",
            "gslb-record",
            "www",
            "--zone",
            "export.test.",
            "--type",
            "A",
        ]);
        let json = gslb_lines[0].splitn(5, ' ').nth(4).unwrap();
        let json_file = dir.join("www.json");
        std::fs::write(&json_file, json).unwrap();
        run(&[
            "--no-wait",
            "create",
            "gslb-records",
            "--zone",
            "export.test.",
            "-f",
            json_file.to_str().unwrap(),
        ]);
        let restored = run(&["zone", "export", "export.test."]);
        assert!(restored.contains(gslb_lines[0]), "{restored}");
    })
    .await
    .unwrap();
    node.handle.shutdown().await;
}

/// What does this test do: a drained region shows `DRAINED` in `gslbctl health`, `drained`
/// with the override's reason and expiry (and its checks' verdict kept) in `/v1/health`, and
/// `gslb_region_status{id,status="drained"} 1` with `status="unknown"` at 0 in `/metrics`;
/// deleting the drain brings the health verdict back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_shows_a_drain() {
    let node = Node::start("drain").await;
    let dir = node._dir.0.clone();
    let url = node.url.clone();
    tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            let (code, stdout, stderr, _) = ctl(&url, Some(TOKEN), args);
            assert_eq!(code, Some(0), "gslbctl {args:?}: {stderr}");
            stdout
        };
        let metrics = || {
            let output = Command::new("curl")
                .args(["-sS", "--max-time", "10", "-H"])
                .arg(format!("Authorization: Bearer {TOKEN}"))
                .arg(format!("{url}/metrics"))
                .output()
                .unwrap();
            String::from_utf8_lossy(&output.stdout).into_owned()
        };
        let zone_file = dir.join("export.test.zone");
        std::fs::write(&zone_file, ZONE).unwrap();
        run(&["--no-wait", "zone", "import", zone_file.to_str().unwrap()]);
        let gslb_file = dir.join("gslb.yaml");
        std::fs::write(&gslb_file, GSLB).unwrap();
        run(&["--no-wait", "apply", "-f", gslb_file.to_str().unwrap()]);

        // phase: before the drain, the region shows its checks' verdict
        let table = run(&["health"]);
        assert!(!table.contains("DRAINED"), "{table}");
        let text = metrics();
        assert!(
            text.contains(r#"gslb_region_status{id="eu-1",status="drained"} 0"#),
            "{text}"
        );

        // phase: drain it
        let drain = dir.join("drain.json");
        std::fs::write(
            &drain,
            r#"{"id": "eu-1-maint", "region": "eu-1", "action": "drain",
                "reason": "kernel upgrade", "expires_at": 4102444800000}"#,
        )
        .unwrap();
        run(&[
            "--no-wait",
            "create",
            "overrides",
            "-f",
            drain.to_str().unwrap(),
        ]);
        let table = run(&["health"]);
        let row = table
            .lines()
            .find(|line| line.starts_with("eu-1"))
            .unwrap_or_else(|| panic!("no eu-1 row:\n{table}"));
        assert!(row.contains("DRAINED"), "{table}");
        let json: serde_json::Value =
            serde_json::from_str(&run(&["health", "-o", "json"])).unwrap();
        let region = &json["regions"][0];
        assert_eq!(region["id"], "eu-1", "{json}");
        assert_eq!(region["status"], "drained", "{json}");
        assert_eq!(region["health"], "unknown", "{json}");
        assert_eq!(region["overrides"][0]["reason"], "kernel upgrade", "{json}");
        assert_eq!(
            region["overrides"][0]["expires_at"], 4102444800000u64,
            "{json}"
        );
        let text = metrics();
        assert!(
            text.contains(r#"gslb_region_status{id="eu-1",status="drained"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"gslb_region_status{id="eu-1",status="unknown"} 0"#),
            "{text}"
        );

        // phase: undrain
        run(&["--no-wait", "delete", "override", "eu-1-maint"]);
        let json: serde_json::Value =
            serde_json::from_str(&run(&["health", "-o", "json"])).unwrap();
        assert_eq!(json["regions"][0]["status"], "unknown", "{json}");
        assert!(json["regions"][0].get("overrides").is_none(), "{json}");
    })
    .await
    .unwrap();
    node.handle.shutdown().await;
}
