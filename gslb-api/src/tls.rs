//! TLS for the node's HTTP server (`[control.tls]`): the certificate and key read from PEM
//! files and checked against each other, a `ServerTls` whose certificate is swapped in when
//! the files change (no restart), and `TlsListener`, an `axum::serve::Listener` whose
//! connections have finished their handshake, so `serve_tls` keeps axum's graceful shutdown
//! and client addresses.
//!
//! A handshake runs in its own task with a deadline (`HANDSHAKE_TIMEOUT`) and at most
//! `MAX_HANDSHAKES` run at once, so a slow or silent client never holds the accept loop.
//! The listener speaks only TLS: a plain-HTTP request is a failed handshake, and the
//! connection is closed. ALPN offers `http/1.1` (axum is built without HTTP/2).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, InconsistentKeys, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The longest a client may take to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The most handshakes in progress at once; further connections are closed at once.
pub const MAX_HANDSHAKES: usize = 256;

/// Which file of `[control.tls]` a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFile {
    /// The certificate chain (`cert`).
    Cert,
    /// The private key (`key`).
    Key,
}

/// Why a certificate and key cannot be served.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TlsFileError {
    /// The file at fault.
    pub file: TlsFile,
    /// What is wrong, naming the path.
    pub message: String,
}

/// Reads the PEM certificate chain at `cert` (end entity first) and the PEM private key at
/// `key` (PKCS#8, PKCS#1 or SEC1), and checks that the key belongs to the certificate.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsFileError> {
    let cert_error = |message: String| TlsFileError {
        file: TlsFile::Cert,
        message,
    };
    let key_error = |message: String| TlsFileError {
        file: TlsFile::Key,
        message,
    };
    let cert_name = cert.display();
    let key_name = key.display();
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|error| cert_error(pem_message(&cert_name, error)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| cert_error(pem_message(&cert_name, error)))?;
    if chain.is_empty() {
        return Err(cert_error(format!("{cert_name} holds no PEM certificate")));
    }
    let private_key = PrivateKeyDer::from_pem_file(key).map_err(|error| match error {
        pem::Error::NoItemsFound => key_error(format!("{key_name} holds no PEM private key")),
        error => key_error(pem_message(&key_name, error)),
    })?;
    let provider = ring::default_provider();
    let signing_key = provider
        .key_provider
        .load_private_key(private_key)
        .map_err(|error| key_error(format!("{key_name}: unusable private key: {error}")))?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => Err(key_error(
            format!("{key_name} does not match the certificate in {cert_name}"),
        )),
        Err(error) => Err(cert_error(format!(
            "{cert_name}: cannot check it against {key_name}: {error}"
        ))),
    }
}

/// A PEM reading error, naming the file.
fn pem_message(name: &impl fmt::Display, error: pem::Error) -> String {
    match error {
        pem::Error::Io(error) => format!("cannot read {name}: {error}"),
        error => format!("{name}: not valid PEM: {error:?}"),
    }
}

/// The server side of TLS: the rustls config and the certificate it serves, which
/// `spawn_reloader` swaps when the files change. Cheap to clone.
#[derive(Clone)]
pub struct ServerTls {
    /// Handed to every handshake.
    config: Arc<ServerConfig>,
    /// What the config's resolver serves.
    resolver: Arc<CertResolver>,
    /// The PEM files, for reloads.
    cert_path: PathBuf,
    /// The key file.
    key_path: PathBuf,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .finish()
    }
}

impl ServerTls {
    /// Serves `certified` (loaded from `cert_path` and `key_path`, which reloads re-read).
    pub fn new(certified: CertifiedKey, cert_path: PathBuf, key_path: PathBuf) -> ServerTls {
        let resolver = Arc::new(CertResolver(ArcSwap::from_pointee(certified)));
        let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        ServerTls {
            config: Arc::new(config),
            resolver,
            cert_path,
            key_path,
        }
    }

    /// Reads the files and serves them.
    pub fn load(cert_path: PathBuf, key_path: PathBuf) -> Result<ServerTls, TlsFileError> {
        let certified = load_certified_key(&cert_path, &key_path)?;
        Ok(ServerTls::new(certified, cert_path, key_path))
    }

    /// The end-entity certificate served now (DER).
    pub fn current_certificate(&self) -> CertificateDer<'static> {
        self.resolver.0.load().cert[0].clone()
    }

    /// Every `interval`, re-reads the certificate and key when either file's modification
    /// time or size changed, and serves them from the next handshake on. A pair that does
    /// not load (half-written, mismatched) is logged and the previous one kept. Stops when
    /// the handle is aborted.
    pub fn spawn_reloader(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let tls = self.clone();
        tokio::spawn(async move {
            let mut seen = tls.stamp();
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let now = tls.stamp();
                if now == seen {
                    continue;
                }
                seen = now;
                let (cert, key) = (tls.cert_path.clone(), tls.key_path.clone());
                let loaded =
                    tokio::task::spawn_blocking(move || load_certified_key(&cert, &key)).await;
                match loaded {
                    Ok(Ok(certified)) => {
                        tls.resolver.0.store(Arc::new(certified));
                        tracing::info!(cert = %tls.cert_path.display(), "tls certificate reloaded");
                    }
                    Ok(Err(error)) => tracing::warn!(
                        "tls certificate not reloaded, still serving the previous one: {error}"
                    ),
                    Err(error) => tracing::warn!("tls certificate reload failed: {error}"),
                }
            }
        })
    }

    /// Modification times and sizes of both files (`None` where unreadable).
    fn stamp(&self) -> [Option<(SystemTime, u64)>; 2] {
        let of = |path: &Path| {
            let metadata = std::fs::metadata(path).ok()?;
            Some((metadata.modified().ok()?, metadata.len()))
        };
        [of(&self.cert_path), of(&self.key_path)]
    }
}

/// Serves whatever certificate was loaded last, whatever name the client asked for.
#[derive(Debug)]
struct CertResolver(ArcSwap<CertifiedKey>);

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

/// A TCP listener whose accepted connections have completed a TLS handshake. Handshakes run
/// in a task of their own (each bounded by `HANDSHAKE_TIMEOUT`, at most `MAX_HANDSHAKES` at
/// once); dropping the listener stops accepting and abandons those in progress.
pub struct TlsListener {
    /// Connections whose handshake completed.
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    /// The bound address.
    local_addr: SocketAddr,
    /// The accept loop (it owns the socket and the handshakes).
    accept_loop: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Accepts on `listener` and hands out connections once `tls` completed their handshake.
    pub fn new(listener: TcpListener, tls: &ServerTls) -> io::Result<TlsListener> {
        let local_addr = listener.local_addr()?;
        let (ready_tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(tls.config.clone());
        let accept_loop = tokio::spawn(accept_loop(listener, acceptor, ready_tx));
        Ok(TlsListener {
            ready,
            local_addr,
            accept_loop,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop only ends when the listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

/// Accepts TCP connections and runs their handshakes; finished ones go to `ready`.
async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let mut handshakes = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if handshakes.len() >= MAX_HANDSHAKES {
                        tracing::warn!(%peer, "too many tls handshakes in progress; connection closed");
                        continue;
                    }
                    let acceptor = acceptor.clone();
                    let ready = ready.clone();
                    handshakes.spawn(async move {
                        let _ = stream.set_nodelay(true);
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                            Ok(Ok(tls)) => {
                                let _ = ready.send((tls, peer)).await;
                            }
                            Ok(Err(error)) => tracing::debug!(%peer, "tls handshake failed: {error}"),
                            Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
                        }
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off as axum does.
                    tracing::warn!("http accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = handshakes.join_next(), if !handshakes.is_empty() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_name_the_file_at_fault() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("api.crt");
        let key = dir.path().join("api.key");
        let error = load_certified_key(&cert, &key).unwrap_err();
        assert_eq!(error.file, TlsFile::Cert);
        assert!(error.message.starts_with("cannot read "), "{error}");
        assert!(error.message.contains("api.crt"), "{error}");

        std::fs::write(&cert, "not a certificate\n").unwrap();
        let error = load_certified_key(&cert, &key).unwrap_err();
        assert_eq!(error.file, TlsFile::Cert);
        assert!(
            error.message.contains("holds no PEM certificate"),
            "{error}"
        );
    }
}
