//! gslb-testkit: support shared by the tests of every gslb crate, used only as a
//! dev-dependency (`publish = false`).
//!
//! Code map:
//! - `alloc`: `CountingAllocator`, the global allocator the zero-allocation tests install to
//!   prove the answer path, the policy evaluator and the UDP listener allocate nothing.
//! - `dns`: `dig`/`kdig` runs with their output parsed, raw query packets and reply headers,
//!   UDP and framed-TCP exchanges, for black-box DNS tests (the root's `tests/common`
//!   re-exports it).
//! - `cluster` (feature `cluster`): in-process Raft nodes on loopback with their own data
//!   directories, restartable, and the waits on conditions (`wait_ok`, `wait_state`,
//!   `wait_leader`) the store's tests use; `cluster::api` (feature `api`) adds nodes that serve
//!   the REST API and an HTTP client, for the API's tests.
//!
//! Invariant: without features it depends on no gslb crate, so any crate's tests can use the
//! allocator without building the control plane. The `cluster` and `api` features pull in
//! gslb-store and gslb-api; only those crates' tests (dev-dependencies, a cycle cargo allows
//! there) turn them on.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod alloc;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod dns;

pub use alloc::{CountingAllocator, Scope};
