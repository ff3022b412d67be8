//! `LatencyHistogram`: a fixed-bucket latency histogram that any thread records into with a
//! few relaxed atomic adds (no lock, no allocation), and its `LatencySnapshot` as a scrape
//! reads it. The store times each step of the write path with it (`gslb_write_stage_seconds`),
//! a DNS node its plan swaps and lags (`gslb_dns_plan_*_seconds`); `/metrics` renders them.
//!
//! Buckets are fixed (`LATENCY_BUCKETS_MICROS`, 50 µs .. 10 s), fine below 50 ms where the
//! write-path targets are, so p50/p99 read from a histogram land within a narrow bucket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (microseconds) of the buckets; a last `+Inf` bucket is the count.
pub const LATENCY_BUCKETS_MICROS: [u64; 27] = [
    50, 100, 250, 500, 750, 1_000, 1_500, 2_000, 3_000, 4_000, 5_000, 7_500, 10_000, 15_000,
    20_000, 25_000, 35_000, 50_000, 75_000, 100_000, 150_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000,
];

/// A count per bucket (not cumulative), the sum and the count.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    buckets: [AtomicU64; LATENCY_BUCKETS_MICROS.len()],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

/// A histogram as a scrape reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencySnapshot {
    /// (upper bound in microseconds, observations at most that long), cumulative.
    pub buckets: Vec<(u64, u64)>,
    /// Sum of every observation, microseconds.
    pub sum_micros: u64,
    /// Number of observations.
    pub count: u64,
}

impl LatencyHistogram {
    /// Records one observation of `took`.
    pub fn observe(&self, took: Duration) {
        let micros = took.as_micros().min(u128::from(u64::MAX)) as u64;
        if let Some(slot) = LATENCY_BUCKETS_MICROS
            .iter()
            .position(|&bound| micros <= bound)
        {
            self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// The histogram now, buckets cumulative.
    pub fn snapshot(&self) -> LatencySnapshot {
        let mut cumulative = 0;
        let buckets = LATENCY_BUCKETS_MICROS
            .iter()
            .zip(&self.buckets)
            .map(|(&bound, count)| {
                cumulative += count.load(Ordering::Relaxed);
                (bound, cumulative)
            })
            .collect();
        LatencySnapshot {
            buckets,
            sum_micros: self.sum_micros.load(Ordering::Relaxed),
            count: self.count.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An observation lands in the first bucket at or above it, the snapshot is cumulative,
    /// and one past the last bound counts only in the total (`+Inf`).
    #[test]
    fn observations_land_in_their_buckets() {
        let histogram = LatencyHistogram::default();
        histogram.observe(Duration::from_micros(10));
        histogram.observe(Duration::from_micros(900));
        histogram.observe(Duration::from_millis(3));
        histogram.observe(Duration::from_secs(11));
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 4);
        assert_eq!(snapshot.sum_micros, 10 + 900 + 3_000 + 11_000_000);
        let at = |bound: u64| {
            snapshot
                .buckets
                .iter()
                .find(|(b, _)| *b == bound)
                .unwrap()
                .1
        };
        assert_eq!(at(50), 1);
        assert_eq!(at(750), 1);
        assert_eq!(at(1_000), 2);
        assert_eq!(at(3_000), 3);
        assert_eq!(at(10_000_000), 3);
        assert_eq!(snapshot.buckets.len(), LATENCY_BUCKETS_MICROS.len());
    }
}
