//! UDP workers: one `SO_REUSEPORT` socket per worker, each served by a dedicated OS thread
//! in a blocking `recvmmsg` → answer → `sendmmsg` loop over preallocated buffers.
//!
//! Invariant: after a worker starts, answering a datagram allocates nothing here; the only
//! per-query work besides `QueryHandler::respond_in` is reading the PROXY v2 header
//! (zero-copy). What the queries of a batch share (the plan in use) is taken once per batch
//! (`QueryHandler::begin_batch`) and dropped before the worker waits for the next.

use std::io;
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};

use crate::net::proxy::{parse_proxy_header, ProxyHeader, TrustedProxies};
use crate::net::sys::{self, Batch};
use crate::net::{ListenerStats, QueryHandler};
use crate::slow::SlowPath;
use crate::{QueryContext, Transport};

/// Largest datagram a worker accepts; longer ones arrive cut and are dropped.
const SLOT_SIZE: usize = 4096;

/// Initial capacity of each reply buffer (above any UDP reply we send: 1232 with EDNS).
const REPLY_CAPACITY: usize = 4096;

/// A bound UDP socket ready for a worker.
pub(crate) fn bind_udp(address: SocketAddr, buffer_bytes: usize) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_port(true)?;
    if address.ip().is_unspecified() {
        sys::enable_packet_info(&socket, address.is_ipv6())?;
    }
    sys::set_buffer_sizes(&socket, buffer_bytes);
    if let Err(error) = sys::set_dont_fragment(&socket, address.is_ipv6()) {
        tracing::warn!("udp {address}: replies may leave fragmented: {error}");
    }
    // No receive timeout: a worker waits for datagrams alone (a timeout would arm and
    // disarm a kernel timer at every wait, and wake idle workers for nothing); stopping
    // wakes it with `wake_for_stop`.
    socket.bind(&address.into())?;
    Ok(socket)
}

/// Wakes the workers blocked on `socket` (a duplicate of a worker's socket) after the stop
/// flag was set: shutting down the receive side of a UDP socket wakes every `recvmmsg`
/// waiting on it, and every later one returns at once. The kernel answers `ENOTCONN` for
/// an unconnected socket but has still done both, so that error means nothing here.
pub(crate) fn wake_for_stop(socket: &Socket) {
    match socket.shutdown(std::net::Shutdown::Read) {
        Ok(()) => {}
        Err(error) if error.raw_os_error() == Some(libc::ENOTCONN) => {}
        Err(error) => tracing::debug!("waking a udp worker to stop: {error}"),
    }
}

/// Where a worker's datagrams come from: clients directly, or trusted PROXY v2 senders.
#[derive(Debug, Clone)]
pub(crate) enum UdpSource {
    /// Plain DNS: the packet source is the client.
    Direct,
    /// Every datagram starts with a PROXY v2 header; only these peers are accepted.
    Proxy(TrustedProxies),
}

/// Everything one worker thread needs.
pub(crate) struct UdpWorker<H> {
    pub socket: Socket,
    pub source: UdpSource,
    pub handler: Arc<H>,
    pub batch_size: usize,
    pub stop: Arc<AtomicBool>,
    pub stats: Arc<ListenerStats>,
}

impl<H: QueryHandler> UdpWorker<H> {
    /// The worker loop; returns once `stop` is set and `wake_for_stop` woke the socket.
    pub(crate) fn run(self) {
        let UdpWorker {
            socket,
            source,
            handler,
            batch_size,
            stop,
            stats,
        } = self;
        let mut batch = Batch::new(batch_size, SLOT_SIZE, REPLY_CAPACITY);
        // The slow path answers from a duplicate of this socket (same local address);
        // without one (out of descriptors) hand-offs get no reply.
        let reply_socket = handler.slow_path().and_then(|_| match socket.try_clone() {
            Ok(duplicate) => Some(Arc::new(std::net::UdpSocket::from(duplicate))),
            Err(error) => {
                tracing::warn!("udp worker: slow path replies disabled: {error}");
                None
            }
        });
        while !stop.load(Ordering::Relaxed) {
            let received = match batch.receive(&socket) {
                // A receive side shut down for the stop returns empty datagrams.
                Ok(_) if stop.load(Ordering::Relaxed) => break,
                Ok(count) => count,
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(error) => {
                    tracing::warn!("udp receive failed: {error}");
                    stats.udp_receive_errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            };
            let mut dropped = 0u64;
            let mut untrusted = 0u64;
            // A panicking handler costs its batch, not the worker: a dead worker would
            // silently black-hole its SO_REUSEPORT share of the traffic.
            let answered = panic::catch_unwind(AssertUnwindSafe(|| {
                let mut shared = handler.begin_batch();
                batch.answer_each(|datagram, reply| {
                    let Some(peer) = datagram.peer else {
                        dropped += 1;
                        return false;
                    };
                    // Port 0 cannot be answered (and is a classic spoofing tell); a cut
                    // datagram is not the query that was sent.
                    if datagram.truncated || peer.port() == 0 {
                        dropped += 1;
                        return false;
                    }
                    let (query, client) = match &source {
                        UdpSource::Direct => (datagram.payload, peer),
                        UdpSource::Proxy(trusted) => {
                            if !trusted.trusts(peer.ip()) {
                                untrusted += 1;
                                return false;
                            }
                            match parse_proxy_header(datagram.payload, peer) {
                                ProxyHeader::Complete { length, client } => {
                                    (&datagram.payload[length..], client)
                                }
                                _ => {
                                    dropped += 1;
                                    return false;
                                }
                            }
                        }
                    };
                    let context = QueryContext {
                        client,
                        transport: Transport::Udp,
                    };
                    if handler.respond_in(&mut shared, query, &context, reply) {
                        return true;
                    }
                    if let (Some(slow), Some(reply_socket)) = (handler.slow_path(), &reply_socket) {
                        if SlowPath::accepts(query) {
                            slow.submit_datagram(query, context, reply_socket.clone(), peer);
                        }
                    }
                    false
                })
            }));
            if answered.is_err() {
                stats.handler_panics.fetch_add(1, Ordering::Relaxed);
                tracing::error!("answering a datagram panicked; the rest of its batch is dropped");
            }
            let sent = batch.send(&socket);
            stats
                .udp_received
                .fetch_add(received as u64, Ordering::Relaxed);
            stats.udp_replied.fetch_add(sent as u64, Ordering::Relaxed);
            if dropped > 0 {
                stats.udp_dropped.fetch_add(dropped, Ordering::Relaxed);
            }
            if untrusted > 0 {
                stats
                    .proxy_untrusted_dropped
                    .fetch_add(untrusted, Ordering::Relaxed);
            }
        }
    }
}
