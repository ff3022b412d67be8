//! The history of decisions as the state keeps it: every derived transition (a check,
//! endpoint or region changing status, a region's lease granted or lost, an override taking
//! or losing effect, a drill step) as an `Event` with its time, cause (how each vantage
//! voted) and effect (the GSLB records whose answers it can move), and what the previous
//! apply derived (`Derived`). `transitions::record_transitions` writes it.
//!
//! Bounded: the newest `EVENTS_RETAINED` events are kept, oldest dropped first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::drill::DrillStatus;
use crate::model::health::HealthStatus;

/// How many events the state keeps (a ring: the oldest go first).
pub const EVENTS_RETAINED: usize = 1000;

/// At most this many records are named per event (the rest are counted in `records_more`).
pub const RECORDS_PER_EVENT: usize = 50;

/// What kind of thing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A check's derived status (quorum of its vantages).
    Check,
    /// An endpoint's derived status.
    Endpoint,
    /// A region's derived status.
    Region,
    /// A region's health lease granted (`valid`) or lost (`expired`).
    Lease,
    /// An override took effect (`active`) or stopped (`inactive`: deleted or expired).
    Override,
    /// A drill started, recorded a step, or ended.
    Drill,
}

impl EventKind {
    /// The word used in JSON, tables and logs.
    pub fn word(self) -> &'static str {
        match self {
            EventKind::Check => "check",
            EventKind::Endpoint => "endpoint",
            EventKind::Region => "region",
            EventKind::Lease => "lease",
            EventKind::Override => "override",
            EventKind::Drill => "drill",
        }
    }
}

/// How one vantage voted on one check when the event was derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VantageVote {
    /// The check.
    pub check: String,
    /// The vantage (a region id).
    pub vantage: String,
    /// `up`, `down`, or `stale` (its last vote is too old to count).
    pub vote: String,
    /// Its last round-trip time in microseconds, if it measured one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_us: Option<u32>,
    /// Why its last attempt failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One derived transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the history, from 1, never reused.
    pub seq: u64,
    /// Leader time (unix millis) of the command whose apply derived it.
    pub at: u64,
    /// The state version (log index) that derived it.
    pub version: u64,
    /// What changed.
    pub kind: EventKind,
    /// Its id (check, endpoint, region, override or drill id).
    pub subject: String,
    /// The state before (`up`, `down`, `unknown`, `valid`, `expired`, `active`, ...).
    pub from: String,
    /// The state after.
    pub to: String,
    /// Why, in one line (quorum, endpoints up, override action, drill step, ...).
    pub cause: String,
    /// How each vantage voted on the checks behind it, when health decided it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub votes: Vec<VantageVote>,
    /// The GSLB records (`name TYPE`) whose answers it can change: those whose policy names
    /// the subject (or, for an endpoint, its region).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
    /// How many more records it affects beyond `RECORDS_PER_EVENT`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub records_more: usize,
}

/// `serde` helper.
fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// What the previous apply derived, compared against on the next one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derived {
    /// Check statuses by id.
    pub checks: BTreeMap<String, HealthStatus>,
    /// Endpoint statuses by id.
    pub endpoints: BTreeMap<String, HealthStatus>,
    /// Region statuses by id.
    pub regions: BTreeMap<String, HealthStatus>,
    /// Regions whose lease was valid.
    pub leases: BTreeMap<String, bool>,
    /// Overrides in effect, by id, as `action target`.
    pub overrides: BTreeMap<String, String>,
    /// Drills by id: status and timeline length.
    pub drills: BTreeMap<String, (DrillStatus, usize)>,
}

/// The history as the state keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The newest `EVENTS_RETAINED` events, oldest first.
    pub events: imbl::Vector<Event>,
    /// The `seq` of the last event ever recorded.
    pub last_seq: u64,
    /// What the last apply derived.
    pub derived: Derived,
}
