//! `simulate_write_rate`: the pure core (`Schedule`, `Threshold`, `Outbox`) driven over
//! simulated time, counting the writes the store would receive. It answers "how many Raft
//! writes per second do N checks × V vantages at interval I cost?" without a runtime or a
//! network, fast enough for a debug-build test.

use std::collections::BTreeMap;

use gslb_model::model::ObservationReport;

use crate::outbox::{Outbox, OutboxConfig};
use crate::schedule::Schedule;
use crate::threshold::{Threshold, Verdict};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Checks (one per endpoint).
    pub checks: usize,
    /// Vantages, each running every check.
    pub vantages: usize,
    /// Interval of every check, ms.
    pub interval_ms: u64,
    /// Rise and fall of every check.
    pub rise: u32,
    /// Fall of every check.
    pub fall: u32,
    /// Simulated time before counting starts (first reports, first digest), ms.
    pub warmup_ms: u64,
    /// Simulated time counted, ms.
    pub measure_ms: u64,
    /// Every `flap_one_in`-th check is down for 20 s of every 60 s (0: all healthy).
    pub flap_one_in: usize,
    /// Batching.
    pub outbox: OutboxConfig,
}

impl Scenario {
    /// The scenario: 1,000 endpoints × 3 vantages at a 1 s interval, all healthy.
    pub fn steady() -> Scenario {
        Scenario {
            checks: 1_000,
            vantages: 3,
            interval_ms: 1_000,
            rise: 2,
            fall: 3,
            warmup_ms: 30_000,
            measure_ms: 120_000,
            flap_one_in: 0,
            outbox: OutboxConfig::default(),
        }
    }
}

/// What the store would have received during the measured time.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRate {
    /// Writes (one per batch) counted.
    pub writes: u64,
    /// Observation entries in them.
    pub entries: u64,
    /// Check attempts run in the same time.
    pub attempts: u64,
    /// Writes per second, all vantages together.
    pub writes_per_second: f64,
    /// Entries per second, all vantages together.
    pub entries_per_second: f64,
}

/// Runs `scenario` on a 1 ms simulated clock.
pub fn simulate_write_rate(scenario: &Scenario) -> WriteRate {
    struct Vantage {
        schedule: Schedule,
        thresholds: Vec<Threshold>,
        outbox: Outbox,
    }
    let ids: Vec<String> = (0..scenario.checks)
        .map(|index| format!("ep-{index}"))
        .collect();
    let index_of: BTreeMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(index, id)| (id.as_str(), index))
        .collect();
    let mut vantages: Vec<Vantage> = (0..scenario.vantages)
        .map(|vantage| {
            let mut schedule = Schedule::new(&format!("vantage-{vantage}"));
            for id in &ids {
                schedule.upsert(id, scenario.interval_ms, 0);
            }
            Vantage {
                schedule,
                thresholds: vec![Threshold::new(scenario.rise, scenario.fall); scenario.checks],
                outbox: Outbox::new(scenario.outbox.clone(), 0),
            }
        })
        .collect();
    let healthy = |check: usize, now: u64| {
        if scenario.flap_one_in == 0 || !check.is_multiple_of(scenario.flap_one_in) {
            return true;
        }
        let phase = (now + check as u64 * 997) % 60_000;
        phase >= 20_000
    };
    let end = scenario.warmup_ms + scenario.measure_ms;
    let mut result = WriteRate {
        writes: 0,
        entries: 0,
        attempts: 0,
        writes_per_second: 0.0,
        entries_per_second: 0.0,
    };
    for now in 0..end {
        let counting = now >= scenario.warmup_ms;
        for vantage in &mut vantages {
            if vantage.schedule.next_due().is_some_and(|due| due <= now) {
                for id in vantage.schedule.pop_due(now) {
                    let check = index_of[id.as_str()];
                    let threshold = &mut vantage.thresholds[check];
                    let ok = healthy(check, now);
                    result.attempts += u64::from(counting);
                    let transition = threshold.observe(ok);
                    if threshold.verdict() == Verdict::Unknown {
                        continue;
                    }
                    let report = ObservationReport {
                        check: id,
                        up: threshold.verdict() == Verdict::Up,
                        rtt_us: Some(1_000),
                        error: (!ok).then(|| "simulated failure".to_string()),
                        capacity: None,
                    };
                    if transition.is_some() {
                        vantage.outbox.transition(report, now);
                    } else {
                        vantage.outbox.update(report);
                    }
                }
            }
            if let Some(batch) = vantage.outbox.poll(now) {
                if counting {
                    result.writes += 1;
                    result.entries += batch.len() as u64;
                }
                vantage.outbox.on_sent();
            }
        }
    }
    let seconds = scenario.measure_ms as f64 / 1000.0;
    result.writes_per_second = result.writes as f64 / seconds;
    result.entries_per_second = result.entries as f64 / seconds;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_steady_fleet_writes_one_digest_per_vantage_per_interval() {
        let scenario = Scenario {
            checks: 50,
            measure_ms: 60_000,
            ..Scenario::steady()
        };
        let rate = simulate_write_rate(&scenario);
        // 3 vantages × one digest per 10 s over 60 s.
        assert_eq!(rate.writes, 18, "{rate:?}");
        assert_eq!(rate.entries, 18 * 50, "{rate:?}");
    }
}
