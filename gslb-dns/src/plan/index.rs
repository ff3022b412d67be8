//! `NameIndex`: an open-addressing hash table from name keys to node numbers, where the keys
//! live in the caller's arena. A `Vec<u32>` of slots and a `Vec<u8>` of tags beside it; no
//! per-entry allocation, so a zone of a million names costs a few MB of index and a lookup
//! never allocates.
//!
//! The tags keep a probe from touching the caller's arena until it is likely to match: each
//! occupied slot's tag holds seven bits of its key's hash (bits the slot number does not use)
//! and a high bit that marks it occupied. A probe reads the tag array, which is dense (64 slots
//! to a cache line), and fetches a stored value and its key only where the tag is equal. Before
//! the tags every probe compared keys, and a miss (every new name of a compile, every NXDOMAIN)
//! fetched two or three keys from random places of the arena: a fifth of a 1M-name DNS node's
//! start-up was spent there.

/// The tag of an empty slot; an occupied slot's tag has its high bit set.
const EMPTY_TAG: u8 = 0;

/// Maps byte-string keys (owned elsewhere) to `u32` values.
#[derive(Clone, Default)]
pub(crate) struct NameIndex {
    /// Values (node numbers) of occupied slots; the length is a power of two (or 0).
    slots: Vec<u32>,
    /// `EMPTY_TAG` where a slot is free, else `tag_of` its key's hash; as long as `slots`.
    tags: Vec<u8>,
    /// Number of occupied slots.
    len: usize,
}

/// The tag of a key with hash `hash`: the occupied bit and the hash's top seven bits (a slot
/// number uses the low bits, so the two are independent).
#[inline]
fn tag_of(hash: u64) -> u8 {
    0x80 | (hash >> 57) as u8
}

/// A fast non-cryptographic hash of a name key: eight octets at a time, each folded in with a
/// multiply and a shift, then murmur3's 64-bit finaliser so every input bit reaches the low
/// bits that pick the slot. Keys come from our own data; a query only looks up, so hostile
/// names cost one probe sequence, not a degraded table.
pub(crate) fn hash_key(key: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut hash = (key.len() as u64).wrapping_mul(K);
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks of eight"));
        hash = (hash ^ word).wrapping_mul(K);
        hash ^= hash >> 32;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        hash = (hash ^ tail_word(rest)).wrapping_mul(K);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    hash ^ (hash >> 33)
}

/// The 1 to 7 octets of `rest` as a little-endian integer, read straight from `rest`: for 4
/// or more, two overlapping 4-octet reads (the overlap ORs equal octets onto themselves).
/// Copying them into a zeroed `[u8; 8]` first and reading that back costs a `memcpy` call
/// and a failed store-to-load forward, which was a third of a name lookup.
#[inline]
fn tail_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    if n >= 4 {
        let low = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as u64;
        let high = u32::from_le_bytes([rest[n - 4], rest[n - 3], rest[n - 2], rest[n - 1]]) as u64;
        low | high << ((n - 4) * 8)
    } else {
        rest.iter()
            .enumerate()
            .fold(0, |word, (i, &byte)| word | (byte as u64) << (i * 8))
    }
}

/// Whether two keys are equal, compared eight octets at a time in registers: keys are
/// short (names, at most 255 octets), for which a call to `memcmp` costs more than the
/// comparison.
#[inline]
fn same_key(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut left = a.chunks_exact(8);
    let mut right = b.chunks_exact(8);
    let word = |chunk: &[u8]| u64::from_ne_bytes(chunk.try_into().expect("chunks of eight"));
    for (x, y) in (&mut left).zip(&mut right) {
        if word(x) != word(y) {
            return false;
        }
    }
    let (x, y) = (left.remainder(), right.remainder());
    x.is_empty() || tail_word(x) == tail_word(y)
}

impl NameIndex {
    /// An index sized for `expected` entries without growing.
    pub(crate) fn with_capacity(expected: usize) -> NameIndex {
        let slots = (expected * 2).max(8).next_power_of_two();
        NameIndex {
            slots: vec![0; slots],
            tags: vec![EMPTY_TAG; slots],
            len: 0,
        }
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes held by the slot and tag tables.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 4 + self.tags.capacity()
    }

    /// The value stored under `key`; `key_of(value)` gives a stored value's key.
    pub(crate) fn find<'a>(&self, key: &[u8], key_of: impl Fn(u32) -> &'a [u8]) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let hash = hash_key(key);
        let tag = tag_of(hash);
        let mut slot = hash as usize & mask;
        loop {
            let found = self.tags[slot];
            if found == EMPTY_TAG {
                return None;
            }
            if found == tag {
                let value = self.slots[slot];
                if same_key(key_of(value), key) {
                    return Some(value);
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Stores `value` under `key`, which must not be present yet. Grows (rehashing through
    /// `key_of`) to keep the load at most one half.
    pub(crate) fn insert<'a>(&mut self, key: &[u8], value: u32, key_of: impl Fn(u32) -> &'a [u8]) {
        if (self.len + 1) * 2 > self.slots.len() {
            let mut grown = NameIndex::with_capacity((self.len + 1) * 2);
            for (&old, &tag) in self.slots.iter().zip(&self.tags) {
                if tag != EMPTY_TAG {
                    grown.place(key_of(old), old);
                }
            }
            *self = grown;
        }
        self.place(key, value);
    }

    fn place(&mut self, key: &[u8], value: u32) {
        let mask = self.slots.len() - 1;
        let hash = hash_key(key);
        let mut slot = hash as usize & mask;
        while self.tags[slot] != EMPTY_TAG {
            slot = (slot + 1) & mask;
        }
        self.slots[slot] = value;
        self.tags[slot] = tag_of(hash);
        self.len += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_words_are_the_little_endian_octets() {
        for n in 1..8 {
            let rest: Vec<u8> = (1..=n as u8).map(|i| i * 17).collect();
            let mut padded = [0u8; 8];
            padded[..n].copy_from_slice(&rest);
            assert_eq!(tail_word(&rest), u64::from_le_bytes(padded), "{n} octets");
        }
    }

    #[test]
    fn keys_compare_equal_exactly_when_their_octets_do() {
        let keys: Vec<Vec<u8>> = (0..40)
            .map(|n| (0..n).map(|i| (i * 7 + n) as u8).collect())
            .collect();
        for a in &keys {
            assert!(same_key(a, a));
            for b in &keys {
                assert_eq!(same_key(a, b), a == b);
            }
            for flip in 0..a.len() {
                let mut b = a.clone();
                b[flip] ^= 0x20;
                assert!(!same_key(a, &b), "{a:?} vs one octet changed at {flip}");
            }
        }
    }

    #[test]
    fn finds_what_was_inserted_across_growth() {
        let keys: Vec<Vec<u8>> = (0..1000).map(|i| format!("key{i}").into_bytes()).collect();
        let mut index = NameIndex::with_capacity(1);
        for (value, key) in keys.iter().enumerate() {
            index.insert(key, value as u32, |v| &keys[v as usize]);
        }
        assert_eq!(index.len(), 1000);
        for (value, key) in keys.iter().enumerate() {
            assert_eq!(index.find(key, |v| &keys[v as usize]), Some(value as u32));
        }
        assert_eq!(index.find(b"missing", |v| &keys[v as usize]), None);
        assert_eq!(NameIndex::default().find(b"x", |_| b""), None);
    }

    #[test]
    fn keys_whose_tags_collide_are_told_apart_by_their_octets() {
        // 100,000 keys over 128 tag values: every tag is shared by hundreds of keys.
        let keys: Vec<Vec<u8>> = (0..100_000).map(|i| format!("h{i}").into_bytes()).collect();
        let mut index = NameIndex::with_capacity(keys.len());
        for (value, key) in keys.iter().enumerate() {
            index.insert(key, value as u32, |v| &keys[v as usize]);
        }
        for (value, key) in keys.iter().enumerate() {
            assert_eq!(index.find(key, |v| &keys[v as usize]), Some(value as u32));
            let absent = format!("g{value}").into_bytes();
            assert_eq!(index.find(&absent, |v| &keys[v as usize]), None);
        }
    }
}
