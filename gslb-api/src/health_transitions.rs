//! Health transitions as Prometheus counters: `gslb_check_transitions_total`,
//! `gslb_endpoint_transitions_total` and `gslb_region_transitions_total`, by id, `from` and
//! `to` status.
//!
//! The status gauges of `/metrics` are sampled at scrape time, so a check that flaps between
//! two scrapes leaves no trace in them. `follow_transitions` derives health from this node's
//! replica on every new state version and at the instant the next vote goes stale (health
//! changes without a new version only that way), at the node's health clock (`ApiContext::health_now`, what its DNS answers use),
//! and counts every status change since the previous derivation. The first derivation after
//! start is the baseline and counts nothing. It holds the node weakly and ends with it.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use gslb_model::model::health::freshness_window_ms;
use gslb_model::model::{HealthStatus, HealthView, State as StoreState};
use gslb_store::raft::WeakNodeHandle;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// The longest wait without a new version before health is derived again, whatever
/// `next_staleness` says (a backstop; health changes without a version only as votes age).
const BACKSTOP: Duration = Duration::from_secs(5);

/// The first instant after `now` (unix millis) at which a stored vote stops being fresh, so
/// that a derivation then sees the change the passing of time makes. `None` when none will.
pub fn next_staleness(state: &StoreState, now: u64) -> Option<u64> {
    state
        .health
        .iter()
        .filter_map(|(id, votes)| {
            let window = freshness_window_ms(state.checks.get(id)?);
            votes
                .values()
                .map(|vote| vote.reported_at.saturating_add(window).saturating_add(1))
                .filter(|&stale_at| stale_at > now)
                .min()
        })
        .min()
}

/// Labels of one transition.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransitionLabels {
    /// The check, endpoint or region id.
    pub id: String,
    /// The status before.
    pub from: String,
    /// The status after.
    pub to: String,
}

/// The three transition counters.
#[derive(Debug, Default)]
pub struct TransitionCounters {
    checks: Family<TransitionLabels, Counter>,
    endpoints: Family<TransitionLabels, Counter>,
    regions: Family<TransitionLabels, Counter>,
}

/// The statuses of the previous derivation.
#[derive(Debug, Default)]
pub struct LastStatuses {
    checks: BTreeMap<String, HealthStatus>,
    endpoints: BTreeMap<String, HealthStatus>,
    regions: BTreeMap<String, HealthStatus>,
    /// Whether a derivation was seen (the first one only sets the baseline).
    seen: bool,
}

/// `up`, `down` or `unknown`.
pub fn status_word(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::Up => "up",
        HealthStatus::Down => "down",
        HealthStatus::Unknown => "unknown",
    }
}

impl TransitionCounters {
    /// Registers the counters.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "gslb_check_transitions",
            "changes of a check's derived status seen by this node",
            self.checks.clone(),
        );
        registry.register(
            "gslb_endpoint_transitions",
            "changes of an endpoint's derived status seen by this node",
            self.endpoints.clone(),
        );
        registry.register(
            "gslb_region_transitions",
            "changes of a region's derived status seen by this node",
            self.regions.clone(),
        );
    }

    /// Counts what changed between `last` and `view`, and makes `view` the new `last`. An id
    /// seen for the first time after the baseline counts as a change from `unknown`.
    pub fn count(&self, last: &mut LastStatuses, view: &HealthView) {
        let baseline = !last.seen;
        last.seen = true;
        let diff = |family: &Family<TransitionLabels, Counter>,
                    previous: &mut BTreeMap<String, HealthStatus>,
                    now: Vec<(&String, HealthStatus)>| {
            let mut next = BTreeMap::new();
            for (id, status) in now {
                let before = previous.get(id).copied().unwrap_or(HealthStatus::Unknown);
                if !baseline && before != status {
                    family
                        .get_or_create(&TransitionLabels {
                            id: id.clone(),
                            from: status_word(before).to_string(),
                            to: status_word(status).to_string(),
                        })
                        .inc();
                }
                next.insert(id.clone(), status);
            }
            *previous = next;
        };
        diff(
            &self.checks,
            &mut last.checks,
            view.checks.iter().map(|(id, h)| (id, h.status)).collect(),
        );
        diff(
            &self.endpoints,
            &mut last.endpoints,
            view.endpoints
                .iter()
                .map(|(id, h)| (id, h.status))
                .collect(),
        );
        diff(
            &self.regions,
            &mut last.regions,
            view.regions.iter().map(|(id, h)| (id, h.status)).collect(),
        );
    }
}

/// Counts `node`'s health transitions into `counters` until the node or the counters are
/// gone. Takes the counters, not `ApiMetrics`, so this module does not depend on `metrics`
/// (which reads `TransitionCounters` from here).
pub async fn follow_transitions(node: WeakNodeHandle, counters: Weak<TransitionCounters>) {
    let Some(mut watch) = node.upgrade().map(|node| node.state_watch()) else {
        return;
    };
    let mut last = LastStatuses::default();
    loop {
        let (Some(node), Some(counters)) = (node.upgrade(), counters.upgrade()) else {
            return;
        };
        let state = Arc::clone(&watch.borrow_and_update());
        let now = crate::health_now(&node);
        let view = state.health_view(now);
        counters.count(&mut last, &view);
        let wake = next_staleness(&state, now)
            .map(|at| Duration::from_millis(at - now))
            .unwrap_or(BACKSTOP)
            .min(BACKSTOP);
        drop((node, counters, state));
        tokio::select! {
            changed = watch.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(wake) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gslb_model::model::health::CheckHealth;
    use prometheus_client::encoding::text::encode;

    fn view(checks: &[(&str, HealthStatus)]) -> HealthView {
        let mut view = HealthView::default();
        for (id, status) in checks {
            view.checks.insert(
                id.to_string(),
                CheckHealth {
                    status: *status,
                    ..CheckHealth::default()
                },
            );
        }
        view
    }

    fn rendered(counters: &TransitionCounters) -> String {
        let mut registry = Registry::default();
        counters.register(&mut registry);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        text
    }

    #[test]
    fn the_next_wake_is_when_the_oldest_fresh_vote_goes_stale() {
        let state: StoreState = serde_json::from_value(serde_json::json!({
            "version": 3, "zones": {},
            "checks": {
                "ext": {"id": "ext", "subject": {"kind": "endpoint", "id": "web"},
                        "kind": {"type": "external", "ttl_ms": 3000}}
            },
            "health": {
                "ext": {
                    "a": {"up": true, "since": 1000, "reported_at": 1000},
                    "b": {"up": false, "since": 1500, "reported_at": 2000}
                },
                "deleted-check": {"x": {"up": true, "since": 0, "reported_at": 2500}}
            }
        }))
        .unwrap();
        assert_eq!(
            next_staleness(&state, 1200),
            Some(4001),
            "a's vote is stale after 4000"
        );
        assert_eq!(next_staleness(&state, 4001), Some(5001), "then b's");
        assert_eq!(
            next_staleness(&state, 5001),
            None,
            "nothing left to go stale"
        );
    }

    #[test]
    fn every_change_counts_once_and_the_baseline_counts_nothing() {
        use HealthStatus::{Down, Unknown, Up};
        let counters = TransitionCounters::default();
        let mut last = LastStatuses::default();
        counters.count(&mut last, &view(&[("web", Up), ("db", Up)]));
        counters.count(&mut last, &view(&[("web", Up), ("db", Up)]));
        assert!(!rendered(&counters).contains("gslb_check_transitions_total{"));
        counters.count(&mut last, &view(&[("web", Down), ("db", Up)]));
        counters.count(&mut last, &view(&[("web", Up), ("db", Up)]));
        counters.count(
            &mut last,
            &view(&[("web", Down), ("db", Up), ("new", Unknown)]),
        );
        counters.count(&mut last, &view(&[("web", Down), ("new", Up)]));
        let text = rendered(&counters);
        let count = |id: &str, from: &str, to: &str| {
            let series =
                format!("gslb_check_transitions_total{{id=\"{id}\",from=\"{from}\",to=\"{to}\"}} ");
            text.lines()
                .find_map(|line| line.strip_prefix(series.as_str()))
                .map(|value| value.parse::<u64>().unwrap())
        };
        assert_eq!(count("web", "up", "down"), Some(2), "{text}");
        assert_eq!(count("web", "down", "up"), Some(1), "{text}");
        assert_eq!(
            count("db", "up", "down"),
            None,
            "a steady check never counts"
        );
        assert_eq!(count("new", "unknown", "up"), Some(1), "{text}");
    }
}
