//! `PrefixTable`: longest-prefix lookup over a small list of networks that also says how wide
//! the *cell* around the address is, i.e. the shortest prefix within which every address gets
//! the same lookup result. That cell is what the ECS scope of an answer is built from.
//!
//! Tables come from operator config and the replicated network table (`/v1/networks`), which
//! may hold thousands of networks, so lookups walk a path-compressed binary trie per address
//! family: one step per branching point or network on the address's path (a handful, at
//! most 33 or 129), whatever the table's size, allocating nothing. The cell falls out of the
//! same walk: it is at least the deepest entry on the address's path, and reaches one bit
//! past every depth where another branch holds networks the address is not in (including
//! the bit where the address leaves a compressed run of single-child steps).

use std::net::IpAddr;

use gslb_model::ip::{common_prefix_len, Cidr};

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
///
/// `nodes` is the one-bit-per-step form that `insert` extends; `radix` is the same trie with
/// every run of entry-less single-child nodes folded into the edge below it, which is what
/// lookups walk. `compress` rebuilds `radix` from `nodes`.
#[derive(Debug, Clone)]
struct Trie {
    /// Node 0 is the root; child index 0 means "no child" (the root is never a child).
    nodes: Vec<TrieNode>,
    /// The compressed trie, root first, child 0 again meaning "no child".
    radix: Vec<RadixNode>,
    /// Per value of the address's first `JUMP_BITS` bits, where its walk of `radix` goes
    /// on: the first levels of the trie cost one read instead of a node per level.
    jump: Vec<Jump>,
    /// No network of this family: a lookup answers at once, without reading the jump
    /// table (a cache miss per query for a table that is often empty, such as the
    /// replicated networks beside a config table, or IPv6 beside IPv4).
    empty: bool,
}

/// One node of the compressed trie: a root, a network, or a point where branches part.
/// 32 octets, two to a cache line (lookups are bound by cache misses, not arithmetic).
#[derive(Debug, Clone, Copy)]
struct RadixNode {
    /// The address bits that lead here, left-aligned (high word first), zero from `depth`
    /// on; two words rather than a `u128` to keep the node 8-aligned.
    bits: [u64; 2],
    /// The children for bit `depth` = 0 and 1; 0 when absent.
    children: [u32; 2],
    /// The index in `entries` of the network that ends here, or `NO_ENTRY`.
    entry: u32,
    /// How many bits lead here.
    depth: u8,
}

/// `RadixNode::entry` of a node where no network ends.
const NO_ENTRY: u32 = u32::MAX;

/// How many leading bits the jump table resolves in one read.
const JUMP_BITS: u8 = 8;

/// `Jump::node` when the first `JUMP_BITS` bits decide the lookup on their own.
const NO_NODE: u32 = u32::MAX;

/// Where a lookup stands after the first `JUMP_BITS` bits of the address.
#[derive(Debug, Clone, Copy)]
struct Jump {
    /// The node to walk on from, or `NO_NODE` when `best` and `cell` are the result.
    node: u32,
    /// The most specific entry found above `node` (`NO_ENTRY` for none).
    best: u32,
    /// The cell prefix found above `node`.
    cell: u8,
}

/// How a walk of the compressed trie ended.
enum Walk {
    /// The lookup's result: best entry (`NO_ENTRY` for none) and cell prefix.
    Done(u32, u8),
    /// Stopped before a child below the depth limit: the node, and what was found above it.
    Resume(u32, u32, u8),
}

impl Default for RadixNode {
    fn default() -> Self {
        RadixNode {
            bits: [0, 0],
            children: [0, 0],
            entry: NO_ENTRY,
            depth: 0,
        }
    }
}

impl RadixNode {
    /// The bits that lead here as one left-aligned number.
    fn bits(&self) -> u128 {
        (u128::from(self.bits[0]) << 64) | u128::from(self.bits[1])
    }
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
            radix: vec![RadixNode::default()],
            jump: vec![
                Jump {
                    node: NO_NODE,
                    best: NO_ENTRY,
                    cell: 0,
                };
                1 << JUMP_BITS
            ],
            empty: true,
        }
    }
}

/// The first `depth` bits set, left-aligned.
fn prefix_mask(depth: u8) -> u128 {
    match depth {
        0 => 0,
        _ => u128::MAX << (128 - u32::from(depth)),
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
    /// Marks `entry` at the end of `cidr`'s path, making the path as needed, unless a
    /// network already ends there: then returns that one's entry and changes nothing
    /// (networks are masked, so one path end is one network).
    fn insert(&mut self, cidr: &Cidr, entry: u32) -> Option<u32> {
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
        let existing = self.nodes[node].entry;
        self.nodes[node].entry.get_or_insert(entry);
        existing
    }

    /// Rebuilds the compressed form from the one-bit-per-step form.
    fn compress(&mut self) {
        self.radix.clear();
        self.fold(0, 0, 0);
        self.fill_jumps();
        self.empty = self.radix.len() == 1 && self.radix[0].entry == NO_ENTRY;
    }

    /// Appends one-bit node `node` (at `depth`, reached by `bits`) and, below it, its children
    /// with each run of entry-less single-child nodes skipped; returns its radix index.
    fn fold(&mut self, node: usize, depth: u8, bits: u128) -> u32 {
        let index = self.radix.len();
        self.radix.push(RadixNode {
            bits: [(bits >> 64) as u64, bits as u64],
            children: [0, 0],
            entry: self.nodes[node].entry.unwrap_or(NO_ENTRY),
            depth,
        });
        for branch in 0..2 {
            let mut child = self.nodes[node].children[branch] as usize;
            if child == 0 {
                continue;
            }
            let mut child_depth = depth + 1;
            let mut child_bits = bits | ((branch as u128) << (127 - u32::from(depth)));
            loop {
                let here = &self.nodes[child];
                let only = match here.children {
                    [next, 0] if next != 0 => 0,
                    [0, next] if next != 0 => 1,
                    _ => break,
                };
                if here.entry.is_some() {
                    break;
                }
                child_bits |= (only as u128) << (127 - u32::from(child_depth));
                child = here.children[only] as usize;
                child_depth += 1;
            }
            let folded = self.fold(child, child_depth, child_bits);
            self.radix[index].children[branch] = folded;
        }
        index as u32
    }

    /// The index of the most specific entry containing the address, and the cell prefix.
    fn lookup(&self, bits: u128, width: u8) -> (Option<u32>, u8) {
        if self.empty {
            return (None, 0);
        }
        let jump = self.jump[(bits >> (128 - u32::from(JUMP_BITS))) as usize];
        let end = if jump.node == NO_NODE {
            Walk::Done(jump.best, jump.cell)
        } else {
            self.walk(bits, width, jump.node, (jump.best, jump.cell), u8::MAX)
        };
        match end {
            Walk::Done(best, cell) | Walk::Resume(_, best, cell) => {
                ((best != NO_ENTRY).then_some(best), cell)
            }
        }
    }

    /// Walks the compressed trie from node `from` with `(best, cell)` found above it.
    /// Returns the result, or `Resume` at the first node whose own decisions read a bit at
    /// or past `stop_below` (with what was found above that node), for the jump table.
    fn walk(&self, bits: u128, width: u8, from: u32, found: (u32, u8), stop_below: u8) -> Walk {
        let (mut best, mut cell_prefix) = found;
        let mut at = from;
        loop {
            let here = &self.radix[at as usize];
            let above = (best, cell_prefix);
            if here.depth >= stop_below {
                // Its branch reads a bit past the limit.
                return Walk::Resume(at, above.0, above.1);
            }
            if here.entry != NO_ENTRY {
                // Every deeper entry on the path is more specific; the cell stays inside it.
                best = here.entry;
                cell_prefix = here.depth;
            }
            let depth = here.depth;
            if depth == width {
                break;
            }
            let branch = bit(bits, depth);
            if here.children[1 - branch] != 0 {
                // Networks the address is not in diverge here: the cell must not reach them.
                cell_prefix = depth + 1;
            }
            let next = here.children[branch];
            if next == 0 {
                break;
            }
            let child = &self.radix[next as usize];
            if child.depth > stop_below {
                return Walk::Resume(at, above.0, above.1);
            }
            let differ = (bits ^ child.bits()) & prefix_mask(child.depth);
            if differ != 0 {
                // The address leaves the folded run at its first differing bit, where the
                // run's networks go the other way.
                let parted = differ.leading_zeros() as u8;
                cell_prefix = cell_prefix.max(parted + 1);
                break;
            }
            at = next;
        }
        Walk::Done(best, cell_prefix)
    }

    /// Fills the jump table: for each value of the first `JUMP_BITS` bits, where the walk
    /// stands once it has decided everything those bits decide.
    fn fill_jumps(&mut self) {
        let jumps = (0..1u128 << JUMP_BITS)
            .map(|first| {
                let bits = first << (128 - u32::from(JUMP_BITS));
                match self.walk(bits, 128, 0, (NO_ENTRY, 0), JUMP_BITS) {
                    Walk::Done(best, cell) => Jump {
                        node: NO_NODE,
                        best,
                        cell,
                    },
                    Walk::Resume(node, best, cell) => Jump { node, best, cell },
                }
            })
            .collect();
        self.jump = jumps;
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
            table.put(cidr, value);
        }
        table.v4.compress();
        table.v6.compress();
        table
    }

    /// Adds or replaces the value for `cidr`.
    pub fn insert(&mut self, cidr: Cidr, value: T) {
        self.put(cidr, value);
        match cidr.addr() {
            IpAddr::V4(_) => self.v4.compress(),
            IpAddr::V6(_) => self.v6.compress(),
        }
    }

    /// Adds or replaces the value for `cidr` in the one-bit trie only (`compress` follows).
    fn put(&mut self, cidr: Cidr, value: T) {
        let trie = match cidr.addr() {
            IpAddr::V4(_) => &mut self.v4,
            IpAddr::V6(_) => &mut self.v6,
        };
        match trie.insert(&cidr, self.entries.len() as u32) {
            Some(index) => self.entries[index as usize].1 = value,
            None => self.entries.push((cidr, value)),
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
            cell_prefix: cell_prefix.min(gslb_model::ip::family_width(addr)),
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
