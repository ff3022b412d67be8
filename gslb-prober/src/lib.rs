//! gslb-prober: one prober per region (its *vantage*) runs every check the store assigns to
//! it, applies rise/fall thresholds, and writes only transitions and a periodic RTT digest to
//! the store, so Raft write load stays flat as endpoints grow. It never decides global health:
//! that is the store's quorum rule (`gslb_model::model::health`).
//!
//! Code map (pure core first, then the IO shell):
//! - `threshold`: `Threshold::observe(ok) -> Option<Transition>`, the rise/fall machine.
//! - `schedule`: `Schedule`, due times with jitter, on any clock.
//! - `outbox`: `Outbox`, batching of transitions and digests, bounded buffer, backoff.
//! - `probe`: `plan_probes(state, vantage)`, the checks a vantage runs with their addresses.
//! - `exec`: `execute(probe)`, one bounded attempt of a tcp, http, dns, replication or
//!   kube-local check.
//! - `sink`: `ObservationSink`, where batches go (the API client in the binary, memory in
//!   tests).
//! - `runner`: `spawn_prober`, the tokio loop that ties them together.
//! - `simulate`: `simulate_write_rate`, the pure core over simulated time (write load).
//!
//! TLS: `https` runs on rustls (ring provider) and hyper, not reqwest: reqwest's rustls
//! features would unify into every reqwest client of the `gslb` binary, and reqwest panics
//! building any client when no process-wide provider is installed.
//!
//! Invariant: nothing here blocks without a timeout or reads more than `MAX_BODY_BYTES` from
//! a backend; a failing sink never stops probing.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod exec;
pub mod outbox;
pub mod probe;
pub mod runner;
pub mod schedule;
pub mod simulate;
pub mod sink;
pub mod threshold;

pub use exec::{execute, http_client, Attempt, HttpClient, MAX_BODY_BYTES};
pub use gslb_model::model;
pub use outbox::{Outbox, OutboxConfig};
pub use probe::{plan_probes, Probe};
pub use runner::{spawn_prober, ProberConfig, ProberHandle};
pub use schedule::Schedule;
pub use sink::{MemorySink, ObservationSink, SinkError};
pub use threshold::{Threshold, Transition, Verdict};
