//! Black-box tests of the `gslb` command line: `check-config` reports every problem with
//! its line, a broken zone refuses start, and SIGTERM shuts down promptly and cleanly.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{codes, example_zone, framed, query_packet, read_framed, send_all, tcp_connect};
use common::{LogLines, Server, TempDir, GSLB};

fn check_config(dir: &TempDir, config: &str) -> (bool, String, String) {
    let path = dir.write("node.toml", config);
    let output = Command::new(GSLB)
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        output.status.success() || output.status.code() == Some(1),
        "exit 0 or 1"
    );
    (output.status.success(), stdout, stderr)
}

/// A valid config with its zone file passes and says "config ok".
#[test]
fn check_config_accepts_a_valid_config() {
    let dir = TempDir::new("check-ok");
    dir.write("example.test.zone", &example_zone());
    let (ok, stdout, _) = check_config(
        &dir,
        "[dns]\nlisten = [\"127.0.0.1:5353\"]\n[[zones]]\nfile = \"example.test.zone\"\norigin = \"example.test.\"\n",
    );
    assert!(ok);
    assert!(stdout.contains("config ok"), "{stdout}");
}

/// A misspelt key is reported with the line it is on, and the exit status is 1.
#[test]
fn check_config_reports_the_line_of_a_bad_key() {
    let dir = TempDir::new("check-key");
    let (ok, _, stderr) = check_config(
        &dir,
        "[dns]\nlisten = [\"127.0.0.1:5353\"]\n\n[dns.tcp]\nidle_timeoutt = \"5s\"\n",
    );
    assert!(!ok);
    assert!(stderr.contains("node.toml:5:"), "{stderr}");
    assert!(stderr.contains("idle_timeoutt"), "{stderr}");
}

/// Several bad values are all reported at once, each with its line and field.
#[test]
fn check_config_reports_every_bad_field_with_its_line() {
    let dir = TempDir::new("check-all");
    let (ok, _, stderr) = check_config(
        &dir,
        "[dns]\nlisten = [\"127.0.0.1:99999\"]\nudp_batch = 0\n[dns.tcp]\nidle_timeout = \"soon\"\n",
    );
    assert!(!ok);
    for wanted in [
        "node.toml:2: dns.listen[0]",
        "node.toml:3: dns.udp_batch",
        "node.toml:5: dns.tcp.idle_timeout",
    ] {
        assert!(stderr.contains(wanted), "missing {wanted:?} in {stderr}");
    }
}

/// A zone file with an error refuses start (exit 1) and names file:line; check-config
/// reports the same.
#[test]
fn broken_zone_file_refuses_start_naming_file_and_line() {
    let dir = TempDir::new("broken-zone");
    dir.write(
        "broken.zone",
        "$ORIGIN example.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n@ IN NS ns1\nns1 IN A 10.0.0.300\n",
    );
    let config = "[dns]\nlisten = [\"127.0.0.1:0\"]\n[[zones]]\nfile = \"broken.zone\"\n";
    let (ok, _, stderr) = check_config(&dir, config);
    assert!(!ok);
    assert!(stderr.contains("broken.zone:5:"), "{stderr}");

    let output = Command::new(GSLB)
        .args(["serve", "--config"])
        .arg(dir.0.join("node.toml"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken.zone:5:"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
}

/// A port already taken refuses start with a message naming the address.
#[test]
fn a_port_in_use_refuses_start() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let dir = TempDir::new("port-in-use");
    dir.write("example.test.zone", &example_zone());
    let path = dir.write(
        "node.toml",
        &format!("[dns]\nlisten = [\"{address}\"]\n[[zones]]\nfile = \"example.test.zone\"\norigin = \"example.test.\"\n"),
    );
    let output = Command::new(GSLB)
        .args(["serve", "--config"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&address.to_string()), "{stderr}");
}

/// SIGTERM with an idle TCP connection open: the server closes it, exits 0, promptly.
#[test]
fn sigterm_exits_zero_promptly() {
    let mut server = Server::start();
    let mut stream = tcp_connect(server.address);
    send_all(
        &mut stream,
        &framed(&query_packet(1, 0, "www.example.test", codes::A, codes::IN)),
    );
    assert!(read_framed(&mut stream).is_some());
    let started = Instant::now();
    server.signal("TERM");
    let status = server
        .wait_exit(Duration::from_secs(5))
        .expect("exited within 5 s");
    assert!(status.success(), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(server
        .log
        .wait_for("SIGTERM received", Duration::from_secs(1))
        .is_some());
}

/// JSON logs: every stderr line of a starting server is one JSON object, and the
/// `listening on` message is among them.
#[test]
fn json_logs_are_one_object_per_line() {
    let dir = TempDir::new("json-logs");
    dir.write("example.test.zone", &example_zone());
    let path = dir.write(
        "node.toml",
        "[log]\nformat = \"json\"\n[dns]\nlisten = [\"127.0.0.1:0\"]\nudp_workers = 1\n[[zones]]\nfile = \"example.test.zone\"\norigin = \"example.test.\"\n",
    );
    let mut child = Command::new(GSLB)
        .args(["serve", "--config"])
        .arg(path)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = LogLines::follow(child.stderr.take().unwrap());
    let line = log.wait_for("listening on tcp", Duration::from_secs(20));
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("a listening line");
    assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
    for line in log.text().lines() {
        assert!(line.starts_with('{'), "not JSON: {line}");
    }
}

/// Every example config in deploy/examples passes check-config, and the same file with a
/// spurious key, at the top or inside `[dns]` (`[control]` on a voter), is refused naming
/// that key and its line.
#[test]
fn example_configs_are_valid_and_reject_a_spurious_key() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "toml") {
            continue;
        }
        checked += 1;
        let output = Command::new(GSLB)
            .arg("check-config")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );

        let text = std::fs::read_to_string(&path).unwrap();
        let dir = TempDir::new("spurious");
        for zone in std::fs::read_dir(&examples).unwrap() {
            let zone = zone.unwrap().path();
            if zone
                .extension()
                .is_some_and(|extension| extension == "zone")
            {
                std::fs::copy(&zone, dir.0.join(zone.file_name().unwrap())).unwrap();
            }
        }
        // Inside the first role table: [dns], or [control] on a pure voter.
        let dns_line = text
            .lines()
            .position(|line| line.trim() == "[dns]")
            .or_else(|| text.lines().position(|line| line.trim() == "[control]"))
            .unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.insert(dns_line + 1, "spurious_in_dns = 1");
        lines.insert(0, "spurious_at_top = 1");
        for (key, line) in [("spurious_at_top", 1), ("spurious_in_dns", dns_line + 3)] {
            let edited: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|entry| !entry.starts_with("spurious") || entry.starts_with(key))
                .collect();
            let expected_line = if key == "spurious_at_top" {
                line
            } else {
                line - 1
            };
            let (ok, _, stderr) = check_config(&dir, &edited.join("\n"));
            assert!(!ok, "{key} accepted in {}", path.display());
            assert!(
                stderr.contains(&format!("node.toml:{expected_line}:")) && stderr.contains(key),
                "{}: {stderr}",
                path.display()
            );
        }
    }
    assert!(checked >= 4, "examples found: {checked}");
}

/// SIGHUP reloads the zone files: a new record is answered after the reload, and a broken
/// file is refused while the previous zones keep being served.
#[test]
fn sighup_reloads_zone_files_all_or_nothing() {
    let server = Server::start();
    assert_eq!(server.dig(&["new.example.test", "A"]).status(), "NXDOMAIN");

    let zone = format!("{}new IN A 192.0.2.99\n", example_zone());
    server.dir.write("example.test.zone", &zone);
    server.signal("HUP");
    assert!(server
        .log
        .wait_for("reloaded zone files", Duration::from_secs(10))
        .is_some());
    let reply = server.dig(&["new.example.test", "A"]);
    assert_eq!(reply.status(), "NOERROR");
    assert_eq!(reply.records("ANSWER")[0][4], "192.0.2.99");

    server
        .dir
        .write("example.test.zone", &format!("{zone}bad IN A 10.0.0.300\n"));
    server.signal("HUP");
    let refused = server
        .log
        .wait_for("reload refused", Duration::from_secs(10))
        .expect("the broken file is refused");
    assert!(refused.contains("example.test.zone:"), "{refused}");
    assert_eq!(server.dig(&["new.example.test", "A"]).status(), "NOERROR");
}

/// Problems in several zone files are all reported at once, each with file:line.
#[test]
fn check_config_reports_problems_of_every_zone_file() {
    let dir = TempDir::new("check-zones");
    dir.write(
        "a.zone",
        "$ORIGIN a.test.\n@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 60\n@ 300 IN NS ns1\nwww 300 IN A 1.2.3\n",
    );
    dir.write(
        "b.zone",
        "$ORIGIN b.test.\n@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 60\n@ 300 IN NS ns1\nmail 300 IN MX ten mail\n",
    );
    let (ok, _, stderr) = check_config(
        &dir,
        "[dns]\n[[zones]]\nfile = \"a.zone\"\n[[zones]]\nfile = \"b.zone\"\n[[zones]]\nfile = \"missing.zone\"\n",
    );
    assert!(!ok);
    for wanted in [
        "a.zone:4:",
        "b.zone:4:",
        "node.toml:7: zones[2].file: cannot read",
    ] {
        assert!(stderr.contains(wanted), "missing {wanted:?} in {stderr}");
    }
}

/// A DNS learner whose seeds are all unreachable starts anyway: it listens on HTTP, keeps
/// its DNS silent (it has not joined: issue 22), logs each failed join at warn and keeps
/// retrying, never panics, and SIGTERM stops it cleanly. check-config describes its role.
#[test]
fn a_learner_without_reachable_seeds_retries_and_stops_on_sigterm() {
    let dir = TempDir::new("lonely-learner");
    // A port nobody listens on: bound, read, released.
    let unreachable = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = format!(
        "[control]\nnode_id = 7\ndata_dir = \"data\"\nlisten = \"127.0.0.1:0\"\n\
         cluster_secret = \"0123456789abcdef0123\"\nseeds = [\"{unreachable}\"]\n\
         [dns]\nlisten = [\"127.0.0.1:0\"]\nudp_workers = 1\n"
    );
    let (ok, stdout, _) = check_config(&dir, &config);
    assert!(ok);
    assert!(
        stdout.contains("config ok: node 7 learner, dns, joins through 1 seed(s)"),
        "{stdout}"
    );
    let path = dir.write("node.toml", &config);
    let mut child = Command::new(GSLB)
        .args(["serve", "--config"])
        .arg(&path)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = LogLines::follow(child.stderr.take().unwrap());
    let listening = [
        "listening on http ",
        "dns stays silent until this node has joined",
        "join failed, retrying",
    ];
    for needle in listening {
        if log.wait_for(needle, Duration::from_secs(20)).is_none() {
            let _ = child.kill();
            panic!("no {needle:?} line; log:\n{}", log.text());
        }
    }
    common::send_signal(child.id(), "TERM");
    let status = common::wait_exit(&mut child, Duration::from_secs(10));
    let _ = child.kill();
    let text = log.text();
    assert!(
        status.is_some_and(|status| status.success()),
        "{status:?}\n{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    assert!(!text.contains("listening on udp"), "{text}");
    assert!(
        text.contains("WARN") && text.contains("join failed"),
        "{text}"
    );
}

/// A `[dns.geo]` whose `mmdb` file does not exist is refused by check-config and by serve,
/// naming the resolved path, the reason and the line of the `mmdb` key.
#[test]
fn a_missing_geoip_database_is_refused_naming_path_and_line() {
    let dir = TempDir::new("geo-missing");
    let config =
        "[dns]\nlisten = [\"127.0.0.1:0\"]\n\n[dns.geo]\nmmdb = \"absent/GeoLite2-City.mmdb\"\n";
    let (ok, _, stderr) = check_config(&dir, config);
    assert!(!ok, "a missing mmdb was accepted");
    let missing = dir.0.join("absent/GeoLite2-City.mmdb");
    for wanted in [
        "node.toml:5: dns.geo.mmdb:".to_string(),
        missing.display().to_string(),
        "cannot read".to_string(),
    ] {
        assert!(stderr.contains(&wanted), "missing {wanted:?} in {stderr}");
    }

    let output = Command::new(GSLB)
        .args(["serve", "--config"])
        .arg(dir.0.join("node.toml"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("node.toml:5: dns.geo.mmdb:"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");

    eprintln!("-- phase: a corrupt file is refused as not a maxmind db");
    dir.write("corrupt.mmdb", "not a maxmind database");
    let (ok, _, stderr) = check_config(
        &dir,
        "[dns]\nlisten = [\"127.0.0.1:0\"]\n[dns.geo]\nmmdb = \"corrupt.mmdb\"\n",
    );
    assert!(!ok, "a corrupt mmdb was accepted");
    assert!(
        stderr.contains("node.toml:4: dns.geo.mmdb:") && stderr.contains("not a valid maxmind db"),
        "{stderr}"
    );
}
