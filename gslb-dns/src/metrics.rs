//! `DnsMetrics`: what the answer path counts — queries by transport and RCODE, by query
//! type, packets given no reply, and for GSLB records the decision each evaluation took (per
//! record and type), the overrides and lapsed leases that took part, and the regions answered.
//!
//! Response rate limiting counts every UDP reply it looked at by class and action (pass,
//! slip, drop), and DNS Cookies count queries by what their cookie was (client cookie only,
//! a valid server cookie, an invalid one). DNSSEC counts signed replies served whole from
//! the reply cache, signed replies built, and signatures made (cache misses).
//!
//! Hot path: a relaxed `fetch_add` on fixed arrays indexed by small enums, in per-thread
//! shards aligned to cache lines, so two listener threads never write the same line; no
//! lock, no allocation. A scrape (`snapshot`) sums the shards.
//!
//! Per-record and per-region counters come from a registry keyed by (name, type) and region
//! id. A plan gets them attached before it is installed (`AnswerPlan::attach_counters`: the
//! plan reaches into this module, never the other way round), and a recompiled plan gets the
//! same counters back, so a counter never goes backwards while its record exists; counters no
//! plan holds any more (a deleted record) leave the registry at the next scrape or compile.
//! Labels are only GSLB record names and region ids from the replicated state,
//! never names a client sent, so the number of series is bounded by the configuration.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use gslb_model::latency::{LatencyHistogram, LatencySnapshot};
use gslb_model::{DomainName, RecordType};

use crate::policy::{Cause, Causes, Decision, Outcome, PolicyInputs};
use crate::rrl::{ReplyClass, RrlAction};
use crate::wire::{rcode, types};
use crate::Transport;

/// Transports, in slot order.
pub const TRANSPORTS: [Transport; 2] = [Transport::Udp, Transport::Tcp];

/// RCODE labels, in slot order; `other` for any code not listed.
pub const RCODE_NAMES: [&str; 8] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS", "other",
];

/// Query type labels, in slot order: `other` for any type not listed, `none` for a query
/// whose question could not be read.
pub const QTYPE_NAMES: [&str; 17] = [
    "A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "DS", "CAA", "HTTPS", "ANY",
    "AXFR", "IXFR", "other", "none",
];

/// GSLB decision labels, in slot order (see `decision_slot`).
pub const DECISION_NAMES: [&str; 5] =
    ["normal", "failover", "fail_open", "fail_closed", "fallback"];

/// What the COOKIE option of a query was (with cookies on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieVerdict {
    /// Only a client cookie: a first contact.
    ClientOnly,
    /// A server cookie we made, still fresh: the client is exempt from RRL.
    Valid,
    /// A server cookie that is not ours, stale, or for another address.
    Invalid,
}

/// Cookie verdict labels, in slot order.
pub const COOKIE_VERDICT_NAMES: [&str; 3] = ["client_only", "valid", "invalid"];

/// What online signing did, in `DnssecEvent` order (the `event` label).
pub const DNSSEC_EVENT_NAMES: [&str; 3] = ["reply_cached", "reply_signed", "signature_made"];

/// One thing online signing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnssecEvent {
    /// A signed reply came whole from the cache.
    ReplyCached,
    /// A signed reply was built (its signatures cached or made).
    ReplySigned,
    /// A signature was made (not in the signature cache).
    SignatureMade,
}

/// The most shards a metrics set keeps (threads beyond share them).
const MAX_SHARDS: usize = 64;

/// The label of a transport.
pub fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
    }
}

/// The slot of a transport in `TRANSPORTS`.
fn transport_slot(transport: Transport) -> usize {
    match transport {
        Transport::Udp => 0,
        Transport::Tcp => 1,
    }
}

/// The slot of an RCODE in `RCODE_NAMES`.
pub fn rcode_slot(code: u16) -> usize {
    match code {
        rcode::NOERROR => 0,
        rcode::FORMERR => 1,
        rcode::SERVFAIL => 2,
        rcode::NXDOMAIN => 3,
        rcode::NOTIMP => 4,
        rcode::REFUSED => 5,
        rcode::BADVERS => 6,
        _ => 7,
    }
}

/// The slot of a query type in `QTYPE_NAMES` (`None`: no readable question).
pub fn qtype_slot(qtype: Option<u16>) -> usize {
    match qtype {
        Some(types::A) => 0,
        Some(types::NS) => 1,
        Some(types::CNAME) => 2,
        Some(types::SOA) => 3,
        Some(types::PTR) => 4,
        Some(types::MX) => 5,
        Some(types::TXT) => 6,
        Some(types::AAAA) => 7,
        Some(types::SRV) => 8,
        Some(types::DS) => 9,
        Some(types::CAA) => 10,
        Some(types::HTTPS) => 11,
        Some(types::ANY) => 12,
        Some(types::AXFR) => 13,
        Some(types::IXFR) => 14,
        Some(_) => 15,
        None => 16,
    }
}

/// The slot of a decision's outcome in `DECISION_NAMES`: `normal` when every choice took its
/// preferred child, `failover` when one had to skip it (failover, spill, geo default),
/// then the three `when_all_down` behaviours.
pub fn decision_slot(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Healthy => 0,
        Outcome::Degraded => 1,
        Outcome::AllDownOpen => 2,
        Outcome::AllDownClosed => 3,
        Outcome::Fallback => 4,
    }
}

/// One thread's share of the query counters, on cache lines of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct QueryShard {
    /// Replies by transport and RCODE slot.
    replies: [[AtomicU64; RCODE_NAMES.len()]; 2],
    /// Replies by query type slot.
    qtypes: [AtomicU64; QTYPE_NAMES.len()],
    /// Packets given no reply (a response, or shorter than a header), by transport.
    ignored: [AtomicU64; 2],
    /// UDP replies rate limiting looked at, by class and action.
    rrl: [[AtomicU64; RrlAction::ALL.len()]; ReplyClass::ALL.len()],
    /// Queries with a COOKIE option, by verdict.
    cookies: [AtomicU64; COOKIE_VERDICT_NAMES.len()],
    /// Online signing events.
    dnssec: [AtomicU64; DNSSEC_EVENT_NAMES.len()],
}

/// One thread's share of one GSLB record's counters: exactly one cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
struct RecordShard {
    /// Evaluations by decision slot.
    decisions: [AtomicU64; DECISION_NAMES.len()],
    /// Evaluations each cause took part in, by `Cause` slot.
    causes: [AtomicU64; Cause::ALL.len()],
}

/// One counter on a cache line of its own.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Line(AtomicU64);

/// The counters of one GSLB record (owner name and type), kept across plan recompiles.
#[derive(Debug)]
pub struct RecordCounters {
    /// Per-thread shards, as many as the owning `DnsMetrics` has (a power of two).
    shards: Box<[RecordShard]>,
}

/// The counter of GSLB answers that included one region, kept across plan recompiles.
#[derive(Debug)]
pub struct RegionCounters {
    /// Per-thread shards, as many as the owning `DnsMetrics` has (a power of two).
    shards: Box<[Line]>,
}

/// The counters one plan's GSLB records and regions write to, in the plan's own indexes.
#[derive(Debug)]
pub(crate) struct GslbCounters {
    /// The `DnsMetrics::id` they belong to.
    owner: usize,
    /// Per record index of the plan's `GslbTable`.
    records: Vec<Arc<RecordCounters>>,
    /// Per region index of the plan's `PolicyInputs`.
    regions: Vec<Arc<RegionCounters>>,
}

impl GslbCounters {
    /// Whether these belong to `metrics`.
    pub(crate) fn belong_to(&self, metrics: &DnsMetrics) -> bool {
        self.owner == metrics.id
    }

    /// Counts one evaluation of record `index` on shard `shard`: its decision, its causes,
    /// and each region among its answers once.
    #[inline]
    pub(crate) fn count(
        &self,
        index: u32,
        decision: &Decision,
        causes: Causes,
        inputs: &PolicyInputs,
        shard: usize,
    ) {
        if let Some(record) = self.records.get(index as usize) {
            let line = &record.shards[shard & (record.shards.len() - 1)];
            line.decisions[decision_slot(decision.outcome)].fetch_add(1, Ordering::Relaxed);
            if !causes.is_empty() {
                for (slot, cause) in Cause::ALL.into_iter().enumerate() {
                    if causes.contains(cause) {
                        line.causes[slot].fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        let region_of = |endpoint: usize| inputs.endpoints.get(endpoint).map(|e| e.region);
        for (position, endpoint) in decision.answers.iter().enumerate() {
            let region = region_of(endpoint);
            // Count a region once per answer, however many of its endpoints were chosen.
            if decision
                .answers
                .iter()
                .take(position)
                .any(|earlier| region_of(earlier) == region)
            {
                continue;
            }
            if let Some(counter) = region.and_then(|region| self.regions.get(region)) {
                counter.shards[shard & (counter.shards.len() - 1)]
                    .0
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The registries of per-record and per-region counters.
#[derive(Debug, Default)]
struct Registry {
    /// (owner name, type) → counters.
    records: HashMap<(DomainName, RecordType), Arc<RecordCounters>>,
    /// Region id → counter.
    regions: HashMap<String, Arc<RegionCounters>>,
}

impl Registry {
    /// Drops counters that no plan holds any more.
    fn prune(&mut self) {
        self.records
            .retain(|_, counters| Arc::strong_count(counters) > 1);
        self.regions
            .retain(|_, counters| Arc::strong_count(counters) > 1);
    }
}

/// The lock around the registry. Allowed despite gslb-dns's `std::sync::Mutex` ban: it is
/// taken when a new plan is attached and on `/metrics` scrapes, never while answering a query
/// (the answer path counts in the per-thread `QueryShard`s).
#[allow(clippy::disallowed_types)]
type RegistryLock = std::sync::Mutex<Registry>;

/// Every DNS counter of one node; shared (`Arc`) by its responder and its `/metrics`.
#[derive(Debug)]
pub struct DnsMetrics {
    /// Tells apart the counters of two metric sets in one process (tests run several).
    id: usize,
    /// Per-thread query counters; a power of two long.
    shards: Box<[QueryShard]>,
    /// Per-record and per-region counters; locked when a plan is attached and on scrapes,
    /// never on the answer path.
    registry: RegistryLock,
    /// NOTIFY messages by `NOTIFY_RESULTS` (slow path: not sharded).
    notify: [AtomicU64; NOTIFY_RESULTS.len()],
    /// Zone transfers by `TRANSFER_KINDS` (slow path: not sharded).
    transfers: [AtomicU64; TRANSFER_KINDS.len()],
    /// How long each new plan took from a new state to the swap.
    plan_swaps: LatencyHistogram,
    /// How long after the leader stamped the newest write each new plan answered.
    plan_lags: LatencyHistogram,
}

/// The plan swap and plan lag histograms as a scrape reports them.
pub type PlanSwapSnapshot = LatencySnapshot;

/// What became of NOTIFY messages: each sent (first tries and retries), each acknowledged
/// by a secondary, each target given up on (no acknowledgement after the last retry, or an
/// error RCODE), each answer to a signed NOTIFY not signed by the secondary with the key
/// (unsigned or badly signed: not an acknowledgement, RFC 8945 §5.3.2).
pub const NOTIFY_RESULTS: [&str; 4] = ["sent", "acknowledged", "failed", "unverified"];

/// How zone transfer requests were answered: a full zone (AXFR, or IXFR answered in full),
/// an incremental one, a single SOA (IXFR from the current serial), or refused.
pub const TRANSFER_KINDS: [&str; 4] = ["full", "incremental", "up_to_date", "refused"];

impl Default for DnsMetrics {
    fn default() -> Self {
        DnsMetrics::new()
    }
}

/// Hands each metrics set its id.
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
/// Hands each thread its shard number, round robin.
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's shard number (`usize::MAX` until first use); const-initialised, so
    /// reading it never allocates.
    static THREAD_SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The calling thread's shard number (taken on first use, then fixed).
#[inline]
pub(crate) fn thread_shard() -> usize {
    THREAD_SHARD.with(|shard| {
        let mut value = shard.get();
        if value == usize::MAX {
            value = NEXT_SHARD.fetch_add(1, Ordering::Relaxed);
            shard.set(value);
        }
        value
    })
}

impl DnsMetrics {
    /// A metrics set with one shard per available core (a power of two, at most 64), all
    /// counters at zero.
    pub fn new() -> DnsMetrics {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        DnsMetrics::with_shards(cores)
    }

    /// A metrics set with `shards` shards (rounded up to a power of two, at most 64).
    pub fn with_shards(shards: usize) -> DnsMetrics {
        let shards = shards.clamp(1, MAX_SHARDS).next_power_of_two();
        DnsMetrics {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            shards: (0..shards).map(|_| QueryShard::default()).collect(),
            registry: RegistryLock::new(Registry::default()),
            notify: Default::default(),
            transfers: Default::default(),
            plan_swaps: LatencyHistogram::default(),
            plan_lags: LatencyHistogram::default(),
        }
    }

    /// Records one plan swap: `took` from the new state to the plan answering.
    pub fn observe_plan_swap(&self, took: std::time::Duration) {
        self.plan_swaps.observe(took);
    }

    /// Records one new plan answering `lag` after the leader stamped the newest write in it
    /// (millisecond stamps; on one machine, the write's propose to this node answering it).
    pub fn observe_plan_lag(&self, lag: std::time::Duration) {
        self.plan_lags.observe(lag);
    }

    /// Number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Counts one reply with RCODE `code` to a query of type `qtype` (`None`: no readable
    /// question) on `transport`, on the caller's shard.
    #[inline]
    pub fn count_reply(&self, shard: usize, transport: Transport, code: u16, qtype: Option<u16>) {
        let line = &self.shards[shard & (self.shards.len() - 1)];
        line.replies[transport_slot(transport)][rcode_slot(code)].fetch_add(1, Ordering::Relaxed);
        line.qtypes[qtype_slot(qtype)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one packet given no reply.
    #[inline]
    pub fn count_ignored(&self, shard: usize, transport: Transport) {
        let line = &self.shards[shard & (self.shards.len() - 1)];
        line.ignored[transport_slot(transport)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one UDP reply rate limiting decided on.
    #[inline]
    pub fn count_rrl(&self, shard: usize, class: ReplyClass, action: RrlAction) {
        let line = &self.shards[shard & (self.shards.len() - 1)];
        line.rrl[class as usize][action as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one query with a COOKIE option.
    #[inline]
    pub fn count_cookie(&self, shard: usize, verdict: CookieVerdict) {
        let line = &self.shards[shard & (self.shards.len() - 1)];
        line.cookies[verdict as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one online signing event.
    #[inline]
    pub fn count_dnssec(&self, shard: usize, event: DnssecEvent) {
        let line = &self.shards[shard & (self.shards.len() - 1)];
        line.dnssec[event as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The counters for these records and regions (in their order), from the registry.
    pub(crate) fn gslb_counters<'a>(
        &self,
        records: impl Iterator<Item = (&'a DomainName, RecordType)>,
        regions: impl Iterator<Item = &'a str>,
    ) -> GslbCounters {
        let n_shards = self.shards.len();
        let mut registry = self.lock();
        registry.prune();
        let records = records
            .map(|(name, rtype)| {
                registry
                    .records
                    .entry((name.clone(), rtype))
                    .or_insert_with(|| {
                        Arc::new(RecordCounters {
                            shards: (0..n_shards).map(|_| RecordShard::default()).collect(),
                        })
                    })
                    .clone()
            })
            .collect();
        let regions = regions
            .map(|region| {
                registry
                    .regions
                    .entry(region.to_string())
                    .or_insert_with(|| {
                        Arc::new(RegionCounters {
                            shards: (0..n_shards).map(|_| Line::default()).collect(),
                        })
                    })
                    .clone()
            })
            .collect();
        GslbCounters {
            owner: self.id,
            records,
            regions,
        }
    }

    /// Counts one NOTIFY event, `result` one of `NOTIFY_RESULTS`.
    pub fn count_notify(&self, result: &str) {
        if let Some(slot) = NOTIFY_RESULTS.iter().position(|name| *name == result) {
            self.notify[slot].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one transfer request, `kind` one of `TRANSFER_KINDS`.
    pub fn count_transfer(&self, kind: &str) {
        if let Some(slot) = TRANSFER_KINDS.iter().position(|name| *name == kind) {
            self.transfers[slot].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Every counter summed over the shards, series in a stable order. Counters no plan holds
    /// any more are dropped first.
    pub fn snapshot(&self) -> DnsSnapshot {
        let sum = |read: &dyn Fn(&QueryShard) -> u64| self.shards.iter().map(read).sum::<u64>();
        let mut replies = Vec::with_capacity(TRANSPORTS.len() * RCODE_NAMES.len());
        let mut ignored = Vec::with_capacity(TRANSPORTS.len());
        for transport in TRANSPORTS {
            let t = transport_slot(transport);
            for (slot, name) in RCODE_NAMES.iter().enumerate() {
                let count = sum(&|shard| shard.replies[t][slot].load(Ordering::Relaxed));
                replies.push((transport_name(transport), *name, count));
            }
            let count = sum(&|shard| shard.ignored[t].load(Ordering::Relaxed));
            ignored.push((transport_name(transport), count));
        }
        let qtypes = QTYPE_NAMES
            .iter()
            .enumerate()
            .map(|(slot, name)| {
                (
                    *name,
                    sum(&|shard| shard.qtypes[slot].load(Ordering::Relaxed)),
                )
            })
            .collect();
        let mut rrl = Vec::with_capacity(ReplyClass::ALL.len() * RrlAction::ALL.len());
        for class in ReplyClass::ALL {
            for action in RrlAction::ALL {
                let count = sum(&|shard| {
                    shard.rrl[class as usize][action as usize].load(Ordering::Relaxed)
                });
                rrl.push((class.name(), action.name(), count));
            }
        }
        let cookies = COOKIE_VERDICT_NAMES
            .iter()
            .enumerate()
            .map(|(slot, name)| {
                let count = sum(&|shard| shard.cookies[slot].load(Ordering::Relaxed));
                (*name, count)
            })
            .collect();
        let dnssec = DNSSEC_EVENT_NAMES
            .iter()
            .enumerate()
            .map(|(slot, name)| {
                let count = sum(&|shard| shard.dnssec[slot].load(Ordering::Relaxed));
                (*name, count)
            })
            .collect();
        let mut registry = self.lock();
        registry.prune();
        let mut records: Vec<RecordSnapshot> = registry
            .records
            .iter()
            .map(|((name, rtype), counters)| {
                let mut decisions = [0u64; DECISION_NAMES.len()];
                let mut causes = [0u64; Cause::ALL.len()];
                for shard in counters.shards.iter() {
                    for (total, counter) in decisions.iter_mut().zip(&shard.decisions) {
                        *total += counter.load(Ordering::Relaxed);
                    }
                    for (total, counter) in causes.iter_mut().zip(&shard.causes) {
                        *total += counter.load(Ordering::Relaxed);
                    }
                }
                RecordSnapshot {
                    name: name.to_string(),
                    rtype: rtype.to_string(),
                    decisions,
                    causes,
                }
            })
            .collect();
        records.sort_by(|a, b| (&a.name, &a.rtype).cmp(&(&b.name, &b.rtype)));
        let mut regions: Vec<(String, u64)> = registry
            .regions
            .iter()
            .map(|(id, counters)| {
                let count = counters
                    .shards
                    .iter()
                    .map(|line| line.0.load(Ordering::Relaxed))
                    .sum();
                (id.clone(), count)
            })
            .collect();
        regions.sort();
        let read = |counters: &[AtomicU64], names: &[&'static str]| {
            names
                .iter()
                .zip(counters)
                .map(|(name, counter)| (*name, counter.load(Ordering::Relaxed)))
                .collect()
        };
        DnsSnapshot {
            replies,
            qtypes,
            ignored,
            records,
            regions,
            rrl,
            cookies,
            notify: read(&self.notify, &NOTIFY_RESULTS),
            transfers: read(&self.transfers, &TRANSFER_KINDS),
            dnssec,
            plan_swaps: self.plan_swaps.snapshot(),
            plan_lags: self.plan_lags.snapshot(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One GSLB record's counters, summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSnapshot {
    /// Owner name (absolute, lower case).
    pub name: String,
    /// A, AAAA or CNAME.
    pub rtype: String,
    /// Evaluations per decision, in `DECISION_NAMES` order.
    pub decisions: [u64; DECISION_NAMES.len()],
    /// Evaluations each cause took part in, in `Cause::ALL` order.
    pub causes: [u64; Cause::ALL.len()],
}

impl RecordSnapshot {
    /// The count of decision `name` (0 for an unknown name).
    pub fn decision(&self, name: &str) -> u64 {
        DECISION_NAMES
            .iter()
            .position(|decision| *decision == name)
            .map_or(0, |slot| self.decisions[slot])
    }
}

/// Every DNS counter, summed over the shards, as a scrape reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsSnapshot {
    /// (transport, RCODE, replies), every combination.
    pub replies: Vec<(&'static str, &'static str, u64)>,
    /// (query type, replies), every type label.
    pub qtypes: Vec<(&'static str, u64)>,
    /// (transport, packets given no reply).
    pub ignored: Vec<(&'static str, u64)>,
    /// GSLB records a plan holds, by name then type.
    pub records: Vec<RecordSnapshot>,
    /// (region id, GSLB answers that included it), by id.
    pub regions: Vec<(String, u64)>,
    /// (reply class, RRL action, UDP replies), every combination.
    pub rrl: Vec<(&'static str, &'static str, u64)>,
    /// (cookie verdict, queries), every verdict.
    pub cookies: Vec<(&'static str, u64)>,
    /// (NOTIFY result, count), every result.
    pub notify: Vec<(&'static str, u64)>,
    /// (transfer kind, requests), every kind.
    pub transfers: Vec<(&'static str, u64)>,
    /// (online signing event, count), every event.
    pub dnssec: Vec<(&'static str, u64)>,
    /// How long plan swaps took.
    pub plan_swaps: PlanSwapSnapshot,
    /// How long after the leader's stamp of their newest write new plans answered.
    pub plan_lags: PlanSwapSnapshot,
}

impl DnsSnapshot {
    /// Replies on `transport` with RCODE `rcode`.
    pub fn replies(&self, transport: &str, rcode: &str) -> u64 {
        self.replies
            .iter()
            .find(|(t, r, _)| *t == transport && *r == rcode)
            .map_or(0, |(_, _, count)| *count)
    }

    /// Replies to queries of type `qtype`.
    pub fn qtype(&self, qtype: &str) -> u64 {
        self.qtypes
            .iter()
            .find(|(name, _)| *name == qtype)
            .map_or(0, |(_, count)| *count)
    }

    /// The counters of record `name` (absolute) of type `rtype`.
    pub fn record(&self, name: &str, rtype: &str) -> Option<&RecordSnapshot> {
        self.records
            .iter()
            .find(|record| record.name == name && record.rtype == rtype)
    }

    /// UDP replies of `class` that rate limiting gave `action` (labels as in `ReplyClass`
    /// and `RrlAction` names).
    pub fn rrl(&self, class: &str, action: &str) -> u64 {
        self.rrl
            .iter()
            .find(|(c, a, _)| *c == class && *a == action)
            .map_or(0, |(_, _, count)| *count)
    }

    /// RRL actions summed over the classes.
    pub fn rrl_total(&self, action: &str) -> u64 {
        self.rrl
            .iter()
            .filter(|(_, a, _)| *a == action)
            .map(|(_, _, count)| count)
            .sum()
    }

    /// Queries whose cookie got `verdict`.
    pub fn cookie(&self, verdict: &str) -> u64 {
        self.cookies
            .iter()
            .find(|(name, _)| *name == verdict)
            .map_or(0, |(_, count)| *count)
    }

    /// GSLB answers that included region `id`.
    pub fn region(&self, id: &str) -> u64 {
        self.regions
            .iter()
            .find(|(region, _)| region == id)
            .map_or(0, |(_, count)| *count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every named query type's slot is the slot of its name (codes from hickory-proto, so a
    /// typo in either table shows), unknown types are `other`, no question is `none`.
    #[test]
    fn query_type_slots_match_their_names() {
        for (slot, name) in QTYPE_NAMES.iter().enumerate() {
            let code = match *name {
                "other" | "none" => continue,
                // hickory-proto does not parse IXFR from text.
                "IXFR" => 251,
                _ => u16::from(name.parse::<hickory_proto::rr::RecordType>().unwrap()),
            };
            assert_eq!(qtype_slot(Some(code)), slot, "{name} ({code})");
        }
        assert_eq!(QTYPE_NAMES[qtype_slot(Some(99))], "other");
        assert_eq!(QTYPE_NAMES[qtype_slot(None)], "none");
    }

    /// Every named RCODE's slot is the slot of its name; unlisted codes are `other`.
    #[test]
    fn rcode_slots_match_their_names() {
        for (code, name) in [
            (0, "NOERROR"),
            (1, "FORMERR"),
            (2, "SERVFAIL"),
            (3, "NXDOMAIN"),
            (4, "NOTIMP"),
            (5, "REFUSED"),
            (16, "BADVERS"),
            (9, "other"),
        ] {
            assert_eq!(RCODE_NAMES[rcode_slot(code)], name, "{code}");
        }
    }

    /// Shard counts are powers of two within bounds, so a thread's shard is a mask away.
    #[test]
    fn shard_counts_are_bounded_powers_of_two() {
        for (asked, got) in [(0, 1), (1, 1), (3, 4), (8, 8), (1000, 64)] {
            assert_eq!(DnsMetrics::with_shards(asked).shard_count(), got, "{asked}");
        }
    }
}
