//! Black-box test of the history of decisions against `gslb demo` (three voters, two DNS
//! nodes, a prober per region, real backends): cutting eu-west's replication makes the
//! region go down, and `gslbctl events --since 5m` shows it with the votes of every vantage
//! and the record it moved (`db`); `--record` filters, `--follow` prints the heal as it
//! happens, every node returns the same history, and each transition is one log line.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::cluster::wait_until;
use common::demo::Demo;
use common::TempDir;
use serde_json::Value;

const GSLBCTL: &str = env!("CARGO_BIN_EXE_gslbctl");
const TOKEN: &str = "events-test-token-0123";
/// Long enough for the demo's cluster, probers and first verdicts on a loaded machine.
const CONVERGE: Duration = Duration::from_secs(120);

/// Runs gslbctl with the demo's exported environment; stdout on success.
fn gslbctl(demo: &Demo, args: &[&str]) -> Result<String, String> {
    let output = Command::new(GSLBCTL)
        .envs(demo.exported())
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The events of `gslbctl events -o json` with `args`.
fn events(demo: &Demo, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["events", "-o", "json"];
    all.extend_from_slice(args);
    match gslbctl(demo, &all) {
        Ok(text) => {
            let value: Value = serde_json::from_str(&text).expect("events JSON");
            value["items"].as_array().cloned().unwrap_or_default()
        }
        Err(error) => {
            eprintln!("gslbctl events: {error}");
            Vec::new()
        }
    }
}

/// The last event of `kind` `subject` that went to `to`.
fn find<'a>(events: &'a [Value], kind: &str, subject: &str, to: &str) -> Option<&'a Value> {
    events
        .iter()
        .rev()
        .find(|e| e["kind"] == kind && e["subject"] == subject && e["to"] == to)
}

/// What does this test do: starts the demo, waits for eu-west's first `up`, runs the
/// banner's curl that cuts eu-west's replication, and expects `gslbctl events --since 5m`
/// (JSON and table) to show region eu-west going `up->down` with a `down` vote from the
/// replication check's vantages and `db.demo.gslb.test. A` among the records; `--record`
/// keeps only events naming the record; the second DNS node's API answers the same
/// history; `--follow -o json` prints eu-west coming back up after the heal; the history is
/// bounded (`retained` 1000); and a node's log has one `gslb::events` line for the change.
#[test]
fn a_cut_region_shows_in_the_history_with_votes_and_records() {
    let root = TempDir::new("events");
    let demo = Demo::start(&root, TOKEN, CONVERGE);
    eprintln!("{}", demo.banner.join("\n"));

    eprintln!("-- phase: wait for eu-west up");
    wait_until(CONVERGE, "eu-west goes up in the history", || {
        find(&events(&demo, &[]), "region", "eu-west", "up").is_some()
    });

    eprintln!("-- phase: cut eu-west's replication");
    let cut = demo.curl_line("\"in_quorum\": false");
    let output = Command::new("sh").args(["-c", &cut]).output().unwrap();
    assert!(output.status.success(), "{cut}");
    let mut down = None;
    wait_until(CONVERGE, "eu-west goes down in the history", || {
        down = find(
            &events(&demo, &["--since", "5m"]),
            "region",
            "eu-west",
            "down",
        )
        .cloned();
        down.is_some()
    });
    let down = down.unwrap();
    eprintln!("{down:#}");
    assert_eq!(down["from"], "up", "{down}");
    let votes = down["votes"].as_array().expect("votes");
    assert!(
        votes.iter().any(|vote| vote["vote"] == "down"),
        "a vantage voted down: {down}"
    );
    let vantages: Vec<&str> = votes.iter().filter_map(|v| v["vantage"].as_str()).collect();
    for vantage in ["us-east", "eu-west", "ap-south"] {
        assert!(vantages.contains(&vantage), "{vantage} voted: {down}");
    }
    let records: Vec<&str> = down["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(records.contains(&"db.demo.gslb.test. A"), "{down}");
    assert!(down["time"].as_str().unwrap().ends_with('Z'), "{down}");

    eprintln!("-- phase: the table");
    let table = gslbctl(&demo, &["events", "--since", "5m"]).expect("events table");
    eprintln!("{table}");
    let line = table
        .lines()
        .find(|line| {
            line.contains("region") && line.contains("eu-west") && line.contains("up->down")
        })
        .unwrap_or_else(|| panic!("a row for eu-west going down:\n{table}"));
    assert!(line.contains("db.demo.gslb.test. A"), "{line}");
    assert!(line.contains("=down"), "{line}");

    eprintln!("-- phase: --record and an RFC 3339 --since");
    let since = down["time"].as_str().unwrap().to_string();
    let only_db = events(&demo, &["--record", "db.demo.gslb.test", "--since", &since]);
    assert!(!only_db.is_empty());
    assert!(
        only_db.iter().all(|event| event["records"]
            .as_array()
            .is_some_and(|records| records.iter().any(|r| r == "db.demo.gslb.test. A"))),
        "{only_db:?}"
    );
    let refused = gslbctl(&demo, &["events", "--since", "yesterday"]).unwrap_err();
    assert!(refused.contains("RFC 3339"), "{refused}");

    eprintln!("-- phase: every API node has the same history");
    let whole: Value =
        serde_json::from_str(&gslbctl(&demo, &["events", "-o", "json"]).unwrap()).unwrap();
    assert_eq!(whole["retained"], 1000);
    assert!(whole["items"].as_array().unwrap().len() <= 1000);
    let api_list = demo
        .exported()
        .into_iter()
        .find(|(key, _)| key == "GSLB_API")
        .map(|(_, value)| value)
        .unwrap();
    let seq = down["seq"].as_u64().unwrap();
    for api in api_list.split(',') {
        let mut same = None;
        wait_until(CONVERGE, "the node applied the event", || {
            let output = Command::new(GSLBCTL)
                .envs(demo.exported())
                .args(["--api", api, "events", "-o", "json"])
                .output()
                .unwrap();
            let Ok(value) = serde_json::from_slice::<Value>(&output.stdout) else {
                return false;
            };
            same = value["items"]
                .as_array()
                .and_then(|items| items.iter().find(|e| e["seq"] == seq).cloned());
            same.is_some()
        });
        assert_eq!(same.unwrap(), down, "node {api} has the same event");
    }

    eprintln!("-- phase: --follow sees the heal");
    let mut follow = Command::new(GSLBCTL)
        .envs(demo.exported())
        .args(["events", "--follow", "-o", "json", "--since", "1s"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines_rx) = mpsc::channel();
    let stdout = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let heal = demo.curl_line("\"in_quorum\": true");
    assert!(Command::new("sh")
        .args(["-c", &heal])
        .output()
        .unwrap()
        .status
        .success());
    let deadline = Instant::now() + CONVERGE;
    let mut healed = None;
    while let Ok(line) = lines_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let event: Value = serde_json::from_str(&line).expect("one JSON event a line");
        if event["kind"] == "region" && event["subject"] == "eu-west" && event["to"] == "up" {
            healed = Some(event);
            break;
        }
    }
    let _ = follow.kill();
    let _ = follow.wait();
    let healed = healed.expect("--follow printed eu-west going up");
    assert!(healed["seq"].as_u64().unwrap() > seq);

    eprintln!("-- phase: one log line per transition");
    let logs: String = std::fs::read_dir(&root.0)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".log"))
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .collect();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("gslb::events") && line.contains("region eu-west up -> down"))
        .collect();
    assert!(!lines.is_empty(), "a log line for eu-west going down");
    assert!(
        lines
            .iter()
            .all(|line| line.contains(&format!("seq={seq}"))),
        "{lines:?}"
    );
}
