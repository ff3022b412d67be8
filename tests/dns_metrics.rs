//! Black-box test of the DNS metrics on `/metrics`: a bootstrap voter and a DNS learner run
//! as real processes, regions, endpoints, an override and GSLB records are written through
//! the REST API, the learner is asked with real `dig` (UDP and TCP) and one raw garbage
//! packet, and its `/metrics` (scraped with the token) must show exactly those queries by
//! transport, RCODE and type, and exactly those GSLB decisions, causes and regions, as
//! differences between a scrape before and one after.
//!
//! Every wait is on a condition with a deadline and a reason; every process is killed on
//! `Drop`.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use common::cluster::{api_get, http, leader_of, wait_until, ClusterNode, Kind, TOKEN};
use common::{dig, reply_header, udp_exchange, TempDir};

/// How long a write may take to show in the learner's answers.
const CONVERGE: Duration = Duration::from_secs(20);

/// One scrape: series (`name{label="value",...}` with labels sorted) → value.
type Scrape = BTreeMap<String, f64>;

/// Parses OpenMetrics text: every sample line into the map, labels sorted by name so a
/// series has one spelling. Panics on a line it cannot read.
fn parse_exposition(text: &str) -> Scrape {
    let mut samples = Scrape::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("a sample line without a value: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("a sample value that is not a number: {line}"));
        let key = match series.split_once('{') {
            None => series.to_string(),
            Some((name, labels)) => {
                let labels = labels
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unterminated labels: {line}"));
                let mut pairs = split_labels(labels);
                pairs.sort();
                format!("{name}{{{}}}", pairs.join(","))
            }
        };
        samples.insert(key, value);
    }
    samples
}

/// Splits `a="x",b="y"` at the commas outside quotes.
fn split_labels(labels: &str) -> Vec<String> {
    let mut pairs = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in labels.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                pairs.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.is_empty() {
        pairs.push(current);
    }
    pairs
}

/// The key of series `name` with `labels` (any order).
fn series(name: &str, labels: &[(&str, &str)]) -> String {
    let mut pairs: Vec<String> = labels
        .iter()
        .map(|(label, value)| format!("{label}=\"{value}\""))
        .collect();
    pairs.sort();
    format!("{name}{{{}}}", pairs.join(","))
}

/// Scrapes `/metrics` on `http` with the token.
fn scrape(http_addr: SocketAddr) -> (Scrape, String) {
    let (status, body) = api_get(http_addr, "/metrics").expect("a reply from /metrics");
    assert_eq!(status, 200, "/metrics: {body}");
    (parse_exposition(&body), body)
}

/// How much every series named `name` moved between two scrapes (absent = 0 before).
fn moved(before: &Scrape, after: &Scrape, name: &str) -> BTreeMap<String, f64> {
    let prefix = format!("{name}{{");
    after
        .iter()
        .filter(|(key, _)| key.starts_with(&prefix))
        .map(|(key, value)| (key.clone(), value - before.get(key).copied().unwrap_or(0.0)))
        .filter(|(_, delta)| *delta != 0.0)
        .collect()
}

/// Asserts that exactly the `expected` series of `name` moved, by exactly those amounts.
fn check_moved(before: &Scrape, after: &Scrape, name: &str, expected: &[(String, f64)]) {
    let expected: BTreeMap<String, f64> = expected.iter().cloned().collect();
    assert_eq!(moved(before, after, name), expected, "{name} moved");
}

/// Writes `body` with `method path` through `via`; panics unless acknowledged.
fn write(via: SocketAddr, method: &str, path: &str, body: &str) {
    let (status, reply) = http(via, method, path, Some(TOKEN), Some(body))
        .unwrap_or_else(|| panic!("{method} {path}: no reply"));
    assert!(
        status == 200 || status == 201,
        "{method} {path} {body}: status {status}: {reply}"
    );
}

/// `dig` `name` `qtype` with `+norec` (and `extra`) against `dns`; returns the status.
fn ask(dns: SocketAddr, name: &str, qtype: &str, extra: &[&str]) -> String {
    let mut args = vec![name, qtype, "+norec"];
    args.extend_from_slice(extra);
    dig(dns, &args).status().to_string()
}

/// The A addresses `dig` returns for `name`, sorted.
fn addresses(dns: SocketAddr, name: &str) -> Vec<String> {
    dig(dns, &[name, "A", "+norec"]).a_addresses()
}

/// What does this test do: the learner's `/metrics` counts the queries `dig` sent, by
/// transport, RCODE and type (REFUSED outside our zones, FORMERR for garbage, NXDOMAIN), and
/// the GSLB decisions they took: normal, failover under a `force_down` override (with the
/// override as cause), fail_closed, and the region that answered.
#[test]
fn metrics_count_the_queries_dig_sent() {
    let root = TempDir::new("gslb-dns-metrics");
    eprintln!("-- phase: start a voter and a DNS learner");
    let voter = ClusterNode::start(&root, 1, Kind::Bootstrap, &[]);
    wait_until(CONVERGE, "voter 1 to lead its new cluster", || {
        leader_of(&voter) == Some(1)
    });
    let learner = ClusterNode::start(&root, 2, Kind::DnsLearner, &[voter.http]);
    let dns = learner.dns.expect("a DNS learner");
    wait_until(CONVERGE, "the learner to answer www.cp.test", || {
        addresses(dns, "www.cp.test") == ["192.0.2.10"]
    });

    eprintln!("-- phase: regions, endpoints, an override and three GSLB records");
    let api = voter.http;
    for (id, country) in [("eu", "DE"), ("us", "US")] {
        write(
            api,
            "POST",
            "/v1/regions",
            &format!(
                r#"{{"id":"{id}","location":{{"lat":0,"lon":0,"country":"{country}","continent":"EU"}}}}"#
            ),
        );
    }
    for (id, region, address) in [("eu-1", "eu", "10.0.0.1"), ("us-1", "us", "10.1.0.1")] {
        write(
            api,
            "POST",
            "/v1/endpoints",
            &format!(r#"{{"id":"{id}","region":"{region}","address":"{address}"}}"#),
        );
    }
    write(
        api,
        "POST",
        "/v1/overrides",
        r#"{"id":"hold-us-1","endpoint":"us-1","action":"force_down","reason":"metrics test"}"#,
    );
    for record in [
        r#"{"name":"svc","type":"A","ttl":30,"unknown_as":"up",
            "policy":{"failover":[{"region":"eu"},{"region":"us"}]}}"#,
        r#"{"name":"fo","type":"A","ttl":30,"unknown_as":"up",
            "policy":{"failover":[{"endpoints":["us-1"]},{"region":"eu"}]}}"#,
        r#"{"name":"closed","type":"A","ttl":30,"policy":{"region":"us"},
            "when_all_down":"fail_closed"}"#,
    ] {
        write(api, "POST", "/v1/zones/cp.test./gslb-records", record);
    }
    wait_until(CONVERGE, "the learner to answer every GSLB record", || {
        addresses(dns, "svc.cp.test") == ["10.0.0.1"]
            && addresses(dns, "fo.cp.test") == ["10.0.0.1"]
            && ask(dns, "closed.cp.test", "A", &[]) == "NOERROR"
    });

    eprintln!("-- phase: scrape, send known queries, scrape again");
    let (before, text) = scrape(learner.http);
    for name in [
        "gslb_dns_queries",
        "gslb_dns_queries_by_type",
        "gslb_dns_gslb_answers",
        "gslb_dns_gslb_answer_causes",
        "gslb_dns_gslb_region_answers",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} counter"))
                && text.contains(&format!("# HELP {name} ")),
            "{name} has no TYPE or HELP line in\n{text}"
        );
    }
    for _ in 0..3 {
        assert_eq!(addresses(dns, "svc.cp.test"), ["10.0.0.1"]);
    }
    for _ in 0..2 {
        assert_eq!(addresses(dns, "fo.cp.test"), ["10.0.0.1"]);
        assert_eq!(ask(dns, "closed.cp.test", "A", &[]), "NOERROR");
    }
    assert_eq!(ask(dns, "nothere.cp.test", "A", &[]), "NXDOMAIN");
    assert_eq!(ask(dns, "www.example.org", "A", &[]), "REFUSED");
    assert_eq!(ask(dns, "www.cp.test", "AAAA", &["+tcp"]), "NOERROR");
    assert_eq!(ask(dns, "cp.test", "SOA", &["+tcp"]), "NOERROR");
    // A header promising a question, then a cut label.
    let garbage = [
        0x12, 0x34, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'w', b'w',
    ];
    let reply = udp_exchange(dns, &garbage, Duration::from_secs(5)).expect("a FORMERR reply");
    assert_eq!(reply_header(&reply).rcode, 1, "FORMERR for garbage");
    let (after, text) = scrape(learner.http);
    eprintln!("{text}");

    let queries = |transport: &str, rcode: &str, count: f64| {
        let labels = [("transport", transport), ("rcode", rcode)];
        (series("gslb_dns_queries_total", &labels), count)
    };
    check_moved(
        &before,
        &after,
        "gslb_dns_queries_total",
        &[
            queries("udp", "NOERROR", 7.0),
            queries("udp", "NXDOMAIN", 1.0),
            queries("udp", "REFUSED", 1.0),
            queries("udp", "FORMERR", 1.0),
            queries("tcp", "NOERROR", 2.0),
        ],
    );
    let by_type = |qtype: &str, count: f64| {
        let labels = [("qtype", qtype)];
        (series("gslb_dns_queries_by_type_total", &labels), count)
    };
    check_moved(
        &before,
        &after,
        "gslb_dns_queries_by_type_total",
        &[
            by_type("A", 9.0),
            by_type("AAAA", 1.0),
            by_type("SOA", 1.0),
            by_type("none", 1.0),
        ],
    );
    let decision = |record: &str, decision: &str, count: f64| {
        let labels = [("record", record), ("type", "A"), ("decision", decision)];
        (series("gslb_dns_gslb_answers_total", &labels), count)
    };
    check_moved(
        &before,
        &after,
        "gslb_dns_gslb_answers_total",
        &[
            decision("svc.cp.test.", "normal", 3.0),
            decision("fo.cp.test.", "failover", 2.0),
            decision("closed.cp.test.", "fail_closed", 2.0),
        ],
    );
    let cause = [
        ("record", "fo.cp.test."),
        ("type", "A"),
        ("cause", "override"),
    ];
    check_moved(
        &before,
        &after,
        "gslb_dns_gslb_answer_causes_total",
        &[(series("gslb_dns_gslb_answer_causes_total", &cause), 2.0)],
    );
    check_moved(
        &before,
        &after,
        "gslb_dns_gslb_region_answers_total",
        &[(
            series("gslb_dns_gslb_region_answers_total", &[("region", "eu")]),
            5.0,
        )],
    );
    // Every record's decisions are there from the start, zeros included.
    let never = series(
        "gslb_dns_gslb_answers_total",
        &[
            ("record", "svc.cp.test."),
            ("type", "A"),
            ("decision", "fallback"),
        ],
    );
    assert_eq!(after.get(&never), Some(&0.0), "{never}");
}
