//! Control-plane and API benchmark: how fast writes commit, and how fast every DNS node
//! (Raft learner reporting its applied index) has them, on loopback.
//!
//! Starts in-process (tokio, tempdirs, real HTTP on `127.0.0.1` port 0) three voters and two
//! learners with `report_applied` (DNS members, so `INSYNC` waits on both), each serving
//! `gslb_api::serve` (Raft RPC + API). Production Raft timing (`RaftSettings::default()`).
//! Then, every phase under its own time limit:
//!
//! - (a) 500 sequential small writes (`PutRecordSet`, one A record) through
//!   `NodeHandle::write` on the leader: commit latency p50/p99/max and throughput; then the
//!   same 500 with 16 concurrent writers (throughput under pipelining).
//! - (b) the same 500 sequential writes through the REST API (`Client::put_record` against
//!   the leader's API): API overhead over (a).
//! - (c) writes paced at 100/s for 10 s (open loop, each write its own task): time from send
//!   to applied on both learners, and to `INSYNC` as the leader tells it (both learners'
//!   applied-index reports, kept in memory on the voters, at or past the write's version).
//! - (d) one `PutZone` of 10,000 record sets as one command (one Raft entry) through
//!   `NodeHandle::write`: time to commit, to applied on both learners, to `INSYNC`; and the
//!   same zone (another apex) through `PUT /v1/zones/{zone}`.
//!
//! Prints a Markdown table with the targets of issues 4 and 7 (met, or missed by how much).
//!
//! Run: `cargo bench -p gslb --bench control_plane` (release build; `harness = false`, so
//! it is a plain `main`); `GSLB_BENCH_RATE=25` changes the rate of phase (c). Loopback
//! only; the tempdirs are removed at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use gslb_api::client::Client;
use gslb_api::dto::{RecordSetDto, ZoneDto};
use gslb_api::ApiOptions;
use gslb_model::model::{
    Actor, DomainName, Member, NodeRole, RData, RaftRole, RecordSet, RecordType, Zone,
};
use gslb_model::zonefile::parse_zone;
use gslb_model::Command;
use gslb_store::raft::{spawn_node, ClusterSecret, NodeHandle, NodeOptions};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Cluster secret of the benchmark nodes.
const SECRET: &str = "bench-cluster-secret-0123456789";
/// Admin token the API on every node accepts.
const ADMIN: &str = "bench-admin-token-0123456789abcdef";
/// Writes in phases (a) and (b).
const N_SEQUENTIAL: usize = 500;
/// Concurrent writers in the pipelined variant of (a).
const N_CONCURRENT_WRITERS: usize = 16;
/// Offered rate of phase (c), writes per second, unless `GSLB_BENCH_RATE` says otherwise.
const PACED_RATE: u64 = 100;
/// Length of phase (c).
const PACED_FOR: Duration = Duration::from_secs(10);
/// Record sets in the one big change of phase (d).
const N_BIG: usize = 10_000;
/// Longest any single write or wait may take before the run fails.
const WAIT_LIMIT: Duration = Duration::from_secs(30);
/// Longest a whole phase may take.
const PHASE_LIMIT: Duration = Duration::from_secs(120);
/// Target of issue 4: write → INSYNC p99 at 100 writes/s.
const TARGET_INSYNC_P99: Duration = Duration::from_millis(50);
/// Target of issues 4 and 7: the 10,000-record change committed, and INSYNC, in under this.
const TARGET_BIG: Duration = Duration::from_secs(5);

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; this program takes no arguments.
    let root = tempfile::tempdir().context("creating the benchmark's tempdir")?;
    let cluster = Cluster::start(root.path())
        .await
        .context("starting the cluster")?;
    let outcome = run(&cluster).await;
    cluster.stop().await;
    let rows = outcome?;
    println!("{}", render(&rows));
    Ok(())
}

/// Runs every phase and returns the table's rows.
async fn run(cluster: &Cluster) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let leader = cluster.leader();
    let api = Client::new(&leader.url, Some(ADMIN.to_string())).context("building the client")?;

    eprintln!("phase (a): {N_SEQUENTIAL} sequential writes through NodeHandle::write");
    let started = Instant::now();
    let latencies = phase("a", async {
        let mut latencies = Vec::with_capacity(N_SEQUENTIAL);
        for index in 0..N_SEQUENTIAL {
            let command = put_a_record(&format!("seq-{index}"), index)?;
            let sent = Instant::now();
            bounded("a write", leader.handle.write(command, Actor::new("bench"))).await?;
            latencies.push(sent.elapsed());
        }
        Ok(latencies)
    })
    .await?;
    rows.push(Row::latencies(
        "(a) commit, sequential, `NodeHandle::write` on the leader",
        &latencies,
        Some(started.elapsed()),
    ));

    eprintln!("phase (a'): {N_SEQUENTIAL} writes from {N_CONCURRENT_WRITERS} concurrent writers");
    let started = Instant::now();
    let latencies = phase("a'", async {
        let mut writers = Vec::new();
        for writer in 0..N_CONCURRENT_WRITERS {
            let handle = leader.handle.clone();
            writers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                for index in (writer..N_SEQUENTIAL).step_by(N_CONCURRENT_WRITERS) {
                    let command = put_a_record(&format!("conc-{index}"), index)?;
                    let sent = Instant::now();
                    bounded("a write", handle.write(command, Actor::new("bench"))).await?;
                    latencies.push(sent.elapsed());
                }
                anyhow::Ok(latencies)
            }));
        }
        let mut latencies = Vec::with_capacity(N_SEQUENTIAL);
        for writer in writers {
            latencies.extend(writer.await.context("a writer task panicked")??);
        }
        Ok(latencies)
    })
    .await?;
    rows.push(Row::latencies(
        &format!("(a') commit, {N_CONCURRENT_WRITERS} concurrent writers, on the leader"),
        &latencies,
        Some(started.elapsed()),
    ));

    eprintln!("phase (b): {N_SEQUENTIAL} sequential writes through the REST API");
    let started = Instant::now();
    let latencies = phase("b", async {
        let mut latencies = Vec::with_capacity(N_SEQUENTIAL);
        for index in 0..N_SEQUENTIAL {
            let record = record_dto(&format!("api-{index}"), index)?;
            let sent = Instant::now();
            bounded("an API write", async {
                api.put_record(BENCH_APEX, &record)
                    .await
                    .map_err(|error| anyhow!("PUT record api-{index}: {error}"))
            })
            .await?;
            latencies.push(sent.elapsed());
        }
        Ok(latencies)
    })
    .await?;
    rows.push(Row::latencies(
        "(b) commit, sequential, `PUT /v1/zones/{zone}/records/…` on the leader",
        &latencies,
        Some(started.elapsed()),
    ));

    let paced_rate = paced_rate()?;
    let n_paced = (paced_rate * PACED_FOR.as_secs()) as usize;
    eprintln!("phase (c): {n_paced} writes paced at {paced_rate}/s, each to INSYNC");
    let started = Instant::now();
    let (to_applied, to_insync) = phase("c", paced_writes(cluster, paced_rate, n_paced)).await?;
    let offered_for = started.elapsed();
    rows.push(Row::latencies(
        &format!("(c) write → applied on both learners, {paced_rate} writes/s for {PACED_FOR:?}"),
        &to_applied,
        None,
    ));
    let mut insync_row = Row::latencies(
        &format!("(c) write → INSYNC, {paced_rate} writes/s for {PACED_FOR:?}"),
        &to_insync,
        None,
    );
    insync_row.target = Some(verdict(
        "p99 ≤ 50 ms",
        percentile(&to_insync, 0.99),
        TARGET_INSYNC_P99,
    ));
    rows.push(insync_row);
    eprintln!("phase (c) took {offered_for:?}");

    eprintln!("phase (d): one PutZone of {N_BIG} record sets through NodeHandle::write");
    let (commit, applied, insync) = phase("d", async {
        let zone = big_zone("big-a.test.")?;
        let sent = Instant::now();
        let outcome = bounded(
            "the big write",
            leader
                .handle
                .write(Command::PutZone { zone }, Actor::new("bench")),
        )
        .await?;
        let commit = sent.elapsed();
        let (applied, insync) = wait_everywhere(cluster, outcome.version, sent).await?;
        Ok((commit, applied, insync))
    })
    .await?;
    rows.push(Row::single(
        &format!("(d) one change of {N_BIG} record sets: commit (`NodeHandle::write`)"),
        commit,
        Some(verdict("< 5 s", commit, TARGET_BIG)),
    ));
    rows.push(Row::single(
        &format!("(d) one change of {N_BIG} record sets: applied on both learners"),
        applied,
        None,
    ));
    rows.push(Row::single(
        &format!("(d) one change of {N_BIG} record sets: INSYNC"),
        insync,
        Some(verdict("< 5 s", insync, TARGET_BIG)),
    ));

    eprintln!("phase (d'): the same zone through PUT /v1/zones/{{zone}}");
    let (commit, insync) = phase("d'", async {
        let zone = big_zone_dto("big-b.test.")?;
        let sent = Instant::now();
        let written = bounded("the big API write", async {
            api.put_zone(&zone)
                .await
                .map_err(|error| anyhow!("PUT zone big-b.test.: {error}"))
        })
        .await?;
        let commit = sent.elapsed();
        let (_, insync) = wait_everywhere(cluster, written.version, sent).await?;
        Ok((commit, insync))
    })
    .await?;
    rows.push(Row::single(
        &format!("(d') one change of {N_BIG} record sets: commit (`PUT /v1/zones/{{zone}}`)"),
        commit,
        Some(verdict("< 5 s", commit, TARGET_BIG)),
    ));
    rows.push(Row::single(
        &format!("(d') one change of {N_BIG} record sets through the API: INSYNC"),
        insync,
        Some(verdict("< 5 s", insync, TARGET_BIG)),
    ));
    Ok(rows)
}

/// Phase (c): one write every `1 / rate` s, each in its own task (open loop: a slow
/// write does not delay the next). Returns, per write, send → applied on both learners and
/// send → INSYNC in the leader's state.
async fn paced_writes(
    cluster: &Cluster,
    rate: u64,
    n_writes: usize,
) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let leader = cluster.leader().handle.clone();
    let learners: Arc<Vec<NodeHandle>> =
        Arc::new(cluster.learners.iter().map(|n| n.handle.clone()).collect());
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut writes = Vec::with_capacity(n_writes);
    for index in 0..n_writes {
        ticker.tick().await;
        let leader = leader.clone();
        let learners = learners.clone();
        writes.push(tokio::spawn(async move {
            let command = put_a_record(&format!("paced-{index}"), index)?;
            let sent = Instant::now();
            let outcome =
                bounded("a paced write", leader.write(command, Actor::new("bench"))).await?;
            for learner in learners.iter() {
                learner
                    .wait_for_version(outcome.version, WAIT_LIMIT)
                    .await
                    .ok_or_else(|| {
                        anyhow!("learner {} never applied {}", learner.id(), outcome.version)
                    })?;
            }
            let applied = sent.elapsed();
            wait_insync(&leader, outcome.version).await?;
            anyhow::Ok((applied, sent.elapsed()))
        }));
    }
    let mut to_applied = Vec::with_capacity(n_writes);
    let mut to_insync = Vec::with_capacity(n_writes);
    for write in writes {
        let (applied, insync) = write.await.context("a paced write task panicked")??;
        to_applied.push(applied);
        to_insync.push(insync);
    }
    Ok((to_applied, to_insync))
}

/// Waits until both learners applied `version` and the leader's state says INSYNC; returns
/// both times since `sent`.
async fn wait_everywhere(
    cluster: &Cluster,
    version: u64,
    sent: Instant,
) -> Result<(Duration, Duration)> {
    for learner in &cluster.learners {
        learner
            .handle
            .wait_for_version(version, WAIT_LIMIT)
            .await
            .ok_or_else(|| anyhow!("learner {} never applied {version}", learner.id))?;
    }
    let applied = sent.elapsed();
    wait_insync(&cluster.leader().handle, version).await?;
    Ok((applied, sent.elapsed()))
}

/// Waits (woken by each applied-index report, no polling) until the change `version` is
/// INSYNC on `node`: what `GET /v1/changes/{v}` answers there.
async fn wait_insync(node: &NodeHandle, version: u64) -> Result<()> {
    if node.wait_insync(version, WAIT_LIMIT).await {
        Ok(())
    } else {
        bail!(
            "version {version} not INSYNC on node {} within {WAIT_LIMIT:?}",
            node.id()
        )
    }
}

/// The rate of phase (c): `GSLB_BENCH_RATE` (writes per second, 1..=1000) or `PACED_RATE`.
fn paced_rate() -> Result<u64> {
    let Ok(text) = std::env::var("GSLB_BENCH_RATE") else {
        return Ok(PACED_RATE);
    };
    match text.parse::<u64>() {
        Ok(rate @ 1..=1000) => Ok(rate),
        _ => bail!("GSLB_BENCH_RATE: must be writes per second in 1..=1000, got {text:?}"),
    }
}

/// Runs one phase under `PHASE_LIMIT`.
async fn phase<T>(name: &str, work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(PHASE_LIMIT, work)
        .await
        .map_err(|_| anyhow!("phase {name} exceeded {PHASE_LIMIT:?}"))?
        .with_context(|| format!("phase {name}"))
}

/// Awaits one write under `WAIT_LIMIT`.
async fn bounded<T, E: std::fmt::Display>(
    what: &str,
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T> {
    match tokio::time::timeout(WAIT_LIMIT, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => bail!("{what} failed: {error}"),
        Err(_) => bail!("{what} took longer than {WAIT_LIMIT:?}"),
    }
}

/// The zone the small writes go to.
const BENCH_APEX: &str = "bench.test.";

/// A small zone file: SOA, apex NS with glue.
fn zone_head(apex: &str) -> String {
    format!(
        "$ORIGIN {apex}\n$TTL 300\n\
         @ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n\
         @ IN NS ns1\n\
         ns1 IN A 192.0.2.53\n"
    )
}

/// `PutZone` of `apex` with `N_BIG` A record sets besides the apex.
fn big_zone(apex: &str) -> Result<Zone> {
    let mut text = zone_head(apex);
    for index in 0..N_BIG {
        text.push_str(&format!("h{index} IN A {}\n", address(index)));
    }
    parse_zone(&text, apex, None, None).map_err(|error| anyhow!("the {apex} zone: {error}"))
}

/// The same zone as `big_zone`, as the API's JSON.
fn big_zone_dto(apex: &str) -> Result<ZoneDto> {
    let mut records = vec![
        serde_json::json!({"name": "@", "type": "NS", "data": ["ns1"]}),
        serde_json::json!({"name": "ns1", "type": "A", "data": ["192.0.2.53"]}),
    ];
    for index in 0..N_BIG {
        records.push(serde_json::json!({
            "name": format!("h{index}"), "type": "A", "data": [address(index).to_string()]
        }));
    }
    let zone = serde_json::json!({
        "apex": apex,
        "soa": {"mname": "ns1", "rname": "hostmaster"},
        "records": records,
    });
    serde_json::from_value(zone).context("building the big zone's JSON")
}

/// A distinct documentation-range-ish address per index.
fn address(index: usize) -> std::net::Ipv4Addr {
    let index = index as u32;
    std::net::Ipv4Addr::new(10, (index >> 16) as u8, (index >> 8) as u8, index as u8)
}

/// `PutRecordSet` of one A record `label.bench.test.`.
fn put_a_record(label: &str, index: usize) -> Result<Command> {
    let name = format!("{label}.{BENCH_APEX}");
    Ok(Command::PutRecordSet {
        zone: parse_name(BENCH_APEX)?,
        rrset: RecordSet {
            name: parse_name(&name)?,
            rtype: RecordType::A,
            ttl: 60,
            rdata: vec![RData::A(address(index))],
        },
    })
}

/// The API's form of `put_a_record`.
fn record_dto(label: &str, index: usize) -> Result<RecordSetDto> {
    serde_json::from_value(serde_json::json!({
        "name": label, "type": "A", "ttl": 60, "data": [address(index).to_string()]
    }))
    .context("building a record set's JSON")
}

fn parse_name(text: &str) -> Result<DomainName> {
    text.parse::<DomainName>()
        .map_err(|error| anyhow!("name {text:?}: {error}"))
}

/// One node and its HTTP server.
struct BenchNode {
    /// Raft id.
    id: u64,
    /// `127.0.0.1:port`.
    addr: String,
    /// `http://127.0.0.1:port`.
    url: String,
    /// The node.
    handle: NodeHandle,
    /// Stops the server.
    stop: oneshot::Sender<()>,
    /// The server task.
    server: JoinHandle<()>,
}

impl BenchNode {
    /// Starts node `id` in `dir` on a fresh loopback port.
    async fn start(id: u64, dir: &Path, report_applied: bool) -> Result<BenchNode> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr().context("local address")?.to_string();
        let secret = ClusterSecret::new(SECRET).context("the cluster secret")?;
        let mut options = NodeOptions::new(id, dir, &addr, secret);
        options.report_applied = report_applied;
        let handle = spawn_node(options)
            .await
            .with_context(|| format!("spawning node {id}"))?;
        let api_options = ApiOptions {
            bootstrap_token: Some(ADMIN.to_string()),
            ..ApiOptions::default()
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let server_node = handle.clone();
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(error) = gslb_api::serve(listener, server_node, api_options, shutdown).await
            {
                eprintln!("node {id}: server failed: {error}");
            }
        });
        Ok(BenchNode {
            id,
            url: format!("http://{addr}"),
            addr,
            handle,
            stop,
            server,
        })
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.server).await;
        self.handle.shutdown().await;
    }
}

/// Three voters and two reporting learners; the leader is `voters[leader_idx]`.
struct Cluster {
    voters: Vec<BenchNode>,
    learners: Vec<BenchNode>,
    leader_idx: usize,
}

impl Cluster {
    async fn start(root: &Path) -> Result<Cluster> {
        let mut voters = Vec::new();
        for id in 1..=3 {
            voters.push(BenchNode::start(id, &root.join(format!("node-{id}")), false).await?);
        }
        let addrs: BTreeMap<u64, String> = voters
            .iter()
            .map(|node| (node.id, node.addr.clone()))
            .collect();
        voters[0]
            .handle
            .initialize(addrs)
            .await
            .context("initializing the voters")?;
        let leader = voters[0]
            .handle
            .wait_metrics(WAIT_LIMIT, "a leader", |m| {
                m.leader.is_some() && m.applied_index > 0
            })
            .await
            .map_err(|error| anyhow!(error))?
            .leader
            .context("a leader")?;
        let leader_idx = voters
            .iter()
            .position(|node| node.id == leader)
            .context("the leader is a voter")?;
        // Let every voter learn the leader, so no write meets an election.
        for voter in &voters {
            voter
                .handle
                .wait_metrics(WAIT_LIMIT, "the leader known", |m| m.leader == Some(leader))
                .await
                .map_err(|error| anyhow!(error))?;
        }
        let leader_handle = voters[leader_idx].handle.clone();
        let mut learners = Vec::new();
        for id in 4..=5 {
            let learner = BenchNode::start(id, &root.join(format!("node-{id}")), true).await?;
            let index = leader_handle
                .add_learner(id, learner.addr.clone())
                .await
                .with_context(|| format!("adding learner {id}"))?;
            learner
                .handle
                .wait_metrics(WAIT_LIMIT, "the learner to catch up", |m| {
                    m.applied_index >= index
                })
                .await
                .map_err(|error| anyhow!(error))?;
            leader_handle
                .write(
                    Command::PutMember {
                        member: Member {
                            id,
                            addr: learner.addr.clone(),
                            dns_addr: None,
                            region: None,
                            raft_role: RaftRole::Learner,
                            roles: BTreeSet::from([NodeRole::Dns]),
                            applied_index: 0,
                            reported_at: 0,
                        },
                    },
                    Actor::new("bench"),
                )
                .await
                .with_context(|| format!("registering learner {id} as a DNS member"))?;
            learners.push(learner);
        }
        let cluster = Cluster {
            voters,
            learners,
            leader_idx,
        };
        let zone = parse_zone(&zone_head(BENCH_APEX), BENCH_APEX, None, None)
            .map_err(|error| anyhow!("the bench zone: {error}"))?;
        let outcome = leader_handle
            .write(Command::PutZone { zone }, Actor::new("bench"))
            .await
            .context("creating the bench zone")?;
        wait_insync(&leader_handle, outcome.version)
            .await
            .context("the bench zone INSYNC")?;
        Ok(cluster)
    }

    fn leader(&self) -> &BenchNode {
        &self.voters[self.leader_idx]
    }

    async fn stop(self) {
        for node in self.learners.into_iter().chain(self.voters) {
            node.stop().await;
        }
    }
}

/// One line of the results table.
struct Row {
    what: String,
    n: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// Writes per second over the phase, when it is a throughput measurement.
    per_second: Option<f64>,
    target: Option<String>,
}

impl Row {
    fn latencies(what: &str, latencies: &[Duration], took: Option<Duration>) -> Row {
        Row {
            what: what.to_string(),
            n: latencies.len(),
            p50: percentile(latencies, 0.50),
            p99: percentile(latencies, 0.99),
            max: latencies.iter().copied().max().unwrap_or_default(),
            per_second: took.map(|took| latencies.len() as f64 / took.as_secs_f64()),
            target: None,
        }
    }

    fn single(what: &str, took: Duration, target: Option<String>) -> Row {
        Row {
            what: what.to_string(),
            n: 1,
            p50: took,
            p99: took,
            max: took,
            per_second: None,
            target,
        }
    }
}

/// Nearest-rank percentile; zero for no samples.
fn percentile(samples: &[Duration], quantile: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((quantile * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// "met" or "missed by …" for `measured` against `limit`.
fn verdict(target: &str, measured: Duration, limit: Duration) -> String {
    if measured <= limit {
        format!("{target}: met ({} under)", millis(limit - measured))
    } else {
        format!("{target}: **missed** by {}", millis(measured - limit))
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// The Markdown table.
fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "| measurement | n | p50 | p99 | max | writes/s | target |\n\
         |---|---:|---:|---:|---:|---:|---|\n",
    );
    for row in rows {
        let (p50, p99) = if row.n == 1 {
            (millis(row.p50), "–".to_string())
        } else {
            (millis(row.p50), millis(row.p99))
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            row.what,
            row.n,
            p50,
            p99,
            millis(row.max),
            row.per_second
                .map_or("–".to_string(), |rate| format!("{rate:.0}")),
            row.target.as_deref().unwrap_or("–"),
        ));
    }
    out
}
