//! `BoundedListener`: the control HTTP listener (API and Raft RPC) with limits, so it cannot
//! be exhausted without a token.
//!
//! - **Connection caps.** At most `max_connections` connections at once, and at most
//!   `max_connections_per_source` from one source address; a connection over a cap is closed
//!   as soon as it is accepted, so a flood costs the node no descriptor for longer than that.
//!   Connections from the cluster's own members (`peer_sources`, the addresses in the Raft
//!   membership) are not counted against `max_connections`: Raft keeps its budget while
//!   strangers fill theirs.
//! - **Members over the per-source cap.** A member is known by the cluster secret, not by
//!   its address (clients may share it: a NAT, or every process on one host). A connection
//!   over the per-source cap is taken *on probation* (counted against `max_connections`)
//!   when the listener knows the secret (`with_member_secret`): its first request header
//!   must carry `Authorization: Bearer <cluster secret>`, or it is closed before the request
//!   reaches a handler. At most `max_connections_per_source` connections of one source wait
//!   on probation at once; more are closed as soon as they are accepted. A connection that proved it is a member's for its lifetime and counts
//!   against no cap, so Raft RPC and forwarded writes are never refused for a busy source.
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

use gslb_store::raft::ClusterSecret;
use gslb_store::refusal_log::{spawn_refusal_flusher, RefusalLog};

/// How long a request header may take once its first byte arrived, by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may sit without reading or writing, by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The most connections at once (members' not counted), by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// The most connections from one source address at once, by default.
pub const DEFAULT_MAX_CONNECTIONS_PER_SOURCE: usize = 64;
/// The longest first request header a connection on probation may send before it has
/// shown the cluster secret (a member's Raft calls send a few hundred bytes).
const PROBATION_HEADER_BYTES: usize = 16 * 1024;

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
    /// Per source address, the connections over its cap still on probation.
    probation: Mutex<HashMap<IpAddr, usize>>,
}

impl Counts {
    /// One connection of `source` left probation (proved membership, or closed).
    fn end_probation(&self, source: IpAddr) {
        let mut probation = self.probation.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = probation.get_mut(&source) {
            *open -= 1;
            if *open == 0 {
                probation.remove(&source);
            }
        }
    }
}

/// A listener that enforces `ListenerLimits` on the connections of `inner`.
pub struct BoundedListener<L> {
    inner: L,
    limits: ListenerLimits,
    peers: PeerSources,
    counts: Arc<Counts>,
    refused: Arc<RefusalLog>,
    /// The cluster secret, when connections over the per-source cap may prove membership.
    member_secret: Option<ClusterSecret>,
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
            member_secret: None,
        }
    }

    /// Lets a connection over the per-source cap in on probation: it stays only if its
    /// first request presents `secret` (a cluster member's), as the module doc says.
    pub fn with_member_secret(mut self, secret: ClusterSecret) -> Self {
        self.member_secret = Some(secret);
        self
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
            let over = format!(
                "{open} connections from {source} (control.max_connections_per_source = {})",
                self.limits.max_connections_per_source
            );
            let Some(secret) = &self.member_secret else {
                return Err(over);
            };
            // Perhaps a member sharing the address: it must show the secret first. At most
            // `max_connections_per_source` of a source wait for that at once, so one source
            // cannot hold the whole `max_connections` budget with headers it never finishes.
            let mut probation = self
                .counts
                .probation
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let waiting = probation.get(&source).copied().unwrap_or(0);
            if waiting >= self.limits.max_connections_per_source {
                return Err(format!(
                    "{over}, and {waiting} more waiting to show the cluster secret"
                ));
            }
            let strangers = self.counts.strangers.load(Ordering::Relaxed);
            if strangers >= self.limits.max_connections {
                return Err(format!(
                    "{over}, and {strangers} connections open (control.max_connections = {})",
                    self.limits.max_connections
                ));
            }
            self.counts.strangers.fetch_add(1, Ordering::Relaxed);
            *probation.entry(source).or_default() += 1;
            return Ok(Slot {
                counts: self.counts.clone(),
                source,
                member: false,
                per_source: false,
                probation: Some(Probation {
                    secret: secret.clone(),
                    header: Vec::new(),
                    refused: self.refused.clone(),
                    over,
                }),
            });
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
            per_source: true,
            probation: None,
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
struct Slot {
    counts: Arc<Counts>,
    source: IpAddr,
    /// Not counted against `max_connections` (a member's address, or the secret shown).
    member: bool,
    /// Counted against `max_connections_per_source`.
    per_source: bool,
    /// Over the per-source cap until the first request header shows the secret.
    probation: Option<Probation>,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("source", &self.source)
            .field("member", &self.member)
            .field("per_source", &self.per_source)
            .field("on_probation", &self.probation.is_some())
            .finish()
    }
}

/// What a connection over the per-source cap must show, and what it sent so far.
struct Probation {
    /// The cluster secret its first request must present.
    secret: ClusterSecret,
    /// Its first request header, up to `PROBATION_HEADER_BYTES`.
    header: Vec<u8>,
    /// Where a connection that did not prove membership is logged.
    refused: Arc<RefusalLog>,
    /// Which cap it is over, for that log.
    over: String,
}

impl Slot {
    /// Follows the bytes of a connection on probation until its first header is complete
    /// (`header_done`): `Ok` once it proved membership (the slot is then a member's) or
    /// while the header is incomplete, an error that closes the connection otherwise.
    fn follow_probation(&mut self, bytes: &[u8], header_done: bool) -> io::Result<()> {
        let Some(probation) = self.probation.as_mut() else {
            return Ok(());
        };
        let room = PROBATION_HEADER_BYTES.saturating_sub(probation.header.len());
        probation
            .header
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
        if !header_done && probation.header.len() < PROBATION_HEADER_BYTES {
            return Ok(());
        }
        if header_done && presents_secret(&probation.header, &probation.secret) {
            self.probation = None;
            self.member = true;
            self.counts.strangers.fetch_sub(1, Ordering::Relaxed);
            self.counts.end_probation(self.source);
            return Ok(());
        }
        let reason = format!("{}; no cluster secret shown", probation.over);
        probation
            .refused
            .record(Some(self.source), &reason, Instant::now());
        Err(io::Error::new(io::ErrorKind::PermissionDenied, reason))
    }
}

/// Whether a request header holds `Authorization: Bearer <secret>` (compared in constant
/// time by `ClusterSecret::matches_header`).
fn presents_secret(header: &[u8], secret: &ClusterSecret) -> bool {
    header.split(|&byte| byte == b'\n').any(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&byte| byte == b':') else {
            return false;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        name.eq_ignore_ascii_case(b"authorization") && secret.matches_header(value.trim_ascii())
    })
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.member {
            self.counts.strangers.fetch_sub(1, Ordering::Relaxed);
        }
        if self.probation.is_some() {
            self.counts.end_probation(self.source);
        }
        if !self.per_source {
            return;
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
    slot: Slot,
}

impl<T> BoundedIo<T> {
    fn new(inner: T, limits: ListenerLimits, slot: Slot) -> Self {
        BoundedIo {
            inner,
            limits,
            header: HeaderState::Waiting,
            deadline: Box::pin(tokio::time::sleep(limits.idle_timeout)),
            header_started: None,
            slot,
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
                    let header_done = this.header == HeaderState::Done;
                    if let Err(refused) = this.slot.follow_probation(read, header_done) {
                        // The request never reaches hyper whole: its header's end is here.
                        buf.set_filled(before);
                        return Poll::Ready(Err(refused));
                    }
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
            member_secret: None,
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
            per_source: true,
            probation: None,
        }
    }

    /// Over the per-source cap, a connection that shows the cluster secret in its first
    /// request stays (and then counts against no cap); one that does not is closed before
    /// its request is read whole; strangers' probation is bounded by the global cap.
    #[tokio::test]
    async fn over_the_per_source_cap_only_the_cluster_secret_gets_in() {
        let secret = ClusterSecret::new("a-cluster-secret-of-length").unwrap();
        let mut listener = listener(&[]);
        listener.member_secret = Some(secret);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let _a1 = listener.admit(ip).unwrap();
        let _a2 = listener.admit(ip).unwrap();
        let member = listener.admit(ip).unwrap();
        assert!(member.probation.is_some());
        assert_eq!(listener.counts.strangers.load(Ordering::Relaxed), 3);
        let error = listener.admit(ip).unwrap_err();
        assert!(error.contains("max_connections = 3"), "{error}");

        let read_all = |slot: Slot, request: &'static [u8]| async move {
            let (mut client, server) = tokio::io::duplex(4096);
            let mut server = BoundedIo::new(server, limits(), slot);
            client.write_all(request).await.unwrap();
            drop(client);
            let mut seen = Vec::new();
            let result = server.read_to_end(&mut seen).await;
            (
                result.map(|_| seen).map_err(|error| error.to_string()),
                server,
            )
        };
        let (seen, member_io) = read_all(
            member,
            b"POST /raft/append HTTP/1.1\r\nhost: a\r\nAuthorization: Bearer \
              a-cluster-secret-of-length\r\n\r\n{}",
        )
        .await;
        assert!(seen.unwrap().ends_with(b"\r\n\r\n{}"));
        assert!(member_io.slot.member && member_io.slot.probation.is_none());
        assert_eq!(
            listener.counts.strangers.load(Ordering::Relaxed),
            2,
            "a proven member counts against no cap"
        );
        let stranger = listener.admit(ip).unwrap();
        assert!(stranger.probation.is_some());
        let (seen, _) = read_all(
            stranger,
            b"POST /raft/append HTTP/1.1\r\nAuthorization: Bearer wrong-secret-of-length\r\n\r\n",
        )
        .await;
        let error = seen.unwrap_err();
        assert!(error.contains("no cluster secret shown"), "{error}");
    }

    /// One source cannot hold more than its per-source cap on probation, however roomy the
    /// global budget: the rest are closed at once, and a slot that leaves probation (closed
    /// or proven) makes room again.
    #[test]
    fn probation_is_bounded_per_source() {
        let secret = ClusterSecret::new("a-cluster-secret-of-length").unwrap();
        let mut listener = listener(&[]);
        listener.limits.max_connections = 100;
        listener.member_secret = Some(secret);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let _under: Vec<Slot> = (0..2).map(|_| listener.admit(ip).unwrap()).collect();
        let waiting: Vec<Slot> = (0..2).map(|_| listener.admit(ip).unwrap()).collect();
        assert!(waiting.iter().all(|slot| slot.probation.is_some()));
        let error = listener.admit(ip).unwrap_err();
        assert!(
            error.contains("2 more waiting to show the cluster secret"),
            "{error}"
        );
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        assert!(
            listener.admit(other).is_ok(),
            "another source keeps its own budget"
        );
        drop(waiting);
        assert!(listener.admit(ip).unwrap().probation.is_some());
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
