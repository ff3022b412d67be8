//! `Outbox`: what a vantage owes the store, and when to send it. Pure: time in, batches out.
//!
//! Only two things are written: **transitions** (a check's verdict changed after rise/fall,
//! or its live capacity moved — the runner decides, `capacity_moved` tells), sent after a short `flush_delay_ms` so that a burst of flips becomes one write, and the
//! **digest** every `digest_interval_ms`: every check's current verdict with its last RTT,
//! error and capacity, which also keeps this vantage's votes fresh in the store. Steady state
//! is therefore one write per vantage per digest interval, whatever the number of checks.
//!
//! When the sink fails the batch goes back into `pending`, which holds at most one entry per
//! check (a newer entry replaces an older one), so the buffer is bounded by the number of
//! checks; retries back off exponentially with jitter up to `backoff_max_ms`, and the first
//! success after an outage sends one coalesced batch — no flood.

use std::collections::BTreeMap;

use gslb_model::model::health::{ObservationReport, REPORT_INTERVAL_MS};

/// Timing of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxConfig {
    /// Time between digests, ms (the store's freshness window assumes `REPORT_INTERVAL_MS`).
    pub digest_interval_ms: u64,
    /// How long a transition waits for others to join its batch, ms.
    pub flush_delay_ms: u64,
    /// First retry delay after a failed send, ms.
    pub backoff_min_ms: u64,
    /// Longest retry delay, ms.
    pub backoff_max_ms: u64,
    /// Most entries in one batch; the rest follow in the next write.
    pub max_batch: usize,
}

impl Default for OutboxConfig {
    fn default() -> OutboxConfig {
        OutboxConfig {
            digest_interval_ms: REPORT_INTERVAL_MS,
            flush_delay_ms: 200,
            backoff_min_ms: 500,
            backoff_max_ms: 30_000,
            max_batch: 10_000,
        }
    }
}

/// Pending observations of one vantage.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// Timing.
    config: OutboxConfig,
    /// The latest known state per check (only checks with a verdict); digests send it all.
    current: BTreeMap<String, ObservationReport>,
    /// Entries waiting to be sent, at most one per check.
    pending: BTreeMap<String, ObservationReport>,
    /// When the oldest pending transition arrived.
    pending_since: Option<u64>,
    /// When the next digest is due.
    next_digest_at: u64,
    /// True while a batch is out (between `poll` and `on_sent`/`on_failed`).
    in_flight: bool,
    /// Consecutive failed sends.
    failures: u32,
    /// No send before this time (backoff).
    retry_at: Option<u64>,
    /// Jitter state.
    random: u64,
    /// Entries dropped because the sink refused them for good.
    dropped: u64,
}

impl Outbox {
    /// An empty outbox whose first digest is due one interval after `now`.
    pub fn new(config: OutboxConfig, now: u64) -> Outbox {
        Outbox {
            next_digest_at: now + config.digest_interval_ms,
            config,
            current: BTreeMap::new(),
            pending: BTreeMap::new(),
            pending_since: None,
            in_flight: false,
            failures: 0,
            retry_at: None,
            random: 0x2545_f491_4f6c_dd1d,
            dropped: 0,
        }
    }

    /// Updates a check's current state without asking for a write (a new RTT, a new error
    /// text under the same verdict); the next digest carries it.
    pub fn update(&mut self, report: ObservationReport) {
        self.current.insert(report.check.clone(), report);
    }

    /// Records a transition: it is sent after `flush_delay_ms` (with whatever else arrived).
    pub fn transition(&mut self, report: ObservationReport, now: u64) {
        self.current.insert(report.check.clone(), report.clone());
        self.pending.insert(report.check.clone(), report);
        self.pending_since.get_or_insert(now);
    }

    /// Whether `report` carries another capacity than the check's last report (a check that
    /// never reported has none to differ from).
    pub fn capacity_moved(&self, report: &ObservationReport) -> bool {
        self.current
            .get(&report.check)
            .is_some_and(|last| last.capacity != report.capacity)
    }

    /// Forgets a check that no longer exists.
    pub fn forget(&mut self, check: &str) {
        self.current.remove(check);
        self.pending.remove(check);
        if self.pending.is_empty() {
            self.pending_since = None;
        }
    }

    /// Entries waiting to be sent.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Consecutive failed sends so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Entries dropped because the sink refused them for good.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The batch to send now, if one is due; the caller must answer with `on_sent` or
    /// `on_failed` before the next batch is handed out.
    pub fn poll(&mut self, now: u64) -> Option<Vec<ObservationReport>> {
        if self.in_flight || self.retry_at.is_some_and(|at| now < at) {
            return None;
        }
        let digest = now >= self.next_digest_at;
        if digest {
            for (check, report) in &self.current {
                self.pending.insert(check.clone(), report.clone());
            }
            self.pending_since.get_or_insert(now);
            self.next_digest_at = now + self.config.digest_interval_ms;
        }
        let retrying = self.retry_at.is_some();
        let flush_due = self
            .pending_since
            .is_some_and(|since| now >= since + self.config.flush_delay_ms);
        if self.pending.is_empty() || !(flush_due || retrying || digest) {
            return None;
        }
        let mut batch = Vec::with_capacity(self.pending.len().min(self.config.max_batch));
        while batch.len() < self.config.max_batch {
            let Some((_, report)) = self.pending.pop_first() else {
                break;
            };
            batch.push(report);
        }
        self.pending_since = if self.pending.is_empty() {
            None
        } else {
            Some(now.saturating_sub(self.config.flush_delay_ms))
        };
        self.in_flight = true;
        Some(batch)
    }

    /// The sink took the batch.
    pub fn on_sent(&mut self) {
        self.in_flight = false;
        self.failures = 0;
        self.retry_at = None;
    }

    /// The sink failed. A `retryable` failure puts the batch back (newer entries win) and
    /// backs off; a permanent one (the store rejected it) drops it — the next digest
    /// re-sends what still matters.
    pub fn on_failed(&mut self, batch: Vec<ObservationReport>, retryable: bool, now: u64) {
        self.in_flight = false;
        if !retryable {
            self.dropped += batch.len() as u64;
            self.retry_at = None;
            return;
        }
        for report in batch {
            self.pending.entry(report.check.clone()).or_insert(report);
        }
        self.pending_since.get_or_insert(now);
        self.failures = self.failures.saturating_add(1);
        let exponent = self.failures.saturating_sub(1).min(20);
        let base = self
            .config
            .backoff_min_ms
            .saturating_mul(1 << exponent)
            .min(self.config.backoff_max_ms);
        // ±20 % jitter so that vantages recovering together do not retry in lockstep.
        self.random ^= self.random << 13;
        self.random ^= self.random >> 7;
        self.random ^= self.random << 17;
        let span = base / 5;
        let jitter = if span == 0 {
            0
        } else {
            (self.random % (2 * span + 1)) as i64 - span as i64
        };
        self.retry_at = Some(now + base.saturating_add_signed(jitter));
    }

    /// The next time `poll` may return something (for the runner's sleep).
    pub fn next_wake(&self) -> u64 {
        let mut wake = self.next_digest_at;
        if let Some(since) = self.pending_since {
            wake = wake.min(since + self.config.flush_delay_ms);
        }
        if let Some(retry) = self.retry_at {
            wake = wake.max(retry);
        }
        wake
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(check: &str, up: bool) -> ObservationReport {
        ObservationReport {
            check: check.to_string(),
            up,
            rtt_us: Some(10),
            error: None,
            capacity: None,
        }
    }

    fn checks(batch: &[ObservationReport]) -> Vec<(&str, bool)> {
        batch
            .iter()
            .map(|report| (report.check.as_str(), report.up))
            .collect()
    }

    #[test]
    fn transitions_are_batched_after_the_flush_delay() {
        let mut outbox = Outbox::new(OutboxConfig::default(), 0);
        outbox.transition(report("a", true), 1_000);
        outbox.transition(report("b", false), 1_100);
        assert!(outbox.poll(1_150).is_none());
        let batch = outbox.poll(1_200).unwrap();
        assert_eq!(checks(&batch), [("a", true), ("b", false)]);
        outbox.on_sent();
        assert!(outbox.poll(1_300).is_none());
    }

    #[test]
    fn the_digest_carries_every_known_check() {
        let mut outbox = Outbox::new(OutboxConfig::default(), 0);
        outbox.update(report("a", true));
        outbox.update(report("b", true));
        assert!(outbox.poll(9_999).is_none());
        let batch = outbox.poll(10_000).unwrap();
        assert_eq!(checks(&batch), [("a", true), ("b", true)]);
        outbox.on_sent();
        assert!(outbox.poll(15_000).is_none());
        assert_eq!(outbox.poll(20_000).unwrap().len(), 2);
    }

    #[test]
    fn failures_back_off_and_coalesce() {
        let mut outbox = Outbox::new(OutboxConfig::default(), 0);
        outbox.transition(report("a", true), 0);
        let mut now = 200;
        let mut delays = Vec::new();
        for _ in 0..8 {
            let batch = outbox.poll(now).expect("a batch is due");
            outbox.on_failed(batch, true, now);
            // Meanwhile "a" flips back and forth: the buffer keeps one entry per check.
            outbox.transition(report("a", now % 2 == 0), now);
            let wake = outbox.next_wake();
            assert!(
                outbox.poll(wake - 1).is_none(),
                "no send before the backoff ends"
            );
            delays.push(wake - now);
            now = wake;
        }
        assert_eq!(outbox.pending_len(), 1);
        for (attempt, delay) in delays.iter().enumerate() {
            let expected = (500u64 << attempt).min(30_000);
            let range = expected * 4 / 5..=expected * 6 / 5;
            assert!(range.contains(delay), "{delays:?}");
        }
        let batch = outbox.poll(now).unwrap();
        assert_eq!(
            batch.len(),
            1,
            "the first success after an outage is one entry per check"
        );
        outbox.on_sent();
        assert_eq!(outbox.failures(), 0);
    }

    #[test]
    fn a_rejected_batch_is_dropped_not_retried() {
        let mut outbox = Outbox::new(OutboxConfig::default(), 0);
        outbox.transition(report("a", true), 0);
        let batch = outbox.poll(500).unwrap();
        outbox.on_failed(batch, false, 500);
        assert_eq!(outbox.dropped(), 1);
        assert!(outbox.poll(1_000).is_none());
        // The digest re-sends the current state.
        assert_eq!(outbox.poll(10_000).unwrap().len(), 1);
    }
}
