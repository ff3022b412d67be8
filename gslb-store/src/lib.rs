//! gslb-store: the domain model, its validation, and (as the control plane lands) the
//! commands, the deterministic `apply` and the Raft-replicated state.
//!
//! Code map:
//! - `model`: the types every crate shares (`State`, `Zone`, `RecordSet`, `DomainName`).
//! - `zonefile`: RFC 1035 master-file import and export.
//!
//! Invariant: nothing here knows the DNS wire format beyond name limits, or HTTP routes.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod command;
pub mod kv;
pub mod model;
pub mod raft;
pub mod zonefile;

pub use model::*;
