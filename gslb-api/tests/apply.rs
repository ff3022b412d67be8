//! Server-side apply (`POST /v1/apply`) against a real one-voter node: every kind is
//! created, diffed and left alone on a repeat; a key declared twice is refused for every
//! kind, naming both items; prune deletes dependents before what they depend on; a dry run
//! writes nothing; faults name the document item.

use gslb_api::apply::{ApplyDocument, ApplyResult};
use gslb_api::client::{Client, ClientError};
use gslb_testkit::cluster::api::*;
use serde_json::{json, Value};

/// A document holding one item of every kind: zone `svc.test.` whole, a record set of
/// `other.test.` (which must exist), a GSLB record in `svc.test.`.
fn every_kind() -> Value {
    json!({
        "networks": [{"cidr": "198.51.100.0/24", "country": "DE", "continent": "EU"}],
        "regions": [region("eu-1"), region("us-1")],
        "endpoints": [endpoint("web-eu", "eu-1", "192.0.2.10"),
                      endpoint("web-us", "us-1", "192.0.2.20")],
        "checks": [{"id": "web-eu-tcp", "endpoint": "web-eu", "kind": {"type": "tcp", "port": 443}}],
        "zones": [{"apex": "svc.test.", "soa": {"mname": "ns1", "rname": "hostmaster"},
                   "records": [{"name": "@", "type": "NS", "data": ["ns1"]},
                               {"name": "ns1", "type": "A", "data": ["192.0.2.53"]}]}],
        "records": [{"zone": "other.test.", "name": "api", "type": "AAAA", "data": ["2001:db8::1"]}],
        "gslb_records": [{"zone": "svc.test.", "name": "app", "type": "A", "ttl": 30,
                          "policy": {"failover": [{"region": "eu-1"}, {"endpoints": ["web-us"]}]}}]
    })
}

fn document(value: Value) -> ApplyDocument {
    serde_json::from_value(value).expect("a valid apply document")
}

/// The kinds a result names, with their creates, updates and deletes counted.
fn summary(result: &ApplyResult) -> Vec<(String, usize, usize, usize)> {
    result
        .kinds
        .iter()
        .map(|kind| {
            (
                kind.kind.clone(),
                kind.creates.len(),
                kind.updates.len(),
                kind.deletes.len(),
            )
        })
        .collect()
}

/// The 422 body of a refused apply.
fn refused(error: ClientError) -> gslb_api::error::ErrorBody {
    match error {
        ClientError::Api { status: 422, body } => body,
        other => panic!("expected 422, got {other}"),
    }
}

async fn with_other_zone(client: &Client) {
    client
        .import_zone(
            "other.test.",
            "$ORIGIN other.test.\n@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n\
             @ IN NS ns1\nns1 IN A 192.0.2.54\nwww IN A 192.0.2.99\n",
        )
        .await
        .unwrap();
}

/// What does this test do: a dry run of a document with every kind answers a create per
/// item and writes nothing; the real apply writes it all as one version; a repeat has no
/// changes; a changed field is an update naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_creates_every_kind_in_one_version_and_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let client = Client::new(&node.url, Some(ADMIN.to_string())).unwrap();
    with_other_zone(&client).await;
    let doc = document(every_kind());

    eprintln!("phase: dry run");
    let before = node.handle.state().version;
    let planned = client.apply(&doc, true, false).await.unwrap();
    assert!(planned.dry_run && planned.version.is_none());
    assert_eq!(
        node.handle.state().version,
        before,
        "a dry run writes nothing"
    );
    assert_eq!(
        summary(&planned),
        [
            ("region".to_string(), 2, 0, 0),
            ("network".to_string(), 1, 0, 0),
            ("endpoint".to_string(), 2, 0, 0),
            ("check".to_string(), 1, 0, 0),
            ("zone".to_string(), 1, 0, 0),
            ("record".to_string(), 1, 0, 0),
            ("gslb record".to_string(), 1, 0, 0),
        ]
    );
    assert_eq!(planned.n_changes, 9);
    assert!(planned
        .lines()
        .contains(&"+ record api.other.test. AAAA in other.test.".to_string()));

    eprintln!("phase: apply, one version");
    let applied = client.apply(&doc, false, false).await.unwrap();
    let state = node.handle.state();
    assert_eq!(applied.version, Some(before + 1), "one atomic entry");
    assert!(applied.changed);
    assert_eq!(summary(&applied), summary(&planned));
    assert_eq!(state.networks.len(), 1);
    assert_eq!(state.regions.len(), 2);
    assert_eq!(state.endpoints.len(), 2);
    assert_eq!(state.checks.len(), 1);
    assert_eq!(state.zones.len(), 2);
    assert_eq!(state.all_gslb_records().count(), 1);
    client
        .wait_insync(applied.version.unwrap(), WAIT)
        .await
        .unwrap();

    eprintln!("phase: a repeat changes nothing (the zone's serial moved on the server)");
    let again = client.apply(&doc, false, false).await.unwrap();
    assert_eq!((again.n_changes, again.version), (0, None));
    assert!(again.kinds.is_empty(), "{:?}", again.kinds);

    eprintln!("phase: a read-only token may not apply, not even a dry run");
    let reader = client
        .create_token(&gslb_api::dto::TokenCreate {
            id: "reader".to_string(),
            scopes: vec![gslb_api::dto::ScopeDto::Read],
            expires_at: None,
            secret: None,
            vantage: None,
        })
        .await
        .unwrap();
    let reader = Client::new(&node.url, Some(reader.secret)).unwrap();
    let status = reader.apply(&doc, true, false).await.unwrap_err().status();
    assert_eq!(status, Some(403));

    eprintln!("phase: an update names the field");
    let mut changed = every_kind();
    changed["endpoints"][0]["weight"] = json!(20);
    let updated = client.apply(&document(changed), true, false).await.unwrap();
    assert_eq!(summary(&updated), [("endpoint".to_string(), 0, 1, 0)]);
    let update = &updated.kinds[0].updates[0];
    assert_eq!(update.key, "web-eu");
    assert_eq!(update.fields.len(), 1);
    assert_eq!(update.fields[0].path, "weight");
    assert_eq!(update.fields[0].before.as_deref(), Some("10"));
    assert_eq!(update.fields[0].after.as_deref(), Some("20"));

    eprintln!("phase: the server moves a changed zone's serial; a repeat is still clean");
    let mut grown = every_kind();
    grown["zones"][0]["records"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "www", "type": "A", "data": ["192.0.2.80"]}));
    let applied = client
        .apply(&document(grown.clone()), false, false)
        .await
        .unwrap();
    assert_eq!(summary(&applied), [("zone".to_string(), 0, 1, 0)]);
    let fields: Vec<&str> = applied.kinds[0].updates[0]
        .fields
        .iter()
        .map(|field| field.path.as_str())
        .collect();
    assert!(
        !fields.iter().any(|path| path.contains("serial")),
        "{fields:?}"
    );
    let apex = gslb_api::dto::zone::parse_apex("svc.test.").unwrap();
    assert!(
        node.handle.state().zones[&apex].soa.serial > 1,
        "the serial moved"
    );
    let again = client
        .apply(&document(grown.clone()), true, false)
        .await
        .unwrap();
    assert!(again.kinds.is_empty(), "{:?}", again.kinds);

    eprintln!("phase: a zone's transfer settings are declared with it; a repeat is clean");
    grown["zones"][0]["transfer"] = json!({"allow": ["127.0.0.1", "key:xfr"],
                                           "notify": ["192.0.2.53"]});
    let applied = client
        .apply(&document(grown.clone()), false, false)
        .await
        .unwrap();
    assert_eq!(summary(&applied), [("zone".to_string(), 0, 1, 0)]);
    let transfer = node.handle.state().zones[&apex].transfer.clone();
    assert_eq!(transfer.allow.len(), 2);
    assert_eq!(transfer.notify, ["192.0.2.53:53".parse().unwrap()]);
    let again = client.apply(&document(grown), true, false).await.unwrap();
    assert!(again.kinds.is_empty(), "{:?}", again.kinds);
    node.stop().await;
}

/// What does this test do: for every kind, a document declaring the same key twice is
/// refused (422) naming the second item and the first, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_declared_twice_is_refused_for_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let client = Client::new(&node.url, Some(ADMIN.to_string())).unwrap();
    with_other_zone(&client).await;
    let base = every_kind();
    let before = node.handle.state().version;
    for section in [
        "networks",
        "regions",
        "endpoints",
        "checks",
        "zones",
        "records",
        "gslb_records",
    ] {
        let mut twice = base.clone();
        let items = twice[section].as_array_mut().unwrap();
        let first = items[0].clone();
        items.push(first);
        let at = items.len() - 1;
        let body = refused(
            client
                .apply(&document(twice), true, false)
                .await
                .unwrap_err(),
        );
        let fault = body
            .fields
            .iter()
            .find(|field| field.path == format!("{section}[{at}]"))
            .unwrap_or_else(|| panic!("{section}: no fault at {section}[{at}]: {body:?}"));
        assert!(
            fault.message.contains("is listed twice")
                && fault.message.contains(&format!("{section}[0]")),
            "{section}: {}",
            fault.message
        );
    }
    let mut nested = base.clone();
    nested["zones"][0]["records"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "ns1", "type": "A", "data": ["192.0.2.55"]}));
    let body = refused(
        client
            .apply(&document(nested), true, false)
            .await
            .unwrap_err(),
    );
    assert!(
        body.fields
            .iter()
            .any(|field| field.path == "zones[0].records[2]"
                && field.message.contains("listed twice")),
        "{body:?}"
    );
    assert_eq!(node.handle.state().version, before, "nothing written");
    node.stop().await;
}

/// What does this test do: `prune` without the document's `scope` is refused naming it;
/// with a scope, a document that drops a region, its endpoint, a check, the GSLB record
/// answering from the endpoint and a zone deletes them all in one version — possible only
/// when dependents are deleted first (the store refuses to delete a region an endpoint
/// still uses) — while what the scope does not own (another team's zone, the networks) is
/// left alone; a fault found by the store is named by the document item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_dependents_first_in_one_version() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let client = Client::new(&node.url, Some(ADMIN.to_string())).unwrap();
    with_other_zone(&client).await;
    client
        .apply(&document(every_kind()), false, false)
        .await
        .unwrap();
    client
        .import_zone(
            "gone.test.",
            "$ORIGIN gone.test.\n@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n\
             @ IN NS ns1\nns1 IN A 192.0.2.57\n",
        )
        .await
        .unwrap();
    client
        .import_zone(
            "team-b.test.",
            "$ORIGIN team-b.test.\n@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n\
             @ IN NS ns1\nns1 IN A 192.0.2.58\n",
        )
        .await
        .unwrap();

    let mut smaller = every_kind();
    smaller["regions"] = json!([region("eu-1")]);
    smaller["endpoints"] = json!([endpoint("web-eu", "eu-1", "192.0.2.10")]);
    smaller["checks"] =
        json!([{"id": "web-eu-tcp2", "endpoint": "web-eu", "kind": {"type": "tcp", "port": 80}}]);
    smaller["gslb_records"] = json!([{"zone": "svc.test.", "name": "app2", "type": "A", "ttl": 30,
                                      "policy": {"endpoints": ["web-eu"]}}]);
    smaller.as_object_mut().unwrap().remove("networks");
    let before = node.handle.state().version;

    eprintln!("phase: prune without a scope is refused");
    let body = refused(
        client
            .apply(&document(smaller.clone()), false, true)
            .await
            .unwrap_err(),
    );
    assert!(
        body.fields
            .iter()
            .any(|field| field.path == "scope" && field.message.contains("scope.zones")),
        "{body:?}"
    );
    assert_eq!(node.handle.state().version, before, "nothing written");

    eprintln!("phase: prune inside the scope only");
    smaller["scope"] =
        json!({"zones": ["svc.test.", "gone.test."], "id_prefixes": ["us-", "web-"]});
    let pruned = client.apply(&document(smaller), false, true).await.unwrap();
    assert_eq!(pruned.version, Some(before + 1), "one atomic entry");
    let deleted: Vec<String> = pruned
        .lines()
        .into_iter()
        .filter(|line| line.starts_with("- "))
        .collect();
    for wanted in [
        "- region us-1",
        "- endpoint web-us",
        "- check web-eu-tcp",
        "- gslb record app.svc.test. A in svc.test.",
        "- zone gone.test.",
    ] {
        assert!(
            deleted.contains(&wanted.to_string()),
            "{wanted}: {deleted:?}"
        );
    }
    let state = node.handle.state();
    assert!(!state.regions.contains_key("us-1"));
    assert!(!state.endpoints.contains_key("web-us"));
    assert_eq!(state.checks.keys().collect::<Vec<_>>(), ["web-eu-tcp2"]);
    let zones: Vec<String> = state.zones.keys().map(ToString::to_string).collect();
    assert_eq!(
        zones,
        ["other.test.", "svc.test.", "team-b.test."],
        "other.test. is named by records; team-b.test. is outside the scope"
    );
    assert_eq!(state.networks.len(), 1, "the scope names no networks");

    eprintln!("phase: a fault the store finds names the document item");
    let mut bad = every_kind();
    bad["endpoints"][1]["weight"] = json!(5_000_000);
    let body = refused(
        client
            .apply(&document(bad), false, false)
            .await
            .unwrap_err(),
    );
    assert!(
        body.fields
            .iter()
            .any(|field| field.path == "endpoints[1].weight"),
        "{body:?}"
    );
    node.stop().await;
}

/// What does this test do: `GET /v1/apply/schema` answers the apply document's JSON Schema,
/// the same as `docs/apply.schema.json` (run with `GSLB_WRITE_APPLY_SCHEMA=1` to rewrite the
/// file after a DTO change); it names every section and its `$ref`s all resolve under
/// `$defs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apply_schema_is_served_and_matches_the_docs_copy() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let client = Client::new(&node.url, Some(ADMIN.to_string())).unwrap();
    let served: Value = client.get("/v1/apply/schema").await.unwrap();
    assert_eq!(served, gslb_api::apply::apply_json_schema());
    assert_eq!(
        served["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let sections = served["$defs"]["ApplyDocument"]["properties"]
        .as_object()
        .expect("the document's sections");
    for section in [
        "scope",
        "zones",
        "regions",
        "endpoints",
        "records",
        "checks",
        "gslb_records",
        "networks",
    ] {
        assert!(sections.contains_key(section), "no {section} in the schema");
    }
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/apply.schema.json");
    let pretty = format!("{}\n", serde_json::to_string_pretty(&served).unwrap());
    if std::env::var_os("GSLB_WRITE_APPLY_SCHEMA").is_some() {
        std::fs::write(&docs, &pretty).unwrap();
    }
    let copy = std::fs::read_to_string(&docs).unwrap_or_default();
    assert!(
        copy == pretty,
        "docs/apply.schema.json is not the served schema; rerun this test with \
         GSLB_WRITE_APPLY_SCHEMA=1 to rewrite it"
    );
}

/// What does this test do: the example document the published schema carries (every
/// section's examples together) applies to an empty node as it stands, a second apply has
/// no changes, and a prune within its own scope deletes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_examples_apply_as_they_stand() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let client = Client::new(&node.url, Some(ADMIN.to_string())).unwrap();
    let example = document(gslb_api::apply::document_example());
    let applied = client.apply(&example, false, false).await.unwrap();
    assert!(applied.changed && applied.version.is_some(), "{applied:?}");
    let again = client.apply(&example, false, true).await.unwrap();
    assert_eq!(again.n_changes, 0, "{:?}", again.lines());
    let state = node.handle.state();
    assert_eq!(state.regions.len(), 2);
    assert_eq!(state.all_gslb_records().count(), 2);
    node.stop().await;
}
