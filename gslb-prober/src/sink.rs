//! `ObservationSink`: where a prober's batches go. The binary's sink will be the API client
//! (`ReportObservations` with the prober's scoped token); tests use `MemorySink`, which can
//! be told to fail like an unreachable API.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use gslb_model::model::ObservationReport;

/// Why a batch was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// The API or store could not be reached or is not ready: retry with backoff.
    #[error("observation sink unavailable: {0}")]
    Unavailable(String),
    /// The store refused the batch (a 4xx: a check was deleted, the token lacks the scope):
    /// retrying the same batch cannot help, so it is dropped.
    #[error("observations rejected: {0}")]
    Rejected(String),
}

/// Takes batches of observations from one vantage.
pub trait ObservationSink: Send + Sync + 'static {
    /// Delivers one batch; returns once it is committed (or known to have failed).
    fn send(
        &self,
        vantage: &str,
        observations: &[ObservationReport],
    ) -> impl Future<Output = Result<(), SinkError>> + Send;
}

/// One batch as `MemorySink` saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The vantage that sent it.
    pub vantage: String,
    /// Its entries.
    pub observations: Vec<ObservationReport>,
}

/// A sink that keeps every accepted batch in memory, for tests.
#[derive(Debug, Default)]
pub struct MemorySink {
    /// Accepted batches, in order.
    batches: Mutex<Vec<Batch>>,
    /// While true every send fails as `Unavailable`.
    unavailable: AtomicBool,
    /// Sends attempted, accepted or not.
    attempts: AtomicU64,
    /// Woken on every send, for `wait_for`.
    notify: tokio::sync::Notify,
}

impl MemorySink {
    /// An empty, available sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// Makes every send fail (true) or succeed (false) from now on.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// The accepted batches so far.
    pub fn batches(&self) -> Vec<Batch> {
        self.batches.lock().expect("sink lock").clone()
    }

    /// Sends attempted so far.
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::SeqCst)
    }

    /// Waits until `condition` holds on the accepted batches, or `timeout` passes; returns
    /// whether it holds.
    pub async fn wait_for(&self, timeout: Duration, condition: impl Fn(&[Batch]) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            if condition(&self.batches()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return condition(&self.batches());
            }
        }
    }
}

impl ObservationSink for MemorySink {
    async fn send(
        &self,
        vantage: &str,
        observations: &[ObservationReport],
    ) -> Result<(), SinkError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let result = if self.unavailable.load(Ordering::SeqCst) {
            Err(SinkError::Unavailable(
                "memory sink set unavailable".to_string(),
            ))
        } else {
            self.batches.lock().expect("sink lock").push(Batch {
                vantage: vantage.to_string(),
                observations: observations.to_vec(),
            });
            Ok(())
        };
        self.notify.notify_waiters();
        result
    }
}
