//! gslb-model: the pure domain every other crate shares. No runtime, no storage, no network.
//!
//! Code map:
//! - `model`: the replicated types (`State`, `Zone`, `RecordSet`, `DomainName`, `Region`,
//!   `Endpoint`, `Check`, `GslbRecord`, `Member`, ...) and the quorum rule that turns
//!   observations into health (`model::health::derive_health`).
//! - `command`: `Command` (one arm per write), `validate` against the current state with field
//!   paths, and the deterministic `apply`.
//! - `zonefile`: RFC 1035 master-file import and export.
//! - `ip`: the one CIDR type and the prefix helpers (mask, family width, common prefix).
//! - `clock`: the wall clock as unix millis, for the IO shells (never called by `apply`).
//! - `latency`: `LatencyHistogram`, the lock-free latency histogram the store and the DNS
//!   node time their steps with (for `/metrics`; never read by `apply`).
//! - `duration`: the one duration parser (`30s`, `1h30m`, `2d`) for config, CLI and zone files.
//! - `memory`: the process's resident memory (`/proc/self/status`), for the IO shells' phase
//!   log lines (a DNS node's start and plan swaps, a Raft node's storage and log replay).
//! - `background`: CPU-heavy work nothing latency-critical waits on, at a lower priority.
//! - `backup`: the backup file format (header line, sha256-checked state payload) and the
//!   cluster identity derived from the cluster secret.
//! - `snapshot_codec`: the bytes of a Raft snapshot of `State` (JSON, record sets in the
//!   compact binary form of `command::chunk_codec`), and the plain JSON older ones are.
//!
//! Invariant: depends on none of tokio, sled, openraft, axum, hyper or reqwest (checked by
//! `tests/tidy.rs`), so it is the one crate the DNS path, the prober, the API and the store can
//! all share without pulling in the control plane. Invariant: `apply` reads time only from the
//! command (stamped by the leader), never from the clock.

#![deny(unsafe_code)]
#![warn(missing_docs)]
// clippy.toml (this crate's) bans wall-clock reads: `apply` must take time from the command.
#![deny(clippy::disallowed_methods)]

pub mod background;
pub mod backup;
pub mod clock;
pub mod command;
pub mod duration;
pub mod ip;
pub mod latency;
pub mod memory;
pub mod model;
pub mod snapshot_codec;
pub mod zonefile;

pub use command::{ApplyError, CmdResult, Command, StampedCommand};
pub use model::*;
