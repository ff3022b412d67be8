//! The client library against a real one-voter node: typed calls, pagination through every
//! page, zone import and export, the atomic batch, waiting for INSYNC, and API errors that
//! keep the server's field paths.

use std::time::Duration;

use gslb_api::client::{Client, ClientError};
use gslb_api::dto::{BatchRequest, ChangeDto, EndpointDto, RegionDto, ScopeDto, TokenCreate};
use gslb_testkit::cluster::api::*;

/// What does this test do: drives every typed call of `Client`, including a list longer
/// than one page, and checks that an invalid write surfaces as `ClientError::Api` with the
/// server's code and field path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_drives_every_resource() {
    let dir = tempfile::tempdir().unwrap();
    let node = single_node(dir.path()).await;
    let client = Client::new(&node.url, Some(ADMIN.to_string())).unwrap();

    let changes: Vec<ChangeDto> = (0..1005)
        .map(|index| ChangeDto::PutRegion {
            region: serde_json::from_value(region(&format!("r-{index:04}"))).unwrap(),
        })
        .collect();
    let written = client.batch(&BatchRequest { changes }).await.unwrap();
    let took = client
        .wait_insync(written.version, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(took < Duration::from_secs(5));
    let regions: Vec<RegionDto> = client.list_regions().await.unwrap();
    assert_eq!(regions.len(), 1005, "two pages followed");

    let endpoint: EndpointDto =
        serde_json::from_value(endpoint("web-1", "r-0001", "192.0.2.1")).unwrap();
    client.put_endpoint(&endpoint).await.unwrap();
    assert_eq!(client.list_endpoints().await.unwrap(), vec![endpoint]);

    client
        .import_zone("example.test.", ZONE_FILE)
        .await
        .unwrap();
    assert_eq!(client.list_zones().await.unwrap()[0].apex, "example.test.");
    let exported = client.export_zone("example.test.").await.unwrap();
    assert!(exported.contains("192.0.2.11"), "{exported}");
    let records = client.list_records("example.test.").await.unwrap();
    assert!(records.iter().any(|set| set.name == "mail.example.test."));
    let mut www = records
        .iter()
        .find(|set| set.name == "www.example.test.")
        .unwrap()
        .clone();
    www.data = vec!["192.0.2.99".to_string()];
    client.put_record("example.test.", &www).await.unwrap();
    assert_eq!(
        client
            .get_zone("example.test.")
            .await
            .unwrap()
            .records
            .len(),
        records.len()
    );
    client
        .delete_record("example.test.", "www", "A")
        .await
        .unwrap();

    let created = client
        .create_token(&TokenCreate {
            id: "ci".to_string(),
            scopes: vec![ScopeDto::Read],
            expires_at: None,
            vantage: None,
            secret: None,
        })
        .await
        .unwrap();
    let reader = Client::new(&node.url, Some(created.secret)).unwrap();
    assert_eq!(reader.list_zones().await.unwrap().len(), 1);
    let error = reader.delete_zone("example.test.").await.unwrap_err();
    assert_eq!(error.status(), Some(403), "{error}");

    let mut bad = endpoint_dto();
    bad.weight = 5_000_000;
    match client.put_endpoint(&bad).await.unwrap_err() {
        ClientError::Api { status, body } => {
            assert_eq!(status, 422);
            assert_eq!(body.code, "invalid");
            assert_eq!(body.fields[0].path, "weight");
        }
        other => panic!("expected an API error, got {other}"),
    }
    let missing = Client::new("http://127.0.0.1:9", None).unwrap();
    assert!(matches!(
        missing.list_zones().await.unwrap_err(),
        ClientError::Unreachable { .. }
    ));
    node.stop().await;
}

fn endpoint_dto() -> EndpointDto {
    serde_json::from_value(endpoint("web-2", "r-0001", "192.0.2.2")).unwrap()
}
