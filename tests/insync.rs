//! INSYNC tells the truth from a DNS node's first answer (issue 22): a fresh DNS learner
//! stays silent on its DNS address until it has joined the cluster, caught up and registered
//! as a member, so a script that waits for the DNS address to answer and then writes through
//! `gslbctl` never meets a DNS node that answers without the write once `gslbctl` says
//! `INSYNC`; and a learner that joins while writes flow never answers REFUSED for a zone the
//! cluster holds.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::cluster::{http, put_a, ClusterNode, Kind, TOKEN};
use common::{query_packet, reply_header, udp_exchange, TempDir};

/// How many cold starts the first test runs, time permitting.
const RUNS: usize = 20;
/// The cold-start test stops starting new runs after this long (it reports how many ran).
const RUNS_BUDGET: Duration = Duration::from_secs(180);
/// How long one cold start may take from spawning the processes to an INSYNC import.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// The zone the script imports with `gslbctl zone import`.
const IMPORTED: &str = "$ORIGIN insync.test.
$TTL 60
@    3600 IN SOA ns1 hostmaster 1 3600 600 86400 60
@    3600 IN NS  ns1
ns1       IN A   192.0.2.1
www       IN A   192.0.2.80
";

/// RCODE REFUSED.
const REFUSED: u8 = 5;
/// QTYPE SOA.
const SOA: u16 = 6;

/// The RCODE and answer count of a UDP SOA query for `zone` to `dns`, or `None` on silence
/// within `timeout`.
fn soa_reply(dns: SocketAddr, zone: &str, timeout: Duration) -> Option<(u8, u16)> {
    let packet = query_packet(0x2222, 0x0000, zone, SOA, 1);
    let reply = udp_exchange(dns, &packet, timeout)?;
    let header = reply_header(&reply);
    Some((header.rcode, header.answers))
}

/// `gslbctl --api http://API --token TOKEN ARGS`: success and stdout+stderr.
fn gslbctl(api: SocketAddr, args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gslbctl"))
        .args(["--api", &format!("http://{api}")])
        .args(["--token", TOKEN])
        .args(args)
        .output()
        .expect("gslbctl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// One cold start, as a script would drive it: a bootstrap voter and a fresh DNS learner
/// started together; as soon as the learner's DNS address answers anything and the
/// voter's `/healthz` is ok, `gslbctl zone import` through the voter (which waits for
/// INSYNC); right after, the learner must answer the imported zone's SOA. `Err` says why not.
fn cold_start(run: usize) -> Result<(), String> {
    let root = TempDir::new(&format!("insync-run{run}"));
    let voter = ClusterNode::start(&root, 1, Kind::Bootstrap, &[]);
    let mut learner = ClusterNode::prepare(&root, 4, Kind::DnsLearner, &[voter.http]);
    learner.spawn_until_http();
    let dns = learner.dns.expect("a DNS learner has a DNS address");
    let deadline = Instant::now() + RUN_TIMEOUT;
    loop {
        let answers = soa_reply(dns, "insync.test.", Duration::from_millis(100)).is_some();
        let healthy = http(voter.http, "GET", "/healthz", None, None)
            .is_some_and(|(status, _)| status == 200);
        if answers && healthy {
            break;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the DNS address did not answer within {RUN_TIMEOUT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let zone_file = root.write("insync.test.zone", IMPORTED);
    let (ok, output) = gslbctl(
        voter.http,
        &["zone", "import", zone_file.to_str().expect("utf-8 path")],
    );
    if !ok || !output.contains("INSYNC") {
        return Err(format!(
            "gslbctl zone import did not report INSYNC:\n{output}"
        ));
    }
    match soa_reply(dns, "insync.test.", Duration::from_secs(2)) {
        Some((0, answers)) if answers >= 1 => Ok(()),
        other => Err(format!(
            "right after INSYNC the learner answered (rcode, answers) = {other:?}\n\
             gslbctl: {output}\nlearner log:\n{}",
            learner.log.text()
        )),
    }
}

/// What does this test do: cold-starts a voter and a fresh DNS learner `RUNS` times (as many
/// as fit in `RUNS_BUDGET`), each time importing a zone with `gslbctl` as soon as the DNS
/// address answers and `/healthz` is ok, and asserts every run's learner answers the zone
/// right after `gslbctl` reports INSYNC. Prints the tally (`N of M runs`).
#[test]
fn every_dns_node_answers_an_import_right_after_insync() {
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut runs = 0;
    while runs < RUNS && started.elapsed() < RUNS_BUDGET {
        eprintln!("-- phase: cold start {runs}");
        if let Err(why) = cold_start(runs) {
            eprintln!("-- run {runs} failed: {why}");
            failures.push((runs, why));
        }
        runs += 1;
    }
    eprintln!(
        "-- {} of {runs} runs answered right after INSYNC ({:.0?} in all)",
        runs - failures.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed; the first: {:?}",
        failures.len(),
        failures.first()
    );
    assert!(runs >= 5, "only {runs} runs fit in {RUNS_BUDGET:?}");
}

/// What does this test do: a voter holds zone `cp.test.` and takes a stream of writes; a
/// fresh DNS learner joins meanwhile. Its DNS address is queried for the zone's SOA every few
/// milliseconds from the moment it starts: it must stay silent (and `/readyz` not ready),
/// then answer NOERROR, and never answer REFUSED. Once it answers, the next write must be
/// served by it once INSYNC.
#[test]
fn a_learner_joining_during_writes_never_refuses_a_held_zone() {
    let root = TempDir::new("insync-writes");
    let voter = ClusterNode::start(&root, 1, Kind::Bootstrap, &[]);
    common::cluster::wait_until(Duration::from_secs(20), "the zone in the voter", || {
        put_a(voter.http, "cp.test.", "probe.cp.test.", "192.0.2.9").is_ok()
    });

    eprintln!("-- phase: writes flow");
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, written, via) = (stop.clone(), written.clone(), voter.http);
        std::thread::spawn(move || {
            // Bounded: stops on the flag, or after 3000 writes at most.
            for index in 0..3000u32 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let name = format!("w{}.cp.test.", index % 50);
                let address = format!("192.0.2.{}", 100 + index % 100);
                if put_a(via, "cp.test.", &name, &address).is_ok() {
                    written.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };

    eprintln!("-- phase: a fresh DNS learner joins");
    let mut learner = ClusterNode::prepare(&root, 4, Kind::DnsLearner, &[voter.http]);
    learner.spawn_until_http();
    let dns = learner.dns.expect("a DNS learner has a DNS address");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut first_answer = None;
    let (mut silent, mut answered) = (0u32, 0u32);
    while Instant::now() < deadline {
        // Asked first: once /readyz says ready, DNS must already answer.
        let ready = learner.readyz().is_some_and(|(status, _)| status == 200);
        match soa_reply(dns, "cp.test.", Duration::from_millis(50)) {
            None => {
                // A reply slower than 50 ms on a loaded machine is not silence: ask again
                // with time to spare before calling a ready node silent.
                if ready {
                    assert!(
                        soa_reply(dns, "cp.test.", Duration::from_secs(2)).is_some(),
                        "/readyz was ready while DNS was silent"
                    );
                }
                silent += 1;
            }
            Some((rcode, answers)) => {
                assert_ne!(
                    rcode,
                    REFUSED,
                    "the learner answered REFUSED for cp.test. after {} writes; its log:\n{}",
                    written.load(Ordering::Relaxed),
                    learner.log.text()
                );
                assert_eq!((rcode, answers), (0, 1), "an SOA answer for cp.test.");
                answered += 1;
                let first = *first_answer.get_or_insert_with(Instant::now);
                // Keep querying a while after the first answer, writes still flowing.
                if first.elapsed() > Duration::from_secs(2) {
                    break;
                }
            }
        }
        // At most ~100 queries a second: under the default response rate limit (200 a
        // second per client /24 and name), which would otherwise drop or truncate replies.
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("the writer thread");
    eprintln!(
        "-- {silent} queries met silence, {answered} were answered; {} writes",
        written.load(Ordering::Relaxed)
    );
    assert!(
        first_answer.is_some(),
        "the learner never answered; its log:\n{}",
        learner.log.text()
    );

    eprintln!("-- phase: a write INSYNC is answered by the new learner");
    let version =
        put_a(voter.http, "cp.test.", "last.cp.test.", "192.0.2.77").expect("acknowledged");
    common::cluster::wait_until(Duration::from_secs(20), "the write INSYNC", || {
        voter.change_status(version).as_deref() == Some("INSYNC")
    });
    assert_eq!(learner.addresses("last.cp.test"), ["192.0.2.77"]);
}

/// How many times the demo is started for the script test (each run starts 11 processes).
const DEMO_RUNS: usize = 3;

/// `gslb demo` as a child, stopped (SIGTERM, then SIGKILL) on drop; its children follow it.
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        common::send_signal(self.0.id(), "TERM");
        if common::wait_exit(&mut self.0, Duration::from_secs(15)).is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A loopback TCP address free right now, for the demo's `--api`.
fn free_api_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("a bound address")
}

/// What does this test do: starts `gslb demo` `DEMO_RUNS` times and drives it as a script
/// would, without reading its banner: as soon as the first DNS node (`--dns`) answers anything
/// and the API's `/healthz` is ok, `gslbctl zone import` of a small zone (which waits for
/// INSYNC); right after, both DNS nodes (`--dns` and the port after it) must answer its SOA.
#[test]
fn a_script_driving_the_demo_sees_every_dns_node_answer_after_insync() {
    for run in 0..DEMO_RUNS {
        eprintln!("-- phase: demo run {run}");
        let dir = TempDir::new(&format!("insync-demo{run}"));
        let dns = common::dns_listen_address();
        let second_dns = SocketAddr::new(dns.ip(), dns.port() + 1);
        let api = free_api_address();
        let demo = Demo(
            std::process::Command::new(common::GSLB)
                .args(["demo", "--dns", &dns.to_string(), "--api", &api.to_string()])
                .args(["--token", TOKEN, "--data-dir"])
                .arg(&dir.0)
                .env_remove("RUST_LOG")
                .stdin(std::process::Stdio::null())
                .stdout(std::fs::File::create(dir.0.join("demo.out")).expect("demo.out"))
                .stderr(std::fs::File::create(dir.0.join("demo.err")).expect("demo.err"))
                .spawn()
                .expect("start gslb demo"),
        );
        let demo_log = || {
            let read = |name: &str| std::fs::read_to_string(dir.0.join(name)).unwrap_or_default();
            let tail = |name: &str| {
                let text = read(name);
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(40)..].join("\n")
            };
            format!(
                "{}\n{}\n-- dns-1.log:\n{}\n-- dns-2.log:\n{}",
                read("demo.out"),
                read("demo.err"),
                tail("dns-1.log"),
                tail("dns-2.log")
            )
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answers = soa_reply(dns, "insync.test.", Duration::from_millis(100)).is_some();
            let healthy =
                http(api, "GET", "/healthz", None, None).is_some_and(|(status, _)| status == 200);
            if answers && healthy {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "run {run}: the demo's DNS never answered"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let zone_file = dir.write("insync.test.zone", IMPORTED);
        let (ok, output) = gslbctl(
            api,
            &["zone", "import", zone_file.to_str().expect("utf-8 path")],
        );
        assert!(ok && output.contains("INSYNC"), "run {run}: {output}");
        for node in [dns, second_dns] {
            assert_eq!(
                soa_reply(node, "insync.test.", Duration::from_secs(2)),
                Some((0, 1)),
                "run {run}: DNS node {node} right after INSYNC; gslbctl said:\n{output}\nthe demo \
                 said:\n{}",
                demo_log()
            );
        }
        drop(demo);
    }
}

/// What does this test do: a DNS learner with `dns.serve_before_sync = true` whose seed
/// nobody answers answers DNS at once (REFUSED: it holds no zone yet) instead of staying
/// silent until it has joined, and says so in its log; SIGTERM stops it cleanly.
#[test]
fn serve_before_sync_answers_before_joining() {
    let dir = TempDir::new("insync-before-sync");
    let unreachable = free_api_address();
    let dns = common::dns_listen_address();
    let config = format!(
        "[control]\nnode_id = 7\ndata_dir = \"data\"\nlisten = \"127.0.0.1:0\"\n\
         cluster_secret = \"0123456789abcdef0123\"\nseeds = [\"{unreachable}\"]\n\
         [dns]\nlisten = [\"{dns}\"]\nudp_workers = 1\nserve_before_sync = true\n"
    );
    let path = dir.write("node.toml", &config);
    let mut child = std::process::Command::new(common::GSLB)
        .args(["serve", "--config"])
        .arg(&path)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start gslb serve");
    let log = common::LogLines::follow(child.stderr.take().expect("stderr"));
    let line = log.wait_for("listening on udp ", Duration::from_secs(20));
    let reply = soa_reply(dns, "cp.test.", Duration::from_secs(2));
    common::send_signal(child.id(), "TERM");
    let status = common::wait_exit(&mut child, Duration::from_secs(10));
    let _ = child.kill();
    let text = log.text();
    assert!(line.is_some(), "no listening on udp line:\n{text}");
    assert_eq!(reply.map(|(rcode, _)| rcode), Some(REFUSED), "{text}");
    assert!(text.contains("join failed"), "it has not joined:\n{text}");
    assert!(status.is_some_and(|status| status.success()), "{text}");
}
