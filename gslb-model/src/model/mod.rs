//! The domain model: what the control plane replicates and every other crate reads.
//!
//! - `name`: `DomainName`, validated presentation-format names.
//! - `record`: static record sets (`RecordType`, `RData`, `RecordSet`).
//! - `svcb`, `loc`, `base64_text`: the presentation formats of SvcParams (RFC 9460), LOC
//!   (RFC 1876) and base64 data.
//! - `generic`: RFC 3597 `\# len hex` data, and the types refused in that form.
//! - `zone`: `Zone` and `Soa`, and the rules that make a zone servable; `zone_walk`: the
//!   rules that cross record sets, checked in one ordered pass that a staged import resumes
//!   chunk after chunk.
//! - `serial`: `SerialPolicy` and the RFC 1982 step `apply` takes on every content change.
//! - `state`: `State`, the versioned whole.
//! - `transfer`: who may AXFR/IXFR a zone and whom to NOTIFY (`ZoneTransfer`).
//! - `zone_history`: the bounded history of differences IXFR answers from (`ZoneDiff`).
//! - `staged`: `StagedImport`, a big zone import's record sets on their way through the log.
//! - `validation`: `FieldErrors`, every fault named by its field path.
//! - `ident`: the slug rule for ids.
//! - `region`, `endpoint`: where traffic goes (`Region`, `Location`, `Endpoint`).
//! - `member`: the nodes (`Member`), with their reported applied index.
//! - `token`, `audit`: API credentials (hashed) and who changed what (`AuditEntry`).
//! - `overrides`, `drill`: operator decisions that beat health, and failure exercises.
//! - `precondition`: `ResourceRef` and `Expected`, the If-Match checks `apply` makes.
//! - `check`, `health`: how probers look at endpoints and regions (`Check`), what they saw
//!   (`Observation`), and the quorum rule and leases derived from it (`derive_health`).
//! - `tsig_key`, `dns_update`: TSIG keys (RFC 8945) with what each may update or transfer,
//!   and RFC 2136 updates: their prerequisites and changes, checked and applied as one.
//! - `history`: every derived transition as an `Event` (cause and effect), a bounded ring
//!   filled deterministically by `apply`.
//! - `network`: the replicated client-network table (`Network`: CIDR → location) that
//!   places clients for geo and proximity policies, beside each node's config table.

pub mod audit;
pub mod base64_text;
pub mod check;
pub mod dns_update;
pub mod dnssec;
pub mod drill;
pub mod endpoint;
pub mod generic;
pub mod gslb_record;
pub mod health;
pub mod history;
pub mod ident;
pub mod loc;
pub mod member;
pub mod name;
pub mod network;
pub mod overrides;
pub mod precondition;
pub mod record;
pub mod region;
pub mod rollover;
pub mod serial;
pub mod staged;
pub mod state;
pub mod svcb;
pub mod token;
pub mod transfer;
pub mod transitions;
pub mod tsig_key;
pub mod validation;
pub mod zone;
pub mod zone_history;
pub mod zone_sets;
pub mod zone_walk;

pub use audit::{Actor, AuditEntry, AUDIT_RETAINED};
pub use check::{Check, CheckKind, CheckSubject, JsonCondition};
pub use dnssec::{DnssecAlgorithm, DnssecKey, KeyState, ZoneKeys};
pub use drill::{
    AnswerRow, Direction, Drill, DrillEvent, DrillMode, DrillPhase, DrillStatus, DrillUpdate,
    GuardCheck, PhaseAnswers,
};
pub use endpoint::{AdminState, Endpoint, EndpointTarget};
pub use gslb_record::{GslbRecord, LatencyMargin, PolicyNode, UnknownAs, WhenAllDown};
pub use health::{
    derive_health, HealthStatus, HealthView, Observation, ObservationReport, RegionLease, Votes,
};
pub use member::{Member, NodeRole, RaftRole};
pub use network::Network;
pub use overrides::{Override, OverrideAction, OverrideTarget};
pub use precondition::{digest_of, Expected, ResourceRef};
pub use region::{Location, Region};
pub use rollover::{
    DnssecPolicy, DnssecSchedule, NextStep, Rollover, RolloverKind, RolloverStep, Ttls,
};
pub use serial::SerialPolicy;
pub use staged::{StagedImport, MAX_STAGED_IMPORTS, STAGED_IMPORT_TTL_MS};
pub use token::{Scope, Token};
pub use transfer::{TransferPeer, ZoneTransfer};
pub use tsig_key::{TsigAlgorithm, TsigKey, UpdateGrant};

pub use name::{DomainName, NameError};
pub use record::{DnskeyData, DsData, RData, RecordSet, RecordType, SvcbData, MAX_TTL};
pub use state::{ChangeStatus, State};
pub use validation::{FieldError, FieldErrors};
pub use zone::{Soa, Zone};
pub use zone_history::ZoneDiff;
pub use zone_sets::RecordSets;
