//! `Schedule`: when each check runs next at one vantage. Pure: time is milliseconds on any
//! monotonic clock the caller chooses (the runner uses time since start; the write-rate
//! simulation uses simulated time).
//!
//! Jitter: a check's first run lands at a pseudo-random offset within its interval (a hash of
//! the vantage seed and the check id, so thousands of checks added at once spread evenly and
//! vantages do not probe in lockstep), and every later run moves by up to ±5 % of the
//! interval. A vantage that fell behind skips the missed runs instead of bursting.

use std::collections::{BTreeMap, BTreeSet};

/// The jitter applied to each run, as a fraction (1/`JITTER_DIVISOR`) of the interval.
pub const JITTER_DIVISOR: u64 = 20;

/// Due times of a set of checks.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    /// Mixed into every check's random stream (the vantage name's hash).
    seed: u64,
    /// Per check: its interval, its next due time and its random state.
    entries: BTreeMap<String, Entry>,
    /// (due, id) in due order.
    queue: BTreeSet<(u64, String)>,
}

/// One scheduled check.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Interval in ms.
    interval_ms: u64,
    /// Next due time.
    due: u64,
    /// xorshift state for the per-run jitter.
    random: u64,
}

impl Schedule {
    /// An empty schedule whose jitter derives from `seed_text` (the vantage name).
    pub fn new(seed_text: &str) -> Schedule {
        Schedule {
            seed: hash(0x9e37_79b9_7f4a_7c15, seed_text),
            ..Schedule::default()
        }
    }

    /// Adds a check, or updates its interval; a new or re-timed check is first due within one
    /// interval from `now`, at its hashed offset. An unchanged check keeps its due time.
    pub fn upsert(&mut self, id: &str, interval_ms: u64, now: u64) {
        let interval_ms = interval_ms.max(1);
        if let Some(entry) = self.entries.get(id) {
            if entry.interval_ms == interval_ms {
                return;
            }
            self.queue.remove(&(entry.due, id.to_string()));
        }
        let random = hash(self.seed, id) | 1;
        let due = now + random % interval_ms;
        self.entries.insert(
            id.to_string(),
            Entry {
                interval_ms,
                due,
                random,
            },
        );
        self.queue.insert((due, id.to_string()));
    }

    /// Removes a check (no-op when absent).
    pub fn remove(&mut self, id: &str) {
        if let Some(entry) = self.entries.remove(id) {
            self.queue.remove(&(entry.due, id.to_string()));
        }
    }

    /// Keeps only the checks `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        let gone: Vec<String> = self
            .entries
            .keys()
            .filter(|id| !keep(id))
            .cloned()
            .collect();
        for id in gone {
            self.remove(&id);
        }
    }

    /// How many checks are scheduled.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The earliest due time, if any check is scheduled.
    pub fn next_due(&self) -> Option<u64> {
        self.queue.first().map(|(due, _)| *due)
    }

    /// Takes every check due at `now` (earliest first) and schedules its next run one
    /// interval (± jitter) after this one, or one interval after `now` if that is already
    /// past.
    pub fn pop_due(&mut self, now: u64) -> Vec<String> {
        let mut due_ids = Vec::new();
        while let Some((due, _)) = self.queue.first() {
            if *due > now {
                break;
            }
            let (due, id) = self.queue.pop_first().expect("checked non-empty");
            let entry = self.entries.get_mut(&id).expect("queue and entries agree");
            entry.random = xorshift(entry.random);
            let span = entry.interval_ms / JITTER_DIVISOR;
            let jitter = if span == 0 {
                0
            } else {
                (entry.random % (2 * span + 1)) as i64 - span as i64
            };
            let mut next = (due + entry.interval_ms).saturating_add_signed(jitter);
            if next <= now {
                next = now + entry.interval_ms;
            }
            entry.due = next;
            self.queue.insert((next, id.clone()));
            due_ids.push(id);
        }
        due_ids
    }
}

/// FNV-1a of `text` mixed with `seed`, finished with splitmix64.
fn hash(seed: u64, text: &str) -> u64 {
    let mut state = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for byte in text.bytes() {
        state ^= u64::from(byte);
        state = state.wrapping_mul(0x0100_0000_01b3);
    }
    splitmix(state)
}

/// The splitmix64 finaliser.
fn splitmix(mut value: u64) -> u64 {
    value = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

/// One xorshift64 step (state never 0).
fn xorshift(mut value: u64) -> u64 {
    value ^= value << 13;
    value ^= value >> 7;
    value ^= value << 17;
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_runs_spread_over_the_interval() {
        let mut schedule = Schedule::new("eu");
        for index in 0..1000 {
            schedule.upsert(&format!("check-{index}"), 1000, 0);
        }
        // Ten buckets of 100 ms each get roughly a tenth of the checks.
        let mut buckets = [0u32; 10];
        let mut seen = std::collections::BTreeSet::new();
        for now in 0..1000 {
            for id in schedule.pop_due(now) {
                if seen.insert(id) {
                    buckets[(now / 100) as usize] += 1;
                }
            }
        }
        assert_eq!(buckets.iter().sum::<u32>(), 1000);
        assert!(
            buckets.iter().all(|n| (60..=140).contains(n)),
            "{buckets:?}"
        );
    }

    #[test]
    fn runs_repeat_at_the_interval_with_bounded_jitter() {
        let mut schedule = Schedule::new("eu");
        schedule.upsert("a", 1000, 0);
        let mut runs = Vec::new();
        for now in 0..20_000 {
            if !schedule.pop_due(now).is_empty() {
                runs.push(now);
            }
        }
        assert!((19..=21).contains(&runs.len()), "{runs:?}");
        for pair in runs.windows(2) {
            let gap = pair[1] - pair[0];
            assert!((900..=1100).contains(&gap), "{runs:?}");
        }
    }

    #[test]
    fn a_late_caller_skips_missed_runs() {
        let mut schedule = Schedule::new("eu");
        schedule.upsert("a", 1000, 0);
        assert_eq!(schedule.pop_due(10_000), ["a"]);
        assert!(schedule.next_due().unwrap() >= 11_000);
        assert!(schedule.pop_due(10_500).is_empty());
    }

    #[test]
    fn updates_and_removals() {
        let mut schedule = Schedule::new("eu");
        schedule.upsert("a", 1000, 0);
        let due = schedule.next_due();
        schedule.upsert("a", 1000, 500);
        assert_eq!(
            schedule.next_due(),
            due,
            "an unchanged check keeps its time"
        );
        schedule.upsert("b", 1000, 0);
        schedule.retain(|id| id == "b");
        assert_eq!(schedule.len(), 1);
        schedule.remove("b");
        assert!(schedule.is_empty() && schedule.next_due().is_none());
    }
}
