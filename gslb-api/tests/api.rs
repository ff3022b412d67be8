//! REST API end to end on a real one-voter node over HTTP: auth and scopes, zone import and
//! read-back, ETags and preconditions, idempotent PUT, bad payloads named by field and
//! changing nothing, the atomic batch, pagination, audit, change tracking, body limits,
//! slow clients, metrics and the OpenAPI document.

use std::collections::BTreeSet;
use std::time::Duration;

use gslb_model::model::{Actor, Member, NodeRole, RaftRole};
use gslb_model::Command;
use gslb_testkit::cluster::api::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Asserts an error answer: status, JSON `code`, and (when given) a field path in `fields`.
fn assert_error(
    answer: &(StatusCode, reqwest::header::HeaderMap, Value),
    status: StatusCode,
    path: Option<&str>,
) {
    let (got, _, body) = answer;
    assert_eq!(*got, status, "body: {body}");
    assert!(body["code"].is_string(), "error body has a code: {body}");
    assert!(
        body["message"].is_string(),
        "error body has a message: {body}"
    );
    assert!(body["fields"].is_array(), "error body has fields: {body}");
    if let Some(path) = path {
        let paths: Vec<&str> = body["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|field| field["path"].as_str())
            .collect();
        assert!(paths.contains(&path), "expected field {path:?} in {body}");
    }
}

/// What does this test do: /healthz and /readyz answer without a token; everything else
/// needs one (401 without, 401 with an unknown one); a read token reads but cannot write
/// (403), a prober token cannot read zones (403), and /metrics needs a token unless open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_scopes_guard_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;

    let (status, _, _) = node.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, ready) = node.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["stale"], false);

    for path in [
        "/v1/zones",
        "/v1/regions",
        "/v1/audit",
        "/v1/events",
        "/metrics",
    ] {
        let answer = node.call(Method::GET, path, None, None).await;
        assert_error(&answer, StatusCode::UNAUTHORIZED, None);
        assert_eq!(answer.2["code"], "unauthorized");
        let answer = node
            .call(Method::GET, path, Some("not-a-token"), None)
            .await;
        assert_error(&answer, StatusCode::UNAUTHORIZED, None);
    }
    // Tools discover the API before they have a token.
    let (status, _, doc) = node.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert!(doc["paths"]["/v1/events"]["get"].is_object(), "{doc}");

    tracing::info!("phase: tokens with scopes");
    let (status, _, reader) = node
        .admin(
            Method::POST,
            "/v1/tokens",
            Some(json!({"id": "reader", "scopes": ["read"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reader}");
    let reader_secret = reader["secret"].as_str().unwrap().to_string();
    let (status, _, prober) = node
        .admin(
            Method::POST,
            "/v1/tokens",
            Some(json!({"id": "prober-eu", "scopes": ["prober"], "secret": "prober-secret-0123456789"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{prober}");
    for weak in ["0000000000000000", "abcdabcdabcdabcd", "short-secret"] {
        let answer = node
            .admin(
                Method::POST,
                "/v1/tokens",
                Some(json!({"id": "weak", "scopes": ["read"], "secret": weak})),
            )
            .await;
        assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("secret"));
    }
    let (status, _, listed) = node.admin(Method::GET, "/v1/tokens", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !listed.to_string().contains("sha256"),
        "no hashes listed: {listed}"
    );
    assert!(
        !listed.to_string().contains(&reader_secret),
        "no secrets listed"
    );

    let (status, _, _) = node
        .call(Method::GET, "/v1/zones", Some(&reader_secret), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let answer = node
        .call(
            Method::PUT,
            "/v1/regions/eu-1",
            Some(&reader_secret),
            Some(region("eu-1")),
        )
        .await;
    assert_error(&answer, StatusCode::FORBIDDEN, None);
    assert_eq!(answer.2["code"], "forbidden");
    let answer = node
        .call(Method::GET, "/v1/tokens", Some(&reader_secret), None)
        .await;
    assert_error(&answer, StatusCode::FORBIDDEN, None);
    let answer = node
        .call(
            Method::GET,
            "/v1/zones",
            Some("prober-secret-0123456789"),
            None,
        )
        .await;
    assert_error(&answer, StatusCode::FORBIDDEN, None);
    let (status, _, _) = node
        .call(Method::GET, "/metrics", Some(&reader_secret), None)
        .await;
    assert_eq!(status, StatusCode::OK);

    tracing::info!("phase: a deleted token stops working");
    let (status, _, _) = node.admin(Method::DELETE, "/v1/tokens/reader", None).await;
    assert_eq!(status, StatusCode::OK);
    let answer = node
        .call(Method::GET, "/v1/zones", Some(&reader_secret), None)
        .await;
    assert_error(&answer, StatusCode::UNAUTHORIZED, None);
    node.stop().await;
}

/// What does this test do: imports an RFC 1035 zone file, reads the zone back as JSON and
/// as a zone file (same records), pages through its record sets, and edits one record set
/// through the records routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_import_reads_back_and_records_page() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;

    let response = http()
        .put(format!("{}/v1/zones/example.test./zonefile", node.url))
        .bearer_auth(ADMIN)
        .header("content-type", "text/dns")
        .body(ZONE_FILE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let written: Value = response.json().await.unwrap();
    assert_eq!(written["changed"], true);

    tracing::info!("phase: a repeated record is merged, with a Warning header naming its line");
    let response = http()
        .put(format!("{}/v1/zones/example.test./zonefile", node.url))
        .bearer_auth(ADMIN)
        .header("content-type", "text/dns")
        .body(format!("{ZONE_FILE}www IN A 192.0.2.11\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let warnings: Vec<String> = response
        .headers()
        .get_all("warning")
        .iter()
        .map(|value| value.to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        warnings,
        ["299 gslb \"line 10: www.example.test. A 192.0.2.11 repeats line 7; merged into one record\""]
    );
    let written: Value = response.json().await.unwrap();
    assert_eq!(written["changed"], false, "the same zone once merged");

    let (status, headers, zone) = node
        .admin(Method::GET, "/v1/zones/example.test", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{zone}");
    assert!(headers.get("etag").is_some());
    assert_eq!(zone["apex"], "example.test.");
    assert_eq!(zone["soa"]["serial"], 7);
    let records = zone["records"].as_array().unwrap();
    let www = records
        .iter()
        .find(|set| set["name"] == "www.example.test." && set["type"] == "A")
        .expect("www A");
    assert_eq!(www["data"], json!(["192.0.2.10", "192.0.2.11"]));
    let txt = records.iter().find(|set| set["type"] == "TXT").unwrap();
    assert_eq!(txt["data"], json!(["\"hello world\" \"two\""]));

    tracing::info!("phase: export parses back to the same zone");
    let exported = http()
        .get(format!("{}/v1/zones/example.test./zonefile", node.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let apex = gslb_model::model::DomainName::parse_absolute("example.test.").unwrap();
    let reparsed =
        gslb_model::zonefile::parse_zone(&exported, "export", Some(&apex), None).unwrap();
    assert_eq!(&reparsed, &**node.handle.state().zones.get(&apex).unwrap());

    tracing::info!("phase: the same import again changes nothing");
    let (status, _, again) = node
        .admin(
            Method::PUT,
            "/v1/zones/example.test./zonefile",
            Some(json!({"text": ZONE_FILE})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["changed"], false);

    tracing::info!("phase: pages of two");
    let mut seen = Vec::new();
    let mut path = "/v1/zones/example.test./records?limit=2".to_string();
    loop {
        let (status, _, page) = node.admin(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for item in page["items"].as_array().unwrap() {
            seen.push(format!(
                "{} {}",
                item["name"].as_str().unwrap(),
                item["type"].as_str().unwrap()
            ));
        }
        match page["next"].as_str() {
            Some(next) => {
                path = format!(
                    "/v1/zones/example.test./records?limit=2&after={}",
                    gslb_api::client::segment(next)
                )
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), records.len(), "{seen:?}");

    tracing::info!("phase: edit one record set");
    let (status, _, _) = node
        .admin(
            Method::PUT,
            "/v1/zones/example.test./records/api/AAAA",
            Some(json!({"name": "api", "type": "AAAA", "ttl": 60, "data": ["2001:db8::1"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, set) = node
        .admin(
            Method::GET,
            "/v1/zones/example.test./records/api.example.test./aaaa",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(set["ttl"], 60);
    let answer = node
        .admin(
            Method::POST,
            "/v1/zones/example.test./records",
            Some(json!({"name": "api", "type": "AAAA", "data": ["2001:db8::2"]})),
        )
        .await;
    assert_error(&answer, StatusCode::CONFLICT, None);
    let (status, _, _) = node
        .admin(
            Method::DELETE,
            "/v1/zones/example.test./records/api/AAAA",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let answer = node
        .admin(
            Method::GET,
            "/v1/zones/example.test./records/api/AAAA",
            None,
        )
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, None);
    node.stop().await;
}

/// What does this test do: PUT is idempotent (a repeat answers changed=false), every
/// resource carries an ETag (a GET with a matching If-None-Match is 304), a stale If-Match gets 412 and changes nothing, a fresh one
/// succeeds, If-None-Match: * refuses to overwrite, POST of an existing id is 409, and a
/// region in use cannot be deleted (409).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_preconditions_and_idempotent_puts() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;

    let (status, headers, first) = node
        .admin(Method::PUT, "/v1/regions/eu-1", Some(region("eu-1")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (status, headers, repeat) = node
        .admin(Method::PUT, "/v1/regions/eu-1", Some(region("eu-1")))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(repeat["changed"], false);
    assert_eq!(
        headers["etag"].to_str().unwrap(),
        etag,
        "same content, same etag"
    );
    let (_, headers, read) = node.admin(Method::GET, "/v1/regions/eu-1", None).await;
    assert_eq!(headers["etag"].to_str().unwrap(), etag);
    assert_eq!(read["location"]["lat"], 50.1109);
    let response = http()
        .get(format!("{}/v1/regions/eu-1", node.url))
        .bearer_auth(ADMIN)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);

    tracing::info!("phase: a change moves the etag; the old one is stale");
    let mut bigger = region("eu-1");
    bigger["capacity"] = json!(16);
    let response = http()
        .put(format!("{}/v1/regions/eu-1", node.url))
        .bearer_auth(ADMIN)
        .header("if-match", &etag)
        .json(&bigger)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let version_before = node.handle.state().version;
    let mut smaller = region("eu-1");
    smaller["capacity"] = json!(2);
    let response = http()
        .put(format!("{}/v1/regions/eu-1", node.url))
        .bearer_auth(ADMIN)
        .header("if-match", &etag)
        .json(&smaller)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "precondition_failed");
    assert_eq!(
        node.handle.state().version,
        version_before,
        "412 wrote nothing"
    );
    assert_eq!(node.handle.state().regions["eu-1"].capacity, Some(16));
    let response = http()
        .delete(format!("{}/v1/regions/eu-1", node.url))
        .bearer_auth(ADMIN)
        .header("if-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    let response = http()
        .put(format!("{}/v1/regions/eu-1", node.url))
        .bearer_auth(ADMIN)
        .header("if-none-match", "*")
        .json(&smaller)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);

    tracing::info!("phase: conflicts");
    let answer = node
        .admin(Method::POST, "/v1/regions", Some(region("eu-1")))
        .await;
    assert_error(&answer, StatusCode::CONFLICT, None);
    let (status, _, _) = node
        .admin(
            Method::POST,
            "/v1/endpoints",
            Some(endpoint("web-1", "eu-1", "192.0.2.10")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let answer = node.admin(Method::DELETE, "/v1/regions/eu-1", None).await;
    assert_error(&answer, StatusCode::CONFLICT, Some("id"));
    assert!(node.handle.state().regions.contains_key("eu-1"));
    let (status, _, _) = node
        .admin(Method::DELETE, "/v1/endpoints/web-1", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = node.admin(Method::DELETE, "/v1/regions/eu-1", None).await;
    assert_eq!(status, StatusCode::OK);
    let answer = node.admin(Method::GET, "/v1/regions/eu-1", None).await;
    assert_error(&answer, StatusCode::NOT_FOUND, None);
    node.stop().await;
}

/// What does this test do: bad payloads — wrong types, unknown fields, a weight out of
/// range, an invalid address, duplicate record sets, a CNAME beside other data, a record in
/// a zone that does not exist, broken JSON, a wrong media type — each get a 4xx JSON error
/// naming the field, and none changes the state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_payloads_name_the_field_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let (status, _, _) = node
        .admin(Method::PUT, "/v1/regions/eu-1", Some(region("eu-1")))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let zone = |records: Value| json!({"apex": "bad.test.", "soa": {"mname": "ns1", "rname": "hostmaster"}, "records": records});
    let ns = json!({"name": "@", "type": "NS", "data": ["ns1"]});
    let before = node.handle.state();

    let mut wrong_type = region("eu-2");
    wrong_type["location"]["lat"] = json!("north");
    let mut unknown = region("eu-2");
    unknown["colour"] = json!("blue");
    let mut out_of_range = region("eu-2");
    out_of_range["location"]["lat"] = json!(91.5);
    let mut weight = endpoint("web-1", "eu-1", "192.0.2.10");
    weight["weight"] = json!(2_000_000);
    let mut negative = endpoint("web-1", "eu-1", "192.0.2.10");
    negative["weight"] = json!(-1);
    let cases: Vec<(Method, &str, Value, StatusCode, &str)> = vec![
        (
            Method::PUT,
            "/v1/regions/eu-2",
            wrong_type,
            StatusCode::UNPROCESSABLE_ENTITY,
            "location.lat",
        ),
        (
            Method::PUT,
            "/v1/regions/eu-2",
            unknown,
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour",
        ),
        (
            Method::PUT,
            "/v1/regions/eu-2",
            out_of_range,
            StatusCode::UNPROCESSABLE_ENTITY,
            "location.lat",
        ),
        (
            Method::PUT,
            "/v1/regions/Bad_Id",
            region("Bad_Id"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "id",
        ),
        (
            Method::PUT,
            "/v1/regions/eu-3",
            region("eu-2"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "id",
        ),
        (
            Method::PUT,
            "/v1/endpoints/web-1",
            weight,
            StatusCode::UNPROCESSABLE_ENTITY,
            "weight",
        ),
        (
            Method::PUT,
            "/v1/endpoints/web-1",
            negative,
            StatusCode::UNPROCESSABLE_ENTITY,
            "weight",
        ),
        (
            Method::PUT,
            "/v1/endpoints/web-1",
            endpoint("web-1", "eu-1", "10.0.0.300"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "address",
        ),
        (
            Method::PUT,
            "/v1/endpoints/web-1",
            endpoint("web-1", "nowhere", "192.0.2.1"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "region",
        ),
        (
            Method::PUT,
            "/v1/zones/bad.test.",
            zone(
                json!([ns, {"name": "www", "type": "A", "data": ["192.0.2.1"]},
                        {"name": "www", "type": "A", "data": ["192.0.2.2"]}]),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "records[2]",
        ),
        (
            Method::PUT,
            "/v1/zones/bad.test.",
            zone(
                json!([ns, {"name": "www", "type": "CNAME", "data": ["web"]},
                        {"name": "www", "type": "A", "data": ["192.0.2.2"]}]),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "records[1]",
        ),
        (
            Method::PUT,
            "/v1/zones/bad.test.",
            zone(json!([ns, {"name": "www", "type": "A", "data": ["192.0.2.300"]}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "records[1].data[0]",
        ),
        (
            Method::PUT,
            "/v1/zones/bad.test.",
            zone(json!([{"name": "www", "type": "BOGUS", "data": ["x"]}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "records[0].type",
        ),
        (
            Method::POST,
            "/v1/zones/missing.test./records",
            json!({"name": "www", "type": "A", "data": ["192.0.2.1"]}),
            StatusCode::NOT_FOUND,
            "",
        ),
        (
            Method::POST,
            "/v1/changes",
            json!({"changes": [{"op": "put_record", "zone": "missing.test.",
                                "record": {"name": "www", "type": "A", "data": ["192.0.2.1"]}}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "changes[0].zone",
        ),
    ];
    for (method, path, body, status, field) in cases {
        let answer = node.admin(method.clone(), path, Some(body.clone())).await;
        let field = (!field.is_empty()).then_some(field);
        assert_error(&answer, status, field);
        println!("{method} {path} -> {} {}", answer.0, answer.2);
    }

    tracing::info!("phase: unparseable bodies");
    let response = http()
        .put(format!("{}/v1/regions/eu-2", node.url))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body("{\"id\": \"eu-2\", ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "bad_request");
    let response = http()
        .put(format!("{}/v1/regions/eu-2", node.url))
        .bearer_auth(ADMIN)
        .header("content-type", "application/xml")
        .body("<region/>")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = http()
        .put(format!("{}/v1/zones/bad.test./zonefile", node.url))
        .bearer_auth(ADMIN)
        .header("content-type", "text/dns")
        .body("$ORIGIN bad.test.\n@ IN SOA ns1 hostmaster 1 2 3 4 5\n@ IN NS ns1\nwww IN A 10.0.0.300\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["fields"][0]["path"], "line 4", "{body}");

    let after = node.handle.state();
    assert_eq!(
        after.version, before.version,
        "no bad payload reached the log"
    );
    assert_eq!(after.as_ref(), before.as_ref());
    node.stop().await;
}

/// What does this test do: POST /v1/changes applies regions, endpoints, a zone and a record
/// as one Raft entry (one version, one audit entry); a batch with one bad change names it
/// (`changes[i]...`) and applies none of the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_is_one_atomic_entry() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let batch = json!({"changes": [
        {"op": "put_region", "region": region("eu-1")},
        {"op": "put_region", "region": region("us-1")},
        {"op": "put_endpoint", "endpoint": endpoint("web-eu", "eu-1", "192.0.2.10")},
        {"op": "put_endpoint", "endpoint": endpoint("web-us", "us-1", "2001:db8::10")},
        {"op": "put_zone", "zone": {"apex": "svc.test", "soa": {"mname": "ns1", "rname": "hostmaster"},
                                    "records": [{"name": "@", "type": "NS", "data": ["ns1"]},
                                                {"name": "ns1", "type": "A", "data": ["192.0.2.53"]}]}},
        {"op": "put_record", "zone": "svc.test.", "record": {"name": "www", "type": "CNAME", "data": ["web.example.net."]}}
    ]});
    let (status, _, written) = node.admin(Method::POST, "/v1/changes", Some(batch)).await;
    assert_eq!(status, StatusCode::OK, "{written}");
    let state = node.handle.state();
    assert_eq!(state.version, written["version"].as_u64().unwrap());
    assert_eq!(state.regions.len(), 2);
    assert_eq!(state.endpoints.len(), 2);
    let zone = state.zones.values().next().unwrap();
    assert_eq!(zone.rrsets.len(), 3);
    assert_eq!(
        zone.rrsets
            .iter()
            .find(|s| s.rtype.as_str() == "CNAME")
            .unwrap()
            .ttl,
        300
    );
    assert_eq!(state.audit.back().unwrap().summary, "batch(6)");

    let bad = json!({"changes": [
        {"op": "delete_endpoint", "id": "web-eu"},
        {"op": "put_endpoint", "endpoint": endpoint("web-x", "mars-1", "192.0.2.99")},
        {"op": "put_region", "region": region("ap-1")}
    ]});
    let answer = node.admin(Method::POST, "/v1/changes", Some(bad)).await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("changes[1].endpoint.region"),
    );
    let unchanged = node.handle.state();
    assert_eq!(unchanged.version, state.version);
    assert!(unchanged.endpoints.contains_key("web-eu"));
    assert!(!unchanged.regions.contains_key("ap-1"));
    let answer = node
        .admin(
            Method::POST,
            "/v1/changes",
            Some(json!({"changes": [{"op": "explode"}]})),
        )
        .await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, None);
    node.stop().await;
}

/// What does this test do: every write lands in /v1/audit with who (the token id or
/// bootstrap), when and from where (the client address), paged by version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_records_who_when_and_from_where() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let (_, _, writer) = node
        .admin(
            Method::POST,
            "/v1/tokens",
            Some(json!({"id": "ci", "scopes": ["write"]})),
        )
        .await;
    let secret = writer["secret"].as_str().unwrap().to_string();
    for id in ["eu-1", "eu-2", "eu-3"] {
        let (status, _, _) = node
            .call(
                Method::PUT,
                &format!("/v1/regions/{id}"),
                Some(&secret),
                Some(region(id)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, _, page) = node.admin(Method::GET, "/v1/audit?limit=2", None).await;
    assert_eq!(status, StatusCode::OK);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["who"], "bootstrap");
    assert_eq!(items[0]["summary"], "put_token ci");
    assert!(
        items[0]["from"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{page}"
    );
    assert!(items[0]["at"].as_u64().unwrap() > 1_600_000_000_000);
    let next = page["next"].as_str().unwrap();
    let (_, _, rest) = node
        .admin(Method::GET, &format!("/v1/audit?after={next}"), None)
        .await;
    let rest = rest["items"].as_array().unwrap().clone();
    assert_eq!(rest.len(), 2);
    assert!(rest.iter().all(|entry| entry["who"] == "token:ci"));
    let answer = node.admin(Method::GET, "/v1/audit?limit=0", None).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, Some("limit"));
    // The cursor is held to the 19 digits the OpenAPI document gives it (schemathesis
    // found 20 leading zeros accepted).
    let answer = node
        .admin(Method::GET, "/v1/audit?after=00000000000000000000", None)
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, None);
    // So are the numbers in paths: digits only (schemathesis sent `1338.0`, which JSON
    // Schema calls an integer), at most 19 of them.
    for path in [
        "/v1/changes/00000000000000000000",
        "/v1/changes/1.0",
        "/v1/changes/-1",
    ] {
        let answer = node.admin(Method::GET, path, None).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, None);
    }
    let answer = node
        .admin(Method::DELETE, "/v1/cluster/learners/1338.0", None)
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, None);
    node.stop().await;
}

/// What does this test do: /v1/changes/{version} says PENDING while a DNS member has not
/// reported the version, lists it in `waiting`, turns INSYNC once it reports, and answers
/// 404 for a version from the future.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_track_dns_members() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let member = Member {
        id: 9,
        addr: "127.0.0.1:9".to_string(),
        dns_addr: None,
        region: None,
        raft_role: RaftRole::Learner,
        roles: BTreeSet::from([NodeRole::Dns]),
        applied_index: 0,
        reported_at: 0,
    };
    node.handle
        .write(Command::PutMember { member }, Actor::new("test"))
        .await
        .unwrap();
    let (_, _, written) = node
        .admin(Method::PUT, "/v1/regions/eu-1", Some(region("eu-1")))
        .await;
    let version = written["version"].as_u64().unwrap();
    let (status, _, change) = node
        .admin(Method::GET, &format!("/v1/changes/{version}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(change["status"], "PENDING");
    assert_eq!(change["waiting"], json!([9]));
    node.handle
        .write(
            Command::ReportApplied {
                node: 9,
                index: version,
            },
            Actor::new("node:9"),
        )
        .await
        .unwrap();
    let (_, _, change) = node
        .admin(Method::GET, &format!("/v1/changes/{version}"), None)
        .await;
    assert_eq!(change["status"], "INSYNC");
    let answer = node.admin(Method::GET, "/v1/changes/999999", None).await;
    assert_error(&answer, StatusCode::NOT_FOUND, None);
    node.stop().await;
}

/// What does this test do: a body over the limit is refused with 413 before parsing, deeply
/// nested JSON is refused without harm, a client that stops sending its body gets 408 after
/// the request timeout, an unknown route is a JSON 404 and a wrong method a JSON 405.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_deep_and_slow_requests_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;

    let huge = format!("{{\"id\": \"{}\"}}", "x".repeat(1024 * 1024));
    let response = http()
        .put(format!("{}/v1/regions/eu-1", node.url))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large");
    assert_eq!(
        body["fields"][0]["path"], "control.limits.max_request_bytes",
        "the 413 names the limit: {body}"
    );
    let message = body["message"].as_str().unwrap();
    let declared = format!("{} bytes", 1024 * 1024 + 10);
    assert!(message.contains(&declared), "the size seen: {message}");
    assert!(message.contains("262144 bytes"), "the limit: {message}");

    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let response = http()
        .post(format!("{}/v1/changes", node.url))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    let body: Value = response.json().await.unwrap();
    assert!(body["code"].is_string());

    tracing::info!("phase: a slow client");
    let mut stream = tokio::net::TcpStream::connect(&node.addr).await.unwrap();
    let head = format!(
        "PUT /v1/regions/eu-1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {ADMIN}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"id\""
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buffer = [0u8; 4096];
        loop {
            let n = stream.read(&mut buffer).await.unwrap();
            if n == 0 {
                break;
            }
            reply.extend_from_slice(&buffer[..n]);
            if String::from_utf8_lossy(&reply).contains("\"code\"") {
                break;
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server answered a stalled body within the timeout"
    );
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("\"timeout\""), "{reply}");

    let answer = node.admin(Method::GET, "/v1/nothing-here", None).await;
    assert_error(&answer, StatusCode::NOT_FOUND, None);
    let answer = node.admin(Method::PATCH, "/v1/regions", None).await;
    assert_error(&answer, StatusCode::METHOD_NOT_ALLOWED, None);
    node.stop().await;
}

/// What does this test do: a region's `min_healthy` round-trips through the API, a 0 is
/// refused with 422 naming `min_healthy`, and /v1/health shows the region's rule with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_says_how_many_endpoints_must_be_up() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let mut body = region("eu-1");
    body["min_healthy"] = json!(0);
    let answer = node
        .admin(Method::PUT, "/v1/regions/eu-1", Some(body.clone()))
        .await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("min_healthy"),
    );
    body["min_healthy"] = json!(2);
    let (status, _, _) = node
        .admin(Method::PUT, "/v1/regions/eu-1", Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, _, read) = node.admin(Method::GET, "/v1/regions/eu-1", None).await;
    assert_eq!(read["min_healthy"], 2);
    let (_, _, health) = node.admin(Method::GET, "/v1/health", None).await;
    assert_eq!(health["regions"][0]["min_healthy"], 2, "{health}");
    node.stop().await;
}

/// What does this test do: conditional writes are atomic: eight PUTs racing with the same
/// If-Match ETag leave exactly one winner (the rest get 412, none silently overwrites the
/// winner), and eight POSTs racing to create the same id leave exactly one 201 (the rest get
/// 409) — the precondition is checked inside `apply`, not only before proposing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_writes_race_to_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let (status, headers, _) = node
        .admin(Method::PUT, "/v1/regions/eu-1", Some(region("eu-1")))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let etag = headers["etag"].to_str().unwrap().to_string();
    let puts = (101..=108u32).map(|capacity| {
        let mut body = region("eu-1");
        body["capacity"] = json!(capacity);
        http()
            .put(format!("{}/v1/regions/eu-1", node.url))
            .bearer_auth(ADMIN)
            .header("if-match", &etag)
            .json(&body)
            .send()
    });
    let statuses: Vec<StatusCode> = futures_statuses(puts).await;
    let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let lost = statuses
        .iter()
        .filter(|s| **s == StatusCode::PRECONDITION_FAILED)
        .count();
    assert_eq!((won, lost), (1, 7), "{statuses:?}");

    let posts = (1..=8u32).map(|capacity| {
        let mut body = region("us-1");
        body["capacity"] = json!(capacity);
        http()
            .post(format!("{}/v1/regions", node.url))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
    });
    let statuses: Vec<StatusCode> = futures_statuses(posts).await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, refused), (1, 7), "{statuses:?}");
    node.stop().await;
}

/// Runs the requests at once; their statuses in order.
async fn futures_statuses(
    requests: impl Iterator<
        Item = impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
    >,
) -> Vec<StatusCode> {
    let tasks: Vec<_> = requests.map(tokio::spawn).collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().unwrap().status());
    }
    statuses
}

/// What does this test do: /metrics exposes API request counters by route and the node's
/// Raft role, term, applied index and staleness; with `metrics_open` it needs no token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_requests_and_raft() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = api_options();
    options.metrics_open = true;
    let node = single_node_with(dir.path(), options).await;
    let (status, _, _) = node.admin(Method::GET, "/v1/zones", None).await;
    assert_eq!(status, StatusCode::OK);
    let text = http()
        .get(format!("{}/metrics", node.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for wanted in [
        "gslb_api_requests_total{method=\"GET\",route=\"/v1/zones\",status=\"200\"} 1",
        "gslb_raft_role{role=\"leader\"} 1",
        "gslb_api_request_duration_seconds_count{method=\"GET\",route=\"/v1/zones\"} 1",
        "gslb_raft_term ",
        "gslb_raft_applied_index ",
        "gslb_state_stale 0",
    ] {
        assert!(text.contains(wanted), "missing {wanted:?} in\n{text}");
    }
    node.stop().await;
}

/// What does this test do: a zone's transfer settings are written and read at
/// /v1/zones/{zone}/transfer without moving the serial, bad entries are named by field and
/// change nothing, a zone PUT or zone-file import without `transfer` keeps them, and a zone
/// PUT with `transfer` replaces them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_transfer_settings_are_kept_apart_from_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let response = http()
        .put(format!("{}/v1/zones/example.test./zonefile", node.url))
        .bearer_auth(ADMIN)
        .header("content-type", "text/dns")
        .body(ZONE_FILE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let serial = |zone: &Value| zone["soa"]["serial"].as_u64().unwrap();
    let (_, _, zone) = node
        .admin(Method::GET, "/v1/zones/example.test.", None)
        .await;
    let before = serial(&zone);

    let settings = json!({"allow": ["192.0.2.0/24", "key:xfr-key", "2001:db8::1"],
                          "notify": ["192.0.2.53", "[2001:db8::53]:5300"]});
    let (status, _, body) = node
        .admin(
            Method::PUT,
            "/v1/zones/example.test./transfer",
            Some(settings),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, _, read) = node
        .admin(Method::GET, "/v1/zones/example.test./transfer", None)
        .await;
    assert_eq!(
        read["allow"],
        json!(["192.0.2.0/24", "key:xfr-key", "2001:db8::1/128"])
    );
    assert_eq!(
        read["notify"],
        json!(["192.0.2.53:53", "[2001:db8::53]:5300"])
    );
    let (_, _, zone) = node
        .admin(Method::GET, "/v1/zones/example.test.", None)
        .await;
    assert_eq!(serial(&zone), before, "settings are not content");
    assert_eq!(zone["transfer"]["allow"][0], "192.0.2.0/24");

    let bad =
        json!({"allow": ["192.0.2.1/24"], "notify": ["nowhere"], "omit_gslb": ["x.other.test."]});
    let answer = node
        .admin(Method::PUT, "/v1/zones/example.test./transfer", Some(bad))
        .await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("allow[0]"));
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("notify[0]"));
    let answer = node
        .admin(
            Method::PUT,
            "/v1/zones/example.test./transfer",
            Some(json!({"omit_gslb": ["x.other.test."]})),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("omit_gslb[0]"),
    );
    let answer = node
        .admin(
            Method::PUT,
            "/v1/zones/nowhere.test./transfer",
            Some(json!({})),
        )
        .await;
    assert_eq!(answer.0, StatusCode::NOT_FOUND, "{}", answer.2);

    // A whole zone written without `transfer` keeps the settings; with it, replaces them.
    let mut without = zone.clone();
    without.as_object_mut().unwrap().remove("transfer");
    let (status, _, body) = node
        .admin(
            Method::PUT,
            "/v1/zones/example.test.",
            Some(without.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, _, read) = node
        .admin(Method::GET, "/v1/zones/example.test./transfer", None)
        .await;
    assert_eq!(read["allow"].as_array().unwrap().len(), 3, "{read}");
    without["transfer"] = json!({"allow": ["10.0.0.0/8"]});
    let (status, _, body) = node
        .admin(Method::PUT, "/v1/zones/example.test.", Some(without))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, _, read) = node
        .admin(Method::GET, "/v1/zones/example.test./transfer", None)
        .await;
    assert_eq!(read["allow"], json!(["10.0.0.0/8"]));
    assert_eq!(read["notify"], json!([]));
    node.stop().await;
}

/// What does this test do: /openapi.json documents every route with its methods, the
/// bearer scheme and the error body, and matches `gslb_api::openapi()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let (status, _, doc) = node.admin(Method::GET, "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/v1/zones", &["get", "post"][..]),
        ("/v1/zones/{zone}", &["get", "put", "delete"]),
        ("/v1/zones/{zone}/zonefile", &["get", "put"]),
        ("/v1/zones/{zone}/transfer", &["get", "put"]),
        ("/v1/zones/{zone}/records", &["get", "post"]),
        (
            "/v1/zones/{zone}/records/{name}/{type}",
            &["get", "put", "delete"],
        ),
        ("/v1/zones/{zone}/gslb-records", &["get", "post"]),
        (
            "/v1/zones/{zone}/gslb-records/{name}/{type}",
            &["get", "put", "delete"],
        ),
        ("/v1/regions", &["get", "post"]),
        ("/v1/regions/{id}", &["get", "put", "delete"]),
        ("/v1/endpoints", &["get", "post"]),
        ("/v1/endpoints/{id}", &["get", "put", "delete"]),
        ("/v1/tokens", &["get", "post"]),
        ("/v1/tokens/{id}", &["get", "delete"]),
        ("/v1/tsig-keys", &["get", "post"]),
        ("/v1/tsig-keys/{name}", &["get", "delete"]),
        ("/v1/zones/{zone}/unsigned-update-sources", &["get", "put"]),
        ("/v1/zones/{zone}/dnssec", &["get", "post", "delete"]),
        ("/v1/zones/{zone}/dnssec/rollover", &["post"]),
        ("/v1/cluster", &["get"]),
        ("/v1/cluster/learners", &["post"]),
        ("/v1/cluster/voters", &["put"]),
        ("/v1/cluster/snapshot", &["get"]),
        ("/v1/changes", &["post"]),
        ("/v1/apply", &["post"]),
        ("/v1/changes/{version}", &["get"]),
        ("/v1/audit", &["get"]),
        ("/v1/checks", &["get", "post"]),
        ("/v1/checks/{id}", &["get", "put", "delete"]),
        ("/v1/overrides", &["get", "post"]),
        ("/v1/overrides/{id}", &["get", "put", "delete"]),
        ("/v1/health", &["get"]),
        ("/v1/resolve", &["get"]),
        ("/v1/observations", &["post"]),
        ("/v1/drills", &["get", "post"]),
        ("/v1/drills/plan", &["post"]),
        ("/v1/drills/{id}", &["get"]),
        ("/v1/drills/{id}/abort", &["post"]),
        ("/v1/drills/{id}/report", &["get"]),
        ("/v1/events", &["get"]),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
        ("/metrics", &["get"]),
        ("/openapi.json", &["get"]),
    ] {
        let item = paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} undocumented"));
        for method in methods {
            assert!(item.get(*method).is_some(), "{method} {path} undocumented");
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["schemas"]["ApplyDocument"].is_object());
    assert!(doc["components"]["schemas"]["ApplyResult"].is_object());
    let apply_params = doc["paths"]["/v1/apply"]["post"]["parameters"].to_string();
    assert!(
        apply_params.contains("dry_run") && apply_params.contains("prune"),
        "{apply_params}"
    );
    assert!(doc["paths"]["/v1/regions/{id}"]["put"]["responses"]["412"].is_object());
    assert!(
        doc["components"]["schemas"]["TcpDto"]["additionalProperties"].is_null(),
        "a tagged variant's schema must allow its tag"
    );
    assert_eq!(doc, serde_json::to_value(gslb_api::openapi()).unwrap());
    node.stop().await;
}

/// What does this test do: a check is created through /v1/checks (model defaults filled in,
/// a missing subject or a bad node address named), a prober token reports observations (and
/// may do nothing else), a write token may not report them, and /v1/health shows the
/// derived verdict with its votes for the check, the endpoint and the region.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probers_report_and_health_is_derived() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    node.admin(Method::PUT, "/v1/regions/eu-1", Some(region("eu-1")))
        .await;
    node.admin(
        Method::PUT,
        "/v1/endpoints/web-1",
        Some(endpoint("web-1", "eu-1", "192.0.2.10")),
    )
    .await;
    let check = json!({
        "id": "web-tcp",
        "endpoint": "web-1",
        "kind": {"type": "tcp", "port": 80},
        "target": "192.0.2.10",
        "vantages": ["eu-1"]
    });
    let (status, headers, created) = node
        .admin(Method::PUT, "/v1/checks/web-tcp", Some(check.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(headers.get("etag").is_some());
    let (_, _, read) = node.admin(Method::GET, "/v1/checks/web-tcp", None).await;
    assert_eq!(read["kind"], json!({"type": "tcp", "port": 80}));
    assert_eq!(read["interval_ms"], 10000, "model defaults are filled in");
    let mut orphan = check.clone();
    orphan["endpoint"] = json!("nowhere");
    let answer = node
        .admin(Method::PUT, "/v1/checks/web-tcp", Some(orphan))
        .await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("endpoint"));
    let mut unknown = check.clone();
    unknown["kind"] = json!({"type": "tcp", "port": 80, "colour": "blue"});
    let answer = node
        .admin(Method::PUT, "/v1/checks/web-tcp", Some(unknown))
        .await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, None);
    assert!(answer.2["message"].as_str().unwrap().contains("colour"));
    let mut bad_kind = check.clone();
    bad_kind["kind"] = json!({"type": "kube-local", "nodes": ["10.0.0.300"], "port": 30000});
    let answer = node
        .admin(Method::PUT, "/v1/checks/web-tcp", Some(bad_kind))
        .await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("kind.nodes[0]"),
    );
    for (id, scope, vantage) in [
        ("prober-eu", "prober", Some("eu-1")),
        ("prober-us", "prober", Some("us-1")),
        ("prober-none", "prober", None),
        ("ci", "write", None),
    ] {
        let mut body =
            json!({"id": id, "scopes": [scope], "secret": format!("{id}-secret-0123456789")});
        if let Some(vantage) = vantage {
            body["vantage"] = json!(vantage);
        }
        let (status, _, created) = node.admin(Method::POST, "/v1/tokens", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["token"]["vantage"], json!(vantage));
    }
    let answer = node
        .admin(
            Method::POST,
            "/v1/tokens",
            Some(json!({"id": "ci-2", "scopes": ["write"], "vantage": "eu-1"})),
        )
        .await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("vantage"));
    let report = json!({"vantage": "eu-1", "observations": [{"check": "web-tcp", "up": true, "rtt_us": 1200}]});
    let answer = node
        .call(
            Method::POST,
            "/v1/observations",
            Some("ci-secret-0123456789"),
            Some(report.clone()),
        )
        .await;
    assert_error(&answer, StatusCode::FORBIDDEN, None);
    let answer = node
        .call(
            Method::PUT,
            "/v1/regions/eu-1",
            Some("prober-eu-secret-0123456789"),
            Some(region("eu-1")),
        )
        .await;
    assert_error(&answer, StatusCode::FORBIDDEN, None);
    let (status, _, written) = node
        .call(
            Method::POST,
            "/v1/observations",
            Some("prober-eu-secret-0123456789"),
            Some(report.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{written}");

    tracing::info!("phase: a prober token speaks only for its own vantage");
    for (secret, expected) in [
        (
            "prober-us-secret-0123456789",
            "may report only for vantage \"us-1\", not \"eu-1\"",
        ),
        ("prober-none-secret-0123456789", "names no vantage"),
    ] {
        let answer = node
            .call(
                Method::POST,
                "/v1/observations",
                Some(secret),
                Some(report.clone()),
            )
            .await;
        assert_error(&answer, StatusCode::FORBIDDEN, None);
        let message = answer.2["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
    }
    let (_, _, audit) = node.admin(Method::GET, "/v1/audit", None).await;
    let audit = audit.to_string();
    assert!(
        audit.contains("refused report_observations eu-1: token:prober-us may report only"),
        "{audit}"
    );
    assert!(
        audit.contains("token:prober-none names no vantage"),
        "{audit}"
    );
    let bad = json!({"vantage": "eu-1", "observations": [{"check": "nope", "up": true}]});
    let answer = node
        .call(
            Method::POST,
            "/v1/observations",
            Some("prober-eu-secret-0123456789"),
            Some(bad),
        )
        .await;
    assert!(answer.0.is_client_error(), "{}", answer.2);

    let (status, _, health) = node.admin(Method::GET, "/v1/health", None).await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["checks"][0]["id"], "web-tcp");
    assert_eq!(health["checks"][0]["status"], "up");
    assert_eq!(health["checks"][0]["votes"]["up"], 1);
    assert_eq!(health["endpoints"][0]["status"], "up");
    assert_eq!(health["regions"][0]["status"], "up", "{health}");

    let text = http()
        .get(format!("{}/metrics", node.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for wanted in [
        "gslb_check_status{id=\"web-tcp\",status=\"up\"} 1",
        "gslb_check_status{id=\"web-tcp\",status=\"down\"} 0",
        "gslb_check_votes{check=\"web-tcp\",vote=\"up\"} 1",
        "gslb_check_rtt_microseconds{check=\"web-tcp\",vantage=\"eu-1\"} 1200",
        "gslb_endpoint_status{id=\"web-1\",status=\"up\"} 1",
        "gslb_region_status{id=\"eu-1\",status=\"up\"} 1",
        "gslb_probe_rtt_seconds_count{vantage=\"eu-1\",region=\"eu-1\"} 1",
        "gslb_observations_total{vantage=\"eu-1\",result=\"up\"} 1",
    ] {
        assert!(text.contains(wanted), "missing {wanted:?} in\n{text}");
    }
    node.stop().await;
}

/// What does this test do: an override drains a region until deleted; its target must
/// exist (422 naming `region`), exactly one target is allowed, it is listed with an ETag,
/// the region cannot be deleted while the override holds it, and drills list empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_hold_their_target() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    node.admin(Method::PUT, "/v1/regions/eu-1", Some(region("eu-1")))
        .await;
    let drain =
        json!({"id": "drain-eu", "region": "eu-1", "action": "drain", "reason": "maintenance"});
    let (status, headers, _) = node
        .admin(Method::PUT, "/v1/overrides/drain-eu", Some(drain.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(headers.get("etag").is_some());
    let answer = node
        .admin(
            Method::POST,
            "/v1/overrides",
            Some(json!({"id": "x", "region": "mars", "action": "force_down", "reason": "test"})),
        )
        .await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("region"));
    let answer = node
        .admin(
            Method::POST,
            "/v1/overrides",
            Some(json!({"id": "x", "region": "eu-1", "endpoint": "web", "action": "drain", "reason": "r"})),
        )
        .await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("region"));
    let (_, _, page) = node.admin(Method::GET, "/v1/overrides", None).await;
    assert_eq!(page["items"][0], drain);
    let answer = node.admin(Method::DELETE, "/v1/regions/eu-1", None).await;
    assert_error(&answer, StatusCode::CONFLICT, Some("id"));
    let (status, _, _) = node
        .admin(Method::DELETE, "/v1/overrides/drain-eu", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, drills) = node.admin(Method::GET, "/v1/drills", None).await;
    assert_eq!(drills["items"], json!([]));
    node.stop().await;
}

/// What does this test do: /v1/resolve answers static names from the state the way the
/// authoritative server would — records, a CNAME chain inside our zones, a wildcard, a
/// delegation, NODATA, NXDOMAIN and REFUSED — and explains each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_answers_static_names_and_explains() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let zone = format!(
        "{ZONE_FILE}alias IN CNAME www\n*.apps IN A 192.0.2.80\nsub IN NS ns.sub\nns.sub IN A 192.0.2.99\n"
    );
    let (status, _, _) = node
        .admin(
            Method::PUT,
            "/v1/zones/example.test./zonefile",
            Some(json!({"text": zone})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let ask = |name: &str, rtype: &str| format!("/v1/resolve?name={name}&type={rtype}");
    let (status, _, www) = node
        .admin(Method::GET, &ask("www.example.test", "A"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{www}");
    assert_eq!(www["rcode"], "NOERROR");
    assert_eq!(
        www["answers"][0]["data"],
        json!(["192.0.2.10", "192.0.2.11"])
    );
    // A Unicode name is asked as its A-label; text longer than any name is refused.
    let (status, _, unicode) = node.admin(Method::GET, &ask("%C2%B5", "A"), None).await;
    assert_eq!(status, StatusCode::OK, "{unicode}");
    assert_eq!(unicode["name"], "xn--xxa.");
    let too_long = node
        .admin(Method::GET, &ask(&"a".repeat(1021), "A"), None)
        .await;
    assert_error(&too_long, StatusCode::BAD_REQUEST, Some("name"));
    let (_, _, alias) = node
        .admin(Method::GET, &ask("alias.example.test.", "A"), None)
        .await;
    assert_eq!(alias["answers"][0]["type"], "CNAME");
    assert_eq!(alias["answers"][1]["name"], "www.example.test.");
    let (_, _, wild) = node
        .admin(Method::GET, &ask("x.apps.example.test.", "A"), None)
        .await;
    assert_eq!(wild["answers"][0]["name"], "x.apps.example.test.", "{wild}");
    let (_, _, referral) = node
        .admin(Method::GET, &ask("a.sub.example.test.", "A"), None)
        .await;
    assert_eq!(referral["answers"], json!([]));
    assert_eq!(referral["authority"][0]["type"], "NS");
    let (_, _, nodata) = node
        .admin(Method::GET, &ask("www.example.test.", "AAAA"), None)
        .await;
    assert_eq!(
        (nodata["rcode"].clone(), nodata["answers"].clone()),
        (json!("NOERROR"), json!([]))
    );
    let (_, _, missing) = node
        .admin(Method::GET, &ask("nope.example.test.", "A"), None)
        .await;
    assert_eq!(missing["rcode"], "NXDOMAIN");
    let (_, _, outside) = node
        .admin(Method::GET, &ask("example.org.", "A"), None)
        .await;
    assert_eq!(outside["rcode"], "REFUSED");
    assert!(!outside["explain"].as_array().unwrap().is_empty());
    let (status, _, with_client) = node
        .admin(
            Method::GET,
            &format!("{}&client=192.0.2.0/24", ask("www.example.test.", "A")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{with_client}");
    let answer = node
        .admin(
            Method::GET,
            &format!("{}&client=nope/99", ask("www.example.test.", "A")),
            None,
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, Some("client"));
    let answer = node
        .admin(Method::GET, &ask("www.example.test.", "SOA"), None)
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, Some("type"));
    node.stop().await;
}

/// What does this test do: a node that has not joined a cluster has no state, so /readyz
/// answers 503 with `ready: false` (and says it is stale), while /healthz answers 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_waits_for_state() {
    init_logging();
    let dir = tempfile::tempdir().unwrap();
    let node = ApiNode::start(7, dir.path(), api_options()).await;
    let (status, _, _) = node.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, ready) = node.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["ready"], false);
    assert_eq!(ready["stale"], true);
    node.stop().await;
}

/// What does this test do: on a DNS node /readyz follows `dns_serving` too: with state
/// applied it is 503 (`dns_serving: false`) until the DNS listeners answer, 200 while they
/// do, and 503 again once shutdown clears the flag, so a load balancer sends no queries to
/// a node that is catching up after a restart or draining.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_on_a_dns_node_waits_for_dns() {
    let dir = tempfile::tempdir().unwrap();
    let serving = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let options = gslb_api::ApiOptions {
        dns_serving: Some(serving.clone()),
        ..api_options()
    };
    let node = single_node_with(dir.path(), options).await;
    let (status, _, ready) = node.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["ready"], false);
    assert_eq!(ready["dns_serving"], false);
    serving.store(true, std::sync::atomic::Ordering::Release);
    let (status, _, ready) = node.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["dns_serving"], true);
    serving.store(false, std::sync::atomic::Ordering::Release);
    let (status, _, ready) = node.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    node.stop().await;
}

/// What does this test do: graceful shutdown stops accepting new connections but lets a
/// request in flight (a body still arriving) finish and commit; then the server stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_requests_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = single_node(dir.path()).await;
    let body = serde_json::to_string(&region("eu-1")).unwrap();
    let (first, rest) = body.split_at(10);
    let mut stream = tokio::net::TcpStream::connect(&node.addr).await.unwrap();
    let head = format!(
        "PUT /v1/regions/eu-1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {ADMIN}\r\n\
         content-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{first}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    tracing::info!("phase: shut down with a request in flight");
    node.begin_shutdown();
    wait_for("the listener to close", || {
        let addr = node.addr.clone();
        async move { tokio::net::TcpStream::connect(addr).await.err() }
    })
    .await;
    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut reply = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut reply))
        .await
        .expect("the request in flight is answered")
        .unwrap();
    assert!(reply.starts_with("HTTP/1.1 201"), "{reply}");
    assert!(node.server_stopped().await, "the server stops once idle");
    assert!(node.handle.state().regions.contains_key("eu-1"));
    node.stop().await;
}

/// What does this test do: GSLB records are created, read (with an ETag), listed, put in a
/// batch and deleted under /v1/zones/{zone}/gslb-records; a policy naming a missing region,
/// a bad geo CIDR and a name that collides with static data are 422 naming the field and
/// change nothing; /v1/resolve answers a GSLB name with the DNS evaluator's explanation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gslb_records_are_managed_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    node.admin(
        Method::PUT,
        "/v1/zones/example.test./zonefile",
        Some(json!({"text": ZONE_FILE})),
    )
    .await;
    for (id, address) in [("eu-1", "192.0.2.10"), ("us-1", "192.0.2.20")] {
        node.admin(Method::PUT, &format!("/v1/regions/{id}"), Some(region(id)))
            .await;
        let (status, _, _) = node
            .admin(
                Method::PUT,
                &format!("/v1/endpoints/web-{id}"),
                Some(endpoint(&format!("web-{id}"), id, address)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let app = json!({
        "name": "app", "type": "A", "ttl": 30,
        "policy": {"failover": [{"region": "eu-1"}, {"endpoints": ["web-us-1"]}]}
    });
    let path = "/v1/zones/example.test./gslb-records/app/A";
    let (status, headers, written) = node.admin(Method::PUT, path, Some(app.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{written}");
    assert!(headers.get("etag").is_some());
    let (status, _, read) = node.admin(Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["name"], "app.example.test.");
    assert_eq!(read["policy"], app["policy"]);
    assert_eq!(read["when_all_down"], "fail_open");

    let before = node.handle.state().version;
    let mut missing = app.clone();
    missing["policy"] = json!({"region": "mars-1"});
    let answer = node.admin(Method::PUT, path, Some(missing)).await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, None);
    assert!(answer.2["fields"][0]["path"]
        .as_str()
        .unwrap()
        .starts_with("policy"));
    let mut bad_cidr = app.clone();
    bad_cidr["policy"] = json!({"geo": {"rules": [{"match": [{"cidr": "10.0.0.1/8"}], "node": {"region": "eu-1"}}],
                                        "default": {"region": "us-1"}}});
    let answer = node.admin(Method::PUT, path, Some(bad_cidr)).await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("policy.geo.rules[0].match[0].cidr"),
    );
    let mut clash = app.clone();
    clash["name"] = json!("www");
    let answer = node
        .admin(
            Method::PUT,
            "/v1/zones/example.test./gslb-records/www/A",
            Some(clash),
        )
        .await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, None);
    assert_eq!(
        node.handle.state().version,
        before,
        "refused records change nothing"
    );

    let (status, _, resolved) = node
        .admin(
            Method::GET,
            "/v1/resolve?name=app.example.test.&type=A&client=198.51.100.7",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["gslb"], "app.example.test.");
    assert_eq!(resolved["policy"]["outcome"], "all_down_open", "{resolved}");
    assert_eq!(resolved["policy"]["client"]["address"], "198.51.100.7");
    assert_eq!(
        resolved["answers"][0]["data"],
        json!(["192.0.2.10"]),
        "unknown health fails open to the first child: {resolved}"
    );

    let batch = json!({"changes": [
        {"op": "put_gslb_record", "zone": "example.test.",
         "record": {"name": "api", "type": "A", "ttl": 30, "policy": {"weighted": [
             {"weight": 3, "node": {"region": "eu-1"}}, {"weight": 1, "node": {"region": "us-1"}}]}}}
    ]});
    let (status, _, written) = node.admin(Method::POST, "/v1/changes", Some(batch)).await;
    assert_eq!(status, StatusCode::OK, "{written}");
    let (_, _, page) = node
        .admin(Method::GET, "/v1/zones/example.test./gslb-records", None)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");
    let (status, _, _) = node.admin(Method::DELETE, path, None).await;
    assert_eq!(status, StatusCode::OK);
    let answer = node.admin(Method::GET, path, None).await;
    assert_error(&answer, StatusCode::NOT_FOUND, None);
    node.stop().await;
}

/// What does this test do: the client-network table is a resource like the others: PUT
/// creates (201) and repeats idempotently, GET reads it with an ETag under its
/// percent-encoded CIDR (canonical form too), bad entries get 422 naming the field, a stale
/// If-Match gets 412 and writes nothing, POST of an existing CIDR is 409, a batch listing a
/// CIDR twice is refused, and DELETE removes it. `/v1/resolve` places a client inside an
/// entry by it, and says when it falls through to a node without a GeoIP database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networks_are_managed_and_place_resolve_clients() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let path = "/v1/networks/198.51.100.0%2F24";
    let entry = json!({"cidr": "198.51.100.0/24", "continent": "EU", "country": "DE",
                       "subdivision": "DE-BY", "asn": 64500, "lat": 48.137, "lon": 11.575});

    tracing::info!("phase: round trip with etag");
    let (status, headers, written) = node.admin(Method::PUT, path, Some(entry.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{written}");
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (status, headers, read) = node.admin(Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, entry, "what was written reads back");
    assert_eq!(headers["etag"].to_str().unwrap(), etag);
    let (_, _, repeat) = node.admin(Method::PUT, path, Some(entry.clone())).await;
    assert_eq!(repeat["changed"], false);
    let (status, _, v6) = node
        .admin(
            Method::PUT,
            "/v1/networks/2001%3ADB8%3A%3A%2F32",
            Some(json!({"cidr": "2001:db8::/32", "continent": "NA", "country": "US"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v6}");
    let (status, _, v6) = node
        .admin(Method::GET, "/v1/networks/2001%3Adb8%3A%3A%2F32", None)
        .await;
    assert_eq!((status, &v6["country"]), (StatusCode::OK, &json!("US")));
    let (_, _, page) = node.admin(Method::GET, "/v1/networks?limit=1", None).await;
    assert_eq!(page["items"][0]["cidr"], "198.51.100.0/24", "{page}");
    assert_eq!(page["next"], "198.51.100.0/24");
    let (_, _, page) = node
        .admin(Method::GET, "/v1/networks?after=198.51.100.0%2F24", None)
        .await;
    assert_eq!(page["items"][0]["cidr"], "2001:db8::/32", "{page}");

    tracing::info!("phase: bad entries name their field and change nothing");
    let before = node.handle.state().version;
    for (body, url, field) in [
        (
            json!({"cidr": "198.51.100.1/24", "country": "DE"}),
            "/v1/networks/198.51.100.1%2F24",
            "cidr",
        ),
        (
            json!({"cidr": "198.51.100.0/24", "continent": "XX"}),
            path,
            "continent",
        ),
        (
            json!({"cidr": "198.51.100.0/24", "country": "Germany"}),
            path,
            "country",
        ),
        (
            json!({"cidr": "198.51.100.0/24", "lat": 91.0, "lon": 0.0}),
            path,
            "lat",
        ),
        (json!({"cidr": "198.51.100.0/24", "lat": 45.0}), path, "lon"),
        (json!({"cidr": "198.51.100.0/24"}), path, "cidr"),
        (
            json!({"cidr": "203.0.113.0/24", "country": "DE"}),
            path,
            "cidr",
        ),
    ] {
        let answer = node.admin(Method::PUT, url, Some(body.clone())).await;
        assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some(field));
    }
    let answer = node
        .admin(Method::POST, "/v1/networks", Some(entry.clone()))
        .await;
    assert_error(&answer, StatusCode::CONFLICT, None);
    let twice = json!({"changes": [
        {"op": "put_network", "network": {"cidr": "203.0.113.0/24", "country": "NL"}},
        {"op": "put_network", "network": {"cidr": "203.0.113.0/24", "country": "BE"}}]});
    let answer = node.admin(Method::POST, "/v1/changes", Some(twice)).await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("changes[1].network.cidr"),
    );
    assert_eq!(
        node.handle.state().version,
        before,
        "refusals change nothing"
    );

    tracing::info!("phase: a stale If-Match gets 412");
    let mut moved = entry.clone();
    moved["country"] = json!("AT");
    moved["subdivision"] = json!("AT-9");
    let fresh = http()
        .put(format!("{}{path}", node.url))
        .bearer_auth(ADMIN)
        .header("if-match", &etag)
        .json(&moved)
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
    let stale = http()
        .put(format!("{}{path}", node.url))
        .bearer_auth(ADMIN)
        .header("if-match", &etag)
        .json(&entry)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        node.handle.state().networks["198.51.100.0/24"]
            .country
            .as_deref(),
        Some("AT"),
        "412 wrote nothing"
    );

    tracing::info!("phase: /v1/resolve places clients by the table");
    node.admin(
        Method::PUT,
        "/v1/zones/example.test./zonefile",
        Some(json!({"text": ZONE_FILE})),
    )
    .await;
    for (id, address) in [("eu-1", "192.0.2.10"), ("us-1", "192.0.2.20")] {
        node.admin(Method::PUT, &format!("/v1/regions/{id}"), Some(region(id)))
            .await;
        node.admin(
            Method::PUT,
            &format!("/v1/endpoints/web-{id}"),
            Some(endpoint(&format!("web-{id}"), id, address)),
        )
        .await;
    }
    let geo = json!({
        "name": "geo", "type": "A", "ttl": 30, "unknown_as": "up",
        "policy": {"geo": {"rules": [{"match": [{"country": "AT"}], "node": {"region": "eu-1"}}],
                           "default": {"region": "us-1"}}}
    });
    let (status, _, written) = node
        .admin(
            Method::PUT,
            "/v1/zones/example.test./gslb-records/geo/A",
            Some(geo),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{written}");
    let (status, _, inside) = node
        .admin(
            Method::GET,
            "/v1/resolve?name=geo.example.test&client=198.51.100.7/32",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{inside}");
    assert_eq!(
        inside["answers"][0]["data"],
        json!(["192.0.2.10"]),
        "{inside}"
    );
    assert_eq!(
        inside["policy"]["client"]["geo_source"], "network",
        "{inside}"
    );
    assert_eq!(inside["policy"]["client"]["country"], "AT");
    assert_eq!(
        inside["policy"]["scope"], 24,
        "the entry decides: scope /24"
    );
    let explain = inside["explain"].to_string();
    assert!(
        explain.contains("by the replicated network table"),
        "{explain}"
    );
    let (_, _, outside) = node
        .admin(
            Method::GET,
            "/v1/resolve?name=geo.example.test&client=203.0.113.7",
            None,
        )
        .await;
    assert_eq!(
        outside["answers"][0]["data"],
        json!(["192.0.2.20"]),
        "{outside}"
    );
    assert_eq!(outside["policy"]["client"]["geo_source"], "unknown");
    assert!(
        outside["explain"]
            .to_string()
            .contains("this node has no GeoIP database"),
        "{outside}"
    );

    tracing::info!("phase: delete, and the client falls back to the default");
    let (status, _, _) = node.admin(Method::DELETE, path, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = node.admin(Method::GET, path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, after) = node
        .admin(
            Method::GET,
            "/v1/resolve?name=geo.example.test&client=198.51.100.7/32",
            None,
        )
        .await;
    assert_eq!(
        after["answers"][0]["data"],
        json!(["192.0.2.20"]),
        "{after}"
    );
    node.stop().await;
}

/// What does this test do: a TSIG key is created with its secret shown once (base64 and a
/// BIND key block), listed and read without it, refused when its name is taken or its
/// algorithm or grant is wrong, and deleted; a zone's unsigned update sources are set,
/// read back and cleared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tsig_keys_show_their_secret_once() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let (status, _, created) = node
        .admin(
            Method::POST,
            "/v1/tsig-keys",
            Some(json!({"name": "acme-key", "algorithm": "hmac-md5",
                        "update": ["example.com:_acme-challenge.*:TXT"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 24, "16 octets in base64: {secret}");
    let bind = created["bind"].as_str().unwrap();
    assert!(
        bind.starts_with("key \"acme-key\" {\n\talgorithm hmac-md5;"),
        "{bind}"
    );
    assert!(bind.contains(secret));

    let (status, _, listed) = node.admin(Method::GET, "/v1/tsig-keys", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["items"][0]["name"], "acme-key");
    assert_eq!(
        listed["items"][0]["update"][0],
        "example.com.:_acme-challenge.*:TXT"
    );
    assert!(!listed.to_string().contains(secret), "{listed}");
    let (status, _, read) = node
        .admin(Method::GET, "/v1/tsig-keys/acme-key.", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!read.to_string().contains(secret), "{read}");

    let answer = node
        .admin(
            Method::POST,
            "/v1/tsig-keys",
            Some(json!({"name": "acme-key"})),
        )
        .await;
    assert_eq!(answer.0, StatusCode::CONFLICT, "{}", answer.2);
    let answer = node
        .admin(
            Method::POST,
            "/v1/tsig-keys",
            Some(json!({"name": "k2", "algorithm": "gss-tsig"})),
        )
        .await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("algorithm"));
    let answer = node
        .admin(
            Method::POST,
            "/v1/tsig-keys",
            Some(json!({"name": "k2", "update": ["example.com:x:BOGUS"]})),
        )
        .await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("update[0]"));

    let (status, _, _) = node
        .admin(Method::DELETE, "/v1/tsig-keys/acme-key", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = node
        .admin(Method::GET, "/v1/tsig-keys/acme-key", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let zone = json!({"apex": "example.com.", "soa": {"mname": "ns1", "rname": "hostmaster"},
                      "records": [{"name": "@", "type": "NS", "data": ["ns1"]},
                                  {"name": "ns1", "type": "A", "data": ["192.0.2.1"]}]});
    let (status, _, body) = node
        .admin(Method::PUT, "/v1/zones/example.com.", Some(zone))
        .await;
    assert!(status.is_success(), "{body}");
    let path = "/v1/zones/example.com./unsigned-update-sources";
    let (status, _, body) = node
        .admin(
            Method::PUT,
            path,
            Some(json!({"sources": ["10.0.0.0/8", "192.0.2.7"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, _, read) = node.admin(Method::GET, path, None).await;
    assert_eq!(read["sources"], json!(["10.0.0.0/8", "192.0.2.7/32"]));
    let answer = node
        .admin(Method::PUT, path, Some(json!({"sources": ["10.0.0.1/8"]})))
        .await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("sources[0]"),
    );
    node.admin(Method::PUT, path, Some(json!({"sources": []})))
        .await;
    let (_, _, read) = node.admin(Method::GET, path, None).await;
    assert_eq!(read["sources"], json!([]));
    node.stop().await;
}

/// What does this test do: every new record type goes zone file → API → export → zone file,
/// and zone JSON → PUT → the same zone: the fixture of `tests/record_types_peers.rs` (SVCB,
/// HTTPS, NAPTR, DS, DNSKEY, CDS, CDNSKEY, DNAME, LOC, URI, RP, CERT, OPENPGPKEY, EUI48/64)
/// is imported, exported and read back to the same stored zone, and its JSON (every type
/// present) put back unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_type_round_trips_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let text = include_str!("../../tests/fixtures/record_types.zone");
    let apex = gslb_model::model::DomainName::parse_absolute("example.org.").unwrap();

    tracing::info!("phase: import the zone file");
    let (status, _, written) = node
        .admin(
            Method::PUT,
            "/v1/zones/example.org./zonefile",
            Some(json!({ "text": text })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{written}");
    let stored = node.handle.state().zones.get(&apex).unwrap().clone();
    let local = gslb_model::zonefile::parse_zone(text, "fixture", Some(&apex), None).unwrap();
    assert_eq!(stored.rrsets, local.rrsets);

    tracing::info!("phase: the export reads back to the same zone");
    let exported = http()
        .get(format!("{}/v1/zones/example.org./zonefile", node.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let reparsed =
        gslb_model::zonefile::parse_zone(&exported, "export", Some(&apex), None).unwrap();
    assert_eq!(reparsed, *stored, "{exported}");

    tracing::info!("phase: the zone's JSON put back changes nothing");
    let (status, _, zone) = node
        .admin(Method::GET, "/v1/zones/example.org.", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{zone}");
    let (status, _, again) = node
        .admin(Method::PUT, "/v1/zones/example.org.", Some(zone.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["changed"], false, "{zone}");
    let types: BTreeSet<String> = zone["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|set| set["type"].as_str().unwrap().to_string())
        .collect();
    for wanted in [
        "HTTPS",
        "SVCB",
        "NAPTR",
        "DS",
        "DNSKEY",
        "CDS",
        "CDNSKEY",
        "DNAME",
        "LOC",
        "URI",
        "RP",
        "CERT",
        "OPENPGPKEY",
        "EUI48",
        "EUI64",
    ] {
        assert!(types.contains(wanted), "{wanted} missing from {types:?}");
    }
}
