//! `PrefixTable`: longest-prefix lookup over a small list of networks that also says how wide
//! the *cell* around the address is, i.e. the shortest prefix within which every address gets
//! the same lookup result. That cell is what the ECS scope of an answer is built from.
//!
//! Tables come from operator config and the replicated network table (`/v1/networks`), which
//! may hold thousands of networks, so lookups walk a binary trie per address family: one step
//! per prefix bit (at most 32 or 128), whatever the table's size, allocating nothing. The cell
//! falls out of the same walk: it is at least the deepest entry on the address's path, and
//! reaches one bit past every depth where another branch holds networks the address is not in.

use std::net::IpAddr;

use gslb_store::model::gslb_record::{common_prefix_len, Cidr};

/// Networks with a value each; the most specific network containing an address wins.
#[derive(Debug, Clone)]
pub struct PrefixTable<T> {
    /// Entries in insertion order; lookups do not depend on the order.
    entries: Vec<(Cidr, T)>,
    /// The IPv4 trie over `entries`.
    v4: Trie,
    /// The IPv6 trie over `entries`.
    v6: Trie,
}

impl<T> Default for PrefixTable<T> {
    fn default() -> Self {
        PrefixTable {
            entries: Vec::new(),
            v4: Trie::default(),
            v6: Trie::default(),
        }
    }
}

/// Tables are equal when they hold the same entries in the same order (the tries follow).
impl<T: PartialEq> PartialEq for PrefixTable<T> {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

/// A binary trie of network prefixes in one arena. Every node lies on the path of at least
/// one entry (nothing is ever removed), so a non-empty child means networks down that branch.
#[derive(Debug, Clone)]
struct Trie {
    /// Node 0 is the root; child index 0 means "no child" (the root is never a child).
    nodes: Vec<TrieNode>,
}

/// One node: the prefix of its depth along the bits that lead to it.
#[derive(Debug, Clone, Copy, Default)]
struct TrieNode {
    /// The children for bit 0 and bit 1; 0 when absent.
    children: [u32; 2],
    /// The index in `entries` of the network that ends here, if any.
    entry: Option<u32>,
}

impl Default for Trie {
    fn default() -> Self {
        Trie {
            nodes: vec![TrieNode::default()],
        }
    }
}

/// The address as a left-aligned 128-bit number, and its family's width.
fn bits_of(addr: IpAddr) -> (u128, u8) {
    match addr {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

/// Bit `depth` (0 = most significant) of a left-aligned address.
fn bit(bits: u128, depth: u8) -> usize {
    ((bits >> (127 - u32::from(depth))) & 1) as usize
}

impl Trie {
    /// Marks `entry` at the end of `cidr`'s path, making the path as needed.
    fn insert(&mut self, cidr: &Cidr, entry: u32) {
        let (bits, _) = bits_of(cidr.addr());
        let mut node = 0usize;
        for depth in 0..cidr.prefix() {
            let branch = bit(bits, depth);
            let next = self.nodes[node].children[branch];
            node = if next == 0 {
                self.nodes.push(TrieNode::default());
                let created = self.nodes.len() - 1;
                self.nodes[node].children[branch] = created as u32;
                created
            } else {
                next as usize
            };
        }
        self.nodes[node].entry = Some(entry);
    }

    /// The index of the most specific entry containing the address, and the cell prefix.
    fn lookup(&self, bits: u128, width: u8) -> (Option<u32>, u8) {
        let mut best = None;
        let mut cell_prefix = 0u8;
        let mut node = 0usize;
        let mut depth = 0u8;
        loop {
            let here = &self.nodes[node];
            if let Some(entry) = here.entry {
                // Every deeper entry on the path is more specific; the cell stays inside it.
                best = Some(entry);
                cell_prefix = depth;
            }
            if depth == width {
                break;
            }
            let branch = bit(bits, depth);
            if here.children[1 - branch] != 0 {
                // Networks the address is not in diverge here: the cell must not reach them.
                cell_prefix = depth + 1;
            }
            match here.children[branch] {
                0 => break,
                next => node = next as usize,
            }
            depth += 1;
        }
        (best, cell_prefix)
    }
}

/// What one lookup found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrefixMatch<'a, T> {
    /// The most specific entry containing the address, if any.
    pub entry: Option<(&'a Cidr, &'a T)>,
    /// The shortest prefix around the address inside which every address has the same
    /// `entry` (0 when the table is empty).
    pub cell_prefix: u8,
}

impl<T> PrefixTable<T> {
    /// A table of these entries; a later duplicate network replaces an earlier one.
    pub fn new(entries: impl IntoIterator<Item = (Cidr, T)>) -> Self {
        let mut table = PrefixTable::default();
        for (cidr, value) in entries {
            table.insert(cidr, value);
        }
        table
    }

    /// Adds or replaces the value for `cidr`.
    pub fn insert(&mut self, cidr: Cidr, value: T) {
        let trie = match cidr.addr() {
            IpAddr::V4(_) => &mut self.v4,
            IpAddr::V6(_) => &mut self.v6,
        };
        let (found, _) = trie.lookup(bits_of(cidr.addr()).0, cidr.prefix());
        match found.filter(|index| self.entries[*index as usize].0 == cidr) {
            Some(index) => self.entries[index as usize].1 = value,
            None => {
                trie.insert(&cidr, self.entries.len() as u32);
                self.entries.push((cidr, value));
            }
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries.
    pub fn entries(&self) -> &[(Cidr, T)] {
        &self.entries
    }

    /// Longest-prefix match for `addr`, with the width of its cell.
    pub fn lookup(&self, addr: IpAddr) -> PrefixMatch<'_, T> {
        let (bits, width) = bits_of(addr);
        let trie = if width == 32 { &self.v4 } else { &self.v6 };
        let (best, cell_prefix) = trie.lookup(bits, width);
        PrefixMatch {
            entry: best.map(|index| {
                let (cidr, value) = &self.entries[index as usize];
                (cidr, value)
            }),
            cell_prefix,
        }
    }

    /// The same lookup by scanning every entry: the definition the trie is tested against.
    #[cfg(test)]
    fn lookup_by_scan(&self, addr: IpAddr) -> PrefixMatch<'_, T> {
        let mut best: Option<(&Cidr, &T)> = None;
        let mut cell_prefix = 0u8;
        for (cidr, value) in &self.entries {
            let Some(common) = common_prefix_len(cidr.addr(), addr) else {
                continue;
            };
            if common >= cidr.prefix() {
                if best.is_none_or(|(current, _)| cidr.prefix() > current.prefix()) {
                    best = Some((cidr, value));
                }
                cell_prefix = cell_prefix.max(cidr.prefix());
            } else {
                // A network beside the address: the cell must stop short of reaching it.
                cell_prefix = cell_prefix.max(common + 1);
            }
        }
        PrefixMatch {
            entry: best,
            cell_prefix: cell_prefix.min(gslb_store::model::gslb_record::family_width(addr)),
        }
    }
}

/// The shortest prefix around `addr` that keeps `cidr`'s verdict (inside or not) the same for
/// every address in it; `None` across address families (the verdict is always "not inside").
pub fn cell_prefix_for(cidr: &Cidr, addr: IpAddr) -> Option<u8> {
    let common = common_prefix_len(cidr.addr(), addr)?;
    Some(if common >= cidr.prefix() {
        cidr.prefix()
    } else {
        common + 1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(&str, u32)]) -> PrefixTable<u32> {
        PrefixTable::new(
            entries
                .iter()
                .map(|(cidr, value)| (cidr.parse().unwrap(), *value)),
        )
    }

    fn check(table: &PrefixTable<u32>, addr: &str, value: Option<u32>, cell: u8) {
        let found = table.lookup(addr.parse().unwrap());
        assert_eq!(found.entry.map(|(_, v)| *v), value, "{addr}");
        assert_eq!(found.cell_prefix, cell, "{addr}");
    }

    #[test]
    fn cells_stop_at_nested_and_neighbouring_networks() {
        let nested = table(&[("10.0.0.0/8", 1), ("10.1.0.0/16", 2), ("192.0.2.0/24", 3)]);
        check(&nested, "10.1.2.3", Some(2), 16);
        // Inside 10/8 but beside 10.1/16: must not reach 10.1.0.0 (differs at bit 15).
        check(&nested, "10.0.0.1", Some(1), 16);
        check(&nested, "10.128.0.1", Some(1), 9);
        // Outside everything: the cell is the widest prefix touching no network.
        check(&nested, "11.0.0.1", None, 8);
        check(&nested, "2001:db8::1", None, 0);
        check(&PrefixTable::default(), "10.0.0.1", None, 0);
    }

    proptest::proptest! {
        /// The trie agrees with the scan, entry and cell, on random nested tables of both
        /// families (networks drawn near each other so they nest and border often).
        #[test]
        fn the_trie_agrees_with_the_scan(
            networks in proptest::collection::vec((0u32..4096, 0u8..=32, proptest::bool::ANY), 0..40),
            probes in proptest::collection::vec((0u32..4096, proptest::bool::ANY, 0u32..256), 1..40),
        ) {
            let place = |seed: u32, v6: bool| -> IpAddr {
                let base = 0xc000_0200u32 ^ (seed << 14) ^ (seed.wrapping_mul(2_654_435_761) >> 20);
                if v6 {
                    IpAddr::V6(std::net::Ipv6Addr::from(
                        (0x2001_0db8u128 << 96) | (u128::from(base) << 64),
                    ))
                } else {
                    IpAddr::V4(base.into())
                }
            };
            let mut table = PrefixTable::default();
            for (index, (seed, prefix, v6)) in networks.iter().enumerate() {
                let addr = place(*seed, *v6);
                let prefix = if *v6 { prefix * 2 } else { *prefix };
                table.insert(Cidr::new(addr, prefix).unwrap(), index);
            }
            for (seed, v6, low) in probes {
                let addr = match place(seed, v6) {
                    IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) ^ low).into()),
                    IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) ^ (u128::from(low) << 60)).into()),
                };
                let fast = table.lookup(addr);
                let slow = table.lookup_by_scan(addr);
                proptest::prop_assert_eq!(fast.entry, slow.entry, "{}", addr);
                proptest::prop_assert_eq!(fast.cell_prefix, slow.cell_prefix, "{}", addr);
            }
        }
    }

    #[test]
    fn a_repeated_network_replaces_its_value() {
        let mut replaced = table(&[("10.0.0.0/8", 1), ("10.1.0.0/16", 2)]);
        replaced.insert("10.0.0.0/8".parse().unwrap(), 3);
        assert_eq!(replaced.len(), 2);
        check(&replaced, "10.0.0.1", Some(3), 16);
        check(&replaced, "10.1.0.1", Some(2), 16);
    }
}
