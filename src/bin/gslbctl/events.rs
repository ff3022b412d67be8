//! `events [--since WHEN] [--record NAME] [--follow]`: the history of derived transitions —
//! why traffic moved — as a table (time, what, from → to, cause, votes per vantage, records
//! it can move) or JSON/YAML. `--follow` keeps polling for new events (one JSON object a line
//! with `-o json`) until interrupted.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use gslb_api::client::segment;
use gslb_api::dto::events::{EventDto, EventsDto};

use crate::ctl::Ctl;
use crate::print::print_table;
use crate::Output;

/// How often `--follow` asks for new events.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// `events`.
pub(crate) async fn run(
    ctl: &Ctl,
    since: Option<String>,
    record: Option<String>,
    follow: bool,
) -> Result<()> {
    let mut query = Vec::new();
    if let Some(since) = &since {
        query.push(format!("since={}", segment(since)));
    }
    if let Some(record) = &record {
        query.push(format!("record={}", segment(record)));
    }
    let path = |after: Option<u64>| {
        let mut query = query.clone();
        if let Some(after) = after {
            query.push(format!("after={after}"));
        }
        if query.is_empty() {
            "/v1/events".to_string()
        } else {
            format!("/v1/events?{}", query.join("&"))
        }
    };
    let first: EventsDto = ctl.client.get(&path(None)).await?;
    if !follow {
        return ctl.show(&first, || {
            if first.items.is_empty() {
                outln!("no events");
            } else {
                event_table(&first.items, true);
            }
        });
    }
    let mut last = first.last_seq;
    print_follow(ctl, &first.items, true)?;
    loop {
        tokio::time::sleep(FOLLOW_EVERY).await;
        let next: EventsDto = ctl.client.get(&path(Some(last))).await?;
        print_follow(ctl, &next.items, false)?;
        last = last.max(next.last_seq);
    }
}

/// Prints followed events: JSON lines, or table rows (headers only at first).
fn print_follow(ctl: &Ctl, items: &[EventDto], first: bool) -> Result<()> {
    match ctl.output {
        Output::Table => {
            if first || !items.is_empty() {
                event_table(items, first);
            }
        }
        _ => {
            for event in items {
                outln!("{}", serde_json::to_string(event)?);
            }
        }
    }
    Ok(())
}

/// The table: TIME, KIND, SUBJECT, CHANGE, CAUSE, VOTES, RECORDS.
fn event_table(items: &[EventDto], headers: bool) {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|event| {
            let mut records = event.records.join(",");
            if event.records_more > 0 {
                records.push_str(&format!(" (+{} more)", event.records_more));
            }
            vec![
                event.time.clone(),
                event.kind.clone(),
                event.subject.clone(),
                format!("{}->{}", event.from, event.to),
                event.cause.clone(),
                votes_cell(event),
                if records.is_empty() {
                    "-".to_string()
                } else {
                    records
                },
            ]
        })
        .collect();
    let names = [
        "TIME", "KIND", "SUBJECT", "CHANGE", "CAUSE", "VOTES", "RECORDS",
    ];
    if headers {
        print_table(&names, rows);
    } else {
        for row in rows {
            outln!("{}", row.join("  "));
        }
    }
}

/// `check: vantage=vote ...; check2: ...`, or `-`.
fn votes_cell(event: &EventDto) -> String {
    let mut by_check: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for vote in &event.votes {
        by_check
            .entry(vote.check.as_str())
            .or_default()
            .push(format!("{}={}", vote.vantage, vote.vote));
    }
    if by_check.is_empty() {
        return "-".to_string();
    }
    by_check
        .iter()
        .map(|(check, votes)| format!("{check}: {}", votes.join(" ")))
        .collect::<Vec<_>>()
        .join("; ")
}
