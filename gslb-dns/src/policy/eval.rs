//! The evaluator: walks a `CompiledRecord` for one client at one instant and returns a
//! `Decision`. Pure (time, randomness and the world come in as arguments) and allocation-free;
//! generic over a `Tracer` so the explain path runs this very code.
//!
//! Rules it keeps:
//! - A subtree is *available* when it can yield at least one usable endpoint; every node
//!   chooses among available children only.
//! - The ECS scope is the longest of the prefixes the taken decisions depended on (geo cells
//!   and CIDR partitions, latency-table cells, /24 or /56 for consistent hashing), clamped to
//!   the client's source prefix. Random choices add nothing: their answer does not depend on
//!   the client. Any address inside the scope therefore gets the same answer.
//! - Weighted choices first pick among *all* children by weight (so healthy children's
//!   clients never move), then spill an unavailable child's clients over the available ones
//!   in proportion to their spare capacity.

use gslb_model::ip::mask;
use gslb_model::model::gslb_record::{UnknownAs, WhenAllDown};
use gslb_model::model::{AdminState, OverrideAction};

use crate::client::{cell_prefix_for, ClientFacts};
use crate::policy::compile::{CompiledRecord, Condition, NodeKind};
use crate::policy::decision::{Answers, Decision, Outcome};
use crate::policy::distance::great_circle_km;
use crate::policy::explain::{Reason, Tracer, Verdict, RECORD};
use crate::policy::hash::{address_words, hash_words, mix64, rendezvous_score};
use crate::policy::inputs::{HealthStatus, PolicyInputs};

/// Prefix consistent hashing keys IPv4 clients on.
pub const CONSISTENT_PREFIX_V4: u8 = 24;
/// Prefix consistent hashing keys IPv6 clients on.
pub const CONSISTENT_PREFIX_V6: u8 = 56;

/// Salt that separates the spill hash from the first-choice hash.
const SPILL_SALT: u64 = 0x5350_494c_4c00_0001;

/// Evaluates `record` for `client` at `now_ms` (leader-clock unix millis), drawing random
/// choices from `entropy`, reporting to `tracer`.
pub fn run<T: Tracer>(
    record: &CompiledRecord,
    inputs: &PolicyInputs,
    client: &ClientFacts,
    now_ms: u64,
    entropy: u64,
    tracer: &mut T,
) -> Decision {
    let mut decision = Decision::default();
    run_into(
        record,
        inputs,
        client,
        now_ms,
        entropy,
        tracer,
        &mut decision,
    );
    decision
}

/// `run`, writing the decision into `out` (which it resets) field by field: the DNS path
/// reads it in place. Returned by value, the decision went through memory in pieces and was
/// read back in 16-octet moves, which stall until the pieces are in the cache.
#[inline]
pub fn run_into<T: Tracer>(
    record: &CompiledRecord,
    inputs: &PolicyInputs,
    client: &ClientFacts,
    now_ms: u64,
    entropy: u64,
    tracer: &mut T,
    out: &mut Decision,
) {
    out.answers.clear();
    let mut eval = Eval {
        record,
        inputs,
        client,
        now_ms,
        entropy,
        tracer,
        scope: 0,
        degraded: false,
        quiet: 0,
        answers: &mut out.answers,
    };
    let outcome = if record.nodes.is_empty() {
        eval.all_down()
    } else if eval.visit(0, true) {
        if eval.degraded {
            Outcome::Degraded
        } else {
            Outcome::Healthy
        }
    } else {
        eval.all_down()
    };
    let ttl = eval.ttl(outcome);
    let scope = eval.scope.min(client.source_prefix);
    let unclamped = eval.scope;
    eval.tracer.note(RECORD, || {
        if unclamped > scope {
            format!(
                "ecs scope /{scope} (decisions needed /{unclamped}, clamped to the source prefix)"
            )
        } else if scope == 0 {
            "ecs scope /0: the answer does not depend on the client".to_string()
        } else {
            format!("ecs scope /{scope}")
        }
    });
    out.ttl = ttl;
    out.scope = scope;
    out.outcome = outcome;
}

/// One evaluation in progress.
struct Eval<'a, T: Tracer> {
    /// The record.
    record: &'a CompiledRecord,
    /// The world.
    inputs: &'a PolicyInputs,
    /// The client.
    client: &'a ClientFacts,
    /// Now, leader-clock unix millis.
    now_ms: u64,
    /// Randomness for random choices.
    entropy: u64,
    /// Where steps go.
    tracer: &'a mut T,
    /// The longest prefix a decision so far depended on.
    scope: u8,
    /// Whether a choice had to skip a preferred child.
    degraded: bool,
    /// >0 while probing availability: no notes, no answers, no degradation.
    quiet: u32,
    /// Answers so far.
    answers: &'a mut Answers,
}

impl<T: Tracer> Eval<'_, T> {
    /// A note at `node`, unless probing.
    fn note(&mut self, node: usize, message: impl FnOnce() -> String) {
        if self.quiet == 0 {
            self.tracer.note(node, message);
        }
    }

    /// The answer depends on the client's first `prefix` bits.
    fn depend(&mut self, prefix: u8) {
        self.scope = self.scope.max(prefix);
    }

    /// Visits node `node`: returns whether it is available and, when `write`, puts its answers
    /// into `self.answers`. A node that is not available writes nothing.
    fn visit(&mut self, node: usize, write: bool) -> bool {
        if !write {
            self.quiet += 1;
        }
        let available = match &self.record.nodes[node].kind {
            NodeKind::Leaf { endpoints } => self.leaf(node, endpoints, write),
            NodeKind::Failover(children) => self.failover(node, children, write),
            NodeKind::Weighted {
                consistent,
                children,
            } => self.weighted(node, *consistent, children, write),
            NodeKind::Geo { rules, default } => self.geo(node, rules, *default, write),
            NodeKind::Latency(children) => self.latency(node, children, write),
            NodeKind::Proximity(children) => self.proximity(node, children, write),
            NodeKind::Capacity(children) => self.capacity(node, children, write),
        };
        if !write {
            self.quiet -= 1;
        }
        available
    }

    /// `endpoints` / `region`: the usable endpoints, weighted ones before standbys, up to
    /// `max_answers` (a random weighted subset when there are more).
    fn leaf(&mut self, node: usize, endpoints: &[usize], write: bool) -> bool {
        let mut n_weighted = 0usize;
        let mut n_standby = 0usize;
        for &endpoint in endpoints {
            if self.usable(endpoint) {
                if self.inputs.endpoints[endpoint].weight > 0 {
                    n_weighted += 1;
                } else {
                    n_standby += 1;
                }
            }
        }
        if n_weighted + n_standby == 0 {
            self.note(node, || "no usable endpoint".to_string());
            return false;
        }
        if !write {
            return true;
        }
        let standby = n_weighted == 0;
        let candidates = if standby { n_standby } else { n_weighted };
        let is_candidate = |eval: &Self, endpoint: usize| {
            eval.endpoint_verdict(endpoint).usable
                && (eval.inputs.endpoints[endpoint].weight == 0) == standby
        };
        let room = usize::from(self.record.max_answers);
        if candidates <= room {
            for &endpoint in endpoints {
                if is_candidate(self, endpoint) {
                    self.answers.push(endpoint);
                }
            }
        } else {
            // Weighted sampling without replacement: the `room` lowest rendezvous scores.
            let base = hash_words(&[self.record.salt, self.entropy, node as u64]);
            while self.answers.len() < room {
                let mut best: Option<(f64, usize)> = None;
                for &endpoint in endpoints {
                    if self.answers.contains(endpoint) || !is_candidate(self, endpoint) {
                        continue;
                    }
                    let weight = f64::from(self.inputs.endpoints[endpoint].weight.max(1));
                    let score = rendezvous_score(hash_words(&[base, endpoint as u64]), weight);
                    if best.is_none_or(|(best_score, _)| score < best_score) {
                        best = Some((score, endpoint));
                    }
                }
                match best {
                    Some((_, endpoint)) => self.answers.push(endpoint),
                    None => break,
                }
            }
        }
        let (n, kind) = (
            self.answers.len(),
            if standby { "standby" } else { "weighted" },
        );
        self.note(node, || {
            format!("{n} of {candidates} usable {kind} endpoint(s) answered")
        });
        true
    }

    /// `failover`: the first available child.
    fn failover(&mut self, node: usize, children: &[usize], write: bool) -> bool {
        for (position, &child) in children.iter().enumerate() {
            if self.visit(child, write) {
                if position > 0 && write {
                    self.degraded = true;
                }
                self.note(node, || match position {
                    0 => "first child available".to_string(),
                    _ => format!("children 0..{position} unavailable, took child {position}"),
                });
                return true;
            }
        }
        self.note(node, || "no child available".to_string());
        false
    }

    /// `weighted` / `consistent`: a draw over all children by weight (`consistent`: rendezvous
    /// on the client subnet, so a lost child moves only its own clients; `weighted`: one
    /// random draw over the cumulative weights); an unavailable winner's client spills over
    /// the available children by spare capacity.
    fn weighted(
        &mut self,
        node: usize,
        consistent: bool,
        children: &[(u32, usize)],
        write: bool,
    ) -> bool {
        let base = if consistent {
            let prefix = if self.client.addr.is_ipv4() {
                CONSISTENT_PREFIX_V4
            } else {
                CONSISTENT_PREFIX_V6
            };
            self.depend(prefix);
            let words = address_words(mask(self.client.addr, prefix));
            hash_words(&[self.record.salt, node as u64, words[0], words[1]])
        } else {
            hash_words(&[self.record.salt, node as u64, self.entropy])
        };
        let first = if consistent {
            // Rendezvous: losing a child moves only that child's clients.
            let mut first: Option<(f64, usize)> = None;
            for (position, &(weight, _)) in children.iter().enumerate() {
                let score =
                    rendezvous_score(hash_words(&[base, position as u64]), f64::from(weight));
                if first.is_none_or(|(best, _)| score < best) {
                    first = Some((score, position));
                }
            }
            first.map(|(_, position)| position)
        } else {
            // A random draw keeps nothing between queries: one draw over the cumulative
            // weights has the same distribution as rendezvous, without a logarithm per child.
            cumulative_pick(children.iter().map(|&(weight, _)| weight), base)
        };
        let Some(first) = first else {
            return false;
        };
        if self.visit(children[first].1, write) {
            let how = if consistent {
                "client subnet hash"
            } else {
                "random draw"
            };
            self.note(node, || format!("{how} chose child {first}"));
            return true;
        }
        // Spill: which children are available, and how much spare capacity they have.
        let mut available = 0u64;
        for (position, &(_, child)) in children.iter().enumerate() {
            if position != first && self.visit(child, false) {
                available |= 1 << position;
            }
        }
        if available == 0 {
            self.note(node, || "no child available".to_string());
            return false;
        }
        let total_weight: f64 = children.iter().map(|&(w, _)| f64::from(w)).sum();
        let share = |position: usize| f64::from(children[position].0) / total_weight;
        let lost: f64 = (0..children.len())
            .filter(|p| available & (1 << p) == 0)
            .map(share)
            .sum();
        let capacities_known = (0..children.len())
            .filter(|p| available & (1 << p) != 0)
            .all(|p| self.healthy_capacity(children[p].1).is_some());
        let healthy_total: f64 = (0..children.len())
            .filter(|p| available & (1 << p) != 0)
            .filter_map(|p| self.healthy_capacity(children[p].1))
            .sum();
        let spill_capacity = capacities_known && healthy_total > 0.0;
        // Nominal capacity of the whole set: survivors' healthy capacity plus the lost
        // children's declared capacity (or, undeclared, as if they matched their share).
        let nominal_total = if spill_capacity {
            let lost_declared: Option<f64> = (0..children.len())
                .filter(|p| available & (1 << p) == 0)
                .map(|p| self.declared_capacity(children[p].1))
                .sum();
            healthy_total + lost_declared.unwrap_or(healthy_total * lost / (1.0 - lost).max(1e-9))
        } else {
            0.0
        };
        let spare = |eval: &Self, position: usize| {
            let capacity = eval.healthy_capacity(children[position].1).unwrap_or(0.0);
            (capacity / nominal_total - share(position)).max(0.0)
        };
        let total_spare: f64 = (0..children.len())
            .filter(|p| available & (1 << p) != 0)
            .map(|p| spare(self, p))
            .sum();
        // How much of the lost share each survivor takes on: by spare capacity first, the
        // rest by capacity; without capacity figures, in proportion to the survivors' shares.
        let spill_weight = |eval: &Self, position: usize| {
            if !spill_capacity {
                return share(position);
            }
            let own_spare = spare(eval, position);
            if total_spare >= lost && total_spare > 0.0 {
                lost * own_spare / total_spare
            } else {
                let capacity = eval.healthy_capacity(children[position].1).unwrap_or(0.0);
                own_spare + (lost - total_spare) * capacity / healthy_total
            }
        };
        let spill_base = mix64(base ^ SPILL_SALT);
        let mut best: Option<(f64, usize)> = None;
        for position in (0..children.len()).filter(|p| available & (1 << p) != 0) {
            let weight = spill_weight(self, position);
            let score = rendezvous_score(hash_words(&[spill_base, position as u64]), weight);
            if best.is_none_or(|(best_score, _)| score < best_score) {
                best = Some((score, position));
            }
        }
        let Some((_, chosen)) = best else {
            return false;
        };
        let ok = self.visit(children[chosen].1, write);
        if ok && write {
            self.degraded = true;
        }
        let how = if spill_capacity {
            "spare healthy capacity"
        } else {
            "weight"
        };
        self.note(node, || {
            format!("child {first} unavailable; its share spilled by {how} to child {chosen}")
        });
        ok
    }

    /// `geo`: the first rule with a matching condition, else (or when its branch is
    /// unavailable) the default.
    fn geo(
        &mut self,
        node: usize,
        rules: &[crate::policy::compile::CompiledRule],
        default: usize,
        write: bool,
    ) -> bool {
        let mut needed = 0u8;
        let mut matched = None;
        for (position, rule) in rules.iter().enumerate() {
            let mut rule_needed = 0u8;
            let mut hit = None;
            for condition in &rule.conditions {
                let (matches, prefix) = self.condition(condition);
                if matches {
                    hit = Some(prefix);
                    break;
                }
                rule_needed = rule_needed.max(prefix);
            }
            match hit {
                Some(prefix) => {
                    needed = needed.max(prefix);
                    matched = Some(position);
                    break;
                }
                None => needed = needed.max(rule_needed),
            }
        }
        self.depend(needed);
        if let Some(position) = matched {
            if self.visit(rules[position].node, write) {
                self.note(node, || {
                    format!("client matched rule {position} (decided by the first /{needed} bits)")
                });
                return true;
            }
            if self.visit(default, write) {
                if write {
                    self.degraded = true;
                }
                self.note(node, || {
                    format!("client matched rule {position}, unavailable; took the default")
                });
                return true;
            }
            self.note(node, || {
                format!("client matched rule {position}; neither it nor the default is available")
            });
            return false;
        }
        let ok = self.visit(default, write);
        self.note(node, || {
            format!(
                "no rule matched (decided by the first /{needed} bits); default {}",
                if ok { "taken" } else { "unavailable" }
            )
        });
        ok
    }

    /// Whether a geo condition holds for the client, and the prefix that decides it.
    fn condition(&self, condition: &Condition) -> (bool, u8) {
        let geo = &self.client.geo;
        let cell = self.client.geo_prefix;
        match condition {
            Condition::Continent(code) => (geo.continent == Some(*code), cell),
            Condition::Country(code) => (geo.country == Some(*code), cell),
            Condition::Subdivision(code) => (geo.subdivision == Some(*code), cell),
            Condition::Asn(asn) => (geo.asn == Some(*asn), cell),
            Condition::Cidr(cidr) => match cell_prefix_for(cidr, self.client.addr) {
                Some(prefix) => (cidr.contains(self.client.addr), prefix),
                None => (false, 0),
            },
        }
    }

    /// `latency`: children by their lowest RTT (client-network table if it covers the
    /// client, else the answering node's vantage); unmeasured children last, in order.
    fn latency(&mut self, node: usize, children: &[usize], write: bool) -> bool {
        let inputs = self.inputs;
        let mut from_table: Option<&[(usize, u32)]> = None;
        if let Some(table) = &inputs.latency_table {
            let found = table.lookup(self.client.addr);
            self.depend(found.cell_prefix);
            from_table = found.entry.map(|(_, rtts)| rtts.as_slice());
        }
        let rtt_of = |region: usize| -> Option<u32> {
            match from_table {
                Some(rtts) => rtts.iter().find(|(r, _)| *r == region).map(|&(_, rtt)| rtt),
                None => inputs.regions[region].vantage_rtt_us,
            }
        };
        let source = if from_table.is_some() {
            "client-network table"
        } else {
            "vantage probes"
        };
        let child_rtt = |eval: &Self, child: usize| -> Option<u32> {
            eval.record.nodes[child]
                .regions
                .iter()
                .filter(|&&r| eval.region_verdict(r).usable)
                .filter_map(|&r| rtt_of(r))
                .min()
        };
        // Children within the margin of the lowest RTT are equals: the first listed of them
        // answers, so probe noise below the margin never moves traffic.
        let equal_up_to = children
            .iter()
            .filter_map(|&child| child_rtt(self, child))
            .min()
            .map(|lowest| (lowest, self.record.latency_margin.equal_up_to(lowest)));
        self.ordered(node, children, write, "rtt µs", source, |eval, child| {
            child_rtt(eval, child).map(|rtt| match equal_up_to {
                Some((lowest, limit)) if rtt <= limit => f64::from(lowest),
                _ => f64::from(rtt),
            })
        })
    }

    /// `proximity`: children by great-circle distance to their nearest usable region, times
    /// their bias; in order when the client's position is unknown.
    fn proximity(&mut self, node: usize, children: &[(usize, f64)], write: bool) -> bool {
        self.depend(self.client.geo_prefix);
        let Some((lat, lon)) = self.client.geo.lat_lon else {
            self.note(node, || {
                "client position unknown; children in order".to_string()
            });
            return self.ordered_by_index(node, children.iter().map(|&(c, _)| c), write);
        };
        let inputs = self.inputs;
        let bias_of = |child: usize| {
            children
                .iter()
                .find(|&&(c, _)| c == child)
                .map_or(1.0, |&(_, bias)| bias)
        };
        let child_ids = ChildIds::from_pairs(children);
        self.ordered(
            node,
            child_ids.as_slice(),
            write,
            "km (biased)",
            "client position",
            |eval, child| {
                eval.record.nodes[child]
                    .regions
                    .iter()
                    .filter(|&&r| eval.region_verdict(r).usable)
                    .map(|&r| {
                        let region = &inputs.regions[r];
                        great_circle_km(lat, lon, region.lat, region.lon) * bias_of(child)
                    })
                    .min_by(f64::total_cmp)
            },
        )
    }

    /// Tries `children` in ascending `metric` (unmeasured last, in order); the first
    /// available wins. Skipping a better-ranked child marks the record degraded.
    fn ordered(
        &mut self,
        node: usize,
        children: &[usize],
        write: bool,
        unit: &'static str,
        source: &'static str,
        metric: impl Fn(&Self, usize) -> Option<f64>,
    ) -> bool {
        let mut tried = 0u64;
        let mut skipped = 0usize;
        for _ in 0..children.len() {
            let mut best: Option<(Option<f64>, usize)> = None;
            for (position, &child) in children.iter().enumerate() {
                if tried & (1 << position) != 0 {
                    continue;
                }
                let value = metric(self, child);
                let better = match (best, value) {
                    (None, _) => true,
                    (Some((None, _)), Some(_)) => true,
                    (Some((Some(b), _)), Some(v)) => v < b,
                    _ => false,
                };
                if better {
                    best = Some((value, position));
                }
            }
            let Some((value, position)) = best else {
                break;
            };
            tried |= 1 << position;
            if self.visit(children[position], write) {
                if skipped > 0 && write {
                    self.degraded = true;
                }
                self.note(node, || match value {
                    Some(v) => format!(
                        "took child {position} at {v:.0} {unit} ({source}); {skipped} better unavailable"
                    ),
                    None => format!(
                        "took child {position}, unmeasured ({source}); {skipped} measured unavailable"
                    ),
                });
                return true;
            }
            skipped += 1;
        }
        self.note(node, || "no child available".to_string());
        false
    }

    /// Tries children in the given order; the first available wins.
    fn ordered_by_index(
        &mut self,
        node: usize,
        children: impl Iterator<Item = usize>,
        write: bool,
    ) -> bool {
        for (position, child) in children.enumerate() {
            if self.visit(child, write) {
                if position > 0 && write {
                    self.degraded = true;
                }
                self.note(node, || format!("took child {position}"));
                return true;
            }
        }
        false
    }

    /// `capacity`: a random available child, shares proportional to healthy capacity (equal
    /// shares when some capacity is unknown).
    fn capacity(&mut self, node: usize, children: &[usize], write: bool) -> bool {
        let mut available = 0u64;
        for (position, &child) in children.iter().enumerate() {
            if self.visit(child, false) {
                available |= 1 << position;
            }
        }
        if available == 0 {
            self.note(node, || "no child available".to_string());
            return false;
        }
        if !write {
            return true;
        }
        let known = (0..children.len())
            .filter(|p| available & (1 << p) != 0)
            .all(|p| self.healthy_capacity(children[p]).is_some_and(|c| c > 0.0));
        let base = hash_words(&[self.record.salt, node as u64, self.entropy]);
        let mut best: Option<(f64, usize, f64)> = None;
        for position in (0..children.len()).filter(|p| available & (1 << p) != 0) {
            let weight = if known {
                self.healthy_capacity(children[position]).unwrap_or(1.0)
            } else {
                1.0
            };
            let score = rendezvous_score(hash_words(&[base, position as u64]), weight);
            if best.is_none_or(|(best_score, _, _)| score < best_score) {
                best = Some((score, position, weight));
            }
        }
        let Some((_, chosen, weight)) = best else {
            return false;
        };
        let total: f64 = if known {
            (0..children.len())
                .filter(|p| available & (1 << p) != 0)
                .filter_map(|p| self.healthy_capacity(children[p]))
                .sum()
        } else {
            f64::from(available.count_ones())
        };
        let ok = self.visit(children[chosen], write);
        self.note(node, || {
            format!(
                "random draw chose child {chosen} (share {weight}/{total} of {})",
                if known {
                    "healthy capacity"
                } else {
                    "equal shares: capacity unknown"
                }
            )
        });
        ok
    }

    /// Healthy capacity below `node`: the sum over its usable regions of reported capacity
    /// (else declared); `None` when a usable region has neither.
    fn healthy_capacity(&self, node: usize) -> Option<f64> {
        let mut total = 0.0;
        for &region in &self.record.nodes[node].regions {
            if !self.region_verdict(region).usable {
                continue;
            }
            let input = &self.inputs.regions[region];
            total += f64::from(input.reported_capacity.or(input.declared_capacity)?);
        }
        Some(total)
    }

    /// Declared capacity below `node` (all regions, healthy or not); `None` when any region
    /// has none.
    fn declared_capacity(&self, node: usize) -> Option<f64> {
        self.record.nodes[node]
            .regions
            .iter()
            .map(|&r| self.inputs.regions[r].declared_capacity.map(f64::from))
            .sum()
    }

    /// Whether an endpoint may be answered, reporting the verdict.
    fn usable(&mut self, endpoint: usize) -> bool {
        let verdict = self.endpoint_verdict(endpoint);
        self.tracer.endpoint(endpoint, verdict);
        verdict.usable
    }

    /// Judges a region: override, then deep-check health, then (guarded records) the lease.
    fn region_verdict(&self, region: usize) -> Verdict {
        let input = &self.inputs.regions[region];
        if let Some(o) = input
            .admin_override
            .as_ref()
            .filter(|o| o.is_active(self.now_ms))
        {
            // An operator's explicit force_up beats health and the lease; say so in the reason.
            return Verdict {
                usable: o.action == OverrideAction::ForceUp,
                reason: Reason::RegionOverride(o.action),
            };
        }
        let health = match input.health.status {
            HealthStatus::Up => Verdict {
                usable: true,
                reason: Reason::Healthy,
            },
            HealthStatus::Down => Verdict {
                usable: false,
                reason: Reason::RegionDown,
            },
            HealthStatus::Unknown => self.unknown(),
        };
        if !health.usable || !self.record.split_brain_guard {
            return health;
        }
        match input.lease_expires_at {
            None => Verdict {
                usable: false,
                reason: Reason::NoLease,
            },
            Some(expiry) if expiry <= self.now_ms => Verdict {
                usable: false,
                reason: Reason::LeaseExpired(expiry),
            },
            Some(_) => health,
        }
    }

    /// Judges an endpoint: admin state, its region, its override, then its health.
    fn endpoint_verdict(&self, endpoint: usize) -> Verdict {
        let input = &self.inputs.endpoints[endpoint];
        if input.admin == AdminState::Disabled {
            return Verdict {
                usable: false,
                reason: Reason::AdminDisabled,
            };
        }
        let region = self.region_verdict(input.region);
        if !region.usable {
            return region;
        }
        if let Some(o) = input
            .admin_override
            .as_ref()
            .filter(|o| o.is_active(self.now_ms))
        {
            return Verdict {
                usable: o.action == OverrideAction::ForceUp,
                reason: Reason::EndpointOverride(o.action),
            };
        }
        match input.health.status {
            HealthStatus::Up => region,
            HealthStatus::Down => Verdict {
                usable: false,
                reason: Reason::EndpointDown,
            },
            HealthStatus::Unknown => self.unknown(),
        }
    }

    /// What unknown health means for this record.
    fn unknown(&self) -> Verdict {
        match self.record.unknown_as {
            UnknownAs::Up => Verdict {
                usable: true,
                reason: Reason::UnknownAsUp,
            },
            UnknownAs::Down => Verdict {
                usable: false,
                reason: Reason::UnknownAsDown,
            },
        }
    }

    /// Nothing available: apply `when_all_down`.
    fn all_down(&mut self) -> Outcome {
        self.degraded = true;
        match &self.record.when_all_down {
            WhenAllDown::FailOpen => {
                let room = usize::from(self.record.max_answers);
                for &endpoint in &self.record.all_endpoints {
                    if self.answers.len() >= room {
                        break;
                    }
                    if self.operator_allows(endpoint) {
                        self.answers.push(endpoint);
                    }
                }
                let n = self.answers.len();
                self.tracer.note(RECORD, || {
                    format!(
                        "nothing available; fail_open answered {n} endpoint(s) not taken out by \
                         an operator{}",
                        if self.record.split_brain_guard {
                            " or a lapsed lease"
                        } else {
                            ""
                        }
                    )
                });
                Outcome::AllDownOpen
            }
            WhenAllDown::FailClosed => {
                self.tracer.note(RECORD, || {
                    "nothing available; fail_closed: no answer".to_string()
                });
                Outcome::AllDownClosed
            }
            WhenAllDown::Fallback(target) => {
                self.tracer.note(RECORD, || {
                    format!("nothing available; fallback to {target}")
                });
                Outcome::Fallback
            }
        }
    }

    /// For `fail_open`: not disabled, drained or forced down, and (guarded records) inside
    /// its region's lease unless the region is forced up.
    fn operator_allows(&self, endpoint: usize) -> bool {
        let input = &self.inputs.endpoints[endpoint];
        let region = &self.inputs.regions[input.region];
        let active = |o: &&crate::policy::inputs::OverrideInput| o.is_active(self.now_ms);
        if input.admin == AdminState::Disabled {
            return false;
        }
        if let Some(o) = input.admin_override.as_ref().filter(active) {
            if o.action != OverrideAction::ForceUp {
                return false;
            }
        }
        match region.admin_override.as_ref().filter(active) {
            Some(o) if o.action == OverrideAction::ForceUp => true,
            Some(_) => false,
            None => {
                !self.record.split_brain_guard
                    || region
                        .lease_expires_at
                        .is_some_and(|expiry| expiry > self.now_ms)
            }
        }
    }

    /// The TTL: the record's, lowered while degraded, capped by the lease left on every
    /// answered region of a guarded record.
    fn ttl(&mut self, outcome: Outcome) -> u32 {
        let mut ttl = self.record.ttl;
        if outcome != Outcome::Healthy {
            if let Some(failover_ttl) = self.record.failover_ttl {
                if failover_ttl < ttl {
                    ttl = failover_ttl;
                    self.tracer.note(RECORD, || {
                        format!("degraded: ttl lowered to failover_ttl {ttl}")
                    });
                }
            }
        }
        if self.record.split_brain_guard {
            for endpoint in self.answers.iter() {
                let region = &self.inputs.regions[self.inputs.endpoints[endpoint].region];
                let forced_up = region.admin_override.as_ref().is_some_and(|o| {
                    o.is_active(self.now_ms) && o.action == OverrideAction::ForceUp
                });
                if forced_up {
                    continue;
                }
                let left_s = region
                    .lease_expires_at
                    .map_or(0, |expiry| expiry.saturating_sub(self.now_ms) / 1000);
                let left_s = u32::try_from(left_s).unwrap_or(u32::MAX);
                if left_s < ttl {
                    ttl = left_s;
                    let id = region.id.as_str();
                    self.tracer.note(RECORD, || {
                        format!("ttl capped to {left_s}s: lease left on region {id}")
                    });
                }
            }
        }
        ttl
    }
}

/// Child node indexes of a (child, bias) list, without allocating.
struct ChildIds {
    /// Node indexes.
    ids: [usize; crate::policy::compile::MAX_CHILDREN],
    /// How many.
    len: usize,
}

impl ChildIds {
    /// The node indexes of `pairs` (at most `MAX_CHILDREN`, as compile guarantees).
    fn from_pairs(pairs: &[(usize, f64)]) -> ChildIds {
        let mut ids = [0usize; crate::policy::compile::MAX_CHILDREN];
        let len = pairs.len().min(ids.len());
        for (slot, &(child, _)) in ids.iter_mut().zip(pairs) {
            *slot = child;
        }
        ChildIds { ids, len }
    }

    /// The indexes.
    fn as_slice(&self) -> &[usize] {
        &self.ids[..self.len]
    }
}

/// The index `draw` picks among `weights` in proportion to them (`None` when they sum to 0):
/// the position whose cumulative range holds `draw` modulo the total.
fn cumulative_pick(weights: impl Iterator<Item = u32> + Clone, draw: u64) -> Option<usize> {
    let total: u64 = weights.clone().map(u64::from).sum();
    if total == 0 {
        return None;
    }
    let mut point = draw % total;
    for (position, weight) in weights.enumerate() {
        let weight = u64::from(weight);
        if point < weight {
            return Some(position);
        }
        point -= weight;
    }
    None
}
