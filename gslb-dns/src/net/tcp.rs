//! DNS over TCP per RFC 7766: 2-byte length framing, pipelined queries answered in order,
//! an idle timeout, a cap on connections, on queries per connection and on a connection's
//! lifetime; optionally behind a PROXY v2 header from a trusted balancer.
//!
//! One task per connection reads a query, answers it and queues the reply; replies are
//! flushed whenever no complete query is waiting, so a pipelining client gets its answers
//! in batches and a one-at-a-time client gets each at once.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{timeout_at, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::net::proxy::{parse_proxy_header, ProxyHeader, TrustedProxies, FIXED_HEADER_LENGTH};
use crate::net::{ListenerStats, QueryHandler, TcpLimits};
use crate::{QueryContext, Transport};

/// Largest PROXY v2 header we read (fixed part + addresses + TLVs).
const MAX_PROXY_HEADER: usize = 1024;

/// Everything the accept loop of one TCP listener needs.
pub(crate) struct TcpServer<H> {
    pub listener: TcpListener,
    pub proxy: Option<TrustedProxies>,
    pub handler: Arc<H>,
    pub limits: TcpLimits,
    pub connections: Arc<Semaphore>,
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
            let Ok(permit) = self.connections.clone().try_acquire_owned() else {
                self.stats.tcp_refused.fetch_add(1, Ordering::Relaxed);
                drop(stream);
                continue;
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
            };
            self.tracker.spawn(async move {
                if let Err(error) = connection.serve(stream).await {
                    tracing::debug!("tcp connection from {peer} ended: {error}");
                }
                stats.tcp_open.fetch_sub(1, Ordering::Relaxed);
                drop(permit);
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
}

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
            let idle_until = closes_at.min(Instant::now() + self.limits.idle_timeout);
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
            // The rest of the message gets its own idle timeout from its first octets.
            let body_until = closes_at.min(Instant::now() + self.limits.idle_timeout);
            if query.len() < length {
                query.resize(length, 0);
            }
            let message = &mut query[..length];
            if completed(timeout_at(body_until, reader.read_exact(message)).await).is_err() {
                break;
            }
            reply.clear();
            self.stats.tcp_queries.fetch_add(1, Ordering::Relaxed);
            if self.handler.respond(message, &context, &mut reply) {
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
