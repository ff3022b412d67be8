//! The demo's sample regions, zone file and the batch of regions, endpoints, client networks,
//! checks and GSLB records written through the API.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::children::{Node, Role};
use super::{DEMO_ZONE, MIN_READY_NODES, NODES_PER_REGION, START_TIMEOUT};

/// One sample region: where it is, the address its endpoint answers with, and the client
/// network the replicated network table (`/v1/networks`) places there (what `dig +subnet=`
/// stands for).
pub(super) struct SampleRegion {
    pub(super) id: &'static str,
    pub(super) lat: f64,
    pub(super) lon: f64,
    pub(super) country: &'static str,
    pub(super) continent: &'static str,
    /// The endpoint's answered address: just data, nobody connects to it.
    pub(super) address: &'static str,
    /// A client network located in the region.
    pub(super) clients: &'static str,
    /// One client of `clients`, for `gslbctl resolve --client`.
    pub(super) client: &'static str,
}

/// The three sample regions, in the order backends and probers start.
pub(super) const REGIONS: [SampleRegion; 3] = [
    SampleRegion {
        id: "us-east",
        lat: 39.0,
        lon: -77.5,
        country: "US",
        continent: "NA",
        address: "192.0.2.10",
        clients: "203.0.113.0/24",
        client: "203.0.113.7",
    },
    SampleRegion {
        id: "eu-west",
        lat: 53.3,
        lon: -6.3,
        country: "IE",
        continent: "EU",
        address: "192.0.2.20",
        clients: "198.51.100.0/24",
        client: "198.51.100.7",
    },
    SampleRegion {
        id: "ap-south",
        lat: 19.1,
        lon: 72.9,
        country: "IN",
        continent: "AS",
        address: "192.0.2.30",
        clients: "100.64.0.0/24",
        client: "100.64.0.7",
    },
];

/// The backend of `region` among `nodes`.
pub(super) fn backend_of<'a>(nodes: &'a [Node], region: &str) -> Option<&'a Node> {
    let name = format!("backend-{region}");
    nodes
        .iter()
        .find(|node| node.role == Role::Backend && node.name == name)
}

/// The loopback addresses of a backend's simulated nodes (see `demo_backend`): its own
/// address plus 1..=N in the last octet.
pub(super) fn kube_nodes(backend: SocketAddr) -> Vec<String> {
    let IpAddr::V4(ip) = backend.ip() else {
        return Vec::new();
    };
    let octets = ip.octets();
    (1..=NODES_PER_REGION)
        .filter_map(|node| {
            let last = u8::try_from(u32::from(octets[3]) + node).ok()?;
            Some(Ipv4Addr::new(octets[0], octets[1], octets[2], last).to_string())
        })
        .collect()
}

/// The regions, endpoints, checks and GSLB records of the demo as one batch (`POST
/// /v1/changes`), pointing the checks at the running backends.
pub(super) fn sample_batch(nodes: &[Node]) -> anyhow::Result<gslb_api::dto::BatchRequest> {
    let mut changes = Vec::new();
    for region in &REGIONS {
        let backend = backend_of(nodes, region.id)
            .with_context(|| format!("no backend for region {}", region.id))?
            .http;
        let id = region.id;
        let target = backend.ip().to_string();
        let port = backend.port();
        changes.push(json!({"op": "put_region", "region": {
            "id": id,
            "location": {"lat": region.lat, "lon": region.lon,
                         "country": region.country, "continent": region.continent}}}));
        changes.push(json!({"op": "put_endpoint", "endpoint": {
            "id": format!("{id}-1"), "region": id, "address": region.address}}));
        // The region's clients as a replicated network: DNS nodes place ECS clients by it,
        // and `/v1/resolve` on any API node places them by the same row.
        changes.push(json!({"op": "put_network", "network": {
            "cidr": region.clients, "country": region.country, "continent": region.continent,
            "lat": region.lat, "lon": region.lon}}));
        let timing = json!({"interval_ms": 1000, "timeout_ms": 500, "rise": 1, "fall": 2});
        let mut checks = vec![
            json!({"id": format!("{id}-http"), "endpoint": format!("{id}-1"), "target": target,
                   "kind": {"type": "http", "port": port, "path": "/healthz"}}),
            json!({"id": format!("{id}-replication"), "region": id, "target": target,
                   "kind": {"type": "replication", "port": port, "path": "/replication",
                            "conditions": ["/replication/in_quorum == true",
                                           "/replication/lag_seconds < 5"]}}),
            json!({"id": format!("{id}-nodes"), "region": id,
                   "kind": {"type": "kube-local", "nodes": kube_nodes(backend), "port": port,
                            "path": "/healthz", "min_nodes": MIN_READY_NODES}}),
        ];
        for check in &mut checks {
            if let (Some(check), Some(timing)) = (check.as_object_mut(), timing.as_object()) {
                check.extend(timing.clone());
            }
            changes.push(json!({"op": "put_check", "check": check}));
        }
    }
    let region = |id: &str| json!({"region": id});
    let records = [
        json!({"name": "www", "type": "A", "ttl": 30, "failover_ttl": 5, "unknown_as": "up",
               "policy": {"geo": {
                   "rules": [
                       {"match": [{"continent": "NA"}],
                        "node": {"failover": [region("us-east"), region("eu-west")]}},
                       {"match": [{"continent": "EU"}],
                        "node": {"failover": [region("eu-west"), region("us-east")]}},
                       {"match": [{"continent": "AS"}],
                        "node": {"failover": [region("ap-south"), region("eu-west")]}}],
                   "default": {"latency": [region("us-east"), region("eu-west"),
                                           region("ap-south")]}}}}),
        json!({"name": "api", "type": "A", "ttl": 30, "failover_ttl": 5, "unknown_as": "up",
               "policy": {"weighted": [{"weight": 95, "node": region("us-east")},
                                       {"weight": 5, "node": region("ap-south")}]}}),
        json!({"name": "db", "type": "A", "ttl": 10, "max_answers": 3,
               "split_brain_guard": true, "when_all_down": "fail_closed",
               "policy": {"endpoints": ["us-east-1", "eu-west-1", "ap-south-1"]}}),
    ];
    for record in records {
        changes.push(json!({"op": "put_gslb_record", "zone": DEMO_ZONE, "record": record}));
    }
    serde_json::from_value(json!({ "changes": changes }))
        .context("the demo's sample batch does not fit the API's shapes")
}

/// Writes the sample regions, endpoints, checks and GSLB records through the API with the
/// admin `token` (one atomic batch, idempotent on a resumed cluster, where it repoints the
/// checks at this run's backends), after creating each prober's (vantage, secret) token,
/// and waits until every DNS node serves it.
pub(super) async fn write_sample(
    api: &str,
    token: &str,
    prober_tokens: &[(String, String)],
    nodes: &[Node],
) -> anyhow::Result<()> {
    let batch = sample_batch(nodes)?;
    let client = gslb_api::client::Client::new(api, Some(token.to_string()))
        .with_context(|| format!("cannot build a client of {api}"))?;
    let deadline = Instant::now() + START_TIMEOUT;
    for (vantage, secret) in prober_tokens {
        create_prober_token(&client, vantage, secret, deadline).await?;
    }
    let written = loop {
        match client.batch(&batch).await {
            Ok(written) => break written,
            // Refusals are the demo's bug; transport trouble may be an election in progress.
            Err(error @ gslb_api::client::ClientError::Api { .. }) => {
                return Err(error).context("the API refused the demo's sample batch")
            }
            Err(error) if Instant::now() >= deadline => {
                return Err(error).context("cannot write the demo's sample batch")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    client
        .wait_insync(written.version, START_TIMEOUT)
        .await
        .context("the sample batch did not reach every DNS node")?;
    Ok(())
}

/// Creates the observe token of the prober of `vantage` (already there on a resumed
/// cluster: kept).
async fn create_prober_token(
    client: &gslb_api::client::Client,
    vantage: &str,
    secret: &str,
    deadline: Instant,
) -> anyhow::Result<()> {
    let request = gslb_api::dto::TokenCreate {
        id: format!("prober-{vantage}"),
        scopes: vec![gslb_api::dto::ScopeDto::Prober],
        expires_at: None,
        vantage: Some(vantage.to_string()),
        secret: Some(secret.to_string()),
    };
    loop {
        match client.create_token(&request).await {
            Ok(_) => return Ok(()),
            Err(error) if error.status() == Some(409) => return Ok(()),
            Err(error @ gslb_api::client::ClientError::Api { .. }) => {
                return Err(error).context("the API refused a prober's token")
            }
            Err(error) if Instant::now() >= deadline => {
                return Err(error).context("cannot create a prober's token")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Touches every record type the answer path serves today; `www`, `api` and `db` are GSLB
/// records the demo writes through the API (a name has one answer per type, so they have
/// no static A sets here).
pub(super) const DEMO_ZONE_FILE: &str = r#"; gslb demo zone
$ORIGIN demo.gslb.test.
$TTL 300
@           3600 IN SOA  ns1 hostmaster 2026112401 3600 600 86400 60
@           3600 IN NS   ns1
@           3600 IN NS   ns2
ns1              IN A    127.0.0.1
ns2              IN A    127.0.0.2
@                IN MX   10 mail
mail             IN A    192.0.2.25
@                IN TXT  "v=spf1 mx -all"
@                IN CAA  0 issue "letsencrypt.org"
www              IN AAAA 2001:db8::10
shop             IN CNAME www
_sip._tcp        IN SRV  10 60 5060 sip
sip              IN A    192.0.2.40
*.apps           IN A    192.0.2.50
sub              IN NS   ns1.sub
ns1.sub          IN A    192.0.2.53
"#;
