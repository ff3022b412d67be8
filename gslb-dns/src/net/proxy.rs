//! PROXY protocol v2 (HAProxy) for queries relayed by a load balancer: which peers may send
//! it (`Cidr`, `TrustedProxies`) and how a header turns into the client address.
//!
//! Only v2 is accepted, and only from a trusted peer: anyone else could claim any client
//! address and steer the answer. A `LOCAL` header (the balancer's own health check) and
//! address families without an IP fall back to the socket peer.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ppp::v2;

/// An IP network such as `10.0.0.0/8` or `2001:db8::/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address, host bits cleared.
    network: IpAddr,
    /// Prefix length: 0..=32 for IPv4, 0..=128 for IPv6.
    prefix: u8,
}

/// Why a CIDR text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The part before the `/` is no IP address.
    #[error("invalid address {0:?}")]
    Address(String),
    /// The prefix is not a number or longer than the address.
    #[error("invalid prefix length {0:?}")]
    Prefix(String),
}

impl Cidr {
    /// The network of `address` with `prefix` bits (host bits are cleared).
    pub fn new(address: IpAddr, prefix: u8) -> Option<Cidr> {
        let width = match address {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if prefix > width {
            return None;
        }
        Some(Cidr {
            network: mask(address, prefix),
            prefix,
        })
    }

    /// True when `address` lies inside this network (IPv4-mapped IPv6 addresses count as
    /// their IPv4 address).
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        match (self.network, address) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(address, self.prefix) == self.network
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// Parses `ADDR/LEN`, or a bare address as a single host.
    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let (address_text, prefix_text) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address_text
            .parse()
            .map_err(|_| CidrError::Address(address_text.to_string()))?;
        let width = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            None => width,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|length| *length <= width)
                .ok_or_else(|| CidrError::Prefix(prefix.to_string()))?,
        };
        Cidr::new(address, prefix).ok_or_else(|| CidrError::Prefix(prefix.to_string()))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = if prefix == 0 {
                0
            } else {
                bits & (u32::MAX << (32 - u32::from(prefix)))
            };
            IpAddr::V4(kept.into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = if prefix == 0 {
                0
            } else {
                bits & (u128::MAX << (128 - u32::from(prefix)))
            };
            IpAddr::V6(kept.into())
        }
    }
}

/// The peers allowed to send PROXY v2 headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<Cidr>);

impl TrustedProxies {
    /// True when `peer` lies in one of the trusted networks.
    pub fn trusts(&self, peer: IpAddr) -> bool {
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

    fn cidr(text: &str) -> Cidr {
        text.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_mask_and_match() {
        assert_eq!(cidr("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(cidr("192.0.2.7").to_string(), "192.0.2.7/32");
        assert_eq!(cidr("2001:db8::1/32").to_string(), "2001:db8::/32");
        assert!(cidr("10.0.0.0/8").contains("10.255.0.1".parse().unwrap()));
        assert!(!cidr("10.0.0.0/8").contains("11.0.0.1".parse().unwrap()));
        assert!(cidr("0.0.0.0/0").contains("203.0.113.9".parse().unwrap()));
        assert!(cidr("127.0.0.0/8").contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!cidr("::/0").contains("127.0.0.1".parse().unwrap()));
        assert_eq!(
            "10.0.0.0/33".parse::<Cidr>(),
            Err(CidrError::Prefix("33".into()))
        );
        assert_eq!(
            "ten/8".parse::<Cidr>(),
            Err(CidrError::Address("ten".into()))
        );
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
