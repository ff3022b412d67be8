//! Black-box tests of `gslb externaldns-webhook` against a real cluster (a voter and a DNS
//! learner): the negotiation headers and body of ExternalDNS's webhook contract, and a
//! scripted client that replays ExternalDNS's sync loop (records → adjustendpoints → plan
//! with its TXT registry → POST /records) through create, a repeat that plans nothing,
//! update, delete, a domain-filter refusal and an unrepresentable endpoint, checking the DNS
//! answers with dig after each step.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::cluster::{http, put_region, start_voter_and_learner, TOKEN};
use common::{listening_address, LogLines, TempDir, GSLB};
use serde_json::{json, Value};

/// How long a change may take to reach every node.
const CONVERGE: Duration = Duration::from_secs(30);

/// The webhook media type.
const MEDIA_TYPE: &str = "application/external.dns.webhook+json;version=1";

/// The owner id of the replayed ExternalDNS.
const OWNER: &str = "replay";

/// A running webhook, killed on drop.
struct Webhook {
    child: Child,
    api: SocketAddr,
    health: SocketAddr,
    log: LogLines,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Webhook {
    fn start(root: &TempDir, api: SocketAddr) -> Webhook {
        let token_file = root.write("webhook.token", &format!("{TOKEN}\n"));
        let mut child = Command::new(GSLB)
            .args(["externaldns-webhook", "--api", &format!("http://{api}")])
            .arg("--token-file")
            .arg(&token_file)
            .args(["--listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:0"])
            .args(["--domain-filter", "cp.test", "--sync-timeout", "30"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gslb externaldns-webhook");
        let log = LogLines::follow(child.stderr.take().unwrap());
        let line = log
            .wait_for("listening on health", CONVERGE)
            .unwrap_or_else(|| panic!("webhook did not start:\n{}", log.text()));
        let health = listening_address(&line, "health").unwrap();
        let line = log.wait_for("listening on webhook", CONVERGE).unwrap();
        let api = listening_address(&line, "webhook").unwrap();
        Webhook {
            child,
            api,
            health,
            log,
        }
    }

    /// One call: status, lowercase header block, body.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String, String) {
        exchange(self.api, method, path, body)
    }

    fn json(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, _, text) = self.call(method, path, body);
        assert_eq!(status, 200, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
    }
}

/// One HTTP/1.1 exchange with the webhook's media type in `Accept` and `Content-Type`.
fn exchange(
    to: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect_timeout(&to, Duration::from_secs(2)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\nAccept: {MEDIA_TYPE}\r\n\
         Content-Type: {MEDIA_TYPE}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// An endpoint's identity as ExternalDNS keys it.
fn key(endpoint: &Value) -> (String, String, String) {
    let text = |field: &str| endpoint[field].as_str().unwrap_or("").to_string();
    (
        text("dnsName").trim_end_matches('.').to_ascii_lowercase(),
        text("recordType"),
        text("setIdentifier"),
    )
}

/// The ownership TXT ExternalDNS's registry writes for `endpoint` (the `a-` prefix format).
fn ownership(endpoint: &Value) -> Value {
    let (name, rtype, set) = key(endpoint);
    let mut txt = json!({
        "dnsName": format!("{}-{name}", rtype.to_ascii_lowercase()),
        "targets": [format!("\"heritage=external-dns,external-dns/owner={OWNER},external-dns/resource=service/default/{name}\"")],
        "recordType": "TXT",
    });
    // As ExternalDNS's TXT registry does: the owned record's set identifier and
    // provider-specific settings are copied onto its TXT.
    if !set.is_empty() {
        txt["setIdentifier"] = json!(set);
    }
    if let Some(specific) = endpoint.get("providerSpecific") {
        txt["providerSpecific"] = specific.clone();
    }
    txt
}

/// The changes one ExternalDNS sync loop would send for `desired` (records without their
/// TXT), planned as ExternalDNS does: only endpoints its registry owns are updated or
/// deleted; `None` when there is nothing to do.
fn plan(webhook: &Webhook, desired: &[Value]) -> Option<Value> {
    let current = webhook.json("GET", "/records", None);
    let current: BTreeMap<_, _> = current
        .as_array()
        .unwrap()
        .iter()
        .map(|endpoint| (key(endpoint), endpoint.clone()))
        .collect();
    // ExternalDNS adjusts the desired records; its registry then adds their TXT.
    let adjusted = webhook.json(
        "POST",
        "/adjustendpoints",
        Some(&Value::Array(desired.to_vec())),
    );
    let mut wanted: Vec<Value> = adjusted.as_array().unwrap().clone();
    wanted.extend(adjusted.as_array().unwrap().iter().map(ownership));
    let adjusted: BTreeMap<_, _> = wanted
        .iter()
        .map(|endpoint| (key(endpoint), endpoint.clone()))
        .collect();
    let owned = |endpoint_key: &(String, String, String)| {
        let (name, rtype, set) = endpoint_key;
        let txt_key = if rtype == "TXT" {
            endpoint_key.clone()
        } else {
            (
                format!("{}-{name}", rtype.to_ascii_lowercase()),
                "TXT".to_string(),
                set.clone(),
            )
        };
        current.get(&txt_key).is_some_and(|txt| {
            txt["targets"][0]
                .as_str()
                .is_some_and(|t| t.contains(&format!("external-dns/owner={OWNER},")))
        })
    };
    let (mut create, mut update_old, mut update_new, mut delete) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (endpoint_key, endpoint) in &adjusted {
        match current.get(endpoint_key) {
            None => create.push(endpoint.clone()),
            // The registry rewrites TXT only with their records: no update of their own.
            Some(_) if endpoint_key.1 == "TXT" => {}
            Some(existing) if owned(endpoint_key) => {
                let sorted = |e: &Value| {
                    let mut targets: Vec<String> = e["targets"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t.as_str().unwrap().to_string())
                        .collect();
                    targets.sort();
                    targets
                };
                let ttl_differs = endpoint["recordTTL"].as_i64().unwrap_or(0) > 0
                    && endpoint["recordTTL"] != existing["recordTTL"];
                let specific = |e: &Value| {
                    let mut list: Vec<String> = e["providerSpecific"]
                        .as_array()
                        .map(|list| list.iter().map(Value::to_string).collect())
                        .unwrap_or_default();
                    list.sort();
                    list
                };
                if sorted(endpoint) != sorted(existing)
                    || ttl_differs
                    || specific(endpoint) != specific(existing)
                {
                    update_old.push(existing.clone());
                    update_new.push(endpoint.clone());
                }
            }
            Some(_) => {}
        }
    }
    for (endpoint_key, endpoint) in &current {
        if !adjusted.contains_key(endpoint_key) && owned(endpoint_key) {
            delete.push(endpoint.clone());
        }
    }
    if create.is_empty() && update_old.is_empty() && delete.is_empty() {
        return None;
    }
    Some(
        json!({"create": create, "updateOld": update_old, "updateNew": update_new, "delete": delete}),
    )
}

/// One sync loop that must write: its changes are answered 204.
fn sync(webhook: &Webhook, desired: &[Value]) -> Value {
    let changes = plan(webhook, desired).expect("a sync with changes");
    let (status, _, body) = webhook.call("POST", "/records", Some(&changes));
    assert_eq!(
        status,
        204,
        "POST /records {changes}: {body}\n{}",
        webhook.log.text()
    );
    changes
}

fn set_endpoint(name: &str, set: &str, address: &str, region: &str, priority: u32) -> Value {
    json!({
        "dnsName": name, "targets": [address], "recordType": "A", "setIdentifier": set,
        "recordTTL": 30,
        "providerSpecific": [
            {"name": "webhook/gslb-region", "value": region},
            {"name": "webhook/gslb-policy", "value": "failover"},
            {"name": "webhook/gslb-priority", "value": priority.to_string()},
            {"name": "webhook/gslb-unknown-as", "value": "up"}
        ]
    })
}

/// The replayed sync loop changes DNS step by step, never touches what it does not own,
/// plans nothing on a repeat, and refuses what gslb cannot represent by name.
#[test]
fn replayed_externaldns_sync_loop_drives_dns() {
    let root = TempDir::new("externaldns");
    let (voter, learner) = start_voter_and_learner(&root, CONVERGE);
    put_region(voter.http, "eu", "DE", "EU");
    put_region(voter.http, "us", "US", "NA");

    eprintln!("-- phase: negotiation and health");
    let webhook = Webhook::start(&root, voter.http);
    let (status, head, body) = webhook.call("GET", "/", None);
    assert_eq!(status, 200, "{body}");
    assert!(
        head.contains(&format!("content-type: {MEDIA_TYPE}")),
        "{head}"
    );
    assert!(head.contains("vary: content-type"), "{head}");
    assert_eq!(
        body.trim(),
        r#"{"include":["cp.test"],"exclude":[],"regexInclude":"","regexExclude":""}"#
    );
    let (status, _, _) = exchange(webhook.health, "GET", "/healthz", None);
    assert_eq!(status, 200);
    let (status, _, body) = exchange(webhook.health, "GET", "/readyz", None);
    assert_eq!(status, 200, "{body}");

    eprintln!("-- phase: create a plain record and a GSLB record over two regions");
    let app = |address: &str| json!({"dnsName": "app.cp.test", "targets": [address], "recordType": "A", "recordTTL": 30});
    let mut desired = vec![
        app("192.0.2.50"),
        set_endpoint("shop.cp.test", "eu", "192.0.2.60", "eu", 0),
        set_endpoint("shop.cp.test", "us", "192.0.2.61", "us", 1),
    ];
    let created = sync(&webhook, &desired);
    assert_eq!(created["create"].as_array().unwrap().len(), 6, "{created}");
    assert_eq!(learner.addresses("app.cp.test"), ["192.0.2.50"]);
    assert_eq!(learner.addresses("shop.cp.test"), ["192.0.2.60"]);
    let txt = learner.dig(&["a-app.cp.test", "TXT", "+short"]);
    assert!(
        txt.text
            .contains("heritage=external-dns,external-dns/owner=replay"),
        "{}",
        txt.text
    );

    eprintln!("-- phase: a repeat plans nothing (records read back as written)");
    assert_eq!(plan(&webhook, &desired), None);

    eprintln!("-- phase: update the plain record and the failover order");
    desired[0] = app("192.0.2.51");
    desired[1] = set_endpoint("shop.cp.test", "eu", "192.0.2.60", "eu", 5);
    let updated = sync(&webhook, &desired);
    assert_eq!(
        updated["updateNew"].as_array().unwrap().len(),
        2,
        "{updated}"
    );
    assert_eq!(learner.addresses("app.cp.test"), ["192.0.2.51"]);
    assert_eq!(learner.addresses("shop.cp.test"), ["192.0.2.61"]);
    assert_eq!(plan(&webhook, &desired), None);

    eprintln!("-- phase: delete the plain record and its ownership TXT");
    desired.remove(0);
    let deleted = sync(&webhook, &desired);
    assert_eq!(deleted["delete"].as_array().unwrap().len(), 2, "{deleted}");
    let gone = learner.dig(&["app.cp.test", "A"]);
    assert_eq!(gone.status(), "NXDOMAIN", "{}", gone.text);
    let gone = learner.dig(&["a-app.cp.test", "TXT"]);
    assert_eq!(gone.status(), "NXDOMAIN", "{}", gone.text);
    // The zone's own record, not owned by this ExternalDNS, was never touched.
    assert_eq!(learner.addresses("www.cp.test"), ["192.0.2.10"]);

    eprintln!("-- phase: outside the domain filter and unrepresentable endpoints are refused");
    let outside = json!({"create": [
        {"dnsName": "app.elsewhere.test", "targets": ["192.0.2.9"], "recordType": "A"}]});
    let (status, _, body) = webhook.call("POST", "/records", Some(&outside));
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("app.elsewhere.test A: outside the webhook's domain filter"),
        "{body}"
    );
    let bad = json!({"create": [
        {"dnsName": "half.cp.test", "targets": ["192.0.2.70"], "recordType": "A"},
        {"dnsName": "api.cp.test", "targets": ["192.0.2.71"], "recordType": "A",
         "setIdentifier": "mars",
         "providerSpecific": [{"name": "webhook/gslb-region", "value": "mars"}]}]});
    let (status, _, body) = webhook.call("POST", "/records", Some(&bad));
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("endpoint api.cp.test A [mars]: gslb-region \"mars\" does not exist"),
        "{body}"
    );
    // A conflict only the API sees (a CNAME beside the zone's A) is named by endpoint too.
    let conflict = json!({"create": [
        {"dnsName": "www.cp.test", "targets": ["elsewhere.example"], "recordType": "CNAME"}]});
    let (status, _, body) = webhook.call("POST", "/records", Some(&conflict));
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("refused by the gslb API, nothing written: endpoint www.cp.test CNAME: "),
        "{body}"
    );
    // Nothing of the refused change set was written.
    let half = learner.dig(&["half.cp.test", "A"]);
    assert_eq!(half.status(), "NXDOMAIN", "{}", half.text);

    eprintln!("-- phase: delete the GSLB record");
    desired.clear();
    sync(&webhook, &desired);
    let gone = learner.dig(&["shop.cp.test", "A"]);
    assert_eq!(gone.status(), "NXDOMAIN", "{}", gone.text);
    let (_, endpoints) = http(voter.http, "GET", "/v1/endpoints", Some(TOKEN), None).unwrap();
    assert!(
        !endpoints.contains("edns-"),
        "webhook endpoints left: {endpoints}"
    );
}
