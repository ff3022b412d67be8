//! DNS over TCP per RFC 7766: 2-byte length framing, pipelined queries answered in order,
//! an idle timeout, a cap on connections, on queries per connection and on a connection's
//! lifetime; optionally behind a PROXY v2 header from a trusted balancer.
//!
//! Under pressure (RFC 7766 §6.2.3), the `ConnectionTable` of a listener keeps it usable:
//! a source address holds at most `max_connections_per_source` connections; when the
//! listener is full, the connection idle the longest is closed to admit the new one; above
//! half full the idle timeout shrinks with the free share (to at most a second when full);
//! and a message whose first octet arrived must complete within `message_timeout`. So idle
//! or trickling connections from one address cannot shut others out.
//!
//! One task per connection reads a query, answers it and queues the reply; replies are
//! flushed whenever no complete query is waiting, so a pipelining client gets its answers
//! in batches and a one-at-a-time client gets each at once.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
// The connection table is locked when a TCP connection is admitted or closed, never per
// query (the query path reads the plan through ArcSwap), so the Mutex ban does not apply.
#[allow(clippy::disallowed_types)]
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout_at, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::net::proxy::{parse_proxy_header, ProxyHeader, TrustedProxies, FIXED_HEADER_LENGTH};
use crate::net::{ListenerStats, QueryHandler, TcpLimits};
use crate::slow::{SlowPath, ANSWER_TIMEOUT};
use crate::{QueryContext, Transport};

/// Largest PROXY v2 header we read (fixed part + addresses + TLVs).
const MAX_PROXY_HEADER: usize = 1024;

/// Everything the accept loop of one TCP listener needs.
pub(crate) struct TcpServer<H> {
    pub listener: TcpListener,
    pub proxy: Option<TrustedProxies>,
    pub handler: Arc<H>,
    pub limits: TcpLimits,
    pub connections: Arc<ConnectionTable>,
    pub shutdown: CancellationToken,
    pub tracker: TaskTracker,
    pub stats: Arc<ListenerStats>,
}

impl<H: QueryHandler> TcpServer<H> {
    /// Accepts until shutdown; every accepted connection gets its own tracked task.
    pub(crate) async fn run(self) {
        loop {
            let accepted = tokio::select! {
                _ = self.shutdown.cancelled() => break,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!("tcp accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if let Some(trusted) = &self.proxy {
                if !trusted.trusts(peer.ip()) {
                    self.stats
                        .proxy_untrusted_dropped
                        .fetch_add(1, Ordering::Relaxed);
                    drop(stream);
                    continue;
                }
            }
            // Behind PROXY the peer is a balancer: its clients are not one source.
            let source = self.proxy.is_none().then_some(peer.ip());
            let slot = match self.connections.admit(source) {
                Admission::Refused => {
                    self.stats.tcp_refused.fetch_add(1, Ordering::Relaxed);
                    drop(stream);
                    continue;
                }
                Admission::Admitted { slot, evicted } => {
                    if evicted {
                        self.stats.tcp_evicted.fetch_add(1, Ordering::Relaxed);
                    }
                    slot
                }
            };
            self.stats.tcp_accepted.fetch_add(1, Ordering::Relaxed);
            self.stats.tcp_open.fetch_add(1, Ordering::Relaxed);
            let stats = self.stats.clone();
            let connection = Connection {
                peer,
                proxy: self.proxy.is_some(),
                handler: self.handler.clone(),
                limits: self.limits.clone(),
                shutdown: self.shutdown.clone(),
                stats: self.stats.clone(),
                table: self.connections.clone(),
                slot: slot.clone(),
            };
            self.tracker.spawn(async move {
                // Eviction drops the connection's future, which closes its socket.
                tokio::select! {
                    _ = slot.evict.cancelled() => {
                        tracing::trace!("tcp connection from {peer} evicted (longest idle)");
                    }
                    served = connection.serve(stream) => if let Err(error) = served {
                        tracing::debug!("tcp connection from {peer} ended: {error}");
                    },
                }
                stats.tcp_open.fetch_sub(1, Ordering::Relaxed);
            });
        }
    }
}

/// One accepted connection.
struct Connection<H> {
    peer: SocketAddr,
    proxy: bool,
    handler: Arc<H>,
    limits: TcpLimits,
    shutdown: CancellationToken,
    stats: Arc<ListenerStats>,
    /// The listener's table, which sets the idle timeout from how full it is.
    table: Arc<ConnectionTable>,
    /// This connection's entry, whose activity time it updates; leaves the table on drop.
    slot: Arc<Slot>,
}

impl<H> Drop for Connection<H> {
    fn drop(&mut self) {
        self.table.release(&self.slot);
    }
}

/// What a listener knows of its open connections; see the module doc for the rules.
#[derive(Debug)]
pub(crate) struct ConnectionTable {
    /// Open connections by slot id, and connections per source address. Locked only to
    /// admit or release a connection, never per query.
    #[allow(clippy::disallowed_types)]
    open: Mutex<OpenConnections>,
    /// How many `open` holds, readable without the lock (for the idle timeout).
    n_open: AtomicUsize,
    max_connections: usize,
    max_per_source: usize,
    /// Millisecond clock origin for `Slot::last_active`.
    origin: Instant,
}

#[derive(Debug, Default)]
struct OpenConnections {
    slots: HashMap<u64, Arc<Slot>>,
    per_source: HashMap<IpAddr, usize>,
    next_id: u64,
}

/// One open connection, as its table sees it.
#[derive(Debug)]
pub(crate) struct Slot {
    id: u64,
    /// The source counted against the per-source cap (`None` behind PROXY).
    source: Option<IpAddr>,
    /// Milliseconds after the table's origin when the connection last read a message.
    last_active: AtomicU64,
    /// Cancelled to close the connection (it was the longest idle of a full listener).
    evict: CancellationToken,
}

/// What `ConnectionTable::admit` decided.
pub(crate) enum Admission {
    /// Serve the connection; `evicted` says whether another was closed to make room.
    Admitted { slot: Arc<Slot>, evicted: bool },
    /// Its source has `max_connections_per_source` open already.
    Refused,
}

impl ConnectionTable {
    // A connection-level lock (see `open`), not on the query path.
    #[allow(clippy::disallowed_types)]
    pub(crate) fn new(limits: &TcpLimits) -> ConnectionTable {
        ConnectionTable {
            open: Mutex::new(OpenConnections::default()),
            n_open: AtomicUsize::new(0),
            max_connections: limits.max_connections.max(1),
            max_per_source: limits.max_connections_per_source.max(1),
            origin: Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OpenConnections> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits a connection from `source` (`None`: not counted per source), closing the
    /// longest-idle connection when the listener is full.
    pub(crate) fn admit(&self, source: Option<IpAddr>) -> Admission {
        let now = self.now_ms();
        let mut open = self.lock();
        if let Some(address) = source {
            if open.per_source.get(&address).copied().unwrap_or(0) >= self.max_per_source {
                return Admission::Refused;
            }
        }
        let mut evicted = false;
        if open.slots.len() >= self.max_connections {
            let idlest = open
                .slots
                .values()
                .min_by_key(|slot| slot.last_active.load(Ordering::Relaxed))
                .cloned();
            if let Some(idlest) = idlest {
                idlest.evict.cancel();
                open.forget(&idlest);
                evicted = true;
            }
        }
        let id = open.next_id;
        open.next_id += 1;
        let slot = Arc::new(Slot {
            id,
            source,
            last_active: AtomicU64::new(now),
            evict: CancellationToken::new(),
        });
        open.slots.insert(id, slot.clone());
        if let Some(address) = source {
            *open.per_source.entry(address).or_insert(0) += 1;
        }
        self.n_open.store(open.slots.len(), Ordering::Relaxed);
        Admission::Admitted { slot, evicted }
    }

    /// Removes a closed connection (a no-op when it was evicted already).
    fn release(&self, slot: &Slot) {
        let mut open = self.lock();
        open.forget(slot);
        self.n_open.store(open.slots.len(), Ordering::Relaxed);
    }

    /// Marks `slot` active now.
    fn touch(&self, slot: &Slot) {
        slot.last_active.store(self.now_ms(), Ordering::Relaxed);
    }

    /// The idle timeout now: `configured` up to half full, then scaled by the free share,
    /// never above one second when full.
    fn idle_timeout(&self, configured: Duration) -> Duration {
        let open = self.n_open.load(Ordering::Relaxed);
        let half = self.max_connections.div_ceil(2);
        if open <= half {
            return configured;
        }
        let free = self.max_connections.saturating_sub(open);
        let scaled = configured.mul_f64(free as f64 / half as f64);
        scaled.max(PRESSURE_IDLE_FLOOR.min(configured))
    }
}

impl OpenConnections {
    fn forget(&mut self, slot: &Slot) {
        if self.slots.remove(&slot.id).is_none() {
            return;
        }
        if let Some(address) = slot.source {
            if let Some(count) = self.per_source.get_mut(&address) {
                *count -= 1;
                if *count == 0 {
                    self.per_source.remove(&address);
                }
            }
        }
    }
}

/// The idle timeout of a full listener.
const PRESSURE_IDLE_FLOOR: Duration = Duration::from_secs(1);

/// Why a connection stopped reading.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    /// The client closed, timed out, broke framing or used up its queries.
    Done,
    /// Shutdown while the connection was idle.
    Shutdown,
}

impl<H: QueryHandler> Connection<H> {
    /// Writes wait at most an idle timeout, and never past the connection's end (plus one
    /// idle timeout, so the last reply of a capped connection still gets out).
    fn write_deadline(&self, closes_at: Instant) -> Instant {
        (Instant::now() + self.limits.idle_timeout).min(closes_at + self.limits.idle_timeout)
    }

    async fn serve(self, stream: TcpStream) -> io::Result<()> {
        let _ = stream.set_nodelay(true);
        let started = Instant::now();
        let closes_at = started + self.limits.max_connection_time;
        let (read_half, write_half) = stream.into_split();
        let mut reader = BufReader::with_capacity(16 * 1024, read_half);
        let mut writer = BufWriter::with_capacity(16 * 1024, write_half);

        let client = if self.proxy {
            match read_proxy_header(
                &mut reader,
                self.peer,
                closes_at.min(started + self.limits.idle_timeout),
            )
            .await?
            {
                Some(client) => client,
                None => {
                    self.stats
                        .proxy_header_invalid
                        .fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
            }
        } else {
            self.peer
        };
        let context = QueryContext {
            client,
            transport: Transport::Tcp,
        };

        // Grows to the longest query seen on this connection (typically one allocation),
        // instead of 64 KiB up front for each of possibly thousands of connections.
        let mut query = vec![0u8; 512];
        let mut reply = Vec::with_capacity(4096);
        let mut answered: u32 = 0;
        loop {
            if !complete_message_buffered(reader.buffer()) {
                timed(self.write_deadline(closes_at), writer.flush()).await?;
            }
            let idle = self.table.idle_timeout(self.limits.idle_timeout);
            let idle_until = closes_at.min(Instant::now() + idle);
            let mut prefix = [0u8; 2];
            let next = if reader.buffer().is_empty() {
                // Idle between queries: this is where shutdown may close the connection.
                tokio::select! {
                    _ = self.shutdown.cancelled() => Err(Stop::Shutdown),
                    read = timeout_at(idle_until, reader.read_exact(&mut prefix)) => completed(read),
                }
            } else {
                completed(timeout_at(idle_until, reader.read_exact(&mut prefix)).await)
            };
            if let Err(stop) = next {
                tracing::trace!("tcp connection from {} closes: {stop:?}", self.peer);
                break;
            }
            let length = usize::from(u16::from_be_bytes(prefix));
            if length == 0 {
                break;
            }
            // The rest of the message must follow promptly: a sender stuck mid-message
            // (slowloris) is closed after `message_timeout`.
            let body_until = closes_at.min(Instant::now() + self.limits.message_timeout);
            if query.len() < length {
                query.resize(length, 0);
            }
            let message = &mut query[..length];
            match timeout_at(body_until, reader.read_exact(message)).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => break,
                Err(_) => {
                    self.stats.tcp_slow_closed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
            self.table.touch(&self.slot);
            reply.clear();
            self.stats.tcp_queries.fetch_add(1, Ordering::Relaxed);
            if let Some(mut transfer) = self.handler.transfer(message, &context) {
                // A zone transfer: its messages are built one at a time while the previous
                // one is written, so a large zone is never held whole in wire form.
                while let Some(bytes) = transfer.next_message() {
                    let Ok(length) = u16::try_from(bytes.len()) else {
                        tracing::warn!("transfer message to {client} over 65535 bytes; stopped");
                        break;
                    };
                    let deadline = self.write_deadline(closes_at);
                    timed(deadline, writer.write_all(&length.to_be_bytes())).await?;
                    timed(deadline, writer.write_all(&bytes)).await?;
                }
            } else {
                let mut answered_now = self.handler.respond(message, &context, &mut reply);
                if !answered_now {
                    if let Some(slow) = self
                        .handler
                        .slow_path()
                        .filter(|_| SlowPath::accepts(message))
                    {
                        let handed =
                            tokio::time::timeout(ANSWER_TIMEOUT, slow.answer(message, context));
                        if let Ok(Some(slow_reply)) = handed.await {
                            reply = slow_reply;
                            answered_now = true;
                        }
                    }
                }
                if answered_now {
                    let Ok(reply_length) = u16::try_from(reply.len()) else {
                        tracing::warn!(
                            "tcp reply to {client} dropped: {} bytes exceed 65535",
                            reply.len()
                        );
                        break;
                    };
                    let deadline = self.write_deadline(closes_at);
                    timed(deadline, writer.write_all(&reply_length.to_be_bytes())).await?;
                    timed(deadline, writer.write_all(&reply)).await?;
                }
            }
            answered += 1;
            if answered >= self.limits.max_queries_per_connection || Instant::now() >= closes_at {
                break;
            }
        }
        let deadline = self.write_deadline(closes_at);
        timed(deadline, writer.flush()).await?;
        timed(deadline, writer.shutdown()).await?;
        Ok(())
    }
}

/// Runs an I/O step that must end by `deadline`; a client that stops reading its replies
/// cannot hold a connection (and its slot) past the limits.
async fn timed<T>(
    deadline: Instant,
    step: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match timeout_at(deadline, step).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "client not reading its replies",
        )),
    }
}

/// Folds a timed read into "got it" or "stop reading".
fn completed<T>(read: Result<io::Result<T>, tokio::time::error::Elapsed>) -> Result<(), Stop> {
    match read {
        Ok(Ok(_)) => Ok(()),
        _ => Err(Stop::Done),
    }
}

/// True when `buffered` starts with a whole length-prefixed message.
fn complete_message_buffered(buffered: &[u8]) -> bool {
    buffered.len() >= 2
        && buffered.len() >= 2 + usize::from(u16::from_be_bytes([buffered[0], buffered[1]]))
}

/// Reads the PROXY v2 header that opens a proxied connection; `None` when it is invalid,
/// does not arrive by `deadline`, or the peer closes first.
async fn read_proxy_header<R: AsyncRead + Unpin>(
    reader: &mut R,
    peer: SocketAddr,
    deadline: Instant,
) -> io::Result<Option<SocketAddr>> {
    let mut header = [0u8; MAX_PROXY_HEADER];
    let mut filled = 0;
    let mut needed = FIXED_HEADER_LENGTH;
    loop {
        match timeout_at(deadline, reader.read_exact(&mut header[filled..needed])).await {
            Ok(Ok(_)) => filled = needed,
            _ => return Ok(None),
        }
        match parse_proxy_header(&header[..filled], peer) {
            ProxyHeader::Complete { client, .. } => return Ok(Some(client)),
            ProxyHeader::Incomplete { needed: more }
                if more > filled && more <= MAX_PROXY_HEADER =>
            {
                needed = more
            }
            _ => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_complete_only_with_all_its_bytes() {
        assert!(!complete_message_buffered(&[]));
        assert!(!complete_message_buffered(&[0]));
        assert!(!complete_message_buffered(&[0, 3, 1, 2]));
        assert!(complete_message_buffered(&[0, 3, 1, 2, 3]));
        assert!(complete_message_buffered(&[0, 0]));
    }
}
