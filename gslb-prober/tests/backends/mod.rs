//! Local backends for the prober's tests: a raw HTTP server on 127.0.0.x whose behaviour a
//! test switches at run time (healthy, failing, hanging, garbage, endless body, JSON), and a
//! UDP DNS server. Raw sockets keep each misbehaviour exact.
//!
//! `data/` holds a test CA and a server certificate for `www.example.test` and 127.0.0.1
//! (P-256, valid for 100 years), made with `openssl req -x509` and `openssl x509 -req`.

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// What the HTTP backend does with the next request.
#[derive(Debug, Clone)]
pub enum Behavior {
    /// Answers with this status, content type and body.
    Respond(u16, &'static str, String),
    /// Reads the request and never answers.
    Hang,
    /// Answers with bytes that are not HTTP.
    Garbage,
    /// Answers 200 and then sends body bytes forever.
    Endless,
}

/// A running HTTP backend.
pub struct HttpBackend {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its current behaviour.
    behavior: Arc<Mutex<Behavior>>,
    /// The head of the last request it read.
    pub last_request: Arc<Mutex<String>>,
}

impl HttpBackend {
    /// Starts a backend on `ip` (port 0 unless `port` is given).
    pub async fn start(ip: &str, port: u16, behavior: Behavior) -> HttpBackend {
        HttpBackend::start_with(ip, port, behavior, None).await
    }

    /// Starts one backend per address in `ips`, all on the same port, each with its behaviour.
    /// The port is free on the first address when it is picked, but another test may hold it on
    /// the others, so a clash picks a new port (at most 50 tries).
    pub async fn start_on_shared_port(ips: &[(&str, Behavior)]) -> Vec<HttpBackend> {
        'pick: for _ in 0..50 {
            let mut listeners = Vec::new();
            let mut port = 0;
            for (ip, _) in ips {
                let address = (ip.parse::<IpAddr>().unwrap(), port);
                let Ok(listener) = TcpListener::bind(address).await else {
                    continue 'pick;
                };
                port = listener.local_addr().unwrap().port();
                listeners.push(listener);
            }
            return listeners
                .into_iter()
                .zip(ips)
                .map(|(listener, (_, behavior))| {
                    HttpBackend::serve_on(listener, behavior.clone(), None)
                })
                .collect();
        }
        panic!(
            "no port free on all of {:?} in 50 tries",
            ips.iter().map(|(ip, _)| ip).collect::<Vec<_>>()
        );
    }

    /// Starts an HTTPS backend on 127.0.0.1:0 with the test server certificate.
    pub async fn start_tls(behavior: Behavior) -> HttpBackend {
        let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
        let certificates: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(format!("{data}/server.pem"))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let key = PrivateKeyDer::from_pem_file(format!("{data}/server.key")).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certificates, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        HttpBackend::start_with("127.0.0.1", 0, behavior, Some(acceptor)).await
    }

    /// The test CA's PEM, for `ca_pem`.
    pub fn test_ca_pem() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ca.pem")).unwrap()
    }

    /// Starts a backend, with TLS when `acceptor` is given.
    async fn start_with(
        ip: &str,
        port: u16,
        behavior: Behavior,
        acceptor: Option<tokio_rustls::TlsAcceptor>,
    ) -> HttpBackend {
        let listener = TcpListener::bind((ip.parse::<IpAddr>().unwrap(), port))
            .await
            .expect("bind backend");
        HttpBackend::serve_on(listener, behavior, acceptor)
    }

    /// Serves on a bound listener, with TLS when `acceptor` is given.
    fn serve_on(
        listener: TcpListener,
        behavior: Behavior,
        acceptor: Option<tokio_rustls::TlsAcceptor>,
    ) -> HttpBackend {
        let addr = listener.local_addr().unwrap();
        let behavior = Arc::new(Mutex::new(behavior));
        let last_request = Arc::new(Mutex::new(String::new()));
        let (shared, last) = (behavior.clone(), last_request.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let behavior = shared.lock().unwrap().clone();
                let last = last.clone();
                match acceptor.clone() {
                    None => {
                        tokio::spawn(serve(stream, behavior, last));
                    }
                    Some(acceptor) => {
                        tokio::spawn(async move {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(stream, behavior, last).await;
                            }
                        });
                    }
                }
            }
        });
        HttpBackend {
            addr,
            behavior,
            last_request,
        }
    }

    /// Switches the behaviour for the next requests.
    pub fn set(&self, behavior: Behavior) {
        *self.behavior.lock().unwrap() = behavior;
    }

    /// A JSON body answered with `status`.
    pub fn json(status: u16, body: serde_json::Value) -> Behavior {
        Behavior::Respond(status, "application/json", body.to_string())
    }
}

/// Serves one connection.
async fn serve(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    behavior: Behavior,
    last: Arc<Mutex<String>>,
) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < 16_384 {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    *last.lock().unwrap() = String::from_utf8_lossy(&head).into_owned();
    match behavior {
        Behavior::Respond(status, content_type, body) => {
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nx-backend: test\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
        Behavior::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Behavior::Garbage => {
            let _ = stream
                .write_all(b"\x00\x01SSH-2.0-garbage\r\n\xff\xfe\r\n\r\n")
                .await;
        }
        Behavior::Endless => {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n",
                )
                .await;
            let chunk = vec![b'x'; 8192];
            while stream.write_all(&chunk).await.is_ok() {}
        }
    }
}

/// How the DNS backend answers.
#[derive(Debug, Clone, Copy)]
pub enum DnsBehavior {
    /// NOERROR with one A record.
    Answer,
    /// NXDOMAIN.
    NxDomain,
    /// Bytes that are not DNS.
    Garbage,
    /// Nothing.
    Silent,
}

/// Starts a UDP DNS backend on 127.0.0.1:0.
pub async fn dns_backend(behavior: DnsBehavior) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = [0u8; 4096];
        loop {
            let Ok((length, peer)) = socket.recv_from(&mut buffer).await else {
                return;
            };
            let Ok(query) = Message::from_vec(&buffer[..length]) else {
                continue;
            };
            let reply = match behavior {
                DnsBehavior::Silent => continue,
                DnsBehavior::Garbage => b"not dns".to_vec(),
                DnsBehavior::Answer | DnsBehavior::NxDomain => {
                    let mut reply = Message::new(
                        query.metadata.id,
                        MessageType::Response,
                        query.metadata.op_code,
                    );
                    reply.add_queries(query.queries.clone());
                    if matches!(behavior, DnsBehavior::Answer) {
                        let name = query.queries[0].name().clone();
                        reply.answers.push(Record::from_rdata(
                            name,
                            60,
                            RData::A(A::new(192, 0, 2, 1)),
                        ));
                    } else {
                        reply.metadata.response_code = ResponseCode::NXDomain;
                    }
                    reply.to_vec().unwrap()
                }
            };
            let _ = socket.send_to(&reply, peer).await;
        }
    });
    addr
}
