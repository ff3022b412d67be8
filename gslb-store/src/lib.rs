//! gslb-store: the IO shell around the pure domain of `gslb-model`: the Raft-replicated log and
//! state machine on sled, snapshots, the Raft RPC, and the watch channel that publishes each
//! committed `State`.
//!
//! Code map:
//! - `kv`: the only module that names sled; a small ordered key-value surface.
//! - `heap`: gives freed memory back to the system after a snapshot or a start-up replay
//!   (glibc's `malloc_trim`; this crate's only `unsafe`).
//! - `raft`: the only modules that name openraft: log store and state machine on `kv`, HTTP
//!   RPC (`raft_router`), and `spawn_node` / `NodeHandle`, the entry point for the binary.
//! - `watch`: `StateWatch` / `StatePublisher`, the channel of `Arc<State>`.
//! - `refusal_log`: refusals (wrong secrets, failed logins) logged as rate-limited summaries.
//!
//! Invariant: nothing here knows the DNS wire format, or HTTP routes other than the Raft RPC
//! routes of `raft::server`. The domain (model, commands, `apply`, zone files, the backup
//! format) is `gslb-model`'s; this crate only stores and replicates it.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod heap;
pub mod kv;
pub mod raft;
pub mod refusal_log;
pub mod watch;

pub use watch::{state_channel, StatePublisher, StateWatch};
