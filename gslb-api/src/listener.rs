//! `BoundedListener`: the control HTTP listener (API and Raft RPC) with limits, so it cannot
//! be exhausted without a token.
//!
//! - **Connection caps.** At most `max_connections` connections at once, and at most
//!   `max_connections_per_source` from one source address; a connection over a cap is closed
//!   as soon as it is accepted, so a flood costs the node no descriptor for longer than that.
//!   Connections from the cluster's own members (`peer_sources`, the addresses in the Raft
//!   membership) are not counted against `max_connections`: Raft keeps its budget while
//!   strangers fill theirs. They still have the per-source cap.
//! - **Header read timeout.** Once the first byte of a request arrives, its header (up to the
//!   blank line) must arrive within `header_read_timeout`, or the connection is closed: a
//!   client trickling a header byte by byte (slowloris) holds nothing for long.
//! - **Idle timeout.** A connection on which nothing is read or written for `idle_timeout`
//!   (no request since the last answer, or a body that stopped) is closed.
//!
//! The timeouts live in the connection's IO (`BoundedIo`), below hyper, so they hold for
//! plain and TLS listeners alike (over TLS they count from the end of the handshake, which
//! `tls::HANDSHAKE_TIMEOUT` bounds). HTTP/1.1 only, as axum is built here.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use gslb_store::refusal_log::{spawn_refusal_flusher, RefusalLog};

/// How long a request header may take once its first byte arrived, by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may sit without reading or writing, by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The most connections at once (members' not counted), by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// The most connections from one source address at once, by default.
pub const DEFAULT_MAX_CONNECTIONS_PER_SOURCE: usize = 64;

/// The limits of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    /// How long a request header may take once its first byte arrived.
    pub header_read_timeout: Duration,
    /// How long a connection may sit without reading or writing.
    pub idle_timeout: Duration,
    /// The most connections at once, not counting those from members.
    pub max_connections: usize,
    /// The most connections from one source address at once.
    pub max_connections_per_source: usize,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_source: DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
        }
    }
}

/// The source addresses of the cluster's members, refreshed by the caller as membership
/// changes; their connections do not count against `max_connections`.
pub type PeerSources = Arc<ArcSwap<HashSet<IpAddr>>>;

/// Open connections, in total and per source.
#[derive(Debug, Default)]
struct Counts {
    /// Connections from non-members.
    strangers: AtomicUsize,
    /// Per source address.
    per_source: Mutex<HashMap<IpAddr, usize>>,
}

/// A listener that enforces `ListenerLimits` on the connections of `inner`.
pub struct BoundedListener<L> {
    inner: L,
    limits: ListenerLimits,
    peers: PeerSources,
    counts: Arc<Counts>,
    refused: Arc<RefusalLog>,
}

impl<L> BoundedListener<L> {
    /// Wraps `inner`; `peers` are the members' addresses (may start empty).
    pub fn new(inner: L, limits: ListenerLimits, peers: PeerSources) -> Self {
        let refused = Arc::new(RefusalLog::new(
            "control connection refused (over a connection cap)",
            Duration::from_secs(10),
        ));
        spawn_refusal_flusher(&refused);
        BoundedListener {
            inner,
            limits,
            peers,
            counts: Arc::default(),
            refused,
        }
    }

    /// Takes a slot for a connection from `source`, or says which cap is full.
    fn admit(&self, source: IpAddr) -> Result<Slot, String> {
        let member = self.peers.load().contains(&source);
        let mut per_source = self
            .counts
            .per_source
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let open = per_source.get(&source).copied().unwrap_or(0);
        if open >= self.limits.max_connections_per_source {
            return Err(format!(
                "{open} connections from {source} (control.max_connections_per_source = {})",
                self.limits.max_connections_per_source
            ));
        }
        if !member {
            let strangers = self.counts.strangers.load(Ordering::Relaxed);
            if strangers >= self.limits.max_connections {
                return Err(format!(
                    "{strangers} connections open (control.max_connections = {})",
                    self.limits.max_connections
                ));
            }
            self.counts.strangers.fetch_add(1, Ordering::Relaxed);
        }
        *per_source.entry(source).or_default() += 1;
        Ok(Slot {
            counts: self.counts.clone(),
            source,
            member,
        })
    }
}

impl<L> Listener for BoundedListener<L>
where
    L: Listener<Addr = SocketAddr>,
{
    type Io = BoundedIo<L::Io>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (io, address) = self.inner.accept().await;
            match self.admit(address.ip()) {
                Ok(slot) => return (BoundedIo::new(io, self.limits, slot), address),
                Err(reason) => {
                    // Dropping `io` closes the connection at once.
                    self.refused
                        .record(Some(address.ip()), &reason, Instant::now());
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection's place under the caps; given back when the connection is dropped.
#[derive(Debug)]
struct Slot {
    counts: Arc<Counts>,
    source: IpAddr,
    member: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.member {
            self.counts.strangers.fetch_sub(1, Ordering::Relaxed);
        }
        let mut per_source = self
            .counts
            .per_source
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(open) = per_source.get_mut(&self.source) {
            *open -= 1;
            if *open == 0 {
                per_source.remove(&self.source);
            }
        }
    }
}

/// Where a connection is in reading a request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderState {
    /// Waiting for a request (none started since the last answer).
    Waiting,
    /// A header started at this instant; `matched` bytes of `\r\n\r\n` seen at its end.
    Reading { matched: usize },
    /// The header is complete; the body or the answer is under way.
    Done,
}

/// A connection's IO with the header read and idle timeouts.
pub struct BoundedIo<T> {
    inner: T,
    limits: ListenerLimits,
    header: HeaderState,
    /// Fires at the current deadline: idle, or the header's.
    deadline: Pin<Box<Sleep>>,
    /// When the current header started, while one is being read.
    header_started: Option<tokio::time::Instant>,
    _slot: Slot,
}

impl<T> BoundedIo<T> {
    fn new(inner: T, limits: ListenerLimits, slot: Slot) -> Self {
        BoundedIo {
            inner,
            limits,
            header: HeaderState::Waiting,
            deadline: Box::pin(tokio::time::sleep(limits.idle_timeout)),
            header_started: None,
            _slot: slot,
        }
    }

    /// Moves the deadline after activity: the idle timeout from now, but never past the end
    /// of a header being read.
    fn touch(&mut self) {
        let now = tokio::time::Instant::now();
        let mut deadline = now + self.limits.idle_timeout;
        if let Some(started) = self.header_started {
            deadline = deadline.min(started + self.limits.header_read_timeout);
        }
        self.deadline.as_mut().reset(deadline);
    }

    /// Follows the bytes just read through the request header.
    fn note_read(&mut self, bytes: &[u8]) {
        const END: &[u8; 4] = b"\r\n\r\n";
        for &byte in bytes {
            match self.header {
                HeaderState::Done => return,
                HeaderState::Waiting => {
                    self.header_started = Some(tokio::time::Instant::now());
                    self.header = HeaderState::Reading {
                        matched: usize::from(byte == END[0]),
                    };
                }
                HeaderState::Reading { matched } => {
                    let matched = if byte == END[matched] {
                        matched + 1
                    } else {
                        usize::from(byte == END[0])
                    };
                    if matched == END.len() {
                        self.header = HeaderState::Done;
                        self.header_started = None;
                    } else {
                        self.header = HeaderState::Reading { matched };
                    }
                }
            }
        }
    }

    /// The error that closes the connection when its deadline has passed.
    fn expired(&self) -> io::Error {
        let what = if self.header_started.is_some() {
            format!(
                "request header not complete within {:?} (control.header_read_timeout)",
                self.limits.header_read_timeout
            )
        } else {
            format!(
                "connection idle for {:?} (control.idle_timeout)",
                self.limits.idle_timeout
            )
        };
        io::Error::new(io::ErrorKind::TimedOut, what)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for BoundedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = &buf.filled()[before..];
                if !read.is_empty() {
                    this.note_read(read);
                    this.touch();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(this.expired())),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for BoundedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, data) {
            Poll::Ready(Ok(written)) => {
                if written > 0 {
                    // An answer is going out: the next bytes read start a new request.
                    this.header = HeaderState::Waiting;
                    this.header_started = None;
                    this.touch();
                }
                Poll::Ready(Ok(written))
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(this.expired())),
                Poll::Pending => Poll::Pending,
            },
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn limits() -> ListenerLimits {
        ListenerLimits {
            header_read_timeout: Duration::from_millis(300),
            idle_timeout: Duration::from_millis(800),
            max_connections: 3,
            max_connections_per_source: 2,
        }
    }

    fn listener(peers: &[&str]) -> BoundedListener<()> {
        let peers: HashSet<IpAddr> = peers.iter().map(|p| p.parse().unwrap()).collect();
        BoundedListener {
            inner: (),
            limits: limits(),
            peers: Arc::new(ArcSwap::from_pointee(peers)),
            counts: Arc::default(),
            refused: Arc::new(RefusalLog::new("test", Duration::from_secs(10))),
        }
    }

    #[test]
    fn caps_hold_per_source_and_in_total_but_members_keep_their_budget() {
        let listener = listener(&["10.0.0.1"]);
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        let a1 = listener.admit(ip("192.0.2.1")).unwrap();
        let _a2 = listener.admit(ip("192.0.2.1")).unwrap();
        let error = listener.admit(ip("192.0.2.1")).unwrap_err();
        assert!(error.contains("max_connections_per_source = 2"), "{error}");
        let _b1 = listener.admit(ip("192.0.2.2")).unwrap();
        let error = listener.admit(ip("192.0.2.3")).unwrap_err();
        assert!(error.contains("max_connections = 3"), "{error}");
        let _member = listener.admit(ip("10.0.0.1")).unwrap();
        drop(a1);
        let _c1 = listener.admit(ip("192.0.2.3")).unwrap();
    }

    /// A slot for tests, counted nowhere that matters.
    fn slot() -> Slot {
        Slot {
            counts: Arc::default(),
            source: "192.0.2.9".parse().unwrap(),
            member: true,
        }
    }

    #[tokio::test]
    async fn a_trickled_header_is_cut_off_and_an_idle_connection_closed() {
        let (client, server) = tokio::io::duplex(1024);
        let mut server = BoundedIo::new(server, limits(), slot());
        let mut client = client;
        let reader = tokio::spawn(async move {
            let mut buffer = [0u8; 64];
            loop {
                match server.read(&mut buffer).await {
                    Ok(0) => return Ok(()),
                    Ok(_) => continue,
                    Err(error) => return Err(error.to_string()),
                }
            }
        });
        // A byte every 100 ms keeps the connection from idling, not the header from expiring.
        for byte in b"GET / HT" {
            if client.write_all(&[*byte]).await.is_err() {
                break; // the server has closed it
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let error = reader.await.unwrap().unwrap_err();
        assert!(error.contains("header_read_timeout"), "{error}");

        let (_client, server) = tokio::io::duplex(1024);
        let mut server = BoundedIo::new(server, limits(), slot());
        let started = tokio::time::Instant::now();
        let error = server.read(&mut [0u8; 8]).await.unwrap_err();
        assert!(error.to_string().contains("idle_timeout"), "{error}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(800) && waited < Duration::from_secs(3),
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn a_complete_header_stops_the_header_clock() {
        let (mut client, server) = tokio::io::duplex(1024);
        let mut server = BoundedIo::new(server, limits(), slot());
        client
            .write_all(b"POST /x HTTP/1.1\r\nHost: a\r\n\r\nbody")
            .await
            .unwrap();
        let mut buffer = [0u8; 64];
        let read = server.read(&mut buffer).await.unwrap();
        assert!(read > 0);
        assert_eq!(server.header, HeaderState::Done);
        // The body trickles slower than the header timeout: only idleness would close it.
        tokio::time::sleep(Duration::from_millis(500)).await;
        client.write_all(b"more").await.unwrap();
        assert_eq!(server.read(&mut buffer).await.unwrap(), 4);
    }
}
