//! The state channel: how the replicated `State` reaches the roles of a node.
//!
//! The state machine (or, on a zone-file node, the loader) publishes each new version as an
//! `Arc<State>`; readers hold a plain `tokio::sync::watch::Receiver<Arc<State>>`, so crates
//! that must not depend on the store (gslb-dns, gslb-prober) take that type directly.

use std::sync::Arc;

use gslb_model::State;

/// The receiving side of the state channel: `borrow()` gives the newest committed state.
pub type StateWatch = tokio::sync::watch::Receiver<Arc<State>>;

/// The sending side of the state channel, held by whatever applies commands.
pub type StatePublisher = tokio::sync::watch::Sender<Arc<State>>;

/// A channel that starts at `initial`.
pub fn state_channel(initial: State) -> (StatePublisher, StateWatch) {
    tokio::sync::watch::channel(Arc::new(initial))
}
