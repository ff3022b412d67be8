//! Black-box test of what `cluster status` and a removed node say, on a real cluster (three
//! voters and a DNS learner, real `gslb serve` processes on loopback): every member, voters
//! included, shows as reachable with a last contact and an applied index; `cluster remove`
//! refuses the live DNS node without `--force`; once removed with it, the node learns it
//! from the leader, says so on `/readyz` (503, `removed from the cluster`) and in its log,
//! and `cluster status` no longer lists it.

mod common;

use std::process::Command;
use std::time::Duration;

use common::cluster::{start_three_voters_and_a_learner, wait_until, ClusterNode, TOKEN};
use common::TempDir;
use serde_json::Value;

const GSLBCTL: &str = env!("CARGO_BIN_EXE_gslbctl");
/// Long enough for elections, joins and catch-up on a loaded 2-core machine.
const CONVERGE: Duration = Duration::from_secs(60);

/// `gslbctl ARGS` against `node`'s API: (success, stdout + stderr).
fn gslbctl(node: &ClusterNode, args: &[&str]) -> (bool, String) {
    let output = Command::new(GSLBCTL)
        .env_remove("GSLB_API")
        .env_remove("GSLB_TOKEN")
        .args(["--api", &format!("http://{}", node.http), "--token", TOKEN])
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// The members of `cluster status -o json` as `node` answers it.
fn members(node: &ClusterNode) -> Vec<Value> {
    let (ok, text) = gslbctl(node, &["cluster", "status", "-o", "json"]);
    if !ok {
        eprintln!("cluster status: {text}");
        return Vec::new();
    }
    let status: Value = serde_json::from_str(&text).expect("cluster status JSON");
    status["members"].as_array().cloned().unwrap_or_default()
}

/// What does this test do: starts 3 voters and DNS learner 4, waits until `cluster status`
/// shows all four members reachable with a last contact and an applied index above 0 (the
/// voters included, which used to show 0), checks that the table shows them too, that
/// `cluster remove 4` is refused while node 4 is live and done with `--force`, then waits for
/// node 4's `/readyz` to answer 503 with `removed from the cluster`, for its log to say so,
/// and for `cluster status` to list members 1 to 3 only.
#[test]
fn cluster_status_and_a_removed_node_tell_the_truth() {
    let root = TempDir::new("cluster-truth");
    let nodes = start_three_voters_and_a_learner(&root, CONVERGE);

    eprintln!("-- phase: every member reachable, with contact and applied index");
    for asked in [&nodes[0], &nodes[3]] {
        let mut seen = Vec::new();
        wait_until(CONVERGE, "all four members reachable", || {
            seen = members(asked);
            seen.len() == 4
                && seen.iter().all(|member| {
                    member["reachable"] == true
                        && member["last_contact_ms"].is_u64()
                        && member["applied_index"].as_u64().unwrap_or(0) > 0
                })
        });
        eprintln!("{seen:#?}");
    }
    let (ok, table) = gslbctl(&nodes[0], &["cluster", "status"]);
    assert!(ok, "{table}");
    eprintln!("{table}");

    eprintln!("-- phase: cluster remove refuses the live node, --force removes it");
    let (ok, refused) = gslbctl(&nodes[0], &["cluster", "remove", "4"]);
    assert!(!ok && refused.contains("reachable"), "{refused}");
    let (ok, removed) = gslbctl(
        &nodes[0],
        &["--no-wait", "cluster", "remove", "4", "--force"],
    );
    assert!(ok, "{removed}");

    eprintln!("-- phase: the removed node says so");
    let mut ready = None;
    wait_until(CONVERGE, "node 4's /readyz says it was removed", || {
        ready = nodes[3].readyz();
        ready.as_ref().is_some_and(|(status, body)| {
            *status == 503 && body.contains("removed from the cluster")
        })
    });
    eprintln!("{ready:?}");
    assert!(
        nodes[3]
            .log
            .wait_for("removed from the cluster", CONVERGE)
            .is_some(),
        "node 4 logs its removal:\n{}",
        nodes[3].log.text()
    );
    wait_until(CONVERGE, "cluster status lists 1 to 3", || {
        let ids: Vec<u64> = members(&nodes[0])
            .iter()
            .filter_map(|member| member["id"].as_u64())
            .collect();
        ids == [1, 2, 3]
    });
}
