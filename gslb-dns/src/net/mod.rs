//! Listeners: how queries reach the `Responder` and replies leave.
//!
//! - `udp`: one `SO_REUSEPORT` socket per worker, each on its own OS thread, batching with
//!   `recvmmsg`/`sendmmsg` over preallocated buffers.
//! - `tcp`: RFC 7766 on tokio (framing, pipelining, idle timeout, connection and per-connection
//!   query limits, a connection lifetime cap).
//! - `proxy`: PROXY protocol v2 from trusted balancers, on its own UDP and TCP addresses.
//! - `sys`: the raw syscalls. **This is the one place of the crate that may use `unsafe`**
//!   (`#![allow(unsafe_code)]` at its top), but for the one `clock_gettime` of
//!   `crate::clock`: `recvmmsg`/`sendmmsg` and the `SO_*BUFFORCE` options exist only as
//!   `libc` calls, and batching is what makes the UDP path cheap.
//!
//! Entry point: `spawn_listeners(&ListenerConfig, Arc<handler>, CancellationToken)` binds
//! everything (port 0 works: the same port is used for UDP and TCP), logs one
//! `listening on <kind> <address>` line per socket at info, and returns `DnsListeners`,
//! whose `wait` drains and returns after the token is cancelled. It is `bind_listeners`
//! (sockets bound, addresses known, nothing read) then `BoundListeners::spawn`: a DNS node
//! registers its addresses between the two and answers only once it has caught up.
//!
//! Invariants: a reply goes back to the socket peer (for PROXY, the balancer); the client
//! address given to the handler is the PROXY source only for a trusted peer; nothing here
//! allocates per UDP datagram.

mod proxy;
mod sys;
mod tcp;
mod udp;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use proxy::TrustedProxies;

use crate::transfer::{is_transfer_request, Transfer};
use crate::{QueryContext, Responder};

/// What answers a query; `Responder` in production, small fakes in tests.
pub trait QueryHandler: Send + Sync + 'static {
    /// What the queries of one received UDP batch share (the `Responder`'s plan in use),
    /// taken once per batch so that per-query work does not repeat it.
    type Batch;

    /// Starts a batch. Must not block; the UDP worker drops it before it waits again.
    fn begin_batch(&self) -> Self::Batch;

    /// Writes the reply to `query` into `out` and returns true, or returns false for
    /// silence. Must not block.
    fn respond_in(
        &self,
        batch: &mut Self::Batch,
        query: &[u8],
        context: &QueryContext,
        out: &mut Vec<u8>,
    ) -> bool;

    /// The slow path messages `respond_in` leaves unanswered are handed to (UPDATE,
    /// TSIG-signed); `None`: there is none.
    fn slow_path(&self) -> Option<&crate::slow::SlowPath> {
        None
    }

    /// `respond_in` for a query answered on its own (TCP).
    fn respond(&self, query: &[u8], context: &QueryContext, out: &mut Vec<u8>) -> bool {
        self.respond_in(&mut self.begin_batch(), query, context, out)
    }

    /// The messages answering `query` when it is a zone transfer request (TCP only: the
    /// slow path); `None` answers it as a query. Must not block.
    fn transfer(&self, _query: &[u8], _context: &QueryContext) -> Option<Transfer> {
        None
    }
}

impl QueryHandler for Responder {
    type Batch = crate::responder::ResponderBatch;

    fn transfer(&self, query: &[u8], context: &QueryContext) -> Option<Transfer> {
        is_transfer_request(query).then(|| Responder::transfer(self, query, context))
    }

    fn begin_batch(&self) -> Self::Batch {
        Responder::begin_batch(self)
    }

    fn respond_in(
        &self,
        batch: &mut Self::Batch,
        query: &[u8],
        context: &QueryContext,
        out: &mut Vec<u8>,
    ) -> bool {
        Responder::respond_in(self, batch, query, context, out)
    }

    fn slow_path(&self) -> Option<&crate::slow::SlowPath> {
        Responder::slow_path(self)
    }
}

/// Limits on DNS over TCP (RFC 7766 §6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpLimits {
    /// Close a connection that sends nothing for this long between queries. Shrinks under
    /// pressure: above half of `max_connections` open it scales down with the free share,
    /// to at most one second when full (RFC 7766 §6.2.3).
    pub idle_timeout: Duration,
    /// Connections served at once per listener; when full, the longest-idle connection is
    /// closed to admit a new one.
    pub max_connections: usize,
    /// Connections one source address may hold at once on a plain listener; more are
    /// closed right after accept (PROXY listeners are exempt: their peer is a balancer).
    pub max_connections_per_source: usize,
    /// A message, once its first octet arrived, must be complete within this long: a
    /// sender stuck mid-message (slowloris) is closed.
    pub message_timeout: Duration,
    /// Close a connection after answering this many queries.
    pub max_queries_per_connection: u32,
    /// Close a connection this long after it opened, whatever it does.
    pub max_connection_time: Duration,
}

impl Default for TcpLimits {
    fn default() -> TcpLimits {
        TcpLimits {
            idle_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_connections_per_source: 64,
            message_timeout: Duration::from_secs(2),
            max_queries_per_connection: 1000,
            max_connection_time: Duration::from_secs(120),
        }
    }
}

/// A PROXY v2 listener for queries relayed by load balancers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyListenerConfig {
    /// Addresses served on UDP and TCP, each datagram / connection opening with a header.
    pub listen: Vec<SocketAddr>,
    /// Peers whose headers are believed; anyone else is dropped (and counted).
    pub trusted: TrustedProxies,
}

/// Everything `spawn_listeners` binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Plain DNS addresses, each served on UDP and TCP.
    pub listen: Vec<SocketAddr>,
    /// UDP worker threads (and sockets) per address; 0 = one per available core.
    pub udp_workers: usize,
    /// Datagrams per `recvmmsg`/`sendmmsg` call.
    pub udp_batch: usize,
    /// SO_RCVBUF / SO_SNDBUF asked for on every UDP socket (best effort).
    pub socket_buffer_bytes: usize,
    /// TCP limits, shared by the plain and the PROXY listeners (the connection cap is
    /// counted per listener socket).
    pub tcp: TcpLimits,
    /// The PROXY v2 listener, if any.
    pub proxy: Option<ProxyListenerConfig>,
    /// How long `DnsListeners::wait` lets in-flight TCP connections finish after shutdown.
    pub drain_timeout: Duration,
}

impl Default for ListenerConfig {
    fn default() -> ListenerConfig {
        ListenerConfig {
            listen: Vec::new(),
            udp_workers: 0,
            udp_batch: 64,
            socket_buffer_bytes: 4 * 1024 * 1024,
            tcp: TcpLimits::default(),
            proxy: None,
            drain_timeout: Duration::from_secs(5),
        }
    }
}

/// Why the listeners could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// A socket could not be created or bound (address in use, no permission, ...).
    #[error("cannot listen on {kind} {address}: {source}")]
    Bind {
        /// `udp`, `tcp`, `proxy-udp` or `proxy-tcp`.
        kind: &'static str,
        /// The address asked for.
        address: SocketAddr,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// A worker thread could not be started.
    #[error("cannot start udp worker thread: {0}")]
    Thread(#[source] io::Error),
    /// A UDP socket could not be duplicated (the handle that wakes its worker to stop).
    #[error("cannot duplicate a udp socket (out of file descriptors?): {0}")]
    Duplicate(#[source] io::Error),
    /// `spawn_listeners` was called outside a tokio runtime.
    #[error("listeners need a tokio runtime")]
    NoRuntime,
}

/// The addresses actually bound (port 0 resolved).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoundAddresses {
    /// Plain DNS over UDP.
    pub udp: Vec<SocketAddr>,
    /// Plain DNS over TCP (same ports as `udp`).
    pub tcp: Vec<SocketAddr>,
    /// PROXY v2 over UDP.
    pub proxy_udp: Vec<SocketAddr>,
    /// PROXY v2 over TCP.
    pub proxy_tcp: Vec<SocketAddr>,
}

/// Counters of what the listeners saw; read them for metrics.
#[derive(Debug, Default)]
pub struct ListenerStats {
    /// Datagrams received (plain and PROXY).
    pub udp_received: AtomicU64,
    /// Datagram replies sent.
    pub udp_replied: AtomicU64,
    /// Datagrams dropped before answering (cut, unknown family, bad PROXY header).
    pub udp_dropped: AtomicU64,
    /// Failed receive calls.
    pub udp_receive_errors: AtomicU64,
    /// Batches cut short because the handler panicked (the worker carries on).
    pub handler_panics: AtomicU64,
    /// TCP connections accepted.
    pub tcp_accepted: AtomicU64,
    /// TCP connections open now (plain and PROXY).
    pub tcp_open: AtomicU64,
    /// TCP connections closed at once because their source held
    /// `max_connections_per_source` already.
    pub tcp_refused: AtomicU64,
    /// TCP connections closed because the listener was full and they were the longest idle.
    pub tcp_evicted: AtomicU64,
    /// TCP connections closed because a message did not complete within `message_timeout`.
    pub tcp_slow_closed: AtomicU64,
    /// Queries read over TCP.
    pub tcp_queries: AtomicU64,
    /// Datagrams and connections on a PROXY listener from an untrusted peer.
    pub proxy_untrusted_dropped: AtomicU64,
    /// PROXY connections closed because their header was invalid or late.
    pub proxy_header_invalid: AtomicU64,
}

/// Running listeners; `wait` returns once they have shut down.
#[derive(Debug)]
pub struct DnsListeners {
    bound: BoundAddresses,
    stats: Arc<ListenerStats>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    udp_threads: Vec<JoinHandle<()>>,
    drain_timeout: Duration,
}

impl DnsListeners {
    /// The bound addresses.
    pub fn bound(&self) -> &BoundAddresses {
        &self.bound
    }

    /// The shared counters.
    pub fn stats(&self) -> Arc<ListenerStats> {
        self.stats.clone()
    }

    /// Waits for the shutdown token, then stops accepting, lets in-flight TCP connections
    /// finish (closing idle ones at once) for at most the drain timeout, and joins the UDP
    /// workers. Returns the number of TCP connections still open when the drain timed out.
    pub async fn wait(self) -> usize {
        self.shutdown.cancelled().await;
        self.tracker.close();
        let mut left = 0;
        if tokio::time::timeout(self.drain_timeout, self.tracker.wait())
            .await
            .is_err()
        {
            left = self.tracker.len();
            tracing::warn!("{left} tcp connections still open after the drain timeout");
        }
        let threads = self.udp_threads;
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
        left
    }
}

/// Binds every listener in `config`, starts the UDP worker threads and the TCP accept
/// tasks (on the current tokio runtime), and logs `listening on <kind> <address>`.
/// Cancelling `shutdown` stops them all; `DnsListeners::wait` waits for that.
pub fn spawn_listeners<H: QueryHandler>(
    config: &ListenerConfig,
    handler: Arc<H>,
    shutdown: CancellationToken,
) -> Result<DnsListeners, ListenError> {
    bind_listeners(config)?.spawn(handler, shutdown)
}

/// Every socket of a `ListenerConfig`, bound (port 0 resolved) but not read yet: a node
/// learns its DNS addresses (to register them) before it answers anything. Datagrams and
/// connections that arrive meanwhile wait in the kernel's queues (or are dropped when those
/// fill), so a client meets silence or a late answer from `spawn`'s plan, never an answer
/// from before it. Dropping it closes the sockets.
#[derive(Debug)]
pub struct BoundListeners {
    /// The settings the workers and TCP servers take when spawned.
    config: ListenerConfig,
    /// UDP workers per address.
    workers: usize,
    /// What was bound.
    bound: BoundAddresses,
    /// One socket per UDP worker, with how its datagrams carry the client.
    udp_sockets: Vec<(Socket, udp::UdpSource)>,
    /// One listener per address, with the proxies it trusts (PROXY listeners).
    tcp_listeners: Vec<(std::net::TcpListener, Option<TrustedProxies>)>,
}

/// Binds every listener in `config` without reading from it (see `BoundListeners`).
pub fn bind_listeners(config: &ListenerConfig) -> Result<BoundListeners, ListenError> {
    let workers = if config.udp_workers == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        config.udp_workers
    };
    let mut bound = BoundAddresses::default();
    let mut udp_sockets: Vec<(Socket, udp::UdpSource)> = Vec::new();
    let mut tcp_listeners: Vec<(std::net::TcpListener, Option<TrustedProxies>)> = Vec::new();

    let mut plan: Vec<(SocketAddr, Option<&TrustedProxies>)> = config
        .listen
        .iter()
        .map(|address| (*address, None))
        .collect();
    if let Some(proxy) = &config.proxy {
        plan.extend(
            proxy
                .listen
                .iter()
                .map(|address| (*address, Some(&proxy.trusted))),
        );
    }
    for (address, trusted) in plan {
        let (udp_kind, tcp_kind) = match trusted {
            None => ("udp", "tcp"),
            Some(_) => ("proxy-udp", "proxy-tcp"),
        };
        let (sockets, tcp) =
            bind_pair(address, workers, config.socket_buffer_bytes).map_err(|(kind, source)| {
                ListenError::Bind {
                    kind: if kind == "udp" { udp_kind } else { tcp_kind },
                    address,
                    source,
                }
            })?;
        let udp_address = local_addr(&sockets[0]);
        let tcp_address = tcp.local_addr().unwrap_or(address);
        let source = match trusted {
            None => udp::UdpSource::Direct,
            Some(trusted) => udp::UdpSource::Proxy(trusted.clone()),
        };
        for socket in sockets {
            udp_sockets.push((socket, source.clone()));
        }
        tcp_listeners.push((tcp, trusted.cloned()));
        match trusted {
            None => {
                bound.udp.push(udp_address);
                bound.tcp.push(tcp_address);
            }
            Some(_) => {
                bound.proxy_udp.push(udp_address);
                bound.proxy_tcp.push(tcp_address);
            }
        }
    }

    Ok(BoundListeners {
        config: config.clone(),
        workers,
        bound,
        udp_sockets,
        tcp_listeners,
    })
}

impl BoundListeners {
    /// The bound addresses.
    pub fn bound(&self) -> &BoundAddresses {
        &self.bound
    }

    /// Starts answering: the UDP worker threads and the TCP accept tasks (on the current
    /// tokio runtime), then logs `listening on <kind> <address>`. Cancelling `shutdown`
    /// stops them all; `DnsListeners::wait` waits for that.
    pub fn spawn<H: QueryHandler>(
        self,
        handler: Arc<H>,
        shutdown: CancellationToken,
    ) -> Result<DnsListeners, ListenError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ListenError::NoRuntime)?;
        // Our own child token: cancelled by the caller's, and by us alone if start-up fails.
        let shutdown = shutdown.child_token();
        start(self, handler, shutdown, runtime)
    }
}

/// The second half of `spawn_listeners`: every socket is bound; from here on only thread
/// and task start-up can fail.
fn start<H: QueryHandler>(
    listeners: BoundListeners,
    handler: Arc<H>,
    shutdown: CancellationToken,
    runtime: tokio::runtime::Handle,
) -> Result<DnsListeners, ListenError> {
    let BoundListeners {
        config,
        workers,
        bound,
        udp_sockets,
        tcp_listeners,
    } = listeners;
    let stats = Arc::new(ListenerStats::default());
    let tracker = TaskTracker::new();
    let stop = Arc::new(AtomicBool::new(false));
    let udp_stop = UdpStop::new(stop.clone(), &udp_sockets)?;
    let mut udp_threads = Vec::new();
    for (index, (socket, source)) in udp_sockets.into_iter().enumerate() {
        let worker = udp::UdpWorker {
            socket,
            source,
            handler: handler.clone(),
            batch_size: config.udp_batch.max(1),
            stop: stop.clone(),
            stats: stats.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("gslb-udp-{index}"))
            .spawn(move || worker.run());
        match thread {
            Ok(thread) => udp_threads.push(thread),
            Err(error) => {
                udp_stop.stop();
                return Err(ListenError::Thread(error));
            }
        }
    }
    for (listener, proxy) in tcp_listeners {
        let address = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let registered = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)
        };
        let listener = match registered {
            Ok(listener) => listener,
            Err(source) => {
                // Start-up failed: stop the UDP workers and TCP tasks already started.
                udp_stop.stop();
                shutdown.cancel();
                return Err(ListenError::Bind {
                    kind: if proxy.is_some() { "proxy-tcp" } else { "tcp" },
                    address,
                    source,
                });
            }
        };
        let server = tcp::TcpServer {
            listener,
            proxy,
            handler: handler.clone(),
            limits: config.tcp.clone(),
            connections: Arc::new(tcp::ConnectionTable::new(&config.tcp)),
            shutdown: shutdown.clone(),
            tracker: tracker.clone(),
            stats: stats.clone(),
        };
        tracker.spawn_on(server.run(), &runtime);
    }
    let stop_on_shutdown = shutdown.clone();
    runtime.spawn(async move {
        stop_on_shutdown.cancelled().await;
        udp_stop.stop();
    });

    for address in &bound.udp {
        tracing::info!("listening on udp {address}");
    }
    for address in &bound.tcp {
        tracing::info!("listening on tcp {address}");
    }
    for address in &bound.proxy_udp {
        tracing::info!("listening on proxy-udp {address}");
    }
    for address in &bound.proxy_tcp {
        tracing::info!("listening on proxy-tcp {address}");
    }
    tracing::info!("udp workers: {workers} per address");
    Ok(DnsListeners {
        bound,
        stats,
        shutdown,
        tracker,
        udp_threads,
        drain_timeout: config.drain_timeout,
    })
}

/// Stops the UDP workers: sets the flag they look at after each receive, then wakes the
/// ones waiting (they wait without a timeout) through duplicates of their sockets.
struct UdpStop {
    flag: Arc<AtomicBool>,
    wakers: Vec<Socket>,
}

impl UdpStop {
    /// A stopper for the workers of `sockets`; fails only if a socket cannot be duplicated
    /// (out of file descriptors), before any worker started.
    fn new(
        flag: Arc<AtomicBool>,
        sockets: &[(Socket, udp::UdpSource)],
    ) -> Result<UdpStop, ListenError> {
        let wakers = sockets
            .iter()
            .map(|(socket, _)| socket.try_clone())
            .collect::<io::Result<Vec<Socket>>>()
            .map_err(ListenError::Duplicate)?;
        Ok(UdpStop { flag, wakers })
    }

    fn stop(&self) {
        self.flag.store(true, Ordering::Relaxed);
        self.wakers.iter().for_each(udp::wake_for_stop);
    }
}

/// Attempts to find a port free for both UDP and TCP when port 0 is asked for.
const PORT_ZERO_ATTEMPTS: usize = 20;

/// Binds `workers` UDP sockets and one TCP listener on the same address and port; with
/// port 0, retries until a port free for both is found. Errors name the failing protocol.
fn bind_pair(
    address: SocketAddr,
    workers: usize,
    buffer_bytes: usize,
) -> Result<(Vec<Socket>, std::net::TcpListener), (&'static str, io::Error)> {
    let attempts = if address.port() == 0 {
        PORT_ZERO_ATTEMPTS
    } else {
        1
    };
    let mut last_error = None;
    for _ in 0..attempts {
        let first = udp::bind_udp(address, buffer_bytes).map_err(|error| ("udp", error))?;
        let port = local_addr(&first).port();
        let actual = SocketAddr::new(address.ip(), port);
        match bind_tcp(actual) {
            Ok(tcp) => {
                let mut sockets = vec![first];
                for _ in 1..workers.max(1) {
                    sockets
                        .push(udp::bind_udp(actual, buffer_bytes).map_err(|error| ("udp", error))?);
                }
                return Ok((sockets, tcp));
            }
            Err(error) if address.port() == 0 && error.kind() == io::ErrorKind::AddrInUse => {
                last_error = Some(error);
            }
            Err(error) => return Err(("tcp", error)),
        }
    }
    Err((
        "tcp",
        last_error.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrInUse)),
    ))
}

fn bind_tcp(address: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.bind(&address.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

fn local_addr(socket: &Socket) -> SocketAddr {
    socket
        .local_addr()
        .ok()
        .and_then(|address| address.as_socket())
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
}

#[cfg(test)]
mod tests;
