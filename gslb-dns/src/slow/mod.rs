//! The slow path: messages the fast path hands off — RFC 2136 UPDATEs and anything signed
//! with TSIG — answered on tokio tasks, where allocation and waiting are fine.
//!
//! Layout:
//! - `tsig`: RFC 8945 verification and signing (`verify_request`, `ResponseSigner`,
//!   `error_response`); zone transfers sign with the same `ResponseSigner`.
//! - `update`: an UPDATE message decoded (by hickory-proto) into the model's `DnsUpdate`.
//! - this file: `SlowPath` (dispatch: TSIG check, then UPDATE or the signed query answered by
//!   the `Responder` and signed), `SlowPathOwner`, what the slow path asks of the responder
//!   that holds it (the responder implements it, so this module does not name it), and
//!   `UpdateSink`, how a checked update reaches the control plane (the root crate writes it
//!   through Raft and waits for INSYNC).
//!
//! How messages get here: `Responder::respond_in` returns "no reply" for an UPDATE or a
//! message with a TSIG record when a slow path is attached; the transport then asks
//! `SlowPath::accepts` and hands the message over: TCP awaits `answer` in its connection
//! task, a UDP worker calls `submit_datagram`, which answers on a task and sends the reply
//! from a duplicate of the worker's socket (so from the address the query was sent to when
//! the socket is bound to one address). At most `max_in_flight` UDP messages are handled at
//! once; more are dropped (the client retries, as for a lost datagram).
//!
//! What hickory does for us here: hickory-proto decodes UPDATE messages (names, compression,
//! every section and record type) in `update`. hickory-server's `Catalog`/`RequestHandler`
//! is not used: its UPDATE handling writes to its own in-memory or SQLite authority, while an
//! update here must become one Raft `Command` applied on every node, and its TSIG covers
//! neither HMAC-MD5, SHA-1 nor SHA-224.
//!
//! Invariant: nothing here runs on the UDP worker threads but `accepts` and a channel-free
//! `spawn`; the answer path never waits for the slow path.

pub mod tsig;
pub mod update;

use std::future::Future;
use std::net::{SocketAddr, UdpSocket};
use std::pin::Pin;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use gslb_model::model::audit::Actor;
use gslb_model::model::dns_update::{evaluate_update, DnsUpdate, UpdateRcode};
use gslb_model::State;
use tokio::sync::{watch, Semaphore};

use crate::wire::{ParsedQuery, HEADER_LEN};
use crate::{QueryContext, Transport};

use tsig::{error_response, verify_request, ResponseSigner, Verification};

/// OPCODE of UPDATE (RFC 2136 §1).
pub const OPCODE_UPDATE: u8 = 5;
/// RCODE NOTAUTH (RFC 2136 §2.2, RFC 8945 §5.2).
const NOTAUTH: u8 = 9;

/// What an operator can tune about the slow path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowPathSettings {
    /// The TSIG time fudge we sign with and accept, seconds (`[dns] tsig_fudge`).
    pub tsig_fudge: u16,
    /// UDP messages answered at once; more are dropped.
    pub max_in_flight: usize,
    /// How long an update waits for INSYNC before it is acknowledged anyway (the `UpdateSink`
    /// in the root crate reads it); zero acknowledges at commit.
    pub update_insync_timeout: Duration,
}

impl Default for SlowPathSettings {
    fn default() -> SlowPathSettings {
        SlowPathSettings {
            tsig_fudge: tsig::DEFAULT_FUDGE,
            max_in_flight: 256,
            update_insync_timeout: Duration::from_secs(10),
        }
    }
}

/// What became of an update handed to the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Committed (and, as the sink was configured, on every DNS node or past the wait).
    Applied,
    /// The cluster refused it with this RCODE (a prerequisite that no longer held).
    Refused(UpdateRcode, String),
    /// It could not be written (no leader, no quorum); the client should retry.
    Failed(String),
}

/// The future an `UpdateSink` returns.
pub type UpdateFuture = Pin<Box<dyn Future<Output = UpdateOutcome> + Send + 'static>>;

/// Where a checked update goes: the root crate writes it as `Command::DnsUpdate` through
/// the node's Raft handle (a learner forwards to the leader) and waits for INSYNC.
pub trait UpdateSink: Send + Sync + 'static {
    /// Writes `update` as `actor`; resolves once it is acknowledged or failed.
    fn submit(&self, update: DnsUpdate, actor: Actor) -> UpdateFuture;
}

/// What the slow path asks of the responder it belongs to (`Responder` implements it).
pub trait SlowPathOwner: Send + Sync + 'static {
    /// Writes the fast path's reply to `query` into `out`; false when it gets no reply.
    fn answer(&self, query: &[u8], context: &QueryContext, out: &mut Vec<u8>) -> bool;
    /// The largest UDP payload this responder sends (`[dns] max_udp_payload`).
    fn max_udp_payload(&self) -> u16;
    /// Keeps `slow` as the slow path (once; `attach_slow_path` calls it).
    fn keep_slow_path(&self, slow: SlowPath);
}

/// The slow path of one responder (see the module doc).
#[derive(Clone)]
pub struct SlowPath {
    inner: Arc<Inner>,
}

struct Inner {
    /// The replicated state: TSIG keys and zones.
    state: watch::Receiver<Arc<State>>,
    /// Answers signed queries (weak: the responder holds this slow path).
    responder: Weak<dyn SlowPathOwner>,
    /// Where updates go; `None` on a node serving zone files (updates REFUSED).
    sink: Option<Arc<dyn UpdateSink>>,
    /// Operator settings.
    settings: SlowPathSettings,
    /// The runtime UDP hand-offs are spawned on.
    runtime: tokio::runtime::Handle,
    /// Bounds UDP hand-offs in flight.
    in_flight: Arc<Semaphore>,
}

impl std::fmt::Debug for SlowPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlowPath")
            .field("settings", &self.inner.settings)
            .field("updates", &self.inner.sink.is_some())
            .finish()
    }
}

/// Gives `responder` a slow path reading keys and zones from `state` and sending updates to
/// `sink`. Must be called inside a tokio runtime, once per responder (a second call is
/// ignored).
pub fn attach_slow_path<R: SlowPathOwner>(
    responder: &Arc<R>,
    state: watch::Receiver<Arc<State>>,
    sink: Option<Arc<dyn UpdateSink>>,
    settings: SlowPathSettings,
) {
    let slow = SlowPath {
        inner: Arc::new(Inner {
            state,
            responder: Arc::downgrade(responder) as Weak<dyn SlowPathOwner>,
            sink,
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight.max(1))),
            settings,
            runtime: tokio::runtime::Handle::current(),
        }),
    };
    responder.keep_slow_path(slow);
}

/// The cell a `Responder` keeps its slow path in.
pub(crate) type SlowPathCell = OnceLock<SlowPath>;

impl SlowPath {
    /// The TSIG time fudge this node signs with and accepts (zone transfers use it too).
    pub fn tsig_fudge(&self) -> u16 {
        self.inner.settings.tsig_fudge
    }

    /// True when `message` belongs here: a request (QR=0) that is an UPDATE or carries a
    /// TSIG record (or something that looks like one but is malformed: FORMERR here).
    pub fn accepts(message: &[u8]) -> bool {
        if message.len() < HEADER_LEN || message[2] & 0x80 != 0 {
            return false;
        }
        (message[2] >> 3) & 0x0F == OPCODE_UPDATE || !matches!(tsig::find_tsig(message), Ok(None))
    }

    /// Answers a UDP message on a task and sends the reply from `socket` to `peer`; drops
    /// it when `max_in_flight` are being answered already.
    pub fn submit_datagram(
        &self,
        message: &[u8],
        context: QueryContext,
        socket: Arc<UdpSocket>,
        peer: SocketAddr,
    ) {
        let Ok(permit) = self.inner.in_flight.clone().try_acquire_owned() else {
            tracing::debug!("slow path full: a datagram from {peer} is dropped");
            return;
        };
        let message = message.to_vec();
        let slow = self.clone();
        self.inner.runtime.spawn(async move {
            let _permit = permit;
            if let Some(reply) = slow.answer(&message, context).await {
                if let Err(error) = socket.send_to(&reply, peer) {
                    tracing::debug!("slow path reply to {peer} not sent: {error}");
                }
            }
        });
    }

    /// The reply to `message`, or `None` for silence.
    pub async fn answer(&self, message: &[u8], context: QueryContext) -> Option<Vec<u8>> {
        if message.len() < HEADER_LEN || message[2] & 0x80 != 0 {
            return None;
        }
        let now = crate::clock::coarse_unix_millis() / 1000;
        let fudge = self.inner.settings.tsig_fudge;
        let state = self.inner.state.borrow().clone();
        let signed = match verify_request(message, &state.tsig_keys, now, fudge) {
            Err(error) => {
                tracing::debug!(client = %context.client, "{error}");
                return Some(reply_header(message, UpdateRcode::FormErr.code()));
            }
            Ok(Verification::Failed(failure)) => {
                tracing::info!(
                    client = %context.client,
                    key = %failure.record.key_name,
                    error = ?failure.error,
                    "tsig check failed"
                );
                let mut reply = reply_header(message, NOTAUTH);
                error_response(&failure, &mut reply, now, fudge);
                return Some(reply);
            }
            Ok(Verification::Unsigned) => None,
            Ok(Verification::Signed(signed)) => Some(signed),
        };
        let unsigned_len = signed
            .as_ref()
            .map_or(message.len(), |signed| signed.record.start);
        let mut request = message[..unsigned_len].to_vec();
        if let Some(signed) = &signed {
            let arcount = u16::from_be_bytes([request[10], request[11]]) - 1;
            request[10..12].copy_from_slice(&arcount.to_be_bytes());
            request[0..2].copy_from_slice(&signed.record.original_id.to_be_bytes());
        }
        let mut signer = signed.as_ref().map(|signed| signed.signer());
        let opcode = (message[2] >> 3) & 0x0F;
        let reply = if opcode == OPCODE_UPDATE {
            let key = signed.as_ref().map(|signed| signed.key.name.clone());
            let rcode = self.update(&state, &request, key, context).await;
            Some(reply_header(message, rcode.map_or(0, UpdateRcode::code)))
        } else {
            self.signed_query(&request, context, signer.as_ref())
        };
        let mut reply = reply?;
        if let Some(signer) = signer.as_mut() {
            reply[0..2].copy_from_slice(&message[0..2]);
            signer.sign(&mut reply, now, fudge);
        }
        Some(reply)
    }

    /// An UPDATE: decoded, checked against this node's state (answered at once when that
    /// refuses it), then written; `None` is NOERROR.
    async fn update(
        &self,
        state: &State,
        request: &[u8],
        key: Option<gslb_model::model::name::DomainName>,
        context: QueryContext,
    ) -> Option<UpdateRcode> {
        let client = context.client.ip();
        let who = match &key {
            Some(key) => format!("tsig:{}", key.to_string().trim_end_matches('.')),
            None => "dns-update:unsigned".to_string(),
        };
        let update = match update::decode_update(request, key, client) {
            Ok(update) => update,
            Err(refusal) => {
                tracing::info!(%client, rcode = refusal.rcode.as_str(), "update refused: {refusal}");
                return Some(refusal.rcode);
            }
        };
        if let Err(refusal) = evaluate_update(state, &update) {
            tracing::info!(%client, by = who, "update refused: {refusal}");
            return Some(refusal.rcode);
        }
        let Some(sink) = &self.inner.sink else {
            tracing::info!(%client, "update refused: this node serves zone files");
            return Some(UpdateRcode::Refused);
        };
        let actor = Actor {
            who,
            from: Some(client.to_string()),
        };
        match sink.submit(update, actor).await {
            UpdateOutcome::Applied => None,
            UpdateOutcome::Refused(rcode, reason) => {
                tracing::info!(%client, rcode = rcode.as_str(), "update refused by the cluster: {reason}");
                Some(rcode)
            }
            UpdateOutcome::Failed(reason) => {
                tracing::warn!(%client, "update not written: {reason}");
                Some(UpdateRcode::ServFail)
            }
        }
    }

    /// A signed query (its TSIG cut off): the responder's answer, cut to header and question
    /// with TC=1 when the TSIG would not fit a UDP reply (RFC 8945 §5.3).
    fn signed_query(
        &self,
        request: &[u8],
        context: QueryContext,
        signer: Option<&ResponseSigner>,
    ) -> Option<Vec<u8>> {
        let responder = self.inner.responder.upgrade()?;
        let mut reply = Vec::with_capacity(1024);
        if !responder.answer(request, &context, &mut reply) {
            return None;
        }
        if let (Some(signer), Transport::Udp) = (signer, context.transport) {
            let parsed = ParsedQuery::parse(request).ok();
            let limit = parsed
                .as_ref()
                .and_then(|parsed| parsed.edns)
                .map_or(512, |edns| {
                    edns.udp_payload
                        .clamp(512, responder.max_udp_payload().max(512))
                }) as usize;
            let tsig_len =
                signer.key().name.wire_len() + 10 + 16 + 40 + signer.key().algorithm.mac_len();
            if reply.len() + tsig_len > limit {
                let question_end = parsed.map_or(HEADER_LEN, |parsed| parsed.question_end);
                reply.truncate(question_end.min(reply.len()));
                reply[2] |= 0x02;
                reply[6..12].fill(0);
            }
        }
        Some(reply)
    }
}

/// Header (ID, opcode and RD of the request; QR; `rcode`) and the request's first question
/// or zone when it can be read; every other count 0.
fn reply_header(request: &[u8], rcode: u8) -> Vec<u8> {
    let mut reply = Vec::with_capacity(512);
    reply.extend_from_slice(&request[..HEADER_LEN]);
    reply[2] = 0x80 | (request[2] & 0x79);
    reply[3] = rcode & 0x0F;
    reply[4..12].fill(0);
    let qdcount = u16::from_be_bytes([request[4], request[5]]);
    if qdcount >= 1 {
        if let Some((_, end)) = tsig::read_name(request, HEADER_LEN) {
            // A pointer in the question can only point back into the header or the question,
            // which the reply copies at the same offsets.
            if let Some(question) = request.get(HEADER_LEN..end + 4) {
                reply.extend_from_slice(question);
                reply[5] = 1;
            }
        }
    }
    reply
}

/// How long a TCP hand-off may take at most before the connection moves on.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
