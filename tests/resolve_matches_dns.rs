//! Black-box test that the explanation is the answer: against `gslb demo` (three voters, two
//! DNS nodes, a prober per region), `gslbctl resolve NAME --client X` through the API gives
//! what `dig +subnet=X` gets from each DNS node, for every client group the demo places
//! (`src/demo/sample.rs` REGIONS `clients`) and its GSLB records `www` (geo with failover
//! inside), `db` (every healthy endpoint) and `api` (weighted, the pick random per query:
//! each DNS answer and the explanation's are children the explanation finds usable).

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use common::cluster::wait_until;
use common::demo::Demo;
use common::TempDir;
use serde_json::Value;

const GSLBCTL: &str = env!("CARGO_BIN_EXE_gslbctl");
const TOKEN: &str = "resolve-test-token-0123";
/// Long enough for the demo's cluster, probers and first verdicts on a loaded machine.
const CONVERGE: Duration = Duration::from_secs(120);
/// How long a client group's answers may take to agree (health moving in between).
const AGREE: Duration = Duration::from_secs(30);

/// The demo's client groups, and each region's endpoint id and answered address.
const GROUPS: [(&str, &str, &str); 3] = [
    ("203.0.113.0/24", "us-east-1", "192.0.2.10"),
    ("198.51.100.0/24", "eu-west-1", "192.0.2.20"),
    ("100.64.0.0/24", "ap-south-1", "192.0.2.30"),
];

/// The addresses of `api`'s weighted children (us-east 95, ap-south 5).
const API_CHILDREN: [&str; 2] = ["192.0.2.10", "192.0.2.30"];

/// The `@IP -p PORT` targets of the banner's dig lines: the two DNS nodes.
fn dns_nodes(demo: &Demo) -> Vec<Vec<String>> {
    let mut nodes: Vec<Vec<String>> = Vec::new();
    for line in &demo.banner {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() != Some(&"dig") || words.len() < 4 || words[2] != "-p" {
            continue;
        }
        let target = vec![words[1].to_string(), "-p".to_string(), words[3].to_string()];
        if !nodes.contains(&target) {
            nodes.push(target);
        }
    }
    nodes
}

/// The A addresses `dig` gets from `node` for `name` with ECS `subnet`.
fn dig(node: &[String], name: &str, subnet: &str) -> BTreeSet<String> {
    let output = Command::new("dig")
        .args(node)
        .args([name, "A", &format!("+subnet={subnet}"), "+short"])
        .args(["+time=2", "+tries=1"])
        .output()
        .expect("dig runs (bind9-dnsutils)");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| line.parse::<std::net::Ipv4Addr>().is_ok())
        .map(str::to_string)
        .collect()
}

/// `gslbctl resolve name --client subnet -o json`, parsed.
fn resolve(demo: &Demo, name: &str, subnet: &str) -> Option<Value> {
    let output = Command::new(GSLBCTL)
        .envs(demo.exported())
        .args(["resolve", name, "--client", subnet, "-o", "json"])
        .output()
        .unwrap();
    if !output.status.success() {
        eprintln!(
            "gslbctl resolve {name} --client {subnet}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
}

/// The A addresses of a resolve answer.
fn addresses(answer: &Value) -> BTreeSet<String> {
    answer["answers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|set| set["type"] == "A")
        .flat_map(|set| set["data"].as_array().cloned().unwrap_or_default())
        .filter_map(|data| data.as_str().map(str::to_string))
        .collect()
}

/// The addresses of the endpoints the explanation found usable.
fn usable(answer: &Value) -> BTreeSet<String> {
    answer["policy"]["health"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|line| line["usable"] == true)
        .filter_map(|line| {
            GROUPS
                .iter()
                .find(|(_, endpoint, _)| line["endpoint"] == *endpoint)
                .map(|(_, _, address)| address.to_string())
        })
        .collect()
}

/// What does this test do: starts the demo, waits until every region's clients get their
/// own region's endpoint for `www` from the first DNS node (all regions healthy), then for
/// each client group and record asks the API (`gslbctl resolve --client`) and both DNS nodes
/// (`dig +subnet=`) and expects, within a short window for health moving in between: the
/// same addresses for `www` and `db`, and for the weighted `api` every DNS answer among its
/// children that the explanation (of `db`, which judges every endpoint) calls usable, the
/// explanation's own answer among them too.
/// It also expects the explanation to say the network table placed the client.
#[test]
fn resolve_explains_what_every_dns_node_answers_each_client_group() {
    let root = TempDir::new("resolve-matches-dns");
    let demo = Demo::start(&root, TOKEN, CONVERGE);
    eprintln!("{}", demo.banner.join("\n"));
    let nodes = dns_nodes(&demo);
    assert_eq!(nodes.len(), 2, "the banner digs both DNS nodes: {nodes:?}");

    eprintln!("-- phase: every region healthy (each group gets its own region for www)");
    wait_until(CONVERGE, "www answers each group with its region", || {
        GROUPS.iter().all(|(subnet, _, address)| {
            dig(&nodes[0], "www.demo.gslb.test", subnet) == BTreeSet::from([address.to_string()])
        })
    });

    for (subnet, _, _) in GROUPS {
        for record in ["www", "db"] {
            let name = format!("{record}.demo.gslb.test");
            eprintln!("-- phase: {name} for {subnet}");
            wait_until(AGREE, &format!("{name} for {subnet} agrees"), || {
                let Some(answer) = resolve(&demo, &name, subnet) else {
                    return false;
                };
                let explained = addresses(&answer);
                let answered: Vec<BTreeSet<String>> =
                    nodes.iter().map(|node| dig(node, &name, subnet)).collect();
                eprintln!("   resolve {explained:?}, DNS nodes {answered:?}");
                !explained.is_empty() && answered.iter().all(|dns| *dns == explained)
            });
        }
        let name = "api.demo.gslb.test";
        eprintln!("-- phase: {name} for {subnet}");
        wait_until(AGREE, &format!("{name} for {subnet} agrees"), || {
            let (Some(answer), Some(every_endpoint)) = (
                resolve(&demo, name, subnet),
                resolve(&demo, "db.demo.gslb.test", subnet),
            ) else {
                return false;
            };
            // The weighted pick shows only the endpoint it chose; `db` judges all three.
            let candidates: BTreeSet<String> = usable(&every_endpoint)
                .into_iter()
                .filter(|address| API_CHILDREN.contains(&address.as_str()))
                .collect();
            let explained = addresses(&answer);
            let answered: Vec<BTreeSet<String>> = (0..5)
                .flat_map(|_| nodes.iter().map(|node| dig(node, name, subnet)))
                .collect();
            eprintln!("   usable {candidates:?}, resolve {explained:?}, DNS {answered:?}");
            !explained.is_empty()
                && explained.is_subset(&candidates)
                && answered
                    .iter()
                    .all(|dns| dns.len() == 1 && dns.is_subset(&candidates))
        });
    }

    eprintln!("-- phase: the explanation names the network table");
    let (subnet, _, _) = GROUPS[1];
    let answer = resolve(&demo, "www.demo.gslb.test", subnet).expect("resolve answers");
    let explain: Vec<String> = answer["explain"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|line| line.as_str().map(str::to_string))
        .collect();
    assert!(
        explain
            .iter()
            .any(|line| line.contains("by the replicated network table")),
        "{explain:?}"
    );
}
