//! `ApiMetrics`: the Prometheus registry of the API role — requests by route and status and
//! their latency, the RTTs of the observations this node received — and, sampled at scrape
//! time, the node's Raft role, term, applied index, state version and staleness, and the
//! health this node derives from its replica: every check, endpoint and region with its
//! status and votes, per-vantage RTT, region capacity and lease left, and running drills;
//! and the health transitions `health_transitions` counts between scrapes. On a DNS node also the responder's counters (`gslb_dns_*`, summed from its `DnsMetrics`
//! at scrape time by `DnsCollector`): replies by transport, RCODE and type, and GSLB answers
//! by record, decision, cause and region.
//! Rendered in OpenMetrics text by `/metrics`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use gslb_dns::metrics::DECISION_NAMES;
use gslb_dns::policy::Cause;
use gslb_dns::DnsMetrics;
use gslb_model::latency::LatencySnapshot;
use gslb_model::model::{DrillStatus, HealthStatus, State as StoreState};
use gslb_store::raft::{NodeMetrics, RaftState, StageSnapshot, WeakNodeHandle};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::dto::cluster::{is_stale, role_name};
use crate::dto::health::{effective_status, StatusDto};
use crate::health_transitions::{status_word, TransitionCounters};
use crate::rollover::metrics::RolloverMetrics;
use crate::ApiContext;
use gslb_model::model::overrides::OverrideTarget;

/// Labels of one API request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method.
    pub method: String,
    /// The route template (`/v1/zones/{zone}`), `unmatched` for unknown paths, so label
    /// cardinality stays bounded.
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// Labels of the latency histogram (no status, to keep the series few).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// HTTP method.
    pub method: String,
    /// The route template.
    pub route: String,
}

/// Labels of the role gauge.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RoleLabels {
    /// `leader`, `follower`, `candidate`, `learner`, `shutdown`.
    pub role: String,
}

/// Labels of a health state set: one series per subject and status, 1 for the current one.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    /// The check, endpoint or region id.
    pub id: String,
    /// `up`, `down` or `unknown`.
    pub status: String,
}

/// Labels naming one subject.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IdLabels {
    /// The check, region or drill id.
    pub id: String,
}

/// Labels of a per-vantage value.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VantageLabels {
    /// The check id.
    pub check: String,
    /// The vantage that measured it.
    pub vantage: String,
}

/// Labels of a vote count.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VoteLabels {
    /// The check id.
    pub check: String,
    /// `up`, `down` or `stale`.
    pub vote: String,
}

/// Labels of the probe RTT histogram (per region, not per check, to keep series few).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProbeLabels {
    /// The vantage that measured.
    pub vantage: String,
    /// The region of the check's subject.
    pub region: String,
}

/// Labels of the observation counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ObservationLabels {
    /// The reporting vantage.
    pub vantage: String,
    /// `up` or `down`.
    pub result: String,
}

/// Labels of DNS replies.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplyLabels {
    /// `udp` or `tcp`.
    transport: &'static str,
    /// `NOERROR`, `NXDOMAIN`, `REFUSED`, ... or `other`.
    rcode: &'static str,
}

/// Labels of response rate limiting decisions.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RrlLabels {
    /// The reply's class: `answer`, `nodata`, `nxdomain`, `referral`, `error`.
    class: &'static str,
    /// What RRL did: `pass`, `slip` (sent truncated), `drop`, `exempt`, ...
    action: &'static str,
}

/// Labels of DNS Cookie verdicts.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CookieLabels {
    /// What the query's COOKIE option was judged.
    verdict: &'static str,
}

/// Labels of NOTIFY outcomes.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotifyLabels {
    /// sent, acknowledged or failed.
    result: &'static str,
}

/// Labels of zone transfer requests.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransferLabels {
    /// full, incremental, up_to_date or refused.
    kind: &'static str,
}

/// Labels of online signing events.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DnssecLabels {
    /// `reply_cached`, `reply_signed` or `signature_made`.
    event: &'static str,
}

/// Labels of DNS replies by query type.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QtypeLabels {
    /// `A`, `AAAA`, ..., `other`, or `none` when the question could not be read.
    qtype: &'static str,
}

/// Labels of packets given no reply.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    /// `udp` or `tcp`.
    transport: &'static str,
}

/// Labels of one GSLB record's decisions.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    /// Owner name, absolute.
    record: String,
    /// A, AAAA or CNAME.
    r#type: String,
    /// `normal`, `failover`, `fail_open`, `fail_closed` or `fallback`.
    decision: &'static str,
}

/// Labels of one GSLB record's causes.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabels {
    /// Owner name, absolute.
    record: String,
    /// A, AAAA or CNAME.
    r#type: String,
    /// `override`, `lease_expired` or `no_lease`.
    cause: &'static str,
}

/// Labels naming a region.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RegionLabels {
    /// The region id.
    region: String,
}

/// Encodes a DNS node's `DnsMetrics` at each scrape: counters live on the answer path,
/// summed here, so nothing is copied between scrapes.
#[derive(Debug)]
struct DnsCollector {
    /// The responder's counters.
    dns: Arc<DnsMetrics>,
}

/// Encodes one counter family: `name` (`_total` is appended), `help`, and one series per
/// label set.
fn encode_counters<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl Iterator<Item = (L, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(
        name,
        help,
        None,
        prometheus_client::metrics::MetricType::Counter,
    )?;
    for (labels, value) in series {
        ConstCounter::new(value).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for DnsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.dns.snapshot();
        encode_counters(
            &mut encoder,
            "gslb_dns_queries",
            "DNS queries answered, by transport and response code",
            snapshot
                .replies
                .iter()
                .map(|&(transport, rcode, count)| (ReplyLabels { transport, rcode }, count)),
        )?;
        encode_counters(
            &mut encoder,
            "gslb_dns_queries_by_type",
            "DNS queries answered, by query type (none: the question could not be read)",
            snapshot
                .qtypes
                .iter()
                .map(|&(qtype, count)| (QtypeLabels { qtype }, count)),
        )?;
        encode_counters(
            &mut encoder,
            "gslb_dns_queries_ignored",
            "packets given no reply (a response, or shorter than a DNS header)",
            snapshot
                .ignored
                .iter()
                .map(|&(transport, count)| (TransportLabels { transport }, count)),
        )?;
        encode_counters(
            &mut encoder,
            "gslb_dns_gslb_answers",
            "GSLB record evaluations by record, type and decision: normal (every choice took \
             its preferred child), failover (a failover, spill or geo default skipped one), \
             fail_open, fail_closed or fallback (nothing was available: when_all_down)",
            snapshot.records.iter().flat_map(|record| {
                DECISION_NAMES
                    .iter()
                    .zip(record.decisions)
                    .map(|(&decision, count)| {
                        let labels = DecisionLabels {
                            record: record.name.clone(),
                            r#type: record.rtype.clone(),
                            decision,
                        };
                        (labels, count)
                    })
            }),
        )?;
        encode_counters(
            &mut encoder,
            "gslb_dns_gslb_answer_causes",
            "GSLB record evaluations an operator override (override) or a guarded region's \
             lapsed (lease_expired) or missing (no_lease) lease took part in",
            snapshot.records.iter().flat_map(|record| {
                Cause::ALL
                    .iter()
                    .zip(record.causes)
                    .filter(|(_, count)| *count > 0)
                    .map(|(cause, count)| {
                        let labels = CauseLabels {
                            record: record.name.clone(),
                            r#type: record.rtype.clone(),
                            cause: cause.name(),
                        };
                        (labels, count)
                    })
            }),
        )?;
        encode_counters(
            &mut encoder,
            "gslb_dns_rrl",
            "UDP replies by class and what response rate limiting did with them",
            snapshot
                .rrl
                .iter()
                .map(|&(class, action, count)| (RrlLabels { class, action }, count)),
        )?;
        encode_counters(
            &mut encoder,
            "gslb_dns_cookies",
            "queries by the verdict on their DNS Cookie (RFC 7873)",
            snapshot
                .cookies
                .iter()
                .map(|&(verdict, count)| (CookieLabels { verdict }, count)),
        )?;
        encode_counters(
            &mut encoder,
            "gslb_dns_notify",
            "NOTIFY messages to secondaries: sent (tries), acknowledged, failed (given up)",
            snapshot
                .notify
                .iter()
                .map(|&(result, count)| (NotifyLabels { result }, count)),
        )?;
        encode_counters(
            &mut encoder,
            "gslb_dns_transfers",
            "zone transfer requests by how they were answered",
            snapshot
                .transfers
                .iter()
                .map(|&(kind, count)| (TransferLabels { kind }, count)),
        )?;
        encode_counters(
            &mut encoder,
            "gslb_dns_dnssec",
            "DNSSEC online signing: signed replies from the reply cache, signed replies built, signatures made",
            snapshot
                .dnssec
                .iter()
                .map(|&(event, count)| (DnssecLabels { event }, count)),
        )?;
        encode_counters(
            &mut encoder,
            "gslb_dns_gslb_region_answers",
            "GSLB answers that included at least one endpoint of each region",
            snapshot.regions.iter().map(|(region, count)| {
                let labels = RegionLabels {
                    region: region.clone(),
                };
                (labels, *count)
            }),
        )?;
        let mut metric = encoder.encode_descriptor(
            "gslb_dns_plan_swap_seconds",
            "time from a new state version to its answer plan answering (incremental \
             compiles of the changed names, or whole compiles)",
            None,
            prometheus_client::metrics::MetricType::Histogram,
        )?;
        encode_latency(&mut metric, &snapshot.plan_swaps)?;
        let mut metric = encoder.encode_descriptor(
            "gslb_dns_plan_lag_seconds",
            "time from the leader's stamp of the newest write in a new state version to its \
             answer plan answering here (millisecond stamps)",
            None,
            prometheus_client::metrics::MetricType::Histogram,
        )?;
        encode_latency(&mut metric, &snapshot.plan_lags)?;
        Ok(())
    }
}

/// Labels of one step of the write path.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    /// `forward`, `group_wait`, `commit`, ... (`gslb_store::raft::Stage::name`).
    stage: &'static str,
}

/// Encodes the node's write-path timings (`NodeHandle::write_stages`) at each scrape, as
/// `gslb_write_stage_seconds{stage}`; the node is held weakly (the API does not keep it).
struct WriteStageCollector {
    node: WeakNodeHandle,
}

impl std::fmt::Debug for WriteStageCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteStageCollector")
    }
}

/// Encodes a latency histogram (cumulative microsecond buckets) as seconds: the encoder
/// takes per-bucket counts and adds them up, with the `+Inf` bucket from the count.
fn encode_latency(
    metric: &mut prometheus_client::encoding::MetricEncoder<'_>,
    latency: &LatencySnapshot,
) -> Result<(), std::fmt::Error> {
    let mut buckets = Vec::with_capacity(latency.buckets.len() + 1);
    let mut below = 0;
    for &(bound_micros, cumulative) in &latency.buckets {
        buckets.push((bound_micros as f64 / 1e6, cumulative - below));
        below = cumulative;
    }
    buckets.push((f64::INFINITY, latency.count - below));
    metric.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
        latency.sum_micros as f64 / 1e6,
        latency.count,
        &buckets,
        None,
    )
}

impl Collector for WriteStageCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(node) = self.node.upgrade() else {
            return Ok(());
        };
        let stages: Vec<StageSnapshot> = node.write_stages();
        let mut metric = encoder.encode_descriptor(
            "gslb_write_stage_seconds",
            "time each step of the write path took on this node: forward, group_wait, \
             commit, log_flush, committed_save, apply, proposed_to_applied, read_your_write, \
             report_post, insync_fetch, insync_wait",
            None,
            prometheus_client::metrics::MetricType::Histogram,
        )?;
        for stage in stages {
            let labels = StageLabels {
                stage: stage.stage.name(),
            };
            encode_latency(&mut metric.encode_family(&labels)?, &stage.latency)?;
        }
        Ok(())
    }
}

/// The health metrics, refreshed from the state at every scrape (cleared first, so a
/// deleted check leaves no series behind).
#[derive(Debug, Default)]
struct HealthMetrics {
    check_status: Family<StatusLabels, Gauge>,
    check_votes: Family<VoteLabels, Gauge>,
    check_rtt: Family<VantageLabels, Gauge>,
    endpoint_status: Family<StatusLabels, Gauge>,
    region_status: Family<StatusLabels, Gauge>,
    region_capacity: Family<IdLabels, Gauge>,
    region_lease: Family<IdLabels, Gauge>,
    drill_running: Family<IdLabels, Gauge>,
}

impl HealthMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "gslb_check_status",
            "1 for each check's current derived status (up, down, unknown)",
            self.check_status.clone(),
        );
        registry.register(
            "gslb_check_votes",
            "vantages voting up or down, or stale, on each check",
            self.check_votes.clone(),
        );
        registry.register(
            "gslb_check_rtt_microseconds",
            "the last RTT each vantage reported for each check",
            self.check_rtt.clone(),
        );
        registry.register(
            "gslb_endpoint_status",
            "1 for each endpoint's current status (up, down, unknown; drained by an override)",
            self.endpoint_status.clone(),
        );
        registry.register(
            "gslb_region_status",
            "1 for each region's current status (up, down, unknown; drained by an override)",
            self.region_status.clone(),
        );
        registry.register(
            "gslb_region_capacity",
            "live capacity checks report for each region (kube-local ready nodes)",
            self.region_capacity.clone(),
        );
        registry.register(
            "gslb_region_lease_remaining_seconds",
            "seconds left on each guarded region's health lease (0: expired)",
            self.region_lease.clone(),
        );
        registry.register(
            "gslb_drill_running",
            "1 for each region in a running drill",
            self.drill_running.clone(),
        );
    }

    /// Health derived at `health_now` (the node's health clock, as its DNS answers), leases
    /// and drills judged at `wall_now` (they run out on the wall clock everywhere).
    fn refresh(&self, state: &StoreState, health_now: u64, wall_now: u64) {
        let set = |family: &Family<StatusLabels, Gauge>, id: &str, current: HealthStatus| {
            for status in [HealthStatus::Up, HealthStatus::Down, HealthStatus::Unknown] {
                family
                    .get_or_create(&StatusLabels {
                        id: id.to_string(),
                        status: status_word(status).to_string(),
                    })
                    .set(i64::from(status == current));
            }
        };
        for family in [
            &self.check_status,
            &self.endpoint_status,
            &self.region_status,
        ] {
            family.clear();
        }
        self.check_votes.clear();
        self.check_rtt.clear();
        self.region_capacity.clear();
        self.region_lease.clear();
        self.drill_running.clear();
        let view = state.health_view(health_now);
        for (id, check) in &view.checks {
            set(&self.check_status, id, check.status);
            for (vote, count) in [
                ("up", check.votes.up),
                ("down", check.votes.down),
                ("stale", check.votes.stale),
            ] {
                self.check_votes
                    .get_or_create(&VoteLabels {
                        check: id.clone(),
                        vote: vote.to_string(),
                    })
                    .set(i64::from(count));
            }
            for (vantage, rtt) in &check.rtt_us {
                self.check_rtt
                    .get_or_create(&VantageLabels {
                        check: id.clone(),
                        vantage: vantage.clone(),
                    })
                    .set(i64::from(*rtt));
            }
        }
        // Regions and endpoints show what answers see: an override in force wins over
        // health, a drain as `status="drained"`.
        let set_effective =
            |family: &Family<StatusLabels, Gauge>, id: &str, target, derived: HealthStatus| {
                let (current, _) = effective_status(
                    state.overrides.values(),
                    &target,
                    StatusDto::from_model(derived),
                    health_now,
                );
                for status in StatusDto::ALL {
                    family
                        .get_or_create(&StatusLabels {
                            id: id.to_string(),
                            status: status.word().to_string(),
                        })
                        .set(i64::from(status == current));
                }
            };
        for (id, endpoint) in &view.endpoints {
            let target = OverrideTarget::Endpoint(id.clone());
            set_effective(&self.endpoint_status, id, target, endpoint.status);
        }
        for (id, region) in &view.regions {
            let target = OverrideTarget::Region(id.clone());
            set_effective(&self.region_status, id, target, region.status);
            let labels = IdLabels { id: id.clone() };
            if let Some(capacity) = region.capacity {
                self.region_capacity
                    .get_or_create(&labels)
                    .set(i64::from(capacity));
            }
            if let Some(lease) = region.lease {
                let left = lease.remaining_ms(wall_now) / 1000;
                self.region_lease
                    .get_or_create(&labels)
                    .set(i64::try_from(left).unwrap_or(i64::MAX));
            }
        }
        for drill in state.drills.values() {
            if drill.status == DrillStatus::Running && drill.is_active(wall_now) {
                self.drill_running
                    .get_or_create(&IdLabels {
                        id: drill.region.clone(),
                    })
                    .set(1);
            }
        }
    }
}

/// Every metric the API exports.
#[derive(Debug)]
pub struct ApiMetrics {
    /// The registry; a mutex because encoding needs `&Registry` while gauges are refreshed.
    registry: Mutex<Registry>,
    /// `gslb_api_requests_total`.
    requests: Family<RequestLabels, Counter>,
    /// `gslb_api_request_duration_seconds`, by method and route.
    durations: Family<RouteLabels, Histogram>,
    /// `gslb_raft_role`: 1 for the current role.
    role: Family<RoleLabels, Gauge>,
    /// `gslb_raft_term`.
    term: Gauge,
    /// `gslb_raft_elections_total`: election rounds this node saw since it started (how far
    /// its term rose); 0 across a big import is the target.
    elections: Counter,
    /// `gslb_zone_imports_staged`: zone imports in progress (staging areas in the state).
    imports_staged: Gauge,
    /// `gslb_raft_applied_index`.
    applied_index: Gauge,
    /// `gslb_raft_last_log_index`.
    last_log_index: Gauge,
    /// `gslb_raft_leader_contact_age_milliseconds` (-1 when never).
    leader_contact_ms: Gauge,
    /// `gslb_state_version`.
    state_version: Gauge,
    /// `gslb_state_stale`: 1 when no leader was heard from within `stale_after`.
    stale: Gauge,
    /// `gslb_storage_bytes`.
    storage_bytes: Gauge,
    /// Health, refreshed from the state at every scrape.
    health: HealthMetrics,
    /// `gslb_probe_rtt_seconds`: RTTs in the observations this node received.
    probe_rtt: Family<ProbeLabels, Histogram>,
    /// `gslb_observations_total`: observations this node received, by vantage and result.
    observations: Family<ObservationLabels, Counter>,
    /// `gslb_{check,endpoint,region}_transitions_total`, counted by `follow_transitions`.
    transitions: Arc<TransitionCounters>,
    /// `gslb_dnssec_rollover_*`, sampled from the state at each scrape.
    rollovers: RolloverMetrics,
}

impl Default for ApiMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiMetrics {
    /// A registry with every metric registered.
    pub fn new() -> ApiMetrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "gslb_api_requests",
            "API requests by method, route and status",
            requests.clone(),
        );
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 1 ms .. ~16 s: reads answer in microseconds, writes wait for a commit.
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        registry.register(
            "gslb_api_request_duration_seconds",
            "API request latency by method and route",
            durations.clone(),
        );
        let role = Family::<RoleLabels, Gauge>::default();
        registry.register(
            "gslb_raft_role",
            "1 for this node's Raft role",
            role.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let term = gauge(&mut registry, "gslb_raft_term", "current Raft term");
        let elections = Counter::default();
        registry.register(
            "gslb_raft_elections",
            "election rounds this node saw since it started (rises of its term)",
            elections.clone(),
        );
        let imports_staged = gauge(
            &mut registry,
            "gslb_zone_imports_staged",
            "zone imports in progress: staging areas not yet committed, aborted or expired",
        );
        let applied_index = gauge(
            &mut registry,
            "gslb_raft_applied_index",
            "last applied log index",
        );
        let last_log_index = gauge(&mut registry, "gslb_raft_last_log_index", "last log index");
        let leader_contact_ms = gauge(
            &mut registry,
            "gslb_raft_leader_contact_age_milliseconds",
            "milliseconds since a leader was last heard from (-1: never)",
        );
        let state_version = gauge(
            &mut registry,
            "gslb_state_version",
            "version of the served state",
        );
        let stale = gauge(
            &mut registry,
            "gslb_state_stale",
            "1 when no leader was heard from within stale_after; the node keeps serving",
        );
        let storage_bytes = gauge(
            &mut registry,
            "gslb_storage_bytes",
            "bytes of Raft storage on disk",
        );
        let health = HealthMetrics::default();
        health.register(&mut registry);
        let probe_rtt = Family::<ProbeLabels, Histogram>::new_with_constructor(|| {
            // 100 µs .. ~3.3 s.
            Histogram::new(exponential_buckets(0.0001, 2.0, 16))
        });
        registry.register(
            "gslb_probe_rtt_seconds",
            "RTTs probers reported to this node, by vantage and region",
            probe_rtt.clone(),
        );
        let observations = Family::<ObservationLabels, Counter>::default();
        registry.register(
            "gslb_observations",
            "observations probers reported to this node, by vantage and result",
            observations.clone(),
        );
        let transitions = Arc::new(TransitionCounters::default());
        transitions.register(&mut registry);
        let rollovers = RolloverMetrics::default();
        rollovers.register(&mut registry);
        ApiMetrics {
            registry: Mutex::new(registry),
            requests,
            durations,
            role,
            term,
            elections,
            imports_staged,
            applied_index,
            last_log_index,
            leader_contact_ms,
            state_version,
            stale,
            storage_bytes,
            health,
            probe_rtt,
            observations,
            transitions,
            rollovers,
        }
    }

    /// The health transition counters.
    pub fn transitions(&self) -> &Arc<TransitionCounters> {
        &self.transitions
    }

    /// Exports a DNS node's responder counters (`gslb_dns_*`) with every scrape.
    pub fn register_dns(&self, dns: Arc<DnsMetrics>) {
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .register_collector(Box::new(DnsCollector { dns }));
    }

    /// Exports `node`'s write-path timings (`gslb_write_stage_seconds`) with every scrape.
    pub fn register_write_stages(&self, node: WeakNodeHandle) {
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .register_collector(Box::new(WriteStageCollector { node }));
    }

    /// Counts one reported observation of a check in `region` (if known) from `vantage`.
    pub fn observe_report(
        &self,
        vantage: &str,
        region: Option<&str>,
        up: bool,
        rtt_us: Option<u32>,
    ) {
        self.observations
            .get_or_create(&ObservationLabels {
                vantage: vantage.to_string(),
                result: if up { "up" } else { "down" }.to_string(),
            })
            .inc();
        if let (Some(region), Some(rtt)) = (region, rtt_us) {
            self.probe_rtt
                .get_or_create(&ProbeLabels {
                    vantage: vantage.to_string(),
                    region: region.to_string(),
                })
                .observe(f64::from(rtt) / 1e6);
        }
    }

    /// Counts one request and records how long it took.
    pub fn count_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.durations
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
    }

    /// Refreshes the node and health gauges (health derived from `state` at `health_now`,
    /// leases at `wall_now`) and renders everything as OpenMetrics text.
    pub fn render(
        &self,
        node: &NodeMetrics,
        storage_bytes: u64,
        state: &StoreState,
        (health_now, wall_now): (u64, u64),
        stale_after_ms: u64,
    ) -> String {
        let version = state.version;
        self.health.refresh(state, health_now, wall_now);
        self.rollovers.refresh(state);
        for state in [
            RaftState::Leader,
            RaftState::Follower,
            RaftState::Candidate,
            RaftState::Learner,
            RaftState::Shutdown,
        ] {
            self.role
                .get_or_create(&RoleLabels {
                    role: role_name(state).to_string(),
                })
                .set(i64::from(state == node.state));
        }
        let clamp = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.term.set(clamp(node.term));
        self.elections
            .inner()
            .store(node.elections, std::sync::atomic::Ordering::Relaxed);
        self.imports_staged
            .set(clamp(state.staged_imports.len() as u64));
        self.applied_index.set(clamp(node.applied_index));
        self.last_log_index.set(clamp(node.last_log_index));
        self.leader_contact_ms
            .set(node.millis_since_leader_contact.map_or(-1, clamp));
        self.state_version.set(clamp(version));
        self.stale.set(i64::from(is_stale(node, stale_after_ms)));
        self.storage_bytes.set(clamp(storage_bytes));
        let mut text = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(error) = encode(&mut text, &registry) {
            tracing::warn!("metrics encoding failed: {error}");
        }
        text
    }
}

/// The middleware counting every request by its route template.
pub async fn count_requests(
    State(context): State<ApiContext>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    context.metrics.count_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
