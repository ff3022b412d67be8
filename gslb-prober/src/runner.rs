//! `spawn_prober`: the IO shell around the pure core. One tokio task per vantage owns the
//! `Schedule`, a `Threshold` per check and the `Outbox`; attempts run as tasks (at most
//! `max_in_flight` at once, never two of one check), and at most one batch is out to the
//! sink at a time. A failing sink only delays reporting: probing goes on, the outbox keeps
//! one entry per check, and retries back off.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use gslb_model::model::health::MAX_ERROR_LEN;
use gslb_model::model::ObservationReport;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::exec::{execute, Attempt, HttpClient};
use crate::outbox::{Outbox, OutboxConfig};
use crate::probe::Probe;
use crate::schedule::Schedule;
use crate::sink::{ObservationSink, SinkError};
use crate::threshold::{Threshold, Verdict};

/// How a prober runs.
#[derive(Debug, Clone)]
pub struct ProberConfig {
    /// The vantage name (the region the prober runs in).
    pub vantage: String,
    /// Batching and backoff.
    pub outbox: OutboxConfig,
    /// Most attempts running at once; a check due while the limit is reached waits for its
    /// next turn.
    pub max_in_flight: usize,
    /// How long one send to the sink may take before it counts as unavailable, ms.
    pub send_timeout_ms: u64,
}

impl ProberConfig {
    /// Defaults for `vantage`.
    pub fn new(vantage: impl Into<String>) -> ProberConfig {
        ProberConfig {
            vantage: vantage.into(),
            outbox: OutboxConfig::default(),
            max_in_flight: 1024,
            send_timeout_ms: 10_000,
        }
    }
}

/// Controls a running prober.
#[derive(Debug)]
pub struct ProberHandle {
    /// The checks to run; replaced whenever the state changes.
    probes: watch::Sender<Vec<Probe>>,
    /// Set to true to stop.
    shutdown: watch::Sender<bool>,
    /// The prober task.
    task: JoinHandle<()>,
}

impl ProberHandle {
    /// Replaces the checks the prober runs (new ones start within one interval, removed ones
    /// stop and are forgotten, edited intervals and thresholds apply from the next run).
    pub fn set_probes(&self, probes: Vec<Probe>) {
        self.probes.send_replace(probes);
    }

    /// Stops the prober and waits for it; attempts in flight are abandoned.
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        let _ = self.task.await;
    }
}

/// Starts a prober for `config.vantage` running `probes`, reporting to `sink`.
pub fn spawn_prober<S: ObservationSink>(
    config: ProberConfig,
    probes: Vec<Probe>,
    sink: Arc<S>,
    client: HttpClient,
) -> ProberHandle {
    let (probes_tx, probes_rx) = watch::channel(probes);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let task = tokio::spawn(run(config, probes_rx, shutdown_rx, sink, client));
    ProberHandle {
        probes: probes_tx,
        shutdown: shutdown_tx,
        task,
    }
}

/// What the loop keeps per vantage.
struct Core {
    /// When the prober started; the pure core's clock is milliseconds since then.
    start: Instant,
    /// The checks by id.
    probes: BTreeMap<String, Probe>,
    /// Due times.
    schedule: Schedule,
    /// Rise/fall per check.
    thresholds: BTreeMap<String, Threshold>,
    /// Checks with an attempt in flight.
    running: BTreeSet<String>,
    /// Checks whose attempt in flight probes a target the check no longer has; its result
    /// is dropped.
    outdated: BTreeSet<String>,
    /// What is owed to the store.
    outbox: Outbox,
}

impl Core {
    /// Milliseconds since start.
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Replaces the set of checks. A check whose target changed (address, kind or subject)
    /// restarts its rise/fall runs; other edits keep them with the new limits.
    fn set_probes(&mut self, probes: &[Probe]) {
        let now = self.now();
        let next: BTreeMap<String, Probe> = probes
            .iter()
            .map(|probe| (probe.check.id.clone(), probe.clone()))
            .collect();
        for id in self.probes.keys() {
            if !next.contains_key(id) {
                if self.running.contains(id) {
                    self.outdated.insert(id.clone());
                }
                self.schedule.remove(id);
                self.thresholds.remove(id);
                self.outbox.forget(id);
            }
        }
        for (id, probe) in &next {
            self.schedule.upsert(id, probe.check.interval_ms, now);
            let retargeted = self
                .probes
                .get(id)
                .is_some_and(|old| !old.same_target(probe));
            if retargeted {
                // The runs counted so far were about another address or test: start over, so
                // the first verdict about the new target needs `rise` or `fall` agreeing
                // attempts of its own. Until then the store keeps the last verdict reported.
                tracing::info!(check = %id, "check retargeted: rise/fall counting restarts");
                self.thresholds.remove(id);
                if self.running.contains(id) {
                    self.outdated.insert(id.clone());
                }
            } else if let Some(threshold) = self.thresholds.get_mut(id) {
                threshold.set_limits(probe.check.rise, probe.check.fall);
            }
        }
        self.probes = next;
    }

    /// Feeds one attempt's result to the check's threshold and the outbox.
    fn record(&mut self, id: &str, attempt: Attempt) {
        self.running.remove(id);
        if self.outdated.remove(id) {
            return;
        }
        let Some(probe) = self.probes.get(id) else {
            return;
        };
        let threshold = self
            .thresholds
            .entry(id.to_string())
            .or_insert_with(|| Threshold::new(probe.check.rise, probe.check.fall));
        let transition = threshold.observe(attempt.ok);
        let verdict = threshold.verdict();
        if verdict == Verdict::Unknown {
            return;
        }
        let report = ObservationReport {
            check: id.to_string(),
            up: verdict == Verdict::Up,
            rtt_us: attempt.rtt_us,
            error: attempt.error.map(|error| truncate(error, MAX_ERROR_LEN)),
            capacity: attempt.capacity,
        };
        if let Some(transition) = transition {
            tracing::info!(check = id, from = ?transition.from, to = ?transition.to, "check changed");
            let now = self.now();
            self.outbox.transition(report, now);
        } else if self.outbox.capacity_moved(&report) {
            // Live capacity decides how a failed region's share spills: a region that lost
            // nodes must not wait for the next digest to stop taking their share.
            tracing::info!(check = id, capacity = ?report.capacity, "capacity changed");
            let now = self.now();
            self.outbox.transition(report, now);
        } else {
            self.outbox.update(report);
        }
    }
}

/// The prober loop.
async fn run<S: ObservationSink>(
    config: ProberConfig,
    mut probes_rx: watch::Receiver<Vec<Probe>>,
    mut shutdown_rx: watch::Receiver<bool>,
    sink: Arc<S>,
    client: HttpClient,
) {
    let start = Instant::now();
    let mut core = Core {
        start,
        probes: BTreeMap::new(),
        schedule: Schedule::new(&config.vantage),
        thresholds: BTreeMap::new(),
        running: BTreeSet::new(),
        outdated: BTreeSet::new(),
        outbox: Outbox::new(config.outbox.clone(), 0),
    };
    core.set_probes(&probes_rx.borrow_and_update());
    let mut attempts: JoinSet<(String, Attempt)> = JoinSet::new();
    // Which check each attempt task runs, so that a panicking attempt still frees its check.
    let mut attempt_checks: HashMap<tokio::task::Id, String> = HashMap::new();
    let mut sends: JoinSet<(Vec<ObservationReport>, Result<(), SinkError>)> = JoinSet::new();
    loop {
        let now = core.now();
        for id in core.schedule.pop_due(now) {
            if core.running.contains(&id) || attempts.len() >= config.max_in_flight {
                tracing::debug!(check = %id, "skipped a run: still running or at the limit");
                continue;
            }
            let Some(probe) = core.probes.get(&id).cloned() else {
                continue;
            };
            core.running.insert(id.clone());
            let client = client.clone();
            let check_id = id.clone();
            let task = attempts.spawn(async move {
                let attempt = execute(&probe, &client).await;
                (id, attempt)
            });
            attempt_checks.insert(task.id(), check_id);
        }
        if sends.is_empty() {
            if let Some(batch) = core.outbox.poll(now) {
                let sink = Arc::clone(&sink);
                let vantage = config.vantage.clone();
                let send_timeout = Duration::from_millis(config.send_timeout_ms);
                sends.spawn(async move {
                    let sent = tokio::time::timeout(send_timeout, sink.send(&vantage, &batch));
                    let result = sent.await.unwrap_or_else(|_| {
                        Err(SinkError::Unavailable(format!(
                            "no answer within {} ms",
                            send_timeout.as_millis()
                        )))
                    });
                    (batch, result)
                });
            }
        }
        let mut wake = core.outbox.next_wake();
        if let Some(due) = core.schedule.next_due() {
            wake = wake.min(due);
        }
        let sleep = tokio::time::sleep_until(start + Duration::from_millis(wake.max(now)));
        tokio::select! {
            _ = sleep => {}
            Some(joined) = attempts.join_next_with_id(), if !attempts.is_empty() => {
                match joined {
                    Ok((task, (id, attempt))) => {
                        attempt_checks.remove(&task);
                        core.record(&id, attempt);
                    }
                    Err(error) => {
                        tracing::error!(%error, "a check attempt panicked");
                        if let Some(id) = attempt_checks.remove(&error.id()) {
                            core.record(&id, Attempt::fail("the check attempt panicked", None));
                        }
                    }
                }
            }
            Some(joined) = sends.join_next(), if !sends.is_empty() => {
                let now = core.now();
                match joined {
                    Ok((_, Ok(()))) => {
                        if core.outbox.failures() > 0 {
                            tracing::info!(failures = core.outbox.failures(), "observation sink is back");
                        }
                        core.outbox.on_sent();
                    }
                    Ok((batch, Err(error))) => {
                        let retryable = matches!(error, SinkError::Unavailable(_));
                        if core.outbox.failures() == 0 || !retryable {
                            tracing::warn!(%error, entries = batch.len(), "could not report observations");
                        }
                        core.outbox.on_failed(batch, retryable, now);
                    }
                    Err(error) => {
                        tracing::error!(%error, "the observation sink panicked");
                        core.outbox.on_failed(Vec::new(), true, now);
                    }
                }
            }
            changed = probes_rx.changed() => {
                if changed.is_err() {
                    break;
                }
                let probes = probes_rx.borrow_and_update().clone();
                core.set_probes(&probes);
            }
            _ = shutdown_rx.changed() => break,
        }
    }
    attempts.abort_all();
    sends.abort_all();
}

/// Cuts `text` to at most `limit` bytes at a character boundary, marking the cut.
fn truncate(mut text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut cut = limit - 3;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str("...");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Probe;
    use gslb_model::model::Check;
    use serde_json::json;

    fn probe(address: &str, rise: u32) -> Probe {
        let check: Check = serde_json::from_value(json!({
            "id": "web-tcp", "subject": {"kind": "endpoint", "id": "web"},
            "kind": {"type": "tcp", "port": 443}, "rise": rise, "fall": 2
        }))
        .unwrap();
        Probe {
            check,
            address: Some(address.parse().unwrap()),
            drill: None,
        }
    }

    fn core() -> Core {
        Core {
            start: Instant::now(),
            probes: BTreeMap::new(),
            schedule: Schedule::new("eu"),
            thresholds: BTreeMap::new(),
            running: BTreeSet::new(),
            outdated: BTreeSet::new(),
            outbox: Outbox::new(OutboxConfig::default(), 0),
        }
    }

    #[test]
    fn a_capacity_change_is_sent_without_waiting_for_the_digest() {
        let mut core = core();
        core.set_probes(&[probe("192.0.2.1", 1)]);
        let live = |nodes| Attempt {
            capacity: Some(nodes),
            ..Attempt::pass(std::time::Duration::from_millis(1))
        };
        core.record("web-tcp", live(3));
        assert_eq!(
            core.outbox.pending_len(),
            1,
            "the first verdict is a transition"
        );
        let sent = core.outbox.poll(100_000).expect("the transition is due");
        assert_eq!(sent[0].capacity, Some(3));
        core.outbox.on_sent();
        core.record("web-tcp", live(3));
        assert_eq!(
            core.outbox.pending_len(),
            0,
            "same verdict, same capacity: digest only"
        );
        core.record("web-tcp", live(2));
        assert_eq!(
            core.outbox.pending_len(),
            1,
            "a capacity change is written promptly"
        );
        let sent = core.outbox.poll(200_000).expect("the change is due");
        assert_eq!((sent[0].up, sent[0].capacity), (true, Some(2)));
    }

    fn verdict(core: &Core) -> Option<Verdict> {
        core.thresholds.get("web-tcp").map(Threshold::verdict)
    }

    #[test]
    fn a_new_target_restarts_rise_and_fall_but_a_new_limit_does_not() {
        let mut core = core();
        core.set_probes(&[probe("192.0.2.1", 2)]);
        core.record("web-tcp", Attempt::fail("refused", None));
        core.record("web-tcp", Attempt::fail("refused", None));
        assert_eq!(verdict(&core), Some(Verdict::Down));

        // Raising rise keeps the verdict and the runs.
        core.set_probes(&[probe("192.0.2.1", 3)]);
        assert_eq!(verdict(&core), Some(Verdict::Down));

        // An attempt in flight against the old address when the check is retargeted is
        // dropped, and the old address's failures do not count for the new one.
        core.running.insert("web-tcp".to_string());
        core.set_probes(&[probe("192.0.2.2", 3)]);
        assert_eq!(verdict(&core), None, "runs restart for the new target");
        core.record("web-tcp", Attempt::fail("refused (old address)", None));
        assert_eq!(verdict(&core), None, "the old target's attempt is dropped");
        core.record("web-tcp", Attempt::fail("refused", None));
        assert_eq!(verdict(&core), Some(Verdict::Unknown));
        core.record("web-tcp", Attempt::fail("refused", None));
        assert_eq!(
            verdict(&core),
            Some(Verdict::Down),
            "fall=2 agreeing attempts about the new target decide"
        );
    }
}
