//! The REST JSON types (DTOs), apart from the model: the model is the Raft log and snapshot
//! format and changes only by adding fields; these are the API's contract and are converted
//! by hand (`to_model` / `from_model`), so either can evolve without breaking the other.
//!
//! - `zone`, `record`: zones and static record sets (data in presentation format);
//!   `gslb_record`: names answered by a policy tree.
//! - `region`, `endpoint`: where traffic goes; `check`: how probers test it.
//! - `network`: the replicated client-network table (CIDR → location).
//! - `token`: scopes and tokens.
//! - `dnssec`: a zone's signing status and keys (never private keys).
//! - `overrides`: operator overrides and (read-only) drills.
//! - `health`: probers' observation batches and the derived health view.
//! - `change`: write results, change tracking, the atomic batch, audit entries.
//! - `cluster`: Raft status, members, membership requests, readiness.
//! - `page`: `?limit=&after=` and the list types.
//! - `time`: durations (`30s`, `1h30m`) and times (RFC 3339) as people enter them.

pub mod change;
pub mod check;
pub mod cluster;
pub mod dnssec;
pub mod endpoint;
pub mod events;
pub mod gslb_record;
pub mod health;
pub mod network;
pub mod overrides;
pub mod page;
pub mod record;
pub mod region;
pub mod time;
pub mod token;
pub mod tsig_key;
pub mod zone;

pub use change::{
    AuditEntryDto, BatchRequest, ChangeDto, ChangeStatusDto, SyncStatus, WriteResult,
};
pub use check::CheckDto;
pub use cluster::{
    AddLearnerRequest, ChangeVotersRequest, ClusterStatus, MemberDto, MembershipResult,
    NodeStatusDto, ReadyDto,
};
pub use dnssec::{
    DnssecEnable, DnssecKeyDto, DnssecPolicyDto, DnssecPolicyRequest, DnssecRollover,
    DnssecStatusDto, NextStepDto, RolloverDto,
};
pub use endpoint::EndpointDto;
pub use gslb_record::{GslbRecordDto, PolicyNodeDto};
pub use network::NetworkDto;
pub use overrides::{DrillDto, OverrideActionDto, OverrideDto};
pub use page::{
    AuditPage, CheckPage, DrillPage, EndpointPage, GslbRecordPage, NetworkPage, OverridePage,
    PageQuery, RecordPage, RegionPage, TokenPage, TsigKeyPage, ZonePage,
};
pub use record::{RecordSetDto, RecordTypeDto};
pub use region::{LocationDto, RegionDto};
pub use token::{ScopeDto, TokenCreate, TokenCreated, TokenDto};
pub use tsig_key::{TsigKeyCreate, TsigKeyCreated, TsigKeyDto};
pub use zone::{SoaDto, ZoneDto, ZoneSummary, ZoneTransferDto};
