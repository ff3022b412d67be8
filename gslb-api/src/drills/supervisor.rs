//! The drill supervisor: a task on every API node that acts only while its node leads.
//!
//! Every `TICK` while a drill needs it (running, or ended and not yet seen back), it reads
//! the replicated state and, for each such drill:
//! - running and past `planned_end`: ends it (`completed`), so expiry holds across leader
//!   changes and restarts (a drain override also expires by itself on every DNS node, and a
//!   fail drill's probes stop failing at the end without being told);
//! - running: evaluates the guards (a survivor turned down; a survivor's load over
//!   `max_load`) and aborts on a trip; queries every measured DNS node until it has stopped
//!   answering with the region for `CLEAN_ROUNDS` rounds in a row and records when the first
//!   of those rounds started; once all have, records the answers `during`;
//! - ended: queries the nodes again until each answers with the region once more, then
//!   records the answers `after` (or gives up after `BACK_WINDOW_MS`, saying which nodes
//!   never came back).
//!
//! With no such drill, or on a node that does not lead, it sleeps until the state changes
//! (a drill starts) or `IDLE_LOOK` passes (leadership moves without a state change), so an
//! idle node does not wake ten times a second for nothing.
//!
//! Everything it learns goes through Raft (`RecordDrill`, `EndDrill`); what it keeps in
//! memory (clean-round streaks, the highest load seen) is only a cache a new leader
//! rebuilds.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use gslb_model::clock::unix_millis;
use gslb_model::ip::Cidr;
use gslb_model::model::{
    Actor, AnswerRow, Direction, Drill, DrillEvent, DrillPhase, DrillStatus, DrillUpdate,
    GuardCheck, HealthStatus, PhaseAnswers, State,
};
use gslb_model::Command;
use gslb_store::raft::NodeHandle;
use tokio::task::JoinHandle;

use crate::drills::plan::{answer_rows, current_loads, ratio, region_targets};
use crate::drills::query::{ask, QueryError};

/// How often the supervisor looks while a drill needs it.
pub const TICK: Duration = Duration::from_millis(100);

/// How long the supervisor sleeps, at most, while no drill needs it: bounds how late a
/// node that just became leader takes over a running drill.
pub const IDLE_LOOK: Duration = Duration::from_secs(1);

/// How long one query to a DNS node may take.
const QUERY_TIMEOUT: Duration = Duration::from_millis(400);

/// Rounds in a row without the region before a node counts as converged.
pub const CLEAN_ROUNDS: u32 = 3;

/// How long after a drill's end the supervisor waits for nodes to answer with the region.
pub const BACK_WINDOW_MS: u64 = 120_000;

/// How often guards are evaluated.
const GUARD_EVERY_MS: u64 = 1_000;

/// The actor the supervisor writes as.
pub const SUPERVISOR: &str = "system:drills";

/// The queries that can show a region in a node's answers: one per record and client group
/// a query can impersonate (`unlocated`: no ECS; CIDR groups: their subnet as ECS) whose
/// answers held the region before the drill, repeated often enough to see its share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchQuery {
    /// Absolute name.
    pub name: String,
    /// `A`, `AAAA` or `CNAME`.
    pub qtype: String,
    /// The ECS subnet, if any.
    pub ecs: Option<(IpAddr, u8)>,
    /// Queries per round (enough to see the region's share with 98 % probability).
    pub count: u32,
}

/// The watch queries for `region` from the `before` rows of the drill's `records`.
pub fn watch_queries(rows: &[AnswerRow], records: &[String], region: &str) -> Vec<WatchQuery> {
    let mut queries = Vec::new();
    for row in rows.iter().filter(|row| records.contains(&row.record)) {
        let ecs = if row.clients == "unlocated" {
            None
        } else if let Ok(cidr) = Cidr::from_str(&row.clients) {
            Some((cidr.addr(), cidr.prefix()))
        } else {
            continue;
        };
        let share = f64::from(row.regions.get(region).copied().unwrap_or(0)) / 1000.0;
        if share <= 0.0 {
            continue;
        }
        let count = if share >= 1.0 {
            1
        } else {
            ((0.02f64).ln() / (1.0 - share).ln())
                .ceil()
                .clamp(1.0, 48.0) as u32
        };
        let Some((name, qtype)) = row.record.split_once(' ') else {
            continue;
        };
        queries.push(WatchQuery {
            name: name.to_string(),
            qtype: qtype.to_string(),
            ecs,
            count,
        });
    }
    queries
}

/// Whether any answer of one round of `queries` to `server` holds one of `targets`.
pub async fn sees_region(
    server: SocketAddr,
    queries: &[WatchQuery],
    targets: &BTreeSet<String>,
) -> Result<bool, QueryError> {
    for query in queries {
        for _ in 0..query.count {
            let answers = ask(server, &query.name, &query.qtype, query.ecs, QUERY_TIMEOUT).await?;
            if answers.iter().any(|answer| targets.contains(answer)) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The DNS members of the state with their DNS address.
pub fn dns_nodes(state: &State) -> Vec<(u64, SocketAddr)> {
    state
        .members
        .values()
        .filter(|member| member.serves_dns())
        .filter_map(|member| Some((member.id, member.dns_addr.as_deref()?.parse().ok()?)))
        .collect()
}

/// Starts the supervisor of `node`; abort the handle to stop it.
pub fn spawn_supervisor(node: NodeHandle) -> JoinHandle<()> {
    tokio::spawn(run(node))
}

/// What the supervisor remembers between ticks (rebuilt by a new leader).
#[derive(Default)]
struct Memory {
    /// Per (drill, node, direction): clean rounds in a row and when the first began.
    streaks: HashMap<(String, u64), (u32, u64)>,
    /// Per drill: when guards were last evaluated.
    guarded_at: HashMap<String, u64>,
    /// Per drill: the highest survivor load seen (region, percent).
    worst_load: HashMap<String, (String, u32)>,
}

async fn run(node: NodeHandle) {
    let mut memory = Memory::default();
    let mut changes = node.state_watch();
    let mut watching = true;
    loop {
        if watching {
            tokio::time::sleep(TICK).await;
        } else {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep(IDLE_LOOK) => {}
            }
        }
        changes.mark_unchanged();
        if !node.is_leader() {
            memory = Memory::default();
            watching = false;
            continue;
        }
        let state = node.state();
        watching = false;
        for drill in state.drills.values().filter(|drill| needs_watching(drill)) {
            watching = true;
            if let Err(error) = tick(&node, &state, drill, &mut memory).await {
                tracing::warn!(drill = %drill.id, %error, "drill supervisor: will retry");
            }
        }
    }
}

/// Whether the supervisor still has work on `drill`: it runs, or it ended and its answers
/// `after` are not recorded yet.
fn needs_watching(drill: &Drill) -> bool {
    drill.status == DrillStatus::Running
        || !drill
            .answers
            .iter()
            .any(|answers| answers.phase == DrillPhase::After)
}

/// One look at one drill.
async fn tick(
    node: &NodeHandle,
    state: &State,
    drill: &Drill,
    memory: &mut Memory,
) -> Result<(), String> {
    let now = unix_millis();
    if drill.status == DrillStatus::Running {
        if now >= drill.planned_end {
            return expire(node, drill, now, memory).await;
        }
        if let Some(trip) = guards(state, drill, now, memory) {
            return abort_on_guard(node, drill, trip).await;
        }
        converge_out(node, state, drill, now, memory).await
    } else {
        converge_back(node, state, drill, now).await
    }
}

/// The guard that tripped, if any (evaluated every `GUARD_EVERY_MS`).
fn guards(state: &State, drill: &Drill, now: u64, memory: &mut Memory) -> Option<GuardCheck> {
    let last = memory.guarded_at.entry(drill.id.clone()).or_insert(0);
    if now.saturating_sub(*last) < GUARD_EVERY_MS {
        return None;
    }
    *last = now;
    // Survivors are the regions that gain the drilled region's clients, so each was
    // answering (not down) at the start.
    let view = state.health_view(now);
    if let Some(region) = drill.survivors.iter().find(|region| {
        view.regions
            .get(*region)
            .is_some_and(|health| health.status == HealthStatus::Down)
    }) {
        return Some(GuardCheck {
            at: now,
            guard: "survivors_healthy".into(),
            tripped: true,
            detail: format!("survivor {region} turned down during the drill"),
        });
    }
    let limit = drill.max_load_percent?;
    let loads = current_loads(state, now, &drill.region).ok()?;
    let worst = loads
        .iter()
        .filter(|load| load.region != drill.region)
        .max_by_key(|load| load.load_after_percent)?;
    let seen = memory
        .worst_load
        .entry(drill.id.clone())
        .or_insert_with(|| (worst.region.clone(), worst.load_after_percent));
    if worst.load_after_percent > seen.1 {
        *seen = (worst.region.clone(), worst.load_after_percent);
    }
    (worst.load_after_percent > limit).then(|| GuardCheck {
        at: now,
        guard: "max_load".into(),
        tripped: true,
        detail: format!(
            "survivor {} carries {} of its capacity share, over --max-load {}",
            worst.region,
            ratio(worst.load_after_percent),
            ratio(limit)
        ),
    })
}

/// Records the trip and aborts, in one write.
async fn abort_on_guard(node: &NodeHandle, drill: &Drill, trip: GuardCheck) -> Result<(), String> {
    let reason = format!("guard {} tripped: {}", trip.guard, trip.detail);
    let commands = vec![
        Command::RecordDrill {
            id: drill.id.clone(),
            update: DrillUpdate::Guard { check: trip },
        },
        Command::EndDrill {
            id: drill.id.clone(),
            status: DrillStatus::Aborted,
            reason,
        },
    ];
    write(node, Command::Batch { commands }).await
}

/// Ends a drill at its planned end, recording the guards it passed (as this leader saw
/// them) in the same write.
async fn expire(node: &NodeHandle, drill: &Drill, now: u64, memory: &Memory) -> Result<(), String> {
    let record = |check: GuardCheck| Command::RecordDrill {
        id: drill.id.clone(),
        update: DrillUpdate::Guard { check },
    };
    let mut commands = vec![record(GuardCheck {
        at: now,
        guard: "survivors_healthy".into(),
        tripped: false,
        detail: "no survivor turned down during the drill".into(),
    })];
    if let Some(limit) = drill.max_load_percent {
        let detail = match memory.worst_load.get(&drill.id) {
            Some((region, percent)) => format!(
                "highest survivor load seen: {region} at {} (limit {})",
                ratio(*percent),
                ratio(limit)
            ),
            None => format!("no survivor load measured (limit {})", ratio(limit)),
        };
        commands.push(record(GuardCheck {
            at: now,
            guard: "max_load".into(),
            tripped: false,
            detail,
        }));
    }
    commands.push(Command::EndDrill {
        id: drill.id.clone(),
        status: DrillStatus::Completed,
        reason: "expired at its planned end".into(),
    });
    write(node, Command::Batch { commands }).await
}

async fn write(node: &NodeHandle, command: Command) -> Result<(), String> {
    node.write(command, Actor::new(SUPERVISOR))
        .await
        .map(|_| ())
        .map_err(|error| error.to_string())
}

async fn record(node: &NodeHandle, drill: &Drill, update: DrillUpdate) -> Result<(), String> {
    write(
        node,
        Command::RecordDrill {
            id: drill.id.clone(),
            update,
        },
    )
    .await
}

fn before_rows(drill: &Drill) -> &[AnswerRow] {
    drill
        .answers
        .iter()
        .find(|answers| answers.phase == DrillPhase::Before)
        .map_or(&[], |answers| answers.rows.as_slice())
}

fn has_phase(drill: &Drill, phase: DrillPhase) -> bool {
    drill.answers.iter().any(|answers| answers.phase == phase)
}

async fn record_answers(
    node: &NodeHandle,
    state: &State,
    drill: &Drill,
    phase: DrillPhase,
    now: u64,
) -> Result<(), String> {
    let rows = answer_rows(state, now).map_err(|error| error.to_string())?;
    let rows = rows
        .into_iter()
        .filter(|row| drill.records.contains(&row.record))
        .collect();
    let answers = PhaseAnswers {
        phase,
        at: now,
        rows,
    };
    record(node, drill, DrillUpdate::Answers { answers }).await
}

/// One round of watch queries to one DNS node.
struct Look {
    /// Wall time (unix millis) the round began.
    started_ms: u64,
    /// Whether an answer held the drilled region.
    result: Result<bool, QueryError>,
}

/// One round of the drill's watch queries to each of `nodes` that has a DNS address.
async fn look(state: &State, drill: &Drill, nodes: &[u64]) -> Vec<(u64, Look)> {
    let queries = watch_queries(before_rows(drill), &drill.records, &drill.region);
    let targets = region_targets(state, &drill.region);
    let addresses: HashMap<u64, SocketAddr> = dns_nodes(state).into_iter().collect();
    let mut looks = Vec::new();
    for id in nodes {
        let Some(address) = addresses.get(id) else {
            continue;
        };
        let started_ms = unix_millis();
        let result = sees_region(*address, &queries, &targets).await;
        looks.push((*id, Look { started_ms, result }));
    }
    looks
}

/// The out phase: query the measured nodes that have not converged yet.
async fn converge_out(
    node: &NodeHandle,
    state: &State,
    drill: &Drill,
    now: u64,
    memory: &mut Memory,
) -> Result<(), String> {
    let pending: Vec<u64> = drill
        .measured_nodes
        .iter()
        .filter(|id| !drill.convergence_ms.contains_key(id))
        .copied()
        .collect();
    if pending.is_empty() {
        if !has_phase(drill, DrillPhase::During) {
            record_answers(node, state, drill, DrillPhase::During, now).await?;
        }
        return Ok(());
    }
    for (id, seen) in look(state, drill, &pending).await {
        let round_start = seen.started_ms;
        let key = (format!("{}/out", drill.id), id);
        match seen.result {
            Ok(false) => {
                let streak = memory.streaks.entry(key).or_insert((0, round_start));
                if streak.0 == 0 {
                    streak.1 = round_start;
                }
                streak.0 += 1;
                if streak.0 >= CLEAN_ROUNDS {
                    let after_ms = streak.1.saturating_sub(drill.started_at);
                    let update = DrillUpdate::Converged {
                        node: id,
                        direction: Direction::Out,
                        after_ms,
                    };
                    record(node, drill, update).await?;
                }
            }
            Ok(true) | Err(_) => {
                memory.streaks.remove(&key);
            }
        }
    }
    Ok(())
}

/// The back phase: query the nodes that converged out until each shows the region again.
async fn converge_back(
    node: &NodeHandle,
    state: &State,
    drill: &Drill,
    now: u64,
) -> Result<(), String> {
    let ended = drill.ended_at.unwrap_or(drill.planned_end);
    let pending: Vec<u64> = drill
        .measured_nodes
        .iter()
        .filter(|id| !drill.restore_ms.contains_key(id))
        .copied()
        .collect();
    if pending.is_empty() {
        return record_answers(node, state, drill, DrillPhase::After, now).await;
    }
    if now > ended + BACK_WINDOW_MS {
        let event = DrillEvent {
            at: now,
            text: format!(
                "dns nodes {pending:?} did not answer with {} again within {} s of the end",
                drill.region,
                BACK_WINDOW_MS / 1000
            ),
        };
        record(node, drill, DrillUpdate::Event { event }).await?;
        return record_answers(node, state, drill, DrillPhase::After, now).await;
    }
    for (id, seen) in look(state, drill, &pending).await {
        if let Ok(true) = seen.result {
            let update = DrillUpdate::Converged {
                node: id,
                direction: Direction::Back,
                after_ms: seen.started_ms.saturating_sub(ended),
            };
            record(node, drill, update).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn row(record: &str, clients: &str, regions: &[(&str, u32)]) -> AnswerRow {
        AnswerRow {
            record: record.into(),
            clients: clients.into(),
            regions: regions
                .iter()
                .map(|(region, share)| (region.to_string(), *share))
                .collect::<BTreeMap<_, _>>(),
            outcome: "healthy".into(),
        }
    }

    /// Only groups a query can impersonate and that answered with the region are watched,
    /// and a small share is asked often enough to be seen.
    #[test]
    fn watch_queries_cover_the_region_share() {
        let rows = [
            row("www.example. A", "unlocated", &[("eu", 1000)]),
            row("www.example. A", "continent EU", &[("eu", 1000)]),
            row(
                "www.example. A",
                "198.51.100.0/24",
                &[("eu", 50), ("us", 950)],
            ),
            row("api.example. A", "unlocated", &[("us", 1000)]),
            row("db.example. A", "unlocated", &[("eu", 1000)]),
        ];
        let records = ["www.example. A".to_string(), "api.example. A".to_string()];
        let queries = watch_queries(&rows, &records, "eu");
        assert_eq!(
            queries,
            [
                WatchQuery {
                    name: "www.example.".into(),
                    qtype: "A".into(),
                    ecs: None,
                    count: 1
                },
                WatchQuery {
                    name: "www.example.".into(),
                    qtype: "A".into(),
                    ecs: Some(("198.51.100.0".parse().unwrap(), 24)),
                    count: 48
                },
            ]
        );
    }
}
