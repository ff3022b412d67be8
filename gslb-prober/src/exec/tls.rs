//! The TLS leg of `https` checks: a rustls client (ring provider) with the check's CA, the
//! platform's roots, or no verification, and one HTTP/1.1 GET over it with hyper.
//!
//! Kept apart from reqwest on purpose: turning on reqwest's rustls features in this crate
//! would switch them on for every reqwest client linked into the `gslb` binary, and reqwest
//! then panics building any client unless a process-wide provider was installed first.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::HOST;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;

use super::MAX_BODY_BYTES;

/// A response as the http judge reads it.
pub(super) struct Fetched {
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: http::HeaderMap,
    /// The body (at most `MAX_BODY_BYTES`, and whether it went on), when asked for.
    pub body: Option<(Vec<u8>, bool)>,
    /// Connect, handshake and response headers.
    pub rtt: Duration,
}

/// A client configuration trusting only `ca_pem` when given, else the platform's roots, or
/// nothing at all with `skip_verify`.
pub(super) fn client_config(
    ca_pem: Option<&str>,
    skip_verify: bool,
) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("tls setup: {error}"))?;
    let config = if skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        match ca_pem {
            Some(pem) => {
                for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                    let certificate = certificate.map_err(|error| format!("ca_pem: {error}"))?;
                    roots
                        .add(certificate)
                        .map_err(|error| format!("ca_pem: {error}"))?;
                }
            }
            None => {
                let native = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(native.certs);
            }
        }
        if roots.is_empty() {
            return Err("no trusted certificates (ca_pem is empty, or no platform roots)".into());
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// GETs `path` from `peer` over TLS, presenting and verifying `server_name`, with `host` as
/// the Host header. Errors say what failed, with the RTT once the server answered.
#[allow(clippy::too_many_arguments)]
pub(super) async fn fetch(
    config: Arc<ClientConfig>,
    peer: SocketAddr,
    server_name: &str,
    host: &str,
    path: &str,
    headers: &[(&String, &String)],
    read_body: bool,
    timeout: Duration,
) -> Result<Fetched, (String, Option<Duration>)> {
    let work = async {
        let started = Instant::now();
        let name = ServerName::try_from(server_name.to_string())
            .map_err(|error| (format!("server name {server_name:?}: {error}"), None))?;
        let tcp = TcpStream::connect(peer)
            .await
            .map_err(|error| (format!("connect to {peer}: {error}"), None))?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|error| (format!("tls with {peer} as {server_name}: {error}"), None))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|error| (format!("http over tls with {peer}: {error}"), None))?;
        let driver = tokio::spawn(connection);
        let result = async {
            let mut request = http::Request::get(path).header(HOST, host);
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str());
            }
            let request = request
                .body(Empty::<Bytes>::new())
                .map_err(|error| (format!("request: {error}"), None))?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|error| (format!("GET https://{peer}{path}: {error}"), None))?;
            let rtt = started.elapsed();
            let (parts, mut body) = response.into_parts();
            let body = if read_body {
                Some(
                    read_bounded(&mut body)
                        .await
                        .map_err(|error| (error, Some(rtt)))?,
                )
            } else {
                None
            };
            Ok(Fetched {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
                rtt,
            })
        }
        .await;
        driver.abort();
        result
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| {
            Err((
                format!(
                    "GET https://{peer}{path}: timed out after {} ms",
                    timeout.as_millis()
                ),
                None,
            ))
        })
}

/// Reads at most `MAX_BODY_BYTES`; the flag says whether the body went on beyond them.
async fn read_bounded(body: &mut hyper::body::Incoming) -> Result<(Vec<u8>, bool), String> {
    let mut collected = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| format!("read body: {error}"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let room = MAX_BODY_BYTES - collected.len();
        if data.len() > room {
            collected.extend_from_slice(&data[..room]);
            return Ok((collected, true));
        }
        collected.extend_from_slice(&data);
    }
    Ok((collected, false))
}

/// `skip_verify`: any certificate is accepted, but handshake signatures are still checked
/// (so the peer holds the key of the certificate it sent).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
