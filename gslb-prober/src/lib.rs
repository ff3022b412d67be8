//! gslb-prober: check kinds, scheduling with jitter, rise/fall thresholds and RTT
//! measurement, batching observations to the API. Not yet built: see issue "Distributed
//! probers, the health quorum, the split-brain guard".

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub use gslb_store::model;
