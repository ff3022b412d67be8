//! gslb-testkit: support shared by the tests of every gslb crate, used only as a
//! dev-dependency (`publish = false`).
//!
//! Code map:
//! - `alloc`: `CountingAllocator`, the global allocator the zero-allocation tests install to
//!   prove the answer path, the policy evaluator and the UDP listener allocate nothing.
//!
//! Invariant: depends on no gslb crate, so any crate's tests can use it without a cycle.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod alloc;

pub use alloc::{CountingAllocator, Scope};
