//! gslb-model: the pure domain every other crate shares. No runtime, no storage, no network.
//!
//! Code map:
//! - `model`: the replicated types (`State`, `Zone`, `RecordSet`, `DomainName`, `Region`,
//!   `Endpoint`, `Check`, `GslbRecord`, `Member`, ...) and the quorum rule that turns
//!   observations into health (`model::health::derive_health`).
//! - `command`: `Command` (one arm per write), `validate` against the current state with field
//!   paths, and the deterministic `apply`.
//! - `zonefile`: RFC 1035 master-file import and export.
//! - `backup`: the backup file format (header line, sha256-checked state payload) and the
//!   cluster identity derived from the cluster secret.
//!
//! Invariant: depends on none of tokio, sled, openraft, axum, hyper or reqwest (checked by
//! `tests/tidy.rs`), so it is the one crate the DNS path, the prober, the API and the store can
//! all share without pulling in the control plane. Invariant: `apply` reads time only from the
//! command (stamped by the leader), never from the clock.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod backup;
pub mod command;
pub mod model;
pub mod zonefile;

pub use command::{ApplyError, CmdResult, Command, StampedCommand};
pub use model::*;
