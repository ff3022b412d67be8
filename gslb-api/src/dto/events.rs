//! The JSON of `/v1/events`: the history of derived transitions (`gslb_model::model::history`)
//! with each event's time also in RFC 3339.
//!
//! `EventDto` mirrors the model's `Event` field by field on purpose, as every DTO here does:
//! the model's serde form is the replicated and on-disk format, this one is the API's schema
//! (documented with utoipa, which the model does not depend on) and adds `time`;
//! `from_model` is the one mapping between them.

use gslb_model::model::history::{Event, VantageVote};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::drills::report::format_millis;

/// How one vantage voted on one check when the event was derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VantageVoteDto {
    /// The check id.
    pub check: String,
    /// The vantage (a region id).
    pub vantage: String,
    /// `up`, `down` or `stale`.
    pub vote: String,
    /// Its last round-trip time in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_us: Option<u32>,
    /// Why its last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One derived transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventDto {
    /// Position in the history, from 1; pass the last one seen as `after` to follow.
    pub seq: u64,
    /// Leader time, unix milliseconds.
    pub at: u64,
    /// The same instant in RFC 3339 (UTC).
    pub time: String,
    /// The state version (Raft log index) whose apply derived it.
    pub version: u64,
    /// `check`, `endpoint`, `region`, `lease`, `override` or `drill`.
    pub kind: String,
    /// The id of what changed.
    pub subject: String,
    /// The state before (`up`, `down`, `unknown`, `valid`, `expired`, `active`, `inactive`,
    /// `none`, `running`, `completed`, `aborted`).
    pub from: String,
    /// The state after.
    pub to: String,
    /// Why, in one line.
    pub cause: String,
    /// How each vantage voted on the checks behind it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub votes: Vec<VantageVoteDto>,
    /// The GSLB records (`name TYPE`) whose answers it can change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
    /// How many more records beyond those listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub records_more: usize,
}

/// `serde` helper.
fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// An answer of `/v1/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventsDto {
    /// The matching events, oldest first.
    pub items: Vec<EventDto>,
    /// The newest `seq` in the history (whether it matched or not); follow with
    /// `after=last_seq`.
    pub last_seq: u64,
    /// How many events the history keeps at most (older ones are dropped).
    pub retained: usize,
}

impl EventDto {
    /// From the model.
    pub fn from_model(event: &Event) -> EventDto {
        EventDto {
            seq: event.seq,
            at: event.at,
            time: format_millis(event.at),
            version: event.version,
            kind: event.kind.word().to_string(),
            subject: event.subject.clone(),
            from: event.from.clone(),
            to: event.to.clone(),
            cause: event.cause.clone(),
            votes: event.votes.iter().map(VantageVoteDto::from_model).collect(),
            records: event.records.clone(),
            records_more: event.records_more,
        }
    }
}

impl VantageVoteDto {
    /// From the model.
    pub fn from_model(vote: &VantageVote) -> VantageVoteDto {
        VantageVoteDto {
            check: vote.check.clone(),
            vantage: vote.vantage.clone(),
            vote: vote.vote.clone(),
            rtt_us: vote.rtt_us,
            error: vote.error.clone(),
        }
    }
}
