//! Black-box tests of failover drills: real `gslb serve` processes on loopback (three voters,
//! DNS learners), driven with the real `gslbctl` and read with real `dig`.
//!
//! The cluster has regions `eu` and `us` (one endpoint each, an external check per endpoint
//! that the test reports through `/v1/observations`) and a failover record `app.cp.test.`
//! (eu, then us). A drain drill of `eu` must move `app` to us on every DNS node, record each
//! node's convergence out and back, end by itself at its expiry (also when the leader is
//! killed in the middle), and abort by itself when a guard trips. `fail` mode through the
//! probers is exercised by the demo test (`tests/demo.rs` runs the demo's drill lines).
//!
//! Every wait has a deadline and a reason; every process is killed on `Drop`.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use common::cluster::{api_get, http, leader_of, wait_until, ClusterNode, Kind, TOKEN};
use common::TempDir;
use serde_json::Value;

const GSLBCTL: &str = env!("CARGO_BIN_EXE_gslbctl");

/// How long setup steps (start, join, first answers) may take.
const CONVERGE: Duration = Duration::from_secs(30);

/// eu's and us's endpoint addresses.
const EU: &str = "10.0.0.1";
const US: &str = "10.1.0.1";

/// Three voters and `dns_nodes` DNS learners, with regions, endpoints, checks reported up
/// and the failover record `app`.
struct Cluster {
    voters: Vec<ClusterNode>,
    dns: Vec<ClusterNode>,
}

impl Cluster {
    fn start(root: &TempDir, dns_nodes: u64) -> Cluster {
        eprintln!("-- phase: three voters and {dns_nodes} DNS learners");
        let first = ClusterNode::start(root, 1, Kind::Bootstrap, &[]);
        wait_until(CONVERGE, "voter 1 to lead", || leader_of(&first) == Some(1));
        let mut voters = vec![first];
        for id in 2..=3 {
            let voter = ClusterNode::start(root, id, Kind::Voter, &[voters[0].http]);
            assert!(
                voter
                    .log
                    .wait_for("joined the cluster as a voter", CONVERGE)
                    .is_some(),
                "voter {id} was not promoted; its log:\n{}",
                voter.log.text()
            );
            voters.push(voter);
        }
        let seeds: Vec<SocketAddr> = voters.iter().map(|voter| voter.http).collect();
        let dns: Vec<ClusterNode> = (0..dns_nodes)
            .map(|index| ClusterNode::start(root, 4 + index, Kind::DnsLearner, &seeds))
            .collect();
        let cluster = Cluster { voters, dns };
        for node in &cluster.dns {
            // Drills find DNS nodes through their member records.
            let needle = format!("\"dns_addr\":\"{}\"", node.dns.unwrap());
            wait_until(CONVERGE, &format!("{} to be a member", node.name), || {
                api_get(cluster.api_address(), "/v1/cluster")
                    .is_some_and(|(_, body)| body.contains(&needle))
            });
        }
        for node in &cluster.dns {
            wait_until(CONVERGE, &format!("{} to answer", node.name), || {
                node.addresses("www.cp.test") == ["192.0.2.10"]
            });
        }

        eprintln!("-- phase: regions, endpoints, checks and the failover record");
        for (id, country, continent) in [("eu", "DE", "EU"), ("us", "US", "NA")] {
            cluster.api(
                "POST",
                "/v1/regions",
                &format!(
                    r#"{{"id":"{id}","capacity":4,"location":{{"lat":0,"lon":0,"country":"{country}","continent":"{continent}"}}}}"#
                ),
            );
        }
        for (id, region, address) in [("eu-1", "eu", EU), ("us-1", "us", US)] {
            cluster.api(
                "POST",
                "/v1/endpoints",
                &format!(r#"{{"id":"{id}","region":"{region}","address":"{address}"}}"#),
            );
            cluster.api(
                "POST",
                "/v1/checks",
                &format!(
                    r#"{{"id":"{id}-ext","endpoint":"{id}","kind":{{"type":"external","ttl_ms":600000}},
                        "vantages":["monitor"],"quorum":1}}"#
                ),
            );
        }
        cluster.report(&[]);
        cluster.api(
            "POST",
            "/v1/zones/cp.test./gslb-records",
            r#"{"name":"app","type":"A","ttl":30,"failover_ttl":5,
                "policy":{"failover":[{"region":"eu"},{"region":"us"}]}}"#,
        );
        for node in &cluster.dns {
            wait_until(
                CONVERGE,
                &format!("{} to answer app with eu", node.name),
                || node.addresses("app.cp.test") == [EU],
            );
        }
        cluster
    }

    /// The HTTP address of a running voter (the leader if one is known).
    fn api_address(&self) -> SocketAddr {
        let running: Vec<&ClusterNode> = self
            .voters
            .iter()
            .filter(|voter| voter.child.is_some())
            .collect();
        running
            .iter()
            .find(|voter| leader_of(voter) == Some(voter.id))
            .or(running.first())
            .expect("a running voter")
            .http
    }

    /// One API call that must succeed; returns the body.
    fn api(&self, method: &str, path: &str, body: &str) -> String {
        let (status, reply) = http(self.api_address(), method, path, Some(TOKEN), Some(body))
            .unwrap_or_else(|| panic!("{method} {path}: no reply"));
        assert!(
            (200..300).contains(&status),
            "{method} {path} {body}: {status} {reply}"
        );
        reply
    }

    /// Reports eu's and us's checks from vantage `monitor`: up unless listed in `down`.
    fn report(&self, down: &[&str]) {
        let observations: Vec<String> = ["eu-1-ext", "us-1-ext"]
            .iter()
            .map(|check| format!(r#"{{"check":"{check}","up":{}}}"#, !down.contains(check)))
            .collect();
        self.api(
            "POST",
            "/v1/observations",
            &format!(
                r#"{{"vantage":"monitor","observations":[{}]}}"#,
                observations.join(",")
            ),
        );
    }

    /// Runs gslbctl against the cluster; returns (success, stdout, stderr).
    fn gslbctl(&self, args: &[&str]) -> (bool, String, String) {
        let output = Command::new(GSLBCTL)
            .args(args)
            .env("GSLB_API", format!("http://{}", self.api_address()))
            .env("GSLB_TOKEN", TOKEN)
            .output()
            .expect("run gslbctl");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        eprintln!("$ gslbctl {}\n{stdout}{stderr}", args.join(" "));
        (output.status.success(), stdout, stderr)
    }

    /// gslbctl that must succeed with JSON output; returns the JSON.
    fn gslbctl_json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.extend(["-o", "json"]);
        let (ok, stdout, stderr) = self.gslbctl(&args);
        assert!(ok, "gslbctl {args:?} failed: {stderr}");
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"))
    }

    /// The drill as the API shows it.
    fn drill(&self, id: &str) -> Value {
        let (status, body) =
            api_get(self.api_address(), &format!("/v1/drills/{id}")).expect("the API answers");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Waits until the drill has ended and recorded its answers after.
    fn wait_for_report(&self, id: &str, timeout: Duration) -> Value {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let drill = self.drill(id);
            let done = drill["status"] != "running"
                && drill["answers"]
                    .as_array()
                    .is_some_and(|phases| phases.iter().any(|phase| phase["phase"] == "after"));
            if done {
                return drill;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "drill {id} did not end and measure the way back within {timeout:?}: {drill}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The node ids a drill recorded in `field` (`convergence_ms`, `restore_ms`), with times.
fn times(drill: &Value, field: &str) -> Vec<(u64, u64)> {
    drill[field]
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(node, ms)| (node.parse().unwrap(), ms.as_u64().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

/// What does this test do: `drill plan` predicts the records and the move (eu's clients to
/// us) and changes nothing; bad drills are refused with their reason; `drill start` runs
/// exactly the planned records, every DNS node stops answering eu within 2 s and comes back
/// after the drill's expiry, both measured per node, an overlapping drill is refused, and
/// the report and the audit log tell the story.
#[test]
fn drain_drill_converges_on_every_dns_node_and_reports() {
    let root = TempDir::new("drill-drain");
    let cluster = Cluster::start(&root, 2);

    eprintln!("-- phase: plan");
    let plan = cluster.gslbctl_json(&["drill", "plan", "--region", "eu"]);
    assert_eq!(plan["records"], serde_json::json!(["app.cp.test. A"]));
    let moved = plan["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["clients"] == "unlocated")
        .expect("unlocated clients of app move");
    assert_eq!(moved["before"], serde_json::json!({"eu": 1000}));
    assert_eq!(moved["after"], serde_json::json!({"us": 1000}));
    assert!(plan["blockers"].as_array().unwrap().is_empty(), "{plan}");
    for node in &cluster.dns {
        assert_eq!(
            node.addresses("app.cp.test"),
            [EU],
            "planning changes nothing"
        );
    }

    eprintln!("-- phase: bad drills are refused with a reason");
    for (args, reason) in [
        (
            vec!["--region", "nowhere", "--for", "10s"],
            "no region \"nowhere\"",
        ),
        (
            vec!["--region", "eu", "--for", "0s"],
            "duration_ms: must be > 0",
        ),
        (vec!["--region", "eu", "--for", "48h"], "configured maximum"),
        (
            vec!["--region", "eu", "--for", "10s", "--mode", "fail"],
            "fail mode needs checks",
        ),
        (
            vec!["--region", "eu", "--for", "10s", "--max-load=-1"],
            "max_load",
        ),
    ] {
        let mut command = vec!["drill", "start"];
        command.extend(args.iter());
        let (ok, _, stderr) = cluster.gslbctl(&command);
        assert!(!ok, "{command:?} must fail");
        assert!(stderr.contains(reason), "{command:?}: {stderr}");
    }

    eprintln!("-- phase: start a 4 s drain drill");
    let started = cluster.gslbctl_json(&["drill", "start", "--region", "eu", "--for", "4s"]);
    let id = started["id"].as_str().expect("a drill id").to_string();
    assert_eq!(
        started["records"], plan["records"],
        "start runs what plan predicted"
    );
    assert_eq!(
        started["measured_nodes"],
        serde_json::json!([4, 5]),
        "{started}"
    );
    let (ok, _, stderr) = cluster.gslbctl(&["drill", "start", "--region", "eu", "--for", "5s"]);
    assert!(!ok && stderr.contains("already in drill"), "{stderr}");
    for node in &cluster.dns {
        wait_until(Duration::from_secs(2), "app to leave eu", || {
            node.addresses("app.cp.test") == [US]
        });
    }

    eprintln!("-- phase: it ends by itself and measures the way back");
    let drill = cluster.wait_for_report(&id, Duration::from_secs(30));
    assert_eq!(drill["status"], "completed", "{drill}");
    assert_eq!(drill["end_reason"], "expired at its planned end");
    let ended = drill["ended_at"].as_u64().unwrap();
    let planned = drill["planned_end"].as_u64().unwrap();
    assert!(
        ended >= planned && ended - planned < 2_000,
        "ended {ended} for a planned end of {planned}"
    );
    let out = times(&drill, "convergence_ms");
    let back = times(&drill, "restore_ms");
    assert_eq!(
        out.iter().map(|(node, _)| *node).collect::<Vec<_>>(),
        [4, 5]
    );
    assert_eq!(
        back.iter().map(|(node, _)| *node).collect::<Vec<_>>(),
        [4, 5]
    );
    assert!(out.iter().all(|(_, ms)| *ms < 2_000), "{out:?}");
    assert!(back.iter().all(|(_, ms)| *ms < 5_000), "{back:?}");
    let phases: Vec<&str> = drill["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|phase| phase["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["before", "during", "after"]);
    for node in &cluster.dns {
        assert_eq!(node.addresses("app.cp.test"), [EU], "eu is back");
    }

    let (ok, report, _) = cluster.gslbctl(&["drill", "report", &id]);
    assert!(ok);
    for needle in [
        format!("# Drill {id}: drain eu"),
        "| Status | completed (expired at its planned end) |".to_string(),
        "| Records | app.cp.test. A |".to_string(),
        "| 4 | ".to_string(),
        "| 5 | ".to_string(),
        "| app.cp.test. A | unlocated | us 100% | degraded |".to_string(),
        "guard survivors_healthy ok".to_string(),
    ] {
        assert!(report.contains(&needle), "{needle:?} not in:\n{report}");
    }
    // A report format that is not one of the documented ones is a bad query parameter (400,
    // as the OpenAPI document says for every GET), naming `format`.
    let (status, reply) = api_get(
        cluster.api_address(),
        &format!("/v1/drills/{id}/report?format=xml"),
    )
    .expect("the report route answers");
    assert!(
        status == 400 && reply.contains("\"path\":\"format\""),
        "{status} {reply}"
    );
    let (ok, status, _) = cluster.gslbctl(&["drill", "status"]);
    assert!(
        ok && status.contains(&id) && status.contains("2/2 nodes"),
        "{status}"
    );
    let (_, audit) = api_get(cluster.api_address(), "/v1/audit").unwrap();
    assert!(
        audit.contains(&format!("start_drill {id} of eu")),
        "{audit}"
    );
    assert!(
        audit.contains(&format!(
            "end_drill {id} (Completed): expired at its planned end (+1 reports)"
        )),
        "{audit}"
    );
}

/// What does this test do: a record that would be left with no answer blocks the drill
/// unless forced; a forced drill aborts by itself when a survivor (us) turns down and eu
/// answers again; an operator's abort ends a second drill at once, naming who did it.
#[test]
fn guards_abort_and_restore() {
    let root = TempDir::new("drill-guard");
    let cluster = Cluster::start(&root, 1);
    cluster.api(
        "POST",
        "/v1/zones/cp.test./gslb-records",
        r#"{"name":"db","type":"A","ttl":30,"when_all_down":"fail_closed",
            "policy":{"region":"eu"}}"#,
    );
    let dns = &cluster.dns[0];
    wait_until(CONVERGE, "db to answer eu", || {
        dns.addresses("db.cp.test") == [EU]
    });

    eprintln!("-- phase: a record left with nothing blocks the drill");
    let (ok, plan, _) = cluster.gslbctl(&["drill", "plan", "--region", "eu"]);
    assert!(
        ok && plan.contains("BLOCKER: db.cp.test. A would answer nothing"),
        "{plan}"
    );
    let (ok, _, stderr) = cluster.gslbctl(&["drill", "start", "--region", "eu", "--for", "60s"]);
    assert!(!ok && stderr.contains("force"), "{stderr}");

    eprintln!("-- phase: forced; then us turns down and the guard aborts");
    let started = cluster.gslbctl_json(&[
        "drill", "start", "--region", "eu", "--for", "60s", "--force",
    ]);
    let id = started["id"].as_str().unwrap().to_string();
    wait_until(Duration::from_secs(5), "app to move to us", || {
        dns.addresses("app.cp.test") == [US]
    });
    cluster.report(&["us-1-ext"]);
    let drill = cluster.wait_for_report(&id, Duration::from_secs(20));
    assert_eq!(drill["status"], "aborted", "{drill}");
    let reason = drill["end_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("guard survivors_healthy tripped: survivor us turned down"),
        "{reason}"
    );
    let (_, overrides) = api_get(cluster.api_address(), "/v1/overrides").unwrap();
    assert!(!overrides.contains(&format!("drill-{id}")), "{overrides}");
    wait_until(Duration::from_secs(5), "app to answer eu again", || {
        dns.addresses("app.cp.test") == [EU]
    });
    assert_eq!(times(&drill, "restore_ms").len(), 1, "{drill}");

    eprintln!("-- phase: an operator aborts");
    cluster.report(&[]);
    let started = cluster.gslbctl_json(&[
        "drill", "start", "--region", "eu", "--for", "60s", "--force", "--id", "second",
    ]);
    assert_eq!(started["id"], "second");
    wait_until(Duration::from_secs(5), "app to move to us", || {
        dns.addresses("app.cp.test") == [US]
    });
    let aborted = cluster.gslbctl_json(&["drill", "abort", "second", "--reason", "enough"]);
    assert_eq!(aborted["status"], "aborted");
    assert_eq!(aborted["end_reason"], "aborted by bootstrap: enough");
    wait_until(Duration::from_secs(5), "app to answer eu again", || {
        dns.addresses("app.cp.test") == [EU]
    });
    let (ok, _, stderr) = cluster.gslbctl(&["drill", "abort", "second"]);
    assert!(!ok && stderr.contains("is not running"), "{stderr}");
}

/// What does this test do: the leader is killed in the middle of a drill; a new leader
/// takes over and still ends the drill at its planned end (from replicated state, not the
/// old leader's timer), and the DNS node answers eu again.
#[test]
fn a_drill_ends_at_its_expiry_after_the_leader_dies() {
    let root = TempDir::new("drill-leader");
    let mut cluster = Cluster::start(&root, 1);
    let started = cluster.gslbctl_json(&["drill", "start", "--region", "eu", "--for", "6s"]);
    let id = started["id"].as_str().unwrap().to_string();
    let dns = &cluster.dns[0];
    wait_until(Duration::from_secs(5), "app to move to us", || {
        dns.addresses("app.cp.test") == [US]
    });
    wait_until(
        Duration::from_secs(5),
        "the out convergence to be recorded",
        || !times(&cluster.drill(&id), "convergence_ms").is_empty(),
    );

    let leader = leader_of(&cluster.voters[0]).expect("a leader");
    eprintln!("-- phase: kill the leader (node {leader}) mid-drill");
    cluster
        .voters
        .iter_mut()
        .find(|voter| voter.id == leader)
        .unwrap()
        .kill();
    let survivor = cluster
        .voters
        .iter()
        .find(|voter| voter.child.is_some())
        .unwrap();
    wait_until(CONVERGE, "a new leader", || {
        leader_of(survivor).is_some_and(|id| id != leader)
    });

    let drill = cluster.wait_for_report(&id, Duration::from_secs(30));
    assert_eq!(drill["status"], "completed", "{drill}");
    let ended = drill["ended_at"].as_u64().unwrap();
    let planned = drill["planned_end"].as_u64().unwrap();
    assert!(
        ended >= planned && ended - planned < 3_000,
        "ended {ended} for a planned end of {planned}"
    );
    assert_eq!(dns.addresses("app.cp.test"), [EU]);
}

/// What does this test do: a `fail` drill on the demo (three regions with real backends,
/// a prober per region, two DNS nodes) takes eu-west out through the real health path — the
/// probers fail its checks, the quorum turns it down, both DNS nodes stop answering it — and
/// back after the drill's end; the drill records both DNS nodes' convergence each way, and
/// out takes at least the checks' fall (it went through the probers, not an override).
#[test]
fn fail_drill_goes_through_the_probers_on_the_demo() {
    let dir = TempDir::new("drill-demo");
    let mut demo = Command::new(common::GSLB)
        .args([
            "demo",
            "--dns",
            &common::dns_listen_address().to_string(),
            "--api",
            "127.0.0.1:0",
            "--token",
            "drill-demo-token-0123",
            "--data-dir",
        ])
        .arg(&dir.0)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            common::send_signal(self.0.id(), "TERM");
            let _ = common::wait_exit(&mut self.0, Duration::from_secs(10));
            let _ = self.0.kill();
        }
    }
    let stdout = demo.stdout.take().unwrap();
    let demo = Stop(demo);
    let mut api = None;
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        let line = line.unwrap();
        if let Some(rest) = line.trim().strip_prefix("api http://") {
            api = rest.split_whitespace().next().map(str::to_string);
        }
        if line.contains("press Ctrl-C") {
            break;
        }
    }
    let api = api.expect("the demo prints its API address");
    let gslbctl = |args: &[&str]| {
        let output = Command::new(GSLBCTL)
            .args(args)
            .env("GSLB_API", format!("http://{api}"))
            .env("GSLB_TOKEN", "drill-demo-token-0123")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "gslbctl {args:?}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    // The demo is ready when both DNS nodes answer; health needs a moment more.
    wait_until(CONVERGE, "eu-west to be up", || {
        gslbctl(&["health", "-o", "json"]).contains("\"eu-west\"")
            && serde_json::from_str::<Value>(&gslbctl(&["health", "-o", "json"]))
                .ok()
                .and_then(|health| {
                    health["regions"].as_array().map(|regions| {
                        regions
                            .iter()
                            .any(|region| region["id"] == "eu-west" && region["status"] == "up")
                    })
                })
                .unwrap_or(false)
    });
    let started: Value = serde_json::from_str(&gslbctl(&[
        "drill", "start", "--region", "eu-west", "--mode", "fail", "--for", "6s", "-o", "json",
    ]))
    .unwrap();
    let id = started["id"].as_str().unwrap().to_string();
    assert_eq!(
        started["measured_nodes"],
        serde_json::json!([4, 5]),
        "{started}"
    );
    let mut drill = Value::Null;
    wait_until(
        Duration::from_secs(40),
        "the fail drill to end and come back",
        || {
            drill = serde_json::from_str(&gslbctl(&["drill", "status", &id, "-o", "json"]))
                .map(|list: Value| list[0].clone())
                .unwrap_or(Value::Null);
            drill["status"] == "completed"
                && drill["answers"]
                    .as_array()
                    .is_some_and(|phases| phases.iter().any(|phase| phase["phase"] == "after"))
        },
    );
    let out = times(&drill, "convergence_ms");
    let back = times(&drill, "restore_ms");
    eprintln!("fail drill: out {out:?}, back {back:?}");
    assert_eq!(
        out.iter().map(|(node, _)| *node).collect::<Vec<_>>(),
        [4, 5],
        "{drill}"
    );
    assert_eq!(
        back.iter().map(|(node, _)| *node).collect::<Vec<_>>(),
        [4, 5],
        "{drill}"
    );
    assert!(
        out.iter().all(|(_, ms)| (500..6_000).contains(ms)),
        "out through the probers takes their fall, within the drill: {out:?}"
    );
    drop(demo);
}
