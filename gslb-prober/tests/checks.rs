//! Every check kind against real local backends on 127.0.0.x: healthy, failing, hanging,
//! garbage and endless answers each give a clear verdict within the check's timeout.

mod backends;

use std::time::{Duration, Instant};

use backends::{dns_backend, Behavior, DnsBehavior, HttpBackend};
use gslb_model::model::Check;
use gslb_prober::{execute, http_client, Attempt, Probe};
use serde_json::json;

/// A probe of `kind` at `address` with a 1 s interval and `timeout_ms`.
fn probe(kind: serde_json::Value, address: Option<&str>, timeout_ms: u64) -> Probe {
    let check: Check = serde_json::from_value(json!({
        "id": "c", "subject": {"kind": "endpoint", "id": "e"},
        "kind": kind, "interval_ms": 1000, "timeout_ms": timeout_ms
    }))
    .expect("a valid check");
    Probe {
        check,
        address: address.map(|address| address.parse().unwrap()),
        drill: None,
    }
}

/// Runs `probe` once, asserting it finishes within its timeout plus a margin.
async fn attempt(probe: &Probe) -> Attempt {
    let client = http_client().unwrap();
    let started = Instant::now();
    let attempt = execute(probe, &client).await;
    let limit = Duration::from_millis(probe.check.timeout_ms + 200);
    assert!(
        started.elapsed() < limit,
        "the attempt took {:?}",
        started.elapsed()
    );
    attempt
}

/// Asserts a failure whose reason contains `reason`.
fn assert_fails(attempt: &Attempt, reason: &str) {
    assert!(!attempt.ok, "expected a failure, got {attempt:?}");
    let error = attempt.error.as_deref().unwrap_or("");
    assert!(error.contains(reason), "{error:?} does not say {reason:?}");
}

fn http_kind(port: u16, extra: serde_json::Value) -> serde_json::Value {
    let mut kind = json!({"type": "http", "port": port, "path": "/healthz"});
    kind.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    kind
}

/// http: status, body substring and regex, headers, Host; failing, hanging, garbage and
/// endless backends.
#[tokio::test]
async fn http_checks_judge_status_body_and_misbehaviour() {
    let backend = HttpBackend::start(
        "127.0.0.1",
        0,
        Behavior::Respond(200, "text/plain", "status: ok\nversion 42".to_string()),
    )
    .await;
    let port = backend.addr.port();
    let plain = probe(http_kind(port, json!({})), Some("127.0.0.1"), 500);
    let passed = attempt(&plain).await;
    assert!(passed.ok && passed.rtt_us.is_some(), "{passed:?}");

    let expectations = probe(
        http_kind(
            port,
            json!({"host": "www.example.com", "headers": {"x-probe": "1"},
                   "body_contains": "status: ok", "body_regex": "version \\d+",
                   "expect_headers": {"x-backend": "test"}}),
        ),
        Some("127.0.0.1"),
        500,
    );
    assert!(attempt(&expectations).await.ok);
    let request = backend.last_request.lock().unwrap().to_lowercase();
    assert!(request.contains("host: www.example.com"), "{request}");
    assert!(request.contains("x-probe: 1"), "{request}");

    let missing = probe(
        http_kind(port, json!({"body_contains": "status: degraded"})),
        Some("127.0.0.1"),
        500,
    );
    assert_fails(
        &attempt(&missing).await,
        "\"status: degraded\" not found in the body",
    );
    let bad_regex = probe(
        http_kind(port, json!({"body_regex": "(unclosed"})),
        Some("127.0.0.1"),
        500,
    );
    assert_fails(&attempt(&bad_regex).await, "does not parse");

    backend.set(Behavior::Respond(503, "text/plain", "down".to_string()));
    assert_fails(&attempt(&plain).await, "status 503, expected 200-399");
    let ranges = probe(
        http_kind(port, json!({"status": [{"from": 500, "to": 503}]})),
        Some("127.0.0.1"),
        500,
    );
    assert!(
        attempt(&ranges).await.ok,
        "status ranges are the operator's"
    );

    backend.set(Behavior::Hang);
    assert_fails(&attempt(&plain).await, "timed out");

    backend.set(Behavior::Garbage);
    let garbage = attempt(&plain).await;
    assert!(!garbage.ok && garbage.error.is_some(), "{garbage:?}");

    backend.set(Behavior::Endless);
    assert!(
        attempt(&plain).await.ok,
        "no body expectation: the status decides"
    );
    assert_fails(
        &attempt(&missing).await,
        "not found in the first 65536 bytes of the body",
    );

    let refused = probe(http_kind(1, json!({})), Some("127.0.0.1"), 500);
    assert_fails(&attempt(&refused).await, "GET 127.0.0.1:1/healthz");
}

/// https: SNI and certificate name from `host`, a custom CA, skip-verify, and the failures
/// when the certificate does not fit.
#[tokio::test]
async fn https_checks_verify_against_the_given_ca() {
    let backend = HttpBackend::start_tls(Behavior::Respond(
        200,
        "text/plain",
        "secure ok".to_string(),
    ))
    .await;
    let port = backend.addr.port();
    let ca = HttpBackend::test_ca_pem();
    let https = |extra: serde_json::Value| {
        let mut kind = json!({"type": "https", "port": port, "path": "/healthz",
                              "body_contains": "secure ok"});
        kind.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        probe(kind, Some("127.0.0.1"), 1_000)
    };
    let named = attempt(&https(json!({"host": "www.example.test", "ca_pem": ca}))).await;
    assert!(named.ok, "{named:?}");
    let request = backend.last_request.lock().unwrap().to_lowercase();
    assert!(request.contains("host: www.example.test"), "{request}");
    let by_address = attempt(&https(json!({"ca_pem": ca}))).await;
    assert!(
        by_address.ok,
        "the certificate names 127.0.0.1 too: {by_address:?}"
    );
    assert!(
        attempt(&https(
            json!({"host": "www.example.test", "skip_verify": true})
        ))
        .await
        .ok
    );

    let untrusted = attempt(&https(json!({"host": "www.example.test"}))).await;
    println!("untrusted: {:?}", untrusted.error);
    assert_fails(&untrusted, "certificate");
    let wrong_name = attempt(&https(json!({"host": "other.example.test", "ca_pem": ca}))).await;
    assert_fails(&wrong_name, "certificate");
    let plain = HttpBackend::start(
        "127.0.0.1",
        0,
        Behavior::Respond(200, "text/plain", "secure ok".to_string()),
    )
    .await;
    let mut not_tls = https(json!({"ca_pem": ca}));
    if let gslb_model::model::CheckKind::Https(params) = &mut not_tls.check.kind {
        params.port = Some(plain.addr.port());
    }
    let not_tls = attempt(&not_tls).await;
    assert!(!not_tls.ok, "{not_tls:?}");
}

/// tcp: connect, send/expect, refused, silent.
#[tokio::test]
async fn tcp_checks_connect_send_and_expect() {
    let banner = HttpBackend::start(
        "127.0.0.1",
        0,
        Behavior::Respond(200, "text/plain", "PONG".to_string()),
    )
    .await;
    let port = banner.addr.port();
    let connect = probe(json!({"type": "tcp", "port": port}), Some("127.0.0.1"), 500);
    assert!(attempt(&connect).await.ok);
    let ping = probe(
        json!({"type": "tcp", "port": port, "send": "PING\r\n\r\n", "expect": "PONG"}),
        Some("127.0.0.1"),
        500,
    );
    assert!(attempt(&ping).await.ok);
    let wrong = probe(
        json!({"type": "tcp", "port": port, "send": "PING\r\n\r\n", "expect": "HELLO"}),
        Some("127.0.0.1"),
        500,
    );
    assert_fails(&attempt(&wrong).await, "without \"HELLO\"");
    banner.set(Behavior::Hang);
    assert_fails(&attempt(&wrong).await, "timed out");
    let refused = probe(json!({"type": "tcp", "port": 1}), Some("127.0.0.1"), 500);
    assert_fails(&attempt(&refused).await, "connect to 127.0.0.1:1");
}

/// replication: the conditions flip the verdict; broken documents fail with the reason.
#[tokio::test]
async fn replication_checks_follow_the_status_document() {
    let status = |in_quorum: bool, lag: u32| {
        HttpBackend::json(
            200,
            json!({"replication": {"in_quorum": in_quorum, "lag_seconds": lag}}),
        )
    };
    let backend = HttpBackend::start("127.0.0.1", 0, status(true, 1)).await;
    let replication = probe(
        json!({"type": "replication", "port": backend.addr.port(), "path": "/status",
               "conditions": ["/replication/in_quorum == true", "/replication/lag_seconds < 5"]}),
        Some("127.0.0.1"),
        500,
    );
    assert!(attempt(&replication).await.ok);
    backend.set(status(false, 1));
    assert_fails(
        &attempt(&replication).await,
        "/replication/in_quorum == true does not hold (found false)",
    );
    backend.set(status(true, 9));
    assert_fails(
        &attempt(&replication).await,
        "/replication/lag_seconds < 5 does not hold (found 9)",
    );
    backend.set(HttpBackend::json(200, json!({"other": 1})));
    assert_fails(
        &attempt(&replication).await,
        "/replication/in_quorum: not found in the document",
    );
    backend.set(Behavior::Respond(200, "text/html", "<html>".to_string()));
    assert_fails(&attempt(&replication).await, "body is not json");
    backend.set(HttpBackend::json(
        503,
        json!({"replication": {"in_quorum": true, "lag_seconds": 0}}),
    ));
    assert_fails(&attempt(&replication).await, "status 503, expected 2xx");
    backend.set(Behavior::Endless);
    assert_fails(&attempt(&replication).await, "body exceeds 65536 bytes");
    backend.set(Behavior::Hang);
    assert_fails(&attempt(&replication).await, "timed out");
}

/// kube-local: nodes on 127.0.0.1-3 share the healthCheckNodePort; the count of nodes with
/// local endpoints is the capacity.
#[tokio::test]
async fn kube_local_counts_nodes_with_local_endpoints() {
    let node = |local: u32| {
        let status = if local > 0 { 200 } else { 503 };
        HttpBackend::json(
            status,
            json!({"service": {"namespace": "web", "name": "ingress"}, "localEndpoints": local,
                   "serviceProxyHealthy": true}),
        )
    };
    let backends = HttpBackend::start_on_shared_port(&[
        ("127.0.0.1", node(2)),
        ("127.0.0.2", node(1)),
        ("127.0.0.3", node(0)),
    ])
    .await;
    let [first, second, third] = <[HttpBackend; 3]>::try_from(backends).ok().unwrap();
    let port = first.addr.port();
    let kube = probe(
        json!({"type": "kube-local", "port": port,
               "nodes": ["127.0.0.1", "127.0.0.2", "127.0.0.3"]}),
        None,
        500,
    );
    let healthy = attempt(&kube).await;
    assert!(healthy.ok, "{healthy:?}");
    assert_eq!(healthy.capacity, Some(2));

    first.set(node(0));
    second.set(Behavior::Hang);
    let empty = attempt(&kube).await;
    assert_fails(&empty, "0 of 3 nodes have local endpoints, need 1");
    assert_fails(&empty, "127.0.0.2:");
    assert_fails(&empty, "timed out after 400 ms");
    assert_fails(&empty, "127.0.0.3:");
    assert_eq!(empty.capacity, Some(0));

    third.set(node(4));
    let one = attempt(&kube).await;
    assert!(one.ok && one.capacity == Some(1), "{one:?}");
    third.set(Behavior::Garbage);
    assert_eq!(attempt(&kube).await.capacity, Some(0));
}

/// dns: an answer passes; NXDOMAIN, garbage and silence fail with the reason.
#[tokio::test]
async fn dns_checks_need_an_answer() {
    let kind = |port: u16, expect_answer: bool| {
        json!({"type": "dns", "port": port, "name": "www.example.com.",
               "expect_answer": expect_answer})
    };
    let answering = dns_backend(DnsBehavior::Answer).await;
    let passed = attempt(&probe(kind(answering.port(), true), Some("127.0.0.1"), 500)).await;
    assert!(passed.ok && passed.rtt_us.is_some(), "{passed:?}");
    let nxdomain = dns_backend(DnsBehavior::NxDomain).await;
    assert_fails(
        &attempt(&probe(kind(nxdomain.port(), true), Some("127.0.0.1"), 500)).await,
        "answered rcode NXDomain for www.example.com. A",
    );
    assert!(
        attempt(&probe(kind(nxdomain.port(), false), Some("127.0.0.1"), 500))
            .await
            .ok
    );
    let garbage = dns_backend(DnsBehavior::Garbage).await;
    assert_fails(
        &attempt(&probe(kind(garbage.port(), true), Some("127.0.0.1"), 500)).await,
        "are not a dns message",
    );
    let silent = dns_backend(DnsBehavior::Silent).await;
    assert_fails(
        &attempt(&probe(kind(silent.port(), true), Some("127.0.0.1"), 300)).await,
        "timed out after 300 ms",
    );
}

/// A probe under a running `fail` drill fails at once with the drill's reason, without
/// connecting (the target here would pass); once the drill's end has passed it runs again.
#[tokio::test]
async fn a_fail_drill_fails_the_probe_until_its_end() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut failing = probe(json!({"type": "tcp", "port": port}), Some("127.0.0.1"), 500);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    failing.drill = Some(gslb_prober::probe::SimulatedFailure {
        drill: "d1".into(),
        region: "eu".into(),
        until_ms: now + 60_000,
    });
    let failed = attempt(&failing).await;
    assert!(!failed.ok);
    assert_eq!(
        failed.error.as_deref(),
        Some("drill d1: region eu failed on purpose (fail mode)")
    );
    failing.drill.as_mut().unwrap().until_ms = now - 1;
    let passed = attempt(&failing).await;
    assert!(passed.ok, "{passed:?}");
}
