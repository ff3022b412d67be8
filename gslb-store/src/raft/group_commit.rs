//! Group commit: writes that arrive at the same moment share one Raft entry on the leader
//! and one HTTP request on the way to it.
//!
//! Two queues per node, each drained by one task that keeps at most a few batches in flight
//! and takes everything queued meanwhile as the next batch, so a batch grows with the load
//! and a lone write goes at once:
//! - **Proposals** (on the leader): writes already validated against the leader's state go
//!   out as one `Command::Group` entry (a lone write as itself). Each is applied, or
//!   rejected, on its own against the state the ones before it left, and answered with its
//!   own outcome; every DNS node compiles one plan and reports one applied index per entry.
//! - **Forwards** (on followers and learners): writes for the leader travel together in one
//!   `/raft/forward/batch` call, each answered with its own outcome; the leader proposes them
//!   through its own proposal queue. One busy learner thus holds a handful of connections to
//!   the leader, not one per write in flight.
//!
//! Semantics are those of a write of its own: acknowledged only once committed, rejected
//! with its own field errors, an unknown outcome (`Unavailable`) reported to every write of
//! a batch that met it.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::raft::stages::{Stage, WriteStages};
use crate::raft::write::{ForwardedWrite, WriteError, WriteOutcome};
use gslb_model::command::{CmdResult, Command, GroupedWrite};
use gslb_model::model::audit::Actor;

/// What the queues need from their node (the node implements it): one command proposed as
/// one entry, and writes forwarded to the leader in one call, answered in order.
pub(crate) trait GroupTarget: Send + Sync + 'static {
    /// Stamps `command` and proposes it as one entry, waiting until it is applied here.
    fn propose(
        self: Arc<Self>,
        command: Command,
        actor: Actor,
    ) -> impl Future<Output = Result<CmdResult, WriteError>> + Send;

    /// Forwards `writes` to the leader in one call and answers each in order.
    fn forward_writes(
        self: Arc<Self>,
        writes: Vec<ForwardedWrite>,
    ) -> impl Future<Output = Vec<Reply>> + Send;
}

/// The most writes one batch carries (an entry of small record writes stays far below
/// `network::MAX_APPEND_BYTES`; bigger commands are not grouped at all).
pub(crate) const MAX_BATCH: usize = 256;
/// The most batches of proposals in flight at once: while they commit the next one grows.
const PROPOSALS_IN_FLIGHT: usize = 2;
/// The most forwarded batches in flight at once, each on one pooled connection to the
/// leader.
const FORWARDS_IN_FLIGHT: usize = 4;

/// What a queued write is answered with.
pub(crate) type Reply = Result<WriteOutcome, WriteError>;

/// One queued write and where its answer goes.
pub(crate) struct Pending {
    /// The write.
    pub(crate) write: ForwardedWrite,
    /// Its answer; a write whose caller went away is still written.
    pub(crate) reply: oneshot::Sender<Reply>,
    /// When it was queued (the proposal queue's wait is `Stage::GroupWait`).
    pub(crate) queued: Instant,
}

/// The body of `/raft/forward/batch`: writes forwarded together, answered in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ForwardedBatch {
    /// The writes.
    pub(crate) writes: Vec<ForwardedWrite>,
}

/// The two queues of a node.
pub(crate) struct GroupQueues {
    /// Validated writes this node, as leader, proposes.
    proposals: mpsc::UnboundedSender<Pending>,
    /// Writes this node forwards to the leader.
    forwards: mpsc::UnboundedSender<Pending>,
}

/// Which queue a drain task serves.
#[derive(Debug, Clone, Copy)]
enum Queue {
    Proposals,
    Forwards,
}

impl GroupQueues {
    /// The queues of the node `inner`, with their drain tasks (which end with the node);
    /// how long proposals wait for their group goes to `stages`.
    pub(crate) fn start<T: GroupTarget>(inner: &Weak<T>, stages: Arc<WriteStages>) -> GroupQueues {
        let (proposals, proposal_queue) = mpsc::unbounded_channel();
        let (forwards, forward_queue) = mpsc::unbounded_channel();
        let drains = [
            (proposal_queue, Queue::Proposals),
            (forward_queue, Queue::Forwards),
        ];
        for (queue, kind) in drains {
            tokio::spawn(drain(queue, inner.clone(), kind, stages.clone()));
        }
        GroupQueues {
            proposals,
            forwards,
        }
    }

    /// Proposes `write` (validated against this leader's state) in the next group.
    pub(crate) async fn propose(&self, write: ForwardedWrite) -> Reply {
        enqueue(&self.proposals, write).await
    }

    /// Forwards `write` to the leader in the next batch.
    pub(crate) async fn forward(&self, write: ForwardedWrite) -> Reply {
        enqueue(&self.forwards, write).await
    }
}

/// Queues `write` and waits for its answer.
async fn enqueue(queue: &mpsc::UnboundedSender<Pending>, write: ForwardedWrite) -> Reply {
    let (reply, answer) = oneshot::channel();
    let stopped = || WriteError::Unavailable {
        detail: "the node is shutting down; the write may or may not have happened".to_string(),
    };
    let pending = Pending {
        write,
        reply,
        queued: Instant::now(),
    };
    if queue.send(pending).is_err() {
        return Err(WriteError::Unavailable {
            detail: "the node is shutting down; nothing was written".to_string(),
        });
    }
    answer.await.unwrap_or_else(|_| Err(stopped()))
}

/// Takes batches off `queue` while the node lives: waits for a first write and a free
/// slot, then takes everything queued by then (up to `MAX_BATCH`) and sends it off.
async fn drain<T: GroupTarget>(
    mut queue: mpsc::UnboundedReceiver<Pending>,
    node: Weak<T>,
    kind: Queue,
    stages: Arc<WriteStages>,
) {
    let slots = Arc::new(Semaphore::new(match kind {
        Queue::Proposals => PROPOSALS_IN_FLIGHT,
        Queue::Forwards => FORWARDS_IN_FLIGHT,
    }));
    while let Some(first) = queue.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        let Some(node) = node.upgrade() else {
            return;
        };
        if let Queue::Proposals = kind {
            for pending in &batch {
                stages.observe(Stage::GroupWait, pending.queued.elapsed());
            }
        }
        tokio::spawn(async move {
            match kind {
                Queue::Proposals => propose_batch(node, batch).await,
                Queue::Forwards => forward_batch(node, batch).await,
            }
            drop(slot);
        });
    }
}

/// Proposes a batch as one entry and answers each write from its own outcome.
async fn propose_batch<T: GroupTarget>(node: Arc<T>, mut batch: Vec<Pending>) {
    if batch.len() == 1 {
        let Pending { write, reply, .. } = batch.remove(0);
        let outcome = node.propose(write.command, write.actor).await;
        let _ = reply.send(outcome.map(|result| WriteOutcome {
            version: result.version,
            changed: result.changed,
        }));
        return;
    }
    let (writes, replies): (Vec<GroupedWrite>, Vec<oneshot::Sender<Reply>>) = batch
        .into_iter()
        .map(|Pending { write, reply, .. }| {
            (
                GroupedWrite {
                    actor: write.actor,
                    command: write.command,
                },
                reply,
            )
        })
        .unzip();
    // The entry's own actor is the first writer's; each write is audited with its own.
    let actor = writes[0].actor.clone();
    let count = writes.len();
    match node.propose(Command::Group { writes }, actor).await {
        Ok(result) => answer_members(result, replies),
        Err(error) => {
            tracing::debug!(writes = count, "a group of writes failed: {error}");
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}

/// Answers each write of a committed group from its member outcome.
fn answer_members(result: CmdResult, replies: Vec<oneshot::Sender<Reply>>) {
    let version = result.version;
    let mut members = result.members.into_iter();
    for reply in replies {
        let answer = match members.next() {
            Some(Ok(changed)) => Ok(WriteOutcome { version, changed }),
            Some(Err(errors)) => Err(WriteError::Rejected { version, errors }),
            None => Err(WriteError::Unavailable {
                detail: format!("entry {version} answered fewer writes than it carried"),
            }),
        };
        let _ = reply.send(answer);
    }
}

/// Sends a batch of writes to the leader as one call and answers each from its own reply.
async fn forward_batch<T: GroupTarget>(node: Arc<T>, batch: Vec<Pending>) {
    let (writes, replies): (Vec<ForwardedWrite>, Vec<oneshot::Sender<Reply>>) = batch
        .into_iter()
        .map(|Pending { write, reply, .. }| (write, reply))
        .unzip();
    let count = writes.len();
    let answers = node.forward_writes(writes).await;
    debug_assert_eq!(answers.len(), count);
    for (reply, answer) in replies.into_iter().zip(answers) {
        let _ = reply.send(answer);
    }
}
