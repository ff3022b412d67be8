//! The API on a real 3-voter cluster with a learner: membership through the API, writes
//! through any node (forwarded to the leader), reads on the learner, and change tracking
//! that waits for the learner (a DNS node) to report.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use gslb_api::client::Client;
use gslb_api::dto::{RegionDto, SyncStatus};
use gslb_model::model::{Actor, Member, NodeRole, RaftRole};
use gslb_model::Command;
use gslb_testkit::cluster::api::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// What does this test do: three voters elect a leader; an admin adds node 4 as a learner
/// through a follower's API; a region written through the learner's API is forwarded to the
/// leader and served by every node; `/v1/cluster` on the learner shows its role and the
/// voters; once the learner is a DNS member that reports, the client's wait for INSYNC ends
/// (and `?wait_ms=` answers an INSYNC change at once, refuses a wait over 10 s by name).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_voters_and_a_learner_serve_the_api() {
    init_logging();
    let root = tempfile::tempdir().unwrap();
    let mut nodes = Vec::new();
    for id in 1..=3 {
        let dir = root.path().join(format!("node-{id}"));
        nodes.push(ApiNode::start(id, &dir, api_options()).await);
    }
    let voters: BTreeMap<u64, String> = nodes.iter().map(|n| (n.id, n.addr.clone())).collect();
    nodes[0].handle.initialize(voters).await.unwrap();
    let leader = nodes[0]
        .handle
        .wait_metrics(WAIT, "a leader", |m| m.leader.is_some())
        .await
        .unwrap()
        .leader
        .unwrap();
    tracing::info!(leader, "phase: add the learner through a follower's API");
    let follower = nodes.iter().find(|n| n.id != leader).unwrap();
    let learner =
        ApiNode::start_reporting(4, &root.path().join("node-4"), api_options(), true).await;
    // Right after the election the first membership entry may still be uncommitted (409)
    // or the follower may not know the leader yet (503): both are retryable.
    let added = wait_for("the learner to be added", || async {
        let (status, _, added) = follower
            .admin(
                Method::POST,
                "/v1/cluster/learners",
                Some(json!({"id": 4, "addr": learner.addr})),
            )
            .await;
        assert!(
            matches!(status.as_u16(), 200 | 409 | 503),
            "{status} {added}"
        );
        (status == StatusCode::OK).then_some(added)
    })
    .await;
    learner
        .handle
        .wait_metrics(WAIT, "the learner to catch up", |m| {
            m.applied_index >= added["index"].as_u64().unwrap()
        })
        .await
        .unwrap();

    tracing::info!("phase: the learner is a DNS member that reports");
    nodes[0]
        .handle
        .write(
            Command::PutMember {
                member: Member {
                    id: 4,
                    addr: learner.addr.clone(),
                    dns_addr: None,
                    region: None,
                    raft_role: RaftRole::Learner,
                    roles: BTreeSet::from([NodeRole::Dns]),
                    applied_index: 0,
                    reported_at: 0,
                },
            },
            Actor::new("test"),
        )
        .await
        .unwrap();

    tracing::info!("phase: a second id at a member's address, or a voter as learner, is refused");
    wait_for("the follower to know member 4", || {
        let known = follower.handle.state().members.contains_key(&4);
        async move { known.then_some(()) }
    })
    .await;
    for body in [
        json!({"id": 5, "addr": learner.addr}),
        json!({"id": 1, "addr": "127.0.0.1:1"}),
    ] {
        let (status, _, refused) = follower
            .admin(Method::POST, "/v1/cluster/learners", Some(body))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    }

    tracing::info!("phase: write through the learner, read everywhere");
    let client = Client::new(&learner.url, Some(ADMIN.to_string())).unwrap();
    let region: RegionDto = serde_json::from_value(region("eu-1")).unwrap();
    let written = client.put_region(&region).await.unwrap();
    assert!(written.changed);
    assert_eq!(client.list_regions().await.unwrap(), vec![region.clone()]);
    for node in &nodes {
        let reader = Client::new(&node.url, Some(ADMIN.to_string())).unwrap();
        wait_for("the region on every voter", || {
            let reader = reader.clone();
            async move { reader.list_regions().await.ok().filter(|r| r.len() == 1) }
        })
        .await;
    }
    let took = client
        .wait_insync(written.version, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(
        client.change(written.version).await.unwrap().status,
        SyncStatus::Insync,
        "insync after {took:?}"
    );
    // The long poll: an INSYNC change is answered at once; a wait over 10 s is refused by
    // name; a version beyond what the node applied is 404 at once, wait or not.
    let started = std::time::Instant::now();
    let (status, _, held) = learner
        .admin(
            Method::GET,
            &format!("/v1/changes/{}?wait_ms=10000", written.version),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{held}");
    assert_eq!(held["status"], "INSYNC", "{held}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let (status, _, refused) = learner
        .admin(
            Method::GET,
            &format!("/v1/changes/{}?wait_ms=10001", written.version),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused.to_string().contains("wait_ms"), "{refused}");
    let (status, _, beyond) = learner
        .admin(
            Method::GET,
            &format!("/v1/changes/{}?wait_ms=10000", written.version + 1000),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{beyond}");
    let audit = client.audit().await.unwrap();
    let entry = audit.iter().find(|e| e.version == written.version).unwrap();
    assert_eq!(entry.who, "bootstrap");
    assert!(entry
        .from
        .as_deref()
        .unwrap_or_default()
        .starts_with("127.0.0.1"));

    tracing::info!("phase: cluster status on the learner");
    let status = client.cluster().await.unwrap();
    assert_eq!(status.node.id, 4);
    assert_eq!(status.node.role, "learner");
    assert_eq!(status.node.voters, vec![1, 2, 3]);
    assert_eq!(status.node.learners, vec![4]);
    assert!(!status.node.stale);
    assert_eq!(status.members.len(), 1);
    let (status, _, ready) = learner.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{ready}");

    tracing::info!("phase: backups: the leader's is linearizable, a learner's only stale");
    let refused = client.snapshot(false).await.unwrap_err();
    assert_eq!(refused.status(), Some(409), "{refused}");
    assert!(refused.to_string().contains("not the leader"), "{refused}");
    let stale = gslb_model::backup::decode(&client.snapshot(true).await.unwrap()).unwrap();
    assert!(!stale.header.linearizable);
    assert_eq!(stale.header.node, 4);
    assert!(stale.state.regions.contains_key("eu-1"));
    let (bytes, served_by) = client.snapshot_from_leader().await.unwrap();
    assert_ne!(
        served_by, learner.url,
        "the learner must hand over to the leader"
    );
    let backup = gslb_model::backup::decode(&bytes).unwrap();
    assert!(backup.header.linearizable);
    assert_eq!(backup.header.node, leader);
    assert_eq!(
        backup.header.cluster_id,
        gslb_model::backup::cluster_id_for(SECRET)
    );
    assert!(backup.header.applied_index >= written.version);
    assert!(backup.state.regions.contains_key("eu-1"));
    let reader = client
        .create_token(&gslb_api::dto::TokenCreate {
            id: "reader".to_string(),
            scopes: vec![gslb_api::dto::ScopeDto::Read],
            expires_at: None,
            vantage: None,
            secret: Some("reader-secret-0123456789".to_string()),
        })
        .await
        .unwrap();
    let reader = Client::new(&learner.url, Some(reader.secret)).unwrap();
    let forbidden = reader.snapshot(true).await.unwrap_err();
    assert_eq!(forbidden.status(), Some(403), "{forbidden}");

    tracing::info!("phase: a voter change naming a non-learner is refused");
    let error = client.change_voters(vec![1, 2, 9], true).await.unwrap_err();
    assert_eq!(error.status(), Some(409), "{error}");
    assert!(error.to_string().contains("not a learner"), "{error}");

    tracing::info!("phase: the caught-up learner is promoted to voter through the API");
    let promoted = client.change_voters(vec![1, 2, 3, 4], true).await.unwrap();
    assert!(promoted.index > 0);
    let status = client.cluster().await.unwrap();
    assert!(status.node.voters.contains(&4), "{status:?}");

    learner.stop().await;
    for node in nodes {
        node.stop().await;
    }
}
