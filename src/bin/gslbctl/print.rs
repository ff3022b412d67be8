//! The human tables of every resource (`-o table`); JSON and YAML are `Ctl::show`'s.

use gslb_api::drills::report::format_millis;
use gslb_api::dto::{
    AuditEntryDto, ClusterStatus, EndpointDto, RecordSetDto, RegionDto, TokenDto, ZoneSummary,
};

use serde_json::Value;

/// Prints rows under headers, columns padded to their widest cell.
pub(crate) fn print_table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (index, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(index) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(index, cell)| format!("{cell:<width$}", width = widths[index]))
            .collect();
        outln!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row);
    }
}

/// Prints one row per item of `items`, built by `row`, under `headers`.
pub(crate) fn table_of<T>(
    headers: &[&str],
    items: impl IntoIterator<Item = T>,
    row: impl Fn(T) -> Vec<String>,
) {
    print_table(headers, items.into_iter().map(row).collect());
}

pub(crate) fn zone_table(zones: &[ZoneSummary]) {
    table_of(&["APEX", "SERIAL", "RECORD SETS"], zones, |z| {
        vec![
            z.apex.clone(),
            z.serial.to_string(),
            z.record_sets.to_string(),
        ]
    });
}

pub(crate) fn record_table(records: &[RecordSetDto]) {
    table_of(&["NAME", "TYPE", "TTL", "DATA"], records, |r| {
        vec![
            r.name.clone(),
            r.rtype.to_string(),
            r.ttl.map(|t| t.to_string()).unwrap_or_default(),
            r.data.join(", "),
        ]
    });
}

pub(crate) fn region_table(regions: &[RegionDto]) {
    table_of(
        &["ID", "LAT", "LON", "COUNTRY", "CONTINENT", "CAPACITY"],
        regions,
        |r| {
            vec![
                r.id.clone(),
                r.location.lat.to_string(),
                r.location.lon.to_string(),
                r.location.country.clone(),
                r.location.continent.clone(),
                r.capacity
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".to_string()),
            ]
        },
    );
}

pub(crate) fn network_table(networks: &[gslb_api::dto::NetworkDto]) {
    let or_dash = |text: Option<String>| text.unwrap_or_else(|| "-".to_string());
    table_of(
        &[
            "CIDR",
            "CONTINENT",
            "COUNTRY",
            "SUBDIVISION",
            "ASN",
            "LAT",
            "LON",
        ],
        networks,
        |n| {
            vec![
                n.cidr.clone(),
                or_dash(n.continent.clone()),
                or_dash(n.country.clone()),
                or_dash(n.subdivision.clone()),
                or_dash(n.asn.map(|asn| asn.to_string())),
                or_dash(n.lat.map(|lat| lat.to_string())),
                or_dash(n.lon.map(|lon| lon.to_string())),
            ]
        },
    );
}

pub(crate) fn endpoint_table(endpoints: &[EndpointDto]) {
    table_of(
        &["ID", "REGION", "TARGET", "WEIGHT", "ENABLED", "LABELS"],
        endpoints,
        |e| {
            vec![
                e.id.clone(),
                e.region.clone(),
                e.address
                    .clone()
                    .or_else(|| e.cname.clone())
                    .unwrap_or_default(),
                e.weight.to_string(),
                e.enabled.to_string(),
                e.labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
            ]
        },
    );
}

pub(crate) fn token_table(tokens: &[TokenDto]) {
    table_of(&["ID", "SCOPES", "EXPIRES"], tokens, |t| {
        vec![
            t.id.clone(),
            t.scopes
                .iter()
                .map(|s| format!("{s:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(","),
            t.expires_at
                .map(format_millis)
                .unwrap_or_else(|| "never".to_string()),
        ]
    });
}

pub(crate) fn tsig_key_table(keys: &[gslb_api::dto::TsigKeyDto]) {
    table_of(&["NAME", "ALGORITHM", "UPDATE", "TRANSFER"], keys, |key| {
        vec![
            key.name.clone(),
            key.algorithm.clone(),
            key.update.join(" "),
            key.transfer.join(" "),
        ]
    });
}

pub(crate) fn override_table(rules: &[gslb_api::dto::OverrideDto]) {
    table_of(
        &["ID", "TARGET", "ACTION", "EXPIRES", "REASON"],
        rules,
        |r| {
            vec![
                r.id.clone(),
                match (&r.region, &r.endpoint) {
                    (Some(region), _) => format!("region/{region}"),
                    (_, Some(endpoint)) => format!("endpoint/{endpoint}"),
                    _ => "-".to_string(),
                },
                format!("{:?}", r.action).to_lowercase(),
                r.expires_at
                    .map(format_millis)
                    .unwrap_or_else(|| "never".to_string()),
                r.reason.clone(),
            ]
        },
    );
}

pub(crate) fn gslb_record_table(records: &[gslb_api::dto::GslbRecordDto]) {
    table_of(
        &["NAME", "TYPE", "TTL", "POLICY", "WHEN ALL DOWN", "GUARD"],
        records,
        |r| {
            vec![
                r.name.clone(),
                r.rtype.to_string(),
                r.ttl.to_string(),
                serde_json::to_string(&r.policy).unwrap_or_default(),
                serde_json::to_value(&r.when_all_down)
                    .map(|v| match v {
                        Value::String(text) => text,
                        other => other.to_string(),
                    })
                    .unwrap_or_default(),
                r.split_brain_guard.to_string(),
            ]
        },
    );
}

pub(crate) fn check_table(checks: &[gslb_api::dto::CheckDto]) {
    table_of(
        &[
            "ID",
            "SUBJECT",
            "TYPE",
            "TARGET",
            "INTERVAL",
            "RISE/FALL",
            "VANTAGES",
        ],
        checks,
        |c| {
            vec![
                c.id.clone(),
                match (&c.endpoint, &c.region) {
                    (Some(endpoint), _) => format!("endpoint/{endpoint}"),
                    (_, Some(region)) => format!("region/{region}"),
                    _ => "-".to_string(),
                },
                serde_json::to_value(&c.kind)
                    .ok()
                    .and_then(|kind| kind["type"].as_str().map(str::to_string))
                    .unwrap_or_default(),
                c.target.clone().unwrap_or_else(|| "-".to_string()),
                format!("{}ms", c.interval_ms),
                format!("{}/{}", c.rise, c.fall),
                if c.vantages.is_empty() {
                    "all".to_string()
                } else {
                    c.vantages.join(",")
                },
            ]
        },
    );
}

pub(crate) fn drill_table(drills: &[gslb_api::dto::DrillDto]) {
    table_of(
        &["ID", "REGION", "MODE", "STATUS", "STARTED", "ENDS"],
        drills,
        |d| {
            vec![
                d.id.clone(),
                d.region.clone(),
                d.mode.clone(),
                d.status.clone(),
                format_millis(d.started_at),
                format_millis(d.planned_end),
            ]
        },
    );
}

pub(crate) fn health_table(health: &gslb_api::dto::health::HealthDto) {
    let status = |s: gslb_api::dto::health::StatusDto| format!("{s:?}").to_uppercase();
    let votes = |v: &gslb_api::dto::health::VotesDto| {
        format!(
            "{}/{} up (quorum {}, {} stale)",
            v.up, v.total, v.quorum, v.stale
        )
    };
    outln!("REGIONS");
    table_of(
        &["ID", "STATUS", "DEEP", "ENDPOINTS UP", "VOTES", "LEASE"],
        &health.regions,
        |r| {
            vec![
                r.id.clone(),
                status(r.status),
                status(r.deep),
                format!(
                    "{}/{} (need {})",
                    r.endpoints_up, r.endpoints_enabled, r.min_healthy
                ),
                votes(&r.votes),
                r.lease_expires_at
                    .map(format_millis)
                    .unwrap_or_else(|| "-".to_string()),
            ]
        },
    );
    outln!("\nENDPOINTS");
    table_of(&["ID", "STATUS", "VOTES"], &health.endpoints, |e| {
        vec![e.id.clone(), status(e.status), votes(&e.votes)]
    });
    outln!("\nCHECKS");
    table_of(&["ID", "STATUS", "VOTES", "ERRORS"], &health.checks, |c| {
        vec![
            c.id.clone(),
            status(c.status),
            votes(&c.votes),
            c.errors
                .iter()
                .map(|(vantage, error)| format!("{vantage}: {error}"))
                .collect::<Vec<_>>()
                .join("; "),
        ]
    });
}

pub(crate) fn audit_table(entries: &[AuditEntryDto]) {
    table_of(&["VERSION", "AT", "WHO", "FROM", "WHAT"], entries, |e| {
        vec![
            e.version.to_string(),
            format_millis(e.at),
            e.who.clone(),
            e.from.clone().unwrap_or_else(|| "-".to_string()),
            e.summary.clone(),
        ]
    });
}

pub(crate) fn cluster_table(status: &ClusterStatus) {
    let node = &status.node;
    outln!(
        "node {}  role {}  term {}  leader {}  applied {}  version {}  {}",
        node.id,
        node.role,
        node.term,
        node.leader
            .map(|l| l.to_string())
            .unwrap_or_else(|| "none".to_string()),
        node.applied_index,
        status.version,
        if node.stale { "STALE" } else { "fresh" }
    );
    outln!("voters {:?}  learners {:?}", node.voters, node.learners);
    if !status.members.is_empty() {
        outln!();
        table_of(
            &[
                "ID",
                "ADDR",
                "ROLE",
                "RUNS",
                "REGION",
                "APPLIED",
                "LAST CONTACT",
            ],
            &status.members,
            |m| {
                vec![
                    m.id.to_string(),
                    m.addr.clone(),
                    m.raft_role.clone(),
                    m.roles.join(","),
                    m.region.clone().unwrap_or_else(|| "-".to_string()),
                    m.applied_index.to_string(),
                    match m.last_contact_ms {
                        Some(ago) if m.reachable => format!("{:.1}s ago", ago as f64 / 1000.0),
                        Some(ago) => format!("{:.1}s ago (UNREACHABLE)", ago as f64 / 1000.0),
                        None => "never (UNREACHABLE)".to_string(),
                    },
                ]
            },
        );
    }
}
