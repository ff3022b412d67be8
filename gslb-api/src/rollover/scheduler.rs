//! The rollover schedule: a task on every API node that acts only while its node leads
//! (like the drill supervisor). Every `TICK` it reads the replicated state and, for each
//! signed zone, asks `model::rollover::next_steps` what comes next (one step per rollover
//! in progress: a split zone's KSK and ZSK may roll at once):
//! - a step whose time has come (a `publish` a key lifetime after the key was made, an
//!   `activate` or `remove` once the RFC 7583 waits have passed): it writes that step as
//!   one Raft command (`DnssecRolloverStep`, audited as `system:dnssec`), generating the
//!   successor on this node for a `publish`;
//! - a CSK/KSK successor waiting for its DS at the parent: when the zone names parent
//!   agents, it asks them every `PARENT_LOOK` and writes `ds_seen` once every one holds
//!   the DS; without agents the operator confirms it (`gslbctl dnssec rollover`).
//!
//! Times are the leader's clock; what the schedule remembers between ticks (when it last
//! asked a parent) is only a cache a new leader rebuilds. A write that fails (a lost
//! leadership, a step an operator took first) is logged and looked at again next tick: the
//! model refuses a step that no longer follows, so nothing is taken twice.

use std::collections::HashMap;
use std::time::Duration;

use gslb_dns::dnssec::KeyEncryptionKey;
use gslb_model::clock::unix_millis;
use gslb_model::model::rollover::{NextStep, RolloverStep};
use gslb_model::model::Actor;
use gslb_model::DomainName;
use gslb_store::raft::NodeHandle;
use tokio::task::JoinHandle;

use crate::rollover::{next_all, parent, schedule, step_command, SCHEDULER};

/// How often the schedule looks at the signed zones.
pub const TICK: Duration = Duration::from_secs(1);

/// How often a parent is asked for a successor's DS.
const PARENT_LOOK: Duration = Duration::from_secs(2);

/// Starts the schedule of `node`; abort the handle to stop it.
pub fn spawn_scheduler(node: NodeHandle) -> JoinHandle<()> {
    tokio::spawn(run(node))
}

async fn run(node: NodeHandle) {
    let mut parent_asked: HashMap<DomainName, u64> = HashMap::new();
    loop {
        tokio::time::sleep(TICK).await;
        if !node.is_leader() {
            parent_asked.clear();
            continue;
        }
        let state = node.state();
        if state.dnssec.is_empty() {
            continue;
        }
        let kek = KeyEncryptionKey::derive(node.cluster_secret().key_material());
        for (apex, next) in state.dnssec.keys().flat_map(|apex| {
            next_all(&state, apex)
                .into_iter()
                .flatten()
                .map(move |next| (apex, next))
        }) {
            let now = unix_millis();
            let step = match next {
                NextStep::At { kind, step, at } if at <= now => Some((kind, step)),
                NextStep::AwaitingParent { kind, new } => {
                    let agents = schedule(&state, apex).policy.parent_agents;
                    let asked = parent_asked.get(apex).copied().unwrap_or(0);
                    if agents.is_empty()
                        || now.saturating_sub(asked) < PARENT_LOOK.as_millis() as u64
                    {
                        continue;
                    }
                    parent_asked.insert(apex.clone(), now);
                    let Some(key) = state.dnssec[apex].key(new) else {
                        continue;
                    };
                    match parent::every_agent_holds(&agents, apex, key).await {
                        Ok(true) => Some((kind, RolloverStep::DsSeen)),
                        Ok(false) => None,
                        Err(error) => {
                            tracing::warn!(zone = %apex, %error, "DNSSEC rollover: cannot ask the parent; will retry");
                            None
                        }
                    }
                }
                _ => None,
            };
            let Some((kind, step)) = step else {
                continue;
            };
            let command = match step_command(&state, apex, step, kind, &kek, now) {
                Ok(command) => command,
                Err(error) => {
                    tracing::warn!(zone = %apex, %error, "DNSSEC rollover: cannot take {}", step.name());
                    continue;
                }
            };
            match node.write(command, Actor::new(SCHEDULER)).await {
                Ok(_) => tracing::info!(
                    zone = %apex,
                    kind = kind.name(),
                    step = step.name(),
                    "DNSSEC rollover step taken"
                ),
                Err(error) => tracing::warn!(
                    zone = %apex,
                    %error,
                    "DNSSEC rollover: {} not written; will retry",
                    step.name()
                ),
            }
        }
    }
}
