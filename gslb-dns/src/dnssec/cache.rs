//! `SignatureCache`: values already made (signatures, whole signed replies), keyed by exactly
//! what they depend on, shared by every worker of a node, so an RRset answered again (a GSLB
//! answer that repeats, a static name asked often) is not signed again.
//!
//! The key is the whole input (for a signature, RFC 4034 §3.1.8.1's signed data: the RRSIG
//! fields, then the RRset in canonical form with its TTL), so two answers share a value only
//! when it is valid for both: no hash collision can hand out a wrong one. The cache is
//! sharded by a hash of the key; each shard is a table behind a short `parking_lot` lock
//! (never held while signing) and bounded: a full shard evicts one entry before it takes a
//! new one. Signature windows move hourly (see `signer`), so stale entries simply stop being
//! asked for and age out.
//!
//! What a hit costs is the point of the layout: the key is hashed once (SipHash with a
//! per-process random key, so clients cannot aim queries at one bucket) and handed in
//! pieces, so callers need not concatenate it first; the stored key is compared piece by
//! piece and the value copied into the caller's buffer under the lock (no reference count
//! to touch, no allocation).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::HashTable;
use parking_lot::Mutex;

/// Shards: enough that workers rarely meet on one.
const SHARDS: usize = 64;

/// Signatures kept by default: ~100k entries of a few hundred octets each.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// One cached value and the key it was made from, in one allocation.
struct Entry {
    /// The key's hash (the table's and the shard's).
    hash: u64,
    /// Octets of the key at the start of `bytes`.
    key_len: usize,
    /// Key, then value.
    bytes: Box<[u8]>,
}

impl Entry {
    /// True when the key is `head` (its pieces in order) followed by `tail`.
    fn key_is(&self, head: &[&[u8]], tail: &[u8]) -> bool {
        let length: usize = head.iter().map(|piece| piece.len()).sum::<usize>() + tail.len();
        if length != self.key_len {
            return false;
        }
        let mut rest = &self.bytes[..self.key_len];
        for piece in head.iter().chain([&tail]) {
            let (here, after) = rest.split_at(piece.len());
            if here != *piece {
                return false;
            }
            rest = after;
        }
        true
    }

    /// The value.
    fn value(&self) -> &[u8] {
        &self.bytes[self.key_len..]
    }
}

/// A bounded map from content to what was made of it, shared by the workers.
pub struct SignatureCache {
    /// The shards.
    shards: Box<[Mutex<HashTable<Entry>>]>,
    /// Entries a shard holds at most.
    per_shard: usize,
    /// Hashes keys (random per process).
    hasher: std::collections::hash_map::RandomState,
    /// Lookups that found a value.
    hits: AtomicU64,
    /// Values made (lookups that found none).
    misses: AtomicU64,
}

impl std::fmt::Debug for SignatureCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureCache")
            .field("capacity", &(self.per_shard * SHARDS))
            .field("hits", &self.hits.load(Ordering::Relaxed))
            .field("misses", &self.misses.load(Ordering::Relaxed))
            .finish()
    }
}

impl Default for SignatureCache {
    fn default() -> Self {
        SignatureCache::with_capacity(DEFAULT_CAPACITY)
    }
}

impl SignatureCache {
    /// A cache holding about `capacity` values.
    pub fn with_capacity(capacity: usize) -> SignatureCache {
        SignatureCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashTable::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            hasher: std::collections::hash_map::RandomState::new(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The hash of the key made of `pieces` in order (the same as of their concatenation).
    pub(crate) fn hash(&self, pieces: &[&[u8]]) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        for piece in pieces {
            hasher.write(piece);
        }
        hasher.finish()
    }

    /// The shard of `hash` (its high bits: the table uses the low ones).
    fn shard(&self, hash: u64) -> &Mutex<HashTable<Entry>> {
        &self.shards[(hash >> 58) as usize % SHARDS]
    }

    /// Looks up the key `head` + `out[from..]` (hashed as `hash`); when cached, replaces
    /// `out[from..]` with the value and returns true. Counts a hit or a miss.
    pub(crate) fn replace_tail(
        &self,
        hash: u64,
        head: &[&[u8]],
        out: &mut Vec<u8>,
        from: usize,
    ) -> bool {
        let shard = self.shard(hash).lock();
        let Some(entry) = shard.find(hash, |entry| {
            entry.hash == hash && entry.key_is(head, &out[from..])
        }) else {
            drop(shard);
            self.misses.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        out.truncate(from);
        out.extend_from_slice(entry.value());
        drop(shard);
        self.hits.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Stores `value` under the key made of `pieces` (hashed as `hash`), evicting one entry
    /// of a full shard first.
    pub(crate) fn insert(&self, hash: u64, pieces: &[&[u8]], value: &[u8]) {
        let key_len: usize = pieces.iter().map(|piece| piece.len()).sum();
        let mut bytes = Vec::with_capacity(key_len + value.len());
        for piece in pieces {
            bytes.extend_from_slice(piece);
        }
        bytes.extend_from_slice(value);
        let entry = Entry {
            hash,
            key_len,
            bytes: bytes.into_boxed_slice(),
        };
        let mut shard = self.shard(hash).lock();
        // Another worker may have made the same value meanwhile: keep one.
        let replaced = match shard.find_entry(hash, |old| {
            old.hash == hash && old.key_is(&[], &entry.bytes[..key_len])
        }) {
            Ok(existing) => {
                existing.remove();
                true
            }
            Err(_) => false,
        };
        if !replaced && shard.len() >= self.per_shard {
            let evicted = shard.iter().next().map(|old| old.hash);
            if let Some(evicted) = evicted {
                if let Ok(old) = shard.find_entry(evicted, |old| old.hash == evicted) {
                    old.remove();
                }
            }
        }
        shard.insert_unique(hash, entry, |entry| entry.hash);
    }

    /// Appends to `out` the value cached for `key`, made by `make` (and cached) unless
    /// found; returns true when it was made now.
    pub(crate) fn append_or_make(
        &self,
        key: &[u8],
        out: &mut Vec<u8>,
        make: impl FnOnce() -> Vec<u8>,
    ) -> bool {
        let hash = self.hash(&[key]);
        if self.replace_tail(hash, &[key], out, out.len()) {
            return false;
        }
        let value = make();
        out.extend_from_slice(&value);
        self.insert(hash, &[key], &value);
        true
    }

    /// (hits, values made) since start.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Values held now.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.lock().len()).sum()
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_once_per_content_and_stays_bounded() {
        let cache = SignatureCache::with_capacity(SHARDS * 2);
        let mut made = 0;
        for _ in 0..3 {
            let mut out = b"rrsig fields ".to_vec();
            cache.append_or_make(b"same rrset", &mut out, || {
                made += 1;
                vec![1, 2, 3]
            });
            assert_eq!(out, b"rrsig fields \x01\x02\x03");
        }
        assert_eq!(made, 1);
        assert_eq!(cache.counts(), (2, 1));
        for index in 0..10_000u32 {
            cache.append_or_make(&index.to_be_bytes(), &mut Vec::new(), || vec![0]);
        }
        assert!(cache.len() <= SHARDS * 2, "{}", cache.len());
    }

    #[test]
    fn a_key_in_pieces_matches_only_the_same_concatenation() {
        let cache = SignatureCache::with_capacity(1_000);
        let hash = cache.hash(&[b"ab", b"cd", b"ef"]);
        assert_eq!(hash, cache.hash(&[b"abcdef"]));
        cache.insert(hash, &[b"ab", b"cd", b"ef"], b"value");

        let mut out = b"headef".to_vec();
        assert!(cache.replace_tail(hash, &[b"ab", b"cd"], &mut out, 4));
        assert_eq!(out, b"headvalue");

        // Same octets, split elsewhere: still the same key.
        let mut out = b"cdef".to_vec();
        assert!(cache.replace_tail(hash, &[b"a", b"b"], &mut out, 0));
        assert_eq!(out, b"value");

        // A longer, shorter or different tail is another key, and `out` is left alone.
        for tail in [&b"efg"[..], b"e", b"eg"] {
            let mut out = tail.to_vec();
            assert!(!cache.replace_tail(hash, &[b"ab", b"cd"], &mut out, 0));
            assert_eq!(out, tail);
        }
    }

    #[test]
    fn a_value_made_twice_is_held_once() {
        let cache = SignatureCache::with_capacity(1_000);
        let hash = cache.hash(&[b"key"]);
        cache.insert(hash, &[b"key"], b"one");
        cache.insert(hash, &[b"key"], b"two");
        assert_eq!(cache.len(), 1);
        let mut out = Vec::new();
        assert!(cache.replace_tail(hash, &[b"key"], &mut out, 0));
        assert_eq!(out, b"two");
    }
}
