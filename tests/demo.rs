//! Black-box test of `gslb demo`: every `dig`, `curl` and `gslbctl` line it prints works as
//! printed (a zone written through the control plane, GSLB records `www`, `api` and `db`
//! answered by policy on what the probers see of the sample backends, a record added
//! through the API and answered by both DNS nodes, eu-west's replication cut and `db`
//! dropping it, a drill that fails ap-south's clients over), and Ctrl-C stops every child
//! it started.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::demo::{read_banner, spawn_demo};
use common::{dns_listen_address, send_signal, wait_exit, TempDir, GSLB};

/// Starts the demo on free ports, runs each printed `curl` line (a write through the API or
/// a backend's control), `gslbctl` line (with the printed `export`) and `dig` line in order
/// and expects NOERROR with data (answer or, for the referral, authority); `www` answers
/// each region's clients (`+subnet=`) with that region's endpoint; `db` answers
/// eu-west's address until its replication is cut and then, within seconds, no longer, and
/// the drill's ap-south clients move to eu-west. Then SIGINT stops the demo and its eleven
/// children, and a second run on the same data dir resumes the cluster from disk, the
/// record written in the first run included.
#[test]
fn demo_dig_lines_answer_and_ctrl_c_stops_every_node() {
    let dir = TempDir::new("demo");
    for run in 0..2 {
        eprintln!("-- demo run {run}");
        let (mut demo, lines_rx) = spawn_demo(&dir, DEMO_TOKEN);
        let banner = read_banner(&lines_rx, Duration::from_secs(30));
        let banner_text = banner.join("\n");
        eprintln!("{banner_text}");
        assert!(
            banner_text.contains("a prober per region"),
            "starts the probers"
        );
        for name in ["www", "api", "db"] {
            assert!(
                banner
                    .iter()
                    .any(|line| line.trim_start().starts_with("dig")
                        && line.contains(&format!(" {name}.demo.gslb.test A"))),
                "prints a dig line for {name}"
            );
        }
        assert!(
            banner_text.contains(DEMO_TOKEN),
            "prints the token it was given"
        );

        let pids: Vec<u32> = banner
            .iter()
            .filter_map(|line| {
                let rest = &line[line.find(" pid ")? + 5..];
                rest.split_whitespace().next()?.parse().ok()
            })
            .collect();
        assert_eq!(
            pids.len(),
            CHILDREN,
            "three backends, three voters, two DNS nodes, three probers: {pids:?}"
        );
        if run == 1 {
            assert!(
                banner_text.contains("resumed the cluster"),
                "second run resumes"
            );
        }

        let commands: Vec<&String> = banner
            .iter()
            .filter(|line| {
                let line = line.trim_start();
                let program = line.split_whitespace().next().unwrap_or("");
                ["dig", "curl", "export"].contains(&program) || program.ends_with("gslbctl")
            })
            .collect();
        assert!(commands.len() >= 16, "{commands:?}");
        let mut exported: Vec<(String, String)> = Vec::new();
        // What the backend controls run so far have changed: eu-west's replication cut, and
        // ap-south's nodes below the minimum.
        let mut cut = false;
        let mut drill = false;
        for line in commands {
            let program = line.split_whitespace().next().unwrap();
            if program == "export" {
                for pair in line.split_whitespace().skip(1) {
                    let (key, value) = pair.split_once('=').expect("KEY=VALUE");
                    exported.push((key.to_string(), value.to_string()));
                }
                continue;
            }
            if program.ends_with("gslbctl") {
                let words: Vec<&str> = line.split_whitespace().collect();
                let output = Command::new(words[0])
                    .args(&words[1..])
                    .envs(exported.iter().map(|(key, value)| (key, value)))
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&output.stdout);
                assert!(
                    output.status.success() && !text.trim().is_empty(),
                    "{line}:\n{text}\n{}",
                    String::from_utf8_lossy(&output.stderr)
                );
                continue;
            }
            if program == "curl" {
                let output = Command::new("sh").args(["-c", line]).output().unwrap();
                let text = String::from_utf8_lossy(&output.stdout);
                // An API write answers its version; a backend control its new status.
                assert!(
                    text.contains("\"version\"") || text.contains("\"replication\""),
                    "{line}:\n{text}"
                );
                if line.contains("/demo/replication") {
                    cut = line.contains("\"in_quorum\": false");
                }
                if line.contains("/demo/nodes") {
                    drill = !line.contains("\"ready\": 3");
                }
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            // Health moves within seconds of a control: wait for the answer it leads to.
            let expected: Option<(&str, bool)> = if line.contains(" db.demo.gslb.test A") {
                Some((EU_WEST, !cut))
            } else if cut && line.contains("+subnet=198.51.100.0/24") {
                Some((EU_WEST, false))
            } else if drill && line.contains("+subnet=100.64.0.0/24") {
                Some((EU_WEST, true))
            } else if line.contains(" www.demo.gslb.test A +subnet=") && !cut && !drill {
                // Geo: each region's clients get that region's endpoint.
                GEO.iter()
                    .find(|(subnet, _)| line.ends_with(&format!("+subnet={subnet}")))
                    .map(|(_, address)| (*address, true))
            } else {
                None
            };
            if let Some((address, present)) = expected {
                let text = dig_until(&words, |text| {
                    text.contains("status: NOERROR") && text.contains(address) == present
                });
                assert!(
                    text.contains("status: NOERROR") && text.contains(address) == present,
                    "{line}: expected {address} {}:\n{text}",
                    if present { "in the answer" } else { "gone" }
                );
                continue;
            }
            let output = Command::new(words[0])
                .args(&words[1..])
                .args(["+time=2", "+tries=1"])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&output.stdout);
            // A write is in the answers of the node it did not go through once it is
            // INSYNC; the API acknowledged it after the leader applied it, so allow a moment.
            // Likewise a guarded, fail_closed record (db) has no answer until the probers
            // have confirmed a region since start (on a resumed cluster its old leases have
            // run out): that is the split-brain fence working, so allow the probers a moment.
            let text = if answered_with_data(&text) {
                text.into_owned()
            } else {
                retry_dig(&words)
            };
            assert!(text.contains("status: NOERROR"), "{line}:\n{text}");
            assert!(answered_with_data(&text), "{line}:\n{text}");
        }

        send_signal(demo.id(), "INT");
        let status = wait_exit(&mut demo, Duration::from_secs(10)).expect("demo exits");
        assert!(status.success(), "{status}");
        for pid in pids {
            let gone = wait_until(Duration::from_secs(5), || !process_alive(pid));
            assert!(gone, "node pid {pid} still running");
        }
    }
}

/// Stopping the demo with SIGKILL (no cleanup at all) still takes the nodes down, through
/// their parent-death signal.
#[test]
fn demo_nodes_die_with_the_demo() {
    let dir = TempDir::new("demo-kill");
    let mut demo = Command::new(GSLB)
        .args([
            "demo",
            "--dns",
            &dns_listen_address().to_string(),
            "--api",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&dir.0)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = demo.stdout.take().unwrap();
    let mut pids = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(index) = line.find(" pid ") {
            pids.push(
                line[index + 5..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .parse::<u32>()
                    .unwrap(),
            );
        }
        if line.contains("press Ctrl-C") {
            break;
        }
    }
    assert_eq!(pids.len(), CHILDREN);
    demo.kill().unwrap();
    demo.wait().unwrap();
    for pid in pids {
        assert!(
            wait_until(Duration::from_secs(5), || !process_alive(pid)),
            "node pid {pid} outlived the demo"
        );
    }
}

/// Children of one demo: three backends, three voters, two DNS nodes, three probers.
const CHILDREN: usize = 11;

/// eu-west's endpoint address in the demo's answers.
const EU_WEST: &str = "192.0.2.20";

/// The demo's client networks (its network table) and the endpoint of the region they are in.
const GEO: [(&str, &str); 3] = [
    ("203.0.113.0/24", "192.0.2.10"),
    ("198.51.100.0/24", EU_WEST),
    ("100.64.0.0/24", "192.0.2.30"),
];

/// Runs `words` (a dig line) until its output satisfies `wanted`, for up to 20 s (a few
/// check intervals, the vote and the state reaching the DNS node); the last output.
fn dig_until(words: &[&str], wanted: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let output = Command::new(words[0])
            .args(&words[1..])
            .args(["+time=2", "+tries=1"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        if wanted(&text) || Instant::now() >= deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs `words` (a dig line) until it says NOERROR, for up to 10 s; the last output.
/// NOERROR with at least one record in the answer or authority section.
fn answered_with_data(text: &str) -> bool {
    text.contains("status: NOERROR")
        && ["ANSWER: 0,", "AUTHORITY: 0,"]
            .iter()
            .filter(|empty| text.contains(**empty))
            .count()
            < 2
}

fn retry_dig(words: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let output = Command::new(words[0])
            .args(&words[1..])
            .args(["+time=2", "+tries=1"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        if answered_with_data(&text) || Instant::now() >= deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// True while `/proc/PID` exists and is not a zombie.
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next());
            state != Some('Z')
        }
        Err(_) => false,
    }
}

fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    condition()
}

/// A DNS port already taken makes the demo refuse at once, naming the address.
#[test]
fn demo_refuses_a_port_in_use() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let dir = TempDir::new("demo-taken");
    let output = Command::new(GSLB)
        .args([
            "demo",
            "--dns",
            &address.to_string(),
            "--api",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&dir.0)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("udp {address} is in use")),
        "{stderr}"
    );
}

/// With its stdout closed before the banner (as in `gslb demo | true`, or `| head -3` once
/// head has gone), the demo neither panics on the broken pipe nor stops: it says so once on
/// stderr and keeps serving, SIGTERM then stops it with status 0, and none of its eleven
/// children outlives it (their pids are gone and the DNS port is free again).
#[test]
fn demo_with_stdout_closed_keeps_serving_and_stops_every_child() {
    let dir = TempDir::new("demo-closed-stdout");
    let dns = dns_listen_address();
    let mut demo = Command::new(GSLB)
        .args(["demo", "--dns", &dns.to_string(), "--api", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(&dir.0)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the demo has written anything.
    drop(demo.stdout.take());
    let stderr = common::LogLines::follow(demo.stderr.take().unwrap());

    eprintln!("-- the demo notices the closed stdout at its banner and keeps running");
    let notice = stderr.wait_for("stdout is closed", Duration::from_secs(60));
    assert!(
        notice.is_some(),
        "no notice of the closed stdout; stderr:\n{}",
        stderr.text()
    );
    let dns_port = dns.port().to_string();
    let dig = [
        "dig",
        "@127.0.0.1",
        "-p",
        &dns_port,
        "www.demo.gslb.test",
        "A",
    ];
    let answer = retry_dig(&dig);
    assert!(answered_with_data(&answer), "still serving:\n{answer}");
    assert!(demo.try_wait().unwrap().is_none(), "the demo is running");
    let children = children_of(demo.id());
    assert_eq!(children.len(), CHILDREN, "children: {children:?}");

    eprintln!("-- SIGTERM stops the demo cleanly and every child with it");
    send_signal(demo.id(), "TERM");
    let status = wait_exit(&mut demo, Duration::from_secs(30)).expect("the demo exits");
    let log = stderr.text();
    assert!(status.success(), "exit {status}; stderr:\n{log}");
    assert!(!log.contains("panicked"), "stderr:\n{log}");
    for pid in children {
        assert!(
            wait_until(Duration::from_secs(5), || !process_alive(pid)),
            "child pid {pid} outlived the demo"
        );
    }
    assert!(
        std::net::UdpSocket::bind(dns).is_ok() && std::net::TcpListener::bind(dns).is_ok(),
        "the DNS address {dns} is still held"
    );
}

/// Pids of the live processes whose parent is `parent` (from `/proc/*/stat`).
fn children_of(parent: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after its ')'.
        let ppid = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<u32>().ok());
        if ppid == Some(parent) && process_alive(pid) {
            children.push(pid);
        }
    }
    children
}

/// The admin token the tests give the demo (at least 16 characters, as the demo requires).
const DEMO_TOKEN: &str = "demo-test-token-0123";

/// One child line of the banner: `node NAME pid PID ... http ADDR ...` (or `NAME pid PID`).
fn banner_child(line: &str) -> Option<(String, u32, Option<String>)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|word| *word == "pid")?;
    let name = words.get(at.checked_sub(1)?)?.to_string();
    let pid = words.get(at + 1)?.parse().ok()?;
    let http = words
        .iter()
        .position(|word| *word == "http")
        .and_then(|index| words.get(index + 1))
        .map(|address| address.to_string());
    Some((name, pid, http))
}

/// SIGKILL of one voter leaves the demo and its ten other children running: the demo says
/// which child exited and prints the command that restarts it, DNS still answers, a write
/// through the API is still acknowledged and answered by both DNS nodes (two voters of three
/// keep quorum); SIGTERM of a DNS node is reported the same way while the other answers; the
/// printed command brings the voter back. SIGINT then stops the demo and no child is left.
#[test]
fn demo_survives_a_killed_voter_and_says_how_to_restart_it() {
    let dir = TempDir::new("demo-survive");
    let (mut demo, lines_rx) = spawn_demo(&dir, DEMO_TOKEN);
    let next_line = |timeout: Duration| lines_rx.recv_timeout(timeout).ok();

    eprintln!("-- the demo starts and prints its children");
    let mut children = Vec::new();
    let mut dig_lines = Vec::new();
    let mut api = None;
    let mut dns_nodes = Vec::new();
    loop {
        let line = next_line(Duration::from_secs(60)).expect("the demo prints its banner");
        if let Some(child) = banner_child(&line) {
            children.push(child);
        }
        if let Some(rest) = line.split(" udp+tcp ").nth(1) {
            dns_nodes.extend(rest.split_whitespace().next().map(str::to_string));
        }
        if let Some(rest) = line.trim_start().strip_prefix("export GSLB_API=") {
            api = rest.split_whitespace().next().map(str::to_string);
        }
        if line.trim_start().starts_with("dig ") && line.contains(" www.demo.gslb.test A") {
            dig_lines.push(line.trim().to_string());
        }
        if line.contains("press Ctrl-C") {
            break;
        }
    }
    assert_eq!(children.len(), CHILDREN, "{children:?}");
    assert_eq!(dns_nodes.len(), 2, "{dns_nodes:?}");
    eprintln!("-- the files holding the cluster secret and tokens are 0600");
    let mut private = 0;
    for entry in std::fs::read_dir(&dir.0).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "api-token" || name.ends_with(".toml") {
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name} has mode {mode:o}");
            private += 1;
        }
    }
    assert_eq!(private, 1 + 8, "api-token and eight node configs");
    let api = api.expect("the banner exports GSLB_API");
    let (_, victim, victim_http) = children
        .iter()
        .find(|(name, _, _)| name == "voter-2")
        .cloned()
        .expect("a voter-2 line");

    eprintln!("-- SIGKILL voter-2 (pid {victim})");
    send_signal(victim, "KILL");
    let mut report = Vec::new();
    let restart = loop {
        let line = next_line(Duration::from_secs(10)).expect("the demo reports the exit");
        report.push(line.clone());
        if line.trim_start().starts_with("restart it") {
            break next_line(Duration::from_secs(5)).expect("the restart command");
        }
    };
    let report_text = report.join("\n");
    assert!(
        report_text.contains(&format!("voter-2 (pid {victim}) exited"))
            && report_text.contains("signal: 9"),
        "{report_text}"
    );
    let restart = restart.trim().to_string();
    assert!(
        restart.contains(" serve --config ") && restart.contains("voter-2.toml"),
        "{restart}"
    );

    eprintln!("-- the demo and the other ten children keep running");
    std::thread::sleep(Duration::from_secs(1));
    assert!(demo.try_wait().unwrap().is_none(), "the demo is running");
    for (name, pid, _) in children.iter().filter(|(_, pid, _)| *pid != victim) {
        assert!(
            process_alive(*pid),
            "{name} (pid {pid}) stopped with voter-2"
        );
    }

    eprintln!("-- DNS answers, and a write through the API is acknowledged and served");
    for line in &dig_lines[..1] {
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = retry_dig(&words);
        assert!(answered_with_data(&answer), "{line}:\n{answer}");
    }
    let written = wait_until(Duration::from_secs(15), || {
        Command::new("curl")
            .args(["-sSf", "-m", "5", "-X", "PUT", "-H"])
            .arg(format!("Authorization: Bearer {DEMO_TOKEN}"))
            .args(["-H", "Content-Type: application/json", "-d"])
            .arg(r#"{"name":"survivor","type":"A","data":["192.0.2.77"]}"#)
            .arg(format!("{api}/v1/zones/demo.gslb.test./records/survivor/A"))
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    });
    assert!(written, "a write through {api} with one voter down");
    for dns in &dns_nodes {
        let (ip, port) = dns.rsplit_once(':').unwrap();
        let server = format!("@{ip}");
        let words = ["dig", &server, "-p", port, "survivor.demo.gslb.test", "A"];
        let answer = dig_until(&words, |text| text.contains("192.0.2.77"));
        assert!(answer.contains("192.0.2.77"), "dns node {dns}:\n{answer}");
    }

    eprintln!("-- SIGTERM of dns-2 is reported too, and dns-1 keeps answering");
    let (_, dns_2, _) = children
        .iter()
        .find(|(name, _, _)| name == "dns-2")
        .cloned()
        .expect("a dns-2 line");
    send_signal(dns_2, "TERM");
    let reported = loop {
        let line = next_line(Duration::from_secs(15)).expect("the demo reports dns-2");
        if line.contains(&format!("dns-2 (pid {dns_2}) exited")) {
            break line;
        }
    };
    assert!(reported.contains("exit status: 0"), "{reported}");
    assert!(demo.try_wait().unwrap().is_none(), "the demo is running");
    let (ip, port) = dns_nodes[0].rsplit_once(':').unwrap();
    let server = format!("@{ip}");
    let answer = retry_dig(&["dig", &server, "-p", port, "survivor.demo.gslb.test", "A"]);
    assert!(
        answer.contains("192.0.2.77"),
        "dns-1 still answers:\n{answer}"
    );

    eprintln!("-- the printed command restarts voter-2");
    let mut restarted = Command::new("sh")
        .arg("-c")
        .arg(format!("exec {restart}"))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let http = victim_http.expect("voter-2's http address");
    let back = wait_until(Duration::from_secs(20), || {
        Command::new("curl")
            .args(["-sSf", "-m", "2"])
            .arg(format!("http://{http}/healthz"))
            .output()
            .is_ok_and(|output| output.status.success())
    });
    let alive = restarted.try_wait().unwrap().is_none();
    let _ = restarted.kill();
    let _ = restarted.wait();
    assert!(
        back && alive,
        "voter-2 restarted from {restart:?} answers on {http}"
    );

    eprintln!("-- SIGINT stops the demo and every child it still has");
    send_signal(demo.id(), "INT");
    let status = wait_exit(&mut demo, Duration::from_secs(15)).expect("demo exits");
    assert!(status.success(), "{status}");
    for (name, pid, _) in &children {
        assert!(
            wait_until(Duration::from_secs(5), || !process_alive(*pid)),
            "{name} (pid {pid}) outlived the demo"
        );
    }
}

/// `gslb demo --token` with fewer than 16 characters is refused before anything starts,
/// naming the flag and the rule.
#[test]
fn demo_refuses_a_short_token() {
    let dir = TempDir::new("demo-short-token");
    let output = Command::new(GSLB)
        .args(["demo", "--api", "127.0.0.1:0", "--dns", "127.0.0.1:0"])
        .args(["--token", "t0k3n", "--data-dir"])
        .arg(&dir.0)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--token") && stderr.contains("must be at least 16 characters, got 5"),
        "{stderr}"
    );
    assert!(!dir.0.join("api-token").exists(), "nothing was written");
}
