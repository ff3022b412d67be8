//! IP prefixes: the one `Cidr` type (parse, print, contain, mask) and the bit helpers every
//! crate uses for client subnets, geo tables, API networks and trusted proxy lists.
//!
//! One rule for every CIDR a user writes: **host bits must be zero**. `10.1.2.3/8` is refused
//! with the network it would have meant (`10.0.0.0/8`), never widened silently: in a geo table
//! or a trusted-proxy list the text is either a typo for `/32` or a misunderstanding, and
//! quietly trusting or steering 16M addresses is the worse outcome. The API and the geo config
//! always refused it; only `dns.proxy.trusted` accepted it, which was the bug. A bare address
//! names a single host only where a list of hosts is natural (`Cidr::parse_host_or_network`,
//! used for trusted proxies); stored data (networks, geo rules) always carries its `/len`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An IP network in CIDR notation with no host bits set (`192.0.2.0/24`, `2001:db8::/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    /// The network address (host bits zero).
    addr: IpAddr,
    /// The prefix length, at most 32 (IPv4) or 128 (IPv6).
    prefix: u8,
}

/// Why a string is not a CIDR network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// No `/` separating address and length.
    #[error("cidr {0:?} has no '/prefix'")]
    NoPrefix(String),
    /// The address part does not parse.
    #[error("cidr {0:?} has a bad address")]
    BadAddress(String),
    /// The length is not a number within the family's width.
    #[error("cidr {0:?} has a bad prefix length")]
    BadPrefix(String),
    /// Bits beyond the prefix are set.
    #[error("cidr {0:?} has host bits set (network is {1})")]
    HostBits(String, Cidr),
}

impl Cidr {
    /// A network from an address and length; host bits are cleared. `None` when the length
    /// exceeds the family's width.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        if prefix > family_width(addr) {
            return None;
        }
        Some(Cidr {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    /// The network holding exactly `addr` (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> Cidr {
        Cidr {
            addr,
            prefix: family_width(addr),
        }
    }

    /// Parses `ADDR/LEN` like `FromStr`, or a bare address as a single host: the form for
    /// lists of peers (`dns.proxy.trusted`).
    pub fn parse_host_or_network(text: &str) -> Result<Cidr, CidrError> {
        if text.contains('/') {
            return text.parse();
        }
        text.parse::<IpAddr>()
            .map(Cidr::host)
            .map_err(|_| CidrError::BadAddress(text.to_string()))
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside. Families never mix: an IPv4-mapped IPv6 address is IPv6 here;
    /// callers that receive mapped peers from a dual-stack socket canonicalize first.
    pub fn contains(&self, ip: IpAddr) -> bool {
        common_prefix_len(self.addr, ip).is_some_and(|common| common >= self.prefix)
    }
}

/// 32 for IPv4, 128 for IPv6.
pub fn family_width(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `ip` with every bit past `prefix` cleared (a prefix past the width keeps it whole).
pub fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = if prefix == 0 {
                0
            } else {
                bits & (u32::MAX << (32 - u32::from(prefix.min(32))))
            };
            IpAddr::V4(kept.into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = if prefix == 0 {
                0
            } else {
                bits & (u128::MAX << (128 - u32::from(prefix.min(128))))
            };
            IpAddr::V6(kept.into())
        }
    }
}

/// How many leading bits `a` and `b` share; `None` across families.
pub fn common_prefix_len(a: IpAddr, b: IpAddr) -> Option<u8> {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            Some((u32::from(a) ^ u32::from(b)).leading_zeros().min(32) as u8)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            Some((u128::from(a) ^ u128::from(b)).leading_zeros().min(128) as u8)
        }
        _ => None,
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// Parses `ADDR/LEN` with no host bits set.
    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let (addr, len) = text
            .split_once('/')
            .ok_or_else(|| CidrError::NoPrefix(text.to_string()))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| CidrError::BadAddress(text.to_string()))?;
        let prefix: u8 = len
            .parse()
            .map_err(|_| CidrError::BadPrefix(text.to_string()))?;
        let cidr = Cidr::new(addr, prefix).ok_or_else(|| CidrError::BadPrefix(text.to_string()))?;
        if cidr.addr != addr {
            return Err(CidrError::HostBits(text.to_string(), cidr));
        }
        Ok(cidr)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Cidr, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `text` strictly and as a host-or-network, and compares both outcomes printed.
    fn check(text: &str, strict: &str, host_or_network: &str) {
        let show = |result: Result<Cidr, CidrError>| match result {
            Ok(cidr) => cidr.to_string(),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(show(text.parse()), strict, "strict parse of {text:?}");
        assert_eq!(
            show(Cidr::parse_host_or_network(text)),
            host_or_network,
            "host-or-network parse of {text:?}"
        );
    }

    #[test]
    fn parsing_follows_one_rule_for_host_bits() {
        check("10.1.0.0/16", "10.1.0.0/16", "10.1.0.0/16");
        check("0.0.0.0/0", "0.0.0.0/0", "0.0.0.0/0");
        check("2001:db8::/32", "2001:db8::/32", "2001:db8::/32");
        let host_bits = "error: cidr \"10.1.0.1/16\" has host bits set (network is 10.1.0.0/16)";
        check("10.1.0.1/16", host_bits, host_bits);
        let too_long = "error: cidr \"10.1.0.0/33\" has a bad prefix length";
        check("10.1.0.0/33", too_long, too_long);
        check(
            "192.0.2.7",
            "error: cidr \"192.0.2.7\" has no '/prefix'",
            "192.0.2.7/32",
        );
        check("::1", "error: cidr \"::1\" has no '/prefix'", "::1/128");
        check(
            "nope",
            "error: cidr \"nope\" has no '/prefix'",
            "error: cidr \"nope\" has a bad address",
        );
        check(
            "nope/8",
            "error: cidr \"nope/8\" has a bad address",
            "error: cidr \"nope/8\" has a bad address",
        );
    }

    #[test]
    fn contains_and_mask_keep_families_apart() {
        let cidr: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(cidr.contains("10.1.255.3".parse().unwrap()));
        assert!(!cidr.contains("10.2.0.0".parse().unwrap()));
        assert!(!cidr.contains("::ffff:10.1.0.1".parse().unwrap()));
        assert_eq!(
            Cidr::new("2001:db8::1".parse().unwrap(), 32)
                .unwrap()
                .to_string(),
            "2001:db8::/32"
        );
        assert_eq!(Cidr::new("10.0.0.0".parse().unwrap(), 33), None);
        assert_eq!(
            mask("192.0.2.255".parse().unwrap(), 25),
            "192.0.2.128".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            mask("192.0.2.255".parse().unwrap(), 40),
            "192.0.2.255".parse::<IpAddr>().unwrap()
        );
        assert_eq!(family_width("::".parse().unwrap()), 128);
        assert_eq!(
            common_prefix_len("10.0.0.0".parse().unwrap(), "::".parse().unwrap()),
            None
        );
    }
}
