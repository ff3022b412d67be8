//! `ClusterSecret`, the shared secret every node presents on Raft routes, beside the network
//! code that sends it (`network`) and checks it (`server`). A leaf: the peer client takes it
//! from here, not from `node`, so `network` does not depend on the node it serves.

use std::fmt;

/// A cluster secret that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Too short, or with whitespace in it.
    #[error("cluster_secret: must be at least {min} characters without whitespace, got {len}")]
    Weak {
        /// The shortest length accepted.
        min: usize,
        /// The length given.
        len: usize,
    },
}

/// The shared secret every node presents on Raft routes. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterSecret(String);

impl ClusterSecret {
    /// The shortest secret accepted.
    pub const MIN_LEN: usize = 16;

    /// Wraps `secret`, refusing short ones.
    pub fn new(secret: impl Into<String>) -> Result<ClusterSecret, SecretError> {
        let secret = secret.into();
        if secret.len() < Self::MIN_LEN || secret.chars().any(char::is_whitespace) {
            return Err(SecretError::Weak {
                min: Self::MIN_LEN,
                len: secret.len(),
            });
        }
        Ok(ClusterSecret(secret))
    }

    /// The identity of the cluster this secret belongs to (`backup::cluster_id_for`); it
    /// never reveals the secret.
    pub fn cluster_id(&self) -> String {
        gslb_model::backup::cluster_id_for(&self.0)
    }

    /// The secret's octets as input to a key derivation (the DNSSEC key-encryption key,
    /// `gslb_dns::dnssec::KeyEncryptionKey::derive`); never to be logged or stored.
    pub fn key_material(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The secret itself, for the `Authorization` header.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// Compares a presented `Authorization` header value with `Bearer <secret>` in time that
    /// does not depend on where they differ.
    pub fn matches_header(&self, header: &[u8]) -> bool {
        let expected = format!("Bearer {}", self.0);
        let expected = expected.as_bytes();
        let mut difference = u8::from(expected.len() != header.len());
        for (index, byte) in expected.iter().enumerate() {
            difference |= byte ^ header.get(index).copied().unwrap_or(0);
        }
        difference == 0
    }
}

impl fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_comparison_accepts_only_the_exact_header() {
        let secret = ClusterSecret::new("0123456789abcdef").unwrap();
        assert!(secret.matches_header(b"Bearer 0123456789abcdef"));
        assert!(!secret.matches_header(b"Bearer 0123456789abcdeg"));
        assert!(!secret.matches_header(b"Bearer 0123456789abcde"));
        assert!(!secret.matches_header(b"Bearer 0123456789abcdef0"));
        assert!(!secret.matches_header(b""));
        assert!(ClusterSecret::new("short").is_err());
        assert_eq!(format!("{secret:?}"), "ClusterSecret(<redacted>)");
    }
}
