//! Black-box tests of `gslb check-config` on bad configs: one run reports every problem
//! (unknown keys, wrong types, bad values, missing files, overlapping listeners, weak
//! secrets), each with its line, and the same rules hold when `gslb serve` starts.

mod common;

use std::process::{Command, Output};

use common::{TempDir, GSLB};

fn check_config(dir: &TempDir, text: &str) -> (Output, String) {
    let config = dir.write("node.toml", text);
    let output = Command::new(GSLB)
        .arg("check-config")
        .arg(&config)
        .output()
        .expect("run gslb check-config");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stderr)
}

/// What does this test do: a config with two wrong types, an unknown key, a missing zone
/// file, a missing token file and two listeners on the same port (one a wildcard) gets
/// every one of them reported in one run, each with its line, and exit status 1.
#[test]
fn check_config_reports_every_problem_in_one_run() {
    let dir = TempDir::new("check-config-all");
    let text = "\
[dns]
listen = [\"0.0.0.0:5353\", \"127.0.3.40:5353\"]
udp_workers = \"four\"
max_udp_payload = \"big\"
tcp_fast = true

[[zones]]
file = \"missing.zone\"

[[zones]]
file = \"also-missing.zone\"
";
    let (output, stderr) = check_config(&dir, text);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let expected = [
        "node.toml:2: dns.listen[1]: 127.0.3.40:5353 overlaps dns.listen[0] (0.0.0.0:5353)",
        "node.toml:3: dns.udp_workers: invalid type: string \"four\", expected usize",
        "node.toml:4: dns.max_udp_payload: invalid type: string \"big\", expected u16",
        "node.toml:5: unknown field `tcp_fast`",
        "node.toml:8: zones[0].file: cannot read",
        "node.toml:11: zones[1].file: cannot read",
    ];
    for line in expected {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }
    assert!(stderr.contains("6 problem(s)"), "{stderr}");
}

/// What does this test do: an admin token of 5 characters is refused by `check-config`
/// and by `gslb serve`, naming the field, its line and the rule.
#[test]
fn a_short_admin_token_is_refused_by_check_config_and_at_start() {
    let dir = TempDir::new("check-config-token");
    dir.write("api-token", "t0k3n\n");
    let text = "\
[control]
node_id = 1
data_dir = \"data\"
listen = \"127.0.0.1:0\"
cluster_secret = \"0123456789abcdef0123\"
api_token_file = \"api-token\"
bootstrap = { voters = { 1 = \"127.0.0.1:0\" } }
";
    let (output, stderr) = check_config(&dir, text);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let expected = "node.toml:6: control.api_token: must be at least 16 characters, got 5";
    assert!(stderr.contains(expected), "{stderr}");
    let serve = Command::new(GSLB)
        .args(["serve", "--config"])
        .arg(dir.0.join("node.toml"))
        .output()
        .expect("run gslb serve");
    let serve_stderr = String::from_utf8_lossy(&serve.stderr);
    assert_eq!(serve.status.code(), Some(1), "{serve_stderr}");
    assert!(serve_stderr.contains(expected), "{serve_stderr}");
    assert!(
        !dir.0.join("data").exists(),
        "refused before touching the data dir"
    );
}
