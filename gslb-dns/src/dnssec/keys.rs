//! DNSSEC keys: generating one (on the leader), sealing and opening its private part with the
//! cluster's key-encryption key, and what the key looks like in DNS (DNSKEY RDATA, key tag,
//! DS digests, presentation format).
//!
//! The key-encryption key is derived from the cluster secret every control-plane node (voters
//! and DNS learners) already holds: HKDF-SHA256 with a fixed salt, expanded to an AES-256-GCM
//! key. A sealed key is `nonce (12 octets) | ciphertext | tag`, with the zone's apex as
//! associated data, so a sealed key moved to another zone does not open. A backup carries
//! keys sealed; a cluster restored with another secret cannot sign with them.

use gslb_model::{DnssecAlgorithm, DnssecKey, DomainName, KeyState};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use ring::{aead, digest, hkdf};

/// The HKDF salt: names the purpose, so the same secret never yields this key elsewhere.
const KEK_SALT: &[u8] = b"gslb dnssec key-encryption key v1";
/// Length of an AES-GCM nonce.
const NONCE_LEN: usize = 12;
/// The DNSKEY protocol field (RFC 4034 §2.1.2).
const PROTOCOL: u8 = 3;

/// Why a key could not be made or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The sealed key does not open with this node's key-encryption key (another cluster
    /// secret, or damaged data).
    #[error("key {tag} of {zone}: cannot be decrypted with this node's cluster secret")]
    Sealed {
        /// The zone.
        zone: String,
        /// The key's tag.
        tag: u16,
    },
    /// The opened key is not a key of its algorithm, or does not match its public part.
    #[error("key {tag} of {zone}: the private key does not match its DNSKEY")]
    Mismatch {
        /// The zone.
        zone: String,
        /// The key's tag.
        tag: u16,
    },
    /// This node has no key-encryption key (a DNS node without `[control]`).
    #[error("no key-encryption key: DNSSEC needs the cluster secret of [control]")]
    NoKeyEncryptionKey,
    /// The system random source failed.
    #[error("random source failed")]
    Random,
}

/// The AEAD key that seals private keys in the replicated state. `Debug` shows nothing.
pub struct KeyEncryptionKey(aead::LessSafeKey);

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey(<redacted>)")
    }
}

impl KeyEncryptionKey {
    /// The key derived from the cluster secret's octets.
    pub fn derive(cluster_secret: &[u8]) -> KeyEncryptionKey {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, KEK_SALT).extract(cluster_secret);
        let okm = prk
            .expand(&[b"aes-256-gcm"], &aead::AES_256_GCM)
            .expect("an AES-256 key is a valid HKDF output length");
        KeyEncryptionKey(aead::LessSafeKey::new(aead::UnboundKey::from(okm)))
    }

    /// Seals `secret` for `zone` with a fresh random nonce.
    fn seal(&self, zone: &DomainName, secret: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyError::Random)?;
        let mut sealed = secret.to_vec();
        self.0
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(zone.as_wire()),
                &mut sealed,
            )
            .map_err(|_| KeyError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a sealed key of `zone`; `None` when it does not open.
    fn open(&self, zone: &DomainName, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN + aead::AES_256_GCM.tag_len() {
            return None;
        }
        let nonce = aead::Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN]).ok()?;
        let mut buffer = sealed[NONCE_LEN..].to_vec();
        let plain = self
            .0
            .open_in_place(nonce, aead::Aad::from(zone.as_wire()), &mut buffer)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// Generates a new key for `zone` (on the leader: the command carries it sealed), with DNSKEY
/// `flags` (257 for a CSK), in `state`, stamped `now_ms`.
pub fn generate_key(
    zone: &DomainName,
    algorithm: DnssecAlgorithm,
    flags: u16,
    state: KeyState,
    kek: &KeyEncryptionKey,
    now_ms: u64,
) -> Result<DnssecKey, KeyError> {
    let rng = SystemRandom::new();
    let (pkcs8, public_key) = match algorithm {
        DnssecAlgorithm::EcdsaP256Sha256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| KeyError::Random)?;
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .map_err(|_| KeyError::Random)?;
            // ring gives the uncompressed point 0x04 | x | y; DNSKEY carries x | y (RFC 6605).
            let public = pair.public_key().as_ref()[1..].to_vec();
            (pkcs8.as_ref().to_vec(), public)
        }
        DnssecAlgorithm::Ed25519 => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeyError::Random)?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| KeyError::Random)?;
            (pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec())
        }
    };
    let rdata = dnskey_rdata(flags, algorithm.number(), &public_key);
    Ok(DnssecKey {
        tag: key_tag(&rdata),
        algorithm,
        flags,
        state,
        public_key: hex::encode(&public_key),
        sealed_private_key: hex::encode(kek.seal(zone, &pkcs8)?),
        created_at: now_ms,
    })
}

/// The DNSKEY RDATA: flags, protocol 3, algorithm, public key (RFC 4034 §2.1).
pub fn dnskey_rdata(flags: u16, algorithm: u8, public_key: &[u8]) -> Vec<u8> {
    let mut rdata = Vec::with_capacity(4 + public_key.len());
    rdata.extend_from_slice(&flags.to_be_bytes());
    rdata.push(PROTOCOL);
    rdata.push(algorithm);
    rdata.extend_from_slice(public_key);
    rdata
}

/// The DNSKEY RDATA of a stored key (its public key is checked hex by the model).
pub fn key_rdata(key: &DnssecKey) -> Vec<u8> {
    let public_key = hex::decode(&key.public_key).unwrap_or_default();
    dnskey_rdata(key.flags, key.algorithm.number(), &public_key)
}

/// The key tag of a DNSKEY RDATA (RFC 4034 Appendix B).
pub fn key_tag(rdata: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for (index, byte) in rdata.iter().enumerate() {
        sum += if index % 2 == 0 {
            u32::from(*byte) << 8
        } else {
            u32::from(*byte)
        };
    }
    sum += (sum >> 16) & 0xFFFF;
    (sum & 0xFFFF) as u16
}

/// DS digest types gslb publishes for the parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestType {
    /// SHA-256, digest type 2 (RFC 4509): what parents must accept.
    Sha256,
    /// SHA-384, digest type 4 (RFC 6605).
    Sha384,
}

impl DigestType {
    /// The IANA number.
    pub fn number(self) -> u8 {
        match self {
            DigestType::Sha256 => 2,
            DigestType::Sha384 => 4,
        }
    }
}

/// The DS RDATA for `key` of `zone` (RFC 4034 §5.1.4: digest over owner | DNSKEY RDATA).
pub fn ds_rdata(zone: &DomainName, key: &DnssecKey, digest_type: DigestType) -> Vec<u8> {
    let rdata = key_rdata(key);
    let mut input = Vec::new();
    zone.write_wire(&mut input);
    input.extend_from_slice(&rdata);
    let algorithm = match digest_type {
        DigestType::Sha256 => &digest::SHA256,
        DigestType::Sha384 => &digest::SHA384,
    };
    let mut ds = Vec::new();
    ds.extend_from_slice(&key.tag.to_be_bytes());
    ds.push(key.algorithm.number());
    ds.push(digest_type.number());
    ds.extend_from_slice(digest::digest(algorithm, &input).as_ref());
    ds
}

/// `key` as a DNSKEY record in presentation format: `zone. TTL IN DNSKEY 257 3 13 <base64>`.
pub fn dnskey_presentation(zone: &DomainName, key: &DnssecKey, ttl: u32) -> String {
    let public_key = hex::decode(&key.public_key).unwrap_or_default();
    format!(
        "{zone} {ttl} IN DNSKEY {} 3 {} {}",
        key.flags,
        key.algorithm.number(),
        data_encoding::BASE64.encode(&public_key)
    )
}

/// The DS of `key` in presentation format: `zone. IN DS <tag> <alg> <digest type> <HEX>`.
pub fn ds_presentation(zone: &DomainName, key: &DnssecKey, digest_type: DigestType) -> String {
    let ds = ds_rdata(zone, key, digest_type);
    format!(
        "{zone} IN DS {} {} {} {}",
        key.tag,
        key.algorithm.number(),
        digest_type.number(),
        hex::encode_upper(&ds[4..])
    )
}

/// A key opened for signing.
pub(crate) struct OpenKey {
    /// Its tag.
    pub(crate) tag: u16,
    /// Its algorithm number.
    pub(crate) algorithm: u8,
    /// The key pair.
    pair: Pair,
}

/// A private key of one of the supported algorithms.
enum Pair {
    /// Algorithm 13.
    Ecdsa(EcdsaKeyPair),
    /// Algorithm 15.
    Ed25519(Ed25519KeyPair),
}

impl OpenKey {
    /// Opens `key` of `zone` with `kek` and checks it against its public key.
    pub(crate) fn open(
        zone: &DomainName,
        key: &DnssecKey,
        kek: &KeyEncryptionKey,
    ) -> Result<OpenKey, KeyError> {
        let sealed = KeyError::Sealed {
            zone: zone.to_string(),
            tag: key.tag,
        };
        let mismatch = KeyError::Mismatch {
            zone: zone.to_string(),
            tag: key.tag,
        };
        let sealed_bytes = hex::decode(&key.sealed_private_key).map_err(|_| sealed.clone())?;
        let pkcs8 = kek.open(zone, &sealed_bytes).ok_or(sealed)?;
        let public_key = hex::decode(&key.public_key).map_err(|_| mismatch.clone())?;
        let pair = match key.algorithm {
            DnssecAlgorithm::EcdsaP256Sha256 => {
                let pair = EcdsaKeyPair::from_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &pkcs8,
                    &SystemRandom::new(),
                )
                .map_err(|_| mismatch.clone())?;
                if pair.public_key().as_ref()[1..] != public_key[..] {
                    return Err(mismatch);
                }
                Pair::Ecdsa(pair)
            }
            DnssecAlgorithm::Ed25519 => {
                let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| mismatch.clone())?;
                if pair.public_key().as_ref() != &public_key[..] {
                    return Err(mismatch);
                }
                Pair::Ed25519(pair)
            }
        };
        Ok(OpenKey {
            tag: key.tag,
            algorithm: key.algorithm.number(),
            pair,
        })
    }

    /// The signature of `data` in DNSSEC form (r | s for ECDSA, RFC 6605 §4).
    pub(crate) fn sign(&self, data: &[u8]) -> Vec<u8> {
        match &self.pair {
            Pair::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), data)
                .map(|signature| signature.as_ref().to_vec())
                .unwrap_or_default(),
            Pair::Ed25519(pair) => pair.sign(data).as_ref().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> DomainName {
        DomainName::parse_absolute("example.com.").unwrap()
    }

    #[test]
    fn a_sealed_key_opens_only_with_its_secret_and_zone() {
        let kek = KeyEncryptionKey::derive(b"0123456789abcdef-secret");
        for algorithm in [DnssecAlgorithm::EcdsaP256Sha256, DnssecAlgorithm::Ed25519] {
            let key = generate_key(&zone(), algorithm, 257, KeyState::Active, &kek, 1).unwrap();
            let open = OpenKey::open(&zone(), &key, &kek).unwrap();
            assert_eq!(open.tag, key_tag(&key_rdata(&key)));
            assert!(!key.sealed_private_key.is_empty());
            let other = KeyEncryptionKey::derive(b"another-secret-0123456");
            assert!(matches!(
                OpenKey::open(&zone(), &key, &other),
                Err(KeyError::Sealed { .. })
            ));
            let elsewhere = DomainName::parse_absolute("example.net.").unwrap();
            assert!(OpenKey::open(&elsewhere, &key, &kek).is_err());
        }
    }

    #[test]
    fn key_tag_and_ds_match_rfc_4034_example() {
        // RFC 4034 §5.4: dskey.example.com. DNSKEY 256 3 5 ... has key tag 60485.
        let public_key = data_encoding::BASE64
            .decode(
                b"AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
            )
            .unwrap();
        let rdata = dnskey_rdata(256, 5, &public_key);
        assert_eq!(key_tag(&rdata), 60485);
    }
}
