//! `GET /v1/events` (read): the history of derived transitions — check, endpoint and region
//! status, leases, overrides, drill steps — each with its time, cause (votes per vantage)
//! and the GSLB records it can move. Filters: `since` (RFC 3339, or a duration back from
//! now such as `1h`), `record` (a name, or `name TYPE`), `after` (a `seq`, to follow), and
//! `limit`.
//!
//! The history is part of the replicated state (`gslb_model::model::history`), so every
//! node answers alike once it applied the same version.
//!
//! `log_events` writes one structured log line per new event, on every node.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::Json;
use gslb_model::clock::unix_millis;
use gslb_model::duration::parse_duration;
use gslb_model::model::history::{Event, EVENTS_RETAINED};
use gslb_model::model::State as StoreState;
use gslb_store::raft::WeakNodeHandle;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::dto::events::{EventDto, EventsDto};
use crate::error::ApiError;
use crate::ApiContext;

/// `?since=&record=&after=&limit=`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events at or after this instant: RFC 3339 (`2026-12-07T03:12:00Z`) or a duration
    /// back from now (`90s`, `5m`, `1h`, `2d`).
    pub since: Option<String>,
    /// Only events that can move this record: a name (`www.example.com`, trailing dot
    /// optional, any type) or `name TYPE` (`www.example.com. A`).
    pub record: Option<String>,
    /// Only events with a `seq` above this (what `gslbctl events --follow` passes).
    pub after: Option<u64>,
    /// At most this many events, the newest of those matching (1 to 1000; default 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The history, filtered; oldest first.
#[utoipa::path(get, path = "/v1/events", tag = "health", params(EventsQuery),
    responses((status = 200, description = "the matching events, oldest first", body = EventsDto),
              (status = 422, description = "`since` or `limit` is not valid", body = crate::error::ErrorBody)))]
pub async fn list_events(
    State(context): State<ApiContext>,
    Query(query): Query<EventsQuery>,
) -> Result<Json<EventsDto>, ApiError> {
    let since = match query.since.as_deref() {
        Some(text) => Some(
            parse_since(text, unix_millis())
                .map_err(|message| ApiError::field("since", message))?,
        ),
        None => None,
    };
    let limit = match query.limit {
        None => EVENTS_RETAINED,
        Some(limit @ 1..=1000) => limit as usize,
        Some(other) => {
            return Err(ApiError::field(
                "limit",
                format!("must be 1 to 1000, got {other}"),
            ))
        }
    };
    let record = query.record.as_deref().map(RecordFilter::parse);
    let state = context.node.state();
    Ok(Json(select(
        &state,
        since,
        record.as_ref(),
        query.after,
        limit,
    )))
}

/// The matching events of `state`, the newest `limit` of them, oldest first.
fn select(
    state: &StoreState,
    since: Option<u64>,
    record: Option<&RecordFilter>,
    after: Option<u64>,
    limit: usize,
) -> EventsDto {
    let mut items: Vec<EventDto> = state
        .history
        .events
        .iter()
        .rev()
        .filter(|event| after.is_none_or(|after| event.seq > after))
        .filter(|event| since.is_none_or(|since| event.at >= since))
        .filter(|event| record.is_none_or(|record| record.matches(event)))
        .take(limit)
        .map(EventDto::from_model)
        .collect();
    items.reverse();
    EventsDto {
        items,
        last_seq: state.history.last_seq,
        retained: EVENTS_RETAINED,
    }
}

/// `since` as unix millis: RFC 3339, or a duration back from `now`.
pub fn parse_since(text: &str, now: u64) -> Result<u64, String> {
    let text = text.trim();
    if let Ok(instant) = chrono::DateTime::parse_from_rfc3339(text) {
        // Nothing happened before 1970: an earlier instant selects the whole history.
        return Ok(u64::try_from(instant.timestamp_millis()).unwrap_or(0));
    }
    if text.parse::<f64>().is_ok() {
        return Err(format!(
            "{text:?} has no unit: give a duration back from now (30m, 1h) or an RFC 3339 \
             time (2026-12-07T03:12:00Z)"
        ));
    }
    match parse_duration(text) {
        Ok(back) => Ok(now.saturating_sub(u64::try_from(back.as_millis()).unwrap_or(u64::MAX))),
        Err(error) => Err(format!(
            "must be an RFC 3339 time (2026-12-07T03:12:00Z) or a duration back from now \
             (30m, 1h): {error}"
        )),
    }
}

/// A `record` filter: a name, with a type or not.
struct RecordFilter {
    /// Lowercase, absolute.
    name: String,
    /// Uppercase, when given.
    rtype: Option<String>,
}

impl RecordFilter {
    /// `www.example.com`, `www.example.com.`, `www.example.com. A` or `www.example.com/A`.
    fn parse(text: &str) -> RecordFilter {
        let mut words = text.split([' ', '/']).filter(|word| !word.is_empty());
        let mut name = words.next().unwrap_or("").to_ascii_lowercase();
        if !name.ends_with('.') {
            name.push('.');
        }
        RecordFilter {
            name,
            rtype: words.next().map(str::to_ascii_uppercase),
        }
    }

    /// Whether `event` names the record.
    fn matches(&self, event: &Event) -> bool {
        event.records.iter().any(|record| {
            let (name, rtype) = record.split_once(' ').unwrap_or((record, ""));
            name.eq_ignore_ascii_case(&self.name)
                && self.rtype.as_deref().is_none_or(|wanted| wanted == rtype)
        })
    }
}

/// Logs one line per event added to the history, on this node, as versions are applied
/// (starting after the history that was there at start). Holds the node weakly; ends with it.
pub async fn log_events(node: WeakNodeHandle) {
    let Some(mut states) = node.upgrade().map(|node| node.state_watch()) else {
        return;
    };
    let mut logged = states.borrow_and_update().history.last_seq;
    loop {
        let changed = tokio::time::timeout(Duration::from_secs(5), states.changed()).await;
        if matches!(changed, Ok(Err(_))) || node.upgrade().is_none() {
            return;
        }
        let state: Arc<StoreState> = states.borrow_and_update().clone();
        // Newest first up to the last one logged (the history is in `seq` order): a walk of
        // the whole retained history on every applied write cost more than the write.
        let unlogged: Vec<&Event> = state
            .history
            .events
            .iter()
            .rev()
            .take_while(|event| event.seq > logged)
            .collect();
        for event in unlogged.into_iter().rev() {
            log_event(event);
        }
        logged = logged.max(state.history.last_seq);
    }
}

/// One structured line.
fn log_event(event: &Event) {
    let votes: Vec<String> = event
        .votes
        .iter()
        .map(|vote| format!("{}@{}={}", vote.check, vote.vantage, vote.vote))
        .collect();
    tracing::info!(
        target: "gslb::events",
        seq = event.seq,
        at = event.at,
        version = event.version,
        kind = event.kind.word(),
        subject = %event.subject,
        from = %event.from,
        to = %event.to,
        cause = %event.cause,
        votes = %votes.join(","),
        records = %event.records.join(","),
        "{} {} {} -> {}",
        event.kind.word(),
        event.subject,
        event.from,
        event.to
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_rfc3339_or_a_duration() {
        assert_eq!(parse_since("1970-01-01T00:01:00Z", 0), Ok(60_000));
        assert_eq!(parse_since("1970-01-01T01:01:00+01:00", 0), Ok(60_000));
        assert_eq!(parse_since("5m", 600_000), Ok(300_000));
        assert_eq!(parse_since("1h", 1_000), Ok(0));
        assert!(parse_since("yesterday", 0)
            .unwrap_err()
            .contains("RFC 3339"));
    }

    #[test]
    fn record_filters_by_name_and_type() {
        let event = |records: &[&str]| Event {
            seq: 1,
            at: 0,
            version: 1,
            kind: gslb_model::model::history::EventKind::Region,
            subject: "r1".to_string(),
            from: "up".to_string(),
            to: "down".to_string(),
            cause: String::new(),
            votes: Vec::new(),
            records: records.iter().map(|r| r.to_string()).collect(),
            records_more: 0,
        };
        let www = event(&["www.example.com. A"]);
        assert!(RecordFilter::parse("WWW.example.com").matches(&www));
        assert!(RecordFilter::parse("www.example.com. A").matches(&www));
        assert!(RecordFilter::parse("www.example.com/a").matches(&www));
        assert!(!RecordFilter::parse("www.example.com AAAA").matches(&www));
        assert!(!RecordFilter::parse("api.example.com").matches(&www));
    }
}
