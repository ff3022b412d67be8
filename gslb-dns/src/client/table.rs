//! `PrefixTable`: longest-prefix lookup over a small list of networks that also says how wide
//! the *cell* around the address is, i.e. the shortest prefix within which every address gets
//! the same lookup result. That cell is what the ECS scope of an answer is built from.
//!
//! Tables are small (operator config: CIDR → location, client network → latency) and scanned
//! linearly; a lookup allocates nothing. A trie can replace the scan behind the same API.

use std::net::IpAddr;

use gslb_store::model::gslb_record::{common_prefix_len, family_width, Cidr};

/// Networks with a value each; the most specific network containing an address wins.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefixTable<T> {
    /// Entries in insertion order; lookups do not depend on the order.
    entries: Vec<(Cidr, T)>,
}

impl<T> Default for PrefixTable<T> {
    fn default() -> Self {
        PrefixTable {
            entries: Vec::new(),
        }
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
        match self
            .entries
            .iter_mut()
            .find(|(existing, _)| *existing == cidr)
        {
            Some(entry) => entry.1 = value,
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
            cell_prefix: cell_prefix.min(family_width(addr)),
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
}
