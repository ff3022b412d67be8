//! `RaftUpdateSink`: how a DNS node's slow path writes an RFC 2136 update — as one
//! `Command::DnsUpdate` through the node's Raft handle (a learner forwards it to the
//! leader), then a bounded wait until every DNS node has applied it (INSYNC).
//!
//! On that wait's timeout (`dns.update_insync_timeout`) the update is acknowledged anyway:
//! it is committed and will reach the nodes that lag, and an error would make the client
//! believe it did not happen. The log says which version was still pending.

use std::sync::Arc;
use std::time::Duration;

use gslb_dns::slow::{UpdateFuture, UpdateOutcome, UpdateSink};
use gslb_model::command::Command;
use gslb_model::model::audit::Actor;
use gslb_model::model::dns_update::{DnsUpdate, UpdateRcode};
use gslb_store::raft::{NodeHandle, WeakNodeHandle, WriteError};

/// Writes updates through a Raft node (weakly held: the node owns the DNS role).
pub struct RaftUpdateSink {
    /// The node.
    node: WeakNodeHandle,
    /// How long to wait for INSYNC after the commit.
    insync_timeout: Duration,
}

impl RaftUpdateSink {
    /// A sink writing through `node`, waiting up to `insync_timeout` for INSYNC.
    pub fn new(node: &NodeHandle, insync_timeout: Duration) -> Arc<RaftUpdateSink> {
        Arc::new(RaftUpdateSink {
            node: node.downgrade(),
            insync_timeout,
        })
    }
}

impl UpdateSink for RaftUpdateSink {
    fn submit(&self, update: DnsUpdate, actor: Actor) -> UpdateFuture {
        let node = self.node.upgrade();
        let insync_timeout = self.insync_timeout;
        Box::pin(async move {
            let Some(node) = node else {
                return UpdateOutcome::Failed("the node is shutting down".to_string());
            };
            let command = Command::DnsUpdate {
                update: Box::new(update),
            };
            match node.write(command, actor).await {
                Ok(outcome) => {
                    if !insync_timeout.is_zero()
                        && !node.wait_insync(outcome.version, insync_timeout).await
                    {
                        tracing::warn!(
                            version = outcome.version,
                            "dns update committed but not on every dns node within \
                             {insync_timeout:?}; acknowledged anyway"
                        );
                    }
                    UpdateOutcome::Applied
                }
                Err(WriteError::Invalid { errors } | WriteError::Rejected { errors, .. }) => {
                    let rcode = UpdateRcode::of_errors(&errors).unwrap_or(UpdateRcode::Refused);
                    UpdateOutcome::Refused(rcode, errors.to_string())
                }
                Err(error) => UpdateOutcome::Failed(error.to_string()),
            }
        })
    }
}
