//! gslb-dns: the authoritative DNS data plane.
//!
//! A query flows: `net` (UDP/TCP/PROXY v2 listeners) → `Responder::respond` → one
//! `ArcSwap::load` of the current `AnswerPlan` → `wire` parses header, question and OPT/ECS
//! in place → the plan hands back pre-encoded answer bytes (or builds an error reply by hand)
//! → the reply goes back out on the same socket. Every case, unusual ones included, is on
//! this hand-written path; hickory-proto is used by the tests to build and check messages.
//!
//! Code map:
//! - `responder`: `Responder`, the one entry point from transports into answering.
//! - `plan`: `compile_plan(&State) -> AnswerPlan` and the plan's lookup (name tree,
//!   pre-encoded RRsets, wildcards, CNAME chains, referrals, negative answers).
//! - `wire`: in-place parsing of queries (header, question, OPT/ECS) and reply encoding.
//! - `follow`: `spawn_plan_follower`, which recompiles and swaps the plan on every new
//!   `State` version; `prepare`: a staged zone import compiled before its commit.
//! - `policy`: the pure, health-aware policy engine for GSLB records (`evaluate`,
//!   `evaluate_explained`): the same code answers DNS and explains answers.
//! - `client`: client facts (ECS / PROXY / packet source, GeoIP from a MaxMind DB with
//!   reload, a CIDR table that wins over it) and the ECS scope they justify.
//! - `rrl`: response rate limiting (`[dns.rrl]`): a fixed table of hashed buckets per
//!   client network, reply class and name, updated lock-free; UDP only.
//! - `slow`: the slow path for RFC 2136 UPDATE and TSIG-signed messages (RFC 8945 in
//!   `slow::tsig`), on tokio tasks; the fast path hands them off and never waits for it.
//! - `dnssec`: online signing of DO=1 answers for signed zones (keys sealed in the state,
//!   opened per node; a shared signature cache; compact denial of existence);
//!   `signed_reply`: a DO=1 reply rewritten into its signed form (reads `plan` and `dnssec`).
//! - `cookie`: DNS Cookies (`[dns.cookies]`): RFC 9018 server cookies (SipHash-2-4).
//! - `metrics`: `DnsMetrics`, the answer path's counters (queries by transport, RCODE and
//!   type; GSLB decisions per record, causes, regions answered), sharded per thread.
//! - `net`: listeners (UDP `SO_REUSEPORT` workers with recvmmsg/sendmmsg, TCP per RFC 7766,
//!   PROXY v2), the only module allowed `unsafe` (socket syscalls) besides `clock`.
//! - `transfer`: AXFR/IXFR out over TCP (the slow path `net::tcp` hands transfer requests
//!   to), and the RFC 9432 catalog zone; `notify`: NOTIFY to secondaries on serial changes.
//! - `memory`: the process's resident memory (`/proc/self/status`), for phase log lines.
//! - `clock`: the coarse real-time clock (`CLOCK_REALTIME_COARSE`) GSLB answers read; a leaf,
//!   so `plan` reads time without reaching into `net`.
//!
//! Invariants: nothing here touches sled or Raft; the answer path never blocks, never awaits
//! the control plane and does not allocate for a static name.

#![deny(unsafe_code)]
#![warn(missing_docs)]
// clippy.toml (this crate's) bans `std::sync::Mutex`: the query path never waits on a lock.
#![deny(clippy::disallowed_types)]

use std::net::SocketAddr;

pub mod client;
mod clock;
pub mod cookie;
pub mod dnssec;
pub mod follow;
/// Re-exported from gslb-model, where the store's phase log lines read it too.
pub use gslb_model::memory;
pub mod metrics;
pub mod net;
pub mod notify;
pub mod plan;
pub mod policy;
pub mod prepare;
pub mod responder;
pub mod rrl;
mod signed_reply;
pub mod slow;
pub mod transfer;
pub mod wire;

pub use follow::{
    contact_clock, contact_instant, spawn_plan_follower, spawn_plan_follower_with, wall_clock,
    HealthClock, CONTACT_GRACE_MS,
};
pub use metrics::DnsMetrics;
pub use plan::{
    compile_plan, compile_plan_prepared, compile_plan_since, AnswerPlan, PreparedPlans, ZonePlan,
};
pub use prepare::{spawn_staged_preparer, PreparedZones};
pub use responder::{Responder, ResponderOptions};

/// How a query reached us; decides the reply size limit and truncation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Datagram: replies are capped at the EDNS payload size (or 512) and set TC when cut.
    Udp,
    /// Stream (RFC 7766): replies up to 65535 octets, never truncated.
    Tcp,
}

/// What the transport knows about one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryContext {
    /// The client as the transport sees it: the PROXY v2 source for a trusted proxy,
    /// otherwise the packet source. ECS, when present, overrides it for policy decisions.
    pub client: SocketAddr,
    /// UDP or TCP.
    pub transport: Transport,
}
