//! The prober loop end to end: rise/fall timing against a real backend, a failing sink that
//! buffers and backs off and then resumes with one coalesced batch, and three vantages
//! reporting into a real `State` through `apply`, where the quorum rule and the lease decide.

mod backends;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use backends::{Behavior, HttpBackend};
use gslb_model::command::apply;
use gslb_model::model::{Actor, Check, HealthStatus, ObservationReport, State};
use gslb_model::{Command, StampedCommand};
use gslb_prober::sink::Batch;
use gslb_prober::{
    http_client, plan_probes, spawn_prober, MemorySink, ObservationSink, OutboxConfig, Probe,
    ProberConfig, SinkError,
};
use serde_json::json;

/// Fast timing for tests: transitions flushed after 20 ms, digests every 2 s, short backoff.
fn config(vantage: &str) -> ProberConfig {
    ProberConfig {
        outbox: OutboxConfig {
            digest_interval_ms: 2_000,
            flush_delay_ms: 20,
            backoff_min_ms: 100,
            backoff_max_ms: 800,
            max_batch: 1_000,
        },
        ..ProberConfig::new(vantage)
    }
}

/// An http check on `port` every 100 ms, rise 2, fall 3.
fn http_probe(port: u16) -> Probe {
    let check: Check = serde_json::from_value(json!({
        "id": "web-http", "subject": {"kind": "endpoint", "id": "web"},
        "kind": {"type": "http", "port": port, "path": "/"},
        "interval_ms": 100, "timeout_ms": 80, "rise": 2, "fall": 3
    }))
    .unwrap();
    Probe {
        check,
        address: Some("127.0.0.1".parse().unwrap()),
        drill: None,
    }
}

/// The verdicts of `check` in the order the sink accepted them, repeats collapsed.
fn verdicts(batches: &[Batch], check: &str) -> Vec<bool> {
    let mut seen: Vec<bool> = Vec::new();
    for report in batches
        .iter()
        .flat_map(|batch| &batch.observations)
        .filter(|report| report.check == check)
    {
        if seen.last() != Some(&report.up) {
            seen.push(report.up);
        }
    }
    seen
}

/// Rise and fall: up after two passes, down after three failures, each written once.
#[tokio::test]
async fn transitions_follow_rise_and_fall() {
    let ok = || Behavior::Respond(200, "text/plain", "ok".to_string());
    let backend = HttpBackend::start("127.0.0.1", 0, ok()).await;
    let sink = Arc::new(MemorySink::new());
    let mut slow_digest = config("eu");
    slow_digest.outbox.digest_interval_ms = 60_000;
    let prober = spawn_prober(
        slow_digest,
        vec![http_probe(backend.addr.port())],
        sink.clone(),
        http_client().unwrap(),
    );
    // Phase 1: first report, up, within the first offset + two runs + flush.
    assert!(
        sink.wait_for(Duration::from_secs(2), |batches| verdicts(
            batches, "web-http"
        ) == [true])
            .await,
        "no up transition: {:?}",
        sink.batches()
    );
    // Phase 2: the backend fails; three failures (≈ 300 ms) later one down transition.
    let failed_at = Instant::now();
    backend.set(Behavior::Respond(503, "text/plain", "no".to_string()));
    assert!(
        sink.wait_for(Duration::from_secs(2), |batches| {
            verdicts(batches, "web-http") == [true, false]
        })
        .await
    );
    let took = failed_at.elapsed();
    assert!(
        took >= Duration::from_millis(180) && took < Duration::from_millis(2_000),
        "down after {took:?}"
    );
    let down = sink
        .batches()
        .iter()
        .flat_map(|batch| batch.observations.clone())
        .find(|report| !report.up)
        .unwrap();
    assert_eq!(down.error.as_deref(), Some("status 503, expected 200-399"));
    // Phase 3: steady failure writes nothing (the digest is a minute away).
    let writes = sink.batches().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sink.batches().len(),
        writes,
        "steady state writes only digests"
    );
    // Phase 4: a removed check is forgotten.
    prober.set_probes(Vec::new());
    prober.shutdown().await;
}

/// A sink that fails buffers one entry per check, retries with growing delays, and resumes
/// with one batch; probing never stops meanwhile.
#[tokio::test]
async fn an_unavailable_sink_is_retried_with_backoff_and_no_flood() {
    let backend = HttpBackend::start(
        "127.0.0.1",
        0,
        Behavior::Respond(200, "text/plain", "ok".to_string()),
    )
    .await;
    let sink = Arc::new(MemorySink::new());
    sink.set_unavailable(true);
    let prober = spawn_prober(
        config("eu"),
        vec![http_probe(backend.addr.port())],
        sink.clone(),
        http_client().unwrap(),
    );
    // Flap the backend while the sink is down: many transitions, few attempts to send.
    for round in 0..6 {
        let status = if round % 2 == 0 { 503 } else { 200 };
        backend.set(Behavior::Respond(status, "text/plain", "x".to_string()));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let attempts = sink.attempts();
    // 3 s with backoff 100, 200, 400, 800, 800... ms: at most about 7 sends.
    assert!(
        (2..=9).contains(&attempts),
        "{attempts} send attempts in 3 s"
    );
    assert!(sink.batches().is_empty());
    sink.set_unavailable(false);
    assert!(
        sink.wait_for(Duration::from_secs(2), |batches| !batches.is_empty())
            .await
    );
    let first = &sink.batches()[0];
    assert_eq!(first.observations.len(), 1, "one coalesced entry per check");
    assert!(
        first.observations[0].up,
        "the latest verdict, not the history"
    );
    prober.shutdown().await;
}

/// A sink that never answers while `hang` is set (an API that accepts and stalls).
struct HangingSink {
    /// Stall every send while true.
    hang: std::sync::atomic::AtomicBool,
    /// Where sends go otherwise.
    inner: MemorySink,
}

impl ObservationSink for HangingSink {
    async fn send(
        &self,
        vantage: &str,
        observations: &[ObservationReport],
    ) -> Result<(), SinkError> {
        if self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.send(vantage, observations).await
    }
}

/// A sink that stalls is cut off by the send timeout and retried, so reporting resumes as
/// soon as it answers again.
#[tokio::test]
async fn a_stalled_sink_times_out_and_reporting_resumes() {
    let backend = HttpBackend::start(
        "127.0.0.1",
        0,
        Behavior::Respond(200, "text/plain", "ok".to_string()),
    )
    .await;
    let sink = Arc::new(HangingSink {
        hang: std::sync::atomic::AtomicBool::new(true),
        inner: MemorySink::new(),
    });
    let mut stalling = config("eu");
    stalling.send_timeout_ms = 200;
    let prober = spawn_prober(
        stalling,
        vec![http_probe(backend.addr.port())],
        sink.clone(),
        http_client().unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(sink.inner.batches().is_empty());
    sink.hang.store(false, Ordering::SeqCst);
    assert!(
        sink.inner
            .wait_for(Duration::from_secs(3), |batches| verdicts(
                batches, "web-http"
            ) == [true])
            .await,
        "reporting did not resume"
    );
    prober.shutdown().await;
}

/// Applies reports to a shared `State` like the leader would (wall-clock `at`).
struct StoreSink {
    /// The replicated state, as one node sees it.
    state: Mutex<State>,
    /// The next log index.
    index: AtomicU64,
}

/// Wall clock in unix millis.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

impl StoreSink {
    fn write(&self, command: Command) -> Result<(), SinkError> {
        let mut state = self.state.lock().unwrap();
        let index = self.index.fetch_add(1, Ordering::SeqCst);
        let stamped = StampedCommand {
            at: now_ms(),
            actor: Actor::new("prober"),
            command,
        };
        apply(&mut state, &stamped, index)
            .map(|_| ())
            .map_err(|error| SinkError::Rejected(error.to_string()))
    }
}

impl ObservationSink for StoreSink {
    async fn send(
        &self,
        vantage: &str,
        observations: &[ObservationReport],
    ) -> Result<(), SinkError> {
        self.write(Command::ReportObservations {
            vantage: vantage.to_string(),
            observations: observations.to_vec(),
        })
    }
}

/// Polls `condition` every 20 ms for up to 5 s, failing the test with `what`.
async fn wait(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Three vantages, one of which sees a different (failing) backend: the region stays up and
/// keeps its lease; when replication really fails, two vantages take it down and the lease
/// stops being renewed.
#[tokio::test]
async fn three_vantages_decide_through_the_store() {
    let status = |in_quorum: bool| {
        HttpBackend::json(
            200,
            json!({"replication": {"in_quorum": in_quorum, "lag_seconds": 0}}),
        )
    };
    // The "lying" vantage's view of the region: same port on another loopback address.
    let backends = HttpBackend::start_on_shared_port(&[
        ("127.0.0.1", status(true)),
        ("127.0.0.4", status(false)),
    ])
    .await;
    let [real, liar_view] = <[HttpBackend; 2]>::try_from(backends).ok().unwrap();
    let port = real.addr.port();

    let sink = Arc::new(StoreSink {
        state: Mutex::new(State::default()),
        index: AtomicU64::new(1),
    });
    for region in ["eu", "us", "ap"] {
        let region = serde_json::from_value(json!({
            "id": region,
            "location": {"lat_micro": 0, "lon_micro": 0, "country": "DE", "continent": "EU"}
        }))
        .unwrap();
        sink.write(Command::PutRegion { region }).unwrap();
    }
    let check: Check = serde_json::from_value(json!({
        "id": "eu-repl", "subject": {"kind": "region", "id": "eu"}, "target": "127.0.0.1",
        "kind": {"type": "replication", "port": port, "path": "/status",
                 "conditions": ["/replication/in_quorum == true"], "lease_ms": 3000},
        "interval_ms": 100, "timeout_ms": 80, "rise": 1, "fall": 2
    }))
    .unwrap();
    sink.write(Command::PutCheck {
        check: Box::new(check),
    })
    .unwrap();

    let mut probers = Vec::new();
    for vantage in ["eu", "us", "ap"] {
        let mut probes = plan_probes(&sink.state.lock().unwrap(), vantage);
        assert_eq!(probes.len(), 1);
        if vantage == "ap" {
            probes[0].address = Some(liar_view.addr.ip());
        }
        probers.push(spawn_prober(
            config(vantage),
            probes,
            sink.clone(),
            http_client().unwrap(),
        ));
    }
    let view = || sink.state.lock().unwrap().health_view(now_ms());
    // Phase 1: two honest vantages say up, the liar says down: up, with a valid lease.
    wait("all three vantages voted", || {
        let votes = view().checks["eu-repl"].votes;
        votes.up + votes.down == 3
    })
    .await;
    let health = view();
    assert_eq!(health.regions["eu"].deep, HealthStatus::Up, "{health:?}");
    assert_eq!(health.checks["eu-repl"].votes.down, 1);
    assert!(health.regions["eu"].lease.unwrap().is_valid(now_ms()));

    // Phase 2: replication really fails: down by quorum, and the lease runs out by itself.
    real.set(status(false));
    wait("the region is down", || {
        view().regions["eu"].deep == HealthStatus::Down
    })
    .await;
    let lease = view().regions["eu"].lease.unwrap();
    wait("the lease expired", || !lease.is_valid(now_ms())).await;
    assert_eq!(
        view().regions["eu"].lease,
        Some(lease),
        "nothing renewed the lease without a quorum"
    );
    for prober in probers {
        prober.shutdown().await;
    }
}
