//! `RecentEntries`: the newest log entries, decoded and as JSON, beside their copy in sled.
//!
//! openraft reads every entry back from the log store after appending it: once per peer to
//! replicate it and once more to apply it. Decoding a 64 KiB zone-import chunk from JSON
//! costs milliseconds, and the apply read runs on the Raft core's own task; encoding it again
//! for every peer costs as much. Entries appended lately are therefore kept here both ways:
//! reads clone the value (a zone chunk's record sets are shared, `Arc`), and an append call
//! copies the JSON into its body. A follower notes the JSON of each entry as it arrives
//! (`note_received`), so its log store writes those bytes instead of encoding the entry again.
//!
//! Invariant: the entries held are one contiguous run of indexes and equal what sled holds at
//! those indexes: `append` adds after writing sled, `truncate` and `purge` drop what they
//! remove from sled, and the oldest are dropped first when the run outgrows its budget.
//! Invariant: JSON noted as received is used only for the entry with the very log id (term
//! and index) it was decoded as.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use openraft::{Entry, LogId};

use crate::raft::{NodeId, TypeConfig};

/// One entry and its JSON as stored in sled.
struct Recent {
    /// The decoded entry.
    entry: Entry<TypeConfig>,
    /// Its JSON.
    json: Arc<[u8]>,
}

/// The newest entries, at most `budget` bytes of their JSON. Cloning shares them.
#[derive(Clone)]
pub(crate) struct RecentEntries {
    /// The run of entries and what arrived for the log.
    inner: Arc<Mutex<Run>>,
    /// The most bytes of JSON the run, and apart from it the received JSON, may hold.
    budget: usize,
}

/// A contiguous run of entries, oldest first, and the JSON of entries received but not yet
/// appended.
#[derive(Default)]
struct Run {
    /// The entries, indexes ascending without a gap.
    entries: VecDeque<Recent>,
    /// Sum of their JSON lengths.
    bytes: usize,
    /// JSON of entries received from the leader, oldest first, by log id.
    received: VecDeque<(LogId<NodeId>, Arc<[u8]>)>,
    /// Sum of the received JSON lengths.
    received_bytes: usize,
}

impl Run {
    /// The index of the oldest entry held.
    fn first_index(&self) -> Option<u64> {
        self.entries.front().map(|recent| recent.entry.log_id.index)
    }

    /// Drops the oldest entry.
    fn pop_oldest(&mut self) {
        if let Some(dropped) = self.entries.pop_front() {
            self.bytes -= dropped.json.len();
        }
    }
}

impl RecentEntries {
    /// An empty run that keeps at most `budget` bytes of JSON worth of entries.
    pub(crate) fn new(budget: usize) -> RecentEntries {
        RecentEntries {
            inner: Arc::default(),
            budget,
        }
    }

    fn run(&self) -> std::sync::MutexGuard<'_, Run> {
        // A panic while holding the lock leaves a consistent run (every change is one
        // push or pop), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notes the JSON `json` an entry with `log_id` arrived as, for `take_received`.
    pub(crate) fn note_received(&self, log_id: LogId<NodeId>, json: Arc<[u8]>) {
        let mut run = self.run();
        run.received_bytes += json.len();
        run.received.push_back((log_id, json));
        while run.received_bytes > self.budget && run.received.len() > 1 {
            if let Some((_, dropped)) = run.received.pop_front() {
                run.received_bytes -= dropped.len();
            }
        }
    }

    /// The JSON noted as received for exactly `log_id`, forgotten here (with any noted for
    /// older indexes: they were appended or will not be).
    pub(crate) fn take_received(&self, log_id: &LogId<NodeId>) -> Option<Arc<[u8]>> {
        let mut run = self.run();
        while let Some((noted, _)) = run.received.front() {
            if noted.index > log_id.index {
                return None;
            }
            let (noted, json) = run.received.pop_front()?;
            run.received_bytes -= json.len();
            if &noted == log_id {
                return Some(json);
            }
        }
        None
    }

    /// Notes `entry`, just written to sled as `json`. An entry that does not follow the
    /// newest one held starts a new run.
    pub(crate) fn push(&self, entry: Entry<TypeConfig>, json: Arc<[u8]>) {
        let mut run = self.run();
        let follows = run
            .entries
            .back()
            .is_none_or(|last| last.entry.log_id.index + 1 == entry.log_id.index);
        if !follows {
            run.entries.clear();
            run.bytes = 0;
        }
        run.bytes += json.len();
        run.entries.push_back(Recent { entry, json });
        while run.bytes > self.budget && run.entries.len() > 1 {
            run.pop_oldest();
        }
    }

    /// Forgets every entry at `index` or above (a truncated log).
    pub(crate) fn truncate_from(&self, index: u64) {
        let mut run = self.run();
        while run
            .entries
            .back()
            .is_some_and(|last| last.entry.log_id.index >= index)
        {
            if let Some(dropped) = run.entries.pop_back() {
                run.bytes -= dropped.json.len();
            }
        }
    }

    /// Forgets every entry at `index` or below (a purged log).
    pub(crate) fn purge_upto(&self, index: u64) {
        let mut run = self.run();
        while run.first_index().is_some_and(|first| first <= index) {
            run.pop_oldest();
        }
    }

    /// The index from which on this run holds every entry, if it holds any.
    pub(crate) fn first_index(&self) -> Option<u64> {
        self.run().first_index()
    }

    /// Copies of the entries held with indexes in `start..end`, in order, stopping before
    /// the one that would take their JSON past `budget` bytes (the first is taken whatever
    /// its size).
    pub(crate) fn read(
        &self,
        start: u64,
        end: u64,
        budget: usize,
        into: &mut Vec<Entry<TypeConfig>>,
    ) {
        let run = self.run();
        let Some(first) = run.first_index() else {
            return;
        };
        let skip = start.saturating_sub(first) as usize;
        let mut used = 0usize;
        for recent in run.entries.iter().skip(skip) {
            if recent.entry.log_id.index >= end {
                break;
            }
            used = used.saturating_add(recent.json.len());
            if used > budget && !into.is_empty() {
                break;
            }
            into.push(recent.entry.clone());
        }
    }

    /// The JSON of the entry held with exactly `log_id`.
    pub(crate) fn json_of(&self, log_id: &LogId<NodeId>) -> Option<Arc<[u8]>> {
        let run = self.run();
        let first = run.first_index()?;
        let recent = run.entries.get(log_id.index.checked_sub(first)? as usize)?;
        (&recent.entry.log_id == log_id).then(|| recent.json.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::{CommittedLeaderId, EntryPayload};

    fn log_id(term: u64, index: u64) -> LogId<NodeId> {
        LogId::new(CommittedLeaderId::new(term, 1), index)
    }

    fn entry(index: u64) -> Entry<TypeConfig> {
        Entry {
            log_id: log_id(1, index),
            payload: EntryPayload::Blank,
        }
    }

    fn json(bytes: usize) -> Arc<[u8]> {
        vec![b' '; bytes].into()
    }

    fn indexes(recent: &RecentEntries, start: u64, end: u64, budget: usize) -> Vec<u64> {
        let mut into = Vec::new();
        recent.read(start, end, budget, &mut into);
        into.iter().map(|entry| entry.log_id.index).collect()
    }

    #[test]
    fn keeps_the_newest_run_within_its_budget() {
        let recent = RecentEntries::new(300);
        for index in 1..=5 {
            recent.push(entry(index), json(100));
        }
        assert_eq!(recent.first_index(), Some(3), "the oldest went first");
        assert_eq!(indexes(&recent, 1, 10, usize::MAX), [3, 4, 5]);
        assert_eq!(indexes(&recent, 4, 5, usize::MAX), [4]);
        assert_eq!(
            indexes(&recent, 3, 10, 250),
            [3, 4],
            "cut at the read budget"
        );
        assert_eq!(
            indexes(&recent, 3, 10, 10),
            [3],
            "one entry whatever its size"
        );
        assert_eq!(
            recent.json_of(&log_id(1, 4)).map(|json| json.len()),
            Some(100)
        );
        assert!(
            recent.json_of(&log_id(2, 4)).is_none(),
            "another term's entry 4"
        );
        assert!(recent.json_of(&log_id(1, 2)).is_none(), "dropped");
    }

    #[test]
    fn truncate_purge_and_a_gap_keep_it_equal_to_the_log() {
        let recent = RecentEntries::new(10_000);
        for index in 1..=6 {
            recent.push(entry(index), json(10));
        }
        recent.truncate_from(5);
        assert_eq!(indexes(&recent, 1, 10, usize::MAX), [1, 2, 3, 4]);
        recent.purge_upto(2);
        assert_eq!(indexes(&recent, 1, 10, usize::MAX), [3, 4]);
        recent.push(entry(9), json(10));
        assert_eq!(recent.first_index(), Some(9), "a gap starts a new run");
        assert_eq!(indexes(&recent, 1, 10, usize::MAX), [9]);
    }

    #[test]
    fn received_json_is_handed_out_only_for_its_own_log_id() {
        let recent = RecentEntries::new(10_000);
        recent.note_received(log_id(1, 5), json(5));
        recent.note_received(log_id(1, 6), json(6));
        recent.note_received(log_id(1, 7), json(7));
        assert!(recent.take_received(&log_id(2, 6)).is_none(), "other term");
        assert!(
            recent.take_received(&log_id(1, 6)).is_none(),
            "dropped with the older ones when asked for a different id"
        );
        assert_eq!(
            recent.take_received(&log_id(1, 7)).map(|j| j.len()),
            Some(7)
        );
        assert!(recent.take_received(&log_id(1, 7)).is_none(), "taken once");
    }
}
