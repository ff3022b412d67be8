//! `gslbctl drill plan|start|status|abort|report`: failover drills over `/v1/drills`.
//!
//! `start` prints the plan it runs, then (unless `--no-wait`) follows the drill: each DNS
//! node's convergence out as it is measured, guard trips, the end, and the way back, and
//! finishes with the report. `status` shows one drill (or all); `report` prints the
//! Markdown report (`-o json` the drill itself).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use gslb_api::drills::plan::ratio;
use gslb_api::drills::DrillPlan;
use gslb_api::dto::DrillDto;
use gslb_api::routes::drills::{PlanRequest, StartRequest};

use gslb_api::drills::report::format_millis;

use crate::ctl::Ctl;
use crate::print::table_of;
use crate::{parse_duration, Output};

/// How a drill takes its region out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// An expiring drain override: the region leaves every answer at once.
    Drain,
    /// The probers report the region failed: the whole health path runs.
    Fail,
}

impl Mode {
    fn word(self) -> String {
        match self {
            Mode::Drain => "drain".into(),
            Mode::Fail => "fail".into(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// Show what a drill would do, changing nothing: records that change, where each
    /// client group goes, each region's load against its capacity, warnings and blockers.
    Plan {
        /// The region to take out.
        #[arg(long)]
        region: String,
        /// How.
        #[arg(long, value_enum, default_value_t = Mode::Drain)]
        mode: Mode,
        /// The load guard to check against (ratio of a survivor's capacity share).
        #[arg(long)]
        max_load: Option<f64>,
    },
    /// Start a drill that ends by itself after --for, then follow it to its report.
    Start {
        /// The region to take out.
        #[arg(long)]
        region: String,
        /// How long (e.g. 10m, 90s).
        #[arg(long = "for", value_parser = parse_duration)]
        duration: Duration,
        /// How.
        #[arg(long, value_enum, default_value_t = Mode::Drain)]
        mode: Mode,
        /// Abort when a survivor would carry more than this ratio of its capacity share.
        #[arg(long)]
        max_load: Option<f64>,
        /// Run even when the plan has blockers (a record left with no answer).
        #[arg(long)]
        force: bool,
        /// The drill id (default: region and start time).
        #[arg(long)]
        id: Option<String>,
    },
    /// One drill's state (or every drill's, without ID).
    Status {
        /// The drill id.
        id: Option<String>,
    },
    /// Abort a running drill: the region returns, and the way back is measured.
    Abort {
        /// The drill id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// A drill's report: Markdown (table output) or the drill as JSON/YAML.
    Report {
        /// The drill id.
        id: String,
    },
}

/// Runs one drill command.
pub async fn run(ctl: &Ctl, command: DrillCommand) -> Result<()> {
    match command {
        DrillCommand::Plan {
            region,
            mode,
            max_load,
        } => {
            let request = PlanRequest {
                region,
                mode: Some(mode.word()),
                max_load,
            };
            let plan = ctl.client.plan_drill(&request).await?;
            ctl.show(&plan, || print_plan(&plan))
        }
        DrillCommand::Start {
            region,
            duration,
            mode,
            max_load,
            force,
            id,
        } => {
            let plan_request = PlanRequest {
                region: region.clone(),
                mode: Some(mode.word()),
                max_load,
            };
            if ctl.output == Output::Table {
                print_plan(&ctl.client.plan_drill(&plan_request).await?);
                outln!();
            }
            let request = StartRequest {
                region,
                mode: Some(mode.word()),
                duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
                max_load,
                force,
                id,
            };
            let started = ctl.client.start_drill(&request).await?;
            let drill = started.drill;
            if ctl.output != Output::Table {
                return ctl.show(&drill, || {});
            }
            outln!(
                "drill {} started: {} {} until {} (version {})",
                drill.id,
                drill.mode,
                drill.region,
                format_millis(drill.planned_end),
                started.version
            );
            if !ctl.wait {
                outln!("follow it with: gslbctl drill status {}", drill.id);
                return Ok(());
            }
            follow(ctl, &drill.id).await
        }
        DrillCommand::Status { id } => {
            let drills = match id {
                Some(id) => vec![ctl.client.get_drill(&id).await?],
                None => ctl.client.list_drills().await?,
            };
            ctl.show(&drills, || drill_status_table(&drills))
        }
        DrillCommand::Abort { id, reason } => {
            let drill = ctl.client.abort_drill(&id, reason).await?;
            ctl.show(&drill, || {
                outln!(
                    "drill {} aborted: {}",
                    drill.id,
                    drill.end_reason.as_deref().unwrap_or("")
                )
            })
        }
        DrillCommand::Report { id } => {
            if ctl.output == Output::Table {
                out!("{}", ctl.client.drill_report(&id).await?);
                Ok(())
            } else {
                let drill = ctl.client.get_drill(&id).await?;
                ctl.show(&drill, || {})
            }
        }
    }
}

/// Follows a drill until its way back is measured (or the drill leaves no more to wait
/// for), printing each change, then prints the report. Ctrl-C stops following, not the
/// drill.
async fn follow(ctl: &Ctl, id: &str) -> Result<()> {
    let mut seen_out = BTreeSet::new();
    let mut seen_back = BTreeSet::new();
    let mut seen_status = String::from("running");
    loop {
        let drill = ctl.client.get_drill(id).await?;
        for (node, ms) in newly_converged(&drill.convergence_ms, &mut seen_out) {
            outln!(
                "  dns node {node} stopped answering with {} after {ms} ms",
                drill.region
            );
        }
        if drill.status != seen_status {
            outln!(
                "drill {}: {}",
                drill.status,
                drill.end_reason.as_deref().unwrap_or("")
            );
            seen_status = drill.status.clone();
        }
        for (node, ms) in newly_converged(&drill.restore_ms, &mut seen_back) {
            outln!(
                "  dns node {node} answers with {} again after {ms} ms",
                drill.region
            );
        }
        let done = drill.status != "running"
            && drill
                .answers
                .iter()
                .any(|answers| answers["phase"] == "after");
        if done {
            outln!();
            out!("{}", ctl.client.drill_report(id).await?);
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = tokio::signal::ctrl_c() => {
                outln!("stopped following; the drill goes on: gslbctl drill status {id}");
                return Ok(());
            }
        }
    }
}

/// The nodes in `times` not printed yet, remembered in `seen`. Nodes converge in any order,
/// so what is new is not a suffix of the id-ordered map.
fn newly_converged<'t>(
    times: &'t BTreeMap<String, u64>,
    seen: &mut BTreeSet<String>,
) -> Vec<(&'t String, &'t u64)> {
    times
        .iter()
        .filter(|(node, _)| seen.insert((*node).clone()))
        .collect()
}

fn print_plan(plan: &DrillPlan) {
    outln!("drill plan: {} {}", plan.mode, plan.region);
    if plan.records.is_empty() {
        outln!("records that change: none");
    } else {
        outln!("records that change: {}", plan.records.join(", "));
    }
    if !plan.clients.is_empty() {
        outln!();
        table_of(
            &["RECORD", "CLIENTS", "BEFORE", "AFTER", "OUTCOME"],
            &plan.clients,
            |row| {
                vec![
                    row.record.clone(),
                    row.clients.clone(),
                    shares(&row.before),
                    shares(&row.after),
                    row.outcome_after.clone(),
                ]
            },
        );
    }
    if !plan.load.is_empty() {
        outln!();
        table_of(
            &[
                "REGION",
                "CAPACITY",
                "SHARE BEFORE",
                "SHARE AFTER",
                "LOAD BEFORE",
                "LOAD AFTER",
            ],
            &plan.load,
            |load| {
                vec![
                    load.region.clone(),
                    format!("{} ({})", load.capacity, load.capacity_source),
                    format!("{:.1}%", f64::from(load.share_before) / 10.0),
                    format!("{:.1}%", f64::from(load.share_after) / 10.0),
                    ratio(load.load_before_percent),
                    ratio(load.load_after_percent),
                ]
            },
        );
    }
    for warning in &plan.warnings {
        outln!("warning: {warning}");
    }
    for blocker in &plan.blockers {
        outln!("BLOCKER: {blocker} (start refuses without --force)");
    }
}

fn shares(regions: &BTreeMap<String, u32>) -> String {
    if regions.is_empty() {
        return "nothing".into();
    }
    regions
        .iter()
        .map(|(region, share)| format!("{region} {}%", share / 10))
        .collect::<Vec<_>>()
        .join(", ")
}

fn drill_status_table(drills: &[DrillDto]) {
    if drills.is_empty() {
        outln!("no drills");
        return;
    }
    table_of(
        &[
            "ID",
            "REGION",
            "MODE",
            "STATUS",
            "STARTED",
            "ENDS/ENDED",
            "OUT",
            "BACK",
            "REASON",
        ],
        drills,
        |drill| {
            vec![
                drill.id.clone(),
                drill.region.clone(),
                drill.mode.clone(),
                drill.status.clone(),
                format_millis(drill.started_at),
                format_millis(drill.ended_at.unwrap_or(drill.planned_end)),
                converged(&drill.convergence_ms, drill.measured_nodes.len()),
                converged(&drill.restore_ms, drill.measured_nodes.len()),
                drill.end_reason.clone().unwrap_or_default(),
            ]
        },
    );
}

/// `2/2 nodes, max 180 ms`.
fn converged(times: &BTreeMap<String, u64>, measured: usize) -> String {
    match times.values().max() {
        Some(max) => format!("{}/{measured} nodes, max {max} ms", times.len()),
        None if measured == 0 => "not measured".into(),
        None => format!("0/{measured} nodes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node with a smaller id converging after a larger one is still printed once, and
    /// nothing is printed twice.
    #[test]
    fn newly_converged_follows_arrival_not_id_order() {
        let mut seen = BTreeSet::new();
        let mut times = BTreeMap::from([("5".to_string(), 40)]);
        assert_eq!(
            newly_converged(&times, &mut seen),
            [(&"5".to_string(), &40)]
        );
        times.insert("4".to_string(), 90);
        assert_eq!(
            newly_converged(&times, &mut seen),
            [(&"4".to_string(), &90)]
        );
        assert!(newly_converged(&times, &mut seen).is_empty());
    }
}
