//! Checks `[control.raft]`: timing, snapshots, the storage cache.

use gslb_store::kv::{DEFAULT_CACHE_BYTES, LEARNER_CACHE_BYTES, MIN_CACHE_BYTES};
use gslb_store::raft::RaftSettings;

use crate::config::duration::duration;
use crate::config::node::ControlRole;
use crate::config::problems::Problems;
use crate::config::raw::RawRaft;

/// Checks `[control.raft]` with lines, then the store's own rules for the rest.
pub(crate) fn raft_settings(raw: &RawRaft, problems: &mut Problems<'_>) -> RaftSettings {
    let before = problems.found.len();
    let heartbeat = duration(&raw.heartbeat, "control.raft.heartbeat", problems);
    let election_min = duration(&raw.election_min, "control.raft.election_min", problems);
    let election_max = duration(&raw.election_max, "control.raft.election_max", problems);
    let snapshot_every = *raw.snapshot_every.get_ref();
    if problems.found.len() == before {
        if heartbeat.is_zero() {
            problems.push(
                raw.heartbeat.span(),
                "control.raft.heartbeat",
                "must be > 0",
            );
        }
        if election_min < heartbeat * 3 {
            problems.push(
                raw.election_min.span(),
                "control.raft.election_min",
                format!(
                    "must be at least 3 heartbeats ({:?}), got {election_min:?}",
                    heartbeat * 3
                ),
            );
        }
        if election_max <= election_min {
            problems.push(
                raw.election_max.span(),
                "control.raft.election_max",
                format!("must be > election_min ({election_min:?}), got {election_max:?}"),
            );
        }
    }
    if snapshot_every == 0 {
        problems.push(
            raw.snapshot_every.span(),
            "control.raft.snapshot_every",
            "must be > 0, got 0",
        );
    }
    let defaults = RaftSettings::default();
    let settings = RaftSettings {
        heartbeat_ms: heartbeat.as_millis() as u64,
        election_min_ms: election_min.as_millis() as u64,
        election_max_ms: election_max.as_millis() as u64,
        install_snapshot_timeout_ms: defaults
            .install_snapshot_timeout_ms
            .max(heartbeat.as_millis() as u64),
        snapshot_every,
        replication_lag_threshold: defaults.replication_lag_threshold.max(snapshot_every),
        ..defaults
    };
    if problems.found.len() == before {
        if let Err(error) = settings.validate() {
            for fault in error.0 .0 {
                problems.push_at(None, format!("control.raft.{}", fault.path), fault.message);
            }
        }
    }
    settings
}

/// `control.raft.store_cache_bytes`, or the role's default: a voter serves log reads to its
/// peers, a learner only keeps its own log.
pub(crate) fn store_cache_bytes(
    raw: &RawRaft,
    role: ControlRole,
    problems: &mut Problems<'_>,
) -> u64 {
    let Some(bytes) = &raw.store_cache_bytes else {
        return match role {
            ControlRole::Voter => DEFAULT_CACHE_BYTES,
            ControlRole::Learner => LEARNER_CACHE_BYTES,
        };
    };
    if *bytes.get_ref() < MIN_CACHE_BYTES {
        problems.push(
            bytes.span(),
            "control.raft.store_cache_bytes",
            format!(
                "must be ≥ {MIN_CACHE_BYTES} (1 MiB), got {}",
                bytes.get_ref()
            ),
        );
    }
    *bytes.get_ref()
}
