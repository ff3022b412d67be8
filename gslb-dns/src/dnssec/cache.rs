//! `SignatureCache`: signatures already made, keyed by exactly what they sign, shared by every
//! worker of a node, so an RRset answered again (a GSLB answer that repeats, a static name
//! asked often) is not signed again.
//!
//! The key is the whole signed data (RFC 4034 §3.1.8.1: the RRSIG fields, then the RRset in
//! canonical form with its TTL), so two answers share a signature only when it is valid for
//! both: no hash collision can hand out a wrong one. The cache is sharded by a hash of the
//! key; each shard is a map behind a short `parking_lot` lock (never held while signing) and
//! bounded: a full shard evicts one entry before it takes a new one. Signature windows move
//! hourly (see `signer`), so stale entries simply stop being asked for and age out.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

/// Shards: enough that workers rarely meet on one.
const SHARDS: usize = 64;

/// One shard: signed data → signature.
type Shard = Mutex<HashMap<Box<[u8]>, Arc<[u8]>>>;

/// A bounded map from signed data to signature, shared by the workers.
pub struct SignatureCache {
    /// The shards.
    shards: Box<[Shard]>,
    /// Entries a shard holds at most.
    per_shard: usize,
    /// Picks a shard from the key.
    hasher: std::collections::hash_map::RandomState,
    /// Lookups that found a signature.
    hits: AtomicU64,
    /// Signatures made (lookups that found none).
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

/// Signatures kept by default: ~100k entries of a few hundred octets each.
pub const DEFAULT_CAPACITY: usize = 100_000;

impl SignatureCache {
    /// A cache holding about `capacity` signatures.
    pub fn with_capacity(capacity: usize) -> SignatureCache {
        SignatureCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            hasher: std::collections::hash_map::RandomState::new(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The signature of `signed`, made by `sign` unless cached.
    pub(crate) fn get_or_sign(&self, signed: &[u8], sign: impl FnOnce() -> Vec<u8>) -> Arc<[u8]> {
        let mut hasher = self.hasher.build_hasher();
        hasher.write(signed);
        let shard = &self.shards[(hasher.finish() as usize) % SHARDS];
        if let Some(signature) = shard.lock().get(signed) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Arc::clone(signature);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let signature: Arc<[u8]> = sign().into();
        let mut map = shard.lock();
        if map.len() >= self.per_shard {
            if let Some(evicted) = map.keys().next().cloned() {
                map.remove(&evicted);
            }
        }
        map.insert(signed.into(), Arc::clone(&signature));
        signature
    }

    /// (hits, signatures made) since start.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Signatures held now.
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
    fn signs_once_per_content_and_stays_bounded() {
        let cache = SignatureCache::with_capacity(SHARDS * 2);
        let mut made = 0;
        for _ in 0..3 {
            cache.get_or_sign(b"same rrset", || {
                made += 1;
                vec![1, 2, 3]
            });
        }
        assert_eq!(made, 1);
        assert_eq!(cache.counts(), (2, 1));
        for index in 0..10_000u32 {
            cache.get_or_sign(&index.to_be_bytes(), || vec![0]);
        }
        assert!(cache.len() <= SHARDS * 2, "{}", cache.len());
    }
}
