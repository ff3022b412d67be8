//! `State`: the whole replicated state as one immutable value, and `StateWatch`, the channel
//! through which every consumer (the DNS plan compiler above all) follows new versions.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::name::DomainName;
use crate::model::zone::Zone;

/// Everything the control plane has committed, as of one version.
///
/// Consumers get it as `Arc<State>` and never mutate it; a change produces a new `State`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The Raft applied index this state reflects (0 before anything was applied).
    pub version: u64,
    /// Zones by apex.
    pub zones: BTreeMap<DomainName, Zone>,
}

impl State {
    /// The zone that holds `name` (the one with the longest matching apex), if any.
    pub fn zone_for(&self, name: &DomainName) -> Option<&Zone> {
        let mut candidate = Some(name.clone());
        while let Some(current) = candidate {
            if let Some(zone) = self.zones.get(&current) {
                return Some(zone);
            }
            candidate = current.parent();
        }
        None
    }
}

/// The receiving side of the state channel: `borrow()` gives the newest committed state.
pub type StateWatch = tokio::sync::watch::Receiver<Arc<State>>;

/// The sending side of the state channel, held by whatever applies commands.
pub type StatePublisher = tokio::sync::watch::Sender<Arc<State>>;

/// A channel that starts at `initial`.
pub fn state_channel(initial: State) -> (StatePublisher, StateWatch) {
    tokio::sync::watch::channel(Arc::new(initial))
}
