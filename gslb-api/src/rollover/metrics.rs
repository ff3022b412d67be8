//! The rollover series of `/metrics`, sampled from the replicated state at each scrape (so
//! every node, leader or not, reports the same):
//! - `gslb_dnssec_rollover_step{zone,kind,step}`: 1 for the last step taken by the
//!   rollover in progress of a zone (`presign`, `publish`, `ds_seen`, `activate`,
//!   `unpublish`; kind `csk`, `ksk`, `zsk`, `algorithm`, `split` or `combine`), nothing
//!   when none;
//! - `gslb_dnssec_rollover_steps_total{zone}`: rollover steps taken since signing began;
//! - `gslb_dnssec_next_rollover_step_timestamp_seconds{zone,kind,step}`: when the next step
//!   is safe (or, for a scheduled `publish`, due); absent while waiting for the parent or
//!   when rollovers are on demand only;
//! - `gslb_dnssec_awaiting_parent{zone,kind}`: 1 while a successor waits for its DS at the
//!   parent.

use gslb_model::model::rollover::NextStep;
use gslb_model::model::State;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::rollover::{next_all, schedule};

/// Labels of a rollover step.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabels {
    /// The zone's apex.
    pub zone: String,
    /// `csk`, `ksk`, `zsk`, `algorithm`, `split` or `combine`.
    pub kind: String,
    /// `presign`, `publish`, `ds_seen`, `activate`, `unpublish` or `remove`.
    pub step: String,
}

/// Labels naming a zone.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ZoneLabels {
    /// The zone's apex.
    pub zone: String,
}

/// Labels naming a zone and the kind of key that rolls.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// The zone's apex.
    pub zone: String,
    /// `csk`, `ksk` or `zsk`.
    pub kind: String,
}

/// The rollover series.
#[derive(Debug, Default)]
pub struct RolloverMetrics {
    step: Family<StepLabels, Gauge>,
    steps_taken: Family<ZoneLabels, Counter>,
    next_at: Family<StepLabels, Gauge>,
    awaiting_parent: Family<KindLabels, Gauge>,
}

impl RolloverMetrics {
    /// Registers the series in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "gslb_dnssec_rollover_step",
            "1 for the last step taken by a zone's key rollover in progress",
            self.step.clone(),
        );
        registry.register(
            "gslb_dnssec_rollover_steps",
            "key rollover steps taken since the zone was signed",
            self.steps_taken.clone(),
        );
        registry.register(
            "gslb_dnssec_next_rollover_step_timestamp_seconds",
            "unix time from which a zone's next rollover step is safe (a scheduled publish: due)",
            self.next_at.clone(),
        );
        registry.register(
            "gslb_dnssec_awaiting_parent",
            "1 while a new CSK/KSK waits for its DS at the parent",
            self.awaiting_parent.clone(),
        );
    }

    /// Samples `state`.
    pub fn refresh(&self, state: &State) {
        self.step.clear();
        self.next_at.clear();
        self.awaiting_parent.clear();
        for apex in state.dnssec.keys() {
            let zone = apex.to_string();
            let schedule = schedule(state, apex);
            for rollover in [&schedule.rollover, &schedule.beside].into_iter().flatten() {
                self.step
                    .get_or_create(&StepLabels {
                        zone: zone.clone(),
                        kind: rollover.kind.name().to_string(),
                        step: rollover.last_step.name().to_string(),
                    })
                    .set(1);
            }
            self.steps_taken
                .get_or_create(&ZoneLabels { zone: zone.clone() })
                .inner()
                .store(schedule.steps_taken, std::sync::atomic::Ordering::Relaxed);
            for next in next_all(state, apex).into_iter().flatten() {
                match next {
                    NextStep::At { kind, step, at } => {
                        self.next_at
                            .get_or_create(&StepLabels {
                                zone: zone.clone(),
                                kind: kind.name().to_string(),
                                step: step.name().to_string(),
                            })
                            .set(i64::try_from(at / 1000).unwrap_or(i64::MAX));
                    }
                    NextStep::AwaitingParent { kind, .. } => {
                        self.awaiting_parent
                            .get_or_create(&KindLabels {
                                zone: zone.clone(),
                                kind: kind.name().to_string(),
                            })
                            .set(1);
                    }
                    NextStep::OnDemand => {}
                }
            }
        }
    }
}
