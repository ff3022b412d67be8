//! Client facts: who is asking, and where they are, as far as the policy engine may use it.
//!
//! The client address is the ECS source (RFC 7871) when the query carries one, else the PROXY
//! v2 source from a trusted proxy, else the packet source (the transport folds the last two
//! into one address). Its location comes from the operator's CIDR → location table when an
//! entry covers it, else from the GeoIP database, else it is unknown (geo policies take their
//! default branch).
//!
//! Besides the facts, `ClientFacts` carries `geo_prefix`: the widest prefix around the
//! address inside which every address has the same facts. The policy engine combines it with
//! the prefixes its own decisions depend on into the ECS scope of the answer.
//!
//! - `table`: `PrefixTable`, longest-prefix match with cell width.
//! - `geoip`: `GeoIpDatabase`, MaxMind DB lookups with reload on change.

pub mod geoip;
pub mod table;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use gslb_store::model::gslb_record::{family_width, mask};

pub use geoip::{GeoIpDatabase, GeoIpError, GeoIpHit, Reload};
pub use table::{cell_prefix_for, PrefixMatch, PrefixTable};

/// A short upper-case code (`EU`, `DE`, `DE-BY`) stored inline so facts never allocate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code {
    /// The bytes, ASCII, `len` of them used.
    bytes: [u8; 8],
    /// Bytes in use.
    len: u8,
}

impl Code {
    /// The code for `text` if it is 1–8 ASCII characters (upper-cased).
    pub fn new(text: &str) -> Option<Code> {
        if text.is_empty() || text.len() > 8 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 8];
        for (slot, byte) in bytes.iter_mut().zip(text.bytes()) {
            *slot = byte.to_ascii_uppercase();
        }
        Some(Code {
            bytes,
            len: text.len() as u8,
        })
    }

    /// `country-sub` (ISO 3166-2), e.g. `DE` + `BY` → `DE-BY`.
    pub fn joined(country: &str, sub: &str) -> Option<Code> {
        let len = country.len() + 1 + sub.len();
        if len > 8 {
            return None;
        }
        let mut text = [0u8; 8];
        text[..country.len()].copy_from_slice(country.as_bytes());
        text[country.len()] = b'-';
        text[country.len() + 1..len].copy_from_slice(sub.as_bytes());
        Code::new(std::str::from_utf8(&text[..len]).ok()?)
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a client is, as far as we know.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GeoFacts {
    /// Continent code (`EU`).
    pub continent: Option<Code>,
    /// ISO 3166-1 alpha-2 country (`DE`).
    pub country: Option<Code>,
    /// ISO 3166-2 subdivision (`DE-BY`).
    pub subdivision: Option<Code>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// Latitude and longitude in degrees, for proximity.
    pub lat_lon: Option<(f64, f64)>,
}

impl GeoFacts {
    /// True when nothing is known.
    pub fn is_unknown(&self) -> bool {
        *self == GeoFacts::default()
    }
}

/// Where the client address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientOrigin {
    /// The query's EDNS Client Subnet option.
    Ecs,
    /// The packet (or trusted PROXY v2) source.
    Transport,
}

/// Where the location facts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GeoSource {
    /// An entry of the operator's CIDR → location table.
    Table,
    /// The GeoIP database.
    GeoIp,
    /// Nothing knows this address.
    Unknown,
}

/// Everything the policy engine may know about the client of one query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientFacts {
    /// The address decisions are made on, masked to `source_prefix`.
    pub addr: IpAddr,
    /// ECS SOURCE PREFIX-LENGTH, or the family's full width for a transport address. The ECS
    /// scope we return is never longer than this.
    pub source_prefix: u8,
    /// Whether `addr` came from ECS or the transport.
    pub origin: ClientOrigin,
    /// Location facts.
    pub geo: GeoFacts,
    /// The widest prefix around `addr` inside which every address has the same `geo`.
    pub geo_prefix: u8,
    /// Where `geo` came from.
    pub geo_source: GeoSource,
}

impl ClientFacts {
    /// Facts for an address with no location (tests, and nodes without GeoIP or table).
    pub fn bare(addr: IpAddr, source_prefix: u8, origin: ClientOrigin) -> ClientFacts {
        let addr = addr.to_canonical();
        let source_prefix = source_prefix.min(family_width(addr));
        ClientFacts {
            addr: mask(addr, source_prefix),
            source_prefix,
            origin,
            geo: GeoFacts::default(),
            geo_prefix: 0,
            geo_source: GeoSource::Unknown,
        }
    }
}

/// Turns a query's addresses into `ClientFacts`: the CIDR → location table first, then the
/// GeoIP database. Cheap to share (`Arc` inside); lookups allocate nothing.
#[derive(Debug, Clone, Default)]
pub struct ClientLocator {
    /// Operator-declared locations; an entry covering the client wins over GeoIP.
    table: Arc<PrefixTable<GeoFacts>>,
    /// The GeoIP database, if configured.
    geoip: Option<Arc<GeoIpDatabase>>,
}

impl ClientLocator {
    /// A locator over `table` and an optional GeoIP database.
    pub fn new(table: PrefixTable<GeoFacts>, geoip: Option<Arc<GeoIpDatabase>>) -> Self {
        ClientLocator {
            table: Arc::new(table),
            geoip,
        }
    }

    /// Facts for one query. `transport` is the packet or trusted-proxy source; `ecs` is the
    /// ECS (address, SOURCE PREFIX-LENGTH) when the query carries the option.
    ///
    /// An ECS source of /0 means the resolver withholds the client (RFC 7871 §7.1.2): the
    /// transport address is located instead, and the scope will be 0.
    pub fn facts(&self, transport: IpAddr, ecs: Option<(IpAddr, u8)>) -> ClientFacts {
        let mut facts = match ecs {
            Some((addr, source_prefix)) if source_prefix > 0 => {
                ClientFacts::bare(addr, source_prefix, ClientOrigin::Ecs)
            }
            Some((_, _)) => {
                let mut facts = ClientFacts::bare(transport, 128, ClientOrigin::Ecs);
                facts.source_prefix = 0;
                facts
            }
            None => ClientFacts::bare(transport, 128, ClientOrigin::Transport),
        };
        let (geo, geo_prefix, geo_source) = self.locate(facts.addr);
        facts.geo = geo;
        facts.geo_prefix = geo_prefix;
        facts.geo_source = geo_source;
        facts
    }

    /// Location facts for `addr`, the width of the cell that shares them, and their source.
    pub fn locate(&self, addr: IpAddr) -> (GeoFacts, u8, GeoSource) {
        let found = self.table.lookup(addr);
        if let Some((_, geo)) = found.entry {
            return (*geo, found.cell_prefix, GeoSource::Table);
        }
        match self.geoip.as_ref().and_then(|db| db.lookup(addr)) {
            Some(hit) => {
                // An IPv4 address in a database without an IPv4 subtree reports an IPv6
                // network; clamp to the family so the scope stays a valid length.
                let prefix = hit
                    .network_prefix
                    .max(found.cell_prefix)
                    .min(family_width(addr));
                let source = if hit.facts.is_unknown() {
                    GeoSource::Unknown
                } else {
                    GeoSource::GeoIp
                };
                (hit.facts, prefix, source)
            }
            None => (GeoFacts::default(), found.cell_prefix, GeoSource::Unknown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_inline_and_upper_case() {
        assert_eq!(Code::new("de").unwrap().as_str(), "DE");
        assert_eq!(Code::joined("DE", "BY").unwrap().as_str(), "DE-BY");
        assert!(Code::new("").is_none());
        assert!(Code::new("TOOLONGCODE").is_none());
    }

    #[test]
    fn ecs_wins_and_is_masked_and_the_table_locates() {
        let de = GeoFacts {
            country: Code::new("DE"),
            continent: Code::new("EU"),
            ..GeoFacts::default()
        };
        let locator = ClientLocator::new(
            PrefixTable::new([("192.0.2.0/24".parse().unwrap(), de)]),
            None,
        );
        let transport: IpAddr = "198.51.100.9".parse().unwrap();
        let facts = locator.facts(transport, Some(("192.0.2.77".parse().unwrap(), 24)));
        assert_eq!(facts.addr, "192.0.2.0".parse::<IpAddr>().unwrap());
        assert_eq!(facts.origin, ClientOrigin::Ecs);
        assert_eq!(facts.geo, de);
        assert_eq!(facts.geo_prefix, 24);
        assert_eq!(facts.geo_source, GeoSource::Table);
        let facts = locator.facts(transport, None);
        assert_eq!(facts.source_prefix, 32);
        assert_eq!(facts.geo_source, GeoSource::Unknown);
        assert_eq!(facts.geo_prefix, 6, "198.x leaves 192.0.2.0/24 at bit 5");
        let mapped: IpAddr = "::ffff:192.0.2.5".parse().unwrap();
        assert_eq!(locator.facts(mapped, None).geo, de);
        let withheld = locator.facts(
            "192.0.2.9".parse().unwrap(),
            Some(("::".parse().unwrap(), 0)),
        );
        assert_eq!(withheld.source_prefix, 0);
        assert_eq!(withheld.geo, de);
    }
}
