//! `RefusalLog`: refusals (failed logins, Raft RPC with a wrong secret, a prober reporting for
//! another vantage) logged as rate-limited summaries instead of one line each, so whoever
//! sends them cannot flood the log.
//!
//! The first refusal of a quiet period is logged at once, with its reason; the ones after it
//! are only counted, per source, and `flush` (called by `spawn_refusal_flusher` every
//! interval) logs one summary line for them: how many, from how many sources, the busiest
//! source and the last reason.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How many distinct sources one summary counts separately; more are only counted in total.
const MAX_SOURCES: usize = 1024;

/// A rate-limited log of one kind of refusal.
#[derive(Debug)]
pub struct RefusalLog {
    /// What is refused, for the log line, e.g. `failed api authentication`.
    what: &'static str,
    /// The shortest time between two lines.
    interval: Duration,
    /// The refusals counted since the last line.
    window: Mutex<Window>,
}

/// The refusals since the last line.
#[derive(Debug, Default)]
struct Window {
    /// When the last line was logged; `None` until the first refusal.
    logged_at: Option<Instant>,
    /// Refusals counted since then, not yet logged.
    count: u64,
    /// Per source, for the busiest one (at most `MAX_SOURCES` entries).
    by_source: HashMap<IpAddr, u64>,
    /// The reason of the newest counted refusal.
    last_reason: String,
}

impl RefusalLog {
    /// A log of refusals of kind `what`, one line at most every `interval`.
    pub fn new(what: &'static str, interval: Duration) -> RefusalLog {
        RefusalLog {
            what,
            interval,
            window: Mutex::new(Window::default()),
        }
    }

    /// Notes one refusal from `source` at `now`: logged at once when the log was quiet for
    /// an interval, otherwise counted for the next summary. Returns whether it was logged.
    pub fn record(&self, source: Option<IpAddr>, reason: &str, now: Instant) -> bool {
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let quiet = window
            .logged_at
            .is_none_or(|at| now.duration_since(at) >= self.interval);
        if quiet && window.count == 0 {
            window.logged_at = Some(now);
            let source = source.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
            tracing::warn!(
                %source,
                "{} from {source}: {reason} (further ones are summarised every {:?})",
                self.what,
                self.interval
            );
            return true;
        }
        window.count += 1;
        if let Some(source) = source {
            if window.by_source.len() < MAX_SOURCES || window.by_source.contains_key(&source) {
                *window.by_source.entry(source).or_default() += 1;
            }
        }
        window.last_reason.clear();
        window.last_reason.push_str(reason);
        false
    }

    /// Logs the summary of the refusals counted since the last line, if an interval has
    /// passed and there are any. Returns how many it summarised.
    pub fn flush(&self, now: Instant) -> u64 {
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        let due = window
            .logged_at
            .is_none_or(|at| now.duration_since(at) >= self.interval);
        if !due || window.count == 0 {
            return 0;
        }
        let count = window.count;
        let (busiest, busiest_count) = window
            .by_source
            .iter()
            .max_by_key(|(_, count)| **count)
            .map_or(("unknown".to_string(), 0), |(ip, n)| (ip.to_string(), *n));
        tracing::warn!(
            count,
            sources = window.by_source.len(),
            "{count} more {} in the last {:?} from {} source(s), most from {busiest} \
             ({busiest_count}); last: {}",
            self.what,
            window
                .logged_at
                .map_or(self.interval, |at| now.duration_since(at)),
            window.by_source.len(),
            window.last_reason
        );
        window.logged_at = Some(now);
        window.count = 0;
        window.by_source.clear();
        window.last_reason.clear();
        count
    }
}

/// Flushes `log` every interval while anything else holds it (runs on the current tokio
/// runtime; does nothing outside one).
pub fn spawn_refusal_flusher(log: &Arc<RefusalLog>) {
    if tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    let weak: Weak<RefusalLog> = Arc::downgrade(log);
    let interval = log.interval;
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let Some(log) = weak.upgrade() else { return };
            log.flush(Instant::now());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_refusal_is_logged_and_the_rest_summarised_once_per_interval() {
        let log = RefusalLog::new("failed api authentication", Duration::from_secs(10));
        let start = Instant::now();
        let source: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(log.record(Some(source), "unknown token", start));
        for second in 0..1000u64 {
            let at = start + Duration::from_millis(second);
            assert!(!log.record(Some(source), "unknown token", at));
        }
        assert_eq!(log.flush(start + Duration::from_secs(5)), 0, "not due yet");
        assert_eq!(log.flush(start + Duration::from_secs(10)), 1000);
        assert_eq!(log.flush(start + Duration::from_secs(30)), 0, "nothing new");
        assert!(
            log.record(
                Some(source),
                "unknown token",
                start + Duration::from_secs(40)
            ),
            "after a quiet interval the next refusal is logged at once"
        );
    }
}
