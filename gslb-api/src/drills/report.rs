//! A drill as a Markdown report: summary, per-node convergence out and back, answers per
//! client group before / during / after, guard results and the timeline. Served by
//! `GET /v1/drills/{id}/report?format=markdown` and printed by `gslbctl drill report`.

use std::collections::BTreeSet;
use std::fmt::Write;

use gslb_model::model::{Drill, DrillMode, DrillPhase, DrillStatus};

/// Unix millis as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn format_millis(millis: u64) -> String {
    let seconds = millis / 1000;
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        (rest % 3600) / 60,
        rest % 60
    )
}

/// `drain`, `fail`.
pub fn mode_word(mode: DrillMode) -> &'static str {
    match mode {
        DrillMode::Drain => "drain",
        DrillMode::Fail => "fail",
    }
}

/// `running`, `completed`, `aborted`.
pub fn status_word(status: DrillStatus) -> &'static str {
    match status {
        DrillStatus::Running => "running",
        DrillStatus::Completed => "completed",
        DrillStatus::Aborted => "aborted",
    }
}

/// The report; `dns_nodes` are the DNS members known now (to name unmeasured ones).
pub fn render_markdown(drill: &Drill, dns_nodes: &[u64]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Drill {}: {} {}\n",
        drill.id,
        mode_word(drill.mode),
        drill.region
    );
    let status = match &drill.end_reason {
        Some(reason) => format!("{} ({reason})", status_word(drill.status)),
        None => status_word(drill.status).to_string(),
    };
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| Status | {status} |");
    let _ = writeln!(
        out,
        "| Started | {} by {} |",
        format_millis(drill.started_at),
        if drill.started_by.is_empty() {
            "?"
        } else {
            &drill.started_by
        }
    );
    let _ = writeln!(
        out,
        "| Planned end | {} |",
        format_millis(drill.planned_end)
    );
    if let Some(ended) = drill.ended_at {
        let _ = writeln!(
            out,
            "| Ended | {} ({} s after start) |",
            format_millis(ended),
            seconds(ended.saturating_sub(drill.started_at))
        );
    }
    if let Some(limit) = drill.max_load_percent {
        let _ = writeln!(out, "| Max load | {} |", crate::drills::plan::ratio(limit));
    }
    let records = if drill.records.is_empty() {
        "none".to_string()
    } else {
        drill.records.join(", ")
    };
    let _ = writeln!(out, "| Records | {records} |");
    let survivors = if drill.survivors.is_empty() {
        "none".to_string()
    } else {
        drill
            .survivors
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "| Survivors | {survivors} |\n");

    let _ = writeln!(out, "## Convergence per DNS node\n");
    let _ = writeln!(out, "| DNS node | out | back |\n|---|---|---|");
    let nodes: BTreeSet<u64> = dns_nodes
        .iter()
        .chain(&drill.measured_nodes)
        .copied()
        .collect();
    for node in nodes {
        if !drill.measured_nodes.contains(&node) {
            let _ = writeln!(
                out,
                "| {node} | not measured (did not answer with {} before the drill) | |",
                drill.region
            );
            continue;
        }
        let cell = |value: Option<&u64>, pending: &str| {
            value.map_or(pending.to_string(), |ms| format!("{ms} ms"))
        };
        let out_pending = if drill.status == DrillStatus::Running {
            "waiting"
        } else {
            "did not converge"
        };
        let back_pending = if drill.status == DrillStatus::Running {
            ""
        } else {
            "waiting"
        };
        let _ = writeln!(
            out,
            "| {node} | {} | {} |",
            cell(drill.convergence_ms.get(&node), out_pending),
            cell(drill.restore_ms.get(&node), back_pending)
        );
    }
    let _ = writeln!(out);

    let _ = writeln!(out, "## Answers per client group\n");
    for answers in &drill.answers {
        let phase = match answers.phase {
            DrillPhase::Before => "before",
            DrillPhase::During => "during",
            DrillPhase::After => "after",
        };
        let _ = writeln!(out, "### {phase} ({})\n", format_millis(answers.at));
        let _ = writeln!(
            out,
            "| record | clients | regions | outcome |\n|---|---|---|---|"
        );
        for row in &answers.rows {
            let regions = if row.regions.is_empty() {
                "nothing".to_string()
            } else {
                row.regions
                    .iter()
                    .map(|(region, share)| format!("{region} {}%", share / 10))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                out,
                "| {} | {} | {regions} | {} |",
                row.record, row.clients, row.outcome
            );
        }
        let _ = writeln!(out);
    }

    let _ = writeln!(out, "## Guards\n");
    if drill.guards.is_empty() {
        let _ = writeln!(out, "No guard evaluated.\n");
    } else {
        let _ = writeln!(out, "| at | guard | result | detail |\n|---|---|---|---|");
        for guard in &drill.guards {
            let _ = writeln!(
                out,
                "| +{} s | {} | {} | {} |",
                seconds(guard.at.saturating_sub(drill.started_at)),
                guard.guard,
                if guard.tripped { "TRIPPED" } else { "passed" },
                guard.detail
            );
        }
        let _ = writeln!(out);
    }

    let _ = writeln!(out, "## Timeline\n");
    for event in &drill.timeline {
        let offset = event.at as i128 - drill.started_at as i128;
        let _ = writeln!(
            out,
            "- {}{} s: {}",
            if offset < 0 { "-" } else { "+" },
            seconds(offset.unsigned_abs() as u64),
            event.text
        );
    }
    out
}

/// Milliseconds as seconds with three decimals.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gslb_model::model::{AnswerRow, GuardCheck, PhaseAnswers};
    use std::collections::BTreeMap;

    /// Dates format as UTC.
    #[test]
    fn dates_format_as_utc() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_millis(1_700_000_000_000), "2023-11-14T22:13:20Z");
    }

    /// The report names the drill, each node's convergence (and the unmeasured one),
    /// answers per phase, guards and the timeline.
    #[test]
    fn the_report_has_every_section() {
        let drill: Drill = serde_json::from_value(serde_json::json!({
            "id": "d1", "region": "eu", "mode": "drain", "started_at": 1_700_000_000_000u64,
            "planned_end": 1_700_000_060_000u64, "status": "aborted", "started_by": "alice",
            "max_load_percent": 150, "records": ["www.example. A"], "measured_nodes": [4],
            "ended_at": 1_700_000_010_000u64, "end_reason": "aborted by alice",
            "convergence_ms": {"4": 180}, "restore_ms": {"4": 95},
        }))
        .unwrap();
        let mut drill = drill;
        drill.answers.push(PhaseAnswers {
            phase: DrillPhase::Before,
            at: drill.started_at,
            rows: vec![AnswerRow {
                record: "www.example. A".into(),
                clients: "unlocated".into(),
                regions: BTreeMap::from([("eu".to_string(), 1000)]),
                outcome: "healthy".into(),
            }],
        });
        drill.guards.push(GuardCheck {
            at: drill.started_at,
            guard: "max_load".into(),
            tripped: false,
            detail: "worst survivor us at 1.20×".into(),
        });
        drill.note(
            drill.started_at + 180,
            "dns node 4 stopped answering with eu",
        );
        let report = render_markdown(&drill, &[4, 5]);
        for needle in [
            "# Drill d1: drain eu",
            "| Status | aborted (aborted by alice) |",
            "| Started | 2023-11-14T22:13:20Z by alice |",
            "| Max load | 1.50× |",
            "| 4 | 180 ms | 95 ms |",
            "| 5 | not measured",
            "### before",
            "| www.example. A | unlocated | eu 100% | healthy |",
            "| +0.000 s | max_load | passed |",
            "- +0.180 s: dns node 4 stopped answering with eu",
        ] {
            assert!(
                report.contains(needle),
                "{needle:?} missing from:\n{report}"
            );
        }
    }
}
