//! Client facts: who is asking, and where they are, as far as the policy engine may use it.
//!
//! The client address is the ECS source (RFC 7871) when the query carries one, else the PROXY
//! v2 source from a trusted proxy, else the packet source (the transport folds the last two
//! into one address). Its location comes from the operator's CIDR → location tables when an
//! entry covers it, else from the GeoIP database, else it is unknown (geo policies take their
//! default branch).
//!
//! There are two tables: the node's `[[dns.geo.networks]]` config and the replicated network
//! table (`State::networks`, managed through `/v1/networks`). Precedence: the longest
//! prefix covering the address wins across both; at an equal prefix the node's config entry
//! wins (the operator of that node said so locally); either table wins over the GeoIP
//! database. The replicated table follows `State` versions (`ClientLocator::follow_networks`,
//! called by the plan follower and `/v1/resolve`, never on the query path) and is swapped in
//! whole, so a query reads it with one `ArcSwap` load and allocates nothing.
//!
//! Besides the facts, `ClientFacts` carries `geo_prefix`: the widest prefix around the
//! address inside which every address has the same facts. The policy engine combines it with
//! the prefixes its own decisions depend on into the ECS scope of the answer.
//!
//! - `table`: `PrefixTable`, longest-prefix match with cell width.
//! - `geoip`: `GeoIpDatabase`, MaxMind DB lookups with reload on change.

pub mod geoip;
pub mod table;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use gslb_model::ip::{family_width, mask};
use gslb_model::model::Network;

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
    /// An entry of this node's `[[dns.geo.networks]]` config table.
    Table,
    /// An entry of the replicated network table (`/v1/networks`).
    Network,
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
    /// The client of one query, not located yet. `transport` is the packet or trusted-proxy
    /// source; `ecs` is the ECS (address, SOURCE PREFIX-LENGTH) when the query carries the
    /// option.
    ///
    /// An ECS source of /0 means the resolver withholds the client (RFC 7871 §7.1.2): the
    /// transport address is used instead, and the scope will be 0.
    #[inline]
    pub fn unlocated(transport: IpAddr, ecs: Option<(IpAddr, u8)>) -> ClientFacts {
        match ecs {
            Some((addr, source_prefix)) if source_prefix > 0 => {
                ClientFacts::bare(addr, source_prefix, ClientOrigin::Ecs)
            }
            Some((_, _)) => {
                let mut facts = ClientFacts::bare(transport, 128, ClientOrigin::Ecs);
                facts.source_prefix = 0;
                facts
            }
            None => ClientFacts::bare(transport, 128, ClientOrigin::Transport),
        }
    }

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

/// Turns a query's addresses into `ClientFacts`: the CIDR → location tables first (the
/// node's config and the replicated one, longest prefix wins), then the GeoIP database.
/// Cheap to share (`Arc` inside; clones follow the same replicated table); lookups allocate
/// nothing.
#[derive(Debug, Clone, Default)]
pub struct ClientLocator {
    /// This node's `[[dns.geo.networks]]`; wins over the replicated table at an equal prefix.
    table: Arc<PrefixTable<GeoFacts>>,
    /// The replicated table as of the last `follow_networks`, swapped in whole.
    networks: Arc<ArcSwap<NetworkTable>>,
    /// The GeoIP database, if configured.
    geoip: Option<Arc<GeoIpDatabase>>,
}

/// The replicated network table as one caller loaded it, held so that many lookups share
/// one load; empty until the first lookup through it.
#[derive(Default)]
pub struct PinnedNetworks(Option<arc_swap::Guard<Arc<NetworkTable>>>);

impl fmt::Debug for PinnedNetworks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "PinnedNetworks(loaded)"
        } else {
            "PinnedNetworks(empty)"
        })
    }
}

/// The replicated network table compiled for lookups, with the entries it was built from
/// (to rebuild only when they change).
#[derive(Debug, Default)]
struct NetworkTable {
    /// The entries as `State::networks` had them.
    source: BTreeMap<String, Network>,
    /// The same entries as facts.
    table: PrefixTable<GeoFacts>,
}

/// The facts one replicated `Network` entry gives.
pub fn network_facts(network: &Network) -> GeoFacts {
    GeoFacts {
        continent: network.continent.as_deref().and_then(Code::new),
        country: network.country.as_deref().and_then(Code::new),
        subdivision: network.subdivision.as_deref().and_then(Code::new),
        asn: network.asn,
        lat_lon: network.lat_lon_degrees(),
    }
}

impl ClientLocator {
    /// A locator over this node's `table` and an optional GeoIP database; the replicated
    /// table starts empty (see `follow_networks`).
    pub fn new(table: PrefixTable<GeoFacts>, geoip: Option<Arc<GeoIpDatabase>>) -> Self {
        ClientLocator {
            table: Arc::new(table),
            networks: Arc::default(),
            geoip,
        }
    }

    /// Takes the replicated table `networks` (`State::networks`) into use when it differs
    /// from the one in use; returns whether it did. Compares and builds off the query path;
    /// queries see the old table or the new one whole.
    pub fn follow_networks(&self, networks: &BTreeMap<String, Network>) -> bool {
        if self.networks.load().source == *networks {
            return false;
        }
        // Entries with RTTs only place nobody: they must not hide the MaxMind DB's answer.
        let table = PrefixTable::new(
            networks
                .values()
                .filter(|network| network.has_location())
                .map(|network| (network.cidr, network_facts(network))),
        );
        self.networks.store(Arc::new(NetworkTable {
            source: networks.clone(),
            table,
        }));
        true
    }

    /// Entries of the replicated table in use.
    pub fn network_count(&self) -> usize {
        self.networks.load().table.len()
    }

    /// True when a GeoIP database is configured.
    pub fn has_geoip(&self) -> bool {
        self.geoip.is_some()
    }

    /// Facts for one query. `transport` is the packet or trusted-proxy source; `ecs` is the
    /// ECS (address, SOURCE PREFIX-LENGTH) when the query carries the option.
    pub fn facts(&self, transport: IpAddr, ecs: Option<(IpAddr, u8)>) -> ClientFacts {
        let mut facts = ClientFacts::unlocated(transport, ecs);
        self.locate_pinned(&mut PinnedNetworks::default(), &mut facts);
        facts
    }

    /// Fills in where `facts.addr` is (`geo`, `geo_prefix`, `geo_source`), reading the
    /// replicated table through `pin`: the first call loads the table in use and later calls
    /// with the same pin reuse it (the DNS path pins once per received batch).
    pub fn locate_pinned(&self, pin: &mut PinnedNetworks, facts: &mut ClientFacts) {
        let replicated = pin.0.get_or_insert_with(|| self.networks.load());
        let (geo, geo_prefix, geo_source) = self.locate_in(&replicated.table, facts.addr);
        facts.geo = geo;
        facts.geo_prefix = geo_prefix;
        facts.geo_source = geo_source;
    }

    /// Location facts for `addr`, the width of the cell that shares them, and their source.
    ///
    /// The cell is the longer of the two tables' cells (inside it neither table's verdict
    /// changes), widened to the GeoIP network when the database decides.
    pub fn locate(&self, addr: IpAddr) -> (GeoFacts, u8, GeoSource) {
        self.locate_in(&self.networks.load().table, addr)
    }

    /// `locate` with `replicated` as the replicated table.
    fn locate_in(
        &self,
        replicated: &PrefixTable<GeoFacts>,
        addr: IpAddr,
    ) -> (GeoFacts, u8, GeoSource) {
        let local = self.table.lookup(addr);
        let shared = replicated.lookup(addr);
        let cell_prefix = local.cell_prefix.max(shared.cell_prefix);
        match (local.entry, shared.entry) {
            (Some((local_cidr, local_geo)), Some((shared_cidr, shared_geo))) => {
                return if shared_cidr.prefix() > local_cidr.prefix() {
                    (*shared_geo, cell_prefix, GeoSource::Network)
                } else {
                    (*local_geo, cell_prefix, GeoSource::Table)
                };
            }
            (Some((_, geo)), None) => return (*geo, cell_prefix, GeoSource::Table),
            (None, Some((_, geo))) => return (*geo, cell_prefix, GeoSource::Network),
            (None, None) => {}
        }
        match self.geoip.as_ref().and_then(|db| db.lookup(addr)) {
            Some(hit) => {
                // An IPv4 address in a database without an IPv4 subtree reports an IPv6
                // network; clamp to the family so the scope stays a valid length.
                let prefix = hit.network_prefix.max(cell_prefix).min(family_width(addr));
                let source = if hit.facts.is_unknown() {
                    GeoSource::Unknown
                } else {
                    GeoSource::GeoIp
                };
                (hit.facts, prefix, source)
            }
            None => (GeoFacts::default(), cell_prefix, GeoSource::Unknown),
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

    fn network(cidr: &str, country: &str) -> Network {
        Network {
            cidr: cidr.parse().unwrap(),
            continent: Some("EU".into()),
            country: Some(country.into()),
            subdivision: None,
            asn: Some(64_501),
            lat_micro: Some(48_000_000),
            lon_micro: Some(2_000_000),
            rtt_ms: Default::default(),
        }
    }

    /// The longest prefix wins across the config and the replicated table; at an equal
    /// prefix the config entry wins; the cell never crosses either table's networks; the
    /// replicated table is rebuilt only when it changed, and clones follow it.
    #[test]
    fn the_replicated_table_joins_the_config_table_by_longest_prefix() {
        let de = GeoFacts {
            country: Code::new("DE"),
            continent: Code::new("EU"),
            ..GeoFacts::default()
        };
        let locator = ClientLocator::new(
            PrefixTable::new([
                ("10.0.0.0/8".parse().unwrap(), de),
                ("192.0.2.0/24".parse().unwrap(), de),
            ]),
            None,
        );
        let clone = locator.clone();
        let mut networks = BTreeMap::new();
        for entry in [
            network("10.1.0.0/16", "FR"),
            network("192.0.2.0/24", "NL"),
            network("203.0.113.0/24", "BE"),
        ] {
            networks.insert(entry.key(), entry);
        }
        assert!(locator.follow_networks(&networks));
        assert!(
            !locator.follow_networks(&networks),
            "unchanged: not rebuilt"
        );
        assert_eq!(clone.network_count(), 3, "clones share the table");
        let at = |addr: &str| clone.locate(addr.parse().unwrap());
        let (geo, prefix, source) = at("10.1.2.3");
        assert_eq!(
            (geo.country, prefix, source),
            (Code::new("FR"), 16, GeoSource::Network)
        );
        assert_eq!(geo.lat_lon, Some((48.0, 2.0)));
        assert_eq!(geo.asn, Some(64_501));
        let (geo, prefix, source) = at("10.0.0.1");
        assert_eq!(
            (geo.country, prefix, source),
            (Code::new("DE"), 16, GeoSource::Table),
            "inside 10/8, beside 10.1/16"
        );
        let (geo, prefix, source) = at("192.0.2.9");
        assert_eq!(
            (geo.country, prefix, source),
            (Code::new("DE"), 24, GeoSource::Table)
        );
        let (geo, prefix, source) = at("203.0.113.9");
        assert_eq!(
            (geo.country, prefix, source),
            (Code::new("BE"), 24, GeoSource::Network)
        );
        networks.remove("203.0.113.0/24");
        assert!(locator.follow_networks(&networks));
        let (geo, _, source) = at("203.0.113.9");
        assert_eq!((geo, source), (GeoFacts::default(), GeoSource::Unknown));
    }
}
