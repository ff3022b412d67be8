//! PROXY protocol v2 (HAProxy) for queries relayed by a load balancer: which peers may send
//! it (`TrustedProxies`, a list of `gslb_model::ip::Cidr`) and how a header turns into the
//! client address.
//!
//! Only v2 is accepted, and only from a trusted peer: anyone else could claim any client
//! address and steer the answer. A `LOCAL` header (the balancer's own health check) and
//! address families without an IP fall back to the socket peer.

use std::net::{IpAddr, SocketAddr};

use gslb_model::ip::Cidr;
use ppp::v2;

/// The peers allowed to send PROXY v2 headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<Cidr>);

impl TrustedProxies {
    /// True when `peer` lies in one of the trusted networks (an IPv4-mapped IPv6 peer, as a
    /// dual-stack socket reports it, counts as its IPv4 address).
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.0.iter().any(|cidr| cidr.contains(peer))
    }
}

/// The outcome of reading a PROXY v2 header at the start of `bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyHeader {
    /// A whole header of `length` bytes naming `client` (the socket peer for `LOCAL`).
    Complete {
        /// Bytes to skip to reach the DNS payload.
        length: usize,
        /// The address the answer is computed for.
        client: SocketAddr,
    },
    /// The header is not complete yet; at least `needed` bytes in total are required.
    Incomplete {
        /// Total bytes needed before parsing can succeed (a lower bound).
        needed: usize,
    },
    /// Not a valid PROXY v2 header.
    Invalid,
}

/// The fixed part of a v2 header: 12-byte signature, version/command, family, length.
pub(crate) const FIXED_HEADER_LENGTH: usize = 16;

/// Parses a v2 header from the start of `bytes`; `peer` is the socket peer. No allocation.
pub(crate) fn parse_proxy_header(bytes: &[u8], peer: SocketAddr) -> ProxyHeader {
    match v2::Header::try_from(bytes) {
        Ok(header) => {
            let client = match (header.command, header.addresses) {
                (v2::Command::Local, _) => peer,
                (v2::Command::Proxy, v2::Addresses::IPv4(ip)) => {
                    SocketAddr::from((ip.source_address, ip.source_port))
                }
                (v2::Command::Proxy, v2::Addresses::IPv6(ip)) => {
                    SocketAddr::from((ip.source_address, ip.source_port))
                }
                (v2::Command::Proxy, _) => peer,
            };
            ProxyHeader::Complete {
                length: header.len(),
                client,
            }
        }
        Err(v2::ParseError::Incomplete(_)) => ProxyHeader::Incomplete {
            needed: FIXED_HEADER_LENGTH,
        },
        Err(v2::ParseError::Partial(_, payload)) => ProxyHeader::Incomplete {
            needed: FIXED_HEADER_LENGTH + payload,
        },
        Err(_) => ProxyHeader::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(texts: &[&str]) -> TrustedProxies {
        TrustedProxies(
            texts
                .iter()
                .map(|text| Cidr::parse_host_or_network(text).unwrap())
                .collect(),
        )
    }

    #[test]
    fn trusted_proxies_match_hosts_networks_and_mapped_peers() {
        let proxies = trusted(&["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]);
        assert!(proxies.trusts("10.255.0.1".parse().unwrap()));
        assert!(!proxies.trusts("11.0.0.1".parse().unwrap()));
        assert!(proxies.trusts("192.0.2.7".parse().unwrap()));
        assert!(!proxies.trusts("192.0.2.8".parse().unwrap()));
        assert!(proxies.trusts("::ffff:10.0.0.1".parse().unwrap()));
        assert!(proxies.trusts("2001:db8::53".parse().unwrap()));
        assert!(trusted(&["0.0.0.0/0"]).trusts("203.0.113.9".parse().unwrap()));
        assert!(!trusted(&["::/0"]).trusts("127.0.0.1".parse().unwrap()));
        assert!(!TrustedProxies::default().trusts("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn proxy_command_yields_the_carried_source() {
        let peer: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let source: SocketAddr = "198.51.100.7:5300".parse().unwrap();
        let destination: SocketAddr = "192.0.2.1:53".parse().unwrap();
        let mut bytes = v2::Builder::with_addresses(
            v2::Version::Two | v2::Command::Proxy,
            v2::Protocol::Datagram,
            (source, destination),
        )
        .build()
        .unwrap();
        let header_length = bytes.len();
        bytes.extend_from_slice(b"dns payload");
        assert_eq!(
            parse_proxy_header(&bytes, peer),
            ProxyHeader::Complete {
                length: header_length,
                client: source
            }
        );
        assert!(matches!(
            parse_proxy_header(&bytes[..10], peer),
            ProxyHeader::Incomplete { needed: 16 }
        ));
        assert!(matches!(
            parse_proxy_header(&bytes[..20], peer),
            ProxyHeader::Incomplete { needed } if needed == header_length
        ));
        assert_eq!(
            parse_proxy_header(b"GET / HTTP/1.1\r\n\r\n", peer),
            ProxyHeader::Invalid
        );
    }

    #[test]
    fn local_command_yields_the_peer() {
        let peer: SocketAddr = "[::1]:4000".parse().unwrap();
        let bytes = v2::Builder::with_addresses(
            v2::Version::Two | v2::Command::Local,
            v2::Protocol::Stream,
            v2::Addresses::Unspecified,
        )
        .build()
        .unwrap();
        assert_eq!(
            parse_proxy_header(&bytes, peer),
            ProxyHeader::Complete {
                length: 16,
                client: peer
            }
        );
    }
}
