//! gslb-store: the domain model, its validation, and (as the control plane lands) the
//! commands, the deterministic `apply` and the Raft-replicated state.
//!
//! Code map:
//! - `model`: the types every crate shares (`State`, `Zone`, `RecordSet`, `DomainName`,
//!   `Region`, `Endpoint`, `Member`, ...).
//! - `backup`: the backup file format (header line, sha256-checked state payload) and the
//!   cluster identity derived from the cluster secret.
//! - `command`: `Command` (one arm per write), `validate` and the deterministic `apply`.
//! - `kv`: the only module that names sled; a small ordered key-value surface.
//! - `raft`: the only modules that name openraft: log store and state machine on `kv`, HTTP
//!   RPC (`raft_router`), and `spawn_node` / `NodeHandle`, the entry point for the binary.
//! - `zonefile`: RFC 1035 master-file import and export.
//!
//! Invariant: nothing here knows the DNS wire format beyond name limits, or HTTP routes other
//! than the Raft RPC routes of `raft::server`.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod backup;
pub mod command;
pub mod kv;
pub mod model;
pub mod raft;
pub mod zonefile;

pub use command::{ApplyError, CmdResult, Command, StampedCommand};
pub use model::*;
