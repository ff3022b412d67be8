//! Black-box test of the prober role: real `gslb serve` processes on loopback — a bootstrap
//! voter, a DNS learner and three prober nodes (learners with `[prober]`, one per region) —
//! probing HTTP backends this test runs itself (`/healthz` answers 200, or 503, or the
//! listener is closed so connections are refused). Regions, endpoints, http checks, a
//! prober-scoped token and a failover GSLB record are written through the REST API; the
//! answers are read with real `dig` from the DNS learner. Nothing but the probers reports
//! health until the last phase, where one vantage lies.
//!
//! Every wait is on a condition with a deadline and a reason; every process is killed on
//! `Drop`, and every backend thread stops on `Drop`.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::cluster::{http, json_number, leader_of, wait_until, ClusterNode, Kind, TOKEN};
use common::TempDir;

/// How long setup steps (start, join, first verdicts) may take.
const CONVERGE: Duration = Duration::from_secs(30);

/// The secret of the token the prober of `region` reports with (scope `prober`, vantage
/// `region`): each prober has its own, and it speaks only for its region.
fn prober_token(region: &str) -> String {
    format!("test-prober-token-0123456789-{region}")
}

/// Check timing: an attempt every second, 500 ms each, up after 2 successes, down after 2
/// failures.
const INTERVAL_MS: u64 = 1000;
const FALL: u64 = 2;

/// The longest a dead backend may keep its answer: interval × fall, one more interval for
/// the attempt in progress, and replication and plan compile slack.
const DETECTION_LIMIT: Duration = Duration::from_secs(6);

/// The regions, the loopback address their endpoint answers with (and its backend listens
/// on), in failover order.
const REGIONS: [(&str, &str); 3] = [
    ("eu", "127.0.0.11"),
    ("us", "127.0.0.12"),
    ("ap", "127.0.0.13"),
];

/// The backend answers `/healthz` with 200.
const HEALTHY: u8 = 0;
/// The backend answers 503.
const FAILING: u8 = 1;
/// The backend's listener is closed: connections are refused.
const DEAD: u8 = 2;

/// A local HTTP backend on its own thread, switchable between `HEALTHY`, `FAILING` and
/// `DEAD` (the port stays the same: the listener is re-bound when it comes back).
struct Backend {
    /// Where it listens (while not dead).
    address: SocketAddr,
    /// `HEALTHY`, `FAILING` or `DEAD`.
    mode: Arc<AtomicU8>,
    /// Set on drop to stop the thread.
    stop: Arc<AtomicBool>,
    /// The accept loop.
    thread: Option<JoinHandle<()>>,
}

impl Backend {
    /// Starts a healthy backend on `ip`, port 0.
    fn start(ip: &str) -> Backend {
        let ip: IpAddr = ip.parse().unwrap();
        let listener = TcpListener::bind((ip, 0)).expect("bind a loopback backend");
        let address = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(HEALTHY));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (mode, stop) = (mode.clone(), stop.clone());
            std::thread::spawn(move || run_backend(Some(listener), address, &mode, &stop))
        };
        Backend {
            address,
            mode,
            stop,
            thread: Some(thread),
        }
    }

    /// Switches what the backend does from now on.
    fn set(&self, mode: u8) {
        eprintln!("-- backend {} set to {}", self.address, mode_name(mode));
        self.mode.store(mode, Ordering::SeqCst);
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn mode_name(mode: u8) -> &'static str {
    match mode {
        HEALTHY => "healthy (200)",
        FAILING => "failing (503)",
        _ => "dead (connection refused)",
    }
}

/// The backend's accept loop: polls a non-blocking listener, closes it while `DEAD` and
/// binds the same address again after.
fn run_backend(
    mut listener: Option<TcpListener>,
    address: SocketAddr,
    mode: &AtomicU8,
    stop: &AtomicBool,
) {
    if let Some(listener) = &listener {
        listener.set_nonblocking(true).unwrap();
    }
    while !stop.load(Ordering::SeqCst) {
        let current = mode.load(Ordering::SeqCst);
        if current == DEAD {
            listener = None;
        } else if listener.is_none() {
            listener = TcpListener::bind(address).ok();
            if let Some(listener) = &listener {
                listener.set_nonblocking(true).unwrap();
            }
        }
        match listener.as_ref().map(TcpListener::accept) {
            Some(Ok((stream, _))) => answer(stream, current),
            _ => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Reads one request and answers it as `mode` says, then closes.
fn answer(mut stream: TcpStream, mode: u8) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(read) => request.extend_from_slice(&buffer[..read]),
        }
    }
    let reply = if mode == HEALTHY {
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
    } else {
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nConnection: close\r\n\r\ndown\n"
    };
    let _ = stream.write_all(reply.as_bytes());
}

/// The cluster of this test and its backends.
struct Setup {
    voter: ClusterNode,
    learner: ClusterNode,
    /// One prober node per region, in `REGIONS` order.
    probers: Vec<ClusterNode>,
    /// One backend per region, in `REGIONS` order.
    backends: Vec<Backend>,
}

impl Setup {
    /// Starts everything, writes the model through the API and waits until every prober
    /// runs the three checks.
    fn start(root: &TempDir) -> Setup {
        let backends: Vec<Backend> = REGIONS.iter().map(|(_, ip)| Backend::start(ip)).collect();

        eprintln!("-- phase: start a voter and a DNS learner");
        let voter = ClusterNode::start(root, 1, Kind::Bootstrap, &[]);
        wait_until(CONVERGE, "voter 1 to lead its new cluster", || {
            leader_of(&voter) == Some(1)
        });
        let learner = ClusterNode::start_dns_learner_with(root, 2, &[voter.http], "");
        wait_until(CONVERGE, "the learner to answer www.cp.test", || {
            learner.addresses("www.cp.test") == ["192.0.2.10"]
        });

        eprintln!("-- phase: a token per prober, regions, endpoints and http checks");
        for ((region, ip), backend) in REGIONS.iter().zip(&backends) {
            write(
                voter.http,
                TOKEN,
                "POST",
                "/v1/tokens",
                &format!(
                    r#"{{"id":"prober-{region}","scopes":["prober"],"vantage":"{region}",
                        "secret":"{}"}}"#,
                    prober_token(region)
                ),
            );
            write(
                voter.http,
                TOKEN,
                "POST",
                "/v1/regions",
                &format!(
                    r#"{{"id":"{region}","location":{{"lat":0,"lon":0,"country":"DE","continent":"EU"}}}}"#
                ),
            );
            write(
                voter.http,
                TOKEN,
                "POST",
                "/v1/endpoints",
                &format!(r#"{{"id":"{region}-1","region":"{region}","address":"{ip}"}}"#),
            );
            write(
                voter.http,
                TOKEN,
                "POST",
                "/v1/checks",
                &format!(
                    r#"{{"id":"{region}-1-http","endpoint":"{region}-1",
                        "kind":{{"type":"http","port":{},"path":"/healthz"}},
                        "interval_ms":{INTERVAL_MS},"timeout_ms":500,"rise":2,"fall":{FALL}}}"#,
                    backend.address.port()
                ),
            );
        }

        eprintln!("-- phase: start one prober node per region");
        let probers: Vec<ClusterNode> = REGIONS
            .iter()
            .enumerate()
            .map(|(index, (region, _))| {
                let prober = format!(
                    "[prober]\nvantage = \"{region}\"\ntoken = \"{}\"\n",
                    prober_token(region)
                );
                ClusterNode::start_learner_with(root, 3 + index as u64, &[voter.http], &prober)
            })
            .collect();
        for prober in &probers {
            assert!(
                prober.log.wait_for("probes=3", CONVERGE).is_some(),
                "{} never planned the 3 checks; its log:\n{}",
                prober.name,
                prober.log.text()
            );
        }
        Setup {
            voter,
            learner,
            probers,
            backends,
        }
    }

    /// The A addresses the DNS learner answers for `failover.cp.test`.
    fn answers(&self) -> Vec<String> {
        self.learner.addresses("failover.cp.test")
    }

    /// Waits until the learner answers `expected`, polling every 20 ms; the time it took.
    fn time_until_answer(&self, expected: &str, limit: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if self.answers() == [expected] {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "failover.cp.test still answers {:?} after {limit:?}, want {expected}; \
                 health: {}",
                self.answers(),
                health(self.voter.http)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One write through the API of `via` with `token`; panics naming the status and body
/// unless it is acknowledged. Returns the new state version.
fn write(via: SocketAddr, token: &str, method: &str, path: &str, body: &str) -> u64 {
    let (status, reply) = http(via, method, path, Some(token), Some(body))
        .unwrap_or_else(|| panic!("{method} {path}: no reply"));
    assert!(
        status == 200 || status == 201,
        "{method} {path} {body}: status {status}: {reply}"
    );
    json_number(&reply, "version").unwrap_or_else(|| panic!("no version in {reply}"))
}

/// `GET /v1/health` on `via`, as JSON text (empty when it fails).
fn health(via: SocketAddr) -> String {
    match http(via, "GET", "/v1/health", Some(TOKEN), None) {
        Some((200, body)) => body,
        _ => String::new(),
    }
}

/// Endpoint `id`'s status and up/down votes in `/v1/health` on `via`.
fn endpoint_health(via: SocketAddr, id: &str) -> Option<(String, u64, u64)> {
    let json: serde_json::Value = serde_json::from_str(&health(via)).ok()?;
    let endpoint = json["endpoints"]
        .as_array()?
        .iter()
        .find(|endpoint| endpoint["id"] == id)?;
    Some((
        endpoint["status"].as_str()?.to_string(),
        endpoint["votes"]["up"].as_u64()?,
        endpoint["votes"]["down"].as_u64()?,
    ))
}

/// What does this test do: three prober nodes (eu, us, ap) run the http checks they read
/// from their own replicas and report through the API; a failover record (eu, then us)
/// answers eu once all three see every backend up. When eu's backend is killed (connection
/// refused) the answer moves to us within interval × fall + 1 s + slack (measured, printed,
/// at most 6 s), and comes back after rise when it returns; the same holds for a backend
/// answering 503. Then one vantage lies — ap's prober is stopped (SIGTERM, clean exit) and
/// ap reports eu down by hand — and nothing changes: two fresh up votes of three keep eu in.
#[test]
fn probers_move_a_failover_record_by_quorum() {
    let root = TempDir::new("prober-health");
    let mut setup = Setup::start(&root);
    let voter = setup.voter.http;

    eprintln!("-- phase: a failover record answers eu once the probers see it up");
    write(
        voter,
        TOKEN,
        "POST",
        "/v1/zones/cp.test./gslb-records",
        r#"{"name":"failover","type":"A","ttl":30,"failover_ttl":5,
            "policy":{"failover":[{"region":"eu"},{"region":"us"}]}}"#,
    );
    for (region, _) in REGIONS {
        let id = format!("{region}-1");
        wait_until(CONVERGE, &format!("{id} up by 3 probers"), || {
            endpoint_health(voter, &id) == Some(("up".to_string(), 3, 0))
        });
    }
    setup.time_until_answer("127.0.0.11", CONVERGE);

    for (how, mode) in [("killed", DEAD), ("answering 503", FAILING)] {
        eprintln!("-- phase: eu's backend {how}");
        setup.backends[0].set(mode);
        let detected = setup.time_until_answer("127.0.0.12", DETECTION_LIMIT * 3);
        eprintln!(
            "-- measured: eu backend {how} -> answer moved to us in {} ms \
             (interval {INTERVAL_MS} ms × fall {FALL})",
            detected.as_millis()
        );
        assert!(
            detected <= DETECTION_LIMIT,
            "the answer moved after {detected:?}, want at most {DETECTION_LIMIT:?}"
        );
        let (status, _, down) = endpoint_health(voter, "eu-1").expect("eu-1 health");
        assert_eq!(status, "down", "eu-1 after its backend was {how}");
        assert!(down >= 2, "a quorum of vantages saw eu-1 down, got {down}");

        eprintln!("-- phase: eu's backend healthy again");
        setup.backends[0].set(HEALTHY);
        let recovered = setup.time_until_answer("127.0.0.11", DETECTION_LIMIT * 3);
        eprintln!(
            "-- measured: eu backend back -> answer back to eu in {} ms (rise 2)",
            recovered.as_millis()
        );
        assert!(
            recovered <= DETECTION_LIMIT,
            "the answer came back after {recovered:?}, want at most {DETECTION_LIMIT:?}"
        );
    }

    eprintln!("-- phase: one vantage lies; a quorum of the others keeps eu in");
    let ap = &mut setup.probers[2];
    ap.stop();
    assert!(
        ap.log.text().contains("prober stopped"),
        "the ap prober stopped its role on SIGTERM:\n{}",
        ap.log.text()
    );
    write(
        setup.probers[0].http,
        &prober_token("ap"),
        "POST",
        "/v1/observations",
        r#"{"vantage":"ap","observations":[{"check":"eu-1-http","up":false,"error":"lying"}]}"#,
    );
    wait_until(CONVERGE, "eu-1 to count ap's down vote", || {
        endpoint_health(voter, "eu-1") == Some(("up".to_string(), 2, 1))
    });
    let watch_until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < watch_until {
        assert_eq!(
            setup.answers(),
            ["127.0.0.11"],
            "one lying vantage moved the answer"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    eprintln!("-- phase: one prober's token cannot speak for the other vantages");
    // us's token reporting eu down as eu and ap would make a quorum of three "down" votes
    // (the drain of a healthy region); reporting as another vantage that a dead region is
    // up is how it would keep a quorum-lost region in. Both are refused, and audited.
    let us = prober_token("us");
    for (vantage, up) in [("eu", false), ("ap", false), ("eu", true)] {
        let body = format!(
            r#"{{"vantage":"{vantage}","observations":[{{"check":"eu-1-http","up":{up}}}]}}"#
        );
        let (status, reply) = http(voter, "POST", "/v1/observations", Some(&us), Some(&body))
            .expect("the voter answers");
        assert_eq!(status, 403, "us's token reported as {vantage}: {reply}");
        assert!(
            reply.contains(&format!(
                r#"may report only for vantage \"us\", not \"{vantage}\""#
            )),
            "the refusal names both vantages: {reply}"
        );
    }
    let (_, audit) = http(voter, "GET", "/v1/audit", Some(TOKEN), None).expect("audit");
    assert!(
        audit.contains("refused report_observations eu: token:prober-us may report only"),
        "the refusal is in the audit log: {audit}"
    );
    let watch_until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < watch_until {
        assert_eq!(
            setup.answers(),
            ["127.0.0.11"],
            "a refused report moved the answer"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What does this test do: a prober node whose `[prober]` names the voter's API explicitly
/// but holds a token the cluster does not know runs its check and is refused (401): the
/// refusal is logged at warn as rejected (not retried as an outage), and the check's health
/// stays unknown, since nothing it says is taken.
#[test]
fn a_prober_with_an_unknown_token_is_rejected_and_changes_nothing() {
    let root = TempDir::new("prober-bad-token");
    let backend = Backend::start("127.0.0.1");
    let voter = ClusterNode::start(&root, 1, Kind::Bootstrap, &[]);
    wait_until(CONVERGE, "voter 1 to lead its new cluster", || {
        leader_of(&voter) == Some(1)
    });
    write(
        voter.http,
        TOKEN,
        "POST",
        "/v1/regions",
        r#"{"id":"eu","location":{"lat":0,"lon":0,"country":"DE","continent":"EU"}}"#,
    );
    write(
        voter.http,
        TOKEN,
        "POST",
        "/v1/endpoints",
        r#"{"id":"eu-1","region":"eu","address":"127.0.0.1"}"#,
    );
    write(
        voter.http,
        TOKEN,
        "POST",
        "/v1/checks",
        &format!(
            r#"{{"id":"eu-1-http","endpoint":"eu-1","kind":{{"type":"http","port":{},"path":"/healthz"}},
                "interval_ms":500,"timeout_ms":400,"rise":1,"fall":1}}"#,
            backend.address.port()
        ),
    );
    let prober = format!(
        "[prober]\nvantage = \"eu\"\napi = \"http://{}\"\ntoken = \"not-a-known-token-0123456789\"\n",
        voter.http
    );
    let prober = ClusterNode::start_learner_with(&root, 2, &[voter.http], &prober);
    let line = prober
        .log
        .wait_for("observations rejected", CONVERGE)
        .unwrap_or_else(|| panic!("no rejection in the prober's log:\n{}", prober.log.text()));
    eprintln!("-- prober log: {line}");
    assert!(line.contains("WARN"), "logged at warn: {line}");
    assert!(line.contains("401"), "names the status: {line}");
    let (status, up, down) = endpoint_health(voter.http, "eu-1").expect("eu-1 health");
    assert_eq!((status.as_str(), up, down), ("unknown", 0, 0));
}
