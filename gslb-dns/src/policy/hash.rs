//! Hashing for weighted choices: a fixed 64-bit mixer (stable across builds, platforms and
//! releases, so every DNS node picks the same child for the same client) and rendezvous
//! (highest-random-weight) scoring.
//!
//! Weighted rendezvous: each candidate `i` scores `-ln(u_i) / w_i` with `u_i` uniform in
//! (0, 1] from `hash(key, i)`; the lowest score wins. Candidate `i` wins with probability
//! `w_i / Σw`, and removing a candidate changes the winner only for keys it had won, which is
//! why losing a child moves only that child's clients.

use std::net::IpAddr;

/// SplitMix64's finaliser: a bijective, well-mixed 64-bit permutation.
pub fn mix64(mut value: u64) -> u64 {
    value = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

/// Hash of several words, order-sensitive.
pub fn hash_words(words: &[u64]) -> u64 {
    words.iter().fold(0x51_7cc1_b727_220a, |state, word| {
        mix64(state ^ mix64(*word))
    })
}

/// Hash of a byte string (a record name), for per-record salts.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    bytes.chunks(8).fold(bytes.len() as u64, |state, chunk| {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        mix64(state ^ u64::from_le_bytes(word))
    })
}

/// The client key for consistent hashing: the address masked to `prefix`, as two words.
pub fn address_words(addr: IpAddr) -> [u64; 2] {
    match addr {
        IpAddr::V4(v4) => [u64::from(u32::from(v4)), 4],
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            [(bits >> 64) as u64 ^ 6, bits as u64]
        }
    }
}

/// A uniform value in (0, 1] from a hash.
pub fn unit_interval(hash: u64) -> f64 {
    // 53 random bits, shifted off zero so ln() stays finite.
    ((hash >> 11) as f64 + 1.0) / (1u64 << 53) as f64
}

/// The rendezvous score of a candidate with `weight` under `hash`; lower wins. A weight of 0
/// (or less) never wins against a positive one.
pub fn rendezvous_score(hash: u64, weight: f64) -> f64 {
    if weight <= 0.0 {
        return f64::INFINITY;
    }
    -unit_interval(hash).ln() / weight
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixer_is_stable() {
        // Pinned: every node and every release must agree on these.
        assert_eq!(mix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(hash_words(&[1, 2]), hash_words(&[1, 2]));
        assert_ne!(hash_words(&[1, 2]), hash_words(&[2, 1]));
    }

    #[test]
    fn unit_interval_excludes_zero() {
        assert!(unit_interval(0) > 0.0);
        assert!(unit_interval(u64::MAX) <= 1.0);
        assert!(rendezvous_score(0, 1.0).is_finite());
    }
}
