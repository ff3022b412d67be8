//! `RaftSettings`: the Raft timing and snapshot knobs an operator may set, with defaults
//! tuned for voters and learners spread over regions (openraft's own defaults are LAN-tuned
//! and make a distant learner retry snapshot chunks forever).

use serde::{Deserialize, Serialize};

use gslb_model::model::validation::FieldErrors;

/// Raft settings, as they appear in a node's config file (`[raft]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaftSettings {
    /// Leader heartbeat period, ms. WAN: 250-500.
    #[serde(default = "default_heartbeat_ms")]
    pub heartbeat_ms: u64,
    /// Lower bound of the randomised election timeout, ms; several heartbeats.
    #[serde(default = "default_election_min_ms")]
    pub election_min_ms: u64,
    /// Upper bound of the randomised election timeout, ms.
    #[serde(default = "default_election_max_ms")]
    pub election_max_ms: u64,
    /// Time allowed for one snapshot chunk to be sent and, for the last one, installed, ms.
    #[serde(default = "default_install_snapshot_timeout_ms")]
    pub install_snapshot_timeout_ms: u64,
    /// Snapshot chunk size in bytes.
    #[serde(default = "default_snapshot_chunk_bytes")]
    pub snapshot_chunk_bytes: u64,
    /// Take a snapshot (and purge the log below it) every this many applied entries.
    #[serde(default = "default_snapshot_every")]
    pub snapshot_every: u64,
    /// Take one early once the entries applied since the last carry this many record sets
    /// (a zone import: `raft::snapshot_trigger`), so a restart does not re-apply them.
    #[serde(default = "default_snapshot_after_record_sets")]
    pub snapshot_after_record_sets: u64,
    /// Log entries kept below the newest snapshot, so a learner a little behind catches up
    /// from the log instead of a full snapshot; must exceed what the leader writes during one
    /// snapshot transfer.
    #[serde(default = "default_logs_kept_after_snapshot")]
    pub logs_kept_after_snapshot: u64,
    /// At most this many bytes (as stored) of those entries: a zone import's chunks are not
    /// kept below the snapshot that holds them (`raft::log_trim`), while small writes stay
    /// bounded by the count (10,000 of a few hundred bytes fit in the default 4 MiB). Like
    /// the count, it must exceed what the leader writes during one snapshot transfer; a
    /// learner further behind than this when a snapshot is taken is sent the snapshot.
    #[serde(default = "default_logs_kept_after_snapshot_bytes")]
    pub logs_kept_after_snapshot_bytes: u64,
    /// Most entries sent in one append RPC.
    #[serde(default = "default_max_entries_per_append")]
    pub max_entries_per_append: u64,
    /// A follower this many entries behind is sent a snapshot instead of log entries; at
    /// least `snapshot_every`.
    #[serde(default = "default_replication_lag_threshold")]
    pub replication_lag_threshold: u64,
}

fn default_heartbeat_ms() -> u64 {
    300
}
fn default_election_min_ms() -> u64 {
    1500
}
fn default_election_max_ms() -> u64 {
    3000
}
fn default_install_snapshot_timeout_ms() -> u64 {
    10_000
}
fn default_snapshot_chunk_bytes() -> u64 {
    1024 * 1024
}
fn default_snapshot_every() -> u64 {
    5000
}
fn default_snapshot_after_record_sets() -> u64 {
    100_000
}
fn default_logs_kept_after_snapshot() -> u64 {
    10_000
}
fn default_logs_kept_after_snapshot_bytes() -> u64 {
    4 * 1024 * 1024
}
fn default_max_entries_per_append() -> u64 {
    300
}
fn default_replication_lag_threshold() -> u64 {
    20_000
}

impl Default for RaftSettings {
    fn default() -> Self {
        RaftSettings {
            heartbeat_ms: default_heartbeat_ms(),
            election_min_ms: default_election_min_ms(),
            election_max_ms: default_election_max_ms(),
            install_snapshot_timeout_ms: default_install_snapshot_timeout_ms(),
            snapshot_chunk_bytes: default_snapshot_chunk_bytes(),
            snapshot_every: default_snapshot_every(),
            snapshot_after_record_sets: default_snapshot_after_record_sets(),
            logs_kept_after_snapshot: default_logs_kept_after_snapshot(),
            logs_kept_after_snapshot_bytes: default_logs_kept_after_snapshot_bytes(),
            max_entries_per_append: default_max_entries_per_append(),
            replication_lag_threshold: default_replication_lag_threshold(),
        }
    }
}

/// Every invalid setting, each named by its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid raft settings: {0}")]
pub struct SettingsError(pub FieldErrors);

impl RaftSettings {
    /// Checks every field and their relations, reporting all faults at once.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let mut errors = FieldErrors::default();
        if self.heartbeat_ms == 0 {
            errors.push("heartbeat_ms", "must be > 0, got 0");
        }
        if self.election_min_ms < self.heartbeat_ms.saturating_mul(3) {
            errors.push(
                "election_min_ms",
                format!(
                    "must be at least 3 heartbeats ({} ms), got {}",
                    self.heartbeat_ms.saturating_mul(3),
                    self.election_min_ms
                ),
            );
        }
        if self.election_max_ms <= self.election_min_ms {
            errors.push(
                "election_max_ms",
                format!(
                    "must be > election_min_ms ({}), got {}",
                    self.election_min_ms, self.election_max_ms
                ),
            );
        }
        if self.install_snapshot_timeout_ms < self.heartbeat_ms {
            errors.push(
                "install_snapshot_timeout_ms",
                format!(
                    "must be ≥ heartbeat_ms ({}), got {}",
                    self.heartbeat_ms, self.install_snapshot_timeout_ms
                ),
            );
        }
        if self.snapshot_chunk_bytes < 1024 {
            errors.push(
                "snapshot_chunk_bytes",
                format!("must be ≥ 1024, got {}", self.snapshot_chunk_bytes),
            );
        }
        if self.snapshot_every == 0 {
            errors.push("snapshot_every", "must be > 0, got 0");
        }
        if self.snapshot_after_record_sets == 0 {
            errors.push("snapshot_after_record_sets", "must be > 0, got 0");
        }
        if self.max_entries_per_append == 0 {
            errors.push("max_entries_per_append", "must be > 0, got 0");
        }
        if self.replication_lag_threshold < self.snapshot_every {
            errors.push(
                "replication_lag_threshold",
                format!(
                    "must be ≥ snapshot_every ({}), got {}",
                    self.snapshot_every, self.replication_lag_threshold
                ),
            );
        }
        errors.into_result().map_err(SettingsError)
    }

    /// The openraft configuration these settings stand for.
    pub(crate) fn to_openraft(
        &self,
        cluster_name: &str,
    ) -> Result<openraft::Config, SettingsError> {
        self.validate()?;
        let config = openraft::Config {
            cluster_name: cluster_name.to_string(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.election_min_ms,
            election_timeout_max: self.election_max_ms,
            install_snapshot_timeout: self.install_snapshot_timeout_ms,
            snapshot_max_chunk_size: self.snapshot_chunk_bytes,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(self.snapshot_every),
            max_in_snapshot_log_to_keep: self.logs_kept_after_snapshot,
            max_payload_entries: self.max_entries_per_append,
            replication_lag_threshold: self.replication_lag_threshold,
            ..Default::default()
        };
        config.validate().map_err(|error| {
            let mut errors = FieldErrors::default();
            errors.push("raft", error.to_string());
            SettingsError(errors)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_wan_safe() {
        let settings = RaftSettings::default();
        settings.validate().unwrap();
        let config = settings.to_openraft("gslb").unwrap();
        assert!(config.heartbeat_interval >= 250);
        assert!(config.install_snapshot_timeout >= 5000);
    }

    #[test]
    fn every_bad_field_is_named() {
        let settings = RaftSettings {
            heartbeat_ms: 500,
            election_min_ms: 1000,
            election_max_ms: 900,
            snapshot_every: 0,
            ..RaftSettings::default()
        };
        let error = settings.validate().unwrap_err().to_string();
        assert!(
            error.contains("election_min_ms: must be at least 3 heartbeats (1500 ms), got 1000"),
            "{error}"
        );
        assert!(
            error.contains("election_max_ms: must be > election_min_ms (1000), got 900"),
            "{error}"
        );
        assert!(
            error.contains("snapshot_every: must be > 0, got 0"),
            "{error}"
        );
    }
}
